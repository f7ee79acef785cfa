//! The live runner against the real simulated network and the in-process reference client on
//! 127.0.0.1: any-order groups, expect_none windows, deadlines (scaled), failures naming step and
//! requirement, not-applicable, a crashing adapter, and golden determinism per seed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cpmconf_engine::report::{Reporter, RunEvent};
use cpmconf_engine::runner::{run_scenario, run_suite, RunOptions, Timing};
use cpmconf_engine::scenario::{load_file, LoadedScenario};
use cpmconf_engine::ut::ClientProfile;
use cpmconf_engine::{Catalogue, Verdict};

const REFERENCE: &str = r#"
name: reference
adapter: { kind: in_process }
identity: { user: alice, domain: test, password: alice-secret, instance_id: "urn:gsma:imei:A-1" }
transport: udp
capabilities: [pager, chat]
"#;

fn fixture(name: &str) -> LoadedScenario {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/runner")
        .join(format!("{name}.yaml"));
    load_file(&p).unwrap_or_else(|d| panic!("{d}"))
}

fn options(profile: &str, scenarios: Vec<LoadedScenario>, dir: &Path, seed: u64) -> RunOptions {
    RunOptions {
        golden_root: Some(dir.join("golden")),
        seed,
        jobs: 2,
        ..RunOptions::new(
            ClientProfile::from_yaml(profile, "test profile").unwrap(),
            scenarios,
            dir.join("report"),
            dir.to_path_buf(),
        )
    }
}

async fn one(name: &str, scale: f64) -> (cpmconf_engine::runner::ScenarioReport, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(REFERENCE, vec![fixture(name)], dir.path(), 11);
    opts.timing = Timing {
        scale,
        ..opts.timing
    };
    let cat = Catalogue::embedded().unwrap();
    let loaded = opts.scenarios[0].clone();
    let t = std::time::Instant::now();
    let r = tokio::time::timeout(
        Duration::from_secs(60),
        run_scenario(&cat, &opts, &loaded, std::time::Instant::now()),
    )
    .await
    .expect("the scenario ends within its deadlines");
    (r, t.elapsed())
}

