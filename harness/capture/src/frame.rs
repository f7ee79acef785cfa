//! Frame parsing: one captured link-layer frame (Ethernet, Linux cooked SLL, or raw IP) to the
//! UDP datagram or TCP segment it carries, with both socket addresses.

use std::net::{IpAddr, SocketAddr};

use etherparse::{NetSlice, SlicedPacket, TransportSlice};

/// The link layer of a capture (pcap LINKTYPE / pcapng interface link type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    /// LINKTYPE_ETHERNET (1).
    Ethernet,
    /// LINKTYPE_LINUX_SLL (113).
    LinuxSll,
    /// LINKTYPE_RAW (101), or LINKTYPE_IPV4 / LINKTYPE_IPV6: the frame starts with the IP header.
    RawIp,
    /// LINKTYPE_NULL (0): BSD loopback, a 4-byte address family in host order, then IP.
    Null,
}

impl LinkType {
    /// Maps a pcap-file data link; `None` for link types this reader does not decode.
    pub fn from_datalink(link: pcap_file::DataLink) -> Option<LinkType> {
        use pcap_file::DataLink as D;
        match link {
            D::ETHERNET => Some(LinkType::Ethernet),
            D::LINUX_SLL => Some(LinkType::LinuxSll),
            D::RAW | D::IPV4 | D::IPV6 => Some(LinkType::RawIp),
            D::NULL | D::LOOP => Some(LinkType::Null),
            _ => None,
        }
    }
}

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
        None => return Ok(Frame::Other),
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
