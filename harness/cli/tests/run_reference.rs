//! `cpmconf run` end to end against the in-process reference client: the whole suite passes,
//! every committed golden file (`golden/reference/*.snap`) matches its scenario's projection,
//! tshark decodes every pcap cleanly; a fault of a covered requirement gives exit 1 naming the
//! requirement and the step; an unknown fault exits 2.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cpmconf_engine::golden::{golden_path, unified_diff, Snapshot};

/// A small selection (registration, pager mode both ways, BYE with and without Reason) for the
/// tests about exit codes, faults and adapters, which do not need the whole suite.
const FEW: &[&str] = &[
    "register-with-digest",
    "pager-mode-sent",
    "pager-mode-received",
    "bye-closes-chat",
    "bye-completed-elsewhere",
];

/// The client whose golden files are committed.
const CLIENT: &str = "reference";

/// What to do when a golden file is missing or differs.
const BLESS_HINT: &str = "if the change is intended: `cargo run -- run` writes each new \
projection as golden/reference/<scenario>.snap.new, `cargo insta review` accepts or rejects them \
one by one (or `cargo run -- run --bless` rewrites them all); commit golden/reference/";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `cpmconf run` over `selection` (every scenario when empty) with a private report dir and
/// a copy of golden/ (so nothing is written into the repository).
fn run(selection: &[&str], args: &[&str]) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let golden = dir.path().join("golden");
    copy_dir(&repo().join("golden"), &golden);
    let out = Command::new(env!("CARGO_BIN_EXE_cpmconf"))
        .current_dir(repo())
        .arg("run")
        .arg("--quiet")
        .arg("--report")
        .arg(dir.path().join("report"))
        .arg("--golden")
        .arg(&golden)
        .args(selection.iter().flat_map(|s| ["--scenario", s]))
        .args(args)
        .output()
        .unwrap();
    (out, dir)
}

/// Copies a directory tree; a missing or unreadable source is a test failure, not a skip.
/// Pending `.snap.new` files (left by an earlier run in the checkout) are not copied: only what
/// this run writes may count as its result.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("create {}: {e}", to.display()));
    let rd = std::fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display()));
    for e in rd {
        let e = e.unwrap_or_else(|e| panic!("read {}: {e}", from.display()));
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else if p.extension().is_some_and(|x| x == "new") {
            continue;
        } else {
            std::fs::copy(&p, to.join(e.file_name()))
                .unwrap_or_else(|e| panic!("copy {}: {e}", p.display()));
        }
    }
}

/// Number of scenario files under `scenarios/` (the catalogue excluded).
fn scenario_file_count() -> usize {
    let mut n = 0;
    let mut stack = vec![repo().join("scenarios")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml")
                && p.file_name().is_some_and(|n| n != "requirements.yaml")
            {
                n += 1;
            }
        }
    }
    n
}

/// Ids of the committed golden files of `CLIENT`.
fn committed_goldens() -> BTreeSet<String> {
    let dir = repo().join("golden").join(CLIENT);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            name.strip_suffix(".snap").map(str::to_string)
        })
        .collect()
}

