//! Frame parsing: one captured link-layer frame (Ethernet with VLAN tags, Linux cooked SLL and
//! SLL2, BSD loopback, or raw IP; IPv4 or IPv6 with extension headers) to the
//! UDP datagram or TCP segment it carries, with both socket addresses.

use std::net::{IpAddr, SocketAddr};

use etherparse::{NetSlice, SlicedPacket, TransportSlice};

/// The link layer of a capture (pcap LINKTYPE / pcapng interface link type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    /// LINKTYPE_ETHERNET (1), with or without 802.1Q / 802.1ad (QinQ) VLAN tags.
    Ethernet,
    /// LINKTYPE_LINUX_SLL (113): Linux "cooked" capture, 16-byte header.
    LinuxSll,
    /// LINKTYPE_LINUX_SLL2 (276): Linux cooked capture v2, 20-byte header.
    LinuxSll2,
    /// LINKTYPE_RAW (101), or LINKTYPE_IPV4 (228) / LINKTYPE_IPV6 (229): the frame starts with
    /// the IP header.
    RawIp,
    /// LINKTYPE_NULL (0) and LINKTYPE_LOOP (108): BSD loopback, a 4-byte address family (host
    /// order for NULL, network order for LOOP), then IP. The IP version is read from the IP
    /// header itself, so a capture from a host of the other byte order reads the same.
    Null,
}

/// LINKTYPE_ numbers this reader decodes.
pub mod linktype {
    /// BSD loopback, host byte order family.
    pub const NULL: u32 = 0;
    /// Ethernet.
    pub const ETHERNET: u32 = 1;
    /// Raw IP (the value pcap files carry; some tools write 12 or 14 on BSDs).
    pub const RAW: u32 = 101;
    /// OpenBSD loopback, network byte order family.
    pub const LOOP: u32 = 108;
    /// Linux cooked capture.
    pub const LINUX_SLL: u32 = 113;
    /// Raw IPv4.
    pub const IPV4: u32 = 228;
    /// Raw IPv6.
    pub const IPV6: u32 = 229;
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: u32 = 276;
}

impl LinkType {
    /// Maps a pcap-file data link; `None` for link types this reader does not decode.
    pub fn from_datalink(link: pcap_file::DataLink) -> Option<LinkType> {
        Self::from_number(u32::from(link))
    }

    /// Maps a LINKTYPE_ number (the low 16 bits of a pcap header's link field, or a pcapng
    /// interface's link type); `None` for link types this reader does not decode.
    pub fn from_number(link: u32) -> Option<LinkType> {
        match link {
            linktype::ETHERNET => Some(LinkType::Ethernet),
            linktype::LINUX_SLL => Some(LinkType::LinuxSll),
            linktype::LINUX_SLL2 => Some(LinkType::LinuxSll2),
            // DLT_RAW is 12 on most BSDs and 14 on OpenBSD in files written with the DLT value.
            linktype::RAW | linktype::IPV4 | linktype::IPV6 | 12 | 14 => Some(LinkType::RawIp),
            linktype::NULL | linktype::LOOP => Some(LinkType::Null),
            _ => None,
        }
    }
}

/// Length of a LINKTYPE_LINUX_SLL2 header; its first two bytes are the EtherType.
const SLL2_HEADER: usize = 20;

/// A TCP segment as captured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpSegment {
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number (meaningful when `ack` is set).
    pub ack_no: u32,
    /// SYN flag.
    pub syn: bool,
    /// ACK flag.
    pub ack: bool,
    /// FIN flag.
    pub fin: bool,
    /// RST flag.
    pub rst: bool,
    /// The segment's payload.
    pub payload: Vec<u8>,
}

/// What one frame carries, as far as the capture cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A UDP datagram.
    Udp {
        /// Sender.
        src: SocketAddr,
        /// Receiver.
        dst: SocketAddr,
        /// The datagram's payload.
        payload: Vec<u8>,
    },
    /// A TCP segment.
    Tcp(TcpSegment),
    /// Anything else (ARP, ICMP, IP fragments, other protocols): not SIP or MSRP traffic.
    Other,
}

/// Parses one frame. `Err` carries a readable description of what is malformed.
pub fn parse_frame(link: LinkType, data: &[u8]) -> Result<Frame, String> {
    let sliced = match link {
        LinkType::Ethernet => SlicedPacket::from_ethernet(data),
        LinkType::LinuxSll => SlicedPacket::from_linux_sll(data),
        LinkType::LinuxSll2 => match (data.get(..2), data.get(SLL2_HEADER..)) {
            (Some(&[hi, lo]), Some(rest)) => SlicedPacket::from_ether_type(
                etherparse::EtherType(u16::from_be_bytes([hi, lo])),
                rest,
            ),
            _ => {
                return Err(format!(
                    "Linux cooked v2 (SLL2) header needs {SLL2_HEADER} bytes, the frame has {}",
                    data.len()
                ))
            }
        },
        LinkType::RawIp => SlicedPacket::from_ip(data),
        LinkType::Null => match data.get(4..) {
            Some(rest) => SlicedPacket::from_ip(rest),
            None => return Err("BSD loopback header shorter than 4 bytes".into()),
        },
    }
    .map_err(|e| e.to_string())?;
    let (src_ip, dst_ip): (IpAddr, IpAddr) = match &sliced.net {
        Some(NetSlice::Ipv4(v4)) => (
            v4.header().source_addr().into(),
            v4.header().destination_addr().into(),
        ),
        Some(NetSlice::Ipv6(v6)) => (
            v6.header().source_addr().into(),
            v6.header().destination_addr().into(),
        ),
        Some(NetSlice::Arp(_)) | None => return Ok(Frame::Other),
    };
    if sliced.is_ip_payload_fragmented() {
        return Ok(Frame::Other);
    }
    match sliced.transport {
        Some(TransportSlice::Udp(udp)) => Ok(Frame::Udp {
            src: SocketAddr::new(src_ip, udp.source_port()),
            dst: SocketAddr::new(dst_ip, udp.destination_port()),
            payload: udp.payload().to_vec(),
        }),
        Some(TransportSlice::Tcp(tcp)) => Ok(Frame::Tcp(TcpSegment {
            src: SocketAddr::new(src_ip, tcp.source_port()),
            dst: SocketAddr::new(dst_ip, tcp.destination_port()),
            seq: tcp.sequence_number(),
            ack_no: tcp.acknowledgment_number(),
            syn: tcp.syn(),
            ack: tcp.ack(),
            fin: tcp.fin(),
            rst: tcp.rst(),
            payload: tcp.payload().to_vec(),
        })),
        _ => Ok(Frame::Other),
    }
}
