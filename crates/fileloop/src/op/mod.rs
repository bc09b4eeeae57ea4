//! One file per operation: what it owns while the kernel works, how io_uring expresses it, how
//! the pool runs it, and what it hands back.

mod allocate;
mod blocking;
mod close;
mod metadata;
mod open;
mod path;
mod read;
mod read_whole;
mod set_len;
mod sync;
mod write;

pub(crate) use allocate::Allocate;
pub(crate) use blocking::Blocking;
pub(crate) use close::Close;
pub(crate) use metadata::{Stat, StatTarget};
pub(crate) use open::{Open, OpenHow};
pub(crate) use path::{CreateDir, HardLink, PathArg, Remove, Rename, Symlink};
pub(crate) use read::{ReadAt, ReadVectoredAt};
pub(crate) use read_whole::ReadWhole;
pub(crate) use set_len::SetLen;
pub(crate) use sync::{Sync, SyncRange};
pub(crate) use write::{WriteAt, WriteVectoredAt};

use crate::device::DeviceClass;
use crate::driver::core::{Core, Route};
use crate::driver::future::Op;
use crate::driver::gate::Gate;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A platform file descriptor or handle.
#[cfg(unix)]
pub(crate) type RawFile = std::os::fd::RawFd;
/// A platform file descriptor or handle.
#[cfg(windows)]
pub(crate) type RawFile = crate::sys::os::Handle;

/// The descriptor or handle a backend reported as a count (open's result).
pub(crate) fn raw_from_result(n: u64) -> RawFile {
    #[cfg(unix)]
    {
        n as RawFile
    }
    #[cfg(windows)]
    {
        crate::sys::os::Handle(n as usize as std::os::windows::io::RawHandle)
    }
}

/// An open file as operations see it: the descriptor, the path (for error messages), the engine
/// that closes it, and where its operations should run. Every in-flight operation holds an
/// `Arc` of it, so the descriptor stays open until the last one completes; the last drop closes
/// it through the engine, without blocking the dropping thread.
pub(crate) struct FileHandle {
    raw: RawFile,
    path: PathBuf,
    core: Arc<Core>,
    route: Route,
    /// The bound of the file's device, if it has one.
    gate: Option<Arc<Gate>>,
    class: DeviceClass,
    /// The descriptor was handed to an explicit close ([`into_close`](Self::into_close)).
    closed: bool,
    /// How the handle is tied to the engine's completion port, if it is (reads and writes
    /// then go through IOCP).
    #[cfg(windows)]
    iocp: Option<crate::driver::iocp::Attached>,
}

// SAFETY: a descriptor or handle is an integer-like token usable from any thread.
unsafe impl Send for FileHandle {}
// SAFETY: as above; all methods only read.
unsafe impl std::marker::Sync for FileHandle {}

impl FileHandle {
    /// Takes ownership of `raw`.
    pub(crate) fn new(raw: RawFile, path: PathBuf, core: Arc<Core>) -> FileHandle {
        FileHandle {
            raw,
            path,
            core,
            route: Route::Best,
            gate: None,
            class: DeviceClass::Unknown,
            closed: false,
            #[cfg(windows)]
            iocp: None,
        }
    }

    /// Records what device the file is on: network files run on the pool, never on the
    /// submitting thread, and every operation passes the device's gate.
    pub(crate) fn set_device(&mut self, class: DeviceClass, gate: Option<Arc<Gate>>) {
        self.class = class;
        self.gate = gate;
        if class.is_network() {
            self.route = Route::Pool;
        }
    }

    /// Records that the handle is associated with the engine's completion port.
    #[cfg(windows)]
    pub(crate) fn set_iocp(&mut self, attached: Option<crate::driver::iocp::Attached>) {
        self.iocp = attached;
    }

    /// How the handle is tied to the completion port, if it is.
    #[cfg(windows)]
    pub(crate) fn iocp(&self) -> Option<crate::driver::iocp::Attached> {
        self.iocp
    }

    pub(crate) fn class(&self) -> DeviceClass {
        self.class
    }

    /// Where the file's operations run.
    pub(crate) fn route(&self) -> Route {
        self.route
    }

    /// The bound of the file's device, if it has one.
    pub(crate) fn gate(&self) -> Option<&Arc<Gate>> {
        self.gate.as_ref()
    }

    /// A new operation on this file, routed and bounded for its device.
    pub(crate) fn op<O: crate::driver::Operation>(&self, op: O) -> Op<O::Output> {
        Op::new(self.core.clone(), op)
            .route(self.route)
            .gate(self.gate.as_ref())
    }
    pub(crate) fn raw(&self) -> RawFile {
        self.raw
    }
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
    /// The close operation for this file, consuming the handle.
    pub(crate) fn into_close(mut self) -> Op<std::io::Result<()>> {
        let close = Close::new(self.raw, self.path.clone());
        self.closed = true; // the returned operation closes it, not Drop
        self.op(close)
    }
}

impl Drop for FileHandle {
    fn drop(&mut self) {
        if !self.closed {
            let close = Close::new(self.raw, std::mem::take(&mut self.path));
            self.op(close).detach();
        }
    }
}
