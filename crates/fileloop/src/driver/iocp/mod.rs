//! The Windows backend: overlapped ReadFile/WriteFile on files opened with
//! FILE_FLAG_OVERLAPPED and associated with the engine's completion port. Operations without an
//! overlapped form (open, metadata, flush, set_len, rename, listing, vectored transfers) run on
//! the pool, as on every system.
//!
//! Exactly one completion per operation (PLATFORM-NOTES edge case 11): an operation that is
//! pending completes through its packet; one that fails at once queues no packet and completes
//! on the submitting thread; one that succeeds at once completes on the submitting thread when
//! its handle has FILE_SKIP_COMPLETION_PORT_ON_SUCCESS, through its packet otherwise. Both
//! notification modes are supported ([`Builder::iocp_skip_on_success`](crate::Builder)).
//!
//! The OVERLAPPED lives in the operation's cell ([`overlapped`]); cancellation is CancelIoEx on
//! it, best effort; the cell stays alive until the packet arrives either way. In-flight
//! operations are bounded; the excess waits in a backlog.
//!
//! Under Wine (how `scripts/test-windows` runs the tests) file reads and writes always report
//! pending, so every file completion comes as a packet and end of file as STATUS_END_OF_FILE;
//! pipe reads with data waiting do complete at once, which is how the tests see the
//! skip-on-success path there (`tests/iocp.rs`).

pub(crate) mod overlapped;
pub(crate) mod port;
mod request;
mod status;

pub(crate) use port::{Packet, Port};
pub(crate) use request::{Attached, Request};

use super::cell::{CancelKey, Inflight};
use super::{OpKind, RawResult};
use request::Transfer;
use std::collections::VecDeque;
use std::ptr;
use std::sync::{Arc, Mutex, MutexGuard};
use windows_sys::Win32::Foundation::{GetLastError, ERROR_IO_PENDING};
use windows_sys::Win32::Storage::FileSystem::{
    ReadFile, SetFileCompletionNotificationModes, WriteFile,
};
use windows_sys::Win32::System::WindowsProgramming::{
    FILE_SKIP_COMPLETION_PORT_ON_SUCCESS, FILE_SKIP_SET_EVENT_ON_HANDLE,
};
use windows_sys::Win32::System::IO::{CancelIoEx, GetOverlappedResult, OVERLAPPED};

/// A result to hand to its cell once no lock is held.
pub(crate) type Done = (Arc<dyn Inflight>, RawResult);

/// In-flight operations and those waiting for room.
struct Queue {
    in_flight: usize,
    backlog: VecDeque<(Arc<dyn Inflight>, Request)>,
}

/// The IOCP backend.
pub(crate) struct Iocp {
    skip_on_success: bool,
    limit: usize,
    queue: Mutex<Queue>,
    /// "iocp (completion port, skip-on-success)"
    pub(crate) description: String,
}

/// How a start went.
enum Started {
    /// The packet will deliver the result.
    Pending,
    /// The result is in `out`: the operation's slot is free.
    Finished,
}

impl Iocp {
    /// At most `limit` operations in flight; `skip_on_success` sets
    /// FILE_SKIP_COMPLETION_PORT_ON_SUCCESS on the files it serves.
    pub(crate) fn new(skip_on_success: bool, limit: usize) -> Iocp {
        let mode = if skip_on_success {
            "skip-on-success"
        } else {
            "a packet for every completion"
        };
        Iocp {
            skip_on_success,
            limit: limit.max(1),
            queue: Mutex::new(Queue {
                in_flight: 0,
                backlog: VecDeque::new(),
            }),
            description: format!("iocp (completion port, {mode})"),
        }
    }

