//! `Dir`: operations relative to an open directory, and a traversal corpus thrown at a confined
//! one (no escape, no panic; paths that stay inside work), on every backend.
#![cfg(target_os = "linux")]

#[macro_use]
#[path = "support/backends.rs"]
mod backends;

use fileloop::{Dir, Engine, OpenOptions};
use std::ffi::OsStr;
use std::io::{self, ErrorKind};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

per_backend!(
    relative_operations,
    unconfined_follows_paths_anywhere,
    confined_allows_paths_inside,
    confined_refuses_escapes,
    confined_odd_inputs,
    confined_subdirectories_stay_confined,
);

fn os(err: &io::Error) -> Option<i32> {
    let inner = err.get_ref()?.downcast_ref::<fileloop::OpError>()?;
    inner.os_error().raw_os_error()
}

/// `tmp/outside/secret` and the confined root `tmp/root` with files, directories and links
/// (inside the tree, and escaping it in several ways).
fn fixture() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    std::fs::create_dir(t.join("outside")).unwrap();
    std::fs::write(t.join("outside/secret"), b"secret").unwrap();
    let root = t.join("root");
    std::fs::create_dir_all(root.join("a/b")).unwrap();
    std::fs::write(root.join("a/c"), b"inside").unwrap();
    std::fs::write(root.join("top"), b"top").unwrap();
    symlink("a/c", root.join("inside-link")).unwrap();
    symlink("a", root.join("dir-link")).unwrap();
    symlink("../c", root.join("a/b/up-link")).unwrap();
    symlink("../../top", root.join("a/b/to-top")).unwrap();
    symlink("/", root.join("to-root")).unwrap();
    symlink("../..", root.join("up2")).unwrap();
    symlink("../outside", root.join("out-dir")).unwrap();
    symlink(t.join("outside/secret"), root.join("abs-secret")).unwrap();
    symlink("chain2", root.join("chain1")).unwrap();
    symlink("a/b/chain3", root.join("chain2")).unwrap();
    symlink("../../../outside/secret", root.join("a/b/chain3")).unwrap();
    symlink("/proc/self/root/etc/passwd", root.join("magic")).unwrap();
    (tmp, root)
}

/// Everything under `dir`, with contents, to prove nothing outside changed.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let data = std::fs::read(&p).unwrap_or_default();
        out.push((p, data));
    }
    out.sort();
    out
}

async fn read_file(dir: &Dir, rel: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    let file = dir.open_file(rel).await?;
    let (res, buf) = file.read_to_end(Vec::new()).await;
    res?;
    Ok(buf)
}

async fn relative_operations(engine: Engine) {
    let (_tmp, root) = fixture();
    for dir in [
        Dir::open_with(&engine, &root).await.unwrap(),
        Dir::open_confined_with(&engine, &root).await.unwrap(),
    ] {
        assert_eq!(dir.path(), root);
        let f = dir.create("new").await.unwrap();
        let (res, _) = f.write_all_at(b"hello".to_vec(), 0).await;
        res.unwrap();
        f.close().await.unwrap();
        assert_eq!(read_file(&dir, "new").await.unwrap(), b"hello");
        assert_eq!(dir.metadata("new").await.unwrap().len(), 5);
        dir.create_dir("sub").await.unwrap();
        assert!(dir.metadata("sub").await.unwrap().is_dir());
        dir.rename("new", "sub/moved").await.unwrap();
        assert_eq!(read_file(&dir, "sub/moved").await.unwrap(), b"hello");
        assert_eq!(
            dir.metadata("new").await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true).mode(0o600);
        let f = dir.open_with_options("sub/excl", &opts).await.unwrap();
        drop(f);
        let err = dir.open_with_options("sub/excl", &opts).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        let meta = dir.metadata("sub/excl").await.unwrap();
        assert_eq!(meta.mode() & 0o777, 0o600 & !umask());
        let mut rd = dir.read_dir("sub").await.unwrap();
        let mut names = Vec::new();
        while let Some(e) = rd.next_entry().await.unwrap() {
            names.push(e.file_name());
            assert!(e.metadata().await.unwrap().is_file());
        }
        names.sort();
        assert_eq!(names, ["excl", "moved"]);
        dir.symlink("moved", "sub/ln").await.unwrap();
        assert!(dir.symlink_metadata("sub/ln").await.unwrap().is_symlink());
        assert!(dir.metadata("sub/ln").await.unwrap().is_file());
        dir.write_atomic("sub/atomic", b"whole").await.unwrap();
        assert_eq!(read_file(&dir, "sub/atomic").await.unwrap(), b"whole");
        for f in ["sub/moved", "sub/excl", "sub/ln", "sub/atomic"] {
            dir.remove_file(f).await.unwrap();
        }
        let err = dir.remove_file("sub").await.unwrap_err();
        assert!(
            matches!(os(&err), Some(libc::EISDIR | libc::EPERM)),
            "{err}"
        );
        dir.remove_dir("sub").await.unwrap();
        let err = dir.remove_dir("sub").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.to_string().contains("sub"), "{err}");
    }
}

