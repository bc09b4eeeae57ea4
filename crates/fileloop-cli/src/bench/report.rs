//! Summaries of outcomes, the results table and JSON lines.

use std::fmt::Write as _;
use std::time::Duration;

use super::contender::Outcome;
use super::opts::Workload;

/// Percentile (nearest rank) of sorted samples, in µs.
fn percentile_us(sorted_ns: &[u32], p: f64) -> f64 {
    if sorted_ns.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted_ns.len() as f64).ceil() as usize).clamp(1, sorted_ns.len());
    f64::from(sorted_ns[rank - 1]) / 1000.0
}

/// Lateness of the W5 timer.
#[derive(Clone, Copy, Debug)]
pub struct Lag {
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    pub samples: usize,
}

/// One pass of one cell, reduced to numbers.
#[derive(Clone, Debug)]
pub struct PassSummary {
    pub ops: u64,
    pub elapsed: Duration,
    pub ops_per_s: f64,
    pub mib_per_s: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub lag: Option<Lag>,
}

impl PassSummary {
    pub fn from_outcome(mut o: Outcome) -> Self {
        let secs = o.elapsed.as_secs_f64();
        let (ops_per_s, mib_per_s) = if secs > 0.0 {
            (
                o.ops as f64 / secs,
                o.bytes as f64 / secs / (1024.0 * 1024.0),
            )
        } else {
            (0.0, 0.0)
        };
        o.latencies_ns.sort_unstable();
        let lag = o.lag_ns.map(|mut lag| {
            lag.sort_unstable();
            Lag {
                p50_us: percentile_us(&lag, 0.50),
                p99_us: percentile_us(&lag, 0.99),
                max_us: lag.last().map_or(0.0, |&m| f64::from(m) / 1000.0),
                samples: lag.len(),
            }
        });
        PassSummary {
            ops: o.ops,
            elapsed: o.elapsed,
            ops_per_s,
            mib_per_s,
            p50_us: percentile_us(&o.latencies_ns, 0.50),
            p99_us: percentile_us(&o.latencies_ns, 0.99),
            lag,
        }
    }

    /// One-line progress text.
    pub fn brief(&self) -> String {
        let mut s = if self.ops == 0 {
            format!("{:.2} s, no file ops", self.elapsed.as_secs_f64())
        } else {
            format!(
                "{} ops in {:.2} s: {} ops/s, {:.1} MiB/s, p50 {:.1} µs, p99 {:.1} µs",
                self.ops,
                self.elapsed.as_secs_f64(),
                human(self.ops_per_s),
                self.mib_per_s,
                self.p50_us,
                self.p99_us
            )
        };
        if let Some(l) = self.lag {
            let _ = write!(
                s,
                "; lag p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
                l.p50_us, l.p99_us, l.max_us
            );
        }
        s
    }
}

/// A reported row: the median pass of a (workload, phase, concurrency, contender) cell.
#[derive(Clone, Debug)]
pub struct Row {
    pub workload: Workload,
    /// `Some("create")` / `Some("delete")` for W4.
    pub phase: Option<&'static str>,
    pub concurrency: usize,
    pub contender: String,
    /// The W5 idle-loop baseline row: no file ops, only the timer.
    pub baseline: bool,
    pub passes: usize,
    pub median: PassSummary,
    /// ops/s relative to tokio-fs in the same cell.
    pub ratio: Option<f64>,
}

impl Row {
    /// Picks the median pass (by ops/s; by lag p99 for the baseline).
    pub fn from_passes(
        workload: Workload,
        phase: Option<&'static str>,
        concurrency: usize,
        contender: String,
        baseline: bool,
        mut passes: Vec<PassSummary>,
    ) -> Option<Row> {
        if passes.is_empty() {
            return None;
        }
        let key = |p: &PassSummary| {
            if baseline {
                p.lag.map_or(0.0, |l| l.p99_us)
            } else {
                p.ops_per_s
            }
        };
        passes.sort_by(|a, b| key(a).total_cmp(&key(b)));
        let n = passes.len();
        let median = passes.swap_remove((n - 1) / 2);
        Some(Row {
            workload,
            phase,
            concurrency,
            contender,
            baseline,
            passes: n,
            median,
            ratio: None,
        })
    }

    pub fn label(&self) -> String {
        match self.phase {
            Some("delete") => format!("{}-del", self.workload),
            _ => self.workload.to_string(),
        }
    }
}

/// Fills in `ratio` for every row whose cell has a tokio-fs row.
pub fn fill_ratios(rows: &mut [Row]) {
    let refs: Vec<(Workload, Option<&str>, usize, f64)> = rows
        .iter()
        .filter(|r| r.contender == "tokio-fs" && r.median.ops_per_s > 0.0)
        .map(|r| (r.workload, r.phase, r.concurrency, r.median.ops_per_s))
        .collect();
    for r in rows.iter_mut() {
        if r.baseline {
            continue;
        }
        r.ratio = refs
            .iter()
            .find(|(w, p, c, _)| *w == r.workload && *p == r.phase && *c == r.concurrency)
            .map(|&(.., base)| r.median.ops_per_s / base);
    }
}

