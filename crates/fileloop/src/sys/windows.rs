//! Blocking calls the pool runs on Windows: transfers with ReadFile/WriteFile (any handle,
//! overlapped or not), the rest through std's file API on borrowed handles.

use crate::driver::RawResult;
use std::fs::File;
use std::io;
use std::mem::ManuallyDrop;
use std::os::windows::fs::OpenOptionsExt;
use std::os::windows::io::{FromRawHandle, IntoRawHandle, RawHandle};
use std::path::Path;
use std::ptr;
use windows_sys::Win32::Foundation::{
    CloseHandle, GetLastError, BOOL, ERROR_HANDLE_EOF, ERROR_IO_PENDING, HANDLE,
};
use windows_sys::Win32::Storage::FileSystem::{
    FileStorageInfo, GetFileInformationByHandleEx, ReadFile, WriteFile, FILE_FLAG_OVERLAPPED,
    FILE_STORAGE_INFO,
};
use windows_sys::Win32::System::Threading::{CreateEventW, WaitForSingleObject, INFINITE};
use windows_sys::Win32::System::IO::{
    GetOverlappedResult, OVERLAPPED, OVERLAPPED_0, OVERLAPPED_0_0,
};

/// A file handle as operations carry it: a raw `HANDLE` that may cross threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Handle(pub(crate) RawHandle);

// SAFETY: a handle is a process-wide token, valid on any thread; whoever owns it keeps it open.
unsafe impl Send for Handle {}
// SAFETY: as above; a `Handle` is only copied and read.
unsafe impl Sync for Handle {}

/// Windows transfers take a u32 length; one transfer stops at the last multiple of 4 KiB below
/// 4 GiB, so that it stays aligned for FILE_FLAG_NO_BUFFERING (the caller loops).
pub(crate) const MAX_RW: usize = 0xFFFF_F000;

/// The FILE_FLAG_* bits of CreateFileW: they lie above the C runtime's O_* bits, so open flags
/// can carry them (`OpenOptions::custom_flags`).
const FILE_FLAGS: u32 = 0xFFF0_0000;

/// FILE_FLAG_OVERLAPPED as an open flag.
pub(crate) const FILE_FLAG_OVERLAPPED_BITS: i32 = FILE_FLAG_OVERLAPPED as i32;

