//! The streaming reader: memory bounded by open state on a 200,000-message capture, clear typed
//! errors for bad captures (and no panic on any corruption), TCP port reuse, late
//! retransmissions after close, a gap acknowledged by the peer, a SIP message split at every
//! byte, and the sidecar metadata file.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cpmconf_capture::generate::{write_message_capture, TRANSACTIONS_PER_CONNECTION};
use cpmconf_capture::meta::{read_sidecar, sidecar_path, write_sidecar, CaptureMeta, RoleEntry};
use cpmconf_capture::pcap_writer::frames::{tcp_frame, udp_frame, write_pcap, TcpFlags};
use cpmconf_capture::trace::{RULE_STREAM_END, RULE_TCP_GAP};
use cpmconf_capture::{
    read_capture_bytes, CaptureError, CaptureEvent, CaptureReader, Tap, Trace, TraceFrame,
    TraceItem, TraceStream, WireEventKind,
};
use proptest::prelude::*;
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
fn fl(syn: bool, ack: bool, fin: bool) -> TcpFlags {
    TcpFlags {
        syn,
        ack,
        fin,
        ..TcpFlags::default()
    }
}
fn message(n: u32) -> Vec<u8> {
    support::sip_request("MESSAGE", "TCP", &format!("body number {n}"), "text/plain")
}

fn write(frames: &[(SystemTime, Vec<u8>)]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crafted.pcap");
    write_pcap(&path, frames).unwrap();
    (dir, path)
}

/// SYN, SYN-ACK, ACK between a and b with the given initial sequence numbers.
fn handshake(frames: &mut Vec<(SystemTime, Vec<u8>)>, ms: u64, isn_a: u32, isn_b: u32) {
    frames.push((
        t(ms),
        tcp_frame(a(), b(), isn_a, 0, fl(true, false, false), &[]).unwrap(),
    ));
    frames.push((
        t(ms),
        tcp_frame(b(), a(), isn_b, isn_a + 1, fl(true, true, false), &[]).unwrap(),
    ));
    frames.push((
        t(ms),
        tcp_frame(a(), b(), isn_a + 1, isn_b + 1, fl(false, true, false), &[]).unwrap(),
    ));
}

#[test]
fn streaming_200k_messages_keeps_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.pcap");
    let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let summary = write_message_capture(file, 100_000).unwrap();
    assert_eq!(summary.sip_messages, 200_000);
    assert!(summary.tcp_connections >= 50_000 / TRANSACTIONS_PER_CONNECTION);
    let mut stream = TraceStream::open(&path).unwrap();
    let (mut sip, mut next_index) = (0u64, 0usize);
    let (mut max_conns, mut max_streams, mut max_retained) = (0, 0, 0);
    while let Some(item) = stream.next() {
        match item.unwrap() {
            TraceItem::Entry(e) => {
                assert_eq!(e.index, next_index);
                next_index += 1;
                assert!(e.sip().is_some(), "entry {}: {:?}", e.index, e.frame);
                sip += 1;
            }
            TraceItem::Problem(p) => panic!("{p}"),
            TraceItem::End(_) => {}
        }
        let s = stream.stats();
        max_conns = max_conns.max(s.reader.open_connections);
        max_streams = max_streams.max(s.open_streams);
        max_retained = max_retained.max(s.retained_bytes());
    }
    assert_eq!(sip, 200_000);
    // One TCP connection at a time in this capture: closed ones must have been freed.
    assert_eq!(max_conns, 1);
    assert!(
        max_streams <= 2,
        "{max_streams} decoder streams open at once"
    );
    // The read buffer (one 64 KiB chunk plus a record) and at most one unfinished message.
    assert!(max_retained < 256 * 1024, "{max_retained} bytes retained");
    let end = stream.stats();
    assert_eq!((end.reader.open_connections, end.open_streams), (0, 0));
}

