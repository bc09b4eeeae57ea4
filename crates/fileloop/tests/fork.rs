//! A forked child never touches its parent's io_uring rings (their memory is not inherited:
//! MADV_DONTFORK) and still gets working operations, from a pool of its own.
#![cfg(unix)]

use fileloop::{BackendChoice, Engine};

#[test]
fn fork_child_uses_pool_and_parent_ring_still_works() {
    let engine = match Engine::builder()
        .backend(BackendChoice::Uring)
        .ignore_env()
        .build()
    {
        Ok(e) => e,
        Err(e) => {
            println!("skipped: io_uring unavailable: {e}");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, b"fork-safe").unwrap();
    let read = |engine: &Engine| {
        futures::executor::block_on(async {
            let file = engine.open(&path).await?;
            let (res, buf) = file.read_at(vec![0u8; 9], 0).await;
            res.map(|n| buf[..n].to_vec())
        })
    };
    assert_eq!(read(&engine).unwrap(), b"fork-safe");
    let native_before = engine.stats().native_ops;

    // SAFETY: the child only runs code that does not depend on other threads of the parent
    // (the engine's pool starts fresh threads in the child) and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let ok = read(&engine).map(|d| d == b"fork-safe").unwrap_or(false);
        let used_ring = engine.stats().native_ops != native_before;
        // SAFETY: leaving the child without running the parent's destructors.
        unsafe { libc::_exit(if ok && !used_ring { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waits for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status), "child crashed: status {status}");
    assert_eq!(
        libc::WEXITSTATUS(status),
        0,
        "child read failed or touched the ring"
    );
    assert_eq!(read(&engine).unwrap(), b"fork-safe");
    assert!(engine.stats().native_ops > native_before);
}
