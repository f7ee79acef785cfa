//! Synthetic captures for benchmarks and memory tests: N SIP MESSAGE transactions (request and
//! 200 OK) alternating between UDP and TCP, written as a classic pcap to any writer.
//!
//! `cargo run --release -p cpmconf-capture --example gen_capture -- OUT.pcap 50000` writes
//! 100,000 SIP messages, for comparing `cpmconf check OUT.pcap` with `tshark -r OUT.pcap -Y sip`.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, Endianness, TsResolution};

use crate::pcap_writer::frames::{tcp_frame, udp_frame, TcpFlags};

/// What [`write_message_capture`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GenSummary {
    /// SIP messages (requests and responses).
    pub sip_messages: u64,
    /// Of which over TCP.
    pub tcp_messages: u64,
    /// TCP connections opened (and closed).
    pub tcp_connections: u64,
    /// Frames written.
    pub frames: u64,
}

/// TCP transactions carried by one connection before it closes and a new one opens.
pub const TRANSACTIONS_PER_CONNECTION: u64 = 1000;

/// The client's UDP address and the server's address used by the generated traffic; TCP
/// connections come from the client's IP with ports counting up from 46000.
pub fn endpoints() -> (SocketAddr, SocketAddr) {
    (
        SocketAddr::from(([127, 0, 0, 1], 45060)),
        SocketAddr::from(([127, 0, 0, 1], 5060)),
    )
}

/// The `i`-th MESSAGE request.
pub fn message_request(i: u64, transport: &str, from: SocketAddr) -> Vec<u8> {
    let body = format!("generated message number {i}");
    format!(
        "MESSAGE sip:bob@cpm.test SIP/2.0\r\n\
         Via: SIP/2.0/{transport} {from};branch=z9hG4bK-gen-{i}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@cpm.test>;tag=gen{i}\r\n\
         To: <sip:bob@cpm.test>\r\n\
         Call-ID: gen-{i}@cpm.test\r\n\
         CSeq: 1 MESSAGE\r\n\
         Content-Type: text/plain\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The 200 OK answering [`message_request`] `i`.
pub fn message_ok(i: u64, transport: &str, from: SocketAddr) -> Vec<u8> {
    format!(
        "SIP/2.0 200 OK\r\n\
         Via: SIP/2.0/{transport} {from};branch=z9hG4bK-gen-{i}\r\n\
         From: <sip:alice@cpm.test>;tag=gen{i}\r\n\
         To: <sip:bob@cpm.test>;tag=srv{i}\r\n\
         Call-ID: gen-{i}@cpm.test\r\n\
         CSeq: 1 MESSAGE\r\n\
         Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

struct Tcp {
    client: SocketAddr,
    client_seq: u32,
    server_seq: u32,
}

struct Gen<W: Write> {
    w: PcapWriter<W>,
    ts: Duration,
    summary: GenSummary,
}

impl<W: Write> Gen<W> {
    fn frame(&mut self, frame: io::Result<Vec<u8>>) -> io::Result<()> {
        let frame = frame?;
        self.ts += Duration::from_micros(10);
        let len = u32::try_from(frame.len()).map_err(io::Error::other)?;
        self.w
            .write_packet(&PcapPacket::new(self.ts, len, &frame))
            .map_err(|e| io::Error::other(e.to_string()))?;
        self.summary.frames += 1;
        Ok(())
    }

    fn seg(
        &mut self,
        c: &Tcp,
        server: SocketAddr,
        from_client: bool,
        flags: TcpFlags,
        data: &[u8],
    ) -> io::Result<()> {
        if from_client {
            self.frame(tcp_frame(
                c.client,
                server,
                c.client_seq,
                c.server_seq,
                flags,
                data,
            ))
        } else {
            self.frame(tcp_frame(
                server,
                c.client,
                c.server_seq,
                c.client_seq,
                flags,
                data,
            ))
        }
    }
}

fn flags(syn: bool, ack: bool, fin: bool) -> TcpFlags {
    TcpFlags {
        syn,
        ack,
        fin,
        psh: !syn && !fin,
        rst: false,
    }
}

/// Writes `transactions` MESSAGE transactions (so twice as many SIP messages): even ones over
/// UDP, odd ones over TCP, a fresh TCP connection every [`TRANSACTIONS_PER_CONNECTION`] TCP
/// transactions (handshake and FINs included), as an Ethernet pcap with nanosecond timestamps.
pub fn write_message_capture<W: Write>(out: W, transactions: u64) -> io::Result<GenSummary> {
    let header = PcapHeader {
        datalink: DataLink::ETHERNET,
        ts_resolution: TsResolution::NanoSecond,
        endianness: Endianness::Little,
        ..PcapHeader::default()
    };
    let w = PcapWriter::with_header(out, header).map_err(|e| io::Error::other(e.to_string()))?;
    let mut g = Gen {
        w,
        ts: Duration::from_secs(1_700_000_000),
        summary: GenSummary::default(),
    };
    let (udp_client, server) = endpoints();
    let mut conn: Option<(Tcp, u64)> = None;
    for i in 0..transactions {
        if i % 2 == 0 {
            g.frame(udp_frame(
                udp_client,
                server,
                &message_request(i, "UDP", udp_client),
            ))?;
            g.frame(udp_frame(
                server,
                udp_client,
                &message_ok(i, "UDP", udp_client),
            ))?;
            g.summary.sip_messages += 2;
            continue;
        }
        if conn.is_none() {
            let port = 46000 + (g.summary.tcp_connections % 19000) as u16;
            let c = Tcp {
                client: SocketAddr::from(([127, 0, 0, 1], port)),
                client_seq: 1000,
                server_seq: 5000,
            };
            g.seg(&c, server, true, flags(true, false, false), &[])?;
            g.seg(&c, server, false, flags(true, true, false), &[])?;
            let c = Tcp {
                client_seq: c.client_seq + 1,
                server_seq: c.server_seq + 1,
                ..c
            };
            g.seg(&c, server, true, flags(false, true, false), &[])?;
            g.summary.tcp_connections += 1;
            conn = Some((c, 0));
        }
        let Some((mut c, used)) = conn.take() else {
            continue;
        };
        let req = message_request(i, "TCP", c.client);
        g.seg(&c, server, true, flags(false, true, false), &req)?;
        c.client_seq = c.client_seq.wrapping_add(req.len() as u32);
        let ok = message_ok(i, "TCP", c.client);
        g.seg(&c, server, false, flags(false, true, false), &ok)?;
        c.server_seq = c.server_seq.wrapping_add(ok.len() as u32);
        g.summary.sip_messages += 2;
        g.summary.tcp_messages += 2;
        if used + 1 >= TRANSACTIONS_PER_CONNECTION || i + 2 >= transactions {
            g.seg(&c, server, true, flags(false, true, true), &[])?;
            c.client_seq = c.client_seq.wrapping_add(1);
            g.seg(&c, server, false, flags(false, true, true), &[])?;
            c.server_seq = c.server_seq.wrapping_add(1);
            g.seg(&c, server, true, flags(false, true, false), &[])?;
        } else {
            conn = Some((c, used + 1));
        }
    }
    let summary = g.summary;
    g.w.into_writer().flush()?;
    Ok(summary)
}
