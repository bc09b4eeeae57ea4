//! Windows specifics of the IOCP backend (PLATFORM-NOTES edge cases 11, 12 and 4): end of file
//! both ways, both notification modes, drops and cancellation of operations that are really
//! pending, host-driven dispatch on the completion port, unbuffered I/O.
//!
//! Under Wine some details cannot be seen, and the tests say so and skip them: every file
//! ReadFile/WriteFile reports pending even when the work is done (so nothing completes at once
//! and skip-on-success never applies), end of file arrives as a pending read completing with
//! STATUS_END_OF_FILE, FILE_FLAG_NO_BUFFERING alignment is not enforced, and the sector-size
//! query fails.
#![cfg(windows)]

use fileloop::buf::AlignedBuf;
use fileloop::{BackendChoice, BackendKind, Engine, OpenOptions};
use std::future::Future;
use std::os::windows::ffi::OsStrExt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::Storage::FileSystem::{WriteFile, PIPE_ACCESS_DUPLEX};
use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleA, GetProcAddress};
use windows_sys::Win32::System::Pipes::CreateNamedPipeW;
use windows_sys::Win32::System::Threading::WaitForSingleObject;

/// FILE_FLAG_NO_BUFFERING, as an open flag.
const NO_BUFFERING: i32 = 0x2000_0000;

/// Wine's version, if this runs under Wine (ntdll exports `wine_get_version` there).
fn wine() -> Option<String> {
    // SAFETY: ntdll is loaded in every process; the name is NUL-terminated.
    let ntdll = unsafe { GetModuleHandleA(c"ntdll.dll".as_ptr().cast()) };
    if ntdll.is_null() {
        return None;
    }
    // SAFETY: looks up an export by a NUL-terminated name.
    let f = unsafe { GetProcAddress(ntdll, c"wine_get_version".as_ptr().cast()) }?;
    // SAFETY: wine_get_version takes nothing and returns a static NUL-terminated string.
    let version = unsafe {
        let f: unsafe extern "C" fn() -> *const std::ffi::c_char = std::mem::transmute(f);
        std::ffi::CStr::from_ptr(f())
    };
    Some(version.to_string_lossy().into_owned())
}

fn iocp(skip_on_success: bool) -> Engine {
    let engine = Engine::builder()
        .backend(BackendChoice::Uring)
        .ignore_env()
        .iocp_skip_on_success(skip_on_success)
        .build()
        .unwrap();
    assert_eq!(engine.backend().kind(), BackendKind::Iocp);
    engine
}

fn block_on<F: Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    let waker = futures::task::noop_waker();
    Pin::new(f).poll(&mut Context::from_waker(&waker))
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Waits until the engine has nothing in flight and nothing parked.
fn wait_idle(engine: &Engine) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = engine.stats();
        if s.in_flight == 0 && s.parked == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "engine never went idle: {s:?}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn backend_is_iocp_and_serves_reads_and_writes() {
    match wine() {
        Some(v) => println!("running under Wine {v}"),
        None => println!("running on Windows"),
    }
    for (choice, kind) in [
        (BackendChoice::Auto, BackendKind::Iocp),
        (BackendChoice::Uring, BackendKind::Iocp),
        (BackendChoice::Pool, BackendKind::Pool),
    ] {
        let engine = Engine::builder()
            .backend(choice)
            .ignore_env()
            .build()
            .unwrap();
        assert_eq!(engine.backend().kind(), kind, "{choice:?}");
    }
    let engine = iocp(true);
    println!("backend: {}", engine.backend());
    assert_eq!(
        engine.backend().description(),
        "iocp (completion port, skip-on-success)"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    block_on(async {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .open_with(&engine, &path)
            .await
            .unwrap();
        let before = engine.stats();
        let (res, _) = file.write_all_at(pattern(100_000), 0).await;
        res.unwrap();
        let (res, buf) = file.read_exact_at(vec![0u8; 100_000], 0).await;
        res.unwrap();
        assert!(buf == pattern(100_000));
        let after = engine.stats();
        println!("{before:?}\n{after:?}");
        assert!(
            after.native_ops >= before.native_ops + 2,
            "IOCP served the read and the write"
        );
        // What has no overlapped form runs on the pool, on the same overlapped handle.
        file.sync_all().await.unwrap();
        file.set_len(10).await.unwrap();
        assert_eq!(file.metadata().await.unwrap().len(), 10);
        let (n, bufs) = file
            .read_vectored_at(vec![vec![0u8; 4], vec![0u8; 10]], 0)
            .await;
        assert_eq!(n.unwrap(), 10);
        assert_eq!(&bufs[0][..], &pattern(4)[..]);
        assert!(engine.stats().pool_ops > after.pool_ops);
        file.close().await.unwrap();
    });
    assert_eq!(std::fs::read(&path).unwrap(), pattern(10));
}

