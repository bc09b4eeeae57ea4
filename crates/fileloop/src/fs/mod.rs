//! The filesystem surface: [`File`], [`OpenOptions`], directory listing ([`read_dir`],
//! [`walk`]) and free functions named as in `std::fs`.

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

pub use file::File;
pub use functions::*;
pub use open_options::OpenOptions;
#[cfg(unix)]
pub use read_dir::{read_dir, DirEntry, ReadDir};
#[cfg(unix)]
pub use walk::{walk, Walk, WalkEntry, DEFAULT_WALK_CONCURRENCY};
