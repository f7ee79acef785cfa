//! The sans-IO MSRP session on an in-process pair with a hand-driven clock: ids, response
//! deadlines, Failure-Report handling, 481/501 answers, abort by API and after a 413, pacing by
//! a window of chunks awaiting their responses.

use cpmconf_codec::msrp::{Flag, Message, Method, MsrpUri, StartKind};
use cpmconf_stack::msrp::{MsrpSession, SendOptions, SessionConfig, SessionEvent};
use rstest::rstest;
use std::time::{Duration, Instant};

fn uri(sid: &str) -> MsrpUri {
    MsrpUri::tcp("127.0.0.1", 7000, sid)
}

fn session(local: &str, remote: &str, seed: u64) -> MsrpSession {
    let mut c = SessionConfig::new(vec![uri(local)], vec![uri(remote)]);
    c.seed = Some(seed);
    MsrpSession::new(c)
}

/// Every frame `from` has to send, decoded.
fn frames(from: &mut MsrpSession, now: Instant) -> Vec<Message> {
    let mut out = Vec::new();
    while let Some(b) = from.poll_transmit(now) {
        match Message::parse(&b) {
            Ok(d) => out.push(d.value),
            Err(e) => panic!("session wrote an undecodable frame: {e}"),
        }
    }
    out
}

/// Moves everything `from` has to send into `to`; returns the frames moved.
fn shuttle(from: &mut MsrpSession, to: &mut MsrpSession, now: Instant) -> Vec<Message> {
    let out = frames(from, now);
    for m in &out {
        to.handle_bytes(&m.to_bytes());
    }
    out
}

fn events(s: &mut MsrpSession) -> Vec<SessionEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

#[test]
fn transaction_ids_are_seeded_64_bit_hex_and_distinct() {
    let mut a = session("a", "b", 7);
    let mut b = session("a", "b", 7);
    let ids: Vec<String> = (0..100).map(|_| a.new_tid()).collect();
    let again: Vec<String> = (0..100).map(|_| b.new_tid()).collect();
    assert_eq!(ids, again, "same seed, same ids");
    assert!(ids
        .iter()
        .all(|t| t.len() == 16 && t.bytes().all(|c| c.is_ascii_hexdigit())));
    let mut uniq = ids.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), ids.len());
}

#[test]
fn unanswered_send_times_out_at_its_deadline() {
    let now = Instant::now();
    let mut a = session("a", "b", 1);
    let id = a.send_message("text/plain", b"hi".to_vec(), SendOptions::default());
    let sent = frames(&mut a, now);
    assert_eq!(sent.len(), 1);
    assert_eq!(a.poll_timeout(), Some(now + Duration::from_secs(30)));
    a.handle_timeout(now + Duration::from_secs(29));
    assert!(events(&mut a).is_empty());
    a.handle_timeout(now + Duration::from_secs(30));
    assert_eq!(
        events(&mut a),
        vec![SessionEvent::TransactionTimeout {
            tid: sent[0].tid.clone(),
            message_id: Some(id),
        }]
    );
    assert_eq!(a.poll_timeout(), None);
}

#[rstest]
#[case::yes_ok(None, None, 1, 0)]
#[case::yes_error(None, Some(415), 1, 1)]
#[case::partial_ok(Some("partial"), None, 0, 0)]
#[case::partial_error(Some("partial"), Some(413), 1, 1)]
#[case::no_ok(Some("no"), None, 0, 0)]
#[case::no_error(Some("no"), Some(415), 0, 0)]
fn failure_report_decides_responses_and_reports(
    #[case] failure_report: Option<&str>,
    #[case] code: Option<u16>,
    #[case] responses: usize,
    #[case] reports: usize,
) {
    let now = Instant::now();
    let mut b = session("b", "a", 2);
    b.set_policy(Box::new(move |_: &Message| code.map(|c| (c, None))));
    let mut send = Message::request("tid12345", Method::Send, &[uri("b")], &[uri("a")])
        .with_header("Message-ID", "m1")
        .with_header("Byte-Range", "1-2/2")
        .with_body("text/plain", b"hi".to_vec());
    if let Some(fr) = failure_report {
        send = send.with_header("Failure-Report", fr);
    }
    b.handle_bytes(&send.to_bytes());
    let out = frames(&mut b, now);
    let got_responses: Vec<u16> = out.iter().filter_map(Message::code).collect();
    let got_reports: Vec<&Message> = out
        .iter()
        .filter(|m| m.method() == Some(&Method::Report))
        .collect();
    assert_eq!(got_responses.len(), responses, "{out:?}");
    assert_eq!(got_reports.len(), reports, "{out:?}");
    if let Some(c) = code {
        assert!(got_responses.iter().all(|r| *r == c));
        for r in got_reports {
            assert_eq!(r.status().map(|s| s.code), Some(c));
            assert_eq!(r.header("Byte-Range"), Some("1-2/2"));
            assert_eq!(r.message_id(), Some("m1"));
        }
    }
}

