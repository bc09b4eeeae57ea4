//! [`Op`]: the future of one operation.

use super::cell::{CancelKey, Inflight, OpCell};
use super::core::{Core, Route};
use super::gate::{Gate, Priority};
use super::timeout::Timeout;
use super::Operation;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// What an [`Op`] needs from its cell, whatever the operation.
pub(crate) trait Pending<T>: Send + Sync {
    fn inflight(self: Arc<Self>) -> Arc<dyn Inflight>;
    fn poll_output(&self, cx: &mut Context<'_>) -> Poll<T>;
    fn abandon(&self, core: &Core) -> Option<CancelKey>;
    fn request_cancel(&self) -> Option<CancelKey>;
    fn set_callback(self: Arc<Self>, f: Box<dyn FnOnce(T) + Send>, core: &Core);
}

impl<O: Operation> Pending<O::Output> for OpCell<O> {
    fn inflight(self: Arc<Self>) -> Arc<dyn Inflight> {
        self
    }
    fn poll_output(&self, cx: &mut Context<'_>) -> Poll<O::Output> {
        self.poll(cx)
    }
    fn abandon(&self, core: &Core) -> Option<CancelKey> {
        OpCell::abandon(self, &core.shared)
    }
    fn request_cancel(&self) -> Option<CancelKey> {
        OpCell::request_cancel(self)
    }
    fn set_callback(self: Arc<Self>, f: Box<dyn FnOnce(O::Output) + Send>, core: &Core) {
        if OpCell::set_callback(&self, f) {
            core.shared.queue_callback(self);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Not yet submitted (futures are lazy: nothing happens until the first poll).
    Idle,
    /// With a backend.
    Submitted,
    /// Output taken (or handed to a callback).
    Done,
}

/// The future of one file or filesystem operation, returned by every method of
/// [`File`](crate::File) and by the free functions' building blocks.
///
/// It does nothing until first polled. Dropping it before it completes requests cancellation;
/// the operation's resources (buffer, path) stay with the engine until the kernel is done with
/// them, so dropping is always safe and never blocks.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// let file = fileloop::File::open("Cargo.toml").await?;
/// let (res, buf) = file.read_at(vec![0u8; 4096], 0).await;
/// println!("read {} bytes", res?);
/// # drop(buf); Ok(()) }
/// ```
#[must_use = "an operation does nothing until awaited or given a callback"]
pub struct Op<T> {
    cell: Arc<dyn Pending<T>>,
    core: Arc<Core>,
    route: Route,
    gate: Option<Arc<Gate>>,
    priority: Priority,
    stage: Stage,
}

impl<T> fmt::Debug for Op<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = match self.stage {
            Stage::Idle => "idle",
            Stage::Submitted => "submitted",
            Stage::Done => "done",
        };
        f.debug_struct("Op").field("stage", &stage).finish()
    }
}

impl<T: Send + 'static> Op<T> {
    pub(crate) fn new<O: Operation<Output = T>>(core: Arc<Core>, op: O) -> Op<T> {
        Op {
            cell: OpCell::new(op),
            core,
            route: Route::Best,
            gate: None,
            priority: Priority::Interactive,
            stage: Stage::Idle,
        }
    }

    /// Bounds this operation by its device's gate.
    pub(crate) fn gate(mut self, gate: Option<&Arc<Gate>>) -> Self {
        self.gate = gate.cloned();
        self
    }

    /// Sets the priority used while this operation waits for a slot on a device that has a
    /// bound (see [`Builder::device_limit`](crate::Builder::device_limit)): interactive
    /// operations go ahead of bulk ones. No effect once submitted.
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// Gives the operation a time limit: the returned future resolves with
    /// `ErrorKind::TimedOut` when it passes, even if the kernel cannot cancel the operation
    /// (a hung network read); the operation's resources then stay parked in the engine until
    /// the kernel lets go ([`Stats::parked`](crate::Stats::parked)).
    ///
    /// ```no_run
    /// # async fn demo(file: fileloop::File) {
    /// use std::time::Duration;
    /// match file.read_at(vec![0u8; 4096], 0).timeout(Duration::from_millis(100)).await {
    ///     Ok((res, buf)) => { /* completed in time */ }
    ///     Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::TimedOut),
    /// }
    /// # }
    /// ```
    pub fn timeout(self, limit: Duration) -> Timeout<Self> {
        super::timeout::timeout(limit, self)
    }

    /// As [`timeout`](Op::timeout), with an absolute deadline.
    pub fn deadline(self, at: Instant) -> Timeout<Self> {
        super::timeout::deadline(at, self)
    }

    /// Runs this operation on the thread pool even where io_uring could do it (used for files
    /// on network filesystems, where io_uring would run it on the submitting thread).
    pub(crate) fn route(mut self, route: Route) -> Self {
        self.route = route;
        self
    }

    fn submit(&mut self) {
        if self.stage == Stage::Idle {
            self.stage = Stage::Submitted;
            let cell = self.cell.clone().inflight();
            self.core
                .submit(cell, self.route, self.gate.as_ref(), self.priority);
        }
    }

    /// Submits the operation and lets it run to completion with nobody waiting (used for the
    /// close of a dropped file).
    pub(crate) fn detach(mut self) {
        self.submit();
        self.stage = Stage::Done;
    }

    /// Requests cancellation. The operation still resolves: with its normal result if it ran,
    /// or with an error for which [`is_cancelled`](crate::is_cancelled) is true if it did not.
    /// On the pool, an operation not yet started never starts; on io_uring, the kernel is asked
    /// to cancel (it cannot stop disk I/O already under way).
    pub fn cancel(&mut self) {
        match self.stage {
            Stage::Idle => {
                self.cell.request_cancel();
                self.submit();
            }
            Stage::Submitted => {
                if let Some(key) = self.cell.request_cancel() {
                    self.core.cancel(key);
                }
            }
            Stage::Done => {}
        }
    }

    /// Submits the operation now and runs `f` with its output when it completes: on the
    /// thread that calls [`Engine::dispatch`](crate::Engine::dispatch) in host-driven mode, on
    /// the engine's completion thread otherwise.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// let file = fileloop::File::open("Cargo.toml").await?;
    /// file.read_at(vec![0u8; 100], 0).on_complete(|(res, buf)| {
    ///     println!("{:?} bytes: {:?}", res, &buf[..]);
    /// });
    /// # Ok(()) }
    /// ```
    pub fn on_complete(mut self, f: impl FnOnce(T) + Send + 'static) {
        if self.stage == Stage::Done {
            return;
        }
        self.cell.clone().set_callback(Box::new(f), &self.core);
        self.submit();
        self.stage = Stage::Done;
    }
}

impl<T: Send + 'static> Future for Op<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.get_mut();
        assert!(this.stage != Stage::Done, "Op polled after completion");
        this.submit();
        let out = this.cell.poll_output(cx);
        if out.is_ready() {
            this.stage = Stage::Done;
        }
        out
    }
}

impl<T> Drop for Op<T> {
    fn drop(&mut self) {
        if self.stage == Stage::Submitted {
            if let Some(key) = self.cell.abandon(&self.core) {
                self.core.cancel(key);
            }
        }
    }
}
