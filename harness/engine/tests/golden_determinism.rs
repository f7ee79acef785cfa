//! Golden determinism under load: real scenarios that interleave SIP and MSRP traffic and run a
//! conference subscription, run five times with the same seed, three at once while four CPU-burning
//! threads keep the machine busy, give byte-identical golden projections; and the whole suite,
//! with other seeds, every scenario at once (`--jobs 64`) and busy loops beside, gives exactly
//! the committed golden projections (the reference client's fast clock and the short settling
//! window must not make them depend on timing).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cpmconf_engine::report::Fanout;
use cpmconf_engine::runner::{run_scenario, run_suite, RunOptions, ScenarioReport};
use cpmconf_engine::scenario::{load_file, LoadedScenario};
use cpmconf_engine::ut::ClientProfile;
use cpmconf_engine::validate::Suite;
use cpmconf_engine::{Catalogue, Verdict};

const SCENARIOS: [&str; 3] = [
    "7.3.4.3/bye-closes-chat",
    "7.3.1.3/predefined-group-new-conversation",
    "7.3.12/deferred-group-sendrecv-imdn-via-msrp",
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn load(rel: &str) -> LoadedScenario {
    let p = repo().join("scenarios").join(format!("{rel}.yaml"));
    load_file(&p).unwrap_or_else(|d| panic!("{d}"))
}

fn options(dir: &Path, scenarios: Vec<LoadedScenario>) -> RunOptions {
    let profile_path = repo().join("fixtures/clients/reference.yaml");
    let text = std::fs::read_to_string(&profile_path).expect("reference profile");
    RunOptions {
        golden_root: Some(dir.join("golden")),
        seed: 7,
        jobs: 4,
        ..RunOptions::new(
            ClientProfile::from_yaml(&text, "reference profile").expect("profile"),
            scenarios,
            dir.join("report"),
            repo().join("fixtures"),
        )
    }
}

/// The tests of this file load the machine themselves: they run one after the other, so each
/// sees the load it sets up (its burners and its scenarios), not the sum of all.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Busy threads until dropped: the machine is loaded while the scenarios run.
struct Burners {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Burners {
    fn start(n: usize) -> Burners {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..n)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x: u64 = 1;
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..10_000 {
                            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                        }
                        std::hint::black_box(x);
                    }
                })
            })
            .collect();
        Burners { stop, threads }
    }
}

impl Drop for Burners {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// One round: the three scenarios at once, each in its own report directory.
async fn round(cat: &Catalogue, scenarios: &[LoadedScenario]) -> Vec<ScenarioReport> {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = options(dir.path(), scenarios.to_vec());
    let start = std::time::Instant::now();
    let [a, b, c] = [0, 1, 2].map(|i| scenarios.get(i).expect("three scenarios"));
    let run = async {
        tokio::join!(
            run_scenario(cat, &opts, a, start),
            run_scenario(cat, &opts, b, start),
            run_scenario(cat, &opts, c, start),
        )
    };
    let (x, y, z) = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("a round ends within its deadlines");
    vec![x, y, z]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn same_seed_same_projection_under_load() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    let cat = Catalogue::embedded().expect("catalogue");
    let scenarios: Vec<LoadedScenario> = SCENARIOS.iter().map(|s| load(s)).collect();
    let _burn = Burners::start(4);
    let mut rounds = Vec::new();
    for _ in 0..5 {
        rounds.push(round(&cat, &scenarios).await);
    }
    let first = rounds.first().expect("a first round");
    for (k, r) in first.iter().enumerate() {
        let id = &r.result.id;
        assert_eq!(r.result.verdict, Verdict::Pass, "{id}: {:#?}", r.result);
        let golden = r.golden.as_deref().expect("a projection");
        // Not vacuous: SIP and MSRP both appear, with responses.
        assert!(
            golden.contains("MSRP SEND") && golden.contains("MSRP 200"),
            "{golden}"
        );
        assert!(
            golden.contains("INVITE") && golden.contains("NOTIFY"),
            "{golden}"
        );
        for (n, other) in rounds.iter().enumerate().skip(1) {
            let o = other.get(k).and_then(|x| x.golden.as_deref()).unwrap_or("");
            if o != golden {
                let diff = cpmconf_engine::golden::unified_diff(golden, o, id);
                panic!("{id}: round {} differs from round 1:\n{diff}", n + 1);
            }
        }
    }
}

/// Copies the committed golden snapshots of the reference client into `dir` (a failing
/// comparison writes `.snap.new` files beside them, which must not land in the checkout).
fn committed_goldens(dir: &Path) -> PathBuf {
    let from = repo().join("golden/reference");
    let to = dir.join("golden/reference");
    std::fs::create_dir_all(&to).expect("golden dir");
    let mut n = 0;
    for e in std::fs::read_dir(&from)
        .expect("golden/reference")
        .flatten()
    {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "snap") {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy a snapshot");
            n += 1;
        }
    }
    assert!(n > 40, "only {n} committed snapshots");
    dir.join("golden")
}

/// The whole suite against the reference client, every scenario at once, CPU-burning threads
/// beside, with seeds other than the goldens were written with: every scenario passes and its
/// projection equals the committed snapshot.
#[rstest::rstest]
#[case::seed_1_one_burner(1, 1)]
#[case::seed_424242_three_burners(424_242, 3)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_suite_at_64_jobs_matches_the_goldens_under_load(
    #[case] seed: u64,
    #[case] burners: usize,
) {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    let cat = Catalogue::embedded().expect("catalogue");
    let scenarios: Vec<LoadedScenario> = Suite::load_dir(&repo().join("scenarios"), &cat)
        .and_then(Suite::valid)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(scenarios.len() > 60, "{} scenarios", scenarios.len());
    let dir = tempfile::tempdir().expect("tempdir");
    let golden = committed_goldens(dir.path());
    let opts = RunOptions {
        golden_root: Some(golden),
        seed,
        jobs: 64,
        ..options(dir.path(), scenarios)
    };
    let _burn = Burners::start(burners);
    // An empty fan-out reports nothing.
    let mut discard = Fanout::new();
    let mut on_done = |_: &ScenarioReport| {};
    let run = run_suite(
        &cat,
        &opts,
        "reference",
        String::new(),
        &mut discard,
        &mut on_done,
    );
    let summary = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the suite ends within its deadlines")
        .expect("reporting");
    let failing: Vec<String> = summary
        .reports
        .iter()
        .filter(|r| r.result.verdict != Verdict::Pass)
        .map(|r| {
            format!(
                "{}: {:?} {}",
                r.result.id,
                r.result.verdict,
                r.result.message.clone().unwrap_or_default()
            )
        })
        .collect();
    assert!(failing.is_empty(), "seed {seed}: {failing:#?}");
    assert!(
        summary.regressions.is_empty(),
        "seed {seed}: golden projections differ for {:?}",
        summary.regressions
    );
    assert_eq!(summary.reports.len(), opts.scenarios.len());
}
