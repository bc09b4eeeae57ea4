//! Path operations with native io_uring forms: rename (renameat), remove (unlinkat), create_dir
//! (mkdirat), symlink (symlinkat), hard_link (linkat).

use super::FileHandle;
use crate::driver::{OpKind, Operation, RawResult};
use crate::error::context;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A path argument: resolved relative to a directory handle (or the current directory).
pub(crate) struct PathArg {
    dir: Option<Arc<FileHandle>>,
    path: PathBuf,
    #[cfg(unix)]
    c: std::ffi::CString,
    invalid: Option<io::Error>,
}

impl PathArg {
    pub(crate) fn new(dir: Option<Arc<FileHandle>>, path: PathBuf) -> Self {
        #[cfg(unix)]
        let (c, invalid) = match crate::sys::cstr(&path) {
            Ok(c) => (c, None),
            Err(e) => (std::ffi::CString::default(), Some(e)),
        };
        #[cfg(not(unix))]
        let invalid = None;
        PathArg {
            dir,
            path,
            #[cfg(unix)]
            c,
            invalid,
        }
    }

    #[cfg(unix)]
    fn fd(&self) -> i32 {
        self.dir.as_ref().map_or(libc::AT_FDCWD, |d| d.raw())
    }

    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn uring_fd(&self) -> io_uring::types::Fd {
        io_uring::types::Fd(self.fd())
    }

    /// The full path, for messages and for platforms without *at calls.
    fn shown(&self) -> PathBuf {
        match &self.dir {
            Some(d) => d.path().join(&self.path),
            None => self.path.clone(),
        }
    }

    fn check(&mut self) -> io::Result<()> {
        self.invalid.take().map_or(Ok(()), Err)
    }
}

/// rename(from, to).
pub(crate) struct Rename {
    from: PathArg,
    to: PathArg,
}

impl Rename {
    pub(crate) fn new(from: PathArg, to: PathArg) -> Self {
        Rename { from, to }
    }
}

impl Operation for Rename {
    type Output = io::Result<()>;
    const KIND: OpKind = OpKind::Rename;

    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn uring_entry(&mut self) -> Option<io_uring::squeue::Entry> {
        use io_uring::opcode;
        if self.from.invalid.is_some() || self.to.invalid.is_some() {
            return None;
        }
        Some(
            opcode::RenameAt::new(
                self.from.uring_fd(),
                self.from.c.as_ptr(),
                self.to.uring_fd(),
                self.to.c.as_ptr(),
            )
            .build(),
        )
    }

    fn run_blocking(&mut self) -> RawResult {
        self.from.check()?;
        self.to.check()?;
        #[cfg(unix)]
        {
            crate::sys::os::renameat(self.from.fd(), &self.from.c, self.to.fd(), &self.to.c)
        }
        #[cfg(not(unix))]
        {
            std::fs::rename(self.from.shown(), self.to.shown()).map(|_| 0)
        }
    }

    fn complete(self, res: RawResult) -> Self::Output {
        context(res.map(drop), "rename", &self.from.shown())
    }
}

/// remove_file (unlink) or remove_dir (rmdir).
pub(crate) struct Remove {
    path: PathArg,
    dir: bool,
}

impl Remove {
    pub(crate) fn new(path: PathArg, dir: bool) -> Self {
        Remove { path, dir }
    }
    #[cfg(unix)]
    fn flags(&self) -> i32 {
        if self.dir {
            libc::AT_REMOVEDIR
        } else {
            0
        }
    }
}

impl Operation for Remove {
    type Output = io::Result<()>;
    const KIND: OpKind = OpKind::Remove;

    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn uring_entry(&mut self) -> Option<io_uring::squeue::Entry> {
        use io_uring::opcode;
        if self.path.invalid.is_some() {
            return None;
        }
        Some(
            opcode::UnlinkAt::new(self.path.uring_fd(), self.path.c.as_ptr())
                .flags(self.flags())
                .build(),
        )
    }

    fn run_blocking(&mut self) -> RawResult {
        self.path.check()?;
        #[cfg(unix)]
        {
            crate::sys::os::unlinkat(self.path.fd(), &self.path.c, self.flags())
        }
        #[cfg(not(unix))]
        {
            let p = self.path.shown();
            if self.dir {
                std::fs::remove_dir(p).map(|_| 0)
            } else {
                std::fs::remove_file(p).map(|_| 0)
            }
        }
    }

