//! [`Notify`]: a wake-up signal that a loop can poll: an eventfd on Linux, a pipe on other Unix
//! systems, the engine's completion port on Windows. Signals are hints: they coalesce, and a
//! waiter always drains everything afterwards.

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
    use crate::driver::iocp::{Packet, Port};
    use std::io;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;

    /// The engine's completion port: a wake-up is a packet with a key of its own, so the one
    /// wait covers callbacks, shutdown and (with the IOCP backend) file completions, which
    /// are kept here until `dispatch` takes them.
    pub(crate) struct Notify {
        port: Port,
        /// A wake-up packet is queued and not yet taken: further signals add nothing.
        wake_queued: AtomicBool,
        packets: Mutex<Vec<Packet>>,
    }

    impl Notify {
        pub(crate) fn new() -> io::Result<Notify> {
            Ok(Notify {
                port: Port::new()?,
                wake_queued: AtomicBool::new(false),
                packets: Mutex::new(Vec::new()),
            })
        }

        pub(crate) fn port(&self) -> &Port {
            &self.port
        }

        pub(crate) fn signal(&self) {
            if !self.wake_queued.swap(true, Ordering::AcqRel) && !self.port.wake() {
                self.wake_queued.store(false, Ordering::Release);
            }
        }

        /// Takes every queued packet without waiting.
        pub(crate) fn drain(&self) {
            while self.collect(0) {}
        }

        /// Waits until a packet arrives (or `timeout_ms` passes, -1 for never), then drains.
        pub(crate) fn wait(&self, timeout_ms: i32) {
            let timeout = u32::try_from(timeout_ms).unwrap_or(u32::MAX); // INFINITE
            if self.collect(timeout) {
                self.drain();
            }
        }

        /// One dequeue; true when its batch was full (more may be waiting).
        fn collect(&self, timeout_ms: u32) -> bool {
            let mut found = Vec::new();
            let got = self.port.dequeue(timeout_ms, &mut found);
            if got.woken {
                // Signals from here on queue a new packet; those before are covered by the
                // dispatch that follows every wait.
                self.wake_queued.store(false, Ordering::Release);
            }
            if !found.is_empty() {
                self.lock().append(&mut found);
            }
            Port::full(&got)
        }

        fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Packet>> {
            self.packets.lock().unwrap_or_else(|e| e.into_inner())
        }

        /// File completions taken off the port and not yet delivered.
        pub(crate) fn take_packets(&self) -> Vec<Packet> {
            std::mem::take(&mut *self.lock())
        }
    }
}
