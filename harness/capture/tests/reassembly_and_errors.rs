//! Reading hostile or imperfect captures: out-of-order, retransmitted and overlapping TCP
//! segments, a gap that never fills, a truncated file, a malformed frame, and garbage bytes in a
//! stream. Each gives the right bytes or a precise problem, never a panic.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cpmconf_capture::pcap_writer::frames::{tcp_frame, udp_frame, write_pcap, TcpFlags};
use cpmconf_capture::trace::RULE_STREAM_END;
use cpmconf_capture::{
    read_capture, read_capture_bytes, CaptureError, CaptureFile, CaptureItems, Tap, Trace,
    TraceFrame, TraceItem, WireEventKind,
};
use rstest::rstest;

fn a() -> SocketAddr {
    "127.0.0.1:40001".parse().unwrap()
}
fn b() -> SocketAddr {
    "127.0.0.1:5060".parse().unwrap()
}

fn t(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000) + Duration::from_millis(ms)
}

const ISN_A: u32 = 0xFFFF_FF00; // wraps inside the stream
const ISN_B: u32 = 77;

fn flags(syn: bool, ack: bool, fin: bool) -> TcpFlags {
    TcpFlags {
        syn,
        ack,
        fin,
        psh: false,
        rst: false,
    }
}

fn invite() -> Vec<u8> {
    support::sip_request("INVITE", "TCP", &support::sdp(), "application/sdp")
}

/// Handshake, then the INVITE from `a` cut into the given (offset, len) segments in the given
/// order, then FIN from `a`.
fn crafted(segments: &[(usize, usize)], fin: bool) -> Vec<(SystemTime, Vec<u8>)> {
    let msg = invite();
    let data0 = ISN_A.wrapping_add(1);
    let mut frames = vec![
        (
            t(0),
            tcp_frame(a(), b(), ISN_A, 0, flags(true, false, false), &[]).unwrap(),
        ),
        (
            t(1),
            tcp_frame(b(), a(), ISN_B, data0, flags(true, true, false), &[]).unwrap(),
        ),
        (
            t(2),
            tcp_frame(a(), b(), data0, ISN_B + 1, flags(false, true, false), &[]).unwrap(),
        ),
    ];
    for (i, &(off, len)) in segments.iter().enumerate() {
        let end = (off + len).min(msg.len());
        let seq = data0.wrapping_add(off as u32);
        frames.push((
            t(10 + i as u64),
            tcp_frame(
                a(),
                b(),
                seq,
                ISN_B + 1,
                flags(false, true, false),
                &msg[off..end],
            )
            .unwrap(),
        ));
    }
    if fin {
        let seq = data0.wrapping_add(msg.len() as u32);
        frames.push((
            t(100),
            tcp_frame(a(), b(), seq, ISN_B + 1, flags(false, true, true), &[]).unwrap(),
        ));
    }
    frames
}

fn write(frames: &[(SystemTime, Vec<u8>)]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crafted.pcap");
    write_pcap(&path, frames).unwrap();
    (dir, path)
}

