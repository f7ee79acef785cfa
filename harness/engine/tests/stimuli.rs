//! The simulator keeps its own rules: every scenario of `scenarios/` runs against the in-process
//! reference client, and every message the simulated network sent (core, registrar, PF, CF,
//! remote users) is decoded and judged by the checks the suite applies to the client (codec
//! findings of severity warning or error in the message and its bodies, the protocol baseline)
//! and by the stimulus rules (Conversation-ID, Contribution-ID, Accept-Contact,
//! P-Asserted-Identity, product tokens, CPIM Message-ID and DateTime). The client's own
//! baseline must pass too, and must have had something to check.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cpmconf_engine::report::Fanout;
use cpmconf_engine::runner::monitor::WELL_FORMED;
use cpmconf_engine::runner::{run_suite, RunOptions};
use cpmconf_engine::scenario::{load_file, scenario_files, LoadedScenario};
use cpmconf_engine::ut::ClientProfile;
use cpmconf_engine::{Catalogue, Verdict};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stimulus_passes_the_rules_the_client_is_judged_by() {
    let root = repo_root();
    let files = scenario_files(&root.join("scenarios"));
    let scenarios: Vec<LoadedScenario> = files
        .iter()
        .map(|f| load_file(f).unwrap_or_else(|d| panic!("{d}")))
        .collect();
    assert!(scenarios.len() > 10, "scenarios/ holds the suite");
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = RunOptions {
        seed: 20261205,
        jobs: 2,
        strict: true,
        ..RunOptions::new(
            ClientProfile::load(&root.join("fixtures/clients/reference.yaml"))
                .expect("the reference profile loads"),
            scenarios,
            dir.path().join("report"),
            root.join("fixtures"),
        )
    };
    let cat = Catalogue::embedded().expect("catalogue");
    let (mut quiet, mut on_done) = (Fanout::new(), |_: &_| {});
    let run = run_suite(
        &cat,
        &opts,
        "reference",
        "stimuli".into(),
        &mut quiet,
        &mut on_done,
    );
    let summary = tokio::time::timeout(Duration::from_secs(600), run)
        .await
        .expect("the suite ends within its deadlines")
        .expect("no reporter I/O");
    let mut problems = Vec::new();
    for r in summary.results() {
        if r.verdict != Verdict::Pass {
            problems.push(format!("{}: verdict {} ({:?})", r.id, r.verdict, r.message));
        }
        for f in &r.stimuli {
            problems.push(format!(
                "{}: simulator broke {} ({}): {}: expected {}, seen {}",
                r.id,
                f.rule,
                f.strength.as_str(),
                f.what,
                f.expected,
                f.seen
            ));
        }
        for p in r.protocol.iter().filter(|p| p.verdict != Verdict::Pass) {
            problems.push(format!(
                "{}: client {} {}: {:?}",
                r.id, p.rule, p.verdict, p.findings
            ));
        }
        // Not vacuous: the client's messages were decoded and judged in every scenario.
        let well_formed = r.protocol.iter().find(|p| p.rule == WELL_FORMED);
        if !well_formed.is_some_and(|p| p.checked > 0) {
            problems.push(format!("{}: no client message was judged", r.id));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
