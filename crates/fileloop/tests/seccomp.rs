//! io_uring denied by a seccomp filter (as Docker's default profile does): the engine picks the
//! pool, says why, and works. The filter is installed without TSYNC in a fresh thread, so it
//! affects only that thread and its children.
#![cfg(target_os = "linux")]

#[path = "support/seccomp.rs"]
mod seccomp;

use fileloop::{BackendChoice, BackendKind, Engine};

fn denied_engine(errno: i32) -> (String, BackendKind, Vec<u8>, std::io::ErrorKind) {
    std::thread::spawn(move || {
        seccomp::deny_io_uring(errno).expect("install seccomp filter");
        let engine = Engine::builder()
            .ignore_env()
            .build()
            .expect("engine builds anyway");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"still works").unwrap();
        let data = futures::executor::block_on(async {
            let file = engine.open(&path).await.unwrap();
            let (res, buf) = file.read_to_end(Vec::new()).await;
            res.unwrap();
            buf
        });
        let explicit = Engine::builder()
            .backend(BackendChoice::Uring)
            .ignore_env()
            .build()
            .unwrap_err();
        (
            engine.backend().to_string(),
            engine.backend().kind(),
            data,
            explicit.kind(),
        )
    })
    .join()
    .unwrap()
}

#[test]
fn seccomp_eperm_falls_back_to_pool_with_reason() {
    let (why, kind, data, explicit) = denied_engine(libc::EPERM);
    println!("backend: {why}");
    assert_eq!(kind, BackendKind::Pool);
    assert!(
        why.contains("io_uring_setup") && why.contains("EPERM"),
        "{why}"
    );
    assert_eq!(data, b"still works");
    assert_eq!(explicit, std::io::ErrorKind::Unsupported);
}

#[test]
fn seccomp_enosys_falls_back_to_pool_with_reason() {
    let (why, kind, data, _) = denied_engine(libc::ENOSYS);
    println!("backend: {why}");
    assert_eq!(kind, BackendKind::Pool);
    assert!(why.contains("ENOSYS"), "{why}");
    assert_eq!(data, b"still works");
}

#[test]
fn filter_without_tsync_leaves_other_threads_alone() {
    let _ = denied_engine(libc::EPERM);
    match Engine::builder()
        .backend(BackendChoice::Uring)
        .ignore_env()
        .build()
    {
        Ok(e) => assert_eq!(e.backend().kind(), BackendKind::Uring),
        Err(e) => println!("skipped: io_uring unavailable on this machine anyway: {e}"),
    }
}

#[test]
fn backend_env_override() {
    // FILELOOP_BACKEND is read at build time; ignore_env() opts out.
    let pool = Engine::builder()
        .backend(BackendChoice::Pool)
        .build()
        .unwrap();
    if std::env::var("FILELOOP_BACKEND").is_err() {
        assert_eq!(pool.backend().kind(), BackendKind::Pool);
    }
    assert!(BackendChoice::parse("bogus").is_err());
    assert_eq!(BackendChoice::parse("POOL").unwrap(), BackendChoice::Pool);
}
