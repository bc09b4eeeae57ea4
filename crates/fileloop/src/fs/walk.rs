//! [`walk`], [`Walk`] and [`WalkEntry`]: a recursive listing with several directories listed at
//! once on the pool.
//!
//! Each pool job opens a directory (the first time) and reads a batch of its entries; up to
//! [`max_concurrency`](Walk::max_concurrency) jobs run at once. Open directories are finished
//! before new ones are started, so at most that many directory descriptors are held by the
//! walk itself (entries the caller keeps hold theirs, as [`DirEntry`] does).

use super::dir_stream::{RawBatch, Stream, Want, BATCH};
use super::read_dir::{DirEntry, Listed};
use crate::driver::future::Op;
use crate::engine::Engine;
use crate::error::with_context;
use crate::metadata::{FileType, Metadata};
use crate::op::{Blocking, FileHandle};
use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

/// Default number of directories listed at once.
pub const DEFAULT_WALK_CONCURRENCY: usize = 8;

/// Walks the tree under `root` on the default engine (see [`Walk`]).
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// let mut walk = fileloop::walk("src").max_concurrency(16);
/// while let Some(entry) = walk.next_entry().await? {
///     println!("{}{}", "  ".repeat(entry.depth() - 1), entry.path().display());
/// }
/// # Ok(()) }
/// ```
pub fn walk(root: impl AsRef<Path>) -> Walk {
    Walk::new(None, root.as_ref())
}

impl Engine {
    /// Walks the tree under `root` on this engine (see [`Walk`]).
    pub fn walk(&self, root: impl AsRef<Path>) -> Walk {
        Walk::new(Some(self.clone()), root.as_ref())
    }
}

/// A directory on the path from the root, for loop detection when following links.
struct Ancestor {
    dev: u64,
    ino: u64,
    parent: Option<Arc<Ancestor>>,
}

impl Ancestor {
    fn contains(chain: &Option<Arc<Ancestor>>, dev: u64, ino: u64) -> bool {
        let mut cur = chain.as_deref();
        while let Some(a) = cur {
            if (a.dev, a.ino) == (dev, ino) {
                return true;
            }
            cur = a.parent.as_deref();
        }
        false
    }
}

/// Where a directory sits in the walk.
#[derive(Clone)]
struct Place {
    path: PathBuf,
    depth: usize,
    /// The directory's ancestors (when following links); after opening, itself included.
    chain: Option<Arc<Ancestor>>,
}

/// What a job works on: a directory to open, or an open one to continue.
enum Source {
    Open,
    Continue(Arc<Listed>, Stream),
}

struct JobOut {
    listed: Arc<Listed>,
    stream: Option<Stream>,
    batch: RawBatch,
    /// (dev, ino) of a newly opened directory, when following links.
    id: Option<(u64, u64)>,
}

struct Running {
    op: Op<io::Result<JobOut>>,
    place: Place,
}

/// A recursive directory listing; entries come from [`next_entry`](Walk::next_entry).
///
/// Every entry under the root is yielded once (the root itself is not), with its
/// [`depth`](WalkEntry::depth): 1 for the root's children. The order is unspecified: several
/// directories are listed at once. Symbolic links are not followed unless
/// [`follow_links`](Walk::follow_links) is set; then a link to a directory is descended into
/// and a link back to one of its own ancestors is reported as an error (ELOOP) instead of
/// being walked again. The root is always followed if it is a link.
///
/// An error about one directory (unreadable, removed meanwhile, a loop) is returned by one
/// call of `next_entry`; the walk goes on with the next call.
pub struct Walk {
    engine: Option<Engine>,
    root: PathBuf,
    max_concurrency: usize,
    follow_links: bool,
    metadata: bool,
    max_depth: usize,
    started: bool,
    /// Directories not yet opened, walked depth-first.
    todo: Vec<Place>,
    /// Open directories between batches.
    open: Vec<(Arc<Listed>, Stream, Place)>,
    running: Vec<Running>,
    ready: VecDeque<io::Result<WalkEntry>>,
}

impl std::fmt::Debug for Walk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Walk")
            .field("root", &self.root)
            .field("max_concurrency", &self.max_concurrency)
            .field("follow_links", &self.follow_links)
            .field("max_depth", &self.max_depth)
            .finish()
    }
}

