//! [`OpCell`]: the state an operation's future shares with the backend running it.
//!
//! The backend holds one `Arc` of the cell for as long as the kernel or a pool thread may use the
//! operation; the future holds another. Dropping the future marks the cell abandoned and the
//! operation (with its buffer) is freed only when the backend lets go of its own `Arc`.

use super::core::Shared;
use super::gate::Gate;
use super::{OpKind, Operation, RawResult};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// Where an operation sits in its backend, for cancellation: (shard, user_data) on io_uring.
#[cfg(not(windows))]
pub(crate) type CancelKey = (usize, u64);
/// Where an operation sits in its backend, for cancellation: the file handle and the address
/// of the cell's OVERLAPPED (for CancelIoEx).
#[cfg(windows)]
pub(crate) type CancelKey = (crate::sys::os::Handle, usize);

/// Who is told when the operation completes.
enum Waiter<T> {
    None,
    Waker(Waker),
    Callback(Box<dyn FnOnce(T) + Send>),
}

struct State<O: Operation> {
    /// The operation; taken out while a pool thread runs it and when the output is built.
    op: Option<O>,
    result: Option<RawResult>,
    waiter: Waiter<O::Output>,
    /// The future is gone: nobody wants the output.
    abandoned: bool,
    /// Cancellation was requested (drop or explicit cancel): an ECANCELED result is genuine.
    cancel_requested: bool,
    /// Where the operation sits in its backend, for cancellation.
    key: Option<CancelKey>,
    /// The device bound this operation holds a slot of, released when it completes.
    gate: Option<Arc<Gate>>,
}

/// Shared state of one operation.
pub(crate) struct OpCell<O: Operation> {
    state: Mutex<State<O>>,
    /// The OVERLAPPED of the operation's overlapped form, at a stable address.
    #[cfg(windows)]
    overlapped: crate::driver::iocp::overlapped::Overlapped,
}

/// What backends see of a cell, whatever its operation.
pub(crate) trait Inflight: Send + Sync + 'static {
    /// The operation's kind.
    fn kind(&self) -> OpKind;
    /// Whether nobody waits for the result (so a queued operation need not run).
    fn is_abandoned(&self) -> bool;
    /// Whether cancellation was requested.
    #[cfg(any(windows, all(target_os = "linux", not(target_os = "android"))))]
    fn cancel_requested(&self) -> bool;
    /// Builds the io_uring entry and records where it is queued (shard, user_data), for
    /// cancellation; `None` when the operation has no io_uring form (pool instead).
    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn uring_entry(&self, key: (usize, u64)) -> Option<io_uring::squeue::Entry>;
    /// How many linked entries the operation's io_uring form has (0: one plain entry).
    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn chain_len(&self) -> usize;
    /// As [`uring_entry`](Inflight::uring_entry) for a linked chain using fixed-file `slot`.
    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn uring_chain(&self, key: (usize, u64), slot: u32) -> Option<Vec<io_uring::squeue::Entry>>;
    /// Records the result of entry `index` of the chain.
    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn chain_result(&self, index: usize, res: i32);
    /// The operation's overlapped form, recording where it will run for cancellation; `None`
    /// when it has none (pool instead).
    #[cfg(windows)]
    fn iocp_request(&self) -> Option<crate::driver::iocp::Request>;
    /// The cell's OVERLAPPED.
    #[cfg(windows)]
    fn overlapped(&self) -> &crate::driver::iocp::overlapped::Overlapped;
    /// Records the device bound whose slot this operation will hold.
    fn set_gate(&self, gate: Arc<Gate>);
    /// Runs the operation on this thread (a pool worker). `None` when abandoned before start
    /// or during the run (the caller then finishes it with a cancellation error).
    fn run_blocking(&self) -> Option<RawResult>;
    /// Delivers the result: wakes the future or queues the callback.
    fn finish(self: Arc<Self>, res: RawResult, shared: &Shared);
    /// Runs a queued callback (on the dispatching thread).
    fn run_callback(&self);
}

