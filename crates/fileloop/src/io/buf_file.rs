//! [`BufFile`]: a [`File`] with a position, read-ahead and write-behind.

use super::inflight::InFlight;
use super::read_ahead::ReadAhead;
use super::write_behind::WriteBehind;
use super::BufFileOptions;
use crate::error::with_context;
use crate::{File, Metadata};
use std::fmt;
use std::future::poll_fn;
use std::io::{self, SeekFrom};
use std::task::{ready, Context, Poll};

/// A [`File`] read and written as a stream: a position, read-ahead while reading sequentially,
/// bounded write-behind while writing.
///
/// It implements `AsyncRead`, `AsyncBufRead`, `AsyncWrite` and `AsyncSeek` of tokio (feature
/// `tokio`) and of futures-io (feature `futures-io`), on any executor.
///
/// ```
/// # #[cfg(feature = "tokio")]
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use fileloop::io::BufFile;
/// use tokio::io::{AsyncBufReadExt, AsyncSeekExt, AsyncWriteExt};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("log.txt");
/// let file = fileloop::OpenOptions::new()
///     .read(true)
///     .write(true)
///     .create(true)
///     .open(&path)
///     .await?;
///
/// let mut stream = BufFile::new(file);
/// stream.write_all(b"first line\nsecond line\n").await?;
/// stream.flush().await?; // in the kernel now: other readers see it
///
/// stream.rewind().await?;
/// let mut lines = stream.lines();
/// assert_eq!(lines.next_line().await?.as_deref(), Some("first line"));
/// assert_eq!(lines.next_line().await?.as_deref(), Some("second line"));
/// assert_eq!(lines.next_line().await?, None);
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
///
/// # Reading
/// Reads are served from chunks of [`chunk_size`](BufFileOptions::chunk_size) bytes, with up to
/// [`read_ahead`](BufFileOptions::read_ahead) chunk reads in flight ahead of the position while
/// reading sequentially (ramping up from one, see the option). A
/// read returns 0 at the end of the file as it was when read; reading again retries, so a file
/// that grew meanwhile continues to be read. Short reads before the end are completed.
///
/// # Writing
/// Writes are copied into a chunk; each full chunk is submitted at once (short writes are
/// resubmitted until complete) while the caller goes on, with up to
/// [`write_behind`](BufFileOptions::write_behind) chunks in flight; beyond that `write` waits.
///
/// `flush` (and `shutdown`/`close`, which only flush: the file stays usable) resolves when
/// every byte written so far is in the kernel: visible to other readers of the file, but not
/// yet on the device. For durability call [`sync_all`](BufFile::sync_all) (flush, then fsync)
/// or, after a flush, `get_ref().sync_all()`.
///
/// A write error is never swallowed. It is returned by a later `write` (one that needs a slot)
/// or at the latest by the next `flush`/`shutdown`, or by a read or seek, which wait for the
/// writes. From then on every write, flush, shutdown, read and seek that waits for the writes
/// fails too, naming the first error, since the file's content is no longer what was written.
///
/// # Mixing reads, writes and seeks
/// A read or a seek first waits for every buffered write to complete; a write discards the
/// read-ahead. A seek to a position inside the buffered chunk (including `Current(0)`, as
/// `stream_position` does) keeps the read-ahead; any other seek discards it.
///
/// The `BufFile` writes at its own position: a `File` opened in append mode is **not**
/// appended to; seek to `SeekFrom::End(0)` first.
///
/// # Dropping
/// Dropping a `BufFile` (or calling [`into_inner`](BufFile::into_inner)) never blocks:
/// - bytes a completed `flush`/`shutdown` reported are in the kernel already and stay there;
/// - chunks already submitted are **not** cancelled: they complete in the background and
///   their errors are lost (so is the rest of one the kernel wrote only partly);
/// - bytes still buffered and not yet submitted (the partial chunk, and a full chunk waiting
///   for a free slot) are **lost**;
/// - reads in flight are cancelled (the engine keeps their buffers until the kernel is done).
///
/// Flush before dropping to keep everything, and to learn about errors.
pub struct BufFile {
    file: File,
    options: BufFileOptions,
    /// The stream position: where the next read reads and the next write writes.
    pos: u64,
    reader: ReadAhead,
    writer: WriteBehind,
    seek: Option<PendingSeek>,
}

