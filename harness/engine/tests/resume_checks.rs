//! The checks of resume-sender-after-partial-ack as written in the scenario file, judged on
//! hand-written messages of clients that differ legitimately (another chunk size, the instance
//! without angle brackets, a resume point counted from sent rather than acknowledged bytes, an
//! open stop or total) and of clients that are wrong: the first must pass, the second fail on
//! the requirement they break and no other.

use std::path::Path;

use cpmconf_codec::{msrp, sip};
use cpmconf_engine::scenario::{load_file, Expect, Step};
use cpmconf_engine::{check, MatchEnv, Observed};
use cpmconf_sim::media::TransferProgress;
use rstest::rstest;

const DEVICE: &str = "0f4b4e2c-6c2a-4c1e-9d57-2a1b5c3d4e5f";

fn steps() -> Vec<Step> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios/7.4.5.1/resume-sender-after-partial-ack.yaml");
    load_file(&p)
        .unwrap_or_else(|d| panic!("{d}"))
        .scenario
        .steps
}

/// The scenario's `expect` step that verifies `id`.
fn step_verifying(id: &str) -> Expect {
    steps()
        .into_iter()
        .find_map(|s| match s {
            Step::Expect(e) if e.verifies.iter().any(|v| v == id) => Some(*e),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no step verifies {id}"))
}

fn invite(accept_contact: &str, range: &str) -> sip::Message {
    let sdp = format!("v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=message 7000 TCP/MSRP *\r\na=sendonly\r\na=path:msrp://127.0.0.1:7000/s9;tcp\r\na=file-selector:name:\"t.bin\" type:application/octet-stream size:6000\r\na=file-range:{range}\r\n");
    let raw = format!("INVITE sip:bob@test SIP/2.0\r\nCall-ID: r\r\nCSeq: 1 INVITE\r\nAccept-Contact: *;+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.filetransfer\"\r\n{accept_contact}Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}", sdp.len());
    sip::Message::parse(raw.as_bytes()).unwrap().value
}

/// Bob acknowledged bytes 1-2048 of 6000 and received 1-4096.
fn env() -> MatchEnv {
    let mut env = MatchEnv::default();
    env.bindings.set("device", DEVICE);
    env.transfers.insert(
        "first_chunk".into(),
        TransferProgress {
            acknowledged: 2048,
            received: 4096,
            total: Some(6000),
        },
    );
    env
}

/// The requirements a judged message fails, by the engine's own attribution (`evidence`).
fn failing(e: &Expect, findings: &[cpmconf_engine::Finding]) -> Vec<String> {
    cpmconf_engine::assess::Proves::of_expect(e).blamed(findings)
}

#[rstest]
#[case::bracketed(&format!("Accept-Contact: *;+sip.instance=\"<urn:uuid:{DEVICE}>\";require;explicit\r\n"), "2049-6000", &[])]
#[case::without_brackets(&format!("Accept-Contact: *;+sip.instance=\"urn:uuid:{DEVICE}\";require;explicit\r\n"), "2049-6000", &[])]
#[case::without_require_explicit(&format!("Accept-Contact: *;+sip.instance=\"<urn:uuid:{DEVICE}>\"\r\n"), "2049-6000", &[])]
#[case::counts_sent_bytes(&format!("Accept-Contact: *;+sip.instance=\"<urn:uuid:{DEVICE}>\"\r\n"), "4097-6000", &[])]
#[case::open_stop(&format!("Accept-Contact: *;+sip.instance=\"<urn:uuid:{DEVICE}>\"\r\n"), "2049-*", &[])]
#[case::no_instance("", "2049-6000", &["7.4.5.1/sender-device-id"])]
#[case::another_instance("Accept-Contact: *;+sip.instance=\"<urn:uuid:00000000-0000-4000-8000-000000000000>\"\r\n", "2049-6000", &["7.4.5.1/sender-device-id"])]
#[case::no_tracking(&format!("Accept-Contact: *;+sip.instance=\"<urn:uuid:{DEVICE}>\"\r\n"), "1-6000", &["7.4.5/track-transferred-bytes"])]
#[case::past_what_was_sent(&format!("Accept-Contact: *;+sip.instance=\"<urn:uuid:{DEVICE}>\"\r\n"), "5000-6000", &["7.4.5/track-transferred-bytes"])]
fn the_resume_invite_check(#[case] accept: &str, #[case] range: &str, #[case] want: &[&str]) {
    let e = step_verifying("7.4.5/track-transferred-bytes");
    let m = invite(accept, range);
    let out = check(&e, Observed::Sip(&m), &env()).unwrap();
    assert_eq!(failing(&e, &out.findings), want, "{:?}", out.findings);
}

/// A chunk the client sends from its MSRP session `session` (its From-Path) to bob's.
fn chunk(range: &str, len: usize, flag: char, session: &str) -> msrp::Message {
    let raw = format!("MSRP t1 SEND\r\nTo-Path: msrp://127.0.0.1:7394/s1;tcp\r\nFrom-Path: msrp://127.0.0.1:7000/{session};tcp\r\nMessage-ID: x1\r\nByte-Range: {range}\r\nContent-Type: application/octet-stream\r\n\r\n{}\r\n-------t1{flag}\r\n", "x".repeat(len));
    msrp::Message::parse(raw.as_bytes()).unwrap().value
}

/// The first chunk of the resumed transfer, on the session the resume INVITE offered (`s9`):
/// any chunk size, end or total passes; a wrong start fails; and a chunk of the interrupted
/// session (`s2`), which the client may have written ahead and bob read after closing it, is
/// not the resumed session's, even with the right start.
#[rstest]
#[case::reference_chunks("2049-4096/6000", 2048, '+', "s9", true)]
#[case::small_chunks("2049-3072/6000", 1024, '+', "s9", true)]
#[case::one_chunk("2049-6000/6000", 3952, '$', "s9", true)]
#[case::unknown_total("2049-3072/*", 1024, '+', "s9", true)]
#[case::from_byte_one("1-2048/6000", 2048, '+', "s9", false)]
#[case::from_the_acknowledged_byte("2048-4095/6000", 2048, '+', "s9", false)]
#[case::interrupted_session("2049-4096/6000", 2048, '+', "s2", false)]
fn the_resumed_media_plane_check(
    #[case] range: &str,
    #[case] len: usize,
    #[case] flag: char,
    #[case] session: &str,
    #[case] ok: bool,
) {
    let e = step_verifying("7.4.5.1/media-plane-byte-range");
    let mut env = env();
    // The resume INVITE the client sent (saved as `resume`) offered 2049-6000 on session s9.
    let offer = invite("", "2049-6000");
    env.save("resume", Observed::Sip(&offer));
    let out = check(&e, Observed::Msrp(&chunk(range, len, flag, session)), &env).unwrap();
    assert_eq!(out.findings.is_empty(), ok, "{:?}", out.findings);
}
