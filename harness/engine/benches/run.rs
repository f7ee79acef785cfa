//! Benchmarks of the live runner against the in-process reference client: one full run of every
//! scenario under scenarios/ with the default jobs (`runner::default_jobs`, 8 per core) and with
//! 2 (the core count, the default before), and the median scenario (the one whose duration is the
//! median of a first full run, measured alone).

use std::path::Path;
use std::time::Duration;

use cpmconf_engine::report::Fanout;
use cpmconf_engine::runner::{default_jobs, run_scenario, run_suite, RunOptions};
use cpmconf_engine::scenario::LoadedScenario;
use cpmconf_engine::ut::ClientProfile;
use cpmconf_engine::validate::Suite;
use cpmconf_engine::Catalogue;
use criterion::{criterion_group, criterion_main, Criterion};

fn options(dir: &Path) -> RunOptions {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let catalogue = cpmconf_engine::Catalogue::embedded().expect("catalogue");
    let scenarios: Vec<LoadedScenario> = Suite::load_dir(&repo.join("scenarios"), &catalogue)
        .and_then(Suite::valid)
        .expect("a valid suite");
    RunOptions {
        golden_root: Some(dir.join("golden")),
        seed: 1,
        jobs: default_jobs(),
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
            &mut Fanout::new(),
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
    let two = RunOptions {
        jobs: 2,
        ..opts.clone()
    };
    for (name, o) in [
        (format!("full run, {} jobs (default)", opts.jobs), &opts),
        ("full run, 2 jobs".to_owned(), &two),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(run_suite(
                    &cat,
                    o,
                    "reference",
                    "bench".into(),
                    &mut Fanout::new(),
                    &mut |_| {},
                ))
                .expect("run")
            })
        });
    }
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
