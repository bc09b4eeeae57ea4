//! [`Dir`]: an open directory, and operations on paths relative to it, optionally confined
//! beneath it.
//!
//! Confinement uses openat2(2) with `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS` (Linux 5.6+),
//! on io_uring where the kernel has it and on the pool otherwise. Opens and `metadata` resolve
//! the whole path that way. Operations that act on a name (rename, unlink, mkdir, symlink)
//! first open the parent directory confined, then act on a plain final name relative to that
//! descriptor, so neither the parent's path nor the name can lead outside.

use super::atomic::write_atomic_in;
use super::dir_handle::{open_dir, open_handle, raw_os_error, relabel};
use super::{File, OpenOptions, ReadDir};
use crate::engine::Engine;
use crate::error::{context, with_context};
use crate::metadata::Metadata;
use crate::op::{CreateDir, FileHandle, PathArg, Remove, Rename, Stat, StatTarget, Symlink};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How often an openat2 that reported EAGAIN (a concurrent rename or mount) is retried.
const ATTEMPTS: usize = 8;

/// Flags for a descriptor that only anchors `*at` calls and `fstat`.
#[cfg(target_os = "linux")]
const ANCHOR: i32 = libc::O_PATH;
#[cfg(not(target_os = "linux"))]
const ANCHOR: i32 = libc::O_RDONLY;

/// An open directory; paths given to its methods are relative to it.
///
/// Opened normally ([`Dir::open`]), a relative path resolves from the directory wherever it
/// leads, like the `*at` system calls (an absolute path is used as is). Opened confined
/// ([`Dir::open_confined`], Linux 5.6+), every path must stay beneath the directory: `..`
/// that climbs above it, absolute paths, and symbolic links that point outside fail with
/// `PermissionDenied` ("path escapes the confined directory"); `/proc` magic links are
/// refused too. Paths that stay inside (`a/b/../c`, links within the tree) work. Where the
/// kernel lacks openat2 a confined directory refuses to open rather than run unconfined.
///
/// Cheap to clone: clones share the descriptor, which is closed (without blocking) when the
/// last clone and every operation using it are gone.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use fileloop::Dir;
/// let root = Dir::open_confined("/srv/uploads").await?;
/// root.create_dir("incoming").await?;
/// let file = root.create("incoming/report.txt").await?;
/// let (res, _) = file.write_all_at(b"hello".to_vec(), 0).await;
/// res?;
/// root.rename("incoming/report.txt", "report.txt").await?;
/// assert!(root.open_file("../etc/passwd").await.is_err()); // escapes: refused
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Dir {
    handle: Arc<FileHandle>,
    engine: Engine,
    confined: bool,
}

impl std::fmt::Debug for Dir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dir")
            .field("path", &self.handle.path())
            .field("confined", &self.confined)
            .finish()
    }
}

/// The error for a path that leaves a confined directory.
fn escape(op: &'static str, path: &Path) -> io::Error {
    let err = io::Error::new(
        io::ErrorKind::PermissionDenied,
        "path escapes the confined directory",
    );
    with_context(err, op, path)
}

/// Maps openat2's answers to confined-mode errors: EXDEV (the path left the tree) becomes
/// `PermissionDenied`, ENOSYS (no openat2) `Unsupported`.
fn confine_err(err: io::Error, op: &'static str, path: &Path) -> io::Error {
    match raw_os_error(&err) {
        Some(libc::EXDEV) => escape(op, path),
        Some(libc::ENOSYS) => with_context(
            io::Error::new(
                io::ErrorKind::Unsupported,
                "confined directories need openat2 (Linux 5.6 or later); \
                 refusing to resolve the path unconfined",
            ),
            op,
            path,
        ),
        _ => err,
    }
}

