//! The pcap writer: a [`WireSink`] that turns wire events into Ethernet/IP/UDP|TCP frames of a
//! classic pcap file as they happen, synthesising a consistent TCP conversation per connection.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use etherparse::PacketBuilder;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, Endianness, TsResolution};

use crate::tap::{Tap, Transport, WireEvent, WireEventKind, WireSink};

/// Default TCP maximum segment size: a write longer than this spans several segments.
pub const DEFAULT_MSS: usize = 1460;

/// TCP receive window advertised in every synthesised segment.
const WINDOW: u16 = 65535;

/// One synthesised TCP connection: who connected, and the next sequence number of each side.
#[derive(Debug, Clone)]
struct Conn {
    client: SocketAddr,
    client_next: u32,
    server_next: u32,
    client_closed: bool,
    server_closed: bool,
}

impl Conn {
    /// `(own next seq, peer next seq)` as seen from `src`.
    fn seqs(&self, src: SocketAddr) -> (u32, u32) {
        if src == self.client {
            (self.client_next, self.server_next)
        } else {
            (self.server_next, self.client_next)
        }
    }

    fn advance(&mut self, src: SocketAddr, by: u32) {
        if src == self.client {
            self.client_next = self.client_next.wrapping_add(by);
        } else {
            self.server_next = self.server_next.wrapping_add(by);
        }
    }
}

/// The key of a connection regardless of direction.
fn conn_key(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// Which TCP flags a synthesised segment carries.
#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    syn: bool,
    ack: bool,
    fin: bool,
    psh: bool,
    rst: bool,
}

/// Writes a classic pcap (LINKTYPE_ETHERNET, nanosecond timestamps) frame by frame, flushing
/// after each event so that a run that dies leaves a readable file.
///
/// UDP datagrams become one frame each. TCP connections are synthesised: SYN, SYN-ACK, ACK on
/// [`WireEventKind::TcpOpen`] (or before the first data of an unknown connection); each write
/// becomes segments of at most `mss` bytes with consistent sequence and acknowledgement numbers,
/// followed by a pure ACK from the receiver; [`WireEventKind::TcpClose`] becomes FIN/ACK and the
/// peer's ACK. IPv6 is used when either address is IPv6 (IPv4 ones are then mapped).
pub struct PcapSink {
    writer: Option<PcapWriter<SharedFile>>,
    /// `None` for a sink that only counts frames ([`pcap_frame_numbers`]).
    file: Option<SharedFile>,
    conns: HashMap<(SocketAddr, SocketAddr), Conn>,
    mss: usize,
    frames: u64,
    error: Option<String>,
}

