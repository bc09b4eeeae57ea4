//! read_dir against std::fs::read_dir, and walk (bounded concurrency, symbolic links, loops),
//! on every backend.
#![cfg(unix)]

#[macro_use]
#[path = "support/backends.rs"]
mod backends;

use fileloop::{Engine, FileType};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::io::ErrorKind;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::Duration;

per_backend!(
    read_dir_matches_std,
    read_dir_many_entries_in_batches,
    read_dir_errors,
    read_dir_dropped_midway,
    next_entry_is_cancel_safe,
    entry_metadata_matches_std,
    metadata_read_with_the_listing,
    walk_matches_std,
    walk_symlink_loop_not_followed,
    walk_symlink_loop_followed,
    walk_depth_and_concurrency,
    walk_errors_do_not_stop_it,
);

/// A short name for a type, to compare with std's.
fn kind(t: FileType) -> &'static str {
    if t.is_symlink() {
        "link"
    } else if t.is_dir() {
        "dir"
    } else if t.is_file() {
        "file"
    } else {
        "other"
    }
}

fn std_kind(t: std::fs::FileType) -> &'static str {
    if t.is_symlink() {
        "link"
    } else if t.is_dir() {
        "dir"
    } else if t.is_file() {
        "file"
    } else {
        "other"
    }
}

fn non_utf8() -> &'static OsStr {
    OsStr::from_bytes(b"bad-\xff\xfe-name")
}

/// Files, directories, links (to a file, a directory, nowhere), a FIFO, non-UTF-8 names.
fn mixed_tree(d: &Path) {
    std::fs::write(d.join("file"), b"abc").unwrap();
    std::fs::write(d.join(non_utf8()), b"x").unwrap();
    std::fs::create_dir(d.join("dir")).unwrap();
    std::fs::create_dir(d.join(OsStr::from_bytes(b"dir-\xc3\x28"))).unwrap();
    std::fs::write(d.join("dir/inner"), b"inner").unwrap();
    symlink("file", d.join("link-file")).unwrap();
    symlink("dir", d.join("link-dir")).unwrap();
    symlink("nowhere", d.join("link-dangling")).unwrap();
    let fifo = std::ffi::CString::new(d.join("fifo").as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    std::fs::write(d.join(".hidden"), b"").unwrap();
}

async fn list(engine: &Engine, dir: &Path) -> BTreeMap<OsString, &'static str> {
    let mut rd = engine.read_dir(dir).await.unwrap();
    let mut out = BTreeMap::new();
    while let Some(e) = rd.next_entry().await.unwrap() {
        assert_eq!(e.path(), dir.join(e.file_name()));
        let prev = out.insert(e.file_name(), kind(e.file_type().unwrap()));
        assert!(prev.is_none(), "{:?} listed twice", e.file_name());
    }
    assert!(rd.next_entry().await.unwrap().is_none(), "None stays None");
    out
}

fn std_list(dir: &Path) -> BTreeMap<OsString, &'static str> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name(), std_kind(e.file_type().unwrap()))
        })
        .collect()
}

async fn read_dir_matches_std(engine: Engine) {
    let tmp = tempfile::tempdir().unwrap();
    mixed_tree(tmp.path());
    assert_eq!(list(&engine, tmp.path()).await, std_list(tmp.path()));
    assert!(list(&engine, tmp.path()).await.contains_key(non_utf8()));
    let sub = tmp.path().join("dir");
    assert_eq!(list(&engine, &sub).await, std_list(&sub));
    // Through a link to a directory, and an empty directory.
    assert_eq!(
        list(&engine, &tmp.path().join("link-dir")).await,
        std_list(&sub)
    );
    std::fs::create_dir(tmp.path().join("empty")).unwrap();
    assert!(list(&engine, &tmp.path().join("empty")).await.is_empty());
}

async fn read_dir_many_entries_in_batches(engine: Engine) {
    let tmp = tempfile::tempdir().unwrap();
    for i in 0..2100 {
        std::fs::write(tmp.path().join(format!("f{i:05}")), b"").unwrap();
    }
    for i in 0..50 {
        std::fs::create_dir(tmp.path().join(format!("d{i}"))).unwrap();
    }
    let ours = list(&engine, tmp.path()).await;
    assert_eq!(ours.len(), 2150);
    assert_eq!(ours, std_list(tmp.path()));
}

