//! The driver: how an operation travels from a future to a backend and back.
//!
//! An [`Operation`] (one per file in `op/`) owns everything the kernel touches and says how each
//! backend runs it. [`cell::OpCell`] is the shared state between the future and the backend;
//! it keeps the operation alive until the backend is done with it, whatever the future does.
//! [`Core`](core::Core) picks the backend for each submission: io_uring ([`uring`], Linux), IOCP
//! (`iocp`, Windows) or the pool ([`pool`]).

pub(crate) mod cell;
pub(crate) mod core;
pub(crate) mod future;
pub(crate) mod gate;
#[cfg(windows)]
pub(crate) mod iocp;
pub(crate) mod kind;
pub(crate) mod notify;
pub(crate) mod pool;
pub(crate) mod timeout;
pub(crate) mod timer;
#[cfg(all(target_os = "linux", not(target_os = "android")))]
pub(crate) mod uring;

use std::io;

pub(crate) use kind::OpKind;

/// What a backend reports: a non-negative count (bytes, a descriptor or handle, 0) or an error.
pub(crate) type RawResult = io::Result<u64>;

/// An operation, declared once and run by any backend.
pub(crate) trait Operation: Send + 'static {
    /// What the future resolves to.
    type Output: Send + 'static;
    /// The kind, for probing, fallback memory and statistics.
    const KIND: OpKind;

    /// The io_uring submission entry, or `None` to run on the pool. The entry may point into
    /// `self`, which stays alive and in place until the completion arrives.
    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn uring_entry(&mut self) -> Option<io_uring::squeue::Entry> {
        None
    }

    /// How many linked io_uring entries [`uring_chain`](Operation::uring_chain) builds; 0 for
    /// operations of one entry.
    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    const CHAIN: usize = 0;

    /// The operation as [`CHAIN`](Operation::CHAIN) linked entries that run in order and use
    /// fixed-file slot `slot` (free before, and free again once every entry has completed), or
    /// `None` to run on the pool. The entries may point into `self` as for `uring_entry`.
    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn uring_chain(&mut self, slot: u32) -> Option<Vec<io_uring::squeue::Entry>> {
        let _ = slot;
        None
    }

    /// The result of entry `index` of the chain, in whatever order they arrive; the operation
    /// completes (with `Ok(0)`) once every entry has reported.
    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn chain_result(&mut self, index: usize, res: i32) {
        let _ = (index, res);
    }

    /// The overlapped ReadFile/WriteFile, or `None` to run on the pool. The request may point
    /// into `self`, which stays alive and in place until the completion arrives.
    #[cfg(windows)]
    fn iocp_request(&mut self) -> Option<iocp::Request> {
        None
    }

    /// Runs the operation on the calling (pool) thread, blocking.
    fn run_blocking(&mut self) -> RawResult;

    /// Turns the backend's result into the output, handing resources back.
    fn complete(self, res: RawResult) -> Self::Output;

    /// Disposes of a result nobody will take (the future was dropped): an operation that
    /// created a resource (an open descriptor) releases it here.
    fn discard(self, res: RawResult)
    where
        Self: Sized,
    {
        let _ = res;
    }
}

/// `Err(last_os_error)` when `ret` is -1, else `Ok(ret)` as a count.
#[cfg(unix)]
pub(crate) fn cvt(ret: isize) -> RawResult {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret as u64)
    }
}
