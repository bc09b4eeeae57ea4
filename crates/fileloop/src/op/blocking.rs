//! A closure run on the pool: for work with no io_uring form (directory listing, copy,
//! canonicalize, permissions, ...).

use crate::driver::{OpKind, Operation, RawResult};
use std::io;

/// Runs `f` on a pool thread; its result is the output.
pub(crate) struct Blocking<F, T> {
    f: Option<F>,
    out: Option<io::Result<T>>,
}

impl<F, T> Blocking<F, T> {
    pub(crate) fn new(f: F) -> Self {
        Blocking {
            f: Some(f),
            out: None,
        }
    }
}

impl<F, T> Operation for Blocking<F, T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    type Output = io::Result<T>;
    const KIND: OpKind = OpKind::Blocking;

    fn run_blocking(&mut self) -> RawResult {
        if let Some(f) = self.f.take() {
            self.out = Some(f());
        }
        Ok(0)
    }

    fn complete(self, res: RawResult) -> Self::Output {
        res?;
        self.out
            .unwrap_or_else(|| Err(io::Error::other("blocking job produced no result")))
    }
}
