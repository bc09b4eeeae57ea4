//! [`Engine`]: the handle to a set of backends, with the way completions come back.

mod backend;
mod builder;
mod dirs;

pub use backend::{Backend, BackendKind, Stats};
pub use builder::{BackendChoice, Builder};

use crate::driver::core::Core;
use crate::driver::future::Op;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// A completion engine: io_uring, IOCP or a thread pool behind one interface.
///
/// Cheap to clone (`Clone + Send + Sync`); all clones share the backends. Free functions such as
/// [`crate::read`] and [`File::open`](crate::File::open) use a process-wide default engine
/// ([`Engine::global`]); build your own to choose the backend, sizes or host-driven mode.
///
/// By default an engine thread waits for completions that do not arrive during submission and
/// wakes the waiting futures (or runs callbacks). In host-driven mode
/// ([`Builder::host_driven`]) there is no such thread: the host loop polls
/// [`completion_fd`](Engine::completion_fd) and calls [`dispatch`](Engine::dispatch).
///
/// Dropping the last clone stops the completion thread once every submitted operation has
/// completed; operations that never complete (a hung network mount) keep that thread, and
/// their resources, until the kernel lets go. Dropping never blocks the caller.
///
/// ```
/// # futures::executor::block_on(async {
/// let engine = fileloop::Engine::builder().build()?;
/// let file = engine.open("Cargo.toml").await?;
/// let (n, buf) = file.read_at(vec![0u8; 64], 0).await;
/// assert!(n? > 0);
/// # drop(buf); Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    core: Arc<Core>,
    backend: Backend,
    host_driven: bool,
    stop: Arc<AtomicBool>,
    dirs: dirs::DirPolicies,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        self.core.shared.notify.signal();
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("backend", &self.inner.backend.description)
            .field("host_driven", &self.inner.host_driven)
            .finish()
    }
}

impl Engine {
    /// A builder with the defaults.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The process-wide default engine, created on first use (honouring `FILELOOP_BACKEND`).
    pub fn global() -> io::Result<Engine> {
        static GLOBAL: OnceLock<Result<Engine, (io::ErrorKind, String)>> = OnceLock::new();
        GLOBAL
            .get_or_init(|| {
                Engine::builder()
                    .build()
                    .map_err(|e| (e.kind(), e.to_string()))
            })
            .clone()
            .map_err(|(kind, msg)| io::Error::new(kind, msg))
    }

    pub(crate) fn start(core: Core, backend: Backend, host_driven: bool) -> Engine {
        let core = Arc::new(core);
        let stop = Arc::new(AtomicBool::new(false));
        if !host_driven {
            let (core, stop) = (core.clone(), stop.clone());
            let spawned = std::thread::Builder::new()
                .name("fileloop-completion".into())
                .spawn(move || completion_loop(&core, &stop));
            if let Err(e) = spawned {
                // Without the thread, completions that do not arrive during submission would
                // never be delivered: better to say so loudly than to hang later.
                eprintln!("fileloop: cannot start the completion thread: {e}");
            }
        }
        Engine {
            inner: Arc::new(Inner {
                core,
                backend,
                host_driven,
                stop,
                dirs: dirs::DirPolicies::default(),
            }),
        }
    }

    pub(crate) fn core(&self) -> &Arc<Core> {
        &self.inner.core
    }

    /// What this engine learned about directories' devices (see `Engine::read`).
    pub(crate) fn dirs(&self) -> &dirs::DirPolicies {
        &self.inner.dirs
    }

    pub(crate) fn op<O: crate::driver::Operation>(&self, op: O) -> Op<O::Output> {
        Op::new(self.inner.core.clone(), op)
    }

    /// Which backend serves this engine, and why.
    pub fn backend(&self) -> &Backend {
        &self.inner.backend
    }

    /// Whether the host loop drives completions ([`Builder::host_driven`]).
    pub fn is_host_driven(&self) -> bool {
        self.inner.host_driven
    }

    /// Counters since the engine started.
    pub fn stats(&self) -> Stats {
        use std::sync::atomic::Ordering::Relaxed;
        let s = &self.inner.core.shared;
        Stats {
            native_ops: s.counters.native.load(Relaxed),
            pool_ops: s.counters.pool.load(Relaxed),
            fallbacks: s.counters.fallbacks.load(Relaxed),
            completed: s.counters.completed.load(Relaxed),
            in_flight: s.outstanding() as u64,
            parked: s.parked() as u64,
        }
    }

    /// Reaps every completion that has arrived, wakes its future or runs its callback, and
    /// returns how many it handled. Never blocks. In host-driven mode call it whenever
    /// `completion_fd` (Unix) is readable or `completion_handle` (Windows) signalled (readiness is only a hint: one call
    /// drains everything, and a spurious call is harmless). In the default mode the engine's
    /// own thread calls it; calling it too is allowed.
    pub fn dispatch(&self) -> usize {
        self.inner.core.dispatch()
    }

    /// The descriptor that becomes readable when completions may be waiting (an eventfd on
    /// Linux, a pipe on other Unix systems). Register it with the host loop (poll, epoll, mio,
    /// GLib, a Qt socket notifier) and call [`dispatch`](Engine::dispatch) when it fires.
    #[cfg(unix)]
    pub fn completion_fd(&self) -> std::os::fd::RawFd {
        self.inner.core.shared.notify.fd()
    }

    /// The engine's I/O completion port (Windows). In host-driven mode the host loop waits for
    /// it and calls [`dispatch`](Engine::dispatch), which takes every packet queued there
    /// without waiting. The port is signalled while packets are queued (Windows and Wine
    /// implement it so; Microsoft does not document waiting on a port), so a loop can include
    /// it in `WaitForMultipleObjects`/`MsgWaitForMultipleObjects`; one that cannot rely on that
    /// calls `dispatch` on a short timer. Never dequeue from the port yourself: its packets
    /// belong to the engine.
    #[cfg(windows)]
    pub fn completion_handle(&self) -> std::os::windows::io::RawHandle {
        self.inner.core.shared.notify.port().raw()
    }
}

