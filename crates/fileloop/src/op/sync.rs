//! sync_all / sync_data (fsync, fdatasync) and sync_range (sync_file_range).

use super::FileHandle;
use crate::driver::{OpKind, Operation, RawResult};
use crate::error::context;
use crate::sys::os;
use std::io;
use std::sync::Arc;

/// fsync, or fdatasync when `data_only`. Like every operation it is unordered with respect to
/// writes still in flight: the `File` methods await earlier writes before syncing.
pub(crate) struct Sync {
    file: Arc<FileHandle>,
    data_only: bool,
}

impl Sync {
    pub(crate) fn new(file: Arc<FileHandle>, data_only: bool) -> Self {
        Sync { file, data_only }
    }
}

impl Operation for Sync {
    type Output = io::Result<()>;
    const KIND: OpKind = OpKind::Sync;

    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn uring_entry(&mut self) -> Option<io_uring::squeue::Entry> {
        use io_uring::{opcode, types};
        let mut op = opcode::Fsync::new(types::Fd(self.file.raw()));
        if self.data_only {
            op = op.flags(types::FsyncFlags::DATASYNC);
        }
        Some(op.build())
    }

    fn run_blocking(&mut self) -> RawResult {
        os::fsync(self.file.raw(), self.data_only)
    }

    fn complete(self, res: RawResult) -> Self::Output {
        let op = if self.data_only {
            "sync_data"
        } else {
            "sync_all"
        };
        context(res.map(drop), op, self.file.path())
    }
}

/// Starts write-back of a byte range and waits for it (SYNC_FILE_RANGE_WAIT_BEFORE | WRITE |
/// WAIT_AFTER). Linux only; elsewhere it falls back to a data sync of the whole file.
pub(crate) struct SyncRange {
    file: Arc<FileHandle>,
    pos: u64,
    len: u64,
}

impl SyncRange {
    pub(crate) fn new(file: Arc<FileHandle>, pos: u64, len: u64) -> Self {
        SyncRange { file, pos, len }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
#[allow(clippy::unnecessary_cast)] // c_uint on some targets
const RANGE_FLAGS: u32 = (libc::SYNC_FILE_RANGE_WAIT_BEFORE
    | libc::SYNC_FILE_RANGE_WRITE
    | libc::SYNC_FILE_RANGE_WAIT_AFTER) as u32;

impl Operation for SyncRange {
    type Output = io::Result<()>;
    const KIND: OpKind = OpKind::SyncRange;

    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn uring_entry(&mut self) -> Option<io_uring::squeue::Entry> {
        use io_uring::{opcode, types};
        let len = u32::try_from(self.len).ok()?; // longer ranges go to the pool
        Some(
            opcode::SyncFileRange::new(types::Fd(self.file.raw()), len)
                .offset(self.pos)
                .flags(RANGE_FLAGS)
                .build(),
        )
    }

    fn run_blocking(&mut self) -> RawResult {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let (Ok(pos), Ok(len)) = (i64::try_from(self.pos), i64::try_from(self.len)) else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "range too large",
                ));
            };
            // SAFETY: plain syscall on a descriptor this operation keeps open.
            let r = unsafe { libc::sync_file_range(self.file.raw(), pos, len, RANGE_FLAGS) };
            crate::driver::cvt(r as isize)
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let _ = (self.pos, self.len); // the whole file instead
            os::fsync(self.file.raw(), true)
        }
    }

    fn complete(self, res: RawResult) -> Self::Output {
        context(res.map(drop), "sync_range", self.file.path())
    }
}
