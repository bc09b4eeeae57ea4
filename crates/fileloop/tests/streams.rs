//! `fileloop::io::BufFile` through tokio's and futures' stream traits, on every backend the
//! machine has (`NAME::uring` and `NAME::pool` for each test).
//!
//! Run with `cargo test -p fileloop --all-features --test streams`.
#![cfg(all(feature = "tokio", feature = "futures-io"))]

use fileloop::io::{BufFile, BufFileOptions};
use fileloop::{BackendChoice, BackendKind, Engine, File, OpenOptions};
use std::io::{ErrorKind, SeekFrom};
use std::path::Path;
use std::time::Duration;

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;

/// An engine on `choice`, or `None` (with the reason printed) when the machine lacks it.
fn engine(choice: BackendChoice) -> Option<Engine> {
    match Engine::builder().backend(choice).ignore_env().build() {
        Ok(e) => {
            if choice == BackendChoice::Uring {
                assert_eq!(e.backend().kind(), BackendKind::Uring);
            }
            Some(e)
        }
        Err(e) if choice == BackendChoice::Uring => {
            println!("skipped: io_uring unavailable here: {e}");
            None
        }
        Err(e) => panic!("cannot build a {choice:?} engine: {e}"),
    }
}

/// Runs `fut` on a current-thread tokio runtime; a hang becomes a failure after 120 s.
fn run<F: std::future::Future<Output = ()>>(fut: F) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(120), fut)
            .await
            .expect("test timed out (hang?)")
    });
}

/// Defines `#[test] fn NAME` in `mod uring` and `mod pool` for each `async fn NAME(Engine)`.
macro_rules! per_backend {
    ($($name:ident),* $(,)?) => {
        mod uring {
            $(
                #[test]
                fn $name() {
                    if let Some(e) = super::engine(fileloop::BackendChoice::Uring) {
                        super::run(super::$name(e));
                    }
                }
            )*
        }
        mod pool {
            $(
                #[test]
                fn $name() {
                    let e = super::engine(fileloop::BackendChoice::Pool).unwrap();
                    super::run(super::$name(e));
                }
            )*
        }
    };
}

/// Deterministic pseudo-random bytes (xorshift), different for each seed.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A tiny deterministic generator for test decisions.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

async fn create(engine: &Engine, path: &Path) -> File {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open_with(engine, path)
        .await
        .unwrap()
}

async fn open_rw(engine: &Engine, path: &Path) -> File {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .open_with(engine, path)
        .await
        .unwrap()
}

async fn open_ro(engine: &Engine, path: &Path) -> File {
    OpenOptions::new()
        .read(true)
        .open_with(engine, path)
        .await
        .unwrap()
}

/// Option sets from tiny to large chunks, with odd sizes and the smallest bounds.
fn option_sets() -> Vec<BufFileOptions> {
    vec![
        BufFileOptions::new(),
        BufFileOptions::new()
            .chunk_size(4099)
            .read_ahead(1)
            .write_behind(1),
        BufFileOptions::new()
            .chunk_size(65_537)
            .read_ahead(3)
            .write_behind(2),
        BufFileOptions::new()
            .chunk_size(MIB + 1)
            .read_ahead(8)
            .write_behind(8),
    ]
}

/// Piece sizes cycled through by the round trips (odd, tiny and larger than a chunk).
const PIECES: [usize; 6] = [1, 7919, 100_003, 3, 300_007, 65_537];

async fn tokio_round_trip(engine: Engine) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(5 * MIB + 12_345, 1);
    for (i, options) in option_sets().into_iter().enumerate() {
        let path = dir.path().join(format!("t{i}"));
        let mut out = BufFile::with_options(create(&engine, &path).await, options);
        let mut at = 0;
        for size in PIECES.iter().cycle() {
            let end = (at + size).min(data.len());
            out.write_all(&data[at..end]).await.unwrap();
            at = end;
            if at == data.len() {
                break;
            }
        }
        assert_eq!(out.position(), data.len() as u64);
        out.shutdown().await.unwrap();
        assert!(std::fs::read(&path).unwrap() == data, "written {options:?}");

        // Read back in odd pieces.
        let mut input = BufFile::with_options(open_ro(&engine, &path).await, options);
        let mut got = Vec::new();
        for size in PIECES.iter().cycle() {
            let mut piece = vec![0u8; *size];
            let n = input.read(&mut piece).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&piece[..n]);
        }
        assert!(got == data, "read back in pieces {options:?}");
        assert_eq!(input.read(&mut [0u8; 10]).await.unwrap(), 0, "still at EOF");

        // And in one go.
        let mut input = BufFile::with_options(open_ro(&engine, &path).await, options);
        let mut all = Vec::new();
        assert_eq!(input.read_to_end(&mut all).await.unwrap(), data.len());
        assert!(all == data, "read_to_end {options:?}");
    }
}

