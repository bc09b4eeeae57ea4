//! close: gives a descriptor back to the kernel, reporting errors (NFS reports write-back
//! failures here).

use super::RawFile;
use crate::driver::{OpKind, Operation, RawResult};
use crate::error::context;
use crate::sys::os;
use std::io;
use std::path::PathBuf;

/// Closes `raw`, which this operation owns.
pub(crate) struct Close {
    raw: RawFile,
    path: PathBuf,
}

// SAFETY: a descriptor or handle is an integer-like token usable from any thread.
unsafe impl Send for Close {}

impl Close {
    pub(crate) fn new(raw: RawFile, path: PathBuf) -> Self {
        Close { raw, path }
    }
}

impl Operation for Close {
    type Output = io::Result<()>;
    const KIND: OpKind = OpKind::Close;

    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn uring_entry(&mut self) -> Option<io_uring::squeue::Entry> {
        use io_uring::{opcode, types};
        Some(opcode::Close::new(types::Fd(self.raw)).build())
    }

    fn run_blocking(&mut self) -> RawResult {
        os::close(self.raw)
    }

    fn complete(self, res: RawResult) -> Self::Output {
        context(res.map(drop), "close", &self.path)
    }
}
