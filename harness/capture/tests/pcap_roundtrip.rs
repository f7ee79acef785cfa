//! A capture read back gives the same trace as the live events: same messages, order, addresses
//! and times, over IPv4 and IPv6, for pcap and (via tshark) pcapng; and the file is usable while
//! the run is still going.

mod support;

use std::process::Command;

use cpmconf_capture::pcap_writer::PcapSink;
use cpmconf_capture::{read_capture, Tap, Trace, TraceFrame, WireEventKind};
use rstest::rstest;
use support::{record_sample, Endpoints, SAMPLE_MESSAGES};

fn sample(v6: bool, mss: usize) -> (tempfile::TempDir, std::path::PathBuf, Tap) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sample.pcap");
    let tap = Tap::new();
    tap.add_sink(Box::new(PcapSink::create_with_mss(&path, mss).unwrap()));
    record_sample(&tap, Endpoints::new(v6));
    (dir, path, tap)
}

#[rstest]
#[case::ipv4(false, 1460)]
#[case::ipv6(true, 1460)]
#[case::tiny_segments(false, 7)]
#[case::one_segment_per_write(true, 100_000)]
fn pcap_read_back_gives_the_live_trace(#[case] v6: bool, #[case] mss: usize) {
    let (_dir, path, tap) = sample(v6, mss);
    tap.finish();
    let live = Trace::from_events(&tap.events());
    assert_eq!(live.entries.len(), SAMPLE_MESSAGES);
    assert!(
        live.undecodable().next().is_none(),
        "{}",
        live.wire_log(&|_| None)
    );
    let offline = Trace::from_pcap(&path).unwrap();
    assert!(offline.problems.is_empty(), "{:?}", offline.problems);
    assert_eq!(offline, live);
    assert_eq!(live.sip_messages().count(), 4);
    let (_, send) = live.msrp_messages().next().unwrap();
    assert_eq!(send.body, support::large_body());
}

#[test]
fn capture_read_back_reports_every_tcp_open_data_and_close() {
    let (_dir, path, tap) = sample(false, 1460);
    tap.finish();
    let capture = read_capture(&path).unwrap();
    let opens = capture
        .events
        .iter()
        .filter(|e| e.kind == WireEventKind::TcpOpen)
        .count();
    let closes = capture
        .events
        .iter()
        .filter(|e| e.kind == WireEventKind::TcpClose)
        .count();
    assert_eq!((opens, closes), (2, 4));
    // The data of each direction comes back byte for byte.
    let ep = Endpoints::new(false);
    let sent: Vec<u8> = capture
        .events
        .iter()
        .filter(|e| e.src == ep.client_msrp)
        .filter_map(|e| match &e.kind {
            WireEventKind::Data(b) => Some(b.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(
        sent,
        support::msrp_send(support::TID, &support::large_body())
    );
}

#[test]
fn pcap_is_readable_while_the_run_goes_on() {
    let (_dir, path, tap) = sample(false, 1460);
    // No finish: a run that dies here still leaves every message in the file.
    let offline = Trace::from_pcap(&path).unwrap();
    assert_eq!(offline, Trace::from_events(&tap.events()));
    tap.finish();
}

#[test]
fn pcapng_written_by_tshark_reads_back_the_same() {
    let (dir, path, tap) = sample(true, 1460);
    tap.finish();
    let ng = dir.path().join("sample.pcapng");
    let status = Command::new("tshark")
        .arg("-r")
        .arg(&path)
        .args(["-F", "pcapng", "-w"])
        .arg(&ng)
        .output()
        .unwrap_or_else(|e| panic!("tshark is required for this test: {e}"));
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let bytes = std::fs::read(&ng).unwrap();
    assert_eq!(
        bytes.get(..4),
        Some(&[0x0A, 0x0D, 0x0D, 0x0A][..]),
        "not pcapng"
    );
    let offline = Trace::from_pcap(&ng).unwrap();
    let live = Trace::from_events(&tap.events());
    assert_eq!(offline, live);
}

#[test]
fn wire_log_names_roles_and_shows_messages() {
    let (_dir, _path, tap) = sample(false, 1460);
    tap.finish();
    let ep = Endpoints::new(false);
    let trace = Trace::from_events(&tap.events());
    let log = trace.wire_log(&|a| (a == ep.client_sip).then(|| "client".to_string()));
    assert!(log.contains("=== #0 +0.000000s client (127.0.0.1:45060) -> 127.0.0.1:45070 UDP SIP MESSAGE\nMESSAGE sip:bob@cpm.test SIP/2.0\n"), "{log}");
    assert!(log.contains("hello over udp"), "{log}");
    // Headers name the method or status (with the method it answers) and the MSRP method.
    assert!(log.contains(" UDP SIP 200 OK (MESSAGE)\n"), "{log}");
    assert!(log.contains(" TCP SIP INVITE\n"), "{log}");
    assert!(log.contains(" TCP MSRP SEND\n"), "{log}");
    assert!(log.contains(" TCP MSRP 200\n"), "{log}");
    assert!(log.contains("[... 17952 more bytes of body ...]"), "{log}");
    assert!(matches!(trace.entries[5].frame, TraceFrame::Msrp(_)));
}
