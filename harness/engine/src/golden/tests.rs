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
fn same_input_twice_gives_identical_bytes() {
    let (i, o, s) = (invite("abc@1", "conv-1", "contrib-1"), ok("abc@1"), send());
    let a = project(&trace(&i, &o, &s));
    let b = project(&trace(&i, &o, &s));
    assert_eq!(a.as_bytes(), b.as_bytes());
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