    fn complete(self, res: RawResult) -> Self::Output {
        let op = if self.dir {
            "remove_dir"
        } else {
            "remove_file"
        };
        context(res.map(drop), op, &self.path.shown())
    }
}

/// mkdir with a mode (0o777 minus the umask by default).
pub(crate) struct CreateDir {
    path: PathArg,
    mode: u32,
}

impl CreateDir {
    pub(crate) fn new(path: PathArg, mode: u32) -> Self {
        CreateDir { path, mode }
    }
}

impl Operation for CreateDir {
    type Output = io::Result<()>;
    const KIND: OpKind = OpKind::CreateDir;

    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn uring_entry(&mut self) -> Option<io_uring::squeue::Entry> {
        use io_uring::opcode;
        if self.path.invalid.is_some() {
            return None;
        }
        Some(
            opcode::MkDirAt::new(self.path.uring_fd(), self.path.c.as_ptr())
                .mode(self.mode)
                .build(),
        )
    }

    fn run_blocking(&mut self) -> RawResult {
        self.path.check()?;
        #[cfg(unix)]
        {
            crate::sys::os::mkdirat(self.path.fd(), &self.path.c, self.mode)
        }
        #[cfg(not(unix))]
        {
            let _ = self.mode; // no mode bits on Windows
            std::fs::create_dir(self.path.shown()).map(|_| 0)
        }
    }

    fn complete(self, res: RawResult) -> Self::Output {
        context(res.map(drop), "create_dir", &self.path.shown())
    }
}

/// symlink(target, link): `link` is created and points to `target` (stored as given).
pub(crate) struct Symlink {
    target: PathArg,
    link: PathArg,
}

impl Symlink {
    pub(crate) fn new(target: &Path, link: PathArg) -> Self {
        Symlink {
            target: PathArg::new(None, target.to_path_buf()),
            link,
        }
    }
}

impl Operation for Symlink {
    type Output = io::Result<()>;
    const KIND: OpKind = OpKind::Symlink;

    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn uring_entry(&mut self) -> Option<io_uring::squeue::Entry> {
        use io_uring::opcode;
        if self.target.invalid.is_some() || self.link.invalid.is_some() {
            return None;
        }
        Some(
            opcode::SymlinkAt::new(
                self.link.uring_fd(),
                self.target.c.as_ptr(),
                self.link.c.as_ptr(),
            )
            .build(),
        )
    }

    fn run_blocking(&mut self) -> RawResult {
        self.target.check()?;
        self.link.check()?;
        #[cfg(unix)]
        {
            crate::sys::os::symlinkat(&self.target.c, self.link.fd(), &self.link.c)
        }
        #[cfg(windows)]
        {
            std::os::windows::fs::symlink_file(&self.target.path, self.link.shown()).map(|_| 0)
        }
    }

    fn complete(self, res: RawResult) -> Self::Output {
        context(res.map(drop), "symlink", &self.link.shown())
    }
}

/// hard_link(original, link).
pub(crate) struct HardLink {
    original: PathArg,
    link: PathArg,
}

impl HardLink {
    pub(crate) fn new(original: PathArg, link: PathArg) -> Self {
        HardLink { original, link }
    }
}

impl Operation for HardLink {
    type Output = io::Result<()>;
    const KIND: OpKind = OpKind::HardLink;

    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    fn uring_entry(&mut self) -> Option<io_uring::squeue::Entry> {
        use io_uring::opcode;
        if self.original.invalid.is_some() || self.link.invalid.is_some() {
            return None;
        }
        Some(
            opcode::LinkAt::new(
                self.original.uring_fd(),
                self.original.c.as_ptr(),
                self.link.uring_fd(),
                self.link.c.as_ptr(),
            )
            .build(),
        )
    }

    fn run_blocking(&mut self) -> RawResult {
        self.original.check()?;
        self.link.check()?;
        #[cfg(unix)]
        {
            crate::sys::os::linkat(
                self.original.fd(),
                &self.original.c,
                self.link.fd(),
                &self.link.c,
                0,
            )
        }
        #[cfg(not(unix))]
        {
            std::fs::hard_link(self.original.shown(), self.link.shown()).map(|_| 0)
        }
    }

    fn complete(self, res: RawResult) -> Self::Output {
        context(res.map(drop), "hard_link", &self.original.shown())
    }
}
