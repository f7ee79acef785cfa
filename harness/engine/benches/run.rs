//! Benchmarks of the live runner against the in-process reference client: one full run of every
//! scenario under scenarios/ (jobs = 2, as on this 2-core machine) and the median scenario (the
//! one whose duration is the median of a first full run, measured alone).

use std::path::Path;
use std::time::Duration;

use cpmconf_engine::report::{Reporter, RunEvent};
use cpmconf_engine::runner::{run_scenario, run_suite, RunOptions};
use cpmconf_engine::scenario::{load_file, LoadedScenario};
use cpmconf_engine::ut::ClientProfile;
use cpmconf_engine::Catalogue;
use criterion::{criterion_group, criterion_main, Criterion};

/// Every scenario file under `dir` (the catalogue `requirements.yaml` is not one).
fn scenario_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            scenario_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "yaml")
            && p.file_name().is_some_and(|n| n != "requirements.yaml")
        {
            out.push(p);
        }
    }
}

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
    let mut files = Vec::new();
    scenario_files(&repo.join("scenarios"), &mut files);
    let scenarios: Vec<LoadedScenario> = files.iter().filter_map(|f| load_file(f).ok()).collect();
    RunOptions {
        golden_root: Some(dir.join("golden")),
        seed: 1,
        jobs: 2,
        bless: true,
        ..RunOptions::new(
            ClientProfile::load(&repo.join("fixtures/clients/reference.yaml"))
                .expect("reference profile"),
            scenarios,
            dir.join("report"),
            repo.join("fixtures"),
        )
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
    // A first full run picks the median scenario by its own duration.
    let first = rt
        .block_on(run_suite(
            &cat,
            &opts,
            "reference",
            "bench".into(),
            &mut Discard,
            &mut |_| {},
        ))
        .expect("run");
    let mut by_time: Vec<(u64, String)> = first
        .reports
        .iter()
        .map(|r| (r.result.duration_ms, r.result.id.clone()))
        .collect();
    by_time.sort();
    let (median_ms, median_id) = by_time[by_time.len() / 2].clone();
    eprintln!(
        "{} scenarios; median scenario {median_id} ({median_ms} ms in the first run)",
        by_time.len()
    );
    g.bench_function("full run (all scenarios)", |b| {
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
        .find(|l| l.scenario.id == median_id)
        .cloned()
        .expect("the median scenario is loaded");
    g.bench_function("median scenario", |b| {
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
