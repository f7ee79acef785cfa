//! `cpmconf mutate` on the real binary: a fault is caught by scenarios that verify its
//! requirement (checked against the scenario files themselves), a fault the selected scenarios
//! cannot see escapes with exit 1, and an unknown fault id is refused with exit 2.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use cpmconf_engine::scenario::{load_file, scenario_files};
use support::{output_within, repo, text};

/// Deadline of one `cpmconf mutate` of a single fault (it runs one or two scenarios twice).
const LIMIT: Duration = Duration::from_secs(300);

/// The size-limit fault: verified by a scenario that offers a file over the limit (which sees
/// the fault) and by one that offers a file at the limit (which cannot: both clients accept it).
const SIZE_FAULT: &str = "7.4.2/validate-file-size";

/// Runs `cpmconf mutate ARGS` in the repository; its temporary directory (where the reports of
/// escaped faults are kept) is `tmp`, so they go with the test's own.
fn mutate_in(tmp: &Path, args: &[&str]) -> std::process::Output {
    output_within(
        Command::new(env!("CARGO_BIN_EXE_cpmconf"))
            .current_dir(repo())
            .env("TMPDIR", tmp)
            .arg("mutate")
            .args(args),
        LIMIT,
    )
}

fn mutate(args: &[&str]) -> std::process::Output {
    let tmp = tempfile::tempdir().unwrap();
    mutate_in(tmp.path(), args)
}

/// Ids of the scenarios under `dir` with a step whose `verifies` names `requirement`, read from
/// the files (not through `cpmconf mutate`'s own plan).
fn verifying(dir: &Path, requirement: &str) -> BTreeSet<String> {
    scenario_files(dir)
        .iter()
        .map(|f| load_file(f).unwrap_or_else(|d| panic!("{d}")))
        .filter(|l| l.scenario.verifies().iter().any(|id| id == requirement))
        .map(|l| l.scenario.id)
        .collect()
}

/// The one fault object of `--json` output.
fn only_fault(stdout: &[u8]) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_slice(stdout).expect("--json prints JSON");
    let faults = v["faults"].as_array().expect("a faults array");
    assert_eq!(faults.len(), 1, "{v}");
    faults[0].clone()
}

fn ids(v: &serde_json::Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().expect("an id").to_string())
        .collect()
}

#[test]
fn one_fault_is_caught_by_scenarios_verifying_its_requirement() {
    let out = mutate(&["--json", "--fault", SIZE_FAULT]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let f = only_fault(&out.stdout);
    assert_eq!(f["fault"], SIZE_FAULT, "{f}");
    assert_eq!(f["requirement"], SIZE_FAULT, "{f}");
    assert_eq!(f["caught"], true, "{f}");
    let verifying = verifying(&repo().join("scenarios"), SIZE_FAULT);
    assert!(!verifying.is_empty());
    assert_eq!(ids(&f["verifying_scenarios"]), verifying, "{f}");
    let caught_by = ids(&f["caught_by"]);
    assert!(!caught_by.is_empty(), "{f}");
    assert!(caught_by.is_subset(&verifying), "{f}");
    assert!(
        ids(&f["blamed"]).contains(SIZE_FAULT),
        "the fault's own requirement is among the blamed: {f}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("mutation score: 1/1 faults caught"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_fault_the_selected_scenarios_cannot_see_escapes_with_exit_1() {
    // Only the at-limit scenario: it verifies the requirement, but a client that skips the size
    // check accepts a file at the limit just as a conformant one does.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("scenarios");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(
        repo().join("scenarios/7.4.2/file-at-size-limit-accepted.yaml"),
        dir.join("file-at-size-limit-accepted.yaml"),
    )
    .unwrap();
    let scen = dir.to_str().unwrap();
    let out = mutate_in(
        tmp.path(),
        &["--json", "--fault", SIZE_FAULT, "--scenarios", scen],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let f = only_fault(&out.stdout);
    assert_eq!(f["caught"], false, "{f}");
    assert_eq!(ids(&f["caught_by"]), BTreeSet::new(), "{f}");
    assert_eq!(
        ids(&f["verifying_scenarios"]),
        verifying(&dir, SIZE_FAULT),
        "{f}"
    );
    // The table names the miss, what happened and the kept report (under the temporary
    // directory).
    let out = mutate_in(tmp.path(), &["--fault", SIZE_FAULT, "--scenarios", scen]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("mutation score: 0/1 faults caught"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "| {SIZE_FAULT} | MISS: gate PASSED with the fault on"
        )),
        "{stdout}"
    );
    let kept = stdout
        .split("[report: ")
        .nth(1)
        .and_then(|r| r.split(']').next())
        .unwrap_or_else(|| panic!("no kept report named: {stdout}"));
    let kept = Path::new(kept);
    assert!(kept.starts_with(tmp.path()), "{kept:?}");
    assert!(
        kept.join("pcap/file-at-size-limit-accepted.pcap").is_file(),
        "{kept:?}"
    );
}

#[test]
fn an_unknown_fault_id_is_refused_with_exit_2() {
    let out = mutate(&["--fault", "7/no-such-fault"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("7/no-such-fault"), "{err}");
    assert!(err.contains("cpmconf faults"), "{err}");
    assert!(out.stdout.is_empty(), "nothing ran: {}", text(&out));
}
