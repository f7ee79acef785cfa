//! A capture rewritten into the forms other tools write: pcapng (several interfaces, simple
//! packet blocks, either byte order), classic pcap with other timestamp precision, Linux cooked
//! SLL and SLL2, BSD loopback, raw IP, VLAN and QinQ tags, IPv6 (with an extension header), and
//! TCP split into small pieces reordered, duplicated and overlapped. Hand-written encoders, so
//! the reader is tested against bytes it did not write itself; used by the equivalence tests
//! (the same traffic in any form decodes and is judged the same).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::frame::{parse_frame, Frame, LinkType};
use crate::pcap_writer::frames::{tcp_frame, udp_frame, TcpFlags};

/// Captured frames: time since the epoch and the Ethernet bytes.
pub type Frames = Vec<(Duration, Vec<u8>)>;

/// The frames of a classic Ethernet pcap (as `cpmconf run` writes them).
pub fn read_frames(path: &std::path::Path) -> std::io::Result<Frames> {
    let file = std::fs::File::open(path)?;
    let mut reader = pcap_file::pcap::PcapReader::new(file).map_err(std::io::Error::other)?;
    let mut frames = Vec::new();
    while let Some(p) = reader.next_packet() {
        let p = p.map_err(std::io::Error::other)?;
        frames.push((p.timestamp, p.data.into_owned()));
    }
    Ok(frames)
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
pub fn classic_pcap(link: u32, frames: &[(Duration, Vec<u8>)], nanos: bool, big: bool) -> Vec<u8> {
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

/// One pcapng block.
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
pub enum NgPackets {
    /// Enhanced packet blocks; frame i on interface i % interfaces.
    Enhanced,
    /// Simple packet blocks (interface 0, no timestamps).
    Simple,
}

/// A pcapng with one interface per `links` entry (link type, if_tsresol); frames are already
/// framed for their interface: `(interface, time, bytes)`.
pub fn pcapng(
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

/// BSD loopback (host-order family).
pub const LINK_NULL: u32 = 0;
/// Ethernet.
pub const LINK_ETHERNET: u32 = 1;
/// Raw IP.
pub const LINK_RAW: u32 = 101;
/// OpenBSD loopback (network-order family).
pub const LINK_LOOP: u32 = 108;
/// Linux cooked capture.
pub const LINK_SLL: u32 = 113;
/// Raw IPv4.
pub const LINK_IPV4: u32 = 228;
/// Raw IPv6.
pub const LINK_IPV6: u32 = 229;
/// Linux cooked capture v2.
pub const LINK_SLL2: u32 = 276;

/// An Ethernet frame re-framed for `link` (`big`: the byte order of a NULL family).
pub fn reframe(eth: &[u8], link: u32, big: bool) -> Vec<u8> {
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
pub fn vlan(eth: &[u8], qinq: bool) -> Vec<u8> {
    let mut f = eth[..12].to_vec();
    if qinq {
        f.extend_from_slice(&[0x88, 0xA8, 0x00, 0xC8]);
    }
    f.extend_from_slice(&[0x81, 0x00, 0x00, 0x64]);
    f.extend_from_slice(&eth[12..]);
    f
}

/// The IPv4-mapped IPv6 address of an IPv4 address (others unchanged).
pub fn v6_of(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(v4) => SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), addr.port()),
        IpAddr::V6(_) => addr,
    }
}

fn flags_of(seg: &crate::frame::TcpSegment) -> TcpFlags {
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
pub fn to_ipv6(eth: &[u8], hop_by_hop: bool) -> Vec<u8> {
    let rebuilt = match parse_frame(LinkType::Ethernet, eth) {
        Ok(Frame::Udp { src, dst, payload }) => udp_frame(v6_of(src), v6_of(dst), &payload).ok(),
        Ok(Frame::Tcp(seg)) => tcp_frame(
            v6_of(seg.src),
            v6_of(seg.dst),
            seg.seq,
            seg.ack_no,
            flags_of(&seg),
            &seg.payload,
        )
        .ok(),
        _ => None,
    };
    // A frame that is not UDP or TCP over IP stays as it is.
    let Some(mut f) = rebuilt else {
        return eth.to_vec();
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
pub fn split_tcp(frames: &[(Duration, Vec<u8>)]) -> Frames {
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
        match parse_frame(LinkType::Ethernet, eth) {
            Ok(Frame::Tcp(seg)) if !seg.payload.is_empty() && !seg.syn && !seg.fin => {
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
                        if let Ok(f) = tcp_frame(
                            seg.src,
                            seg.dst,
                            seq,
                            seg.ack_no,
                            flags_of(&seg),
                            &seg.payload[from..to],
                        ) {
                            run.push((*ts, f));
                        }
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

/// A form to rewrite a capture into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rewrite {
    /// Classic pcap, big-endian, nanosecond timestamps.
    PcapBigEndianNanos,
    /// Classic pcap, microsecond timestamps.
    PcapMicros,
    /// pcapng, one Ethernet interface.
    PcapNg {
        /// Big-endian sections.
        big: bool,
    },
    /// pcapng with three interfaces of different link types.
    PcapNgInterfaces,
    /// pcapng with simple packet blocks (no timestamps).
    PcapNgSimple,
    /// Another link layer (`LINK_*`).
    Link {
        /// The link type.
        link: u32,
        /// Byte order of a NULL family.
        big: bool,
    },
    /// 802.1Q tags (and an 802.1ad outer tag).
    Vlan {
        /// Two tags.
        qinq: bool,
    },
    /// IPv6 with IPv4-mapped addresses ([`v6_of`]).
    Ipv6 {
        /// A hop-by-hop extension header.
        hop_by_hop: bool,
        /// The link type.
        link: u32,
    },
    /// TCP payloads split into 1..7-byte pieces, reordered, duplicated and overlapped.
    SplitTcp,
}

/// The capture of `frames` (Ethernet) in the form `how`; `true` when times survive exactly.
pub fn rewrite(frames: &[(Duration, Vec<u8>)], how: Rewrite) -> (Vec<u8>, bool) {
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
    (bytes, exact_times)
}
