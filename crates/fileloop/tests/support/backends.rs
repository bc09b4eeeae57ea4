//! Engines per backend for the filesystem-surface tests: each test body runs on io_uring (skipped,
//! with the reason printed, where the machine lacks it), on io_uring with batched submission,
//! and on the pool.
#![allow(dead_code)]

use fileloop::{BackendChoice, BackendKind, Engine};
use std::future::Future;

/// What `BackendChoice::Uring` (the native backend) gives here.
pub const NATIVE: BackendKind = if cfg!(windows) {
    BackendKind::Iocp
} else {
    BackendKind::Uring
};

/// An engine on `choice`, or `None` (with the reason printed) when the machine lacks it.
pub fn engine(choice: BackendChoice) -> Option<Engine> {
    engine_from(Engine::builder(), choice)
}

/// As [`engine`], from a configured builder.
pub fn engine_from(builder: fileloop::Builder, choice: BackendChoice) -> Option<Engine> {
    match builder.backend(choice).ignore_env().build() {
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

pub fn block_on<F: Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

/// Defines `#[test] fn NAME` in modules `uring`, `uring_batched` and `pool` for each
/// `async fn NAME(Engine)`.
macro_rules! per_backend {
    ($($name:ident),* $(,)?) => {
        mod uring {
            $(
                #[test]
                fn $name() {
                    if let Some(e) = $crate::backends::engine(fileloop::BackendChoice::Uring) {
                        $crate::backends::block_on(super::$name(e));
                    }
                }
            )*
        }
        /// io_uring with batched submission (`Builder::batch_submissions`): the completion
        /// thread submits what the test queued.
        mod uring_batched {
            $(
                #[test]
                fn $name() {
                    let builder = fileloop::Engine::builder().batch_submissions(true);
                    if let Some(e) = $crate::backends::engine_from(builder, fileloop::BackendChoice::Uring) {
                        $crate::backends::block_on(super::$name(e));
                    }
                }
            )*
        }
        mod pool {
            $(
                #[test]
                fn $name() {
                    let e = $crate::backends::engine(fileloop::BackendChoice::Pool).unwrap();
                    $crate::backends::block_on(super::$name(e));
                }
            )*
        }
    };
}
#[allow(unused_imports)]
pub(crate) use per_backend;
