//! A FUSE filesystem for fault and latency injection, for fileloop's tests and benches.
//!
//! It simulates slow, flaky or hung (network) storage: every file of its root directory
//! has a [`Behaviour`] — answer normally, after a delay, never (until released), with
//! `EIO` or `ENOSPC`, or with short reads — which can be changed while it is mounted.
//!
//! Mounting needs root (`CAP_SYS_ADMIN`) and `/dev/fuse`; [`skip_reason`] tells whether
//! a mount can work, so tests can skip themselves elsewhere. No libfuse and no
//! `fusermount` are involved: the filesystem is mounted with a direct `mount(2)` call
//! and served by [`fuser`] in a background thread.
//!
//! By default files are opened with `FOPEN_DIRECT_IO`, so every read and write goes to
//! the daemon (never served from the page cache) and its behaviour applies each time.
//!
//! # Example
//!
//! ```
//! use std::io::Read;
//! use std::time::{Duration, Instant};
//! use fileloop_testfs::{Behaviour, Config, FileSpec};
//!
//! if let Some(reason) = fileloop_testfs::skip_reason() {
//!     eprintln!("skipped: {reason}");
//!     return;
//! }
//! let fs = Config::new()
//!     .file(FileSpec::new("data", 8192))
//!     .file(FileSpec::new("slow", 4096).behaviour(Behaviour::Latency(Duration::from_millis(20))))
//!     .mount()
//!     .unwrap();
//!
//! let data = std::fs::read(fs.file_path("data")).unwrap();
//! assert_eq!(data, fileloop_testfs::pattern(0, 8192));
//!
//! let start = Instant::now();
//! let mut buf = [0; 100];
//! std::fs::File::open(fs.file_path("slow")).unwrap().read_exact(&mut buf).unwrap();
//! assert!(start.elapsed() >= Duration::from_millis(20));
//! // Dropping `fs` unmounts it and removes its directory.
//! ```
//!
//! # Robustness
//!
//! Dropping [`Mounted`] answers every held request, lazily unmounts the filesystem,
//! waits a little for the session to end (aborting the FUSE connection if files are
//! still open on it), and removes the mount point; it never blocks forever.
//!
//! The daemon lives in the process that uses the mount, so a process ending without
//! that `Drop` while one of its threads waits on a held request would get stuck for
//! good: the kernel waits uninterruptibly for an answer to a request the daemon has
//! taken, even through `SIGKILL`. Two safety nets abort the connection then:
//!
//! - an `atexit` handler, for a normal exit (`main` returning, `std::process::exit`)
//!   with mounts not dropped (leaked, or owned by a thread still blocked);
//! - a watchdog process per mount (`/bin/sh`, in its own process group), which the
//!   kernel signals when this process dies (`PR_SET_PDEATHSIG`): it aborts the
//!   connection, unmounts and removes the mount point.
//!
//! Whatever is still left (say `/bin/sh` was missing) is removed by
//! [`cleanup_stale_mounts`], which [`mount`] calls first. Side effect: [`mount`] also
//! mounts fusectl on `/sys/fs/fuse/connections` when it is not mounted there.

#![warn(missing_docs)]

mod exit_guard;
mod fs;
mod sys;
mod timer;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime};

use crate::exit_guard::Watchdog;
use crate::fs::{Data, Node, Shared, State, Stats, TestFs};
use crate::timer::Timer;

/// How long [`mount`] waits for the filesystem to be usable.
const MOUNT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `Drop` of [`Mounted`] waits for the session to end, before and after
/// aborting the connection.
const SESSION_END_TIMEOUT: Duration = Duration::from_secs(1);

/// Why FUSE mounts cannot work here, or `None` when they can.
///
/// `None` means: running as root (effective uid 0) with `CAP_SYS_ADMIN`, and
/// `/dev/fuse` exists and can be opened. Otherwise the reason is a short human sentence,
/// such as `"not root (euid 1000): FUSE tests need root"`, for callers to print before
/// skipping a test:
///
/// ```
/// if let Some(reason) = fileloop_testfs::skip_reason() {
///     eprintln!("skipped: {reason}");
///     return;
/// }
/// ```
pub fn skip_reason() -> Option<String> {
    sys::skip_reason()
}

