//! [`BufFileOptions`]: chunk size and how much read-ahead and write-behind a [`BufFile`] keeps.
//!
//! [`BufFile`]: super::BufFile

/// How a [`BufFile`](super::BufFile) buffers: the size of each read and write it submits, and
/// how many of each it keeps in flight.
///
/// Memory use is at most `chunk_size * (read_ahead + write_behind + 2)` bytes per `BufFile`
/// (the in-flight chunks, the chunk being read from, the chunk being filled), allocated on
/// first use and recycled.
///
/// ```
/// use fileloop::io::BufFileOptions;
/// let options = BufFileOptions::new()
///     .chunk_size(1 << 20) // 1 MiB per read or write
///     .read_ahead(2) // up to 2 reads in flight while reading sequentially
///     .write_behind(8); // up to 8 writes in flight before `write` waits
/// # drop(options);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufFileOptions {
    pub(super) chunk_size: usize,
    pub(super) read_ahead: usize,
    pub(super) write_behind: usize,
}

impl Default for BufFileOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl BufFileOptions {
    /// Default chunk size: 256 KiB.
    pub const DEFAULT_CHUNK_SIZE: usize = 256 << 10;
    /// Default number of reads in flight: 4.
    pub const DEFAULT_READ_AHEAD: usize = 4;
    /// Default number of writes in flight: 4.
    pub const DEFAULT_WRITE_BEHIND: usize = 4;

    /// The defaults: 256 KiB chunks, 4 reads and 4 writes in flight.
    pub fn new() -> Self {
        BufFileOptions {
            chunk_size: Self::DEFAULT_CHUNK_SIZE,
            read_ahead: Self::DEFAULT_READ_AHEAD,
            write_behind: Self::DEFAULT_WRITE_BEHIND,
        }
    }

    /// Bytes per read and per write submitted (at least 1; default 256 KiB).
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk_size = bytes.max(1);
        self
    }

    /// Maximum reads in flight ahead of the position while reading sequentially (at least 1;
    /// default 4). Reading starts with one read in flight and adds one with each chunk consumed
    /// in order; a seek outside the buffered chunk starts over at one. Small files and random
    /// access thus do not pay for reads they never use.
    pub fn read_ahead(mut self, reads: usize) -> Self {
        self.read_ahead = reads.max(1);
        self
    }

    /// Maximum full chunks being written at once (at least 1; default 4). When that many are in
    /// flight and the current chunk is full, `write` waits for one to complete (backpressure).
    pub fn write_behind(mut self, writes: usize) -> Self {
        self.write_behind = writes.max(1);
        self
    }
}
