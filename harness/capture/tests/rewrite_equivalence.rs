//! The same traffic in the forms people's tools write decodes to the same trace: a capture of a
//! mixed SIP-UDP, SIP-TCP and MSRP-TCP exchange written by our PcapSink, rewritten (here, with
//! hand-written pcap/pcapng encoders) as pcapng with several interfaces, simple packet blocks,
//! big-endian and microsecond pcap, Linux cooked SLL and SLL2, BSD loopback NULL/LOOP, raw IP,
//! VLAN and QinQ tags, IPv6 with an extension header, and TCP split into 1..7-byte pieces that are
//! reordered, duplicated and overlapped. tshark (required, as CI installs it) reads every file.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use cpmconf_capture::frame::{parse_frame, Frame, LinkType};
use cpmconf_capture::pcap_writer::PcapSink;
use cpmconf_capture::rewrite::*;
use cpmconf_capture::tshark::check_pcap;
use cpmconf_capture::{
    CaptureFile, CaptureItems, Tap, Trace, TraceFrame, TraceItem, TraceStream, Transport,
};
use rstest::rstest;
use support::{record_sample, Endpoints, SAMPLE_MESSAGES, TID};

/// One captured frame: time since the epoch and the Ethernet bytes.

/// The original capture (IPv4, MSS 536 so the MSRP SEND spans many segments), its frames and
/// its trace.
fn original(dir: &Path) -> (PathBuf, Frames, Trace) {
    let path = dir.join("original.pcap");
    let tap = Tap::new();
    tap.add_sink(Box::new(PcapSink::create_with_mss(&path, 536).unwrap()));
    record_sample(&tap, Endpoints::new(false));
    tap.finish();
    let frames = read_frames(&path).unwrap();
    let trace = Trace::from_pcap(&path).unwrap();
    assert_eq!(trace.entries.len(), SAMPLE_MESSAGES);
    assert!(trace.problems.is_empty(), "{:?}", trace.problems);
    assert!(trace.undecodable().next().is_none());
    (path, frames, trace)
}

/// What must survive a rewrite: transport, both addresses and the decoded message.
fn projection(
    trace: &Trace,
    map: fn(SocketAddr) -> SocketAddr,
) -> Vec<(Transport, SocketAddr, SocketAddr, TraceFrame)> {
    trace
        .entries
        .iter()
        .map(|e| (e.transport, map(e.src), map(e.dst), e.frame.clone()))
        .collect()
}

fn same(a: SocketAddr) -> SocketAddr {
    a
}

#[rstest]
#[case::pcap_big_endian_nanoseconds(Rewrite::PcapBigEndianNanos)]
#[case::pcap_microseconds(Rewrite::PcapMicros)]
#[case::pcapng(Rewrite::PcapNg { big: false })]
#[case::pcapng_big_endian(Rewrite::PcapNg { big: true })]
#[case::pcapng_three_interfaces_of_different_link_types(Rewrite::PcapNgInterfaces)]
#[case::pcapng_simple_packet_blocks(Rewrite::PcapNgSimple)]
#[case::linux_sll(Rewrite::Link { link: LINK_SLL, big: false })]
#[case::linux_sll2(Rewrite::Link { link: LINK_SLL2, big: false })]
#[case::bsd_null_little_endian(Rewrite::Link { link: LINK_NULL, big: false })]
#[case::bsd_null_big_endian_host(Rewrite::Link { link: LINK_NULL, big: true })]
#[case::openbsd_loop(Rewrite::Link { link: LINK_LOOP, big: false })]
#[case::raw_ip(Rewrite::Link { link: LINK_RAW, big: false })]
#[case::raw_ipv4(Rewrite::Link { link: LINK_IPV4, big: false })]
#[case::vlan(Rewrite::Vlan { qinq: false })]
#[case::qinq(Rewrite::Vlan { qinq: true })]
#[case::ipv6_ethernet(Rewrite::Ipv6 { hop_by_hop: false, link: LINK_ETHERNET })]
#[case::ipv6_hop_by_hop_header(Rewrite::Ipv6 { hop_by_hop: true, link: LINK_ETHERNET })]
#[case::ipv6_raw(Rewrite::Ipv6 { hop_by_hop: false, link: LINK_IPV6 })]
#[case::ipv6_linux_sll2(Rewrite::Ipv6 { hop_by_hop: true, link: LINK_SLL2 })]
#[case::tcp_split_reordered_duplicated(Rewrite::SplitTcp)]
fn rewritten_capture_decodes_to_the_same_trace(#[case] how: Rewrite) {
    let dir = tempfile::tempdir().unwrap();
    let (_orig, frames, original) = original(dir.path());
    let (bytes, exact_times) = rewrite(&frames, how);
    let path = dir.path().join("rewritten.cap");
    std::fs::write(&path, bytes).unwrap();
    let map: fn(SocketAddr) -> SocketAddr = match how {
        Rewrite::Ipv6 { .. } => v6_of,
        _ => same,
    };
    let trace = Trace::from_pcap(&path).unwrap_or_else(|e| panic!("{how:?}: {e}"));
    assert!(trace.problems.is_empty(), "{how:?}: {:?}", trace.problems);
    assert_eq!(
        projection(&trace, same),
        projection(&original, map),
        "{how:?}:\n{}",
        trace.wire_log(&|_| None)
    );
    if exact_times {
        let times: Vec<_> = trace.entries.iter().map(|e| e.time).collect();
        let want: Vec<_> = original.entries.iter().map(|e| e.time).collect();
        assert_eq!(times, want, "{how:?}");
    }
    // The streaming reader gives the same entries and TCP closes, each close after the
    // entries before it.
    let (mut streamed, mut ends) = (Vec::new(), Vec::new());
    for i in TraceStream::open(&path).unwrap() {
        match i.unwrap() {
            TraceItem::Entry(e) => streamed.push(e),
            TraceItem::End(end) => {
                assert_eq!(end.after, streamed.len(), "{how:?}");
                ends.push(end);
            }
            TraceItem::Problem(p) => panic!("{how:?}: {p}"),
        }
    }
    assert_eq!(streamed, trace.entries, "{how:?}");
    assert_eq!(ends, trace.ends, "{how:?}");
    assert!(
        !ends.is_empty() || how_has_no_tcp(&trace),
        "{how:?}: no TCP close streamed"
    );
    // A trace held in memory gives its items in the same order as the file read again.
    let items = |c: &dyn CaptureItems| -> Vec<TraceItem> {
        c.items().unwrap().map(Result::unwrap).collect()
    };
    assert_eq!(items(&trace), items(&CaptureFile(path.clone())), "{how:?}");
    // Wireshark reads the rewritten file too (tshark is required, as in CI).
    let summary = check_pcap(&path)
        .unwrap_or_else(|e| panic!("tshark is required for this test and must read {how:?}: {e}"));
    assert!(!summary.frames.is_empty(), "{how:?}");
    let sip = summary.sip_lines();
    assert_eq!(
        sip.get(..2),
        Some(&["MESSAGE sip:bob@cpm.test SIP/2.0", "SIP/2.0 200 OK"][..]),
        "{how:?}: tshark saw {sip:?}"
    );
    if !matches!(how, Rewrite::SplitTcp) {
        // In order, tshark reassembles every TCP message too.
        assert_eq!(sip.len(), 4, "{how:?}: {sip:?}");
        let send = format!("MSRP {TID} SEND");
        assert_eq!(
            summary.msrp_lines().first(),
            Some(&send.as_str()),
            "{how:?}"
        );
    }
}

