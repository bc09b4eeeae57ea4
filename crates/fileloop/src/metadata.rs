//! [`Metadata`] and [`FileType`]: what `metadata()` returns, the same on every backend.

use std::fs::Permissions;
use std::io;
use std::time::SystemTime;

/// The type of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileType(Kind);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    File,
    Dir,
    Symlink,
    Other,
}

impl FileType {
    /// A regular file.
    pub fn is_file(&self) -> bool {
        self.0 == Kind::File
    }
    /// A directory.
    pub fn is_dir(&self) -> bool {
        self.0 == Kind::Dir
    }
    /// A symbolic link (only seen when links are not followed).
    pub fn is_symlink(&self) -> bool {
        self.0 == Kind::Symlink
    }
    /// Anything else (device, FIFO, socket).
    pub fn is_other(&self) -> bool {
        self.0 == Kind::Other
    }

    #[cfg(unix)]
    #[allow(clippy::unnecessary_cast)] // mode_t is u16 on some systems
    pub(crate) fn from_mode(mode: u32) -> FileType {
        FileType(match mode & libc::S_IFMT as u32 {
            m if m == libc::S_IFREG as u32 => Kind::File,
            m if m == libc::S_IFDIR as u32 => Kind::Dir,
            m if m == libc::S_IFLNK as u32 => Kind::Symlink,
            _ => Kind::Other,
        })
    }

    pub(crate) fn from_std(t: std::fs::FileType) -> FileType {
        FileType(if t.is_symlink() {
            Kind::Symlink
        } else if t.is_dir() {
            Kind::Dir
        } else if t.is_file() {
            Kind::File
        } else {
            Kind::Other
        })
    }
}

/// Metadata about a file: the fields of `std::fs::Metadata`, plus the Unix fields and the
/// direct-I/O alignment where the system reports them.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// let meta = fileloop::metadata("Cargo.toml").await?;
/// assert!(meta.is_file());
/// println!("{} bytes, modified {:?}", meta.len(), meta.modified()?);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Metadata {
    len: u64,
    file_type: FileType,
    permissions: Permissions,
    modified: Option<SystemTime>,
    accessed: Option<SystemTime>,
    created: Option<SystemTime>,
    #[cfg(unix)]
    unix: UnixFields,
    dio_alignment: Option<(u32, u32)>,
}

#[cfg(unix)]
#[derive(Clone, Copy, Debug, Default)]
struct UnixFields {
    dev: u64,
    ino: u64,
    mode: u32,
    nlink: u64,
    uid: u32,
    gid: u32,
    blksize: u64,
    blocks: u64,
}

fn unavailable(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("{what} time is not available on this platform or filesystem"),
    )
}

impl Metadata {
    /// Size in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }
    /// Whether the size is zero.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The file type.
    pub fn file_type(&self) -> FileType {
        self.file_type
    }
    /// A regular file.
    pub fn is_file(&self) -> bool {
        self.file_type.is_file()
    }
    /// A directory.
    pub fn is_dir(&self) -> bool {
        self.file_type.is_dir()
    }
    /// A symbolic link (from `symlink_metadata`).
    pub fn is_symlink(&self) -> bool {
        self.file_type.is_symlink()
    }
    /// Permissions, as `std::fs` represents them.
    pub fn permissions(&self) -> Permissions {
        self.permissions.clone()
    }
    /// Last modification time.
    pub fn modified(&self) -> io::Result<SystemTime> {
        self.modified.ok_or_else(|| unavailable("modification"))
    }
    /// Last access time.
    pub fn accessed(&self) -> io::Result<SystemTime> {
        self.accessed.ok_or_else(|| unavailable("access"))
    }
    /// Creation (birth) time, where the filesystem records it.
    pub fn created(&self) -> io::Result<SystemTime> {
        self.created.ok_or_else(|| unavailable("creation"))
    }
    /// Direct-I/O alignment `(memory, offset)` in bytes where the kernel reports it
    /// (Linux statx STATX_DIOALIGN, 6.1+; on Windows the volume's sector size, for an open
    /// file's metadata); `None` otherwise or when direct I/O is unsupported.
    pub fn dio_alignment(&self) -> Option<(u32, u32)> {
        self.dio_alignment
    }

