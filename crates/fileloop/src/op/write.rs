//! write_at and write_vectored_at: send owned buffers' initialised bytes to an offset.

use super::FileHandle;
use crate::buf::IoBuf;
use crate::driver::{OpKind, Operation, RawResult};
use crate::error::context;
use crate::sys::os;
use std::io;
use std::sync::Arc;

/// Writes the buffer's initialised bytes at `pos` (possibly fewer: a short write).
pub(crate) struct WriteAt<B> {
    file: Arc<FileHandle>,
    buf: B,
    pos: u64,
}

impl<B: IoBuf> WriteAt<B> {
    pub(crate) fn new(file: Arc<FileHandle>, buf: B, pos: u64) -> Self {
        WriteAt { file, buf, pos }
    }
    fn len(&self) -> usize {
        self.buf.bytes_init().min(os::MAX_RW)
    }
}

impl<B: IoBuf> Operation for WriteAt<B> {
    type Output = (io::Result<usize>, B);
    const KIND: OpKind = OpKind::Write;

    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn uring_entry(&mut self) -> Option<io_uring::squeue::Entry> {
        use io_uring::{opcode, types};
        let len = self.len() as u32;
        Some(
            opcode::Write::new(types::Fd(self.file.raw()), self.buf.stable_ptr(), len)
                .offset(self.pos)
                .build(),
        )
    }

    #[cfg(windows)]
    fn iocp_request(&mut self) -> Option<crate::driver::iocp::Request> {
        let (raw, len, ptr) = (self.file.raw(), self.len(), self.buf.stable_ptr());
        let req = crate::driver::iocp::Request::write(raw, self.file.iocp()?, ptr, len, self.pos);
        Some(req)
    }

    fn run_blocking(&mut self) -> RawResult {
        os::pwrite(self.file.raw(), self.buf.stable_ptr(), self.len(), self.pos)
    }

    fn complete(self, res: RawResult) -> Self::Output {
        let res = context(res.map(|n| n as usize), "write_at", self.file.path());
        (res, self.buf)
    }
}

/// Writes several buffers in order, from `pos`.
pub(crate) struct WriteVectoredAt<B> {
    file: Arc<FileHandle>,
    bufs: Vec<B>,
    iovecs: Vec<os::IoVec>,
    pos: u64,
}

impl<B: IoBuf> WriteVectoredAt<B> {
    pub(crate) fn new(file: Arc<FileHandle>, bufs: Vec<B>, pos: u64) -> Self {
        let iovecs = bufs
            .iter()
            .map(|b| os::IoVec::new(b.stable_ptr().cast_mut(), b.bytes_init()))
            .collect();
        WriteVectoredAt {
            file,
            bufs,
            iovecs,
            pos,
        }
    }
}

impl<B: IoBuf> Operation for WriteVectoredAt<B> {
    type Output = (io::Result<usize>, Vec<B>);
    const KIND: OpKind = OpKind::WriteVectored;

    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn uring_entry(&mut self) -> Option<io_uring::squeue::Entry> {
        use io_uring::{opcode, types};
        let n = self.iovecs.len().min(1024) as u32;
        Some(
            opcode::Writev::new(types::Fd(self.file.raw()), self.iovecs.as_ptr().cast(), n)
                .offset(self.pos)
                .build(),
        )
    }

    fn run_blocking(&mut self) -> RawResult {
        os::pwritev(self.file.raw(), &self.iovecs, self.pos)
    }

    fn complete(self, res: RawResult) -> Self::Output {
        let res = context(
            res.map(|n| n as usize),
            "write_vectored_at",
            self.file.path(),
        );
        (res, self.bufs)
    }
}
