//! The portable backend: a bounded set of worker threads running operations with blocking
//! system calls. It serves every operation on systems without io_uring and, on Linux, whatever
//! io_uring cannot do (no opcode, a filesystem that refuses, directory listing).
//!
//! Workers start on demand up to the bound and exit after a while idle. An operation whose
//! future is dropped before a worker picks it up never runs.

use super::cell::Inflight;
use super::core::Shared;
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

/// How long an idle worker waits for work before exiting.
const IDLE_EXIT: Duration = Duration::from_secs(10);

/// One queued operation.
pub(crate) struct Job {
    pub(crate) cell: Arc<dyn Inflight>,
    /// io_uring refused this operation: if the pool succeeds, io_uring is not asked again for
    /// this kind.
    pub(crate) retry_of_uring: bool,
}

struct State {
    jobs: VecDeque<Job>,
    /// Workers alive or being started.
    threads: usize,
    /// Workers waiting for a job.
    idle: usize,
    /// Idle workers already woken for a job (not yet running).
    woken: usize,
    /// Workers the spawner still has to start.
    to_spawn: usize,
    /// Whether the spawner thread is alive.
    spawner: bool,
    /// `fork` generation the thread count belongs to (a child has no workers).
    generation: u64,
}

struct Inner {
    state: Mutex<State>,
    /// Wakes idle workers.
    cond: Condvar,
    /// Wakes the spawner.
    spawn_cond: Condvar,
    max_threads: usize,
    shared: Arc<Shared>,
}

/// The worker pool.
pub(crate) struct Pool {
    inner: Arc<Inner>,
}

impl Pool {
    pub(crate) fn new(max_threads: usize, shared: Arc<Shared>) -> Pool {
        Pool {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    jobs: VecDeque::new(),
                    threads: 0,
                    idle: 0,
                    woken: 0,
                    to_spawn: 0,
                    spawner: false,
                    generation: crate::sys::fork_generation(),
                }),
                cond: Condvar::new(),
                spawn_cond: Condvar::new(),
                max_threads: max_threads.max(1),
                shared,
            }),
        }
    }

    /// Queues a job, waking an idle worker or, if none and the bound allows, asking for one
    /// more. Threads are started by a spawner thread, so a burst of submissions never pays
    /// for thread creation on the submitting thread (except the spawner's own start).
    pub(crate) fn submit(&self, job: Job) {
        let mut st = self.inner.lock();
        let generation = crate::sys::fork_generation();
        if st.generation != generation {
            // In a child after fork: the parent's threads do not exist here.
            st.generation = generation;
            st.threads = 0;
            st.idle = 0;
            st.woken = 0;
            st.to_spawn = 0;
            st.spawner = false;
        }
        st.jobs.push_back(job);
        if st.idle > st.woken {
            st.woken += 1;
            drop(st);
            self.inner.cond.notify_one();
            return;
        }
        if st.threads >= self.inner.max_threads {
            return; // a busy worker takes it when done
        }
        st.threads += 1;
        st.to_spawn += 1;
        if st.spawner {
            drop(st);
            self.inner.spawn_cond.notify_one();
            return;
        }
        st.spawner = true;
        drop(st);
        let inner = self.inner.clone();
        let spawned = thread::Builder::new()
            .name("fileloop-spawner".into())
            .spawn(move || inner.spawn_workers());
        if spawned.is_err() {
            // No thread now: start the worker here instead.
            let mut st = self.inner.lock();
            st.spawner = false;
            st.to_spawn -= 1;
            drop(st);
            self.inner.start_worker();
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts one worker (already counted in `threads`).
    fn start_worker(self: &Arc<Self>) {
        let inner = self.clone();
        let spawned = thread::Builder::new()
            .name("fileloop-pool".into())
            .spawn(move || inner.work());
        if spawned.is_err() {
            // No thread now: the job stays queued for an existing or later worker.
            self.lock().threads -= 1;
        }
    }

    /// The spawner: starts requested workers; exits after a while without requests.
    fn spawn_workers(self: Arc<Self>) {
        let mut st = self.lock();
        loop {
            while st.to_spawn > 0 {
                st.to_spawn -= 1;
                drop(st);
                self.start_worker();
                st = self.lock();
            }
            let (guard, timeout) = self
                .spawn_cond
                .wait_timeout(st, IDLE_EXIT)
                .unwrap_or_else(|e| e.into_inner());
            st = guard;
            if timeout.timed_out() && st.to_spawn == 0 {
                st.spawner = false;
                return;
            }
        }
    }

    fn work(&self) {
        let mut st = self.lock();
        loop {
            if let Some(job) = st.jobs.pop_front() {
                drop(st);
                self.run(job);
                st = self.lock();
                continue;
            }
            st.idle += 1;
            let (guard, timeout) = self
                .cond
                .wait_timeout(st, IDLE_EXIT)
                .unwrap_or_else(|e| e.into_inner());
            st = guard;
            st.idle -= 1;
            if st.woken > 0 {
                st.woken -= 1;
            }
            if timeout.timed_out() && st.jobs.is_empty() {
                st.threads -= 1;
                return;
            }
        }
    }

    fn run(&self, job: Job) {
        let kind = job.cell.kind();
        match job.cell.run_blocking() {
            None => self.shared.deliver(job.cell, Err(crate::sys::cancelled())),
            Some(res) => {
                if job.retry_of_uring && res.is_ok() {
                    self.shared.uring_refuses(kind);
                }
                self.shared.deliver(job.cell, res);
            }
        }
    }
}
