//! allocate and punch_hole: fallocate (Linux), posix_fallocate (FreeBSD), unsupported elsewhere.

use super::FileHandle;
use crate::driver::{OpKind, Operation, RawResult};
use crate::error::context;
use std::io;
use std::sync::Arc;

/// Reserves space for `pos..pos+len` (the file grows if needed), or with `punch_hole`
/// deallocates that range, keeping the size.
pub(crate) struct Allocate {
    file: Arc<FileHandle>,
    pos: u64,
    len: u64,
    punch_hole: bool,
}

impl Allocate {
    pub(crate) fn new(file: Arc<FileHandle>, pos: u64, len: u64, punch_hole: bool) -> Self {
        Allocate {
            file,
            pos,
            len,
            punch_hole,
        }
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn mode(&self) -> i32 {
        if self.punch_hole {
            libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE
        } else {
            0
        }
    }
}

impl Operation for Allocate {
    type Output = io::Result<()>;
    const KIND: OpKind = OpKind::Allocate;

    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn uring_entry(&mut self) -> Option<io_uring::squeue::Entry> {
        use io_uring::{opcode, types};
        Some(
            opcode::Fallocate::new(types::Fd(self.file.raw()), self.len)
                .offset(self.pos)
                .mode(self.mode())
                .build(),
        )
    }

    fn run_blocking(&mut self) -> RawResult {
        let (Ok(pos), Ok(len)) = (i64::try_from(self.pos), i64::try_from(self.len)) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "range too large",
            ));
        };
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            // SAFETY: plain syscall on a descriptor this operation keeps open.
            let r = unsafe { libc::fallocate(self.file.raw(), self.mode(), pos, len) };
            crate::driver::cvt(r as isize)
        }
        #[cfg(target_os = "freebsd")]
        {
            if self.punch_hole {
                return Err(io::Error::from(io::ErrorKind::Unsupported));
            }
            // SAFETY: plain syscall on a descriptor this operation keeps open.
            match unsafe { libc::posix_fallocate(self.file.raw(), pos, len) } {
                0 => Ok(0),
                e => Err(io::Error::from_raw_os_error(e)),
            }
        }
        #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
        {
            let _ = (pos, len);
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "allocate is not supported on this platform",
            ))
        }
    }

    fn complete(self, res: RawResult) -> Self::Output {
        let op = if self.punch_hole {
            "punch_hole"
        } else {
            "allocate"
        };
        context(res.map(drop), op, self.file.path())
    }
}