async fn futures_round_trip(engine: Engine) {
    use futures::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(4 * MIB + 999, 2);
    for (i, options) in option_sets().into_iter().enumerate() {
        let path = dir.path().join(format!("f{i}"));
        let mut out = BufFile::with_options(create(&engine, &path).await, options);
        for piece in data.chunks(PIECES[i + 1]) {
            out.write_all(piece).await.unwrap();
        }
        out.close().await.unwrap();
        assert!(std::fs::read(&path).unwrap() == data, "written {options:?}");

        let mut input = BufFile::with_options(open_ro(&engine, &path).await, options);
        let mut got = vec![0u8; data.len()];
        for piece in got.chunks_mut(PIECES[(i + 2) % PIECES.len()]) {
            input.read_exact(piece).await.unwrap();
        }
        assert!(got == data, "read_exact {options:?}");
        let err = input.read_exact(&mut [0u8; 1]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof);

        let mut input = BufFile::with_options(open_ro(&engine, &path).await, options);
        let mut all = Vec::new();
        input.read_to_end(&mut all).await.unwrap();
        assert!(all == data, "read_to_end {options:?}");
    }
}

async fn tokio_copy_between_buf_files(engine: Engine) {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(3 * MIB + 777, 3);
    let src = dir.path().join("src");
    std::fs::write(&src, &data).unwrap();

    let dst = dir.path().join("dst");
    let mut from = BufFile::with_options(
        open_ro(&engine, &src).await,
        BufFileOptions::new().chunk_size(10_007),
    );
    let mut to = BufFile::with_options(
        create(&engine, &dst).await,
        BufFileOptions::new().chunk_size(64 * KIB).write_behind(2),
    );
    let n = tokio::io::copy(&mut from, &mut to).await.unwrap();
    assert_eq!(n, data.len() as u64);
    to.flush().await.unwrap();
    assert!(std::fs::read(&dst).unwrap() == data);

    // copy_buf hands the read-ahead chunks straight to the writer.
    let dst2 = dir.path().join("dst2");
    let mut from = BufFile::new(open_ro(&engine, &src).await);
    let mut to = BufFile::new(create(&engine, &dst2).await);
    let n = tokio::io::copy_buf(&mut from, &mut to).await.unwrap();
    assert_eq!(n, data.len() as u64);
    to.shutdown().await.unwrap();
    assert!(std::fs::read(&dst2).unwrap() == data);
}

/// Lines of 0 to 299 characters, so that they straddle small chunks.
fn text() -> (String, Vec<String>) {
    let mut rng = Rng(77);
    let lines: Vec<String> = (0..20_000)
        .map(|i| {
            let len = rng.below(300) as usize;
            let mut s = format!("{i}:");
            s.extend((0..len).map(|j| (b'a' + (j % 26) as u8) as char));
            s
        })
        .collect();
    let mut text = lines.join("\n");
    text.push('\n');
    (text, lines)
}

async fn lines_via_buf_read(engine: Engine) {
    use futures::stream::TryStreamExt;
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir().unwrap();
    let (text, want) = text();
    let path = dir.path().join("lines.txt");
    std::fs::write(&path, &text).unwrap();
    let small = BufFileOptions::new().chunk_size(1000).read_ahead(2);

    // tokio: lines()
    let input = BufFile::with_options(open_ro(&engine, &path).await, small);
    let mut lines = input.lines();
    let mut got = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        got.push(line);
    }
    assert_eq!(got, want);

    // tokio: read_line keeps the newline; read_until.
    let mut input = BufFile::with_options(open_ro(&engine, &path).await, small);
    let mut line = String::new();
    assert_eq!(input.read_line(&mut line).await.unwrap(), want[0].len() + 1);
    assert_eq!(line, format!("{}\n", want[0]));
    let mut bytes = Vec::new();
    input.read_until(b'\n', &mut bytes).await.unwrap();
    assert_eq!(bytes, format!("{}\n", want[1]).into_bytes());

    // futures: lines() as a stream.
    let input = BufFile::with_options(open_ro(&engine, &path).await, small);
    let got: Vec<String> = futures::io::AsyncBufReadExt::lines(input)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(got, want);
}

