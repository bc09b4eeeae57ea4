//! Bounds, drops, cancellation, callbacks, host-driven dispatch, threads that exit.

use crate::common::*;
use fileloop::buf::AlignedBuf;
use fileloop::{Engine, OpenOptions};
use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Polls a future once (submitting it) with a no-op waker.
fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    let waker = futures::task::noop_waker();
    Pin::new(f).poll(&mut Context::from_waker(&waker))
}

/// Waits until the engine has nothing in flight and nothing parked.
fn wait_idle(engine: &Engine) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        engine.dispatch();
        let s = engine.stats();
        if s.in_flight == 0 && s.parked == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "engine never went idle: {s:?}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn many_through_small_ring(choice: fileloop::BackendChoice, batch: bool) {
    let Some(engine) = small_engine(choice, batch) else {
        return;
    };
    block_on(async {
        let dir = tempdir();
        let data = pattern(10_000 * 8);
        let path = std_file(&dir, "f", &data);
        let file = engine.open(&path).await.unwrap();
        let reads = (0..10_000u64).map(|i| file.read_at(vec![0u8; 8], i * 8));
        let results = futures::future::join_all(reads).await;
        for (i, (n, buf)) in results.into_iter().enumerate() {
            assert_eq!(n.unwrap(), 8);
            assert_eq!(&buf[..], &data[i * 8..i * 8 + 8], "read {i}");
        }
        // Writes (which io_uring runs asynchronously) through the same small ring.
        let out = OpenOptions::new()
            .write(true)
            .create(true)
            .open_with(&engine, dir.path().join("o"))
            .await
            .unwrap();
        let writes = (0..10_000u64).map(|i| out.write_at(i.to_le_bytes().to_vec(), i * 8));
        for (n, _) in futures::future::join_all(writes).await {
            assert_eq!(n.unwrap(), 8);
        }
        let written = std::fs::read(dir.path().join("o")).unwrap();
        for i in 0..10_000u64 {
            let at = i as usize * 8;
            assert_eq!(
                u64::from_le_bytes(written[at..at + 8].try_into().unwrap()),
                i
            );
        }
    });
    wait_idle(&engine);
}

#[test]
fn ten_thousand_ops_through_a_16_entry_ring_uring() {
    many_through_small_ring(fileloop::BackendChoice::Uring, false);
}

#[test]
fn ten_thousand_ops_through_a_16_entry_ring_uring_batched() {
    many_through_small_ring(fileloop::BackendChoice::Uring, true);
}

#[test]
fn ten_thousand_ops_through_a_16_entry_ring_pool() {
    many_through_small_ring(fileloop::BackendChoice::Pool, false);
}

/// The open flag for direct (unbuffered) I/O, where the platform has one.
fn direct_flag() -> Option<i32> {
    #[cfg(any(target_os = "linux", target_os = "freebsd"))]
    return Some(libc::O_DIRECT);
    #[cfg(windows)]
    return Some(0x2000_0000); // FILE_FLAG_NO_BUFFERING
    #[allow(unreachable_code)]
    None
}

/// 10,000 operations dropped at random points (before submission, just after, or later).
/// Afterwards freshly allocated buffers must keep their contents: a buffer freed while the
/// kernel could still write into it would be reused and overwritten.
fn random_drops(choice: fileloop::BackendChoice, batch: bool) {
    let builder = Engine::builder().batch_submissions(batch);
    let Some(engine) = crate::backends::engine_from(builder, choice) else {
        return;
    };
    let dir = tempdir();
    let data = pattern(1 << 20);
    let path = std_file(&dir, "f", &data);
    let small = std_file(&dir, "small", &data[..4096]);
    let mut rng = 0x9e3779b97f4a7c15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    block_on(async {
        let file = engine.open(&path).await.unwrap();
        let direct = match direct_flag() {
            Some(flag) => OpenOptions::new()
                .read(true)
                .custom_flags(flag)
                .open_with(&engine, &path)
                .await
                .ok(),
            None => None,
        };
        let out = OpenOptions::new()
            .write(true)
            .create(true)
            .open_with(&engine, dir.path().join("w"))
            .await
            .unwrap();
        let mut keep = Vec::new();
        let mut sentinels = Vec::new();
        let mut max_parked = 0;
        for i in 0..10_000u64 {
            let r = next();
            let pos = (r >> 8) % (1 << 20);
            let mut fut: Pin<Box<dyn Future<Output = usize> + Send>> = match r % 4 {
                // A whole-file read: a linked chain on io_uring once the directory is known.
                0 => {
                    let (engine, small) = (engine.clone(), small.clone());
                    Box::pin(async move { engine.read(&small).await.map_or(0, |v| v.len()) })
                }
                1 => {
                    let f = file.read_at(vec![0u8; 4096], pos);
                    Box::pin(async move { f.await.0.unwrap_or(0) })
                }
                2 => match &direct {
                    Some(d) => {
                        let f = d.read_at(AlignedBuf::new(4096, 4096).unwrap(), pos & !4095);
                        Box::pin(async move { f.await.0.unwrap_or(0) })
                    }
                    None => Box::pin(async move { 0 }),
                },
                _ => {
                    let f = out.write_at(vec![i as u8; 4096], pos);
                    Box::pin(async move { f.await.0.unwrap_or(0) })
                }
            };
            match (r >> 3) % 3 {
                0 => drop(fut),
                1 => {
                    let _ = poll_once(&mut fut);
                    drop(fut);
                }
                _ => {
                    let _ = poll_once(&mut fut);
                    keep.push(fut);
                    if keep.len() > 64 {
                        drop(keep.swap_remove((r as usize >> 5) % keep.len()));
                    }
                }
            }
            if i % 16 == 0 {
                sentinels.push(vec![0xAAu8; 4096]);
            }
            max_parked = max_parked.max(engine.stats().parked);
        }
        drop(keep);
        let s = engine.stats();
        println!(
            "after the drops: {} in flight, {} parked (at most {max_parked} parked at once)",
            s.in_flight, s.parked
        );
        wait_idle(&engine);
        for s in &sentinels {
            assert!(
                s.iter().all(|&b| b == 0xAA),
                "a freed buffer was written after its drop"
            );
        }
    });
    // The files' closes, submitted on drop, finish too.
    wait_idle(&engine);
}

