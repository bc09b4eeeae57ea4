//! The Linux io_uring backend: a few rings ("shards"), each behind its own mutex, so that two
//! threads submitting at once rarely meet. A submitting thread pushes its entry, enters the
//! kernel once and reaps whatever is done: page-cache hits complete during that call and the
//! future is ready on its first poll. Completions that arrive later signal an eventfd that the
//! completion thread or the host loop waits on. (The eventfd is not registered "async only":
//! that mode signals only completions from io-wq workers, not those posted by task work, e.g.
//! O_DIRECT reads or buffered reads that missed the cache, which would then wait for the next
//! submission to be reaped.)

mod setup;
mod shard;

pub(crate) use setup::SetupError;
pub(crate) use shard::Reaped;

use crate::driver::cell::Inflight;
use crate::driver::OpKind;
use shard::{Pushed, Shard};
use std::cell::Cell;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// The io_uring backend.
pub(crate) struct Uring {
    shards: Box<[Padded<Mutex<Shard>>]>,
    supported: [bool; OpKind::COUNT],
    /// "io_uring (kernel 6.18, 54 ops probed)"
    pub(crate) description: String,
}

/// Keeps each shard's mutex on its own cache line.
#[repr(align(128))]
struct Padded<T>(T);

thread_local! {
    /// A reusable list for reaped completions, so a submission allocates nothing for it.
    static SCRATCH: Cell<Vec<Reaped>> = const { Cell::new(Vec::new()) };
    /// The shard this thread tries first.
    static HOME_SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// An empty list for reaped completions (this thread's reusable one, if free).
pub(crate) fn scratch() -> Vec<Reaped> {
    SCRATCH.take()
}

/// Gives a list back for reuse by [`scratch`].
pub(crate) fn recycle(mut list: Vec<Reaped>) {
    list.clear();
    SCRATCH.set(list);
}

fn home_shard(count: usize) -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    HOME_SHARD.with(|h| {
        if h.get() == usize::MAX {
            h.set(NEXT.fetch_add(1, Ordering::Relaxed));
        }
        h.get() % count
    })
}

impl Uring {
    /// Sets up `shards` rings of `entries` submission entries, all signalling `eventfd` for
    /// completions. With `quiet_submit`, completions that arrive while a submitter is inside
    /// the kernel (and reaps them itself) do not signal.
    pub(crate) fn new(
        entries: u32,
        shards: usize,
        eventfd: i32,
        quiet_submit: bool,
    ) -> Result<Uring, SetupError> {
        let setup::Rings {
            rings,
            fixed_files,
            supported,
            description,
        } = setup::create(entries, shards.max(1), eventfd)?;
        let shards = rings
            .into_iter()
            .enumerate()
            .map(|(i, ring)| Padded(Mutex::new(Shard::new(i, ring, fixed_files, quiet_submit))))
            .collect();
        Ok(Uring {
            shards,
            supported,
            description,
        })
    }

    /// Whether the kernel has the opcode for `kind`.
    pub(crate) fn supports(&self, kind: OpKind) -> bool {
        self.supported[kind.index()]
    }

    fn lock(&self, i: usize) -> MutexGuard<'_, Shard> {
        self.shards[i].0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Locks the first free shard, starting with this thread's own.
    fn lock_any(&self) -> MutexGuard<'_, Shard> {
        let n = self.shards.len();
        let home = home_shard(n);
        for k in 0..n {
            if let Ok(g) = self.shards[(home + k) % n].0.try_lock() {
                return g;
            }
        }
        self.lock(home)
    }

    /// Queues `cell`, enters the kernel and collects whatever completed into `out`.
    /// Gives the cell back when it has no io_uring form.
    pub(crate) fn submit(
        &self,
        cell: Arc<dyn Inflight>,
        out: &mut Vec<Reaped>,
    ) -> Result<(), Arc<dyn Inflight>> {
        let mut shard = self.lock_any();
        if let Pushed::NotExpressible(cell) = shard.push(cell) {
            return Err(cell);
        }
        if let Err(e) = shard.submit_and_reap(out) {
            // io_uring_enter itself failed (not an operation): nothing more can be submitted
            // on this shard now; the entries stay queued for the next attempt.
            debug_report(&e);
        }
        Ok(())
    }

    /// Queues `cell` for the next [`reap_all`](Uring::reap_all) without entering the kernel.
    /// Gives the cell back when it has no io_uring form.
    pub(crate) fn queue(&self, cell: Arc<dyn Inflight>) -> Result<(), Arc<dyn Inflight>> {
        match self.lock_any().push(cell) {
            Pushed::Queued => Ok(()),
            Pushed::NotExpressible(cell) => Err(cell),
        }
    }

    /// Requests cancellation of the entry at `key` (best effort).
    pub(crate) fn cancel(&self, key: (usize, u64), out: &mut Vec<Reaped>) {
        let mut shard = self.lock(key.0);
        shard.cancel(key.1);
        if let Err(e) = shard.submit_and_reap(out) {
            debug_report(&e);
        }
    }

    /// Submits what is queued and reaps every shard without waiting; returns whether any
    /// entry is still outstanding.
    pub(crate) fn reap_all(&self, out: &mut Vec<Reaped>) -> bool {
        let mut outstanding = false;
        for i in 0..self.shards.len() {
            let mut shard = self.lock(i);
            if let Err(e) = shard.submit_and_reap(out) {
                debug_report(&e);
            }
            outstanding |= shard.outstanding() > 0;
        }
        outstanding
    }
}

fn debug_report(e: &io::Error) {
    if cfg!(debug_assertions) {
        eprintln!("fileloop: io_uring_enter failed: {e}");
    }
}
