//! [`write_atomic`]: replace a file's contents so that readers (and a crash) see either the old
//! file or the complete new one, never a part.

use super::dir_handle::{open_dir, raw_os_error};
use super::OpenOptions;
use crate::engine::Engine;
use crate::error::with_context;
use crate::op::{FileHandle, OpenHow, PathArg, Remove, Rename, Sync};
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Attempts at finding an unused temporary name.
const NAME_ATTEMPTS: usize = 16;

/// Replaces the file at `path` with `contents`, atomically, on the default engine.
///
/// A temporary file is created in the same directory (a unique hidden name, O_CREAT|O_EXCL,
/// mode 0o666 before the umask, like a new file: the old file's permissions and owner are not
/// carried over), `contents` are written and synced (fsync), the temporary is renamed over
/// `path`, and the directory is synced so the rename itself is durable. Whatever happens, the
/// file at `path` is the old one or the complete new one. On an error the temporary is
/// removed; if the future is dropped midway its removal is started in the background. Only a
/// process killed midway can leave a temporary behind (named `.NAME.<unique>.tmp`).
///
/// If `path` is a symbolic link, the link itself is replaced by the new file.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// fileloop::write_atomic("config.toml", "answer = 42\n").await?;
/// # Ok(()) }
/// ```
pub async fn write_atomic(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    Engine::global()?.write_atomic(path, contents).await
}

impl Engine {
    /// Replaces the file at `path` with `contents`, atomically, on this engine (see
    /// [`write_atomic`]).
    pub async fn write_atomic(
        &self,
        path: impl AsRef<Path>,
        contents: impl AsRef<[u8]>,
    ) -> io::Result<()> {
        let path = path.as_ref();
        let Some(name) = path.file_name() else {
            let err = io::Error::new(
                io::ErrorKind::InvalidInput,
                "the path must end in a file name",
            );
            return Err(with_context(err, "write_atomic", path));
        };
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let shown = parent.to_path_buf();
        let dir = open_dir(self, None, parent, shown, libc::O_RDONLY, false).await?;
        write_atomic_in(self, dir, name, path, contents.as_ref().to_vec()).await
    }
}

/// A unique temporary name for `name`: hidden, in the same directory, short enough.
fn temp_name(name: &OsStr) -> OsString {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let base = name.as_bytes();
    // Keep room for the suffix under NAME_MAX (255).
    let base = &base[..base.len().min(200)];
    let mut out = Vec::with_capacity(base.len() + 40);
    out.push(b'.');
    out.extend_from_slice(base);
    let suffix = format!(".{:x}-{:x}-{:x}.tmp", std::process::id(), n, nanos);
    out.extend_from_slice(suffix.as_bytes());
    OsString::from_vec(out)
}

/// Removes the temporary in the background if the write is abandoned midway.
struct TempGuard {
    engine: Engine,
    dir: Arc<FileHandle>,
    name: Option<OsString>,
}

impl TempGuard {
    fn remove_op(&mut self) -> Option<crate::Op<io::Result<()>>> {
        let name = self.name.take()?;
        let arg = PathArg::new(Some(self.dir.clone()), name.into());
        Some(self.engine.op(Remove::new(arg, false)))
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(op) = self.remove_op() {
            op.detach();
        }
    }
}

/// The atomic write itself, in the directory `dir` under `name`; `shown` names the target in
/// errors.
pub(crate) async fn write_atomic_in(
    engine: &Engine,
    dir: Arc<FileHandle>,
    name: &OsStr,
    shown: &Path,
    data: Vec<u8>,
) -> io::Result<()> {
    let mut attempt = 0;
    let (tmp, file) = loop {
        let tmp = temp_name(name);
        let how = OpenHow {
            dir: Some(dir.clone()),
            path: tmp.clone().into(),
            flags: libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL,
            mode: 0o666,
            beneath: false,
        };
        match OpenOptions::new().write(true).finish(engine, how).await {
            Ok(file) => break (tmp, file),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < NAME_ATTEMPTS => {
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    };
    let mut guard = TempGuard {
        engine: engine.clone(),
        dir: dir.clone(),
        name: Some(tmp.clone()),
    };
    let written = async {
        let (res, _) = file.write_all_at(data, 0).await;
        res?;
        file.sync_all().await?;
        file.close().await?;
        let from = PathArg::new(Some(dir.clone()), tmp.into());
        let to = PathArg::new(Some(dir.clone()), name.into());
        engine.op(Rename::new(from, to)).await
    };
    if let Err(e) = written.await {
        // Remove the temporary before reporting, so the caller never sees it.
        if let Some(op) = guard.remove_op() {
            let _ = op.await;
        }
        return Err(with_context(e, "write_atomic", shown));
    }
    guard.name = None;
    // The new name is in place; make the rename durable.
    match engine.op(Sync::new(dir, false)).await {
        // A filesystem that cannot sync directories (some FUSE ones): nothing more to do.
        Err(e) if raw_os_error(&e) == Some(libc::EINVAL) => Ok(()),
        res => res.map_err(|e| with_context(e, "write_atomic (sync directory)", shown)),
    }
}
