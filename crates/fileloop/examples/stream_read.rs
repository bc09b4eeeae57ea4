//! Sequential read throughput of a large file: `fileloop::io::BufFile` (io_uring and pool
//! backends) against `tokio::fs::File` + `tokio::io::BufReader` with the same buffer size.
//!
//! ```text
//! cargo run --release -p fileloop --features tokio --example stream_read -- \
//!     [--dir DIR] [--size-mib 256] [--chunk-kib 256] [--read-ahead 4] [--passes 5]
//! ```
//!
//! The file (in a fresh temporary directory under DIR, default the system's) is read into the
//! page cache before every pass, so this measures the streaming machinery, not the disk. Two
//! ways of reading are timed: `fill_buf`/`consume` (no copy out of the stream's buffer) and
//! `read` into a 64 KiB buffer. Contenders run interleaved, pass after pass, on a two-worker
//! tokio runtime; the median of the passes is printed.

#[cfg(not(feature = "tokio"))]
fn main() {
    eprintln!("this example needs the tokio feature: --features tokio");
}

#[cfg(feature = "tokio")]
fn main() -> std::io::Result<()> {
    bench::main()
}

#[cfg(feature = "tokio")]
mod bench {
    use fileloop::io::{BufFile, BufFileOptions};
    use fileloop::{BackendChoice, Engine, OpenOptions};
    use std::io::{self, Read};
    use std::path::{Path, PathBuf};
    use std::time::Instant;
    use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt};

    struct Args {
        dir: Option<PathBuf>,
        size_mib: usize,
        chunk_kib: usize,
        read_ahead: usize,
        passes: usize,
    }

    fn args() -> io::Result<Args> {
        let mut a = Args {
            dir: None,
            size_mib: 256,
            chunk_kib: 256,
            read_ahead: BufFileOptions::DEFAULT_READ_AHEAD,
            passes: 5,
        };
        let mut it = std::env::args().skip(1);
        let bad = |what: String| io::Error::new(io::ErrorKind::InvalidInput, what);
        while let Some(flag) = it.next() {
            let value = it
                .next()
                .ok_or_else(|| bad(format!("{flag} needs a value")))?;
            let num = || {
                value
                    .parse::<usize>()
                    .map_err(|e| bad(format!("{flag}: {e}")))
            };
            match flag.as_str() {
                "--dir" => a.dir = Some(PathBuf::from(&value)),
                "--size-mib" => a.size_mib = num()?,
                "--chunk-kib" => a.chunk_kib = num()?,
                "--read-ahead" => a.read_ahead = num()?,
                "--passes" => a.passes = num()?.max(1),
                _ => return Err(bad(format!("unknown option {flag}"))),
            }
        }
        Ok(a)
    }

    #[derive(Clone, Copy, PartialEq)]
    enum Mode {
        FillBuf,
        Read64K,
    }

    /// Reads the stream to its end; returns (bytes, a checksum that proves every byte was seen).
    async fn drain<R: AsyncRead + AsyncBufRead + Unpin>(
        mut r: R,
        mode: Mode,
    ) -> io::Result<(u64, u64)> {
        let (mut total, mut sum) = (0u64, 0u64);
        match mode {
            Mode::FillBuf => loop {
                let buf = r.fill_buf().await?;
                if buf.is_empty() {
                    break;
                }
                let n = buf.len();
                sum = sum.wrapping_add(buf[0] as u64 + buf[n - 1] as u64);
                total += n as u64;
                r.consume(n);
            },
            Mode::Read64K => {
                let mut buf = vec![0u8; 64 << 10];
                loop {
                    let n = r.read(&mut buf).await?;
                    if n == 0 {
                        break;
                    }
                    sum = sum.wrapping_add(buf[0] as u64 + buf[n - 1] as u64);
                    total += n as u64;
                }
            }
        }
        Ok((total, sum))
    }

    fn warm(path: &Path) -> io::Result<()> {
        let mut f = std::fs::File::open(path)?;
        let mut buf = vec![0u8; 1 << 20];
        while f.read(&mut buf)? > 0 {}
        Ok(())
    }

    fn median(v: &mut [f64]) -> f64 {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    }

    pub fn main() -> io::Result<()> {
        let a = args()?;
        let chunk = a.chunk_kib << 10;
        let dir = match &a.dir {
            Some(d) => tempfile::tempdir_in(d)?,
            None => tempfile::tempdir()?,
        };
        let path = dir.path().join("stream_read.bin");
        {
            let mut block: Vec<u8> = (0..1 << 20).map(|i| (i * 7 % 251) as u8).collect();
            let mut f = std::fs::File::create(&path)?;
            for i in 0..a.size_mib {
                block[0] = i as u8;
                std::io::Write::write_all(&mut f, &block)?;
            }
        }
        let size = (a.size_mib << 20) as f64 / (1 << 20) as f64;

        let mut engines = Vec::new();
        for (name, choice) in [
            ("uring", BackendChoice::Uring),
            ("pool", BackendChoice::Pool),
        ] {
            match Engine::builder().backend(choice).ignore_env().build() {
                Ok(e) => engines.push((name, e)),
                Err(e) => println!("{name}: skipped ({e})"),
            }
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let options = BufFileOptions::new()
            .chunk_size(chunk)
            .read_ahead(a.read_ahead);

        println!(
            "sequential read of {} MiB, buffer {} KiB, BufFile read-ahead {}, {} passes (median)",
            a.size_mib, a.chunk_kib, a.read_ahead, a.passes
        );
        for mode in [Mode::FillBuf, Mode::Read64K] {
            let label = match mode {
                Mode::FillBuf => "fill_buf/consume",
                Mode::Read64K => "read into 64 KiB",
            };
            let names: Vec<String> = engines
                .iter()
                .map(|(n, _)| format!("BufFile ({n})"))
                .chain(["tokio::fs + BufReader".to_string()])
                .collect();
            let mut results: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
            let mut check = None;
            for _ in 0..a.passes {
                for (i, results) in results.iter_mut().enumerate() {
                    warm(&path)?;
                    let start = Instant::now();
                    let got = rt.block_on(async {
                        match engines.get(i) {
                            Some((_, engine)) => {
                                let file = OpenOptions::new()
                                    .read(true)
                                    .open_with(engine, &path)
                                    .await?;
                                drain(BufFile::with_options(file, options), mode).await
                            }
                            None => {
                                let file = tokio::fs::File::open(&path).await?;
                                drain(tokio::io::BufReader::with_capacity(chunk, file), mode).await
                            }
                        }
                    })?;
                    let secs = start.elapsed().as_secs_f64();
                    assert_eq!(got.0, (a.size_mib << 20) as u64, "{} read short", names[i]);
                    assert_eq!(
                        *check.get_or_insert(got.1),
                        got.1,
                        "{} read wrong",
                        names[i]
                    );
                    results.push(size / secs);
                }
            }
            println!("{label}:");
            for (name, r) in names.iter().zip(&mut results) {
                println!("  {name:<24} {:>8.0} MiB/s", median(r));
            }
        }
        Ok(())
    }
}
