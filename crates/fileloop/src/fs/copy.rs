//! [`copy`] and [`copy_with_progress`]: `std::fs::copy` semantics in one pool job, with
//! `copy_file_range` on Linux (the kernel copies without a trip through user space, and
//! filesystems that can share extents — Btrfs, XFS, bcachefs, NFS 4.2 server-side copy — make
//! it a reflink).

use crate::engine::Engine;
use crate::error::with_context;
use crate::op::Blocking;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Bytes per progress report.
pub const COPY_PROGRESS_CHUNK: u64 = 8 << 20;

/// Copies a file's contents and permissions, as `std::fs::copy`; returns the bytes copied.
///
/// The copy runs as one pool job: `copy_file_range` on Linux (a reflink where the filesystem
/// can share extents), falling back to reads and writes where the kernel or filesystem refuses
/// it (EXDEV, EINVAL, EOPNOTSUPP, ENOSYS, EPERM) or reports nothing for a file that claims a
/// size (procfs, sysfs). `to` is created or truncated. Copying a file onto itself is refused
/// (`InvalidInput`) instead of truncating it. Dropping the future stops the copy at the next
/// chunk, leaving `to` partial.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// let n = fileloop::copy("big.iso", "backup.iso").await?;
/// println!("copied {n} bytes");
/// # Ok(()) }
/// ```
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    Engine::global()?.copy(from, to).await
}

/// Copies as [`copy`] does, calling `progress(copied, total)` after each chunk of up to
/// 8 MiB ([`COPY_PROGRESS_CHUNK`]).
///
/// `total` is the source's length when the copy started (raised to `copied` if the file grew
/// meanwhile); the last call has `copied == total`, including the single `(0, 0)` call for an
/// empty file. The callback runs **on the pool thread doing the copy**: keep it short and
/// non-blocking (update an atomic, send on a channel), never await or block on the engine
/// from it.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// fileloop::copy_with_progress("big.iso", "backup.iso", |copied, total| {
///     eprint!("\r{:3}%", copied * 100 / total.max(1));
/// })
/// .await?;
/// # Ok(()) }
/// ```
pub async fn copy_with_progress(
    from: impl AsRef<Path>,
    to: impl AsRef<Path>,
    progress: impl FnMut(u64, u64) + Send + 'static,
) -> io::Result<u64> {
    Engine::global()?
        .copy_with_progress(from, to, progress)
        .await
}

impl Engine {
    /// Copies a file on this engine (see [`copy`]).
    pub async fn copy(&self, from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
        self.run_copy(from.as_ref(), to.as_ref(), None).await
    }

    /// Copies a file on this engine, reporting progress (see [`copy_with_progress`]).
    pub async fn copy_with_progress(
        &self,
        from: impl AsRef<Path>,
        to: impl AsRef<Path>,
        progress: impl FnMut(u64, u64) + Send + 'static,
    ) -> io::Result<u64> {
        let progress: Box<dyn FnMut(u64, u64) + Send> = Box::new(progress);
        self.run_copy(from.as_ref(), to.as_ref(), Some(progress))
            .await
    }

    async fn run_copy(
        &self,
        from: &Path,
        to: &Path,
        progress: Option<Box<dyn FnMut(u64, u64) + Send>>,
    ) -> io::Result<u64> {
        let stop = StopOnDrop(Arc::new(AtomicBool::new(false)));
        let flag = stop.0.clone();
        let (from, to) = (from.to_path_buf(), to.to_path_buf());
        let job = move || copy_blocking(&from, &to, progress, &flag);
        self.op(Blocking::new(job)).await
    }
}

/// Tells the running copy to stop when the future is dropped.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Files and what the copy needs to know about them.
struct Pair {
    reader: std::fs::File,
    writer: std::fs::File,
    total: u64,
    from: PathBuf,
    to: PathBuf,
}

/// Opens both files as `std::fs::copy` does: the source must be a regular file; the
/// destination is created with the source's permission bits, truncated, and given the
/// source's permissions.
fn open_pair(from: &Path, to: &Path) -> io::Result<Pair> {
    let src_err = |e| with_context(e, "copy", from);
    let dst_err = |e| with_context(e, "copy", to);
    let reader = std::fs::File::open(from).map_err(src_err)?;
    let meta = reader.metadata().map_err(src_err)?;
    if !meta.is_file() {
        let err = io::Error::new(
            io::ErrorKind::InvalidInput,
            "the source is neither a regular file nor a symbolic link to one",
        );
        return Err(src_err(err));
    }
    let perm = meta.permissions();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    {
        use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
        if let Ok(dst) = std::fs::metadata(to) {
            if (dst.dev(), dst.ino()) == (meta.dev(), meta.ino()) {
                let err = io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "source and destination are the same file",
                );
                return Err(dst_err(err));
            }
        }
        opts.mode(perm.mode());
    }
    let writer = opts.open(to).map_err(dst_err)?;
    if writer.metadata().map_err(dst_err)?.is_file() {
        writer.set_permissions(perm).map_err(dst_err)?;
    }
    Ok(Pair {
        reader,
        writer,
        total: meta.len(),
        from: from.to_path_buf(),
        to: to.to_path_buf(),
    })
}

