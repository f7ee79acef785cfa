//! One judge for live and captured traffic: every scenario run live against the reference
//! client, then judged again from its own pcap and sidecar (`cpmconf check`'s path), gives the
//! same verdicts, findings, quotes and messages, and the same protocol-baseline results; so does
//! the same capture rewritten as pcapng, Linux cooked capture, IPv6 and with TCP split and
//! reordered; and so do the verifying scenarios of every named fault. A capture judged as one
//! made elsewhere (no timeline) never fails the correct client.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cpmconf_capture::rewrite::{
    read_frames, rewrite, v6_of, Rewrite, LINK_ETHERNET, LINK_SLL, LINK_SLL2,
};
use cpmconf_capture::{read_sidecar, CaptureFile};
use cpmconf_engine::check::{check_scenario, timeline_of, CaptureSurvey, CheckOptions};
use cpmconf_engine::judge::labels::Labeler;
use cpmconf_engine::report::Fanout;
use cpmconf_engine::runner::{run_scenario, run_suite, RunOptions, ScenarioReport};
use cpmconf_engine::scenario::{GroupItem, LoadedScenario, Step};
use cpmconf_engine::ut::ClientProfile;
use cpmconf_engine::validate::Suite;
use cpmconf_engine::verdict::ScenarioResult;
use cpmconf_engine::Catalogue;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn profile() -> ClientProfile {
    let text = std::fs::read_to_string(repo().join("fixtures/clients/reference.yaml")).unwrap();
    ClientProfile::from_yaml(&text, "reference profile").unwrap()
}

