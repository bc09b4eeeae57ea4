//! Reads many files concurrently on smol, with completions reaped by async-io's reactor.
//! Usage: `cargo run --release --features async-io --example smol_read_many [FILES]`.

#[cfg(all(unix, feature = "async-io"))]
fn main() -> std::io::Result<()> {
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
        std::fs::write(p, [2u8; 4096])?;
    }
    smol::block_on(async {
        let engine = fileloop::Engine::builder().host_driven(true).build()?;
        println!("backend: {}", engine.backend());
        smol::spawn(fileloop::rt::async_io::drive(&engine)?).detach();
        let ex = smol::LocalExecutor::new();
        let started = Instant::now();
        let mut bytes = 0;
        ex.run(async {
            for chunk in paths.chunks(64) {
                let reads = chunk.iter().map(|p| {
                    let engine = engine.clone();
                    ex.spawn(async move {
                        let file = engine.open(p).await?;
                        let (n, _) = file.read_to_end(Vec::with_capacity(4096)).await;
                        n
                    })
                });
                for r in futures::future::join_all(reads).await {
                    bytes += r?;
                }
            }
            Ok::<(), std::io::Error>(())
        })
        .await?;
        let elapsed = started.elapsed();
        println!(
            "read {files} files ({bytes} bytes) in {elapsed:.2?}: {:.0} files/s",
            files as f64 / elapsed.as_secs_f64()
        );
        assert_eq!(bytes, files * 4096);
        Ok(())
    })
}

#[cfg(not(all(unix, feature = "async-io")))]
fn main() {
    println!("needs Unix and --features async-io");
}
