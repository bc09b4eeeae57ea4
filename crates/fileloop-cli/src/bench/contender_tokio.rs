//! `tokio-fs`: tokio::fs used the way its users use it.
//!
//! * W1/W2: a `tokio::fs::File` per task; each op is `seek(SeekFrom::Start(pos))` + `read_exact`
//!   (both go through `spawn_blocking` inside tokio).
//! * W6 (O_DIRECT): `tokio::fs::File` reads into its own unaligned internal buffer, which O_DIRECT
//!   rejects, so tokio users fall back to `spawn_blocking` + `pread` on the std file with an
//!   aligned buffer; that is what this contender does for O_DIRECT.
//! * W3/W5: `tokio::fs::read(path)`; W4: `tokio::fs::write(path, data)` and
//!   `tokio::fs::remove_file(path)`.
//! * Runtime: tokio multi-thread with the default worker count (current-thread for W5).

use std::io::{self, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::async_backend::{AsyncBackend, AsyncContender};
use super::contender::{AlignedBuf, Contender};

/// The tokio::fs backend.
#[derive(Debug, Default)]
pub struct TokioFs;

/// A file opened by [`TokioFs`].
#[derive(Debug)]
pub enum TokioFile {
    /// Buffered reads: the regular `tokio::fs::File`.
    Fs(tokio::fs::File),
    /// O_DIRECT reads: the std file, read with `pread` inside `spawn_blocking`.
    Direct(Arc<std::fs::File>),
}

impl AsyncBackend for TokioFs {
    type File = TokioFile;
    type Buf = AlignedBuf;

    fn alloc_buf(&self, len: usize) -> AlignedBuf {
        AlignedBuf::patterned(len)
    }

    async fn open_read(&self, path: &Path, direct: bool) -> io::Result<TokioFile> {
        let mut opts = tokio::fs::OpenOptions::new();
        opts.read(true);
        if direct {
            opts.custom_flags(libc::O_DIRECT);
            let file = opts.open(path).await?;
            Ok(TokioFile::Direct(Arc::new(file.into_std().await)))
        } else {
            Ok(TokioFile::Fs(opts.open(path).await?))
        }
    }

    async fn read_at(
        &self,
        file: &mut TokioFile,
        mut buf: AlignedBuf,
        pos: u64,
    ) -> (io::Result<usize>, AlignedBuf) {
        match file {
            TokioFile::Fs(f) => {
                let res = async {
                    f.seek(SeekFrom::Start(pos)).await?;
                    f.read_exact(&mut buf).await
                }
                .await;
                let n = buf.len();
                (res.map(|_| n), buf)
            }
            TokioFile::Direct(f) => {
                let f = f.clone();
                let joined = tokio::task::spawn_blocking(move || {
                    let res = f.read_at(&mut buf, pos);
                    (res, buf)
                })
                .await;
                match joined {
                    Ok(out) => out,
                    // The closure owned the buffer; a panic there loses it. Hand back a new one.
                    Err(e) => (Err(io::Error::other(e)), AlignedBuf::zeroed(1)),
                }
            }
        }
    }

    async fn close(&self, file: TokioFile) -> io::Result<()> {
        drop(file);
        Ok(())
    }

    async fn read_whole(&self, path: &Path, scratch: AlignedBuf) -> (io::Result<u64>, AlignedBuf) {
        // tokio::fs::read allocates its own buffer, as its users get it.
        let res = tokio::fs::read(path).await.map(|v| v.len() as u64);
        (res, scratch)
    }

    async fn create_write(&self, path: &Path, data: AlignedBuf) -> (io::Result<()>, AlignedBuf) {
        let res = tokio::fs::write(path, &data[..]).await;
        (res, data)
    }

    async fn remove(&self, path: &Path) -> io::Result<()> {
        tokio::fs::remove_file(path).await
    }
}

/// The `tokio-fs` contender.
pub fn tokio_fs() -> Box<dyn Contender> {
    Box::new(AsyncContender::new("tokio-fs", TokioFs))
}
