//! Runs the built `fileloop` binary: `bench` output format, error handling, signal cleanup.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

fn fileloop() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fileloop"));
    // Undocumented test knob: shrink the --quick data set and time budgets.
    cmd.env("FILELOOP_BENCH_SCALE", "0.05");
    cmd
}

fn run(args: &[&str]) -> Output {
    fileloop().args(args).output().expect("run fileloop")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn is_empty_dir(p: &Path) -> bool {
    std::fs::read_dir(p)
        .expect("read temp dir")
        .next()
        .is_none()
}

fn json_rows(o: &Output) -> Vec<Value> {
    let stdout = String::from_utf8(o.stdout.clone()).expect("utf-8 stdout");
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect()
}

fn num(row: &Value, field: &str) -> f64 {
    row[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} missing or not a number in {row}"))
}

#[test]
fn quick_json_subset() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&[
        "bench",
        "--quick",
        "--json",
        "--workloads",
        "W1,W3",
        "--contenders",
        "std,tokio-fs",
        "--dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        o.status.success(),
        "exit {:?}; stderr:\n{}",
        o.status,
        stderr(&o)
    );
    let rows = json_rows(&o);
    // W1 at concurrency 1 and 64, W3 at 64; two contenders each.
    assert_eq!(rows.len(), 6, "rows: {rows:?}");
    for row in &rows {
        let w = row["workload"].as_str().unwrap();
        assert!(w == "W1" || w == "W3", "{row}");
        let c = row["contender"].as_str().unwrap();
        assert!(c == "std" || c == "tokio-fs", "{row}");
        let conc = row["concurrency"].as_u64().unwrap();
        assert!(conc == 1 || conc == 64, "{row}");
        assert!(num(row, "ops_per_s") > 0.0, "{row}");
        assert!(num(row, "mib_per_s") > 0.0, "{row}");
        assert!(num(row, "p99_us") >= num(row, "p50_us"), "{row}");
        assert!(num(row, "p50_us") > 0.0, "{row}");
    }
    let tokio_w3 = rows
        .iter()
        .find(|r| r["workload"] == "W3" && r["contender"] == "tokio-fs")
        .unwrap();
    assert!((num(tokio_w3, "ratio_vs_tokio_fs") - 1.0).abs() < 1e-9);
    assert!(is_empty_dir(dir.path()), "data set left behind");
}

#[test]
fn fileloop_contenders_produce_rows() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&[
        "bench",
        "--quick",
        "--json",
        "--workloads",
        "W1,W3",
        "--contenders",
        "fileloop-pool,fileloop-uring",
        "--dir",
        dir.path().to_str().unwrap(),
    ]);
    let err = stderr(&o);
    assert!(o.status.success(), "exit {:?}; stderr:\n{err}", o.status);
    // Where io_uring is refused (seccomp, sysctl), the uring contender is absent and says why.
    let uring = !err.contains("fileloop-uring unavailable");
    let rows = json_rows(&o);
    let mut expected = vec!["fileloop-pool"];
    if uring {
        expected.push("fileloop-uring");
    } else {
        eprintln!("io_uring unavailable here; only fileloop-pool is checked:\n{err}");
    }
    assert_eq!(rows.len(), 3 * expected.len(), "rows: {rows:?}");
    for c in &expected {
        for (w, conc) in [("W1", 1), ("W1", 64), ("W3", 64)] {
            let row = rows
                .iter()
                .find(|r| r["contender"] == *c && r["workload"] == w && r["concurrency"] == conc)
                .unwrap_or_else(|| panic!("no {w} c{conc} row for {c}: {rows:?}"));
            assert!(num(row, "ops_per_s") > 0.0, "{row}");
            assert!(num(row, "mib_per_s") > 0.0, "{row}");
            assert!(num(row, "p99_us") >= num(row, "p50_us"), "{row}");
        }
    }
    assert!(is_empty_dir(dir.path()), "data set left behind");
}