/// A large record grows the read buffer; once it is read, the buffer shrinks back to a read
/// chunk and a record while the small records after it are read (it is not kept full).
#[test]
fn the_read_buffer_shrinks_after_a_large_record() {
    let record = |len: usize| {
        let mut r = Vec::new();
        for v in [0u32, 0, len as u32, len as u32] {
            r.extend_from_slice(&v.to_le_bytes());
        }
        r.extend(std::iter::repeat_n(0u8, len));
        r
    };
    // The pcap header: magic, version 2.4, zone, accuracy, snap length, Ethernet.
    let mut file = Vec::new();
    for v in [0xA1B2_C3D4u32, 0x0004_0002, 0, 0, 65535, 1] {
        file.extend_from_slice(&v.to_le_bytes());
    }
    file.extend(record(1 << 20));
    // Records too short for an Ethernet header: each is a problem event, so the reader is
    // looked at after every one.
    for _ in 0..20_000 {
        file.extend(record(10));
    }
    let mut reader = CaptureReader::new(std::io::Cursor::new(file)).unwrap();
    let mut most_after = 0;
    while let Some(ev) = reader.next() {
        assert!(matches!(ev, Ok(CaptureEvent::Problem(_))), "{ev:?}");
        if reader.frames() > 10 {
            most_after = most_after.max(reader.stats().read_buffer_bytes);
        }
    }
    assert_eq!(reader.frames(), 20_001);
    assert!(
        most_after <= 256 * 1024,
        "{most_after} bytes held after the large record"
    );
}

#[rstest]
#[case::empty(vec![], "the file is empty")]
#[case::text(b"this is not a capture file".to_vec(), "first bytes are 74 68 69 73 20 69 73 20 (\"this is \")")]
#[case::short_pcap_header(vec![0xD4, 0xC3, 0xB2, 0xA1, 2, 0], "shorter than the 24-byte pcap header")]
#[case::zip_file(b"PK\x03\x04rest of a zip".to_vec(), "a pcapng file with 0a 0d 0d 0a")]
fn non_captures_say_what_they_are(#[case] bytes: Vec<u8>, #[case] says: &str) {
    match read_capture_bytes(&bytes) {
        Err(e @ CaptureError::NotACapture(_)) => {
            assert!(e.to_string().contains(says), "{e}")
        }
        other => panic!("expected NotACapture, got {other:?}"),
    }
}

/// A valid capture of a few frames (pcap) and the same as pcapng (via tshark is not needed:
/// the reader's own pcapng path is exercised by rewrite_equivalence).
fn small_pcap() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.pcap");
    let tap = Tap::with_pcap(&path).unwrap();
    support::record_sample(&tap, support::Endpoints::new(false));
    tap.finish();
    std::fs::read(path).unwrap()
}

/// A tiny pcapng: section header, one Ethernet interface, one enhanced packet with a UDP SIP
/// message.
fn small_pcapng() -> Vec<u8> {
    fn block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
        let padded = body.len().div_ceil(4) * 4;
        let len = (12 + padded) as u32;
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(body);
        out.resize(out.len() + padded - body.len(), 0);
        out.extend_from_slice(&len.to_le_bytes());
    }
    let mut out = Vec::new();
    let mut shb = 0x1A2B_3C4Du32.to_le_bytes().to_vec();
    shb.extend_from_slice(&[1, 0, 0, 0]);
    shb.extend_from_slice(&[0xFF; 8]);
    block(&mut out, 0x0A0D_0D0A, &shb);
    block(&mut out, 1, &[1, 0, 0, 0, 0, 0, 4, 0]);
    let frame = udp_frame(a(), b(), &support::sip_ok("MESSAGE", "UDP")).unwrap();
    let mut epb = vec![0u8; 12];
    epb.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    epb.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    epb.extend_from_slice(&frame);
    block(&mut out, 6, &epb);
    out
}

#[test]
fn small_pcapng_reads() {
    let c = read_capture_bytes(&small_pcapng()).unwrap();
    assert_eq!((c.frames, c.events.len(), c.problems.len()), (1, 1, 0));
}

