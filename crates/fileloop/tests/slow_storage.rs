//! Slow, failing and hung storage, on a FUSE filesystem with injected latency, hangs and
//! errors (`fileloop-testfs`). Every test runs on both backends; it needs root for the mount
//! and prints why it skips otherwise. Every hang is released from the daemon's side, so the
//! test process can always exit.
//!
//! Timing bounds here are deliberately looser than the targets (this machine is shared and
//! noisy); each test prints the figure it measured.
#![cfg(target_os = "linux")]

use fileloop::{BackendChoice, DeviceClass, Engine, Priority};
use fileloop_testfs::{Behaviour, Config, FileSpec, Mounted};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

fn mount(files: Vec<FileSpec>) -> Option<Mounted> {
    if let Some(why) = fileloop_testfs::skip_reason() {
        println!("skipped: {why}");
        return None;
    }
    let mut config = Config::new();
    for f in files {
        config = config.file(f);
    }
    Some(config.mount().expect("mount the test filesystem"))
}

fn engines(builder: impl Fn() -> fileloop::Builder) -> Vec<Engine> {
    [BackendChoice::Uring, BackendChoice::Pool]
        .into_iter()
        .filter_map(|c| match builder().backend(c).ignore_env().build() {
            Ok(e) => Some(e),
            Err(e) => {
                println!("skipped {c:?}: {e}");
                None
            }
        })
        .collect()
}

fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    let waker = futures::task::noop_waker();
    Pin::new(f).poll(&mut Context::from_waker(&waker))
}

fn block_on<F: Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

#[test]
fn fuse_slow_file_64_concurrent_reads_overlap_and_never_block_submit() {
    let Some(fs) = mount(vec![
        FileSpec::new("slow", 1 << 20).behaviour(Behaviour::Latency(Duration::from_millis(50)))
    ]) else {
        return;
    };
    for engine in engines(Engine::builder) {
        block_on(async {
            let file = engine.open(fs.file_path("slow")).await.unwrap();
            assert_eq!(file.device_class(), DeviceClass::Network);
            let start = Instant::now();
            let mut worst_submit = Duration::ZERO;
            let mut ops = Vec::new();
            for i in 0..64u64 {
                let mut op = file.read_at(vec![0u8; 4096], i * 4096);
                let t = Instant::now();
                assert!(poll_once(&mut op).is_pending());
                worst_submit = worst_submit.max(t.elapsed());
                ops.push(op);
            }
            for (i, (n, buf)) in futures::future::join_all(ops).await.into_iter().enumerate() {
                assert_eq!(n.unwrap(), 4096);
                assert_eq!(buf, fileloop_testfs::pattern(i as u64 * 4096, 4096));
            }
            let took = start.elapsed();
            println!(
                "{}: 64 reads of a 50 ms file took {took:?}; worst submit {worst_submit:?}",
                engine.backend()
            );
            // Serial would be 3.2 s; the target is 100 ms.
            assert!(
                took < Duration::from_millis(600),
                "reads did not overlap: {took:?}"
            );
            assert!(
                worst_submit < Duration::from_millis(5),
                "submit blocked: {worst_submit:?}"
            );
        });
    }
}

#[test]
fn fuse_hung_file_does_not_starve_local_reads_or_the_loop() {
    let Some(fs) = mount(vec![FileSpec::new("hung", 65536).behaviour(Behaviour::Hang)]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("local");
    std::fs::write(&local, vec![5u8; 1 << 20]).unwrap();
    for engine in engines(Engine::builder) {
        block_on(async {
            let file = engine.open(&local).await.unwrap();
            // Local reads for a fixed time, with a 1 ms "timer" checked between reads.
            let rate = |label: &'static str| {
                let file = &file;
                async move {
                    let start = Instant::now();
                    let (mut n, mut lags) = (0u64, Vec::new());
                    let mut next = start + Duration::from_millis(1);
                    while start.elapsed() < Duration::from_millis(300) {
                        let (res, _) = file.read_at(vec![0u8; 4096], (n % 256) * 4096).await;
                        res.unwrap();
                        n += 1;
                        let now = Instant::now();
                        if now >= next {
                            lags.push(now - next);
                            next = now + Duration::from_millis(1);
                        }
                    }
                    lags.sort();
                    let p99 = lags.get(lags.len() * 99 / 100).copied().unwrap_or_default();
                    println!("{label}: {n} reads in 300 ms, timer lateness p99 {p99:?}");
                    (n, p99)
                }
            };
            let (normal, _) = rate("normal").await;
            let hung_file = engine.open(fs.file_path("hung")).await.unwrap();
            let mut hung = hung_file.read_at(vec![0u8; 4096], 0);
            assert!(poll_once(&mut hung).is_pending());
            assert!(fs.wait_for_pending_hangs(1, Duration::from_secs(5)));
            let (with_hang, p99) = rate("with a hung read").await;
            println!(
                "{}: local read rate with a hang = {:.0}% of normal",
                engine.backend(),
                100.0 * with_hang as f64 / normal as f64
            );
            // A loop blocked by the hung read would complete no reads at all until the release
            // below; the lateness figure is printed (on a shared machine it mostly measures
            // the load), the 1 ms target is checked by the bench.
            assert!(
                with_hang as f64 >= 0.5 * normal as f64,
                "local reads starved"
            );
            let _ = p99;
            fs.release_hangs();
            let (n, buf) = hung.await;
            assert_eq!(n.unwrap(), 4096);
            assert_eq!(buf, fileloop_testfs::pattern(0, 4096));
            fs.hang_again();
        });
    }
}

