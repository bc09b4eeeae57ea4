//! [`File`]: an open file whose every operation is a future with owned buffers.

use super::OpenOptions;
use crate::buf::{IoBuf, IoBufMut};
use crate::device::DeviceClass;
use crate::driver::future::Op;
use crate::engine::Engine;
use crate::error::context;
use crate::metadata::Metadata;
use crate::op::{
    self, Allocate, FileHandle, RawFile, ReadAt, ReadVectoredAt, SetLen, Stat, StatTarget, WriteAt,
    WriteVectoredAt,
};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// An open file. Operations take owned buffers and give them back with the result:
/// `(io::Result<usize>, B)`. Offsets are always explicit: there is no file position.
///
/// A `File` is `Send + Sync`; any number of operations may be in flight at once, from any
/// thread or task. Dropping it closes the descriptor once in-flight operations are done,
/// without blocking; [`close`](File::close) does the same and reports the close's error.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use fileloop::File;
/// let file = File::create("data.bin").await?;
/// let (res, _buf) = file.write_all_at(b"hello".to_vec(), 0).await;
/// res?;
/// file.sync_all().await?;
/// let (res, buf) = file.read_exact_at(vec![0u8; 5], 0).await;
/// res?;
/// assert_eq!(&buf[..], b"hello");
/// file.close().await?;
/// # Ok(()) }
/// ```
pub struct File {
    handle: Arc<FileHandle>,
    engine: Engine,
    /// Opened in append mode.
    append_mode: bool,
    /// The end offset appends continue from (set on the first append).
    append_at: OnceLock<AtomicU64>,
}

impl std::fmt::Debug for File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("File")
            .field("path", &self.handle.path())
            .field("raw", &self.handle.raw())
            .finish()
    }
}

impl File {
    /// Opens a file for reading with the default engine.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Creates (or truncates) a file for writing with the default engine.
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Options to open a file in other modes.
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Wraps an open descriptor without looking at its device (nor, on Windows, attaching it
    /// to the completion port: such files are served by the pool).
    pub(crate) fn from_raw(engine: &Engine, raw: RawFile, path: PathBuf) -> File {
        File::from_handle(engine, FileHandle::new(raw, path, engine.core().clone()))
    }

    /// Wraps an open descriptor (as `Open` outputs it) after classifying its device
    /// (routing and bounds).
    pub(crate) async fn from_opened(engine: &Engine, raw: usize, path: PathBuf) -> File {
        let mut handle = FileHandle::new(
            crate::op::raw_from_result(raw as u64),
            path,
            engine.core().clone(),
        );
        #[cfg(windows)]
        handle.set_iocp(engine.core().attach(handle.raw()));
        let (class, gate) = engine.device_policy(&handle).await;
        handle.set_device(class, gate);
        File::from_handle(engine, handle)
    }

    /// As [`from_opened`](File::from_opened) without waiting: a device seen before gets its
    /// class from the cache; a new one is classified in the background (for later opens) and
    /// this file counts as `Unknown`.
    pub(crate) fn from_opened_now(engine: &Engine, raw: usize, path: PathBuf) -> File {
        let mut handle = FileHandle::new(
            crate::op::raw_from_result(raw as u64),
            path,
            engine.core().clone(),
        );
        #[cfg(windows)]
        handle.set_iocp(engine.core().attach(handle.raw()));
        let (class, gate) = engine.device_policy_now(&handle);
        handle.set_device(class, gate);
        File::from_handle(engine, handle)
    }

    fn from_handle(engine: &Engine, handle: FileHandle) -> File {
        File {
            handle: Arc::new(handle),
            engine: engine.clone(),
            append_mode: false,
            append_at: OnceLock::new(),
        }
    }

    /// The kind of storage the file is on (decided at open; `Unknown` for files wrapped with
    /// [`from_std`](File::from_std) or on systems without the query).
    pub fn device_class(&self) -> DeviceClass {
        self.handle.class()
    }

    /// Wraps a standard file; operations run on `engine`. The path is only used in messages.
    #[cfg(unix)]
    pub fn from_std(engine: &Engine, file: std::fs::File, path: impl Into<PathBuf>) -> File {
        use std::os::fd::IntoRawFd;
        File::from_raw(engine, file.into_raw_fd(), path.into())
    }

    /// Wraps a standard file; operations run on `engine`. The path is only used in messages.
    #[cfg(windows)]
    pub fn from_std(engine: &Engine, file: std::fs::File, path: impl Into<PathBuf>) -> File {
        use std::os::windows::io::IntoRawHandle;
        let raw = crate::sys::os::Handle(file.into_raw_handle());
        File::from_raw(engine, raw, path.into())
    }

    /// The path the file was opened with.
    pub fn path(&self) -> &Path {
        self.handle.path()
    }

    /// The descriptor and device policy behind this file.
    pub(crate) fn handle(&self) -> &crate::op::FileHandle {
        &self.handle
    }

    /// The engine serving this file.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    fn op<O: crate::driver::Operation>(&self, op: O) -> Op<O::Output> {
        self.handle.op(op)
    }

