//! [`Core`]: routes each submission to a backend and each completion to its waiter.
//!
//! [`Shared`] is the part the backends' own threads need (the completion signal, the callback
//! queue, the per-kind memory of what io_uring refused, the counters); it holds no reference
//! back to the core, so worker threads never keep an engine alive.

use super::cell::{CancelKey, Inflight};
use super::gate::{Gate, Gates, Priority};
use super::notify::Notify;
use super::pool::{Job, Pool};
use super::OpKind;
use super::RawResult;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::Waker;

/// State shared by the core and the backends' threads.
pub(crate) struct Shared {
    pub(crate) notify: Notify,
    /// Completed operations whose callbacks wait for the dispatching thread.
    ready: Mutex<Vec<Arc<dyn Inflight>>>,
    /// Per kind: io_uring may be asked (false once a filesystem refused and the pool did it).
    uring_allowed: [AtomicBool; OpKind::COUNT],
    /// Submitted and not yet delivered or released.
    outstanding: AtomicUsize,
    /// Abandoned while the backend still holds them.
    parked: AtomicUsize,
    /// Entries were queued for the next dispatch and nobody has asked for it yet (batched
    /// submission, see `Builder::batch_submissions`).
    dispatch_wanted: AtomicBool,
    /// Woken instead of signalling the descriptor when a dispatch is wanted (set by the
    /// runtime drivers, which then need no system call to learn about queued work).
    dispatch_waker: Mutex<Option<Waker>>,
    pub(crate) counters: Counters,
}

/// Running totals, read by `Engine::stats`.
#[derive(Default)]
pub(crate) struct Counters {
    /// Operations submitted to the native backend (io_uring or IOCP).
    pub(crate) native: AtomicU64,
    pub(crate) pool: AtomicU64,
    pub(crate) fallbacks: AtomicU64,
    pub(crate) completed: AtomicU64,
}

impl Shared {
    pub(crate) fn new() -> io::Result<Arc<Shared>> {
        Ok(Arc::new(Shared {
            notify: Notify::new()?,
            ready: Mutex::new(Vec::new()),
            uring_allowed: std::array::from_fn(|_| AtomicBool::new(true)),
            outstanding: AtomicUsize::new(0),
            parked: AtomicUsize::new(0),
            dispatch_wanted: AtomicBool::new(false),
            dispatch_waker: Mutex::new(None),
            counters: Counters::default(),
        }))
    }

    /// Hands a result to its cell.
    pub(crate) fn deliver(&self, cell: Arc<dyn Inflight>, res: RawResult) {
        self.counters.completed.fetch_add(1, Relaxed);
        cell.finish(res, self);
        self.outstanding.fetch_sub(1, Relaxed);
    }

    /// A queued operation was dropped unrun because its future was gone.
    pub(crate) fn released(&self) {
        self.unpark();
        self.outstanding.fetch_sub(1, Relaxed);
    }

    pub(crate) fn park(&self) {
        self.parked.fetch_add(1, Relaxed);
    }

    pub(crate) fn unpark(&self) {
        self.parked.fetch_sub(1, Relaxed);
    }

    pub(crate) fn parked(&self) -> usize {
        self.parked.load(Relaxed)
    }

    pub(crate) fn outstanding(&self) -> usize {
        self.outstanding.load(Relaxed)
    }

    /// A filesystem refused `kind` on io_uring and the pool succeeded: stop asking io_uring.
    pub(crate) fn uring_refuses(&self, kind: OpKind) {
        self.uring_allowed[kind.index()].store(false, Relaxed);
    }

    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn uring_allowed(&self, kind: OpKind) -> bool {
        self.uring_allowed[kind.index()].load(Relaxed)
    }

    /// Queues a completed operation's callback for the dispatching thread and wakes it.
    pub(crate) fn queue_callback(&self, cell: Arc<dyn Inflight>) {
        self.ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(cell);
        self.notify.signal();
    }

    /// Asks whoever dispatches to come soon: wakes the registered driver task, or signals the
    /// descriptor. Once per dispatch, however many entries were queued meanwhile.
    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn request_dispatch(&self) {
        if self.dispatch_wanted.swap(true, SeqCst) {
            return;
        }
        let waker = self
            .dispatch_waker
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match &*waker {
            Some(w) => w.wake_by_ref(),
            None => self.notify.signal(),
        }
    }

