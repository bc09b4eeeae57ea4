//! `fileloop bench`: pluggable contenders × workloads W1–W6.
//!
//! Layout: `contender.rs` (the [`Contender`] trait, jobs, thread driver), `async_backend.rs`
//! (adapter for async APIs), `contender_*.rs` (the contenders; `contender_fileloop.rs` is where
//! fileloop's are registered), `dataset.rs` (scratch data), `report.rs` (table, JSON), `opts.rs`.

pub mod async_backend;
pub mod contender;
pub mod contender_fileloop;
pub mod contender_std;
pub mod contender_tokio;
mod dataset;
mod opts;
mod report;

use std::ffi::OsString;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use contender::{Budget, Contender, Files, Job, Outcome, Pattern, ReadAt, RunError};
use dataset::{DataSet, SMALL_FILE_SIZE};
use opts::Workload;
use report::{PassSummary, Row};

use crate::Failure;

/// A contender that cannot run here: its name and why.
pub type Absent = (String, String);

/// All available contenders, in report order, and the unavailable ones with the reason.
pub fn all_contenders() -> (Vec<Box<dyn Contender>>, Vec<Absent>) {
    let mut v = vec![
        contender_tokio::tokio_fs(),
        contender_std::std_one_thread(),
        contender_std::std_threads(),
    ];
    let (fileloop, absent) = contender_fileloop::fileloop_contenders();
    v.extend(fileloop);
    (v, absent)
}

/// Sizes and time budgets of a run.
#[derive(Clone, Debug)]
struct Plan {
    file_len: u64,
    /// W3/W5 data set.
    read_files: usize,
    /// W4: files per contender and pass.
    create_files: usize,
    passes: usize,
    /// W1, W2, W6 time budget per cell (op cap: `read_max_ops`).
    read_budget: Duration,
    read_max_ops: u64,
    /// W3, W5 time budget per cell (op cap: `files_rounds` × `read_files`).
    files_budget: Duration,
    files_rounds: u64,
}

impl Plan {
    fn new(quick: bool) -> Result<Plan, Failure> {
        let mut p = if quick {
            Plan {
                file_len: 256 << 20,
                read_files: 4_000,
                create_files: 4_000,
                passes: 1,
                read_budget: Duration::from_millis(300),
                read_max_ops: 500_000,
                files_budget: Duration::from_millis(300),
                files_rounds: 3,
            }
        } else {
            Plan {
                file_len: 1 << 30,
                read_files: 20_000,
                create_files: 10_000,
                passes: 3,
                read_budget: Duration::from_millis(1000),
                read_max_ops: 2_000_000,
                files_budget: Duration::from_millis(1000),
                files_rounds: 3,
            }
        };
        // Undocumented, for tests: FILELOOP_BENCH_SCALE=0.05 shrinks sizes and budgets.
        if let Some(v) = std::env::var_os("FILELOOP_BENCH_SCALE") {
            let f: f64 = v
                .to_str()
                .and_then(|s| s.parse().ok())
                .filter(|f: &f64| *f > 0.0 && *f <= 1.0)
                .ok_or_else(|| Failure::usage("FILELOOP_BENCH_SCALE must be a number in (0, 1]"))?;
            p.file_len = ((p.file_len as f64 * f) as u64 >> 20).max(4) << 20;
            p.read_files = ((p.read_files as f64 * f) as usize).max(64);
            p.create_files = ((p.create_files as f64 * f) as usize).max(64);
            p.read_budget = p.read_budget.mul_f64(f).max(Duration::from_millis(20));
            p.files_budget = p.files_budget.mul_f64(f).max(Duration::from_millis(20));
        }
        Ok(p)
    }
}

