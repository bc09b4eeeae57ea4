//! A single timer thread that runs delayed jobs (the replies of `Latency` files), so
//! that any number of delayed requests are answered concurrently without one thread each.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Instant;

/// A job run by the timer thread once its deadline has passed.
pub(crate) type Job = Box<dyn FnOnce() + Send + 'static>;

struct Entry {
    at: Instant,
    seq: u64,
    job: Job,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    // Reversed, so that the `BinaryHeap` (a max-heap) pops the earliest deadline first,
    // and among equal deadlines the first scheduled.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

#[derive(Default)]
struct State {
    heap: BinaryHeap<Entry>,
    next_seq: u64,
    /// Once set, every queued job runs at once, later jobs run inline in `schedule`, and
    /// the thread exits when the queue is empty.
    shutdown: bool,
}

#[derive(Default)]
struct Inner {
    state: Mutex<State>,
    wake: Condvar,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Handle to the timer thread.
pub(crate) struct Timer {
    inner: Arc<Inner>,
}

impl Timer {
    /// Starts the timer thread.
    pub(crate) fn start() -> io::Result<(Timer, JoinHandle<()>)> {
        let inner = Arc::new(Inner::default());
        let thread_inner = inner.clone();
        let handle = thread::Builder::new()
            .name("testfs-timer".into())
            .spawn(move || run(&thread_inner))?;
        Ok((Timer { inner }, handle))
    }

    /// Runs `job` on the timer thread at `at` (or inline, now, after [`Timer::shutdown`]).
    pub(crate) fn schedule(&self, at: Instant, job: Job) {
        let mut state = self.inner.lock();
        if state.shutdown {
            drop(state);
            job();
            return;
        }
        let seq = state.next_seq;
        state.next_seq += 1;
        state.heap.push(Entry { at, seq, job });
        drop(state);
        self.inner.wake.notify_one();
    }

    /// Runs every queued job now, and makes the thread exit once none is left.
    pub(crate) fn shutdown(&self) {
        self.inner.lock().shutdown = true;
        self.inner.wake.notify_one();
    }

    /// Number of jobs waiting for their deadline.
    #[cfg(test)]
    pub(crate) fn queued(&self) -> usize {
        self.inner.lock().heap.len()
    }
}

fn run(inner: &Inner) {
    let mut state = inner.lock();
    loop {
        let now = Instant::now();
        match state.heap.peek().map(|e| e.at) {
            Some(at) if state.shutdown || at <= now => {
                let entry = state.heap.pop().expect("peeked");
                drop(state);
                (entry.job)();
                state = inner.lock();
            }
            Some(at) => {
                state = inner
                    .wake
                    .wait_timeout(state, at - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            None if state.shutdown => return,
            None => state = inner.wake.wait(state).unwrap_or_else(|e| e.into_inner()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn runs_jobs_in_deadline_order() {
        let (timer, handle) = Timer::start().unwrap();
        let (tx, rx) = mpsc::channel();
        let now = Instant::now();
        for (i, ms) in [(0, 30u64), (1, 10), (2, 20)] {
            let tx = tx.clone();
            timer.schedule(
                now + Duration::from_millis(ms),
                Box::new(move || tx.send(i).unwrap()),
            );
        }
        let got: Vec<i32> = (0..3)
            .map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap())
            .collect();
        assert_eq!(got, [1, 2, 0]);
        assert!(now.elapsed() >= Duration::from_millis(30));
        timer.shutdown();
        handle.join().unwrap();
    }

    #[test]
    fn shutdown_runs_pending_jobs_now_and_later_ones_inline() {
        let (timer, handle) = Timer::start().unwrap();
        let (tx, rx) = mpsc::channel();
        let tx2 = tx.clone();
        timer.schedule(
            Instant::now() + Duration::from_secs(3600),
            Box::new(move || tx2.send(1).unwrap()),
        );
        let start = Instant::now();
        timer.shutdown();
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), 1);
        handle.join().unwrap();
        assert!(start.elapsed() < Duration::from_secs(5));
        timer.schedule(
            Instant::now() + Duration::from_secs(3600),
            Box::new(move || tx.send(2).unwrap()),
        );
        assert_eq!(rx.try_recv().unwrap(), 2);
        assert_eq!(timer.queued(), 0);
    }
}
