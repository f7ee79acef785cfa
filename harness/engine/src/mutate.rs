//! Mutation testing of the suite against the reference client: each named fault (named by the
//! requirement id it breaks) is switched on in turn and the scenarios verifying that requirement
//! run; the fault is caught when the gate fails and a `fail` verdict cites its id in a scenario
//! the conformant client passes. `cpmconf mutate` and `tests/mutation.rs` are built on this.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cpmconf_client::{all_faults, FaultInfo, FaultSet, UnknownFault};
use cpmconf_ut::ClientProfile;

use crate::catalogue::Catalogue;
use crate::report::Fanout;
use crate::runner::monitor::USER_AGENT_REQUIREMENT;
use crate::runner::{run_suite, RunOptions, RunSummary, ScenarioReport, Timing};
use crate::scenario::{GroupItem, LoadedScenario, Scenario, Step};
use crate::verdict::Verdict;

/// Requirements the runner judges in every scenario with a global monitor, whatever its steps:
/// every scenario verifies them.
pub const GLOBAL_MONITORS: &[&str] = &[USER_AGENT_REQUIREMENT];

/// The run seed unless one is given, so a miss replays with `cpmconf run --seed 20261127`.
pub const DEFAULT_SEED: u64 = 20261127;

/// The faults named by `ids`, in fault-table order, each once; no id: every fault. An id that is
/// not a fault of the reference client is an error.
pub fn select_faults(ids: &[String]) -> Result<Vec<FaultInfo>, UnknownFault> {
    if ids.is_empty() {
        return Ok(all_faults().to_vec());
    }
    let on = FaultSet::parse(ids)?;
    Ok(all_faults()
        .iter()
        .filter(|f| on.has(f.id))
        .copied()
        .collect())
}

/// Requirement id -> indexes (into `scenarios`) of the scenarios verifying it: a step lists it
/// in `verifies`, or a global monitor judges it (then every scenario).
pub fn verifying(scenarios: &[LoadedScenario]) -> BTreeMap<String, Vec<usize>> {
    let mut out: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, l) in scenarios.iter().enumerate() {
        let mut ids = l.scenario.verifies();
        ids.extend(GLOBAL_MONITORS.iter().map(|id| (*id).to_string()));
        for id in ids {
            let list = out.entry(id).or_default();
            if list.last() != Some(&i) {
                list.push(i);
            }
        }
    }
    out
}

/// Each fault of `faults` (in their order) with the indexes of the scenarios verifying its
/// requirement (empty: no scenario of the suite verifies it, so nothing can catch it).
pub fn plan(scenarios: &[LoadedScenario], faults: &[FaultInfo]) -> Vec<(FaultInfo, Vec<usize>)> {
    let by_req = verifying(scenarios);
    faults
        .iter()
        .map(|f| (*f, by_req.get(f.id).cloned().unwrap_or_default()))
        .collect()
}

/// How the faults are run.
#[derive(Debug, Clone)]
pub struct MutateOptions {
    /// The reference client (in-process adapter); each fault run switches one fault on.
    pub profile: ClientProfile,
    /// Directory `send: { body: { file } }` paths are relative to (`fixtures/`).
    pub fixtures_dir: PathBuf,
    /// Where each run writes its report (`pcap/`, `wire/`): one sub-directory per run, removed
    /// when the fault is caught (or the baseline passes), kept and named in the result otherwise.
    pub work_dir: PathBuf,
    /// Seed of every run.
    pub seed: u64,
    /// Deadlines and SIP timers.
    pub timing: Timing,
    /// Scenarios run at once inside one run.
    pub jobs: usize,
    /// Runs (the baseline and one per fault) at once.
    pub runs: usize,
    /// Deadline of one run; a scenario's own deadlines are far shorter.
    pub run_deadline: Duration,
    /// SHOULD / SHOULD NOT failures fail the gate (of the baseline and of every fault run), so
    /// a fault of a SHOULD requirement can be caught at all; `cpmconf mutate` always sets it.
    pub strict: bool,
}

