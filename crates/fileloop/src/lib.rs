//! # fileloop
//!
//! Completion-based async file I/O for every event loop. Operations take owned buffers and
//! hand them back with the result; the best mechanism the machine allows serves them, chosen
//! at run time: io_uring on Linux, overlapped I/O on a completion port (IOCP) on Windows, a
//! bounded thread pool everywhere else and for whatever those cannot do, with the reason for
//! every fallback kept ([`Engine::backend`]).
//!
//! ```
//! # futures::executor::block_on(async {
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("hello.txt");
//! fileloop::write(&path, b"hello, loop").await?;
//!
//! let file = fileloop::File::open(&path).await?;
//! let (n, buf) = file.read_at(vec![0u8; 5], 0).await;
//! assert_eq!(&buf[..n?], b"hello");
//! # Ok::<(), std::io::Error>(()) }).unwrap();
//! ```
//!
//! Futures are `Send` when their buffers are and run on any executor: tokio (multi-thread or
//! current-thread), smol, `futures::executor::block_on`, or no executor at all through
//! callbacks ([`Op::on_complete`]) and a host-driven loop ([`Engine::dispatch`]).
//!
//! Dropping a pending future is always safe: the operation's buffer stays with the engine until
//! the kernel is done with it (see [`Op`]).
#![warn(missing_docs)]

pub mod buf;
mod device;
mod driver;
mod engine;
mod error;
mod fs;
#[cfg(any(feature = "tokio", feature = "futures-io"))]
pub mod io;
mod metadata;
mod op;
pub mod rt;
mod sys;

pub use device::DeviceClass;
pub use driver::future::Op;
pub use driver::gate::Priority;
pub use driver::timeout::{deadline, timeout, Timeout};
pub use engine::{Backend, BackendChoice, BackendKind, Builder, Engine, Stats};
pub use error::{is_cancelled, OpError};
pub use fs::*;
pub use metadata::{FileType, Metadata};
