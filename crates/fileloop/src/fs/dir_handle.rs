//! Helpers shared by the directory-relative parts of `fs`: opening a directory as a
//! [`FileHandle`] and naming the full path in errors of operations that ran relative to one.

use crate::engine::Engine;
use crate::error::{with_context, OpError};
use crate::op::{FileHandle, Open, OpenHow};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Opens the directory `path` (relative to `dir`, or the current directory), beneath `dir`
/// when `beneath`. `flags` are added to O_DIRECTORY (O_RDONLY for listing, O_PATH for a
/// handle that only anchors `*at` calls). The handle reports itself as `shown`.
pub(crate) async fn open_dir(
    engine: &Engine,
    dir: Option<Arc<FileHandle>>,
    path: &Path,
    shown: PathBuf,
    flags: i32,
    beneath: bool,
) -> io::Result<Arc<FileHandle>> {
    let flags = flags | libc::O_DIRECTORY;
    open_handle(engine, dir, path, shown, flags, beneath).await
}

/// Opens `path` as [`open_dir`] does, with exactly `flags` (no O_DIRECTORY added).
pub(crate) async fn open_handle(
    engine: &Engine,
    dir: Option<Arc<FileHandle>>,
    path: &Path,
    shown: PathBuf,
    flags: i32,
    beneath: bool,
) -> io::Result<Arc<FileHandle>> {
    let how = OpenHow {
        dir,
        path: path.to_path_buf(),
        flags,
        mode: 0,
        beneath,
    };
    let raw = engine.op(Open::new(how)).await?;
    let handle = FileHandle::new(
        crate::op::raw_from_result(raw as u64),
        shown,
        engine.core().clone(),
    );
    Ok(Arc::new(handle))
}

/// The OS error under `err` (unwrapping an [`OpError`]), as a fresh `io::Error`.
pub(crate) fn os_error(err: &io::Error) -> io::Error {
    let os = match err.get_ref().and_then(|e| e.downcast_ref::<OpError>()) {
        Some(op) => op.os_error(),
        None => err,
    };
    match os.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(os.kind(), os.to_string()),
    }
}

/// The raw OS error under `err`, looking through an [`OpError`].
pub(crate) fn raw_os_error(err: &io::Error) -> Option<i32> {
    match err.get_ref().and_then(|e| e.downcast_ref::<OpError>()) {
        Some(op) => op.os_error().raw_os_error(),
        None => err.raw_os_error(),
    }
}

/// `err` with `op` and `path` as its context, replacing any context it had (used where an
/// operation ran relative to a directory and only knew the relative name).
pub(crate) fn relabel(err: io::Error, op: &'static str, path: &Path) -> io::Error {
    with_context(os_error(&err), op, path)
}
