//! SIGINT / SIGTERM handling that cleans up on-disk scratch data.
//!
//! [`install`] blocks SIGINT and SIGTERM in the calling thread — call it first thing, before any
//! other thread (tokio runtimes, worker threads) exists, so every thread inherits the mask — and
//! starts a dedicated thread that waits for them with `sigwait`. When one arrives, that thread
//! removes the directory registered with [`CleanupGuard`] (if any) and exits the process with
//! status 128 + signal number (130 for SIGINT, 143 for SIGTERM). Because the cleanup runs on its
//! own thread, it happens even while a workload keeps every other thread busy; and as it runs in
//! ordinary thread context (not in an async signal handler) it may allocate and do file I/O.

use std::io;
use std::mem::MaybeUninit;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The directory to remove on a signal. The lock is also held while the normal (non-signal) path
/// removes it, so the two never run at the same time.
static CLEANUP: Mutex<Option<PathBuf>> = Mutex::new(None);

fn cleanup_slot() -> MutexGuard<'static, Option<PathBuf>> {
    CLEANUP
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn signal_set() -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the set; sigaddset only writes into it.
    unsafe {
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        libc::sigemptyset(set.as_mut_ptr());
        let mut set = set.assume_init();
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        set
    }
}

/// Blocks SIGINT/SIGTERM in this thread (and so in threads started later) and starts the thread
/// that handles them. Call once, before starting any other thread.
pub fn install() -> io::Result<()> {
    let set = signal_set();
    // SAFETY: plain libc call with a valid, initialised signal set.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || loop {
            let mut sig: libc::c_int = 0;
            // SAFETY: `set` is a valid signal set and `sig` a valid out-pointer.
            let rc = unsafe { libc::sigwait(&set, &mut sig) };
            if rc == 0 {
                on_signal(sig);
            }
        })?;
    Ok(())
}

fn on_signal(sig: libc::c_int) -> ! {
    let name = if sig == libc::SIGINT {
        "SIGINT"
    } else {
        "SIGTERM"
    };
    // Keep the lock until we exit: nobody else may touch the directory any more.
    let slot = cleanup_slot();
    if let Some(dir) = slot.as_deref() {
        eprintln!("\nfileloop: {name} received, removing {}", dir.display());
        if let Err(e) = remove_dir_racing(dir) {
            eprintln!("fileloop: could not remove {}: {e}", dir.display());
        }
    } else {
        eprintln!("\nfileloop: {name} received");
    }
    // SAFETY: _exit never returns; skipping atexit handlers and destructors is intended (other
    // threads may still be in the middle of a measurement).
    unsafe { libc::_exit(128 + sig) }
}

/// Removes `dir` while other threads may still be creating files in it: first renames it out of
/// the way (path-based creates under the old name then fail), then deletes with a few retries.
fn remove_dir_racing(dir: &Path) -> io::Result<()> {
    let target = match (dir.parent(), dir.file_name()) {
        (Some(parent), Some(name)) => {
            let mut hidden = std::ffi::OsString::from(".");
            hidden.push(name);
            hidden.push(".removing");
            let hidden = parent.join(hidden);
            match std::fs::rename(dir, &hidden) {
                Ok(()) => hidden,
                Err(_) => dir.to_path_buf(),
            }
        }
        _ => dir.to_path_buf(),
    };
    let mut last = Ok(());
    for _ in 0..20 {
        match std::fs::remove_dir_all(&target) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => last = Err(e),
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    last
}

/// Owns a scratch directory: removes it when dropped, or from the signal thread on SIGINT/SIGTERM.
#[derive(Debug)]
pub struct CleanupGuard {
    path: PathBuf,
}

impl CleanupGuard {
    /// Creates `path` (which must not exist yet) and registers it for removal. The directory is
    /// created while holding the registration lock, so there is no window in which a signal could
    /// leave it behind.
    pub fn create_dir(path: PathBuf) -> io::Result<Self> {
        let mut slot = cleanup_slot();
        std::fs::create_dir(&path)?;
        *slot = Some(path.clone());
        Ok(Self { path })
    }

    /// The guarded directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for CleanupGuard {
    fn drop(&mut self) {
        let mut slot = cleanup_slot();
        if let Err(e) = remove_dir_racing(&self.path) {
            eprintln!("fileloop: could not remove {}: {e}", self.path.display());
        }
        *slot = None;
    }
}