/// EOF as ERROR_HANDLE_EOF at once or as a completion with STATUS_END_OF_FILE: `Ok(0)` either
/// way, in both notification modes. (The library's unit tests map both forms directly.)
#[test]
fn end_of_file_is_zero_in_both_modes() {
    for skip in [true, false] {
        let engine = iocp(skip);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, pattern(100)).unwrap();
        block_on(async {
            let file = engine.open(&path).await.unwrap();
            for pos in [100u64, 101, 4096, 1 << 40] {
                let mut read = file.read_at(vec![0u8; 10], pos);
                let way = match poll_once(&mut read) {
                    Poll::Ready((n, _)) => {
                        assert_eq!(n.unwrap(), 0);
                        "at once"
                    }
                    Poll::Pending => {
                        assert_eq!(read.await.0.unwrap(), 0);
                        "as a completion"
                    }
                };
                println!("skip_on_success={skip}: EOF at {pos} arrived {way}");
            }
            let (n, buf) = file.read_at(Vec::with_capacity(64), 90).await;
            assert_eq!(n.unwrap(), 10, "a short read before the end");
            assert_eq!(&buf[..], &pattern(100)[90..]);
        });
    }
}

/// Many reads and writes at once in each mode; each completes exactly once with its data.
#[test]
fn both_notification_modes_complete_everything_once() {
    for skip in [true, false] {
        let engine = iocp(skip);
        println!("backend: {}", engine.backend());
        let dir = tempfile::tempdir().unwrap();
        let data = pattern(1 << 20);
        let path = dir.path().join("f");
        std::fs::write(&path, &data).unwrap();
        let (ready_at_once, total) = block_on(async {
            let file = engine.open(&path).await.unwrap();
            // Cached reads: on Windows with skip-on-success most finish inside ReadFile and the
            // future is ready on its first poll.
            let mut at_once = 0;
            for i in 0..200u64 {
                let mut read = file.read_at(vec![0u8; 4096], i * 4096);
                let (n, buf) = match poll_once(&mut read) {
                    Poll::Ready(out) => {
                        at_once += 1;
                        out
                    }
                    Poll::Pending => read.await,
                };
                assert_eq!(n.unwrap(), 4096);
                assert_eq!(&buf[..], &data[i as usize * 4096..][..4096]);
            }
            let reads = (0..1000u64).map(|i| file.read_at(vec![0u8; 1000], i * 1000));
            for (i, (n, buf)) in futures::future::join_all(reads)
                .await
                .into_iter()
                .enumerate()
            {
                assert_eq!(n.unwrap(), 1000);
                assert_eq!(&buf[..], &data[i * 1000..][..1000]);
            }
            let out = OpenOptions::new()
                .write(true)
                .create(true)
                .open_with(&engine, dir.path().join("o"))
                .await
                .unwrap();
            let writes = (0..1000u64).map(|i| out.write_at(vec![i as u8; 512], i * 512));
            for (n, _) in futures::future::join_all(writes).await {
                assert_eq!(n.unwrap(), 512);
            }
            (at_once, 200)
        });
        let written = std::fs::read(dir.path().join("o")).unwrap();
        for i in 0..1000usize {
            assert!(written[i * 512..][..512].iter().all(|&b| b == i as u8));
        }
        println!("skip_on_success={skip}: {ready_at_once} of {total} cached reads ready at once");
        if skip {
            match wine() {
                Some(_) => println!(
                    "skipped: completion at once (Wine reports every file ReadFile as pending)"
                ),
                None => assert!(
                    ready_at_once > 0,
                    "no cached read completed inside ReadFile"
                ),
            }
        }
        wait_idle(&engine);
        let s = engine.stats();
        assert_eq!(
            s.completed,
            s.pool_ops + s.native_ops,
            "one completion each: {s:?}"
        );
    }
}