/// Entry point of `fileloop bench`.
pub fn main(args: Vec<OsString>) -> Result<(), Failure> {
    let opts = opts::parse(args)?;
    if opts.help {
        println!("{}", opts::HELP);
        return Ok(());
    }
    // Before any other thread exists (runtimes, workers, the fileloop engines' completion
    // threads, built with the contenders): they inherit the signal mask.
    crate::signals::install()
        .map_err(|e| Failure::runtime(format!("bench: cannot install signal handling: {e}")))?;
    let (registry, absent) = all_contenders();
    let mut absent_notes = Vec::new();
    let contenders: Vec<&dyn Contender> = match &opts.contenders {
        None => {
            for (name, why) in &absent {
                absent_notes.push(format!("{name} unavailable: {why}"));
            }
            registry.iter().map(|c| c.as_ref()).collect()
        }
        Some(names) => {
            let mut picked: Vec<&dyn Contender> = Vec::new();
            for name in names {
                if let Some((_, why)) = absent.iter().find(|(n, _)| n == name) {
                    absent_notes.push(format!("{name} unavailable: {why}"));
                    continue;
                }
                match registry.iter().find(|c| c.name() == name) {
                    Some(c) if !picked.iter().any(|p| p.name() == c.name()) => {
                        picked.push(c.as_ref())
                    }
                    Some(_) => {}
                    None => {
                        let valid: Vec<&str> = registry
                            .iter()
                            .map(|c| c.name())
                            .chain(absent.iter().map(|(n, _)| n.as_str()))
                            .collect();
                        return Err(Failure::usage(format!(
                            "bench: unknown contender '{name}'; valid contenders: {}",
                            valid.join(", ")
                        )));
                    }
                }
            }
            picked
        }
    };
    absent_notes.dedup();
    for n in &absent_notes {
        eprintln!("fileloop bench: {n}");
    }
    if contenders.is_empty() {
        return Err(Failure::runtime(
            "bench: none of the requested contenders is available here",
        ));
    }
    let plan = Plan::new(opts.quick)?;
    let ws = &opts.workloads;
    let need_big = ws
        .iter()
        .any(|w| matches!(w, Workload::W1 | Workload::W2 | Workload::W6));
    let need_small = ws.iter().any(|w| matches!(w, Workload::W3 | Workload::W5));
    let file_len = if need_big { plan.file_len } else { 0 };
    let small_files = if need_small { plan.read_files } else { 0 };
    let w4_files = if ws.contains(&Workload::W4) {
        plan.create_files * plan.passes * contenders.len()
    } else {
        0
    };
    // 4 KiB per small file, plus room for directories and slack.
    let need_bytes = file_len + ((small_files + w4_files) * SMALL_FILE_SIZE) as u64 + (64 << 20);

    let started = Instant::now();
    let guard = dataset::create_root(opts.dir.as_deref(), need_bytes)?;
    eprintln!(
        "fileloop bench{}: data set in {} ({} contenders: {})",
        if opts.quick { " --quick" } else { "" },
        guard.path().display(),
        contenders.len(),
        contenders
            .iter()
            .map(|c| c.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let data = DataSet::create(guard, file_len, small_files)
        .map_err(|e| Failure::runtime(format!("bench: creating the data set failed: {e}")))?;

    let mut run = Run {
        plan,
        contenders,
        rows: Vec::new(),
        notes: absent_notes,
        failures: 0,
        last_warm: None,
    };
    // W4 last: its delete phase must come after every create (ext4 pitfall); W6 needs no cache.
    let order = [
        Workload::W1,
        Workload::W2,
        Workload::W3,
        Workload::W5,
        Workload::W6,
        Workload::W4,
    ];
    for w in order.into_iter().filter(|w| ws.contains(w)) {
        run.workload(w, &data)
            .map_err(|e| Failure::runtime(format!("bench: {w}: {e}")))?;
    }
    drop(data); // removes the data set
    let took = started.elapsed();
    eprintln!("done in {:.1} s", took.as_secs_f64());

    let Run {
        mut rows,
        notes,
        failures,
        plan: plan_shown,
        ..
    } = run;
    rows.sort_by_key(|r| (r.workload, r.phase == Some("delete"), r.concurrency));
    report::fill_ratios(&mut rows);
    let mut stdout = std::io::stdout().lock();
    let written = if opts.json {
        rows.iter()
            .try_for_each(|r| writeln!(stdout, "{}", report::json_line(r)))
    } else {
        let p = &plan_shown;
        let header = format!(
            "fileloop bench{}: {} pass{} per cell (median pass shown), contenders in rotating \
             order; {} MiB file, {} small files, {} files per W4 create phase; time budget per \
             cell {:.2} s (reads), {:.2} s (small files); ratios from this run; took {:.0} s",
            if opts.quick { " --quick" } else { "" },
            p.passes,
            if p.passes == 1 { "" } else { "es" },
            p.file_len >> 20,
            p.read_files,
            p.create_files,
            p.read_budget.as_secs_f64(),
            p.files_budget.as_secs_f64(),
            took.as_secs_f64()
        );
        write!(stdout, "{}", report::table(&header, &rows, &notes))
    };
    written
        .and_then(|()| stdout.flush())
        .map_err(|e| Failure::runtime(format!("bench: writing results: {e}")))?;
    if failures > 0 {
        return Err(Failure::runtime(format!(
            "bench: {failures} measurement(s) failed (see above)"
        )));
    }
    Ok(())
}

struct Run<'a> {
    plan: Plan,
    contenders: Vec<&'a dyn Contender>,
    rows: Vec<Row>,
    notes: Vec<String>,
    failures: usize,
    last_warm: Option<Instant>,
}

/// Re-warm the page cache before a cell if the last warm-up is older than this (the cache is
/// reclaimed after ~60 s idle on the reference machine).
const REWARM_AFTER: Duration = Duration::from_secs(20);

/// Below this many creates per second (best contender) W4 warns about the ext4 pitfall; the
/// reference machine does 50k-79k.
const SLOW_CREATES: f64 = 20_000.0;

/// Tag for a cell: workload label, phase, concurrency.
type Cell = (Workload, Option<&'static str>, usize);

impl Run<'_> {
    fn workload(&mut self, w: Workload, data: &DataSet) -> std::io::Result<()> {
        let p = self.plan.clone();
        let read_budget = Budget {
            max_ops: p.read_max_ops,
            max_time: Some(p.read_budget),
        };
        match w {
            Workload::W1 | Workload::W2 | Workload::W6 => {
                let (file, file_len) = data.big.clone().expect("big file created for W1/W2/W6");
                let (block, pattern, direct, concs): (usize, _, bool, &[usize]) = match w {
                    Workload::W1 => (4096, Pattern::Random { seed: 0 }, false, &[1, 64]),
                    Workload::W2 => (1 << 20, Pattern::Sequential, false, &[1, 8]),
                    _ => (4096, Pattern::Random { seed: 0 }, true, &[32]),
                };
                if direct {
                    if let Err(why) = dataset::probe_direct(&file) {
                        let note = format!("W6 skipped for all contenders: {why}");
                        eprintln!("{note}");
                        self.notes.push(note);
                        return Ok(());
                    }
                }
                for &conc in concs {
                    let warm = (!direct).then(|| file.clone());
                    let job_for = |pass: usize| {
                        let pattern = match pattern {
                            Pattern::Random { .. } => Pattern::Random {
                                seed: 0x5eed + pass as u64,
                            },
                            Pattern::Sequential => Pattern::Sequential,
                        };
                        Job::ReadAt(ReadAt {
                            file: file.clone(),
                            file_len,
                            block,
                            pattern,
                            direct,
                            concurrency: conc,
                            budget: read_budget,
                        })
                    };
                    self.cell((w, None, conc), warm.as_deref().map(Warm::File), job_for)?;
                }
            }
            Workload::W3 | Workload::W5 => {
                let paths = data.small.clone().expect("small files created for W3/W5");
                let files = Files {
                    paths: paths.clone(),
                    concurrency: 64,
                    budget: Budget {
                        max_ops: p.files_rounds * paths.len() as u64,
                        max_time: Some(p.files_budget),
                    },
                };
                if w == Workload::W3 {
                    self.cell((w, None, 64), Some(Warm::Files(&paths)), |_| {
                        Job::ReadFiles(files.clone())
                    })?;
                } else {
                    let job = Job::LoopLag {
                        files,
                        tick: Duration::from_millis(1),
                    };
                    self.cell((w, None, 64), Some(Warm::Files(&paths)), |_| job.clone())?;
                }
            }
            Workload::W4 => self.w4(data)?,
        }
        Ok(())
    }

    /// Runs one cell: every pass, every contender (rotated per pass); records the median pass.
    fn cell<'p>(
        &mut self,
        cell: Cell,
        warm: Option<Warm<'p>>,
        job_for: impl Fn(usize) -> Job,
    ) -> std::io::Result<()> {
        let (w, _, conc) = cell;
        let idle = IdleLoop;
        let mut contenders = self.contenders.clone();
        if w == Workload::W5 {
            contenders.insert(0, &idle);
        }
        let label = format!("{w} c{conc}");
        if let Some(warm) = &warm {
            self.warm(warm)?;
        }
        let mut passes: Vec<Vec<PassSummary>> = vec![Vec::new(); contenders.len()];
        for pass in 0..self.plan.passes {
            let job = job_for(pass);
            for k in 0..contenders.len() {
                let idx = (k + pass) % contenders.len();
                let c = contenders[idx];
                if let Some(warm) = &warm {
                    if self.last_warm.is_none_or(|t| t.elapsed() > REWARM_AFTER) {
                        self.warm(warm)?;
                    }
                }
                if let Some(s) = self.measure(&label, pass, c, &job) {
                    passes[idx].push(s);
                }
            }
        }
        for (c, p) in contenders.iter().zip(passes) {
            let baseline = c.name() == IdleLoop::NAME;
            self.rows.extend(Row::from_passes(
                w,
                cell.1,
                conc,
                c.name().to_string(),
                baseline,
                p,
            ));
        }
        Ok(())
    }

    fn measure(
        &mut self,
        label: &str,
        pass: usize,
        c: &dyn Contender,
        job: &Job,
    ) -> Option<PassSummary> {
        let passes = self.plan.passes;
        let pass_txt = if passes > 1 {
            format!(" pass {}/{passes}", pass + 1)
        } else {
            String::new()
        };
        match c.run(job) {
            Ok(out) => {
                let s = PassSummary::from_outcome(out);
                eprintln!("  {label:<10} {:<14}{pass_txt}: {}", c.name(), s.brief());
                Some(s)
            }
            Err(RunError::Skip(why)) => {
                let note = format!("{label} {}: skipped: {why}", c.name());
                eprintln!("  {note}");
                if pass == 0 {
                    self.notes.push(note);
                }
                None
            }
            Err(RunError::Failed(e)) => {
                let note = format!("{label} {}: FAILED: {e}", c.name());
                eprintln!("  {note}");
                self.notes.push(note);
                self.failures += 1;
                None
            }
        }
    }

    fn warm(&mut self, warm: &Warm<'_>) -> std::io::Result<()> {
        match warm {
            Warm::File(f) => dataset::warm_file(f)?,
            Warm::Files(p) => dataset::warm_files(p)?,
        }
        self.last_warm = Some(Instant::now());
        Ok(())
    }

    /// W4: all create phases (every pass, every contender, each into a fresh directory), then all
    /// delete phases in the same order.
    fn w4(&mut self, data: &DataSet) -> std::io::Result<()> {
        let n = self.plan.create_files;
        let conc = 64;
        let root = data.root().join("w4");
        std::fs::create_dir(&root)?;
        let contenders = self.contenders.clone();
        let budget = Budget {
            max_ops: n as u64,
            max_time: None,
        };
        let mut created: Vec<(usize, usize, PathBuf, Arc<[PathBuf]>)> = Vec::new();
        let mut creates: Vec<Vec<PassSummary>> = vec![Vec::new(); contenders.len()];
        let mut deletes: Vec<Vec<PassSummary>> = vec![Vec::new(); contenders.len()];
        for pass in 0..self.plan.passes {
            for k in 0..contenders.len() {
                let idx = (k + pass) % contenders.len();
                let c = contenders[idx];
                let dir = root.join(format!("p{pass}-{}", c.name()));
                std::fs::create_dir(&dir)?;
                let paths: Arc<[PathBuf]> = (0..n).map(|i| dir.join(format!("f{i:06}"))).collect();
                let files = Files {
                    paths: paths.clone(),
                    concurrency: conc,
                    budget,
                };
                let job = Job::CreateFiles {
                    files,
                    size: SMALL_FILE_SIZE,
                };
                match self.measure("W4 c64", pass, c, &job) {
                    Some(s) => {
                        creates[idx].push(s);
                        created.push((pass, idx, dir, paths));
                    }
                    None => std::fs::remove_dir_all(&dir)?,
                }
            }
        }
        for (pass, idx, dir, paths) in created {
            let c = contenders[idx];
            let job = Job::RemoveFiles(Files {
                paths,
                concurrency: conc,
                budget,
            });
            if let Some(s) = self.measure("W4-del c64", pass, c, &job) {
                deletes[idx].push(s);
            }
            std::fs::remove_dir_all(&dir)?;
        }
        let best = creates
            .iter()
            .flatten()
            .map(|s| s.ops_per_s)
            .fold(0.0, f64::max);
        if best > 0.0 && best < SLOW_CREATES {
            let note = format!(
                "W4 creates were slow (best {}/s). On ext4, creates stay slow for minutes after \
                 many deletes (e.g. a previous run's cleanup): leave ~6 minutes between runs \
                 when W4 matters",
                report::human(best)
            );
            eprintln!("  {note}");
            self.notes.push(note);
        }
        for (i, c) in contenders.iter().enumerate() {
            let name = c.name().to_string();
            let create = std::mem::take(&mut creates[i]);
            let delete = std::mem::take(&mut deletes[i]);
            self.rows.extend(Row::from_passes(
                Workload::W4,
                Some("create"),
                conc,
                name.clone(),
                false,
                create,
            ));
            self.rows.extend(Row::from_passes(
                Workload::W4,
                Some("delete"),
                conc,
                name,
                false,
                delete,
            ));
        }
        Ok(())
    }
}

enum Warm<'a> {
    File(&'a std::path::Path),
    Files(&'a [PathBuf]),
}

/// W5 baseline: the same timer on an idle current-thread loop, for as long as the W3 budget.
struct IdleLoop;

impl IdleLoop {
    const NAME: &'static str = "idle-loop";
}

impl Contender for IdleLoop {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn run(&self, job: &Job) -> Result<Outcome, RunError> {
        let Job::LoopLag { files, tick } = job else {
            return Err(RunError::Skip("only measures loop lag".into()));
        };
        let duration = files.budget.max_time.unwrap_or(Duration::from_millis(300));
        let rt = async_backend::default_runtime(async_backend::Flavor::CurrentThread)?;
        let tick = *tick;
        let ((), lag) = rt.block_on(async move {
            async_backend::with_ticker(tick, tokio::time::sleep(duration)).await
        });
        Ok(Outcome {
            elapsed: duration,
            lag_ns: Some(lag),
            ..Outcome::default()
        })
    }
}