impl<O: Operation> OpCell<O> {
    pub(crate) fn new(op: O) -> Arc<Self> {
        Arc::new(OpCell {
            state: Mutex::new(State {
                op: Some(op),
                result: None,
                waiter: Waiter::None,
                abandoned: false,
                cancel_requested: false,
                key: None,
                gate: None,
            }),
            #[cfg(windows)]
            overlapped: crate::driver::iocp::overlapped::Overlapped::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State<O>> {
        // A panic while holding this lock cannot leave the state inconsistent in a way that
        // matters more than losing one result: keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the output if the result is in; otherwise remembers the waker.
    pub(crate) fn poll(&self, cx: &mut Context<'_>) -> Poll<O::Output> {
        let mut st = self.lock();
        if let Some(out) = take_output(&mut st) {
            return Poll::Ready(out);
        }
        match &st.waiter {
            Waiter::Waker(w) if w.will_wake(cx.waker()) => {}
            _ => st.waiter = Waiter::Waker(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Runs `f` with the output on the dispatching thread once the result is in. Returns
    /// true when the result is already in, so the caller must queue the callback itself.
    pub(crate) fn set_callback(&self, f: Box<dyn FnOnce(O::Output) + Send>) -> bool {
        let mut st = self.lock();
        st.waiter = Waiter::Callback(f);
        st.result.is_some()
    }

    /// The future is dropped: nobody wants the output. While the backend still holds the
    /// operation it counts as parked; returns its backend key, if any, for cancellation.
    pub(crate) fn abandon(&self, shared: &Shared) -> Option<CancelKey> {
        let mut st = self.lock();
        st.abandoned = true;
        st.waiter = Waiter::None;
        if let Some(res) = st.result.take() {
            let op = st.op.take();
            drop(st);
            if let Some(op) = op {
                op.discard(res);
            }
            return None;
        }
        shared.park();
        st.cancel_requested = true;
        st.key
    }

    /// Explicit cancellation: the result will still be delivered (ECANCELED if it never ran).
    pub(crate) fn request_cancel(&self) -> Option<CancelKey> {
        let mut st = self.lock();
        if st.result.is_some() {
            return None;
        }
        st.cancel_requested = true;
        st.key
    }
}

fn take_output<O: Operation>(st: &mut State<O>) -> Option<O::Output> {
    let res = st.result.take()?;
    let op = st.op.take()?;
    Some(op.complete(res))
}

impl<O: Operation> Inflight for OpCell<O> {
    fn kind(&self) -> OpKind {
        O::KIND
    }

    fn is_abandoned(&self) -> bool {
        self.lock().abandoned
    }

    #[cfg(any(windows, all(target_os = "linux", not(target_os = "android"))))]
    fn cancel_requested(&self) -> bool {
        self.lock().cancel_requested
    }

    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn uring_entry(&self, key: (usize, u64)) -> Option<io_uring::squeue::Entry> {
        let mut st = self.lock();
        let entry = st.op.as_mut()?.uring_entry()?;
        st.key = Some(key);
        Some(entry)
    }

    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn chain_len(&self) -> usize {
        O::CHAIN
    }

    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn uring_chain(&self, key: (usize, u64), slot: u32) -> Option<Vec<io_uring::squeue::Entry>> {
        let mut st = self.lock();
        let entries = st.op.as_mut()?.uring_chain(slot)?;
        debug_assert_eq!(entries.len(), O::CHAIN);
        st.key = Some(key);
        Some(entries)
    }

    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn chain_result(&self, index: usize, res: i32) {
        if let Some(op) = self.lock().op.as_mut() {
            op.chain_result(index, res);
        }
    }

    #[cfg(windows)]
    fn iocp_request(&self) -> Option<crate::driver::iocp::Request> {
        let mut st = self.lock();
        let req = st.op.as_mut()?.iocp_request()?;
        st.key = Some((req.handle, self.overlapped.as_ptr() as usize));
        Some(req)
    }

    #[cfg(windows)]
    fn overlapped(&self) -> &crate::driver::iocp::overlapped::Overlapped {
        &self.overlapped
    }

    fn set_gate(&self, gate: Arc<Gate>) {
        self.lock().gate = Some(gate);
    }

    fn run_blocking(&self) -> Option<RawResult> {
        let mut op = {
            let mut st = self.lock();
            if st.abandoned {
                return None;
            }
            if st.cancel_requested {
                return Some(Err(crate::sys::cancelled()));
            }
            st.op.take()?
        };
        // The lock is not held while the operation blocks: the future can still be polled or
        // dropped meanwhile, and the operation is put back before the result is published.
        let res = op.run_blocking();
        let mut st = self.lock();
        st.op = Some(op);
        if st.abandoned {
            return None;
        }
        Some(res)
    }

    fn finish(self: Arc<Self>, res: RawResult, shared: &Shared) {
        let mut st = self.lock();
        st.key = None;
        let gate = st.gate.take();
        if st.abandoned {
            let op = st.op.take();
            drop(st);
            if let Some(op) = op {
                op.discard(res);
            }
            shared.unpark();
        } else {
            st.result = Some(res);
            match std::mem::replace(&mut st.waiter, Waiter::None) {
                Waiter::None => {}
                Waiter::Waker(w) => {
                    drop(st);
                    w.wake();
                }
                Waiter::Callback(f) => {
                    st.waiter = Waiter::Callback(f);
                    drop(st);
                    shared.queue_callback(self);
                }
            }
        }
        if let Some(gate) = gate {
            gate.release();
        }
    }

    fn run_callback(&self) {
        let mut st = self.lock();
        let Waiter::Callback(f) = std::mem::replace(&mut st.waiter, Waiter::None) else {
            return;
        };
        let out = take_output(&mut st);
        drop(st);
        if let Some(out) = out {
            f(out);
        }
    }
}