#[test]
fn send_for_another_session_gets_481_and_unknown_method_gets_501() {
    let now = Instant::now();
    let mut b = session("b", "a", 3);
    let wrong = Message::request("tid00001", Method::Send, &[uri("zzz")], &[uri("a")])
        .with_header("Message-ID", "m1")
        .with_body("text/plain", b"x".to_vec());
    let odd = Message::request(
        "tid00002",
        Method::Extension("FROB".into()),
        &[uri("b")],
        &[uri("a")],
    );
    b.handle_bytes(&wrong.to_bytes());
    b.handle_bytes(&odd.to_bytes());
    let codes: Vec<(String, Option<u16>)> = frames(&mut b, now)
        .iter()
        .map(|m| (m.tid.clone(), m.code()))
        .collect();
    assert_eq!(
        codes,
        vec![
            ("tid00001".to_owned(), Some(481)),
            ("tid00002".to_owned(), Some(501))
        ]
    );
    assert!(!b.is_bound());
}

#[test]
fn abort_by_api_flags_the_next_chunk() {
    let now = Instant::now();
    let mut a = session("a", "b", 4);
    let mut b = session("b", "a", 5);
    let opts = SendOptions {
        chunk_size: 10,
        ..SendOptions::default()
    };
    let id = a.send_message("text/plain", vec![b'x'; 50], opts);
    let first = a.poll_transmit(now).map(|b| Message::parse(&b));
    assert!(matches!(&first, Some(Ok(d)) if d.value.flag == Flag::More));
    if let Some(Ok(d)) = first {
        b.handle_bytes(&d.value.to_bytes());
    }
    assert!(a.abort(&id));
    let rest = shuttle(&mut a, &mut b, now);
    let flags: Vec<Flag> = rest.iter().map(|m| m.flag).collect();
    assert_eq!(flags, vec![Flag::Abort]);
    assert!(!a.abort(&id), "nothing left to abort");
    assert!(events(&mut b).contains(&SessionEvent::Aborted {
        message_id: id,
        body: vec![b'x'; 20],
    }));
}

#[test]
fn a_413_response_aborts_the_rest_of_the_message() {
    let now = Instant::now();
    let mut a = session("a", "b", 6);
    let opts = SendOptions {
        chunk_size: 10,
        ..SendOptions::default()
    };
    a.send_message("text/plain", vec![b'y'; 50], opts);
    let Some(Ok(first)) = a.poll_transmit(now).map(|b| Message::parse(&b)) else {
        panic!("no first chunk");
    };
    let resp = Message::response_to(&first.value, 413u16, Some("Stop Sending"));
    a.handle_bytes(&resp.to_bytes());
    let rest = frames(&mut a, now);
    assert_eq!(rest.len(), 1, "{rest:?}");
    assert_eq!(rest[0].flag, Flag::Abort);
    assert!(matches!(
        events(&mut a).first(),
        Some(SessionEvent::Response { code: 413, .. })
    ));
}

#[test]
fn binding_send_is_empty_and_its_200_binds() {
    let now = Instant::now();
    let mut a = session("a", "b", 8);
    let mut b = session("b", "a", 9);
    let tid = a.start_bind(now);
    let sent = shuttle(&mut a, &mut b, now);
    assert_eq!(sent.len(), 1);
    assert!(sent[0].body.is_empty());
    assert!(matches!(
        sent[0].start,
        StartKind::Request {
            method: Method::Send
        }
    ));
    assert_eq!(events(&mut b), vec![SessionEvent::Bound]);
    let answers = shuttle(&mut b, &mut a, now);
    assert_eq!(
        answers.iter().filter_map(Message::code).collect::<Vec<_>>(),
        vec![200]
    );
    assert!(a.is_bound());
    let ev = events(&mut a);
    assert_eq!(ev.first(), Some(&SessionEvent::Bound));
    assert!(
        matches!(ev.get(1), Some(SessionEvent::Response { tid: t, code: 200, .. }) if *t == tid)
    );
}