/// Period of the deterministic content pattern; a prime, so that the pattern does not
/// line up with page or block sizes.
const PATTERN_PERIOD: u64 = 251;

/// Byte `offset` of the deterministic content of files made with [`FileSpec::new`]:
/// `(offset % 251) as u8`.
pub fn pattern_byte(offset: u64) -> u8 {
    (offset % PATTERN_PERIOD) as u8
}

/// `len` bytes of the deterministic content pattern, starting at byte `offset`.
///
/// ```
/// assert_eq!(fileloop_testfs::pattern(250, 3), [250, 0, 1]);
/// ```
pub fn pattern(offset: u64, len: usize) -> Vec<u8> {
    let mut buf = vec![0; len];
    fill_pattern(offset, &mut buf);
    buf
}

/// Fills `buf` with the pattern starting at byte `offset`.
pub(crate) fn fill_pattern(offset: u64, buf: &mut [u8]) {
    static PERIOD: [u8; PATTERN_PERIOD as usize] = {
        let mut t = [0; PATTERN_PERIOD as usize];
        let mut i = 0;
        while i < t.len() {
            t[i] = i as u8;
            i += 1;
        }
        t
    };
    let mut start = (offset % PATTERN_PERIOD) as usize;
    let mut rest = buf;
    while !rest.is_empty() {
        let n = rest.len().min(PERIOD.len() - start);
        let (head, tail) = rest.split_at_mut(n);
        head.copy_from_slice(&PERIOD[start..start + n]);
        rest = tail;
        start = 0;
    }
}

/// How a file answers reads and writes.
///
/// Operations other than reads and writes (lookup, `stat`, open, close...) are always
/// answered at once. Change a file's behaviour at run time with
/// [`Mounted::set_behaviour`]; the change applies to requests that arrive afterwards.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Behaviour {
    /// Reads and writes are answered at once.
    #[default]
    Normal,
    /// Every read and write is answered after this delay. Delayed requests do not delay
    /// one another: 64 concurrent 4 KiB reads of a file with 50 ms latency all complete
    /// after about 50 ms.
    Latency(Duration),
    /// Reads and writes are never answered, until [`Mounted::release_hangs`] (or
    /// [`Mounted::fail_hangs`], or dropping the [`Mounted`]). Held requests are counted
    /// by [`Mounted::pending_hangs`].
    ///
    /// The kernel cannot cancel such a request: a thread reading the file stays blocked
    /// (even an io_uring `ASYNC_CANCEL` of it fails with `EALREADY`) until the request is
    /// answered or the connection is aborted ([`Mounted::abort`]).
    Hang,
    /// Reads fail with `EIO`; writes work.
    Eio,
    /// Writes fail with `ENOSPC`; reads work.
    Enospc,
    /// Each read returns at most half of the bytes asked for (at least 1) — visible to
    /// the reader only with direct I/O (the default), since the page cache fills the
    /// rest of a short read with zeroes. Writes work.
    ShortReads,
}

/// One file of the root directory: name, contents and behaviour.
///
/// ```
/// use fileloop_testfs::{Behaviour, FileSpec};
/// let spec = FileSpec::new("big", 1 << 20).behaviour(Behaviour::ShortReads).writable(true);
/// ```
#[derive(Clone)]
pub struct FileSpec {
    name: String,
    data: Data,
    behaviour: Behaviour,
    direct_io: Option<bool>,
    writable: bool,
}

impl fmt::Debug for FileSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileSpec")
            .field("name", &self.name)
            .field("len", &self.data.len())
            .field("pattern", &matches!(self.data, Data::Pattern(_)))
            .field("behaviour", &self.behaviour)
            .field("direct_io", &self.direct_io)
            .field("writable", &self.writable)
            .finish()
    }
}

impl FileSpec {
    /// A read-only file of `len` bytes of deterministic content: byte `i` is
    /// [`pattern_byte(i)`](pattern_byte), i.e. `(i % 251) as u8`. The content is
    /// generated on each read, not stored, so large files cost no memory (until written).
    pub fn new(name: impl Into<String>, len: u64) -> FileSpec {
        FileSpec {
            name: name.into(),
            data: Data::Pattern(len),
            behaviour: Behaviour::Normal,
            direct_io: None,
            writable: false,
        }
    }