/// A named pipe whose server end the test holds: reads on the client end stay pending until
/// the test writes, so drops and cancellation meet operations that are really in the kernel.
struct Pipe {
    server: HANDLE,
    name: String,
}

impl Pipe {
    fn new(tag: &str) -> Pipe {
        let name = format!(r"\\.\pipe\fileloop-{tag}-{}", std::process::id());
        let wide: Vec<u16> = std::ffi::OsStr::new(&name)
            .encode_wide()
            .chain(Some(0))
            .collect();
        // SAFETY: a NUL-terminated name; byte mode, one instance, blocking server end.
        let server = unsafe {
            CreateNamedPipeW(
                wide.as_ptr(),
                PIPE_ACCESS_DUPLEX,
                0,
                1,
                4096,
                4096,
                0,
                std::ptr::null(),
            )
        };
        assert!(
            server != INVALID_HANDLE_VALUE,
            "CreateNamedPipeW: {}",
            std::io::Error::last_os_error()
        );
        Pipe { server, name }
    }

    fn send(&self, data: &[u8]) {
        let mut n = 0;
        // SAFETY: a live buffer of the given length; synchronous handle.
        let ok = unsafe {
            WriteFile(
                self.server,
                data.as_ptr(),
                data.len() as u32,
                &mut n,
                std::ptr::null_mut(),
            )
        };
        assert!(ok != 0, "WriteFile: {}", std::io::Error::last_os_error());
    }
}

impl Drop for Pipe {
    fn drop(&mut self) {
        // SAFETY: the handle is ours, closed once.
        unsafe { CloseHandle(self.server) };
    }
}

#[test]
fn drop_and_cancel_of_pending_operations() {
    for skip in [true, false] {
        let engine = iocp(skip);
        let pipe = Pipe::new(if skip { "skip" } else { "noskip" });
        block_on(async {
            let client = OpenOptions::new()
                .read(true)
                .write(true)
                .open_with(&engine, &pipe.name)
                .await
                .unwrap();
            // The open's pool thread wakes this future before it stops counting the open as
            // in flight: let that settle before counting the read.
            wait_idle(&engine);
            let native = engine.stats().native_ops;

            // Dropped while pending: CancelIoEx, and the buffer stays parked until the
            // cancellation's completion arrives.
            let mut read = client.read_at(vec![0u8; 16], 0);
            assert!(poll_once(&mut read).is_pending());
            assert_eq!(engine.stats().native_ops, native + 1, "the read is on IOCP");
            assert_eq!(engine.stats().in_flight, 1);
            drop(read);
            assert!(engine.stats().parked <= 1);
            wait_idle(&engine);

            // Explicit cancel: the operation resolves with a cancellation error.
            let mut read = client.read_at(vec![0u8; 16], 0);
            assert!(poll_once(&mut read).is_pending());
            read.cancel();
            let (res, buf) = read.await;
            let err = res.unwrap_err();
            assert!(fileloop::is_cancelled(&err), "{err}");
            assert_eq!(buf.len(), 16, "the buffer comes back");

            // A pending read that data completes.
            let mut read = client.read_at(vec![0u8; 16], 0);
            assert!(poll_once(&mut read).is_pending());
            pipe.send(b"hello");
            let (n, buf) = read.await;
            assert_eq!(&buf[..n.unwrap()], b"hello");

            // Data already there: the read may finish inside ReadFile (Wine does this for pipes),
            // delivered by this thread with skip-on-success, through a packet without it.
            let mut at_once = 0;
            for i in 0..100u8 {
                pipe.send(&[i; 3]);
                let mut read = client.read_at(vec![0u8; 3], 0);
                let (n, buf) = match poll_once(&mut read) {
                    Poll::Ready(out) => {
                        at_once += 1;
                        out
                    }
                    Poll::Pending => read.await,
                };
                assert_eq!(n.unwrap(), 3);
                assert_eq!(&buf[..], &[i; 3]);
            }
            println!("skip_on_success={skip}: {at_once} of 100 pipe reads with data waiting ready at once");
            if skip {
                assert!(
                    at_once > 0,
                    "no pipe read with data waiting completed inside ReadFile"
                );
            }

            // Many pending reads dropped at once.
            let mut reads: Vec<_> = (0..50).map(|_| client.read_at(vec![0u8; 8], 0)).collect();
            for r in &mut reads {
                assert!(poll_once(r).is_pending());
            }
            drop(reads);
            wait_idle(&engine);
        });
        wait_idle(&engine);
        let s = engine.stats();
        assert_eq!(
            s.completed,
            s.pool_ops + s.native_ops,
            "one completion each: {s:?}"
        );
    }
}

