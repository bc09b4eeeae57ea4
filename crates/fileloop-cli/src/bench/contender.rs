//! What a contender is, what it is asked to do ([`Job`]) and what it reports ([`Outcome`]).
//!
//! A contender is anything that can run a [`Job`]: a number of operations issued with a given
//! concurrency, each op's latency recorded. The job fully defines *which* ops run (offsets come
//! from [`ReadAt::offset`], paths from [`Files::path`]), so contenders differ only in *how* they
//! issue them. Two adapters cover the usual shapes:
//!
//! * async libraries implement [`super::async_backend::AsyncBackend`] (open / read_at / close /
//!   read a whole file / create+write / remove, all as `Send` futures) and are wrapped in
//!   [`super::async_backend::AsyncContender`], which supplies the task driver, the runtime and
//!   the loop-lag (W5) harness;
//! * blocking APIs use the thread driver [`drive_threads`] (see `contender_std.rs`).
//!
//! Setup that a user would do once (opening the file for W1/W2/W6, spawning threads, building a
//! runtime) happens before the timed region; a few warm-up ops run per task before a barrier, then
//! every task starts its clock.

use std::alloc::{self, Layout};
use std::fmt;
use std::io;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Something `fileloop bench` can measure.
pub trait Contender: Send + Sync {
    /// Name used in `--contenders` and in the report (e.g. `tokio-fs`, `fileloop-uring`).
    fn name(&self) -> &str;

    /// Runs one job to completion (or until its budget runs out).
    ///
    /// Return [`RunError::Skip`] when the contender cannot do this job at all (it is reported as
    /// skipped, with the reason), [`RunError::Failed`] for an unexpected I/O error.
    fn run(&self, job: &Job) -> Result<Outcome, RunError>;
}

/// When a measurement stops: after `max_ops` operations or once `max_time` has elapsed (checked
/// after every completed op), whichever comes first.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Upper bound on the number of measured ops, over all tasks.
    pub max_ops: u64,
    /// Upper bound on the measured time.
    pub max_time: Option<Duration>,
}

/// Where reads land in the file.
#[derive(Clone, Copy, Debug)]
pub enum Pattern {
    /// Uniformly random block-aligned offsets (a fixed hash of the op index and the seed).
    Random {
        /// Seed for the offset hash.
        seed: u64,
    },
    /// Op `i` reads block `i` (wrapping around at the end of the file); with concurrency > 1 the
    /// tasks take consecutive blocks from a shared counter.
    Sequential,
}

/// W1, W2, W6: `block`-byte reads from one large file.
#[derive(Clone, Debug)]
pub struct ReadAt {
    /// The file to read.
    pub file: PathBuf,
    /// Its length in bytes.
    pub file_len: u64,
    /// Bytes per read; offsets are multiples of it.
    pub block: usize,
    /// Random or sequential offsets.
    pub pattern: Pattern,
    /// Open with `O_DIRECT` (buffers must then be 4096-byte aligned, see [`DIRECT_ALIGN`]).
    pub direct: bool,
    /// Number of operations in flight (tasks / threads).
    pub concurrency: usize,
    /// When to stop.
    pub budget: Budget,
}

impl ReadAt {
    /// File offset of op number `i`.
    pub fn offset(&self, i: u64) -> u64 {
        let block = self.block as u64;
        let blocks = (self.file_len / block).max(1);
        match self.pattern {
            Pattern::Random { seed } => (splitmix64(seed ^ i) % blocks) * block,
            Pattern::Sequential => (i % blocks) * block,
        }
    }
}

/// W3, W4, W5: operations on many small files.
#[derive(Clone, Debug)]
pub struct Files {
    /// The files; op `i` uses `paths[i % len]`.
    pub paths: Arc<[PathBuf]>,
    /// Number of operations in flight.
    pub concurrency: usize,
    /// When to stop (create and remove jobs use exactly one op per path).
    pub budget: Budget,
}

impl Files {
    /// Path for op number `i`.
    pub fn path(&self, i: u64) -> &Path {
        &self.paths[(i % self.paths.len() as u64) as usize]
    }
}

/// One measurement request.
#[derive(Clone, Debug)]
pub enum Job {
    /// W1 / W2 / W6: positioned reads from one file; each task opens its own handle (or the
    /// contender shares one, as its users would) before the timed region.
    ReadAt(ReadAt),
    /// W3: open + read the whole file + close, per op. Op bytes = file size.
    ReadFiles(Files),
    /// W4 create phase: create (truncate) + write `size` bytes + close, exactly once per path.
    /// The content is whatever the contender's buffer holds (a fixed pattern).
    CreateFiles {
        /// The files to create (their directory exists and is empty).
        files: Files,
        /// Bytes to write into each.
        size: usize,
    },
    /// W4 delete phase: unlink every path once.
    RemoveFiles(Files),
    /// W5: run the [`Job::ReadFiles`] work on a single-threaded event loop (tokio current-thread
    /// runtime) together with a timer that ticks every `tick`; report the timer's lateness in
    /// [`Outcome::lag_ns`] (see `async_backend::with_ticker` for how it is measured).
    LoopLag {
        /// The W3 work.
        files: Files,
        /// Timer period (1 ms).
        tick: Duration,
    },
}

