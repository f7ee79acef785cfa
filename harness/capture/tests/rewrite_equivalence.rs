//! The same traffic in the forms people's tools write decodes to the same trace: a capture of a
//! mixed SIP-UDP, SIP-TCP and MSRP-TCP exchange written by our PcapSink, rewritten (here, with
//! hand-written pcap/pcapng encoders) as pcapng with several interfaces, simple packet blocks,
//! big-endian and microsecond pcap, Linux cooked SLL and SLL2, BSD loopback NULL/LOOP, raw IP,
//! VLAN and QinQ tags, IPv6 with an extension header, and TCP split into 1..7-byte pieces that are
//! reordered, duplicated and overlapped. tshark (required, as CI installs it) reads every file.

mod support;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use cpmconf_capture::frame::{parse_frame, Frame, LinkType};
use cpmconf_capture::pcap_writer::frames::{tcp_frame, udp_frame, TcpFlags};
use cpmconf_capture::pcap_writer::PcapSink;
use cpmconf_capture::tshark::check_pcap;
use cpmconf_capture::{Tap, Trace, TraceFrame, TraceItem, TraceStream, Transport};
use rstest::rstest;
use support::{record_sample, Endpoints, SAMPLE_MESSAGES, TID};

/// One captured frame: time since the epoch and the Ethernet bytes.
type Frames = Vec<(Duration, Vec<u8>)>;

/// The original capture (IPv4, MSS 536 so the MSRP SEND spans many segments), its frames and
/// its trace.
fn original(dir: &Path) -> (PathBuf, Frames, Trace) {
    let path = dir.join("original.pcap");
    let tap = Tap::new();
    tap.add_sink(Box::new(PcapSink::create_with_mss(&path, 536).unwrap()));
    record_sample(&tap, Endpoints::new(false));
    tap.finish();
    let mut reader = pcap_file::pcap::PcapReader::new(std::fs::File::open(&path).unwrap()).unwrap();
    let mut frames = Vec::new();
    while let Some(p) = reader.next_packet() {
        let p = p.unwrap();
        frames.push((p.timestamp, p.data.into_owned()));
    }
    let trace = Trace::from_pcap(&path).unwrap();
    assert_eq!(trace.entries.len(), SAMPLE_MESSAGES);
    assert!(trace.problems.is_empty(), "{:?}", trace.problems);
    assert!(trace.undecodable().next().is_none());
    (path, frames, trace)
}

// ---- hand-written encoders -------------------------------------------------------------------

fn put_u16(out: &mut Vec<u8>, v: u16, big: bool) {
    out.extend_from_slice(&if big {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    });
}
fn put_u32(out: &mut Vec<u8>, v: u32, big: bool) {
    out.extend_from_slice(&if big {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    });
}

/// A classic pcap: `nanos` picks the magic, `big` the byte order.
fn classic_pcap(link: u32, frames: &[(Duration, Vec<u8>)], nanos: bool, big: bool) -> Vec<u8> {
    let mut out = Vec::new();
    put_u32(&mut out, if nanos { 0xA1B2_3C4D } else { 0xA1B2_C3D4 }, big);
    put_u16(&mut out, 2, big);
    put_u16(&mut out, 4, big);
    put_u32(&mut out, 0, big);
    put_u32(&mut out, 0, big);
    put_u32(&mut out, 262_144, big);
    put_u32(&mut out, link, big);
    for (ts, data) in frames {
        put_u32(&mut out, ts.as_secs() as u32, big);
        let frac = if nanos {
            ts.subsec_nanos()
        } else {
            ts.subsec_micros()
        };
        put_u32(&mut out, frac, big);
        put_u32(&mut out, data.len() as u32, big);
        put_u32(&mut out, data.len() as u32, big);
        out.extend_from_slice(data);
    }
    out
}

fn ng_block(out: &mut Vec<u8>, kind: u32, body: &[u8], big: bool) {
    let padded = body.len().div_ceil(4) * 4;
    let len = (12 + padded) as u32;
    put_u32(out, kind, big);
    put_u32(out, len, big);
    out.extend_from_slice(body);
    out.resize(out.len() + padded - body.len(), 0);
    put_u32(out, len, big);
}

