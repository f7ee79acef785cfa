//! `cpmconf check --scenario` on a long capture holds what the scenario's steps reach and the
//! dialogs open at once, not the capture: a client that registers, then sends 60,000 pager
//! MESSAGEs a millisecond apart, each answered by a network whose 200s lack the product token.
//! The capture is made as it is read (nothing of it is ever held whole), and judged twice: as a
//! stream, and held in memory as a `Trace`; both give the same result.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use cpmconf_capture::{
    CaptureError, CaptureItems, Items, RoleMap, Trace, TraceBuilder, TraceItem, Transport,
    WireEvent, WireEventKind,
};
use cpmconf_codec::Limits;
use cpmconf_engine::check::{check_scenario, CaptureSurvey, CheckOptions, CheckReport};
use cpmconf_engine::judge::labels::Labeler;
use cpmconf_engine::scenario::LoadedScenario;
use cpmconf_engine::ut::ClientProfile;
use cpmconf_engine::validate::Suite;
use cpmconf_engine::verdict::Verdict;
use cpmconf_engine::Catalogue;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const CLIENT: ([u8; 4], u16) = ([127, 0, 0, 1], 45060);
const CORE: ([u8; 4], u16) = ([127, 0, 0, 1], 5060);

/// A capture generated as it is read: a REGISTER answered 200, then `n` pager MESSAGEs of the
/// client (one per millisecond), each answered 200 by the core without a Server header. With
/// `silent`, the client sends only its first MESSAGE; then the core sends OPTIONS the client
/// never answers.
struct Generated {
    n: usize,
    silent: bool,
}

impl Generated {
    fn t0() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    /// Wire event `k`: the client's request of exchange `k / 2`, or the core's answer.
    fn event(&self, k: usize) -> WireEvent {
        let (client, core) = (SocketAddr::from(CLIENT), SocketAddr::from(CORE));
        let i = k / 2;
        if self.silent && i >= 2 {
            let text = format!(
                "OPTIONS sip:alice@{client} SIP/2.0\r\nVia: SIP/2.0/UDP {core};branch=z9hG4bK-o{k}\r\n\
                 From: <sip:core@test>;tag=o{k}\r\nTo: <sip:alice@test>\r\nCall-ID: o{k}@test\r\n\
                 CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            );
            return WireEvent {
                time: Self::t0() + Duration::from_millis(k as u64),
                transport: Transport::Udp,
                src: core,
                dst: client,
                kind: WireEventKind::Data(text.into_bytes()),
            };
        }
        let (method, call_id) = if i == 0 {
            ("REGISTER", "reg@test".to_string())
        } else {
            ("MESSAGE", format!("m{i}@test"))
        };
        let head = format!(
            "Via: SIP/2.0/UDP {client};branch=z9hG4bK-s{i}\r\nFrom: <sip:alice@test>;tag=a{i}\r\n"
        );
        // The REGISTER's To is the registering user; the MESSAGEs go to bob.
        let to = if i == 0 {
            "sip:alice@test"
        } else {
            "sip:bob@test"
        };
        let (src, dst, text) = if k % 2 == 0 {
            let body = if i == 0 {
                String::new()
            } else {
                format!(
                    "From: <sip:alice@test>\r\nTo: <sip:bob@test>\r\nDateTime: 2026-12-07T00:00:00Z\r\n\
                     NS: imdn <urn:ietf:params:imdn>\r\nimdn.Message-ID: m{i}\r\n\r\n\
                     Content-Type: text/plain\r\n\r\nhi"
                )
            };
            let uri = if i == 0 { "sip:test" } else { "sip:bob@test" };
            let extra = if i == 0 {
                format!("Contact: <sip:alice@{client};transport=udp>\r\nExpires: 3600\r\n")
            } else {
                format!(
                    "Accept-Contact: *;+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.msg\"\r\n\
                     Conversation-ID: c1\r\nContribution-ID: c{i}\r\nContent-Type: message/cpim\r\n"
                )
            };
            (
                client,
                core,
                format!(
                    "{method} {uri} SIP/2.0\r\n{head}To: <{to}>\r\nCall-ID: {call_id}\r\nCSeq: 1 {method}\r\n\
                     Max-Forwards: 70\r\nUser-Agent: CPM-client/OMA2.0\r\n{extra}Content-Length: {}\r\n\r\n{body}",
                    body.len()
                ),
            )
        } else {
            let contact = if i == 0 {
                format!("Contact: <sip:alice@{client};transport=udp>;expires=3600\r\n")
            } else {
                String::new()
            };
            (
                core,
                client,
                format!(
                    "SIP/2.0 200 OK\r\n{head}To: <{to}>;tag=b{i}\r\nCall-ID: {call_id}\r\nCSeq: 1 {method}\r\n\
                     {contact}Content-Length: 0\r\n\r\n"
                ),
            )
        };
        WireEvent {
            time: Self::t0() + Duration::from_millis(k as u64),
            transport: Transport::Udp,
            src,
            dst,
            kind: WireEventKind::Data(text.into_bytes()),
        }
    }
}

impl CaptureItems for Generated {
    fn items(&self) -> Result<Items<'_>, CaptureError> {
        let total = 2 * (self.n + 1);
        let mut b = TraceBuilder::new(Limits::default());
        let mut queue: VecDeque<TraceItem> = VecDeque::new();
        let mut k = 0;
        Ok(Box::new(std::iter::from_fn(move || loop {
            if let Some(item) = queue.pop_front() {
                return Some(Ok(item));
            }
            if k == total {
                return None;
            }
            b.push(&self.event(k));
            k += 1;
            queue.extend(b.take().map(TraceItem::Entry));
        })))
    }

