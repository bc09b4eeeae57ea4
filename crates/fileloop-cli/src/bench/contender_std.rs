//! `std` and `std-threads`: blocking std::fs calls.
//!
//! * `std`: everything on one thread, one op at a time, whatever the workload's concurrency:
//!   `FileExt::read_at` (pread) on one shared `std::fs::File`, `std::fs::read`, `std::fs::write`,
//!   `std::fs::remove_file`.
//! * `std-threads`: the same calls from `concurrency` OS threads (one per in-flight op, up to
//!   64), each claiming ops from a shared counter; pread shares one `File` between threads.
//! * W5 (loop lag, single-threaded tokio loop with 64 tasks):
//!   - `std` calls `std::fs::read` inline in each task, blocking the loop for the duration of
//!     the call; each task yields to the scheduler after every op (like a handler that goes back
//!     to the network between reads), so the timer can run between reads.
//!   - `std-threads` gives each of the 64 tasks its own OS thread: the task sends the path over a
//!     channel and awaits the result on a tokio oneshot, so the loop never blocks on the file.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::sync::mpsc;
use std::sync::Arc;

use super::async_backend::{default_runtime, drive, with_ticker, Flavor};
use super::contender::{
    drive_threads, nonzero_read, AlignedBuf, Contender, Files, Job, Outcome, RunError,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    OneThread,
    ThreadPerOp,
}

/// A blocking std::fs contender.
#[derive(Debug)]
pub struct StdContender {
    name: &'static str,
    mode: Mode,
}

/// `std`: one thread.
pub fn std_one_thread() -> Box<dyn Contender> {
    Box::new(StdContender {
        name: "std",
        mode: Mode::OneThread,
    })
}

/// `std-threads`: one thread per in-flight op.
pub fn std_threads() -> Box<dyn Contender> {
    Box::new(StdContender {
        name: "std-threads",
        mode: Mode::ThreadPerOp,
    })
}

/// Unmeasured warm-up ops per thread for reads of one big file.
const READ_WARMUP: u64 = 16;

impl StdContender {
    fn threads(&self, concurrency: usize) -> usize {
        match self.mode {
            Mode::OneThread => 1,
            Mode::ThreadPerOp => concurrency.max(1),
        }
    }

    fn loop_lag(&self, files: &Files, tick: std::time::Duration) -> io::Result<Outcome> {
        let rt = default_runtime(Flavor::CurrentThread)?;
        let f = Arc::new(files.clone());
        let (out, lag) = match self.mode {
            Mode::OneThread => rt.block_on(with_ticker(
                tick,
                drive(
                    f.concurrency,
                    f.budget,
                    1,
                    true,
                    |_| async { Ok(()) },
                    move |(), i| {
                        let f = f.clone();
                        async move { ((), std::fs::read(f.path(i)).map(|v| v.len() as u64)) }
                    },
                    |()| async { Ok(()) },
                ),
            )),
            Mode::ThreadPerOp => {
                type Request = (u64, tokio::sync::oneshot::Sender<io::Result<u64>>);
                let setup_files = f.clone();
                rt.block_on(with_ticker(
                    tick,
                    drive(
                        f.concurrency,
                        f.budget,
                        1,
                        false,
                        move |t| {
                            let f = setup_files.clone();
                            async move {
                                let (tx, rx) = mpsc::channel::<Request>();
                                std::thread::Builder::new()
                                    .name(format!("std-threads-{t}"))
                                    .spawn(move || {
                                        for (i, reply) in rx {
                                            let r =
                                                std::fs::read(f.path(i)).map(|v| v.len() as u64);
                                            let _ = reply.send(r);
                                        }
                                    })?;
                                Ok(tx)
                            }
                        },
                        |tx: mpsc::Sender<Request>, i| async move {
                            let (reply, result) = tokio::sync::oneshot::channel();
                            let r = match tx.send((i, reply)) {
                                Ok(()) => result.await.unwrap_or_else(|_| {
                                    Err(io::Error::other("worker thread died"))
                                }),
                                Err(_) => Err(io::Error::other("worker thread died")),
                            };
                            (tx, r)
                        },
                        // Dropping the sender ends the worker thread's loop.
                        |tx| async move {
                            drop(tx);
                            Ok(())
                        },
                    ),
                ))
            }
        };
        let mut out = out?;
        out.lag_ns = Some(lag);
        Ok(out)
    }
}

impl Contender for StdContender {
    fn name(&self) -> &str {
        self.name
    }

    fn run(&self, job: &Job) -> Result<Outcome, RunError> {
        let threads = self.threads(job.concurrency());
        let out = match job {
            Job::ReadAt(r) => {
                let mut opts = OpenOptions::new();
                opts.read(true);
                if r.direct {
                    opts.custom_flags(libc::O_DIRECT);
                }
                let file: File = opts.open(&r.file)?;
                drive_threads(
                    threads,
                    r.budget,
                    READ_WARMUP,
                    |_| Ok(AlignedBuf::zeroed(r.block)),
                    |buf, i| nonzero_read(file.read_at(buf, r.offset(i))),
                )?
            }
            Job::ReadFiles(f) => drive_threads(
                threads,
                f.budget,
                1,
                |_| Ok(()),
                |(), i| std::fs::read(f.path(i)).map(|v| v.len() as u64),
            )?,
            Job::CreateFiles { files, size } => drive_threads(
                threads,
                files.budget,
                0,
                |_| Ok(AlignedBuf::patterned(*size)),
                |buf, i| std::fs::write(files.path(i), &buf[..]).map(|()| *size as u64),
            )?,
            Job::RemoveFiles(f) => drive_threads(
                threads,
                f.budget,
                0,
                |_| Ok(()),
                |(), i| std::fs::remove_file(f.path(i)).map(|()| 0),
            )?,
            Job::LoopLag { files, tick } => self.loop_lag(files, *tick)?,
        };
        Ok(out)
    }
}