    /// Reads into `buf` (up to its capacity) from `pos`; returns the count (0 at end of file)
    /// and the buffer, whose first `n` bytes are filled.
    pub fn read_at<B: IoBufMut>(&self, buf: B, pos: u64) -> Op<(io::Result<usize>, B)> {
        self.op(ReadAt::new(self.handle.clone(), buf, pos))
    }

    /// Writes `buf`'s initialised bytes at `pos`; returns how many were written (possibly fewer:
    /// see [`write_all_at`](File::write_all_at)).
    pub fn write_at<B: IoBuf>(&self, buf: B, pos: u64) -> Op<(io::Result<usize>, B)> {
        self.op(WriteAt::new(self.handle.clone(), buf, pos))
    }

    /// Reads into several buffers in order from `pos` (one system call or io_uring entry).
    pub fn read_vectored_at<B: IoBufMut>(
        &self,
        bufs: Vec<B>,
        pos: u64,
    ) -> Op<(io::Result<usize>, Vec<B>)> {
        self.op(ReadVectoredAt::new(self.handle.clone(), bufs, pos))
    }

    /// Writes several buffers in order from `pos`.
    pub fn write_vectored_at<B: IoBuf>(
        &self,
        bufs: Vec<B>,
        pos: u64,
    ) -> Op<(io::Result<usize>, Vec<B>)> {
        self.op(WriteVectoredAt::new(self.handle.clone(), bufs, pos))
    }

    /// Fills `buf` to its capacity from `pos`, looping over short reads. Reaching the end of
    /// the file first is `UnexpectedEof` (the buffer then holds what was read).
    pub async fn read_exact_at<B: IoBufMut>(&self, mut buf: B, pos: u64) -> (io::Result<()>, B) {
        let want = buf.bytes_total();
        let mut done = 0;
        while done < want {
            let (res, back) = self.read_at(buf.slice(done..want), pos + done as u64).await;
            buf = back.into_inner();
            match res {
                Ok(0) => {
                    let err = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("end of file after {done} of {want} bytes"),
                    );
                    return (context(Err(err), "read_exact_at", self.path()), buf);
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (Err(e), buf),
            }
        }
        (Ok(()), buf)
    }

