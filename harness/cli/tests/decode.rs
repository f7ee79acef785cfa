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
