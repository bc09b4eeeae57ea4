//! A plain poll() loop, no async runtime: it serves a 1 ms timer and the engine's descriptor,
//! reading many small files through callbacks while the timer keeps firing. Prints the timer's
//! lateness. Usage: `cargo run --release --example host_loop [FILES]` (default 20000).

#[cfg(unix)]
fn main() -> std::io::Result<()> {
    use fileloop::{Engine, File, OpenOptions};
    use std::collections::VecDeque;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    let files: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    const CONCURRENCY: usize = 64;
    const TICK: Duration = Duration::from_millis(1);

    let dir = tempfile::tempdir()?;
    let paths: Vec<_> = (0..files)
        .map(|i| dir.path().join(format!("f{i}")))
        .collect();
    for p in &paths {
        std::fs::write(p, [7u8; 4096])?;
    }

    let engine = Engine::builder().host_driven(true).build()?;
    println!("backend: {}", engine.backend());

    // Completions arrive as events (the file equivalent of signals), handled by the loop.
    enum Event {
        Opened(std::io::Result<File>),
        Read(std::io::Result<usize>),
    }
    let (tx, rx) = mpsc::channel();
    let mut queue: VecDeque<_> = paths.iter().collect();
    let start_open = |path: &std::path::PathBuf| {
        let tx = tx.clone();
        OpenOptions::new()
            .read(true)
            .open_op(&engine, path)
            .on_complete(move |f| tx.send(Event::Opened(f)).unwrap());
    };
    for p in queue.drain(..CONCURRENCY.min(files)) {
        start_open(p);
    }

    let (mut done, mut bytes) = (0usize, 0usize);
    let mut lateness = Vec::new();
    let started = Instant::now();
    let mut next_tick = started + TICK;
    while done < files {
        let now = Instant::now();
        if now >= next_tick {
            lateness.push(now - next_tick);
            next_tick += TICK;
            if next_tick < now {
                next_tick = now + TICK; // missed ticks are not queued up
            }
        }
        let wait = next_tick.saturating_duration_since(Instant::now());
        let mut pfd = libc::pollfd {
            fd: engine.completion_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call.
        unsafe { libc::poll(&mut pfd, 1, wait.as_millis().min(1) as i32) };
        engine.dispatch();
        for event in rx.try_iter() {
            match event {
                Event::Opened(file) => {
                    let file = file?;
                    let tx = tx.clone();
                    // The callback owns the file, which closes when the read is done.
                    let op = file.read_at(vec![0u8; 4096], 0);
                    op.on_complete(move |(n, _buf)| {
                        drop(file);
                        tx.send(Event::Read(n)).unwrap();
                    });
                }
                Event::Read(n) => {
                    bytes += n?;
                    done += 1;
                    if let Some(p) = queue.pop_front() {
                        start_open(p);
                    }
                }
            }
        }
    }
    let elapsed = started.elapsed();
    lateness.sort();
    let pct = |p: f64| {
        lateness
            .get(((lateness.len() as f64 * p) as usize).min(lateness.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "read {done} files ({} MiB) in {:.2?}: {:.0} files/s, {} in flight at most",
        bytes >> 20,
        elapsed,
        done as f64 / elapsed.as_secs_f64(),
        CONCURRENCY
    );
    println!(
        "timer: {} ticks, lateness p50 {:?}, p99 {:?}, worst {:?}",
        lateness.len(),
        pct(0.50),
        pct(0.99),
        lateness.last().copied().unwrap_or_default()
    );
    Ok(())
}

#[cfg(not(unix))]
fn main() {
    println!("host_loop uses poll(2): Unix only");
}
