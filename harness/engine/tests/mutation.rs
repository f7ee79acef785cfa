//! Mutation score of the suite: for every reference-client fault whose requirement id is
//! `verifies:`-ed by a scenario in `scenarios/` (or judged by a global monitor in every scenario),
//! those scenarios run against the in-process reference client with that fault switched on; the
//! gate must fail and a Fail verdict must cite the fault's requirement id, in a scenario the
//! conformant client (no fault) passes. Every miss is collected and reported in one table.
//!
//! Run: `cargo test -p cpmconf-engine --test mutation -- --nocapture` (see docs/mutation.md).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cpmconf_engine::assess::step_verifies;
use cpmconf_engine::client::all_faults;
use cpmconf_engine::report::{Reporter, RunEvent};
use cpmconf_engine::runner::monitor::USER_AGENT_REQUIREMENT;
use cpmconf_engine::runner::{run_suite, RunOptions, RunSummary};
use cpmconf_engine::scenario::{load_file, GroupItem, LoadedScenario, Scenario, Step};
use cpmconf_engine::ut::ClientProfile;
use cpmconf_engine::validate::validate;
use cpmconf_engine::{Catalogue, Verdict};

/// Fixed run seed, so a miss replays with `cpmconf run --seed 20261127`.
const SEED: u64 = 20261127;
/// Scenarios run at once inside one fault's run.
const JOBS: usize = 2;
/// Runs at once (the baseline and the fault runs, each with up to `JOBS` scenarios). Scenarios
/// mostly wait on the network and on deadlines, so six runs share the two cores of CI.
const FAULT_RUNS: usize = 6;
/// Deadline of one run (baseline or one fault); a scenario's own deadlines are far shorter.
const RUN_DEADLINE: Duration = Duration::from_secs(600);