impl Job {
    /// Ops in flight.
    pub fn concurrency(&self) -> usize {
        match self {
            Job::ReadAt(r) => r.concurrency,
            Job::ReadFiles(f) | Job::RemoveFiles(f) => f.concurrency,
            Job::CreateFiles { files, .. } | Job::LoopLag { files, .. } => files.concurrency,
        }
    }
}

/// What a contender measured.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Completed (measured) ops.
    pub ops: u64,
    /// Bytes transferred by them.
    pub bytes: u64,
    /// From the first task's start to the last task's last completion.
    pub elapsed: Duration,
    /// Per-op latency in nanoseconds (saturating at ~4.29 s), unsorted.
    pub latencies_ns: Vec<u32>,
    /// W5 only: timer lateness samples in nanoseconds.
    pub lag_ns: Option<Vec<u32>>,
}

/// Why a contender produced no [`Outcome`].
#[derive(Debug)]
pub enum RunError {
    /// The contender cannot run this job (reported, not an error).
    Skip(String),
    /// Something went wrong.
    Failed(io::Error),
}

impl From<io::Error> for RunError {
    fn from(e: io::Error) -> Self {
        RunError::Failed(e)
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Skip(why) => write!(f, "skipped: {why}"),
            RunError::Failed(e) => write!(f, "failed: {e}"),
        }
    }
}

/// Alignment that O_DIRECT buffers (and offsets) need on the filesystems measured here.
pub const DIRECT_ALIGN: usize = 4096;

/// Index space for warm-up ops, far away from the measured ops' indices.
pub const WARMUP_BASE: u64 = 1 << 62;

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hands out op indices to tasks until the budget is used up or someone calls [`stop`].
///
/// [`stop`]: OpCounter::stop
#[derive(Debug)]
pub struct OpCounter {
    next: AtomicU64,
    max_ops: u64,
    stop: AtomicBool,
    /// When the first task started measuring: the time budget runs from here for every task
    /// (tasks that get scheduled late must not extend the measurement).
    clock: OnceLock<Instant>,
}

impl OpCounter {
    /// A counter for `budget.max_ops` ops.
    pub fn new(budget: &Budget) -> Self {
        Self {
            next: AtomicU64::new(0),
            max_ops: budget.max_ops,
            stop: AtomicBool::new(false),
            clock: OnceLock::new(),
        }
    }

