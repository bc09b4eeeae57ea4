//! IoBuf / IoBufMut for the `bytes` crate (feature `bytes`).

use super::{IoBuf, IoBufMut};
use bytes::{Bytes, BytesMut};

// SAFETY: Bytes points at immutable shared heap (or static) memory that lives as long as it.
unsafe impl IoBuf for Bytes {
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

// SAFETY: BytesMut owns heap memory that does not move with the value.
unsafe impl IoBuf for BytesMut {
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

// SAFETY: spare capacity is writable; set_init only grows len over written bytes.
unsafe impl IoBufMut for BytesMut {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    unsafe fn set_init(&mut self, n: usize) {
        if n > self.len() {
            // SAFETY: the caller promises the first n bytes are initialised, n <= capacity.
            unsafe { self.set_len(n) };
        }
    }
}