fn umask() -> u32 {
    // SAFETY: umask only swaps the process mask; it is restored at once.
    unsafe {
        let m = libc::umask(0o022);
        libc::umask(m);
        m
    }
}

async fn unconfined_follows_paths_anywhere(engine: Engine) {
    let (_tmp, root) = fixture();
    let dir = Dir::open_with(&engine, &root).await.unwrap();
    assert!(!dir.is_confined());
    assert_eq!(
        read_file(&dir, "../outside/secret").await.unwrap(),
        b"secret"
    );
    assert_eq!(read_file(&dir, "chain1").await.unwrap(), b"secret");
    assert!(dir.metadata("to-root/etc").await.unwrap().is_dir());
}

async fn confined_allows_paths_inside(engine: Engine) {
    let (_tmp, root) = fixture();
    let dir = Dir::open_confined_with(&engine, &root).await.unwrap();
    assert!(dir.is_confined());
    for (rel, want) in [
        ("a/c", &b"inside"[..]),
        ("a/b/../c", b"inside"),
        ("./a/./c", b"inside"),
        ("a/../top", b"top"),
        ("inside-link", b"inside"),
        ("dir-link/c", b"inside"),
        ("a/b/up-link", b"inside"),
        ("dir-link/b/up-link", b"inside"),
        ("a/b/to-top", b"top"),
    ] {
        assert_eq!(read_file(&dir, rel).await.unwrap(), want, "{rel}");
        assert!(dir.metadata(rel).await.unwrap().is_file(), "{rel}");
    }
    assert!(dir.metadata(".").await.unwrap().is_dir());
    assert!(dir.metadata("a/b/..").await.unwrap().is_dir());
    // The escaping links themselves are inside: lstat, remove and rename them freely.
    for link in ["to-root", "up2", "chain1", "abs-secret", "magic"] {
        assert!(
            dir.symlink_metadata(link).await.unwrap().is_symlink(),
            "{link}"
        );
    }
    dir.rename("to-root", "a/b/renamed-link").await.unwrap();
    dir.remove_file("a/b/renamed-link").await.unwrap();
    dir.create_dir("dir-link/made-through-link").await.unwrap();
    assert!(root.join("a/made-through-link").is_dir());
    dir.remove_dir("a/b/../made-through-link").await.unwrap();
    let mut rd = dir.read_dir("dir-link/b/..").await.unwrap();
    let mut n = 0;
    while rd.next_entry().await.unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, 2); // b, c
}

/// Checks that `res` failed as an escape (PermissionDenied naming the confinement), or — for
/// inputs the kernel refuses earlier — at least failed.
fn refused<T: std::fmt::Debug>(what: &str, res: io::Result<T>) {
    match res {
        Ok(v) => panic!("{what}: escaped: {v:?}"),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{what}: {e}");
            assert!(
                e.to_string().contains("escapes the confined directory"),
                "{what}: {e}"
            );
        }
    }
}

async fn confined_refuses_escapes(engine: Engine) {
    let (tmp, root) = fixture();
    let outside = tmp.path().join("outside");
    let before = snapshot(&outside);
    let dir = Dir::open_confined_with(&engine, &root).await.unwrap();
    let corpus = [
        "..",
        "../outside/secret",
        "../x",
        "a/../../x",
        "a/b/../../../outside/secret",
        "/etc/passwd",
        "/",
        "to-root/etc/passwd",
        "to-root",
        "up2/outside/secret",
        "up2",
        "out-dir/secret",
        "out-dir/new",
        "abs-secret",
        "chain1",
        "chain2",
        "dir-link/../../outside/secret",
    ];
    for rel in corpus {
        refused(&format!("open_file {rel}"), read_file(&dir, rel).await);
        refused(&format!("metadata {rel}"), dir.metadata(rel).await);
        refused(&format!("read_dir {rel}"), dir.read_dir(rel).await);
        refused(&format!("open_dir {rel}"), dir.open_dir(rel).await);
        refused(
            &format!("create {rel}/f"),
            dir.create(Path::new(rel).join("f")).await,
        );
        refused(
            &format!("create_dir {rel}/d"),
            dir.create_dir(Path::new(rel).join("d")).await,
        );
        refused(
            &format!("remove_file {rel}/secret"),
            dir.remove_file(Path::new(rel).join("secret")).await,
        );
        refused(
            &format!("rename top -> {rel}/stolen"),
            dir.rename("top", Path::new(rel).join("stolen")).await,
        );
        refused(
            &format!("rename {rel}/secret -> stolen"),
            dir.rename(Path::new(rel).join("secret"), "stolen").await,
        );
        refused(
            &format!("write_atomic {rel}/w"),
            dir.write_atomic(Path::new(rel).join("w"), b"x").await,
        );
    }
    // Creating through an escaping link as the final name is refused too.
    refused("create out-dir", dir.create("abs-secret").await);
    refused("create chain1", dir.create("chain1").await);
    // /proc magic links are refused (ELOOP), not followed.
    let err = dir.metadata("magic").await.unwrap_err();
    let refused_kind = err.kind() == ErrorKind::PermissionDenied;
    assert!(refused_kind || os(&err) == Some(libc::ELOOP), "{err}");
    assert!(read_file(&dir, "magic").await.is_err());
    let proc_self = Dir::open_confined_with(&engine, "/proc/self")
        .await
        .unwrap();
    for rel in ["root/etc/passwd", "cwd", "exe", "fd/0"] {
        let err = read_file(&proc_self, rel).await.unwrap_err();
        assert_eq!(os(&err), Some(libc::ELOOP), "{rel}: {err}");
    }
    assert_eq!(snapshot(&outside), before, "something outside changed");
    assert!(root.join("top").exists());
    assert!(!root.join("stolen").exists());
}

