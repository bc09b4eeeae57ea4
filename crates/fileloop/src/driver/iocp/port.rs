//! [`Port`]: an I/O completion port. Every Windows engine has one: it is where its completion
//! thread (or the host loop, through `dispatch`) waits, for wake-ups posted with a key of their
//! own and, with the IOCP backend, for the completions of overlapped file operations.

use crate::sys::os::Handle;
use std::io;
use std::ptr;
use windows_sys::Win32::Foundation::{
    CloseHandle, GetLastError, HANDLE, INVALID_HANDLE_VALUE, WAIT_TIMEOUT,
};
use windows_sys::Win32::System::IO::{
    CreateIoCompletionPort, GetQueuedCompletionStatusEx, PostQueuedCompletionStatus, OVERLAPPED,
    OVERLAPPED_ENTRY,
};

/// Completion key of the packets `wake` posts.
const WAKE_KEY: usize = 1;
/// Completion key of every file handle associated with the port.
const FILE_KEY: usize = 2;
/// Packets taken per call.
const BATCH: usize = 64;

/// A dequeued completion of an overlapped file operation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Packet {
    /// The OVERLAPPED the operation was started with (an address: packets cross threads).
    pub(crate) overlapped: usize,
    pub(crate) bytes: u32,
}

/// What one wait for packets found.
#[derive(Default)]
pub(crate) struct Dequeued {
    /// A wake-up packet was among them.
    pub(crate) woken: bool,
    /// Packets taken (wake-ups included); a full batch means more may be queued.
    pub(crate) count: usize,
}

/// An owned completion port.
pub(crate) struct Port {
    handle: HANDLE,
}

// SAFETY: a completion port handle is usable from any thread; the port is thread-safe.
unsafe impl Send for Port {}
// SAFETY: as above; `Port` has no state of its own.
unsafe impl Sync for Port {}

impl Port {
    pub(crate) fn new() -> io::Result<Port> {
        // SAFETY: creates a new port (no file handle); 0 threads means one per processor.
        let handle = unsafe { CreateIoCompletionPort(INVALID_HANDLE_VALUE, ptr::null_mut(), 0, 0) };
        if handle.is_null() {
            return Err(io::Error::last_os_error());
        }
        Ok(Port { handle })
    }

    pub(crate) fn raw(&self) -> HANDLE {
        self.handle
    }

    /// Associates an overlapped file handle: its operations' completions come here.
    pub(crate) fn associate(&self, file: Handle) -> io::Result<()> {
        // SAFETY: both handles are open; the file handle is the caller's, kept open by it.
        let r = unsafe { CreateIoCompletionPort(file.0, self.handle, FILE_KEY, 0) };
        if r.is_null() {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Posts a wake-up packet. False if the port could not take it.
    pub(crate) fn wake(&self) -> bool {
        // SAFETY: a packet without an OVERLAPPED; the port is open.
        unsafe { PostQueuedCompletionStatus(self.handle, 0, WAKE_KEY, ptr::null()) != 0 }
    }

    /// Waits up to `timeout_ms` (u32::MAX: INFINITE) for packets and takes up to a batch:
    /// file completions go to `out`.
    pub(crate) fn dequeue(&self, timeout_ms: u32, out: &mut Vec<Packet>) -> Dequeued {
        let empty = OVERLAPPED_ENTRY {
            lpCompletionKey: 0,
            lpOverlapped: ptr::null_mut::<OVERLAPPED>(),
            Internal: 0,
            dwNumberOfBytesTransferred: 0,
        };
        let mut entries = [empty; BATCH];
        let mut count = 0u32;
        // SAFETY: `entries` has room for BATCH entries; not alertable.
        let ok = unsafe {
            GetQueuedCompletionStatusEx(
                self.handle,
                entries.as_mut_ptr(),
                BATCH as u32,
                &mut count,
                timeout_ms,
                0,
            )
        };
        if ok == 0 {
            // SAFETY: reads this thread's last error.
            let err = unsafe { GetLastError() };
            if err != WAIT_TIMEOUT && cfg!(debug_assertions) {
                eprintln!(
                    "fileloop: GetQueuedCompletionStatusEx failed: {}",
                    io::Error::from_raw_os_error(err as i32)
                );
            }
            return Dequeued::default();
        }
        let mut found = Dequeued {
            woken: false,
            count: count as usize,
        };
        for e in &entries[..count as usize] {
            match e.lpCompletionKey {
                WAKE_KEY => found.woken = true,
                FILE_KEY if !e.lpOverlapped.is_null() => out.push(Packet {
                    overlapped: e.lpOverlapped as usize,
                    bytes: e.dwNumberOfBytesTransferred,
                }),
                _ => {}
            }
        }
        found
    }

    /// Whether a dequeue filled its batch (more may be waiting).
    pub(crate) fn full(d: &Dequeued) -> bool {
        d.count == BATCH
    }
}

impl Drop for Port {
    fn drop(&mut self) {
        // SAFETY: the port is ours and closed once.
        unsafe { CloseHandle(self.handle) };
    }
}
