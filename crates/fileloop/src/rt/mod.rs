//! Drivers that let an async runtime's own reactor deliver completions: the engine runs in
//! host-driven mode (no engine thread) and a small task waits for its descriptor to become
//! readable and calls [`Engine::dispatch`](crate::Engine::dispatch).
//!
//! Without a driver, an engine's own completion thread does this job, which works everywhere;
//! a driver saves that thread's wake-ups and keeps completions on the runtime's threads.

#[cfg(all(unix, feature = "async-io"))]
pub mod async_io;
#[cfg(all(unix, feature = "tokio"))]
pub mod tokio;

#[cfg(all(unix, any(feature = "tokio", feature = "async-io")))]
use crate::Engine;

/// Checks that `engine` is host-driven (a driver on an engine with its own completion thread
/// would compete with that thread for nothing).
#[cfg(all(unix, any(feature = "tokio", feature = "async-io")))]
fn require_host_driven(engine: &Engine) -> std::io::Result<()> {
    if engine.is_host_driven() {
        Ok(())
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "this engine has its own completion thread: build it with host_driven(true)",
        ))
    }
}
