//! Free functions with `std::fs` names, on the default engine. Those with a native io_uring
//! form (open, read, write, statx, rename, unlink, mkdir, symlink, link) use it; the rest run
//! on the pool. Results and error kinds match `std::fs` on the same input; error messages also
//! name the operation and the path.

use super::{File, OpenOptions};
use crate::engine::Engine;
use crate::error::context;
use crate::metadata::Metadata;
use crate::op::{
    Blocking, CreateDir, HardLink, PathArg, ReadWhole, Remove, Rename, Stat, StatTarget, Symlink,
};
use std::io;
use std::path::{Path, PathBuf};

fn engine() -> io::Result<Engine> {
    Engine::global()
}

/// Runs `f` on the default engine's pool, naming `op` and `path` in its error.
async fn blocking<T: Send + 'static>(
    op: &'static str,
    path: &Path,
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    context(engine()?.op(Blocking::new(f)).await, op, path)
}

/// Reads a whole file on the default engine. See [`Engine::read`].
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// let bytes = fileloop::read("Cargo.toml").await?;
/// # Ok(()) }
/// ```
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    engine()?.read(path).await
}

/// Reads a whole file as UTF-8 (`InvalidData` otherwise).
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    let path = path.as_ref();
    let bytes = read(path).await?;
    String::from_utf8(bytes).map_err(|e| {
        let err = io::Error::new(io::ErrorKind::InvalidData, e.utf8_error());
        crate::error::with_context(err, "read_to_string", path)
    })
}

/// Creates or truncates a file and writes `contents`, then closes it (reporting close errors).
/// See [`Engine::write`].
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    engine()?.write(path, contents).await
}

/// create + write all + close on the calling (pool) thread, close errors reported.
fn write_blocking(path: &Path, data: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(path)?;
    file.write_all(data)?;
    #[cfg(unix)]
    {
        use std::os::fd::IntoRawFd;
        crate::sys::os::close(file.into_raw_fd()).map(drop)
    }
    #[cfg(not(unix))]
    {
        file.sync_all().ok();
        Ok(())
    }
}

/// Metadata of `path`, following symbolic links.
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let target = StatTarget::Path {
        dir: None,
        path: path.as_ref().to_path_buf(),
        follow: true,
    };
    engine()?.op(Stat::new(target, "metadata")).await
}

/// Metadata of `path` itself, not following a final symbolic link.
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let target = StatTarget::Path {
        dir: None,
        path: path.as_ref().to_path_buf(),
        follow: false,
    };
    engine()?.op(Stat::new(target, "symlink_metadata")).await
}

/// Whether `path` exists (following links): `Ok(false)` when it does not, an error when that
/// cannot be determined (e.g. permission denied).
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    match metadata(path).await {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

fn arg(path: &Path) -> PathArg {
    PathArg::new(None, path.to_path_buf())
}

/// Renames `from` to `to`, replacing `to` if it exists (as `std::fs::rename`).
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    let op = Rename::new(arg(from.as_ref()), arg(to.as_ref()));
    engine()?.op(op).await
}

/// Removes a file or symbolic link.
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    engine()?.op(Remove::new(arg(path.as_ref()), false)).await
}

/// Removes an empty directory.
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    engine()?.op(Remove::new(arg(path.as_ref()), true)).await
}

/// Creates a directory (mode 0o777 before the umask).
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    engine()?
        .op(CreateDir::new(arg(path.as_ref()), 0o777))
        .await
}

