//! `Engine::read`: whole files, by the one-operation form (a linked chain on io_uring) once the
//! directory is known and by the general way before; both must give what `std::fs::read` gives.

use crate::common::*;
use fileloop::Engine;
use std::future::Future;
use std::pin::Pin;
use std::task::Context;

/// Operations the engine started (native and pool) since `before`.
fn ops_since(engine: &Engine, before: u64) -> u64 {
    let s = engine.stats();
    s.native_ops + s.pool_ops - before
}

fn ops(engine: &Engine) -> u64 {
    ops_since(engine, 0)
}

async fn read_whole_matches_std_at_every_size(engine: Engine) {
    let dir = tempdir();
    for len in [0usize, 1, 4095, 4096, 65535, 65536, 65537, 300_000] {
        let path = std_file(&dir, &format!("f{len}"), &pattern(len));
        // The first read of the directory learns its device; later ones may take the chain.
        for round in 0..3 {
            let got = engine.read(&path).await.unwrap();
            assert_eq!(
                got,
                std::fs::read(&path).unwrap(),
                "{len} bytes, round {round}"
            );
        }
    }
}

/// Once the directory is known, a small file is one operation (not open, stat, reads, close).
async fn read_whole_small_file_is_one_operation(engine: Engine) {
    let dir = tempdir();
    let first = std_file(&dir, "first", b"learn the directory");
    engine.read(&first).await.unwrap();
    let path = std_file(&dir, "small", &pattern(4096));
    let before = ops(&engine);
    let native_before = engine.stats().native_ops;
    assert_eq!(engine.read(&path).await.unwrap(), pattern(4096));
    assert_eq!(ops_since(&engine, before), 1, "{:?}", engine.stats());
    if cfg!(target_os = "linux") && engine.backend().kind() == fileloop::BackendKind::Uring {
        // The chain itself, not a pool job.
        assert_eq!(engine.stats().native_ops - native_before, 1);
    }
}

async fn read_whole_errors_like_std(engine: Engine) {
    let dir = tempdir();
    let known = std_file(&dir, "known", b"x");
    for round in 0..2 {
        // Round 0: general way; round 1: the directory is known (chain on io_uring).
        engine.read(&known).await.unwrap();
        let missing = dir.path().join("missing");
        let err = engine.read(&missing).await.unwrap_err();
        assert_eq!(
            err.kind(),
            std::io::ErrorKind::NotFound,
            "round {round}: {err}"
        );
        assert!(err.to_string().contains("missing"), "names the path: {err}");
        let sub = dir.path().join("sub");
        std::fs::create_dir_all(&sub).unwrap();
        let err = engine.read(&sub).await.unwrap_err();
        let std_err = std::fs::read(&sub).unwrap_err();
        assert_eq!(err.kind(), std_err.kind(), "round {round}: {err}");
        let err = engine.read("nul\0inside").await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    }
}

async fn read_whole_relative_path(engine: Engine) {
    let got = engine.read("Cargo.toml").await.unwrap();
    assert_eq!(got, std::fs::read("Cargo.toml").unwrap());
}

/// Thousands of whole-file reads at once, a third dropped after their first poll, none lost.
async fn read_whole_thousands_concurrently_with_drops(engine: Engine) {
    let dir = tempdir();
    let paths: Vec<_> = (0..100)
        .map(|i| std_file(&dir, &format!("f{i}"), &pattern(i * 97)))
        .collect();
    engine.read(&paths[0]).await.unwrap();
    let mut kept = Vec::new();
    for i in 0..3000 {
        let path = paths[i % paths.len()].clone();
        let mut fut: Pin<Box<dyn Future<Output = Vec<u8>> + Send>> = {
            let engine = engine.clone();
            Box::pin(async move { engine.read(&path).await.unwrap() })
        };
        if i % 3 == 0 {
            let waker = futures::task::noop_waker();
            let _ = fut.as_mut().poll(&mut Context::from_waker(&waker));
            drop(fut);
        } else {
            kept.push(async move { (i, fut.await) });
        }
    }
    for (i, data) in futures::future::join_all(kept).await {
        assert_eq!(data, pattern((i % 100) * 97), "read {i}");
    }
    // Dropped chains finish in the kernel and give their fixed slots back.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while engine.stats().in_flight > 0 || engine.stats().parked > 0 {
        assert!(std::time::Instant::now() < deadline, "{:?}", engine.stats());
        engine.dispatch();
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

per_backend!(
    read_whole_matches_std_at_every_size,
    read_whole_small_file_is_one_operation,
    read_whole_errors_like_std,
    read_whole_relative_path,
    read_whole_thousands_concurrently_with_drops,
);

/// A ring too small for the chain (2 entries) reads through the pool instead of waiting forever.
#[test]
fn read_whole_through_a_ring_smaller_than_the_chain() {
    let builder = Engine::builder().ring_entries(2).rings(1);
    let Some(engine) = crate::backends::engine_from(builder, fileloop::BackendChoice::Uring) else {
        return;
    };
    block_on(async {
        let dir = tempdir();
        let path = std_file(&dir, "f", &pattern(5000));
        for _ in 0..3 {
            assert_eq!(engine.read(&path).await.unwrap(), pattern(5000));
        }
    });
}
