//! Stream adapters: [`BufFile`] reads and writes a [`File`](crate::File) as a stream, with
//! read-ahead and write-behind, through the `AsyncRead`, `AsyncBufRead`, `AsyncWrite` and
//! `AsyncSeek` traits of tokio (feature `tokio`) and futures-io (feature `futures-io`).
//!
//! This module exists when at least one of the two features is enabled.
//!
//! ```
//! # #[cfg(feature = "futures-io")]
//! # futures::executor::block_on(async {
//! use fileloop::io::BufFile;
//! use futures::io::{AsyncReadExt, AsyncWriteExt};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("data.bin");
//! let mut out = BufFile::new(fileloop::File::create(&path).await?);
//! out.write_all(&vec![7u8; 1 << 20]).await?;
//! out.close().await?; // flushed: every byte is in the kernel
//!
//! let mut input = BufFile::new(fileloop::File::open(&path).await?);
//! let mut data = Vec::new();
//! input.read_to_end(&mut data).await?;
//! assert_eq!(data, vec![7u8; 1 << 20]);
//! # Ok::<(), std::io::Error>(()) }).unwrap();
//! ```

mod buf_file;
#[cfg(feature = "futures-io")]
mod futures_impl;
mod inflight;
mod options;
mod read_ahead;
#[cfg(feature = "tokio")]
mod tokio_impl;
mod write_behind;

pub use buf_file::BufFile;
pub use options::BufFileOptions;