    /// A read-only file with the given contents.
    pub fn with_contents(name: impl Into<String>, contents: impl Into<Vec<u8>>) -> FileSpec {
        FileSpec {
            data: Data::Bytes(contents.into()),
            ..FileSpec::new(name, 0)
        }
    }

    /// Sets the file's behaviour (default [`Behaviour::Normal`]).
    pub fn behaviour(mut self, behaviour: Behaviour) -> FileSpec {
        self.behaviour = behaviour;
        self
    }

    /// Whether the file can be opened for writing (default `false`: such opens fail with
    /// `EACCES`). Writes are kept in memory (the first write to a pattern file stores
    /// the whole pattern first) and can be read back, or seen with
    /// [`Mounted::contents`]. [`Behaviour::Enospc`] needs a writable file to be seen.
    pub fn writable(mut self, writable: bool) -> FileSpec {
        self.writable = writable;
        self
    }

    /// Opens this file with or without `FOPEN_DIRECT_IO`, overriding
    /// [`Config::direct_io`].
    pub fn direct_io(mut self, direct_io: bool) -> FileSpec {
        self.direct_io = Some(direct_io);
        self
    }
}

/// The files of a filesystem to mount, and mount-wide options.
///
/// ```
/// use fileloop_testfs::{Behaviour, Config, FileSpec};
/// let config = Config::new()
///     .file(FileSpec::new("ok", 4096))
///     .file(FileSpec::new("bad", 4096).behaviour(Behaviour::Eio))
///     .direct_io(true);
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    files: Vec<FileSpec>,
    direct_io: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config::new()
    }
}

impl Config {
    /// An empty root directory, with direct I/O on.
    pub fn new() -> Config {
        Config {
            files: Vec::new(),
            direct_io: true,
        }
    }

    /// Adds a file to the root directory.
    pub fn file(mut self, file: FileSpec) -> Config {
        self.files.push(file);
        self
    }

    /// Whether files are opened with `FOPEN_DIRECT_IO` unless their [`FileSpec`] says
    /// otherwise (default `true`). With direct I/O every read and write, including
    /// io_uring ones, is sent to the filesystem; without it reads may be served from the
    /// page cache (the cache is dropped at each open) and read ahead.
    pub fn direct_io(mut self, direct_io: bool) -> Config {
        self.direct_io = direct_io;
        self
    }

    /// Mounts the filesystem; same as [`mount(self)`](mount).
    pub fn mount(self) -> io::Result<Mounted> {
        mount(self)
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn validate(config: &Config) -> io::Result<()> {
    for (i, f) in config.files.iter().enumerate() {
        let name = &f.name;
        if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
            return Err(invalid(format!("invalid file name {name:?}")));
        }
        if config.files[..i].iter().any(|g| g.name == *name) {
            return Err(invalid(format!("duplicate file name {name:?}")));
        }
    }
    Ok(())
}

/// Creates a fresh, empty directory under the temporary directory.
fn make_mount_dir() -> io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let base = std::env::temp_dir();
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!(
            "fileloop-testfs-{}-{n}-{nanos:x}",
            std::process::id()
        ));
        match std::fs::create_dir(&dir) {
            // Canonical, so that it matches the mount point shown in mountinfo.
            Ok(()) => return dir.canonicalize(),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("creating mount point {}: {e}", dir.display()),
                ))
            }
        }
    }
}

/// Polls until `path` is a mount point (its device differs from its parent's), from a
/// helper thread so that a filesystem that does not answer cannot block the caller.
fn wait_until_mounted(path: &Path, timeout: Duration) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let parent = path.parent().unwrap_or(Path::new("/"));
    let parent_dev = std::fs::metadata(parent)?.dev();
    let (tx, rx) = mpsc::channel();
    let probe_path = path.to_path_buf();
    let deadline = Instant::now() + timeout;
    thread::Builder::new()
        .name("testfs-mount-probe".into())
        .spawn(move || {
            let result = loop {
                match std::fs::metadata(&probe_path) {
                    Ok(m) if m.dev() != parent_dev => break Ok(()),
                    Ok(_) if Instant::now() < deadline => {}
                    Ok(_) => break Err(io::Error::new(io::ErrorKind::TimedOut, "not mounted")),
                    Err(e) => break Err(e),
                }
                thread::sleep(Duration::from_millis(2));
            };
            let _ = tx.send(result);
        })?;
    match rx.recv_timeout(timeout + Duration::from_millis(500)) {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "stat of the mount point did not return",
        )),
    }
}