/// A seek started and not yet complete (it may need the writes flushed and the file's length).
struct PendingSeek {
    to: SeekFrom,
    len: Option<InFlight<io::Result<Metadata>>>,
}

impl fmt::Debug for BufFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufFile")
            .field("path", &self.file.path())
            .field("position", &self.pos)
            .field("read_buffered", &self.reader.buffered().len())
            .field("reads_in_flight", &self.reader.in_flight())
            .field("write_buffered", &self.writer.buffered())
            .field("writes_in_flight", &self.writer.in_flight())
            .field("options", &self.options)
            .finish()
    }
}

impl BufFile {
    /// Wraps `file` at position 0 with the default options.
    pub fn new(file: File) -> Self {
        Self::with_options(file, BufFileOptions::new())
    }

    /// Wraps `file` at position 0 with `options`.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// use fileloop::io::{BufFile, BufFileOptions};
    /// let file = fileloop::File::open("big.bin").await?;
    /// let stream = BufFile::with_options(file, BufFileOptions::new().chunk_size(1 << 20));
    /// # drop(stream); Ok(()) }
    /// ```
    pub fn with_options(file: File, options: BufFileOptions) -> Self {
        BufFile {
            reader: ReadAhead::new(options.chunk_size, options.read_ahead),
            writer: WriteBehind::new(options.chunk_size, options.write_behind),
            file,
            options,
            pos: 0,
            seek: None,
        }
    }

    /// The file, e.g. for [`File::sync_all`] or [`File::metadata`] (after a flush, to cover the
    /// buffered writes).
    pub fn get_ref(&self) -> &File {
        &self.file
    }

    /// The file back. Buffered data is handled as when the `BufFile` is dropped (see the type's
    /// documentation): flush first.
    pub fn into_inner(self) -> File {
        self.file
    }

    /// The stream position (a seek in progress not yet applied).
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// The options this `BufFile` was created with.
    pub fn options(&self) -> BufFileOptions {
        self.options
    }

