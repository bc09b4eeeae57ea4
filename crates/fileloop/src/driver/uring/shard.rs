//! One io_uring instance with its slot table and backlog, used under a mutex.
//!
//! The table maps `user_data` (slot index, generation and, for linked chains, the entry's place
//! in the chain) to the cell the kernel works for, so the cell, and everything the kernel
//! touches, stays alive until the completions of all its entries are reaped. In-flight entries
//! never exceed the completion queue's size: the excess waits in `backlog`.

use crate::driver::cell::Inflight;
use io_uring::{opcode, IoUring};
use std::collections::VecDeque;
use std::io;
use std::sync::Arc;

/// `user_data` of cancellation requests (their completions carry nothing to deliver).
const CANCEL_USER_DATA: u64 = u64::MAX;
/// `user_data` is `generation << 32 | place_in_chain << CHAIN_SHIFT | slot index`.
const CHAIN_SHIFT: u32 = 28;
const INDEX_MASK: u32 = (1 << CHAIN_SHIFT) - 1;

fn user_data(generation: u32, place: usize, index: u32) -> u64 {
    (u64::from(generation) << 32) | ((place as u64) << CHAIN_SHIFT) | u64::from(index)
}

struct Slot {
    generation: u32,
    cell: Option<Arc<dyn Inflight>>,
    /// Completions still to come for this cell (more than one for a linked chain).
    remaining: usize,
    /// The fixed-file slot a chain uses.
    fixed: Option<u32>,
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
    /// Free slots of the ring's registered file table (empty when it has none).
    fixed_free: Vec<u32>,
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
    /// A shard on `ring`, whose registered file table has `fixed_files` (sparse) slots.
    pub(crate) fn new(index: usize, ring: IoUring, fixed_files: u32, quiet_submit: bool) -> Self {
        let capacity = ring.params().cq_entries() as usize;
        Shard {
            index,
            ring,
            slots: Vec::new(),
            free: Vec::new(),
            in_flight: 0,
            capacity,
            backlog: VecDeque::new(),
            fixed_free: (0..fixed_files).rev().collect(),
            quiet_submit,
        }
    }

    /// Entries the kernel holds plus those waiting for room.
    pub(crate) fn outstanding(&self) -> usize {
        self.in_flight + self.backlog.len()
    }

    /// Queues `cell` on the ring if there is room, else in the backlog.
    pub(crate) fn push(&mut self, cell: Arc<dyn Inflight>) -> Pushed {
        let chain = cell.chain_len();
        if chain > self.capacity.min(self.ring.submission().capacity()) {
            return Pushed::NotExpressible(cell); // would never fit this ring
        }
        if !self.backlog.is_empty() || !self.has_room(chain) {
            self.backlog.push_back(cell);
            return Pushed::Queued;
        }
        self.push_now(cell)
    }

    /// Whether an operation of `chain` linked entries (0: one plain entry) fits now.
    fn has_room(&mut self, chain: usize) -> bool {
        let entries = chain.max(1);
        let sq = self.ring.submission();
        self.in_flight + entries <= self.capacity
            && sq.capacity() - sq.len() >= entries
            && (chain == 0 || !self.fixed_free.is_empty())
    }

    fn push_now(&mut self, cell: Arc<dyn Inflight>) -> Pushed {
        let idx = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    cell: None,
                    remaining: 0,
                    fixed: None,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let generation = self.slots[idx as usize].generation;
        let first = user_data(generation, 0, idx);
        let chain = cell.chain_len();
        // A plain operation's one entry stays on the stack (no allocation on the hot path).
        let plain;
        let mut linked = Vec::new();
        let (entries, fixed): (&[io_uring::squeue::Entry], _) = if chain == 0 {
            match cell.uring_entry((self.index, first)) {
                Some(entry) => {
                    plain = entry.user_data(first);
                    (std::slice::from_ref(&plain), None)
                }
                None => (&[], None),
            }
        } else {
            let fixed = self
                .fixed_free
                .pop()
                .expect("has_room checked the file table");
            match cell.uring_chain((self.index, first), fixed) {
                Some(entries) => {
                    let entries = entries.into_iter().enumerate();
                    let tagged = entries.map(|(i, e)| e.user_data(user_data(generation, i, idx)));
                    linked.extend(tagged);
                    (&linked[..], Some(fixed))
                }
                None => {
                    self.fixed_free.push(fixed);
                    (&[], None)
                }
            }
        };
        if entries.is_empty() {
            self.free.push(idx);
            return Pushed::NotExpressible(cell);
        }
        let slot = &mut self.slots[idx as usize];
        slot.cell = Some(cell);
        slot.remaining = entries.len();
        slot.fixed = fixed;
        self.in_flight += entries.len();
        // SAFETY: everything the entries point to lives inside the cell, which the slot table
        // keeps alive (and in place, behind the Arc) until the completions of all of them are
        // reaped; nothing takes the operation out of its cell before its result is in. A chain
        // goes in whole (push_multiple), so its links never join unrelated entries.
        unsafe {
            self.ring
                .submission()
                .push_multiple(entries)
                .expect("has_room checked the submission queue")
        };
        Pushed::Queued
    }

    /// Asks the kernel to cancel the entry `user_data` if it is still there and room allows.
    pub(crate) fn cancel(&mut self, user_data: u64) {
        let idx = (user_data as u32 & INDEX_MASK) as usize;
        let live = self
            .slots
            .get(idx)
            .is_some_and(|s| s.cell.is_some() && u64::from(s.generation) == user_data >> 32);
        if !live || !self.has_room(0) {
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
            let idx = (user_data as u32 & INDEX_MASK) as usize;
            let place = (user_data as u32 >> CHAIN_SHIFT) as usize;
            let slot = &mut self.slots[idx];
            debug_assert_eq!(u64::from(slot.generation), user_data >> 32);
            if slot.remaining == 0 {
                continue;
            }
            slot.remaining -= 1;
            if slot.fixed.is_some() {
                if let Some(cell) = &slot.cell {
                    cell.chain_result(place, cqe.result());
                }
            }
            if slot.remaining > 0 {
                continue;
            }
            // A chain's entries reported through chain_result; it completes with 0.
            let res = if slot.fixed.is_some() {
                0
            } else {
                cqe.result()
            };
            if let Some(fixed) = slot.fixed.take() {
                // The chain's last entry closed the slot's file (or it was never opened).
                self.fixed_free.push(fixed);
            }
            if let Some(cell) = slot.cell.take() {
                slot.generation = slot.generation.wrapping_add(1);
                self.free.push(idx as u32);
                out.push((cell, res));
            }
        }
    }

    /// Moves backlog entries onto the ring while there is room; those nobody waits for any more
    /// are dropped unrun, those explicitly cancelled complete with ECANCELED.
    fn refill(&mut self, out: &mut Vec<Reaped>) -> bool {
        let mut moved = false;
        while let Some(chain) = self.backlog.front().map(|c| c.chain_len()) {
            if !self.has_room(chain) {
                break;
            }
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
