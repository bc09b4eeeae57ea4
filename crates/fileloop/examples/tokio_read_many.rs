//! Reads many files concurrently on a multi-threaded tokio runtime, with the engine's
//! completions reaped by tokio's reactor. Usage: `cargo run --release --features tokio
//! --example tokio_read_many [FILES]` (default 20000).

#[cfg(all(unix, feature = "tokio"))]
#[tokio::main]
async fn main() -> std::io::Result<()> {
    use std::time::Instant;
    let files: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let dir = tempfile::tempdir()?;
    let paths: Vec<_> = (0..files)
        .map(|i| dir.path().join(format!("f{i}")))
        .collect();
    for p in &paths {
        std::fs::write(p, [1u8; 4096])?;
    }
    let engine = fileloop::rt::tokio::engine(fileloop::Engine::builder())?;
    println!("backend: {}", engine.backend());
    let started = Instant::now();
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(64));
    let tasks: Vec<_> = paths
        .into_iter()
        .map(|p| {
            let (engine, sem) = (engine.clone(), sem.clone());
            tokio::spawn(async move {
                let _permit = sem.acquire().await.unwrap();
                let file = engine.open(&p).await?;
                let (n, _) = file.read_to_end(Vec::with_capacity(4096)).await;
                file.close().await?;
                n
            })
        })
        .collect();
    let mut bytes = 0;
    for t in tasks {
        bytes += t.await.expect("task")?;
    }
    let elapsed = started.elapsed();
    println!(
        "read {files} files ({bytes} bytes) in {elapsed:.2?}: {:.0} files/s",
        files as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(bytes, files * 4096);
    Ok(())
}

#[cfg(not(all(unix, feature = "tokio")))]
fn main() {
    println!("needs Unix and --features tokio");
}