/// Host-driven mode: no engine thread; the host waits on the completion port and dispatches.
#[test]
fn host_driven_on_the_completion_port() {
    let engine = Engine::builder()
        .backend(BackendChoice::Uring)
        .ignore_env()
        .host_driven(true)
        .build()
        .unwrap();
    assert_eq!(engine.backend().kind(), BackendKind::Iocp);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, pattern(4096)).unwrap();
    let me = std::thread::current().id();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let port = engine.completion_handle();
    // The open itself needs dispatching: drive it by hand.
    let mut open = Box::pin(engine.open(&path));
    let file = loop {
        if let Poll::Ready(f) = poll_once(&mut open) {
            break f.unwrap();
        }
        // SAFETY: waits on the engine's live port handle.
        unsafe { WaitForSingleObject(port, 10) };
        engine.dispatch();
    };
    let data = std::sync::Arc::new(pattern(4096));
    for i in 0..2000u64 {
        let (done, data) = (done.clone(), data.clone());
        let op = if i % 2 == 0 {
            file.read_at(vec![0u8; 8], 8 * (i % 512))
        } else {
            file.read_at(vec![0u8; 8], 1 << 30)
        };
        op.on_complete(move |(n, buf)| {
            assert_eq!(std::thread::current().id(), me);
            let n = n.unwrap();
            assert_eq!(n, if i % 2 == 0 { 8 } else { 0 });
            assert_eq!(&buf[..n], &data[(8 * (i % 512)) as usize..][..n]);
            done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        });
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut signalled = 0;
    while done.load(std::sync::atomic::Ordering::SeqCst) < 2000 {
        assert!(Instant::now() < deadline, "host loop starved");
        // SAFETY: as above.
        if unsafe { WaitForSingleObject(port, 10) } == 0 {
            signalled += 1;
        }
        // Timed only when there was nothing to do: callbacks run inside dispatch.
        let t = Instant::now();
        if engine.dispatch() == 0 {
            assert!(
                t.elapsed() < Duration::from_millis(500),
                "dispatch must not block"
            );
        }
    }
    println!("the port was signalled {signalled} times for 2000 completions");
}

/// FILE_FLAG_NO_BUFFERING through `custom_flags`: aligned transfers work on IOCP; misaligned
/// ones fail (Windows enforces it, Wine does not); the sector size comes with the metadata.
#[test]
fn unbuffered_io() {
    let engine = iocp(true);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, pattern(1 << 16)).unwrap();
    block_on(async {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(NO_BUFFERING)
            .open_with(&engine, &path)
            .await
            .unwrap();
        let (n, buf) = file
            .read_at(AlignedBuf::new(8192, 4096).unwrap(), 4096)
            .await;
        assert_eq!(n.unwrap(), 8192);
        assert_eq!(&buf[..], &pattern(1 << 16)[4096..][..8192]);
        let mut out = AlignedBuf::new(4096, 4096).unwrap();
        out.fill(7);
        let (n, _) = file.write_at(out, 0).await;
        assert_eq!(n.unwrap(), 4096);
        let wine = wine();
        let (res, _) = file.read_at(vec![0u8; 100], 1).await;
        match (&wine, res) {
            (Some(_), _) => println!("skipped: misaligned transfer (Wine does not enforce FILE_FLAG_NO_BUFFERING alignment)"),
            (None, Ok(n)) => panic!("a misaligned unbuffered read returned {n} bytes"),
            (None, Err(e)) => assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{e}"),
        }
        let align = file.metadata().await.unwrap().dio_alignment();
        match (&wine, align) {
            (Some(_), _) => {
                println!("skipped: sector size (the query fails under Wine: {align:?})")
            }
            (None, Some((mem, off))) => {
                assert!(
                    mem.is_power_of_two() && off.is_power_of_two() && off >= 512,
                    "{align:?}"
                )
            }
            (None, None) => panic!("no sector size for a local file"),
        }
    });
    assert!(std::fs::read(&path).unwrap()[..4096]
        .iter()
        .all(|&b| b == 7));
}
