//! Golden projection tests: determinism, symbols, and a snapshot of a small trace.

use super::*;
use cpmconf_codec::{msrp, sip};

fn invite(call_id: &str, conv: &str, contrib: &str) -> sip::Message {
    let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=message 7394 TCP/MSRP *\r\na=accept-types:message/cpim\r\na=setup:active\r\na=path:msrp://127.0.0.1:7394/s1;tcp\r\n";
    let raw = format!(
        "INVITE sip:g1@cf.test SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK{call_id}\r\nFrom: <sip:a@test>;tag=9\r\nTo: <sip:g1@cf.test>\r\nCall-ID: {call_id}\r\nCSeq: 7 INVITE\r\nContact: <sip:a@127.0.0.1:5060>;+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.session\"\r\nAccept-Contact: *;+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.session\"\r\nConversation-ID: {conv}\r\nContribution-ID: {contrib}\r\nUser-Agent: CPM-client/OMA2.0 ref/1\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    sip::Message::parse(raw.as_bytes()).unwrap().value
}

fn ok(call_id: &str) -> sip::Message {
    let raw = format!(
        "SIP/2.0 200 OK\r\nCall-ID: {call_id}\r\nCSeq: 7 INVITE\r\nContent-Length: 0\r\n\r\n"
    );
    sip::Message::parse(raw.as_bytes()).unwrap().value
}

fn send() -> msrp::Message {
    let body = "From: <sip:a@test>\r\nTo: <sip:g1@cf.test>\r\nDateTime: 2026-01-01T00:00:00Z\r\nNS: imdn <urn:ietf:params:imdn>\r\nimdn.Message-ID: m-77\r\n\r\nContent-Type: text/plain\r\n\r\nback again";
    let raw = format!("MSRP tx9 SEND\r\nTo-Path: msrp://127.0.0.1:7000/s2;tcp\r\nFrom-Path: msrp://127.0.0.1:7394/s1;tcp\r\nMessage-ID: mid-1\r\nByte-Range: 1-{}/{}\r\nSuccess-Report: no\r\nContent-Type: message/cpim\r\n\r\n{body}\r\n-------tx9$\r\n", body.len(), body.len());
    msrp::Message::parse(raw.as_bytes()).unwrap().value
}

fn trace<'a>(
    i1: &'a sip::Message,
    o1: &'a sip::Message,
    s: &'a msrp::Message,
) -> Vec<GoldenInput<'a>> {
    vec![
        GoldenInput {
            from_role: "client".into(),
            to_role: "cf".into(),
            frame: Frame::Sip(i1),
        },
        GoldenInput {
            from_role: "cf".into(),
            to_role: "client".into(),
            frame: Frame::Sip(o1),
        },
        GoldenInput {
            from_role: "client".into(),
            to_role: "cf".into(),
            frame: Frame::Msrp(s),
        },
    ]
}

#[test]
fn runs_with_other_generated_values_give_identical_bytes() {
    // Two runs of the same client differ in every generated value (Call-ID, Conversation-ID,
    // Contribution-ID): the projections are the same bytes, and not empty.
    let (i, o, s) = (invite("abc@1", "conv-1", "contrib-1"), ok("abc@1"), send());
    let (i2, o2) = (invite("zz9@h", "c-other", "k-other"), ok("zz9@h"));
    let a = project(&trace(&i, &o, &s));
    let b = project(&trace(&i2, &o2, &s));
    assert_eq!(a.as_bytes(), b.as_bytes());
    assert_eq!(
        headlines(&a),
        [
            "client -> cf: INVITE sip:g1@cf.test",
            "cf -> client: 200 (INVITE)",
            "client -> cf: MSRP SEND"
        ]
    );
}

/// The frame lines of a projection (its unindented, non-empty lines).
fn headlines(p: &str) -> Vec<&str> {
    p.lines()
        .filter(|l| !l.is_empty() && !l.starts_with(' '))
        .collect()
}

