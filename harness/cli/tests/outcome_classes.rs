//! `cpmconf run` puts each outcome in its class and says so in its exit status: an adapter that
//! cannot start is the harness's `error` (exit 2, not a client failure), a known-failures entry
//! that matches nothing stops the run with its position, a scenario entry in the known failures
//! covers the global monitors too, and `--min-judged` fails a gate that judged too little.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `cpmconf run` of the given scenarios with a private report and golden folder.
fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cpmconf"))
        .current_dir(repo())
        .arg("run")
        .arg("--quiet")
        .arg("--seed")
        .arg("11")
        .arg("--report")
        .arg(dir.join("report"))
        .arg("--golden")
        .arg(dir.join("golden"))
        .args(args)
        .output()
        .expect("cpmconf runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn results(dir: &Path) -> serde_json::Value {
    let raw = std::fs::read_to_string(dir.join("report/results.json")).expect("results.json");
    serde_json::from_str(&raw).expect("results.json is JSON")
}

#[test]
fn an_adapter_that_cannot_start_is_a_harness_error_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("missing-adapter.yaml");
    std::fs::write(
        &profile,
        "name: missing-adapter\nadapter:\n  kind: process\n  command: [\"/nonexistent/cpm-adapter-xyz\"]\n\
identity:\n  user: alice\n  domain: test\n  password: alice-secret\n  instance_id: \"urn:gsma:imei:1\"\ntransport: udp\ncapabilities: [pager]\n",
    )
    .unwrap();
    let out = run(
        dir.path(),
        &[
            "--client",
            profile.to_str().unwrap(),
            "--scenario",
            "pager-mode-sent",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let r = results(dir.path());
    let verdict = r["scenarios"][0]["verdict"].as_str().unwrap_or("");
    assert_eq!(verdict, "error", "{}", text(&out));
    assert!(
        text(&out).contains("could not judge the client"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_known_failure_that_matches_nothing_stops_the_run_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let known = dir.path().join("known.yaml");
    std::fs::write(
        &known,
        "- pager-mode-sent\n- pager-mode-snet\n- pager-mode-sent/7.3.12/sendonly-no-imdn\n",
    )
    .unwrap();
    let out = run(
        dir.path(),
        &[
            "--scenario",
            "pager-mode-sent",
            "--expect-fail",
            known.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = text(&out);
    let path = known.display().to_string();
    assert!(
        t.contains(&format!(
            "{path}:2:3: error: known failure \"pager-mode-snet\""
        )),
        "{t}"
    );
    assert!(
        t.contains(&format!("{path}:3:3: error:")) && t.contains("does not judge"),
        "{t}"
    );
}

#[test]
fn a_scenario_listed_as_known_failure_covers_its_global_monitor() {
    // Without User-Agent, pager-mode-sent fails only the global monitor; listing the scenario
    // makes that an xfail while its own requirement still passes, and the gate passes.
    let dir = tempfile::tempdir().unwrap();
    let known = dir.path().join("known.yaml");
    std::fs::write(&known, "- pager-mode-sent\n").unwrap();
    let out = run(
        dir.path(),
        &[
            "--scenario",
            "pager-mode-sent",
            "--fault",
            "7/user-agent-header",
            "--expect-fail",
            known.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let r = results(dir.path());
    let reqs = r["scenarios"][0]["requirements"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let verdict = |id: &str| {
        reqs.iter()
            .find(|q| q["id"] == id)
            .and_then(|q| q["verdict"].as_str())
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(verdict("7/user-agent-header"), "xfail", "{}", text(&out));
    assert_eq!(verdict("7/send-pager-mode"), "pass", "{}", text(&out));
}

#[test]
fn min_judged_fails_a_gate_that_judged_too_little_and_the_summary_says_how_much() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &["--scenario", "pager-mode-sent", "--min-judged", "50"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("judged 2 of 2 requirements (0 not applicable, 0 inconclusive); at least 50 required: TOO FEW"),
        "{t}"
    );
    let r = results(dir.path());
    let gate = r.get("gate").cloned().unwrap_or_default();
    assert_eq!(gate["judged"], 2, "{gate}");
    assert_eq!(gate["passed"], false, "{gate}");
}