async fn seeks_with_read_ahead_in_flight(engine: Engine) {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(4 * MIB + 321, 4);
    let len = data.len() as u64;
    let path = dir.path().join("seek");
    std::fs::write(&path, &data).unwrap();
    let options = BufFileOptions::new().chunk_size(64 * KIB).read_ahead(4);
    let mut f = BufFile::with_options(open_ro(&engine, &path).await, options);

    let mut buf = vec![0u8; 1000];
    f.read_exact(&mut buf[..10]).await.unwrap(); // reads now in flight ahead
    assert_eq!(&buf[..10], &data[..10]);
    assert_eq!(f.stream_position().await.unwrap(), 10);

    // Start: far away, discarding the read-ahead.
    let at = 3 * MIB as u64 + 5;
    assert_eq!(f.seek(SeekFrom::Start(at)).await.unwrap(), at);
    f.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf[..], &data[at as usize..at as usize + 1000]);

    // Current backwards inside the buffered chunk, then forwards past it.
    let at = f.seek(SeekFrom::Current(-500)).await.unwrap();
    assert_eq!(at, 3 * MIB as u64 + 505);
    f.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf[..], &data[at as usize..at as usize + 1000]);
    let at = f.seek(SeekFrom::Current(200_000)).await.unwrap();
    assert_eq!(at, 3 * MIB as u64 + 201_505);
    f.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf[..], &data[at as usize..at as usize + 1000]);

    // End: the tail, then past the end (reads give 0).
    assert_eq!(f.seek(SeekFrom::End(-100)).await.unwrap(), len - 100);
    let mut tail = Vec::new();
    f.read_to_end(&mut tail).await.unwrap();
    assert_eq!(&tail[..], &data[data.len() - 100..]);
    assert_eq!(f.seek(SeekFrom::End(10)).await.unwrap(), len + 10);
    assert_eq!(f.read(&mut buf).await.unwrap(), 0);

    // Negative: an error, and the position is unchanged.
    let err = f
        .seek(SeekFrom::Current(-(len as i64) - 11))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(f.stream_position().await.unwrap(), len + 10);

    // Back to the start: everything reads back in order.
    f.rewind().await.unwrap();
    let mut all = Vec::new();
    f.read_to_end(&mut all).await.unwrap();
    assert!(all == data);

    // Many random seeks, each followed by a short read.
    let mut rng = Rng(5);
    for _ in 0..300 {
        let to = match rng.below(3) {
            0 => SeekFrom::Start(rng.below(len + 10)),
            1 => SeekFrom::End(-(rng.below(len) as i64)),
            _ => {
                let here = f.stream_position().await.unwrap() as i64;
                SeekFrom::Current(rng.below(len) as i64 - here)
            }
        };
        let at = f.seek(to).await.unwrap() as usize;
        let want = &data[at.min(data.len())..(at + 777).min(data.len())];
        let mut got = vec![0u8; want.len()];
        f.read_exact(&mut got).await.unwrap();
        assert!(got == want, "after seek {to:?}");
    }
}

async fn futures_seeks(engine: Engine) {
    use futures::io::{AsyncReadExt, AsyncSeekExt};
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(MIB + 3, 5);
    let path = dir.path().join("seek");
    std::fs::write(&path, &data).unwrap();
    let options = BufFileOptions::new().chunk_size(8191).read_ahead(3);
    let mut f = BufFile::with_options(open_ro(&engine, &path).await, options);
    let mut buf = vec![0u8; 100];
    f.read_exact(&mut buf).await.unwrap();
    assert_eq!(f.seek(SeekFrom::Current(0)).await.unwrap(), 100);
    assert_eq!(f.seek(SeekFrom::Start(500_000)).await.unwrap(), 500_000);
    f.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf[..], &data[500_000..500_100]);
    assert_eq!(f.seek(SeekFrom::Current(-50)).await.unwrap(), 500_050);
    f.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf[..], &data[500_050..500_150]);
    let end = f.seek(SeekFrom::End(-3)).await.unwrap();
    assert_eq!(end, data.len() as u64 - 3);
    let mut tail = Vec::new();
    f.read_to_end(&mut tail).await.unwrap();
    assert_eq!(&tail[..], &data[data.len() - 3..]);
}