/// Where each frame goes in a pcapng.
#[derive(Debug, Clone, Copy)]
enum NgPackets {
    /// Enhanced packet blocks; frame i on interface i % interfaces.
    Enhanced,
    /// Simple packet blocks (interface 0, no timestamps).
    Simple,
}

/// A pcapng with one interface per `links` entry (link type, if_tsresol); frames are already
/// framed for their interface: `(interface, time, bytes)`.
fn pcapng(
    links: &[(u32, u8)],
    frames: &[(usize, Duration, Vec<u8>)],
    packets: NgPackets,
    big: bool,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut shb = Vec::new();
    put_u32(&mut shb, 0x1A2B_3C4D, big);
    put_u16(&mut shb, 1, big);
    put_u16(&mut shb, 0, big);
    shb.extend_from_slice(&[0xFF; 8]);
    ng_block(&mut out, 0x0A0D_0D0A, &shb, big);
    for &(link, tsresol) in links {
        let mut idb = Vec::new();
        put_u16(&mut idb, link as u16, big);
        put_u16(&mut idb, 0, big);
        put_u32(&mut idb, 262_144, big);
        put_u16(&mut idb, 9, big);
        put_u16(&mut idb, 1, big);
        idb.extend_from_slice(&[tsresol, 0, 0, 0]);
        put_u32(&mut idb, 0, big);
        ng_block(&mut out, 1, &idb, big);
    }
    for (iface, ts, data) in frames {
        let mut body = Vec::new();
        match packets {
            NgPackets::Enhanced => {
                let tsresol = links[*iface].1;
                let units = if tsresol == 9 {
                    ts.as_nanos() as u64
                } else {
                    ts.as_micros() as u64
                };
                put_u32(&mut body, *iface as u32, big);
                put_u32(&mut body, (units >> 32) as u32, big);
                put_u32(&mut body, units as u32, big);
                put_u32(&mut body, data.len() as u32, big);
                put_u32(&mut body, data.len() as u32, big);
                body.extend_from_slice(data);
                ng_block(&mut out, 6, &body, big);
            }
            NgPackets::Simple => {
                put_u32(&mut body, data.len() as u32, big);
                body.extend_from_slice(data);
                ng_block(&mut out, 3, &body, big);
            }
        }
    }
    out
}

// ---- re-framing -------------------------------------------------------------------------------

const LINK_NULL: u32 = 0;
const LINK_ETHERNET: u32 = 1;
const LINK_RAW: u32 = 101;
const LINK_LOOP: u32 = 108;
const LINK_SLL: u32 = 113;
const LINK_IPV4: u32 = 228;
const LINK_IPV6: u32 = 229;
const LINK_SLL2: u32 = 276;

/// An Ethernet frame re-framed for `link` (`big`: the byte order of a NULL family).
fn reframe(eth: &[u8], link: u32, big: bool) -> Vec<u8> {
    let ethertype = &eth[12..14];
    let ip = &eth[14..];
    let v6 = ip[0] >> 4 == 6;
    match link {
        LINK_SLL => {
            let mut f = vec![0, 0, 0, 1, 0, 6];
            f.extend_from_slice(&eth[6..12]);
            f.extend_from_slice(&[0, 0]);
            f.extend_from_slice(ethertype);
            f.extend_from_slice(ip);
            f
        }
        LINK_SLL2 => {
            let mut f = ethertype.to_vec();
            f.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0, 1, 0, 6]);
            f.extend_from_slice(&eth[6..12]);
            f.extend_from_slice(&[0, 0]);
            f.extend_from_slice(ip);
            assert_eq!(f.len(), 20 + ip.len());
            f
        }
        LINK_NULL | LINK_LOOP => {
            // AF_INET is 2 everywhere; AF_INET6 differs by OS (24 on NetBSD/OpenBSD).
            let family: u32 = if v6 { 24 } else { 2 };
            let mut f = if big || link == LINK_LOOP {
                family.to_be_bytes().to_vec()
            } else {
                family.to_le_bytes().to_vec()
            };
            f.extend_from_slice(ip);
            f
        }
        LINK_RAW | LINK_IPV4 | LINK_IPV6 => ip.to_vec(),
        _ => eth.to_vec(),
    }
}

