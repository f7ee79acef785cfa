//! The two judged steps of scenarios/7.3.9.1/private-message-in-group.yaml against private
//! messages and isComposing written otherwise than the reference client writes them: what a
//! client may legitimately do (a display name, URI parameters, negative-delivery only) passes;
//! what is wrong without being a named fault of the reference client (another participant, the
//! focus, the right user at another host, only a read report requested) fails, and blames only
//! the requirement the condition is evidence for (the step's `evidence` map).

use std::path::Path;

use cpmconf_codec::msrp::Message as Msrp;
use cpmconf_engine::scenario::{load_file, Expect, Step};
use cpmconf_engine::{check, MatchEnv, Observed};
use rstest::rstest;

const ISCOMPOSING: &str = "7.3.9.1/cpim-to-private-iscomposing";
const CHAT: &str = "7.3.9.1/cpim-to-private-chat";
const REPORT: &str = "7.3.9.1/request-delivery-report";

/// The scenario's judged `expect` steps (those with `verifies`), in order, and its environment.
fn judged_steps() -> (Vec<Expect>, MatchEnv) {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios/7.3.9.1/private-message-in-group.yaml");
    let loaded = load_file(&p).unwrap_or_else(|d| panic!("{d}"));
    let env = MatchEnv::for_scenario(&loaded.scenario, 1);
    let steps = loaded
        .scenario
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Expect(e) if !e.verifies.is_empty() => Some((**e).clone()),
            _ => None,
        })
        .collect();
    (steps, env)
}

/// An MSRP SEND whose CPIM envelope has `to` and `extra` headers, around `content_type`.
fn send(to: &str, extra: &str, content_type: &str, content: &str) -> Msrp {
    let cpim = format!(
        "From: <sip:alice@test>\r\nTo: {to}\r\nNS: imdn <urn:ietf:params:imdn>\r\n\
         DateTime: 2026-11-27T10:00:00.000Z\r\n{extra}\r\n\
         Content-Type: {content_type}\r\n\r\n{content}"
    );
    let raw = format!(
        "MSRP t1 SEND\r\nTo-Path: msrp://127.0.0.1:7000/s2;tcp\r\n\
         From-Path: msrp://127.0.0.1:7394/s1;tcp\r\nMessage-ID: m1\r\n\
         Byte-Range: 1-{n}/{n}\r\nContent-Type: message/cpim\r\n\r\n{cpim}\r\n-------t1$\r\n",
        n = cpim.len()
    );
    Msrp::parse(raw.as_bytes()).expect("a valid frame").value
}

/// The requirements of `e` that the findings of `frame` count against.
fn blamed(e: &Expect, frame: &Msrp, env: &MatchEnv) -> Vec<String> {
    let out = check(e, Observed::Msrp(frame), env).expect("judged");
    // The engine's own attribution (`evidence`).
    let mut ids = cpmconf_engine::assess::Proves::of_expect(e).blamed(&out.findings);
    ids.sort();
    ids
}

const COMPOSING_XML: &str = "<?xml version=\"1.0\"?><isComposing \
    xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\"><state>active</state></isComposing>";

#[rstest]
#[case::plain("<sip:bob@test>", &[])]
#[case::display_name("\"Bob\" <sip:bob@test>", &[])]
#[case::uri_parameter("<sip:bob@test;transport=tcp>", &[])]
#[case::another_participant("<sip:carol@test>", &[ISCOMPOSING])]
#[case::the_focus("<sip:conf-f1@cf.test>", &[ISCOMPOSING])]
#[case::another_host("<sip:bob@test.example>", &[ISCOMPOSING])]
fn private_iscomposing_to(#[case] to: &str, #[case] fails: &[&str]) {
    let (steps, env) = judged_steps();
    let e = &steps[0];
    assert_eq!(e.verifies, [ISCOMPOSING]);
    let frame = send(to, "", "application/im-iscomposing+xml", COMPOSING_XML);
    assert_eq!(blamed(e, &frame, &env), fails, "To: {to}");
}

#[rstest]
#[case::plain("<sip:bob@test>", "positive-delivery", &[])]
#[case::display_name("\"Bob\" <sip:bob@test>", "positive-delivery, display", &[])]
#[case::negative_only("<sip:bob@test>", "negative-delivery", &[])]
#[case::another_participant("<sip:carol@test>", "positive-delivery", &[CHAT])]
#[case::the_focus("<sip:conf-f1@cf.test>", "positive-delivery", &[CHAT])]
#[case::another_host("<sip:bob@test.example>", "positive-delivery", &[CHAT])]
#[case::read_report_only("<sip:bob@test>", "display", &[REPORT])]
#[case::both_wrong("<sip:carol@test>", "display", &[CHAT, REPORT])]
fn private_chat_to_and_delivery_report(
    #[case] to: &str,
    #[case] dispositions: &str,
    #[case] fails: &[&str],
) {
    let (steps, env) = judged_steps();
    let e = &steps[1];
    let extra =
        format!("imdn.Message-ID: Xk1\r\nimdn.Disposition-Notification: {dispositions}\r\n");
    let frame = send(to, &extra, "text/plain", "just for bob");
    let mut want: Vec<String> = fails.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(blamed(e, &frame, &env), want, "To: {to}, {dispositions}");
}
