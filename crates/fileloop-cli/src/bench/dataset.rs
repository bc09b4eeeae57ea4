//! The on-disk data set: one large file and many small files in a scratch directory that is
//! removed afterwards (also on SIGINT/SIGTERM, see `crate::signals`).

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::contender::{AlignedBuf, DIRECT_ALIGN};
use crate::signals::CleanupGuard;
use crate::Failure;

/// Size of every small file (W3, W4).
pub const SMALL_FILE_SIZE: usize = 4096;

/// The data set of one run.
#[derive(Debug)]
pub struct DataSet {
    guard: CleanupGuard,
    /// The large file (W1, W2, W6) and its length.
    pub big: Option<(PathBuf, u64)>,
    /// The small files (W3, W5).
    pub small: Option<Arc<[PathBuf]>>,
}

/// Picks the parent directory, checks it, and creates the (empty) scratch directory in it.
pub fn create_root(dir: Option<&Path>, need_bytes: u64) -> Result<CleanupGuard, Failure> {
    let parent = match dir {
        Some(d) => {
            let meta = std::fs::metadata(d)
                .map_err(|e| Failure::runtime(format!("bench: --dir {}: {e}", d.display())))?;
            if !meta.is_dir() {
                return Err(Failure::runtime(format!(
                    "bench: --dir {}: not a directory",
                    d.display()
                )));
            }
            d.to_path_buf()
        }
        None => std::env::temp_dir(),
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!("fileloop-bench-{}-{nanos:08x}", std::process::id());
    let guard = CleanupGuard::create_dir(parent.join(name)).map_err(|e| {
        Failure::runtime(format!(
            "bench: cannot create the data set directory in {}: {e} (is it writable?)",
            parent.display()
        ))
    })?;
    if let Some(free) = free_bytes(guard.path()) {
        if free < need_bytes {
            return Err(Failure::runtime(format!(
                "bench: not enough free space in {}: the data set needs about {} MiB, {} MiB free",
                parent.display(),
                need_bytes >> 20,
                free >> 20
            )));
        }
    }
    Ok(guard)
}

fn free_bytes(path: &Path) -> Option<u64> {
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: valid NUL-terminated path and out-pointer.
    let rc = unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: statvfs succeeded, so it filled the struct.
    let st = unsafe { st.assume_init() };
    // The field types differ between targets (u32 on some 32-bit ones).
    #[allow(clippy::unnecessary_cast)]
    let free = st.f_bavail as u64 * st.f_frsize as u64;
    Some(free)
}

impl DataSet {
    /// Creates the large file (`file_len` bytes, if non-zero) and `small_files` small files, then
    /// syncs the filesystem so that writeback does not disturb the measurements.
    pub fn create(guard: CleanupGuard, file_len: u64, small_files: usize) -> io::Result<DataSet> {
        let root = guard.path().to_path_buf();
        let mut big = None;
        if file_len > 0 {
            let t = Instant::now();
            let path = root.join("big.bin");
            let mut f = File::create(&path)?;
            let mut chunk = AlignedBuf::patterned(1 << 20);
            let mut written = 0u64;
            while written < file_len {
                let n = (file_len - written).min(chunk.len() as u64) as usize;
                chunk[..8].copy_from_slice(&written.to_le_bytes());
                f.write_all(&chunk[..n])?;
                written += n as u64;
            }
            f.sync_all()?;
            eprintln!(
                "  {} MiB file written in {:.1} s",
                file_len >> 20,
                t.elapsed().as_secs_f64()
            );
            big = Some((path, file_len));
        }
        let mut small = None;
        if small_files > 0 {
            let t = Instant::now();
            let dir = root.join("small");
            std::fs::create_dir(&dir)?;
            let data = AlignedBuf::patterned(SMALL_FILE_SIZE);
            let paths: Vec<PathBuf> = (0..small_files)
                .map(|i| dir.join(format!("f{i:06}")))
                .collect();
            for p in &paths {
                std::fs::write(p, &data[..])?;
            }
            eprintln!(
                "  {small_files} × {} KiB files written in {:.1} s",
                SMALL_FILE_SIZE / 1024,
                t.elapsed().as_secs_f64()
            );
            small = Some(paths.into());
        }
        let t = Instant::now();
        syncfs(&root)?;
        eprintln!("  synced in {:.1} s", t.elapsed().as_secs_f64());
        Ok(DataSet { guard, big, small })
    }

    /// The scratch directory.
    pub fn root(&self) -> &Path {
        self.guard.path()
    }
}

fn syncfs(dir: &Path) -> io::Result<()> {
    let f = File::open(dir)?;
    // SAFETY: valid open file descriptor.
    if unsafe { libc::syncfs(f.as_raw_fd()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Reads the whole file so that it is in the page cache.
pub fn warm_file(path: &Path) -> io::Result<()> {
    let f = File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = 0u64;
    loop {
        let n = f.read_at(&mut buf, pos)?;
        if n == 0 {
            return Ok(());
        }
        pos += n as u64;
    }
}

/// Reads every file so that they are in the page cache.
pub fn warm_files(paths: &[PathBuf]) -> io::Result<()> {
    for p in paths {
        std::fs::read(p)?;
    }
    Ok(())
}

/// Checks whether O_DIRECT reads work on `path`'s filesystem: `Err(reason)` if not.
pub fn probe_direct(path: &Path) -> Result<(), String> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
        .map_err(|e| format!("open with O_DIRECT failed: {e}"))?;
    let mut buf = AlignedBuf::zeroed(DIRECT_ALIGN);
    f.read_at(&mut buf, 0)
        .map_err(|e| format!("O_DIRECT read failed: {e}"))?;
    Ok(())
}