fn requirement(
    r: &cpmconf_engine::runner::ScenarioReport,
    id: &str,
) -> cpmconf_engine::RequirementResult {
    r.result
        .requirements
        .iter()
        .find(|x| x.id == id)
        .cloned()
        .unwrap_or_else(|| panic!("no verdict for {id}: {:#?}", r.result))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_order_group_takes_messages_in_any_order() {
    let (r, _) = one("any-order", 1.0).await;
    assert_eq!(r.result.verdict, Verdict::Pass, "{:#?}", r.result);
    assert_eq!(requirement(&r, "7/send-pager-mode").verdict, Verdict::Pass);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expect_none_fails_on_a_forbidden_message_and_quotes_it() {
    let (r, _) = one("expect-none-violated", 1.0).await;
    let req = requirement(&r, "7/send-pager-mode");
    assert_eq!(req.verdict, Verdict::Fail, "{:#?}", r.result);
    assert_eq!(req.step, Some(2));
    assert!(
        req.quote
            .iter()
            .any(|l| l.starts_with("MESSAGE sip:bob@test")),
        "{:?}",
        req.quote
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expect_none_window_closes_early_on_sync() {
    let (r, took) = one("expect-none-quiet", 1.0).await;
    assert_eq!(
        requirement(&r, "7/send-pager-mode").verdict,
        Verdict::Pass,
        "{:#?}",
        r.result
    );
    // The window is 5 s; the reference client confirms quiescence at once.
    assert!(took < Duration::from_secs(4), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmet_expectation_fails_at_its_scaled_deadline() {
    let (r, took) = one("deadline", 1.0).await;
    let req = requirement(&r, "7/send-pager-mode");
    assert_eq!(req.verdict, Verdict::Fail, "{:#?}", r.result);
    assert_eq!(req.step, Some(1));
    assert!(
        req.findings[0].seen.contains("nothing before the deadline"),
        "{:?}",
        req.findings
    );
    assert!(took >= Duration::from_millis(300), "took {took:?}");
    let (_, scaled) = one("deadline", 4.0).await;
    assert!(
        scaled >= Duration::from_millis(1200),
        "scaled run took {scaled:?}"
    );
}

// Issue 15 item 10: an `expect` does not claim what the client sent before the latest stimulus
// (unless the step says `earlier: true`), and `after:` checks the order of two messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_sent_before_the_stimulus_is_not_claimed_and_fails_on_order() {
    let (r, _) = one("order-before-stimulus", 1.0).await;
    let req = requirement(&r, "7/send-pager-mode");
    assert_eq!(req.verdict, Verdict::Fail, "{:#?}", r.result);
    assert_eq!(req.step, Some(5));
    let f = &req.findings[0];
    assert_eq!(f.key.as_deref(), Some("order"), "{f}");
    assert!(f.seen.contains("sent before the step started"), "{f}");
    assert!(
        req.quote
            .iter()
            .any(|l| l.starts_with("MESSAGE sip:bob@test")),
        "{:?}",
        req.quote
    );
    let (r, _) = one("order-before-stimulus-allowed", 1.0).await;
    assert_eq!(
        requirement(&r, "7/send-pager-mode").verdict,
        Verdict::Pass,
        "{:#?}",
        r.result
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_fails_a_message_that_came_before_the_saved_one() {
    let (r, _) = one("order-after", 1.0).await;
    let req = requirement(&r, "7/send-pager-mode");
    assert_eq!(req.verdict, Verdict::Fail, "{:#?}", r.result);
    let f = &req.findings[0];
    assert_eq!(f.key.as_deref(), Some("order"), "{f}");
    assert!(f.expected.contains("after the message saved as ok"), "{f}");
    let (r, _) = one("order-after-kept", 1.0).await;
    assert_eq!(
        requirement(&r, "7/send-pager-mode").verdict,
        Verdict::Pass,
        "{:#?}",
        r.result
    );
}

/// A scenario of the suite (`scenarios/<rel>`).
fn suite_scenario(rel: &str) -> LoadedScenario {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(rel);
    load_file(&p).unwrap_or_else(|d| panic!("{d}"))
}

/// The built-in reference client profile (every capability, the provisioned values).
fn reference_profile() -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/clients/reference.yaml");
    std::fs::read_to_string(p).unwrap()
}

/// The reference client's profile with `quirk` switched on.
fn quirk_profile(quirk: &str) -> String {
    format!(
        "{}reference: {{ quirks: [{quirk}] }}\n",
        reference_profile()
    )
}

async fn suite_run(rel: &str, faults: &[&str]) -> cpmconf_engine::runner::ScenarioReport {
    suite_run_with(rel, faults, &reference_profile()).await
}

async fn suite_run_with(
    rel: &str,
    faults: &[&str],
    profile: &str,
) -> cpmconf_engine::runner::ScenarioReport {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(profile, vec![suite_scenario(rel)], dir.path(), 11);
    opts.golden_root = None;
    opts.fixtures_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    opts.faults = faults.iter().map(|f| f.to_string()).collect();
    let cat = Catalogue::embedded().unwrap();
    let loaded = opts.scenarios[0].clone();
    tokio::time::timeout(
        Duration::from_secs(60),
        run_scenario(&cat, &opts, &loaded, std::time::Instant::now()),
    )
    .await
    .expect("the scenario ends within its deadlines")
}

// 7.3.12 c i: the BYE comes only after the Participant Information was received and the IMDNs
// were sent. The reference client waits for it (passes); with the fault it leaves right after
// its delivery IMDN, before the Participant Information, and the ordering check fails it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deferred_group_bye_before_the_participant_information_fails_on_order() {
    let rel = "7.3.12/deferred-group-idle-bye-no-subscribe.yaml";
    let r = suite_run(rel, &[]).await;
    assert_eq!(r.result.verdict, Verdict::Pass, "{:#?}", r.result);
    let r = suite_run(rel, &["7.3.12/terminate-after-delivery"]).await;
    let req = requirement(&r, "7.3.12/terminate-after-delivery");
    assert_eq!(req.verdict, Verdict::Fail, "{:#?}", r.result);
    // Judged by the ordering check before the Participant Information goes out (step 5).
    assert_eq!(req.step, Some(5), "{:#?}", r.result);
    assert!(
        req.findings[0].seen.starts_with("BYE "),
        "{:?}",
        req.findings
    );
    assert!(
        req.quote.iter().any(|l| l.starts_with("BYE ")),
        "{:?}",
        req.quote
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_condition_names_expected_and_seen() {
    let (r, _) = one("wrong-header", 1.0).await;
    let req = requirement(&r, "7/send-pager-mode");
    assert_eq!(req.verdict, Verdict::Fail);
    assert_eq!(req.step, Some(2));
    let f = &req.findings[0];
    assert_eq!(f.what, "header Subject");
    assert!(f.expected.contains("not sent by anyone"), "{f}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_capability_is_not_applicable() {
    let (r, took) = one("needs-capability", 1.0).await;
    assert_eq!(r.result.verdict, Verdict::NotApplicable);
    assert!(r.golden.is_none());
    assert!(took < Duration::from_secs(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_gives_byte_identical_golden_projections() {
    let (a, _) = one("unregistered-pager", 1.0).await;
    let (b, _) = one("unregistered-pager", 1.0).await;
    assert_eq!(a.result.verdict, Verdict::Pass, "{:#?}", a.result);
    let (a, b) = (a.golden.unwrap(), b.golden.unwrap());
    assert!(a.contains("client -> bob: MESSAGE sip:bob@test"), "{a}");
    assert!(a.contains("cpim text: \"seeded "), "{a}");
    assert_eq!(a, b);
}

/// Collects events for inspection.
#[derive(Default)]
struct Collect(Vec<RunEvent>);

impl Reporter for Collect {
    fn event(&mut self, ev: &RunEvent) -> std::io::Result<()> {
        self.0.push(ev.clone());
        Ok(())
    }
    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn crash_profile(dir: &Path, script: &str) -> String {
    let p: PathBuf = dir.join("adapter.py");
    std::fs::write(&p, script).unwrap();
    format!(
        "name: crashing\nadapter: {{ kind: process, command: [python3, {:?}] }}\n\
         identity: {{ user: alice, domain: test, password: x, instance_id: \"urn:uuid:1\" }}\n\
         capabilities: [pager]\n",
        p.display().to_string()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_adapter_gives_error_with_its_stderr_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let profile = crash_profile(
        dir.path(),
        "import sys\nsys.stdin.readline()\nsys.stderr.write('adapter blew up: segfault in chat stack\\n')\nsys.exit(3)\n",
    );
    let opts = options(
        &profile,
        vec![fixture("deadline"), fixture("any-order")],
        dir.path(),
        5,
    );
    let cat = Catalogue::embedded().unwrap();
    let mut rep = Collect::default();
    let summary = tokio::time::timeout(
        Duration::from_secs(60),
        run_suite(&cat, &opts, "crashing", "now".into(), &mut rep, &mut |_| {}),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        summary.reports.len(),
        2,
        "the run goes on after the first crash"
    );
    for r in &summary.reports {
        assert_eq!(r.result.verdict, Verdict::Error, "{:#?}", r.result);
        let m = r.result.message.clone().unwrap_or_default();
        assert!(m.contains("adapter blew up"), "stderr tail missing: {m}");
    }
    assert!(!summary.gate.passed);
    assert!(dir.path().join("report/pcap/deadline.pcap").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adapter_printing_garbage_gives_error() {
    let dir = tempfile::tempdir().unwrap();
    let profile = crash_profile(
        dir.path(),
        "import sys\nsys.stdin.readline()\nprint('this is not json', flush=True)\nsys.stdin.readline()\n",
    );
    let opts = options(&profile, vec![fixture("deadline")], dir.path(), 5);
    let cat = Catalogue::embedded().unwrap();
    let loaded = opts.scenarios[0].clone();
    let r = tokio::time::timeout(
        Duration::from_secs(60),
        run_scenario(&cat, &opts, &loaded, std::time::Instant::now()),
    )
    .await
    .unwrap();
    assert_eq!(r.result.verdict, Verdict::Error);
    assert!(
        r.result
            .message
            .clone()
            .unwrap_or_default()
            .contains("not protocol JSON"),
        "{:#?}",
        r.result
    );
}

// CR 7.4.5 / 7.4.5.1 items 2 a and 5 against the live reference client: unfaulted, the three
// requirements pass; each fault fails exactly its own requirement and leaves the other two
// passing (one finding, one requirement).
#[rstest::rstest]
#[case::conformant(None)]
#[case::no_tracking(Some("7.4.5/track-transferred-bytes"))]
#[case::no_device_id(Some("7.4.5.1/sender-device-id"))]
#[case::resent_from_byte_one(Some("7.4.5.1/media-plane-byte-range"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_resume_fault_fails_only_its_own_requirement(#[case] fault: Option<&str>) {
    let rel = "7.4.5.1/resume-sender-after-partial-ack.yaml";
    let r = suite_run(rel, &fault.into_iter().collect::<Vec<_>>()).await;
    for id in [
        "7.4.5/track-transferred-bytes",
        "7.4.5.1/sender-device-id",
        "7.4.5.1/media-plane-byte-range",
    ] {
        let want = if Some(id) == fault {
            Verdict::Fail
        } else {
            Verdict::Pass
        };
        let got = requirement(&r, id);
        assert_eq!(got.verdict, want, "{id} with fault {fault:?}: {got:#?}");
    }
}

// CR 7.4.3 (7.4.3/abort-bye-sender) against the live reference client: pacing its chunks on
// their MSRP 200s (the default window of 4) it is still sending when the user aborts, and ends
// the session with BYE (pass); with the fault it closes MSRP without a BYE and fails, at the BYE
// step; writing the whole file at once (`reference: { file_send_window: unbounded }` in the
// profile) it never is in the situation, and the scenario stops inconclusive at the first
// precondition, neither pass nor fail. A window of one chunk (stop-and-wait) is paced too.
#[rstest::rstest]
#[case::paced(None, "", Verdict::Pass, "step 10")]
#[case::stop_and_wait(None, "reference: { file_send_window: 1 }\n", Verdict::Pass, "step 10")]
#[case::no_bye(Some("7.4.3/abort-bye-sender"), "", Verdict::Fail, "step 10")]
#[case::whole_file_at_once(
    None,
    "reference: { file_send_window: unbounded }\n",
    Verdict::Inconclusive,
    "step 6"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_abort_is_judged_only_while_the_file_is_incomplete(
    #[case] fault: Option<&str>,
    #[case] setting: &str,
    #[case] want: Verdict,
    #[case] step: &str,
) {
    let profile = format!("{}{setting}", reference_profile());
    let r = suite_run_with(
        "7.4.3/sender-abort-bye.yaml",
        &fault.into_iter().collect::<Vec<_>>(),
        &profile,
    )
    .await;
    let got = requirement(&r, "7.4.3/abort-bye-sender");
    assert_eq!(got.verdict, want, "{:#?}", r.result);
    // Judged at the BYE step, or stopped at the first precondition (named in the message).
    let at = got.step.map(|n| format!("step {n}"));
    let named = got.message.as_deref().unwrap_or_default().contains(step);
    assert!(at.as_deref() == Some(step) || named, "{got:#?}");
    assert_eq!(r.result.verdict, want, "{:#?}", r.result);
}

// CR 7.4.5.2 item 1 (L262) against the live reference client, under each reading of "the
// device identifier used in the CPIM From header is set as described in section 6.1.1" the
// profile can name (`readings.device_id_in_cpim_from`), and without one (the reference client
// then sends the file unwrapped: no CPIM From exists, the requirement is inconclusive and the
// resumed Byte-Range is still judged). The fault names another device in the From: it fails
// its own requirement under either reading and nothing else.
#[rstest::rstest]
#[case::gruu("gruu", None, Verdict::Pass)]
#[case::instance("instance", None, Verdict::Pass)]
#[case::unwrapped("", None, Verdict::Inconclusive)]
#[case::gruu_foreign_device("gruu", Some("7.4.5.2/sender-cpim-from-device-id"), Verdict::Fail)]
#[case::instance_foreign_device(
    "instance",
    Some("7.4.5.2/sender-cpim-from-device-id"),
    Verdict::Fail
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cpim_from_device_id_is_judged_under_the_profiles_reading(
    #[case] reading: &str,
    #[case] fault: Option<&str>,
    #[case] want: Verdict,
) {
    let rel = "7.4.5.2/resume-known-file-200.yaml";
    let base = reference_profile();
    assert!(
        base.contains("device_id_in_cpim_from: gruu"),
        "the reference profile names the gruu reading"
    );
    let profile = if reading.is_empty() {
        assert!(base.contains("readings:\n  device_id_in_cpim_from: gruu\n"));
        base.replace("readings:\n  device_id_in_cpim_from: gruu\n", "")
    } else {
        base.replace(
            "device_id_in_cpim_from: gruu",
            &format!("device_id_in_cpim_from: {reading}"),
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(&profile, vec![suite_scenario(rel)], dir.path(), 11);
    opts.golden_root = None;
    opts.fixtures_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    opts.faults = fault.iter().map(|f| f.to_string()).collect();
    let cat = Catalogue::embedded().unwrap();
    let loaded = opts.scenarios[0].clone();
    let r = tokio::time::timeout(
        Duration::from_secs(60),
        run_scenario(&cat, &opts, &loaded, std::time::Instant::now()),
    )
    .await
    .expect("the scenario ends within its deadlines");
    let got = requirement(&r, "7.4.5.2/sender-cpim-from-device-id");
    assert_eq!(
        got.verdict, want,
        "reading {reading:?}, fault {fault:?}: {got:#?}"
    );
    for id in ["7.4.5.2/sender-200-ok-file", "7.4.5.2/responder-procedure"] {
        let other = requirement(&r, id);
        assert_eq!(other.verdict, Verdict::Pass, "{id}: {other:#?}");
    }
}

// Clients written differently from the reference client, in ways no named fault describes
// (`reference: { quirks: [...] }`, cpmconf_ut::Quirk): each check must pass a variant the CR
// allows and fail a wrong one on its own requirement only. Each row: the quirk, a scenario that
// reaches the situation, and the one requirement that must fail (None: every verdict passes).
#[rstest::rstest]
// RFC 6665 4.1.2.1: without Expires the package's default applies; still a refresh.
#[case::refresh_without_expires(
    "refresh-without-expires",
    "7.3.1.3/conference-subscription-refreshed.yaml",
    None
)]
#[case::refresh_without_expires_short(
    "refresh-without-expires",
    "7.3.1.3/conference-subscription-refreshed-short-grant.yaml",
    None
)]
#[case::refresh_without_expires_race(
    "refresh-without-expires",
    "7.3.1.5.1/rejoin-race-subscription-refreshed.yaml",
    None
)]
#[case::refresh_without_expires_deferred(
    "refresh-without-expires",
    "7.3.12/deferred-group-subscription-refreshed.yaml",
    None
)]
// Expires: 0 ends the subscription: not a refresh, in each of the three clauses that require one.
#[case::refresh_expires_zero(
    "refresh-with-expires-zero",
    "7.3.1.3/conference-subscription-refreshed.yaml",
    Some("7.3.1.3/maintain-conference-subscription")
)]
#[case::refresh_expires_zero_race(
    "refresh-with-expires-zero",
    "7.3.1.5.1/rejoin-race-subscription-refreshed.yaml",
    Some("7.3.1.5.1/maintain-subscription")
)]
#[case::refresh_expires_zero_deferred(
    "refresh-with-expires-zero",
    "7.3.12/deferred-group-subscription-refreshed.yaml",
    Some("7.3.12/maintain-subscription")
)]
// A fixed 3 s refresh keeps a 4 s grant alive and lets a 2 s grant lapse: the second case.
#[case::refresh_every_3s_long_grant(
    "refresh-every-3s",
    "7.3.1.3/conference-subscription-refreshed.yaml",
    None
)]
#[case::refresh_every_3s_short_grant(
    "refresh-every-3s",
    "7.3.1.3/conference-subscription-refreshed-short-grant.yaml",
    Some("7.3.1.3/maintain-conference-subscription")
)]
// RFC 3862 3.3: a display name may precede the CPIM To address.
#[case::cpim_to_display_name_adhoc(
    "cpim-to-display-name",
    "7.3.9.1/cpim-to-adhoc-group.yaml",
    None
)]
#[case::cpim_to_display_name_predefined(
    "cpim-to-display-name",
    "7.3.9.1/cpim-to-predefined-group.yaml",
    None
)]
#[case::cpim_to_display_name_race(
    "cpim-to-display-name",
    "7.3.1.5.1/rejoin-race-adhoc-group.yaml",
    None
)]
#[case::cpim_to_display_name_private(
    "cpim-to-display-name",
    "7.3.9.1/private-message-in-group.yaml",
    None
)]
// RFC 5547: the answer repeats the offer's file-selector, not only its name.
#[case::file_selector_name_only(
    "file-selector-name-only",
    "7.4.2/file-push-accepted-file-identities.yaml",
    Some("7.4.2/accept-200-ok-file-identities")
)]
// A file exactly at the limit does not exceed it.
#[case::size_limit_exclusive(
    "size-limit-exclusive",
    "7.4.2/file-at-size-limit-accepted.yaml",
    Some("7.4.2/validate-file-size")
)]
#[case::size_limit_exclusive_over(
    "size-limit-exclusive",
    "7.4.2/file-over-size-limit-declined.yaml",
    None
)]
// A late 200 to the losing re-join INVITE must be ACKed and ended.
#[case::late_200_ignored(
    "late-200-ignored",
    "7.3.1.5.1/rejoin-race-late-200.yaml",
    Some("7.3.1.5.1/use-incoming-invite")
)]
// RFC 3261 13.2.2.4: an ACK for each 2xx, the one sent again after a lost ACK too; a single 2xx
// is ACKed once either way.
#[case::acks_first_2xx_only(
    "acks-first-2xx-only",
    "7.3.1.3/predefined-group-ack-each-200.yaml",
    Some("7.3.1.3/ack-200-ok")
)]
#[case::acks_first_2xx_only_single(
    "acks-first-2xx-only",
    "7.3.1.3/predefined-group-new-conversation.yaml",
    None
)]
// RFC 4975 leaves the chunk size to the sender: a client cutting its files and large messages
// in 1024-byte chunks earns the same passes (the BYE after the last chunk, the resume point it
// tracked, the large message's Byte-Range).
#[case::msrp_chunks_1024_bye("msrp-chunks-1024", "7.4.3/sender-bye-on-completion.yaml", None)]
#[case::msrp_chunks_1024_resume(
    "msrp-chunks-1024",
    "7.4.5.1/resume-sender-after-partial-ack.yaml",
    None
)]
#[case::msrp_chunks_1024_abort("msrp-chunks-1024", "7.4.3/sender-abort-bye.yaml", None)]
#[case::msrp_chunks_1024_large("msrp-chunks-1024", "7/large-message-sent.yaml", None)]
// 7.4.2 item 2 a: the user chooses which pushed file to take.
#[case::accepts_files_without_asking(
    "accepts-files-without-asking",
    "7.4.2/file-push-user-chooses.yaml",
    Some("7.4.2/user-input-push")
)]
// 7.4.5.2 ii: a file that changed since it was sent (same name, another size) is not known.
#[case::resume_by_name_only(
    "resume-by-name-only",
    "7.4.5.2/resume-changed-file-488.yaml",
    Some("7.4.5.2/488-unknown-file")
)]
#[case::resume_by_name_only_offer(
    "resume-by-name-only",
    "7.4.5.2/resume-offer-unknown-file-488.yaml",
    Some("7.4.5.2/488-unknown-file")
)]
#[case::resume_by_name_only_known(
    "resume-by-name-only",
    "7.4.5.2/resume-known-file-200.yaml",
    None
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quirks_are_judged_by_what_the_cr_says(
    #[case] quirk: &str,
    #[case] rel: &str,
    #[case] fails: Option<&str>,
) {
    let r = suite_run_with(rel, &[], &quirk_profile(quirk)).await;
    let failed: Vec<&str> = r
        .result
        .requirements
        .iter()
        .filter(|q| q.verdict == Verdict::Fail)
        .map(|q| q.id.as_str())
        .collect();
    match fails {
        None => assert_eq!(r.result.verdict, Verdict::Pass, "{:#?}", r.result),
        Some(id) => {
            assert_eq!(r.result.verdict, Verdict::Fail, "{:#?}", r.result);
            assert_eq!(failed, [id], "only {id} is failed: {:#?}", r.result);
        }
    }
    // No error: a client's variant is never the harness's fault.
    assert!(
        r.result
            .requirements
            .iter()
            .all(|q| q.verdict != Verdict::Error),
        "{:#?}",
        r.result
    );
}

