//! Errors that name the operation and the path, keeping the OS error underneath.

use std::error::Error;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// The error inside every `io::Error` fileloop returns for a failed operation: which operation,
/// on which path, and the underlying OS error (available through
/// [`Error::source`](std::error::Error::source) and [`OpError::os_error`]). The `io::Error`'s kind
/// is the underlying error's kind.
///
/// ```
/// # futures::executor::block_on(async {
/// let err = fileloop::File::open("/no/such/file").await.unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
/// assert!(err.to_string().contains("open"));
/// assert!(err.to_string().contains("/no/such/file"));
/// let inner = err.get_ref().unwrap().downcast_ref::<fileloop::OpError>().unwrap();
/// #[cfg(unix)] // Windows says ERROR_PATH_NOT_FOUND (3)
/// assert_eq!(inner.os_error().raw_os_error(), Some(libc::ENOENT));
/// # });
/// ```
#[derive(Debug)]
pub struct OpError {
    op: &'static str,
    path: PathBuf,
    source: io::Error,
}

impl OpError {
    /// The operation, e.g. `"read_at"`.
    pub fn op(&self) -> &'static str {
        self.op
    }
    /// The path the operation was about.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// The underlying error as the OS reported it.
    pub fn os_error(&self) -> &io::Error {
        &self.source
    }
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.op, self.path.display(), self.source)
    }
}

impl Error for OpError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

/// Wraps `err` with the operation and path (once: an already wrapped error is kept as is).
pub(crate) fn with_context(err: io::Error, op: &'static str, path: &Path) -> io::Error {
    if err.get_ref().is_some_and(|e| e.is::<OpError>()) {
        return err;
    }
    io::Error::new(
        err.kind(),
        OpError {
            op,
            path: path.to_path_buf(),
            source: err,
        },
    )
}

/// Adds context to the error of a result.
pub(crate) fn context<T>(res: io::Result<T>, op: &'static str, path: &Path) -> io::Result<T> {
    res.map_err(|e| with_context(e, op, path))
}

/// Whether `err` says an operation was cancelled before it ran (see [`Op::cancel`](crate::Op::cancel)).
pub fn is_cancelled(err: &io::Error) -> bool {
    let inner = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<OpError>())
        .map_or(err, |e| &e.source);
    #[cfg(unix)]
    {
        inner.raw_os_error() == Some(libc::ECANCELED)
    }
    #[cfg(windows)]
    {
        inner.raw_os_error() == Some(995) // ERROR_OPERATION_ABORTED
    }
}
