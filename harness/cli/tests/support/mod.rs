//! Shared by the CLI tests: run `cpmconf run` against a client profile derived from one in
//! fixtures/clients/ (interpreter, environment, capabilities) and read results.json; copy report
//! directories; the external readers the report tests drive (Python with `junitparser`, headless
//! Chromium), each failing with how to install it when missing.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use cpmconf_engine::ut::{AdapterSpec, Capability, ClientProfile};
use serde_json::Value;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Python interpreter of the project's tests: `$CPMCONF_PYTHON` if set (CI points it at the
/// venv holding pjsua2), else `python3`.
pub fn python() -> String {
    std::env::var("CPMCONF_PYTHON")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| "python3".to_owned())
}

/// A client profile from fixtures/clients/, to adjust before a run.
pub struct Profile(pub ClientProfile);

impl Profile {
    /// Loads `fixtures/clients/<name>.yaml` and points its `python3` at [`python`].
    pub fn fixture(name: &str) -> Profile {
        let path = repo().join("fixtures/clients").join(format!("{name}.yaml"));
        let mut p = ClientProfile::load(&path).unwrap_or_else(|e| panic!("{e}"));
        if let AdapterSpec::Process { command, .. } = &mut p.adapter {
            if command.first().is_some_and(|c| c == "python3") {
                command[0] = python();
            }
        }
        Profile(p)
    }

    /// Sets an environment variable of the adapter process.
    pub fn env(mut self, key: &str, value: &str) -> Profile {
        if let AdapterSpec::Process { env, .. } = &mut self.0.adapter {
            env.insert(key.to_owned(), value.to_owned());
        }
        self
    }

    /// Replaces the declared capabilities.
    pub fn capabilities(mut self, names: &[&str]) -> Profile {
        self.0.capabilities = names
            .iter()
            .map(|n| Capability::parse(n).unwrap_or_else(|| panic!("capability {n}")))
            .collect();
        self
    }

    /// Writes the profile (JSON, which is YAML) into `dir`; returns its path.
    pub fn write(&self, dir: &Path) -> PathBuf {
        let path = dir.join(format!("{}.yaml", self.0.name));
        std::fs::write(&path, serde_json::to_string_pretty(&self.0).unwrap()).unwrap();
        path
    }
}

/// What one `cpmconf run` left behind.
pub struct Run {
    pub out: Output,
    pub results: Value,
    pub dir: tempfile::TempDir,
}

impl Run {
    /// stdout and stderr of the run.
    pub fn text(&self) -> String {
        format!(
            "{}{}",
            String::from_utf8_lossy(&self.out.stdout),
            String::from_utf8_lossy(&self.out.stderr)
        )
    }