/// A client variant the CR allows is failed on nothing and is never the harness's error.
fn neither_fail_nor_error(rel: &str, r: &cpmconf_engine::runner::ScenarioReport) {
    assert!(
        r.result
            .requirements
            .iter()
            .all(|q| q.verdict != Verdict::Fail && q.verdict != Verdict::Error),
        "{rel}: {:#?}",
        r.result
    );
}

// A pass must be earned: a client that claims `file-resume` and answers every resume request
// 488 answers the changed and unknown files right, requested or offered, but for no reason the
// scenario can see (it refuses the file it still has too): 7.4.5.2/488-unknown-file is
// inconclusive for it, never a pass. Nor is it failed where it refuses the file it sent: CR
// 7.4.5.2 ii lets a client have discarded it (item 1 binds one that "still has" it), so
// resume-known-file-200 is inconclusive too, naming the 488.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusing_every_resume_earns_no_pass_and_no_fail() {
    let profile = quirk_profile("refuses-every-resume");
    for rel in [
        "7.4.5.2/resume-changed-file-488.yaml",
        "7.4.5.2/resume-unknown-file-488.yaml",
        "7.4.5.2/resume-offer-unknown-file-488.yaml",
        "7.4.5.2/resume-known-file-200.yaml",
    ] {
        let r = suite_run_with(rel, &[], &profile).await;
        let judged: Vec<_> = r
            .result
            .requirements
            .iter()
            .filter(|q| q.id.starts_with("7.4.5.2/"))
            .collect();
        assert!(!judged.is_empty(), "{rel}");
        assert!(
            judged.iter().all(|q| q.verdict == Verdict::Inconclusive),
            "{rel}: {:#?}",
            r.result
        );
        if rel.ends_with("resume-known-file-200.yaml") {
            let why = requirement(&r, "7.4.5.2/sender-200-ok-file").message;
            assert!(
                why.as_deref()
                    .is_some_and(|w| w.contains("488 Not Acceptable Here")),
                "{why:?}"
            );
        }
        neither_fail_nor_error(rel, &r);
    }
}