async fn start_seek_twice_is_an_error(engine: Engine) {
    use std::pin::Pin;
    use tokio::io::{AsyncReadExt, AsyncSeek};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    std::fs::write(&path, b"0123456789").unwrap();
    let mut f = BufFile::new(open_ro(&engine, &path).await);
    Pin::new(&mut f).start_seek(SeekFrom::Start(5)).unwrap();
    assert!(Pin::new(&mut f).start_seek(SeekFrom::Start(1)).is_err());
    let pos = std::future::poll_fn(|cx| Pin::new(&mut f).poll_complete(cx)).await;
    assert_eq!(pos.unwrap(), 5);
    // Nothing pending: poll_complete gives the position.
    let pos = std::future::poll_fn(|cx| Pin::new(&mut f).poll_complete(cx)).await;
    assert_eq!(pos.unwrap(), 5);
    // A seek started and not completed applies before the next read.
    Pin::new(&mut f).start_seek(SeekFrom::End(-2)).unwrap();
    let mut s = String::new();
    f.read_to_string(&mut s).await.unwrap();
    assert_eq!(s, "89");
}

async fn flush_makes_data_visible(engine: Engine) {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flush");
    let options = BufFileOptions::new().chunk_size(64 * KIB).write_behind(2);
    let mut out = BufFile::with_options(create(&engine, &path).await, options);
    let data = pattern(2 * MIB + 17, 6);

    out.write_all(&data[..10]).await.unwrap();
    out.flush().await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), &data[..10]);

    out.write_all(&data[10..MIB + 3]).await.unwrap();
    out.flush().await.unwrap();
    assert!(std::fs::read(&path).unwrap() == data[..MIB + 3]);

    // A flush with nothing buffered is immediate and fine.
    out.flush().await.unwrap();

    // Shutdown flushes; the stream stays usable after it.
    out.write_all(&data[MIB + 3..2 * MIB]).await.unwrap();
    out.shutdown().await.unwrap();
    assert!(std::fs::read(&path).unwrap() == data[..2 * MIB]);
    out.write_all(&data[2 * MIB..]).await.unwrap();
    out.flush().await.unwrap();
    assert!(std::fs::read(&path).unwrap() == data);

    // sync_all flushes then syncs.
    out.write_all(b"tail").await.unwrap();
    out.sync_all().await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap().len(), data.len() + 4);
    out.get_ref().sync_data().await.unwrap();
}

async fn write_error_surfaces(engine: Engine) {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro");
    std::fs::write(&path, b"read only").unwrap();

    // Less than a chunk: the write is buffered, the flush reports the error.
    let mut out = BufFile::new(open_ro(&engine, &path).await);
    out.write_all(b"hello").await.unwrap();
    let err = out.flush().await.unwrap_err();
    println!("flush error: {err}");
    assert!(err.to_string().contains("write"), "{err}");
    // Never swallowed: later calls keep failing, naming the first error.
    let again = out.shutdown().await.unwrap_err();
    assert_eq!(again.kind(), err.kind());
    assert!(again.to_string().contains("earlier"), "{again}");
    assert!(out.write(b"more").await.is_err());
    assert!(tokio::io::AsyncReadExt::read(&mut out, &mut [0u8; 4])
        .await
        .is_err());

    // Many chunks: a write or the flush fails, never both succeed.
    let options = BufFileOptions::new().chunk_size(4096).write_behind(2);
    let mut out = BufFile::with_options(open_ro(&engine, &path).await, options);
    let res = async {
        out.write_all(&pattern(MIB, 7)).await?;
        out.flush().await
    }
    .await;
    assert!(res.is_err());
    assert_eq!(std::fs::read(&path).unwrap(), b"read only");

    // futures: close reports it too.
    let mut out = BufFile::new(open_ro(&engine, &path).await);
    futures::io::AsyncWriteExt::write_all(&mut out, b"x")
        .await
        .unwrap();
    assert!(futures::io::AsyncWriteExt::close(&mut out).await.is_err());
}

