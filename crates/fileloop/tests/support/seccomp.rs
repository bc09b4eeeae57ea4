//! A seccomp filter that makes the io_uring system calls fail with a chosen errno, installed
//! for the calling thread only (no TSYNC), so a test can deny io_uring in one thread.

/// Installs the filter on this thread: io_uring_setup, io_uring_enter and io_uring_register
/// return `-errno`; everything else is allowed.
#[cfg(target_os = "linux")]
pub fn deny_io_uring(errno: i32) -> std::io::Result<()> {
    #[cfg(not(target_arch = "x86_64"))]
    compile_error!("the seccomp test filter is written for x86_64");
    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
    const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
    let stmt = |code: u16, k: u32| libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    };
    let jump = |code: u16, k: u32, jt: u8, jf: u8| libc::sock_filter { code, jt, jf, k };
    let (ld, jeq, ret) = (
        (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16,
        (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        (libc::BPF_RET | libc::BPF_K) as u16,
    );
    let deny = SECCOMP_RET_ERRNO | (errno as u32 & 0xffff);
    let filter = [
        // A different architecture: allow (never happens on x86_64 test runs).
        stmt(ld, 4), // seccomp_data.arch
        jump(jeq, AUDIT_ARCH_X86_64, 1, 0),
        stmt(ret, SECCOMP_RET_ALLOW),
        stmt(ld, 0), // seccomp_data.nr
        jump(jeq, libc::SYS_io_uring_setup as u32, 3, 0),
        jump(jeq, libc::SYS_io_uring_enter as u32, 2, 0),
        jump(jeq, libc::SYS_io_uring_register as u32, 1, 0),
        stmt(ret, SECCOMP_RET_ALLOW),
        stmt(ret, deny),
    ];
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: plain prctl calls; the filter program outlives the call (the kernel copies it).
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER,
            &prog as *const _,
        ) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
