//! Golden determinism under load: real scenarios that interleave SIP and MSRP traffic and run a
//! conference subscription, run five times with the same seed, three at once while four CPU-burning
//! threads keep the machine busy, give byte-identical golden projections.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cpmconf_engine::runner::{run_scenario, RunOptions, ScenarioReport};
use cpmconf_engine::scenario::{load_file, LoadedScenario};
use cpmconf_engine::ut::ClientProfile;
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
