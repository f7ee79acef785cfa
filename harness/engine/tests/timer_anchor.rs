//! A `timer:` window on a subscription's refresh counts from the 200 that granted the Expires,
//! not from when the judge started the step: the simulated CF answers the client's SUBSCRIBE on
//! a task of its own, so on a loaded machine its 200 can go out well after the step began, and a
//! client that refreshes in time for the grant it received must still pass. Judged from a
//! capture made elsewhere (no timeline: the feed reads the 200's time from the capture), with
//! the reference profile (clock 0.1: `timer: 2s` is a 200 ms window).
//!
//! Replaying a run's timeline, the window moves as the live judge moved it.
//!
//! The wrong clients this must still fail: one that refreshes after the grant it received ran
//! out (late by the 200's time as well), and one that never refreshes.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use cpmconf_capture::{RoleMap, Trace, TraceBuilder, Transport, WireEvent, WireEventKind};
use cpmconf_codec::Limits;
use cpmconf_engine::check::{check_scenario, CaptureSurvey, CheckOptions, CheckReport};
use cpmconf_engine::judge::labels::Labeler;
use cpmconf_engine::judge::replay::ReplayFeed;
use cpmconf_engine::judge::timeline::{Input, Timeline};
use cpmconf_engine::scenario::LoadedScenario;
use cpmconf_engine::ut::ClientProfile;
use cpmconf_engine::validate::Suite;
use cpmconf_engine::verdict::Verdict;
use cpmconf_engine::Catalogue;
use rstest::rstest;

const SCENARIO: &str = "conference-subscription-refreshed-short-grant";
const REQUIREMENT: &str = "7.3.1.3/maintain-conference-subscription";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn client() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 45060))
}

fn cf() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 5090))
}

fn subscribe(cseq: u32, to_tag: Option<&str>) -> String {
    let (c, to) = (
        client(),
        to_tag.map_or(String::new(), |t| format!(";tag={t}")),
    );
    format!(
        "SUBSCRIBE sip:g1@cf.test SIP/2.0\r\nVia: SIP/2.0/UDP {c};branch=z9hG4bK-sub{cseq}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:alice@cpm.test>;tag=a1\r\nTo: <sip:g1@cf.test>{to}\r\n\
         Call-ID: sub1@cpm.test\r\nCSeq: {cseq} SUBSCRIBE\r\nContact: <sip:alice@{c}>\r\n\
         Event: conference\r\nExpires: 2\r\nUser-Agent: CPM-client/OMA2.0\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

fn core() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 5060))
}

/// The client's registration (the scenarios' precondition) and its 200.
fn register() -> [String; 2] {
    let c = client();
    let common = format!(
        "Via: SIP/2.0/UDP {c};branch=z9hG4bK-reg\r\nFrom: <sip:alice@cpm.test>;tag=r1\r\n\
         Call-ID: reg1@cpm.test\r\nCSeq: 1 REGISTER\r\n"
    );
    [
        format!(
            "REGISTER sip:cpm.test SIP/2.0\r\n{common}To: <sip:alice@cpm.test>\r\n\
             Max-Forwards: 70\r\nContact: <sip:alice@{c};transport=udp>\r\nExpires: 3600\r\n\
             User-Agent: CPM-client/OMA2.0\r\nContent-Length: 0\r\n\r\n"
        ),
        format!(
            "SIP/2.0 200 OK\r\n{common}To: <sip:alice@cpm.test>;tag=reg\r\n\
             Contact: <sip:alice@{c};transport=udp>;expires=3600\r\nContent-Length: 0\r\n\r\n"
        ),
    ]
}

fn ok() -> String {
    let c = client();
    format!(
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP {c};branch=z9hG4bK-sub1\r\n\
         From: <sip:alice@cpm.test>;tag=a1\r\nTo: <sip:g1@cf.test>;tag=cf1\r\n\
         Call-ID: sub1@cpm.test\r\nCSeq: 1 SUBSCRIBE\r\nContact: <sip:g1@cf.test>;isfocus\r\n\
         Expires: 2\r\nContent-Length: 0\r\n\r\n"
    )
}

/// The client registers, then its SUBSCRIBE at 0 ms, the CF's 200 at `ok_ms`, the client's
/// refresh at `refresh_ms` (none: it never refreshes), the capture ending at 2 s (times from
/// the SUBSCRIBE).
fn capture(ok_ms: u64, refresh_ms: Option<u64>) -> Trace {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let [reg, reg_ok] = register();
    let at = |ms: u64| 10 + ms;
    let mut events = vec![
        (0, client(), core(), reg),
        (1, core(), client(), reg_ok),
        (at(0), client(), cf(), subscribe(1, None)),
        (at(ok_ms), cf(), client(), ok()),
    ];
    if let Some(r) = refresh_ms {
        events.push((at(r), client(), cf(), subscribe(2, Some("cf1"))));
    }
    // Something later, so the capture covers every window judged here.
    events.push((at(2000), cf(), client(), ok()));
    events.sort_by_key(|e| e.0);
    let mut b = TraceBuilder::new(Limits::default());
    let mut entries = Vec::new();
    for (ms, src, dst, text) in events {
        b.push(&WireEvent {
            time: t0 + Duration::from_millis(ms),
            transport: Transport::Udp,
            src,
            dst,
            kind: WireEventKind::Data(text.into_bytes()),
        });
        entries.extend(b.take());
    }
    Trace {
        entries,
        start: Some(t0),
        problems: Vec::new(),
        ends: Vec::new(),
    }
}