async fn drop_unflushed_writer_does_not_hang(engine: Engine) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drop");
    let data = pattern(4 * MIB, 8);
    let options = BufFileOptions::new().chunk_size(64 * KIB).write_behind(4);

    let mut out = BufFile::with_options(create(&engine, &path).await, options);
    out.write_all(&data[..MIB]).await.unwrap();
    out.flush().await.unwrap();
    // Chunks in flight plus a partial one, then drop without flushing.
    out.write_all(&data[MIB..3 * MIB + 100]).await.unwrap();
    drop(out);

    // What a flush reported is never lost.
    let mut got = std::fs::read(&path).unwrap();
    assert!(got[..MIB] == data[..MIB]);
    // Submitted chunks are not cancelled: they finish in the background. The partial chunk
    // (the last 100 bytes) was never submitted and is lost.
    for _ in 0..250 {
        if got.len() == 3 * MIB && got[..] == data[..3 * MIB] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        got = std::fs::read(&path).unwrap();
    }
    assert_eq!(got.len(), 3 * MIB);
    assert!(got[..] == data[..3 * MIB]);

    // into_inner hands back a usable file; reads in flight are dropped safely.
    let mut rw = BufFile::with_options(open_rw(&engine, &path).await, options);
    let mut first = [0u8; 3];
    rw.read_exact(&mut first).await.unwrap();
    assert_eq!(first, data[..3]);
    rw.write_all(&[1, 2, 3]).await.unwrap();
    let file = rw.into_inner();
    let (res, buf) = file.read_at(vec![0u8; 6], 0).await;
    assert_eq!(res.unwrap(), 6);
    assert_eq!(&buf[..], &data[..6], "unflushed bytes were not written");

    // A reader dropped with reads in flight.
    let mut r = BufFile::new(open_ro(&engine, &path).await);
    r.read_exact(&mut first).await.unwrap();
    drop(r);
}

/// Random reads, writes, seeks and flushes against an in-memory model of the file.
async fn mixed_reads_writes_and_seeks_match_a_model(engine: Engine) {
    use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model");
    let initial = pattern(300 * KIB, 9);
    std::fs::write(&path, &initial).unwrap();
    for (round, options) in [
        BufFileOptions::new()
            .chunk_size(4093)
            .read_ahead(3)
            .write_behind(2),
        BufFileOptions::new()
            .chunk_size(1)
            .read_ahead(1)
            .write_behind(1),
        BufFileOptions::new().chunk_size(64 * KIB),
    ]
    .into_iter()
    .enumerate()
    {
        std::fs::write(&path, &initial).unwrap();
        let mut model = initial.clone();
        let mut pos = 0usize;
        let mut f = BufFile::with_options(open_rw(&engine, &path).await, options);
        let mut rng = Rng(1000 + round as u64);
        let max_len = if round == 1 { 200 } else { 20_000 };
        for step in 0..400 {
            let len = model.len() as u64;
            match rng.below(10) {
                0..=3 => {
                    let k = rng.below(max_len) as usize;
                    let want = &model[pos.min(model.len())..(pos + k).min(model.len())];
                    let mut got = vec![0u8; want.len()];
                    f.read_exact(&mut got).await.unwrap();
                    assert!(got == want, "round {round} step {step}: read {k} at {pos}");
                    pos += want.len();
                }
                4..=6 => {
                    let k = rng.below(max_len) as usize;
                    let bytes = pattern(k, step);
                    f.write_all(&bytes).await.unwrap();
                    if model.len() < pos + k {
                        model.resize(pos + k, 0);
                    }
                    model[pos..pos + k].copy_from_slice(&bytes);
                    pos += k;
                }
                7..=8 => {
                    let to = match rng.below(3) {
                        0 => SeekFrom::Start(rng.below(len + 100)),
                        1 => SeekFrom::End(rng.below(len + 50) as i64 - len as i64),
                        _ => SeekFrom::Current(rng.below(8000) as i64 - 4000),
                    };
                    let want = match to {
                        SeekFrom::Start(n) => Some(n as i64),
                        SeekFrom::End(d) => Some(len as i64 + d),
                        SeekFrom::Current(d) => Some(pos as i64 + d),
                    }
                    .filter(|&p| p >= 0);
                    match (f.seek(to).await, want) {
                        (Ok(got), Some(want)) => {
                            assert_eq!(got as i64, want, "round {round} step {step}: {to:?}");
                            pos = got as usize;
                        }
                        (Err(e), None) => assert_eq!(e.kind(), ErrorKind::InvalidInput),
                        (got, want) => panic!("seek {to:?}: got {got:?}, want {want:?}"),
                    }
                }
                _ => {
                    f.flush().await.unwrap();
                    assert!(
                        std::fs::read(&path).unwrap() == model,
                        "round {round} step {step}"
                    );
                }
            }
            assert_eq!(f.position() as usize, pos);
        }
        f.flush().await.unwrap();
        assert!(
            std::fs::read(&path).unwrap() == model,
            "round {round} at the end"
        );
    }
}