    /// Writes all of `buf`'s initialised bytes at `pos`, looping over short writes.
    pub async fn write_all_at<B: IoBuf>(&self, mut buf: B, pos: u64) -> (io::Result<()>, B) {
        let want = buf.bytes_init();
        let mut done = 0;
        while done < want {
            let (res, back) = self
                .write_at(buf.slice(done..want), pos + done as u64)
                .await;
            buf = back.into_inner();
            match res {
                Ok(0) => {
                    let err = io::Error::new(io::ErrorKind::WriteZero, "wrote 0 bytes");
                    return (context(Err(err), "write_all_at", self.path()), buf);
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (Err(e), buf),
            }
        }
        (Ok(()), buf)
    }

    /// Appends the whole file from `pos` to its end to `buf`; returns the count appended.
    pub async fn read_to_end_at(&self, mut buf: Vec<u8>, pos: u64) -> (io::Result<usize>, Vec<u8>) {
        let start = buf.len();
        let hint = match self.metadata().await {
            Ok(m) => m.len().saturating_sub(pos) as usize,
            Err(e) => return (Err(e), buf),
        };
        let mut chunk = hint.clamp(4096, 64 << 20);
        loop {
            if buf.capacity() - buf.len() < chunk {
                buf.reserve(chunk);
            }
            let len = buf.len();
            let at = pos + (len - start) as u64;
            let (res, back) = self.read_at(buf.slice(len..), at).await;
            buf = back.into_inner();
            match res {
                Ok(0) => return (Ok(buf.len() - start), buf),
                Ok(_) => chunk = (chunk * 2).min(64 << 20),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (Err(e), buf),
            }
        }
    }

    /// Appends the whole file to `buf` (from offset 0).
    pub async fn read_to_end(&self, buf: Vec<u8>) -> (io::Result<usize>, Vec<u8>) {
        self.read_to_end_at(buf, 0).await
    }

    pub(crate) fn set_append_mode(&mut self) {
        self.append_mode = true;
    }

    /// The end offset appends continue from, read from the file on first use (concurrent
    /// first appends agree: whoever sets it first wins, and all share the one counter).
    async fn append_end(&self) -> io::Result<&AtomicU64> {
        if let Some(end) = self.append_at.get() {
            return Ok(end);
        }
        let len = self.metadata().await?.len();
        Ok(self.append_at.get_or_init(|| AtomicU64::new(len)))
    }

    /// Appends all of `buf` at the end of the file (append mode only). The range is reserved
    /// before writing, so concurrent appends through this `File` never overlap or reorder
    /// their bytes; returns the offset the data went to.
    pub async fn append<B: IoBuf>(&self, buf: B) -> (io::Result<u64>, B) {
        if !self.append_mode {
            let err = io::Error::new(io::ErrorKind::InvalidInput, "file not opened for append");
            return (context(Err(err), "append", self.path()), buf);
        }
        let end = match self.append_end().await {
            Ok(end) => end,
            Err(e) => return (Err(e), buf),
        };
        let pos = end.fetch_add(buf.bytes_init() as u64, Ordering::AcqRel);
        let (res, buf) = self.write_all_at(buf, pos).await;
        (res.map(|_| pos), buf)
    }

    /// Flushes data and metadata to the device (fsync; F_FULLFSYNC on macOS). Covers writes
    /// that completed before it was submitted: await writes first.
    pub fn sync_all(&self) -> Op<io::Result<()>> {
        self.op(op::Sync::new(self.handle.clone(), false))
    }

    /// Flushes data, and metadata only as needed to read it back (fdatasync).
    pub fn sync_data(&self) -> Op<io::Result<()>> {
        self.op(op::Sync::new(self.handle.clone(), true))
    }

    /// Writes back and waits for the byte range `pos..pos+len` (Linux sync_file_range;
    /// elsewhere a data sync of the whole file). It does not flush metadata or the drive cache.
    pub fn sync_range(&self, pos: u64, len: u64) -> Op<io::Result<()>> {
        self.op(op::SyncRange::new(self.handle.clone(), pos, len))
    }

    /// Metadata of the open file (statx on Linux).
    pub fn metadata(&self) -> Op<io::Result<Metadata>> {
        self.op(Stat::new(StatTarget::File(self.handle.clone()), "metadata"))
    }

    /// Truncates or extends the file to `len` bytes.
    pub fn set_len(&self, len: u64) -> Op<io::Result<()>> {
        self.op(SetLen::new(self.handle.clone(), len))
    }

    /// Reserves disk space for `pos..pos+len`, growing the file if needed (fallocate).
    /// `Unsupported` where the platform has no such call.
    pub fn allocate(&self, pos: u64, len: u64) -> Op<io::Result<()>> {
        self.op(Allocate::new(self.handle.clone(), pos, len, false))
    }

    /// Deallocates `pos..pos+len` (reads give zeros), keeping the size (Linux).
    pub fn punch_hole(&self, pos: u64, len: u64) -> Op<io::Result<()>> {
        self.op(Allocate::new(self.handle.clone(), pos, len, true))
    }

    /// Closes the file and reports the close's error (NFS reports failed write-back here).
    /// If operations abandoned earlier still hold the descriptor, it is closed when they
    /// complete and this returns `Ok(())`.
    pub async fn close(self) -> io::Result<()> {
        match Arc::try_unwrap(self.handle) {
            Ok(handle) => handle.into_close().await,
            Err(_shared) => Ok(()),
        }
    }
}
