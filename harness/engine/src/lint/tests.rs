//! Tests of the capture lint: who the client is, what it is judged by, and the errors that say
//! a capture cannot be judged.

use super::*;
use crate::baseline::VIA_COPIED;
use cpmconf_capture::Tap;
use rstest::rstest;

const CLIENT: &str = "192.0.2.10:5070";
const CORE: &str = "198.51.100.1:5060";
const OTHER: &str = "198.51.100.2:5060";

fn sock(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn request(method: &str, from: &str, ua: bool) -> String {
    let ua = if ua {
        "User-Agent: CPM-client/OMA2.0 Phone/1.0\r\n"
    } else {
        ""
    };
    format!(
        "{method} sip:bob@example.net SIP/2.0\r\nVia: SIP/2.0/UDP {from};branch=z9hG4bK{method}\r\n\
Max-Forwards: 70\r\nFrom: <sip:alice@example.net>;tag=a\r\nTo: <sip:bob@example.net>\r\n\
Call-ID: c-{method}\r\nCSeq: 1 {method}\r\n{ua}Content-Length: 0\r\n\r\n"
    )
}

/// A 200 to `request`, with both of the request's Via values or (`drop_via`) only the top one.
fn ok_two_vias(method: &str, drop_via: bool) -> String {
    let second = if drop_via {
        ""
    } else {
        "Via: SIP/2.0/UDP 198.51.100.9:5060;branch=z9hG4bKup\r\n"
    };
    format!(
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP {CORE};branch=z9hG4bKin\r\n{second}\
From: <sip:carol@example.net>;tag=c\r\nTo: <sip:alice@example.net>;tag=x\r\nCall-ID: c-in\r\n\
CSeq: 7 {method}\r\nContent-Length: 0\r\n\r\n"
    )
}

fn incoming(method: &str) -> String {
    format!(
        "{method} sip:alice@192.0.2.10:5070 SIP/2.0\r\nVia: SIP/2.0/UDP {CORE};branch=z9hG4bKin\r\n\
Via: SIP/2.0/UDP 198.51.100.9:5060;branch=z9hG4bKup\r\nMax-Forwards: 69\r\n\
From: <sip:carol@example.net>;tag=c\r\nTo: <sip:alice@example.net>\r\nCall-ID: c-in\r\n\
CSeq: 7 {method}\r\nContent-Length: 0\r\n\r\n"
    )
}

/// The client registers and sends a MESSAGE (with or without User-Agent), then answers an
/// incoming MESSAGE (copying both Via values or dropping one).
fn trace(ua: bool, drop_via: bool) -> Trace {
    let tap = Tap::new();
    let (c, n) = (sock(CLIENT), sock(CORE));
    tap.udp(c, n, request("REGISTER", CLIENT, true).as_bytes());
    tap.udp(n, c, b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bKREGISTER\r\nFrom: <sip:alice@example.net>;tag=a\r\nTo: <sip:bob@example.net>;tag=r\r\nCall-ID: c-REGISTER\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n");
    tap.udp(c, n, request("MESSAGE", CLIENT, ua).as_bytes());
    tap.udp(n, c, incoming("MESSAGE").as_bytes());
    tap.udp(c, n, ok_two_vias("MESSAGE", drop_via).as_bytes());
    Trace::from_events(&tap.events())
}

fn opts(client: &[&str]) -> LintOptions {
    LintOptions {
        name: "phone.pcap".into(),
        client: client
            .iter()
            .map(|c| ClientAddr::parse(c).unwrap())
            .collect(),
        ..LintOptions::default()
    }
}

fn cat() -> Catalogue {
    Catalogue::embedded().unwrap()
}

#[rstest]
#[case("192.0.2.1", "192.0.2.1", None)]
#[case("192.0.2.1:5070", "192.0.2.1", Some(5070))]
#[case("::1", "::1", None)]
#[case("[::1]", "::1", None)]
#[case("[::1]:5070", "::1", Some(5070))]
fn client_addresses_parse(#[case] text: &str, #[case] ip: &str, #[case] port: Option<u16>) {
    let a = ClientAddr::parse(text).unwrap();
    assert_eq!((a.ip, a.port), (ip.parse().unwrap(), port));
}

#[rstest]
#[case("bob")]
#[case("192.0.2.1:")]
#[case("")]
fn a_bad_client_address_says_what_is_expected(#[case] text: &str) {
    let e = ClientAddr::parse(text).unwrap_err();
    assert!(e.contains("expected IP or IP:PORT"), "{e}");
}

#[test]
fn a_port_less_address_matches_every_port_of_the_host() {
    let a = ClientAddr::parse("192.0.2.10").unwrap();
    assert!(a.matches(sock("192.0.2.10:1")) && a.matches(sock(CLIENT)));
    assert!(!a.matches(sock(CORE)));
    let p = ClientAddr::parse(CLIENT).unwrap();
    assert!(p.matches(sock(CLIENT)) && !p.matches(sock("192.0.2.10:5071")));
}

#[test]
fn a_conformant_capture_passes_every_rule_it_reached() {
    let l = lint(&cat(), &trace(true, false), &opts(&[CLIENT])).unwrap();
    assert!(l.gate.passed, "{:#?}", l.result);
    assert_eq!(l.result.verdict, Verdict::Pass);
    let ua = &l.result.requirements[0];
    assert_eq!(
        (ua.id.as_str(), ua.verdict),
        (monitor::USER_AGENT_REQUIREMENT, Verdict::Pass)
    );
    let via = l
        .result
        .protocol
        .iter()
        .find(|p| p.rule == VIA_COPIED)
        .unwrap();
    assert_eq!((via.verdict, via.checked), (Verdict::Pass, 1));
    // One arrow per message, the client in its own lane.
    let ladder = l.ladder.as_ref().expect("a ladder");
    assert_eq!(ladder.arrows.len(), 5);
    assert_eq!(ladder.arrows[0].from, "client");
    assert_eq!(ladder.arrows[0].to, CORE);
}

/// Without a ladder (the terminal summary shows none) the result is the same, verdicts and
/// title, and the events carry no ladder.
#[rstest]
#[case::conformant(true, false)]
#[case::without_user_agent(false, false)]
#[case::via_dropped(true, true)]
fn no_ladder_changes_no_verdict(#[case] ua: bool, #[case] drop_via: bool) {
    let t = trace(ua, drop_via);
    let with = lint(&cat(), &t, &opts(&[CLIENT])).unwrap();
    let without = lint(
        &cat(),
        &t,
        &LintOptions {
            no_ladder: true,
            ..opts(&[CLIENT])
        },
    )
    .unwrap();
    assert_eq!(without.result, with.result);
    assert_eq!(without.gate, with.gate);
    assert!(with.ladder.is_some() && without.ladder.is_none());
    let ladders = |l: &Lint| {
        l.events("t")
            .iter()
            .filter(|e| matches!(e.kind, RunEventKind::TraceCaptured { .. }))
            .count()
    };
    assert_eq!((ladders(&with), ladders(&without)), (1, 0));
}

#[test]
fn each_broken_rule_fails_only_itself_and_quotes_the_message() {
    // A MESSAGE without User-Agent: only 7/user-agent-header fails.
    let l = lint(&cat(), &trace(false, false), &opts(&[CLIENT])).unwrap();
    assert!(!l.gate.passed);
    let ua = &l.result.requirements[0];
    assert_eq!(ua.verdict, Verdict::Fail);
    assert!(
        ua.quote.iter().any(|q| q.starts_with("MESSAGE ")),
        "{ua:#?}"
    );
    assert!(l.result.protocol.iter().all(|p| p.verdict == Verdict::Pass));
    // A response that drops the second Via: only the Via rule fails, naming the entry.
    let l = lint(&cat(), &trace(true, true), &opts(&[CLIENT])).unwrap();
    assert!(!l.gate.passed);
    assert_eq!(l.result.requirements[0].verdict, Verdict::Pass);
    let failed: Vec<_> = l
        .result
        .protocol
        .iter()
        .filter(|p| p.verdict != Verdict::Pass)
        .collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(
        (failed[0].rule.as_str(), &failed[0].entries),
        (VIA_COPIED, &vec![4])
    );
}

#[test]
fn a_waived_rule_does_not_fail_the_gate() {
    let mut o = opts(&[CLIENT]);
    o.waivers = vec![VIA_COPIED.into()];
    let l = lint(&cat(), &trace(true, true), &o).unwrap();
    assert!(l.gate.passed, "{:#?}", l.result);
    let via = l
        .result
        .protocol
        .iter()
        .find(|p| p.rule == VIA_COPIED)
        .unwrap();
    assert_eq!((via.verdict, via.waived), (Verdict::XFail, true));
}

#[test]
fn the_client_is_the_one_party_that_registers() {
    let l = lint(&cat(), &trace(true, false), &opts(&[])).unwrap();
    assert!(l.guessed);
    assert_eq!(l.client, vec![ClientAddr::parse(CLIENT).unwrap()]);
}

#[test]
fn without_a_register_the_client_must_be_named() {
    let tap = Tap::new();
    tap.udp(
        sock(CLIENT),
        sock(CORE),
        request("MESSAGE", CLIENT, true).as_bytes(),
    );
    tap.udp(
        sock(OTHER),
        sock(CORE),
        request("OPTIONS", OTHER, true).as_bytes(),
    );
    let t = Trace::from_events(&tap.events());
    let e = lint(&cat(), &t, &opts(&[])).unwrap_err();
    assert_eq!(
        e,
        LintError::NoClient {
            parties: vec![(sock(CORE), 0), (sock(CLIENT), 1), (sock(OTHER), 1)]
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .collect()
        }
    );
    let text = e.to_string();
    assert!(
        text.contains("--client") && text.contains(CLIENT) && text.contains(OTHER),
        "{text}"
    );
    // Named, it is judged.
    assert!(lint(&cat(), &t, &opts(&[CLIENT])).is_ok());
}

#[test]
fn a_named_client_that_sent_nothing_cannot_be_judged() {
    let e = lint(&cat(), &trace(true, false), &opts(&["203.0.113.5"])).unwrap_err();
    assert!(matches!(e, LintError::NoClientTraffic { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("203.0.113.5") && text.contains(CLIENT),
        "{text}"
    );
}

#[test]
fn the_events_feed_every_reporter_in_run_order() {
    let l = lint(&cat(), &trace(false, false), &opts(&[CLIENT])).unwrap();
    let kinds: Vec<&str> = l
        .events("2026-12-05T00:00:00Z")
        .iter()
        .map(|e| match &e.kind {
            RunEventKind::RunStarted { .. } => "run-started",
            RunEventKind::ScenarioStarted { .. } => "scenario-started",
            RunEventKind::TraceCaptured { .. } => "trace",
            RunEventKind::VerdictIssued { .. } => "verdict",
            RunEventKind::ScenarioFinished { .. } => "scenario-finished",
            RunEventKind::RunFinished { .. } => "run-finished",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "run-started",
            "scenario-started",
            "trace",
            "verdict",
            "scenario-finished",
            "run-finished"
        ]
    );
}

#[test]
fn a_long_capture_is_judged_in_bounded_memory() {
    // 60,000 SIP messages, each MESSAGE transaction its own Call-ID, streamed from a pcap.
    let mut pcap = Vec::new();
    cpmconf_capture::generate::write_message_capture(&mut pcap, 30_000).unwrap();
    let stream = || {
        let reader =
            cpmconf_capture::CaptureReader::new(std::io::Cursor::new(pcap.clone())).unwrap();
        cpmconf_capture::TraceStream::new(reader, cpmconf_codec::Limits::default()).filter_map(
            |i| match i.unwrap() {
                cpmconf_capture::TraceItem::Entry(e) => Some(e),
                cpmconf_capture::TraceItem::End(_) => None,
                p => panic!("{p:?}"),
            },
        )
    };
    let (sender, _) = cpmconf_capture::generate::endpoints();
    let mut survey = Survey::default();
    stream().for_each(|e| survey.push(&e));
    let o = LintOptions {
        name: "long.pcap".into(),
        client: vec![ClientAddr {
            ip: sender.ip(),
            port: Some(sender.port()),
        }],
        ..LintOptions::default()
    };
    let catalogue = cat();
    let mut judge = Judge::new(&catalogue, &o, &survey).unwrap();
    let mut most = 0;
    for e in stream() {
        judge.push(e);
        most = most.max(judge.retained());
    }
    // What arrived within the idle window (its ends included) and until the next look for
    // idle parts, and the ladder's first messages: not the capture's 60,000.
    assert!(
        most <= IDLE_WINDOW + 1 + FLUSH_EVERY + LADDER_LIMIT,
        "{most}"
    );
    let l = judge.finish();
    assert_eq!(l.messages, 60_000);
    assert!(l.result.protocol.iter().any(|p| p.checked > 0));
}

/// The lint of `trace` in one pass (the client named), if that pass needs no second one.
fn one_pass(trace: &Trace, o: &LintOptions) -> Option<Lint> {
    let catalogue = cat();
    let mut judge = Judge::single_pass(&catalogue, o).expect("a named client");
    for e in &trace.entries {
        judge.push(e.clone());
    }
    judge.client_sent().unwrap();
    (!judge.needs_second_pass()).then(|| judge.finish())
}

fn same_lint(a: &Lint, b: &Lint) {
    assert_eq!(a.result, b.result);
    assert_eq!(a.gate, b.gate);
    assert_eq!(a.messages, b.messages);
    assert_eq!(a.ladder, b.ladder);
    assert_eq!((a.client.clone(), a.guessed), (b.client.clone(), b.guessed));
}

/// Enough OPTIONS of another party, each its own Call-ID, for the parts before them to be
/// judged as idle.
fn idle_traffic(tap: &Tap) {
    let (n, o) = (sock(CORE), sock(OTHER));
    for i in 0..IDLE_WINDOW + 2 * FLUSH_EVERY {
        let options = format!(
            "OPTIONS sip:x@example.net SIP/2.0\r\nVia: SIP/2.0/UDP {OTHER};branch=z9hG4bKo{i}\r\n\
Max-Forwards: 70\r\nFrom: <sip:o@example.net>;tag=o\r\nTo: <sip:x@example.net>\r\n\
Call-ID: o-{i}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        );
        tap.udp(o, n, options.as_bytes());
    }
}

/// An INVITE of the client (Contact `contact`), then enough traffic of another party for the
/// INVITE's dialog to be judged as idle, with the client's registration of `registered`
/// before the INVITE or after all that.
fn invite_and_register(contact: &str, registered: &str, register_first: bool) -> Trace {
    let tap = Tap::new();
    let (c, n) = (sock(CLIENT), sock(CORE));
    let register = |tap: &Tap| {
        tap.udp(c, n, format!(
            "REGISTER sip:example.net SIP/2.0\r\nVia: SIP/2.0/UDP {CLIENT};branch=z9hG4bKreg\r\n\
Max-Forwards: 70\r\nFrom: <sip:alice@example.net>;tag=a\r\nTo: <sip:alice@example.net>\r\n\
Call-ID: c-reg\r\nCSeq: 1 REGISTER\r\nContact: <{registered}>\r\nUser-Agent: CPM-client/OMA2.0 Phone/1.0\r\n\
Content-Length: 0\r\n\r\n").as_bytes());
        tap.udp(
            n,
            c,
            format!(
                "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP {CLIENT};branch=z9hG4bKreg\r\n\
From: <sip:alice@example.net>;tag=a\r\nTo: <sip:alice@example.net>;tag=r\r\nCall-ID: c-reg\r\n\
CSeq: 1 REGISTER\r\nContact: <{registered}>;expires=600\r\nContent-Length: 0\r\n\r\n"
            )
            .as_bytes(),
        );
    };
    if register_first {
        register(&tap);
    }
    tap.udp(c, n, format!(
        "INVITE sip:bob@example.net SIP/2.0\r\nVia: SIP/2.0/UDP {CLIENT};branch=z9hG4bKinv\r\n\
Max-Forwards: 70\r\nFrom: <sip:alice@example.net>;tag=a\r\nTo: <sip:bob@example.net>\r\n\
Call-ID: c-inv\r\nCSeq: 1 INVITE\r\nContact: <{contact}>\r\nUser-Agent: CPM-client/OMA2.0 Phone/1.0\r\n\
Content-Length: 0\r\n\r\n").as_bytes());
    idle_traffic(&tap);
    if !register_first {
        register(&tap);
    }
    Trace::from_events(&tap.events())
}

#[rstest]
#[case::conformant(trace(true, false))]
#[case::no_user_agent(trace(false, false))]
#[case::dropped_via(trace(true, true))]
#[case::registered_first(invite_and_register(
    "sip:alice@192.0.2.10:5070",
    "sip:alice@192.0.2.10:5070",
    true
))]
#[case::unregistered_contact(invite_and_register(
    "sip:alice@192.0.2.10:5999",
    "sip:alice@192.0.2.10:5070",
    true
))]
fn one_pass_gives_what_two_passes_give(#[case] t: Trace) {
    let o = opts(&[CLIENT]);
    let two = lint(&cat(), &t, &o).unwrap();
    let one = one_pass(&t, &o).expect("no second pass needed");
    same_lint(&one, &two);
}