    /// The scenarios of results.json.
    pub fn scenarios(&self) -> Vec<&Value> {
        self.results["scenarios"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    }

    /// The scenario with this id (panics with the run's output when absent).
    pub fn scenario(&self, id: &str) -> &Value {
        self.scenarios()
            .into_iter()
            .find(|s| s["id"] == id)
            .unwrap_or_else(|| panic!("no scenario {id} in the results\n{}", self.text()))
    }

    /// Requirement id -> verdict of one scenario.
    pub fn verdicts(&self, id: &str) -> BTreeMap<String, String> {
        self.scenario(id)["requirements"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                (
                    r["id"].as_str().unwrap_or("").to_owned(),
                    r["verdict"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    }

    /// The requirement `req` of scenario `id`.
    pub fn requirement(&self, id: &str, req: &str) -> &Value {
        self.scenario(id)["requirements"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["id"] == req)
            .unwrap_or_else(|| {
                panic!(
                    "no requirement {req} in scenario {id}: {:#}",
                    self.scenario(id)
                )
            })
    }

    /// Differences between the live verdicts of scenario `id` and `cpmconf check` of its pcap
    /// (scenario mode, the sidecar's timeline, the run's client profile): one judge for live and
    /// captured traffic, for whatever client ran; and without the timeline, any verdict that is
    /// neither the live one nor `inconclusive`.
    pub fn check_differences(&self, id: &str) -> Vec<String> {
        let Some(checked) = self.check(id, false) else {
            return Vec::new();
        };
        let checked = match checked {
            Ok(v) => v,
            Err(e) => return vec![e],
        };
        let key = |s: &Value| -> Vec<String> {
            let mut v = vec![format!("{} {}", s["verdict"], s["message"])];
            for r in s["requirements"].as_array().into_iter().flatten() {
                v.push(format!(
                    "{} {} {} {}",
                    r["id"], r["verdict"], r["findings"], r["message"]
                ));
            }
            v
        };
        let (live, off) = (key(self.scenario(id)), key(&checked["scenarios"][0]));
        let mut out: Vec<String> = live
            .iter()
            .zip(&off)
            .filter(|(a, b)| a != b)
            .map(|(a, b)| format!("{id}: live {a}\n    capture {b}"))
            .collect();
        if live.len() != off.len() {
            out.push(format!("{id}: {} vs {} verdicts", live.len(), off.len()));
        }
        // Judged as a capture made elsewhere (`--no-timeline`): each requirement gets the live
        // verdict or `inconclusive`, never another one.
        match self.check(id, true) {
            Some(Err(e)) => out.push(e),
            Some(Ok(v)) => {
                let live = self.verdicts(id);
                for r in v["scenarios"][0]["requirements"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    let req = r["id"].as_str().unwrap_or("");
                    let seen = r["verdict"].as_str().unwrap_or("");
                    let was = live.get(req).map(String::as_str).unwrap_or("");
                    if seen != was && seen != "inconclusive" {
                        out.push(format!(
                        "{id} {req}: {was} live, {seen} from the capture without its timeline: {}",
                        r["findings"]
                    ));
                    }
                }
            }
            None => {}
        }
        out
    }

    /// `cpmconf check --json` of scenario `id`'s pcap with the run's profile (`None` when the
    /// scenario did not run).
    fn check(&self, id: &str, no_timeline: bool) -> Option<Result<Value, String>> {
        let report = self.dir.path().join("report");
        let pcap = report.join("pcap").join(format!("{id}.pcap"));
        if !pcap.exists() {
            return None;
        }
        let profile = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == "yaml"))
            .expect("the run's profile");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cpmconf"));
        cmd.current_dir(repo())
            .args(["check", "--json", "--profile"])
            .arg(&profile);
        if no_timeline {
            cmd.arg("--no-timeline");
        }
        let out = cmd.arg(&pcap).output().unwrap();
        Some(serde_json::from_slice(&out.stdout).map_err(|e| {
            format!(
                "{id}: check gave no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stderr)
            )
        }))
    }

    /// What a scenario's verdicts say (messages and findings; not the title, not the quoted
    /// messages), for checking what the evidence names.
    pub fn evidence(&self, id: &str) -> String {
        let s = self.scenario(id);
        let mut parts = vec![s["message"].to_string()];
        for r in s["requirements"].as_array().into_iter().flatten() {
            parts.push(r["message"].to_string());
            parts.push(r["findings"].to_string());
        }
        parts.join("\n")
    }
}

/// Runs `cpmconf run --client <profile>` with a private report and golden directory (nothing
/// is written into the repository), seed 7, the scenarios given (all when empty) and `extra`.
pub fn run(profile: &Profile, scenarios: &[&str], extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let path = profile.write(dir.path());
    let report = dir.path().join("report");
    let out = Command::new(env!("CARGO_BIN_EXE_cpmconf"))
        .current_dir(repo())
        .arg("run")
        .arg("--quiet")
        .arg("--client")
        .arg(&path)
        .arg("--report")
        .arg(&report)
        .arg("--golden")
        .arg(dir.path().join("golden"))
        .args(["--seed", "7", "--jobs", "2"])
        .args(scenarios.iter().flat_map(|s| ["--scenario", s]))
        .args(extra)
        .output()
        .unwrap();
    let results = match std::fs::read(report.join("results.json")) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap(),
        Err(e) => panic!(
            "no results.json ({e}); the run said:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    };
    Run { out, results, dir }
}

/// Scenario id -> `requires` of every scenario under scenarios/.
pub fn scenario_requires() -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![repo().join("scenarios")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml")
                && p.file_name().is_some_and(|n| n != "requirements.yaml")
            {
                let l = cpmconf_engine::scenario::load_file(&p).unwrap_or_else(|d| panic!("{d}"));
                out.insert(l.scenario.id.clone(), l.scenario.requires.clone());
            }
        }
    }
    out
}

/// Asserts that every scenario needing a capability the profile lacks is `not-applicable`
/// and names exactly those capabilities; returns the ids of the scenarios that ran.
pub fn assert_rest_not_applicable(run: &Run, declared: &[&str]) -> Vec<String> {
    let requires = scenario_requires();
    let mut ran = Vec::new();
    for s in run.scenarios() {
        let id = s["id"].as_str().unwrap_or("");
        let needs = requires
            .get(id)
            .unwrap_or_else(|| panic!("unknown scenario {id}"));
        let missing: Vec<&String> = needs
            .iter()
            .filter(|c| !declared.contains(&c.as_str()))
            .collect();
        if missing.is_empty() {
            ran.push(id.to_owned());
            continue;
        }
        assert_eq!(s["verdict"], "not-applicable", "{id}: {s:#}");
        let msg = s["message"].as_str().unwrap_or("");
        for c in &missing {
            assert!(msg.contains(c.as_str()), "{id}: {msg:?} does not name {c}");
        }
        for c in declared {
            assert!(
                !msg.split([' ', ',']).any(|w| w == *c),
                "{id}: {msg:?} names the declared {c}"
            );
        }
    }
    ran.sort();
    ran
}

/// Runs `cpmconf ARGS` in the repository.
pub fn cpmconf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cpmconf"))
        .current_dir(repo())
        .args(args)
        .output()
        .expect("cpmconf starts")
}

