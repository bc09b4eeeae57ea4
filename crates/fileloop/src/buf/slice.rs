//! [`Slice`]: a range of an owned buffer that still owns the buffer.

use super::{IoBuf, IoBufMut};
use std::ops::{Bound, Deref, DerefMut, RangeBounds};

/// A range `begin..end` of an owned buffer. Reads through a `Slice` fill only its range; writes
/// send only its initialised part. [`Slice::into_inner`] returns the whole buffer.
///
/// ```
/// use fileloop::buf::IoBuf;
/// let s = vec![0u8; 8].slice(2..6);
/// assert_eq!((s.begin(), s.end(), s.len()), (2, 6, 4));
/// ```
pub struct Slice<B> {
    buf: B,
    begin: usize,
    end: usize,
}

impl<B: IoBuf> Slice<B> {
    pub(crate) fn new(buf: B, range: impl RangeBounds<usize>) -> Self {
        let total = buf.bytes_total();
        let begin = match range.start_bound() {
            Bound::Included(&n) => n,
            Bound::Excluded(&n) => n.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&n) => n.saturating_add(1),
            Bound::Excluded(&n) => n,
            Bound::Unbounded => total,
        };
        let end = end.min(total);
        Slice {
            buf,
            begin: begin.min(end),
            end,
        }
    }

    /// Start of the range within the buffer.
    pub fn begin(&self) -> usize {
        self.begin
    }
    /// End of the range within the buffer.
    pub fn end(&self) -> usize {
        self.end
    }
    /// Length of the range.
    pub fn len(&self) -> usize {
        self.end - self.begin
    }
    /// Whether the range is empty.
    pub fn is_empty(&self) -> bool {
        self.begin == self.end
    }
    /// The underlying buffer.
    pub fn get_ref(&self) -> &B {
        &self.buf
    }
    /// Gives the whole buffer back.
    pub fn into_inner(self) -> B {
        self.buf
    }
}

impl<B: IoBuf> Deref for Slice<B> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        let init = self.buf.bytes_init().clamp(self.begin, self.end);
        // SAFETY: bytes begin..init are initialised and inside the buffer.
        unsafe {
            std::slice::from_raw_parts(self.buf.stable_ptr().add(self.begin), init - self.begin)
        }
    }
}

impl<B: IoBufMut> DerefMut for Slice<B> {
    fn deref_mut(&mut self) -> &mut [u8] {
        let init = self.buf.bytes_init().clamp(self.begin, self.end);
        // SAFETY: bytes begin..init are initialised, inside the buffer, and we hold &mut.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.buf.stable_mut_ptr().add(self.begin),
                init - self.begin,
            )
        }
    }
}

// SAFETY: the pointer is the inner buffer's stable pointer offset by begin <= bytes_total.
unsafe impl<B: IoBuf> IoBuf for Slice<B> {
    fn stable_ptr(&self) -> *const u8 {
        // SAFETY: begin <= end <= bytes_total, so the offset stays within the allocation.
        unsafe { self.buf.stable_ptr().add(self.begin) }
    }
    fn bytes_init(&self) -> usize {
        self.buf.bytes_init().clamp(self.begin, self.end) - self.begin
    }
    fn bytes_total(&self) -> usize {
        self.end - self.begin
    }
}

// SAFETY: writes go to begin..end of the inner buffer, which is valid for writes.
unsafe impl<B: IoBufMut> IoBufMut for Slice<B> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        // SAFETY: as stable_ptr.
        unsafe { self.buf.stable_mut_ptr().add(self.begin) }
    }
    unsafe fn set_init(&mut self, n: usize) {
        // SAFETY: bytes begin..begin+n were written; everything before begin is initialised
        // only if it already was, so extend only when the range starts inside the init part.
        if self.buf.bytes_init() >= self.begin {
            unsafe { self.buf.set_init(self.begin + n) };
        }
    }
}