    /// Whether queued entries wait for a dispatch.
    #[cfg_attr(
        not(all(unix, any(feature = "tokio", feature = "async-io"))),
        allow(dead_code)
    )]
    pub(crate) fn dispatch_wanted(&self) -> bool {
        self.dispatch_wanted.load(SeqCst)
    }

    /// Makes `waker` the one [`request_dispatch`](Shared::request_dispatch) wakes (`None`:
    /// signal the descriptor).
    #[cfg_attr(
        not(all(unix, any(feature = "tokio", feature = "async-io"))),
        allow(dead_code)
    )]
    pub(crate) fn set_dispatch_waker(&self, waker: Option<&Waker>) {
        let mut slot = self
            .dispatch_waker
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match (waker, &*slot) {
            (Some(new), Some(old)) if old.will_wake(new) => {}
            _ => *slot = waker.cloned(),
        }
    }

    fn take_ready(&self) -> Vec<Arc<dyn Inflight>> {
        std::mem::take(&mut *self.ready.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The backends of one engine and the routing between them.
pub(crate) struct Core {
    pub(crate) shared: Arc<Shared>,
    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    pub(crate) uring: Option<super::uring::Uring>,
    #[cfg(windows)]
    pub(crate) iocp: Option<super::iocp::Iocp>,
    pub(crate) pool: Pool,
    gates: Gates,
    /// fork generation the rings belong to: a forked child never touches them.
    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    generation: u64,
    /// io_uring entries wait for the next dispatch instead of one system call each.
    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    batch: bool,
}

/// Where a submission should go.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Route {
    /// The engine's best backend.
    Best,
    /// The pool (work that must never run on the submitting thread, e.g. network files when
    /// io_uring would run it inline).
    Pool,
}

impl Core {
    pub(crate) fn new(
        shared: Arc<Shared>,
        #[cfg(all(target_os = "linux", not(target_os = "android")))] uring: Option<
            super::uring::Uring,
        >,
        #[cfg(windows)] iocp: Option<super::iocp::Iocp>,
        pool: Pool,
        gates: Gates,
    ) -> Core {
        Core {
            shared,
            #[cfg(all(target_os = "linux", not(target_os = "android")))]
            uring,
            #[cfg(windows)]
            iocp,
            pool,
            gates,
            #[cfg(all(target_os = "linux", not(target_os = "android")))]
            generation: crate::sys::fork_generation(),
            #[cfg(all(target_os = "linux", not(target_os = "android")))]
            batch: false,
        }
    }

    /// Batched submission (io_uring): entries are queued and handed to the kernel by the
    /// next dispatch, all in one system call.
    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    pub(crate) fn with_batching(mut self, yes: bool) -> Core {
        self.batch = yes;
        self
    }

    /// The gate bounding device `dev` of class `class`, if that class is bounded. (Only Linux
    /// tells devices apart so far; elsewhere every file is unbounded.)
    #[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
    pub(crate) fn gate_for(&self, dev: u64, class: crate::DeviceClass) -> Option<Arc<Gate>> {
        self.gates.get(dev, class)
    }

    /// Starts `cell` on the backend for its kind, once its device's gate (if any) admits it.
    /// Completions that the backend produced meanwhile are delivered before returning.
    pub(crate) fn submit(
        self: &Arc<Self>,
        cell: Arc<dyn Inflight>,
        route: Route,
        gate: Option<&Arc<Gate>>,
        priority: Priority,
    ) {
        self.shared.outstanding.fetch_add(1, Relaxed);
        if let Some(gate) = gate {
            cell.set_gate(gate.clone());
            if !gate.admit(self, &cell, route, priority) {
                return; // submitted by Gate::release when a slot frees up
            }
        }
        self.submit_admitted(cell, route);
    }

    /// Starts `cell` (already counted and admitted) on the backend for its kind.
    pub(crate) fn submit_admitted(&self, cell: Arc<dyn Inflight>, route: Route) {
        #[cfg(all(target_os = "linux", not(target_os = "android")))]
        if let Some(uring) = self.uring_for(cell.kind(), route) {
            self.shared.counters.native.fetch_add(1, Relaxed);
            if self.batch {
                match uring.queue(cell) {
                    Ok(()) => self.shared.request_dispatch(),
                    Err(cell) => self.to_pool(cell, false),
                }
                return;
            }
            let mut out = super::uring::scratch();
            if let Err(cell) = uring.submit(cell, &mut out) {
                self.to_pool(cell, false);
            }
            self.route_uring(out);
            return;
        }
        #[cfg(windows)]
        if let Some(iocp) = self
            .iocp
            .as_ref()
            .filter(|i| route == Route::Best && i.supports(cell.kind()))
        {
            let mut out = Vec::new();
            match iocp.submit(cell, &mut out) {
                Ok(()) => self.shared.counters.native.fetch_add(1, Relaxed),
                Err(cell) => {
                    self.to_pool(cell, false);
                    return;
                }
            };
            self.deliver_all(out);
            return;
        }
        let _ = route;
        self.to_pool(cell, false);
    }

    /// Associates a file this engine opened (with FILE_FLAG_OVERLAPPED when it has IOCP, see
    /// `OpenOptions::finish`) with the completion port; `None` leaves it to the pool.
    #[cfg(windows)]
    pub(crate) fn attach(&self, raw: crate::sys::os::Handle) -> Option<super::iocp::Attached> {
        self.iocp.as_ref()?.attach(self.shared.notify.port(), raw)
    }

    #[cfg(windows)]
    fn deliver_all(&self, done: Vec<super::iocp::Done>) {
        for (cell, res) in done {
            self.shared.deliver(cell, res);
        }
    }

    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn uring_for(&self, kind: OpKind, route: Route) -> Option<&super::uring::Uring> {
        let uring = self.uring.as_ref()?;
        let usable = route == Route::Best
            && uring.supports(kind)
            && self.shared.uring_allowed(kind)
            && self.generation == crate::sys::fork_generation();
        usable.then_some(uring)
    }

    fn to_pool(&self, cell: Arc<dyn Inflight>, retry_of_uring: bool) {
        self.shared.counters.pool.fetch_add(1, Relaxed);
        self.pool.submit(Job {
            cell,
            retry_of_uring,
        });
    }

    /// Delivers io_uring completions, moving to the pool what io_uring could not do.
    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn route_uring(&self, mut reaped: Vec<super::uring::Reaped>) {
        // Delivering may run code that submits again on this thread: the list is taken out
        // of the thread's scratch slot meanwhile and given back afterwards.
        for (cell, res) in reaped.drain(..) {
            if res >= 0 {
                self.shared.deliver(cell, Ok(res as u64));
                continue;
            }
            let errno = -res;
            if errno == libc::ECANCELED && !cell.cancel_requested() {
                // Not ours: the submitting thread exited before its task work ran.
                self.to_pool(cell, false);
            } else if (errno == libc::EOPNOTSUPP || errno == libc::EINVAL)
                && !cell.is_abandoned()
                && cell.kind() != OpKind::Close
            {
                // A close is never repeated: the descriptor may already be gone.
                self.shared.counters.fallbacks.fetch_add(1, Relaxed);
                self.to_pool(cell, true);
            } else {
                self.shared
                    .deliver(cell, Err(io::Error::from_raw_os_error(errno)));
            }
        }
        super::uring::recycle(reaped);
    }

    /// Asks the backend to cancel the operation at `key` (io_uring and IOCP; pool operations
    /// are skipped if not yet started).
    pub(crate) fn cancel(&self, key: CancelKey) {
        #[cfg(all(target_os = "linux", not(target_os = "android")))]
        if let Some(uring) = &self.uring {
            if self.generation == crate::sys::fork_generation() {
                let mut out = Vec::new();
                uring.cancel(key, &mut out);
                self.route_uring(out);
            }
        }
        #[cfg(windows)]
        if let Some(iocp) = &self.iocp {
            iocp.cancel(key);
        }
        let _ = key;
    }

    /// Reaps and delivers every completion, runs queued callbacks; never waits. Returns how
    /// many completions and callbacks were handled.
    pub(crate) fn dispatch(&self) -> usize {
        // Entries queued from here on ask for another dispatch; those queued before are
        // submitted below.
        self.shared.dispatch_wanted.store(false, SeqCst);
        self.shared.notify.drain();
        let mut handled = 0;
        #[cfg(all(target_os = "linux", not(target_os = "android")))]
        if let Some(uring) = &self.uring {
            if self.generation == crate::sys::fork_generation() {
                let mut out = Vec::new();
                uring.reap_all(&mut out);
                handled += out.len();
                self.route_uring(out);
            }
        }
        #[cfg(windows)]
        {
            let packets = self.shared.notify.take_packets();
            if let (Some(iocp), false) = (&self.iocp, packets.is_empty()) {
                let mut out = Vec::new();
                for packet in packets {
                    iocp.complete(packet, &mut out);
                }
                handled += out.len();
                self.deliver_all(out);
            }
        }
        for cell in self.shared.take_ready() {
            cell.run_callback();
            handled += 1;
        }
        handled
    }
}
