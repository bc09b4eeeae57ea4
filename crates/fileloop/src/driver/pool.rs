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
    threads: usize,
    idle: usize,
    /// `fork` generation the thread count belongs to (a child has no workers).
    generation: u64,
}

struct Inner {
    state: Mutex<State>,
    cond: Condvar,
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
                    generation: crate::sys::fork_generation(),
                }),
                cond: Condvar::new(),
                max_threads: max_threads.max(1),
                shared,
            }),
        }
    }

    /// Queues a job, starting a worker if none is idle and the bound allows.
    pub(crate) fn submit(&self, job: Job) {
        let mut st = self.inner.lock();
        let generation = crate::sys::fork_generation();
        if st.generation != generation {
            // In a child after fork: the parent's workers do not exist here.
            st.generation = generation;
            st.threads = 0;
            st.idle = 0;
        }
        st.jobs.push_back(job);
        if st.idle > 0 {
            drop(st);
            self.inner.cond.notify_one();
            return;
        }
        if st.threads < self.inner.max_threads {
            st.threads += 1;
            drop(st);
            let inner = self.inner.clone();
            let spawned = thread::Builder::new()
                .name("fileloop-pool".into())
                .spawn(move || inner.work());
            if spawned.is_err() {
                // No thread now: the job stays queued for an existing or later worker.
                self.inner.lock().threads -= 1;
            }
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
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