/// One buffer of a vectored transfer.
pub(crate) struct IoVec {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: points into a buffer owned by the same operation, which moves between threads whole.
unsafe impl Send for IoVec {}

impl IoVec {
    pub(crate) fn new(ptr: *mut u8, len: usize) -> IoVec {
        IoVec { ptr, len }
    }
}

/// Borrows `raw` as a `File` without taking ownership.
fn borrow(raw: Handle) -> ManuallyDrop<File> {
    // SAFETY: the caller keeps the handle open for the duration; ManuallyDrop never closes it.
    ManuallyDrop::new(unsafe { File::from_raw_handle(raw.0) })
}

/// This thread's event for blocking overlapped calls (made once per pool thread).
struct Event(HANDLE);

impl Drop for Event {
    fn drop(&mut self) {
        // SAFETY: the event is this thread's own and closed once.
        unsafe { CloseHandle(self.0) };
    }
}

fn with_event<T>(f: impl FnOnce(HANDLE) -> io::Result<T>) -> io::Result<T> {
    thread_local! {
        // SAFETY: a manual-reset event, initially not signalled, without a name.
        static EVENT: Event = Event(unsafe { CreateEventW(ptr::null(), 1, 0, ptr::null()) });
    }
    let event = EVENT.with(|e| e.0);
    if event.is_null() {
        return Err(io::Error::last_os_error());
    }
    f(event)
}

/// One ReadFile or WriteFile at `pos`, blocking the calling (pool) thread until it is done.
///
/// std's `seek_read`/`seek_write` cannot be used: on a handle opened with FILE_FLAG_OVERLAPPED
/// (every file of an engine with IOCP) they may return before the transfer is done. So every
/// call passes an OVERLAPPED with the offset and an event of this thread, waits for the event
/// if the call is pending, and reads the result with GetOverlappedResult. The event handle's
/// low-order bit is set: on a handle associated with a completion port, that keeps the
/// completion from queueing a packet there (GetQueuedCompletionStatus documentation). On a
/// handle opened for synchronous I/O the call simply completes before returning.
fn transfer(raw: Handle, pos: u64, start: impl FnOnce(*mut OVERLAPPED) -> BOOL) -> RawResult {
    with_event(|event| {
        let mut ov = OVERLAPPED {
            Internal: 0,
            InternalHigh: 0,
            Anonymous: OVERLAPPED_0 {
                Anonymous: OVERLAPPED_0_0 {
                    Offset: pos as u32,
                    OffsetHigh: (pos >> 32) as u32,
                },
            },
            hEvent: (event as usize | 1) as HANDLE,
        };
        if start(&mut ov) == 0 {
            // SAFETY: reads this thread's last error.
            match unsafe { GetLastError() } {
                ERROR_IO_PENDING => {
                    // SAFETY: waits on this thread's live event, which the call resets when it
                    // starts and the kernel signals when the transfer is done.
                    unsafe { WaitForSingleObject(event, INFINITE) };
                }
                ERROR_HANDLE_EOF => return Ok(0),
                err => return Err(io::Error::from_raw_os_error(err as i32)),
            }
        }
        let mut n = 0u32;
        // SAFETY: the transfer is complete; this reads the OVERLAPPED, which is still live.
        if unsafe { GetOverlappedResult(raw.0, &ov, &mut n, 0) } == 0 {
            // SAFETY: reads this thread's last error.
            return match unsafe { GetLastError() } {
                ERROR_HANDLE_EOF => Ok(0),
                err => Err(io::Error::from_raw_os_error(err as i32)),
            };
        }
        Ok(u64::from(n))
    })
}

pub(crate) fn pread(raw: Handle, ptr: *mut u8, len: usize, pos: u64) -> RawResult {
    let len = len.min(MAX_RW) as u32;
    // SAFETY: the caller gives a buffer valid for `len` bytes of writes that outlives the
    // call, which returns only once the transfer is done; no byte count pointer (see transfer).
    transfer(raw, pos, |ov| unsafe {
        ReadFile(raw.0, ptr, len, ptr::null_mut(), ov)
    })
}

pub(crate) fn pwrite(raw: Handle, ptr: *const u8, len: usize, pos: u64) -> RawResult {
    let len = len.min(MAX_RW) as u32;
    // SAFETY: as for pread, with a buffer valid for `len` bytes of reads.
    transfer(raw, pos, |ov| unsafe {
        WriteFile(raw.0, ptr, len, ptr::null_mut(), ov)
    })
}

/// Vectored reads as a sequence, stopping at a short transfer.
pub(crate) fn preadv(raw: Handle, iov: &[IoVec], pos: u64) -> RawResult {
    let mut total = 0u64;
    for v in iov {
        let n = pread(raw, v.ptr, v.len, pos + total)?;
        total += n;
        if (n as usize) < v.len {
            break;
        }
    }
    Ok(total)
}

/// Vectored writes as a sequence, stopping at a short transfer.
pub(crate) fn pwritev(raw: Handle, iov: &[IoVec], pos: u64) -> RawResult {
    let mut total = 0u64;
    for v in iov {
        let n = pwrite(raw, v.ptr, v.len, pos + total)?;
        total += n;
        if (n as usize) < v.len {
            break;
        }
    }
    Ok(total)
}

/// FlushFileBuffers (data and metadata alike).
pub(crate) fn fsync(raw: Handle, _data_only: bool) -> RawResult {
    borrow(raw).sync_all().map(|_| 0)
}

pub(crate) fn ftruncate(raw: Handle, len: u64) -> RawResult {
    borrow(raw).set_len(len).map(|_| 0)
}

pub(crate) fn close(raw: Handle) -> RawResult {
    // SAFETY: the caller owns the handle and gives it up.
    drop(unsafe { File::from_raw_handle(raw.0) });
    Ok(0)
}

/// The direct-I/O alignment `(memory, offset)` that FILE_FLAG_NO_BUFFERING needs on the volume
/// of `raw`: its sector size, from FILE_STORAGE_INFO (the larger of the logical sector and the
/// physical sector for performance). `None` when the query fails (before Windows 8; Wine).
pub(crate) fn dio_alignment(raw: Handle) -> Option<(u32, u32)> {
    // SAFETY: plain data; all-zero is valid.
    let mut info: FILE_STORAGE_INFO = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is a live FILE_STORAGE_INFO of the size given; the handle is open.
    let ok = unsafe {
        GetFileInformationByHandleEx(
            raw.0,
            FileStorageInfo,
            (&mut info as *mut FILE_STORAGE_INFO).cast(),
            std::mem::size_of::<FILE_STORAGE_INFO>() as u32,
        )
    };
    let sector = info
        .LogicalBytesPerSector
        .max(info.PhysicalBytesPerSectorForPerformance);
    (ok != 0 && sector != 0).then_some((sector, sector))
}

pub(crate) fn fstat(raw: Handle) -> io::Result<std::fs::Metadata> {
    borrow(raw).metadata()
}

/// Opens with Unix-style flags (the subset OpenOptions produces); returns the handle.
pub(crate) fn open(path: &Path, flags: i32, _mode: u32) -> RawResult {
    let access = flags & 3;
    let mut o = std::fs::OpenOptions::new();
    o.read(access == libc::O_RDONLY || access == libc::O_RDWR)
        .write(access == libc::O_WRONLY || access == libc::O_RDWR);
    if flags & libc::O_CREAT != 0 && flags & libc::O_EXCL != 0 {
        o.create_new(true);
    } else {
        o.create(flags & libc::O_CREAT != 0)
            .truncate(flags & libc::O_TRUNC != 0);
    }
    // FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, as Unix programs expect.
    o.share_mode(7);
    o.custom_flags(flags as u32 & FILE_FLAGS);
    let file = o.open(path)?;
    Ok(file.into_raw_handle() as usize as u64)
}
