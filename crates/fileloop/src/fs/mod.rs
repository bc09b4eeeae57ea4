//! The filesystem surface: [`File`], [`OpenOptions`], [`Dir`], directory listing ([`read_dir`],
//! [`walk`]), [`copy`], [`write_atomic`] and free functions named as in `std::fs`.

#[cfg(unix)]
mod atomic;
#[cfg(unix)]
mod copy;
#[cfg(unix)]
mod dir;
#[cfg(unix)]
mod dir_handle;
#[cfg(unix)]
mod dir_stream;
mod file;
mod functions;
mod open_options;
#[cfg(unix)]
mod read_dir;
#[cfg(unix)]
mod walk;

#[cfg(unix)]
pub use atomic::write_atomic;
#[cfg(unix)]
pub use copy::{copy, copy_with_progress, COPY_PROGRESS_CHUNK};
#[cfg(unix)]
pub use dir::Dir;
pub use file::File;
pub use functions::*;
pub use open_options::OpenOptions;
#[cfg(unix)]
pub use read_dir::{read_dir, DirEntry, ReadDir};
#[cfg(unix)]
pub use walk::{walk, Walk, WalkEntry, DEFAULT_WALK_CONCURRENCY};
