//! Helpers shared by the conformance tests: one engine per backend the machine offers.

use fileloop::{BackendChoice, Engine};
use std::path::PathBuf;

pub use crate::backends::{block_on, engine};

/// A small engine (16-entry ring, 4 pool threads) to exercise queueing and bounds, with
/// batched submission or not.
pub fn small_engine(choice: BackendChoice, batch: bool) -> Option<Engine> {
    let builder = Engine::builder()
        .ring_entries(8)
        .rings(1)
        .pool_threads(4)
        .batch_submissions(batch);
    crate::backends::engine_from(builder, choice)
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

pub(crate) use crate::backends::per_backend;
