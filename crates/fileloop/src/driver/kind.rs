//! [`OpKind`]: the kinds of operation, for probing, per-kind fallback and statistics.

/// The kind of an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs, dead_code)]
pub enum OpKind {
    Read,
    Write,
    ReadVectored,
    WriteVectored,
    Sync,
    SyncRange,
    Metadata,
    SetLen,
    Allocate,
    Open,
    /// openat2 with RESOLVE_BENEATH (confined directories).
    OpenBeneath,
    Close,
    Rename,
    Remove,
    CreateDir,
    Symlink,
    HardLink,
    /// A whole small file in one go: open, read, probe for the end, close (on io_uring one
    /// linked chain through a fixed-file slot).
    ReadWhole,
    /// Work that only the pool can do (directory listing, copy, ...).
    Blocking,
}

impl OpKind {
    /// Number of kinds.
    pub(crate) const COUNT: usize = OpKind::Blocking as usize + 1;

    /// Every kind, in order.
    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    pub(crate) const ALL: [OpKind; OpKind::COUNT] = [
        OpKind::Read,
        OpKind::Write,
        OpKind::ReadVectored,
        OpKind::WriteVectored,
        OpKind::Sync,
        OpKind::SyncRange,
        OpKind::Metadata,
        OpKind::SetLen,
        OpKind::Allocate,
        OpKind::Open,
        OpKind::OpenBeneath,
        OpKind::Close,
        OpKind::Rename,
        OpKind::Remove,
        OpKind::CreateDir,
        OpKind::Symlink,
        OpKind::HardLink,
        OpKind::ReadWhole,
        OpKind::Blocking,
    ];

    /// Index into per-kind tables.
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The io_uring opcode that serves this kind, if any.
    #[cfg(all(target_os = "linux", not(target_os = "android")))]
    pub(crate) fn uring_opcode(self) -> Option<u8> {
        use io_uring::opcode as o;
        Some(match self {
            OpKind::Read => o::Read::CODE,
            OpKind::Write => o::Write::CODE,
            OpKind::ReadVectored => o::Readv::CODE,
            OpKind::WriteVectored => o::Writev::CODE,
            OpKind::Sync => o::Fsync::CODE,
            OpKind::SyncRange => o::SyncFileRange::CODE,
            OpKind::Metadata => o::Statx::CODE,
            OpKind::SetLen => o::Ftruncate::CODE,
            OpKind::Allocate => o::Fallocate::CODE,
            OpKind::Open => o::OpenAt::CODE,
            OpKind::OpenBeneath => o::OpenAt2::CODE,
            OpKind::Close => o::Close::CODE,
            OpKind::Rename => o::RenameAt::CODE,
            OpKind::Remove => o::UnlinkAt::CODE,
            OpKind::CreateDir => o::MkDirAt::CODE,
            OpKind::Symlink => o::SymlinkAt::CODE,
            OpKind::HardLink => o::LinkAt::CODE,
            // Also needs Read, Close and a registered file table: see uring::setup.
            OpKind::ReadWhole => o::OpenAt::CODE,
            OpKind::Blocking => return None,
        })
    }
}