    fn start(&self) -> Result<Option<SystemTime>, CaptureError> {
        Ok(Some(Self::t0()))
    }
}

fn scenario(id: &str) -> LoadedScenario {
    let cat = Catalogue::embedded().unwrap();
    Suite::load_dir(&repo().join("scenarios"), &cat)
        .and_then(Suite::valid)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .find(|l| l.scenario.id == id)
        .unwrap()
}

fn check(capture: &dyn CaptureItems, loaded: &LoadedScenario) -> (CheckReport, usize) {
    let text = std::fs::read_to_string(repo().join("fixtures/clients/reference.yaml")).unwrap();
    let profile = ClientProfile::from_yaml(&text, "reference profile").unwrap();
    let mut map = RoleMap::default();
    map.addrs.insert(SocketAddr::from(CORE), "core".into());
    let labels = Labeler::new(map);
    let survey = CaptureSurvey::of(capture).unwrap();
    assert!(survey.client_sent_sip(&labels));
    let cat = Catalogue::embedded().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let r = rt.block_on(check_scenario(
        &cat,
        loaded,
        capture,
        &survey,
        &labels,
        None,
        &CheckOptions {
            profile: &profile,
            strict: false,
            seed: 1,
            capture_name: "long.pcap".into(),
        },
    ));
    (r, survey.messages)
}

/// The verdict of requirement `id`, if judged.
fn verdict(r: &CheckReport, id: &str) -> Option<Verdict> {
    r.result
        .requirements
        .iter()
        .find(|q| q.id == id)
        .map(|q| q.verdict)
}

/// At most `steps_read` messages read by the steps were held at once, besides the dialogs the
/// monitors keep open (the idle window, a flush's worth, the REGISTER exchange).
fn assert_held_within(r: &CheckReport, steps_read: usize) {
    let most =
        steps_read + cpmconf_engine::parts::IDLE_WINDOW + cpmconf_engine::parts::FLUSH_EVERY + 2;
    assert!(r.held <= most, "held {} > {most}", r.held);
}

#[test]
fn a_long_capture_is_judged_against_a_scenario_in_bounded_memory() {
    let n = 60_000;
    let loaded = scenario("pager-mode-sent");
    let (r, messages) = check(&Generated { n, silent: false }, &loaded);
    assert_eq!(messages, 2 * (n + 1));
    assert_eq!(r.read_error, None);
    // The steps are judged: the first MESSAGE is the pager message, and in the `expect_none`
    // window's second (about a thousand messages) no INVITE comes.
    assert_eq!(
        verdict(&r, "7/send-pager-mode"),
        Some(Verdict::Pass),
        "{:#?}",
        r.result
    );
    // The trace monitors judged every message of the client, a dialog at a time.
    assert_eq!(verdict(&r, "7/user-agent-header"), Some(Verdict::Pass));
    let checked = r
        .result
        .protocol
        .iter()
        .map(|p| p.checked)
        .max()
        .unwrap_or(0);
    assert!(checked > n, "{:#?}", r.result.protocol);
    // Every 200 of the network lacks a product token: five listed in trace order, then one
    // counting the rest.
    let server: Vec<_> = r
        .result
        .stimuli
        .iter()
        .filter(|f| f.rule == "cpm/appendix-d-product-token")
        .collect();
    assert_eq!(server.len(), 6, "{server:#?}");
    assert_eq!(
        server.iter().map(|f| f.entry).collect::<Vec<_>>(),
        [1, 3, 5, 7, 9, 11]
    );
    assert!(
        server[5]
            .what
            .starts_with(&format!("{} more message(s)", n + 1 - 5)),
        "{}",
        server[5].what
    );
    // Held at most: the second of capture the steps read (about 2,000 messages) and the
    // dialogs the monitors keep open: not 120,002.
    assert_held_within(&r, 2_100);
}

// A client silent after its first message, in a long stretch of the network's traffic: waiting
// for its next message, the feed reads a second past the step's deadline
// (`READ_PAST_DEADLINE`), not the stretch.
#[test]
fn a_silent_client_does_not_make_the_feed_read_the_rest_of_the_capture() {
    let n = 30_000;
    let (r, messages) = check(&Generated { n, silent: true }, &scenario("pager-mode-sent"));
    assert_eq!(messages, 2 * (n + 1));
    assert_eq!(
        verdict(&r, "7/send-pager-mode"),
        Some(Verdict::Pass),
        "{:#?}",
        r.result
    );
    // The expect_none window's second and the second past it (READ_PAST_DEADLINE).
    assert_held_within(&r, 4_100);
}

// The same capture, shorter, held whole as a `Trace` (what the equivalence tests and a small
// capture use) and streamed: the same result.
#[test]
fn a_streamed_capture_and_the_same_trace_held_whole_give_the_same_result() {
    let g = Generated {
        n: 6_000,
        silent: false,
    };
    let mut trace = Trace {
        entries: Vec::new(),
        start: Some(Generated::t0()),
        problems: Vec::new(),
        ends: Vec::new(),
    };
    for item in g.items().unwrap() {
        if let TraceItem::Entry(e) = item.unwrap() {
            trace.entries.push(e);
        }
    }
    for id in ["pager-mode-sent", "pager-mode-received"] {
        let loaded = scenario(id);
        let (streamed, _) = check(&g, &loaded);
        let (whole, _) = check(&trace, &loaded);
        let mut a = streamed.result.clone();
        let mut b = whole.result.clone();
        a.duration_ms = 0;
        b.duration_ms = 0;
        assert_eq!(format!("{a:#?}"), format!("{b:#?}"), "{id}");
    }
}
