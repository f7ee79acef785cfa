//! A missing golden file and a differing one are counted apart in the run's gate: the first is
//! reported and passes, the second fails the gate.

use std::path::{Path, PathBuf};

use cpmconf_engine::report::JsonReporter;
use cpmconf_engine::runner::{run_suite, RunOptions};
use cpmconf_engine::scenario::load_file;
use cpmconf_engine::ut::ClientProfile;
use cpmconf_engine::Catalogue;

const SCENARIO: &str = "7.3.4.3/bye-closes-chat";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn options(dir: &Path) -> RunOptions {
    let text = std::fs::read_to_string(repo().join("fixtures/clients/reference.yaml"))
        .expect("reference profile");
    let scenario = load_file(&repo().join("scenarios").join(format!("{SCENARIO}.yaml")))
        .unwrap_or_else(|d| panic!("{d}"));
    RunOptions {
        golden_root: Some(dir.join("golden")),
        seed: 7,
        ..RunOptions::new(
            ClientProfile::from_yaml(&text, "reference profile").expect("profile"),
            vec![scenario],
            dir.join("report"),
            repo().join("fixtures"),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_golden_passes_and_a_diff_fails_counted_apart() {
    let cat = Catalogue::embedded().expect("catalogue");
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = options(dir.path());
    let mut json = JsonReporter::new(Vec::new());
    let s = run_suite(
        &cat,
        &opts,
        "reference",
        String::new(),
        &mut json,
        &mut |_| {},
    )
    .await
    .expect("first run");
    assert_eq!((s.gate.golden_missing, s.gate.golden_diffs), (1, 0));
    assert!(
        s.gate.passed,
        "a missing golden file does not fail the gate"
    );
    let results = String::from_utf8(json.into_inner()).expect("utf-8");
    assert!(results.contains("\"golden_missing\": 1"), "{results}");

    // The pending file becomes a golden file with other content: now it differs.
    let golden = dir
        .path()
        .join("golden/reference")
        .join(format!("{}.snap", s.reports[0].result.id));
    let pending = golden.with_extension("snap.new");
    let text = std::fs::read_to_string(&pending).expect("a pending .snap.new was written");
    std::fs::write(&golden, format!("{text}client -> nobody: NOTHING\n")).expect("write golden");
    let mut json = JsonReporter::new(Vec::new());
    let s = run_suite(
        &cat,
        &opts,
        "reference",
        String::new(),
        &mut json,
        &mut |_| {},
    )
    .await
    .expect("second run");
    assert_eq!((s.gate.golden_missing, s.gate.golden_diffs), (0, 1));
    assert!(!s.gate.passed, "a golden diff fails the gate");
}
