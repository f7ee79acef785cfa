//! `cpmconf run`: runs the selected scenarios against a client and writes the report directory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use cpmconf_engine::catalogue::Catalogue;
use cpmconf_engine::diagnostic::Diagnostic;
use cpmconf_engine::report::{
    HtmlReporter, JsonReporter, JunitReporter, Reporter, RunEvent, Selection, TerminalReporter,
};
use cpmconf_engine::runner::{
    default_jobs, now_stamp, random_seed, run_suite, Interrupt, RunOptions, Timing,
};
use cpmconf_engine::scenario::{LoadedScenario, Scenario};
use cpmconf_engine::select::{clause_matches, Filter, Partition};
use cpmconf_engine::ut::ClientProfile;
use cpmconf_engine::validate::Suite;
use cpmconf_engine::KnownFailures;

/// Arguments of `cpmconf run`.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Client profile (YAML: adapter, identity, transport, capabilities, provisioned values).
    /// Default: the built-in reference client (fixtures/clients/reference.yaml, embedded). In a
    /// process adapter's command, `cpmconf` means this very binary.
    #[arg(long, value_name = "PROFILE")]
    pub client: Option<PathBuf>,
    /// Report directory (index.html, junit.xml, results.json, pcap/, wire/). Default:
    /// reports/<timestamp>/ of the checkout the current directory is in (else of the current
    /// directory), with reports/latest pointing at it.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Run only the scenario with this id (repeatable).
    #[arg(long = "scenario", value_name = "ID")]
    pub scenario: Vec<String>,
    /// Run only scenarios of this clause: `7.3.1.5` exactly that clause, `7.3.1.5.*` it and
    /// its sub-clauses (repeatable). An unknown clause lists the known ones.
    #[arg(long = "clause", value_name = "CLAUSE")]
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
    /// Scenarios run at the same time, each with its own network and client, at least 1
    /// (default: 8 per core, at most 64: scenarios mostly wait, so a suite is I/O-bound).
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
    /// Fail the gate when fewer than N requirement results were judged (pass, fail, xfail,
    /// xpass): a client that declares few capabilities cannot pass on almost nothing unnoticed.
    /// The summary always says how many were judged.
    #[arg(long, value_name = "N")]
    pub min_judged: Option<usize>,
    /// Switch on a fault of the reference client (repeatable; `cpmconf faults` lists them).
    #[arg(long = "fault", value_name = "ID")]
    pub fault: Vec<String>,
    /// Write the golden snapshots (<golden root>/<client>/<scenario>.snap) instead of comparing.
    #[arg(long)]
    pub bless: bool,
    /// Scenario directory, every *.yaml under it (default: the scenarios built into the binary).
    #[arg(long, value_name = "DIR")]
    pub scenarios: Option<PathBuf>,
    /// Golden snapshot root, holding <client>/<scenario>.snap. Default: golden/ beside the
    /// --client profile; for the built-in reference client, golden/ of the checkout the current
    /// directory is in (outside a checkout: no golden comparison).
    #[arg(long, value_name = "DIR")]
    pub golden: Option<PathBuf>,
    /// Quiet: no progress bar, and only failing scenarios (fail, xpass, error), golden diffs,
    /// warnings and the summary are printed (passes, not-applicable and inconclusive scenarios
    /// and missing golden files are counted in the summary, not listed).
    #[arg(long)]
    pub quiet: bool,
}

/// The cpmconf checkout the current directory is in: the nearest ancestor holding
/// `scenarios/requirements.yaml`. Only the current directory counts (never the tree the binary
/// was built from): outside a checkout the embedded scenarios and reference profile are used.
pub fn checkout() -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .find(|dir| dir.join("scenarios").join("requirements.yaml").is_file())
        .map(|dir| std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf()))
}

/// The scenarios under `dir`, or the ones embedded in the binary, loaded (not validated), with
/// a diagnostic per file that does not load.
pub fn load_scenarios(
    dir: Option<&Path>,
) -> Result<(Vec<LoadedScenario>, Vec<Diagnostic>), String> {
    match dir {
        Some(dir) => cpmconf_engine::scenario::load_dir(dir),
        None => Ok(cpmconf_engine::scenario::load_texts(
            crate::embedded::SCENARIOS,
        )),
    }
}

/// The suite of a run (`cpmconf_engine::validate::Suite`): every file under
/// `dir` when given (an error when it is not a directory or holds none), else the scenarios
/// embedded in the binary; loaded and validated.
pub fn load_suite(dir: Option<&Path>, catalogue: &Catalogue) -> Result<Suite, String> {
    match dir {
        Some(dir) => Suite::load_dir(dir, catalogue),
        None => Ok(Suite::load_texts(crate::embedded::SCENARIOS, catalogue)),
    }
}