/// 1234567 → "1.23M", 44123 → "44.1k".
pub fn human(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e4 {
        format!("{:.1}k", x / 1e3)
    } else if x >= 1e3 {
        format!("{:.2}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

/// The human-readable results table.
pub fn table(header: &str, rows: &[Row], notes: &[String]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{header}\n");
    let main: Vec<&Row> = rows.iter().filter(|r| r.workload != Workload::W5).collect();
    let lag: Vec<&Row> = rows.iter().filter(|r| r.workload == Workload::W5).collect();
    if !main.is_empty() {
        let _ = writeln!(
            out,
            "{:<8} {:>5}  {:<15} {:>9} {:>9} {:>9} {:>9} {:>11} {:>9} {:>7}",
            "workload",
            "conc",
            "contender",
            "ops/s",
            "MiB/s",
            "p50 µs",
            "p99 µs",
            "vs tokio-fs",
            "ops",
            "time s"
        );
        let mut prev: Option<(String, usize)> = None;
        for r in main {
            let key = (r.label(), r.concurrency);
            if prev.as_ref().is_some_and(|p| *p != key) {
                out.push('\n');
            }
            prev = Some(key);
            let _ = writeln!(
                out,
                "{:<8} {:>5}  {:<15} {:>9} {:>9.1} {:>9.1} {:>9.1} {:>11} {:>9} {:>7.2}",
                r.label(),
                r.concurrency,
                r.contender,
                human(r.median.ops_per_s),
                r.median.mib_per_s,
                r.median.p50_us,
                r.median.p99_us,
                r.ratio
                    .map_or_else(|| "-".to_string(), |x| format!("{x:.2}x")),
                r.median.ops,
                r.median.elapsed.as_secs_f64(),
            );
        }
    }
    if !lag.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "W5 loop lag: 1 ms timerfd tick on a current-thread runtime running W3 (lateness)"
        );
        let _ = writeln!(
            out,
            "{:<8} {:>5}  {:<15} {:>9} {:>9} {:>11} {:>11} {:>11}",
            "workload",
            "conc",
            "contender",
            "ops/s",
            "p99 µs",
            "lag p50 µs",
            "lag p99 µs",
            "lag max µs"
        );
        for r in lag {
            let l = r.median.lag.unwrap_or(Lag {
                p50_us: 0.0,
                p99_us: 0.0,
                max_us: 0.0,
                samples: 0,
            });
            let (ops, p99) = if r.baseline {
                ("-".to_string(), "-".to_string())
            } else {
                (human(r.median.ops_per_s), format!("{:.1}", r.median.p99_us))
            };
            let _ = writeln!(
                out,
                "{:<8} {:>5}  {:<15} {:>9} {:>9} {:>11.0} {:>11.0} {:>11.0}",
                r.label(),
                r.concurrency,
                r.contender,
                ops,
                p99,
                l.p50_us,
                l.p99_us,
                l.max_us
            );
        }
    }
    if !notes.is_empty() {
        out.push('\n');
        for n in notes {
            let _ = writeln!(out, "note: {n}");
        }
    }
    out
}

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_num(x: f64, decimals: usize) -> String {
    if x.is_finite() {
        format!("{x:.decimals$}")
    } else {
        "null".to_string()
    }
}

/// One JSON object (no trailing newline).
///
/// Fields: `workload` ("W1".."W6"), `contender`, `concurrency`, `ops_per_s`, `mib_per_s`,
/// `p50_us`, `p99_us`, `ops`, `passes`; `ratio_vs_tokio_fs` where a tokio-fs row exists; W4:
/// `phase` ("create" / "delete"); W5: `lag_p50_us`, `lag_p99_us`, `lag_max_us`, `lag_samples`, and
/// on the idle-loop baseline row `baseline: true` with null throughput and latency fields.
pub fn json_line(r: &Row) -> String {
    let m = &r.median;
    let mut s = format!(
        "{{\"workload\":{},\"contender\":{},\"concurrency\":{}",
        json_str(r.workload.name()),
        json_str(&r.contender),
        r.concurrency
    );
    if let Some(phase) = r.phase {
        let _ = write!(s, ",\"phase\":{}", json_str(phase));
    }
    if r.baseline {
        s.push_str(",\"baseline\":true,\"ops_per_s\":null,\"mib_per_s\":null,\"p50_us\":null,\"p99_us\":null");
    } else {
        let _ = write!(
            s,
            ",\"ops_per_s\":{},\"mib_per_s\":{},\"p50_us\":{},\"p99_us\":{},\"ops\":{},\"elapsed_s\":{}",
            json_num(m.ops_per_s, 1),
            json_num(m.mib_per_s, 2),
            json_num(m.p50_us, 2),
            json_num(m.p99_us, 2),
            m.ops,
            json_num(m.elapsed.as_secs_f64(), 4)
        );
    }
    let _ = write!(s, ",\"passes\":{}", r.passes);
    if let Some(ratio) = r.ratio {
        let _ = write!(s, ",\"ratio_vs_tokio_fs\":{}", json_num(ratio, 3));
    }
    if let Some(l) = m.lag {
        let _ = write!(
            s,
            ",\"lag_p50_us\":{},\"lag_p99_us\":{},\"lag_max_us\":{},\"lag_samples\":{}",
            json_num(l.p50_us, 1),
            json_num(l.p99_us, 1),
            json_num(l.max_us, 1),
            l.samples
        );
    }
    s.push('}');
    s
}
