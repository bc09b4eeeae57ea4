//! Thin wrappers over the system calls and kernel files this crate needs: opening
//! `/dev/fuse`, `mount(2)`, lazy `umount2(2)`, and the fusectl `abort` file.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Where the fusectl filesystem is conventionally mounted.
const FUSECTL_DIR: &str = "/sys/fs/fuse/connections";

/// Filesystem type given to `mount(2)`; shows up as `fuse.fileloop-testfs` in mountinfo.
pub(crate) const FSTYPE: &str = "fuse.fileloop-testfs";

/// See [`crate::skip_reason`].
pub(crate) fn skip_reason() -> Option<String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if euid != 0 {
        return Some(format!("not root (euid {euid}): FUSE tests need root"));
    }
    if !Path::new("/dev/fuse").exists() {
        return Some("/dev/fuse does not exist: FUSE tests need the fuse kernel module".into());
    }
    if let Err(e) = open_dev_fuse() {
        return Some(format!("cannot open /dev/fuse: {e}"));
    }
    if !has_cap_sys_admin() {
        return Some("root without CAP_SYS_ADMIN (container?): FUSE tests need to mount".into());
    }
    None
}

/// Whether the effective capability set has `CAP_SYS_ADMIN`, needed for `mount(2)`.
/// Answers `true` when it cannot tell, so that the mount itself reports the real error.
fn has_cap_sys_admin() -> bool {
    const CAP_SYS_ADMIN: u32 = 21;
    let Ok(status) = fs::read_to_string("/proc/self/status") else {
        return true;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_none_or(|caps| caps & (1 << CAP_SYS_ADMIN) != 0)
}

/// Opens the FUSE device read-write (and close-on-exec, as std always does).
pub(crate) fn open_dev_fuse() -> io::Result<OwnedFd> {
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")?;
    Ok(file.into())
}

fn cstring(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

/// Mounts a FUSE filesystem served through `dev` at `target`, the way libfuse's
/// `fusermount` would as root, but with a direct `mount(2)` call.
pub(crate) fn mount_fuse(dev: &OwnedFd, target: &Path) -> io::Result<()> {
    // SAFETY: these have no preconditions and cannot fail.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let data = format!(
        "fd={},rootmode=40000,user_id={uid},group_id={gid},allow_other",
        dev.as_raw_fd()
    );
    let data = CString::new(data).expect("no NUL in mount data");
    let fstype = CString::new(FSTYPE).expect("no NUL in fstype");
    let target = cstring(target)?;
    // SAFETY: all pointers are valid NUL-terminated strings that outlive the call.
    let rc = unsafe {
        libc::mount(
            c"fileloop-testfs".as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV,
            data.as_ptr().cast(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Lazily unmounts `path` (`MNT_DETACH`): never blocks, even when requests are pending.
pub(crate) fn detach(path: &Path) -> io::Result<()> {
    let path = cstring(path)?;
    // SAFETY: `path` is a valid NUL-terminated string.
    let rc = unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Undoes the octal escapes (`\040` for a space...) of a field of `/proc/self/mountinfo`.
fn unescape_mountinfo(field: &str) -> Vec<u8> {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() {
            let digits = &bytes[i + 1..i + 4];
            if digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                let v = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                if let Ok(v) = u8::try_from(v) {
                    out.push(v);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// One line of `/proc/self/mountinfo`, reduced to what this crate needs.
pub(crate) struct MountEntry {
    /// Mount point.
    pub(crate) mount_point: PathBuf,
    /// Filesystem type, e.g. `fuse.fileloop-testfs`.
    pub(crate) fstype: String,
    /// Device number, as `major:minor`.
    pub(crate) dev: String,
    /// The fusectl connection number of a FUSE mount: the kernel's encoding of its
    /// device number, `major << 20 | minor`.
    pub(crate) connection: u64,
}

/// Parses `/proc/self/mountinfo`.
pub(crate) fn mounts() -> io::Result<Vec<MountEntry>> {
    use std::os::unix::ffi::OsStringExt;
    let text = fs::read_to_string("/proc/self/mountinfo")?;
    let mut out = Vec::new();
    for line in text.lines() {
        // id parent major:minor root mount_point options [optional...] - fstype source super
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(dash) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        if fields.len() < 5 || dash + 1 >= fields.len() {
            continue;
        }
        let Some((major, minor)) = fields[2].split_once(':') else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (major.parse::<u64>(), minor.parse::<u64>()) else {
            continue;
        };
        out.push(MountEntry {
            mount_point: PathBuf::from(std::ffi::OsString::from_vec(unescape_mountinfo(fields[4]))),
            fstype: fields[dash + 1].to_string(),
            dev: fields[2].to_string(),
            connection: (major << 20) | minor,
        });
    }
    Ok(out)
}

/// The mountinfo entry of our FUSE mount at `path` (found without touching the mounted
/// filesystem, which might not answer).
pub(crate) fn mount_entry(path: &Path) -> io::Result<MountEntry> {
    mounts()?
        .into_iter()
        .rev() // the most recent mount on that path is the visible one
        .find(|m| m.mount_point == path && m.fstype == FSTYPE)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("no {FSTYPE} mount at {} in mountinfo", path.display()),
            )
        })
}

fn fusectl_mounted() -> io::Result<bool> {
    Ok(mounts()?
        .iter()
        .any(|m| m.fstype == "fusectl" && m.mount_point == Path::new(FUSECTL_DIR)))
}

/// Mounts fusectl on its usual directory unless it is mounted there already.
pub(crate) fn ensure_fusectl() -> io::Result<()> {
    if !fusectl_mounted()? {
        let target = CString::new(FUSECTL_DIR).expect("no NUL");
        // SAFETY: valid NUL-terminated strings; a null data pointer is allowed.
        let rc = unsafe {
            libc::mount(
                c"fusectl".as_ptr(),
                target.as_ptr(),
                c"fusectl".as_ptr(),
                0,
                std::ptr::null(),
            )
        };
        if rc != 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                e.kind(),
                format!("mounting fusectl on {FUSECTL_DIR}: {e}"),
            ));
        }
    }
    Ok(())
}

/// Aborts FUSE connection `connection` by writing to its fusectl `abort` file, mounting
/// fusectl first when needed. Requests pending on the connection then fail with
/// `ECONNABORTED`, and every later access to the mount fails with `ENOTCONN`.
///
/// Connection numbers are reused: only call this while the connection is known to be
/// alive (its session has not ended).
pub(crate) fn abort_connection(connection: u64) -> io::Result<()> {
    ensure_fusectl()?;
    let abort = Path::new(FUSECTL_DIR)
        .join(connection.to_string())
        .join("abort");
    fs::write(&abort, b"1")
        .map_err(|e| io::Error::new(e.kind(), format!("writing 1 to {}: {e}", abort.display())))
}