/// Waits up to `timeout` for a thread to finish.
fn wait_finished(handle: &JoinHandle<()>, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while !handle.is_finished() {
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(2));
    }
    true
}

/// Mounts a filesystem with the files of `config` at a fresh directory under
/// [`std::env::temp_dir`], served by a background thread, and waits until it is usable.
///
/// Fails with [`io::ErrorKind::PermissionDenied`] and the [`skip_reason`] when mounts
/// cannot work here, with [`io::ErrorKind::InvalidInput`] for invalid or duplicate file
/// names, and with [`io::ErrorKind::TimedOut`] if the mount is not usable within a few
/// seconds. On failure nothing is left mounted.
pub fn mount(config: Config) -> io::Result<Mounted> {
    if let Some(reason) = skip_reason() {
        return Err(io::Error::new(io::ErrorKind::PermissionDenied, reason));
    }
    validate(&config)?;
    // Best effort: mounts left by dead processes, and fusectl for `abort` and cleanup.
    let _ = cleanup_stale_mounts();
    let _ = sys::ensure_fusectl();

    let now = SystemTime::now();
    let nodes = config
        .files
        .into_iter()
        .map(|f| Node {
            name: f.name,
            data: f.data,
            behaviour: f.behaviour,
            direct_io: f.direct_io,
            writable: f.writable,
            mtime: now,
        })
        .collect();
    let (timer, timer_thread) = Timer::start()?;
    let shared = Arc::new(Shared {
        state: Mutex::new(State::new(nodes, config.direct_io)),
        held_changed: Condvar::new(),
        stats: Stats::default(),
        timer,
    });
    // From here on, `Mounted`'s Drop does all the cleanup of whatever was set up.
    let mut mounted = Mounted {
        path: PathBuf::new(),
        connection: None,
        shared,
        session_thread: None,
        timer_thread: Some(timer_thread),
        mounted: false,
        watchdog: None,
        key: NEXT_KEY.fetch_add(1, Ordering::Relaxed),
    };
    mounted.path = make_mount_dir()?;
    let path = mounted.path.clone();

    let dev = sys::open_dev_fuse()?;
    sys::mount_fuse(&dev, &path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("mount(2) of FUSE on {}: {e}", path.display()),
        )
    })?;
    mounted.mounted = true;
    if let Ok(entry) = sys::mount_entry(&path) {
        mounted.connection = Some(entry.connection);
        mounted.watchdog = Watchdog::start(entry).ok();
    }
    exit_guard::register(mounted.key, &path, mounted.connection, &mounted.shared);

    let (ready_tx, ready_rx) = mpsc::channel();
    let fs = TestFs {
        shared: mounted.shared.clone(),
    };
    mounted.session_thread = Some(thread::Builder::new().name("testfs-session".into()).spawn(
        move || {
            let session =
                fuser::Session::from_fd(fs, dev, fuser::SessionACL::All, fuser::Config::default());
            match session {
                Ok(session) => {
                    let _ = ready_tx.send(Ok(()));
                    // Returns when the connection ends (unmounted or aborted).
                    let _ = session.run();
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            }
        },
    )?);
    match ready_rx.recv_timeout(MOUNT_TIMEOUT) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            return Err(io::Error::new(
                e.kind(),
                format!("FUSE handshake on {}: {e}", path.display()),
            ))
        }
        Err(_) => {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("FUSE handshake on {} did not complete", path.display()),
            ))
        }
    }
    wait_until_mounted(&path, MOUNT_TIMEOUT).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("waiting for the FUSE mount on {}: {e}", path.display()),
        )
    })?;
    Ok(mounted)
}