#[rstest]
// Cut inside the last record: the error names the record and where it starts.
#[case::pcap_cut_in_last_record(small_pcap(), |b: &mut Vec<u8>| { b.truncate(b.len() - 3); }, "is incomplete")]
#[case::pcap_cut_in_record_header(small_pcap(), |b: &mut Vec<u8>| { b.truncate(24 + 5); }, "capture truncated at byte 24: frame 1 is incomplete (5 bytes left)")]
#[case::pcap_huge_length(small_pcap(), |b: &mut Vec<u8>| { b[24 + 8..24 + 12].copy_from_slice(&u32::MAX.to_ne_bytes()); }, "frame 1 at byte 24: captured length 4294967295 exceeds")]
#[case::pcapng_cut(small_pcapng(), |b: &mut Vec<u8>| { b.truncate(b.len() - 1); }, "frame 1 is incomplete")]
#[case::pcapng_bad_block_length(small_pcapng(), |b: &mut Vec<u8>| { b[28 + 4] = 13; }, "has length 13 (must be a multiple of 4")]
#[case::pcapng_trailing_length_differs(small_pcapng(), |b: &mut Vec<u8>| { let n = b.len(); b[n - 4] ^= 4; }, "trailing length")]
#[case::pcapng_unknown_interface(small_pcapng(), |b: &mut Vec<u8>| { b[28 + 20 + 8] = 3; }, "packet of interface 3, but the section describes 1 interface(s)")]
#[case::pcapng_bad_byte_order(small_pcapng(), |b: &mut Vec<u8>| { b[8] = 0; }, "byte-order magic")]
fn damaged_captures_give_a_precise_error(
    #[case] bytes: Vec<u8>,
    #[case] damage: fn(&mut Vec<u8>),
    #[case] says: &str,
) {
    let mut bytes = bytes;
    damage(&mut bytes);
    let err = read_capture_bytes(&bytes).unwrap_err();
    assert!(
        matches!(
            err,
            CaptureError::Truncated { .. } | CaptureError::Format { .. }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains(says), "{err}");
}

#[test]
fn an_error_ends_the_stream_after_the_good_records() {
    let mut bytes = small_pcap();
    bytes.truncate(bytes.len() - 3);
    let items: Vec<_> = CaptureReader::new(&bytes[..]).unwrap().collect();
    let (last, good) = items.split_last().unwrap();
    assert!(
        matches!(last, Err(CaptureError::Truncated { .. })),
        "{last:?}"
    );
    assert!(good.iter().all(Result::is_ok));
    assert!(good.len() > 5);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    /// Any corruption of a capture (bytes flipped, cut, or inserted) gives a trace or a clean
    /// error: never a panic, never a hang.
    #[test]
    fn corrupted_captures_never_panic(
        ng in any::<bool>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        do_cut in any::<bool>(),
    ) {
        let mut bytes = if ng { small_pcapng() } else { small_pcap() };
        for (at, x) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= x;
        }
        if do_cut {
            let n = cut.index(bytes.len() + 1);
            bytes.truncate(n);
        }
        match CaptureReader::new(&bytes[..]) {
            Ok(reader) => {
                let stream = TraceStream::new(reader, Default::default());
                for item in stream {
                    if let Err(e) = item {
                        prop_assert!(!e.to_string().is_empty());
                    }
                }
                let _ = Trace::from_reader(CaptureReader::new(&bytes[..]).unwrap(), &Default::default());
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}

#[test]
fn a_port_pair_reused_by_a_new_connection_decodes_both() {
    let mut frames = Vec::new();
    let (m1, m2) = (message(1), message(2));
    handshake(&mut frames, 0, 1000, 9000);
    frames.push((
        t(1),
        tcp_frame(a(), b(), 1001, 9001, fl(false, true, false), &m1).unwrap(),
    ));
    let end1 = 1001 + m1.len() as u32;
    frames.push((
        t(2),
        tcp_frame(a(), b(), end1, 9001, fl(false, true, true), &[]).unwrap(),
    ));
    frames.push((
        t(2),
        tcp_frame(b(), a(), 9001, end1 + 1, fl(false, true, true), &[]).unwrap(),
    ));
    // A late retransmission of the FIN after both sides closed: no phantom connection.
    frames.push((
        t(3),
        tcp_frame(a(), b(), end1, 9001, fl(false, true, true), &[]).unwrap(),
    ));
    // The same ports again, new sequence numbers.
    handshake(&mut frames, 10, 50_000, 70_000);
    frames.push((
        t(11),
        tcp_frame(a(), b(), 50_001, 70_001, fl(false, true, false), &m2).unwrap(),
    ));
    let (_dir, path) = write(&frames);
    let capture = cpmconf_capture::read_capture(&path).unwrap();
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
    assert_eq!((opens, closes), (2, 2), "{:?}", capture.events);
    let trace = Trace::from_pcap(&path).unwrap();
    let msgs: Vec<_> = trace.sip_messages().map(|(_, m)| m.to_bytes()).collect();
    assert_eq!(msgs, vec![m1, m2]);
    assert!(trace.problems.is_empty(), "{:?}", trace.problems);
}

#[test]
fn a_gap_acknowledged_by_the_peer_is_reported_and_decoding_resumes() {
    let (m1, m2, m3) = (message(1), message(2), message(3));
    let mut frames = Vec::new();
    handshake(&mut frames, 0, 1000, 9000);
    let s1 = 1001u32;
    let s2 = s1 + m1.len() as u32;
    let s3 = s2 + m2.len() as u32;
    let end = s3 + m3.len() as u32;
    frames.push((
        t(1),
        tcp_frame(a(), b(), s1, 9001, fl(false, true, false), &m1).unwrap(),
    ));
    // The first 40 bytes of m2 are never captured; the rest of m2 and m3 are.
    frames.push((
        t(2),
        tcp_frame(a(), b(), s2 + 40, 9001, fl(false, true, false), &m2[40..]).unwrap(),
    ));
    frames.push((
        t(3),
        tcp_frame(a(), b(), s3, 9001, fl(false, true, false), &m3).unwrap(),
    ));
    // b acknowledges everything: the missing bytes were delivered, just not captured.
    frames.push((
        t(4),
        tcp_frame(b(), a(), 9001, end, fl(false, true, false), &[]).unwrap(),
    ));
    let (_dir, path) = write(&frames);
    let trace = Trace::from_pcap(&path).unwrap();
    assert_eq!(trace.problems.len(), 1, "{:?}", trace.problems);
    let p = &trace.problems[0];
    assert_eq!(p.frame, 7);
    assert!(
        p.problem.contains(&format!(
            "40 bytes missing at stream offset {} were never captured (the receiver acknowledged \
             bytes after them in frame 7)",
            m1.len()
        )),
        "{p}"
    );
    let sip: Vec<_> = trace.sip_messages().map(|(_, m)| m.to_bytes()).collect();
    assert_eq!(
        sip,
        vec![m1.clone(), m3.clone()],
        "{}",
        trace.wire_log(&|_| None)
    );
    // The rest of m2 is kept as undecodable, with its true stream offset.
    let gap: Vec<_> = trace
        .undecodable()
        .map(|e| match &e.frame {
            TraceFrame::Undecodable { bytes, error } => (bytes.clone(), error.rule, error.offset),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(gap, vec![(m2[40..].to_vec(), RULE_TCP_GAP, m1.len() + 40)]);
    // Streaming gives the same entries.
    let streamed: Vec<_> = TraceStream::open(&path)
        .unwrap()
        .filter_map(|i| match i.unwrap() {
            TraceItem::Entry(e) => Some(e),
            TraceItem::Problem(_) | TraceItem::End(_) => None,
        })
        .collect();
    assert_eq!(streamed, trace.entries);
}

#[test]
fn a_gap_beyond_the_pending_limit_is_declared_without_waiting_for_the_end() {
    let m: Vec<Vec<u8>> = (0..40).map(message).collect();
    let mut frames = Vec::new();
    handshake(&mut frames, 0, 1000, 9000);
    let mut seq = 1001u32;
    for (i, msg) in m.iter().enumerate() {
        // Message 1 is lost; nobody acknowledges anything.
        if i != 1 {
            frames.push((
                t(1 + i as u64),
                tcp_frame(a(), b(), seq, 9001, fl(false, true, false), msg).unwrap(),
            ));
        }
        seq += msg.len() as u32;
    }
    let (_dir, path) = write(&frames);
    let options = cpmconf_capture::ReaderOptions {
        max_tcp_pending: 2000,
        ..Default::default()
    };
    let reader = CaptureReader::with_options(std::fs::File::open(&path).unwrap(), options).unwrap();
    let mut gaps = 0;
    let mut max_buffered = 0;
    let mut reader = reader;
    while let Some(item) = reader.next() {
        if let CaptureEvent::Gap(g) = item.unwrap() {
            assert_eq!(
                (g.offset, g.missing),
                (m[0].len() as u64, m[1].len() as u64)
            );
            gaps += 1;
        }
        max_buffered = max_buffered.max(reader.stats().tcp_buffered_bytes);
    }
    assert_eq!(gaps, 1);
    assert!(max_buffered <= 2000 + m[2].len(), "{max_buffered}");
    let trace = Trace::from_reader(
        CaptureReader::with_options(std::fs::File::open(&path).unwrap(), options).unwrap(),
        &Default::default(),
    )
    .unwrap();
    // Every message but the lost one decodes.
    assert_eq!(
        trace.sip_messages().count(),
        39,
        "{}",
        trace.wire_log(&|_| None)
    );
}

#[test]
fn a_sip_message_split_anywhere_and_reversed_decodes_the_same() {
    let msg = message(7);
    for cut in 1..msg.len() {
        let mut frames = Vec::new();
        handshake(&mut frames, 0, 1000, 9000);
        // The second half first, then the first half (mid start line, headers or body).
        frames.push((
            t(1),
            tcp_frame(
                a(),
                b(),
                1001 + cut as u32,
                9001,
                fl(false, true, false),
                &msg[cut..],
            )
            .unwrap(),
        ));
        frames.push((
            t(2),
            tcp_frame(a(), b(), 1001, 9001, fl(false, true, false), &msg[..cut]).unwrap(),
        ));
        let mut data = Vec::new();
        for (time, f) in &frames {
            data.push((*time, f.clone()));
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.pcap");
        write_pcap(&path, &data).unwrap();
        let trace = Trace::from_pcap(&path).unwrap();
        let sip: Vec<_> = trace.sip_messages().map(|(_, m)| m.to_bytes()).collect();
        assert_eq!(sip, vec![msg.clone()], "cut at {cut}");
        assert_eq!(trace.entries[0].time, t(2), "cut at {cut}");
    }
}

#[test]
fn a_message_cut_by_the_end_of_the_capture_is_kept() {
    let msg = message(1);
    let mut frames = Vec::new();
    handshake(&mut frames, 0, 1000, 9000);
    frames.push((
        t(1),
        tcp_frame(a(), b(), 1001, 9001, fl(false, true, false), &msg[..50]).unwrap(),
    ));
    let (_dir, path) = write(&frames);
    let items: Vec<_> = TraceStream::open(&path)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    match items.as_slice() {
        [TraceItem::Entry(e)] => match &e.frame {
            TraceFrame::Undecodable { bytes, error } => {
                assert_eq!(
                    (bytes.as_slice(), error.rule, error.offset),
                    (&msg[..50], RULE_STREAM_END, 50)
                );
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

fn meta() -> CaptureMeta {
    CaptureMeta {
        scenario: "cpm/chat/1to1-basic".into(),
        client: vec![
            "127.0.0.1:45060".parse().unwrap(),
            "[::1]:45100".parse().unwrap(),
        ],
        roles: vec![RoleEntry {
            addr: "127.0.0.1:45070".parse().unwrap(),
            role: "core".into(),
        }],
        seed: Some(42),
        call_ids: vec![cpmconf_capture::CallIdEntry {
            call_id: "a84b4c76e66710".into(),
            role: "cf".into(),
        }],
        judge: Some(serde_json::json!({ "inputs": [] })),
        format_version: cpmconf_capture::meta::FORMAT_VERSION,
    }
}

#[test]
fn sidecar_round_trips_next_to_the_capture() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("ID.pcap");
    assert_eq!(sidecar_path(&pcap), dir.path().join("ID.pcap.meta.json"));
    assert_eq!(read_sidecar(&pcap).unwrap(), None);
    let written = write_sidecar(&pcap, &meta()).unwrap();
    assert_eq!(written, sidecar_path(&pcap));
    assert_eq!(read_sidecar(&pcap).unwrap(), Some(meta()));
    // A different capture in the same folder has no sidecar.
    assert_eq!(read_sidecar(dir.path().join("ID.pcapng")).unwrap(), None);
}

#[rstest]
#[case::not_json("{ scenario: ", "line 1")]
#[case::missing_field(
    r#"{"scenario":"x","client":[],"roles":[],"seed":null}"#,
    "missing field `format_version`"
)]
#[case::bad_address(
    r#"{"scenario":"x","client":["nowhere"],"roles":[],"seed":null,"format_version":1}"#,
    "invalid socket address"
)]
#[case::future_version(
    r#"{"scenario":"x","client":[],"roles":[],"seed":null,"format_version":99}"#,
    "format_version 99 is not supported"
)]
fn malformed_sidecar_is_a_clear_error(#[case] text: &str, #[case] says: &str) {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("ID.pcap");
    std::fs::write(sidecar_path(&pcap), text).unwrap();
    let err = read_sidecar(&pcap).unwrap_err().to_string();
    assert!(err.contains("ID.pcap.meta.json is malformed"), "{err}");
    assert!(err.contains(says), "{err}");
}
