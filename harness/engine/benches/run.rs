//! Benchmarks of the live runner against the in-process reference client: one full run of the
//! first scenarios (registration, pager mode both ways, BYE with and without Reason) and one
//! median scenario (pager-mode-sent).

use std::path::Path;
use std::time::Duration;

use cpmconf_engine::report::{Reporter, RunEvent};
use cpmconf_engine::runner::{run_scenario, run_suite, RunOptions, Timing};
use cpmconf_engine::scenario::{load_file, LoadedScenario};
use cpmconf_engine::ut::ClientProfile;
use cpmconf_engine::{Catalogue, KnownFailures};
use criterion::{criterion_group, criterion_main, Criterion};

const SCENARIOS: &[&str] = &[
    "7.1/register-with-digest",
    "7/pager-mode-sent",
    "7/pager-mode-received",
    "7.3.4.3/bye-closes-chat",
    "7.3.4.3/bye-completed-elsewhere",
];

struct Discard;

impl Reporter for Discard {
    fn event(&mut self, _: &RunEvent) -> std::io::Result<()> {
        Ok(())
    }
    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn options(dir: &Path) -> RunOptions {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let scenarios: Vec<LoadedScenario> = SCENARIOS
        .iter()
        .filter_map(|s| load_file(&repo.join("scenarios").join(format!("{s}.yaml"))).ok())
        .collect();
    RunOptions {
        profile: ClientProfile::load(&repo.join("fixtures/clients/reference.yaml"))
            .expect("reference profile"),
        scenarios,
        report_dir: dir.join("report"),
        golden_root: dir.join("golden"),
        fixtures_dir: repo.join("fixtures"),
        seed: 1,
        timing: Timing::nominal(),
        jobs: 2,
        strict: false,
        known: KnownFailures::default(),
        faults: Vec::new(),
        bless: true,
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = options(dir.path());
    let cat = Catalogue::embedded().expect("catalogue");
    let mut g = c.benchmark_group("run");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("full run (first scenarios)", |b| {
        b.iter(|| {
            rt.block_on(run_suite(
                &cat,
                &opts,
                "reference",
                "bench".into(),
                &mut Discard,
                &mut |_| {},
            ))
            .expect("run")
        })
    });
    let median = opts
        .scenarios
        .iter()
        .find(|l| l.scenario.id == "pager-mode-sent")
        .cloned()
        .expect("pager-mode-sent");
    g.bench_function("median scenario (pager-mode-sent)", |b| {
        b.iter(|| {
            rt.block_on(run_scenario(
                &cat,
                &opts,
                &median,
                std::time::Instant::now(),
            ))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
