//! A process-wide timer thread for deadlines: it wakes a task when its deadline passes, so
//! timeouts work on any executor (or none).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Condvar, Mutex, OnceLock};
use std::task::Waker;
use std::time::Instant;

struct Entry {
    at: Instant,
    seq: u64,
    waker: Waker,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

struct Timer {
    heap: Mutex<(BinaryHeap<Reverse<Entry>>, u64)>,
    cond: Condvar,
}

fn timer() -> &'static Timer {
    static TIMER: OnceLock<&'static Timer> = OnceLock::new();
    TIMER.get_or_init(|| {
        let t: &'static Timer = Box::leak(Box::new(Timer {
            heap: Mutex::new((BinaryHeap::new(), 0)),
            cond: Condvar::new(),
        }));
        let spawned = std::thread::Builder::new()
            .name("fileloop-timer".into())
            .spawn(move || t.run());
        if let Err(e) = spawned {
            eprintln!("fileloop: cannot start the timer thread: {e}");
        }
        t
    })
}

impl Timer {
    fn run(&self) {
        let mut guard = self.heap.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let now = Instant::now();
            while guard.0.peek().is_some_and(|Reverse(e)| e.at <= now) {
                if let Some(Reverse(e)) = guard.0.pop() {
                    e.waker.wake();
                }
            }
            guard = match guard.0.peek() {
                Some(Reverse(e)) => {
                    let wait = e.at.saturating_duration_since(now);
                    self.cond
                        .wait_timeout(guard, wait)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                None => self.cond.wait(guard).unwrap_or_else(|e| e.into_inner()),
            };
        }
    }
}

/// Wakes `waker` at `at` (or soon after).
pub(crate) fn wake_at(at: Instant, waker: Waker) {
    let t = timer();
    let mut g = t.heap.lock().unwrap_or_else(|e| e.into_inner());
    g.1 += 1;
    let seq = g.1;
    let earliest = g.0.peek().is_none_or(|Reverse(e)| at < e.at);
    g.0.push(Reverse(Entry { at, seq, waker }));
    drop(g);
    if earliest {
        t.cond.notify_one();
    }
}
