//! `cpmconf run` outside a checkout: the scenarios and the reference profile built into the
//! binary, an external client's golden files beside its profile, `cpmconf` in a profile's
//! command meaning this very binary, and nothing written into a tree the user did not name.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `cpmconf run ARGS` with the current directory `cwd` and a PATH without cpmconf.
fn run_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cpmconf"))
        .current_dir(cwd)
        .env("PATH", "/usr/bin:/bin")
        .arg("run")
        .arg("--quiet")
        .args(args)
        .output()
        .unwrap()
}

/// Every file under `dir` (relative paths), sorted.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, d: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut v = Vec::new();
    walk(dir, dir, &mut v);
    v.sort();
    v
}

#[test]
fn the_built_in_reference_run_works_outside_a_checkout_and_writes_only_its_report() {
    let cwd = tempfile::tempdir().unwrap();
    let golden_before = tree(&repo().join("golden"));
    let out = run_in(
        cwd.path(),
        &["--scenario", "pager-mode-sent", "--seed", "3"],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("no golden comparison"), "{t}");
    // The default report folder of the current directory, and nothing else.
    let written = tree(cwd.path());
    assert!(
        written.iter().all(|f| f.starts_with("reports/")),
        "{written:?}"
    );
    assert!(
        written.iter().any(|f| f.ends_with("results.json")),
        "{written:?}"
    );
    assert_eq!(tree(&repo().join("golden")), golden_before);
}

#[test]
fn an_external_clients_golden_files_live_beside_its_profile() {
    let cwd = tempfile::tempdir().unwrap();
    let team = tempfile::tempdir().unwrap();
    let profile = team.path().join("my-client.yaml");
    let text_profile =
        std::fs::read_to_string(repo().join("fixtures/clients/reference-subprocess.yaml"))
            .unwrap()
            .replace("name: reference-subprocess", "name: my-client");
    std::fs::write(&profile, text_profile).unwrap();
    let report = cwd.path().join("r");
    let out = run_in(
        cwd.path(),
        &[
            "--client",
            profile.to_str().unwrap(),
            "--scenario",
            "pager-mode-received",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    let t = text(&out);
    // `cpmconf refclient` ran although no cpmconf is on PATH: this very binary.
    assert_eq!(out.status.code(), Some(0), "{t}");
    // No golden file yet: the pending one is written beside the profile.
    let pending = team
        .path()
        .join("golden/my-client/pager-mode-received.snap.new");
    assert!(pending.is_file(), "{t}\n{:?}", tree(team.path()));
    assert!(!repo().join("golden/my-client").exists());
    assert_eq!(
        tree(cwd.path())
            .iter()
            .filter(|f| !f.starts_with("r/"))
            .count(),
        0,
        "{:?}",
        tree(cwd.path())
    );
}

#[test]
fn a_missing_scenario_directory_says_so() {
    let cwd = tempfile::tempdir().unwrap();
    let out = run_in(cwd.path(), &["--scenarios", "no-such-dir"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(
        t.contains("the scenario directory no-such-dir does not exist"),
        "{t}"
    );
}

#[test]
fn jobs_zero_is_an_error() {
    let cwd = tempfile::tempdir().unwrap();
    let out = run_in(cwd.path(), &["--jobs", "0"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("--jobs must be at least 1"), "{t}");
}

#[test]
fn an_unknown_fault_names_one_listing_command() {
    let cwd = tempfile::tempdir().unwrap();
    let out = run_in(cwd.path(), &["--fault", "no-such-fault"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("`cpmconf faults` lists them"), "{t}");
    assert!(!t.contains("list-faults"), "{t}");
}

#[test]
fn an_unknown_clause_lists_the_known_ones() {
    let cwd = tempfile::tempdir().unwrap();
    let out = run_in(cwd.path(), &["--clause", "9.9"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("no scenario has clause 9.9"), "{t}");
    assert!(t.contains("7.3.1.5.1"), "{t}");
}