impl std::fmt::Debug for PcapSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcapSink")
            .field("mss", &self.mss)
            .field("frames", &self.frames)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl PcapSink {
    /// Creates (truncates) `path` and writes the pcap global header; MSS [`DEFAULT_MSS`].
    pub fn create(path: impl AsRef<Path>) -> io::Result<Self> {
        Self::create_with_mss(path, DEFAULT_MSS)
    }

    /// [`PcapSink::create`] with an explicit TCP maximum segment size (at least 1).
    pub fn create_with_mss(path: impl AsRef<Path>, mss: usize) -> io::Result<Self> {
        Self::create_inner(path.as_ref(), mss, DataLink::ETHERNET)
    }

    fn create_inner(path: &Path, mss: usize, datalink: DataLink) -> io::Result<Self> {
        let file = SharedFile(Arc::new(Mutex::new(BufWriter::new(File::create(path)?))));
        let header = PcapHeader {
            version_major: 2,
            version_minor: 4,
            ts_correction: 0,
            ts_accuracy: 0,
            snaplen: 262_144,
            datalink,
            ts_resolution: TsResolution::NanoSecond,
            endianness: Endianness::native(),
        };
        let writer = PcapWriter::with_header(file.clone(), header).map_err(to_io)?;
        let mut file_handle = file.clone();
        file_handle.flush()?;
        Ok(PcapSink {
            writer: Some(writer),
            file: Some(file),
            conns: HashMap::new(),
            mss: mss.max(1),
            frames: 0,
            error: None,
        })
    }

    /// How many frames have been written.
    pub fn frames_written(&self) -> u64 {
        self.frames
    }

    /// The first write error, if any (later events are then dropped and the error is kept here).
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Writes the frames for one event and flushes.
    pub fn write_event(&mut self, event: &WireEvent) -> io::Result<()> {
        let ts = event
            .time
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        match (&event.transport, &event.kind) {
            (Transport::Udp, WireEventKind::Data(bytes)) => {
                let frame = build_udp(event.src, event.dst, bytes)?;
                self.write_frame(ts, &frame)?;
            }
            // A UDP "open" or "close" has no frame.
            (Transport::Udp, _) => {}
            (Transport::Tcp, WireEventKind::TcpOpen) => {
                self.open(ts, event.src, event.dst)?;
            }
            (Transport::Tcp, WireEventKind::Data(bytes)) => {
                self.data(ts, event.src, event.dst, bytes)?;
            }
            (Transport::Tcp, WireEventKind::TcpClose) => {
                self.close(ts, event.src, event.dst)?;
            }
        }
        self.flush()
    }

    /// Flushes everything written so far.
    pub fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }

    fn write_frame(&mut self, ts: Duration, frame: &[u8]) -> io::Result<()> {
        if self.file.is_none() {
            // Counting only: the frame is numbered as the file would number it.
            self.frames += 1;
            return Ok(());
        }
        let Some(w) = self.writer.as_mut() else {
            return Ok(());
        };
        let len = u32::try_from(frame.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
        w.write_packet(&PcapPacket::new(ts, len, frame))
            .map_err(to_io)?;
        self.frames += 1;
        Ok(())
    }

    /// Writes one TCP segment from `ends.0` to `ends.1`.
    fn segment(
        &mut self,
        ts: Duration,
        ends: (SocketAddr, SocketAddr),
        (seq, ack): (u32, u32),
        flags: Flags,
        payload: &[u8],
    ) -> io::Result<()> {
        let frame = build_tcp(ends.0, ends.1, seq, ack, flags, payload)?;
        self.write_frame(ts, &frame)
    }

    /// SYN, SYN-ACK, ACK; replaces any earlier connection on the same address pair.
    fn open(&mut self, ts: Duration, src: SocketAddr, dst: SocketAddr) -> io::Result<()> {
        // Deterministic initial sequence numbers, so equal runs give equal captures. A new
        // connection on the address pair of an earlier one starts past where that one ended
        // (RFC 9293 3.4.1: a new incarnation must not reuse the old sequence space), so
        // Wireshark does not take its segments for retransmissions of the old ones.
        const NEXT_INCARNATION: u32 = 0x0001_0000;
        let earlier = self.conns.get(&conn_key(src, dst));
        let isn_of = |end: SocketAddr, fresh: u32| match earlier {
            Some(c) => c.seqs(end).0.wrapping_add(NEXT_INCARNATION),
            None => fresh,
        };
        let client_isn = isn_of(src, (u32::from(src.port()) << 16) | 0x1000);
        let server_isn = isn_of(dst, (u32::from(dst.port()) << 16) | 0x8000);
        let syn = Flags {
            syn: true,
            ..Flags::default()
        };
        self.segment(ts, (src, dst), (client_isn, 0), syn, &[])?;
        let syn_ack = Flags {
            syn: true,
            ack: true,
            ..Flags::default()
        };
        let client_next = client_isn.wrapping_add(1);
        let server_next = server_isn.wrapping_add(1);
        self.segment(ts, (dst, src), (server_isn, client_next), syn_ack, &[])?;
        let ack = Flags {
            ack: true,
            ..Flags::default()
        };
        self.segment(ts, (src, dst), (client_next, server_next), ack, &[])?;
        self.conns.insert(
            conn_key(src, dst),
            Conn {
                client: src,
                client_next,
                server_next,
                client_closed: false,
                server_closed: false,
            },
        );
        Ok(())
    }

    fn conn_for(&mut self, ts: Duration, src: SocketAddr, dst: SocketAddr) -> io::Result<Conn> {
        let key = conn_key(src, dst);
        let usable = self
            .conns
            .get(&key)
            .map(|c| !(c.client_closed && c.server_closed))
            .unwrap_or(false);
        if !usable {
            self.open(ts, src, dst)?;
        }
        self.conns
            .get(&key)
            .cloned()
            .ok_or_else(|| io::Error::other("connection state missing after open"))
    }

    fn data(
        &mut self,
        ts: Duration,
        src: SocketAddr,
        dst: SocketAddr,
        bytes: &[u8],
    ) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn_for(ts, src, dst)?;
        let chunks: Vec<&[u8]> = bytes.chunks(self.mss).collect();
        let last = chunks.len().saturating_sub(1);
        for (i, chunk) in chunks.into_iter().enumerate() {
            let (seq, ack) = conn.seqs(src);
            let flags = Flags {
                ack: true,
                psh: i == last,
                ..Flags::default()
            };
            self.segment(ts, (src, dst), (seq, ack), flags, chunk)?;
            conn.advance(src, chunk.len() as u32);
        }
        // The receiver acknowledges the whole write.
        let (seq, ack) = conn.seqs(dst);
        let ack_only = Flags {
            ack: true,
            ..Flags::default()
        };
        self.segment(ts, (dst, src), (seq, ack), ack_only, &[])?;
        self.conns.insert(conn_key(src, dst), conn);
        Ok(())
    }

    fn close(&mut self, ts: Duration, src: SocketAddr, dst: SocketAddr) -> io::Result<()> {
        let key = conn_key(src, dst);
        let Some(mut conn) = self.conns.get(&key).cloned() else {
            // A close of a connection never seen: nothing to show.
            return Ok(());
        };
        let already = if src == conn.client {
            conn.client_closed
        } else {
            conn.server_closed
        };
        if already {
            return Ok(());
        }
        let (seq, ack) = conn.seqs(src);
        let fin = Flags {
            fin: true,
            ack: true,
            ..Flags::default()
        };
        self.segment(ts, (src, dst), (seq, ack), fin, &[])?;
        conn.advance(src, 1);
        let (seq, ack) = conn.seqs(dst);
        let ack_only = Flags {
            ack: true,
            ..Flags::default()
        };
        self.segment(ts, (dst, src), (seq, ack), ack_only, &[])?;
        if src == conn.client {
            conn.client_closed = true;
        } else {
            conn.server_closed = true;
        }
        self.conns.insert(key, conn);
        Ok(())
    }
}