#[test]
fn chunk_whose_byte_range_disagrees_with_its_body_gets_400_and_a_failure_report() {
    let now = Instant::now();
    let mut b = session("b", "a", 10);
    let send = Message::request("tid55555", Method::Send, &[uri("b")], &[uri("a")])
        .with_header("Message-ID", "m9")
        .with_header("Byte-Range", "1-5/5")
        .with_body("text/plain", b"hi".to_vec());
    b.handle_bytes(&send.to_bytes());
    let out = frames(&mut b, now);
    assert_eq!(
        out.iter().filter_map(Message::code).collect::<Vec<_>>(),
        vec![400]
    );
    assert!(out
        .iter()
        .any(|m| m.method() == Some(&Method::Report) && m.status().map(|s| s.code) == Some(400)));
    let ev = events(&mut b);
    assert!(
        ev.iter().any(|e| matches!(e, SessionEvent::BadChunk { message_id, error } if message_id == "m9" && error.offset > 0)),
        "{ev:?}"
    );
    assert!(!b.is_dead(), "a bad chunk does not end the stream");
}

/// Holds back the response to every chunk whose Byte-Range starts after byte 2.
struct HoldAfterTwo;

impl cpmconf_stack::msrp::ResponsePolicy for HoldAfterTwo {
    fn response_code(&mut self, _chunk: &Message) -> Option<(u16, Option<String>)> {
        None
    }
    fn withhold(&mut self, chunk: &Message) -> bool {
        chunk
            .byte_range()
            .and_then(Result::ok)
            .is_some_and(|r| r.start > 2)
    }
}

#[rstest]
// A withheld chunk gets no response and no REPORT, the others their 200; the message is
// still reassembled (the bytes arrived, only their acknowledgement is held back).
#[case::second_chunk_withheld(true, &["tid-1"])]
#[case::none_withheld(false, &["tid-1", "tid-2"])]
fn a_withheld_chunk_is_received_but_not_answered(#[case] hold: bool, #[case] answered: &[&str]) {
    let now = Instant::now();
    let mut b = session("b", "a", 9);
    if hold {
        b.set_policy(Box::new(HoldAfterTwo));
    }
    let chunk = |tid: &str, range: &str, flag: Flag| {
        let mut m = Message::request(tid, Method::Send, &[uri("b")], &[uri("a")])
            .with_header("Message-ID", "m1")
            .with_header("Byte-Range", range)
            .with_body("text/plain", b"hi".to_vec());
        m.flag = flag;
        m
    };
    b.handle_bytes(&chunk("tid-1", "1-2/4", Flag::More).to_bytes());
    b.handle_bytes(&chunk("tid-2", "3-4/4", Flag::Complete).to_bytes());
    let out = frames(&mut b, now);
    let got = events(&mut b);
    assert!(
        got.iter()
            .any(|e| matches!(e, SessionEvent::Message { body, .. } if body == b"hihi")),
        "{got:?}"
    );
    let tids: Vec<&str> = out
        .iter()
        .filter(|m| m.code().is_some())
        .map(|m| m.tid.as_str())
        .collect();
    assert_eq!(tids, answered, "{out:?}");
    assert!(out.iter().all(|m| m.method() != Some(&Method::Report)));
}

// Pacing (`SendOptions::window`): at most `window` chunks of a message wait for their responses;
// each 200 lets one more go out; an abort is sent at once even with the window full. `None`
// sends every chunk at once.
#[rstest]
#[case::stop_and_wait(Some(1), 1)]
#[case::two_in_flight(Some(2), 2)]
#[case::unbounded(None, 5)]
fn a_paced_message_waits_for_responses(#[case] window: Option<usize>, #[case] at_once: usize) {
    let now = Instant::now();
    let mut a = session("a", "b", 8);
    let opts = SendOptions {
        chunk_size: 10,
        window,
        ..SendOptions::default()
    };
    let id = a.send_message("text/plain", vec![b'z'; 50], opts);
    let first = frames(&mut a, now);
    assert_eq!(first.len(), at_once, "{first:?}");
    if at_once == 5 {
        return;
    }
    // A 200 to the first chunk frees one place.
    let resp = Message::response_to(&first[0], 200u16, None);
    a.handle_bytes(&resp.to_bytes());
    let next = frames(&mut a, now);
    assert_eq!(next.len(), 1, "{next:?}");
    assert_eq!(next[0].flag, Flag::More);
    assert!(frames(&mut a, now).is_empty(), "the window is full again");
    // Aborted with the window full: the `#` chunk goes out at once.
    assert!(a.abort(&id));
    let rest = frames(&mut a, now);
    assert_eq!(
        rest.iter().map(|m| m.flag).collect::<Vec<_>>(),
        vec![Flag::Abort]
    );
}
