//! Helpers shared by the conformance tests: one engine per backend the machine offers.

use fileloop::{BackendChoice, BackendKind, Engine};
use std::future::Future;
use std::path::PathBuf;

/// What `BackendChoice::Uring` (the native backend) gives here.
pub const NATIVE: BackendKind = if cfg!(windows) {
    BackendKind::Iocp
} else {
    BackendKind::Uring
};

/// An engine on `choice`, or `None` (with the reason printed) when the machine lacks it.
pub fn engine(choice: BackendChoice) -> Option<Engine> {
    let built = Engine::builder().backend(choice).ignore_env().build();
    match built {
        Ok(e) => {
            if choice == BackendChoice::Uring {
                assert_eq!(e.backend().kind(), NATIVE);
            }
            Some(e)
        }
        Err(e) if choice == BackendChoice::Uring => {
            println!("skipped: no native backend here: {e}");
            None
        }
        Err(e) => panic!("cannot build a {choice:?} engine: {e}"),
    }
}

/// A small engine (16-entry ring, 4 pool threads) to exercise queueing and bounds.
pub fn small_engine(choice: BackendChoice) -> Option<Engine> {
    let built = Engine::builder()
        .backend(choice)
        .ignore_env()
        .ring_entries(8)
        .rings(1)
        .pool_threads(4)
        .build();
    match built {
        Ok(e) => Some(e),
        Err(e) if choice == BackendChoice::Uring => {
            println!("skipped: no native backend here: {e}");
            None
        }
        Err(e) => panic!("cannot build a {choice:?} engine: {e}"),
    }
}

pub fn block_on<F: Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

/// A fresh temporary directory, removed on drop.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Writes `data` to `dir/name` with std and returns the path.
pub fn std_file(dir: &tempfile::TempDir, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, data).unwrap();
    p
}

/// Deterministic test content.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Defines `#[test] fn NAME_uring` and `NAME_pool` for each `async fn NAME(engine: Engine)`.
macro_rules! per_backend {
    ($($name:ident),* $(,)?) => {
        mod uring {
            $(
                #[test]
                fn $name() {
                    if let Some(e) = $crate::common::engine(fileloop::BackendChoice::Uring) {
                        $crate::common::block_on(super::$name(e));
                    }
                }
            )*
        }
        mod pool {
            $(
                #[test]
                fn $name() {
                    let e = $crate::common::engine(fileloop::BackendChoice::Pool).unwrap();
                    $crate::common::block_on(super::$name(e));
                }
            )*
        }
    };
}
pub(crate) use per_backend;