#[test]
fn volatile_values_are_symbols_and_reuse_shows() {
    let (i, o, s) = (invite("abc@1", "conv-1", "conv-1"), ok("abc@1"), send());
    let text = project(&trace(&i, &o, &s));
    assert!(
        !text.contains("abc@1") && !text.contains("7394") && !text.contains("m-77"),
        "{text}"
    );
    // A client that reuses the Conversation-ID as Contribution-ID shows one symbol twice.
    assert!(
        text.contains("Conversation-ID: <conversation-id:1>"),
        "{text}"
    );
    assert!(
        text.contains("Contribution-ID: <conversation-id:1>"),
        "{text}"
    );
    assert_eq!(text.matches("Call-ID: <call-id:1>").count(), 2, "{text}");
}

#[test]
fn projection_snapshot() {
    let (i, o, s) = (invite("abc@1", "conv-1", "contrib-1"), ok("abc@1"), send());
    insta::assert_snapshot!("golden_projection_rejoin", project(&trace(&i, &o, &s)));
}

fn sip_raw(raw: &str) -> sip::Message {
    sip::Message::parse(raw.as_bytes()).unwrap().value
}

fn msrp_raw(raw: &str) -> msrp::Message {
    msrp::Message::parse(raw.as_bytes()).unwrap().value
}

fn inp<'a>(from: &str, to: &str, frame: Frame<'a>) -> GoldenInput<'a> {
    GoldenInput {
        from_role: from.into(),
        to_role: to.into(),
        frame,
    }
}

/// Every rotation of the list and its reverse.
fn orders<T: Clone>(v: &[T]) -> Vec<Vec<T>> {
    let mut out = Vec::new();
    for base in [v.to_vec(), v.iter().rev().cloned().collect()] {
        for k in 0..base.len() {
            let mut r = base.clone();
            r.rotate_left(k);
            out.push(r);
        }
    }
    out
}

#[test]
fn capture_order_between_senders_does_not_matter() {
    let i = invite("abc@1", "conv-1", "contrib-1");
    let o = ok("abc@1");
    let sub = sip_raw("SUBSCRIBE sip:g1@cf.test SIP/2.0\r\nCall-ID: sub@1\r\nCSeq: 1 SUBSCRIBE\r\nEvent: conference\r\nContent-Length: 0\r\n\r\n");
    let sub_ok = sip_raw(
        "SIP/2.0 200 OK\r\nCall-ID: sub@1\r\nCSeq: 1 SUBSCRIBE\r\nContent-Length: 0\r\n\r\n",
    );
    let notify = sip_raw("NOTIFY sip:a@127.0.0.1:5060 SIP/2.0\r\nCall-ID: sub@1\r\nCSeq: 1 NOTIFY\r\nEvent: conference\r\nContent-Length: 0\r\n\r\n");
    let notify_ok =
        sip_raw("SIP/2.0 200 OK\r\nCall-ID: sub@1\r\nCSeq: 1 NOTIFY\r\nContent-Length: 0\r\n\r\n");
    let reg_sub = sip_raw("SUBSCRIBE sip:a@test SIP/2.0\r\nCall-ID: reg@1\r\nCSeq: 1 SUBSCRIBE\r\nEvent: reg\r\nContent-Length: 0\r\n\r\n");
    let s = send();
    let s_ok = msrp_raw("MSRP tx9 200 OK\r\nTo-Path: msrp://127.0.0.1:7394/s1;tcp\r\nFrom-Path: msrp://127.0.0.1:7000/s2;tcp\r\n-------tx9$\r\n");
    let back = msrp_raw("MSRP ty1 SEND\r\nTo-Path: msrp://127.0.0.1:7394/s1;tcp\r\nFrom-Path: msrp://127.0.0.1:7000/s2;tcp\r\nMessage-ID: mid-9\r\nByte-Range: 1-5/5\r\nContent-Type: text/plain\r\n\r\nhello\r\n-------ty1$\r\n");
    let back_ok = msrp_raw("MSRP ty1 200 OK\r\nTo-Path: msrp://127.0.0.1:7000/s2;tcp\r\nFrom-Path: msrp://127.0.0.1:7394/s1;tcp\r\n-------ty1$\r\n");
    let all = vec![
        inp("client", "cf", Frame::Sip(&i)),
        inp("cf", "client", Frame::Sip(&o)),
        inp("client", "cf", Frame::Msrp(&s)),
        inp("cf", "client", Frame::Msrp(&s_ok)),
        inp("cf", "client", Frame::Msrp(&back)),
        inp("client", "cf", Frame::Msrp(&back_ok)),
        inp("client", "cf", Frame::Sip(&sub)),
        inp("cf", "client", Frame::Sip(&sub_ok)),
        inp("cf", "client", Frame::Sip(&notify)),
        inp("client", "cf", Frame::Sip(&notify_ok)),
        inp("client", "registrar", Frame::Sip(&reg_sub)),
    ];
    let want = project(&all);
    for (k, v) in orders(&all).iter().enumerate() {
        assert_eq!(project(v), want, "order {k}");
    }
    // Each request is followed by its own response; the MSRP session follows the INVITE that
    // negotiated it; symbols are numbered in that order.
    let pos = |needle: &str| {
        want.find(needle)
            .unwrap_or_else(|| panic!("{needle}: {want}"))
    };
    assert!(pos("client -> cf: MSRP SEND") < pos("cf -> client: MSRP 200"));
    assert!(pos("cf -> client: MSRP 200") < pos("cf -> client: MSRP SEND"));
    assert!(pos("cf -> client: 200 (INVITE)") < pos("client -> cf: MSRP SEND"));
    assert!(pos("client -> cf: MSRP SEND") < pos("client -> cf: SUBSCRIBE"));
    assert!(pos("cf -> client: 200 (SUBSCRIBE)") < pos("cf -> client: NOTIFY"));
    assert!(want.starts_with("client -> cf: INVITE"), "{want}");
    assert!(want.contains("Call-ID: <call-id:1>") && want.contains("Call-ID: <call-id:3>"));
}

