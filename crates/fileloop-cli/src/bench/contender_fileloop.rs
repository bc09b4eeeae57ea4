//! `fileloop-uring` and `fileloop-pool`: the fileloop library, used the way its users would.
//!
//! * W1/W2/W6: one `fileloop::File` per task (`Engine::open`; W6 adds `O_DIRECT` through
//!   `OpenOptions::custom_flags`), each op is `file.read_at(buf, pos)` with the task's owned,
//!   4096-byte aligned `fileloop::buf::AlignedBuf`.
//! * W3/W5: `Engine::read(path)`, fileloop's `tokio::fs::read` (on io_uring, once the directory
//!   is known, one linked open / read / end-of-file probe / close chain per file).
//! * W4: `Engine::write` (create + write + close as one job, fileloop's `tokio::fs::write`);
//!   the delete phase uses `Engine::remove_file` on the same engine.
//!
//! Each contender holds three engines of its backend, built once: one with its own completion
//! thread (the library's default), one host-driven, whose completions the job's tokio runtime
//! reaps through `fileloop::rt::tokio::drive` (spawned on each job's runtime), and one
//! host-driven with batched submission (`Builder::batch_submissions`). Which one a job uses is
//! decided per workload by [`Drive::for_job`], from measurements on the reference machine (see
//! there); `FILELOOP_BENCH_DRIVE=thread|host|batched` forces one for all jobs (for such
//! measurements, undocumented).

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use fileloop::buf::AlignedBuf;
use fileloop::{BackendChoice, Engine, File, OpenOptions};
use tokio::runtime::Runtime;

use super::async_backend::{default_runtime, AsyncBackend, AsyncContender, Flavor};
use super::contender::{Contender, Job, DIRECT_ALIGN};
use super::Absent;

/// How an engine's completions are delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Drive {
    /// The engine's own completion thread waits on its eventfd and wakes the futures.
    Thread = 0,
    /// Host-driven engine; the tokio runtime's reactor watches the eventfd and a driver task
    /// dispatches (`fileloop::rt::tokio::drive`).
    Host = 1,
    /// As `Host`, with batched submission: operations queue and the driver task submits them
    /// all with one system call when it next runs.
    Batched = 2,
}

impl Drive {
    /// The mode for `job` on `choice`'s backend, from measurements on the reference machine
    /// (2 vCPUs shared with other work, ext4, kernel 6.18; `FILELOOP_BENCH_DRIVE_VARIANTS=1`
    /// runs the modes side by side):
    ///
    /// * io_uring on W5's single-threaded loop: batched. Submitting each operation on its own
    ///   costs one `io_uring_enter` per operation, and page-cache hits then complete inside the
    ///   poll that submits them, so one file's open, reads and close run back to back while the
    ///   timer waits. Batched, every operation returns to the loop and the driver task submits
    ///   the whole round (up to 64 operations) in one call.
    /// * io_uring, page-cache reads on multi-thread runtimes (W1, W2, W3): the engine's own
    ///   thread. They complete during their own submission on the task's thread; a host-driven
    ///   engine's eventfd is also signalled by those completions (only the engine's own thread
    ///   silences it while a submitter is inside the kernel, see `uring::shard`), which wakes an
    ///   idle tokio worker to run the driver task for nothing. Measured two runs each, thread
    ///   vs host: W1 c1 871k/885k vs 765k/652k, W1 c64 1.44M/1.49M vs 1.24M/1.24M, W2 c1
    ///   8.5k/8.7k vs 6.9k/7.0k, W3 509k/491k vs 433k/415k ops/s.
    /// * io_uring, O_DIRECT reads and creates (W6, W4): host-driven. Their completions come
    ///   later through the eventfd, and the runtime's reactor delivering them on a worker
    ///   thread beat a separate completion thread handing them over (W6 127k/132k vs 98k/95k;
    ///   W4 quick on a fresh ext4: 0.77x vs 0.71x and 1.17x vs 1.06x of tokio-fs).
    /// * pool: the engine's own thread. Pool threads wake the futures directly; the eventfd
    ///   only carries callbacks, so a driver task would only be one more task to schedule (the
    ///   measured differences were within run-to-run noise).
    fn for_job(job: &Job, choice: BackendChoice, forced: Option<Drive>) -> Drive {
        if let Some(forced) = forced.or_else(forced_drive) {
            return forced;
        }
        let completes_inline = match job {
            Job::ReadAt(r) => !r.direct,
            Job::ReadFiles(_) => true,
            _ => false,
        };
        match (choice, Flavor::of(job)) {
            (BackendChoice::Pool, _) => Drive::Thread,
            (_, Flavor::CurrentThread) => Drive::Batched,
            (_, Flavor::MultiThread) if completes_inline => Drive::Thread,
            (_, Flavor::MultiThread) => Drive::Host,
        }
    }
}

fn forced_drive() -> Option<Drive> {
    match std::env::var("FILELOOP_BENCH_DRIVE").ok()?.as_str() {
        "thread" => Some(Drive::Thread),
        "host" => Some(Drive::Host),
        "batched" => Some(Drive::Batched),
        _ => None,
    }
}