impl Walk {
    fn new(engine: Option<Engine>, root: &Path) -> Walk {
        Walk {
            engine,
            root: root.to_path_buf(),
            max_concurrency: DEFAULT_WALK_CONCURRENCY,
            follow_links: false,
            metadata: false,
            max_depth: usize::MAX,
            started: false,
            todo: Vec::new(),
            open: Vec::new(),
            running: Vec::new(),
            ready: VecDeque::new(),
        }
    }

    /// How many directories are listed at once (default 8; at least 1).
    pub fn max_concurrency(mut self, n: usize) -> Walk {
        self.max_concurrency = n.max(1);
        self
    }

    /// Follow symbolic links (default: no). Entries behind a followed link report the
    /// target's type and metadata; a link to an ancestor is reported as an error.
    pub fn follow_links(mut self, yes: bool) -> Walk {
        self.follow_links = yes;
        self
    }

    /// Read each entry's metadata in the listing's pool jobs (Linux), so
    /// [`WalkEntry::metadata`] answers at once (see [`ReadDir::with_metadata`](crate::ReadDir::with_metadata)).
    pub fn with_metadata(mut self, yes: bool) -> Walk {
        self.metadata = yes;
        self
    }

    /// Yield entries down to this depth only (1: the root's children).
    pub fn max_depth(mut self, depth: usize) -> Walk {
        self.max_depth = depth;
        self
    }

    /// The root of the walk.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The next entry, `None` when the whole tree has been listed, or an error about one
    /// directory (the walk goes on). Cancel-safe: dropping the future before it resolves
    /// loses no entry.
    pub async fn next_entry(&mut self) -> io::Result<Option<WalkEntry>> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return item.map(Some);
            }
            if !self.started {
                self.started = true;
                if self.engine.is_none() {
                    self.engine = Some(Engine::global()?);
                }
                if self.max_depth > 0 {
                    self.todo.push(Place {
                        path: self.root.clone(),
                        depth: 0,
                        chain: None,
                    });
                }
            }
            self.top_up();
            if self.running.is_empty() {
                return Ok(None);
            }
            let done = self.wait_some().await;
            for (place, out) in done {
                self.absorb(place, out);
            }
        }
    }

    /// Starts jobs up to the bound: open directories first, then new ones.
    fn top_up(&mut self) {
        let Some(engine) = self.engine.clone() else {
            return;
        };
        while self.running.len() < self.max_concurrency {
            let (source, place) = if let Some((listed, stream, place)) = self.open.pop() {
                (Source::Continue(listed, stream), place)
            } else if let Some(place) = self.todo.pop() {
                (Source::Open, place)
            } else {
                break;
            };
            let want = Want {
                follow: self.follow_links,
                metadata: self.metadata,
            };
            let op = job(&engine, source, &place, want);
            self.running.push(Running { op, place });
        }
    }

    /// Polls every running job; resolves once at least one has finished.
    async fn wait_some(&mut self) -> Vec<(Place, io::Result<JobOut>)> {
        let running = &mut self.running;
        std::future::poll_fn(|cx| {
            let mut done = Vec::new();
            let mut i = 0;
            while i < running.len() {
                match Pin::new(&mut running[i].op).poll(cx) {
                    Poll::Ready(out) => {
                        let r = running.swap_remove(i);
                        done.push((r.place, out));
                    }
                    Poll::Pending => i += 1,
                }
            }
            if done.is_empty() {
                Poll::Pending
            } else {
                Poll::Ready(done)
            }
        })
        .await
    }

    fn absorb(&mut self, mut place: Place, out: io::Result<JobOut>) {
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                self.ready
                    .push_back(Err(with_context(e, "walk", &place.path)));
                return;
            }
        };
        if let Some((dev, ino)) = out.id {
            place.chain = Some(Arc::new(Ancestor {
                dev,
                ino,
                parent: place.chain.take(),
            }));
        }
        let depth = place.depth + 1;
        for raw in out.batch.entries {
            let link = raw.link;
            let entry = DirEntry::new(&out.listed, raw);
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir && depth < self.max_depth {
                self.todo.push(Place {
                    path: entry.path(),
                    depth,
                    chain: place.chain.clone(),
                });
            }
            self.ready.push_back(Ok(WalkEntry {
                entry,
                depth,
                link,
                follow: self.follow_links,
            }));
        }
        if let Some(err) = out.batch.error {
            let err = super::dir_handle::relabel(err, "walk", &place.path);
            self.ready.push_back(Err(err));
        }
        if let Some(stream) = out.stream {
            self.open.push((out.listed, stream, place));
        }
    }
}

