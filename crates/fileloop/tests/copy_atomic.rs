//! copy (copy_file_range with fallback), copy_with_progress and write_atomic, on every backend.
#![cfg(unix)]

#[macro_use]
#[path = "support/backends.rs"]
mod backends;

use fileloop::Engine;
use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

per_backend!(
    copy_big_file_keeps_contents_and_permissions,
    copy_replaces_a_longer_destination,
    copy_errors_like_std,
    copy_with_progress_is_monotonic_and_complete,
    copy_from_a_file_without_a_size,
    write_atomic_replaces_and_leaves_nothing_behind,
    write_atomic_failure_removes_the_temporary,
);

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i % 251) as u8).wrapping_add(seed))
        .collect()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

async fn copy_big_file_keeps_contents_and_permissions(engine: Engine) {
    let tmp = tempfile::tempdir().unwrap();
    let (from, to) = (tmp.path().join("from"), tmp.path().join("to"));
    let data = pattern(20 << 20, 7);
    std::fs::write(&from, &data).unwrap();
    std::fs::set_permissions(&from, std::fs::Permissions::from_mode(0o751)).unwrap();
    let n = engine.copy(&from, &to).await.unwrap();
    assert_eq!(n, data.len() as u64);
    assert!(std::fs::read(&to).unwrap() == data, "contents differ");
    let mode = std::fs::metadata(&to).unwrap().permissions().mode();
    assert_eq!(mode & 0o7777, 0o751);
    // Also an empty file and one of odd size.
    for len in [0, 1, 4097, (8 << 20) + 3] {
        let data = pattern(len, 3);
        std::fs::write(&from, &data).unwrap();
        assert_eq!(engine.copy(&from, &to).await.unwrap(), len as u64);
        assert!(std::fs::read(&to).unwrap() == data, "len {len}");
    }
}

async fn copy_replaces_a_longer_destination(engine: Engine) {
    let tmp = tempfile::tempdir().unwrap();
    let (from, to) = (tmp.path().join("from"), tmp.path().join("to"));
    std::fs::write(&from, b"short").unwrap();
    std::fs::write(&to, pattern(100_000, 1)).unwrap();
    std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(&from, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(engine.copy(&from, &to).await.unwrap(), 5);
    assert_eq!(std::fs::read(&to).unwrap(), b"short");
    let mode = std::fs::metadata(&to).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o644, "permissions follow the source, as std");
}

async fn copy_errors_like_std(engine: Engine) {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("file"), b"keep me").unwrap();
    std::fs::create_dir(d.join("dir")).unwrap();
    let cases = [
        ("missing", "out1"),
        ("dir", "out2"),
        ("file", "no/such/dir/out"),
        ("file", "dir"),
    ];
    for (from, to) in cases {
        let ours = engine.copy(d.join(from), d.join(to)).await.unwrap_err();
        let theirs = std::fs::copy(d.join(from), d.join(to)).unwrap_err();
        assert_eq!(ours.kind(), theirs.kind(), "{from} -> {to}: {ours}");
        assert!(ours.to_string().contains("copy"), "{ours}");
    }
    // Onto itself: refused rather than truncating the file (std would empty it).
    let err = engine
        .copy(d.join("file"), d.join("file"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    std::os::unix::fs::symlink("file", d.join("alias")).unwrap();
    let err = engine
        .copy(d.join("file"), d.join("alias"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(std::fs::read(d.join("file")).unwrap(), b"keep me");
}

async fn copy_with_progress_is_monotonic_and_complete(engine: Engine) {
    let tmp = tempfile::tempdir().unwrap();
    let (from, to) = (tmp.path().join("from"), tmp.path().join("to"));
    for len in [20 << 20, (16 << 20) + 5, 100, 0] {
        let data = pattern(len, 9);
        std::fs::write(&from, &data).unwrap();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let sink = calls.clone();
        let n = engine
            .copy_with_progress(&from, &to, move |copied, total| {
                sink.lock().unwrap().push((copied, total));
            })
            .await
            .unwrap();
        assert_eq!(n, len as u64);
        let calls = calls.lock().unwrap().clone();
        assert!(!calls.is_empty());
        let mut last = 0;
        for &(copied, total) in &calls {
            assert!(copied >= last, "not monotonic: {calls:?}");
            assert!(
                copied - last <= fileloop::COPY_PROGRESS_CHUNK,
                "chunk too big"
            );
            assert!(copied <= total);
            assert_eq!(total, len as u64);
            last = copied;
        }
        assert_eq!(calls.last(), Some(&(len as u64, len as u64)));
        if len == 20 << 20 {
            assert!(calls.len() >= 3, "{calls:?}");
        }
        assert!(std::fs::read(&to).unwrap() == data);
    }
}

async fn copy_from_a_file_without_a_size(engine: Engine) {
    // procfs reports size 0 but has contents: copy must fall back and copy them.
    let tmp = tempfile::tempdir().unwrap();
    let to = tmp.path().join("status");
    let n = engine.copy("/proc/self/status", &to).await.unwrap();
    assert!(n > 0);
    let text = std::fs::read_to_string(&to).unwrap();
    assert!(text.contains("Name:"), "{text}");
    assert_eq!(n, text.len() as u64);
}

fn umask() -> u32 {
    // SAFETY: umask only swaps the process mask; it is restored at once.
    unsafe {
        let m = libc::umask(0o022);
        libc::umask(m);
        #[allow(clippy::unnecessary_cast, clippy::useless_conversion)] // mode_t is u16 on macOS
        {
            m as u32
        }
    }
}

async fn write_atomic_replaces_and_leaves_nothing_behind(engine: Engine) {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("config");
    engine.write_atomic(&target, b"first").await.unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"first");
    let mode = std::fs::metadata(&target).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o666 & !umask());
    for i in 0..20u8 {
        let data = pattern(1000 + i as usize * 5000, i);
        engine.write_atomic(&target, &data).await.unwrap();
        assert!(std::fs::read(&target).unwrap() == data);
    }
    engine.write_atomic(&target, b"").await.unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"");
    assert_eq!(names(tmp.path()), ["config"]);
    // A long name still gets a temporary that fits NAME_MAX.
    let long = tmp.path().join("l".repeat(250));
    engine.write_atomic(&long, b"long").await.unwrap();
    assert_eq!(std::fs::read(&long).unwrap(), b"long");
    // A relative path in the current directory.
    let err = engine.write_atomic("", b"x").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    // Concurrent writers: the result is one of the contents, whole.
    let a = pattern(300_000, 1);
    let b = pattern(300_000, 2);
    let (ra, rb) = futures::join!(
        engine.write_atomic(&target, &a),
        engine.write_atomic(&target, &b)
    );
    ra.unwrap();
    rb.unwrap();
    let got = std::fs::read(&target).unwrap();
    assert!(got == a || got == b);
    assert_eq!(names(tmp.path()).len(), 2);
}

async fn write_atomic_failure_removes_the_temporary(engine: Engine) {
    let tmp = tempfile::tempdir().unwrap();
    // The target is a non-empty directory: the rename fails after the data was written.
    std::fs::create_dir(tmp.path().join("taken")).unwrap();
    std::fs::write(tmp.path().join("taken/inside"), b"").unwrap();
    let err = engine
        .write_atomic(tmp.path().join("taken"), pattern(100_000, 0))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("taken"), "{err}");
    assert_eq!(names(tmp.path()), ["taken"]);
    // A missing directory: NotFound, nothing created.
    let err = engine
        .write_atomic(tmp.path().join("missing/file"), b"x")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(names(tmp.path()), ["taken"]);
}
