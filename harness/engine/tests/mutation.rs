//! Mutation score of the suite: for every reference-client fault whose requirement id is
//! `verifies:`-ed by a scenario in `scenarios/` (or judged by a global monitor in every scenario),
//! those scenarios run against the in-process reference client with that fault switched on; the
//! gate must fail and a Fail verdict must cite the fault's requirement id, in a scenario the
//! conformant client (no fault) passes. Every miss is collected and reported in one table. The
//! measurement is the engine's `cpmconf_engine::mutate` (what `cpmconf mutate` runs); this test
//! holds it to the bar, and keeps the ratchet of faults without a verifying scenario.
//!
//! Run: `cargo test -p cpmconf-engine --test mutation -- --nocapture` (see docs/mutation.md).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use cpmconf_engine::client::all_faults;
use cpmconf_engine::mutate::{self, mutate, MutateOptions, GLOBAL_MONITORS};
use cpmconf_engine::scenario::{load_file, LoadedScenario};
use cpmconf_engine::ut::ClientProfile;
use cpmconf_engine::validate::Suite;
use cpmconf_engine::Catalogue;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The scenarios under `scenarios/` that load and validate, and a problem line for each file
/// that does not.
fn suite(catalogue: &Catalogue) -> (Vec<LoadedScenario>, Vec<String>) {
    let suite = Suite::load_dir(&repo_root().join("scenarios"), catalogue)
        .unwrap_or_else(|e| panic!("{e}"));
    let problems: Vec<String> = suite
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("invalid scenario: {d}"))
        .collect();
    // The scenarios that load and validate (a file with an error is named in `problems`).
    let bad: Vec<&str> = suite
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.file.as_str())
        .collect();
    let scenarios: Vec<LoadedScenario> = suite
        .scenarios
        .into_iter()
        .filter(|l| !bad.contains(&l.file.as_str()))
        .collect();
    assert!(!scenarios.is_empty(), "no scenario under scenarios/");
    (scenarios, problems)
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
    let (scenarios, problems) = suite(&catalogue);
    assert!(problems.is_empty(), "{problems:#?}");
    let planned = mutate::plan(&scenarios, all_faults());
    let verified = planned.iter().filter(|(_, idx)| !idx.is_empty()).count();
    assert!(verified > 0, "no fault has a verifying scenario");
    let listed = committed_unverified();
    let now: BTreeSet<String> = planned
        .iter()
        .filter(|(_, idx)| idx.is_empty())
        .map(|(f, _)| f.id.to_string())
        .collect();
    let lost: Vec<&String> = now.difference(&listed).collect();
    let gained: Vec<&String> = listed.difference(&now).collect();
    let unknown: Vec<&String> = listed
        .iter()
        .filter(|f| !faults.contains(f.as_str()))
        .collect();
    let single: Vec<String> = planned
        .iter()
        .filter(|(f, idx)| idx.len() == 1 && !GLOBAL_MONITORS.contains(&f.id))
        .filter_map(|(f, idx)| {
            let s = scenarios.get(idx[0])?;
            Some(format!("{} ({})", f.id, s.scenario.id))
        })
        .collect();
    println!(
        "{} faults, {} with a verifying scenario ({} of them by a single scenario), {} without \
         (listed: {})",
        faults.len(),
        verified,
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
    let verifying = mutate::verifying(&scenarios);
    for f in &listed {
        assert!(!verifying.contains_key(f), "{f}");
    }
}

