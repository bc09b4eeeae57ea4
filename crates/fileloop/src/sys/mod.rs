//! Small platform helpers shared by several layers.

use std::sync::atomic::{AtomicU64, Ordering};

static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);

/// Counts forks of this process: a child sees a different value than its parent had, so
/// structures that cannot cross a fork (io_uring rings, worker threads) know to stay away.
pub(crate) fn fork_generation() -> u64 {
    #[cfg(unix)]
    {
        static REGISTER: std::sync::Once = std::sync::Once::new();
        REGISTER.call_once(|| {
            extern "C" fn in_child() {
                FORK_GENERATION.fetch_add(1, Ordering::Relaxed);
            }
            // SAFETY: registers a handler that only touches an atomic (async-signal-safe).
            unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
        });
    }
    FORK_GENERATION.load(Ordering::Relaxed)
}

/// Converts a path to a NUL-terminated C string; a NUL inside is `InvalidInput`.
#[cfg(unix)]
pub(crate) fn cstr(path: &std::path::Path) -> std::io::Result<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "path contains an interior NUL byte",
        )
    })
}

#[cfg(unix)]
#[path = "unix.rs"]
pub(crate) mod os;
#[cfg(windows)]
#[path = "windows.rs"]
pub(crate) mod os;

/// The error of an operation cancelled before it ran (ECANCELED; ERROR_OPERATION_ABORTED on
/// Windows).
pub(crate) fn cancelled() -> std::io::Error {
    #[cfg(unix)]
    {
        std::io::Error::from_raw_os_error(libc::ECANCELED)
    }
    #[cfg(windows)]
    {
        std::io::Error::from_raw_os_error(995)
    }
}

pub(crate) mod valgrind;