/// Creates a directory and its missing parents; existing directories are fine.
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref();
    if path.as_os_str().is_empty() {
        return Ok(());
    }
    // Walk up to the first ancestor that exists, then create downwards.
    let mut missing = Vec::new();
    let mut cur = Some(path);
    while let Some(p) = cur {
        if p.as_os_str().is_empty() {
            break;
        }
        match metadata(p).await {
            Ok(m) if m.is_dir() => break,
            Ok(_) => {
                let err = io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "exists and is not a directory",
                );
                return Err(crate::error::with_context(err, "create_dir_all", p));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => missing.push(p.to_path_buf()),
            Err(e) => return Err(e),
        }
        cur = p.parent();
    }
    for dir in missing.into_iter().rev() {
        match create_dir(&dir).await {
            Ok(()) => {}
            // Someone else created it meanwhile: fine if it is a directory.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if !metadata(&dir).await?.is_dir() {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Creates a hard link `link` to `original`.
pub async fn hard_link(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    let op = HardLink::new(arg(original.as_ref()), arg(link.as_ref()));
    engine()?.op(op).await
}

/// Creates a symbolic link `link` pointing to `target` (stored as given).
pub async fn symlink(target: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    let op = Symlink::new(target.as_ref(), arg(link.as_ref()));
    engine()?.op(op).await
}

/// Reads the target of a symbolic link.
pub async fn read_link(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    let path = path.as_ref().to_path_buf();
    let p = path.clone();
    blocking("read_link", &path, move || std::fs::read_link(p)).await
}

/// The absolute path with every link and `..` resolved.
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    let path = path.as_ref().to_path_buf();
    let p = path.clone();
    blocking("canonicalize", &path, move || std::fs::canonicalize(p)).await
}

/// Changes permissions.
pub async fn set_permissions(path: impl AsRef<Path>, perm: std::fs::Permissions) -> io::Result<()> {
    let path = path.as_ref().to_path_buf();
    let p = path.clone();
    blocking("set_permissions", &path, move || {
        std::fs::set_permissions(p, perm)
    })
    .await
}

/// Removes a directory and everything in it (symbolic links are removed, not followed).
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_path_buf();
    let p = path.clone();
    blocking("remove_dir_all", &path, move || std::fs::remove_dir_all(p)).await
}

/// Copies a file's contents and permissions, as `std::fs::copy`, on the pool; returns the
/// bytes copied. (On Unix the `copy` module's version replaces this one.)
#[cfg(not(unix))]
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    let (from, to) = (from.as_ref().to_path_buf(), to.as_ref().to_path_buf());
    let (f, t) = (from.clone(), to.clone());
    blocking("copy", &from, move || std::fs::copy(f, t)).await
}

impl Engine {
    /// Reads a whole file (as `std::fs::read`), on this engine.
    ///
    /// A file of up to 64 KiB is read in one operation (on io_uring one linked chain of open,
    /// read, end-of-file probe and close; on the pool one job) when its directory is known:
    /// an absolute path in a directory whose device this engine's `read` learned in the last
    /// 10 seconds.
    /// Otherwise `read` opens the file, reads it to the end and closes it, and in doing so
    /// learns the directory's device, whose routing and bound
    /// ([`Builder::device_limit`](crate::Builder::device_limit)) the one-operation form then
    /// follows too (its descriptor exists only inside the kernel, so the device cannot be
    /// looked at first). Larger files take the general way. The result is the same either
    /// way; only the number of trips through the loop differs.
    ///
    /// ```no_run
    /// # async fn demo(engine: fileloop::Engine) -> std::io::Result<()> {
    /// let bytes = engine.read("/etc/hostname").await?;
    /// # Ok(()) }
    /// ```
    pub async fn read(&self, path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
        let path = path.as_ref();
        if let Some(policy) = self.dirs().lookup(path) {
            let op = self
                .op(ReadWhole::new(path))
                .route(policy.route)
                .gate(policy.gate.as_ref());
            if let Some(data) = op.await? {
                return Ok(data);
            }
        }
        let file = self.open(path).await?;
        self.dirs().learn(path, file.handle());
        let (res, buf) = file.read_to_end(Vec::new()).await;
        res?;
        file.close().await?;
        Ok(buf)
    }

    /// Creates or truncates a file and writes `contents`, then closes it (reporting close
    /// errors). The three steps run as one job on the pool: on io_uring the create (O_CREAT
    /// always runs in a kernel worker) and a buffered write would each be a hop to a worker
    /// thread, so one pool hop is cheaper.
    pub async fn write(
        &self,
        path: impl AsRef<Path>,
        contents: impl AsRef<[u8]>,
    ) -> io::Result<()> {
        let path = path.as_ref().to_path_buf();
        let (p, data) = (path.clone(), contents.as_ref().to_vec());
        let job = Blocking::new(move || write_blocking(&p, &data));
        context(self.op(job).await, "write", &path)
    }

    /// Removes a file or symbolic link, on this engine.
    pub async fn remove_file(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.op(Remove::new(arg(path.as_ref()), false)).await
    }

    /// Opens a file for reading on this engine.
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open_with(self, path).await
    }

    /// Creates (or truncates) a file for writing on this engine.
    pub async fn create(&self, path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open_with(self, path)
            .await
    }
}