impl MutateOptions {
    /// The defaults of `cpmconf mutate`: seed [`DEFAULT_SEED`], nominal timing on the profile's clock, two scenarios at
    /// once in each of [`default_jobs`](crate::runner::default_jobs) runs at once (8 per core:
    /// scenarios mostly wait on the network and on deadlines), ten minutes per run, strict.
    pub fn new(profile: ClientProfile, fixtures_dir: PathBuf, work_dir: PathBuf) -> MutateOptions {
        MutateOptions {
            timing: Timing::new(1.0, &profile),
            profile,
            fixtures_dir,
            work_dir,
            seed: DEFAULT_SEED,
            jobs: 2,
            runs: crate::runner::default_jobs(),
            run_deadline: Duration::from_secs(600),
            strict: true,
        }
    }
}

/// A scenario whose verdict failed the fault's requirement, and the step that decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catch {
    /// Scenario id.
    pub scenario: String,
    /// 1-based step (None: decided by the scenario as a whole).
    pub step: Option<usize>,
}

/// The outcome of one fault.
#[derive(Debug, Clone)]
pub struct FaultResult {
    /// The fault id.
    pub fault: String,
    /// The requirement it breaks (the same id: faults are named by their requirement).
    pub requirement: String,
    /// Ids of the scenarios verifying the requirement: the ones run with the fault on.
    pub verifying_scenarios: Vec<String>,
    /// The scenarios (run order) whose verdict failed the requirement, among those the
    /// conformant client passes.
    pub caught_by: Vec<Catch>,
    /// The gate failed and `caught_by` is not empty.
    pub caught: bool,
    /// Distinct requirement ids that failed with the fault on (its blame), sorted.
    pub blamed: Vec<String>,
    /// What happened when the fault escaped (empty when caught).
    pub miss: String,
    /// The kept report of an escaped fault's run (`pcap/`, `wire/`).
    pub report_dir: Option<PathBuf>,
    /// Wall time of the fault's run.
    pub seconds: f64,
}

impl FaultResult {
    /// The ids of the scenarios that caught it.
    pub fn caught_by_ids(&self) -> Vec<&str> {
        self.caught_by.iter().map(|c| c.scenario.as_str()).collect()
    }

    /// Blamed ids other than its own.
    pub fn consequences(&self) -> Vec<&str> {
        self.blamed
            .iter()
            .map(String::as_str)
            .filter(|id| *id != self.requirement)
            .collect()
    }

    /// The JSON object of `cpmconf mutate --json`: `fault`, `requirement`, `caught_by`, and
    /// the documented extras `caught`, `verifying_scenarios`, `blamed`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "fault": self.fault,
            "requirement": self.requirement,
            "caught_by": self.caught_by_ids(),
            "caught": self.caught,
            "verifying_scenarios": self.verifying_scenarios,
            "blamed": self.blamed,
        })
    }
}

/// Everything a mutation run found.
#[derive(Debug, Clone)]
pub struct MutationReport {
    /// One result per selected fault, in fault-table order.
    pub faults: Vec<FaultResult>,
    /// Scenarios of the baseline (no fault): every scenario some selected fault needs.
    pub baseline_scenarios: usize,
    /// Wall time of the baseline run.
    pub baseline_seconds: f64,
    /// What makes the score untrustworthy: scenarios the conformant client fails, a baseline
    /// that could not run, a fault run that panicked.
    pub problems: Vec<String>,
    /// The seed of every run.
    pub seed: u64,
    /// Wall time of the whole measurement.
    pub seconds: f64,
}

impl MutationReport {
    /// Faults caught.
    pub fn caught(&self) -> usize {
        self.faults.iter().filter(|f| f.caught).count()
    }

    /// Faults not caught (including those no scenario verifies).
    pub fn escaped(&self) -> Vec<&FaultResult> {
        self.faults.iter().filter(|f| !f.caught).collect()
    }

    /// Faults no scenario of the suite verifies.
    pub fn unverified(&self) -> Vec<&FaultResult> {
        self.faults
            .iter()
            .filter(|f| f.verifying_scenarios.is_empty())
            .collect()
    }

    /// Every fault caught and no problem.
    pub fn passed(&self) -> bool {
        self.escaped().is_empty() && self.problems.is_empty()
    }

