//! `cpmconf decode`: exit status, findings with positions, and JSON output, through the binary.

use rstest::rstest;
use std::io::Write;
use std::process::{Command, Stdio};

fn decode(args: &[&str], stdin: Option<&[u8]>) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cpmconf"))
        .arg("decode")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cpmconf starts");
    {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        if let Some(bytes) = stdin {
            pipe.write_all(bytes).expect("stdin accepts the input");
        }
    }
    let out = child.wait_with_output().expect("cpmconf finishes");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fixture(name: &str) -> String {
    format!("{}/../../fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[rstest]
#[case::sip_invite("corpus/sip-invite.sip", "INVITE sip:g1@cf.test")]
#[case::sip_response("corpus/sip-200-invite.sip", "200 OK (INVITE)")]
#[case::msrp_send("corpus/msrp-send-chat.msrp", "MSRP SEND a786hjs2")]
#[case::msrp_report("corpus/msrp-report.msrp", "REPORT")]
fn well_formed_messages_exit_0(#[case] file: &str, #[case] summary: &str) {
    let (code, out, err) = decode(&[&fixture(file)], None);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert!(out.contains(summary), "{out}");
    assert!(out.contains("findings: none"), "{out}");
}

#[test]
fn findings_exit_1_and_name_line_and_column() {
    let msg = b"MESSAGE sip:bob@cpm.test SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nCall-ID: 1\nCSeq: 1 MESSAGE\nFrom: <sip:a@cpm.test>;tag=1\nTo: <sip:bob@cpm.test>\nMax-Forwards: 70\n\n";
    let (code, out, _) = decode(&["-"], Some(msg));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("-:1:33: warning at byte 32"), "{out}");
    assert!(out.contains("rfc3261/7 bare-lf"), "{out}");
}

#[rstest]
#[case::bad_cseq(b"INVITE sip:a@b SIP/2.0\r\nCSeq: x INVITE\r\n\r\n" as &[u8], "byte 30", "rfc3261/20.16 cseq")]
#[case::no_colon(b"INVITE sip:a@b SIP/2.0\r\nBroken line\r\n\r\n" as &[u8], "byte 31", "header-colon")]
#[case::negative_cl(b"SIP/2.0 200 OK\r\nContent-Length: -1\r\n\r\n" as &[u8], "byte 32", "content-length")]
#[case::msrp_tid_mismatch(b"MSRP abcd SEND\r\nTo-Path: msrp://h:1/s;tcp\r\nFrom-Path: msrp://h:2/t;tcp\r\n-------wxyz$\r\n" as &[u8], "byte 79", "rfc4975/6 end-line-tid")]
fn undecodable_input_exits_2_with_offset(
    #[case] input: &[u8],
    #[case] offset: &str,
    #[case] rule: &str,
) {
    let (code, out, _) = decode(&["-"], Some(input));
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("cannot decode"), "{out}");
    assert!(out.contains(offset), "{out}");
    assert!(out.contains(rule), "{out}");
}

#[test]
fn json_output_carries_structure_and_findings() {
    let (code, out, _) = decode(&["--json", &fixture("corpus/sip-message-cpim.sip")], None);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(v["protocol"], "sip");
    assert_eq!(v["status"], "ok");
    assert_eq!(v["message"]["start"]["method"], "Message");
    assert!(v["findings"].as_array().is_some_and(|f| f.is_empty()));
}

#[test]
fn unreadable_file_exits_2() {
    let (code, _, err) = decode(&["/nonexistent/file.sip"], None);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");
}

