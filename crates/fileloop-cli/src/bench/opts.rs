//! `fileloop bench` command line.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use crate::Failure;

/// The workloads, in report order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Workload {
    W1,
    W2,
    W3,
    W4,
    W5,
    W6,
}

impl Workload {
    pub const ALL: [Workload; 6] = [
        Workload::W1,
        Workload::W2,
        Workload::W3,
        Workload::W4,
        Workload::W5,
        Workload::W6,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::W1 => "W1",
            Workload::W2 => "W2",
            Workload::W3 => "W3",
            Workload::W4 => "W4",
            Workload::W5 => "W5",
            Workload::W6 => "W6",
        }
    }

    fn parse(s: &str) -> Option<Workload> {
        Workload::ALL
            .into_iter()
            .find(|w| w.name().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Default)]
pub struct BenchOpts {
    pub dir: Option<PathBuf>,
    /// Sorted, deduplicated.
    pub workloads: Vec<Workload>,
    /// `None`: all contenders.
    pub contenders: Option<Vec<String>>,
    pub quick: bool,
    pub json: bool,
    pub help: bool,
}

pub const HELP: &str = "\
Measure file I/O throughput and latency of fileloop against tokio::fs and std.

Usage: fileloop bench [OPTIONS]

Options:
      --dir <DIR>           Filesystem to measure: the data set goes into a new subdirectory of
                            DIR, removed afterwards [default: a new temporary directory]
      --workloads <LIST>    Comma-separated workloads to run, or `all` [default: all]
      --contenders <LIST>   Comma-separated contenders to run [default: all available]
      --quick               Smaller data set and shorter runs (about a minute in all)
      --json                One JSON object per result on stdout, nothing else
  -h, --help                Print this help

Workloads:
  W1  random 4 KiB reads of a 1 GiB file in the page cache, concurrency 1 and 64
  W2  sequential 1 MiB reads of that file, concurrency 1 and 8
  W3  small files: open + read 4 KiB + close, 20,000 files, concurrency 64
  W4  small files: create + write 4 KiB + close, 10,000 files per contender, concurrency 64;
      then delete them (row W4-del; every create phase runs before any delete phase)
  W5  loop lag: a current-thread tokio runtime runs W3 (concurrency 64; each task yields to
      the loop after each file) plus a timer task that wants to run every 1 ms; reports how
      late it ran (p50/p99/max), with an idle-loop baseline row. The timer is a timerfd
      (nanosecond resolution) watched by the loop's own reactor, not tokio::time (whose 1 ms
      wheel makes even an idle loop look ~1 ms late): lateness = when the timer task ran minus
      its deadline, i.e. how long other work kept the loop from getting to it
  W6  O_DIRECT random 4 KiB reads, concurrency 32 (skipped where O_DIRECT is refused)
  --quick uses a 256 MiB file, 4,000 small files and shorter time budgets.

Contenders:
  tokio-fs        tokio::fs (File + seek + read_exact, fs::read, fs::write), multi-thread runtime
  std             blocking std::fs on one thread (pread via FileExt::read_at)
  std-threads     blocking std::fs on one OS thread per in-flight operation
  fileloop-uring  fileloop on io_uring (absent, with the reason, where io_uring is refused);
                  multi-thread jobs use a host-driven engine driven by fileloop::rt::tokio;
                  W5's single-threaded loop one with batched submission (one io_uring_enter
                  per round of the loop)
  fileloop-pool   fileloop on its thread pool
  (W4 of both fileloop contenders uses Engine::write, fileloop's tokio::fs::write, and
  W4-del Engine::remove_file)

Output: progress on stderr; a table on stdout (ops/s, MiB/s, p50/p99 latency in µs, ops/s ratio to
tokio-fs). Full mode runs 3 interleaved passes and reports the median pass of each cell.
Interrupting (Ctrl-C, SIGTERM) removes the data set and exits with 130/143.
Note (ext4): creating files is slow for minutes after many deletes, so W4 results right after
another run (whose cleanup deleted its data set) can be pessimistic.";

fn usage(msg: impl Into<String>) -> Failure {
    Failure::usage(format!("bench: {}", msg.into()))
}

/// Parses the arguments after `bench`.
pub fn parse(args: Vec<OsString>) -> Result<BenchOpts, Failure> {
    let mut opts = BenchOpts::default();
    let mut workloads = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let Some(s) = arg.to_str() else {
            return Err(usage(format!("unexpected argument {arg:?}")));
        };
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline) = match s.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(OsString::from(v))),
            _ => (s, None),
        };
        let mut value = |name: &str| -> Result<OsString, Failure> {
            match inline.clone().or_else(|| args.next()) {
                Some(v) if !v.is_empty() => Ok(v),
                _ => Err(usage(format!("{name} needs a value"))),
            }
        };
        if inline.is_some() && matches!(flag, "--quick" | "--json" | "--help") {
            return Err(usage(format!("{flag} takes no value")));
        }
        match flag {
            "-h" | "--help" => opts.help = true,
            "--quick" => opts.quick = true,
            "--json" => opts.json = true,
            "--dir" => opts.dir = Some(PathBuf::from(value("--dir")?)),
            "--workloads" => {
                let v = value("--workloads")?;
                workloads = Some(parse_workloads(v.to_str().unwrap_or("\u{fffd}"))?);
            }
            "--contenders" => {
                let v = value("--contenders")?;
                let list: Vec<String> = v
                    .to_string_lossy()
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                if list.is_empty() {
                    return Err(usage("--contenders needs at least one name"));
                }
                opts.contenders = Some(list);
            }
            _ if flag.starts_with('-') => {
                return Err(usage(format!(
                    "unknown option '{flag}' (see `fileloop bench --help`)"
                )))
            }
            _ => {
                return Err(usage(format!(
                    "unexpected argument '{s}' (see `fileloop bench --help`)"
                )))
            }
        }
    }
    opts.workloads = workloads.unwrap_or_else(|| Workload::ALL.to_vec());
    Ok(opts)
}

fn parse_workloads(list: &str) -> Result<Vec<Workload>, Failure> {
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if item.eq_ignore_ascii_case("all") {
            out.extend(Workload::ALL);
            continue;
        }
        match Workload::parse(item) {
            Some(w) => out.push(w),
            None => {
                return Err(usage(format!(
                    "unknown workload '{item}'; valid workloads: W1, W2, W3, W4, W5, W6 (or all)"
                )))
            }
        }
    }
    if out.is_empty() {
        return Err(usage("--workloads needs at least one workload"));
    }
    out.sort();
    out.dedup();
    Ok(out)
}
