//! Free functions with std::fs names (default engine) give std's results and error kinds.

use crate::common::*;
use std::io::ErrorKind;

#[test]
fn read_write_roundtrip() {
    block_on(async {
        let dir = tempdir();
        let p = dir.path().join("rw");
        fileloop::write(&p, b"contents").await.unwrap();
        assert_eq!(fileloop::read(&p).await.unwrap(), b"contents");
        assert_eq!(fileloop::read_to_string(&p).await.unwrap(), "contents");
        std::fs::write(&p, [0xff, 0xfe]).unwrap();
        let err = fileloop::read_to_string(&p).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData);
        fileloop::write(&p, b"").await.unwrap();
        assert_eq!(fileloop::read(&p).await.unwrap(), b"");
    });
}

/// Each function against std on the same input: same success, or the same error kind.
#[test]
fn equivalence_with_std() {
    block_on(async {
        let dir = tempdir();
        let d = dir.path();
        std::fs::write(d.join("file"), b"abc").unwrap();
        std::fs::create_dir(d.join("dir")).unwrap();
        std::fs::write(d.join("dir/inner"), b"x").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("file", d.join("link")).unwrap();
        let kind = |r: std::io::Result<()>| r.err().map(|e| e.kind());

        for name in ["file", "dir", "missing", "link", "file/sub"] {
            let p = d.join(name);
            let ours = fileloop::metadata(&p).await;
            let theirs = std::fs::metadata(&p);
            assert_eq!(
                ours.as_ref().err().map(|e| e.kind()),
                theirs.as_ref().err().map(|e| e.kind()),
                "{name}"
            );
            if let (Ok(a), Ok(b)) = (&ours, &theirs) {
                assert_eq!(
                    (a.len(), a.is_dir(), a.is_file()),
                    (b.len(), b.is_dir(), b.is_file())
                );
            }
            let ours = fileloop::symlink_metadata(&p).await;
            let theirs = std::fs::symlink_metadata(&p);
            assert_eq!(
                ours.as_ref().map(|m| m.is_symlink()).ok(),
                theirs.as_ref().map(|m| m.is_symlink()).ok()
            );
            assert_eq!(
                fileloop::try_exists(&p).await.ok(),
                std::fs::exists(&p).ok(),
                "{name}"
            );
        }
        // Removing: a directory with remove_file, a non-empty dir, a missing file.
        assert_eq!(
            kind(fileloop::remove_file(d.join("dir")).await),
            kind(std::fs::remove_file(d.join("dir")))
        );
        assert_eq!(
            kind(fileloop::remove_dir(d.join("dir")).await),
            kind(std::fs::remove_dir(d.join("dir")))
        );
        assert_eq!(
            kind(fileloop::remove_file(d.join("missing")).await),
            Some(ErrorKind::NotFound)
        );
        // Creating: existing dir, missing parent.
        assert_eq!(
            kind(fileloop::create_dir(d.join("dir")).await),
            kind(std::fs::create_dir(d.join("dir")))
        );
        assert_eq!(
            kind(fileloop::create_dir(d.join("a/b")).await),
            kind(std::fs::create_dir(d.join("a/b")))
        );
        fileloop::create_dir_all(d.join("a/b/c")).await.unwrap();
        fileloop::create_dir_all(d.join("a/b/c")).await.unwrap();
        assert!(d.join("a/b/c").is_dir());
        assert_eq!(
            kind(fileloop::create_dir_all(d.join("file/x")).await),
            kind(std::fs::create_dir_all(d.join("file/x")))
        );
        // Rename over an existing file, then of a missing one.
        std::fs::write(d.join("other"), b"zz").unwrap();
        fileloop::rename(d.join("other"), d.join("renamed"))
            .await
            .unwrap();
        assert_eq!(std::fs::read(d.join("renamed")).unwrap(), b"zz");
        assert_eq!(
            kind(fileloop::rename(d.join("other"), d.join("x")).await),
            Some(ErrorKind::NotFound)
        );
        // Links.
        fileloop::hard_link(d.join("file"), d.join("hard"))
            .await
            .unwrap();
        assert_eq!(std::fs::read(d.join("hard")).unwrap(), b"abc");
        assert_eq!(
            kind(fileloop::hard_link(d.join("file"), d.join("hard")).await),
            Some(ErrorKind::AlreadyExists)
        );
        // Symbolic links are a Unix matter: on Windows they need a privilege (and Wine 8
        // creates none that read_link can read back).
        #[cfg(unix)]
        {
            fileloop::symlink("file", d.join("sym")).await.unwrap();
            assert_eq!(
                fileloop::read_link(d.join("sym")).await.unwrap(),
                std::fs::read_link(d.join("sym")).unwrap()
            );
            assert_eq!(
                fileloop::canonicalize(d.join("sym")).await.unwrap(),
                std::fs::canonicalize(d.join("sym")).unwrap()
            );
        }
        assert_eq!(
            fileloop::read_link(d.join("file"))
                .await
                .unwrap_err()
                .kind(),
            std::fs::read_link(d.join("file")).unwrap_err().kind()
        );
        // Copy keeps contents and permissions.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(d.join("file"), std::fs::Permissions::from_mode(0o640))
                .unwrap();
            assert_eq!(
                fileloop::copy(d.join("file"), d.join("copy"))
                    .await
                    .unwrap(),
                3
            );
            let mode = std::fs::metadata(d.join("copy"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o640);
            fileloop::set_permissions(d.join("copy"), std::fs::Permissions::from_mode(0o600))
                .await
                .unwrap();
            assert_eq!(
                std::fs::metadata(d.join("copy"))
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777,
                0o600
            );
        }
        fileloop::remove_dir_all(d.join("a")).await.unwrap();
        assert!(!d.join("a").exists());
        assert_eq!(
            kind(fileloop::remove_dir_all(d.join("a")).await),
            kind(std::fs::remove_dir_all(d.join("a")))
        );
    });
}
