//! Blocking calls the pool runs on Windows, through std's file API on borrowed handles.

use crate::driver::RawResult;
use std::fs::File;
use std::io;
use std::mem::ManuallyDrop;
use std::os::windows::fs::{FileExt, OpenOptionsExt};
use std::os::windows::io::{FromRawHandle, IntoRawHandle, RawHandle};
use std::path::Path;

/// A file handle as operations carry it: a raw `HANDLE` that may cross threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Handle(pub(crate) RawHandle);

// SAFETY: a handle is a process-wide token, valid on any thread; whoever owns it keeps it open.
unsafe impl Send for Handle {}
// SAFETY: as above; a `Handle` is only copied and read.
unsafe impl Sync for Handle {}

/// Windows transfers take a u32 length.
pub(crate) const MAX_RW: usize = u32::MAX as usize;

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

pub(crate) fn pread(raw: Handle, ptr: *mut u8, len: usize, pos: u64) -> RawResult {
    // SAFETY: the caller gives a buffer valid for `len` bytes of writes; zeroing first makes
    // the slice initialised before it is exposed as &mut [u8].
    let buf = unsafe {
        std::ptr::write_bytes(ptr, 0, len);
        std::slice::from_raw_parts_mut(ptr, len)
    };
    match borrow(raw).seek_read(buf, pos) {
        Ok(n) => Ok(n as u64),
        Err(e) if e.raw_os_error() == Some(38) => Ok(0), // ERROR_HANDLE_EOF
        Err(e) => Err(e),
    }
}

pub(crate) fn pwrite(raw: Handle, ptr: *const u8, len: usize, pos: u64) -> RawResult {
    // SAFETY: the caller gives a buffer valid for `len` bytes of reads.
    let buf = unsafe { std::slice::from_raw_parts(ptr, len) };
    borrow(raw).seek_write(buf, pos).map(|n| n as u64)
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
    let file = o.open(path)?;
    Ok(file.into_raw_handle() as usize as u64)
}