#[test]
fn w5_idle_loop_lag_is_below_a_millisecond() {
    // The W5 timer has sub-millisecond resolution: an idle loop is late by tens of µs, not the
    // ~1 ms that tokio's timer wheel would show. Generous bound for loaded CI machines.
    // 150 ms per cell, so that the median has ~150 samples behind it even on a busy machine.
    let dir = tempfile::tempdir().unwrap();
    let o = fileloop()
        .env("FILELOOP_BENCH_SCALE", "0.5")
        .args([
            "bench",
            "--quick",
            "--json",
            "--workloads",
            "W5",
            "--contenders",
            "std-threads",
            "--dir",
            dir.path().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "stderr:\n{}", stderr(&o));
    let rows = json_rows(&o);
    let idle = rows
        .iter()
        .find(|r| r["contender"] == "idle-loop")
        .expect("idle-loop row");
    assert!(num(idle, "lag_samples") >= 50.0, "{idle}");
    assert!(num(idle, "lag_p50_us") < 900.0, "{idle}");
}

#[test]
fn w4_phases_w5_lag_and_table() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let args = [
        "bench",
        "--quick",
        "--workloads",
        "W4,W5",
        "--contenders",
        "std-threads",
        "--dir",
        d,
    ];
    let o = run(&[&args[..], &["--json"]].concat());
    assert!(o.status.success(), "stderr:\n{}", stderr(&o));
    let rows = json_rows(&o);
    let phases: Vec<&str> = rows
        .iter()
        .filter(|r| r["workload"] == "W4")
        .map(|r| r["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["create", "delete"]);
    let lag: Vec<&Value> = rows.iter().filter(|r| r["workload"] == "W5").collect();
    assert_eq!(lag.len(), 2, "idle-loop baseline + std-threads: {lag:?}");
    for r in &lag {
        assert!(num(r, "lag_max_us") >= num(r, "lag_p99_us"), "{r}");
        assert!(num(r, "lag_p99_us") >= num(r, "lag_p50_us"), "{r}");
    }
    assert!(lag
        .iter()
        .any(|r| r["contender"] == "idle-loop" && r["baseline"] == true));
    assert!(is_empty_dir(dir.path()));

    // The same as a table.
    let o = run(&args);
    assert!(o.status.success(), "stderr:\n{}", stderr(&o));
    let table = String::from_utf8(o.stdout).unwrap();
    assert!(table.contains("W4-del"), "{table}");
    assert!(table.contains("lag p99 µs"), "{table}");
    assert!(is_empty_dir(dir.path()));
}

#[test]
fn unknown_workload_is_a_usage_error() {
    let o = run(&["bench", "--workloads", "W1,W9"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("unknown workload 'W9'") && e.contains("W6"),
        "{e}"
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn unknown_contender_lists_valid_names() {
    let o = run(&["bench", "--contenders", "std,nope"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("unknown contender 'nope'"), "{e}");
    assert!(e.contains("tokio-fs") && e.contains("std-threads"), "{e}");
}

#[test]
fn bad_flags_are_usage_errors() {
    for args in [
        &["bench", "--frobnicate"][..],
        &["bench", "--dir"],
        &["bench", "--json=yes"],
        &["nope"],
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&o).starts_with("fileloop: "),
            "{args:?}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn help_is_useful() {
    let o = run(&["bench", "--help"]);
    assert!(o.status.success());
    let out = String::from_utf8(o.stdout).unwrap();
    for needle in [
        "--dir",
        "--workloads",
        "--contenders",
        "--quick",
        "--json",
        "W6",
        "tokio-fs",
    ] {
        assert!(out.contains(needle), "help lacks {needle}");
    }
    let o = run(&["--help"]);
    assert!(o.status.success());
    assert!(String::from_utf8(o.stdout).unwrap().contains("bench"));
}

fn assert_clean_failure(o: &Output, needle: &str) {
    assert!(!o.status.success());
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(o);
    assert!(e.contains(needle), "expected {needle:?} in: {e}");
    assert!(!e.contains("panicked"), "{e}");
}

#[test]
fn missing_dir() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("does-not-exist");
    let o = run(&["bench", "--quick", "--dir", missing.to_str().unwrap()]);
    assert_clean_failure(&o, "No such file or directory");
}

#[test]
fn dir_that_is_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    let o = run(&["bench", "--quick", "--dir", file.to_str().unwrap()]);
    assert_clean_failure(&o, "not a directory");
}

#[test]
fn unwritable_dir() {
    // Tests run as root, for whom permission bits do not matter; sysfs refuses mkdir even for
    // root.
    if !Path::new("/sys/kernel").is_dir() {
        return;
    }
    let o = run(&["bench", "--quick", "--dir", "/sys"]);
    assert_clean_failure(&o, "cannot create the data set directory");
}

/// Starts a `--quick` run (full quick size) of `workloads`, waits until its stderr shows a line
/// containing `wait_for` (a finished measurement, so a workload is running) and sends `sig`.
fn interrupted_run(
    sig: libc::c_int,
    workloads: &str,
    wait_for: &str,
) -> (std::process::ExitStatus, String, tempfile::TempDir) {
    use std::io::{BufRead, BufReader, Read};

    let dir = tempfile::tempdir().unwrap();
    let mut child: Child = fileloop()
        .env("FILELOOP_BENCH_SCALE", "1")
        .args([
            "bench",
            "--quick",
            "--workloads",
            workloads,
            "--dir",
            dir.path().to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            panic!("run ended before {wait_for:?} appeared:\n{seen}");
        }
        seen.push_str(&line);
        if line.contains(wait_for) {
            break;
        }
    }
    assert!(!is_empty_dir(dir.path()), "data set missing while running");
    // SAFETY: plain kill(2) on our child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, sig) }, 0);
    stderr.read_to_string(&mut seen).unwrap();
    let status = child.wait().unwrap();
    (status, seen, dir)
}

#[test]
fn sigint_during_a_read_workload_removes_the_data_set() {
    let (status, err, dir) = interrupted_run(libc::SIGINT, "W1", "W1 c1 ");
    assert_eq!(status.code(), Some(130), "stderr:\n{err}");
    assert!(err.contains("SIGINT received"), "{err}");
    assert!(is_empty_dir(dir.path()), "data set left behind");
}

#[test]
fn sigterm_while_creating_files_removes_the_data_set() {
    let (status, err, dir) = interrupted_run(libc::SIGTERM, "W4", "W4 c64 ");
    assert_eq!(status.code(), Some(143), "stderr:\n{err}");
    assert!(err.contains("SIGTERM received"), "{err}");
    assert!(is_empty_dir(dir.path()), "data set left behind");
}
