//! The pool side of directory listing: a `DIR*` stream read in batches by one pool job at a
//! time. io_uring has no getdents, so listing is always a blocking job; each job reads up to a
//! batch of entries and hands the stream back with them (the owned-resource model of the ops).

use crate::metadata::{FileType, Metadata};
use std::ffi::{CStr, OsString};
use std::io;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;

/// Entries one pool job reads before handing them out.
pub(crate) const BATCH: usize = 1024;

/// An open `DIR*` on a duplicate of a directory descriptor. Owned by whoever holds it: the
/// reader while idle, the pool job while it runs. Dropping it closes the stream.
pub(crate) struct Stream {
    dirp: *mut libc::DIR,
}

// SAFETY: a DIR* is only used by one thread at a time: the value moves between the reader and
// the pool job that runs it, and `&Stream` gives no access to it.
unsafe impl Send for Stream {}

impl Drop for Stream {
    fn drop(&mut self) {
        // SAFETY: dirp came from fdopendir and is closed exactly once, here.
        unsafe { libc::closedir(self.dirp) };
    }
}

impl Stream {
    /// Opens a stream on a duplicate of `fd` (which stays open and usable for `*at` calls).
    pub(crate) fn open(fd: RawFd) -> io::Result<Stream> {
        // SAFETY: plain fcntl on a descriptor the caller keeps open.
        let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
        if dup < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: dup is a descriptor we own; on success fdopendir takes it over.
        let dirp = unsafe { libc::fdopendir(dup) };
        if dirp.is_null() {
            let err = io::Error::last_os_error();
            // SAFETY: fdopendir failed, so dup is still ours to close.
            unsafe { libc::close(dup) };
            return Err(err);
        }
        Ok(Stream { dirp })
    }

    /// Reads up to `max` entries (never `.` or `..`), as `want` says. Returns the entries,
    /// whether the end was reached, and an error that stopped the listing early, if any.
    pub(crate) fn read_batch(&mut self, max: usize, want: Want) -> RawBatch {
        let mut entries = Vec::with_capacity(max.min(BATCH));
        // SAFETY: dirp is a live stream.
        let fd = unsafe { libc::dirfd(self.dirp) };
        while entries.len() < max {
            clear_errno();
            // SAFETY: dirp is a live stream used by this thread only.
            let ent = unsafe { libc::readdir(self.dirp) };
            if ent.is_null() {
                let err = io::Error::last_os_error();
                let error = (err.raw_os_error() != Some(0)).then_some(err);
                return RawBatch {
                    entries,
                    end: true,
                    error,
                };
            }
            // SAFETY: readdir returned a valid entry that stays valid until the next call.
            let ent = unsafe { &*ent };
            // SAFETY: d_name is NUL-terminated.
            let name = unsafe { CStr::from_ptr(ent.d_name.as_ptr()) };
            let bytes = name.to_bytes();
            if bytes == b"." || bytes == b".." {
                continue;
            }
            let mut file_type = from_d_type(d_type(ent));
            if file_type.is_none() {
                file_type = Some(fstatat_type(fd, name, false));
            }
            let link = matches!(file_type, Some(Ok(t)) if t.is_symlink());
            let follow = want.follow && link;
            let meta = if want.metadata {
                entry_metadata(fd, name, follow)
            } else {
                None
            };
            if follow {
                let target = match &meta {
                    Some(m) => Ok(m.file_type()),
                    None => fstatat_type(fd, name, true),
                };
                // A dangling link (or an unreadable target) stays a link.
                if let Ok(t) = target {
                    file_type = Some(Ok(t));
                }
            }
            entries.push(RawEntry {
                name: std::ffi::OsStr::from_bytes(bytes).to_os_string(),
                ino: dirent_ino(ent),
                file_type: file_type.unwrap_or(Err(libc::EIO)),
                link,
                meta,
            });
        }
        RawBatch {
            entries,
            end: false,
            error: None,
        }
    }
}

/// One entry as the pool read it.
pub(crate) struct RawEntry {
    pub(crate) name: OsString,
    pub(crate) ino: u64,
    /// The type (the target's for a followed link), or the errno of the lstat that tried to
    /// find it.
    pub(crate) file_type: Result<FileType, i32>,
    /// The entry itself is a symbolic link.
    pub(crate) link: bool,
    /// Metadata read with the listing (the target's for a followed link), when asked for.
    pub(crate) meta: Option<Metadata>,
}

