//! [`Request`]: what an operation asks of IOCP (a ReadFile or WriteFile at an offset), and
//! [`Attached`]: how a file handle is tied to the engine's completion port.

use crate::sys::os::Handle;

/// How a file handle was associated with the completion port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Attached {
    /// FILE_SKIP_COMPLETION_PORT_ON_SUCCESS is set on the handle: an operation that succeeds at
    /// once queues no packet, so its result is delivered by the submitting thread.
    pub(crate) skip_on_success: bool,
}

/// The transfer of one overlapped operation. The pointers point into the operation's buffer,
/// which stays in place in its cell until the operation's completion is taken.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Transfer {
    Read(*mut u8, u32),
    Write(*const u8, u32),
}

/// One overlapped ReadFile or WriteFile.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Request {
    pub(crate) handle: Handle,
    pub(crate) attached: Attached,
    pub(crate) offset: u64,
    pub(crate) transfer: Transfer,
}

// SAFETY: the pointers point into a buffer owned by the operation whose cell travels with the
// request (the backlog keeps both); the buffer is neither moved nor freed before the
// operation's completion, whichever thread starts it.
unsafe impl Send for Request {}

impl Request {
    /// A read of up to `len` bytes (capped to what one call can take) into `ptr`.
    pub(crate) fn read(
        handle: Handle,
        attached: Attached,
        ptr: *mut u8,
        len: usize,
        pos: u64,
    ) -> Self {
        Request {
            handle,
            attached,
            offset: pos,
            transfer: Transfer::Read(ptr, cap(len)),
        }
    }

    /// A write of up to `len` bytes (capped to what one call can take) from `ptr`.
    pub(crate) fn write(
        handle: Handle,
        attached: Attached,
        ptr: *const u8,
        len: usize,
        pos: u64,
    ) -> Self {
        Request {
            handle,
            attached,
            offset: pos,
            transfer: Transfer::Write(ptr, cap(len)),
        }
    }
}

/// ReadFile and WriteFile take a u32 length: longer transfers are short ones (the fs layer
/// loops), capped at a multiple of 4 KiB so that unbuffered I/O stays aligned.
fn cap(len: usize) -> u32 {
    len.min(crate::sys::os::MAX_RW) as u32
}
