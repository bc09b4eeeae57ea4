//! [`AlignedBuf`]: heap memory with a chosen alignment, for direct I/O.

use super::{IoBuf, IoBufMut};
use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::io;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

/// A zero-initialised heap buffer aligned to `align` bytes (a power of two), as O_DIRECT and
/// FILE_FLAG_NO_BUFFERING require. Its length starts at its capacity.
///
/// ```
/// let b = fileloop::buf::AlignedBuf::new(8192, 4096).unwrap();
/// assert_eq!(b.as_ptr() as usize % 4096, 0);
/// assert_eq!(b.len(), 8192);
/// ```
pub struct AlignedBuf {
    ptr: NonNull<u8>,
    layout: Layout,
    len: usize,
}

// SAFETY: AlignedBuf owns its memory exclusively, like a Box<[u8]>.
unsafe impl Send for AlignedBuf {}
// SAFETY: shared access only reads.
unsafe impl Sync for AlignedBuf {}

impl AlignedBuf {
    /// Allocates `capacity` zeroed bytes aligned to `align`. Fails with `InvalidInput` when
    /// `align` is not a power of two or the size overflows.
    pub fn new(capacity: usize, align: usize) -> io::Result<Self> {
        let layout = Layout::from_size_align(capacity.max(1), align.max(1)).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("AlignedBuf: bad size {capacity} or alignment {align}"),
            )
        })?;
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        let ptr = NonNull::new(ptr).ok_or_else(|| io::Error::from(io::ErrorKind::OutOfMemory))?;
        Ok(AlignedBuf {
            ptr,
            layout,
            len: capacity,
        })
    }

    /// The alignment.
    pub fn align(&self) -> usize {
        self.layout.align()
    }

    /// Sets the length (clamped to the capacity); bytes are always initialised.
    pub fn set_len(&mut self, len: usize) {
        self.len = len.min(self.layout.size());
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

impl Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: len <= size, memory zero-initialised at allocation.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as deref, with exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

// SAFETY: heap memory owned by the value; all bytes initialised.
unsafe impl IoBuf for AlignedBuf {
    fn stable_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len
    }
    fn bytes_total(&self) -> usize {
        self.layout.size()
    }
}

// SAFETY: all bytes up to the capacity are writable and initialised.
unsafe impl IoBufMut for AlignedBuf {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }
    unsafe fn set_init(&mut self, n: usize) {
        if n > self.len {
            self.len = n.min(self.layout.size());
        }
    }
}
