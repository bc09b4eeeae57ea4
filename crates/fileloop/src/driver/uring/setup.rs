//! Creating the rings: setup, opcode probe, a test submission, eventfd registration. Every
//! failure becomes a [`SetupError`] that says why, so the engine can fall back to the pool.

use crate::driver::OpKind;
use io_uring::{opcode, IoUring, Probe};
use std::fmt;
use std::io;

pub(crate) struct Rings {
    pub(crate) rings: Vec<IoUring>,
    /// Slots of each ring's registered (sparse) file table; 0 when the kernel refused one.
    pub(crate) fixed_files: u32,
    pub(crate) supported: [bool; OpKind::COUNT],
    pub(crate) description: String,
}

/// Why io_uring cannot be used.
#[derive(Debug)]
pub(crate) struct SetupError {
    step: &'static str,
    error: io::Error,
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self.error.raw_os_error().unwrap_or(0);
        let name = match code {
            libc::ENOSYS => "ENOSYS (no io_uring in this kernel or sandbox)",
            libc::EPERM => "EPERM (denied by seccomp or sysctl kernel.io_uring_disabled)",
            libc::EACCES => "EACCES (denied by policy)",
            libc::ENOMEM => "ENOMEM (RLIMIT_MEMLOCK too low?)",
            libc::EINVAL => "EINVAL (kernel too old for these parameters)",
            _ => "",
        };
        if name.is_empty() {
            write!(f, "{} failed: {}", self.step, self.error)
        } else {
            write!(f, "{} failed: {name}", self.step)
        }
    }
}

fn fail(step: &'static str) -> impl FnOnce(io::Error) -> SetupError {
    move |error| SetupError { step, error }
}

pub(crate) fn create(entries: u32, count: usize, eventfd: i32) -> Result<Rings, SetupError> {
    let entries = entries.clamp(2, 32768).next_power_of_two();
    let mut rings = Vec::with_capacity(count);
    for _ in 0..count {
        let ring = IoUring::builder()
            .dontfork()
            .setup_cqsize(entries * 2)
            .setup_clamp()
            .build(entries)
            .map_err(fail("io_uring_setup"))?;
        rings.push(ring);
    }
    let mut probe = Probe::new();
    rings[0]
        .submitter()
        .register_probe(&mut probe)
        .map_err(fail("io_uring_register(PROBE)"))?;
    test_nop(&mut rings[0])?;
    for ring in &rings {
        ring.submitter()
            .register_eventfd(eventfd)
            .map_err(fail("io_uring_register(EVENTFD)"))?;
    }
    let fixed_files = register_file_tables(&rings, entries * 2);
    let mut supported = [false; OpKind::COUNT];
    for kind in OpKind::ALL {
        supported[kind.index()] = kind.uring_opcode().is_some_and(|c| probe.is_supported(c));
    }
    // A whole-file read is a chain of openat (into a fixed slot), two reads and a close.
    supported[OpKind::ReadWhole.index()] &= fixed_files > 0
        && probe.is_supported(opcode::Read::CODE)
        && probe.is_supported(opcode::Close::CODE);
    let probed = (0..=u8::MAX).filter(|&c| probe.is_supported(c)).count();
    let description = format!(
        "io_uring (kernel {}, {probed} ops probed, {count} ring{} of {entries})",
        kernel_release(),
        if count == 1 { "" } else { "s" }
    );
    Ok(Rings {
        rings,
        fixed_files,
        supported,
        description,
    })
}

/// Registers an empty file table of `wanted` slots on every ring (smaller if the descriptor
/// limit refuses it); returns its size, 0 if a ring refused (kernels before 5.19).
fn register_file_tables(rings: &[IoUring], wanted: u32) -> u32 {
    for size in [wanted, wanted.min(64)] {
        if rings
            .iter()
            .all(|r| r.submitter().register_files_sparse(size).is_ok())
        {
            return size;
        }
        for ring in rings {
            let _ = ring.submitter().unregister_files();
        }
    }
    0
}

/// A filter may allow io_uring_setup yet deny io_uring_enter: check that a no-op completes.
fn test_nop(ring: &mut IoUring) -> Result<(), SetupError> {
    let nop = opcode::Nop::new().build().user_data(0);
    // SAFETY: a no-op points to no memory.
    unsafe { ring.submission().push(&nop) }.map_err(|_| SetupError {
        step: "io_uring test submission",
        error: io::Error::other("submission queue full"),
    })?;
    ring.submit_and_wait(1).map_err(fail("io_uring_enter"))?;
    let cqe = ring.completion().next();
    match cqe.map(|c| c.result()) {
        Some(r) if r >= 0 => Ok(()),
        Some(r) => Err(SetupError {
            step: "io_uring no-op",
            error: io::Error::from_raw_os_error(-r),
        }),
        None => Err(SetupError {
            step: "io_uring no-op",
            error: io::Error::other("no completion"),
        }),
    }
}

fn kernel_release() -> String {
    // SAFETY: utsname is plain data; uname fills it.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uts is a valid, writable utsname.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return "unknown".into();
    }
    // SAFETY: uname NUL-terminates release.
    let release = unsafe { std::ffi::CStr::from_ptr(uts.release.as_ptr()) };
    let release = release.to_string_lossy();
    // "6.18.44-fc-v669" -> "6.18"
    release.split('.').take(2).collect::<Vec<_>>().join(".")
}
