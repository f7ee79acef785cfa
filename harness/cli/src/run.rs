//! `cpmconf run`: runs the selected scenarios against a client and writes the report directory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use cpmconf_engine::catalogue::{clause_within, Catalogue};
use cpmconf_engine::report::{
    HtmlReporter, JsonReporter, JunitReporter, Reporter, RunEvent, Selection, TerminalReporter,
};
use cpmconf_engine::runner::{now_stamp, random_seed, run_suite, RunOptions, Timing};
use cpmconf_engine::scenario::{load_file, GroupItem, LoadedScenario, Scenario, Step};
use cpmconf_engine::select::Partition;
use cpmconf_engine::ut::ClientProfile;
use cpmconf_engine::validate::validate;
use cpmconf_engine::KnownFailures;

/// Arguments of `cpmconf run`.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Client profile (YAML: adapter, identity, transport, capabilities, provisioned values).
    /// Default: fixtures/clients/reference.yaml, the built-in reference client.
    #[arg(long, value_name = "PROFILE")]
    pub client: Option<PathBuf>,
    /// Report directory (index.html, junit.xml, results.json, pcap/, wire/). Default:
    /// reports/<timestamp>/,
    /// with reports/latest pointing at it.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Run only the scenario with this id (repeatable).
    #[arg(long = "scenario", value_name = "ID")]
    pub scenario: Vec<String>,
    /// Run only scenarios of this clause or its sub-clauses (`7.3.1.5` selects 7.3.1.5.1 too;
    /// repeatable).
    #[arg(long = "clause", value_name = "PREFIX")]
    pub clause: Vec<String>,
    /// Run only scenarios that cover or verify this requirement id (repeatable).
    #[arg(long = "requirement", value_name = "ID")]
    pub requirement: Vec<String>,
    /// Run only scenarios with this tag (repeatable).
    #[arg(long = "tag", value_name = "T")]
    pub tag: Vec<String>,
    /// Run only shard K of N (`hash:K/N`, stable by scenario id), for CI matrices and device
    /// farms.
    #[arg(long, value_name = "hash:K/N")]
    pub partition: Option<String>,
    /// Scenarios run at the same time, each with its own network and client (default: the
    /// number of cores).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Seed of every generated value (default: random, printed; pass it again to replay a run).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Multiply every deadline and SIP timer by F (e.g. 3 for a slow device).
    #[arg(long, value_name = "F", default_value_t = 1.0)]
    pub time_scale: f64,
    /// SHOULD / SHOULD NOT failures fail the gate (otherwise they are advisory).
    #[arg(long)]
    pub strict: bool,
    /// Known failures (YAML list of scenario ids or scenario/requirement pairs): listed failures
    /// become xfail, listed passes xpass (which fail the gate: the list is stale).
    #[arg(long, value_name = "FILE")]
    pub expect_fail: Option<PathBuf>,
    /// Switch on a fault of the reference client (repeatable; `cpmconf faults` lists them).
    #[arg(long = "fault", value_name = "ID")]
    pub fault: Vec<String>,
    /// Write the golden snapshots (golden/<client>/<scenario>.snap) instead of comparing.
    #[arg(long)]
    pub bless: bool,
    /// Scenario directory (default: scenarios/).
    #[arg(long, value_name = "DIR")]
    pub scenarios: Option<PathBuf>,
    /// Golden snapshot root (default: golden/).
    #[arg(long, value_name = "DIR")]
    pub golden: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// The repository root: the nearest ancestor of the current directory holding
/// `scenarios/requirements.yaml`, else the source tree this binary was built from, else `.`.
pub fn repo_root() -> PathBuf {
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            if dir.join("scenarios").join("requirements.yaml").is_file() {
                return std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
            }
        }
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    if built.join("scenarios").join("requirements.yaml").is_file() {
        return std::fs::canonicalize(&built).unwrap_or(built);
    }
    PathBuf::from(".")
}