impl WireSink for PcapSink {
    fn on_event(&mut self, event: &WireEvent) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.write_event(event) {
            // A sink cannot fail the run; the error is kept and shown once.
            eprintln!("cpmconf-capture: pcap write failed: {e}");
            self.error = Some(e.to_string());
        }
    }

    fn finish(&mut self) {
        if let Err(e) = self.flush() {
            eprintln!("cpmconf-capture: pcap flush failed: {e}");
            self.error.get_or_insert(e.to_string());
        }
        // Dropping the writer closes the file.
        self.writer = None;
    }
}

/// The pcap frame number (1-based, as Wireshark shows it) of the last frame carrying each event's
/// bytes, in the file a [`PcapSink`] with [`DEFAULT_MSS`] writes for `events`; `None` for an
/// event that carries no bytes (a TCP open or close). A TCP write's last data segment comes just
/// before the receiver's ACK.
pub fn pcap_frame_numbers(events: &[WireEvent]) -> Vec<Option<u64>> {
    let mut sink = PcapSink {
        writer: None,
        file: None,
        conns: HashMap::new(),
        mss: DEFAULT_MSS,
        frames: 0,
        error: None,
    };
    events
        .iter()
        .map(|e| {
            // Counting cannot fail but for a frame too large to build, which the file lacks too.
            let ok = sink.write_event(e).is_ok();
            match (&e.kind, e.transport) {
                (WireEventKind::Data(b), _) if !ok || b.is_empty() => None,
                (WireEventKind::Data(_), Transport::Udp) => Some(sink.frames),
                (WireEventKind::Data(_), Transport::Tcp) => Some(sink.frames.saturating_sub(1)),
                _ => None,
            }
        })
        .collect()
}

/// The pcap frame number of each entry of `trace` (decoded from `events`): the frame carrying
/// the end of the write that completed the message (see [`pcap_frame_numbers`]); `None` when no
/// event matches (an entry closed by the end of the capture).
pub fn trace_frame_numbers(trace: &crate::Trace, events: &[WireEvent]) -> Vec<Option<u64>> {
    let frames = pcap_frame_numbers(events);
    // The trace stamps each entry with the time of the event that completed it.
    let mut by_event: HashMap<(SystemTime, SocketAddr, SocketAddr), u64> = HashMap::new();
    for (e, f) in events.iter().zip(&frames) {
        if let Some(f) = f {
            by_event.entry((e.time, e.src, e.dst)).or_insert(*f);
        }
    }
    trace
        .entries
        .iter()
        .map(|e| by_event.get(&(e.time, e.src, e.dst)).copied())
        .collect()
}

/// Adds a [`PcapSink`] writing to `path` to `tap`.
pub fn attach_pcap(tap: &Tap, path: impl AsRef<Path>) -> io::Result<()> {
    tap.add_sink(Box::new(PcapSink::create(path)?));
    Ok(())
}

impl Tap {
    /// A new tap that writes every event to a pcap file at `path` as it happens.
    pub fn with_pcap(path: impl AsRef<Path>) -> io::Result<Tap> {
        let tap = Tap::new();
        attach_pcap(&tap, path)?;
        Ok(tap)
    }
}

/// The output file, shared between the pcap writer and the sink so the sink can flush it.
#[derive(Clone)]
struct SharedFile(Arc<Mutex<BufWriter<File>>>);

impl Write for SharedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).flush()
    }
}

fn to_io(e: pcap_file::PcapError) -> io::Error {
    match e {
        pcap_file::PcapError::IoError(e) => e,
        other => io::Error::other(other.to_string()),
    }
}