    /// The next op index, or `None` when done.
    pub fn claim(&self) -> Option<u64> {
        if self.stop.load(Ordering::Relaxed) {
            return None;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        (i < self.max_ops).then_some(i)
    }

    /// Makes every further [`claim`](OpCounter::claim) return `None`.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// One task's measurements.
#[derive(Debug)]
pub struct Recorder {
    started: Instant,
    ended: Option<Instant>,
    deadline: Option<Instant>,
    bytes: u64,
    latencies_ns: Vec<u32>,
}

impl Recorder {
    /// Starts this task's clock (call right after the start barrier). The time budget counts
    /// from the first task's start.
    pub fn start(budget: &Budget, concurrency: usize, counter: &OpCounter) -> Self {
        let started = Instant::now();
        let first = *counter.clock.get_or_init(|| started);
        let expected = budget.max_ops / concurrency.max(1) as u64 + 1;
        Self {
            started,
            ended: None,
            deadline: budget.max_time.map(|t| first + t),
            bytes: 0,
            latencies_ns: Vec::with_capacity(expected.min(1 << 17) as usize),
        }
    }

    /// Records one op that began at `op_start` and has just completed, moving `bytes`; stops
    /// `counter` once the time budget is used up.
    pub fn record(&mut self, op_start: Instant, bytes: u64, counter: &OpCounter) {
        let now = Instant::now();
        let ns = now.duration_since(op_start).as_nanos();
        self.latencies_ns
            .push(u32::try_from(ns).unwrap_or(u32::MAX));
        self.bytes += bytes;
        self.ended = Some(now);
        if self.deadline.is_some_and(|d| now >= d) {
            counter.stop();
        }
    }
}

impl Outcome {
    /// Merges the per-task recorders into one outcome.
    pub fn from_tasks(tasks: Vec<Recorder>) -> Self {
        let first = tasks.iter().map(|r| r.started).min();
        let last = tasks.iter().map(|r| r.ended.unwrap_or(r.started)).max();
        let elapsed = match (first, last) {
            (Some(a), Some(b)) => b.saturating_duration_since(a),
            _ => Duration::ZERO,
        };
        let total: usize = tasks.iter().map(|r| r.latencies_ns.len()).sum();
        let mut latencies_ns = Vec::with_capacity(total);
        let mut bytes = 0;
        for r in tasks {
            bytes += r.bytes;
            latencies_ns.extend_from_slice(&r.latencies_ns);
        }
        Outcome {
            ops: latencies_ns.len() as u64,
            bytes,
            elapsed,
            latencies_ns,
            lag_ns: None,
        }
    }
}

/// Runs `threads` OS threads, each with its own state from `setup(thread_index)`, that claim op
/// indices and run `op(&mut state, i)` (returning bytes moved) until the budget is used up.
/// With `threads == 1` the work runs on the calling thread.
pub fn drive_threads<S, Su, Op>(
    threads: usize,
    budget: Budget,
    warmup: u64,
    setup: Su,
    op: Op,
) -> io::Result<Outcome>
where
    S: Send,
    Su: Fn(usize) -> io::Result<S> + Sync,
    Op: Fn(&mut S, u64) -> io::Result<u64> + Sync,
{
    let threads = threads.max(1);
    let counter = OpCounter::new(&budget);
    let barrier = std::sync::Barrier::new(threads);
    let body = |t: usize| -> io::Result<Recorder> {
        let mut state = setup(t);
        if let Ok(s) = state.as_mut() {
            for w in 0..warmup {
                if let Err(e) = op(s, WARMUP_BASE + t as u64 * warmup + w) {
                    state = Err(e);
                    break;
                }
            }
        }
        barrier.wait();
        let mut state = state.inspect_err(|_| counter.stop())?;
        let mut rec = Recorder::start(&budget, threads, &counter);
        while let Some(i) = counter.claim() {
            let t0 = Instant::now();
            match op(&mut state, i) {
                Ok(n) => rec.record(t0, n, &counter),
                Err(e) => {
                    counter.stop();
                    return Err(e);
                }
            }
        }
        Ok(rec)
    };
    let results: Vec<io::Result<Recorder>> = if threads == 1 {
        vec![body(0)]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads).map(|t| s.spawn(move || body(t))).collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(io::Error::other("worker thread panicked")))
                })
                .collect()
        })
    };
    let recs = results.into_iter().collect::<io::Result<Vec<_>>>()?;
    Ok(Outcome::from_tasks(recs))
}

/// A zero-initialised heap buffer aligned to [`DIRECT_ALIGN`], usable for O_DIRECT.
pub struct AlignedBuf {
    ptr: NonNull<u8>,
    layout: Layout,
}

// SAFETY: AlignedBuf uniquely owns its allocation, like a Box<[u8]>.
unsafe impl Send for AlignedBuf {}
// SAFETY: shared access only hands out &[u8].
unsafe impl Sync for AlignedBuf {}

impl AlignedBuf {
    /// A zeroed buffer of `len` bytes (`len` > 0) aligned to [`DIRECT_ALIGN`].
    pub fn zeroed(len: usize) -> Self {
        let layout =
            Layout::from_size_align(len.max(1), DIRECT_ALIGN).expect("buffer size overflows");
        // SAFETY: layout has non-zero size.
        let ptr = unsafe { alloc::alloc_zeroed(layout) };
        let ptr = NonNull::new(ptr).unwrap_or_else(|| alloc::handle_alloc_error(layout));
        Self { ptr, layout }
    }

    /// A buffer of `len` bytes filled with a fixed non-zero pattern.
    pub fn patterned(len: usize) -> Self {
        let mut b = Self::zeroed(len);
        for (i, x) in b.iter_mut().enumerate() {
            *x = (i as u8).wrapping_mul(31).wrapping_add(7);
        }
        b
    }
}

impl Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: ptr points to layout.size() initialised bytes owned by self.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.layout.size()) }
    }
}

impl DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in deref, and &mut self guarantees exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.layout.size()) }
    }
}

impl AsRef<[u8]> for AlignedBuf {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl AsMut<[u8]> for AlignedBuf {
    fn as_mut(&mut self) -> &mut [u8] {
        self
    }
}

impl fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlignedBuf")
            .field("len", &self.layout.size())
            .finish()
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: allocated in `zeroed` with exactly this layout.
        unsafe { alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

/// Checks a read's result: zero bytes means the offset was past the end of the file.
pub fn nonzero_read(r: io::Result<usize>) -> io::Result<u64> {
    match r {
        Ok(0) => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "read returned 0 bytes",
        )),
        Ok(n) => Ok(n as u64),
        Err(e) => Err(e),
    }
}