/// Requirements the runner judges in every scenario with a global monitor, whatever its steps.
const GLOBAL_MONITORS: &[&str] = &[USER_AGENT_REQUIREMENT];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `*.yaml` scenario file under `dir` (the catalogue excluded), sorted.
fn scenario_files(dir: &Path) -> Vec<PathBuf> {
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
            Step::Expect(e) | Step::ExpectNone(e) => see(e.within.map(|d| d.0)),
            Step::WaitFor(w) => see(w.within.map(|d| d.0)),
            Step::Parallel(items) | Step::AnyOrder(items) => {
                for i in items {
                    match i {
                        GroupItem::Expect(e) | GroupItem::ExpectNone(e) => {
                            see(e.within.map(|d| d.0))
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

/// Which scenarios verify which fault, from the scenario files and the fault table.
struct Plan {
    /// The scenarios that load and validate.
    scenarios: Vec<LoadedScenario>,
    /// Requirement id -> indexes (into `scenarios`) of the scenarios verifying it.
    verifying: BTreeMap<String, Vec<usize>>,
    /// Each fault with a verifying scenario, and those scenarios.
    planned: Vec<(&'static str, Vec<usize>)>,
    /// Faults without a verifying scenario, in table order.
    unverified: Vec<&'static str>,
    /// Scenario files that do not load or validate.
    problems: Vec<String>,
}

fn plan(catalogue: &Catalogue) -> Plan {
    let root = repo_root();
    // Load and validate every scenario; an invalid file is a problem of its own.
    let mut problems: Vec<String> = Vec::new();
    let mut scenarios: Vec<LoadedScenario> = Vec::new();
    for f in scenario_files(&root.join("scenarios")) {
        match load_file(&f) {
            Ok(l) => {
                let diags: Vec<_> = validate(&l, catalogue)
                    .into_iter()
                    .filter(|d| d.is_error())
                    .collect();
                if diags.is_empty() {
                    scenarios.push(l);
                } else {
                    for d in diags {
                        problems.push(format!("invalid scenario: {d}"));
                    }
                }
            }
            Err(d) => problems.push(format!("unloadable scenario: {d}")),
        }
    }
    assert!(!scenarios.is_empty(), "no scenario under scenarios/");

    // Requirement id -> the scenarios verifying it (a global monitor: every scenario).
    let mut verifying: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, l) in scenarios.iter().enumerate() {
        for id in step_verifies(&l.scenario) {
            verifying.entry(id).or_default().push(i);
        }
        for id in GLOBAL_MONITORS {
            verifying.entry((*id).to_string()).or_default().push(i);
        }
    }
    let mut planned: Vec<(&'static str, Vec<usize>)> = Vec::new();
    let mut unverified: Vec<&'static str> = Vec::new();
    for f in all_faults() {
        match verifying.get(f.id) {
            Some(idx) => planned.push((f.id, idx.clone())),
            None => unverified.push(f.id),
        }
    }
    Plan {
        scenarios,
        verifying,
        planned,
        unverified,
        problems,
    }
}

/// The committed list of faults without a verifying scenario: it may only shrink.
const UNVERIFIED_LIST: &str = "tests/unverified-faults.txt";

/// The ids in `UNVERIFIED_LIST` (one per line; `#` starts a comment).
fn committed_unverified() -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(UNVERIFIED_LIST);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The coverage ratchet, without running anything: the fault table is not empty, every fault
/// without a verifying scenario is in the committed list (a fault that loses its last verifying
/// scenario fails here), and every listed fault still lacks one (a fault that gained a scenario
/// must leave the list, so the list only shrinks). Also prints the faults verified by a single
/// scenario, for docs/mutation.md.
#[test]
fn no_fault_loses_its_verifying_scenario() {
    let catalogue = Catalogue::embedded().expect("the embedded catalogue loads");
    let faults: BTreeSet<&str> = all_faults().iter().map(|f| f.id).collect();
    assert!(
        !faults.is_empty(),
        "the reference client has no named fault"
    );
    let p = plan(&catalogue);
    assert!(p.problems.is_empty(), "{:#?}", p.problems);
    assert!(!p.planned.is_empty(), "no fault has a verifying scenario");
    let listed = committed_unverified();
    let now: BTreeSet<String> = p.unverified.iter().map(|f| f.to_string()).collect();
    let lost: Vec<&String> = now.difference(&listed).collect();
    let gained: Vec<&String> = listed.difference(&now).collect();
    let unknown: Vec<&String> = listed
        .iter()
        .filter(|f| !faults.contains(f.as_str()))
        .collect();
    let single: Vec<String> = p
        .planned
        .iter()
        .filter(|(f, idx)| idx.len() == 1 && !GLOBAL_MONITORS.contains(f))
        .filter_map(|(f, idx)| {
            let s = p.scenarios.get(idx[0])?;
            Some(format!("{f} ({})", s.scenario.id))
        })
        .collect();
    println!(
        "{} faults, {} with a verifying scenario ({} of them by a single scenario), {} without \
         (listed: {})",
        faults.len(),
        p.planned.len(),
        single.len(),
        now.len(),
        listed.len()
    );
    println!(
        "faults verified by a single scenario:\n  {}",
        single.join("\n  ")
    );
    assert!(
        lost.is_empty(),
        "fault(s) without a verifying scenario that {UNVERIFIED_LIST} does not list (a \
         `verifies:` was removed or a fault added without a scenario): {lost:?}"
    );
    assert!(
        unknown.is_empty(),
        "{UNVERIFIED_LIST} lists ids that are not faults of the reference client: {unknown:?}"
    );
    assert!(
        gained.is_empty(),
        "fault(s) now verified by a scenario: remove them from {UNVERIFIED_LIST} (the list only \
         shrinks): {gained:?}"
    );
    // Sanity of the map itself: every listed fault's id is absent from every `verifies:`.
    for f in &listed {
        assert!(!p.verifying.contains_key(f), "{f}");
    }
}

/// Discards the run events; the summary is all the test needs.
struct Quiet;

impl Reporter for Quiet {
    fn event(&mut self, _ev: &RunEvent) -> std::io::Result<()> {
        Ok(())
    }
    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `scenarios` with `faults` on, reports and golden files in a fresh temporary directory
/// (golden comparison therefore never regresses: a missing golden file does not fail the gate).
async fn run(
    catalogue: Arc<Catalogue>,
    profile: ClientProfile,
    scenarios: Vec<LoadedScenario>,
    faults: Vec<String>,
) -> Result<(RunSummary, tempfile::TempDir), String> {
    let dir = tempfile::Builder::new()
        .prefix("cpmconf-mutation-")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?;
    let opts = RunOptions {
        golden_root: Some(dir.path().join("golden")),
        seed: SEED,
        jobs: JOBS,
        faults,
        ..RunOptions::new(
            profile,
            scenarios,
            dir.path().join("report"),
            repo_root().join("fixtures"),
        )
    };
    let (mut quiet, mut on_done) = (Quiet, |_: &_| {});
    let fut = run_suite(
        &catalogue,
        &opts,
        "reference",
        "mutation".into(),
        &mut quiet,
        &mut on_done,
    );
    match tokio::time::timeout(RUN_DEADLINE, fut).await {
        Ok(Ok(s)) => Ok((s, dir)),
        Ok(Err(e)) => Err(format!("reporter I/O: {e}")),
        Err(_) => Err(format!("run did not end within {RUN_DEADLINE:?}")),
    }
}

/// One line of what a scenario did: its verdict and the failing requirements with their steps.
fn describe(summary: &RunSummary) -> String {
    let mut parts = Vec::new();
    for r in &summary.reports {
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

/// The outcome of one fault.
struct Row {
    fault: &'static str,
    scenarios: Vec<String>,
    caught: bool,
    what: String,
    /// Distinct requirement ids that failed with the fault on (the blame of the fault).
    blamed: BTreeSet<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_with_a_verifying_scenario_is_caught() {
    let started = Instant::now();
    let root = repo_root();
    let catalogue = Arc::new(Catalogue::embedded().expect("the embedded catalogue loads"));
    let profile = ClientProfile::load(&root.join("fixtures/clients/reference.yaml"))
        .expect("the reference profile loads");

    let Plan {
        scenarios,
        mut planned,
        unverified,
        mut problems,
        ..
    } = plan(&catalogue);
    assert!(!planned.is_empty(), "no fault has a verifying scenario");

    // Longest runs first, so the slow ones (refresh timers, the global monitor over every
    // scenario) overlap instead of trailing.
    let run_cost = |idx: &[usize]| -> Duration {
        idx.iter()
            .filter_map(|i| scenarios.get(*i))
            .map(|l| cost(&l.scenario))
            .sum()
    };
    planned.sort_by_key(|(f, idx)| (std::cmp::Reverse(run_cost(idx)), *f));

    // The baseline (every scenario some fault needs, no fault on) and one run per fault,
    // `FAULT_RUNS` at a time. A run's future is not `Send` (its reporter is borrowed), so the runs
    // share this thread through a `LocalSet`; the runner spawns their scenarios onto the worker
    // threads.
    let needed: BTreeSet<usize> = planned
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .collect();
    let base_scen: Vec<LoadedScenario> = needed
        .iter()
        .filter_map(|i| scenarios.get(*i).cloned())
        .collect();
    let sem = Arc::new(tokio::sync::Semaphore::new(FAULT_RUNS));
    let local = tokio::task::LocalSet::new();
    let base_task = {
        let (cat, prof, sem) = (catalogue.clone(), profile.clone(), sem.clone());
        local.spawn_local(async move {
            let _permit = sem.acquire_owned().await.ok();
            let t = Instant::now();
            let out = run(cat, prof, base_scen, Vec::new()).await;
            (out, t.elapsed())
        })
    };
    let mut tasks = Vec::new();
    for (fault, idx) in &planned {
        let fault: &'static str = fault;
        let scen: Vec<LoadedScenario> = idx
            .iter()
            .filter_map(|i| scenarios.get(*i).cloned())
            .collect();
        let (cat, prof, sem) = (catalogue.clone(), profile.clone(), sem.clone());
        tasks.push(local.spawn_local(async move {
            let _permit = sem.acquire_owned().await.ok();
            let t = Instant::now();
            let out = run(cat, prof, scen, vec![fault.to_string()]).await;
            (fault, out, t.elapsed())
        }));
    }
    let (base_outcome, outcomes) = local
        .run_until(async move {
            let base = base_task.await;
            let mut v = Vec::new();
            for task in tasks {
                v.push(task.await);
            }
            (base, v)
        })
        .await;
    let (baseline, base_took) = match base_outcome {
        Ok((Ok((b, dir)), took)) => {
            if !b.gate.passed {
                // Kept for inspection: pcap/ and wire/ of the failing baseline scenarios.
                println!("baseline report kept in {}", dir.keep().display());
            }
            (b, took)
        }
        Ok((Err(e), _)) => panic!("baseline run: {e}"),
        Err(e) => panic!("baseline run panicked: {e}"),
    };
    let mut base_pass: BTreeMap<String, bool> = BTreeMap::new();
    for r in &baseline.reports {
        let ok = !r.result.fails_gate(false);
        if !ok {
            problems.push(format!(
                "baseline (no fault) fails scenario {}",
                describe(&RunSummary {
                    reports: vec![r.clone()],
                    gate: baseline.gate,
                    regressions: Vec::new(),
                    interrupted: false,
                    not_started: 0,
                })
            ));
        }
        base_pass.insert(r.result.id.clone(), ok);
    }
    println!(
        "baseline: {} scenarios in {:.1}s, gate {}",
        baseline.reports.len(),
        base_took.as_secs_f64(),
        if baseline.gate.passed { "pass" } else { "FAIL" }
    );

    let mut rows: Vec<Row> = Vec::new();
    for outcome in outcomes {
        let (fault, out, took) = match outcome {
            Ok(x) => x,
            Err(e) => {
                problems.push(format!("a fault run panicked: {e}"));
                continue;
            }
        };
        let scen_ids: Vec<String> = planned
            .iter()
            .find(|(f, _)| *f == fault)
            .map(|(_, v)| {
                v.iter()
                    .filter_map(|i| scenarios.get(*i).map(|l| l.scenario.id.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let row = match out {
            Err(e) => Row {
                fault,
                scenarios: scen_ids,
                caught: false,
                what: format!("run error: {e}"),
                blamed: BTreeSet::new(),
            },
            Ok((summary, dir)) => {
                let blamed: BTreeSet<String> = summary
                    .reports
                    .iter()
                    .flat_map(|r| &r.result.requirements)
                    .filter(|q| q.verdict == Verdict::Fail)
                    .map(|q| q.id.clone())
                    .collect();
                // A Fail citing the fault's id, in a scenario the conformant client passes.
                let cite = summary.reports.iter().find_map(|r| {
                    let base_ok = base_pass.get(&r.result.id).copied().unwrap_or(false);
                    r.result
                        .requirements
                        .iter()
                        .find(|q| q.id == fault && q.verdict == Verdict::Fail)
                        .filter(|_| base_ok)
                        .map(|q| (r.result.id.clone(), q.step))
                });
                let base_bad: Vec<&String> = scen_ids
                    .iter()
                    .filter(|s| !base_pass.get(*s).copied().unwrap_or(false))
                    .collect();
                let row = match (summary.gate.passed, cite) {
                    (false, Some((sid, step))) => Row {
                        fault,
                        scenarios: scen_ids.clone(),
                        caught: true,
                        what: format!(
                            "caught by {sid} {} ({:.1}s)",
                            step.map(|s| format!("step {s}"))
                                .unwrap_or("(scenario-wide)".into()),
                            took.as_secs_f64()
                        ),
                        blamed: blamed.clone(),
                    },
                    (true, _) => Row {
                        fault,
                        scenarios: scen_ids.clone(),
                        caught: false,
                        what: format!("gate PASSED with the fault on: {}", describe(&summary)),
                        blamed: blamed.clone(),
                    },
                    (false, None) => Row {
                        fault,
                        scenarios: scen_ids.clone(),
                        caught: false,
                        what: format!(
                            "gate failed but no Fail cites {fault}{}: {}",
                            if base_bad.is_empty() {
                                String::new()
                            } else {
                                format!(
                                    " in a baseline-passing scenario (baseline fails {})",
                                    base_bad
                                        .iter()
                                        .map(|s| s.as_str())
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                )
                            },
                            describe(&summary)
                        ),
                        blamed: blamed.clone(),
                    },
                };
                if !row.caught {
                    // Kept for inspection: the pcap/ and wire/ of the missed fault's scenarios.
                    let kept = dir.keep();
                    Row {
                        what: format!("{} [report: {}]", row.what, kept.display()),
                        ..row
                    }
                } else {
                    row
                }
            }
        };
        rows.push(row);
    }

    // The table in catalogue order.
    rows.sort_by_key(|r| all_faults().iter().position(|f| f.id == r.fault));
    let caught = rows.iter().filter(|r| r.caught).count();
    let mut table = String::new();
    table.push_str(&format!(
        "mutation score: {caught}/{} faults with a verifying scenario caught \
         ({} faults in the table, {} without a verifying scenario), seed {SEED}, {:.0}s\n",
        rows.len(),
        all_faults().len(),
        unverified.len(),
        started.elapsed().as_secs_f64()
    ));
    table.push_str("| fault | scenarios run | result |\n|---|---|---|\n");
    for r in &rows {
        table.push_str(&format!(
            "| {} | {} | {}{} |\n",
            r.fault,
            r.scenarios.join(", "),
            if r.caught { "" } else { "MISS: " },
            r.what
        ));
    }
    table.push_str(&format!(
        "\nfaults without a verifying scenario ({}):\n",
        unverified.len()
    ));
    for f in &unverified {
        table.push_str(&format!("  {f}\n"));
    }
    if !problems.is_empty() {
        table.push_str("\nproblems:\n");
        for p in &problems {
            table.push_str(&format!("  {p}\n"));
        }
    }
    // Blame: the distinct requirement ids each fault fails (its own, ideally nothing else).
    let mut counts: Vec<usize> = rows.iter().map(|r| r.blamed.len()).collect();
    counts.sort_unstable();
    let median = counts.get(counts.len() / 2).copied().unwrap_or(0);
    let max = counts.last().copied().unwrap_or(0);
    table.push_str(&format!(
        "\nblame: distinct failing requirement ids per fault: median {median}, max {max}\n"
    ));
    table.push_str("| fault | failing requirement ids |\n|---|---|\n");
    for r in &rows {
        let ids: Vec<&str> = r.blamed.iter().map(String::as_str).collect();
        table.push_str(&format!("| {} | {} |\n", r.fault, ids.join(", ")));
    }
    println!("{table}");
    // Each finding blames its own requirement: a fault fails its own id and at most one
    // consequence, and the median fault fails exactly one id.
    let overblamed: Vec<String> = rows
        .iter()
        .filter(|r| r.blamed.iter().filter(|id| id.as_str() != r.fault).count() > 1)
        .map(|r| {
            let ids: Vec<&str> = r.blamed.iter().map(String::as_str).collect();
            format!("{} -> {}", r.fault, ids.join(", "))
        })
        .collect();
    assert!(
        overblamed.is_empty() && median <= 1,
        "blame bound broken (own id plus at most one consequence per fault, median 1; median is {median}): {}",
        overblamed.join("; ")
    );
    let misses: Vec<&str> = rows.iter().filter(|r| !r.caught).map(|r| r.fault).collect();
    assert!(
        misses.is_empty() && problems.is_empty(),
        "{} fault(s) missed: {}; {} problem(s); table:\n{table}",
        misses.len(),
        misses.join(", "),
        problems.len()
    );
}
