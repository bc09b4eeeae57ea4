//! [`Overlapped`]: the OVERLAPPED of one operation. It lives inside the operation's cell (at a
//! stable address behind the cell's `Arc`), and while the kernel holds it the cell holds a
//! reference to itself here, so nothing the kernel may touch (the OVERLAPPED, the buffer) can
//! be freed before the completion is taken, whatever happens to the future.
//!
//! The address the kernel hands back with a completion packet is the address of this struct
//! (the OVERLAPPED is its first field): that is how a packet finds its cell.

use crate::driver::cell::Inflight;
use std::cell::UnsafeCell;
use std::sync::{Arc, Mutex, MutexGuard};
use windows_sys::Win32::System::IO::{OVERLAPPED, OVERLAPPED_0, OVERLAPPED_0_0};

#[repr(C)]
pub(crate) struct Overlapped {
    /// Written by the kernel while the operation is pending; first, see the module docs.
    raw: UnsafeCell<OVERLAPPED>,
    /// The cell this belongs to, from `arm` until the completion is taken.
    owner: Mutex<Option<Arc<dyn Inflight>>>,
}

// SAFETY: the OVERLAPPED is written only by `arm` (before the operation starts, by the one
// thread starting it) and by the kernel while the operation is pending; it is read only after
// the operation completed (its packet was dequeued or the call returned at once). The owner is
// behind a mutex.
unsafe impl Send for Overlapped {}
// SAFETY: as above.
unsafe impl Sync for Overlapped {}

fn zeroed(offset: u64) -> OVERLAPPED {
    OVERLAPPED {
        Internal: 0,
        InternalHigh: 0,
        Anonymous: OVERLAPPED_0 {
            Anonymous: OVERLAPPED_0_0 {
                Offset: offset as u32,
                OffsetHigh: (offset >> 32) as u32,
            },
        },
        // No event: the completion goes to the port (and FILE_SKIP_SET_EVENT_ON_HANDLE spares
        // the file object's event where it is set).
        hEvent: std::ptr::null_mut(),
    }
}

impl Overlapped {
    pub(crate) fn new() -> Overlapped {
        Overlapped {
            raw: UnsafeCell::new(zeroed(0)),
            owner: Mutex::new(None),
        }
    }

    fn owner(&self) -> MutexGuard<'_, Option<Arc<dyn Inflight>>> {
        self.owner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The address CancelIoEx and GetOverlappedResult take.
    pub(crate) fn as_ptr(&self) -> *mut OVERLAPPED {
        self.raw.get()
    }

    /// Prepares an operation at `offset` whose cell is `owner`, which stays alive until
    /// [`complete`](Self::complete) or [`disarm`](Self::disarm). Returns the pointer to start
    /// the operation with.
    pub(crate) fn arm(&self, offset: u64, owner: Arc<dyn Inflight>) -> *mut OVERLAPPED {
        // SAFETY: no operation uses this OVERLAPPED yet (a cell starts one operation, once).
        unsafe { self.raw.get().write(zeroed(offset)) };
        *self.owner() = Some(owner);
        self.raw.get()
    }

    /// No packet will come (the call failed at once, or succeeded at once on a handle that
    /// skips the port on success): lets go of the cell's reference to itself.
    pub(crate) fn disarm(&self) {
        let owner = self.owner().take();
        drop(owner);
    }

    /// Takes the cell and the NTSTATUS of a completion packet for `raw`. `None` if nothing was
    /// armed there (a packet the engine did not ask for).
    ///
    /// # Safety
    /// `raw` must be the address of the OVERLAPPED of a live `Overlapped` whose operation has
    /// completed: one that [`arm`](Self::arm) returned and whose packet was just dequeued.
    pub(crate) unsafe fn complete(raw: *mut OVERLAPPED) -> Option<(Arc<dyn Inflight>, i32)> {
        // SAFETY: per the contract, `raw` is the first field of a live, repr(C) Overlapped,
        // kept alive by the owner reference it holds; the kernel is done with it.
        let this = unsafe { &*(raw as *const Overlapped) };
        // SAFETY: as above: the operation completed, nobody writes the OVERLAPPED any more.
        let status = unsafe { (*this.raw.get()).Internal } as i32;
        let owner = this.owner().take()?;
        Some((owner, status))
    }
}
