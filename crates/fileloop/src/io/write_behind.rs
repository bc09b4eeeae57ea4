//! [`WriteBehind`]: the chunk being filled and the writes in flight before it.

use super::inflight::InFlight;
use crate::buf::{IoBuf, Slice};
use crate::error::with_context;
use crate::File;
use std::io;
use std::task::{Context, Poll};

type WriteOutput = (io::Result<usize>, Slice<Vec<u8>>);

/// The write of a chunk's bytes from the slice's start, which goes to `pos` in the file.
struct Write {
    pos: u64,
    io: InFlight<WriteOutput>,
}

/// The first write error, kept until reported and then remembered for every later call.
enum Failure {
    None,
    Unreported(io::Error),
    Reported(io::ErrorKind, String),
}

/// Bytes accepted by `write` and not yet known to be in the kernel.
///
/// The chunk being filled ends at the stream position. Writes in flight cover disjoint ranges
/// (a seek or read waits for all of them first), so their completion order does not matter.
pub(super) struct WriteBehind {
    buf: Vec<u8>,
    in_flight: Vec<Write>,
    max: usize,
    chunk: usize,
    spare: Option<Vec<u8>>,
    failure: Failure,
}

impl WriteBehind {
    pub(super) fn new(chunk: usize, max: usize) -> Self {
        WriteBehind {
            buf: Vec::new(),
            in_flight: Vec::new(),
            max,
            chunk,
            spare: None,
            failure: Failure::None,
        }
    }

    /// Bytes buffered and not yet submitted.
    pub(super) fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Writes in flight.
    pub(super) fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Copies a prefix of `data` into the chunk (submitting full chunks) and returns its length;
    /// `end` is the stream position, where the chunk ends. Pending only while the chunk is full
    /// and `max` writes are in flight.
    pub(super) fn poll_write(
        &mut self,
        file: &File,
        end: u64,
        data: &[u8],
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        if self.buf.len() >= self.chunk {
            self.reap(file, cx);
            self.check()?;
            if self.in_flight.len() >= self.max {
                return Poll::Pending;
            }
            self.submit(file, end, cx);
        }
        self.check()?;
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if self.buf.capacity() == 0 {
            let chunk = self.chunk;
            self.buf = self
                .spare
                .take()
                .unwrap_or_else(|| Vec::with_capacity(chunk));
        }
        let n = (self.chunk - self.buf.len()).min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() >= self.chunk {
            // Start the write now rather than at the next call, if a slot is free.
            self.reap(file, cx);
            if self.in_flight.len() < self.max {
                self.submit(file, end + n as u64, cx);
            }
        }
        Poll::Ready(Ok(n))
    }

    /// Submits the partial chunk and resolves once every write completed; `end` is the stream
    /// position. Reports the first write error (and, after that, that one failed).
    pub(super) fn poll_flush(
        &mut self,
        file: &File,
        end: u64,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            self.reap(file, cx);
            self.check()?;
            if self.buf.is_empty() {
                return match self.in_flight.is_empty() {
                    true => Poll::Ready(Ok(())),
                    false => Poll::Pending,
                };
            }
            if self.in_flight.len() >= self.max {
                return Poll::Pending;
            }
            self.submit(file, end, cx);
        }
    }

    /// Submits the chunk, which ends at `end` in the file.
    fn submit(&mut self, file: &File, end: u64, cx: &mut Context<'_>) {
        let buf = std::mem::take(&mut self.buf);
        let pos = end - buf.len() as u64;
        let io = InFlight::start(file.write_at(buf.slice(..), pos), cx);
        self.in_flight.push(Write { pos, io });
    }

    /// Handles every completed write: recycles its buffer, resubmits the rest of a short write,
    /// records a failure. Registers `cx` with every write still running.
    fn reap(&mut self, file: &File, cx: &mut Context<'_>) {
        let mut i = 0;
        while i < self.in_flight.len() {
            let write = &mut self.in_flight[i];
            let Poll::Ready((res, slice)) = write.io.poll(cx) else {
                i += 1;
                continue;
            };
            let pos = write.pos;
            let from = slice.begin();
            let buf = slice.into_inner();
            let left = buf.len() - from;
            match res {
                Ok(n) if n >= left => {
                    self.in_flight.swap_remove(i);
                    self.recycle(buf);
                }
                Ok(0) => {
                    let err = io::Error::new(io::ErrorKind::WriteZero, "wrote 0 bytes");
                    self.fail(with_context(err, "write", file.path()));
                    self.in_flight.swap_remove(i);
                }
                Ok(n) => {
                    // Short write: resubmit the rest (polled again by this loop).
                    let at = pos + n as u64;
                    let io = InFlight::start(file.write_at(buf.slice(from + n..), at), cx);
                    self.in_flight[i] = Write { pos: at, io };
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    let io = InFlight::start(file.write_at(buf.slice(from..), pos), cx);
                    self.in_flight[i] = Write { pos, io };
                }
                Err(e) => {
                    self.fail(e);
                    self.in_flight.swap_remove(i);
                }
            }
        }
    }

    fn fail(&mut self, err: io::Error) {
        if let Failure::None = self.failure {
            self.failure = Failure::Unreported(err);
        }
    }

    /// The failure, if any: the original error the first time, a description of it after.
    fn check(&mut self) -> io::Result<()> {
        match std::mem::replace(&mut self.failure, Failure::None) {
            Failure::None => Ok(()),
            Failure::Unreported(err) => {
                self.failure = Failure::Reported(err.kind(), err.to_string());
                Err(err)
            }
            Failure::Reported(kind, msg) => {
                let err = io::Error::new(kind, format!("an earlier buffered write failed: {msg}"));
                self.failure = Failure::Reported(kind, msg);
                Err(err)
            }
        }
    }

    fn recycle(&mut self, mut buf: Vec<u8>) {
        if buf.capacity() >= self.chunk && self.spare.is_none() {
            buf.clear();
            self.spare = Some(buf);
        }
    }
}

impl Drop for WriteBehind {
    /// Submitted writes finish in the background (never cancelled); the partial chunk is lost.
    fn drop(&mut self) {
        for write in self.in_flight.drain(..) {
            write.io.detach();
        }
    }
}
