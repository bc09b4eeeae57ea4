//! [`Builder`]: how an engine is configured and which backend it gets.

use super::{Backend, BackendKind, Engine};
use crate::device::DeviceClass;
use crate::driver::core::{Core, Shared};
use crate::driver::gate::{DeviceLimits, Gates};
use crate::driver::pool::Pool;
use std::io;

/// Which backend to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BackendChoice {
    /// The best the machine allows: io_uring on Linux, IOCP on Windows, else the pool; a
    /// refused io_uring falls back to the pool with the reason kept.
    #[default]
    Auto,
    /// The native backend or an error: io_uring on Linux, IOCP on Windows (elsewhere an error).
    Uring,
    /// The thread pool.
    Pool,
}

impl BackendChoice {
    /// Parses `auto`, `uring` or `pool` (the values of `FILELOOP_BACKEND`).
    pub fn parse(s: &str) -> io::Result<BackendChoice> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => Ok(BackendChoice::Auto),
            "uring" | "io_uring" | "iocp" | "native" => Ok(BackendChoice::Uring),
            "pool" => Ok(BackendChoice::Pool),
            other => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unknown backend {other:?}: expected auto, uring or pool"),
            )),
        }
    }
}

/// Configures an [`Engine`].
///
/// ```
/// use fileloop::{BackendChoice, Engine};
/// let engine = Engine::builder()
///     .backend(BackendChoice::Auto)
///     .ring_entries(256)
///     .pool_threads(16)
///     .build()?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Builder {
    backend: BackendChoice,
    ring_entries: u32,
    rings: usize,
    pool_threads: usize,
    host_driven: bool,
    batch: bool,
    honour_env: bool,
    limits: DeviceLimits,
    #[cfg(windows)]
    skip_on_success: bool,
}

impl Default for Builder {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Builder {
            backend: BackendChoice::Auto,
            ring_entries: 256,
            rings: cpus.min(4),
            pool_threads: 64,
            host_driven: false,
            batch: false,
            honour_env: true,
            limits: DeviceLimits::default(),
            #[cfg(windows)]
            skip_on_success: true,
        }
    }
}

impl Builder {
    /// The backend (default `Auto`). The environment variable `FILELOOP_BACKEND`
    /// (`auto`, `uring`, `pool`) overrides it unless [`ignore_env`](Self::ignore_env) is set.
    pub fn backend(mut self, choice: BackendChoice) -> Self {
        self.backend = choice;
        self
    }

    /// Do not let `FILELOOP_BACKEND` override the choice (for tests and benchmarks that
    /// compare backends).
    pub fn ignore_env(mut self) -> Self {
        self.honour_env = false;
        self
    }

    /// Submission entries per io_uring ring (rounded up to a power of two; default 256).
    /// Each ring's completion queue has twice as many, and at most that many operations are
    /// in flight per ring: the rest wait in a queue. With IOCP (Windows) at most
    /// `2 × ring_entries × rings` overlapped operations are in flight.
    pub fn ring_entries(mut self, entries: u32) -> Self {
        self.ring_entries = entries;
        self
    }

    /// Number of io_uring rings that submitting threads spread over (default: CPUs, at most 4).
    pub fn rings(mut self, rings: usize) -> Self {
        self.rings = rings.max(1);
        self
    }

    /// Maximum pool threads (default 64). Threads start on demand and exit when idle.
    pub fn pool_threads(mut self, threads: usize) -> Self {
        self.pool_threads = threads.max(1);
        self
    }

    /// Host-driven mode: no engine completion thread. The host loop waits for
    /// `Engine::completion_fd` (Unix) to become readable, or for `Engine::completion_handle`
    /// (Windows), and calls [`Engine::dispatch`].
    pub fn host_driven(mut self, yes: bool) -> Self {
        self.host_driven = yes;
        self
    }

    /// Batched submission (io_uring only; default off): an operation is queued instead of
    /// entering the kernel at once, and the next [`Engine::dispatch`] hands everything queued
    /// meanwhile to the kernel in one system call. A future that would have completed during
    /// its own submission (a page-cache hit) now completes at that dispatch, so its first poll
    /// returns `Pending`.
    ///
    /// Worth it where many operations are started between two turns of one loop — a
    /// single-threaded runtime with dozens of tasks, a GUI loop issuing a burst — since
    /// entering the kernel once for 64 operations costs little more than once for one. Every
    /// operation then waits for the dispatcher: the runtime drivers in [`crate::rt`] dispatch
    /// as soon as their task runs (queuing wakes it, without a system call), a host loop sees
    /// [`Engine::completion_fd`] become readable, and the engine's own completion thread is
    /// woken (one thread switch per batch). The pool backend ignores the setting.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// // Here the engine's completion thread dispatches each batch.
    /// let engine = fileloop::Engine::builder().batch_submissions(true).build()?;
    /// let file = engine.open("Cargo.toml").await?;
    /// let (n, _buf) = file.read_at(vec![0u8; 64], 0).await;
    /// assert!(n? > 0);
    /// # Ok::<(), std::io::Error>(()) }).unwrap();
    /// ```
    pub fn batch_submissions(mut self, yes: bool) -> Self {
        self.batch = yes;
        self
    }