/// Every `*.yaml` scenario file under `dir` (the catalogue excluded), sorted.
pub fn scenario_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml")
                && p.file_name().is_some_and(|n| n != "requirements.yaml")
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn verified(s: &Scenario) -> Vec<&str> {
    let mut v: Vec<&str> = s.covers.iter().map(String::as_str).collect();
    for step in &s.steps {
        match step {
            Step::Expect(e) | Step::ExpectNone(e) => {
                v.extend(e.verifies.iter().map(String::as_str))
            }
            Step::WaitFor(w) => v.extend(w.verifies.iter().map(String::as_str)),
            Step::Parallel(items) | Step::AnyOrder(items) => {
                for i in items {
                    match i {
                        GroupItem::Expect(e) | GroupItem::ExpectNone(e) => {
                            v.extend(e.verifies.iter().map(String::as_str))
                        }
                        GroupItem::WaitFor(w) => v.extend(w.verifies.iter().map(String::as_str)),
                    }
                }
            }
            _ => {}
        }
    }
    v
}

/// Whether a scenario passes every selection filter (filters of one kind are alternatives).
pub fn selected(s: &Scenario, a: &RunArgs, part: Option<Partition>) -> bool {
    (a.scenario.is_empty() || a.scenario.contains(&s.id))
        && (a.clause.is_empty() || a.clause.iter().any(|c| clause_within(&s.clause, c)))
        && (a.requirement.is_empty() || {
            let v = verified(s);
            a.requirement.iter().any(|r| v.contains(&r.as_str()))
        })
        && (a.tag.is_empty() || a.tag.iter().any(|t| s.tags.contains(t)))
        && part.is_none_or(|p| p.contains(&s.id))
}

/// Writes the progress bar's terminal output above the bar.
struct BarWriter(indicatif::ProgressBar);

impl Write for BarWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.suspend(|| std::io::stdout().write_all(buf))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().flush()
    }
}

/// Terminal, JSON, JUnit and HTML reporters; the files are written atomically at the end.
struct Reporters {
    terminal: TerminalReporter<BarWriter>,
    json: JsonReporter<Vec<u8>>,
    junit: JunitReporter<Vec<u8>>,
    html: HtmlReporter<Vec<u8>>,
}