#[test]
fn split_rewrite_really_splits_reorders_and_duplicates() {
    // Proves the split case is not a copy: many more frames, some out of order, some repeated.
    let dir = tempfile::tempdir().unwrap();
    let (_orig, frames, _) = original(dir.path());
    let split = split_tcp(&frames);
    assert!(
        split.len() > 3 * frames.len(),
        "{} vs {}",
        split.len(),
        frames.len()
    );
    let seqs: Vec<(SocketAddr, u32)> = split
        .iter()
        .filter_map(|(_, f)| match parse_frame(LinkType::Ethernet, f).unwrap() {
            Frame::Tcp(s) if !s.payload.is_empty() => Some((s.src, s.seq)),
            _ => None,
        })
        .collect();
    let backwards = seqs
        .windows(2)
        .filter(|w| w[0].0 == w[1].0 && w[1].1 < w[0].1)
        .count();
    let mut sorted = seqs.clone();
    sorted.sort();
    sorted.dedup();
    assert!(backwards > 10, "{backwards}");
    assert!(sorted.len() < seqs.len(), "no duplicates");
}

#[test]
fn unsupported_link_type_names_its_number() {
    let dir = tempfile::tempdir().unwrap();
    let (_orig, frames, _) = original(dir.path());
    let bytes = classic_pcap(147, &frames, true, false);
    let err = cpmconf_capture::read_capture_bytes(&bytes).unwrap_err();
    assert!(
        matches!(
            err,
            cpmconf_capture::CaptureError::UnsupportedLinkType { link: 147 }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("link type 147 is not supported"),
        "{err}"
    );
    // In pcapng the link type is per interface: frames of the unknown one are problems.
    let f: Vec<_> = frames
        .iter()
        .enumerate()
        .map(|(i, (t, d))| (i % 2, *t, d.clone()))
        .collect();
    let ng = pcapng(
        &[(LINK_ETHERNET, 9), (147, 9)],
        &f,
        NgPackets::Enhanced,
        false,
    );
    let capture = cpmconf_capture::read_capture_bytes(&ng).unwrap();
    // Every odd frame went to interface 1.
    let unknown = capture
        .problems
        .iter()
        .filter(|p| p.problem == "link type 147 is not supported")
        .count();
    assert_eq!(unknown, frames.len() / 2, "{:?}", capture.problems);
    assert!(
        capture.problems[0].problem.contains("link type 147"),
        "{:?}",
        capture.problems[0]
    );
}

/// Whether a trace has no TCP entry (then it has no close to stream either).
fn how_has_no_tcp(trace: &Trace) -> bool {
    trace.entries.iter().all(|e| e.transport != Transport::Tcp)
}
