//! End-to-end tests: mount the filesystem and use it through `std::fs`.
//! Each test skips itself (printing why) where FUSE mounts cannot work.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use fileloop_testfs::{pattern, skip_reason, Behaviour, Config, FileSpec, Mounted};

macro_rules! skip_without_fuse {
    () => {
        if let Some(reason) = skip_reason() {
            eprintln!("skipped: {reason}");
            return;
        }
    };
}

/// Whether `path` is a mount point according to `/proc/self/mountinfo`.
fn is_mount_point(path: &Path) -> bool {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let path = path.to_str().unwrap();
    info.lines().any(|l| l.split(' ').nth(4) == Some(path))
}

/// Reads the whole file at `path` in a thread, reporting the result on a channel.
fn read_in_thread(path: &Path) -> mpsc::Receiver<std::io::Result<Vec<u8>>> {
    let (tx, rx) = mpsc::channel();
    let path = path.to_path_buf();
    thread::spawn(move || {
        let _ = tx.send(std::fs::read(path));
    });
    rx
}

#[test]
fn normal_file_reads_back_deterministic_content() {
    skip_without_fuse!();
    let fs = Config::new()
        .file(FileSpec::new("pattern", 300_000))
        .file(FileSpec::with_contents("given", b"hello".to_vec()))
        .mount()
        .unwrap();
    assert!(is_mount_point(fs.path()));
    assert_eq!(
        std::fs::read(fs.file_path("pattern")).unwrap(),
        pattern(0, 300_000)
    );
    assert_eq!(std::fs::read(fs.file_path("given")).unwrap(), b"hello");
    assert_eq!(
        std::fs::metadata(fs.file_path("pattern")).unwrap().len(),
        300_000
    );

    let mut names: Vec<String> = std::fs::read_dir(fs.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["given", "pattern"]);

    // Read-only by default.
    let err = OpenOptions::new()
        .write(true)
        .open(fs.file_path("given"))
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EACCES));
    assert!(fs.reads_served() >= 2);
    assert_eq!(fs.reads_failed(), 0);
}

#[test]
fn drop_unmounts_and_removes_the_directory() {
    skip_without_fuse!();
    let fs = Config::new().file(FileSpec::new("f", 10)).mount().unwrap();
    let path = fs.path().to_path_buf();
    assert!(is_mount_point(&path));
    drop(fs);
    assert!(!is_mount_point(&path));
    assert!(!path.exists());
}

#[test]
fn writable_file_keeps_writes_in_memory() {
    skip_without_fuse!();
    let fs = Config::new()
        .file(FileSpec::new("w", 1000).writable(true))
        .mount()
        .unwrap();
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(fs.file_path("w"))
        .unwrap();
    use std::os::unix::fs::FileExt;
    f.write_all_at(b"abc", 998).unwrap();
    let mut expected = pattern(0, 998);
    expected.extend_from_slice(b"abc");
    assert_eq!(std::fs::read(fs.file_path("w")).unwrap(), expected);
    assert_eq!(fs.contents("w").unwrap(), expected);
    assert_eq!(fs.writes_served(), 1);

    // Truncation, and files created at run time.
    f.set_len(10).unwrap();
    assert_eq!(fs.contents("w").unwrap(), pattern(0, 10));
    std::fs::write(fs.file_path("new"), b"created").unwrap();
    assert_eq!(std::fs::read(fs.file_path("new")).unwrap(), b"created");
}

#[test]
fn latency_file_answers_concurrent_reads_concurrently() {
    skip_without_fuse!();
    const LATENCY: Duration = Duration::from_millis(50);
    const READERS: usize = 16;
    let fs = Config::new()
        .file(FileSpec::new("slow", 65536).behaviour(Behaviour::Latency(LATENCY)))
        .mount()
        .unwrap();
    let start = Instant::now();
    thread::scope(|s| {
        for i in 0..READERS {
            let path = fs.file_path("slow");
            s.spawn(move || {
                let mut f = File::open(path).unwrap();
                let mut buf = vec![0; 4096];
                let offset = (i * 4096) as u64;
                use std::os::unix::fs::FileExt;
                f.read_exact_at(&mut buf, offset).unwrap();
                assert_eq!(buf, pattern(offset, 4096));
                let _ = f.read(&mut buf);
            });
        }
    });
    let elapsed = start.elapsed();
    eprintln!("{READERS} concurrent reads of a {LATENCY:?} file took {elapsed:?}");
    // Each reader does two reads in sequence: about 2 × latency, far from 16 × 2.
    assert!(elapsed >= 2 * LATENCY, "{elapsed:?}");
    assert!(elapsed < 10 * LATENCY, "{elapsed:?}");
    assert_eq!(fs.reads_served(), 2 * READERS as u64);
}

