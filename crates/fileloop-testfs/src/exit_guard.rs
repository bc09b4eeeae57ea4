//! Cleanup when the process ends without dropping a [`crate::Mounted`].
//!
//! The daemon runs in the process that uses the mount. If that process ends while one
//! of its threads waits for a request the daemon has already taken (a held `Hang`
//! request), the kernel waits for the answer uninterruptibly: the thread never exits,
//! so the process never finishes exiting (not even with `SIGKILL`), and the `/dev/fuse`
//! descriptor it holds keeps the connection alive. Only an abort of the connection
//! through fusectl frees it. Two safety nets do that abort:
//!
//! - an `atexit` handler, for a normal exit (`main` returning, `std::process::exit`)
//!   with mounts still alive (leaked, or owned by a thread that never finished);
//! - a small watchdog process per mount (`sh`), for a process that is killed: it gets
//!   `SIGTERM` from the kernel (`PR_SET_PDEATHSIG`) when the thread that spawned it
//!   dies, which a dedicated thread that never returns makes "when the process dies",
//!   and then aborts the connection, unmounts and removes the mount point.
//!
//! Both are best effort (the watchdog needs `/bin/sh`, and `umount` for the unmount);
//! [`crate::cleanup_stale_mounts`] removes whatever is left.

use std::io::{self, BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, Once, OnceLock, Weak};
use std::thread;
use std::time::Duration;

use crate::fs::Shared;
use crate::sys;

/// A mount not yet dropped.
struct Live {
    key: u64,
    path: PathBuf,
    connection: Option<u64>,
    shared: Weak<Shared>,
}

static LIVE: Mutex<Vec<Live>> = Mutex::new(Vec::new());
static AT_EXIT: Once = Once::new();

fn live() -> MutexGuard<'static, Vec<Live>> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Records a mount for the `atexit` cleanup.
pub(crate) fn register(key: u64, path: &Path, connection: Option<u64>, shared: &Arc<Shared>) {
    AT_EXIT.call_once(|| {
        // SAFETY: `at_exit` is an `extern "C" fn()` that does not unwind.
        unsafe { libc::atexit(at_exit) };
    });
    live().push(Live {
        key,
        path: path.to_path_buf(),
        connection,
        shared: Arc::downgrade(shared),
    });
}

/// Forgets a mount being dropped.
pub(crate) fn unregister(key: u64) {
    live().retain(|l| l.key != key);
}

extern "C" fn at_exit() {
    let _ = std::panic::catch_unwind(|| {
        let mounts = std::mem::take(&mut *live());
        for m in mounts {
            if let Some(shared) = m.shared.upgrade() {
                let held = {
                    let mut state = shared.lock();
                    state.hangs_released = true;
                    std::mem::take(&mut state.held)
                };
                shared.serve_held(held);
                shared.timer.shutdown();
            }
            // The session is still running (its thread is alive until exit_group), so
            // the connection number is still ours.
            if let Some(connection) = m.connection {
                let _ = sys::abort_connection(connection);
            }
            let _ = sys::detach(&m.path);
            let _ = std::fs::remove_dir(&m.path);
        }
    });
}

const WATCHDOG_SCRIPT: &str = r#"
dev="$1"; conn="$2"; dir="$3"; parent="$4"
cleanup() {
    trap '' TERM
    # Abort only while our mount is still there: connection numbers are reused.
    if grep -qF " $dev / $dir " /proc/self/mountinfo 2>/dev/null; then
        echo 1 > "/sys/fs/fuse/connections/$conn/abort" 2>/dev/null
        umount -l "$dir" 2>/dev/null
    fi
    rmdir "$dir" 2>/dev/null
    # Our own process group: the `sleep` below (TERM is ignored by this shell now).
    kill 0 2>/dev/null
    exit 0
}
trap cleanup TERM
# The parent may have died before PR_SET_PDEATHSIG took effect.
[ "$PPID" = "$parent" ] || cleanup
# Armed: `mount` returns only after this.
echo armed
exec >/dev/null
while :; do
    sleep 3600 &
    wait $!
done
"#;

struct SpawnRequest {
    entry: sys::MountEntry,
    reply: mpsc::Sender<io::Result<Child>>,
}

/// The watchdogs' parent: a thread that lives as long as the process.
fn spawner() -> io::Result<MutexGuard<'static, mpsc::Sender<SpawnRequest>>> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    if SPAWNER.get().is_none() {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        thread::Builder::new()
            .name("testfs-watchdogs".into())
            .spawn(move || {
                // Never returns: the sender lives in a static.
                for request in rx {
                    let _ = request.reply.send(spawn_watchdog(&request.entry));
                }
            })?;
        // A concurrent caller may have won; its thread serves, ours idles harmlessly.
        let _ = SPAWNER.set(Mutex::new(tx));
    }
    Ok(SPAWNER
        .get()
        .expect("set above")
        .lock()
        .unwrap_or_else(|e| e.into_inner()))
}

fn spawn_watchdog(entry: &sys::MountEntry) -> io::Result<Child> {
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(WATCHDOG_SCRIPT)
        .arg("fileloop-testfs-watchdog")
        .arg(&entry.dev)
        .arg(entry.connection.to_string())
        .arg(&entry.mount_point)
        .arg(std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        // Its own process group: a Ctrl-C meant for us must not kill it first.
        .process_group(0);
    // SAFETY: prctl is async-signal-safe; the closure allocates nothing.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn()?;
    // Wait until the trap is set: a SIGTERM before that would kill the shell without
    // cleanup. EOF (the shell died) or anything else is a failure.
    let mut line = String::new();
    let armed = child
        .stdout
        .take()
        .map(|out| BufReader::new(out).read_line(&mut line));
    if matches!(armed, Some(Ok(_))) && line.trim() == "armed" {
        Ok(child)
    } else {
        let _ = child.kill();
        let _ = child.wait();
        Err(io::Error::other("the watchdog process did not start"))
    }
}

/// A watchdog process guarding one mount.
pub(crate) struct Watchdog {
    child: Child,
}

impl Watchdog {
    /// Starts a watchdog for the mount described by `entry`.
    pub(crate) fn start(entry: sys::MountEntry) -> io::Result<Watchdog> {
        let (reply, result) = mpsc::channel();
        spawner()?
            .send(SpawnRequest { entry, reply })
            .map_err(|_| io::Error::other("watchdog spawner thread is gone"))?;
        let child = result
            .recv_timeout(Duration::from_secs(5))
            .map_err(|_| io::Error::other("watchdog spawner did not answer"))??;
        Ok(Watchdog { child })
    }

    /// Stops the watchdog (and its `sleep`, in the same process group) without letting
    /// it clean up.
    pub(crate) fn stop(mut self) {
        let pgid = self.child.id() as libc::pid_t;
        // SAFETY: kill has no memory-safety preconditions; the group is our child's own.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}