fn all_scenarios() -> Vec<LoadedScenario> {
    let cat = Catalogue::embedded().unwrap();
    Suite::load_dir(&repo().join("scenarios"), &cat)
        .and_then(Suite::valid)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// What must be equal: everything a verdict says, not where the ladder drew it.
fn verdicts(r: &ScenarioResult) -> String {
    let mut out = format!("{} {:?} {:?}\n", r.id, r.verdict, r.message);
    for q in &r.requirements {
        out.push_str(&format!(
            "  {} {:?} step {:?} {:?} {:?} {:?} advisory {} entry {:?}\n",
            q.id, q.verdict, q.step, q.findings, q.quote, q.message, q.advisory, q.trace_entry
        ));
    }
    for p in &r.protocol {
        out.push_str(&format!("  protocol {p:?}\n"));
    }
    out
}

fn options(dir: &Path, faults: Vec<String>, scenarios: Vec<LoadedScenario>) -> RunOptions {
    RunOptions {
        golden_root: None,
        seed: 11,
        faults,
        ..RunOptions::new(
            profile(),
            scenarios,
            dir.join("report"),
            repo().join("fixtures"),
        )
    }
}

/// Runs `scenarios` live with `faults`, then checks each pcap (replaying the run's timeline, or
/// as a capture made elsewhere); returns the differences and the (live, capture) results.
async fn live_then_check(
    faults: Vec<String>,
    scenarios: Vec<LoadedScenario>,
    replay: bool,
) -> (Vec<String>, Vec<(ScenarioResult, ScenarioResult)>) {
    let cat = Catalogue::embedded().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (opts, live) = run_live(&cat, dir.path(), faults, &scenarios).await;
    check_all(&cat, &opts, &scenarios, &live, replay).await
}

/// Runs `scenarios` live with `faults`, its report under `dir`; returns the options and the
/// live results.
async fn run_live(
    cat: &Catalogue,
    dir: &Path,
    faults: Vec<String>,
    scenarios: &[LoadedScenario],
) -> (RunOptions, Vec<ScenarioResult>) {
    let opts = options(dir, faults, scenarios.to_vec());
    let mut discard = Fanout::new();
    let mut on_done = |_: &ScenarioReport| {};
    let run = run_suite(
        cat,
        &opts,
        "reference",
        String::new(),
        &mut discard,
        &mut on_done,
    );
    let summary = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .expect("the suite ends within its deadlines")
        .expect("reporting");
    let live = summary.reports.iter().map(|r| r.result.clone()).collect();
    (opts, live)
}

/// Checks the pcap of each scenario of a finished run against its live result.
async fn check_all(
    cat: &Catalogue,
    opts: &RunOptions,
    scenarios: &[LoadedScenario],
    live: &[ScenarioResult],
    replay: bool,
) -> (Vec<String>, Vec<(ScenarioResult, ScenarioResult)>) {
    check_rewritten(cat, opts, scenarios, live, replay, None).await
}

/// [`check_all`] with every capture first rewritten into another form (its role map moved to
/// IPv6 with it).
async fn check_rewritten(
    cat: &Catalogue,
    opts: &RunOptions,
    scenarios: &[LoadedScenario],
    live: &[ScenarioResult],
    replay: bool,
    form: Option<Rewrite>,
) -> (Vec<String>, Vec<(ScenarioResult, ScenarioResult)>) {
    let mut diffs = Vec::new();
    let mut pairs = Vec::new();
    for (loaded, live) in scenarios.iter().zip(live) {
        let id = &loaded.scenario.id;
        let pcap = opts.report_dir.join("pcap").join(format!("{id}.pcap"));
        if !pcap.exists() {
            // Not applicable: nothing ran, nothing captured.
            continue;
        }
        let mut meta = read_sidecar(&pcap)
            .unwrap()
            .expect("a sidecar next to the pcap");
        let pcap = match form {
            None => pcap,
            Some(how) => {
                let (bytes, _) = rewrite(&read_frames(&pcap).unwrap(), how);
                let to = pcap.with_extension("rewritten");
                std::fs::write(&to, bytes).unwrap();
                if matches!(how, Rewrite::Ipv6 { .. }) {
                    for r in &mut meta.roles {
                        r.addr = v6_of(r.addr);
                    }
                }
                to
            }
        };
        assert_eq!(&meta.scenario, id);
        let timeline = timeline_of(&meta).unwrap();
        assert!(
            timeline.is_some(),
            "{id}: the sidecar carries the judge's timeline"
        );
        // Read as `cpmconf check` reads it: streamed, surveyed first.
        let capture = CaptureFile(pcap.clone());
        let survey = CaptureSurvey::of(&capture).unwrap();
        let labels = Labeler::new(meta.role_map());
        let p = profile();
        let checked = check_scenario(
            cat,
            loaded,
            &capture,
            &survey,
            &labels,
            timeline.as_ref().filter(|_| replay),
            &CheckOptions {
                profile: &p,
                strict: false,
                seed: meta.seed.unwrap(),
                capture_name: format!("{id}.pcap"),
            },
        )
        .await;
        pairs.push((live.clone(), checked.result.clone()));
        let (a, b) = (verdicts(live), verdicts(&checked.result));
        if a != b {
            let log = opts.report_dir.join("wire").join(format!("{id}.log"));
            let log = std::fs::read_to_string(log).unwrap_or_default();
            let live_entries: Vec<&str> = log.lines().filter(|l| l.starts_with("=== ")).collect();
            let only = |x: &str, y: &str| -> String {
                x.lines()
                    .filter(|l| !y.lines().any(|m| m == *l))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            diffs.push(format!(
                "{id}: live ({} trace entries) says\n{}\nthe capture ({} trace entries) says\n{}\nlive wire log:\n{}",
                live_entries.len(),
                only(&a, &b),
                survey.messages,
                only(&b, &a),
                live_entries.join("\n")
            ));
        }
    }
    (diffs, pairs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_scenario_judged_from_its_capture_gives_the_live_verdicts() {
    let cat = Catalogue::embedded().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let scenarios = all_scenarios();
    let (opts, live) = run_live(&cat, dir.path(), Vec::new(), &scenarios).await;
    // The capture as written, and rewritten as pcapng, Linux cooked capture (v1 and v2), IPv6,
    // and with every TCP segment split, reordered, duplicated and overlapped.
    for form in [
        None,
        Some(Rewrite::PcapNg { big: false }),
        Some(Rewrite::Link {
            link: LINK_SLL,
            big: false,
        }),
        Some(Rewrite::Link {
            link: LINK_SLL2,
            big: false,
        }),
        Some(Rewrite::Ipv6 {
            hop_by_hop: true,
            link: LINK_ETHERNET,
        }),
        Some(Rewrite::SplitTcp),
    ] {
        let (diffs, pairs) = check_rewritten(&cat, &opts, &scenarios, &live, true, form).await;
        assert!(
            pairs.len() >= 60,
            "{form:?}: every scenario checked: {}",
            pairs.len()
        );
        assert!(
            diffs.is_empty(),
            "{form:?}: {} scenario(s) differ:\n{}",
            diffs.len(),
            diffs.join("\n")
        );
    }
}

/// Every named fault with a verifying scenario: its verifying scenarios run live with the fault
/// on, and each capture replayed, give the live verdicts (the failures included).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_fault_judged_from_its_captures_gives_the_live_verdicts() {
    use cpmconf_engine::mutate::{plan, select_faults};
    let scenarios = all_scenarios();
    let faults = select_faults(&[]).unwrap();
    let cat = std::sync::Arc::new(Catalogue::embedded().unwrap());
    let dir = tempfile::tempdir().unwrap();
    // Every (fault, scenario) run at once, a few at a time; then each capture checked.
    let mut runs = Vec::new();
    for (fault, idx) in plan(&scenarios, &faults) {
        // Every verifying scenario; the User-Agent monitor is judged in every scenario of the
        // suite, and five of them are enough for it.
        let limit = if fault.id == "7/user-agent-header" {
            5
        } else {
            usize::MAX
        };
        let picked: Vec<LoadedScenario> = idx
            .iter()
            .take(limit)
            .map(|&i| scenarios[i].clone())
            .collect();
        if picked.is_empty() {
            continue;
        }
        let d = dir.path().join(fault.id.replace('/', "_"));
        let opts = std::sync::Arc::new(options(&d, vec![fault.id.to_string()], picked.clone()));
        runs.push((fault.id, opts, picked));
    }
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
    let start = std::time::Instant::now();
    let mut tasks = Vec::new();
    for (_, opts, picked) in &runs {
        for loaded in picked {
            let (cat, opts, loaded, sem) = (cat.clone(), opts.clone(), loaded.clone(), sem.clone());
            tasks.push(tokio::spawn(async move {
                let _p = sem.acquire_owned().await.unwrap();
                run_scenario(&cat, &opts, &loaded, start).await.result
            }));
        }
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let mut results = results.into_iter();
    let mut checked = 0;
    let mut caught = 0;
    let mut caught_without_timeline = 0;
    for (id, opts, picked) in &runs {
        let live: Vec<ScenarioResult> = results.by_ref().take(picked.len()).collect();
        checked += 1;
        if live
            .iter()
            .any(|l| l.verdict != cpmconf_engine::Verdict::Pass)
        {
            caught += 1;
        }
        let (diffs, _) = check_all(&cat, opts, picked, &live, true).await;
        assert!(diffs.is_empty(), "fault {id}: {}", diffs.join("\n"));
        // As a capture made elsewhere: what failed live fails or cannot be judged, what passed
        // passes or cannot be judged; never the other way round.
        let (_, pairs) = check_all(&cat, opts, picked, &live, false).await;
        let mut caught_here = false;
        for (l, c) in &pairs {
            for lr in &l.requirements {
                let Some(cr) = c.requirements.iter().find(|r| r.id == lr.id) else {
                    continue;
                };
                assert!(
                    cr.verdict == lr.verdict || cr.verdict == cpmconf_engine::Verdict::Inconclusive,
                    "fault {id}, {}: {} was {:?} live, {:?} from the capture: {:?} {:?}",
                    l.id,
                    lr.id,
                    lr.verdict,
                    cr.verdict,
                    cr.findings,
                    cr.message
                );
                caught_here |= lr.id == *id && cr.verdict == cpmconf_engine::Verdict::Fail;
            }
        }
        caught_without_timeline += usize::from(caught_here);
    }
    // A fault is still caught from a capture alone when its evidence lies inside what the
    // capture shows (66 of 111 measured on 2026-12-06; a fault shown by a message the client
    // never sent is not judged where the capture ends first).
    eprintln!(
        "faults caught from captures without the timeline: {caught_without_timeline} of {checked}"
    );
    assert!(
        caught_without_timeline >= 66,
        "{caught_without_timeline} of {checked}"
    );
    // The faults were on: most verifying scenarios failed, and the capture failed them alike.
    assert!(
        caught * 10 >= checked * 9,
        "{caught} of {checked} faults failed a scenario"
    );
    assert!(
        checked >= 100,
        "faults with a verifying scenario: {checked}"
    );
}

/// A capture made elsewhere (no timeline: stimuli observed, no upper-tester events, no `sync`)
/// of a correct client fails nothing: every requirement that passed live passes from the
/// capture or is inconclusive with the reason, and the scenarios that need nothing beyond the
/// wire and end inside the capture are judged as live.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_capture_without_the_runs_timeline_never_fails_a_correct_client() {
    let (_, pairs) = live_then_check(Vec::new(), all_scenarios(), false).await;
    let mut same = 0;
    for (live, cap) in &pairs {
        if verdicts(live) == verdicts(cap) {
            same += 1;
            continue;
        }
        eprintln!("{}: {:?}", live.id, cap.message);
        assert_eq!(
            live.requirements.len(),
            cap.requirements.len(),
            "{}",
            live.id
        );
        for l in &live.requirements {
            let c = cap
                .requirements
                .iter()
                .find(|c| c.id == l.id)
                .unwrap_or_else(|| panic!("{}: {} judged from the capture", live.id, l.id));
            if l.verdict == c.verdict {
                continue;
            }
            assert_eq!(
                c.verdict,
                cpmconf_engine::Verdict::Inconclusive,
                "{}: {} was {:?} live and {:?} from the capture: {:?} {:?}",
                live.id,
                l.id,
                l.verdict,
                c.verdict,
                c.findings,
                c.message
            );
            assert!(
                c.message.as_deref().is_some_and(|m| !m.is_empty()),
                "{}: {} says why",
                live.id,
                c.id
            );
        }
    }
    // A scenario of do, send and expect steps only (no `wait_for`, no `expect_none` window, no
    // MSRP close) needs nothing a capture lacks: it is judged exactly as live. (How many of the
    // others are judged in full depends on how long the capture runs after a window: not
    // asserted, reported.)
    eprintln!(
        "judged as live without the timeline: {same} of {}",
        pairs.len()
    );
    let scenarios = all_scenarios();
    let mut wire_only = 0;
    for (live, cap) in &pairs {
        let Some(l) = scenarios.iter().find(|l| l.scenario.id == live.id) else {
            continue;
        };
        let needs_more = l.scenario.steps.iter().any(|st| {
            let expect_close = |e: &cpmconf_engine::scenario::Expect| {
                matches!(&e.msrp, Some(cpmconf_engine::scenario::MsrpStart::Method(m)) if m.eq_ignore_ascii_case("CLOSE"))
            };
            match st {
                Step::WaitFor(_) | Step::ExpectNone(_) => true,
                Step::Expect(e) => expect_close(e),
                Step::Parallel(items) | Step::AnyOrder(items) => items.iter().any(|i| match i {
                    GroupItem::Expect(e) => expect_close(e),
                    _ => true,
                }),
                _ => false,
            }
        });
        if needs_more {
            continue;
        }
        wire_only += 1;
        assert_eq!(
            verdicts(live),
            verdicts(cap),
            "{}: only wire steps, judged from the capture without its timeline",
            live.id
        );
    }
    assert!(wire_only >= 20, "{wire_only} scenarios of wire steps only");
}