// CR 7.4.5.2 ii lets the original recipient discard what it received of an interrupted file,
// and then answer the sender's offer to resume it 488. Such a client is not failed where a
// recipient that kept the bytes is judged (`inconclusive_on: [488, 603]` on the answer): the
// requirement is inconclusive, naming the answer; and nothing else of the scenario is judged
// against it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recipient_that_discards_partial_files_is_not_failed_for_it() {
    let profile = quirk_profile("discards-partial-files");
    for rel in [
        "7.4.5.2/resume-as-recipient-after-partial.yaml",
        "7.4.5.2/resume-as-recipient.yaml",
    ] {
        let r = suite_run_with(rel, &[], &profile).await;
        let q = requirement(&r, "7.4.5.2/recipient-follow-7-4-2");
        assert_eq!(q.verdict, Verdict::Inconclusive, "{rel}: {:#?}", r.result);
        let why = q.message.clone().unwrap_or_default();
        assert!(
            why.contains("488 Not Acceptable Here") && why.contains("inconclusive_on"),
            "{rel}: {why}"
        );
        neither_fail_nor_error(rel, &r);
    }
    // Where the scenario asks a recipient that kept the bytes to resume, the answer is still
    // judged: the reference client's default 200 passes (the quirk is what changes it).
    let r = suite_run("7.4.5.2/resume-as-recipient-after-partial.yaml", &[]).await;
    assert_eq!(r.result.verdict, Verdict::Pass, "{:#?}", r.result);
}

