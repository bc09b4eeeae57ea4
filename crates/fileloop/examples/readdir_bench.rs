//! read_dir + metadata of every entry of one big directory: fileloop (io_uring and pool
//! engines; one metadata operation at a time, 64 in flight, or metadata read with the
//! listing by `ReadDir::with_metadata`) against std::fs and tokio::fs.
//!
//! ```text
//! cargo run --release --example readdir_bench [ENTRIES] [DIR]
//! ```
//! ENTRIES defaults to 100000; DIR (default: a new temporary directory) is filled with that
//! many empty files if it does not hold them yet. The page cache is warm: this measures the
//! per-entry cost of each API, not the disk. Each variant runs 3 times; the best is shown.

#[cfg(unix)]
use fileloop::{BackendChoice, Engine};
#[cfg(unix)]
use futures::stream::{FuturesUnordered, StreamExt};
#[cfg(unix)]
use std::path::{Path, PathBuf};
#[cfg(unix)]
use std::time::{Duration, Instant};

#[cfg(unix)]
const IN_FLIGHT: usize = 64;

#[cfg(unix)]
fn fill(dir: &Path, n: usize) {
    let have = std::fs::read_dir(dir).map_or(0, |d| d.count());
    if have >= n {
        return;
    }
    for i in have..n {
        std::fs::File::create(dir.join(format!("entry-{i:07}"))).unwrap();
    }
}

/// (entries, total bytes) by std.
#[cfg(unix)]
fn std_pass(dir: &Path) -> (usize, u64) {
    let (mut n, mut bytes) = (0, 0);
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        bytes += e.metadata().unwrap().len();
        n += 1;
    }
    (n, bytes)
}

#[cfg(unix)]
async fn tokio_pass(dir: &Path, concurrent: bool) -> (usize, u64) {
    let mut rd = tokio::fs::read_dir(dir).await.unwrap();
    let (mut n, mut bytes) = (0, 0);
    let mut pending = FuturesUnordered::new();
    while let Some(e) = rd.next_entry().await.unwrap() {
        n += 1;
        if concurrent {
            pending.push(async move { e.metadata().await.unwrap().len() });
            if pending.len() >= IN_FLIGHT {
                bytes += pending.next().await.unwrap();
            }
        } else {
            bytes += e.metadata().await.unwrap().len();
        }
    }
    while let Some(len) = pending.next().await {
        bytes += len;
    }
    (n, bytes)
}

#[cfg(unix)]
async fn fileloop_pass(
    engine: &Engine,
    dir: &Path,
    concurrent: bool,
    with_metadata: bool,
) -> (usize, u64) {
    let mut rd = engine
        .read_dir(dir)
        .await
        .unwrap()
        .with_metadata(with_metadata);
    let (mut n, mut bytes) = (0, 0);
    let mut pending = FuturesUnordered::new();
    while let Some(e) = rd.next_entry().await.unwrap() {
        n += 1;
        if concurrent {
            pending.push(async move { e.metadata().await.unwrap().len() });
            if pending.len() >= IN_FLIGHT {
                bytes += pending.next().await.unwrap();
            }
        } else {
            bytes += e.metadata().await.unwrap().len();
        }
    }
    while let Some(len) = pending.next().await {
        bytes += len;
    }
    (n, bytes)
}

#[cfg(unix)]
fn best(mut f: impl FnMut() -> (usize, u64), want: usize) -> Duration {
    (0..3)
        .map(|_| {
            let t = Instant::now();
            let (n, _) = f();
            assert_eq!(n, want, "entry count");
            t.elapsed()
        })
        .min()
        .unwrap()
}

#[cfg(unix)]
fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(100_000, |s| s.parse().expect("ENTRIES"));
    let tmp;
    let dir: PathBuf = match args.next() {
        Some(d) => d.into(),
        None => {
            tmp = tempfile::tempdir().unwrap();
            tmp.path().to_path_buf()
        }
    };
    std::fs::create_dir_all(&dir).unwrap();
    let t = Instant::now();
    fill(&dir, n);
    let n = std::fs::read_dir(&dir).unwrap().count();
    println!(
        "{n} entries in {} (ready in {:?})",
        dir.display(),
        t.elapsed()
    );
    std_pass(&dir); // warm the caches

    let std_time = best(|| std_pass(&dir), n);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let tokio_seq = best(|| rt.block_on(tokio_pass(&dir, false)), n);
    let tokio_conc = best(|| rt.block_on(tokio_pass(&dir, true)), n);

    let mut rows = vec![
        ("std::fs (sequential)".to_string(), std_time),
        ("tokio::fs (sequential)".to_string(), tokio_seq),
        (format!("tokio::fs ({IN_FLIGHT} in flight)"), tokio_conc),
    ];
    for choice in [BackendChoice::Uring, BackendChoice::Pool] {
        let engine = match Engine::builder().backend(choice).ignore_env().build() {
            Ok(e) => e,
            Err(e) => {
                println!("{choice:?}: unavailable ({e})");
                continue;
            }
        };
        let block = futures::executor::block_on;
        let seq = best(|| block(fileloop_pass(&engine, &dir, false, false)), n);
        let conc = best(|| block(fileloop_pass(&engine, &dir, true, false)), n);
        let on_tokio = best(|| rt.block_on(fileloop_pass(&engine, &dir, true, false)), n);
        let listed = best(|| block(fileloop_pass(&engine, &dir, false, true)), n);
        let listed_tokio = best(|| rt.block_on(fileloop_pass(&engine, &dir, false, true)), n);
        let name = format!("{choice:?}").to_lowercase();
        rows.push((format!("fileloop {name} (sequential)"), seq));
        rows.push((format!("fileloop {name} ({IN_FLIGHT} in flight)"), conc));
        rows.push((
            format!("fileloop {name} ({IN_FLIGHT} in flight, in tokio)"),
            on_tokio,
        ));
        rows.push((format!("fileloop {name} (with_metadata)"), listed));
        rows.push((
            format!("fileloop {name} (with_metadata, in tokio)"),
            listed_tokio,
        ));
    }
    println!(
        "{:<44} {:>10} {:>9} {:>10}",
        "variant", "time", "ns/entry", "vs std"
    );
    for (name, t) in rows {
        println!(
            "{name:<44} {:>10.1?} {:>9} {:>9.2}x",
            t,
            t.as_nanos() / n as u128,
            t.as_secs_f64() / std_time.as_secs_f64()
        );
    }
}

#[cfg(not(unix))]
fn main() {
    println!("readdir_bench: Unix only");
}
