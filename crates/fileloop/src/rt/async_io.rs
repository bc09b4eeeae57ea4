//! async-io / smol driver (feature `async-io`): completions reaped by async-io's reactor.
//!
//! ```
//! smol::block_on(async {
//!     let engine = fileloop::Engine::builder().host_driven(true).build()?;
//!     let driver = smol::spawn(fileloop::rt::async_io::drive(&engine)?);
//!     let file = engine.open("Cargo.toml").await?;
//!     let (n, _buf) = file.read_at(vec![0u8; 64], 0).await;
//!     assert!(n? > 0);
//!     drop((file, engine));
//!     driver.await; // ends once the engine is gone and idle
//!     Ok::<(), std::io::Error>(())
//! })
//! .unwrap();
//! ```

use crate::engine::Driver;
use crate::Engine;
use async_io::{Async, Timer};
use std::future::Future;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::task::Poll;
use std::time::Duration;

/// A future that delivers `engine`'s completions whenever its descriptor is readable, and
/// submits batched operations ([`Builder::batch_submissions`](crate::Builder::batch_submissions))
/// as soon as it runs after they were queued; spawn it on your executor. It ends after the
/// engine is dropped and its last operation has completed. `engine` must be host-driven.
pub fn drive(engine: &Engine) -> io::Result<impl Future<Output = ()> + Send + 'static> {
    super::require_host_driven(engine)?;
    let fd = Async::new(Fd(engine.driver()))?;
    Ok(async move {
        let driver = &fd.get_ref().0;
        loop {
            let stopping = driver.stopping();
            if stopping {
                // The last completions may come from the pool, which does not signal.
                futures_lite_race(fd.readable(), Timer::after(Duration::from_millis(50))).await;
            } else {
                std::future::poll_fn(|cx| {
                    if driver.watch_batches(cx.waker()) {
                        return Poll::Ready(());
                    }
                    // An error (the reactor failing) is treated as readiness: dispatching is
                    // harmless, and the next poll reports it again.
                    fd.poll_readable(cx).map(|_| ())
                })
                .await;
            }
            driver.dispatch();
            if stopping && driver.idle() {
                return;
            }
        }
    })
}

/// Waits for whichever of two futures finishes first.
async fn futures_lite_race<A: Future, B: Future>(a: A, b: B) {
    let (mut a, mut b) = (std::pin::pin!(a), std::pin::pin!(b));
    std::future::poll_fn(|cx| {
        if a.as_mut().poll(cx).is_ready() || b.as_mut().poll(cx).is_ready() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await
}

/// The engine's descriptor, kept open by the driver it belongs to.
struct Fd(Driver);

impl AsFd for Fd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the descriptor belongs to the engine's core, which the `Driver` keeps alive
        // (and never closes) for as long as this value exists.
        unsafe { BorrowedFd::borrow_raw(self.0.fd()) }
    }
}
