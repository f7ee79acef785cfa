//! Captures written by the pcap sink open cleanly in Wireshark: tshark decodes every message as
//! SIP or MSRP, flags nothing as malformed, finds every checksum good, and reassembles the large
//! MSRP SEND from its segments into one message. tshark must be installed (CI installs it).

mod support;

use cpmconf_capture::pcap_writer::PcapSink;
use cpmconf_capture::tshark::{check_pcap, TsharkSummary};
use cpmconf_capture::Tap;
use rstest::rstest;
use support::{record_sample, Endpoints, SAMPLE_MESSAGES, TID};

fn run_tshark(v6: bool, mss: usize) -> TsharkSummary {
    run_tshark_on(Endpoints::new(v6), mss)
}

fn run_tshark_on(ep: Endpoints, mss: usize) -> TsharkSummary {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sample.pcap");
    let tap = Tap::new();
    tap.add_sink(Box::new(PcapSink::create_with_mss(&path, mss).unwrap()));
    record_sample(&tap, ep);
    tap.finish();
    check_pcap(&path)
        .unwrap_or_else(|e| panic!("tshark is required for this test and must work: {e}"))
}

#[rstest]
#[case::ipv4(false, 1460)]
#[case::ipv6(true, 1460)]
#[case::ipv4_small_mss(false, 536)]
fn tshark_decodes_every_message_without_problems(#[case] v6: bool, #[case] mss: usize) {
    assert_decoded_as_sip_and_msrp(run_tshark(v6, mss));
}

/// A run's sockets get whatever ports the OS hands out; the check decodes SIP and MSRP even on a
/// port Wireshark registers to another protocol (a run once got 37008 and saw TZSP).
#[rstest]
#[case::ipv4(false)]
#[case::ipv6(true)]
fn ports_registered_to_other_protocols_still_decode_as_sip_and_msrp(#[case] v6: bool) {
    assert_decoded_as_sip_and_msrp(run_tshark_on(Endpoints::on_registered_ports(v6), 1460));
}

fn assert_decoded_as_sip_and_msrp(summary: TsharkSummary) {
    let problems = summary.problem_frames();
    assert!(problems.is_empty(), "frames with problems: {problems:#?}");
    assert_eq!(
        summary.sip_lines(),
        vec![
            "MESSAGE sip:bob@cpm.test SIP/2.0",
            "SIP/2.0 200 OK",
            "INVITE sip:bob@cpm.test SIP/2.0",
            "SIP/2.0 200 OK",
        ]
    );
    let send = format!("MSRP {TID} SEND");
    let ok = format!("MSRP {TID} 200 OK");
    assert_eq!(summary.msrp_lines(), vec![send.as_str(), ok.as_str()]);
    // Each message is its own frame, shown as SIP or MSRP.
    let message_frames: Vec<_> = summary
        .frames
        .iter()
        .filter(|f| !f.sip.is_empty() || !f.msrp.is_empty())
        .collect();
    assert_eq!(message_frames.len(), SAMPLE_MESSAGES);
    for f in &message_frames {
        assert!(
            f.protocol.starts_with("SIP") || f.protocol == "MSRP",
            "frame {} shown as {}",
            f.number,
            f.protocol
        );
    }
}

#[rstest]
#[case::mss_1460(1460)]
#[case::mss_536(536)]
fn large_msrp_send_is_reassembled_from_segments(#[case] mss: usize) {
    let summary = run_tshark(false, mss);
    let send = summary
        .frames
        .iter()
        .find(|f| f.msrp.iter().any(|l| l.ends_with("SEND")))
        .expect("a frame with the MSRP SEND");
    let segments = summary
        .frames
        .iter()
        .filter(|f| f.reassembled_in == Some(send.number))
        .count();
    // 20 kB of body plus headers: every segment but the last is reassembled into the SEND.
    let expected = support::msrp_send(TID, &support::large_body())
        .len()
        .div_ceil(mss)
        - 1;
    assert_eq!(
        segments, expected,
        "segments reassembled into frame {}",
        send.number
    );
}

#[test]
fn a_corrupted_segment_is_flagged() {
    // Proves the check can fail: one flipped body byte breaks the TCP checksum.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt.pcap");
    let tap = Tap::with_pcap(&path).unwrap();
    record_sample(&tap, Endpoints::new(false));
    tap.finish();
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes
        .windows(10)
        .position(|w| w == b"abcdefghij")
        .expect("body in the capture");
    bytes[at] = b'A';
    std::fs::write(&path, &bytes).unwrap();
    let summary = check_pcap(&path).unwrap_or_else(|e| panic!("tshark is required: {e}"));
    let problems = summary.problem_frames();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].bad_checksum);
}

#[test]
fn tshark_output_is_parsed_per_column() {
    let line = "7\tSIP\t\t2097152\u{1f}6291456\tchat\u{1f}warned\tINVITE sip:b@x SIP/2.0\t\t\t\t1\t0\t\t\n";
    let summary = cpmconf_capture::tshark::parse_fields(line).unwrap();
    let f = &summary.frames[0];
    assert_eq!(f.number, 7);
    assert_eq!(f.sip, vec!["INVITE sip:b@x SIP/2.0"]);
    assert_eq!(f.expert.len(), 2);
    assert_eq!(f.expert[1].message, "warned");
    assert!(f.bad_checksum);
    assert!(f.has_problem());
    assert!(cpmconf_capture::tshark::parse_fields("x\ty").is_err());
}

/// A second TCP connection on the same port pair (a client reconnecting from the same port)
/// continues the sequence space: tshark shows all its SIP messages and flags no retransmission.
#[test]
fn a_second_connection_on_the_same_port_pair_is_not_a_retransmission() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reconnect.pcap");
    let tap = Tap::new();
    tap.add_sink(Box::new(PcapSink::create(&path).unwrap()));
    let ep = Endpoints::new(false);
    let (client, core) = (ep.client_sip, ep.core_sip);
    for _ in 0..2 {
        tap.tcp_open(client, core);
        tap.tcp_data(
            client,
            core,
            &support::sip_request("MESSAGE", "TCP", "hello", "text/plain"),
        );
        tap.tcp_data(core, client, &support::sip_ok("MESSAGE", "TCP"));
        tap.tcp_close(client, core);
        tap.tcp_close(core, client);
    }
    tap.finish();
    let summary = check_pcap(&path)
        .unwrap_or_else(|e| panic!("tshark is required for this test and must work: {e}"));
    let problems = summary.problem_frames();
    assert!(problems.is_empty(), "frames with problems: {problems:#?}");
    assert_eq!(
        summary.sip_lines(),
        vec![
            "MESSAGE sip:bob@cpm.test SIP/2.0",
            "SIP/2.0 200 OK",
            "MESSAGE sip:bob@cpm.test SIP/2.0",
            "SIP/2.0 200 OK",
        ]
    );
}