// CR 7.4.2 items 3 and 4 (L221, L223) against the live reference client: accepting a file over
// the provisioned limit fails the validation alone (there is no decline whose code could be
// judged), declining it with 486 shows the validation and fails the code alone (the `status`
// finding of a decline with another code), and a 603 passes both.
#[rstest::rstest]
#[case::accepts(Some("7.4.2/validate-file-size"), Verdict::Fail, Verdict::Inconclusive)]
#[case::declines_486(Some("7.4.2/decline-603"), Verdict::Pass, Verdict::Fail)]
#[case::conforms(None, Verdict::Pass, Verdict::Pass)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversize_file_is_judged_on_the_validation_and_the_code_apart(
    #[case] fault: Option<&str>,
    #[case] validation: Verdict,
    #[case] code: Verdict,
) {
    let r = suite_run_with(
        "7.4.2/file-over-size-limit-declined.yaml",
        &fault.into_iter().collect::<Vec<_>>(),
        &reference_profile(),
    )
    .await;
    let got = requirement(&r, "7.4.2/validate-file-size");
    assert_eq!(got.verdict, validation, "{:#?}", r.result);
    let got = requirement(&r, "7.4.2/decline-603");
    assert_eq!(got.verdict, code, "{:#?}", r.result);
    if code == Verdict::Fail {
        assert!(
            got.findings.iter().any(|f| f.seen.contains("486")),
            "{got:#?}"
        );
    }
}
