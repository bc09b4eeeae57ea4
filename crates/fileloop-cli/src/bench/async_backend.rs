//! Adapter for async file APIs: implement [`AsyncBackend`], wrap it in [`AsyncContender`].
//!
//! The adapter owns everything that must be identical between async contenders: the task driver
//! ([`drive`]: one spawned task per in-flight op, warm-up, start barrier, op counter, latency
//! recording), the runtime flavour per workload (multi-thread for W1–W4 and W6, current-thread
//! for W5) and the loop-lag timer ([`with_ticker`]).

use std::future::Future;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;
use tokio::time::MissedTickBehavior;

use super::contender::{
    nonzero_read, Budget, Contender, Job, OpCounter, Outcome, Recorder, RunError, WARMUP_BASE,
};

/// Which tokio runtime a job runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `tokio::runtime::Builder::new_multi_thread()` with the default worker count (W1–W4, W6).
    MultiThread,
    /// `new_current_thread()`: the single-threaded loop of W5.
    CurrentThread,
}

/// The default runtimes: tokio with all drivers enabled, default worker count.
pub fn default_runtime(flavor: Flavor) -> io::Result<Runtime> {
    let mut builder = match flavor {
        Flavor::MultiThread => tokio::runtime::Builder::new_multi_thread(),
        Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
    };
    builder.enable_all().build()
}

/// An async file API as the benchmark uses it. All futures must be `Send` (they are spawned on
/// a multi-thread runtime); they may borrow their arguments.
///
/// Shaped after fileloop's owned-buffer API: `read_at` takes the buffer by value and hands it
/// back with the result.
pub trait AsyncBackend: Send + Sync + 'static {
    /// An open file handle.
    type File: Send + 'static;
    /// An owned I/O buffer.
    type Buf: AsRef<[u8]> + AsMut<[u8]> + Send + 'static;

    /// Builds the runtime for a job. Override to install a driver or tune the runtime; the
    /// default is [`default_runtime`].
    fn runtime(&self, flavor: Flavor) -> io::Result<Runtime> {
        default_runtime(flavor)
    }

    /// Returns `Some(reason)` if this backend cannot run `job` (reported as skipped).
    fn unsupported(&self, job: &Job) -> Option<String> {
        let _ = job;
        None
    }

    /// A buffer of `len` bytes, aligned to [`super::contender::DIRECT_ALIGN`] (it may be used
    /// with O_DIRECT), filled with a fixed pattern or zeroes.
    fn alloc_buf(&self, len: usize) -> Self::Buf;

    /// Opens `path` for reading (with `O_DIRECT` if `direct`).
    fn open_read(
        &self,
        path: &Path,
        direct: bool,
    ) -> impl Future<Output = io::Result<Self::File>> + Send;

    /// Reads up to `buf.len()` bytes at `pos` into `buf`.
    fn read_at(
        &self,
        file: &mut Self::File,
        buf: Self::Buf,
        pos: u64,
    ) -> impl Future<Output = (io::Result<usize>, Self::Buf)> + Send;

    /// Closes a file opened by [`open_read`](AsyncBackend::open_read).
    fn close(&self, file: Self::File) -> impl Future<Output = io::Result<()>> + Send;

    /// W3/W5: open + read the whole file + close; returns the number of bytes read.
    fn read_whole(&self, path: &Path) -> impl Future<Output = io::Result<u64>> + Send;

    /// W4: create (truncating) + write all of `data` + close.
    fn create_write(
        &self,
        path: &Path,
        data: Self::Buf,
    ) -> impl Future<Output = (io::Result<()>, Self::Buf)> + Send;

    /// W4 delete phase: unlink `path`.
    fn remove(&self, path: &Path) -> impl Future<Output = io::Result<()>> + Send;
}