/// A locally administered MAC derived from the endpoint, so each endpoint keeps one address.
fn mac_of(addr: SocketAddr) -> [u8; 6] {
    let port = addr.port().to_be_bytes();
    let ip_tail = match addr.ip() {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            [o[2], o[3]]
        }
        IpAddr::V6(v6) => {
            let o = v6.octets();
            [o[14], o[15]]
        }
    };
    [0x02, ip_tail[0], ip_tail[1], 0x00, port[0], port[1]]
}

/// The network layer both ends share: IPv4 when both are IPv4, else IPv6 (IPv4 mapped).
enum IpPair {
    V4([u8; 4], [u8; 4]),
    V6([u8; 16], [u8; 16]),
}

fn ip_pair(src: SocketAddr, dst: SocketAddr) -> IpPair {
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(a), IpAddr::V4(b)) => IpPair::V4(a.octets(), b.octets()),
        (a, b) => IpPair::V6(v6_octets(a), v6_octets(b)),
    }
}

fn v6_octets(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

fn build_err(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, e.to_string())
}

/// One Ethernet/IP/UDP frame.
fn build_udp(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> io::Result<Vec<u8>> {
    let eth = PacketBuilder::ethernet2(mac_of(src), mac_of(dst));
    let builder = match ip_pair(src, dst) {
        IpPair::V4(a, b) => eth.ipv4(a, b, 64).udp(src.port(), dst.port()),
        IpPair::V6(a, b) => eth.ipv6(a, b, 64).udp(src.port(), dst.port()),
    };
    let mut out = Vec::with_capacity(builder.size(payload.len()));
    builder.write(&mut out, payload).map_err(build_err)?;
    Ok(out)
}

/// One Ethernet/IP/TCP frame.
fn build_tcp(
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: Flags,
    payload: &[u8],
) -> io::Result<Vec<u8>> {
    let eth = PacketBuilder::ethernet2(mac_of(src), mac_of(dst));
    let ip = match ip_pair(src, dst) {
        IpPair::V4(a, b) => eth.ipv4(a, b, 64),
        IpPair::V6(a, b) => eth.ipv6(a, b, 64),
    };
    let mut builder = ip.tcp(src.port(), dst.port(), seq, WINDOW);
    if flags.syn {
        builder = builder.syn();
    }
    if flags.ack {
        builder = builder.ack(ack);
    }
    if flags.fin {
        builder = builder.fin();
    }
    if flags.psh {
        builder = builder.psh();
    }
    if flags.rst {
        builder = builder.rst();
    }
    let mut out = Vec::with_capacity(builder.size(payload.len()));
    builder.write(&mut out, payload).map_err(build_err)?;
    Ok(out)
}

/// The frame builders, for tests that craft captures by hand.
pub mod frames {
    use super::*;

    /// TCP flags of a hand-crafted segment.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct TcpFlags {
        /// SYN.
        pub syn: bool,
        /// ACK (the acknowledgement number is used only with this flag).
        pub ack: bool,
        /// FIN.
        pub fin: bool,
        /// PSH.
        pub psh: bool,
        /// RST.
        pub rst: bool,
    }

    /// An Ethernet/IP/UDP frame from `src` to `dst`.
    pub fn udp_frame(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> io::Result<Vec<u8>> {
        build_udp(src, dst, payload)
    }

    /// An Ethernet/IP/TCP frame from `src` to `dst`.
    pub fn tcp_frame(
        src: SocketAddr,
        dst: SocketAddr,
        seq: u32,
        ack: u32,
        flags: TcpFlags,
        payload: &[u8],
    ) -> io::Result<Vec<u8>> {
        let f = Flags {
            syn: flags.syn,
            ack: flags.ack,
            fin: flags.fin,
            psh: flags.psh,
            rst: flags.rst,
        };
        build_tcp(src, dst, seq, ack, f, payload)
    }

    /// Writes `frames` (timestamp since the epoch, Ethernet frame) as a classic pcap to `path`.
    pub fn write_pcap(path: impl AsRef<Path>, frames: &[(SystemTime, Vec<u8>)]) -> io::Result<()> {
        write_pcap_linktype(path, DataLink::ETHERNET, frames)
    }

    /// [`write_pcap`] with another link type (the frames must match it).
    pub fn write_pcap_linktype(
        path: impl AsRef<Path>,
        datalink: DataLink,
        frames: &[(SystemTime, Vec<u8>)],
    ) -> io::Result<()> {
        let mut sink = PcapSink::create_inner(path.as_ref(), DEFAULT_MSS, datalink)?;
        for (time, frame) in frames {
            let ts = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
            sink.write_frame(ts, frame)?;
        }
        sink.flush()
    }
}
