//! Telling Valgrind's memcheck about memory the kernel wrote through io_uring.
//!
//! Valgrind sees the bytes a `read(2)` system call writes, but not those an io_uring read
//! writes from inside the kernel: a buffer filled that way would look uninitialised to memcheck
//! and every later use would be reported. After such a read the library marks the filled bytes
//! defined with memcheck's `MAKE_MEM_DEFINED` client request. Outside Valgrind the request is a
//! few register rotations that cancel out: nothing happens.

/// Marks `len` bytes at `ptr` as written (defined) for memcheck.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
pub(crate) fn mark_defined(ptr: *const u8, len: usize) {
    // memcheck's tool base is ('M' << 24 | 'C' << 16); MAKE_MEM_DEFINED is its third request.
    const MAKE_MEM_DEFINED: u64 = 0x4D43_0002;
    let args: [u64; 6] = [MAKE_MEM_DEFINED, ptr as u64, len as u64, 0, 0, 0];
    // SAFETY: Valgrind's client-request sequence for amd64: rdi is rotated by 3 + 13 + 61 + 51
    // = 128 bits, i.e. left as it was, and `xchg rbx, rbx` changes nothing; on a real CPU the
    // block only clobbers flags. Under Valgrind the request reads the six words at rax (alive
    // on this stack frame) and writes its result to rdx; it only changes memcheck's shadow
    // state, never the program's memory.
    unsafe {
        std::arch::asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            in("rax") args.as_ptr(),
            inout("rdx") 0u64 => _,
            inout("rdi") 0u64 => _,
            options(nostack),
        );
    }
}

/// Elsewhere memcheck's requests are not issued.
#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
pub(crate) fn mark_defined(_ptr: *const u8, _len: usize) {}