/// Runs `concurrency` tokio tasks (on the current runtime), each with state from `setup(task)`,
/// that claim op indices and run `op(state, i)` (state passed in and handed back, with the bytes
/// moved) until the budget is used up, then `teardown(state)`. Each task first runs `warmup`
/// unmeasured ops, then all meet at a barrier and start their clocks. With `yield_after_op`, a task
/// yields to the scheduler after each op (outside the measured latency).
#[allow(clippy::too_many_arguments)]
pub async fn drive<S, Su, SuF, Op, OpF, Td, TdF>(
    concurrency: usize,
    budget: Budget,
    warmup: u64,
    yield_after_op: bool,
    setup: Su,
    op: Op,
    teardown: Td,
) -> io::Result<Outcome>
where
    S: Send + 'static,
    Su: Fn(usize) -> SuF,
    SuF: Future<Output = io::Result<S>> + Send + 'static,
    Op: Fn(S, u64) -> OpF + Send + Sync + 'static,
    OpF: Future<Output = (S, io::Result<u64>)> + Send + 'static,
    Td: Fn(S) -> TdF + Send + Sync + 'static,
    TdF: Future<Output = io::Result<()>> + Send + 'static,
{
    let concurrency = concurrency.max(1);
    let counter = Arc::new(OpCounter::new(&budget));
    let barrier = Arc::new(tokio::sync::Barrier::new(concurrency));
    let op = Arc::new(op);
    let teardown = Arc::new(teardown);
    let mut handles = Vec::with_capacity(concurrency);
    for t in 0..concurrency {
        let setup_fut = setup(t);
        let (counter, barrier, op, teardown) = (
            counter.clone(),
            barrier.clone(),
            op.clone(),
            teardown.clone(),
        );
        handles.push(tokio::spawn(async move {
            let mut state = setup_fut.await;
            let mut warm_err = None;
            if state.is_ok() {
                for w in 0..warmup {
                    let s = state.expect("checked above");
                    let (s, r) = op(s, WARMUP_BASE + t as u64 * warmup + w).await;
                    state = Ok(s);
                    if let Err(e) = r {
                        warm_err = Some(e);
                        break;
                    }
                }
            }
            barrier.wait().await;
            let mut state = match (state, warm_err) {
                (Err(e), _) => {
                    counter.stop();
                    return Err(e);
                }
                (Ok(s), Some(e)) => {
                    counter.stop();
                    let _ = teardown(s).await;
                    return Err(e);
                }
                (Ok(s), None) => s,
            };
            let mut rec = Recorder::start(&budget, concurrency, &counter);
            while let Some(i) = counter.claim() {
                let t0 = Instant::now();
                let (s, r) = op(state, i).await;
                state = s;
                match r {
                    Ok(n) => rec.record(t0, n, &counter),
                    Err(e) => {
                        counter.stop();
                        let _ = teardown(state).await;
                        return Err(e);
                    }
                }
                if yield_after_op {
                    tokio::task::yield_now().await;
                }
            }
            teardown(state).await?;
            Ok(rec)
        }));
    }
    let mut recs = Vec::with_capacity(concurrency);
    let mut first_err = None;
    for h in handles {
        match h.await {
            Ok(Ok(rec)) => recs.push(rec),
            Ok(Err(e)) => {
                first_err.get_or_insert(e);
            }
            Err(join) => {
                first_err.get_or_insert(io::Error::other(format!("task failed: {join}")));
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(Outcome::from_tasks(recs)),
    }
}

/// Runs `work` on the current (single-threaded) runtime while a timer task ticks every `tick`,
/// and returns `work`'s output plus the timer's lateness samples (ns).
///
/// The timer is `tokio::time::interval(tick)` with `MissedTickBehavior::Delay`; a sample is
/// `Instant::now()` right after `tick()` returns minus the instant the tick was scheduled for
/// (which `tick()` returns). tokio's timer wheel has 1 ms resolution — deadlines are rounded up to
/// the next millisecond and the loop parks in whole milliseconds — so even an idle loop shows up
/// to ~1 ms of lateness; the harness reports an idle-loop baseline measured the same way.
pub async fn with_ticker<F: Future>(tick: Duration, work: F) -> (F::Output, Vec<u32>) {
    let done = Arc::new(AtomicBool::new(false));
    let ticker = {
        let done = done.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(tick);
            interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
            interval.tick().await; // the first tick completes immediately
            let mut lag = Vec::with_capacity(4096);
            while !done.load(Ordering::Relaxed) {
                let scheduled = interval.tick().await;
                let late = Instant::now().saturating_duration_since(scheduled.into_std());
                lag.push(u32::try_from(late.as_nanos()).unwrap_or(u32::MAX));
            }
            lag
        })
    };
    // Let the ticker take its first (immediate) tick before the work starts.
    tokio::task::yield_now().await;
    let out = work.await;
    done.store(true, Ordering::Relaxed);
    let lag = ticker.await.unwrap_or_default();
    (out, lag)
}