#[rstest]
// Judged before the registration: without a registration the Contact rule is not checked; two
// passes check it (and pass). Only a second pass gives that.
#[case::same_contact("sip:alice@192.0.2.10:5070")]
#[case::other_contact("sip:alice@192.0.2.10:5999")]
fn a_contact_registered_after_a_judged_dialog_takes_a_second_pass(#[case] contact: &str) {
    let t = invite_and_register(contact, "sip:alice@192.0.2.10:5070", false);
    let o = opts(&[CLIENT]);
    assert!(one_pass(&t, &o).is_none(), "one pass claimed to be exact");
    let two = lint(&cat(), &t, &o).unwrap();
    let rule = two
        .result
        .protocol
        .iter()
        .find(|p| p.rule == crate::baseline::CONTACT_REGISTERED)
        .expect("the Contact rule is judged in two passes");
    assert_eq!(rule.checked, 1);
}

#[test]
fn one_pass_needs_a_named_client() {
    let catalogue = cat();
    assert!(Judge::single_pass(&catalogue, &opts(&[])).is_none());
    let mut judge = Judge::single_pass(&catalogue, &opts(&[OTHER])).unwrap();
    for e in trace(true, false).entries {
        judge.push(e);
    }
    assert!(matches!(
        judge.client_sent(),
        Err(LintError::NoClientTraffic { .. })
    ));
}

