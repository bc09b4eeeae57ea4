//! Futures complete on every executor: tokio multi-thread (tasks moving between workers),
//! tokio current-thread, smol, futures' block_on (the other tests) and plain threads.

use crate::common::*;
use fileloop::{BackendChoice, Engine};
use std::sync::Arc;

fn engines() -> Vec<Engine> {
    [BackendChoice::Uring, BackendChoice::Pool]
        .into_iter()
        .filter_map(engine)
        .collect()
}

fn fixture() -> (tempfile::TempDir, Vec<std::path::PathBuf>) {
    let dir = tempdir();
    let paths = (0..50)
        .map(|i| std_file(&dir, &format!("f{i}"), &pattern(1000 + i)))
        .collect();
    (dir, paths)
}

async fn check_file(engine: Engine, path: std::path::PathBuf, i: usize) {
    let file = engine.open(&path).await.unwrap();
    let (n, buf) = file.read_to_end(Vec::new()).await;
    assert_eq!(n.unwrap(), 1000 + i);
    assert_eq!(buf, pattern(1000 + i));
    file.close().await.unwrap();
}

#[test]
fn tokio_multi_thread() {
    let (_dir, paths) = fixture();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    for engine in engines() {
        rt.block_on(async {
            let mut tasks = Vec::new();
            for round in 0..20 {
                for (i, p) in paths.iter().enumerate() {
                    let (e, p) = (engine.clone(), p.clone());
                    tasks.push(tokio::spawn(async move {
                        if round % 2 == 0 {
                            tokio::task::yield_now().await; // move between workers
                        }
                        check_file(e, p, i).await
                    }));
                }
            }
            for t in tasks {
                t.await.unwrap();
            }
        });
    }
}

#[test]
fn tokio_current_thread() {
    let (_dir, paths) = fixture();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for engine in engines() {
        rt.block_on(async {
            let tasks: Vec<_> = paths
                .iter()
                .enumerate()
                .map(|(i, p)| tokio::spawn(check_file(engine.clone(), p.clone(), i)))
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        });
    }
}

#[test]
fn smol_executor() {
    let (_dir, paths) = fixture();
    for engine in engines() {
        smol::block_on(async {
            let ex = smol::Executor::new();
            ex.run(async {
                let tasks: Vec<_> = paths
                    .iter()
                    .enumerate()
                    .map(|(i, p)| ex.spawn(check_file(engine.clone(), p.clone(), i)))
                    .collect();
                for t in tasks {
                    t.await;
                }
            })
            .await;
        });
    }
}

#[test]
fn plain_threads() {
    let (_dir, paths) = fixture();
    let paths = Arc::new(paths);
    for engine in engines() {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (engine, paths) = (engine.clone(), paths.clone());
                std::thread::spawn(move || {
                    for (i, p) in paths.iter().enumerate() {
                        block_on(check_file(engine.clone(), p.clone(), i));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }
}

/// Futures are Send for Send buffers (a compile-time check).
#[allow(dead_code)]
fn futures_are_send(file: &fileloop::File) {
    fn is_send<T: Send>(_: &T) {}
    is_send(&file.read_at(vec![0u8; 1], 0));
    is_send(&file.write_at(vec![0u8; 1], 0));
    is_send(&file.read_exact_at(vec![0u8; 1], 0));
    is_send(&fileloop::read("x"));
}
