//! Runs the built `fileloop cp` on scratch trees and checks the copies.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output};

fn fileloop() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fileloop"))
}

fn cp(args: &[&OsStr]) -> Output {
    fileloop()
        .arg("cp")
        .args(args)
        .output()
        .expect("run fileloop")
}

fn os<P: AsRef<Path> + ?Sized>(p: &P) -> &OsStr {
    p.as_ref().as_os_str()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

fn set_mode(p: &Path, m: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
}

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
    // SAFETY: valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
}

/// Content that differs per byte position, `len` bytes.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
        .collect()
}

/// A tree with nested and empty directories, symlinks, modes, a non-UTF-8 name and a file
/// larger than one copy chunk.
fn make_tree(root: &Path) {
    fs::create_dir_all(root.join("a/b/c")).unwrap();
    fs::create_dir_all(root.join("empty/nested-empty")).unwrap();
    fs::write(root.join("top.txt"), b"top\n").unwrap();
    fs::write(root.join("a/secret"), b"0600 file").unwrap();
    set_mode(&root.join("a/secret"), 0o600);
    fs::write(root.join("a/b/run.sh"), b"#!/bin/sh\necho hi\n").unwrap();
    set_mode(&root.join("a/b/run.sh"), 0o755);
    fs::write(root.join("a/b/c/zero"), b"").unwrap();
    fs::write(root.join("a/b/c/big.bin"), pattern(2_500_000, 7)).unwrap();
    fs::write(root.join("a/exact4k"), pattern(4096, 3)).unwrap();
    fs::write(
        root.join(OsStr::from_bytes(b"caf\xe9-latin1.txt")),
        b"non-UTF-8 name",
    )
    .unwrap();
    symlink("../top.txt", root.join("a/link-to-top")).unwrap();
    symlink("/nonexistent/target", root.join("a/dangling")).unwrap();
    symlink("b", root.join("a/dirlink")).unwrap();
    fs::create_dir(root.join("ro")).unwrap();
    fs::write(root.join("ro/inside"), b"in a read-only dir").unwrap();
    set_mode(&root.join("ro"), 0o555);
    set_mode(&root.join("a/b"), 0o750);
}

/// Checks that `dst` is a faithful copy of `src` (contents, modes, links, empty dirs).
fn assert_same_tree(src: &Path, dst: &Path) {
    let mut stack = vec![(src.to_path_buf(), dst.to_path_buf())];
    let mut seen = 0;
    while let Some((s, d)) = stack.pop() {
        seen += 1;
        let sm = fs::symlink_metadata(&s).unwrap();
        let dm = fs::symlink_metadata(&d)
            .unwrap_or_else(|e| panic!("{} missing in the copy: {e}", d.display()));
        let (st, dt) = (sm.file_type(), dm.file_type());
        assert_eq!(
            (st.is_dir(), st.is_file(), st.is_symlink()),
            (dt.is_dir(), dt.is_file(), dt.is_symlink()),
            "type of {}",
            d.display()
        );
        if st.is_symlink() {
            assert_eq!(fs::read_link(&s).unwrap(), fs::read_link(&d).unwrap());
            continue;
        }
        assert_eq!(mode(&s), mode(&d), "mode of {}", d.display());
        if st.is_file() {
            assert!(
                fs::read(&s).unwrap() == fs::read(&d).unwrap(),
                "contents of {}",
                d.display()
            );
        } else {
            let mut names: Vec<_> = fs::read_dir(&s)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            let mut dnames: Vec<_> = fs::read_dir(&d)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            names.sort();
            dnames.sort();
            assert_eq!(names, dnames, "entries of {}", d.display());
            for n in names {
                stack.push((s.join(&n), d.join(&n)));
            }
        }
    }
    assert!(seen > 1);
}

#[test]
fn copies_a_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    make_tree(&src);
    let dst = tmp.path().join("dst");
    let o = cp(&[os("-r"), os(&src), os(&dst)]);
    assert!(o.status.success(), "stderr:\n{}", stderr(&o));
    assert_same_tree(&src, &dst);
    assert_eq!(mode(&dst.join("a/secret")), 0o600);
    assert_eq!(mode(&dst.join("a/b/run.sh")), 0o755);
    assert_eq!(mode(&dst.join("ro")), 0o555);
    let out = stdout(&o);
    // 8 files, 7 directories (src itself, a, a/b, a/b/c, empty, empty/nested-empty, ro), 3 links.
    assert!(
        out.contains("copied 8 files, 7 directories, 3 links"),
        "summary: {out}"
    );
    assert!(out.contains("MiB/s"), "{out}");
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));

    // Again into the now existing directory: lands in dst/src.
    let o = cp(&[os("-r"), os("-q"), os(&src), os(&dst)]);
    assert!(o.status.success(), "stderr:\n{}", stderr(&o));
    assert!(stdout(&o).is_empty(), "-q prints no summary");
    assert_same_tree(&src, &dst.join("src"));
    set_mode(&src.join("ro"), 0o755);
}

#[test]
fn copies_a_tree_on_the_pool_backend() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    make_tree(&src);
    let dst = tmp.path().join("dst");
    let o = fileloop()
        .env("FILELOOP_BACKEND", "pool")
        .args([os("cp"), os("-r"), os("-j"), os("3"), os(&src), os(&dst)])
        .output()
        .unwrap();
    assert!(o.status.success(), "stderr:\n{}", stderr(&o));
    assert_same_tree(&src, &dst);
}

