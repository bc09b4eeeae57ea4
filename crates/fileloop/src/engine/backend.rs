//! [`Backend`]: which mechanism serves an engine and why; [`Stats`]: what it has done.

use std::fmt;

/// The mechanism behind an engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BackendKind {
    /// Linux io_uring (with the pool for what io_uring cannot do).
    Uring,
    /// Windows overlapped I/O on a completion port (with the pool for the rest).
    Iocp,
    /// Worker threads running blocking system calls.
    Pool,
}

/// Which backend serves an engine, and why.
///
/// ```
/// let engine = fileloop::Engine::builder().build().unwrap();
/// println!("{}", engine.backend()); // e.g. "io_uring (kernel 6.18, 59 ops probed, 2 rings of 256)"
/// ```
#[derive(Clone, Debug)]
pub struct Backend {
    pub(crate) kind: BackendKind,
    pub(crate) description: String,
}

impl Backend {
    /// The mechanism.
    pub fn kind(&self) -> BackendKind {
        self.kind
    }
    /// A sentence naming the mechanism and, for a fallback, the reason.
    pub fn description(&self) -> &str {
        &self.description
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
}

/// Counters of an engine since it started (see [`Engine::stats`](crate::Engine::stats)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Operations submitted to io_uring (or IOCP).
    pub native_ops: u64,
    /// Operations run on the pool (including fallbacks).
    pub pool_ops: u64,
    /// Operations io_uring refused (EOPNOTSUPP/EINVAL) that were retried on the pool.
    pub fallbacks: u64,
    /// Completions delivered.
    pub completed: u64,
    /// Operations submitted and not yet completed.
    pub in_flight: u64,
    /// Operations whose future was dropped (or timed out) while the kernel still holds their
    /// resources; they are freed when the kernel lets go.
    pub parked: u64,
}
