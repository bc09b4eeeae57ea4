//! The filesystem itself: in-memory state shared with [`crate::Mounted`], and the
//! [`fuser::Filesystem`] implementation that the session thread drives.

use std::ffi::OsStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use fuser::{
    BsdFileFlags, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation,
    INodeNo, KernelConfig, LockOwner, OpenAccMode, OpenFlags, ReplyAttr, ReplyCreate, ReplyData,
    ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyWrite, Request, TimeOrNow, WriteFlags,
};

use crate::timer::Timer;
use crate::{fill_pattern, Behaviour};

/// Attributes and entries are never cached by the kernel: sizes can change behind its
/// back (writes kept in memory, files created at run time), and the cost is one
/// `GETATTR` per `stat`, which tests and benches do not care about.
const TTL: Duration = Duration::ZERO;

/// Inode number of the first file; inode 1 is the root directory.
const FIRST_FILE_INO: u64 = 2;

/// Contents of a file.
#[derive(Clone, Debug)]
pub(crate) enum Data {
    /// `len` bytes of the deterministic pattern, not stored.
    Pattern(u64),
    /// Stored bytes.
    Bytes(Vec<u8>),
}

impl Data {
    pub(crate) fn len(&self) -> u64 {
        match self {
            Data::Pattern(len) => *len,
            Data::Bytes(v) => v.len() as u64,
        }
    }

    /// Copies `len` bytes at `offset`; the range must lie within the file.
    fn read(&self, offset: u64, len: usize) -> Vec<u8> {
        match self {
            Data::Pattern(_) => {
                let mut buf = vec![0; len];
                fill_pattern(offset, &mut buf);
                buf
            }
            Data::Bytes(v) => {
                let start = offset as usize;
                v[start..start + len].to_vec()
            }
        }
    }

    /// The stored bytes, turning the pattern into stored bytes first.
    fn bytes_mut(&mut self) -> &mut Vec<u8> {
        if let Data::Pattern(len) = *self {
            let mut v = vec![0; usize::try_from(len).expect("file too large for memory")];
            fill_pattern(0, &mut v);
            *self = Data::Bytes(v);
        }
        match self {
            Data::Bytes(v) => v,
            Data::Pattern(_) => unreachable!(),
        }
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        let v = self.bytes_mut();
        let start = usize::try_from(offset).expect("offset too large for memory");
        let end = start + data.len();
        if v.len() < end {
            v.resize(end, 0);
        }
        v[start..end].copy_from_slice(data);
    }

    fn truncate(&mut self, len: u64) {
        match self {
            // A prefix of the pattern is still the pattern.
            Data::Pattern(old) if len <= *old => *old = len,
            _ => self
                .bytes_mut()
                .resize(usize::try_from(len).expect("file too large for memory"), 0),
        }
    }

    pub(crate) fn to_vec(&self) -> Vec<u8> {
        self.read(0, self.len() as usize)
    }
}

/// A file of the root directory.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) name: String,
    pub(crate) data: Data,
    pub(crate) behaviour: Behaviour,
    /// `None`: use the mount's default.
    pub(crate) direct_io: Option<bool>,
    pub(crate) writable: bool,
    pub(crate) mtime: SystemTime,
}

/// A request held by a `Hang` file until released.
pub(crate) enum Held {
    Read {
        ino: u64,
        offset: u64,
        size: u32,
        reply: ReplyData,
    },
    Write {
        ino: u64,
        offset: u64,
        data: Vec<u8>,
        reply: ReplyWrite,
    },
}

/// Mutable state, behind [`Shared::state`].
pub(crate) struct State {
    /// Indexed by `ino - FIRST_FILE_INO`.
    pub(crate) files: Vec<Node>,
    /// Requests held by `Hang` files.
    pub(crate) held: Vec<Held>,
    /// When set, `Hang` files behave like `Normal` ones.
    pub(crate) hangs_released: bool,
    /// Default for files whose `direct_io` is `None`.
    pub(crate) direct_io: bool,
    uid: u32,
    gid: u32,
}

