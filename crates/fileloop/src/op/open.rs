//! open: openat (or openat2 confined beneath a directory) on io_uring or the pool.

use super::FileHandle;
use crate::driver::{OpKind, Operation, RawResult};
use crate::error::context;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// How to open: the flags std's OpenOptions would pass, plus where to resolve the path.
pub(crate) struct OpenHow {
    /// Resolve relative to this directory instead of the current one.
    pub(crate) dir: Option<Arc<FileHandle>>,
    pub(crate) path: PathBuf,
    /// open(2) flags (O_CLOEXEC is always added).
    pub(crate) flags: i32,
    pub(crate) mode: u32,
    /// Every component must resolve beneath `dir` (openat2 RESOLVE_BENEATH).
    pub(crate) beneath: bool,
}

/// Opens a file; the output is the new descriptor, owned by the caller
/// (see [`raw_from_result`](super::raw_from_result)).
pub(crate) struct Open {
    how: OpenHow,
    #[cfg(unix)]
    c_path: std::ffi::CString,
    #[cfg(target_os = "linux")]
    /// Inline, not boxed: io_uring reads it while the operation sits in its cell, which never
    /// moves until the completion arrives.
    open_how: OpenHowRaw,
    invalid: Option<io::Error>,
}

/// `struct open_how` of openat2(2).
#[cfg(target_os = "linux")]
#[repr(C)]
pub(crate) struct OpenHowRaw {
    flags: u64,
    mode: u64,
    resolve: u64,
}

#[cfg(target_os = "linux")]
const RESOLVE_BENEATH: u64 = 0x08;
#[cfg(target_os = "linux")]
const RESOLVE_NO_MAGICLINKS: u64 = 0x02;

impl Open {
    pub(crate) fn new(how: OpenHow) -> Self {
        #[cfg(unix)]
        let (c_path, invalid) = match crate::sys::cstr(&how.path) {
            Ok(c) => (c, None),
            Err(e) => (std::ffi::CString::default(), Some(e)),
        };
        #[cfg(not(unix))]
        let invalid = None;
        Open {
            #[cfg(target_os = "linux")]
            open_how: OpenHowRaw {
                flags: (how.flags | libc::O_CLOEXEC) as u64,
                mode: if how.flags & (libc::O_CREAT | libc::O_TMPFILE) != 0 {
                    u64::from(how.mode)
                } else {
                    0
                },
                resolve: RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
            },
            how,
            #[cfg(unix)]
            c_path,
            invalid,
        }
    }

    #[cfg(unix)]
    fn dir_fd(&self) -> i32 {
        self.how.dir.as_ref().map_or(libc::AT_FDCWD, |d| d.raw())
    }
}

impl Operation for Open {
    /// The new descriptor or handle as an integer.
    type Output = io::Result<usize>;
    const KIND: OpKind = OpKind::Open;

    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn uring_entry(&mut self) -> Option<io_uring::squeue::Entry> {
        use io_uring::{opcode, types};
        if self.invalid.is_some() {
            return None;
        }
        let dir = types::Fd(self.dir_fd());
        if self.how.beneath {
            let how: *const OpenHowRaw = &self.open_how;
            return Some(opcode::OpenAt2::new(dir, self.c_path.as_ptr(), how.cast()).build());
        }
        Some(
            opcode::OpenAt::new(dir, self.c_path.as_ptr())
                .flags(self.how.flags | libc::O_CLOEXEC)
                .mode(self.how.mode)
                .build(),
        )
    }

    fn run_blocking(&mut self) -> RawResult {
        if let Some(e) = self.invalid.take() {
            return Err(e);
        }
        #[cfg(target_os = "linux")]
        if self.how.beneath {
            // SAFETY: path and open_how are live and owned by this operation.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_openat2,
                    self.dir_fd(),
                    self.c_path.as_ptr(),
                    &self.open_how as *const OpenHowRaw,
                    std::mem::size_of::<OpenHowRaw>(),
                )
            };
            return crate::driver::cvt(r as isize);
        }
        #[cfg(not(target_os = "linux"))]
        if self.how.beneath {
            // Without openat2 a confined open cannot be guaranteed: refuse.
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "confined directories need openat2 (Linux 5.6+)",
            ));
        }
        #[cfg(unix)]
        {
            crate::sys::os::openat(self.dir_fd(), &self.c_path, self.how.flags, self.how.mode)
        }
        #[cfg(windows)]
        {
            crate::sys::os::open(&self.how.path, self.how.flags, self.how.mode)
        }
    }

    fn complete(self, res: RawResult) -> Self::Output {
        let res = res.map(|raw| raw as usize);
        let shown = match &self.how.dir {
            Some(d) => d.path().join(&self.how.path),
            None => self.how.path.clone(),
        };
        context(res, "open", &shown)
    }

    fn discard(self, res: RawResult) {
        if let Ok(raw) = res {
            let _ = crate::sys::os::close(super::raw_from_result(raw));
        }
    }
}
