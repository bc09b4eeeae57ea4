//! Deadlines: an operation that does not finish in time resolves with TimedOut while its
//! resources stay parked until the kernel lets go. A FIFO nobody writes to stands in for a
//! hung mount here: opening it blocks a pool thread. (io_uring opens a FIFO without waiting
//! for a writer, so the io_uring variant of this test uses a FUSE hang, in `slow_storage.rs`.)
#![cfg(unix)]

use fileloop::{BackendChoice, Engine};
use std::time::{Duration, Instant};

fn engines() -> Vec<Engine> {
    [BackendChoice::Uring, BackendChoice::Pool]
        .into_iter()
        .filter_map(|c| Engine::builder().backend(c).ignore_env().build().ok())
        .collect()
}

fn fifo(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("fifo");
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: plain mkfifo on a valid path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    path
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn deadline_on_a_hung_open_returns_timed_out_and_parks() {
    {
        let engine = Engine::builder()
            .backend(BackendChoice::Pool)
            .ignore_env()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = fifo(dir.path());
        let start = Instant::now();
        let res = futures::executor::block_on(fileloop::timeout(
            Duration::from_millis(100),
            engine.open(&path),
        ));
        let took = start.elapsed();
        let err = res.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert!(took >= Duration::from_millis(100), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
        // Released from the other side: the parked open completes and its descriptor is closed.
        let writer = std::fs::OpenOptions::new().write(true).open(&path).ok();
        wait_until("the parked open to be released", || {
            engine.dispatch();
            let s = engine.stats();
            s.parked == 0 && s.in_flight == 0
        });
        drop(writer);
    }
}

#[test]
fn op_timeout_passes_results_through_in_time() {
    for engine in engines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"quick").unwrap();
        futures::executor::block_on(async {
            let file = engine.open(&path).await.unwrap();
            let (n, buf) = file
                .read_at(vec![0u8; 5], 0)
                .timeout(Duration::from_secs(5))
                .await
                .unwrap();
            assert_eq!(&buf[..n.unwrap()], b"quick");
            let past = Instant::now() - Duration::from_millis(1);
            let late = file.read_at(vec![0u8; 5], 0).deadline(past).await;
            // Either it finished on its first poll or it had already expired: never a hang.
            if let Err(e) = late {
                assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
            }
        });
    }
}