    /// Median and maximum of the number of distinct requirement ids each fault with a verifying
    /// scenario fails.
    pub fn blame(&self) -> (usize, usize) {
        let mut counts: Vec<usize> = self
            .faults
            .iter()
            .filter(|f| !f.verifying_scenarios.is_empty())
            .map(|f| f.blamed.len())
            .collect();
        counts.sort_unstable();
        let median = counts.get(counts.len() / 2).copied().unwrap_or(0);
        (median, counts.last().copied().unwrap_or(0))
    }

    /// `mutation score: C/N faults caught (...)`, the first line of the text output.
    pub fn score_line(&self) -> String {
        let (median, max) = self.blame();
        format!(
            "mutation score: {}/{} faults caught ({} without a verifying scenario); blame: \
             distinct failing requirement ids per fault, median {median}, max {max}; seed {}; \
             baseline (no fault): {} scenarios in {:.1}s; {:.0}s in all",
            self.caught(),
            self.faults.len(),
            self.unverified().len(),
            self.seed,
            self.baseline_scenarios,
            self.baseline_seconds,
            self.seconds
        )
    }

    /// The score line, then a markdown table (fault | caught by | blame): `caught by` names
    /// each catching scenario and its step, or `MISS:` and what happened; `blame` the distinct
    /// requirement ids that failed. Problems follow the table.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{}\n\n| fault | caught by | blame |\n|---|---|---|\n",
            self.score_line()
        );
        for f in &self.faults {
            let by = if f.caught {
                let mut cells: Vec<String> = f
                    .caught_by
                    .iter()
                    .take(TABLE_CATCHES)
                    .map(|c| match c.step {
                        Some(s) => format!("{} step {s}", c.scenario),
                        None => format!("{} (scenario-wide)", c.scenario),
                    })
                    .collect();
                if f.caught_by.len() > TABLE_CATCHES {
                    cells.push(format!("and {} more", f.caught_by.len() - TABLE_CATCHES));
                }
                cells.join(", ")
            } else {
                let report = f
                    .report_dir
                    .as_ref()
                    .map(|d| format!(" [report: {}]", d.display()))
                    .unwrap_or_default();
                format!("MISS: {}{report}", f.miss.replace('|', "\\|"))
            };
            out.push_str(&format!(
                "| {} | {by} | {} |\n",
                f.fault,
                f.blamed.join(", ")
            ));
        }
        if !self.problems.is_empty() {
            out.push_str("\nproblems:\n");
            for p in &self.problems {
                out.push_str(&format!("  {p}\n"));
            }
        }
        out
    }

    /// `{"faults":[...]}` of `cpmconf mutate --json` ([`FaultResult::to_json`]).
    pub fn to_json(&self) -> serde_json::Value {
        let faults: Vec<serde_json::Value> = self.faults.iter().map(FaultResult::to_json).collect();
        serde_json::json!({ "faults": faults })
    }
}

/// Catching scenarios named in a row of [`MutationReport::table`]; the rest are counted (the JSON
/// lists them all).
const TABLE_CATCHES: usize = 4;

/// A rough cost of a scenario for scheduling: its longest `within` (a refresh waits for minutes),
/// at least one second.
fn cost(s: &Scenario) -> Duration {
    let mut longest = Duration::from_secs(1);
    let mut see = |w: Option<Duration>| {
        if let Some(w) = w {
            longest = longest.max(w);
        }
    };
    for step in &s.steps {
        match step {
            Step::Expect(e) | Step::ExpectNone(e) => see(e.within.or(e.timer).map(|d| d.0)),
            Step::WaitFor(w) => see(w.within.map(|d| d.0)),
            Step::Parallel(items) | Step::AnyOrder(items) => {
                for i in items {
                    match i {
                        GroupItem::Expect(e) | GroupItem::ExpectNone(e) => {
                            see(e.within.or(e.timer).map(|d| d.0))
                        }
                        GroupItem::WaitFor(w) => see(w.within.map(|d| d.0)),
                    }
                }
            }
            Step::Do(_) | Step::Send(_) => {}
        }
    }
    longest
}