/// stdout and stderr of a finished command.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    let Ok(rd) = std::fs::read_dir(from) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// Runs a command with a deadline; kills it and panics when the deadline passes.
pub fn output_within(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let end = Instant::now() + limit;
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!("{cmd:?} did not finish within {limit:?}:\n{}", text(&o));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What the PyPI `junitparser` package reads from a JUnit file: the totals of the root element
/// and, per testcase, its result kind (`passed`, `failure`, `error`, `skipped`), the `type` of a
/// failure or error, its system-out and its properties.
pub fn junitparser_read(path: &Path) -> serde_json::Value {
    const SCRIPT: &str = r#"
import json, sys
try:
    from junitparser import JUnitXml
except ImportError:
    print("NO-JUNITPARSER")
    sys.exit(3)
x = JUnitXml.fromfile(sys.argv[1])
cases = {}
for suite in x:
    for case in suite:
        kinds = [type(r).__name__.lower() for r in case.result]
        kind = kinds[0] if kinds else "passed"
        ty = case.result[0].type if case.result else None
        props = [[p.get("name"), p.get("value")] for p in case._elem.iter("property")]
        cases[case.name] = {"result": kind, "type": ty, "passed": case.is_passed,
                            "system_out": case.system_out or "", "properties": props,
                            "suite": suite.name}
print(json.dumps({"tests": x.tests, "failures": x.failures, "errors": x.errors, "cases": cases}))
"#;
    let py = python();
    let o = output_within(
        Command::new(&py).arg("-c").arg(SCRIPT).arg(path),
        Duration::from_secs(60),
    );
    let out = String::from_utf8_lossy(&o.stdout);
    if out.contains("NO-JUNITPARSER") {
        panic!(
            "the Python package junitparser is missing for {py}: install it with \
             `python3 -m venv /opt/cpmconf-venv && /opt/cpmconf-venv/bin/pip install junitparser` \
             and set CPMCONF_PYTHON=/opt/cpmconf-venv/bin/python (.ci/run does both)"
        );
    }
    assert!(
        o.status.success(),
        "{py} failed reading {}: {}",
        path.display(),
        text(&o)
    );
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// Headless Chromium: `$CPMCONF_CHROMIUM`, else `chromium` (Debian) on the PATH or in /usr/bin.
pub fn chromium() -> PathBuf {
    if let Ok(p) = std::env::var("CPMCONF_CHROMIUM") {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]) {
        for name in ["chromium", "chromium-browser"] {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "headless Chromium is needed to check the HTML report in a real browser and was not \
         found: install it with `apt-get install -y chromium` (Debian; .ci/run does) or point \
         CPMCONF_CHROMIUM at a Chromium binary"
    );
}

/// Runs headless Chromium on `url` with `extra` flags (`--dump-dom`, `--screenshot=...`), with a
/// private profile directory and nothing fetched from the network.
pub fn chromium_run(url: &str, extra: &[String], profile: &Path) -> Output {
    let o = output_within(
        Command::new(chromium())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(extra)
            .arg(url),
        Duration::from_secs(120),
    );
    assert!(o.status.success(), "chromium failed on {url}: {}", text(&o));
    o
}
