//! [`read_dir`], [`ReadDir`] and [`DirEntry`]: directory listing in pool batches.
//!
//! io_uring has no getdents, so one pool job reads a batch of up to 1024 entries from a
//! `DIR*` the [`ReadDir`] keeps open; the async side hands them out one at a time and starts
//! the next batch as soon as the previous one arrives, so the pool lists while the caller works.

use super::dir_handle::{open_dir, relabel};
use super::dir_stream::{RawBatch, RawEntry, Stream, Want, BATCH};
use crate::driver::future::Op;
use crate::engine::Engine;
use crate::error::with_context;
use crate::metadata::{FileType, Metadata};
use crate::op::{Blocking, FileHandle, Stat, StatTarget};
use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

/// Opens the directory `path` for listing on the default engine.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// let mut entries = fileloop::read_dir(".").await?;
/// while let Some(entry) = entries.next_entry().await? {
///     println!("{:?} {:?}", entry.file_name(), entry.file_type()?);
/// }
/// # Ok(()) }
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    Engine::global()?.read_dir(path).await
}

impl Engine {
    /// Opens the directory `path` for listing on this engine (see [`read_dir`]).
    pub async fn read_dir(&self, path: impl AsRef<Path>) -> io::Result<ReadDir> {
        let path = path.as_ref();
        let handle = open_dir(self, None, path, path.to_path_buf(), libc::O_RDONLY, false).await?;
        Ok(ReadDir::new(self, handle))
    }
}

/// The directory an entry came from: its handle (for `fstatat`-style metadata) and engine.
pub(crate) struct Listed {
    pub(crate) handle: Arc<FileHandle>,
    pub(crate) engine: Engine,
}

/// The output of one batch job: the stream back (unless the listing ended) and the batch.
pub(crate) type BatchOutput = io::Result<(Option<Stream>, RawBatch)>;

/// Starts a pool job reading the next batch from `stream` (opening it first when `None`).
pub(crate) fn batch_op(listed: &Listed, stream: Option<Stream>, want: Want) -> Op<BatchOutput> {
    let handle = listed.handle.clone();
    listed.engine.op(Blocking::new(move || {
        let mut stream = match stream {
            Some(s) => s,
            None => Stream::open(handle.raw())?,
        };
        let batch = stream.read_batch(BATCH, want);
        // A finished stream is closed here, on the pool thread.
        let stream = (!batch.end).then_some(stream);
        Ok((stream, batch))
    }))
}

/// Polls `op` once (submitting it) and returns its output if it is already done.
pub(crate) async fn poll_once<T: Send + 'static>(op: &mut Op<T>) -> Option<T> {
    std::future::poll_fn(|cx| match Pin::new(&mut *op).poll(cx) {
        Poll::Ready(out) => Poll::Ready(Some(out)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

/// An open directory listing; entries come from [`next_entry`](ReadDir::next_entry).
///
/// Entries are in the order the filesystem returns them, without `.` and `..`. The listing
/// keeps its directory open until it is dropped; each [`DirEntry`] keeps it open too (for its
/// [`metadata`](DirEntry::metadata)), as `std::fs::DirEntry` does.
pub struct ReadDir {
    dir: Arc<Listed>,
    buffered: VecDeque<RawEntry>,
    /// The stream while no job holds it (`None` before the first batch and after the end).
    stream: Option<Stream>,
    pending: Option<Op<BatchOutput>>,
    /// An error that ended the listing, reported after the entries before it.
    error: Option<io::Error>,
    finished: bool,
    want: Want,
}

impl std::fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadDir")
            .field("path", &self.dir.handle.path())
            .finish()
    }
}

impl ReadDir {
    pub(crate) fn new(engine: &Engine, handle: Arc<FileHandle>) -> ReadDir {
        ReadDir {
            dir: Arc::new(Listed {
                handle,
                engine: engine.clone(),
            }),
            buffered: VecDeque::new(),
            stream: None,
            pending: None,
            error: None,
            finished: false,
            want: Want::default(),
        }
    }

    /// Read each entry's metadata in the listing's own pool jobs (Linux: one `statx` per
    /// entry, next to the `getdents`), so [`DirEntry::metadata`] answers at once instead of
    /// being an operation of its own. Worth it when the caller wants the metadata of most
    /// entries; the metadata is then as of the listing. Affects batches not yet started.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// let mut entries = fileloop::read_dir("/var/log").await?.with_metadata(true);
    /// let mut total = 0;
    /// while let Some(entry) = entries.next_entry().await? {
    ///     total += entry.metadata().await?.len();
    /// }
    /// # Ok(()) }
    /// ```
    pub fn with_metadata(mut self, yes: bool) -> ReadDir {
        self.want.metadata = yes;
        self
    }

    /// The directory being listed.
    pub fn path(&self) -> &Path {
        self.dir.handle.path()
    }

    /// The next entry, or `None` at the end. An error ends the listing (later calls return
    /// `None`). Cancel-safe: dropping the future before it resolves loses no entry.
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        loop {
            if let Some(raw) = self.buffered.pop_front() {
                return Ok(Some(DirEntry::new(&self.dir, raw)));
            }
            if let Some(err) = self.error.take() {
                return Err(err);
            }
            if self.finished {
                return Ok(None);
            }
            // The job stays in `self` while awaited: if this future is dropped, the batch
            // (and the stream) is not lost, and the next call picks it up.
            if self.pending.is_none() {
                self.pending = Some(self.start_batch());
            }
            let Some(op) = self.pending.as_mut() else {
                continue;
            };
            let out = std::future::poll_fn(|cx| Pin::new(&mut *op).poll(cx)).await;
            self.pending = None;
            self.absorb(out);
            if !self.finished {
                // Prefetch: the pool reads the next batch while these are handed out.
                let next = self.start_batch();
                if let Some(out) = poll_once(self.pending.insert(next)).await {
                    self.pending = None;
                    self.absorb(out);
                }
            }
        }
    }

    fn start_batch(&mut self) -> Op<BatchOutput> {
        batch_op(&self.dir, self.stream.take(), self.want)
    }

    fn absorb(&mut self, out: BatchOutput) {
        match out {
            Ok((stream, batch)) => {
                self.stream = stream;
                self.buffered.extend(batch.entries);
                if let Some(err) = batch.error {
                    self.error = Some(relabel(err, "read_dir", self.dir.handle.path()));
                }
                self.finished = batch.end;
            }
            Err(err) => {
                self.error = Some(with_context(err, "read_dir", self.path()));
                self.finished = true;
            }
        }
    }
}