#[rstest]
#[case::in_order(&[(0, 200), (200, 200), (400, 1000)])]
#[case::reversed(&[(400, 1000), (200, 200), (0, 200)])]
#[case::retransmitted(&[(0, 200), (0, 200), (200, 200), (200, 200), (400, 1000)])]
#[case::overlapping(&[(0, 250), (100, 300), (350, 1000), (300, 200)])]
#[case::out_of_order_with_overlap(&[(300, 1000), (0, 150), (100, 250)])]
#[case::first_segment_last(&[(100, 1000), (0, 100)])]
fn reassembly_restores_the_stream(#[case] segments: &[(usize, usize)]) {
    let (_dir, path) = write(&crafted(segments, true));
    let capture = read_capture(&path).unwrap();
    assert!(capture.problems.is_empty(), "{:?}", capture.problems);
    let kinds: Vec<_> = capture.events.iter().map(|e| &e.kind).collect();
    assert_eq!(kinds.first(), Some(&&WireEventKind::TcpOpen));
    assert_eq!(kinds.last(), Some(&&WireEventKind::TcpClose));
    let bytes: Vec<u8> = capture
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            WireEventKind::Data(d) => Some(d.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(bytes, invite());
    let trace = Trace::from_pcap(&path).unwrap();
    assert_eq!(trace.entries.len(), 1, "{}", trace.wire_log(&|_| None));
    let sip = trace.entries[0].sip().expect("a SIP entry");
    assert_eq!(sip.to_bytes(), invite());
    assert_eq!((trace.entries[0].src, trace.entries[0].dst), (a(), b()));
}

#[test]
fn a_gap_that_never_fills_is_reported() {
    // The middle segment is never captured.
    let (_dir, path) = write(&crafted(&[(0, 200), (400, 1000)], false));
    let trace = Trace::from_pcap(&path).unwrap();
    assert_eq!(trace.problems.len(), 1, "{:?}", trace.problems);
    let p = &trace.problems[0].problem;
    assert!(p.contains("200 bytes missing at stream offset 200"), "{p}");
    // The 200 bytes before the gap are kept as an unfinished message.
    let entry = trace.undecodable().next().expect("an undecodable entry");
    match &entry.frame {
        TraceFrame::Undecodable { bytes, error } => {
            assert_eq!(bytes.len(), 200);
            assert_eq!(error.rule, RULE_STREAM_END);
            assert_eq!(error.offset, 200);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn truncated_pcap_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.pcap");
    let tap = Tap::with_pcap(&path).unwrap();
    support::record_sample(&tap, support::Endpoints::new(false));
    tap.finish();
    let whole = std::fs::read(&path).unwrap();
    let frames = read_capture_bytes(&whole).unwrap().frames;
    let cut = &whole[..whole.len() - 10];
    match read_capture_bytes(cut) {
        Err(CaptureError::Truncated { frame, .. }) => assert_eq!(frame, frames),
        other => panic!("expected Truncated, got {other:?}"),
    }
    let msg = read_capture_bytes(cut).unwrap_err().to_string();
    assert!(
        msg.contains(&format!("frame {frames} is incomplete")),
        "{msg}"
    );
}

#[rstest]
#[case::empty(&[])]
#[case::text(b"this is not a capture file at all, just some text")]
#[case::short_header(&[0xD4, 0xC3, 0xB2, 0xA1, 2, 0])]
fn non_captures_are_rejected(#[case] bytes: &[u8]) {
    assert!(matches!(
        read_capture_bytes(bytes),
        Err(CaptureError::NotACapture(_))
    ));
}

#[test]
fn malformed_frame_is_reported_with_its_number() {
    let good = udp_frame(a(), b(), &support::sip_ok("MESSAGE", "UDP")).unwrap();
    // An Ethernet header claiming IPv4, then half an IP header.
    let mut bad = good[..14].to_vec();
    bad.extend_from_slice(&good[14..24]);
    let frames = vec![(t(0), bad), (t(1), good)];
    let (_dir, path) = write(&frames);
    let trace = Trace::from_pcap(&path).unwrap();
    assert_eq!(trace.problems.len(), 1);
    assert_eq!(trace.problems[0].frame, 1);
    assert_eq!(trace.entries.len(), 1);
    assert!(trace.entries[0].sip().is_some());
    // Read again as a stream (`cpmconf check` does): the time origin is the first message's
    // frame, not the malformed one before it, as for the trace read whole.
    let file = CaptureFile(path.clone());
    assert_eq!(file.start().unwrap(), trace.start);
    assert_eq!(trace.start, Some(t(1)));
    let items: Vec<TraceItem> = file.items().unwrap().map(Result::unwrap).collect();
    assert!(matches!(&items[..], [TraceItem::Problem(p), TraceItem::Entry(_)] if p.frame == 1));
}

#[test]
fn garbage_in_a_tcp_stream_is_kept_with_its_offset() {
    let tap = Tap::new();
    let msg = invite();
    tap.tcp_open(a(), b());
    tap.tcp_data(a(), b(), &msg);
    tap.tcp_data(a(), b(), b"\x00\x01\x02 garbage\r\n\r\n");
    tap.tcp_data(a(), b(), b"more after the garbage");
    tap.tcp_close(a(), b());
    let trace = Trace::from_events(&tap.events());
    assert_eq!(trace.entries.len(), 2, "{}", trace.wire_log(&|_| None));
    assert!(trace.entries[0].sip().is_some());
    match &trace.entries[1].frame {
        TraceFrame::Undecodable { bytes, error } => {
            assert_eq!(error.offset, msg.len(), "{error}");
            assert_eq!(
                bytes.as_slice(),
                &b"\x00\x01\x02 garbage\r\n\r\nmore after the garbage"[..]
            );
        }
        other => panic!("{other:?}"),
    }
    let log = trace.wire_log(&|_| None);
    assert!(log.contains("UNDECODABLE"), "{log}");
    assert!(log.contains("\\x00\\x01\\x02 garbage"), "{log}");
}

#[test]
fn message_unfinished_at_close_is_undecodable() {
    let tap = Tap::new();
    let msg = support::msrp_send(support::TID, b"hello");
    tap.tcp_open(a(), b());
    tap.tcp_data(a(), b(), &msg[..msg.len() - 5]);
    tap.tcp_close(a(), b());
    let trace = Trace::from_events(&tap.events());
    assert_eq!(trace.entries.len(), 1);
    match &trace.entries[0].frame {
        TraceFrame::Undecodable { bytes, error } => {
            assert_eq!(bytes.as_slice(), &msg[..msg.len() - 5]);
            assert_eq!((error.rule, error.offset), (RULE_STREAM_END, msg.len() - 5));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn msrp_split_anywhere_decodes_the_same() {
    let msg = support::msrp_send(support::TID, b"hello world");
    let whole = {
        let tap = Tap::new();
        tap.tcp_data(a(), b(), &msg);
        Trace::from_events(&tap.events())
    };
    assert!(whole.entries[0].msrp().is_some());
    for cut in 1..msg.len() {
        let tap = Tap::new();
        tap.tcp_data(a(), b(), &msg[..cut]);
        tap.tcp_data(a(), b(), &msg[cut..]);
        let trace = Trace::from_events(&tap.events());
        assert_eq!(trace.entries.len(), 1, "cut at {cut}");
        assert_eq!(
            trace.entries[0].frame, whole.entries[0].frame,
            "cut at {cut}"
        );
    }
}

#[test]
fn damaged_captures_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.pcap");
    let tap = Tap::with_pcap(&path).unwrap();
    support::record_sample(&tap, support::Endpoints::new(false));
    tap.finish();
    let whole = std::fs::read(&path).unwrap();
    // Every cut point (sampled) is a clean result or a clean error.
    for cut in (0..whole.len()).step_by(61) {
        if let Ok(c) = read_capture_bytes(&whole[..cut]) {
            let _ = Trace::from_events(&c.events);
        }
    }
    // Flipped bytes anywhere in headers or payloads.
    for at in (24..whole.len()).step_by(37) {
        let mut bytes = whole.clone();
        bytes[at] ^= 0xA5;
        if let Ok(c) = read_capture_bytes(&bytes) {
            let _ = Trace::from_events(&c.events);
        }
    }
}

#[test]
fn capture_started_mid_connection_and_reset() {
    // No handshake: the first data segment opens the connection; a RST closes it.
    let msg = invite();
    let frames = vec![
        (
            t(0),
            tcp_frame(a(), b(), 5000, 1, flags(false, true, false), &msg[..300]).unwrap(),
        ),
        (
            t(1),
            tcp_frame(a(), b(), 5300, 1, flags(false, true, false), &msg[300..]).unwrap(),
        ),
        (
            t(2),
            tcp_frame(
                b(),
                a(),
                1,
                0,
                TcpFlags {
                    rst: true,
                    ..TcpFlags::default()
                },
                &[],
            )
            .unwrap(),
        ),
    ];
    let (_dir, path) = write(&frames);
    let capture = read_capture(&path).unwrap();
    let kinds: Vec<_> = capture.events.iter().map(|e| (e.src, &e.kind)).collect();
    assert_eq!(kinds.first(), Some(&(a(), &WireEventKind::TcpOpen)));
    // The RST from b ends both directions.
    let closes: Vec<_> = kinds
        .iter()
        .filter(|(_, k)| **k == WireEventKind::TcpClose)
        .map(|(src, _)| *src)
        .collect();
    assert_eq!(closes, vec![a(), b()]);
    let trace = Trace::from_capture(capture);
    assert_eq!(trace.entries.len(), 1);
    assert_eq!(trace.entries[0].sip().map(|m| m.to_bytes()), Some(msg));
    assert_eq!(trace.entries[0].time, t(1));
}

/// An Ethernet frame re-framed for another link type.
fn reframe(eth: &[u8], link: pcap_file::DataLink) -> Vec<u8> {
    let ip = &eth[14..];
    match link {
        pcap_file::DataLink::LINUX_SLL => {
            // Packet type "to us", ARPHRD_ETHER, 6-byte address padded to 8, EtherType.
            let mut f = vec![0, 0, 0, 1, 0, 6];
            f.extend_from_slice(&eth[6..12]);
            f.extend_from_slice(&[0, 0]);
            f.extend_from_slice(&eth[12..14]);
            f.extend_from_slice(ip);
            f
        }
        pcap_file::DataLink::NULL => {
            let family: u32 = if ip[0] >> 4 == 6 { 30 } else { 2 };
            let mut f = family.to_ne_bytes().to_vec();
            f.extend_from_slice(ip);
            f
        }
        _ => ip.to_vec(),
    }
}

#[rstest]
#[case::linux_sll(pcap_file::DataLink::LINUX_SLL, false)]
#[case::raw_ipv4(pcap_file::DataLink::RAW, false)]
#[case::raw_ipv6(pcap_file::DataLink::RAW, true)]
#[case::bsd_loopback(pcap_file::DataLink::NULL, true)]
fn other_link_types_are_read(#[case] link: pcap_file::DataLink, #[case] v6: bool) {
    let ep = support::Endpoints::new(v6);
    let msg = support::sip_ok("MESSAGE", "UDP");
    let eth = udp_frame(ep.core_sip, ep.client_sip, &msg).unwrap();
    let frames = vec![(t(0), reframe(&eth, link))];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("link.pcap");
    cpmconf_capture::pcap_writer::frames::write_pcap_linktype(&path, link, &frames).unwrap();
    let trace = Trace::from_pcap(&path).unwrap();
    assert!(trace.problems.is_empty(), "{:?}", trace.problems);
    assert_eq!(trace.entries.len(), 1);
    assert_eq!(
        (trace.entries[0].src, trace.entries[0].dst),
        (ep.core_sip, ep.client_sip)
    );
    assert_eq!(trace.entries[0].sip().map(|m| m.to_bytes()), Some(msg));
}

/// An ARP request on the link (etherparse 0.21 decodes ARP as a network layer of its own): not
/// SIP or MSRP traffic, so the reader skips it without a problem and still reads the SIP around it.
#[test]
fn arp_frames_are_skipped_quietly() {
    let mut arp = vec![0xff; 6];
    arp.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01, 0x08, 0x06]);
    // Ethernet/IPv4, request, sender 02:..:01 at 192.0.2.1 asking for 192.0.2.2.
    arp.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    arp.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01, 192, 0, 2, 1]);
    arp.extend_from_slice(&[0, 0, 0, 0, 0, 0, 192, 0, 2, 2]);
    assert!(matches!(
        cpmconf_capture::frame::parse_frame(cpmconf_capture::frame::LinkType::Ethernet, &arp),
        Ok(cpmconf_capture::frame::Frame::Other)
    ));
    let msg = support::sip_ok("MESSAGE", "UDP");
    let frames = vec![(t(0), arp), (t(1), udp_frame(a(), b(), &msg).unwrap())];
    let (_dir, path) = write(&frames);
    let trace = Trace::from_pcap(&path).unwrap();
    assert!(trace.problems.is_empty(), "{:?}", trace.problems);
    assert_eq!(trace.entries.len(), 1);
    assert_eq!(trace.entries[0].sip().map(|m| m.to_bytes()), Some(msg));
}
