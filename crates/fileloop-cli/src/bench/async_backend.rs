//! Adapter for async file APIs: implement [`AsyncBackend`], wrap it in [`AsyncContender`].
//!
//! The adapter owns everything that must be identical between async contenders: the task driver
//! ([`drive`]: one spawned task per in-flight op, warm-up, start barrier, op counter, latency
//! recording), the runtime flavour per workload (multi-thread for W1–W4 and W6, current-thread
//! for W5) and the loop-lag timer ([`with_ticker`]).

use std::future::Future;
use std::io;
use std::ops::{Deref, DerefMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::runtime::Runtime;

use super::contender::{
    nonzero_read, Budget, Contender, Files, Job, OpCounter, Outcome, ReadAt, Recorder, RunError,
    WARMUP_BASE,
};

/// Which tokio runtime a job runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `tokio::runtime::Builder::new_multi_thread()` with the default worker count (W1–W4, W6).
    MultiThread,
    /// `new_current_thread()`: the single-threaded loop of W5.
    CurrentThread,
}

impl Flavor {
    /// The flavour a job runs on.
    pub fn of(job: &Job) -> Flavor {
        match job {
            Job::LoopLag { .. } => Flavor::CurrentThread,
            _ => Flavor::MultiThread,
        }
    }
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
    /// An owned I/O buffer (the harness only needs to see it as a byte slice).
    type Buf: Deref<Target = [u8]> + DerefMut + Send + 'static;