#[test]
fn fuse_hung_read_deadline_times_out_and_parks_until_released() {
    let Some(fs) = mount(vec![FileSpec::new("hung", 65536).behaviour(Behaviour::Hang)]) else {
        return;
    };
    for engine in engines(Engine::builder) {
        block_on(async {
            let file = engine.open(fs.file_path("hung")).await.unwrap();
            let start = Instant::now();
            let res = file
                .read_at(vec![0u8; 4096], 0)
                .timeout(Duration::from_millis(100))
                .await;
            let took = start.elapsed();
            println!(
                "{}: deadline of 100 ms returned after {took:?}",
                engine.backend()
            );
            assert_eq!(res.unwrap_err().kind(), std::io::ErrorKind::TimedOut);
            assert!(
                took >= Duration::from_millis(100) && took < Duration::from_millis(1000),
                "{took:?}"
            );
            assert_eq!(
                engine.stats().parked,
                1,
                "the buffer stays parked while the kernel holds it"
            );
            assert!(fs.wait_for_pending_hangs(1, Duration::from_secs(5)));
            fs.release_hangs();
            let deadline = Instant::now() + Duration::from_secs(10);
            while engine.stats().parked != 0 {
                assert!(Instant::now() < deadline, "parked buffer never freed");
                std::thread::sleep(Duration::from_millis(5));
            }
            fs.hang_again();
        });
    }
}

#[test]
fn fuse_engine_drop_with_a_hung_read_does_not_block() {
    let Some(fs) = mount(vec![FileSpec::new("hung", 65536).behaviour(Behaviour::Hang)]) else {
        return;
    };
    for engine in engines(Engine::builder) {
        let file = block_on(engine.open(fs.file_path("hung"))).unwrap();
        let mut op = file.read_at(vec![0u8; 4096], 0);
        assert!(poll_once(&mut op).is_pending());
        assert!(fs.wait_for_pending_hangs(1, Duration::from_secs(5)));
        let t = Instant::now();
        drop(op);
        drop(file);
        drop(engine);
        assert!(t.elapsed() < Duration::from_millis(500), "drop blocked");
        fs.release_hangs();
        fs.hang_again();
    }
}

#[test]
fn fuse_eio_enospc_and_short_reads() {
    let Some(fs) = mount(vec![
        FileSpec::new("eio", 65536).behaviour(Behaviour::Eio),
        FileSpec::new("full", 0)
            .behaviour(Behaviour::Enospc)
            .writable(true),
        FileSpec::new("short", 100_000).behaviour(Behaviour::ShortReads),
    ]) else {
        return;
    };
    for engine in engines(Engine::builder) {
        block_on(async {
            let file = engine.open(fs.file_path("eio")).await.unwrap();
            let (res, _) = file.read_at(vec![0u8; 4096], 0).await;
            let err = res.unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains("read_at") && msg.contains("eio"), "{msg}");
            let inner = err
                .get_ref()
                .unwrap()
                .downcast_ref::<fileloop::OpError>()
                .unwrap();
            assert_eq!(inner.os_error().raw_os_error(), Some(libc::EIO));

            let full = fileloop::OpenOptions::new()
                .write(true)
                .open_with(&engine, fs.file_path("full"))
                .await
                .unwrap();
            let (res, _) = full.write_all_at(vec![1u8; 4096], 0).await;
            let err = res.unwrap_err();
            assert!(err.to_string().contains("full"), "{err}");
            assert_eq!(err.kind(), std::io::ErrorKind::StorageFull);

            let short = engine.open(fs.file_path("short")).await.unwrap();
            let (n, _) = short.read_at(vec![0u8; 8192], 0).await;
            assert!(n.unwrap() < 8192, "the filesystem gives short reads");
            let (res, buf) = short.read_exact_at(vec![0u8; 50_000], 1234).await;
            res.unwrap();
            assert_eq!(buf, fileloop_testfs::pattern(1234, 50_000));
        });
    }
}

#[test]
fn fuse_device_bound_serves_interactive_before_bulk() {
    let Some(fs) = mount(vec![
        FileSpec::new("slow", 1 << 20).behaviour(Behaviour::Hang)
    ]) else {
        return;
    };
    let builder = || Engine::builder().device_limit(DeviceClass::Network, Some(1));
    for engine in engines(builder) {
        block_on(async {
            let file = engine.open(fs.file_path("slow")).await.unwrap();
            // The single slot is taken by a hung read; then bulk and interactive reads queue.
            let mut first = file.read_at(vec![0u8; 16], 0);
            assert!(poll_once(&mut first).is_pending());
            assert!(fs.wait_for_pending_hangs(1, Duration::from_secs(5)));
            let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            for (i, prio) in [
                (1, Priority::Bulk),
                (2, Priority::Bulk),
                (3, Priority::Interactive),
                (4, Priority::Interactive),
            ] {
                let order = order.clone();
                file.read_at(vec![0u8; 16], i * 16)
                    .priority(prio)
                    .on_complete(move |(n, _)| {
                        n.unwrap();
                        order.lock().unwrap().push(i);
                    });
            }
            assert_eq!(fs.pending_hangs(), 1, "the bound holds the others back");
            fs.release_hangs(); // from now on the file answers at once
            first.await.0.unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            while order.lock().unwrap().len() < 4 {
                assert!(Instant::now() < deadline);
                std::thread::sleep(Duration::from_millis(2));
            }
            assert_eq!(*order.lock().unwrap(), vec![3, 4, 1, 2]);
            fs.hang_again();
        });
    }
}