#[test]
fn ten_thousand_random_drops_uring() {
    random_drops(fileloop::BackendChoice::Uring, false);
}

#[test]
fn ten_thousand_random_drops_uring_batched() {
    random_drops(fileloop::BackendChoice::Uring, true);
}

#[test]
fn ten_thousand_random_drops_pool() {
    random_drops(fileloop::BackendChoice::Pool, false);
}

/// Callbacks run on the engine's completion thread in the default mode.
async fn callbacks_deliver_everything(engine: Engine) {
    let dir = tempdir();
    let path = std_file(&dir, "f", &pattern(4096));
    let file = engine.open(&path).await.unwrap();
    let (tx, rx) = mpsc::channel();
    for i in 0..2000u64 {
        let tx = tx.clone();
        file.read_at(vec![0u8; 1], i % 4096)
            .on_complete(move |(n, buf)| {
                tx.send((i, n.unwrap(), buf[0])).unwrap();
            });
    }
    drop(tx);
    let mut got: Vec<_> = rx.iter().collect();
    got.sort();
    assert_eq!(got.len(), 2000);
    for (i, n, b) in got {
        assert_eq!((n, b), (1, (i % 4096 % 251) as u8));
    }
}

/// Explicit cancel of an operation that has not started: it never runs and says so.
#[cfg(unix)]
#[test]
fn cancel_before_start_on_pool() {
    let engine = Engine::builder()
        .backend(fileloop::BackendChoice::Pool)
        .ignore_env()
        .pool_threads(1)
        .build()
        .unwrap();
    let dir = tempdir();
    let fifo = dir.path().join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: plain mkfifo on a valid path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    block_on(async {
        // The only worker blocks opening the FIFO until a writer appears.
        let mut blocker = Box::pin(engine.open(&fifo));
        assert!(poll_once(&mut blocker).is_pending());
        let target = std_file(&dir, "t", b"x");
        let file = std::fs::File::open(&target).unwrap();
        let file = fileloop::File::from_std(&engine, file, &target);
        let mut read = file.read_at(vec![0u8; 1], 0);
        assert!(poll_once(&mut read).is_pending());
        read.cancel();
        let _writer = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
        blocker.await.unwrap();
        let (res, _) = read.await;
        let err = res.unwrap_err();
        assert!(fileloop::is_cancelled(&err), "{err}");
        // A completed operation's cancel is a no-op: it reports that it ran.
        let mut done = file.read_at(vec![0u8; 1], 0);
        let (res, _) = loop {
            if let Poll::Ready(out) = poll_once(&mut done) {
                break out;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        assert_eq!(res.unwrap(), 1);
    });
}

/// Host-driven mode: no engine thread; the host polls the descriptor and dispatches. Many
/// completions coalesce into few notifications; nothing is lost and callbacks run on the
/// host's thread.
#[cfg(unix)]
fn host_driven(choice: fileloop::BackendChoice, batch: bool) {
    let Ok(engine) = Engine::builder()
        .backend(choice)
        .ignore_env()
        .host_driven(true)
        .batch_submissions(batch)
        .build()
    else {
        println!("skipped: {choice:?} unavailable");
        return;
    };
    let dir = tempdir();
    let data = std::sync::Arc::new(pattern(4096));
    let path = std_file(&dir, "f", &data);
    let me = std::thread::current().id();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let f = fileloop::File::from_std(&engine, std::fs::File::open(&path).unwrap(), &path);
    let fd = engine.completion_fd();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut submitted = false;
    while done.load(std::sync::atomic::Ordering::SeqCst) < 5000 {
        assert!(Instant::now() < deadline, "host loop starved");
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, 10) };
        let t = Instant::now();
        engine.dispatch();
        assert!(
            t.elapsed() < Duration::from_millis(500),
            "dispatch must not block"
        );
        if !submitted {
            submitted = true;
            for i in 0..5000u64 {
                let (done, data) = (done.clone(), data.clone());
                let op = if i % 2 == 0 {
                    f.read_at(vec![0u8; 8], 8 * (i % 512))
                } else {
                    f.read_at(vec![0u8; 8], 1 << 30)
                };
                op.on_complete(move |(n, buf)| {
                    assert_eq!(std::thread::current().id(), me);
                    let n = n.unwrap();
                    assert_eq!(n, if i % 2 == 0 { 8 } else { 0 });
                    assert_eq!(&buf[..n], &data[(8 * (i % 512)) as usize..][..n]);
                    done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                });
            }
        }
    }
    assert_eq!(done.load(std::sync::atomic::Ordering::SeqCst), 5000);
}

