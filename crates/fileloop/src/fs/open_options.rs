//! [`OpenOptions`]: std's open flags, for async opens on any engine.

use super::File;
use crate::driver::{OpKind, Operation, RawResult};
use crate::engine::Engine;
use crate::op::{Open, OpenHow};
use crate::Op;
use std::io;
use std::path::Path;
use std::path::PathBuf;

/// The access-mode bits of open(2) flags (O_ACCMODE; the C runtime's values on Windows).
#[cfg(unix)]
const ACCESS_MODE: i32 = libc::O_ACCMODE;
#[cfg(windows)]
const ACCESS_MODE: i32 = libc::O_RDONLY | libc::O_WRONLY | libc::O_RDWR;

/// Options for opening a file, as `std::fs::OpenOptions`.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// let file = fileloop::OpenOptions::new()
///     .write(true)
///     .create(true)
///     .truncate(true)
///     .mode(0o600)
///     .open("out.bin")
///     .await?;
/// # Ok(()) }
/// ```
///
/// `append(true)` does not hand O_APPEND to the kernel: fileloop keeps the end offset itself
/// and [`File::append`] writes at explicit offsets, so concurrent appends through one `File`
/// never interleave. Other processes appending to the same file at the same time are not
/// coordinated with.
#[derive(Clone, Debug)]
pub struct OpenOptions {
    read: bool,
    write: bool,
    append: bool,
    truncate: bool,
    create: bool,
    create_new: bool,
    mode: u32,
    custom_flags: i32,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl OpenOptions {
    /// All options off; mode 0o666 (before the umask).
    pub fn new() -> Self {
        OpenOptions {
            read: false,
            write: false,
            append: false,
            truncate: false,
            create: false,
            create_new: false,
            mode: 0o666,
            custom_flags: 0,
        }
    }
    /// Open for reading.
    pub fn read(&mut self, yes: bool) -> &mut Self {
        self.read = yes;
        self
    }
    /// Open for writing.
    pub fn write(&mut self, yes: bool) -> &mut Self {
        self.write = yes;
        self
    }
    /// Open for appending (implies write; see the type's documentation).
    pub fn append(&mut self, yes: bool) -> &mut Self {
        self.append = yes;
        self
    }
    /// Truncate to zero length (needs write).
    pub fn truncate(&mut self, yes: bool) -> &mut Self {
        self.truncate = yes;
        self
    }
    /// Create if missing (needs write or append).
    pub fn create(&mut self, yes: bool) -> &mut Self {
        self.create = yes;
        self
    }
    /// Create, failing if it exists (needs write or append).
    pub fn create_new(&mut self, yes: bool) -> &mut Self {
        self.create_new = yes;
        self
    }
    /// Permission bits for a created file (Unix; default 0o666 before the umask).
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = mode;
        self
    }
    /// Extra open(2) flags, e.g. `libc::O_DIRECT` or `libc::O_NOFOLLOW` (Unix). Access mode
    /// bits are ignored. On Windows: `FILE_FLAG_*` values for CreateFileW, e.g.
    /// FILE_FLAG_NO_BUFFERING (`0x2000_0000`) or FILE_FLAG_WRITE_THROUGH (`0x8000_0000u32 as
    /// i32`).
    pub fn custom_flags(&mut self, flags: i32) -> &mut Self {
        self.custom_flags = flags;
        self
    }