    /// Whether IOCP serves operations of `kind`.
    pub(crate) fn supports(&self, kind: OpKind) -> bool {
        matches!(kind, OpKind::Read | OpKind::Write)
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Associates a file opened with FILE_FLAG_OVERLAPPED with `port` and sets its
    /// notification mode. `None` if it cannot be associated (the pool then serves it).
    pub(crate) fn attach(&self, port: &Port, file: crate::sys::os::Handle) -> Option<Attached> {
        port.associate(file).ok()?;
        let skip_on_success = self.skip_on_success && {
            let flags =
                (FILE_SKIP_COMPLETION_PORT_ON_SUCCESS | FILE_SKIP_SET_EVENT_ON_HANDLE) as u8;
            // SAFETY: plain call on a handle the caller keeps open.
            unsafe { SetFileCompletionNotificationModes(file.0, flags) != 0 }
        };
        Some(Attached { skip_on_success })
    }

    /// Starts `cell` (or queues it behind the bound). Gives it back when it has no overlapped
    /// form; results known at once go to `out`.
    pub(crate) fn submit(
        &self,
        cell: Arc<dyn Inflight>,
        out: &mut Vec<Done>,
    ) -> Result<(), Arc<dyn Inflight>> {
        let Some(req) = cell.iocp_request() else {
            return Err(cell);
        };
        {
            let mut q = self.lock();
            if q.in_flight >= self.limit || !q.backlog.is_empty() {
                q.backlog.push_back((cell, req));
                return Ok(());
            }
            q.in_flight += 1;
        }
        self.run(cell, req, out);
        Ok(())
    }

    /// Starts an operation that holds a slot and, while operations finish at once, passes
    /// their slot on to the backlog.
    fn run(&self, cell: Arc<dyn Inflight>, req: Request, out: &mut Vec<Done>) {
        let mut next = Some((cell, req));
        while let Some((cell, req)) = next {
            if let Started::Pending = self.start(cell, req, out) {
                return;
            }
            next = self.pass_slot();
        }
    }

    /// A slot is free: the next waiting operation takes it, or it is released.
    fn pass_slot(&self) -> Option<(Arc<dyn Inflight>, Request)> {
        let mut q = self.lock();
        let next = q.backlog.pop_front();
        if next.is_none() {
            q.in_flight -= 1;
        }
        next
    }

    fn start(&self, cell: Arc<dyn Inflight>, req: Request, out: &mut Vec<Done>) -> Started {
        if cell.is_abandoned() || cell.cancel_requested() {
            // Dropped or cancelled while waiting for room: it never runs.
            out.push((cell, Err(crate::sys::cancelled())));
            return Started::Finished;
        }
        let h = req.handle.0;
        let ov = cell.overlapped().arm(req.offset, cell.clone());
        // SAFETY: the buffer and the OVERLAPPED live in the cell, which `arm` keeps alive until
        // the completion is taken; the handle stays open while the operation holds its file.
        // No byte count pointer: for overlapped calls it is unreliable (the result comes from
        // the OVERLAPPED).
        let ok = unsafe {
            match req.transfer {
                Transfer::Read(p, n) => ReadFile(h, p, n, ptr::null_mut(), ov),
                Transfer::Write(p, n) => WriteFile(h, p, n, ptr::null_mut(), ov),
            }
        };
        if ok != 0 {
            if !req.attached.skip_on_success {
                return Started::Pending; // a packet is queued all the same
            }
            cell.overlapped().disarm();
            let mut n = 0u32;
            // SAFETY: the operation is complete; this only reads the OVERLAPPED.
            let res = if unsafe { GetOverlappedResult(h, ov, &mut n, 0) } != 0 {
                Ok(u64::from(n))
            } else {
                // SAFETY: reads this thread's last error.
                status::from_error(unsafe { GetLastError() })
            };
            out.push((cell, res));
            return Started::Finished;
        }
        // SAFETY: reads this thread's last error.
        let err = unsafe { GetLastError() };
        if err == ERROR_IO_PENDING {
            if cell.cancel_requested() {
                // Cancelled while starting: the canceller may have found nothing to cancel.
                cancel_io(req.handle, ov);
            }
            return Started::Pending;
        }
        // Failed at once (ERROR_HANDLE_EOF among others): no packet is queued.
        cell.overlapped().disarm();
        out.push((cell, status::from_error(err)));
        Started::Finished
    }

    /// A packet arrived: its cell and result go to `out`, its slot to the next operation.
    pub(crate) fn complete(&self, packet: Packet, out: &mut Vec<Done>) {
        // SAFETY: file-key packets on the engine's port come only from operations started by
        // `start` (the pool's overlapped calls mark their event so that they queue none), and
        // the cell is alive until this takes its reference to itself.
        let Some((cell, status)) =
            (unsafe { overlapped::Overlapped::complete(packet.overlapped as *mut _) })
        else {
            return;
        };
        out.push((cell, status::from_status(status, packet.bytes)));
        if let Some((cell, req)) = self.pass_slot() {
            self.run(cell, req, out);
        }
    }

    /// Requests cancellation of the operation at `key` (best effort: disk I/O under way cannot
    /// be stopped; ERROR_NOT_FOUND means it already completed or has not started, and `start`
    /// checks for a cancellation request before and after starting).
    pub(crate) fn cancel(&self, key: CancelKey) {
        cancel_io(key.0, key.1 as *mut _);
    }
}

/// CancelIoEx, whose failure (ERROR_NOT_FOUND: completed or not yet started) needs nothing.
fn cancel_io(handle: crate::sys::os::Handle, ov: *mut OVERLAPPED) {
    // SAFETY: `ov` lies in a cell the caller holds, so it is valid memory even if the operation
    // already completed (CancelIoEx then finds nothing); a stale handle finds nothing either.
    unsafe { CancelIoEx(handle.0, ov) };
}
