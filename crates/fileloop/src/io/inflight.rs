//! [`InFlight`]: an operation submitted ahead of need, whose output is kept once it arrives.

use crate::Op;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// An [`Op`] that was submitted (polled once) when it was started and is consumed later.
///
/// An `Op` may not be polled after it completed, yet read-ahead starts operations long before
/// their output is wanted and must not lose an output that arrives at the first poll. This holds
/// either the running operation or its output until [`poll`](InFlight::poll) hands it over.
pub(super) enum InFlight<T> {
    /// Submitted; its output has not been seen yet.
    Running(Op<T>),
    /// Completed at an earlier poll; the output waits here (taken at most once).
    Done(Option<T>),
}

impl<T: Send + 'static> InFlight<T> {
    /// Submits `op` now (futures are lazy) and registers `cx`'s waker with it.
    pub(super) fn start(mut op: Op<T>, cx: &mut Context<'_>) -> Self {
        match Pin::new(&mut op).poll(cx) {
            Poll::Ready(out) => InFlight::Done(Some(out)),
            Poll::Pending => InFlight::Running(op),
        }
    }

    /// The output, once; polling again after that panics (as for any future).
    pub(super) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<T> {
        match self {
            InFlight::Running(op) => {
                let out = std::task::ready!(Pin::new(op).poll(cx));
                *self = InFlight::Done(None);
                Poll::Ready(out)
            }
            InFlight::Done(out) => Poll::Ready(
                out.take()
                    .expect("InFlight polled after its output was taken"),
            ),
        }
    }

    /// Lets a running operation finish in the background with nobody waiting, instead of
    /// cancelling it as dropping would.
    pub(super) fn detach(self) {
        if let InFlight::Running(op) = self {
            op.detach();
        }
    }
}
