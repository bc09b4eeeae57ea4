//! [`Timeout`]: a time limit for any future, woken by the engine's timer thread so it works on
//! every executor.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// A future with a time limit; resolves to `Ok(output)` or `Err(TimedOut)`. When the limit
/// passes the inner future is dropped: for fileloop operations that requests cancellation and
/// parks their resources until the kernel lets go.
#[must_use = "futures do nothing unless awaited"]
pub struct Timeout<F> {
    inner: Option<Pin<Box<F>>>,
    /// `None`: too far in the future to represent (never expires).
    at: Option<Instant>,
    limit: Duration,
    /// The waker the timer thread holds, to register again only when it changes.
    registered: Option<Waker>,
}

/// Limits `fut` to `limit`.
///
/// ```no_run
/// # async fn demo() {
/// use std::time::Duration;
/// let res = fileloop::timeout(Duration::from_secs(1), fileloop::read("/mnt/nfs/file")).await;
/// match res {
///     Ok(Ok(bytes)) => println!("{} bytes", bytes.len()),
///     Ok(Err(e)) => println!("read failed: {e}"),
///     Err(e) => println!("{e}"), // TimedOut
/// }
/// # }
/// ```
pub fn timeout<F: Future>(limit: Duration, fut: F) -> Timeout<F> {
    Timeout {
        inner: Some(Box::pin(fut)),
        at: Instant::now().checked_add(limit),
        limit,
        registered: None,
    }
}

/// Limits `fut` to the deadline `at`.
pub fn deadline<F: Future>(at: Instant, fut: F) -> Timeout<F> {
    Timeout {
        inner: Some(Box::pin(fut)),
        at: Some(at),
        limit: at.saturating_duration_since(Instant::now()),
        registered: None,
    }
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("limit", &self.limit)
            .finish()
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = io::Result<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let inner = this
            .inner
            .as_mut()
            .expect("Timeout polled after completion");
        if let Poll::Ready(out) = inner.as_mut().poll(cx) {
            this.inner = None;
            return Poll::Ready(Ok(out));
        }
        let Some(at) = this.at else {
            return Poll::Pending;
        };
        if Instant::now() >= at {
            this.inner = None;
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("operation timed out after {:?}", this.limit),
            )));
        }
        if !this
            .registered
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            this.registered = Some(cx.waker().clone());
            super::timer::wake_at(at, cx.waker().clone());
        }
        Poll::Pending
    }
}