/// An Ethernet frame with 802.1Q tags (one, or an 802.1ad outer tag too).
fn vlan(eth: &[u8], qinq: bool) -> Vec<u8> {
    let mut f = eth[..12].to_vec();
    if qinq {
        f.extend_from_slice(&[0x88, 0xA8, 0x00, 0xC8]);
    }
    f.extend_from_slice(&[0x81, 0x00, 0x00, 0x64]);
    f.extend_from_slice(&eth[12..]);
    f
}

fn v6_of(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(v4) => SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), addr.port()),
        IpAddr::V6(_) => addr,
    }
}

fn flags_of(seg: &cpmconf_capture::frame::TcpSegment) -> TcpFlags {
    TcpFlags {
        syn: seg.syn,
        ack: seg.ack,
        fin: seg.fin,
        psh: false,
        rst: seg.rst,
    }
}

/// The frame rebuilt over IPv6 (IPv4-mapped addresses), optionally with a hop-by-hop options
/// extension header between the IPv6 header and UDP/TCP.
fn to_ipv6(eth: &[u8], hop_by_hop: bool) -> Vec<u8> {
    let mut f = match parse_frame(LinkType::Ethernet, eth).unwrap() {
        Frame::Udp { src, dst, payload } => udp_frame(v6_of(src), v6_of(dst), &payload).unwrap(),
        Frame::Tcp(seg) => tcp_frame(
            v6_of(seg.src),
            v6_of(seg.dst),
            seg.seq,
            seg.ack_no,
            flags_of(&seg),
            &seg.payload,
        )
        .unwrap(),
        Frame::Other => panic!("unexpected frame"),
    };
    if hop_by_hop {
        let next = f[14 + 6];
        f[14 + 6] = 0;
        let len = u16::from_be_bytes([f[14 + 4], f[14 + 5]]) + 8;
        f[14 + 4..14 + 6].copy_from_slice(&len.to_be_bytes());
        // Next header, length 0 (8 bytes), PadN option covering the remaining 6 bytes.
        let ext = [next, 0, 1, 4, 0, 0, 0, 0];
        f.splice(14 + 40..14 + 40, ext);
    }
    f
}

/// A small deterministic generator (xorshift) so the split is the same on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Every TCP payload cut into 1..7-byte pieces; each run of data frames from one sender is
/// shuffled, every 5th piece sent twice, and every 7th followed by a piece overlapping it and
/// its neighbour.
fn split_tcp(frames: &[(Duration, Vec<u8>)]) -> Frames {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out: Frames = Vec::new();
    let mut run: Frames = Vec::new();
    let mut run_src: Option<SocketAddr> = None;
    let flush = |run: &mut Frames, out: &mut Frames, rng: &mut Rng| {
        for i in (1..run.len()).rev() {
            let j = rng.next(i + 1);
            run.swap(i, j);
        }
        out.append(run);
    };
    for (ts, eth) in frames {
        match parse_frame(LinkType::Ethernet, eth).unwrap() {
            Frame::Tcp(seg) if !seg.payload.is_empty() && !seg.syn && !seg.fin => {
                if run_src != Some(seg.src) {
                    flush(&mut run, &mut out, &mut rng);
                    run_src = Some(seg.src);
                }
                let mut off = 0;
                let mut k = 0;
                while off < seg.payload.len() {
                    let len = (1 + rng.next(7)).min(seg.payload.len() - off);
                    let mut piece = |from: usize, to: usize| {
                        let seq = seg.seq.wrapping_add(from as u32);
                        let f = tcp_frame(
                            seg.src,
                            seg.dst,
                            seq,
                            seg.ack_no,
                            flags_of(&seg),
                            &seg.payload[from..to],
                        )
                        .unwrap();
                        run.push((*ts, f));
                    };
                    piece(off, off + len);
                    if k % 5 == 4 {
                        piece(off, off + len);
                    }
                    if k % 7 == 6 {
                        let end = (off + len + 3).min(seg.payload.len());
                        piece(off.saturating_sub(2), end);
                    }
                    off += len;
                    k += 1;
                }
            }
            _ => {
                flush(&mut run, &mut out, &mut rng);
                run_src = None;
                out.push((*ts, eth.clone()));
            }
        }
    }
    flush(&mut run, &mut out, &mut rng);
    out
}

