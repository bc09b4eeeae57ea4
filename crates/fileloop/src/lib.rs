//! fileloop: completion-based async file I/O for every event loop.
#![warn(missing_docs)]