impl State {
    pub(crate) fn new(files: Vec<Node>, direct_io: bool) -> State {
        // SAFETY: these have no preconditions and cannot fail.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        State {
            files,
            held: Vec::new(),
            hangs_released: false,
            direct_io,
            uid,
            gid,
        }
    }

    fn node(&self, ino: INodeNo) -> Option<&Node> {
        let index = ino.0.checked_sub(FIRST_FILE_INO)?;
        self.files.get(usize::try_from(index).ok()?)
    }

    fn node_mut(&mut self, ino: INodeNo) -> Option<&mut Node> {
        let index = ino.0.checked_sub(FIRST_FILE_INO)?;
        self.files.get_mut(usize::try_from(index).ok()?)
    }

    pub(crate) fn index_of(&self, name: &str) -> Option<usize> {
        self.files.iter().position(|n| n.name == name)
    }

    fn file_attr(&self, ino: INodeNo, node: &Node) -> FileAttr {
        let size = node.data.len();
        FileAttr {
            ino,
            size,
            blocks: size.div_ceil(512),
            atime: node.mtime,
            mtime: node.mtime,
            ctime: node.mtime,
            crtime: node.mtime,
            kind: FileType::RegularFile,
            perm: if node.writable { 0o644 } else { 0o444 },
            nlink: 1,
            uid: self.uid,
            gid: self.gid,
            rdev: 0,
            blksize: 4096,
            flags: 0,
        }
    }

    fn root_attr(&self) -> FileAttr {
        FileAttr {
            ino: INodeNo::ROOT,
            size: 0,
            blocks: 0,
            atime: SystemTime::UNIX_EPOCH,
            mtime: SystemTime::UNIX_EPOCH,
            ctime: SystemTime::UNIX_EPOCH,
            crtime: SystemTime::UNIX_EPOCH,
            kind: FileType::Directory,
            perm: 0o755,
            nlink: 2,
            uid: self.uid,
            gid: self.gid,
            rdev: 0,
            blksize: 4096,
            flags: 0,
        }
    }

    fn attr(&self, ino: INodeNo) -> Option<FileAttr> {
        if ino == INodeNo::ROOT {
            Some(self.root_attr())
        } else {
            self.node(ino).map(|n| self.file_attr(ino, n))
        }
    }

    fn open_flags(&self, node: &Node) -> FopenFlags {
        if node.direct_io.unwrap_or(self.direct_io) {
            FopenFlags::FOPEN_DIRECT_IO | FopenFlags::FOPEN_PARALLEL_DIRECT_WRITES
        } else {
            FopenFlags::empty()
        }
    }
}

/// Request counters.
#[derive(Default)]
pub(crate) struct Stats {
    pub(crate) reads_received: AtomicU64,
    pub(crate) reads_served: AtomicU64,
    pub(crate) reads_failed: AtomicU64,
    pub(crate) writes_received: AtomicU64,
    pub(crate) writes_served: AtomicU64,
    pub(crate) writes_failed: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Everything shared between the session thread, the timer thread and [`crate::Mounted`].
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    /// Notified whenever `State::held` grows.
    pub(crate) held_changed: Condvar,
    pub(crate) stats: Stats,
    pub(crate) timer: Timer,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not make cleanup (Drop of `Mounted`) panic too.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn read_now(
        &self,
        ino: INodeNo,
        offset: u64,
        size: u32,
        short: bool,
    ) -> Result<Vec<u8>, Errno> {
        let state = self.lock();
        let node = state.node(ino).ok_or(Errno::ENOENT)?;
        let len = node.data.len();
        if offset >= len {
            return Ok(Vec::new());
        }
        let mut n = u64::from(size).min(len - offset) as usize;
        if short {
            n = n.min((size as usize / 2).max(1));
        }
        Ok(node.data.read(offset, n))
    }

    /// Answers a read now, with the file's data (`short`: at most half of it).
    pub(crate) fn answer_read(
        &self,
        ino: u64,
        offset: u64,
        size: u32,
        short: bool,
        reply: ReplyData,
    ) {
        match self.read_now(INodeNo(ino), offset, size, short) {
            Ok(buf) => {
                bump(&self.stats.reads_served);
                reply.data(&buf);
            }
            Err(e) => {
                bump(&self.stats.reads_failed);
                reply.error(e);
            }
        }
    }

