//! set_len: ftruncate (io_uring 6.9+ or the pool).

use super::FileHandle;
use crate::driver::{OpKind, Operation, RawResult};
use crate::error::context;
use crate::sys::os;
use std::io;
use std::sync::Arc;

/// Truncates or extends the file to `len` bytes.
pub(crate) struct SetLen {
    file: Arc<FileHandle>,
    len: u64,
}

impl SetLen {
    pub(crate) fn new(file: Arc<FileHandle>, len: u64) -> Self {
        SetLen { file, len }
    }
}

impl Operation for SetLen {
    type Output = io::Result<()>;
    const KIND: OpKind = OpKind::SetLen;

    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn uring_entry(&mut self) -> Option<io_uring::squeue::Entry> {
        use io_uring::{opcode, types};
        Some(opcode::Ftruncate::new(types::Fd(self.file.raw()), self.len).build())
    }

    fn run_blocking(&mut self) -> RawResult {
        os::ftruncate(self.file.raw(), self.len)
    }

    fn complete(self, res: RawResult) -> Self::Output {
        context(res.map(drop), "set_len", self.file.path())
    }
}
