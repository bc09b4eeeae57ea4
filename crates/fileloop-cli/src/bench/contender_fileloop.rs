//! Registration point for the fileloop contenders.
//!
//! TO BE FILLED IN once the `fileloop` crate's API has landed on `main` (expected names:
//! `fileloop-uring` — the io_uring backend — and `fileloop-pool` — the thread-pool backend).
//!
//! How: implement [`super::async_backend::AsyncBackend`] for a small struct holding a
//! `fileloop::Engine` (built with `Engine::builder().backend(..).build()?`):
//!
//! * `type File = fileloop::File;` `open_read` → `engine.open(path)` (O_DIRECT: whatever open
//!   option fileloop offers, or return a skip via `unsupported` for `Job::ReadAt` with `direct`);
//! * `read_at` → `file.read_at(buf, pos).await` (owned buffer in, `(io::Result<usize>, buf)` out);
//! * `close` → `file.close().await`;
//! * `read_whole` → open + read_at until EOF + close; `create_write` → `engine.create(path)` +
//!   `write_at(data, 0)` + close; `remove` → fileloop's unlink if it has one, else std/tokio;
//! * `type Buf`: a buffer type fileloop accepts that is 4096-byte aligned for W6 (the harness's
//!   `contender::AlignedBuf`, if fileloop's buffer traits can be implemented for it);
//! * override `runtime()` if the engine must be driven by the runtime (e.g. a tokio driver).
//!
//! Then return `AsyncContender::new("fileloop-uring", backend)` (boxed) from the list below.
//! Contenders not listed here do not exist for `--contenders`.

use super::contender::Contender;

/// The fileloop contenders, in report order. Empty until the library's API is available.
pub fn fileloop_contenders() -> Vec<Box<dyn Contender>> {
    Vec::new()
}