    /// Flushes the buffered writes, then flushes the file's data and metadata to the device
    /// ([`File::sync_all`]).
    pub async fn sync_all(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_flush_writes(cx)).await?;
        self.file.sync_all().await
    }

    /// Flushes the buffered writes, then the file's data to the device ([`File::sync_data`]).
    pub async fn sync_data(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_flush_writes(cx)).await?;
        self.file.sync_data().await
    }

    /// `AsyncBufRead::poll_fill_buf`: the buffered bytes at the position, empty at the end of
    /// the file.
    pub(super) fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        if self.seek.is_none() && !self.reader.buffered().is_empty() {
            return Poll::Ready(Ok(self.reader.buffered()));
        }
        if self.seek.is_some() {
            ready!(self.poll_seek_done(cx))?;
        }
        ready!(self.writer.poll_flush(&self.file, self.pos, cx))?;
        ready!(self.reader.poll_fill(&self.file, self.pos, cx))?;
        Poll::Ready(Ok(self.reader.buffered()))
    }

    /// `AsyncBufRead::consume`: advances over `n` of the bytes `poll_fill` returned.
    pub(super) fn consume_buffered(&mut self, n: usize) {
        let n = n.min(self.reader.buffered().len());
        self.reader.consume(n);
        self.pos += n as u64;
    }

    /// `futures_io::AsyncRead::poll_read`: copies buffered bytes into `out`.
    #[cfg(feature = "futures-io")]
    pub(super) fn poll_read_into(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if out.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let data = ready!(self.poll_fill(cx))?;
        let n = data.len().min(out.len());
        out[..n].copy_from_slice(&data[..n]);
        self.consume_buffered(n);
        Poll::Ready(Ok(n))
    }

    /// `AsyncWrite::poll_write`: buffers a prefix of `data` at the position.
    pub(super) fn poll_write_from(
        &mut self,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.seek.is_some() {
            ready!(self.poll_seek_done(cx))?;
        }
        if self.pos.checked_add(data.len() as u64).is_none() {
            let err = io::Error::new(io::ErrorKind::InvalidInput, "write past the largest offset");
            return Poll::Ready(Err(with_context(err, "write", self.file.path())));
        }
        if !self.reader.is_empty() {
            self.reader.discard();
        }
        let n = ready!(self.writer.poll_write(&self.file, self.pos, data, cx))?;
        self.pos += n as u64;
        Poll::Ready(Ok(n))
    }

    /// `AsyncWrite::poll_flush`: every buffered write submitted and completed.
    pub(super) fn poll_flush_writes(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.writer.poll_flush(&self.file, self.pos, cx)
    }

    /// `tokio::io::AsyncSeek::start_seek`: records the seek; reads, writes and
    /// [`poll_seek_done`](Self::poll_seek_done) complete it.
    #[cfg(feature = "tokio")]
    pub(super) fn start_seek_to(&mut self, to: SeekFrom) -> io::Result<()> {
        if self.seek.is_some() {
            let err =
                io::Error::other("a seek is in progress: complete it before starting another");
            return Err(with_context(err, "seek", self.file.path()));
        }
        self.seek = Some(PendingSeek { to, len: None });
        Ok(())
    }

    /// `futures_io::AsyncSeek::poll_seek`: starts the seek unless it is the one in progress,
    /// and completes it.
    #[cfg(feature = "futures-io")]
    pub(super) fn poll_seek_to(
        &mut self,
        cx: &mut Context<'_>,
        to: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        if self.seek.as_ref().map(|s| s.to) != Some(to) {
            self.seek = Some(PendingSeek { to, len: None });
        }
        self.poll_seek_done(cx)
    }

    /// `tokio::io::AsyncSeek::poll_complete`: the position once the seek in progress (if any)
    /// is applied.
    pub(super) fn poll_seek_done(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let res = ready!(self.poll_seek_inner(cx));
        if self.seek.take().is_none() {
            return Poll::Ready(Ok(self.pos));
        }
        if let Ok(target) = res {
            self.pos = target;
        }
        Poll::Ready(res)
    }

    /// Applies the pending seek to the buffers and returns the target (the caller sets `pos`).
    fn poll_seek_inner(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let Some(seek) = &self.seek else {
            return Poll::Ready(Ok(self.pos));
        };
        let known = match seek.to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::Current(delta) => Some(self.offset(self.pos, delta)?),
            SeekFrom::End(_) => None,
        };
        if let Some(target) = known {
            // Moves that keep the buffers: none, or within the chunk being read.
            if target == self.pos || self.reader.seek_within(self.pos, target) {
                return Poll::Ready(Ok(target));
            }
        }
        // What follows the seek must not overtake (or be overtaken by) the buffered writes,
        // and the length must include them.
        ready!(self.writer.poll_flush(&self.file, self.pos, cx))?;
        let target = match known {
            Some(target) => target,
            None => {
                let seek = self.seek.as_mut().expect("checked above");
                let SeekFrom::End(delta) = seek.to else {
                    unreachable!("only End needs the length")
                };
                let file = &self.file;
                let len = seek
                    .len
                    .get_or_insert_with(|| InFlight::start(file.metadata(), cx));
                let meta = ready!(len.poll(cx));
                seek.len = None;
                self.offset(meta?.len(), delta)?
            }
        };
        if !self.reader.seek_within(self.pos, target) {
            self.reader.discard();
        }
        Poll::Ready(Ok(target))
    }

    /// `base + delta`, or an error naming the file if that is negative or overflows.
    fn offset(&self, base: u64, delta: i64) -> io::Result<u64> {
        base.checked_add_signed(delta).ok_or_else(|| {
            let err = io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid seek to {base} {delta:+}: negative or overflowing position"),
            );
            with_context(err, "seek", self.file.path())
        })
    }
}
