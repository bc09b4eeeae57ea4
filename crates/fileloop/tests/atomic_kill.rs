//! write_atomic survives SIGKILL at any point: a child process (this test binary, re-run in
//! "child mode") rewrites one file in a loop with alternating self-checking contents; the
//! parent kills it at random moments, 200 times, and after each kill the file must be absent
//! (no write finished yet) or exactly one complete content.
#![cfg(unix)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "FILELOOP_ATOMIC_KILL_TARGET";
const BACKEND_ENV: &str = "FILELOOP_ATOMIC_KILL_BACKEND";
const MAGIC: &[u8; 8] = b"FLATOMIC";
const HEADER: usize = 32;
const KILLS: usize = 200;

/// Content `which` (0 or 1): a header (magic, which, payload length, checksum) and 1 MiB of
/// 'A' (0) or 1 MiB + 4099 bytes of 'B' (1). Writers alternate between the two.
fn content(which: u64) -> Vec<u8> {
    let (byte, len) = if which == 0 {
        (b'A', 1 << 20)
    } else {
        (b'B', (1 << 20) + 4099)
    };
    let payload = vec![byte; len];
    let mut out = Vec::with_capacity(HEADER + len);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&which.to_le_bytes());
    out.extend_from_slice(&(len as u64).to_le_bytes());
    out.extend_from_slice(&checksum(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

/// FNV-1a.
fn checksum(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Checks that `data` is exactly one of the two complete `contents`; returns which.
fn verify(data: &[u8], contents: &[Vec<u8>; 2]) -> Result<u64, String> {
    if data.len() < HEADER || &data[..8] != MAGIC {
        return Err(format!("bad header ({} bytes)", data.len()));
    }
    let word = |i: usize| u64::from_le_bytes(data[i..i + 8].try_into().unwrap());
    let (which, len) = (word(8), word(16));
    if which > 1 {
        return Err(format!("bad content number {which}"));
    }
    let payload = data.len() - HEADER;
    if payload as u64 != len {
        return Err(format!(
            "content {which}: {payload} payload bytes, header says {len}"
        ));
    }
    // The header and checksum were written with the payload: comparing the whole file with
    // the expected bytes checks all of them.
    if data != contents[which as usize] {
        return Err(format!(
            "content {which}: bytes differ from what was written"
        ));
    }
    Ok(which)
}

/// Child mode: rewrite the target until killed. Does nothing in a normal test run.
#[test]
fn child_writer() {
    let Ok(target) = std::env::var(CHILD_ENV) else {
        return;
    };
    let choice = match std::env::var(BACKEND_ENV).as_deref() {
        Ok("uring") => fileloop::BackendChoice::Uring,
        _ => fileloop::BackendChoice::Pool,
    };
    let engine = fileloop::Engine::builder()
        .backend(choice)
        .ignore_env()
        .build()
        .expect("engine");
    let contents = [content(0), content(1)];
    futures::executor::block_on(async {
        for seq in 0usize.. {
            engine
                .write_atomic(&target, &contents[seq % 2])
                .await
                .unwrap();
        }
    });
}

/// xorshift64*, seeded from the clock (the seed is printed to reproduce a failure).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn uring_available() -> bool {
    fileloop::Engine::builder()
        .backend(fileloop::BackendChoice::Uring)
        .ignore_env()
        .build()
        .is_ok()
}

fn leftovers(dir: &Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_name() != "target" {
            std::fs::remove_file(e.path()).unwrap();
            n += 1;
        }
    }
    n
}

#[test]
fn target_is_old_or_new_after_sigkill() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("target");
    let uring = uring_available();
    if !uring {
        println!("io_uring unavailable here: every child uses the pool");
    }
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("seed {seed:#x}");
    let mut rng = Rng(seed);
    let started = Instant::now();
    let contents = [content(0), content(1)];
    let (mut seen, mut temps, mut found) = (false, 0, [0; 2]);
    for i in 0..KILLS {
        let backend = if uring && i % 2 == 0 { "uring" } else { "pool" };
        let mut child = Command::new(&exe)
            .args([
                "child_writer",
                "--exact",
                "--nocapture",
                "--test-threads=1",
                "-q",
            ])
            .env(CHILD_ENV, &target)
            .env(BACKEND_ENV, backend)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(2_000 + rng.next() % 38_000));
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "kill {i}: the child was not killed: {status}"
        );
        match std::fs::read(&target) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                assert!(!seen, "kill {i}: the file vanished after it existed");
            }
            Err(e) => panic!("kill {i}: {e}"),
            Ok(data) => {
                seen = true;
                let which = verify(&data, &contents)
                    .unwrap_or_else(|e| panic!("kill {i} ({backend}): partial file: {e}"));
                found[which as usize] += 1;
            }
        }
        temps += leftovers(tmp.path());
    }
    println!(
        "{KILLS} kills in {:?}; found content A {} times, B {} times; \
         {temps} temporaries left by killed writes (cleaned up)",
        started.elapsed(),
        found[0],
        found[1]
    );
    assert!(
        seen,
        "no write ever finished: the kills came too early to test anything"
    );
}