#[test]
fn hung_read_waits_for_release() {
    skip_without_fuse!();
    let fs = Config::new()
        .file(FileSpec::new("hang", 5000).behaviour(Behaviour::Hang))
        .mount()
        .unwrap();
    let rx = read_in_thread(&fs.file_path("hang"));
    assert!(fs.wait_for_pending_hangs(1, Duration::from_secs(5)));
    thread::sleep(Duration::from_millis(50));
    assert_eq!(fs.pending_hangs(), 1);
    assert!(rx.try_recv().is_err(), "the read must still be blocked");

    assert_eq!(fs.release_hangs(), 1);
    let data = rx.recv_timeout(Duration::from_secs(5)).unwrap().unwrap();
    assert_eq!(data, pattern(0, 5000));
    assert_eq!(fs.pending_hangs(), 0);

    // Released: reads go through, until hang_again().
    assert_eq!(
        std::fs::read(fs.file_path("hang")).unwrap(),
        pattern(0, 5000)
    );
    fs.hang_again();
    let rx = read_in_thread(&fs.file_path("hang"));
    assert!(fs.wait_for_pending_hangs(1, Duration::from_secs(5)));
    assert_eq!(fs.fail_hangs(), 1);
    let err = rx
        .recv_timeout(Duration::from_secs(5))
        .unwrap()
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EIO));
}

#[test]
fn set_behaviour_at_run_time() {
    skip_without_fuse!();
    let fs = Config::new().file(FileSpec::new("f", 100)).mount().unwrap();
    assert_eq!(std::fs::read(fs.file_path("f")).unwrap(), pattern(0, 100));
    fs.set_behaviour("f", Behaviour::Eio).unwrap();
    let err = std::fs::read(fs.file_path("f")).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EIO));
    fs.set_behaviour("f", Behaviour::Normal).unwrap();
    assert_eq!(std::fs::read(fs.file_path("f")).unwrap(), pattern(0, 100));
    assert_eq!(
        fs.set_behaviour("nope", Behaviour::Normal)
            .unwrap_err()
            .kind(),
        std::io::ErrorKind::NotFound
    );
}

#[test]
fn eio_on_read_and_enospc_on_write() {
    skip_without_fuse!();
    let fs = Config::new()
        .file(FileSpec::new("eio", 4096).behaviour(Behaviour::Eio))
        .file(
            FileSpec::new("full", 4096)
                .behaviour(Behaviour::Enospc)
                .writable(true),
        )
        .mount()
        .unwrap();
    let mut buf = [0; 100];
    let err = File::open(fs.file_path("eio"))
        .unwrap()
        .read(&mut buf)
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EIO));

    let mut f = OpenOptions::new()
        .write(true)
        .open(fs.file_path("full"))
        .unwrap();
    let err = f.write(b"data").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOSPC));
    // Reads of the ENOSPC file work.
    assert_eq!(
        std::fs::read(fs.file_path("full")).unwrap(),
        pattern(0, 4096)
    );
    assert_eq!(fs.reads_failed(), 1);
    assert_eq!(fs.writes_failed(), 1);
}

#[test]
fn short_reads_return_at_most_half() {
    skip_without_fuse!();
    let fs = Config::new()
        .file(FileSpec::new("short", 10_000).behaviour(Behaviour::ShortReads))
        .mount()
        .unwrap();
    let mut f = File::open(fs.file_path("short")).unwrap();
    let mut buf = vec![0; 4096];
    let n = f.read(&mut buf).unwrap();
    assert_eq!(n, 2048);
    assert_eq!(buf[..n], pattern(0, n));

    let mut f = File::open(fs.file_path("short")).unwrap();
    let mut all = vec![0; 10_000];
    f.read_exact(&mut all).unwrap();
    assert_eq!(all, pattern(0, 10_000));
    // A 1-byte read still gets its byte.
    let mut one = [0; 1];
    assert_eq!(
        File::open(fs.file_path("short"))
            .unwrap()
            .read(&mut one)
            .unwrap(),
        1
    );
}