    #[cfg(windows)]
    pub(crate) fn with_dio_alignment(mut self, alignment: Option<(u32, u32)>) -> Self {
        self.dio_alignment = alignment;
        self
    }
}

#[cfg(unix)]
impl Metadata {
    /// Device the file lives on (st_dev).
    pub fn dev(&self) -> u64 {
        self.unix.dev
    }
    /// Inode number.
    pub fn ino(&self) -> u64 {
        self.unix.ino
    }
    /// Type and permission bits (st_mode).
    pub fn mode(&self) -> u32 {
        self.unix.mode
    }
    /// Number of hard links.
    pub fn nlink(&self) -> u64 {
        self.unix.nlink
    }
    /// Owner's user id.
    pub fn uid(&self) -> u32 {
        self.unix.uid
    }
    /// Owner's group id.
    pub fn gid(&self) -> u32 {
        self.unix.gid
    }
    /// Preferred I/O block size.
    pub fn blksize(&self) -> u64 {
        self.unix.blksize
    }
    /// 512-byte blocks allocated.
    pub fn blocks(&self) -> u64 {
        self.unix.blocks
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn time(sec: i64, nsec: i64) -> Option<SystemTime> {
    use std::time::Duration;
    let nsec = Duration::from_nanos(nsec.clamp(0, 999_999_999) as u64);
    if sec >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(sec as u64) + nsec)
    } else {
        SystemTime::UNIX_EPOCH
            .checked_sub(Duration::from_secs(sec.unsigned_abs()))?
            .checked_add(nsec)
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn permissions(mode: u32) -> Permissions {
    use std::os::unix::fs::PermissionsExt;
    Permissions::from_mode(mode)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
impl From<&libc::statx> for Metadata {
    fn from(s: &libc::statx) -> Metadata {
        let mode = u32::from(s.stx_mode);
        let has = |mask: u32| s.stx_mask & mask != 0;
        let t = |ts: &libc::statx_timestamp| time(ts.tv_sec, i64::from(ts.tv_nsec));
        Metadata {
            len: s.stx_size,
            file_type: FileType::from_mode(mode),
            permissions: permissions(mode),
            modified: t(&s.stx_mtime),
            accessed: has(libc::STATX_ATIME).then(|| t(&s.stx_atime)).flatten(),
            created: has(libc::STATX_BTIME).then(|| t(&s.stx_btime)).flatten(),
            unix: UnixFields {
                dev: libc::makedev(s.stx_dev_major, s.stx_dev_minor),
                ino: s.stx_ino,
                mode,
                nlink: u64::from(s.stx_nlink),
                uid: s.stx_uid,
                gid: s.stx_gid,
                blksize: u64::from(s.stx_blksize),
                blocks: s.stx_blocks,
            },
            dio_alignment: (has(libc::STATX_DIOALIGN) && s.stx_dio_mem_align != 0)
                .then_some((s.stx_dio_mem_align, s.stx_dio_offset_align)),
        }
    }
}

#[cfg(unix)]
impl From<std::fs::Metadata> for Metadata {
    fn from(m: std::fs::Metadata) -> Metadata {
        use std::os::unix::fs::MetadataExt;
        Metadata {
            len: m.len(),
            file_type: FileType::from_std(m.file_type()),
            permissions: m.permissions(),
            modified: m.modified().ok(),
            accessed: m.accessed().ok(),
            created: m.created().ok(),
            unix: UnixFields {
                dev: m.dev(),
                ino: m.ino(),
                mode: m.mode(),
                nlink: m.nlink(),
                uid: m.uid(),
                gid: m.gid(),
                blksize: m.blksize(),
                blocks: m.blocks(),
            },
            dio_alignment: None,
        }
    }
}

#[cfg(windows)]
impl From<std::fs::Metadata> for Metadata {
    fn from(m: std::fs::Metadata) -> Metadata {
        Metadata {
            len: m.len(),
            file_type: FileType::from_std(m.file_type()),
            permissions: m.permissions(),
            modified: m.modified().ok(),
            accessed: m.accessed().ok(),
            created: m.created().ok(),
            dio_alignment: None,
        }
    }
}
