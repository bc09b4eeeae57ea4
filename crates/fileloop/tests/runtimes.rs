//! Runtime drivers: completions reaped by tokio's or async-io's reactor (host-driven engines).
//! Each mode completes thousands of operations with none lost, including writes (which
//! io_uring completes asynchronously, so their notifications coalesce), and dropping futures
//! midway is sound.
#![cfg(all(unix, any(feature = "tokio", feature = "async-io")))]

use fileloop::{BackendChoice, Engine};
use std::time::Duration;

/// Each backend, and io_uring with batched submission (which the drivers submit).
fn choices() -> [(BackendChoice, bool); 3] {
    [
        (BackendChoice::Uring, false),
        (BackendChoice::Uring, true),
        (BackendChoice::Pool, false),
    ]
}

fn builder((choice, batch): (BackendChoice, bool)) -> fileloop::Builder {
    Engine::builder()
        .backend(choice)
        .ignore_env()
        .batch_submissions(batch)
}

/// Reads and writes `n` times, dropping every seventh operation after one poll.
async fn workload(engine: &Engine, dir: &std::path::Path, n: u64) {
    let data: Vec<u8> = (0..65536u32).map(|i| (i % 251) as u8).collect();
    let src = dir.join("src");
    std::fs::write(&src, &data).unwrap();
    let file = engine.open(&src).await.unwrap();
    let out = fileloop::OpenOptions::new()
        .write(true)
        .create(true)
        .open_with(engine, dir.join("out"))
        .await
        .unwrap();
    let mut pending = Vec::new();
    for i in 0..n {
        let pos = (i * 97) % 65000;
        if i % 7 == 0 {
            let mut op = Box::pin(file.read_at(vec![0u8; 64], pos));
            let waker = futures::task::noop_waker();
            let _ = op
                .as_mut()
                .poll(&mut std::task::Context::from_waker(&waker));
            drop(op);
            continue;
        }
        let (read, write) = (
            file.read_at(vec![0u8; 64], pos),
            out.write_at(vec![1u8; 64], i * 64),
        );
        pending.push(async move {
            let (n, buf) = read.await;
            assert_eq!(n.unwrap(), 64);
            let (w, _) = write.await;
            assert_eq!(w.unwrap(), 64);
            buf[0]
        });
        if pending.len() == 64 {
            futures::future::join_all(std::mem::take(&mut pending)).await;
        }
    }
    futures::future::join_all(pending).await;
}

use std::future::Future;

#[cfg(feature = "tokio")]
#[test]
fn tokio_driver_current_thread() {
    for choice in choices() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let engine = rt.block_on(async {
            let Ok(engine) = fileloop::rt::tokio::engine(builder(choice)) else {
                println!("skipped: {choice:?} unavailable");
                return None;
            };
            workload(&engine, dir.path(), 5000).await;
            Some(engine)
        });
        if let Some(engine) = engine {
            rt.block_on(async { tokio::time::sleep(Duration::from_millis(20)).await });
            let stats = engine.stats();
            assert!(stats.completed > 5000, "{stats:?}");
        }
    }
}

#[cfg(feature = "tokio")]
#[test]
fn tokio_driver_multi_thread_and_shutdown() {
    for choice in choices() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        rt.block_on(async {
            let Ok(engine) = builder(choice).host_driven(true).build() else {
                println!("skipped: {choice:?} unavailable");
                return;
            };
            let driver = fileloop::rt::tokio::drive(&engine).unwrap();
            let tasks: Vec<_> = (0..4)
                .map(|t| {
                    let (engine, dir) = (engine.clone(), dir.path().join(format!("d{t}")));
                    std::fs::create_dir(&dir).unwrap();
                    tokio::spawn(async move { workload(&engine, &dir, 1500).await })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            // The driver ends once the engine is gone and idle.
            drop(engine);
            tokio::time::timeout(Duration::from_secs(10), driver)
                .await
                .expect("driver task ends after the engine is dropped")
                .unwrap();
        });
    }
}

#[cfg(feature = "tokio")]
#[test]
fn tokio_driver_refuses_an_engine_with_its_own_thread() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let engine = Engine::builder().build().unwrap();
        let err = fileloop::rt::tokio::drive(&engine).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    });
}

#[cfg(feature = "async-io")]
#[test]
fn async_io_driver_on_smol() {
    for choice in choices() {
        let dir = tempfile::tempdir().unwrap();
        smol::block_on(async {
            let Ok(engine) = builder(choice).host_driven(true).build() else {
                println!("skipped: {choice:?} unavailable");
                return;
            };
            let driver = smol::spawn(fileloop::rt::async_io::drive(&engine).unwrap());
            workload(&engine, dir.path(), 5000).await;
            drop(engine);
            // Closes submitted by the drops above finish, then the driver ends (it returns
            // only when nothing is outstanding).
            smol::future::or(driver, async {
                smol::Timer::after(Duration::from_secs(10)).await;
                panic!("driver did not end after the engine was dropped");
            })
            .await;
        });
    }
}