// ---- the table ------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Rewrite {
    PcapBigEndianNanos,
    PcapMicros,
    PcapNg { big: bool },
    PcapNgInterfaces,
    PcapNgSimple,
    Link { link: u32, big: bool },
    Vlan { qinq: bool },
    Ipv6 { hop_by_hop: bool, link: u32 },
    SplitTcp,
}

/// Writes the rewritten capture; returns its path and whether times survive exactly.
fn rewrite(dir: &Path, frames: &[(Duration, Vec<u8>)], how: Rewrite) -> (PathBuf, bool) {
    let (bytes, exact_times) = match how {
        Rewrite::PcapBigEndianNanos => (classic_pcap(LINK_ETHERNET, frames, true, true), true),
        Rewrite::PcapMicros => (classic_pcap(LINK_ETHERNET, frames, false, false), false),
        Rewrite::PcapNg { big } => {
            let f: Vec<_> = frames.iter().map(|(t, d)| (0, *t, d.clone())).collect();
            (
                pcapng(&[(LINK_ETHERNET, 9)], &f, NgPackets::Enhanced, big),
                true,
            )
        }
        Rewrite::PcapNgInterfaces => {
            let links = [(LINK_ETHERNET, 9), (LINK_SLL2, 6), (LINK_RAW, 9)];
            let f: Vec<_> = frames
                .iter()
                .enumerate()
                .map(|(i, (t, d))| {
                    let iface = i % links.len();
                    (iface, *t, reframe(d, links[iface].0, false))
                })
                .collect();
            (pcapng(&links, &f, NgPackets::Enhanced, false), false)
        }
        Rewrite::PcapNgSimple => {
            let f: Vec<_> = frames.iter().map(|(t, d)| (0, *t, d.clone())).collect();
            (
                pcapng(&[(LINK_ETHERNET, 6)], &f, NgPackets::Simple, false),
                false,
            )
        }
        Rewrite::Link { link, big } => {
            let f: Vec<_> = frames
                .iter()
                .map(|(t, d)| (*t, reframe(d, link, big)))
                .collect();
            (classic_pcap(link, &f, true, big), true)
        }
        Rewrite::Vlan { qinq } => {
            let f: Vec<_> = frames.iter().map(|(t, d)| (*t, vlan(d, qinq))).collect();
            (classic_pcap(LINK_ETHERNET, &f, true, false), true)
        }
        Rewrite::Ipv6 { hop_by_hop, link } => {
            let f: Vec<_> = frames
                .iter()
                .map(|(t, d)| (*t, reframe(&to_ipv6(d, hop_by_hop), link, false)))
                .collect();
            (classic_pcap(link, &f, true, false), true)
        }
        Rewrite::SplitTcp => (
            classic_pcap(LINK_ETHERNET, &split_tcp(frames), true, false),
            true,
        ),
    };
    let path = dir.join("rewritten.cap");
    std::fs::write(&path, bytes).unwrap();
    (path, exact_times)
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
    let (path, exact_times) = rewrite(dir.path(), &frames, how);
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
    // The streaming reader gives the same entries.
    let streamed: Vec<_> = TraceStream::open(&path)
        .unwrap()
        .map(|i| match i.unwrap() {
            TraceItem::Entry(e) => e,
            TraceItem::Problem(p) => panic!("{how:?}: {p}"),
        })
        .collect();
    assert_eq!(streamed, trace.entries, "{how:?}");
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
