//! `cpmconf coverage`: the requirement -> scenario matrix agrees with one computed here directly
//! from the YAML of the catalogue and of every scenario, and so does its summary line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cpmconf(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cpmconf"))
        .current_dir(root())
        .args(args)
        .output()
        .unwrap()
}

/// Every `verifies` id of a step, looking into `parallel` / `any_order` items.
fn verifies(step: &Value, out: &mut BTreeSet<String>) {
    let Some(m) = step.as_mapping() else { return };
    for (k, body) in m {
        if matches!(k.as_str(), Some("parallel" | "any_order")) {
            for item in body.as_sequence().into_iter().flatten() {
                verifies(item, out);
            }
        } else if let Some(ids) = body.get("verifies").and_then(Value::as_sequence) {
            out.extend(ids.iter().filter_map(|i| i.as_str().map(str::to_string)));
        }
    }
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml") && !p.ends_with("requirements.yaml") {
            out.push(p);
        }
    }
}

/// requirement id -> scenario ids verifying it, from the files themselves.
fn expected() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    yaml_files(&root().join("scenarios"), &mut files);
    let mut by_req: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let doc: Value = serde_yaml::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let id = doc["id"].as_str().unwrap().to_string();
        let mut ids = BTreeSet::new();
        for step in doc["steps"].as_sequence().into_iter().flatten() {
            verifies(step, &mut ids);
        }
        for r in ids {
            by_req.entry(r).or_default().insert(id.clone());
        }
    }
    by_req
}

fn catalogue() -> Vec<Value> {
    let text = std::fs::read_to_string(root().join("scenarios/requirements.yaml")).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

#[test]
fn json_lists_every_requirement_with_the_scenarios_that_verify_it() {
    let out = cpmconf(&["coverage", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["requirements"].as_array().unwrap();
    let cat = catalogue();
    assert_eq!(rows.len(), cat.len());
    let want = expected();
    for (row, req) in rows.iter().zip(&cat) {
        let id = req["id"].as_str().unwrap();
        assert_eq!(row["id"], id);
        assert_eq!(row["strength"], req["strength"].as_str().unwrap());
        assert_eq!(row["observable"], req["observable"].as_str().unwrap());
        assert_eq!(row["clause"], req["clause"].as_str().unwrap());
        let got: BTreeSet<String> = row["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, want.get(id).cloned().unwrap_or_default(), "{id}");
    }
}

#[test]
fn the_summary_counts_wire_shalls_with_a_verifying_step_or_the_monitor() {
    let want = expected();
    let wire: Vec<String> = catalogue()
        .iter()
        .filter(|r| r["observable"] == "wire")
        .filter(|r| matches!(r["strength"].as_str(), Some("SHALL" | "SHALL NOT")))
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    // 7/user-agent-header is judged by the runner on every SIP request of every scenario.
    let verified = wire
        .iter()
        .filter(|id| want.contains_key(*id) || *id == "7/user-agent-header")
        .count();
    let line = format!("wire SHALL/SHALL NOT verified: {verified}/{}", wire.len());
    let out = cpmconf(&["coverage"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&line), "{line} not in:\n{text}");
    let json = cpmconf(&["coverage", "--json"]);
    assert!(String::from_utf8_lossy(&json.stderr).contains(&line));
    // docs/coverage.md is the command's output, regenerated with it.
    let doc = std::fs::read_to_string(root().join("docs/coverage.md")).unwrap();
    assert_eq!(
        doc, text,
        "docs/coverage.md is stale: run `cpmconf coverage > docs/coverage.md`"
    );
}