fn copy_blocking(
    from: &Path,
    to: &Path,
    mut progress: Option<Box<dyn FnMut(u64, u64) + Send>>,
    stop: &AtomicBool,
) -> io::Result<u64> {
    let pair = open_pair(from, to)?;
    // Without progress, ask for big ranges: fewer system calls, bigger reflinks.
    let chunk = if progress.is_some() {
        COPY_PROGRESS_CHUNK
    } else {
        1 << 30
    };
    let mut copied = 0u64;
    let mut reported = None;
    let mut kernel_copy = cfg!(target_os = "linux");
    let mut buf = Vec::new();
    loop {
        if stop.load(Ordering::Relaxed) {
            let err = io::Error::new(io::ErrorKind::Interrupted, "copy abandoned");
            return Err(with_context(err, "copy", from));
        }
        let n = if kernel_copy {
            match kernel_chunk(&pair, copied, chunk) {
                Ok(0) if copied == 0 => {
                    // Nothing at all: an empty file, or a filesystem (procfs, sysfs) that
                    // cannot say; the plain loop finds out which.
                    kernel_copy = false;
                    continue;
                }
                Ok(n) => n,
                Err(e) if refuses_kernel_copy(&e) => {
                    kernel_copy = false;
                    continue;
                }
                Err(e) => return Err(with_context(e, "copy", from)),
            }
        } else {
            plain_chunk(&pair, copied, chunk, &mut buf)?
        };
        if n == 0 {
            break;
        }
        copied += n;
        if let Some(f) = progress.as_mut() {
            let total = pair.total.max(copied);
            f(copied, total);
            reported = Some((copied, total));
        }
    }
    if let Some(f) = progress.as_mut() {
        if !matches!(reported, Some((c, t)) if c == t) {
            f(copied, copied);
        }
    }
    Ok(copied)
}

/// Errors after which `copy_file_range` is given up for plain reads and writes.
fn refuses_kernel_copy(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EXDEV | libc::EINVAL | libc::EOPNOTSUPP | libc::ENOSYS | libc::EPERM)
    )
}

/// Up to `len` bytes at `pos` by copy_file_range (one system call; may be short).
#[cfg(target_os = "linux")]
fn kernel_chunk(pair: &Pair, pos: u64, len: u64) -> io::Result<u64> {
    use std::os::fd::AsRawFd;
    let off = libc::off64_t::try_from(pos)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "offset too large"))?;
    let (mut off_in, mut off_out) = (off, off);
    let len = usize::try_from(len).unwrap_or(usize::MAX).min(1 << 30);
    loop {
        // SAFETY: both descriptors are open for the call; the offsets are live locals.
        let r = unsafe {
            libc::copy_file_range(
                pair.reader.as_raw_fd(),
                &mut off_in,
                pair.writer.as_raw_fd(),
                &mut off_out,
                len,
                0,
            )
        };
        if r >= 0 {
            return Ok(r as u64);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn kernel_chunk(_pair: &Pair, _pos: u64, _len: u64) -> io::Result<u64> {
    Err(io::Error::from_raw_os_error(libc::ENOSYS))
}

/// Up to `len` bytes at `pos` by reads and writes through `buf` (allocated on first use);
/// 0 only at the end of the source.
fn plain_chunk(pair: &Pair, pos: u64, len: u64, buf: &mut Vec<u8>) -> io::Result<u64> {
    use std::os::unix::fs::FileExt;
    if buf.is_empty() {
        buf.resize(1 << 20, 0);
    }
    let mut done = 0u64;
    while done < len {
        let want = (len - done).min(buf.len() as u64) as usize;
        let n = match pair.reader.read_at(&mut buf[..want], pos + done) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(with_context(e, "copy", &pair.from)),
        };
        pair.writer
            .write_all_at(&buf[..n], pos + done)
            .map_err(|e| with_context(e, "copy", &pair.to))?;
        done += n as u64;
    }
    Ok(done)
}
