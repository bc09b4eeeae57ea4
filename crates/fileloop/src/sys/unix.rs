//! Blocking system calls the pool runs on Unix. Each returns a byte count (or 0).

use crate::driver::{cvt, RawResult};
use std::ffi::CStr;
use std::os::fd::RawFd;

/// Linux caps one transfer at this many bytes (MAX_RW_COUNT); other systems accept it too.
pub(crate) const MAX_RW: usize = 0x7fff_f000;

fn off(pos: u64) -> std::io::Result<libc::off_t> {
    libc::off_t::try_from(pos)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "offset too large"))
}

fn retry(mut f: impl FnMut() -> isize) -> RawResult {
    loop {
        match cvt(f()) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

pub(crate) fn pread(fd: RawFd, ptr: *mut u8, len: usize, pos: u64) -> RawResult {
    let pos = off(pos)?;
    // SAFETY: the caller gives a buffer valid for `len` bytes of writes that outlives the call.
    retry(|| unsafe { libc::pread(fd, ptr.cast(), len.min(MAX_RW), pos) })
}

pub(crate) fn pwrite(fd: RawFd, ptr: *const u8, len: usize, pos: u64) -> RawResult {
    let pos = off(pos)?;
    // SAFETY: the caller gives a buffer valid for `len` bytes of reads that outlives the call.
    retry(|| unsafe { libc::pwrite(fd, ptr.cast(), len.min(MAX_RW), pos) })
}

/// fsync, or fdatasync when `data_only`. On macOS a full sync uses F_FULLFSYNC, because fsync
/// there does not flush the drive's cache.
pub(crate) fn fsync(fd: RawFd, data_only: bool) -> RawResult {
    #[cfg(target_vendor = "apple")]
    {
        let _ = data_only;
        // SAFETY: plain fcntl on a descriptor the caller keeps open.
        retry(|| unsafe { libc::fcntl(fd, libc::F_FULLFSYNC) } as isize)
    }
    #[cfg(not(target_vendor = "apple"))]
    {
        // SAFETY: plain syscalls on a descriptor the caller keeps open.
        retry(|| unsafe {
            if data_only {
                libc::fdatasync(fd) as isize
            } else {
                libc::fsync(fd) as isize
            }
        })
    }
}

pub(crate) fn ftruncate(fd: RawFd, len: u64) -> RawResult {
    let len = off(len)?;
    // SAFETY: plain syscall on a descriptor the caller keeps open.
    retry(|| unsafe { libc::ftruncate(fd, len) } as isize)
}

pub(crate) fn close(fd: RawFd) -> RawResult {
    // SAFETY: the caller owns fd and gives it up; close is not retried on EINTR (Linux frees
    // the descriptor anyway).
    cvt(unsafe { libc::close(fd) } as isize)
}

pub(crate) fn openat(dir: RawFd, path: &CStr, flags: i32, mode: u32) -> RawResult {
    // SAFETY: path is NUL-terminated and outlives the call.
    retry(|| unsafe {
        libc::openat(
            dir,
            path.as_ptr(),
            flags | libc::O_CLOEXEC,
            mode as libc::c_uint,
        ) as isize
    })
}

pub(crate) fn renameat(od: RawFd, old: &CStr, nd: RawFd, new: &CStr) -> RawResult {
    // SAFETY: both paths are NUL-terminated and outlive the call.
    cvt(unsafe { libc::renameat(od, old.as_ptr(), nd, new.as_ptr()) } as isize)
}

pub(crate) fn unlinkat(dir: RawFd, path: &CStr, flags: i32) -> RawResult {
    // SAFETY: path is NUL-terminated and outlives the call.
    cvt(unsafe { libc::unlinkat(dir, path.as_ptr(), flags) } as isize)
}

pub(crate) fn mkdirat(dir: RawFd, path: &CStr, mode: u32) -> RawResult {
    // SAFETY: path is NUL-terminated and outlives the call.
    cvt(unsafe { libc::mkdirat(dir, path.as_ptr(), mode as libc::mode_t) } as isize)
}

pub(crate) fn symlinkat(target: &CStr, dir: RawFd, link: &CStr) -> RawResult {
    // SAFETY: both paths are NUL-terminated and outlive the call.
    cvt(unsafe { libc::symlinkat(target.as_ptr(), dir, link.as_ptr()) } as isize)
}

pub(crate) fn linkat(od: RawFd, old: &CStr, nd: RawFd, new: &CStr, flags: i32) -> RawResult {
    // SAFETY: both paths are NUL-terminated and outlive the call.
    cvt(unsafe { libc::linkat(od, old.as_ptr(), nd, new.as_ptr(), flags) } as isize)
}

/// One buffer of a vectored transfer (an `iovec`).
#[repr(transparent)]
pub(crate) struct IoVec(libc::iovec);

// SAFETY: an iovec is a pointer and a length into a buffer owned by the same operation, which
// moves between threads as a whole.
unsafe impl Send for IoVec {}

impl IoVec {
    pub(crate) fn new(ptr: *mut u8, len: usize) -> IoVec {
        IoVec(libc::iovec {
            iov_base: ptr.cast(),
            iov_len: len,
        })
    }
}

pub(crate) fn preadv(fd: RawFd, iov: &[IoVec], pos: u64) -> RawResult {
    let pos = off(pos)?;
    let n = iov.len().min(1024) as libc::c_int;
    // SAFETY: IoVec is a transparent iovec; each points to a live buffer valid for writes.
    retry(|| unsafe { libc::preadv(fd, iov.as_ptr().cast(), n, pos) })
}

pub(crate) fn pwritev(fd: RawFd, iov: &[IoVec], pos: u64) -> RawResult {
    let pos = off(pos)?;
    let n = iov.len().min(1024) as libc::c_int;
    // SAFETY: IoVec is a transparent iovec; each points to a live buffer valid for reads.
    retry(|| unsafe { libc::pwritev(fd, iov.as_ptr().cast(), n, pos) })
}

/// Metadata of an open descriptor through std (systems without statx).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn fstat(fd: RawFd) -> std::io::Result<std::fs::Metadata> {
    use std::os::fd::FromRawFd;
    // SAFETY: the caller keeps fd open for the call; ManuallyDrop never closes it.
    let file = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) });
    file.metadata()
}
