//! Device awareness: which kind of storage a file lives on, decided once per device (st_dev)
//! from the filesystem type (statfs) and, for block devices, the rotational flag.

#[cfg(any(target_os = "linux", target_os = "android"))]
use std::collections::HashMap;
#[cfg(any(target_os = "linux", target_os = "android"))]
use std::sync::{OnceLock, RwLock};

/// The kind of storage behind a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceClass {
    /// A network or user-space filesystem (NFS, SMB/CIFS, FUSE, CephFS, 9p, ...): operations may
    /// take seconds or hang, so they never run on the submitting thread.
    Network,
    /// Memory-backed (tmpfs, ramfs).
    Memory,
    /// A local block device; `rotational` is true for spinning disks (`None`: unknown).
    Local {
        /// The kernel's rotational flag for the device, where known.
        rotational: Option<bool>,
    },
    /// Not determined (non-Linux systems, or the query failed).
    Unknown,
}

impl DeviceClass {
    /// Classifies a statfs `f_type` magic number.
    pub fn from_fs_type(f_type: i64) -> DeviceClass {
        match f_type as u32 {
            0x6969 // NFS
            | 0xFF53_4D42 // CIFS
            | 0xFE53_4D42 // SMB2
            | 0x517B // SMB
            | 0x6573_5546 // FUSE
            | 0x00C3_6400 // CephFS
            | 0x0102_1997 // 9p (v9fs)
            | 0x6B41_4653 // AFS
            | 0x0BD0_0BD0 // Lustre
            | 0x4750_4653 // GPFS
            | 0xAAD7_AAEA // PanFS
            | 0x0116_1970 // GFS2
            | 0x7461_636f // OCFS2
            | 0x5346_414F // OpenAFS
            => DeviceClass::Network,
            0x0102_1994 /* tmpfs */ | 0x8584_58f6 /* ramfs */ => DeviceClass::Memory,
            _ => DeviceClass::Local { rotational: None },
        }
    }

    /// Whether operations on this class may block for a long time.
    pub fn is_network(self) -> bool {
        self == DeviceClass::Network
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
/// Process-wide cache: device number → class (a device's class does not change).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn cache() -> &'static RwLock<HashMap<u64, DeviceClass>> {
    static CACHE: OnceLock<RwLock<HashMap<u64, DeviceClass>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
/// The cached class of device `dev`, if known.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn cached(dev: u64) -> Option<DeviceClass> {
    cache()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&dev)
        .copied()
}

#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn remember(dev: u64, class: DeviceClass) {
    cache()
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(dev, class);
}

/// The device of an open file without asking a network server: statx with
/// AT_STATX_DONT_SYNC uses cached attributes (FUSE and NFS honour it), so a hung mount cannot
/// block this call. `None` where unavailable.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn device_of(fd: i32) -> Option<u64> {
    // SAFETY: statx is plain data; all-zero is valid.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: valid NUL-terminated empty path and a live statx buffer.
    let r = unsafe {
        libc::statx(
            fd,
            c"".as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_STATX_DONT_SYNC,
            libc::STATX_TYPE,
            &mut stx,
        )
    };
    (r == 0).then(|| libc::makedev(stx.stx_dev_major, stx.stx_dev_minor))
}

/// Classifies the filesystem of `fd` (blocking: statfs may ask a network server, so this runs
/// on the pool).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn classify_fd(fd: i32, dev: u64) -> DeviceClass {
    // SAFETY: statfs is plain data; all-zero is valid.
    let mut sfs: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: a live statfs buffer; fd is kept open by the caller.
    if unsafe { libc::fstatfs(fd, &mut sfs) } != 0 {
        return DeviceClass::Unknown;
    }
    #[allow(clippy::unnecessary_cast)] // f_type's width differs between targets
    match DeviceClass::from_fs_type(sfs.f_type as i64) {
        DeviceClass::Local { .. } => DeviceClass::Local {
            rotational: rotational(dev),
        },
        other => other,
    }
}

/// The rotational flag of a block device (or of the disk holding a partition), from sysfs.
/// Virtual disks (virtio `vd*`, Xen `xvd*`) report rotational=1 by default whatever backs
/// them, so they count as unknown.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn rotational(dev: u64) -> Option<bool> {
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    if major == 0 {
        return None; // anonymous device: no block queue
    }
    let base = std::path::PathBuf::from(format!("/sys/dev/block/{major}:{minor}"));
    let real = std::fs::canonicalize(&base).ok()?;
    let name = real.file_name()?.to_string_lossy().into_owned();
    let disk = if real.join("partition").exists() {
        real.parent()?.to_path_buf()
    } else {
        real
    };
    let disk_name = disk.file_name()?.to_string_lossy().into_owned();
    if disk_name.starts_with("vd") || disk_name.starts_with("xvd") || name.starts_with("vd") {
        return None;
    }
    let flag = std::fs::read_to_string(disk.join("queue/rotational")).ok()?;
    Some(flag.trim() == "1")
}