impl Drop for ReadDir {
    fn drop(&mut self) {
        // closedir can block on a slow mount: never on the dropping thread.
        if let Some(stream) = self.stream.take() {
            let close = Blocking::new(move || {
                drop(stream);
                Ok(())
            });
            self.dir.engine.op(close).detach();
        }
    }
}

/// An entry of a directory listing.
///
/// [`file_type`](DirEntry::file_type) comes from the listing itself (`d_type`), or from one
/// `lstat` in the pool job where the filesystem does not report types; it never costs an
/// operation of its own. [`metadata`](DirEntry::metadata) is a `statx` relative to the open
/// directory (on io_uring where available), not following a final symbolic link.
pub struct DirEntry {
    dir: Arc<Listed>,
    name: OsString,
    ino: u64,
    file_type: Result<FileType, i32>,
    /// Read with the listing ([`ReadDir::with_metadata`]).
    meta: Option<Metadata>,
}

impl std::fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirEntry")
            .field("path", &self.path())
            .field("file_type", &self.file_type)
            .finish()
    }
}

impl DirEntry {
    pub(crate) fn new(dir: &Arc<Listed>, raw: RawEntry) -> DirEntry {
        DirEntry {
            dir: dir.clone(),
            name: raw.name,
            ino: raw.ino,
            file_type: raw.file_type,
            meta: raw.meta,
        }
    }

    /// The listed directory's path joined with the entry's name.
    pub fn path(&self) -> PathBuf {
        self.dir.handle.path().join(&self.name)
    }

    /// The entry's name (any bytes but `/` and NUL on Unix; not necessarily UTF-8).
    pub fn file_name(&self) -> OsString {
        self.name.clone()
    }

    /// The entry's name, borrowed.
    pub fn name(&self) -> &OsStr {
        &self.name
    }

    /// The entry's type, without following a symbolic link. An error only when the
    /// filesystem did not report the type and the `lstat` that looked it up failed (the entry
    /// was removed meanwhile, for instance).
    pub fn file_type(&self) -> io::Result<FileType> {
        self.file_type.map_err(|code| {
            let err = io::Error::from_raw_os_error(code);
            with_context(err, "file_type", &self.path())
        })
    }

    /// The inode number, as the listing reported it.
    pub fn ino(&self) -> u64 {
        self.ino
    }

    /// The entry's metadata, not following a final symbolic link (as `std::fs::DirEntry`'s on
    /// Unix), looked up relative to the open directory; or, with
    /// [`ReadDir::with_metadata`], the metadata read with the listing.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        self.stat(false).await
    }

    /// The metadata (following a final link or not): the one read with the listing if any
    /// (read there with the same `follow`), else a `statx` now.
    pub(crate) async fn stat(&self, follow: bool) -> io::Result<Metadata> {
        if let Some(meta) = &self.meta {
            return Ok(meta.clone());
        }
        let target = StatTarget::Path {
            dir: Some(self.dir.handle.clone()),
            path: PathBuf::from(&self.name),
            follow,
        };
        let res = self.dir.engine.op(Stat::new(target, "metadata")).await;
        res.map_err(|e| relabel(e, "metadata", &self.path()))
    }
}
