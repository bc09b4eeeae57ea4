//! The filesystem surface: [`File`], [`OpenOptions`] and free functions named as in `std::fs`.

mod file;
mod functions;
mod open_options;

pub use file::File;
pub use functions::*;
pub use open_options::OpenOptions;