/// A mounted filesystem. Dropping it unmounts it (see the [crate docs](crate#robustness)).
///
/// All methods take `&self`, so a `Mounted` can be shared with the threads of a test
/// (e.g. with `std::thread::scope` or an `Arc`).
pub struct Mounted {
    path: PathBuf,
    /// fusectl connection number, for [`Mounted::abort`].
    connection: Option<u64>,
    shared: Arc<Shared>,
    session_thread: Option<JoinHandle<()>>,
    timer_thread: Option<JoinHandle<()>>,
    /// Whether `path` has a mount of ours to detach.
    mounted: bool,
    /// Cleans up if the process dies without dropping this.
    watchdog: Option<Watchdog>,
    /// Identifies this mount for the `atexit` cleanup.
    key: u64,
}

static NEXT_KEY: AtomicU64 = AtomicU64::new(0);

impl fmt::Debug for Mounted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mounted")
            .field("path", &self.path)
            .field("connection", &self.connection)
            .field("pending_hangs", &self.pending_hangs())
            .finish_non_exhaustive()
    }
}

impl Mounted {
    /// The mount point: the root directory of the filesystem.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of the file `name` of the root directory (whether it exists or not).
    pub fn file_path(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Answers every held request (of [`Behaviour::Hang`] files) as a `Normal` file would
    /// — reads get their data, writes are stored — and makes `Hang` files behave like
    /// `Normal` ones until [`Mounted::hang_again`]. Returns the number of requests
    /// answered.
    pub fn release_hangs(&self) -> usize {
        let held = {
            let mut state = self.shared.lock();
            state.hangs_released = true;
            std::mem::take(&mut state.held)
        };
        let n = held.len();
        self.shared.serve_held(held);
        n
    }

    /// Fails every held request with `EIO`. Unlike [`Mounted::release_hangs`], `Hang`
    /// files go on holding new requests. Returns the number of requests failed.
    pub fn fail_hangs(&self) -> usize {
        let held = std::mem::take(&mut self.shared.lock().held);
        let n = held.len();
        self.shared.fail_held(held);
        n
    }

    /// Makes [`Behaviour::Hang`] files hold requests again, after
    /// [`Mounted::release_hangs`].
    pub fn hang_again(&self) {
        self.shared.lock().hangs_released = false;
    }

    /// The number of requests held right now by [`Behaviour::Hang`] files.
    ///
    /// Requests the kernel gave up on (the caller was killed) stay counted until released.
    pub fn pending_hangs(&self) -> usize {
        self.shared.lock().held.len()
    }

    /// Waits until at least `n` requests are held, for at most `timeout`; returns whether
    /// they are. Useful to make sure a thread is blocked in a hung read before going on.
    pub fn wait_for_pending_hangs(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        while state.held.len() < n {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            state = self
                .shared
                .held_changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    /// Sets the behaviour of file `name` for the requests that arrive from now on.
    /// Requests already held or delayed are not affected. Fails with
    /// [`io::ErrorKind::NotFound`] if there is no such file.
    pub fn set_behaviour(&self, name: &str, behaviour: Behaviour) -> io::Result<()> {
        let mut state = self.shared.lock();
        let index = state.index_of(name).ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("no file named {name:?}"))
        })?;
        state.files[index].behaviour = behaviour;
        Ok(())
    }

    /// The current contents of file `name` (including what was written to it), or `None`
    /// if there is no such file.
    pub fn contents(&self, name: &str) -> Option<Vec<u8>> {
        let state = self.shared.lock();
        let index = state.index_of(name)?;
        Some(state.files[index].data.to_vec())
    }

    /// Read requests received by the filesystem (each `read(2)` may be split into
    /// several requests by the kernel; without direct I/O, readahead adds more).
    pub fn reads_received(&self) -> u64 {
        self.shared.stats.reads_received.load(Ordering::Relaxed)
    }

    /// Read requests answered with data (possibly short or empty).
    pub fn reads_served(&self) -> u64 {
        self.shared.stats.reads_served.load(Ordering::Relaxed)
    }

    /// Read requests answered with an error (`EIO` of [`Behaviour::Eio`] or
    /// [`Mounted::fail_hangs`]).
    pub fn reads_failed(&self) -> u64 {
        self.shared.stats.reads_failed.load(Ordering::Relaxed)
    }

    /// Write requests received by the filesystem.
    pub fn writes_received(&self) -> u64 {
        self.shared.stats.writes_received.load(Ordering::Relaxed)
    }

    /// Write requests answered with success (their data stored).
    pub fn writes_served(&self) -> u64 {
        self.shared.stats.writes_served.load(Ordering::Relaxed)
    }