impl Dir {
    /// Opens the directory `path` on the default engine.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<Dir> {
        Dir::open_with(&Engine::global()?, path).await
    }

    /// Opens the directory `path` on `engine`.
    pub async fn open_with(engine: &Engine, path: impl AsRef<Path>) -> io::Result<Dir> {
        let path = path.as_ref();
        let handle = anchor(engine, None, path, path.to_path_buf(), false).await?;
        Ok(Dir {
            handle,
            engine: engine.clone(),
            confined: false,
        })
    }

    /// Opens the directory `path` on the default engine, confined: every path given to the
    /// returned `Dir` must resolve beneath it (see the type's documentation). `Unsupported`
    /// where openat2 is missing (not Linux, or Linux before 5.6).
    pub async fn open_confined(path: impl AsRef<Path>) -> io::Result<Dir> {
        Dir::open_confined_with(&Engine::global()?, path).await
    }

    /// Opens the directory `path` on `engine`, confined (see [`Dir::open_confined`]).
    pub async fn open_confined_with(engine: &Engine, path: impl AsRef<Path>) -> io::Result<Dir> {
        let path = path.as_ref();
        if !cfg!(target_os = "linux") {
            let err = io::Error::new(
                io::ErrorKind::Unsupported,
                "confined directories need openat2, which only Linux has",
            );
            return Err(with_context(err, "open_confined", path));
        }
        let dir = Dir::open_with(engine, path).await?;
        // Probe openat2 once, so a kernel without it refuses here rather than later.
        let probe = open_dir(
            engine,
            Some(dir.handle.clone()),
            Path::new("."),
            path.to_path_buf(),
            ANCHOR,
            true,
        )
        .await;
        probe.map_err(|e| confine_err(e, "open_confined", path))?;
        Ok(Dir {
            confined: true,
            ..dir
        })
    }

    /// The path the directory was opened with (used in messages and entry paths).
    pub fn path(&self) -> &Path {
        self.handle.path()
    }

    /// Whether paths are confined beneath this directory.
    pub fn is_confined(&self) -> bool {
        self.confined
    }

    /// The engine serving this directory.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    fn shown(&self, rel: &Path) -> PathBuf {
        self.path().join(rel)
    }

    /// Opens `rel` (beneath this directory when confined) with `flags` exactly, retrying
    /// openat2's EAGAIN and naming escapes.
    async fn resolve(
        &self,
        op: &'static str,
        rel: &Path,
        flags: i32,
    ) -> io::Result<Arc<FileHandle>> {
        let shown = self.shown(rel);
        if self.confined && rel.has_root() {
            return Err(escape(op, &shown));
        }
        let mut attempt = 0;
        loop {
            let dir = Some(self.handle.clone());
            let res = open_handle(&self.engine, dir, rel, shown.clone(), flags, self.confined);
            match res.await {
                Err(e) if self.confined && retry(&e, &mut attempt) => continue,
                Err(e) if self.confined => return Err(confine_err(e, op, &shown)),
                res => return res,
            }
        }
    }

    /// The directory and name an `*at` call should use for `rel`. Confined, the parent is
    /// opened beneath this directory (with `flags`) and the name must be a plain name.
    async fn at(&self, op: &'static str, rel: &Path, flags: i32) -> io::Result<PathArg> {
        if !self.confined {
            return Ok(PathArg::new(Some(self.handle.clone()), rel.to_path_buf()));
        }
        if rel.has_root() {
            return Err(escape(op, &self.shown(rel)));
        }
        let Some(name) = rel.file_name() else {
            let err = io::Error::new(
                io::ErrorKind::InvalidInput,
                "in a confined directory the path must end in a name (not `..`, `.` or empty)",
            );
            return Err(with_context(err, op, &self.shown(rel)));
        };
        let parent = match rel.parent() {
            Some(p) if !p.as_os_str().is_empty() => {
                self.resolve(op, p, flags | libc::O_DIRECTORY).await?
            }
            _ => self.handle.clone(),
        };
        Ok(PathArg::new(Some(parent), PathBuf::from(name)))
    }

    /// Opens the file `rel` for reading (named `open_file` because [`Dir::open`] opens a
    /// directory).
    pub async fn open_file(&self, rel: impl AsRef<Path>) -> io::Result<File> {
        let opts = OpenOptions::new().read(true).clone();
        self.open_with_options(rel, &opts).await
    }

    /// Creates (or truncates) the file `rel` for writing.
    pub async fn create(&self, rel: impl AsRef<Path>) -> io::Result<File> {
        let mut opts = OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        self.open_with_options(rel, &opts).await
    }

    /// Opens the file `rel` with `options`.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// let dir = fileloop::Dir::open("logs").await?;
    /// let log = dir
    ///     .open_with_options("app.log", fileloop::OpenOptions::new().append(true).create(true))
    ///     .await?;
    /// let (res, _) = log.append(b"started\n".to_vec()).await;
    /// res?;
    /// # Ok(()) }
    /// ```
    pub async fn open_with_options(
        &self,
        rel: impl AsRef<Path>,
        options: &OpenOptions,
    ) -> io::Result<File> {
        let rel = rel.as_ref();
        let shown = self.shown(rel);
        let flags = context(options.flags(), "open", &shown)?;
        if self.confined && rel.has_root() {
            return Err(escape("open", &shown));
        }
        let mut attempt = 0;
        loop {
            let how = crate::op::OpenHow {
                dir: Some(self.handle.clone()),
                path: rel.to_path_buf(),
                flags,
                mode: options.mode_bits(),
                beneath: self.confined,
            };
            match options.finish(&self.engine, how).await {
                Err(e) if self.confined && retry(&e, &mut attempt) => continue,
                Err(e) if self.confined => return Err(confine_err(e, "open", &shown)),
                res => return res,
            }
        }
    }

    /// Opens the subdirectory `rel` as a `Dir`, confined if this one is.
    pub async fn open_dir(&self, rel: impl AsRef<Path>) -> io::Result<Dir> {
        let rel = rel.as_ref();
        let flags = libc::O_RDONLY | libc::O_DIRECTORY;
        let handle = match self.resolve("open_dir", rel, flags).await {
            Err(e) if raw_os_error(&e) == Some(libc::EACCES) => {
                self.resolve("open_dir", rel, ANCHOR | libc::O_DIRECTORY)
                    .await?
            }
            res => res?,
        };
        Ok(Dir {
            handle,
            engine: self.engine.clone(),
            confined: self.confined,
        })
    }

    /// Lists the directory `rel` (`"."` for this one).
    pub async fn read_dir(&self, rel: impl AsRef<Path>) -> io::Result<ReadDir> {
        let flags = libc::O_RDONLY | libc::O_DIRECTORY;
        let handle = self.resolve("read_dir", rel.as_ref(), flags).await?;
        Ok(ReadDir::new(&self.engine, handle))
    }

    /// Metadata of `rel`, following symbolic links (confined: only links inside the tree).
    pub async fn metadata(&self, rel: impl AsRef<Path>) -> io::Result<Metadata> {
        self.stat("metadata", rel.as_ref(), true).await
    }

    /// Metadata of `rel` itself, not following a final symbolic link.
    pub async fn symlink_metadata(&self, rel: impl AsRef<Path>) -> io::Result<Metadata> {
        self.stat("symlink_metadata", rel.as_ref(), false).await
    }

    async fn stat(&self, op: &'static str, rel: &Path, follow: bool) -> io::Result<Metadata> {
        let shown = self.shown(rel);
        let target = if self.confined {
            // Resolve confined, then fstat the descriptor: a link to outside never gets
            // statted. O_PATH|O_NOFOLLOW on a link gives the link itself.
            let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
            StatTarget::File(self.resolve(op, rel, ANCHOR | nofollow).await?)
        } else {
            StatTarget::Path {
                dir: Some(self.handle.clone()),
                path: rel.to_path_buf(),
                follow,
            }
        };
        let res = self.engine.op(Stat::new(target, op)).await;
        res.map_err(|e| relabel(e, op, &shown))
    }

    /// Renames `from` to `to`, both relative to this directory (replacing `to` if it exists).
    pub async fn rename(&self, from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
        let from = self.at("rename", from.as_ref(), ANCHOR).await?;
        let to = self.at("rename", to.as_ref(), ANCHOR).await?;
        self.engine.op(Rename::new(from, to)).await
    }

    /// Removes the file or symbolic link `rel`.
    pub async fn remove_file(&self, rel: impl AsRef<Path>) -> io::Result<()> {
        let arg = self.at("remove_file", rel.as_ref(), ANCHOR).await?;
        self.engine.op(Remove::new(arg, false)).await
    }

    /// Removes the empty directory `rel`.
    pub async fn remove_dir(&self, rel: impl AsRef<Path>) -> io::Result<()> {
        let arg = self.at("remove_dir", rel.as_ref(), ANCHOR).await?;
        self.engine.op(Remove::new(arg, true)).await
    }

    /// Creates the directory `rel` (mode 0o777 before the umask).
    pub async fn create_dir(&self, rel: impl AsRef<Path>) -> io::Result<()> {
        let arg = self.at("create_dir", rel.as_ref(), ANCHOR).await?;
        self.engine.op(CreateDir::new(arg, 0o777)).await
    }

    /// Creates the symbolic link `link` pointing to `target` (stored as given; in a confined
    /// directory, following it later is confined too).
    pub async fn symlink(
        &self,
        target: impl AsRef<Path>,
        link: impl AsRef<Path>,
    ) -> io::Result<()> {
        let arg = self.at("symlink", link.as_ref(), ANCHOR).await?;
        self.engine.op(Symlink::new(target.as_ref(), arg)).await
    }

    /// Replaces the file `rel` atomically with `contents` (see [`crate::write_atomic`]).
    pub async fn write_atomic(
        &self,
        rel: impl AsRef<Path>,
        contents: impl AsRef<[u8]>,
    ) -> io::Result<()> {
        let rel = rel.as_ref();
        let shown = self.shown(rel);
        let Some(name) = rel.file_name() else {
            let err = io::Error::new(
                io::ErrorKind::InvalidInput,
                "the path must end in a file name",
            );
            return Err(with_context(err, "write_atomic", &shown));
        };
        // The parent must be readable, not just a path anchor: it is fsynced at the end.
        let parent = match rel.parent() {
            Some(p) if !p.as_os_str().is_empty() => {
                let flags = libc::O_RDONLY | libc::O_DIRECTORY;
                self.resolve("write_atomic", p, flags).await?
            }
            _ if self.confined && rel.has_root() => return Err(escape("write_atomic", &shown)),
            _ => self.handle.clone(),
        };
        let data = contents.as_ref().to_vec();
        write_atomic_in(&self.engine, parent, name, &shown, data).await
    }
}

/// Whether openat2's `err` is EAGAIN worth another attempt (counting them).
fn retry(err: &io::Error, attempt: &mut usize) -> bool {
    *attempt += 1;
    raw_os_error(err) == Some(libc::EAGAIN) && *attempt < ATTEMPTS
}

/// Opens a directory handle: readable if allowed (so it can be listed and fsynced), else
/// (Linux, a directory with search but no read permission) an O_PATH anchor.
async fn anchor(
    engine: &Engine,
    dir: Option<Arc<FileHandle>>,
    path: &Path,
    shown: PathBuf,
    beneath: bool,
) -> io::Result<Arc<FileHandle>> {
    let res = open_dir(
        engine,
        dir.clone(),
        path,
        shown.clone(),
        libc::O_RDONLY,
        beneath,
    )
    .await;
    match res {
        Err(e) if cfg!(target_os = "linux") && raw_os_error(&e) == Some(libc::EACCES) => {
            open_dir(engine, dir, path, shown, ANCHOR, beneath).await
        }
        res => res,
    }
}