#[cfg(unix)]
#[test]
fn host_driven_uring() {
    host_driven(fileloop::BackendChoice::Uring, false);
}

/// Batched: the submissions wait for the host's dispatch, which the descriptor asks for.
#[cfg(unix)]
#[test]
fn host_driven_uring_batched() {
    host_driven(fileloop::BackendChoice::Uring, true);
}

#[cfg(unix)]
#[test]
fn host_driven_pool() {
    host_driven(fileloop::BackendChoice::Pool, false);
}

/// Operations submitted from threads that exit at once still complete.
async fn submitting_threads_may_exit(engine: Engine) {
    let dir = tempdir();
    let path = dir.path().join("w");
    let file = std::sync::Arc::new(
        OpenOptions::new()
            .write(true)
            .create(true)
            .open_with(&engine, &path)
            .await
            .unwrap(),
    );
    let (tx, rx) = mpsc::channel();
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let (file, tx) = (file.clone(), tx.clone());
            std::thread::spawn(move || {
                for i in 0..100u64 {
                    let tx = tx.clone();
                    file.write_at(vec![t as u8; 512], (t * 100 + i) * 512)
                        .on_complete(move |(n, _)| {
                            tx.send(n.unwrap()).unwrap();
                        });
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    drop(tx);
    let got: Vec<usize> = rx.iter().collect();
    assert_eq!(got.len(), 800);
    assert!(got.iter().all(|&n| n == 512));
    let data = std::fs::read(&path).unwrap();
    for t in 0..8usize {
        assert!(data[t * 51200..(t + 1) * 51200]
            .iter()
            .all(|&b| b == t as u8));
    }
}

/// Two threads submit at the same time; nothing is lost.
async fn two_threads_submit_concurrently(engine: Engine) {
    let dir = tempdir();
    let data = pattern(1 << 16);
    let path = std_file(&dir, "f", &data);
    let file = std::sync::Arc::new(engine.open(&path).await.unwrap());
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (file, data) = (file.clone(), data.clone());
            std::thread::spawn(move || {
                block_on(async {
                    for i in 0..5000usize {
                        let pos = (i * 61) % (data.len() - 16);
                        let (n, buf) = file.read_at(vec![0u8; 16], pos as u64).await;
                        assert_eq!(n.unwrap(), 16);
                        assert_eq!(&buf[..], &data[pos..pos + 16]);
                    }
                })
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
}

/// Dropping the engine with operations in flight does not block and they still complete.
async fn engine_drop_with_operations_in_flight(engine: Engine) {
    let dir = tempdir();
    let path = dir.path().join("w");
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .open_with(&engine, &path)
        .await
        .unwrap();
    let pending: Vec<_> = (0..64u64)
        .map(|i| file.write_at(vec![3u8; 4096], i * 4096))
        .collect();
    let t = Instant::now();
    drop(engine);
    assert!(t.elapsed() < Duration::from_secs(1));
    for (n, _) in futures::future::join_all(pending).await {
        assert_eq!(n.unwrap(), 4096);
    }
}

per_backend!(
    callbacks_deliver_everything,
    submitting_threads_may_exit,
    two_threads_submit_concurrently,
    engine_drop_with_operations_in_flight,
);