    /// Windows, IOCP: whether files get FILE_SKIP_COMPLETION_PORT_ON_SUCCESS (default true).
    /// With it, a read or write that completes at once (a cached read, say) is delivered by the
    /// submitting thread and its future is ready on its first poll; without it, every
    /// completion goes through the completion port. Either way each operation completes once.
    ///
    /// ```
    /// let engine = fileloop::Engine::builder().iocp_skip_on_success(false).build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[cfg(windows)]
    pub fn iocp_skip_on_success(mut self, yes: bool) -> Self {
        self.skip_on_success = yes;
        self
    }

    /// Bounds the operations in flight per device of `class` (`None`: unbounded). Excess
    /// operations wait, interactive ones ahead of bulk ones ([`Op::priority`](crate::Op::priority)).
    /// Defaults: network filesystems 64 per mount, rotational disks 8, others unbounded.
    ///
    /// ```
    /// use fileloop::{DeviceClass, Engine};
    /// let engine = Engine::builder()
    ///     .device_limit(DeviceClass::Network, Some(8))
    ///     .device_limit(DeviceClass::Local { rotational: None }, Some(256))
    ///     .build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn device_limit(mut self, class: DeviceClass, limit: Option<usize>) -> Self {
        *self.limits.slot(class) = limit;
        self
    }

    /// Creates the engine. Fails only when the requested backend is impossible (io_uring
    /// asked for explicitly and refused, or a native backend asked for where there is none)
    /// or the system is out of resources.
    pub fn build(self) -> io::Result<Engine> {
        let choice = match std::env::var("FILELOOP_BACKEND") {
            Ok(v) if self.honour_env => BackendChoice::parse(&v)?,
            _ => self.backend,
        };
        let shared = Shared::new()?;
        let pool = Pool::new(self.pool_threads, shared.clone());
        let pool_desc = |why: &str| Backend {
            kind: BackendKind::Pool,
            description: format!("pool ({why}; up to {} threads)", self.pool_threads),
        };
        #[cfg(all(target_os = "linux", not(target_os = "android")))]
        {
            use crate::driver::uring::Uring;
            let (uring, backend) = match choice {
                BackendChoice::Pool => (None, pool_desc("requested")),
                _ => match Uring::new(
                    self.ring_entries,
                    self.rings,
                    shared.notify.fd(),
                    !self.host_driven,
                ) {
                    Ok(u) => {
                        let b = Backend {
                            kind: BackendKind::Uring,
                            description: u.description.clone(),
                        };
                        (Some(u), b)
                    }
                    Err(e) if choice == BackendChoice::Uring => {
                        return Err(io::Error::new(
                            io::ErrorKind::Unsupported,
                            format!("io_uring requested but unavailable: {e}"),
                        ))
                    }
                    Err(e) => (None, pool_desc(&e.to_string())),
                },
            };
            let core =
                Core::new(shared, uring, pool, Gates::new(self.limits)).with_batching(self.batch);
            Ok(Engine::start(core, backend, self.host_driven))
        }
        #[cfg(windows)]
        {
            use crate::driver::iocp::Iocp;
            let (iocp, backend) = match choice {
                BackendChoice::Pool => (None, pool_desc("requested")),
                _ => {
                    let limit = 2 * self.ring_entries.max(1) as usize * self.rings;
                    let iocp = Iocp::new(self.skip_on_success, limit);
                    let backend = Backend {
                        kind: BackendKind::Iocp,
                        description: iocp.description.clone(),
                    };
                    (Some(iocp), backend)
                }
            };
            let core = Core::new(shared, iocp, pool, Gates::new(self.limits));
            Ok(Engine::start(core, backend, self.host_driven))
        }
        #[cfg(not(any(windows, all(target_os = "linux", not(target_os = "android")))))]
        {
            if choice == BackendChoice::Uring {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "no native completion backend on this platform",
                ));
            }
            let why = if choice == BackendChoice::Pool {
                "requested"
            } else {
                "no native completion backend on this platform"
            };
            let core = Core::new(shared, pool, Gates::new(self.limits));
            Ok(Engine::start(core, pool_desc(why), self.host_driven))
        }
    }
}