/// A directory name for a fault's run (`/` is not allowed in a file name).
fn run_dir_name(fault: &str) -> String {
    fault
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Runs `scenarios` with `faults` on, its report in `dir` (no golden comparison: a golden
/// difference never counts).
async fn run(
    catalogue: Arc<Catalogue>,
    opts: Arc<MutateOptions>,
    scenarios: Vec<LoadedScenario>,
    faults: Vec<String>,
    dir: PathBuf,
) -> Result<RunSummary, String> {
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let run_opts = RunOptions {
        seed: opts.seed,
        timing: opts.timing,
        jobs: opts.jobs.max(1),
        strict: opts.strict,
        faults,
        ..RunOptions::new(
            opts.profile.clone(),
            scenarios,
            dir,
            opts.fixtures_dir.clone(),
        )
    };
    let (mut quiet, mut on_done) = (Fanout::default(), |_: &_| {});
    let fut = run_suite(
        &catalogue,
        &run_opts,
        "reference",
        "mutation".into(),
        &mut quiet,
        &mut on_done,
    );
    match tokio::time::timeout(opts.run_deadline, fut).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(format!("reporter I/O: {e}")),
        Err(_) => Err(format!("run did not end within {:?}", opts.run_deadline)),
    }
}

/// One line of what the scenarios of a run did: verdicts and failing requirements with steps.
fn describe(reports: &[ScenarioReport]) -> String {
    let mut parts = Vec::new();
    for r in reports {
        let res = &r.result;
        let failing: Vec<String> = res
            .requirements
            .iter()
            .filter(|q| q.verdict != Verdict::Pass && q.verdict != Verdict::NotApplicable)
            .map(|q| {
                let step = q.step.map(|s| format!("step {s}")).unwrap_or("-".into());
                let why = q
                    .findings
                    .first()
                    .map(|f| f.to_string())
                    .or_else(|| q.message.clone())
                    .map(|w| format!(": {}", w.lines().next().unwrap_or("")))
                    .unwrap_or_default();
                format!("{} {} @{}{}", q.id, q.verdict, step, why)
            })
            .collect();
        let mut p = format!("{}={}", res.id, res.verdict);
        if !failing.is_empty() {
            p.push_str(&format!(" [{}]", failing.join(", ")));
        }
        if let Some(m) = &res.message {
            if res.verdict != Verdict::Pass {
                p.push_str(&format!(" ({})", m.lines().next().unwrap_or("")));
            }
        }
        parts.push(p);
    }
    parts.join("; ")
}

/// Judges one fault's run against the baseline.
fn judge(
    fault: &FaultInfo,
    verifying_scenarios: Vec<String>,
    outcome: Result<RunSummary, String>,
    base_pass: &BTreeMap<String, bool>,
) -> FaultResult {
    let mut r = FaultResult {
        fault: fault.id.to_string(),
        requirement: fault.id.to_string(),
        verifying_scenarios,
        caught_by: Vec::new(),
        caught: false,
        blamed: Vec::new(),
        miss: String::new(),
        report_dir: None,
        seconds: 0.0,
    };
    let summary = match outcome {
        Ok(s) => s,
        Err(e) => {
            r.miss = format!("run error: {e}");
            return r;
        }
    };
    r.blamed = summary
        .reports
        .iter()
        .flat_map(|s| &s.result.requirements)
        .filter(|q| q.verdict == Verdict::Fail)
        .map(|q| q.id.clone())
        .collect::<BTreeSet<String>>()
        .into_iter()
        .collect();
    // A Fail citing the fault's id, in a scenario the conformant client passes.
    r.caught_by = summary
        .reports
        .iter()
        .filter(|s| base_pass.get(&s.result.id).copied().unwrap_or(false))
        .filter_map(|s| {
            s.result
                .requirements
                .iter()
                .find(|q| q.id == r.requirement && q.verdict == Verdict::Fail)
                .map(|q| Catch {
                    scenario: s.result.id.clone(),
                    step: q.step,
                })
        })
        .collect();
    r.caught = !summary.gate.passed && !r.caught_by.is_empty();
    if !r.caught {
        let base_bad: Vec<&str> = r
            .verifying_scenarios
            .iter()
            .filter(|s| !base_pass.get(*s).copied().unwrap_or(false))
            .map(String::as_str)
            .collect();
        r.miss = if summary.gate.passed {
            format!(
                "gate PASSED with the fault on: {}",
                describe(&summary.reports)
            )
        } else {
            format!(
                "gate failed but no Fail cites {}{}: {}",
                r.requirement,
                if base_bad.is_empty() {
                    String::new()
                } else {
                    format!(
                        " in a baseline-passing scenario (baseline fails {})",
                        base_bad.join(", ")
                    )
                },
                describe(&summary.reports)
            )
        };
    }
    r
}

/// Runs the mutation measurement: a baseline (no fault) of every scenario some fault of
/// `faults` needs, then one run per fault of the scenarios verifying its requirement, longest
/// first, `opts.runs` at a time. A fault no scenario verifies is not run and escapes. Every run
/// has `opts.run_deadline`; a run that errs or misses the deadline makes its fault escape (or,
/// for the baseline, a problem).
pub async fn mutate(
    catalogue: &Catalogue,
    scenarios: &[LoadedScenario],
    faults: &[FaultInfo],
    opts: &MutateOptions,
) -> MutationReport {
    let started = Instant::now();
    let catalogue = Arc::new(catalogue.clone());
    let opts = Arc::new(opts.clone());
    let planned = plan(scenarios, faults);
    let ids_of = |idx: &[usize]| -> Vec<String> {
        idx.iter()
            .filter_map(|i| scenarios.get(*i).map(|l| l.scenario.id.clone()))
            .collect()
    };
    let scen_of = |idx: &[usize]| -> Vec<LoadedScenario> {
        idx.iter()
            .filter_map(|i| scenarios.get(*i).cloned())
            .collect()
    };

    // Longest runs first, so the slow ones (refresh timers, the global monitor over every
    // scenario) overlap instead of trailing.
    let run_cost = |idx: &[usize]| -> Duration {
        idx.iter()
            .filter_map(|i| scenarios.get(*i))
            .map(|l| cost(&l.scenario))
            .sum()
    };
    let mut order: Vec<&(FaultInfo, Vec<usize>)> =
        planned.iter().filter(|(_, idx)| !idx.is_empty()).collect();
    order.sort_by_key(|(f, idx)| (std::cmp::Reverse(run_cost(idx)), f.id));

    // A run's future is not `Send` (its reporter is borrowed), so the runs share this thread
    // through a `LocalSet`; the runner spawns their scenarios onto the runtime's threads.
    let needed: BTreeSet<usize> = order.iter().flat_map(|(_, v)| v.iter().copied()).collect();
    let needed: Vec<usize> = needed.into_iter().collect();
    let sem = Arc::new(tokio::sync::Semaphore::new(opts.runs.max(1)));
    let local = tokio::task::LocalSet::new();
    let base_dir = opts.work_dir.join("baseline");
    let base_task = {
        let (cat, o, sem, scen, dir) = (
            catalogue.clone(),
            opts.clone(),
            sem.clone(),
            scen_of(&needed),
            base_dir.clone(),
        );
        local.spawn_local(async move {
            let _permit = sem.acquire_owned().await.ok();
            let t = Instant::now();
            let out = if scen.is_empty() {
                Ok(None)
            } else {
                run(cat, o, scen, Vec::new(), dir).await.map(Some)
            };
            (out, t.elapsed())
        })
    };
    let mut tasks = Vec::new();
    for (fault, idx) in &order {
        let (cat, o, sem) = (catalogue.clone(), opts.clone(), sem.clone());
        let (scen, id) = (scen_of(idx), fault.id.to_string());
        let dir = opts.work_dir.join(run_dir_name(fault.id));
        tasks.push((
            fault.id,
            local.spawn_local(async move {
                let _permit = sem.acquire_owned().await.ok();
                let t = Instant::now();
                let out = run(cat, o, scen, vec![id], dir.clone()).await;
                (out, dir, t.elapsed())
            }),
        ));
    }
    let (base_outcome, outcomes) = local
        .run_until(async move {
            let base = base_task.await;
            let mut v = Vec::new();
            for (id, task) in tasks {
                v.push((id, task.await));
            }
            (base, v)
        })
        .await;

    let mut problems: Vec<String> = Vec::new();
    let mut base_pass: BTreeMap<String, bool> = BTreeMap::new();
    let mut baseline_seconds = 0.0;
    match base_outcome {
        Ok((Ok(base), took)) => {
            baseline_seconds = took.as_secs_f64();
            for r in base.iter().flat_map(|b| &b.reports) {
                let ok = !r.result.fails_gate(opts.strict);
                if !ok {
                    problems.push(format!(
                        "baseline (no fault) fails scenario {}",
                        describe(std::slice::from_ref(r))
                    ));
                }
                base_pass.insert(r.result.id.clone(), ok);
            }
            if base_pass.values().all(|ok| *ok) {
                let _ = std::fs::remove_dir_all(&base_dir);
            } else {
                problems.push(format!("baseline report kept in {}", base_dir.display()));
            }
        }
        Ok((Err(e), _)) => problems.push(format!("baseline run: {e}")),
        Err(e) => problems.push(format!("baseline run panicked: {e}")),
    }

    let mut results: BTreeMap<&str, FaultResult> = BTreeMap::new();
    for (id, outcome) in outcomes {
        let Some((fault, idx)) = planned.iter().find(|(f, _)| f.id == id) else {
            continue;
        };
        let r = match outcome {
            Ok((out, dir, took)) => {
                let mut r = judge(fault, ids_of(idx), out, &base_pass);
                r.seconds = took.as_secs_f64();
                if r.caught {
                    let _ = std::fs::remove_dir_all(&dir);
                } else if dir.is_dir() {
                    r.report_dir = Some(dir);
                }
                r
            }
            Err(e) => {
                problems.push(format!("the run of fault {id} panicked: {e}"));
                judge(fault, ids_of(idx), Err("panicked".into()), &base_pass)
            }
        };
        results.insert(id, r);
    }
    let faults = planned
        .iter()
        .map(|(f, idx)| {
            results.remove(f.id).unwrap_or_else(|| FaultResult {
                miss: "no scenario of the suite verifies it".into(),
                ..judge(f, ids_of(idx), Err(String::new()), &base_pass)
            })
        })
        .collect();
    MutationReport {
        faults,
        baseline_scenarios: needed.len(),
        baseline_seconds,
        problems,
        seed: opts.seed,
        seconds: started.elapsed().as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    /// Selection keeps the fault table's order and each fault once, whatever the order and
    /// repeats of the ids; no id selects every fault; an unknown id is an error naming it.
    #[rstest]
    #[case(&[], None)]
    #[case(&["7/send-pager-mode"], Some(&["7/send-pager-mode"][..]))]
    #[case(
        &["7.3.1.5/contribution-id", "7/send-pager-mode", "7/send-pager-mode"],
        Some(&["7/send-pager-mode", "7.3.1.5/contribution-id"][..])
    )]
    fn faults_are_selected_in_table_order(#[case] ids: &[&str], #[case] want: Option<&[&str]>) {
        let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        let got: Vec<&str> = select_faults(&ids)
            .expect("known faults")
            .iter()
            .map(|f| f.id)
            .collect();
        let all: Vec<&str> = all_faults().iter().map(|f| f.id).collect();
        assert_eq!(got, want.map_or(all, <[&str]>::to_vec));
    }

    #[test]
    fn an_unknown_fault_is_an_error_naming_it() {
        let e =
            select_faults(&["7/send-pager-mode".into(), "7/nope".into()]).expect_err("unknown id");
        assert!(e.to_string().contains("7/nope"), "{e}");
        assert!(e.to_string().contains("cpmconf faults"), "{e}");
    }

    /// A global monitor's requirement is verified by every scenario, once each; a step's
    /// `verifies` only by its scenario.
    #[test]
    fn every_scenario_verifies_the_global_monitors() {
        let text = |id: &str, verifies: &str| {
            format!(
                "version: 1\nid: {id}\nclause: \"7\"\ntitle: t\nsteps:\n  - expect: {{ sip: \
                 MESSAGE, verifies: [{verifies}] }}\n"
            )
        };
        let a = crate::scenario::parse_scenario(&text("a", "7/dispatch-message-msg"), "a.yaml")
            .expect("parses");
        let b = crate::scenario::parse_scenario(&text("b", USER_AGENT_REQUIREMENT), "b.yaml")
            .expect("parses");
        let v = verifying(&[a, b]);
        assert_eq!(v.get(USER_AGENT_REQUIREMENT), Some(&vec![0, 1]));
        assert_eq!(v.get("7/dispatch-message-msg"), Some(&vec![0]));
    }
}