/// fileloop on one backend.
pub struct FileloopBackend {
    choice: BackendChoice,
    /// Indexed by [`Drive`].
    engines: [Engine; 3],
    /// The [`Drive`] of the job in progress (set by `runtime`, read by `open`/`create`).
    current: AtomicUsize,
    /// Always this mode (the measurement variants).
    forced: Option<Drive>,
}

impl FileloopBackend {
    /// Builds the engines for `choice`, ignoring `FILELOOP_BACKEND`.
    pub fn new(choice: BackendChoice) -> io::Result<Self> {
        let builder = || Engine::builder().backend(choice).ignore_env();
        Ok(Self {
            choice,
            engines: [
                builder().build()?,
                builder().host_driven(true).build()?,
                builder()
                    .host_driven(true)
                    .batch_submissions(true)
                    .build()?,
            ],
            current: AtomicUsize::new(Drive::Thread as usize),
            forced: None,
        })
    }

    fn engine(&self) -> &Engine {
        &self.engines[self.current.load(Ordering::Relaxed)]
    }
}

impl AsyncBackend for FileloopBackend {
    type File = File;
    type Buf = AlignedBuf;

    fn runtime(&self, job: &Job) -> io::Result<Runtime> {
        let drive = Drive::for_job(job, self.choice, self.forced);
        self.current.store(drive as usize, Ordering::Relaxed);
        let rt = default_runtime(Flavor::of(job))?;
        if drive != Drive::Thread {
            let _in_rt = rt.enter();
            // The driver task lives as long as the runtime: dropped with it after the job.
            fileloop::rt::tokio::drive(&self.engines[drive as usize])?;
        }
        Ok(rt)
    }

    fn alloc_buf(&self, len: usize) -> AlignedBuf {
        let mut b = AlignedBuf::new(len, DIRECT_ALIGN).expect("buffer allocation");
        for (i, x) in b.iter_mut().enumerate() {
            *x = (i as u8).wrapping_mul(31).wrapping_add(7);
        }
        b
    }

    async fn open_read(&self, path: &Path, direct: bool) -> io::Result<File> {
        if direct {
            OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_DIRECT)
                .open_with(self.engine(), path)
                .await
        } else {
            self.engine().open(path).await
        }
    }

    async fn read_at(
        &self,
        file: &mut File,
        buf: AlignedBuf,
        pos: u64,
    ) -> (io::Result<usize>, AlignedBuf) {
        file.read_at(buf, pos).await
    }

    async fn close(&self, file: File) -> io::Result<()> {
        file.close().await
    }

    async fn read_whole(&self, path: &Path, scratch: AlignedBuf) -> (io::Result<u64>, AlignedBuf) {
        // `Engine::read` is fileloop's `tokio::fs::read` (what the tokio-fs contender calls);
        // like it, this ignores the scratch buffer.
        let res = self.engine().read(path).await.map(|v| v.len() as u64);
        (res, scratch)
    }

    async fn create_write(&self, path: &Path, data: AlignedBuf) -> (io::Result<()>, AlignedBuf) {
        // `Engine::write` is fileloop's counterpart of `tokio::fs::write` (what the tokio-fs
        // contender calls): create + write + close as one job.
        let res = self.engine().write(path, &data[..]).await;
        (res, data)
    }

    async fn remove(&self, path: &Path) -> io::Result<()> {
        self.engine().remove_file(path).await
    }
}

/// The fileloop contenders, in report order, and the reasons for those that are unavailable.
pub fn fileloop_contenders() -> (Vec<Box<dyn Contender>>, Vec<Absent>) {
    let mut v: Vec<Box<dyn Contender>> = Vec::new();
    let mut absent = Vec::new();
    match FileloopBackend::new(BackendChoice::Uring) {
        Ok(b) => v.push(Box::new(AsyncContender::new("fileloop-uring", b))),
        Err(e) => absent.push(("fileloop-uring".to_string(), e.to_string())),
    }
    match FileloopBackend::new(BackendChoice::Pool) {
        Ok(b) => v.push(Box::new(AsyncContender::new("fileloop-pool", b))),
        Err(e) => absent.push(("fileloop-pool".to_string(), e.to_string())),
    }
    // Undocumented, for choosing `Drive::for_job`: both modes of both backends side by side.
    if std::env::var_os("FILELOOP_BENCH_DRIVE_VARIANTS").is_some() {
        for (name, choice) in [
            ("uring", BackendChoice::Uring),
            ("pool", BackendChoice::Pool),
        ] {
            for (mode, drive) in [
                ("thread", Drive::Thread),
                ("host", Drive::Host),
                ("batched", Drive::Batched),
            ] {
                if let Ok(mut b) = FileloopBackend::new(choice) {
                    b.forced = Some(drive);
                    let name = format!("fl-{name}-{mode}");
                    v.push(Box::new(AsyncContender::new(name, b)));
                }
            }
        }
    }
    (v, absent)
}
