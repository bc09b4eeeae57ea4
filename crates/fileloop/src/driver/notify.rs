//! [`Notify`]: a wake-up signal that a loop can poll: an eventfd on Linux, a pipe on other Unix
//! systems, a condition variable on Windows (where the completion port is the handle to wait
//! on). Signals are hints: they coalesce, and a waiter always drains everything afterwards.

#[cfg(unix)]
pub(crate) use unix::Notify;
#[cfg(windows)]
pub(crate) use windows::Notify;

#[cfg(unix)]
mod unix {
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

    pub(crate) struct Notify {
        read: OwnedFd,
        /// Separate only for pipes; `None` for an eventfd.
        write: Option<OwnedFd>,
    }

    impl Notify {
        pub(crate) fn new() -> io::Result<Notify> {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            {
                // SAFETY: plain syscall; the returned descriptor is owned below.
                let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
                if fd < 0 {
                    return Err(io::Error::last_os_error());
                }
                // SAFETY: fd is a fresh descriptor nobody else owns.
                Ok(Notify {
                    read: unsafe { OwnedFd::from_raw_fd(fd) },
                    write: None,
                })
            }
            #[cfg(not(any(target_os = "linux", target_os = "android")))]
            {
                let mut fds = [0; 2];
                // SAFETY: fds has room for the two descriptors pipe writes.
                if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
                    return Err(io::Error::last_os_error());
                }
                for fd in fds {
                    // SAFETY: fcntl on descriptors we own.
                    unsafe {
                        libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
                        libc::fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK);
                    }
                }
                // SAFETY: both descriptors are fresh and owned only here.
                Ok(Notify {
                    read: unsafe { OwnedFd::from_raw_fd(fds[0]) },
                    write: Some(unsafe { OwnedFd::from_raw_fd(fds[1]) }),
                })
            }
        }

        /// The descriptor that becomes readable after `signal`.
        pub(crate) fn fd(&self) -> RawFd {
            self.read.as_raw_fd()
        }

        pub(crate) fn signal(&self) {
            let fd = self.write.as_ref().unwrap_or(&self.read).as_raw_fd();
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a live u64. A full pipe or a saturated eventfd
            // already means "signalled", so the result is ignored.
            unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
        }

        /// Clears pending signals without blocking.
        pub(crate) fn drain(&self) {
            let mut buf = [0u8; 64];
            loop {
                // SAFETY: reads into a live local buffer of the given size.
                let n = unsafe { libc::read(self.fd(), buf.as_mut_ptr().cast(), buf.len()) };
                if n <= 0 || self.write.is_none() {
                    return;
                }
            }
        }

        /// Blocks until signalled (or `timeout_ms` passes, -1 for never), then drains.
        pub(crate) fn wait(&self, timeout_ms: i32) {
            let mut pfd = libc::pollfd {
                fd: self.fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd. EINTR just returns early: callers loop.
            unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
            self.drain();
        }
    }
}

#[cfg(windows)]
mod windows {
    use std::io;
    use std::sync::{Condvar, Mutex};

    pub(crate) struct Notify {
        signalled: Mutex<bool>,
        cond: Condvar,
    }

    impl Notify {
        pub(crate) fn new() -> io::Result<Notify> {
            Ok(Notify {
                signalled: Mutex::new(false),
                cond: Condvar::new(),
            })
        }

        pub(crate) fn signal(&self) {
            *self.signalled.lock().unwrap_or_else(|e| e.into_inner()) = true;
            self.cond.notify_one();
        }

        pub(crate) fn drain(&self) {
            *self.signalled.lock().unwrap_or_else(|e| e.into_inner()) = false;
        }

        pub(crate) fn wait(&self, timeout_ms: i32) {
            let mut s = self.signalled.lock().unwrap_or_else(|e| e.into_inner());
            if !*s {
                s = if timeout_ms < 0 {
                    self.cond.wait(s).unwrap_or_else(|e| e.into_inner())
                } else {
                    let d = std::time::Duration::from_millis(timeout_ms as u64);
                    self.cond
                        .wait_timeout(s, d)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                };
            }
            *s = false;
        }
    }
}
