//! read_whole: a small file's whole contents in one operation — open, read, probe for the end,
//! close. On io_uring the four steps are one linked chain through a fixed-file slot, so a
//! small file costs one trip through the loop instead of four; on the pool, one job.

use crate::driver::{OpKind, Operation, RawResult};
use crate::error::with_context;
use std::io;
use std::path::{Path, PathBuf};

/// How much a whole-file read takes in one go; a larger file is read the general way.
pub(crate) const READ_WHOLE_MAX: usize = 64 << 10;
/// The probe read after the data: 0 bytes confirms the end of the file.
const PROBE: usize = 16;

/// The steps of the chain, in order (indices of `results`).
const OPEN: usize = 0;
const READ: usize = 1;
const PROBE_READ: usize = 2;
const CLOSE: usize = 3;

/// Opens `path` read-only, reads up to [`READ_WHOLE_MAX`] bytes, confirms the end of the file
/// and closes it. Outputs `Ok(None)` when the file did not fit (or the chain could not run, e.g.
/// its submitting thread exited): the caller then reads it the general way.
pub(crate) struct ReadWhole {
    path: PathBuf,
    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    c_path: std::ffi::CString,
    invalid: Option<io::Error>,
    /// Capacity [`READ_WHOLE_MAX`]; the kernel fills its spare capacity.
    buf: Vec<u8>,
    probe: [u8; PROBE],
    /// Each step's result: a count or descriptor, or `-errno`.
    results: [Option<i64>; 4],
}

impl ReadWhole {
    pub(crate) fn new(path: &Path) -> Self {
        // Elsewhere std's open checks the path.
        #[cfg(all(target_os = "linux", not(target_os = "android")))]
        let (c_path, invalid) = match crate::sys::cstr(path) {
            Ok(c) => (c, None),
            Err(e) => (std::ffi::CString::default(), Some(e)),
        };
        #[cfg(not(all(target_os = "linux", not(target_os = "android"))))]
        let invalid = None;
        ReadWhole {
            path: path.to_path_buf(),
            #[cfg(all(target_os = "linux", not(target_os = "android")))]
            c_path,
            invalid,
            buf: Vec::with_capacity(READ_WHOLE_MAX),
            probe: [0; PROBE],
            results: [None; 4],
        }
    }
}

impl Operation for ReadWhole {
    type Output = io::Result<Option<Vec<u8>>>;
    const KIND: OpKind = OpKind::ReadWhole;

    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    const CHAIN: usize = 4;

    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn uring_chain(&mut self, slot: u32) -> Option<Vec<io_uring::squeue::Entry>> {
        use io_uring::squeue::Flags;
        use io_uring::{opcode, types};
        if self.invalid.is_some() {
            return None; // the pool reports the error
        }
        let fixed = types::Fixed(slot);
        // Offset -1: the reads use and advance the file position, so the probe continues
        // where the data ended. Reads are hard links: a short read (expected) or a failed one
        // must not cancel the close that empties the slot. O_CLOEXEC is refused for direct
        // descriptors (they are not in the process's table).
        let at_position = u64::MAX;
        Some(vec![
            opcode::OpenAt::new(types::Fd(libc::AT_FDCWD), self.c_path.as_ptr())
                .flags(libc::O_RDONLY)
                .file_index(Some(
                    types::DestinationSlot::try_from_slot_target(slot).ok()?,
                ))
                .build()
                .flags(Flags::IO_LINK),
            opcode::Read::new(fixed, self.buf.as_mut_ptr(), READ_WHOLE_MAX as u32)
                .offset(at_position)
                .build()
                .flags(Flags::IO_HARDLINK),
            opcode::Read::new(fixed, self.probe.as_mut_ptr(), PROBE as u32)
                .offset(at_position)
                .build()
                .flags(Flags::IO_HARDLINK),
            opcode::Close::new(fixed).build(),
        ])
    }

    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn chain_result(&mut self, index: usize, res: i32) {
        if let Some(r) = self.results.get_mut(index) {
            *r = Some(i64::from(res));
        }
    }

    fn run_blocking(&mut self) -> RawResult {
        if let Some(e) = self.invalid.take() {
            return Err(e);
        }
        let file = std::fs::File::open(&self.path)?;
        self.results[OPEN] = Some(0);
        let read = read_at(&file, self.buf.as_mut_ptr(), READ_WHOLE_MAX, 0);
        let n = read.as_ref().map_or(0, |&n| n as u64);
        self.results[READ] = Some(read.map_or(-1, |n| n as i64));
        let probe = read_at(&file, self.probe.as_mut_ptr(), PROBE, n);
        self.results[PROBE_READ] = Some(probe.map_or(-1, |n| n as i64));
        // As std::fs::read: closing a file only read from reports nothing worth failing for.
        drop(file);
        self.results[CLOSE] = Some(0);
        Ok(0)
    }

    fn complete(mut self, res: RawResult) -> Self::Output {
        // The pool's open failed (or the path was invalid, or the operation was cancelled).
        res.map_err(|e| with_context(e, "open", &self.path))?;
        match self.results[OPEN] {
            Some(r) if r >= 0 => {}
            #[cfg(all(target_os = "linux", not(target_os = "android")))]
            Some(r) if !is_retryable(-r as i32) => {
                let err = io::Error::from_raw_os_error(-r as i32);
                return Err(with_context(err, "open", &self.path));
            }
            _ => return Ok(None),
        }
        // A failed read, a probe that found more data, or a step that never ran: the general
        // way reads the file again and reports what it finds.
        let (Some(n), Some(0)) = (self.results[READ], self.results[PROBE_READ]) else {
            return Ok(None);
        };
        let Ok(n) = usize::try_from(n) else {
            return Ok(None);
        };
        let n = n.min(READ_WHOLE_MAX);
        crate::sys::valgrind::mark_defined(self.buf.as_ptr(), n);
        // SAFETY: the read wrote `n` bytes at the start of the buffer's capacity.
        unsafe { self.buf.set_len(n) };
        if n < READ_WHOLE_MAX / 4 {
            self.buf.shrink_to_fit();
        }
        Ok(Some(self.buf))
    }
}

/// Errors of the chain's open that say "not this way" rather than "not this file": a
/// cancelled chain (its submitting thread exited) or a kernel refusing the fixed slot.
#[cfg(all(target_os = "linux", not(target_os = "android")))]
fn is_retryable(errno: i32) -> bool {
    matches!(
        errno,
        libc::ECANCELED | libc::EINVAL | libc::EOPNOTSUPP | libc::EBADF
    )
}

/// Positioned read of up to `len` bytes into memory at `ptr` that this operation owns,
/// retrying on EINTR.
fn read_at(file: &std::fs::File, ptr: *mut u8, len: usize, pos: u64) -> io::Result<usize> {
    loop {
        match crate::sys::os::pread(raw(file), ptr, len, pos) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other.map(|n| n as usize),
        }
    }
}

#[cfg(unix)]
fn raw(file: &std::fs::File) -> crate::op::RawFile {
    use std::os::fd::AsRawFd;
    file.as_raw_fd()
}

#[cfg(windows)]
fn raw(file: &std::fs::File) -> crate::op::RawFile {
    use std::os::windows::io::AsRawHandle;
    crate::sys::os::Handle(file.as_raw_handle())
}