impl Reporter for Reporters {
    fn event(&mut self, ev: &RunEvent) -> std::io::Result<()> {
        self.terminal.event(ev)?;
        self.json.event(ev)?;
        self.junit.event(ev)?;
        self.html.event(ev)
    }
    fn finish(&mut self) -> std::io::Result<()> {
        self.terminal.finish()?;
        self.json.finish()?;
        self.junit.finish()?;
        self.html.finish()
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("cpmconf run: {msg}");
    ExitCode::from(2)
}

/// `cpmconf run`.
pub fn run(a: &RunArgs) -> ExitCode {
    let root = repo_root();
    let catalogue = match Catalogue::embedded() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let profile_path = a
        .client
        .clone()
        .unwrap_or_else(|| root.join("fixtures/clients/reference.yaml"));
    let profile = match ClientProfile::load(&profile_path) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    if let Err(e) = cpmconf_engine::client::FaultSet::parse(&a.fault) {
        return fail(format!("{e}; `cpmconf faults` lists the fault ids"));
    }
    if !a.fault.is_empty() && !matches!(profile.adapter, cpmconf_engine::ut::AdapterSpec::InProcess)
    {
        return fail("--fault applies to the in-process reference client only");
    }
    let part = match a.partition.as_deref().map(Partition::parse) {
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => return fail(e),
        None => None,
    };
    if !(a.time_scale.is_finite() && a.time_scale > 0.0) {
        return fail("--time-scale must be a positive number");
    }
    let known = match &a.expect_fail {
        Some(p) => match KnownFailures::load(p) {
            Ok(k) => k,
            Err(e) => return fail(e),
        },
        None => KnownFailures::default(),
    };
    let scen_dir = a
        .scenarios
        .clone()
        .unwrap_or_else(|| root.join("scenarios"));
    let mut scenarios: Vec<LoadedScenario> = Vec::new();
    let mut problems = 0;
    for f in scenario_files(&scen_dir) {
        match load_file(&f) {
            Ok(l) => {
                let diags = validate(&l, &catalogue);
                for d in &diags {
                    eprintln!("{d}");
                }
                problems += diags.len();
                scenarios.push(l);
            }
            Err(d) => {
                eprintln!("{d}");
                problems += 1;
            }
        }
    }
    if problems > 0 {
        return fail(format!(
            "{problems} problem(s) in the scenario files (see above; `cpmconf validate` checks them)"
        ));
    }
    // What a shard records so `cpmconf merge` can check the shards are one run's parts.
    let before_partition: Vec<String> = scenarios
        .iter()
        .filter(|l| selected(&l.scenario, a, None))
        .map(|l| l.scenario.id.clone())
        .collect();
    scenarios.retain(|l| selected(&l.scenario, a, part));
    if scenarios.is_empty() {
        return fail(format!(
            "no scenario of {} matches the selection",
            scen_dir.display()
        ));
    }
    let (started_at, stamp) = now_stamp();
    let (report_dir, latest) = match &a.report {
        Some(d) => (d.clone(), None),
        None => (root.join("reports").join(&stamp), Some(stamp.clone())),
    };
    if let Err(e) = std::fs::create_dir_all(&report_dir) {
        return fail(format!("{}: {e}", report_dir.display()));
    }
    if let Some(name) = latest {
        let link = root.join("reports").join("latest");
        let _ = std::fs::remove_file(&link);
        #[cfg(unix)]
        if let Err(e) = std::os::unix::fs::symlink(&name, &link) {
            eprintln!(
                "cpmconf run: could not point {} at {name}: {e}",
                link.display()
            );
        }
    }
    let seed = a.seed.unwrap_or_else(random_seed);
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let opts = RunOptions {
        profile: profile.clone(),
        scenarios,
        report_dir: report_dir.clone(),
        golden_root: a.golden.clone().unwrap_or_else(|| root.join("golden")),
        fixtures_dir: root.join("fixtures"),
        seed,
        timing: Timing {
            scale: a.time_scale,
        },
        jobs,
        strict: a.strict,
        known,
        faults: a.fault.clone(),
        bless: a.bless,
    };
    let client_label = if a.fault.is_empty() {
        profile.name.clone()
    } else {
        format!("{} (faults: {})", profile.name, a.fault.join(", "))
    };
    println!(
        "cpmconf run: seed {seed} (replay with --seed {seed}), {} scenario(s), {jobs} job(s), report {}",
        opts.scenarios.len(),
        report_dir.display()
    );
    let bar = if a.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        let b = indicatif::ProgressBar::new(opts.scenarios.len() as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} scenarios {elapsed} {msg}",
        ) {
            b.set_style(style);
        }
        b
    };
    let all: Vec<&str> = before_partition.iter().map(String::as_str).collect();
    let ran: Vec<&str> = opts
        .scenarios
        .iter()
        .map(|l| l.scenario.id.as_str())
        .collect();
    let selection = Selection::new(&all, part.map(|p| format!("hash:{}/{}", p.k, p.n)), &ran);
    let mut reporters = Reporters {
        terminal: TerminalReporter::new(BarWriter(bar.clone())),
        json: JsonReporter::new(Vec::new()).with_selection(selection),
        junit: JunitReporter::new(Vec::new()),
        html: HtmlReporter::new(Vec::new()),
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(format!("tokio runtime: {e}")),
    };
    let b2 = bar.clone();
    let outcome = rt.block_on(run_suite(
        &catalogue,
        &opts,
        &client_label,
        started_at,
        &mut reporters,
        &mut |r| {
            b2.inc(1);
            b2.set_message(r.result.id.clone());
        },
    ));
    bar.finish_and_clear();
    let summary = match outcome {
        Ok(s) => s,
        Err(e) => return fail(format!("writing the report: {e}")),
    };
    let Reporters {
        json, junit, html, ..
    } = reporters;
    for (name, bytes) in [
        ("results.json", json.into_inner()),
        ("junit.xml", junit.into_inner()),
        ("index.html", html.into_inner()),
    ] {
        if let Err(e) = write_atomic(&report_dir.join(name), &bytes) {
            return fail(format!("{}: {e}", report_dir.join(name).display()));
        }
    }
    println!("report: {}", report_dir.display());
    if summary.gate.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