/// The scenarios of a run ([`load_suite`]), valid: every diagnostic is printed to standard
/// error; any error (a file that does not parse or validate) is an `Err` counting them.
pub fn load_valid_scenarios(
    dir: Option<&Path>,
    catalogue: &Catalogue,
) -> Result<Vec<LoadedScenario>, String> {
    let suite = load_suite(dir, catalogue)?;
    for d in &suite.diagnostics {
        eprintln!("{d}");
    }
    let problems = suite.errors();
    if problems > 0 {
        return Err(format!(
            "{problems} problem(s) in the scenario files (see above; `cpmconf validate` checks them)"
        ));
    }
    Ok(suite.scenarios)
}

/// Where the golden files of a run live (`<root>/<client>/<scenario>.snap`), in this order:
/// `--golden DIR`; for a client named with `--client PROFILE`, `golden/` in the profile's folder
/// (so an external client's snapshots sit beside its profile); for the built-in reference
/// client, the checkout's `golden/` (the project's own snapshots). `None` (no comparison) for
/// the built-in reference client outside a checkout: nothing is written into a tree the user
/// did not name.
pub fn golden_root(a: &RunArgs, checkout: Option<&Path>) -> Option<PathBuf> {
    if let Some(g) = &a.golden {
        return Some(g.clone());
    }
    if let Some(profile) = &a.client {
        let folder = profile
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        return Some(folder.join("golden"));
    }
    checkout.map(|c| c.join("golden"))
}

/// Whether a scenario passes every selection filter of the run's arguments (filters of one kind
/// are alternatives; `cpmconf_engine::select::Filter`).
pub fn selected(s: &Scenario, a: &RunArgs, part: Option<Partition>) -> bool {
    Filter {
        scenarios: a.scenario.clone(),
        clauses: a.clause.clone(),
        requirements: a.requirement.clone(),
        tags: a.tag.clone(),
        part,
    }
    .selects(s)
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

/// Writes `bytes` to `path` through a temporary file beside it and a rename, so a reader (or a
/// second signal that ends the process mid-write) never sees a half-written report file.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().map_or_else(
        || std::ffi::OsString::from("report"),
        std::ffi::OsStr::to_os_string,
    );
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(&name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// `cpmconf` as a process adapter's program (`fixtures/clients/reference-subprocess.yaml`) means
/// this very binary, not whichever one PATH finds.
fn this_binary_for_cpmconf(profile: &mut ClientProfile) {
    if let cpmconf_engine::ut::AdapterSpec::Process { command, .. } = &mut profile.adapter {
        if let Some(program) = command.first_mut().filter(|p| p.as_str() == "cpmconf") {
            if let Ok(me) = std::env::current_exe() {
                *program = me.display().to_string();
            }
        }
    }
}

/// Exit status of a run stopped by SIGINT or SIGTERM (128 + SIGINT, the shell convention).
const EXIT_INTERRUPTED: u8 = 130;

/// Installs SIGINT and SIGTERM handlers (explicitly, so a run started with SIGINT ignored, as a
/// background job of a script is, can still be stopped): the first signal triggers `interrupt`,
/// a second one ends the process at once with status 130.
fn watch_signals(rt: &tokio::runtime::Runtime, interrupt: Interrupt) -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let _guard = rt.enter();
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    rt.spawn(async move {
        let mut count = 0u32;
        loop {
            let name = tokio::select! {
                Some(()) = int.recv() => "SIGINT",
                Some(()) = term.recv() => "SIGTERM",
                else => return,
            };
            count += 1;
            if count == 1 {
                eprintln!(
                    "\ncpmconf run: {name}: no further scenario starts, running ones end as \
                     interrupted, the report is written (a second signal aborts at once)"
                );
                interrupt.trigger();
            } else {
                eprintln!("\ncpmconf run: {name} again: aborted");
                std::process::exit(i32::from(EXIT_INTERRUPTED));
            }
        }
    });
    Ok(())
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("cpmconf run: {msg}");
    ExitCode::from(2)
}

