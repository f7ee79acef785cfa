//! The CPIM From check of resume-known-file-200 (CR 7.4.5.2 item 1, L262: "The device
//! identifier used in the CPIM From header is set as described in section 6.1.1") as written in
//! the scenario file, judged on hand-written resumed chunks under each reading the profile may
//! name (`gruu`, `instance`) and under none: the forms a reading allows pass, a From naming
//! another user or another device fails the requirement and nothing else, and a chunk without
//! a CPIM wrapper is "not reached" (no CPIM From exists), never a failure.

use std::path::Path;

use cpmconf_codec::{msrp, sip};
use cpmconf_engine::matcher::{CLIENT_INSTANCE, CPIM_FROM_READING, NO_CPIM_FROM};
use cpmconf_engine::scenario::{load_file, Expect, Step};
use cpmconf_engine::{check, MatchEnv, Observed};
use rstest::rstest;

const ID: &str = "7.4.5.2/sender-cpim-from-device-id";

/// The scenario's `expect` step that verifies the CPIM From requirement.
fn step() -> Expect {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios/7.4.5.2/resume-known-file-200.yaml");
    load_file(&p)
        .unwrap_or_else(|d| panic!("{d}"))
        .scenario
        .steps
        .into_iter()
        .find_map(|s| match s {
            Step::Expect(e) if e.verifies.iter().any(|v| v == ID) => Some(*e),
            _ => None,
        })
        .expect("a step verifies the CPIM From requirement")
}

fn sip_message(raw: &str) -> sip::Message {
    sip::Message::parse(raw.as_bytes()).unwrap().value
}

/// The client's 200 OK (its Contact with or without the device's +sip.instance) and bob's
/// resume request asking for 1001-2000.
fn env(reading: Option<&str>, contact_instance: bool) -> MatchEnv {
    let mut env = MatchEnv::default();
    env.bindings.set("client.uri", "sip:alice@test");
    env.bindings.set(CLIENT_INSTANCE, "urn:gsma:imei:A-1");
    if let Some(r) = reading {
        env.bindings.set(CPIM_FROM_READING, r);
    }
    let inst = if contact_instance {
        ";+sip.instance=\"<urn:gsma:imei:A-1>\""
    } else {
        ""
    };
    let ok = sip_message(&format!("SIP/2.0 200 OK\r\nCall-ID: r\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@127.0.0.1:5070>{inst}\r\nContent-Length: 0\r\n\r\n"));
    env.save("served", Observed::Sip(&ok));
    let sdp = "v=0\r\no=bob 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=message 9 TCP/MSRP *\r\na=recvonly\r\na=path:msrp://127.0.0.1:9/s1;tcp\r\na=file-selector:name:\"d.png\" type:image/png size:2000\r\na=file-range:1001-2000\r\n";
    let offer = sip_message(&format!("INVITE sip:alice@test SIP/2.0\r\nCall-ID: r\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}", sdp.len()));
    env.save("resume", Observed::Sip(&offer));
    env
}

/// The first resumed chunk: the rest of d.png wrapped in CPIM with `from` (or unwrapped when
/// `from` is `None`), from byte 1001.
fn chunk(from: Option<&str>) -> msrp::Message {
    let (ct, body) = match from {
        Some(f) => (
            "message/cpim",
            format!("From: {f}\r\nTo: <sip:bob@test>\r\nDateTime: 2026-11-27T10:00:00.000Z\r\n\r\nContent-Type: image/png\r\n\r\n{}", "x".repeat(1000)),
        ),
        None => ("image/png", "x".repeat(1000)),
    };
    let end = 1000 + body.len();
    let raw = format!("MSRP t1 SEND\r\nTo-Path: msrp://127.0.0.1:9/s1;tcp\r\nFrom-Path: msrp://127.0.0.1:7000/s2;tcp\r\nMessage-ID: m1\r\nByte-Range: 1001-{end}/{end}\r\nContent-Type: {ct}\r\n\r\n{body}\r\n-------t1$\r\n");
    msrp::Message::parse(raw.as_bytes()).unwrap().value
}

/// The requirements of the step whose evidence a finding is, with the finding keys.
fn blamed(e: &Expect, findings: &[cpmconf_engine::Finding]) -> Vec<(String, String)> {
    // The engine's own attribution (`evidence`), with the key of each finding blamed.
    let proves = cpmconf_engine::assess::Proves::of_expect(e);
    let mut out = Vec::new();
    for id in &e.verifies {
        for f in proves.findings_for(id, findings) {
            out.push((id.clone(), f.key.clone().unwrap_or_default()));
        }
    }
    out
}