/// The whole measurement through the engine's [`mutate`] (what `cpmconf mutate` runs), every
/// fault of the table, seed 20261127, reports in a temporary directory (kept when a fault is
/// missed, and named in its row).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_with_a_verifying_scenario_is_caught() {
    let root = repo_root();
    let catalogue = Catalogue::embedded().expect("the embedded catalogue loads");
    let profile = ClientProfile::load(&root.join("fixtures/clients/reference.yaml"))
        .expect("the reference profile loads");
    let (scenarios, mut problems) = suite(&catalogue);
    let work = tempfile::Builder::new()
        .prefix("cpmconf-mutation-")
        .tempdir()
        .expect("temp dir");
    let opts = MutateOptions::new(profile, root.join("fixtures"), work.path().to_path_buf());
    let report = mutate(&catalogue, &scenarios, all_faults(), &opts).await;
    assert_eq!(report.faults.len(), all_faults().len());
    assert!(
        report
            .faults
            .iter()
            .any(|f| !f.verifying_scenarios.is_empty()),
        "no fault has a verifying scenario"
    );
    let table = report.table();
    println!("{table}");
    problems.extend(report.problems.iter().cloned());
    // Each finding blames its own requirement: a fault fails its own id and at most one
    // consequence, and the median fault fails exactly one id.
    let (median, _) = report.blame();
    let overblamed: Vec<String> = report
        .faults
        .iter()
        .filter(|f| f.consequences().len() > 1)
        .map(|f| format!("{} -> {}", f.fault, f.blamed.join(", ")))
        .collect();
    assert!(
        overblamed.is_empty() && median <= 1,
        "blame bound broken (own id plus at most one consequence per fault, median 1; median is {median}): {}",
        overblamed.join("; ")
    );
    // Every fault with a verifying scenario is caught by a Fail citing its own id. (Faults
    // without one are the ratchet's business: `no_fault_loses_its_verifying_scenario`.)
    let misses: Vec<&str> = report
        .escaped()
        .into_iter()
        .filter(|f| !f.verifying_scenarios.is_empty())
        .map(|f| f.fault.as_str())
        .collect();
    for f in report.faults.iter().filter(|f| f.caught) {
        assert!(
            f.caught_by
                .iter()
                .all(|c| f.verifying_scenarios.contains(&c.scenario)),
            "{} caught by a scenario that was not run for it: {:?}",
            f.fault,
            f.caught_by
        );
        assert!(
            f.blamed.contains(&f.requirement),
            "{}: {:?}",
            f.fault,
            f.blamed
        );
    }
    if !(misses.is_empty() && problems.is_empty()) {
        println!("reports kept in {}", work.keep().display());
    }
    assert!(
        misses.is_empty() && problems.is_empty(),
        "{} fault(s) missed: {}; problem(s): {problems:#?}; table:\n{table}",
        misses.len(),
        misses.join(", ")
    );
}

/// The judgement itself, on one fault whose two verifying scenarios differ: a file over the
/// size limit shows a client that skips the size check, a file at the limit cannot (both
/// clients accept it). Alone, the at-limit scenario lets the fault escape; with the over-limit
/// one the fault is caught by that scenario only; with neither, nothing verifies it and it
/// escapes without a run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_is_caught_only_by_a_scenario_that_sees_it() {
    const FAULT: &str = "7.4.2/validate-file-size";
    let root = repo_root();
    let catalogue = Catalogue::embedded().expect("the embedded catalogue loads");
    let profile = ClientProfile::load(&root.join("fixtures/clients/reference.yaml"))
        .expect("the reference profile loads");
    let load = |f: &str| load_file(&root.join("scenarios/7.4.2").join(f)).expect("loads");
    let at_limit = load("file-at-size-limit-accepted.yaml");
    let over_limit = load("file-over-size-limit-declined.yaml");
    let unrelated = load_file(&root.join("scenarios/7/pager-mode-received.yaml")).expect("loads");
    let faults = mutate::select_faults(&[FAULT.to_string()]).expect("a fault of the table");
    let work = tempfile::tempdir().expect("temp dir");
    let opts = MutateOptions::new(profile, root.join("fixtures"), work.path().to_path_buf());

    let alone = mutate(&catalogue, std::slice::from_ref(&at_limit), &faults, &opts).await;
    assert!(alone.problems.is_empty(), "{:?}", alone.problems);
    let f = &alone.faults[0];
    assert_eq!(f.verifying_scenarios, vec![at_limit.scenario.id.clone()]);
    assert!(!f.caught && f.caught_by.is_empty(), "{f:?}");
    assert!(
        f.miss.starts_with("gate PASSED with the fault on"),
        "{}",
        f.miss
    );
    assert!(!alone.passed());
    assert_eq!(alone.escaped().len(), 1);
    // An escaped fault's report is kept for inspection, inside the work directory.
    let kept = f.report_dir.as_ref().expect("the report of a miss is kept");
    assert!(kept.starts_with(work.path()) && kept.is_dir(), "{kept:?}");

    let both = [at_limit.clone(), over_limit.clone()];
    let together = mutate(&catalogue, &both, &faults, &opts).await;
    assert!(together.problems.is_empty(), "{:?}", together.problems);
    let f = &together.faults[0];
    assert!(f.caught, "{f:?}");
    assert_eq!(f.caught_by_ids(), vec![over_limit.scenario.id.as_str()]);
    assert!(f.caught_by[0].step.is_some(), "a step decided it: {f:?}");
    assert!(f.blamed.contains(&FAULT.to_string()), "{f:?}");
    assert!(together.passed());
    assert_eq!(together.caught(), 1);
    assert_eq!(together.baseline_scenarios, 2);

    let none = mutate(&catalogue, std::slice::from_ref(&unrelated), &faults, &opts).await;
    let f = &none.faults[0];
    assert!(f.verifying_scenarios.is_empty() && !f.caught, "{f:?}");
    assert_eq!(none.baseline_scenarios, 0, "nothing needed running");
    assert_eq!(none.unverified().len(), 1);
    assert!(!none.passed());
}
