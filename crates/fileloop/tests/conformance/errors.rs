//! Bad input and failing calls come back as `io::Error`s that name the operation and the path
//! and have std's error kind, never a panic.
#![allow(clippy::suspicious_open_options)] // opening with create and no write is the point

use crate::common::*;
use fileloop::{Engine, OpError, OpenOptions};
use std::io::ErrorKind;
use std::path::Path;

fn names(err: &std::io::Error, op: &str, path: &Path) {
    let msg = err.to_string();
    assert!(msg.contains(op), "{msg:?} should name {op}");
    assert!(
        msg.contains(&path.display().to_string()),
        "{msg:?} should name {}",
        path.display()
    );
    assert!(err.get_ref().unwrap().downcast_ref::<OpError>().is_some());
}

async fn missing_file(engine: Engine) {
    let dir = tempdir();
    let path = dir.path().join("nope");
    let err = engine.open(&path).await.unwrap_err();
    assert_eq!(err.kind(), std::fs::File::open(&path).unwrap_err().kind());
    assert_eq!(err.kind(), ErrorKind::NotFound);
    names(&err, "open", &path);
}

async fn directory_opened_for_write(engine: Engine) {
    let dir = tempdir();
    let err = OpenOptions::new()
        .write(true)
        .open_with(&engine, dir.path())
        .await
        .unwrap_err();
    let std_err = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.path())
        .unwrap_err();
    assert_eq!(err.kind(), std_err.kind());
    names(&err, "open", dir.path());
}

async fn read_on_write_only_file(engine: Engine) {
    let dir = tempdir();
    let path = dir.path().join("wo");
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .open_with(&engine, &path)
        .await
        .unwrap();
    let (res, buf) = file.read_at(vec![0u8; 16], 0).await;
    let err = res.unwrap_err();
    assert_eq!(buf.len(), 16, "the buffer comes back");
    names(&err, "read_at", &path);
    #[cfg(unix)]
    {
        let inner = err.get_ref().unwrap().downcast_ref::<OpError>().unwrap();
        assert_eq!(inner.os_error().raw_os_error(), Some(libc::EBADF));
    }
}

async fn nul_in_path(engine: Engine) {
    let err = engine.open("bad\0path").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        err.kind(),
        std::fs::File::open("bad\0path").unwrap_err().kind()
    );
}

async fn create_without_write(engine: Engine) {
    let dir = tempdir();
    let path = dir.path().join("c");
    let err = OpenOptions::new()
        .read(true)
        .create(true)
        .open_with(&engine, &path)
        .await
        .unwrap_err();
    let std_err = std::fs::OpenOptions::new()
        .read(true)
        .create(true)
        .open(&path)
        .unwrap_err();
    assert_eq!(err.kind(), std_err.kind());
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    names(&err, "open", &path);
    // No access mode at all.
    let err = OpenOptions::new()
        .open_with(&engine, &path)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(!path.exists());
}

async fn create_new_on_existing(engine: Engine) {
    let dir = tempdir();
    let path = std_file(&dir, "e", b"x");
    let err = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open_with(&engine, &path)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
}

per_backend!(
    missing_file,
    directory_opened_for_write,
    read_on_write_only_file,
    nul_in_path,
    create_without_write,
    create_new_on_existing,
);