async fn read_dir_errors(engine: Engine) {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("file"), b"").unwrap();
    let missing = tmp.path().join("missing");
    let err = engine.read_dir(&missing).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("missing"), "{err}");
    let err = engine.read_dir(tmp.path().join("file")).await.unwrap_err();
    assert_eq!(err.raw_os_error().or_else(|| os(&err)), Some(libc::ENOTDIR));
    let err = engine.read_dir("nul\0inside").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

fn os(err: &std::io::Error) -> Option<i32> {
    let inner = err.get_ref()?.downcast_ref::<fileloop::OpError>()?;
    inner.os_error().raw_os_error()
}

async fn read_dir_dropped_midway(engine: Engine) {
    let tmp = tempfile::tempdir().unwrap();
    for i in 0..2100 {
        std::fs::write(tmp.path().join(format!("f{i}")), b"").unwrap();
    }
    for take in [0, 1, 1024, 1500] {
        let mut rd = engine.read_dir(tmp.path()).await.unwrap();
        for _ in 0..take {
            rd.next_entry().await.unwrap().unwrap();
        }
        drop(rd);
    }
    // Descriptors were given back: thousands more listings still work.
    for _ in 0..300 {
        let mut rd = engine.read_dir(tmp.path()).await.unwrap();
        rd.next_entry().await.unwrap().unwrap();
    }
}

/// Polling `next_entry` once and dropping it whenever it is not ready loses no entry.
async fn next_entry_is_cancel_safe(engine: Engine) {
    use futures::FutureExt;
    let tmp = tempfile::tempdir().unwrap();
    for i in 0..2100 {
        std::fs::write(tmp.path().join(format!("f{i}")), b"").unwrap();
    }
    let mut rd = engine.read_dir(tmp.path()).await.unwrap();
    let (mut names, mut dropped) = (BTreeSet::new(), 0);
    loop {
        let got = match rd.next_entry().now_or_never() {
            Some(got) => got,
            None => {
                dropped += 1;
                rd.next_entry().await
            }
        };
        match got.unwrap() {
            Some(e) => assert!(names.insert(e.file_name())),
            None => break,
        }
    }
    assert_eq!(names.len(), 2100, "after {dropped} dropped polls");
    let tree = tempfile::tempdir().unwrap();
    deep_tree(tree.path());
    let mut expected = BTreeMap::new();
    std_walk(tree.path(), 1, &mut expected);
    let mut walk = engine.walk(tree.path());
    let mut walked = BTreeSet::new();
    loop {
        let got = match walk.next_entry().now_or_never() {
            Some(got) => got,
            None => walk.next_entry().await,
        };
        match got.unwrap() {
            Some(e) => assert!(walked.insert(e.path())),
            None => break,
        }
    }
    assert_eq!(walked, expected.into_keys().collect());
}

async fn entry_metadata_matches_std(engine: Engine) {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    mixed_tree(tmp.path());
    let mut rd = engine.read_dir(tmp.path()).await.unwrap();
    let mut seen = 0;
    while let Some(e) = rd.next_entry().await.unwrap() {
        let ours = e.metadata().await.unwrap();
        let theirs = std::fs::symlink_metadata(e.path()).unwrap();
        assert_eq!(ours.ino(), theirs.ino());
        assert_eq!(e.ino(), theirs.ino());
        assert_eq!(ours.len(), theirs.len());
        assert_eq!(kind(ours.file_type()), std_kind(theirs.file_type()));
        assert_eq!(ours.file_type(), e.file_type().unwrap());
        seen += 1;
    }
    assert_eq!(seen, std_list(tmp.path()).len());
    // An entry removed after listing: metadata reports NotFound with the full path.
    std::fs::write(tmp.path().join("gone"), b"").unwrap();
    let mut rd = engine.read_dir(tmp.path()).await.unwrap();
    while let Some(e) = rd.next_entry().await.unwrap() {
        if e.file_name() == "gone" {
            std::fs::remove_file(e.path()).unwrap();
            let err = e.metadata().await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotFound);
            assert!(
                err.to_string().contains(&*e.path().to_string_lossy()),
                "{err}"
            );
        }
    }
}