/// What is wrong with the goldens after a run that compared against the copy in `golden_copy`:
/// a scenario without a committed golden, a projection that differs (with its diff), a committed
/// golden that no scenario produced.
fn golden_problems(ran: &BTreeSet<String>, golden_copy: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let committed = committed_goldens();
    for id in ran {
        let repo_path = golden_path(&repo().join("golden"), CLIENT, id);
        let name = format!("golden/{CLIENT}/{id}.snap");
        let pending = golden_path(golden_copy, CLIENT, id).with_extension("snap.new");
        let actual = Snapshot::read(&pending)
            .unwrap_or_else(|e| panic!("{e}"))
            .map(|s| s.content);
        match (committed.contains(id), actual) {
            (false, actual) => problems.push(format!(
                "missing golden file {name} for scenario {id}; its projection is:\n{}",
                actual.unwrap_or_else(|| "(none written)".into())
            )),
            (true, Some(actual)) => {
                let golden = Snapshot::read(&repo_path)
                    .unwrap_or_else(|e| panic!("{e}"))
                    .unwrap_or_else(|| panic!("{} vanished", repo_path.display()));
                problems.push(format!(
                    "{name} differs:\n{}",
                    unified_diff(&golden.content, &actual, &name)
                ));
            }
            (true, None) => {}
        }
    }
    for id in committed.difference(ran) {
        problems.push(format!(
            "golden/{CLIENT}/{id}.snap has no scenario in the run (stale: delete it, or restore \
             its scenario)"
        ));
    }
    problems
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn the_whole_suite_passes_and_matches_every_committed_golden() {
    let (out, dir) = run(&[], &["--seed", "42", "--jobs", "2"]);
    let t = text(&out);
    assert!(t.contains("seed 42"), "{t}");
    let report = dir.path().join("report");
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["seed"], 42);
    let scenarios = results["scenarios"].as_array().unwrap();
    // Every scenario file ran (the reference client has every capability).
    assert_eq!(scenarios.len(), scenario_file_count(), "{results}");
    let ran: BTreeSet<String> = scenarios
        .iter()
        .map(|s| s["id"].as_str().expect("scenario id").to_string())
        .collect();
    assert_eq!(ran.len(), scenarios.len(), "scenario ids are unique");
    let problems = golden_problems(&ran, &dir.path().join("golden"));
    assert!(
        problems.is_empty(),
        "{} golden problem(s):\n\n{}\n\n{BLESS_HINT}",
        problems.len(),
        problems.join("\n\n")
    );
    let failing: Vec<String> = scenarios
        .iter()
        .filter(|s| s["verdict"] != "pass")
        .map(|s| format!("{}={}", s["id"], s["verdict"]))
        .collect();
    assert!(failing.is_empty(), "failing: {failing:?}\n{t}");
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(std::fs::read_to_string(report.join("junit.xml"))
        .unwrap()
        .contains("<testsuite"));
    let mut pcaps = 0;
    for e in std::fs::read_dir(report.join("pcap")).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if let Some(pcap) = name.strip_suffix(".meta.json") {
            // The sidecar `cpmconf check` reads: it names the client of its own capture.
            assert!(
                report.join("pcap").join(pcap).is_file(),
                "orphan sidecar {name}"
            );
            let meta: serde_json::Value =
                serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap();
            let client = meta["client"].as_array().map_or(0, Vec::len);
            assert!(client > 0, "{name} names no client address: {meta}");
            continue;
        }
        pcaps += 1;
        let id = e.path().file_stem().unwrap().to_string_lossy().to_string();
        assert!(
            report
                .join("pcap")
                .join(format!("{name}.meta.json"))
                .is_file(),
            "{id}: no sidecar"
        );
        assert!(report.join("wire").join(format!("{id}.log")).is_file());
        // A missing tshark fails here, with what to install (TsharkError::NotInstalled).
        let summary =
            cpmconf_capture::tshark::check_pcap(e.path()).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert!(!summary.frames.is_empty(), "{id}: empty capture");
        let bad = summary.problem_frames();
        assert!(bad.is_empty(), "{id}: tshark problems {bad:?}");
    }
    assert_eq!(pcaps, scenarios.len());
}

#[test]
fn a_fault_of_a_covered_requirement_fails_naming_requirement_and_step() {
    let (out, _dir) = run(
        FEW,
        &[
            "--fault",
            "7/send-pager-mode",
            "--scenario",
            "pager-mode-sent",
            "--time-scale",
            "0.4",
        ],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("fail 7/send-pager-mode [SHALL] at step 2"),
        "{t}"
    );
}

#[test]
fn an_unknown_fault_exits_2_with_a_hint() {
    let (out, _dir) = run(FEW, &["--fault", "no-such-fault"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("cpmconf faults"), "{t}");
}

#[test]
fn an_empty_selection_exits_2() {
    let (out, _dir) = run(FEW, &["--clause", "9.9"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn a_crashing_adapter_gives_error_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("adapter.py");
    std::fs::write(
        &script,
        "import sys\nsys.stdin.readline()\nsys.stderr.write('adapter died: out of cheese\\n')\nsys.exit(7)\n",
    )
    .unwrap();
    let profile = dir.path().join("crashing.yaml");
    std::fs::write(
        &profile,
        format!(
            "name: crashing\nadapter: {{ kind: process, command: [python3, {:?}] }}\n\
             identity: {{ user: alice, domain: test, password: x, instance_id: \"urn:uuid:1\" }}\n\
             capabilities: [pager]\n",
            script.display().to_string()
        ),
    )
    .unwrap();
    let (out, rdir) = run(FEW, &["--client", profile.to_str().unwrap(), "--jobs", "1"]);
    let t = text(&out);
    // A crashing adapter is `error`: the client was not judged there, so exit 2 (issue 8).
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("out of cheese"), "{t}");
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(rdir.path().join("report/results.json")).unwrap())
            .unwrap();
    let verdicts: Vec<&str> = results["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["verdict"].as_str().unwrap_or(""))
        .collect();
    // register-with-digest, pager-mode-sent and pager-mode-received need at most `pager`: all
    // three ran into the crash, one after the other; the chat scenarios are not applicable.
    assert_eq!(
        verdicts.iter().filter(|v| **v == "error").count(),
        3,
        "{verdicts:?}"
    );
}
