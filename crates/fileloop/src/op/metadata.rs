//! metadata: statx on Linux (io_uring or pool), std's stat elsewhere; of an open file or a path.

use super::FileHandle;
use crate::driver::{OpKind, Operation, RawResult};
use crate::error::context;
use crate::metadata::Metadata;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// What to stat.
pub(crate) enum StatTarget {
    /// An open file.
    File(Arc<FileHandle>),
    /// A path, relative to a directory handle or the current directory; links followed or not.
    Path {
        dir: Option<Arc<FileHandle>>,
        path: PathBuf,
        follow: bool,
    },
}

/// Reads a file's metadata.
pub(crate) struct Stat {
    target: StatTarget,
    #[cfg(any(target_os = "linux", target_os = "android"))]
    c_path: std::ffi::CString,
    #[cfg(any(target_os = "linux", target_os = "android"))]
    buf: Box<libc::statx>,
    /// Filled by the pool where statx is not used.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    std_meta: Option<std::fs::Metadata>,
    /// The volume's sector size for unbuffered I/O (an open file on Windows).
    #[cfg(windows)]
    dio_alignment: Option<(u32, u32)>,
    /// A path that cannot be passed to the kernel (NUL inside).
    invalid: Option<io::Error>,
    op_name: &'static str,
}

impl Stat {
    pub(crate) fn new(target: StatTarget, op_name: &'static str) -> Self {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let (c_path, invalid) = match &target {
            StatTarget::File(_) => (std::ffi::CString::default(), None),
            StatTarget::Path { path, .. } => match crate::sys::cstr(path) {
                Ok(c) => (c, None),
                Err(e) => (std::ffi::CString::default(), Some(e)),
            },
        };
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let invalid = None;
        Stat {
            target,
            #[cfg(any(target_os = "linux", target_os = "android"))]
            c_path,
            // SAFETY: statx is plain data; all-zero is a valid value.
            #[cfg(any(target_os = "linux", target_os = "android"))]
            buf: Box::new(unsafe { std::mem::zeroed() }),
            #[cfg(not(any(target_os = "linux", target_os = "android")))]
            std_meta: None,
            #[cfg(windows)]
            dio_alignment: None,
            invalid,
            op_name,
        }
    }

    fn path(&self) -> &std::path::Path {
        match &self.target {
            StatTarget::File(f) => f.path(),
            StatTarget::Path { path, .. } => path,
        }
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn statx_args(&self) -> (i32, i32) {
        match &self.target {
            StatTarget::File(f) => (f.raw(), libc::AT_EMPTY_PATH),
            StatTarget::Path { dir, follow, .. } => (
                dir.as_ref().map_or(libc::AT_FDCWD, |d| d.raw()),
                if *follow {
                    0
                } else {
                    libc::AT_SYMLINK_NOFOLLOW
                },
            ),
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
const STATX_MASK: u32 = libc::STATX_BASIC_STATS | libc::STATX_BTIME | libc::STATX_DIOALIGN;

impl Operation for Stat {
    type Output = io::Result<Metadata>;
    const KIND: OpKind = OpKind::Metadata;

    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn uring_entry(&mut self) -> Option<io_uring::squeue::Entry> {
        use io_uring::{opcode, types};
        if self.invalid.is_some() {
            return None;
        }
        let (dir, flags) = self.statx_args();
        let buf: *mut libc::statx = &mut *self.buf;
        Some(
            opcode::Statx::new(types::Fd(dir), self.c_path.as_ptr(), buf.cast())
                .flags(flags)
                .mask(STATX_MASK)
                .build(),
        )
    }

    fn run_blocking(&mut self) -> RawResult {
        if let Some(e) = self.invalid.take() {
            return Err(e);
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let (dir, flags) = self.statx_args();
            // SAFETY: the path is NUL-terminated and the buffer is a live statx, both owned by
            // this operation.
            let r = unsafe {
                libc::statx(dir, self.c_path.as_ptr(), flags, STATX_MASK, &mut *self.buf)
            };
            crate::driver::cvt(r as isize)
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let meta = match &self.target {
                StatTarget::File(f) => crate::sys::os::fstat(f.raw()),
                StatTarget::Path { dir, path, follow } => {
                    let full = match dir {
                        Some(d) => d.path().join(path),
                        None => path.clone(),
                    };
                    if *follow {
                        std::fs::metadata(full)
                    } else {
                        std::fs::symlink_metadata(full)
                    }
                }
            }?;
            self.std_meta = Some(meta);
            #[cfg(windows)]
            if let StatTarget::File(f) = &self.target {
                self.dio_alignment = crate::sys::os::dio_alignment(f.raw());
            }
            Ok(0)
        }
    }

    fn complete(self, res: RawResult) -> Self::Output {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let res = res.map(|_| Metadata::from(&*self.buf));
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let res = res.and_then(|_| {
            self.std_meta
                .clone()
                .map(Metadata::from)
                .ok_or_else(|| io::Error::other("metadata missing"))
        });
        #[cfg(windows)]
        let res = res.map(|m| m.with_dio_alignment(self.dio_alignment));
        context(res, self.op_name, self.path())
    }
}