async fn metadata_read_with_the_listing(engine: Engine) {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    mixed_tree(tmp.path());
    for i in 0..1100 {
        std::fs::write(tmp.path().join(format!("n{i}")), vec![0; i % 7]).unwrap();
    }
    let mut rd = engine
        .read_dir(tmp.path())
        .await
        .unwrap()
        .with_metadata(true);
    let mut seen = 0;
    while let Some(e) = rd.next_entry().await.unwrap() {
        let ours = e.metadata().await.unwrap();
        let theirs = std::fs::symlink_metadata(e.path()).unwrap();
        assert_eq!((ours.ino(), ours.len()), (theirs.ino(), theirs.len()));
        assert_eq!(ours.mode(), theirs.mode());
        assert_eq!(kind(ours.file_type()), std_kind(theirs.file_type()));
        seen += 1;
    }
    assert_eq!(seen, std_list(tmp.path()).len());
    // In a walk that follows links, the metadata is the target's.
    let mut walk = engine
        .walk(tmp.path())
        .follow_links(true)
        .with_metadata(true);
    while let Some(e) = walk.next_entry().await.unwrap() {
        let ours = e.metadata().await;
        match std::fs::metadata(e.path()) {
            Ok(theirs) => assert_eq!(ours.unwrap().ino(), theirs.ino()),
            Err(_) => assert!(e.path_is_symlink() && ours.is_err()),
        }
    }
}

