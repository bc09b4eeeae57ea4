//! A process that dies or exits without dropping its `Mounted` while a thread of it is
//! blocked in a hung read must still exit, and leave no mount behind.
//!
//! Each test re-runs this test binary as a child (selecting `child_scenario` with an
//! environment variable), which mounts, blocks a thread in a hung read, and then exits
//! or is killed; the parent checks that the child ends and the mount goes away. If the
//! child gets stuck anyway, the parent rescues it by aborting its FUSE connection, so
//! that a failure of this test never leaves a stuck process behind.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use fileloop_testfs::{skip_reason, Behaviour, Config, FileSpec};

const MODE_VAR: &str = "FILELOOP_TESTFS_EXIT_SAFETY_MODE";

/// Runs in the child only (a no-op in a normal test run).
#[test]
fn child_scenario() {
    let Ok(mode) = std::env::var(MODE_VAR) else {
        return;
    };
    let fs = Config::new()
        .file(FileSpec::new("hang", 100).behaviour(Behaviour::Hang))
        .mount()
        .unwrap();
    let path = fs.file_path("hang");
    thread::spawn(move || {
        let _ = std::fs::read(path);
    });
    assert!(fs.wait_for_pending_hangs(1, Duration::from_secs(5)));
    println!("MOUNTED {}", fs.path().display());
    match mode.as_str() {
        // Exit without running any destructor.
        "exit" => std::process::exit(0),
        // Leak the mount, let the test harness finish and exit.
        "leak" => std::mem::forget(fs),
        // Wait to be killed by the parent.
        "kill" => loop {
            thread::sleep(Duration::from_secs(1));
        },
        other => panic!("unknown mode {other}"),
    }
}

fn is_mount_point(path: &Path) -> bool {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    info.lines().any(|l| l.split(' ').nth(4) == path.to_str())
}

/// Last resort if the child is stuck: abort its connection and detach its mount.
fn rescue(path: &Path) {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    for line in info.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        if fields.get(4) == path.to_str().as_ref() {
            let (major, minor) = fields[2].split_once(':').unwrap();
            let conn = (major.parse::<u64>().unwrap() << 20) | minor.parse::<u64>().unwrap();
            let _ = std::fs::write(format!("/sys/fs/fuse/connections/{conn}/abort"), "1");
        }
    }
    let c_path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    unsafe { libc::umount2(c_path.as_ptr(), libc::MNT_DETACH) };
    let _ = std::fs::remove_dir(path);
}

/// Rescues every mount of process `pid`.
fn rescue_pid(pid: u32) {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let prefix = format!("/fileloop-testfs-{pid}-");
    for line in info.lines() {
        if let Some(mount_point) = line.split(' ').nth(4) {
            if mount_point.contains(&prefix) {
                rescue(Path::new(mount_point));
            }
        }
    }
}

/// Waits for the child without ever blocking for good: a child stuck in the kernel
/// cannot be reaped.
fn wait_child(child: &mut Child, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return true;
        }
        thread::sleep(Duration::from_millis(10));
    }
    false
}

fn run_child(mode: &str) {
    if let Some(reason) = skip_reason() {
        eprintln!("skipped: {reason}");
        return;
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_scenario",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(MODE_VAR, mode)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // libtest may print "test child_scenario ... " before it on the same line.
            if let Some((_, path)) = line.split_once("MOUNTED ") {
                let _ = tx.send(PathBuf::from(path.trim()));
            }
        }
    });
    let path = match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(path) => path,
        Err(_) => {
            let _ = child.kill();
            if !wait_child(&mut child, Duration::from_secs(5)) {
                rescue_pid(child.id());
                let _ = wait_child(&mut child, Duration::from_secs(5));
            }
            panic!("the child did not report its mount");
        }
    };
    if mode == "kill" {
        child.kill().unwrap();
    }
    let exited = wait_child(&mut child, Duration::from_secs(5));
    if !exited {
        rescue_pid(child.id());
        assert!(
            wait_child(&mut child, Duration::from_secs(5)),
            "child stuck even after rescue"
        );
        panic!("the child ({mode}) could not exit until its FUSE connection was aborted");
    }
    // The mount goes away (at once, or soon after from the helper process).
    let deadline = Instant::now() + Duration::from_secs(3);
    while (is_mount_point(&path) || path.exists()) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    let left = is_mount_point(&path);
    if left {
        rescue_pid(child.id());
    }
    assert!(!left, "the child ({mode}) left its mount behind");
    assert!(
        !path.exists(),
        "the child ({mode}) left its mount point behind"
    );
}

#[test]
fn process_exit_with_a_hung_read_and_no_drop() {
    run_child("exit");
}

#[test]
fn leaked_mount_with_a_hung_read() {
    run_child("leak");
}

#[test]
fn killed_process_with_a_hung_read() {
    run_child("kill");
}
