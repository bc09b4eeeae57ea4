//! [`ReadAhead`]: the chunk being read from and the reads in flight after it.

use super::inflight::InFlight;
use crate::buf::{IoBuf, Slice};
use crate::File;
use std::collections::VecDeque;
use std::io;
use std::task::{ready, Context, Poll};

type ReadOutput = (io::Result<usize>, Slice<Vec<u8>>);

/// One read of `len` bytes at `pos`.
struct Read {
    pos: u64,
    len: usize,
    io: InFlight<ReadOutput>,
}

/// Buffered data at the stream position and the reads queued behind it, in file order.
///
/// Invariant: the stream position is at `buf[consumed]`, and the queued reads cover the file
/// contiguously from `buf`'s end (`pos + buf.len() - consumed`) to `next`. A short read inserts a
/// read of its missing tail at the queue's front, so the invariant survives short reads.
pub(super) struct ReadAhead {
    buf: Vec<u8>,
    consumed: usize,
    queue: VecDeque<Read>,
    next: u64,
    /// Reads to keep in flight now: 1 at first and after a seek, growing to `max` while reads
    /// are sequential.
    depth: usize,
    max: usize,
    chunk: usize,
    spare: Option<Vec<u8>>,
}

impl ReadAhead {
    pub(super) fn new(chunk: usize, max: usize) -> Self {
        ReadAhead {
            buf: Vec::new(),
            consumed: 0,
            queue: VecDeque::new(),
            next: 0,
            depth: 1,
            max,
            chunk,
            spare: None,
        }
    }

    /// The buffered bytes at the stream position.
    pub(super) fn buffered(&self) -> &[u8] {
        &self.buf[self.consumed..]
    }

    /// Marks `n` buffered bytes as read (`n <= buffered().len()`).
    pub(super) fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.buf.len() - self.consumed);
        self.consumed = (self.consumed + n).min(self.buf.len());
    }

    /// Reads in flight (for `Debug`).
    pub(super) fn in_flight(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing is buffered or in flight.
    pub(super) fn is_empty(&self) -> bool {
        self.consumed == self.buf.len() && self.queue.is_empty()
    }

    /// Drops the buffered data and the reads in flight (dropping an `Op` cancels it; the engine
    /// keeps its buffer until the kernel is done), and restarts the read-ahead at one read.
    pub(super) fn discard(&mut self) {
        self.queue.clear();
        let buf = std::mem::take(&mut self.buf);
        self.recycle(buf);
        self.consumed = 0;
        self.depth = 1;
    }

    /// Moves within the buffered chunk when `target` lies in it (the read-ahead stays valid);
    /// `pos` is the stream position. Returns whether it did.
    pub(super) fn seek_within(&mut self, pos: u64, target: u64) -> bool {
        let start = pos - self.consumed as u64;
        let end = start + self.buf.len() as u64;
        if self.buf.is_empty() || target < start || target > end {
            return false;
        }
        self.consumed = (target - start) as usize;
        true
    }

    /// Fills the buffer if it is empty, `pos` being the stream position; when this returns
    /// `Ready(Ok)`, [`buffered`](Self::buffered) is empty only at the end of the file.
    pub(super) fn poll_fill(
        &mut self,
        file: &File,
        pos: u64,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        if self.consumed < self.buf.len() {
            return Poll::Ready(Ok(()));
        }
        loop {
            if self.queue.is_empty() {
                self.next = pos;
            }
            self.top_up(file, cx);
            let front = self
                .queue
                .front_mut()
                .expect("top_up queues at least one read");
            let (res, slice) = ready!(front.io.poll(cx));
            let Read { pos: at, len, .. } = self.queue.pop_front().expect("front exists");
            debug_assert_eq!(at, pos, "read-ahead out of step with the position");
            let data = slice.into_inner();
            match res {
                Ok(0) => {
                    // End of file (as it is now: reading again later retries from here).
                    self.recycle(data);
                    self.discard();
                    return Poll::Ready(Ok(()));
                }
                Ok(n) => {
                    if n < len {
                        // Short read: read the missing tail before anything queued after it.
                        let tail = self.start_read(file, at + n as u64, len - n, cx);
                        self.queue.push_front(tail);
                    }
                    let old = std::mem::replace(&mut self.buf, data);
                    if !old.is_empty() {
                        // A chunk was read through in order: reads are sequential.
                        self.depth = (self.depth + 1).min(self.max);
                    }
                    self.recycle(old);
                    self.consumed = 0;
                    self.top_up(file, cx);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    self.recycle(data);
                    let again = self.start_read(file, at, len, cx);
                    self.queue.push_front(again);
                }
                Err(e) => {
                    self.recycle(data);
                    self.discard();
                    return Poll::Ready(Err(e));
                }
            }
        }
    }

    /// Submits reads at `next` until `depth` are in flight.
    fn top_up(&mut self, file: &File, cx: &mut Context<'_>) {
        while self.queue.len() < self.depth {
            let read = self.start_read(file, self.next, self.chunk, cx);
            self.next = self.next.saturating_add(self.chunk as u64);
            self.queue.push_back(read);
        }
    }

    fn start_read(&mut self, file: &File, pos: u64, len: usize, cx: &mut Context<'_>) -> Read {
        let mut buf = self
            .spare
            .take()
            .unwrap_or_else(|| Vec::with_capacity(self.chunk));
        buf.clear();
        let op = file.read_at(buf.slice(..len), pos);
        Read {
            pos,
            len,
            io: InFlight::start(op, cx),
        }
    }

    fn recycle(&mut self, buf: Vec<u8>) {
        if buf.capacity() >= self.chunk && self.spare.is_none() {
            self.spare = Some(buf);
        }
    }
}