/// What a batch should find out about each entry besides its name.
#[derive(Clone, Copy, Default)]
pub(crate) struct Want {
    /// Symbolic links report their target's type (and metadata).
    pub(crate) follow: bool,
    /// Read each entry's metadata in the same pool job.
    pub(crate) metadata: bool,
}

/// What one batch job produced.
pub(crate) struct RawBatch {
    pub(crate) entries: Vec<RawEntry>,
    /// The stream is exhausted.
    pub(crate) end: bool,
    /// The listing failed after `entries` (it ends there).
    pub(crate) error: Option<io::Error>,
}

/// The type from `d_type`, or `None` when the filesystem did not say (DT_UNKNOWN).
fn from_d_type(d_type: u8) -> Option<Result<FileType, i32>> {
    let mode = match d_type {
        libc::DT_REG => libc::S_IFREG,
        libc::DT_DIR => libc::S_IFDIR,
        libc::DT_LNK => libc::S_IFLNK,
        libc::DT_UNKNOWN => return None,
        _ => libc::S_IFIFO, // device, FIFO, socket: "other"
    };
    #[allow(clippy::unnecessary_cast)] // mode_t is u16 on some systems
    Some(Ok(FileType::from_mode(mode as u32)))
}

#[cfg(not(any(target_os = "illumos", target_os = "solaris", target_os = "aix")))]
fn d_type(ent: &libc::dirent) -> u8 {
    ent.d_type
}

#[cfg(any(target_os = "illumos", target_os = "solaris", target_os = "aix"))]
fn d_type(_ent: &libc::dirent) -> u8 {
    libc::DT_UNKNOWN
}

/// The metadata of `name` in the directory `fd` (statx), or `None` if it cannot be read now
/// (the entry's own `metadata()` then asks again and reports the error).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn entry_metadata(fd: RawFd, name: &CStr, follow: bool) -> Option<Metadata> {
    let flags = if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW };
    let mask = libc::STATX_BASIC_STATS | libc::STATX_BTIME | libc::STATX_DIOALIGN;
    // SAFETY: statx is plain data; all-zero is valid.
    let mut buf: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: name is NUL-terminated and buf is a live, writable statx.
    let r = unsafe { libc::statx(fd, name.as_ptr(), flags, mask, &mut buf) };
    (r == 0).then(|| Metadata::from(&buf))
}

/// Elsewhere metadata is not read with the listing: `metadata()` reads it.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn entry_metadata(_fd: RawFd, _name: &CStr, _follow: bool) -> Option<Metadata> {
    None
}

/// The type of `name` in the directory `fd`, by fstatat (following links or not).
pub(crate) fn fstatat_type(fd: RawFd, name: &CStr, follow: bool) -> Result<FileType, i32> {
    fstatat(fd, name, follow).map(|st| {
        #[allow(clippy::unnecessary_cast)] // mode_t is u16 on some systems
        FileType::from_mode(st.st_mode as u32)
    })
}

/// fstatat, returning the errno on failure.
pub(crate) fn fstatat(fd: RawFd, name: &CStr, follow: bool) -> Result<libc::stat, i32> {
    let flags = if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW };
    // SAFETY: stat is plain data; all-zero is valid.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: name is NUL-terminated and st is a live, writable stat.
    let r = unsafe { libc::fstatat(fd, name.as_ptr(), &mut st, flags) };
    if r < 0 {
        Err(io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO))
    } else {
        Ok(st)
    }
}

/// Sets errno to 0, so that a NULL from readdir can tell the end from an error.
fn clear_errno() {
    // SAFETY: each returns a pointer to this thread's errno, valid for writes.
    unsafe {
        #[cfg(any(target_os = "linux", target_os = "redox", target_os = "fuchsia"))]
        {
            *libc::__errno_location() = 0;
        }
        #[cfg(any(
            target_vendor = "apple",
            target_os = "freebsd",
            target_os = "dragonfly"
        ))]
        {
            *libc::__error() = 0;
        }
        #[cfg(any(target_os = "android", target_os = "netbsd", target_os = "openbsd"))]
        {
            *libc::__errno() = 0;
        }
        #[cfg(any(target_os = "illumos", target_os = "solaris"))]
        {
            *libc::___errno() = 0;
        }
    }
}

/// The inode number of a directory entry (named d_fileno on FreeBSD).
#[allow(clippy::unnecessary_cast)] // ino_t is u32 on some systems
fn dirent_ino(ent: &libc::dirent) -> u64 {
    #[cfg(target_os = "freebsd")]
    {
        ent.d_fileno as u64
    }
    #[cfg(not(target_os = "freebsd"))]
    {
        ent.d_ino as u64
    }
}
