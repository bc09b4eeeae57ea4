//! Owned buffers: what an operation hands to the kernel and gets back with its result.
//!
//! A buffer given to an operation is moved into it and returned with the result, so the memory
//! stays alive and in place for as long as the kernel may touch it, even if the future is
//! dropped. [`IoBuf`] is a buffer the kernel reads from (writes), [`IoBufMut`] one it fills
//! (reads).
//!
//! ```
//! use fileloop::buf::{IoBuf, IoBufMut};
//! let v = vec![1u8, 2, 3];
//! assert_eq!(v.bytes_init(), 3);
//! let s = v.slice(1..);
//! assert_eq!(&s[..], &[2, 3]);
//! let back: Vec<u8> = s.into_inner();
//! assert_eq!(back.len(), 3);
//! ```

mod aligned;
#[cfg(feature = "bytes")]
mod bytes_impl;
mod slice;

pub use aligned::AlignedBuf;
pub use slice::Slice;

use std::ops::RangeBounds;

/// A buffer whose initialised bytes can be read by the kernel (the source of a write).
///
/// # Safety
/// `stable_ptr()` must point at `bytes_init()` initialised bytes that stay valid and at the
/// same address for as long as the value is alive and not accessed mutably, even when the value
/// itself is moved (heap storage, never inline storage).
pub unsafe trait IoBuf: Send + 'static {
    /// Pointer to the first byte.
    fn stable_ptr(&self) -> *const u8;
    /// Number of initialised bytes (what a write sends).
    fn bytes_init(&self) -> usize;
    /// Total capacity in bytes.
    fn bytes_total(&self) -> usize;

    /// A view of `range` of the buffer that owns the buffer; `into_inner` gives it back.
    ///
    /// Out-of-range bounds are clamped to the buffer (never a panic).
    fn slice(self, range: impl RangeBounds<usize>) -> Slice<Self>
    where
        Self: Sized,
    {
        Slice::new(self, range)
    }
}

/// A buffer the kernel can fill (the target of a read).
///
/// # Safety
/// As [`IoBuf`], and `stable_mut_ptr()` must be valid for writes of `bytes_total()` bytes.
/// `set_init(n)` is called only after the first `n` bytes were written.
pub unsafe trait IoBufMut: IoBuf {
    /// Pointer to the first byte, valid for writes of `bytes_total()` bytes.
    fn stable_mut_ptr(&mut self) -> *mut u8;
    /// Marks the first `n` bytes as initialised (never shrinks what already was).
    ///
    /// # Safety
    /// The first `n` bytes must have been initialised.
    unsafe fn set_init(&mut self, n: usize);
}

// SAFETY: a Vec's heap storage does not move when the Vec is moved; len bytes are initialised.
unsafe impl IoBuf for Vec<u8> {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.capacity()
    }
}

// SAFETY: the spare capacity is valid for writes; set_init only grows len over written bytes.
unsafe impl IoBufMut for Vec<u8> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    unsafe fn set_init(&mut self, n: usize) {
        if n > self.len() {
            // SAFETY: the caller promises the first n bytes are initialised; n <= capacity
            // because the kernel was given at most bytes_total() bytes.
            unsafe { self.set_len(n) };
        }
    }
}

// SAFETY: boxed slices live on the heap; every byte is initialised.
unsafe impl IoBuf for Box<[u8]> {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.len()
    }
}

// SAFETY: every byte of a boxed slice is writable and already initialised.
unsafe impl IoBufMut for Box<[u8]> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    unsafe fn set_init(&mut self, _n: usize) {}
}

// SAFETY: static data never moves and is never freed.
unsafe impl IoBuf for &'static [u8] {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.len()
    }
}

// SAFETY: static data never moves and is never freed.
unsafe impl IoBuf for &'static str {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.len()
    }
}

// SAFETY: a String's heap storage does not move with the String.
unsafe impl IoBuf for String {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.capacity()
    }
}
