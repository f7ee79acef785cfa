//! Helpers of the report tests: running `cpmconf`, copying report directories, and the external
//! readers the tests drive (Python with `junitparser`, headless Chromium), each failing with how
//! to install it when missing.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
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

/// The Python interpreter of the tests: `$CPMCONF_PYTHON` if set, else `python3`.
pub fn python() -> String {
    std::env::var("CPMCONF_PYTHON").unwrap_or_else(|_| "python3".into())
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