/// What a runtime driver holds: the core (kept alive while operations complete) and the stop
/// flag of the engine it drives.
#[cfg(all(unix, any(feature = "tokio", feature = "async-io")))]
pub(crate) struct Driver {
    core: Arc<Core>,
    stop: Arc<AtomicBool>,
}

#[cfg(all(unix, any(feature = "tokio", feature = "async-io")))]
impl Driver {
    pub(crate) fn dispatch(&self) -> usize {
        self.core.dispatch()
    }
    /// Whether the engine was dropped.
    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }
    pub(crate) fn fd(&self) -> std::os::fd::RawFd {
        self.core.shared.notify.fd()
    }
    /// Whether no operation is outstanding.
    pub(crate) fn idle(&self) -> bool {
        self.core.shared.outstanding() == 0
    }
    /// Registers the driver task's waker, woken (instead of the descriptor signalled) when
    /// batched submissions wait for a dispatch; then tells whether some already wait.
    pub(crate) fn watch_batches(&self, waker: &std::task::Waker) -> bool {
        self.core.shared.set_dispatch_waker(Some(waker));
        self.core.shared.dispatch_wanted()
    }
}

#[cfg(all(unix, any(feature = "tokio", feature = "async-io")))]
impl Drop for Driver {
    /// A driver that is gone (its runtime shut down) must not be the one woken: later
    /// batches signal the descriptor again, for whoever drives next.
    fn drop(&mut self) {
        self.core.shared.set_dispatch_waker(None);
    }
}

#[cfg(all(unix, any(feature = "tokio", feature = "async-io")))]
impl Engine {
    pub(crate) fn driver(&self) -> Driver {
        Driver {
            core: self.inner.core.clone(),
            stop: self.inner.stop.clone(),
        }
    }
}

fn completion_loop(core: &Core, stop: &AtomicBool) {
    loop {
        // While operations are outstanding, look again now and then: a completion can race
        // with the submitter's silenced-eventfd window (see uring::shard), and after the
        // engine is dropped the last completions may come from the pool, which wakes futures
        // without signalling.
        let stopping = stop.load(Ordering::Acquire);
        let busy = core.shared.outstanding() > 0;
        core.shared.notify.wait(match (busy, stopping) {
            (true, _) => 10,
            (false, true) => 50,
            (false, false) => -1,
        });
        core.dispatch();
        if stopping && core.shared.outstanding() == 0 {
            return;
        }
    }
}

impl Engine {
    /// Classifies the device of an open descriptor (cached per device; the first file of a
    /// device costs one statfs on the pool) and finds its gate.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(crate) async fn device_policy(
        &self,
        handle: &crate::op::FileHandle,
    ) -> (crate::DeviceClass, Option<Arc<crate::driver::gate::Gate>>) {
        use crate::device;
        let fd = handle.raw();
        let Some(dev) = device::device_of(fd) else {
            return (crate::DeviceClass::Unknown, None);
        };
        let class = match device::cached(dev) {
            Some(c) => c,
            None => {
                let job = crate::op::Blocking::new(move || Ok(device::classify_fd(fd, dev)));
                let class = self.op(job).await.unwrap_or(crate::DeviceClass::Unknown);
                device::remember(dev, class);
                class
            }
        };
        (class, self.inner.core.gate_for(dev, class))
    }

    /// As [`device_policy`](Engine::device_policy) without waiting: a device not seen before
    /// is classified in the background (on a duplicate of the descriptor) and this file counts
    /// as `Unknown`.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(crate) fn device_policy_now(
        &self,
        handle: &crate::op::FileHandle,
    ) -> (crate::DeviceClass, Option<Arc<crate::driver::gate::Gate>>) {
        use crate::device;
        let Some(dev) = device::device_of(handle.raw()) else {
            return (crate::DeviceClass::Unknown, None);
        };
        let class = device::cached(dev).unwrap_or_else(|| {
            // SAFETY: duplicating a descriptor the handle keeps open; the job owns the copy.
            let dup = unsafe { libc::fcntl(handle.raw(), libc::F_DUPFD_CLOEXEC, 0) };
            if dup >= 0 {
                let job = crate::op::Blocking::new(move || {
                    device::remember(dev, device::classify_fd(dup, dev));
                    let _ = crate::sys::os::close(dup);
                    Ok(())
                });
                self.op(job).detach();
            }
            crate::DeviceClass::Unknown
        });
        (class, self.inner.core.gate_for(dev, class))
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub(crate) fn device_policy_now(
        &self,
        handle: &crate::op::FileHandle,
    ) -> (crate::DeviceClass, Option<Arc<crate::driver::gate::Gate>>) {
        let _ = handle;
        (crate::DeviceClass::Unknown, None)
    }

    /// Device classes are not determined on this system: every file is `Unknown`, bounded by
    /// the `Unknown` class's limit per device.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub(crate) async fn device_policy(
        &self,
        handle: &crate::op::FileHandle,
    ) -> (crate::DeviceClass, Option<Arc<crate::driver::gate::Gate>>) {
        #[cfg(unix)]
        let dev = crate::sys::os::fstat(handle.raw()).map_or(0, |m| {
            use std::os::unix::fs::MetadataExt;
            m.dev()
        });
        #[cfg(not(unix))]
        let dev = {
            let _ = handle;
            0
        };
        let class = crate::DeviceClass::Unknown;
        (class, self.inner.core.gate_for(dev, class))
    }
}