#[test]
fn drop_with_pending_hang_finishes_the_reader() {
    skip_without_fuse!();
    let fs = Config::new()
        .file(FileSpec::new("hang", 3000).behaviour(Behaviour::Hang))
        .mount()
        .unwrap();
    let path = fs.path().to_path_buf();
    let rx = read_in_thread(&fs.file_path("hang"));
    assert!(fs.wait_for_pending_hangs(1, Duration::from_secs(5)));
    let start = Instant::now();
    drop(fs);
    let dropped_in = start.elapsed();
    let result = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    // Held reads are answered with their data before unmounting.
    assert_eq!(result.unwrap(), pattern(0, 3000));
    assert!(dropped_in < Duration::from_secs(2), "{dropped_in:?}");
    assert!(!is_mount_point(&path));
    assert!(!path.exists());
}

#[test]
fn abort_fails_hung_reads() {
    skip_without_fuse!();
    let fs = Config::new()
        .file(FileSpec::new("hang", 3000).behaviour(Behaviour::Hang))
        .mount()
        .unwrap();
    let rx = read_in_thread(&fs.file_path("hang"));
    assert!(fs.wait_for_pending_hangs(1, Duration::from_secs(5)));
    fs.abort().unwrap();
    let err = rx
        .recv_timeout(Duration::from_secs(5))
        .unwrap()
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ECONNABORTED));
    let err = std::fs::metadata(fs.file_path("hang")).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOTCONN));
    assert_eq!(fs.pending_hangs(), 0);
    let path = fs.path().to_path_buf();
    drop(fs);
    assert!(!path.exists());
}

#[test]
fn drop_with_a_file_left_open_does_not_block() {
    skip_without_fuse!();
    let fs: Mounted = Config::new().file(FileSpec::new("f", 10)).mount().unwrap();
    let mut f = File::open(fs.file_path("f")).unwrap();
    let start = Instant::now();
    drop(fs);
    // The session ends through the fusectl abort after a short wait.
    assert!(start.elapsed() < Duration::from_secs(3));
    let err = f.read(&mut [0; 10]).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOTCONN));
}

#[test]
fn invalid_configs_are_refused() {
    skip_without_fuse!();
    for config in [
        Config::new().file(FileSpec::new("a/b", 1)),
        Config::new().file(FileSpec::new("", 1)),
        Config::new()
            .file(FileSpec::new("x", 1))
            .file(FileSpec::new("x", 2)),
    ] {
        let err = config.mount().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
    }
}

#[test]
fn sixty_four_concurrent_reads_take_about_one_latency() {
    skip_without_fuse!();
    const LATENCY: Duration = Duration::from_millis(50);
    let fs = Config::new()
        .file(FileSpec::new("slow", 4096).behaviour(Behaviour::Latency(LATENCY)))
        .mount()
        .unwrap();
    let files: Vec<File> = (0..64)
        .map(|_| File::open(fs.file_path("slow")).unwrap())
        .collect();
    let start = Instant::now();
    thread::scope(|s| {
        for f in &files {
            s.spawn(move || {
                use std::os::unix::fs::FileExt;
                let mut buf = [0; 4096];
                f.read_exact_at(&mut buf, 0).unwrap();
            });
        }
    });
    let elapsed = start.elapsed();
    eprintln!("64 concurrent reads of a {LATENCY:?} file took {elapsed:?}");
    assert!(elapsed >= LATENCY && elapsed < 5 * LATENCY, "{elapsed:?}");
}

#[test]
fn drop_answers_delayed_requests_at_once() {
    skip_without_fuse!();
    let fs = Config::new()
        .file(
            FileSpec::new("glacial", 100).behaviour(Behaviour::Latency(Duration::from_secs(3600))),
        )
        .mount()
        .unwrap();
    let rx = read_in_thread(&fs.file_path("glacial"));
    let deadline = Instant::now() + Duration::from_secs(5);
    while fs.reads_received() == 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(fs.reads_received(), 1);
    let start = Instant::now();
    drop(fs);
    let data = rx.recv_timeout(Duration::from_secs(5)).unwrap().unwrap();
    assert_eq!(data, pattern(0, 100));
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[test]
fn page_cache_reads_without_direct_io() {
    skip_without_fuse!();
    let fs = Config::new()
        .direct_io(false)
        .file(FileSpec::new("cached", 200_000))
        .file(
            FileSpec::new("direct", 1000)
                .direct_io(true)
                .behaviour(Behaviour::ShortReads),
        )
        .mount()
        .unwrap();
    assert_eq!(
        std::fs::read(fs.file_path("cached")).unwrap(),
        pattern(0, 200_000)
    );
    let mut buf = [0; 1000];
    let n = File::open(fs.file_path("direct"))
        .unwrap()
        .read(&mut buf)
        .unwrap();
    assert_eq!(n, 500);
}

#[test]
fn mounted_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Mounted>();
}