    /// Write requests answered with an error (`ENOSPC`, `EIO`...).
    pub fn writes_failed(&self) -> u64 {
        self.shared.stats.writes_failed.load(Ordering::Relaxed)
    }

    /// Aborts the FUSE connection, the last-resort release: requests in flight (held
    /// ones included) fail with `ECONNABORTED`, and any later access to the mount fails
    /// with `ENOTCONN`. This writes to `/sys/fs/fuse/connections/<N>/abort`, mounting
    /// fusectl on `/sys/fs/fuse/connections` first if it is not mounted.
    ///
    /// The `Mounted` stays usable for its counters and is cleaned up by `Drop` as usual.
    pub fn abort(&self) -> io::Result<()> {
        // Once the session has ended, the connection number may belong to someone else.
        if self.session_thread.as_ref().is_none_or(|t| t.is_finished()) {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the FUSE session of this mount has already ended",
            ));
        }
        let connection = self.connection.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "the FUSE connection number of this mount is unknown",
            )
        })?;
        sys::abort_connection(connection)?;
        // The kernel has failed the held requests; forget them (answering them now
        // would only be refused).
        let held = std::mem::take(&mut self.shared.lock().held);
        drop(held);
        Ok(())
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        exit_guard::unregister(self.key);
        // 1. Answer everything the kernel is waiting for, and stop holding or delaying.
        let held = {
            let mut state = self.shared.lock();
            state.hangs_released = true;
            std::mem::take(&mut state.held)
        };
        self.shared.serve_held(held);
        self.shared.timer.shutdown();

        // 2. Detach the mount: it leaves the namespace at once; the connection ends (and
        //    the session thread with it) when the last file open on it is closed.
        if self.mounted {
            let _ = sys::detach(&self.path);
        }

        // 3. Wait a little for that; then abort the connection (files still open on it
        //    get ENOTCONN) and wait a little more; then give up on the thread.
        if let Some(session) = self.session_thread.take() {
            let mut finished = wait_finished(&session, SESSION_END_TIMEOUT);
            if !finished {
                if let Some(connection) = self.connection {
                    let _ = sys::abort_connection(connection);
                    finished = wait_finished(&session, SESSION_END_TIMEOUT);
                }
            }
            if finished {
                let _ = session.join();
                if let Some(watchdog) = self.watchdog.take() {
                    watchdog.stop();
                }
            } else {
                // The watchdog stays, to abort the connection when the process dies.
                eprintln!(
                    "fileloop-testfs: the FUSE session of {} did not end; leaving it behind",
                    self.path.display()
                );
            }
        }
        if let Some(timer) = self.timer_thread.take() {
            if wait_finished(&timer, SESSION_END_TIMEOUT) {
                let _ = timer.join();
            }
        }

        // 4. The mount point is a plain empty directory again.
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_dir(&self.path);
        }
    }
}

/// Removes the mounts of this crate left behind by processes that are gone or dying,
/// and their mount points; returns how many it removed. [`mount`] calls it first.
///
/// A mount point is named `fileloop-testfs-<pid>-...`; its mount is stale when process
/// `<pid>` no longer exists, or is exiting (its main thread is a zombie: typically a
/// thread stuck in a request the dead daemon took, which this frees by aborting the
/// connection). Mounts of live processes, and mounts named otherwise, are left alone.
/// This reads only `/proc`, never the mounted filesystems, so it cannot block.
pub fn cleanup_stale_mounts() -> io::Result<usize> {
    let own_pid = std::process::id();
    let mut removed = 0;
    for entry in sys::mounts()? {
        if entry.fstype != sys::FSTYPE {
            continue;
        }
        let Some(pid) = entry
            .mount_point
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("fileloop-testfs-"))
            .and_then(|n| n.split('-').next())
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == own_pid || process_alive(pid) {
            continue;
        }
        // The mount is still there, so this connection number is still its own.
        let _ = sys::abort_connection(entry.connection);
        if sys::detach(&entry.mount_point).is_ok() {
            let _ = std::fs::remove_dir(&entry.mount_point);
            removed += 1;
        }
    }
    Ok(removed)
}

/// Whether process `pid` exists and its main thread has not exited.
fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // "pid (comm) S ...": the state follows the last ')'.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}