fn scenario() -> LoadedScenario {
    let cat = Catalogue::embedded().unwrap();
    Suite::load_dir(&repo().join("scenarios"), &cat)
        .and_then(Suite::valid)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .find(|l| l.scenario.id == SCENARIO)
        .unwrap()
}

fn judge(trace: &Trace) -> CheckReport {
    let text = std::fs::read_to_string(repo().join("fixtures/clients/reference.yaml")).unwrap();
    let profile = ClientProfile::from_yaml(&text, "reference profile").unwrap();
    let mut map = RoleMap::default();
    map.addrs.insert(cf(), "cf".into());
    map.addrs.insert(core(), "core".into());
    let labels = Labeler::new(map);
    let survey = CaptureSurvey::of(trace).unwrap();
    let cat = Catalogue::embedded().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(check_scenario(
        &cat,
        &scenario(),
        trace,
        &survey,
        &labels,
        None,
        &CheckOptions {
            profile: &profile,
            strict: false,
            seed: 1,
            capture_name: "anchor.pcap".into(),
        },
    ))
}

/// The 200 at `ok_ms` grants 2 s of protocol time (200 ms on the reference clock): a refresh
/// by `ok_ms + 200` keeps the subscription, a later one or none lets it lapse.
#[rstest]
#[case::prompt_answer_prompt_refresh(5, Some(150), Verdict::Pass)]
#[case::prompt_answer_late_refresh(5, Some(260), Verdict::Fail)]
// The CF answered 150 ms after the SUBSCRIBE (a loaded harness): the client's refresh 300 ms
// after its SUBSCRIBE is 150 ms after the grant, in time. Measured from the step's start it
// was 100 ms late.
#[case::late_answer_refresh_in_time_for_it(150, Some(300), Verdict::Pass)]
#[case::late_answer_refresh_late_even_for_it(150, Some(390), Verdict::Fail)]
#[case::late_answer_no_refresh(150, None, Verdict::Fail)]
fn the_refresh_window_counts_from_the_grant(
    #[case] ok_ms: u64,
    #[case] refresh_ms: Option<u64>,
    #[case] want: Verdict,
) {
    let r = judge(&capture(ok_ms, refresh_ms));
    let got = r
        .result
        .requirements
        .iter()
        .find(|q| q.id == REQUIREMENT)
        .map(|q| q.verdict);
    assert_eq!(
        got,
        Some(want),
        "{}",
        serde_json::to_string_pretty(&r.result).unwrap()
    );
}

/// Replaying a run's timeline, the window moves as far as it moved live (a move, not a time:
/// the replay's clock is the capture's), whatever the capture's own timestamps say; a live
/// judge that moved nothing moves nothing in the replay; a timeline written before moves were
/// recorded moves nothing and keeps its next input for the next wait.
#[rstest]
#[case::moved_live(vec![Input::Granted { later_by_us: Some(150_000) }], Some(350))]
#[case::not_moved_live(vec![Input::Granted { later_by_us: None }], None)]
#[case::older_timeline(vec![Input::Deadline], None)]
fn a_replayed_timeline_moves_the_window_as_the_live_judge_did(
    #[case] inputs: Vec<Input>,
    #[case] want_ms: Option<u64>,
) {
    use cpmconf_engine::judge::{Arrival, Feed, Want};
    // The capture's own 200 came 150 ms late: from the capture alone the window would move.
    let trace = capture(150, Some(300));
    let mut map = RoleMap::default();
    map.addrs.insert(cf(), "cf".into());
    map.addrs.insert(core(), "core".into());
    let labels = Labeler::new(map);
    let older = inputs == vec![Input::Deadline];
    let timeline = Timeline {
        inputs,
        ..Timeline::default()
    };
    let mut feed = ReplayFeed::new(&trace, &labels, Some(&timeline), Box::new(|_| {}));
    let request = cpmconf_codec::sip::Message::parse(subscribe(1, None).as_bytes())
        .unwrap()
        .value;
    let (deadline, within) = (Duration::from_millis(200), Duration::from_millis(200));
    assert_eq!(
        feed.granted(&request, deadline, within),
        want_ms.map(Duration::from_millis)
    );
    if older {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let next = rt.block_on(feed.next(deadline, Want::Observations));
        assert!(matches!(next, Ok(Arrival::Deadline)), "{next:?}");
    }
    // Without the timeline, the capture's 200 (at 160 ms of capture time) moves the window to
    // 360 ms.
    let mut plain = ReplayFeed::new(&trace, &labels, None, Box::new(|_| {}));
    assert_eq!(
        plain.granted(&request, deadline, within),
        Some(Duration::from_millis(360))
    );
}