    fn write_now(&self, ino: INodeNo, offset: u64, data: &[u8]) -> Result<u32, Errno> {
        let mut state = self.lock();
        let node = state.node_mut(ino).ok_or(Errno::ENOENT)?;
        if !node.writable {
            return Err(Errno::EBADF);
        }
        let written = u32::try_from(data.len()).map_err(|_| Errno::EINVAL)?;
        node.data.write(offset, data);
        node.mtime = SystemTime::now();
        Ok(written)
    }

    /// Answers a write now, storing its data.
    pub(crate) fn answer_write(&self, ino: u64, offset: u64, data: &[u8], reply: ReplyWrite) {
        match self.write_now(INodeNo(ino), offset, data) {
            Ok(n) => {
                bump(&self.stats.writes_served);
                reply.written(n);
            }
            Err(e) => {
                bump(&self.stats.writes_failed);
                reply.error(e);
            }
        }
    }

    /// Answers held requests as if they had not been held.
    pub(crate) fn serve_held(&self, held: Vec<Held>) {
        for h in held {
            match h {
                Held::Read {
                    ino,
                    offset,
                    size,
                    reply,
                } => self.answer_read(ino, offset, size, false, reply),
                Held::Write {
                    ino,
                    offset,
                    data,
                    reply,
                } => self.answer_write(ino, offset, &data, reply),
            }
        }
    }

    /// Fails held requests with `EIO`.
    pub(crate) fn fail_held(&self, held: Vec<Held>) {
        for h in held {
            match h {
                Held::Read { reply, .. } => {
                    bump(&self.stats.reads_failed);
                    reply.error(Errno::EIO);
                }
                Held::Write { reply, .. } => {
                    bump(&self.stats.writes_failed);
                    reply.error(Errno::EIO);
                }
            }
        }
    }
}

/// What the session thread drives.
pub(crate) struct TestFs {
    pub(crate) shared: Arc<Shared>,
}