#[test]
fn copies_a_tree_with_read_write() {
    // The chunked open / read_at / write_all_at path (not the default; files in the page cache).
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    make_tree(&src);
    let dst = tmp.path().join("dst");
    let o = fileloop()
        .env("FILELOOP_CP_METHOD", "rw")
        .args([os("cp"), os("-r"), os(&src), os(&dst)])
        .output()
        .unwrap();
    assert!(o.status.success(), "stderr:\n{}", stderr(&o));
    assert_same_tree(&src, &dst);
    set_mode(&src.join("ro"), 0o755);
}

#[test]
fn single_files() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    fs::write(&a, pattern(10_000, 1)).unwrap();
    set_mode(&a, 0o640);
    let b = tmp.path().join("b");
    let o = cp(&[os(&a), os(&b)]);
    assert!(o.status.success(), "stderr:\n{}", stderr(&o));
    assert_eq!(fs::read(&b).unwrap(), pattern(10_000, 1));
    assert_eq!(mode(&b), 0o640);

    // Overwrite an existing, longer file with a shorter one; the mode follows the source.
    fs::write(&b, pattern(50_000, 9)).unwrap();
    set_mode(&b, 0o600);
    let o = cp(&[os(&a), os(&b)]);
    assert!(o.status.success(), "stderr:\n{}", stderr(&o));
    assert_eq!(fs::read(&b).unwrap(), pattern(10_000, 1));
    assert_eq!(mode(&b), 0o640);

    // Into an existing directory, several sources at once.
    let d = tmp.path().join("d");
    fs::create_dir(&d).unwrap();
    let o = cp(&[os(&a), os(&b), os(&d)]);
    assert!(o.status.success(), "stderr:\n{}", stderr(&o));
    assert!(d.join("a").is_file() && d.join("b").is_file());

    // A symlink given without -r is followed.
    symlink(&a, tmp.path().join("la")).unwrap();
    let c = tmp.path().join("c");
    let o = cp(&[os(&tmp.path().join("la")), os(&c)]);
    assert!(o.status.success(), "stderr:\n{}", stderr(&o));
    assert!(fs::symlink_metadata(&c).unwrap().is_file());

    // The same file.
    let o = cp(&[os(&a), os(&a)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("are the same file"), "{}", stderr(&o));
}

#[test]
fn directory_needs_r() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir(&src).unwrap();
    let o = cp(&[os(&src), os(&tmp.path().join("dst"))]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("-r not specified; omitting directory"), "{e}");
    assert!(e.contains(src.to_str().unwrap()), "{e}");
    assert!(!tmp.path().join("dst").exists());
}

#[test]
fn unsupported_file_type_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("ok.txt"), b"fine").unwrap();
    let fifo = src.join("a-fifo");
    mkfifo(&fifo);
    let dst = tmp.path().join("dst");
    let o = cp(&[os("-r"), os(&src), os(&dst)]);
    assert_eq!(o.status.code(), Some(1), "stderr:\n{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains(fifo.to_str().unwrap()), "{e}");
    assert!(e.contains("unsupported file type (FIFO)"), "{e}");
    // Everything else is still copied.
    assert_eq!(fs::read(dst.join("ok.txt")).unwrap(), b"fine");
    assert!(!dst.join("a-fifo").exists());
}

#[test]
fn destination_that_cannot_be_created_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("sub/blocked"), b"x").unwrap();
    fs::write(src.join("sub/fine"), b"y").unwrap();
    // In the destination, a directory stands where the file `blocked` should go.
    let dst = tmp.path().join("dst");
    fs::create_dir_all(dst.join("sub/blocked")).unwrap();
    let o = cp(&[os("-r"), os(&src.join("sub")), os(&dst)]);
    assert_eq!(o.status.code(), Some(1), "stderr:\n{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains(src.join("sub/blocked").to_str().unwrap()), "{e}");
    assert!(e.contains(dst.join("sub/blocked").to_str().unwrap()), "{e}");
    assert_eq!(fs::read(dst.join("sub/fine")).unwrap(), b"y");
    assert!(stdout(&o).contains("1 error(s)"), "{}", stdout(&o));

    // A destination whose parent does not exist.
    let o = cp(&[
        os(&src.join("sub/fine")),
        os(&tmp.path().join("no/such/dir/file")),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no/such/dir/file"), "{}", stderr(&o));
}

#[test]
fn directory_into_itself_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir(&src).unwrap();
    let o = cp(&[os("-r"), os(&src), os(&src.join("inner"))]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("into itself"), "{}", stderr(&o));
    assert!(!src.join("inner").exists());
}

#[test]
fn usage_errors() {
    for args in [
        &["cp"][..],
        &["cp", "only-one"],
        &["cp", "--frobnicate", "a", "b"],
        &["cp", "-x", "a", "b"],
        &["cp", "-j", "0", "a", "b"],
    ] {
        let o = fileloop().args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).starts_with("fileloop: cp: "), "{}", stderr(&o));
    }
    let o = fileloop().args(["cp", "--help"]).output().unwrap();
    assert!(o.status.success());
    assert!(stdout(&o).contains("--recursive"));
}

#[test]
fn info_names_the_backend_and_the_device() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("f");
    fs::write(&f, b"x").unwrap();
    let o = fileloop().args([os("info"), os(&f)]).output().unwrap();
    assert!(o.status.success(), "stderr:\n{}", stderr(&o));
    let out = stdout(&o);
    for needle in [
        "backend:",
        "device class:",
        "direct I/O:",
        "regular file, 1 bytes",
    ] {
        assert!(out.contains(needle), "{needle} missing in:\n{out}");
    }
    let o = fileloop()
        .env("FILELOOP_BACKEND", "pool")
        .arg("info")
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(stdout(&o).contains("backend:       Pool"), "{}", stdout(&o));
    let o = fileloop()
        .args([os("info"), os(&tmp.path().join("missing"))])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("missing"), "{}", stderr(&o));
}