#[test]
fn retransmissions_and_100_trying_are_left_out() {
    let i = invite("abc@1", "conv-1", "contrib-1");
    let trying = sip_raw(
        "SIP/2.0 100 Trying\r\nCall-ID: abc@1\r\nCSeq: 7 INVITE\r\nContent-Length: 0\r\n\r\n",
    );
    let o = ok("abc@1");
    let once = project(&[
        inp("client", "cf", Frame::Sip(&i)),
        inp("cf", "client", Frame::Sip(&o)),
    ]);
    let noisy = project(&[
        inp("client", "cf", Frame::Sip(&i)),
        inp("cf", "client", Frame::Sip(&trying)),
        inp("client", "cf", Frame::Sip(&i)),
        inp("cf", "client", Frame::Sip(&o)),
        inp("cf", "client", Frame::Sip(&o)),
    ]);
    assert_eq!(noisy, once);
    assert_eq!(
        headlines(&once),
        [
            "client -> cf: INVITE sip:g1@cf.test",
            "cf -> client: 200 (INVITE)"
        ],
        "{once}"
    );
}

#[test]
fn cpim_chunks_show_their_shape_not_their_length() {
    let chunk = |tid: &str, range: &str, body: &str| {
        msrp_raw(&format!("MSRP {tid} SEND\r\nTo-Path: msrp://127.0.0.1:7000/s2;tcp\r\nFrom-Path: msrp://127.0.0.1:7394/s1;tcp\r\nMessage-ID: m1\r\nByte-Range: {range}\r\nContent-Type: message/cpim\r\n\r\n{body}\r\n-------{tid}+\r\n"))
    };
    let (a1, a2) = (chunk("t1", "1-4/9", "From"), chunk("t2", "5-9/9", ": <x>"));
    let (b1, b2) = (
        chunk("t1", "1-4/10", "From"),
        chunk("t2", "5-10/10", ": <xy>"),
    );
    // Chunks come in Byte-Range order even when captured the other way round.
    let a = project(&[
        inp("client", "cf", Frame::Msrp(&a2)),
        inp("client", "cf", Frame::Msrp(&a1)),
    ]);
    let b = project(&[
        inp("client", "cf", Frame::Msrp(&b1)),
        inp("client", "cf", Frame::Msrp(&b2)),
    ]);
    assert_eq!(a, b);
    let at = |needle: &str| a.find(needle).unwrap_or_else(|| panic!("{needle}: {a}"));
    assert!(
        at("Byte-Range: 1-4/<whole>") < at("Byte-Range: 5-<whole>/<whole>"),
        "{a}"
    );
}