/// A [`Contender`] made from an [`AsyncBackend`].
pub struct AsyncContender<B> {
    name: String,
    backend: Arc<B>,
}

impl<B: AsyncBackend> AsyncContender<B> {
    /// Wraps `backend` under `name`.
    pub fn new(name: impl Into<String>, backend: B) -> Self {
        Self {
            name: name.into(),
            backend: Arc::new(backend),
        }
    }
}

/// Unmeasured warm-up ops per task for reads of one big file (spins up blocking pools etc.).
const READ_WARMUP: u64 = 16;

impl<B: AsyncBackend> Contender for AsyncContender<B> {
    fn name(&self) -> &str {
        &self.name
    }

    fn run(&self, job: &Job) -> Result<Outcome, RunError> {
        if let Some(why) = self.backend.unsupported(job) {
            return Err(RunError::Skip(why));
        }
        let b = &self.backend;
        match job {
            Job::ReadAt(r) => {
                let rt = b.runtime(Flavor::MultiThread)?;
                let r = Arc::new(r.clone());
                let (b1, b2, b3) = (b.clone(), b.clone(), b.clone());
                let r1 = r.clone();
                let out = rt.block_on(drive(
                    r.concurrency,
                    r.budget,
                    READ_WARMUP,
                    false,
                    move |_| {
                        let (b, r) = (b1.clone(), r1.clone());
                        async move {
                            let file = b.open_read(&r.file, r.direct).await?;
                            Ok((file, b.alloc_buf(r.block)))
                        }
                    },
                    move |(mut file, buf), i| {
                        let b = b2.clone();
                        let pos = r.offset(i);
                        async move {
                            let (res, buf) = b.read_at(&mut file, buf, pos).await;
                            ((file, buf), nonzero_read(res))
                        }
                    },
                    move |(file, _buf)| {
                        let b = b3.clone();
                        async move { b.close(file).await }
                    },
                ))?;
                Ok(out)
            }
            Job::ReadFiles(f) => {
                let rt = b.runtime(Flavor::MultiThread)?;
                Ok(rt.block_on(read_files(b.clone(), f, false))?)
            }
            Job::LoopLag { files, tick } => {
                let rt = b.runtime(Flavor::CurrentThread)?;
                let (out, lag) =
                    rt.block_on(with_ticker(*tick, read_files(b.clone(), files, false)));
                let mut out = out?;
                out.lag_ns = Some(lag);
                Ok(out)
            }
            Job::CreateFiles { files, size } => {
                let rt = b.runtime(Flavor::MultiThread)?;
                let size = *size;
                let f = Arc::new(files.clone());
                let (b1, b2) = (b.clone(), b.clone());
                Ok(rt.block_on(drive(
                    f.concurrency,
                    f.budget,
                    0,
                    false,
                    move |_| {
                        let b = b1.clone();
                        async move { Ok(b.alloc_buf(size)) }
                    },
                    move |buf, i| {
                        let (b, f) = (b2.clone(), f.clone());
                        async move {
                            let (res, buf) = b.create_write(f.path(i), buf).await;
                            (buf, res.map(|()| size as u64))
                        }
                    },
                    |_buf| async { Ok(()) },
                ))?)
            }
            Job::RemoveFiles(files) => {
                let rt = b.runtime(Flavor::MultiThread)?;
                let f = Arc::new(files.clone());
                let b1 = b.clone();
                Ok(rt.block_on(drive(
                    f.concurrency,
                    f.budget,
                    0,
                    false,
                    |_| async { Ok(()) },
                    move |(), i| {
                        let (b, f) = (b1.clone(), f.clone());
                        async move { ((), b.remove(f.path(i)).await.map(|()| 0)) }
                    },
                    |()| async { Ok(()) },
                ))?)
            }
        }
    }
}

async fn read_files<B: AsyncBackend>(
    b: Arc<B>,
    files: &super::contender::Files,
    yield_after_op: bool,
) -> io::Result<Outcome> {
    let f = Arc::new(files.clone());
    drive(
        f.concurrency,
        f.budget,
        1,
        yield_after_op,
        |_| async { Ok(()) },
        move |(), i| {
            let (b, f) = (b.clone(), f.clone());
            async move { ((), b.read_whole(f.path(i)).await) }
        },
        |()| async { Ok(()) },
    )
    .await
}