const GRUU: &str = "<sip:alice@test;gr=urn:gsma:imei:A-1>";
const AOR: &str = "<sip:alice@test>";
const FOREIGN: &str = "<sip:alice@test;gr=urn:uuid:00000000-0000-4000-8000-000000000000>";

#[rstest]
// reading gruu: the public GRUU, however written.
#[case::gruu(Some("gruu"), true, Some(GRUU), true)]
#[case::gruu_display_name(
    Some("gruu"),
    true,
    Some("\"Alice\" <sip:alice@test;gr=urn:gsma:imei:A-1>"),
    true
)]
#[case::gruu_percent_encoded(
    Some("gruu"),
    true,
    Some("<sip:alice@test;gr=urn%3Agsma%3Aimei%3AA-1>"),
    true
)]
#[case::gruu_case(
    Some("gruu"),
    true,
    Some("<sip:alice@test;GR=URN:GSMA:IMEI:A-1>"),
    true
)]
#[case::gruu_bare_aor(Some("gruu"), true, Some(AOR), false)]
#[case::gruu_foreign_device(Some("gruu"), true, Some(FOREIGN), false)]
#[case::gruu_other_user(
    Some("gruu"),
    true,
    Some("<sip:mallory@test;gr=urn:gsma:imei:A-1>"),
    false
)]
// reading instance: the CPM Address, the device on the 200's Contact.
#[case::instance(Some("instance"), true, Some(AOR), true)]
#[case::instance_own_gr(Some("instance"), true, Some(GRUU), true)]
#[case::instance_no_contact_instance(Some("instance"), false, Some(AOR), false)]
#[case::instance_foreign_device(Some("instance"), true, Some(FOREIGN), false)]
#[case::instance_other_user(Some("instance"), true, Some("<sip:mallory@test>"), false)]
// no reading named: either allowed reading passes, never a failure for one the CR allows.
#[case::unnamed_gruu(None, false, Some(GRUU), true)]
#[case::unnamed_instance(None, true, Some(AOR), true)]
#[case::unnamed_neither(None, false, Some(AOR), false)]
#[case::unnamed_foreign_device(None, true, Some(FOREIGN), false)]
fn the_cpim_from_check(
    #[case] reading: Option<&str>,
    #[case] contact_instance: bool,
    #[case] from: Option<&str>,
    #[case] ok: bool,
) {
    let e = step();
    let out = check(
        &e,
        Observed::Msrp(&chunk(from)),
        &env(reading, contact_instance),
    )
    .unwrap();
    let want: Vec<(String, String)> = if ok {
        Vec::new()
    } else {
        vec![(ID.to_string(), "cpim_from_device".to_string())]
    };
    assert_eq!(blamed(&e, &out.findings), want, "{:?}", out.findings);
}

/// A file sent as it is has no CPIM From: the one finding says so (the runner makes the
/// requirement resting on it inconclusive), and the Byte-Range is judged all the same.
#[rstest]
#[case::gruu(Some("gruu"))]
#[case::instance(Some("instance"))]
#[case::unnamed(None)]
fn an_unwrapped_chunk_has_no_cpim_from(#[case] reading: Option<&str>) {
    let e = step();
    let out = check(&e, Observed::Msrp(&chunk(None)), &env(reading, true)).unwrap();
    assert_eq!(
        blamed(&e, &out.findings),
        vec![(ID.to_string(), NO_CPIM_FROM.to_string())],
        "{:?}",
        out.findings
    );
}

/// The resumed chunks start at the requested byte (catalogue check of
/// 7.4.5.2/sender-200-ok-file): a chunk from byte 1 fails that requirement only.
#[test]
fn a_resent_file_fails_the_200_ok_requirement_only() {
    let e = step();
    let raw = format!("MSRP t1 SEND\r\nTo-Path: msrp://127.0.0.1:9/s1;tcp\r\nFrom-Path: msrp://127.0.0.1:7000/s2;tcp\r\nMessage-ID: m1\r\nByte-Range: 1-2000/2000\r\nContent-Type: message/cpim\r\n\r\nFrom: {GRUU}\r\nTo: <sip:bob@test>\r\n\r\nContent-Type: image/png\r\n\r\nxx\r\n-------t1$\r\n");
    let m = msrp::Message::parse(raw.as_bytes()).unwrap().value;
    let out = check(&e, Observed::Msrp(&m), &env(Some("gruu"), true)).unwrap();
    assert_eq!(
        blamed(&e, &out.findings),
        vec![(
            "7.4.5.2/sender-200-ok-file".to_string(),
            "byte_range.start".to_string()
        )],
        "{:?}",
        out.findings
    );
}