/// `cpmconf run`.
pub fn run(a: &RunArgs) -> ExitCode {
    let checkout = checkout();
    let catalogue = match Catalogue::embedded() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let profile = match &a.client {
        Some(path) => ClientProfile::load(path),
        None => ClientProfile::from_yaml(
            crate::embedded::REFERENCE_PROFILE,
            crate::embedded::REFERENCE_PROFILE_ORIGIN,
        ),
    };
    let mut profile = match profile {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    this_binary_for_cpmconf(&mut profile);
    if let Err(e) = cpmconf_engine::client::FaultSet::parse(&a.fault) {
        return fail(e);
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
    if a.jobs == Some(0) {
        return fail("--jobs must be at least 1");
    }
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
    let mut scenarios = match load_valid_scenarios(a.scenarios.as_deref(), &catalogue) {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let mut clauses: Vec<&str> = scenarios
        .iter()
        .map(|l| l.scenario.clause.as_str())
        .collect();
    clauses.sort_unstable();
    clauses.dedup();
    if let Some(unknown) = a
        .clause
        .iter()
        .find(|c| !clauses.iter().any(|k| clause_matches(k, c)))
    {
        return fail(format!(
            "no scenario has clause {unknown}; known clauses (add .* for a subtree): {}",
            clauses.join(" ")
        ));
    }
    // A known-failures entry that matches nothing in the suite is a typo or a stale entry.
    if let Some(p) = &a.expect_fail {
        let text = std::fs::read_to_string(p).unwrap_or_default();
        let judges = |id: &str| -> Option<Vec<String>> {
            scenarios.iter().find(|l| l.scenario.id == id).map(|l| {
                let mut ids = l.scenario.verifies();
                ids.extend(l.scenario.covers.iter().cloned());
                ids.push(cpmconf_engine::runner::monitor::USER_AGENT_REQUIREMENT.to_string());
                ids
            })
        };
        let bad = known.unmatched(&text, &p.display().to_string(), &judges);
        if !bad.is_empty() {
            for b in &bad {
                eprintln!("{b}");
            }
            return fail(format!(
                "{} known-failure entr{} match nothing in the suite",
                bad.len(),
                if bad.len() == 1 { "y" } else { "ies" }
            ));
        }
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
            a.scenarios.as_ref().map_or_else(
                || "the built-in set".to_string(),
                |d| d.display().to_string()
            )
        ));
    }
    let (started_at, stamp) = now_stamp();
    // Default reports go to `reports/` of the checkout, else of the current directory.
    let reports = checkout
        .clone()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("reports");
    let (report_dir, latest) = match &a.report {
        Some(d) => (d.clone(), None),
        None => (reports.join(&stamp), Some(stamp.clone())),
    };
    if let Err(e) = std::fs::create_dir_all(&report_dir) {
        return fail(format!("{}: {e}", report_dir.display()));
    }
    if let Some(name) = latest {
        let link = reports.join("latest");
        let _ = std::fs::remove_file(&link);
        #[cfg(unix)]
        if let Err(e) = std::os::unix::fs::symlink(&name, &link) {
            eprintln!(
                "cpmconf run: could not point {} at {name}: {e}",
                link.display()
            );
        }
    }
    let golden = golden_root(a, checkout.as_deref());
    if golden.is_none() {
        println!(
            "cpmconf run: no golden comparison (outside a checkout; --golden DIR names a golden root)"
        );
    }
    let seed = a.seed.unwrap_or_else(random_seed);
    let jobs = a.jobs.unwrap_or_else(default_jobs).max(1);
    let opts = RunOptions {
        profile: profile.clone(),
        scenarios,
        report_dir: report_dir.clone(),
        golden_root: golden.clone(),
        fixtures_dir: checkout
            .clone()
            .unwrap_or_else(|| PathBuf::from("."))
            .join("fixtures"),
        seed,
        timing: Timing::new(a.time_scale, &profile),
        jobs,
        strict: a.strict,
        known,
        faults: a.fault.clone(),
        bless: a.bless,
        min_judged: a.min_judged,
        interrupt: Interrupt::default(),
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
        terminal: TerminalReporter::new(BarWriter(bar.clone())).quiet(a.quiet),
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
    if let Err(e) = watch_signals(&rt, opts.interrupt.clone()) {
        return fail(format!("installing the SIGINT/SIGTERM handlers: {e}"));
    }
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
    if summary.interrupted {
        println!(
            "interrupted: {} scenario(s) reported, {} not started",
            summary.reports.len(),
            summary.not_started
        );
        return ExitCode::from(EXIT_INTERRUPTED);
    }
    // `error` is never about the client: the run could not judge it (adapter missing or
    // crashing, port in use), so the exit status says the harness could not do its job.
    let errors = summary
        .reports
        .iter()
        .filter(|r| r.result.verdict == cpmconf_engine::Verdict::Error)
        .count();
    if errors > 0 {
        eprintln!(
            "cpmconf run: {errors} scenario(s) ended in error: the harness or the adapter could not judge the client there (see above)"
        );
        ExitCode::from(2)
    } else if summary.gate.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