impl Filesystem for TestFs {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> std::io::Result<()> {
        // Background requests (readahead, asynchronous direct I/O) beyond this limit wait
        // in the kernel, which would serialise concurrent I/O on `Latency` files.
        let _ = config.set_max_background(1024);
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let state = self.shared.lock();
        if parent != INodeNo::ROOT {
            return reply.error(Errno::ENOTDIR);
        }
        let found = name.to_str().and_then(|name| state.index_of(name));
        match found {
            Some(index) => {
                let ino = INodeNo(FIRST_FILE_INO + index as u64);
                let attr = state.file_attr(ino, &state.files[index]);
                reply.entry(&TTL, &attr, Generation(0));
            }
            None => reply.error(Errno::ENOENT),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.shared.lock().attr(ino) {
            Some(attr) => reply.attr(&TTL, &attr),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        _mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        // Only the size can change (truncation); other changes are accepted and ignored.
        let mut state = self.shared.lock();
        if let Some(size) = size {
            let Some(node) = state.node_mut(ino) else {
                return reply.error(if ino == INodeNo::ROOT {
                    Errno::EISDIR
                } else {
                    Errno::ENOENT
                });
            };
            if !node.writable {
                return reply.error(Errno::EACCES);
            }
            node.data.truncate(size);
            node.mtime = SystemTime::now();
        }
        match state.attr(ino) {
            Some(attr) => reply.attr(&TTL, &attr),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let state = self.shared.lock();
        let Some(node) = state.node(ino) else {
            return reply.error(Errno::ENOENT);
        };
        if flags.acc_mode() != OpenAccMode::O_RDONLY && !node.writable {
            return reply.error(Errno::EACCES);
        }
        reply.opened(FileHandle(0), state.open_flags(node));
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        _mode: u32,
        _umask: u32,
        _flags: i32,
        reply: ReplyCreate,
    ) {
        let mut state = self.shared.lock();
        if parent != INodeNo::ROOT {
            return reply.error(Errno::ENOTDIR);
        }
        let Some(name) = name.to_str() else {
            return reply.error(Errno::EINVAL);
        };
        if state.index_of(name).is_some() {
            return reply.error(Errno::EEXIST);
        }
        state.files.push(Node {
            name: name.to_string(),
            data: Data::Bytes(Vec::new()),
            behaviour: Behaviour::Normal,
            direct_io: None,
            writable: true,
            mtime: SystemTime::now(),
        });
        let ino = INodeNo(FIRST_FILE_INO + state.files.len() as u64 - 1);
        let node = state.files.last().expect("just pushed");
        let attr = state.file_attr(ino, node);
        let flags = state.open_flags(node);
        reply.created(&TTL, &attr, Generation(0), FileHandle(0), flags);
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let shared = &self.shared;
        bump(&shared.stats.reads_received);
        let mut state = shared.lock();
        let Some(node) = state.node(ino) else {
            drop(state);
            bump(&shared.stats.reads_failed);
            return reply.error(Errno::ENOENT);
        };
        let behaviour = node.behaviour;
        let ino = ino.0;
        match behaviour {
            Behaviour::Hang if !state.hangs_released => {
                state.held.push(Held::Read {
                    ino,
                    offset,
                    size,
                    reply,
                });
                drop(state);
                shared.held_changed.notify_all();
            }
            Behaviour::Latency(delay) => {
                drop(state);
                let job_shared = shared.clone();
                shared.timer.schedule(
                    Instant::now() + delay,
                    Box::new(move || job_shared.answer_read(ino, offset, size, false, reply)),
                );
            }
            Behaviour::Eio => {
                drop(state);
                bump(&shared.stats.reads_failed);
                reply.error(Errno::EIO);
            }
            Behaviour::ShortReads => {
                drop(state);
                shared.answer_read(ino, offset, size, true, reply);
            }
            Behaviour::Normal | Behaviour::Hang | Behaviour::Enospc => {
                drop(state);
                shared.answer_read(ino, offset, size, false, reply);
            }
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let shared = &self.shared;
        bump(&shared.stats.writes_received);
        let mut state = shared.lock();
        let Some(node) = state.node(ino) else {
            drop(state);
            bump(&shared.stats.writes_failed);
            return reply.error(Errno::ENOENT);
        };
        let behaviour = node.behaviour;
        let ino = ino.0;
        match behaviour {
            Behaviour::Hang if !state.hangs_released => {
                state.held.push(Held::Write {
                    ino,
                    offset,
                    data: data.to_vec(),
                    reply,
                });
                drop(state);
                shared.held_changed.notify_all();
            }
            Behaviour::Latency(delay) => {
                drop(state);
                let job_shared = shared.clone();
                let data = data.to_vec();
                shared.timer.schedule(
                    Instant::now() + delay,
                    Box::new(move || job_shared.answer_write(ino, offset, &data, reply)),
                );
            }
            Behaviour::Enospc => {
                drop(state);
                bump(&shared.stats.writes_failed);
                reply.error(Errno::ENOSPC);
            }
            Behaviour::Normal | Behaviour::Hang | Behaviour::Eio | Behaviour::ShortReads => {
                drop(state);
                shared.answer_write(ino, offset, data, reply);
            }
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        if ino != INodeNo::ROOT {
            return reply.error(Errno::ENOTDIR);
        }
        let state = self.shared.lock();
        let dots = [
            (INodeNo::ROOT, FileType::Directory, "."),
            (INodeNo::ROOT, FileType::Directory, ".."),
        ];
        let files = state.files.iter().enumerate().map(|(i, n)| {
            (
                INodeNo(FIRST_FILE_INO + i as u64),
                FileType::RegularFile,
                n.name.as_str(),
            )
        });
        // The offset given with each entry is where the next readdir resumes.
        for (i, (ino, kind, name)) in dots
            .into_iter()
            .chain(files)
            .enumerate()
            .skip(offset as usize)
        {
            if reply.add(ino, i as u64 + 1, kind, name) {
                break;
            }
        }
        reply.ok();
    }
}
