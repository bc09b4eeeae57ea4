//! tokio driver (feature `tokio`): completions reaped by the runtime's reactor through
//! `AsyncFd`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let engine = fileloop::rt::tokio::engine(fileloop::Engine::builder())?;
//! let file = engine.open("Cargo.toml").await?;
//! let (n, _buf) = file.read_at(vec![0u8; 64], 0).await;
//! assert!(n? > 0);
//! # Ok(()) }
//! ```

use crate::engine::Driver;
use crate::{Builder, Engine};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::task::Poll;
use std::time::Duration;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::task::JoinHandle;

/// Builds a host-driven engine from `builder` and spawns its driver on the current tokio
/// runtime (call it inside a runtime).
pub fn engine(builder: Builder) -> io::Result<Engine> {
    let engine = builder.host_driven(true).build()?;
    drive(&engine)?;
    Ok(engine)
}

/// Spawns a task on the current tokio runtime that delivers `engine`'s completions whenever
/// its descriptor is readable, and submits batched operations
/// ([`Builder::batch_submissions`]) as soon as it runs after they were queued. The task ends
/// after the engine is dropped and its last operation has completed. `engine` must be host-driven.
pub fn drive(engine: &Engine) -> io::Result<JoinHandle<()>> {
    super::require_host_driven(engine)?;
    // SAFETY: the descriptor belongs to the engine's core, which the `Driver` inside keeps
    // alive (and never closes) for as long as the AsyncFd exists; as_raw_fd always returns it.
    let fd = unsafe { AsyncFd::register_with_interest(Fd(engine.driver()), Interest::READABLE) }?;
    Ok(tokio::spawn(async move {
        let driver = &fd.get_ref().0;
        loop {
            let stopping = driver.stopping();
            if stopping {
                // The last completions may come from the pool, which does not signal: look
                // again now and then.
                let _ = tokio::time::timeout(Duration::from_millis(50), fd.readable()).await;
            } else {
                std::future::poll_fn(|cx| {
                    if driver.watch_batches(cx.waker()) {
                        return Poll::Ready(());
                    }
                    match fd.poll_read_ready(cx) {
                        Poll::Ready(Ok(mut guard)) => {
                            guard.clear_ready();
                            Poll::Ready(())
                        }
                        // The reactor is gone (runtime shutting down): the task ends with it.
                        Poll::Ready(Err(_)) | Poll::Pending => Poll::Pending,
                    }
                })
                .await;
            }
            driver.dispatch();
            if stopping && driver.idle() {
                return;
            }
        }
    }))
}

/// The engine's descriptor, kept open by the driver it belongs to.
struct Fd(Driver);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.fd()
    }
}