/// Starts the pool job that opens (if needed) and reads the next batch of a directory.
fn job(engine: &Engine, source: Source, place: &Place, want: Want) -> Op<io::Result<JobOut>> {
    let (engine2, path, chain) = (engine.clone(), place.path.clone(), place.chain.clone());
    let follow = want.follow;
    // The root is followed even when links are not: the caller named it.
    let nofollow = !follow && place.depth > 0;
    engine.op(Blocking::new(move || {
        let (listed, mut stream, id) = match source {
            Source::Continue(listed, stream) => (listed, stream, None),
            Source::Open => open_listed(&engine2, path, &chain, follow, nofollow)?,
        };
        let batch = stream.read_batch(BATCH, want);
        let stream = (!batch.end).then_some(stream);
        Ok(JobOut {
            listed,
            stream,
            batch,
            id,
        })
    }))
}

/// A directory opened by a job: its listing, its stream, and (following links) its id.
type Opened = (Arc<Listed>, Stream, Option<(u64, u64)>);

/// Opens a directory on the pool thread; with `follow`, refuses one already on `chain`.
fn open_listed(
    engine: &Engine,
    path: PathBuf,
    chain: &Option<Arc<Ancestor>>,
    follow: bool,
    nofollow: bool,
) -> io::Result<Opened> {
    let c = crate::sys::cstr(&path)?;
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | if nofollow { libc::O_NOFOLLOW } else { 0 };
    let raw = crate::sys::os::openat(libc::AT_FDCWD, &c, flags, 0)? as i32;
    let handle = Arc::new(FileHandle::new(raw, path, engine.core().clone()));
    let mut id = None;
    if follow {
        // SAFETY: stat is plain data; all-zero is valid.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: raw is open (owned by handle) and st is writable.
        if unsafe { libc::fstat(raw, &mut st) } < 0 {
            return Err(io::Error::last_os_error());
        }
        #[allow(clippy::unnecessary_cast)] // dev_t and ino_t vary in width
        let (dev, ino) = (st.st_dev as u64, st.st_ino as u64);
        if Ancestor::contains(chain, dev, ino) {
            let err = io::Error::from_raw_os_error(libc::ELOOP);
            return Err(with_context(
                err,
                "walk (link back to an ancestor directory)",
                handle.path(),
            ));
        }
        id = Some((dev, ino));
    }
    let stream = Stream::open(raw)?;
    let listed = Arc::new(Listed {
        handle,
        engine: engine.clone(),
    });
    Ok((listed, stream, id))
}

impl Drop for Walk {
    fn drop(&mut self) {
        // closedir can block on a slow mount: never on the dropping thread.
        let streams: Vec<Stream> = self.open.drain(..).map(|(_, s, _)| s).collect();
        if let (false, Some(engine)) = (streams.is_empty(), &self.engine) {
            let close = Blocking::new(move || {
                drop(streams);
                Ok(())
            });
            engine.op(close).detach();
        }
    }
}

/// An entry found by [`Walk`]: a [`DirEntry`] with its depth.
pub struct WalkEntry {
    entry: DirEntry,
    depth: usize,
    link: bool,
    follow: bool,
}

impl std::fmt::Debug for WalkEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalkEntry")
            .field("path", &self.entry.path())
            .field("depth", &self.depth)
            .field("link", &self.link)
            .finish()
    }
}

impl WalkEntry {
    /// The entry's full path (the root joined with the names on the way).
    pub fn path(&self) -> PathBuf {
        self.entry.path()
    }
    /// The entry's name.
    pub fn file_name(&self) -> OsString {
        self.entry.file_name()
    }
    /// The entry's name, borrowed.
    pub fn name(&self) -> &OsStr {
        self.entry.name()
    }
    /// Depth below the root: 1 for the root's children.
    pub fn depth(&self) -> usize {
        self.depth
    }
    /// The type: the link's own when links are not followed, the target's when they are (a
    /// dangling link stays a link).
    pub fn file_type(&self) -> io::Result<FileType> {
        self.entry.file_type()
    }
    /// Whether the entry itself is a symbolic link (even when followed).
    pub fn path_is_symlink(&self) -> bool {
        self.link
    }
    /// The inode number the listing reported (the link's own for a followed link).
    pub fn ino(&self) -> u64 {
        self.entry.ino()
    }
    /// Metadata: of the link's target when links are followed, of the entry itself otherwise.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        self.entry.stat(self.follow && self.link).await
    }
    /// The underlying directory entry.
    pub fn into_dir_entry(self) -> DirEntry {
        self.entry
    }
}
