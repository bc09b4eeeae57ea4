//! read_at and read_vectored_at: fill owned buffers from an offset.

use super::FileHandle;
use crate::buf::IoBufMut;
use crate::driver::{OpKind, Operation, RawResult};
use crate::error::context;
use crate::sys::os;
use std::io;
use std::sync::Arc;

/// Reads up to the buffer's capacity at `pos`; the buffer's first `n` bytes are filled.
pub(crate) struct ReadAt<B> {
    file: Arc<FileHandle>,
    buf: B,
    pos: u64,
}

impl<B: IoBufMut> ReadAt<B> {
    pub(crate) fn new(file: Arc<FileHandle>, buf: B, pos: u64) -> Self {
        ReadAt { file, buf, pos }
    }
    fn len(&self) -> usize {
        self.buf.bytes_total().min(os::MAX_RW)
    }
}

impl<B: IoBufMut> Operation for ReadAt<B> {
    type Output = (io::Result<usize>, B);
    const KIND: OpKind = OpKind::Read;

    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn uring_entry(&mut self) -> Option<io_uring::squeue::Entry> {
        use io_uring::{opcode, types};
        let len = self.len() as u32;
        let ptr = self.buf.stable_mut_ptr();
        Some(
            opcode::Read::new(types::Fd(self.file.raw()), ptr, len)
                .offset(self.pos)
                .build(),
        )
    }

    #[cfg(windows)]
    fn iocp_request(&mut self) -> Option<crate::driver::iocp::Request> {
        let (raw, len, ptr) = (self.file.raw(), self.len(), self.buf.stable_mut_ptr());
        let req = crate::driver::iocp::Request::read(raw, self.file.iocp()?, ptr, len, self.pos);
        Some(req)
    }

    fn run_blocking(&mut self) -> RawResult {
        let len = self.len();
        os::pread(self.file.raw(), self.buf.stable_mut_ptr(), len, self.pos)
    }

    fn complete(mut self, res: RawResult) -> Self::Output {
        if let Ok(n) = res {
            crate::sys::valgrind::mark_defined(self.buf.stable_mut_ptr(), n as usize);
            // SAFETY: the kernel wrote n bytes at the start of the buffer.
            unsafe { self.buf.set_init(n as usize) };
        }
        let res = context(res.map(|n| n as usize), "read_at", self.file.path());
        (res, self.buf)
    }
}

/// Reads into several buffers in order, from `pos`.
pub(crate) struct ReadVectoredAt<B> {
    file: Arc<FileHandle>,
    bufs: Vec<B>,
    iovecs: Vec<os::IoVec>,
    pos: u64,
}

impl<B: IoBufMut> ReadVectoredAt<B> {
    pub(crate) fn new(file: Arc<FileHandle>, mut bufs: Vec<B>, pos: u64) -> Self {
        let iovecs = bufs
            .iter_mut()
            .map(|b| os::IoVec::new(b.stable_mut_ptr(), b.bytes_total()))
            .collect();
        ReadVectoredAt {
            file,
            bufs,
            iovecs,
            pos,
        }
    }
}

impl<B: IoBufMut> Operation for ReadVectoredAt<B> {
    type Output = (io::Result<usize>, Vec<B>);
    const KIND: OpKind = OpKind::ReadVectored;

    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn uring_entry(&mut self) -> Option<io_uring::squeue::Entry> {
        use io_uring::{opcode, types};
        let n = self.iovecs.len().min(1024) as u32;
        Some(
            opcode::Readv::new(types::Fd(self.file.raw()), self.iovecs.as_ptr().cast(), n)
                .offset(self.pos)
                .build(),
        )
    }

    fn run_blocking(&mut self) -> RawResult {
        os::preadv(self.file.raw(), &self.iovecs, self.pos)
    }

    fn complete(mut self, res: RawResult) -> Self::Output {
        if let Ok(n) = res {
            let mut left = n as usize;
            for buf in &mut self.bufs {
                let take = left.min(buf.bytes_total());
                crate::sys::valgrind::mark_defined(buf.stable_mut_ptr(), take);
                // SAFETY: the kernel filled the buffers in order; this one got `take` bytes.
                unsafe { buf.set_init(take) };
                left -= take;
            }
        }
        let res = context(
            res.map(|n| n as usize),
            "read_vectored_at",
            self.file.path(),
        );
        (res, self.bufs)
    }
}