    /// Opens `path` with the default engine.
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        self.open_with(&Engine::global()?, path).await
    }

    /// Opens `path` with `engine`.
    pub async fn open_with(&self, engine: &Engine, path: impl AsRef<Path>) -> io::Result<File> {
        let path = path.as_ref();
        let flags = crate::error::context(self.flags(), "open", path)?;
        let how = OpenHow {
            dir: None,
            path: path.to_path_buf(),
            flags,
            mode: self.mode,
            beneath: false,
        };
        self.finish(engine, how).await
    }

    /// Opens as described by `how` (used by `Dir` too).
    pub(crate) async fn finish(&self, engine: &Engine, how: OpenHow) -> io::Result<File> {
        // Files of an engine with IOCP are overlapped (associated with its port after open).
        #[cfg(windows)]
        let how = OpenHow {
            flags: how.flags
                | if engine.core().iocp.is_some() {
                    crate::sys::os::FILE_FLAG_OVERLAPPED_BITS
                } else {
                    0
                },
            ..how
        };
        let path = match &how.dir {
            Some(d) => d.path().join(&how.path),
            None => how.path.clone(),
        };
        let raw = engine.op(Open::new(how)).await?;
        let mut file = File::from_opened(engine, raw, path).await;
        if self.append {
            file.set_append_mode();
        }
        Ok(file)
    }

    /// Opens `path` on `engine` as an [`Op`], for loops that use callbacks
    /// ([`Op::on_complete`]) rather than `async`. The first file opened on a device not seen
    /// before is not yet classified (see [`File::device_class`]).
    ///
    /// ```no_run
    /// let engine = fileloop::Engine::builder().build()?;
    /// fileloop::OpenOptions::new()
    ///     .read(true)
    ///     .open_op(&engine, "Cargo.toml")
    ///     .on_complete(|file| println!("{:?}", file.map(|f| f.device_class())));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn open_op(&self, engine: &Engine, path: impl AsRef<Path>) -> Op<io::Result<File>> {
        let path = path.as_ref().to_path_buf();
        let flags = self.flags();
        let how = OpenHow {
            dir: None,
            path: path.clone(),
            flags: *flags.as_ref().unwrap_or(&0),
            mode: self.mode,
            beneath: false,
        };
        engine.op(OpenFile {
            open: Open::new(how),
            invalid: flags.err(),
            engine: engine.clone(),
            path,
            append: self.append,
        })
    }

    /// The permission bits for a created file (used by `Dir` to build its own `OpenHow`).
    #[cfg(unix)]
    pub(crate) fn mode_bits(&self) -> u32 {
        self.mode
    }

    /// The open(2) flags, with std's validation of combinations.
    pub(crate) fn flags(&self) -> io::Result<i32> {
        let invalid = |msg: &str| Err(io::Error::new(io::ErrorKind::InvalidInput, msg.to_string()));
        let writes = self.write || self.append;
        let access = match (self.read, writes) {
            (true, false) => libc::O_RDONLY,
            (false, true) => libc::O_WRONLY,
            (true, true) => libc::O_RDWR,
            (false, false) => return invalid("open needs read, write or append access"),
        };
        if !writes && (self.truncate || self.create || self.create_new) {
            return invalid("create, create_new and truncate need write or append access");
        }
        if self.truncate && self.append && !self.create_new {
            return invalid("truncate and append cannot be combined");
        }
        let creation = if self.create_new {
            libc::O_CREAT | libc::O_EXCL
        } else {
            (if self.create { libc::O_CREAT } else { 0 })
                | (if self.truncate { libc::O_TRUNC } else { 0 })
        };
        // Custom flags never change the access mode (the low two bits, O_ACCMODE).
        Ok(access | creation | (self.custom_flags & !ACCESS_MODE))
    }
}

/// An open that produces a [`File`] directly (for [`OpenOptions::open_op`]).
struct OpenFile {
    open: Open,
    invalid: Option<io::Error>,
    engine: Engine,
    path: PathBuf,
    append: bool,
}

impl Operation for OpenFile {
    type Output = io::Result<File>;
    const KIND: OpKind = OpKind::Open;

    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn uring_entry(&mut self) -> Option<io_uring::squeue::Entry> {
        if self.invalid.is_some() {
            return None;
        }
        self.open.uring_entry()
    }

    fn run_blocking(&mut self) -> RawResult {
        match self.invalid.take() {
            Some(e) => Err(e),
            None => self.open.run_blocking(),
        }
    }

    fn complete(self, res: RawResult) -> Self::Output {
        let raw = self.open.complete(res)?;
        let mut file = File::from_opened_now(&self.engine, raw, self.path);
        if self.append {
            file.set_append_mode();
        }
        Ok(file)
    }

    fn discard(self, res: RawResult) {
        self.open.discard(res);
    }
}