/// A pager MESSAGE whose body is `content_type` with `body`; the body starts at the returned
/// offset of the message.
fn message_with_body(content_type: &str, body: &[u8]) -> (Vec<u8>, usize) {
    let head = format!(
        "MESSAGE sip:bob@cpm.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\nCall-ID: 1\r\nCSeq: 1 MESSAGE\r\nFrom: <sip:a@cpm.test>;tag=1\r\nTo: <sip:bob@cpm.test>\r\nMax-Forwards: 70\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let at = head.len();
    ([head.as_bytes(), body].concat(), at)
}

const SDP_BARE_LF: &[u8] = b"v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=message 9 TCP/MSRP *\na=path:msrp://127.0.0.1:9/s;tcp\n";
const SDP_CRLF: &[u8] = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=message 9 TCP/MSRP *\r\na=path:msrp://127.0.0.1:9/s;tcp\r\n";
const CPIM_NO_FROM: &[u8] = b"To: <sip:bob@cpm.test>\r\nDateTime: 2026-11-27T10:00:00.000Z\r\n\r\nContent-Type: text/plain\r\n\r\nhi";
const CPIM_BAD_IMDN: &[u8] = b"From: <sip:a@cpm.test>\r\nTo: <sip:bob@cpm.test>\r\nDateTime: 2026-11-27T10:00:00.000Z\r\n\r\nContent-Type: message/imdn+xml\r\n\r\n<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\"><message-id>x";

// (content type, body, exit status, rule that must be listed, offset of that finding in the body)
#[rstest]
#[case::sdp_bare_lf("application/sdp", SDP_BARE_LF, 1, Some(("rfc4566/5 crlf", 3)))]
#[case::sdp_crlf("application/sdp", SDP_CRLF, 0, None)]
#[case::cpim_without_from("message/cpim", CPIM_NO_FROM, 1, Some(("rfc3862", 0)))]
#[case::imdn_inside_cpim("message/cpim", CPIM_BAD_IMDN, 1, Some(("rfc5438/imdn-xml", 104)))]
#[case::reginfo_not_xml("application/reginfo+xml", b"reginfo", 1, Some(("rfc3680", 0)))]
#[case::plain_text("text/plain", b"hello\n", 0, None)]
fn bodies_are_decoded_by_content_type(
    #[case] ct: &str,
    #[case] body: &[u8],
    #[case] exit: i32,
    #[case] finding: Option<(&str, usize)>,
) {
    let (msg, at) = message_with_body(ct, body);
    let (code, out, err) = decode(&["-"], Some(&msg));
    assert_eq!(code, exit, "stdout: {out}\nstderr: {err}");
    assert!(
        out.contains(&format!("{ct} ({} bytes", body.len())),
        "{out}"
    );
    match finding {
        None => assert!(out.contains("findings: none"), "{out}"),
        Some((rule, offset)) => {
            assert!(out.contains(rule), "{out}");
            let (jcode, json, _) = decode(&["--json", "-"], Some(&msg));
            assert_eq!(jcode, exit);
            let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
            let f = v["findings"]
                .as_array()
                .and_then(|a| {
                    a.iter()
                        .find(|f| f["rule"].as_str().is_some_and(|r| r.starts_with(rule)))
                })
                .unwrap_or_else(|| panic!("no {rule} finding: {json}"));
            assert!(
                f["offset"]
                    .as_u64()
                    .is_some_and(|o| o as usize >= at + offset),
                "{f} is not at or after byte {}",
                at + offset
            );
            assert!(f["offset"]
                .as_u64()
                .is_some_and(|o| (o as usize) <= msg.len()));
        }
    }
}

#[test]
fn sdp_bare_lf_finding_names_its_line_in_the_file() {
    let (msg, at) = message_with_body("application/sdp", SDP_BARE_LF);
    let (code, out, _) = decode(&["-"], Some(&msg));
    assert_eq!(code, 1, "{out}");
    // The first bare LF ends `v=0` on line 11 of the file (10 header lines, blank line).
    assert!(
        out.contains(&format!("-:11:4: warning at byte {}", at + 3)),
        "{out}"
    );
}

#[rstest]
#[case::folded_header(b"OPTIONS sip:bob@cpm.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\nFrom: <sip:a@cpm.test>;tag=1\r\nTo: <sip:bob@cpm.test>\r\nSubject: a folded\r\n  subject\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n" as &[u8], 0, "rfc3261/7.3.1 folding")]
#[case::bare_lf_head(b"OPTIONS sip:bob@cpm.test SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\nCall-ID: 1\nCSeq: 1 OPTIONS\nFrom: <sip:a@cpm.test>;tag=1\nTo: <sip:bob@cpm.test>\nMax-Forwards: 70\nContent-Length: 0\n\n" as &[u8], 1, "rfc3261/7 bare-lf")]
fn info_notes_exit_0_warnings_exit_1(#[case] msg: &[u8], #[case] exit: i32, #[case] rule: &str) {
    let (code, out, _) = decode(&["-"], Some(msg));
    assert_eq!(code, exit, "{out}");
    assert!(out.contains(rule), "{out}");
    let (_, json, _) = decode(&["--json", "-"], Some(msg));
    let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    assert_eq!(v["status"], if exit == 0 { "notes" } else { "findings" });
}

/// An MSRP SEND with a CPIM body: the whole message in one chunk is decoded as CPIM; the first
/// chunk of a larger message is only framing (its CPIM would be cut short).
fn msrp_send(range: &str, body: &str) -> Vec<u8> {
    format!("MSRP tr01 SEND\r\nTo-Path: msrp://127.0.0.1:7000/s1;tcp\r\nFrom-Path: msrp://127.0.0.1:7001/s2;tcp\r\nMessage-ID: m1\r\nByte-Range: {range}\r\nContent-Type: message/cpim\r\n\r\n{body}\r\n-------tr01+\r\n").into_bytes()
}

#[rstest]
#[case::whole_message_is_judged("1-21/21", 1)]
#[case::first_chunk_is_not("1-21/400", 0)]
fn msrp_bodies_are_judged_only_whole(#[case] range: &str, #[case] exit: i32) {
    // A CPIM message without From (21 bytes: "To: <sip:b@t>\r\n\r\nhi\r\n" is not whole CPIM).
    let body = "To: <sip:b@t>\r\n\r\nhi\r\n";
    assert_eq!(body.len(), 21);
    let (code, out, _) = decode(&["-"], Some(&msrp_send(range, body)));
    assert_eq!(code, exit, "{out}");
    assert_eq!(out.contains("rfc3862"), exit == 1, "{out}");
}