async fn eof_short_reads_and_growth(engine: Engine) {
    use tokio::io::AsyncReadExt;
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(20_000, 10);
    let path = dir.path().join("grow");
    std::fs::write(&path, &data[..10_000]).unwrap();
    let options = BufFileOptions::new().chunk_size(4096).read_ahead(4);
    let mut f = BufFile::with_options(open_ro(&engine, &path).await, options);

    // Read-ahead ramps up: one read, then two, then three in flight. After 4097 bytes the
    // chunk at 4096 is buffered and the reads at 8192 (short: the file ends at 10 000) and at
    // 12 288 (empty) are in flight.
    let mut got = vec![0u8; 4097];
    f.read_exact(&mut got).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await; // let the read-ahead complete
                                                          // The file grows behind the completed read-ahead.
    {
        use std::io::Write;
        let mut w = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        w.write_all(&data[10_000..]).unwrap();
    }
    // The short read's missing tail is read again (it now has data); the empty read at
    // 12 288 reports an end of file as it was, and reading on continues from there.
    for _ in 0..2 {
        f.read_to_end(&mut got).await.unwrap();
    }
    assert_eq!(got.len(), data.len());
    assert!(got == data);
    assert_eq!(f.read(&mut [0u8; 8]).await.unwrap(), 0);

    // An empty file: 0 at once.
    let empty = dir.path().join("empty");
    std::fs::write(&empty, b"").unwrap();
    let mut f = BufFile::new(open_ro(&engine, &empty).await);
    assert_eq!(f.read(&mut [0u8; 8]).await.unwrap(), 0);
    // Absurd positions: errors or end of file, never a panic.
    let mut f = BufFile::new(open_rw(&engine, &dir.path().join("far")).await);
    tokio::io::AsyncSeekExt::seek(&mut f, SeekFrom::Start(u64::MAX - 10))
        .await
        .unwrap();
    let _ = f.read(&mut [0u8; 8]).await;
    let res = async {
        tokio::io::AsyncWriteExt::write_all(&mut f, &[0u8; 100]).await?;
        tokio::io::AsyncWriteExt::flush(&mut f).await
    };
    assert!(res.await.is_err());
    // Reading a write-only file is an error, not an end of file.
    let mut w = BufFile::new(create(&engine, &dir.path().join("wo")).await);
    assert!(w.read(&mut [0u8; 8]).await.is_err());
}

async fn works_across_tasks_and_threads(engine: Engine) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    fn assert_send_sync<T: Send + Sync + Unpin + 'static>() {}
    assert_send_sync::<BufFile>();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mt");
    let data = pattern(3 * MIB, 11);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let file = create(&engine, &path).await;
    let file = {
        let data = data.clone();
        rt.spawn(async move {
            let mut out = BufFile::new(file);
            for piece in data.chunks(12_345) {
                out.write_all(piece).await.unwrap();
                tokio::task::yield_now().await;
            }
            out.flush().await.unwrap();
            out.into_inner()
        })
        .await
        .unwrap()
    };
    drop(file);
    let input = BufFile::new(open_ro(&engine, &path).await);
    let got = rt
        .spawn(async move {
            let mut input = input;
            let mut got = Vec::new();
            input.read_to_end(&mut got).await.unwrap();
            got
        })
        .await
        .unwrap();
    assert!(got == data);
    rt.shutdown_background();
}

per_backend!(
    tokio_round_trip,
    futures_round_trip,
    tokio_copy_between_buf_files,
    lines_via_buf_read,
    seeks_with_read_ahead_in_flight,
    futures_seeks,
    start_seek_twice_is_an_error,
    flush_makes_data_visible,
    write_error_surfaces,
    drop_unflushed_writer_does_not_hang,
    mixed_reads_writes_and_seeks_match_a_model,
    eof_short_reads_and_growth,
    works_across_tasks_and_threads,
);

/// The same round trip on futures' own executor (no tokio anywhere).
#[test]
fn futures_executor_round_trip() {
    use futures::io::{AsyncReadExt, AsyncWriteExt};
    let engine = engine(BackendChoice::Pool).unwrap();
    futures::executor::block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fx");
        let data = pattern(2 * MIB + 1, 12);
        let mut out = BufFile::new(create(&engine, &path).await);
        out.write_all(&data).await.unwrap();
        out.close().await.unwrap();
        let mut input = BufFile::new(open_ro(&engine, &path).await);
        let mut got = Vec::new();
        input.read_to_end(&mut got).await.unwrap();
        assert!(got == data);
    });
}
