//! One io_uring instance with its slot table and backlog, used under a mutex.
//!
//! The table maps `user_data` (slot index and generation) to the cell the kernel works for, so
//! the cell, and everything the kernel touches, stays alive until its completion is reaped.
//! In-flight entries never exceed the completion queue's size: the excess waits in `backlog`.

use crate::driver::cell::Inflight;
use io_uring::{opcode, IoUring};
use std::collections::VecDeque;
use std::io;
use std::sync::Arc;

/// `user_data` of cancellation requests (their completions carry nothing to deliver).
const CANCEL_USER_DATA: u64 = u64::MAX;

struct Slot {
    generation: u32,
    cell: Option<Arc<dyn Inflight>>,
}

/// A completion taken off the ring, to be delivered once the shard lock is released.
pub(crate) type Reaped = (Arc<dyn Inflight>, i32);

pub(crate) struct Shard {
    index: usize,
    pub(crate) ring: IoUring,
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Entries the kernel holds (operations and cancellations): at most `capacity`.
    in_flight: usize,
    capacity: usize,
    backlog: VecDeque<Arc<dyn Inflight>>,
    /// Silence the eventfd while this shard's own submitter enters the kernel (it reaps what
    /// completes meanwhile itself).
    quiet_submit: bool,
}

/// What happened to a submission.
pub(crate) enum Pushed {
    /// On the ring (or waiting in the backlog for room).
    Queued,
    /// The operation has no io_uring form: run it elsewhere.
    NotExpressible(Arc<dyn Inflight>),
}

impl Shard {
    pub(crate) fn new(index: usize, ring: IoUring, quiet_submit: bool) -> Self {
        let capacity = ring.params().cq_entries() as usize;
        Shard {
            index,
            ring,
            slots: Vec::new(),
            free: Vec::new(),
            in_flight: 0,
            capacity,
            backlog: VecDeque::new(),
            quiet_submit,
        }
    }

    /// Entries the kernel holds plus those waiting for room.
    pub(crate) fn outstanding(&self) -> usize {
        self.in_flight + self.backlog.len()
    }

    /// Queues `cell` on the ring if there is room, else in the backlog.
    pub(crate) fn push(&mut self, cell: Arc<dyn Inflight>) -> Pushed {
        if !self.backlog.is_empty() || !self.has_room() {
            self.backlog.push_back(cell);
            return Pushed::Queued;
        }
        self.push_now(cell)
    }

    fn has_room(&mut self) -> bool {
        self.in_flight < self.capacity && !self.ring.submission().is_full()
    }

    fn push_now(&mut self, cell: Arc<dyn Inflight>) -> Pushed {
        let idx = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    cell: None,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[idx as usize];
        let user_data = (u64::from(slot.generation) << 32) | u64::from(idx);
        let Some(entry) = cell.uring_entry((self.index, user_data)) else {
            self.free.push(idx);
            return Pushed::NotExpressible(cell);
        };
        slot.cell = Some(cell);
        self.in_flight += 1;
        // SAFETY: everything the entry points to lives inside the cell, which the slot table
        // keeps alive (and in place, behind the Arc) until this entry's completion is reaped;
        // nothing takes the operation out of its cell before its result is in.
        unsafe {
            self.ring
                .submission()
                .push(&entry.user_data(user_data))
                .expect("has_room checked the submission queue")
        };
        Pushed::Queued
    }

    /// Asks the kernel to cancel the entry `user_data` if it is still there and room allows.
    pub(crate) fn cancel(&mut self, user_data: u64) {
        let idx = user_data as u32 as usize;
        let live = self
            .slots
            .get(idx)
            .is_some_and(|s| s.cell.is_some() && u64::from(s.generation) == user_data >> 32);
        if !live || !self.has_room() {
            return; // already completed, still in the backlog, or no room: best effort
        }
        let entry = opcode::AsyncCancel::new(user_data)
            .build()
            .user_data(CANCEL_USER_DATA);
        // SAFETY: a cancellation entry points to no memory.
        if unsafe { self.ring.submission().push(&entry) }.is_ok() {
            self.in_flight += 1;
        }
    }

    /// Submits pending entries, reaps completions into `out` and refills from the backlog
    /// until nothing changes. Never waits for the kernel.
    pub(crate) fn submit_and_reap(&mut self, out: &mut Vec<Reaped>) -> io::Result<()> {
        loop {
            self.submit()?;
            self.reap(out);
            // Only entries moved from the backlog need another enter; completions that
            // arrive after this reap signal the eventfd.
            if !self.refill(out) {
                return Ok(());
            }
        }
    }

    fn submit(&mut self) -> io::Result<()> {
        if self.ring.submission().is_empty() && !self.ring.submission().cq_overflow() {
            return Ok(());
        }
        // Completions posted while we are inside io_uring_enter (page-cache hits, task work)
        // are reaped by us right after, so they need not wake the completion thread: the
        // eventfd is silenced for that window (IORING_CQ_EVENTFD_DISABLED). A completion
        // racing with the re-enable can be missed by both sides; the completion thread's
        // periodic look while operations are outstanding covers that.
        if self.quiet_submit {
            self.ring.completion().disable_eventfd();
        }
        let res = self.enter();
        if self.quiet_submit {
            self.ring.completion().enable_eventfd();
        }
        res
    }

    fn enter(&mut self) -> io::Result<()> {
        loop {
            match self.ring.submit() {
                Ok(_) => return Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                // The kernel could not take entries now (completion queue busy, memory): they
                // stay in the submission queue and go with the next submit.
                Err(e) if matches!(e.raw_os_error(), Some(libc::EBUSY) | Some(libc::EAGAIN)) => {
                    return Ok(())
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn reap(&mut self, out: &mut Vec<Reaped>) {
        let mut cq = self.ring.completion();
        cq.sync();
        for cqe in &mut cq {
            self.in_flight -= 1;
            let user_data = cqe.user_data();
            if user_data == CANCEL_USER_DATA {
                continue;
            }
            let idx = user_data as u32 as usize;
            let slot = &mut self.slots[idx];
            debug_assert_eq!(u64::from(slot.generation), user_data >> 32);
            if let Some(cell) = slot.cell.take() {
                slot.generation = slot.generation.wrapping_add(1);
                self.free.push(idx as u32);
                out.push((cell, cqe.result()));
            }
        }
    }

    /// Moves backlog entries onto the ring while there is room; those nobody waits for any more
    /// are dropped unrun, those explicitly cancelled complete with ECANCELED.
    fn refill(&mut self, out: &mut Vec<Reaped>) -> bool {
        let mut moved = false;
        while self.has_room() {
            let Some(cell) = self.backlog.pop_front() else {
                break;
            };
            moved = true;
            if cell.is_abandoned() || cell.cancel_requested() {
                out.push((cell, -libc::ECANCELED));
                continue;
            }
            if let Pushed::NotExpressible(cell) = self.push_now(cell) {
                out.push((cell, -libc::EOPNOTSUPP));
            }
        }
        moved
    }
}

impl Drop for Shard {
    fn drop(&mut self) {
        if self.in_flight == 0 {
            return;
        }
        // The kernel may still write into operations we hold (a hung read, say) and closing
        // the ring does not wait for them: leak those cells rather than free memory in use.
        for slot in &mut self.slots {
            if let Some(cell) = slot.cell.take() {
                std::mem::forget(cell);
            }
        }
    }
}