/// Every path under `root` with its depth and type, by a plain recursive std walk.
fn std_walk(root: &Path, depth: usize, out: &mut BTreeMap<PathBuf, (usize, &'static str)>) {
    for e in std::fs::read_dir(root).unwrap() {
        let e = e.unwrap();
        let t = e.file_type().unwrap();
        out.insert(e.path(), (depth, std_kind(t)));
        if t.is_dir() {
            std_walk(&e.path(), depth + 1, out);
        }
    }
}

async fn collect(mut walk: fileloop::Walk) -> (BTreeMap<PathBuf, (usize, &'static str)>, usize) {
    let mut out = BTreeMap::new();
    let mut errors = 0;
    loop {
        match walk.next_entry().await {
            Ok(Some(e)) => {
                let prev = out.insert(e.path(), (e.depth(), kind(e.file_type().unwrap())));
                assert!(prev.is_none(), "{} walked twice", e.path().display());
            }
            Ok(None) => break,
            Err(_) => errors += 1,
        }
    }
    (out, errors)
}

/// A tree several levels deep and wide.
fn deep_tree(d: &Path) {
    for a in 0..4 {
        for b in 0..5 {
            let dir = d.join(format!("a{a}/b{b}/c"));
            std::fs::create_dir_all(&dir).unwrap();
            for f in 0..7 {
                std::fs::write(dir.join(format!("f{f}")), b"").unwrap();
            }
            std::fs::write(d.join(format!("a{a}/b{b}/top")), b"").unwrap();
        }
    }
    std::fs::create_dir(d.join(non_utf8())).unwrap();
    std::fs::write(d.join(non_utf8()).join(non_utf8()), b"").unwrap();
    symlink("a0", d.join("link-to-a0")).unwrap();
}

async fn walk_matches_std(engine: Engine) {
    let tmp = tempfile::tempdir().unwrap();
    deep_tree(tmp.path());
    let mut expected = BTreeMap::new();
    std_walk(tmp.path(), 1, &mut expected);
    let (ours, errors) = collect(engine.walk(tmp.path())).await;
    assert_eq!(errors, 0);
    assert_eq!(ours, expected);
}

/// A tree with links back to the root, to itself and to a sibling.
fn loop_tree(d: &Path) {
    std::fs::create_dir_all(d.join("a/b")).unwrap();
    std::fs::write(d.join("a/b/file"), b"").unwrap();
    symlink("../..", d.join("a/b/up")).unwrap();
    symlink(".", d.join("a/self")).unwrap();
    symlink("a", d.join("sibling")).unwrap();
}

/// Runs `f` on another thread and fails the test if it takes longer than `secs`.
fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .expect("walk did not finish: loop not detected?")
}

async fn walk_symlink_loop_not_followed(engine: Engine) {
    let tmp = tempfile::tempdir().unwrap();
    loop_tree(tmp.path());
    let root = tmp.path().to_path_buf();
    let (ours, errors) = within(20, move || backends::block_on(collect(engine.walk(&root))));
    assert_eq!(errors, 0);
    let mut expected = BTreeMap::new();
    std_walk(tmp.path(), 1, &mut expected);
    assert_eq!(ours, expected);
    assert_eq!(ours[&tmp.path().join("a/b/up")].1, "link");
}

async fn walk_symlink_loop_followed(engine: Engine) {
    let tmp = tempfile::tempdir().unwrap();
    loop_tree(tmp.path());
    let root = tmp.path().to_path_buf();
    let (entries, loops) = within(20, move || {
        backends::block_on(async move {
            let mut walk = engine.walk(&root).follow_links(true);
            let (mut entries, mut loops) = (BTreeSet::new(), Vec::new());
            while let Some(item) = walk.next_entry().await.transpose() {
                match item {
                    Ok(e) => {
                        assert!(e.depth() <= 4, "{} too deep", e.path().display());
                        if e.path_is_symlink() && e.file_type().unwrap().is_dir() {
                            // Followed: metadata is the target's.
                            assert!(e.metadata().await.unwrap().is_dir());
                        }
                        entries.insert(e.path().strip_prefix(&root).unwrap().to_path_buf());
                    }
                    Err(err) => loops.push(err),
                }
            }
            (entries, loops)
        })
    });
    // a/self -> a, a/b/up -> root, sibling/b/up -> root, sibling/self -> a (ancestor "sibling").
    assert_eq!(loops.len(), 4, "{loops:?}");
    for err in &loops {
        assert_eq!(os(err), Some(libc::ELOOP), "{err}");
    }
    for p in [
        "a/b/file",
        "sibling/b/file",
        "a/self",
        "sibling/self",
        "a/b/up",
    ] {
        assert!(entries.contains(Path::new(p)), "{p} missing: {entries:?}");
    }
}

async fn walk_depth_and_concurrency(engine: Engine) {
    let tmp = tempfile::tempdir().unwrap();
    deep_tree(tmp.path());
    let (all, _) = collect(engine.walk(tmp.path())).await;
    for n in [1, 2, 64] {
        let (ours, _) = collect(engine.walk(tmp.path()).max_concurrency(n)).await;
        assert_eq!(ours, all, "max_concurrency {n}");
    }
    let (shallow, _) = collect(engine.walk(tmp.path()).max_depth(2)).await;
    let expected: BTreeMap<_, _> = all.into_iter().filter(|(_, (d, _))| *d <= 2).collect();
    assert_eq!(shallow, expected);
    let (none, _) = collect(engine.walk(tmp.path()).max_depth(0)).await;
    assert!(none.is_empty());
}

async fn walk_errors_do_not_stop_it(engine: Engine) {
    let tmp = tempfile::tempdir().unwrap();
    let mut walk = engine.walk(tmp.path().join("missing"));
    let err = walk.next_entry().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(walk.next_entry().await.unwrap().is_none());
    // An unreadable directory (not as root, who reads everything) is one error, no more.
    deep_tree(tmp.path());
    let locked = tmp.path().join("a1");
    std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    // SAFETY: geteuid has no preconditions.
    let root_user = unsafe { libc::geteuid() } == 0;
    let (ours, errors) = collect(engine.walk(tmp.path())).await;
    std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    if root_user {
        assert_eq!(errors, 0);
    } else {
        assert_eq!(errors, 1);
        assert!(ours.contains_key(&locked));
        assert!(ours.contains_key(&tmp.path().join("a2/b0/c/f0")));
    }
}