async fn confined_odd_inputs(engine: Engine) {
    let (_tmp, root) = fixture();
    let dir = Dir::open_confined_with(&engine, &root).await.unwrap();
    // Longer than PATH_MAX: ENAMETOOLONG, no panic.
    let long: PathBuf = std::iter::repeat_n("a", 3000)
        .collect::<Vec<_>>()
        .join("/")
        .into();
    let err = read_file(&dir, &long).await.unwrap_err();
    assert_eq!(os(&err), Some(libc::ENAMETOOLONG), "{err}");
    let err = dir.create_dir(&long).await.unwrap_err();
    assert_eq!(os(&err), Some(libc::ENAMETOOLONG), "{err}");
    let err = dir.metadata(&long).await.unwrap_err();
    assert_eq!(os(&err), Some(libc::ENAMETOOLONG), "{err}");
    // A component longer than NAME_MAX.
    let name = "n".repeat(300);
    let err = dir.create(&name).await.unwrap_err();
    assert_eq!(os(&err), Some(libc::ENAMETOOLONG), "{err}");
    let err = dir.create_dir(&name).await.unwrap_err();
    assert_eq!(os(&err), Some(libc::ENAMETOOLONG), "{err}");
    // NUL bytes: InvalidInput, wherever they are.
    for rel in ["nul\0", "a/\0/c", "a\0/c", "\0"] {
        assert_eq!(
            read_file(&dir, rel).await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            dir.metadata(rel).await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            dir.create_dir(rel).await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            dir.remove_file(rel).await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            dir.rename("top", rel).await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
    // Empty and name-less paths.
    assert_eq!(
        read_file(&dir, "").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        dir.remove_dir("a/..").await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        dir.remove_dir("").await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    // Non-UTF-8 names work.
    let odd = OsStr::from_bytes(b"caf\xe9-\xff");
    let f = dir.create(Path::new("a").join(odd)).await.unwrap();
    drop(f);
    assert!(dir
        .metadata(Path::new("a").join(odd))
        .await
        .unwrap()
        .is_file());
    dir.create_dir(odd).await.unwrap();
    dir.rename(Path::new("a").join(odd), Path::new(odd).join(odd))
        .await
        .unwrap();
    assert!(root.join(odd).join(odd).is_file());
    let mut rd = dir.read_dir(odd).await.unwrap();
    assert_eq!(rd.next_entry().await.unwrap().unwrap().file_name(), odd);
    dir.remove_file(Path::new(odd).join(odd)).await.unwrap();
    dir.remove_dir(odd).await.unwrap();
    // Errors name the full path.
    let err = dir.open_file("a/missing").await.unwrap_err();
    assert!(
        err.to_string()
            .contains(&*root.join("a/missing").to_string_lossy()),
        "{err}"
    );
}

async fn confined_subdirectories_stay_confined(engine: Engine) {
    let (_tmp, root) = fixture();
    let dir = Dir::open_confined_with(&engine, &root).await.unwrap();
    let sub = dir.open_dir("a").await.unwrap();
    assert!(sub.is_confined());
    assert_eq!(sub.path(), root.join("a"));
    assert_eq!(read_file(&sub, "c").await.unwrap(), b"inside");
    // Inside the root but above `sub`: refused, sub is its own boundary.
    refused("sub ../top", read_file(&sub, "../top").await);
    refused("sub b/to-top", read_file(&sub, "b/to-top").await);
    assert_eq!(read_file(&sub, "b/up-link").await.unwrap(), b"inside");
    let plain = Dir::open_with(&engine, &root)
        .await
        .unwrap()
        .open_dir("a")
        .await
        .unwrap();
    assert!(!plain.is_confined());
    assert_eq!(read_file(&plain, "../top").await.unwrap(), b"top");
}
