//! Shared test traffic: a SIP MESSAGE over UDP, a SIP INVITE with its 200 over TCP, and a large
//! MSRP SEND over TCP with its 200, recorded through a tap.

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use cpmconf_capture::Tap;

/// Loopback of the given IP version.
pub fn loopback(v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::LOCALHOST)
    } else {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    }
}

/// The four endpoints of the sample: client SIP, core SIP, client MSRP, peer MSRP.
#[derive(Debug, Clone, Copy)]
pub struct Endpoints {
    /// The client's SIP address.
    pub client_sip: SocketAddr,
    /// The core's SIP address.
    pub core_sip: SocketAddr,
    /// The client's MSRP address (it connects).
    pub client_msrp: SocketAddr,
    /// The peer's MSRP address.
    pub peer_msrp: SocketAddr,
}

impl Endpoints {
    /// Endpoints on the IPv4 or IPv6 loopback.
    pub fn new(v6: bool) -> Self {
        let ip = loopback(v6);
        Endpoints {
            client_sip: SocketAddr::new(ip, 45060),
            core_sip: SocketAddr::new(ip, 45070),
            client_msrp: SocketAddr::new(ip, 45100),
            peer_msrp: SocketAddr::new(ip, 45200),
        }
    }

    /// Endpoints on ports in the ephemeral range that Wireshark registers to other dissectors
    /// (UDP and TCP 37008 TZSP, TCP 44818 EtherNet/IP, UDP 5353 mDNS): an OS can hand any of
    /// them to a run's socket.
    pub fn on_registered_ports(v6: bool) -> Self {
        let ip = loopback(v6);
        Endpoints {
            client_sip: SocketAddr::new(ip, 37008),
            core_sip: SocketAddr::new(ip, 5353),
            client_msrp: SocketAddr::new(ip, 44818),
            peer_msrp: SocketAddr::new(ip, 37008),
        }
    }
}

/// A SIP request with a body and a correct Content-Length.
pub fn sip_request(method: &str, transport: &str, body: &str, ctype: &str) -> Vec<u8> {
    format!(
        "{method} sip:bob@cpm.test SIP/2.0\r\n\
         Via: SIP/2.0/{transport} 127.0.0.1:45060;branch=z9hG4bK-{method}-1\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@cpm.test>;tag=a1\r\n\
         To: <sip:bob@cpm.test>\r\n\
         Call-ID: {method}-call@127.0.0.1\r\n\
         CSeq: 1 {method}\r\n\
         Contact: <sip:alice@127.0.0.1:45060;transport={lt}>\r\n\
         Content-Type: {ctype}\r\n\
         Content-Length: {len}\r\n\r\n{body}",
        lt = transport.to_ascii_lowercase(),
        len = body.len()
    )
    .into_bytes()
}

/// A 200 OK to `method`.
pub fn sip_ok(method: &str, transport: &str) -> Vec<u8> {
    format!(
        "SIP/2.0 200 OK\r\n\
         Via: SIP/2.0/{transport} 127.0.0.1:45060;branch=z9hG4bK-{method}-1\r\n\
         From: <sip:alice@cpm.test>;tag=a1\r\n\
         To: <sip:bob@cpm.test>;tag=b1\r\n\
         Call-ID: {method}-call@127.0.0.1\r\n\
         CSeq: 1 {method}\r\n\
         Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// An SDP offer for an MSRP chat.
pub fn sdp() -> String {
    "v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
     m=message 45100 TCP/MSRP *\r\na=path:msrp://127.0.0.1:45100/s111;tcp\r\n\
     a=accept-types:message/cpim\r\na=setup:active\r\n"
        .to_string()
}

/// An MSRP SEND carrying `body` (text) in one chunk.
pub fn msrp_send(tid: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "MSRP {tid} SEND\r\n\
         To-Path: msrp://127.0.0.1:45200/s222;tcp\r\n\
         From-Path: msrp://127.0.0.1:45100/s111;tcp\r\n\
         Message-ID: m-{tid}\r\n\
         Byte-Range: 1-{len}/{len}\r\n\
         Content-Type: text/plain\r\n\r\n",
        len = body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out.extend_from_slice(format!("\r\n-------{tid}$\r\n").as_bytes());
    out
}

/// The MSRP 200 answering `tid`.
pub fn msrp_ok(tid: &str) -> Vec<u8> {
    format!(
        "MSRP {tid} 200 OK\r\n\
         To-Path: msrp://127.0.0.1:45100/s111;tcp\r\n\
         From-Path: msrp://127.0.0.1:45200/s222;tcp\r\n\
         -------{tid}$\r\n"
    )
    .into_bytes()
}

/// The size of the large MSRP body.
pub const LARGE: usize = 20_000;

/// The large body: printable text, so tshark shows it.
pub fn large_body() -> Vec<u8> {
    (0..LARGE).map(|i| b'a' + (i % 26) as u8).collect()
}

/// The transaction id of the large SEND.
pub const TID: &str = "tid00001";

/// How many messages [`record_sample`] sends.
pub const SAMPLE_MESSAGES: usize = 6;

/// Records the sample traffic on `tap`: a MESSAGE and its 200 over UDP, an INVITE and its 200
/// over TCP, a large MSRP SEND and its 200 over TCP, then both connections close.
pub fn record_sample(tap: &Tap, ep: Endpoints) {
    let Endpoints {
        client_sip,
        core_sip,
        client_msrp,
        peer_msrp,
    } = ep;
    tap.udp(
        client_sip,
        core_sip,
        &sip_request("MESSAGE", "UDP", "hello over udp", "text/plain"),
    );
    tap.udp(core_sip, client_sip, &sip_ok("MESSAGE", "UDP"));
    tap.tcp_open(client_sip, core_sip);
    tap.tcp_data(
        client_sip,
        core_sip,
        &sip_request("INVITE", "TCP", &sdp(), "application/sdp"),
    );
    tap.tcp_data(core_sip, client_sip, &sip_ok("INVITE", "TCP"));
    tap.tcp_open(client_msrp, peer_msrp);
    tap.tcp_data(client_msrp, peer_msrp, &msrp_send(TID, &large_body()));
    tap.tcp_data(peer_msrp, client_msrp, &msrp_ok(TID));
    tap.tcp_close(client_msrp, peer_msrp);
    tap.tcp_close(peer_msrp, client_msrp);
    tap.tcp_close(client_sip, core_sip);
    tap.tcp_close(core_sip, client_sip);
}