    /// Builds the runtime for `job` (whose flavour is [`Flavor::of`]). Override to install a
    /// driver, pick an engine per workload or tune the runtime; the default is
    /// [`default_runtime`]. Called once per job, before anything else of that job.
    fn runtime(&self, job: &Job) -> io::Result<Runtime> {
        default_runtime(Flavor::of(job))
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
    ///
    /// `scratch` is a per-task buffer of [`READ_WHOLE_SCRATCH`] bytes that the backend may read
    /// into (the contents are not checked) and must hand back; backends whose API allocates its
    /// own buffer (`tokio::fs::read`) ignore it.
    fn read_whole(
        &self,
        path: &Path,
        scratch: Self::Buf,
    ) -> impl Future<Output = (io::Result<u64>, Self::Buf)> + Send;

    /// W4: create (truncating) + write all of `data` + close.
    fn create_write(
        &self,
        path: &Path,
        data: Self::Buf,
    ) -> impl Future<Output = (io::Result<()>, Self::Buf)> + Send;

    /// W4 delete phase: unlink `path`.
    fn remove(&self, path: &Path) -> impl Future<Output = io::Result<()>> + Send;
}

/// Size of the per-task scratch buffer handed to [`AsyncBackend::read_whole`].
pub const READ_WHOLE_SCRATCH: usize = 64 << 10;

/// Runs `concurrency` tokio tasks (on the current runtime), each with state from `setup(task)`,
/// that claim op indices and run `op(state, i)` (state passed in and handed back, with the bytes
/// moved) until the budget is used up, then `teardown(state)`. Each task first runs `warmup`
/// unmeasured ops, then all meet at a barrier and start their clocks. With `yield_after_op`, a task
/// yields to the scheduler after each op (outside the measured latency).
///
/// Whatever an op needs besides its index (the backend, the job) belongs in the task's state:
/// the state moves into each op's future and back out, so nothing is cloned per op.
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

/// CLOCK_MONOTONIC now, in nanoseconds (the clock `timerfd` deadlines use).
fn mono_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid clock id and out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// A one-shot `timerfd` on CLOCK_MONOTONIC with nanosecond resolution.
struct TimerFd(OwnedFd);

impl TimerFd {
    fn new() -> io::Result<TimerFd> {
        // SAFETY: plain syscall; the descriptor is owned below.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor nobody else owns.
        Ok(TimerFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Arms the timer to expire at the absolute CLOCK_MONOTONIC time `at_ns`.
    fn arm(&self, at_ns: u64) -> io::Result<()> {
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: (at_ns / 1_000_000_000) as libc::time_t,
                tv_nsec: (at_ns % 1_000_000_000) as libc::c_long,
            },
        };
        // SAFETY: valid descriptor and itimerspec; the old value is not wanted.
        let rc = unsafe {
            libc::timerfd_settime(
                self.0.as_raw_fd(),
                libc::TFD_TIMER_ABSTIME,
                &spec,
                std::ptr::null_mut(),
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Consumes an expiration; `WouldBlock` if the timer has not expired yet.
    fn read(&self) -> io::Result<u64> {
        let mut n = 0u64;
        // SAFETY: reads 8 bytes into a live u64.
        let r = unsafe { libc::read(self.0.as_raw_fd(), (&mut n as *mut u64).cast(), 8) };
        if r == 8 {
            Ok(n)
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

impl AsRawFd for TimerFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

/// Runs `work` on the current (single-threaded) runtime while a timer task ticks every `tick`,
/// and returns `work`'s output plus the timer's lateness samples (ns).
///
/// How lateness is measured: tokio's own timer wheel has 1 ms resolution (deadlines are rounded
/// up to the next millisecond and the loop parks in whole milliseconds), which makes an idle
/// loop look ~1 ms late and hides anything below that. Instead the ticker task owns a one-shot
/// `timerfd` (CLOCK_MONOTONIC, nanosecond resolution, no timer slack) registered with the
/// loop's own reactor through `AsyncFd`: it arms the timer for an absolute deadline, awaits
/// readability, and records `clock_gettime(CLOCK_MONOTONIC)` when it runs minus the deadline.
/// That is the time from the deadline until the loop got around to running a ready timer task:
/// the kernel's wake-up of a parked loop (tens of µs on an idle loop) plus however long other
/// work kept the loop from polling its reactor and running the task — the loop lag. The next
/// deadline is one `tick` after the previous one, or one `tick` after now if that has already
/// passed (like tokio's `MissedTickBehavior::Delay`: a long stall counts once, not once per
/// missed tick).
pub async fn with_ticker<F: Future>(tick: Duration, work: F) -> (F::Output, Vec<u32>) {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let ticker = tokio::spawn(async move {
        let mut lag = Vec::with_capacity(4096);
        let timer = TimerFd::new().and_then(|t| {
            // SAFETY: the TimerFd owns its descriptor, which stays open (and the same) until
            // the AsyncFd, which owns the TimerFd, is dropped.
            unsafe { AsyncFd::register_with_interest(t, Interest::READABLE) }
                .map_err(io::Error::from)
        });
        let timer = match timer {
            Ok(t) => t,
            Err(e) => {
                eprintln!("fileloop bench: W5 timer unavailable: {e}");
                return lag;
            }
        };
        let tick_ns = tick.as_nanos() as u64;
        let mut deadline = mono_ns() + tick_ns;
        let mut stop_rx = std::pin::pin!(stop_rx);
        loop {
            if timer.get_ref().arm(deadline).is_err() {
                return lag;
            }
            // Wait for the expiration (or the end of the work).
            loop {
                tokio::select! {
                    biased;
                    _ = &mut stop_rx => return lag,
                    ready = timer.readable() => {
                        let Ok(mut guard) = ready else { return lag };
                        match guard.get_inner().read() {
                            Ok(_) => break,
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => guard.clear_ready(),
                            Err(_) => return lag,
                        }
                    }
                }
            }
            let now = mono_ns();
            let late = now.saturating_sub(deadline);
            lag.push(u32::try_from(late).unwrap_or(u32::MAX));
            deadline += tick_ns;
            if deadline <= now {
                deadline = now + tick_ns;
            }
        }
    });
    // Let the ticker arm its first deadline before the work starts.
    tokio::task::yield_now().await;
    let out = work.await;
    let _ = stop_tx.send(());
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
        let rt = b.runtime(job)?;
        match job {
            Job::ReadAt(r) => {
                let r = Arc::new(r.clone());
                let (b1, r1) = (b.clone(), r.clone());
                type State<B> = (
                    Arc<B>,
                    Arc<ReadAt>,
                    <B as AsyncBackend>::File,
                    <B as AsyncBackend>::Buf,
                );
                let out = rt.block_on(drive(
                    r.concurrency,
                    r.budget,
                    READ_WARMUP,
                    false,
                    move |_| {
                        let (b, r) = (b1.clone(), r1.clone());
                        async move {
                            let file = b.open_read(&r.file, r.direct).await?;
                            let buf = b.alloc_buf(r.block);
                            Ok((b, r, file, buf))
                        }
                    },
                    |(b, r, mut file, buf): State<B>, i| async move {
                        let pos = r.offset(i);
                        let (res, buf) = b.read_at(&mut file, buf, pos).await;
                        ((b, r, file, buf), nonzero_read(res))
                    },
                    |(b, _r, file, _buf): State<B>| async move { b.close(file).await },
                ))?;
                Ok(out)
            }
            Job::ReadFiles(f) => Ok(rt.block_on(read_files(b.clone(), f, false))?),
            Job::LoopLag { files, tick } => {
                // Every task yields to the loop after each file, as a handler that goes back to
                // the network between requests would. Without it, ops that complete without
                // suspending (fileloop's page-cache hits on io_uring, `std`'s blocking calls)
                // let one task run its whole share of the budget in a single poll.
                let (out, lag) =
                    rt.block_on(with_ticker(*tick, read_files(b.clone(), files, true)));
                let mut out = out?;
                out.lag_ns = Some(lag);
                Ok(out)
            }
            Job::CreateFiles { files, size } => {
                let size = *size;
                let f = Arc::new(files.clone());
                let (b1, f1) = (b.clone(), f.clone());
                type State<B> = (Arc<B>, Arc<Files>, <B as AsyncBackend>::Buf);
                Ok(rt.block_on(drive(
                    f.concurrency,
                    f.budget,
                    0,
                    false,
                    move |_| {
                        let (b, f) = (b1.clone(), f1.clone());
                        async move {
                            let buf = b.alloc_buf(size);
                            Ok((b, f, buf))
                        }
                    },
                    move |(b, f, buf): State<B>, i| async move {
                        let (res, buf) = b.create_write(f.path(i), buf).await;
                        ((b, f, buf), res.map(|()| size as u64))
                    },
                    |_| async { Ok(()) },
                ))?)
            }
            Job::RemoveFiles(files) => {
                let f = Arc::new(files.clone());
                let (b1, f1) = (b.clone(), f.clone());
                Ok(rt.block_on(drive(
                    f.concurrency,
                    f.budget,
                    0,
                    false,
                    move |_| {
                        let (b, f) = (b1.clone(), f1.clone());
                        async move { Ok((b, f)) }
                    },
                    |(b, f): (Arc<B>, Arc<Files>), i| async move {
                        let r = b.remove(f.path(i)).await.map(|()| 0);
                        ((b, f), r)
                    },
                    |_| async { Ok(()) },
                ))?)
            }
        }
    }
}

async fn read_files<B: AsyncBackend>(
    b: Arc<B>,
    files: &Files,
    yield_after_op: bool,
) -> io::Result<Outcome> {
    let f = Arc::new(files.clone());
    type State<B> = (Arc<B>, Arc<Files>, <B as AsyncBackend>::Buf);
    drive(
        f.concurrency,
        f.budget,
        1,
        yield_after_op,
        move |_| {
            let (b, f) = (b.clone(), f.clone());
            async move {
                let buf = b.alloc_buf(READ_WHOLE_SCRATCH);
                Ok((b, f, buf))
            }
        },
        |(b, f, buf): State<B>, i| async move {
            let (r, buf) = b.read_whole(f.path(i), buf).await;
            ((b, f, buf), r)
        },
        |_| async { Ok(()) },
    )
    .await
}