/// An MSRP SEND on a connection of the client's (From-Path session `late`), enough traffic of
/// another party for the connection to be judged as idle, and the client's INVITE whose SDP
/// offers session `late` before all that (`sdp_first`) or after.
fn msrp_and_sdp(sdp_first: bool) -> Trace {
    let tap = Tap::new();
    let (c, n) = (sock(CLIENT), sock(CORE));
    let (cm, nm) = (sock("192.0.2.10:7000"), sock("198.51.100.1:7001"));
    let sdp = "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n\
m=message 7000 TCP/MSRP *\r\na=accept-types:text/plain\r\na=path:msrp://192.0.2.10:7000/late;tcp\r\n";
    let invite = |tap: &Tap| {
        tap.udp(
            c,
            n,
            format!(
            "INVITE sip:bob@example.net SIP/2.0\r\nVia: SIP/2.0/UDP {CLIENT};branch=z9hG4bKinv\r\n\
Max-Forwards: 70\r\nFrom: <sip:alice@example.net>;tag=a\r\nTo: <sip:bob@example.net>\r\n\
Call-ID: c-inv\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@192.0.2.10:5070>\r\n\
User-Agent: CPM-client/OMA2.0 Phone/1.0\r\nContent-Type: application/sdp\r\n\
Content-Length: {}\r\n\r\n{sdp}", sdp.len())
            .as_bytes(),
        );
    };
    if sdp_first {
        invite(&tap);
    }
    tap.tcp_open(cm, nm);
    tap.tcp_data(
        cm,
        nm,
        b"MSRP t1 SEND\r\nTo-Path: msrp://198.51.100.1:7001/p;tcp\r\n\
From-Path: msrp://192.0.2.10:7000/late;tcp\r\nMessage-ID: m1\r\nByte-Range: 1-2/2\r\n\
Content-Type: text/plain\r\n\r\nhi\r\n-------t1$\r\n",
    );
    idle_traffic(&tap);
    if !sdp_first {
        invite(&tap);
    }
    Trace::from_events(&tap.events())
}

#[test]
fn an_msrp_session_the_client_offers_after_its_messages_were_judged_takes_a_second_pass() {
    let o = opts(&[CLIENT]);
    let late = msrp_and_sdp(false);
    assert!(
        late.entries.iter().any(|e| e.msrp().is_some()),
        "no MSRP decoded"
    );
    assert!(
        one_pass(&late, &o).is_none(),
        "one pass claimed to be exact"
    );
    let early = msrp_and_sdp(true);
    let one = one_pass(&early, &o).expect("no second pass needed");
    same_lint(&one, &lint(&cat(), &early, &o).unwrap());
}
