//! The capture reader: a pcap or pcapng stream (ours, tshark's, tcpdump's) back to the
//! [`WireEvent`] sequence the tap would have recorded, via frame parsing and TCP reassembly,
//! one record at a time so memory is bounded by open TCP state, not by the capture's length.
//!
//! [`CaptureReader`] takes any [`Read`] and is an iterator of [`CaptureEvent`]s; [`read_capture`]
//! and [`read_capture_bytes`] collect it into a [`Capture`] for callers that want everything.
//! Both classic pcap byte orders and timestamp resolutions (microsecond magic `a1b2c3d4`,
//! nanosecond magic `a1b23c4d`) and pcapng (several sections and interfaces of different link
//! types; enhanced, simple and obsolete packet blocks; `if_tsresol`) are read here without a
//! third-party parser, so every malformed length is checked before it is trusted.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{CaptureError, FrameProblem};
use crate::frame::{parse_frame, Frame, LinkType};
use crate::reassembly::TcpReassembler;
use crate::tap::{Transport, WireEvent, WireEventKind};

/// What a capture file holds, as wire events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Capture {
    /// The events, in capture order (TCP data in sequence order).
    pub events: Vec<WireEvent>,
    /// Frames that could not be decoded and TCP gaps, in frame order.
    pub problems: Vec<FrameProblem>,
    /// How many packets the file holds.
    pub frames: u64,
}

/// Bytes of one TCP direction that the capture never saw, although later bytes of the same
/// direction were seen (the peer acknowledged past them, or too much data piled up behind
/// them). Decoding of that direction resumes after the gap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpGap {
    /// The frame that made the gap certain.
    pub frame: u64,
    /// Its capture time.
    pub time: SystemTime,
    /// Sender of the direction.
    pub src: SocketAddr,
    /// Receiver of the direction.
    pub dst: SocketAddr,
    /// Stream offset (bytes from the direction's first byte) where the missing bytes start.
    pub offset: u64,
    /// How many bytes are missing.
    pub missing: u64,
}

/// One item of a capture read incrementally.
#[derive(Debug, Clone, PartialEq)]
pub enum CaptureEvent {
    /// A datagram, a TCP open, in-order TCP bytes, or a TCP close.
    Wire(WireEvent),
    /// A TCP gap that will never fill; a [`CaptureEvent::Problem`] describing it follows.
    Gap(TcpGap),
    /// A frame that could not be decoded, or a TCP gap (reading goes on).
    Problem(FrameProblem),
}

/// Limits of a [`CaptureReader`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReaderOptions {
    /// The largest pcap record or pcapng block accepted (a larger length field is a format
    /// error rather than a reason to buffer the rest of the file).
    pub max_record: usize,
    /// Bytes one TCP direction may hold behind a gap before the gap is declared permanent.
    pub max_tcp_pending: usize,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions {
            max_record: 16 << 20,
            max_tcp_pending: 4 << 20,
        }
    }
}

/// What a reader holds right now, for callers (and tests) that watch memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReaderStats {
    /// Packets read so far.
    pub frames: u64,
    /// TCP connections currently tracked (open, or half closed).
    pub open_connections: usize,
    /// TCP payload bytes held behind gaps, waiting for earlier segments.
    pub tcp_buffered_bytes: usize,
    /// Bytes of the file held in the read buffer.
    pub read_buffer_bytes: usize,
}

const PCAPNG_SHB: u32 = 0x0A0D_0D0A;
const PCAPNG_BYTE_ORDER: u32 = 0x1A2B_3C4D;
const PCAP_MICRO: u32 = 0xA1B2_C3D4;
const PCAP_NANO: u32 = 0xA1B2_3C4D;
const PCAP_HEADER: usize = 24;
const PCAP_RECORD_HEADER: usize = 16;
const READ_CHUNK: usize = 64 * 1024;

#[derive(Debug, Clone, Copy)]
struct Interface {
    link: Option<LinkType>,
    raw_link: u32,
    tsresol: u8,
    tsoffset: i64,
}

#[derive(Debug)]
enum Format {
    Pcap {
        big: bool,
        nanos: bool,
        link: LinkType,
    },
    PcapNg {
        big: bool,
        interfaces: Vec<Interface>,
    },
}

fn u16_at(data: &[u8], at: usize, big: bool) -> u16 {
    let b = [
        data.get(at).copied().unwrap_or(0),
        data.get(at + 1).copied().unwrap_or(0),
    ];
    if big {
        u16::from_be_bytes(b)
    } else {
        u16::from_le_bytes(b)
    }
}

fn u32_at(data: &[u8], at: usize, big: bool) -> u32 {
    let mut b = [0u8; 4];
    for (k, x) in b.iter_mut().enumerate() {
        *x = data.get(at + k).copied().unwrap_or(0);
    }
    if big {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    }
}

/// The first bytes of a file, for an error message.
fn describe_start(data: &[u8]) -> String {
    let head = data.get(..data.len().min(8)).unwrap_or_default();
    let hex: Vec<String> = head.iter().map(|b| format!("{b:02x}")).collect();
    let text: String = head
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '.'
            }
        })
        .collect();
    format!(
        "the first bytes are {} ({text:?}); a pcap file starts with d4 c3 b2 a1 or a1 b2 c3 d4 \
         (microseconds) or 4d 3c b2 a1 or a1 b2 3c 4d (nanoseconds), a pcapng file with \
         0a 0d 0d 0a",
        hex.join(" ")
    )
}

/// Reads a capture incrementally: an iterator of [`CaptureEvent`]s, one pcap record or pcapng
/// block at a time. After an `Err` (a file that is not a capture, a truncated record, a
/// malformed length) the iterator ends.
///
/// Memory: the read buffer holds at most one record (plus one read chunk); the TCP reassembler
/// holds open connections and bytes waiting behind gaps (at most
/// [`ReaderOptions::max_tcp_pending`] per direction); closed connections are freed. See
/// [`CaptureReader::stats`].
pub struct CaptureReader<R> {
    src: R,
    /// Read bytes are `buf[..end]`; the rest is room for the next read (zeroed once, when the
    /// buffer grows, not before every read).
    buf: Vec<u8>,
    end: usize,
    /// Start of the unread part of `buf`.
    pos: usize,
    /// File offset of `buf[0]`.
    base: usize,
    eof: bool,
    format: Format,
    options: ReaderOptions,
    frames: u64,
    tcp: TcpReassembler,
    out: Vec<CaptureEvent>,
    queue: VecDeque<CaptureEvent>,
    done: bool,
}

impl<R> std::fmt::Debug for CaptureReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureReader")
            .field("format", &self.format)
            .field("frames", &self.frames)
            .field("offset", &(self.base + self.pos))
            .finish_non_exhaustive()
    }
}

impl CaptureReader<BufReader<File>> {
    /// Opens a capture file and reads its header.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CaptureError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|source| CaptureError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        CaptureReader::new(BufReader::new(file)).map_err(|e| with_path(e, path))
    }
}

fn with_path(e: CaptureError, path: &Path) -> CaptureError {
    match e {
        CaptureError::Io { source, .. } => CaptureError::Io {
            path: path.to_path_buf(),
            source,
        },
        other => other,
    }
}

impl<R: Read> CaptureReader<R> {
    /// Reads the file header from `src` with default [`ReaderOptions`].
    pub fn new(src: R) -> Result<Self, CaptureError> {
        Self::with_options(src, ReaderOptions::default())
    }

    /// Reads the file header from `src`.
    pub fn with_options(src: R, options: ReaderOptions) -> Result<Self, CaptureError> {
        let mut r = CaptureReader {
            src,
            buf: Vec::new(),
            end: 0,
            pos: 0,
            base: 0,
            eof: false,
            format: Format::Pcap {
                big: false,
                nanos: false,
                link: LinkType::Ethernet,
            },
            options,
            frames: 0,
            tcp: TcpReassembler::with_max_pending(options.max_tcp_pending),
            out: Vec::new(),
            queue: VecDeque::new(),
            done: false,
        };
        r.fill(PCAP_HEADER)?;
        let head = r.avail().to_vec();
        if head.is_empty() {
            return Err(CaptureError::NotACapture("the file is empty".into()));
        }
        if head.len() >= 4 && u32_at(&head, 0, false) == PCAPNG_SHB {
            // The section header block is read like any other block.
            r.format = Format::PcapNg {
                big: false,
                interfaces: Vec::new(),
            };
            return Ok(r);
        }
        let magic_le = u32_at(&head, 0, false);
        let magic_be = u32_at(&head, 0, true);
        let (big, nanos) = match (magic_le, magic_be) {
            (PCAP_MICRO, _) if head.len() >= 4 => (false, false),
            (PCAP_NANO, _) if head.len() >= 4 => (false, true),
            (_, PCAP_MICRO) if head.len() >= 4 => (true, false),
            (_, PCAP_NANO) if head.len() >= 4 => (true, true),
            _ => return Err(CaptureError::NotACapture(describe_start(&head))),
        };
        if head.len() < PCAP_HEADER {
            return Err(CaptureError::NotACapture(format!(
                "{} bytes: a pcap magic number, but shorter than the {PCAP_HEADER}-byte pcap \
                 header",
                head.len()
            )));
        }
        // The link type is the low 16 bits; the upper bits may carry FCS information.
        let raw_link = u32_at(&head, 20, big) & 0xFFFF;
        let link = LinkType::from_number(raw_link)
            .ok_or(CaptureError::UnsupportedLinkType { link: raw_link })?;
        r.format = Format::Pcap { big, nanos, link };
        r.pos = PCAP_HEADER;
        Ok(r)
    }

    /// How many packets have been read.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// What the reader holds right now.
    pub fn stats(&self) -> ReaderStats {
        ReaderStats {
            frames: self.frames,
            open_connections: self.tcp.open_connections(),
            tcp_buffered_bytes: self.tcp.buffered_bytes(),
            read_buffer_bytes: self.buf.len(),
        }
    }

    fn avail(&self) -> &[u8] {
        self.buf.get(self.pos..self.end).unwrap_or_default()
    }

    fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Makes at least `need` unread bytes available, unless the input ends first.
    fn fill(&mut self, need: usize) -> Result<(), CaptureError> {
        if self.avail().len() >= need {
            return Ok(());
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.base += self.pos;
            self.pos = 0;
        }
        while self.end < need && !self.eof {
            let want = (need - self.end).max(READ_CHUNK);
            if self.buf.len() < self.end + want {
                self.buf.resize(self.end + want, 0);
            }
            let got = loop {
                // At most `want` bytes: a buffer grown for a large record is not filled whole
                // (it could not be given back while full).
                match self.src.read(&mut self.buf[self.end..self.end + want]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(source) => {
                        return Err(CaptureError::Io {
                            path: "<capture input>".into(),
                            source,
                        });
                    }
                }
            };
            self.end += got;
            if got == 0 {
                self.eof = true;
            }
        }
        // A large record grew the buffer: give the room back once it is read.
        let keep = 2 * need.max(READ_CHUNK);
        if self.buf.len() > 2 * keep && self.end <= keep {
            self.buf.truncate(keep);
            self.buf.shrink_to_fit();
        }
        Ok(())
    }

    fn truncated(&self) -> CaptureError {
        CaptureError::Truncated {
            frame: self.frames + 1,
            offset: self.offset(),
            remaining: self.avail().len(),
        }
    }

    fn format_error(&self, problem: String) -> CaptureError {
        CaptureError::Format {
            frame: self.frames + 1,
            offset: self.offset(),
            problem,
        }
    }

    /// Reads the next record; `Ok(false)` at a clean end of file.
    fn next_record(&mut self) -> Result<bool, CaptureError> {
        match self.format {
            Format::Pcap { big, nanos, link } => self.next_pcap(big, nanos, link),
            Format::PcapNg { .. } => self.next_block(),
        }
    }

    fn next_pcap(&mut self, big: bool, nanos: bool, link: LinkType) -> Result<bool, CaptureError> {
        self.fill(PCAP_RECORD_HEADER)?;
        let head = self.avail();
        if head.is_empty() {
            return Ok(false);
        }
        if head.len() < PCAP_RECORD_HEADER {
            return Err(self.truncated());
        }
        let secs = u32_at(head, 0, big);
        let frac = u32_at(head, 4, big);
        let incl = u32_at(head, 8, big) as usize;
        if incl > self.options.max_record {
            return Err(self.format_error(format!(
                "captured length {incl} exceeds the {}-byte limit of one record",
                self.options.max_record
            )));
        }
        self.fill(PCAP_RECORD_HEADER + incl)?;
        if self.avail().len() < PCAP_RECORD_HEADER + incl {
            return Err(self.truncated());
        }
        let frac_ns = if nanos {
            u64::from(frac)
        } else {
            u64::from(frac) * 1000
        };
        let ts = Duration::from_secs(u64::from(secs)) + Duration::from_nanos(frac_ns);
        let start = self.pos + PCAP_RECORD_HEADER;
        self.pos = start + incl;
        // The frame is read in place: the buffer is lent out while the frame is parsed.
        let buf = std::mem::take(&mut self.buf);
        self.packet(Some(link), 1, ts, &buf[start..start + incl]);
        self.buf = buf;
        Ok(true)
    }

    fn next_block(&mut self) -> Result<bool, CaptureError> {
        self.fill(12)?;
        let head = self.avail();
        if head.is_empty() {
            return Ok(false);
        }
        if head.len() < 12 {
            return Err(self.truncated());
        }
        let Format::PcapNg { big, .. } = self.format else {
            return Ok(false);
        };
        let raw_type = u32_at(head, 0, false);
        let mut big = big;
        if raw_type == PCAPNG_SHB {
            // A section header block sets the byte order of its section.
            big = match (u32_at(head, 8, false), u32_at(head, 8, true)) {
                (PCAPNG_BYTE_ORDER, _) => false,
                (_, PCAPNG_BYTE_ORDER) => true,
                _ => {
                    return Err(self.format_error(format!(
                        "pcapng section header with byte-order magic {:08x}, expected 1a2b3c4d",
                        u32_at(head, 8, false)
                    )))
                }
            };
        }
        let block_type = u32_at(head, 0, big);
        let len = u32_at(head, 4, big) as usize;
        if len < 12 || len % 4 != 0 || len > self.options.max_record {
            return Err(self.format_error(format!(
                "pcapng block of type {block_type:#x} has length {len} (must be a multiple of 4, \
                 at least 12 and at most {})",
                self.options.max_record
            )));
        }
        self.fill(len)?;
        if self.avail().len() < len {
            return Err(self.truncated());
        }
        let block = self.buf[self.pos..self.pos + len].to_vec();
        if u32_at(&block, len - 4, big) as usize != len {
            return Err(self.format_error(format!(
                "pcapng block of type {block_type:#x}: trailing length {} differs from leading \
                 length {len}",
                u32_at(&block, len - 4, big)
            )));
        }
        let body = &block[8..len - 4];
        let result = self.block(block_type, big, body);
        if result.is_ok() {
            self.pos += len;
        }
        result.map(|()| true)
    }

    fn block(&mut self, block_type: u32, big: bool, body: &[u8]) -> Result<(), CaptureError> {
        match block_type {
            PCAPNG_SHB => {
                self.format = Format::PcapNg {
                    big,
                    interfaces: Vec::new(),
                };
            }
            // Interface description.
            1 => {
                if body.len() < 8 {
                    return Err(self.format_error(format!(
                        "pcapng interface description block body of {} bytes, shorter than 8",
                        body.len()
                    )));
                }
                let raw_link = u32::from(u16_at(body, 0, big));
                let mut iface = Interface {
                    link: LinkType::from_number(raw_link),
                    raw_link,
                    tsresol: 6,
                    tsoffset: 0,
                };
                for (code, value) in options(&body[8..], big) {
                    match (code, value.len()) {
                        (9, 1) => iface.tsresol = value[0],
                        (14, 8) => iface.tsoffset = u64_value(value, big) as i64,
                        _ => {}
                    }
                }
                if let Format::PcapNg { interfaces, .. } = &mut self.format {
                    interfaces.push(iface);
                }
            }
            // Enhanced packet block, and the obsolete packet block.
            6 | 2 => {
                if body.len() < 20 {
                    return Err(self.format_error(format!(
                        "pcapng packet block body of {} bytes, shorter than 20",
                        body.len()
                    )));
                }
                let iface_id = if block_type == 6 {
                    u32_at(body, 0, big)
                } else {
                    u32::from(u16_at(body, 0, big))
                };
                let ts_raw =
                    (u64::from(u32_at(body, 4, big)) << 32) | u64::from(u32_at(body, 8, big));
                let cap_len = u32_at(body, 12, big) as usize;
                if cap_len > body.len() - 20 {
                    return Err(self.format_error(format!(
                        "pcapng packet block: captured length {cap_len} exceeds the block's {} \
                         data bytes",
                        body.len() - 20
                    )));
                }
                let iface = self.interface(iface_id)?;
                let ts = scale_timestamp(ts_raw, iface.tsresol);
                let ts = if iface.tsoffset >= 0 {
                    ts.saturating_add(Duration::from_secs(iface.tsoffset as u64))
                } else {
                    ts.saturating_sub(Duration::from_secs(iface.tsoffset.unsigned_abs()))
                };
                let data = body[20..20 + cap_len].to_vec();
                self.packet(iface.link, iface.raw_link, ts, &data);
            }
            // Simple packet block: interface 0, no timestamp.
            3 => {
                if body.len() < 4 {
                    return Err(
                        self.format_error("pcapng simple packet block without a body".into())
                    );
                }
                let orig = u32_at(body, 0, big) as usize;
                let data = body[4..]
                    .get(..orig.min(body.len() - 4))
                    .unwrap_or_default()
                    .to_vec();
                let iface = self.interface(0)?;
                self.packet(iface.link, iface.raw_link, Duration::ZERO, &data);
            }
            // Name resolution, statistics, custom and other blocks carry no packets.
            _ => {}
        }
        Ok(())
    }

    fn interface(&self, id: u32) -> Result<Interface, CaptureError> {
        let Format::PcapNg { interfaces, .. } = &self.format else {
            return Err(self.format_error("packet block outside a pcapng section".into()));
        };
        interfaces.get(id as usize).copied().ok_or_else(|| {
            self.format_error(format!(
                "packet of interface {id}, but the section describes {} interface(s)",
                interfaces.len()
            ))
        })
    }

    /// One packet: parsed, reassembled, its events queued.
    fn packet(&mut self, link: Option<LinkType>, raw_link: u32, ts: Duration, data: &[u8]) {
        self.frames += 1;
        let n = self.frames;
        let Some(link) = link else {
            self.queue.push_back(CaptureEvent::Problem(FrameProblem {
                frame: n,
                problem: format!("link type {raw_link} is not supported"),
            }));
            return;
        };
        let time = UNIX_EPOCH + ts;
        match parse_frame(link, data) {
            Ok(Frame::Udp { src, dst, payload }) => {
                self.queue.push_back(CaptureEvent::Wire(WireEvent {
                    time,
                    transport: Transport::Udp,
                    src,
                    dst,
                    kind: WireEventKind::Data(payload),
                }))
            }
            Ok(Frame::Tcp(seg)) => {
                self.tcp.push_events(n, time, &seg, &mut self.out);
                for ev in self.out.drain(..) {
                    self.queue.push_back(ev);
                }
            }
            Ok(Frame::Other) => {}
            Err(problem) => self
                .queue
                .push_back(CaptureEvent::Problem(FrameProblem { frame: n, problem })),
        }
    }
}

impl<R: Read> Iterator for CaptureReader<R> {
    type Item = Result<CaptureEvent, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(ev) = self.queue.pop_front() {
                return Some(Ok(ev));
            }
            if self.done {
                return None;
            }
            match self.next_record() {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    self.tcp.finish_events(&mut self.out);
                    for ev in self.out.drain(..) {
                        self.queue.push_back(ev);
                    }
                }
                Err(e) => {
                    self.done = true;
                    self.queue.clear();
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Options of a pcapng block: `(code, value)` until opt_endofopt or the end of the bytes.
fn options(mut data: &[u8], big: bool) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while data.len() >= 4 {
        let code = u16_at(data, 0, big);
        let len = usize::from(u16_at(data, 2, big));
        if code == 0 {
            break;
        }
        let Some(value) = data.get(4..4 + len) else {
            break;
        };
        out.push((code, value));
        let padded = 4 + len.div_ceil(4) * 4;
        data = data.get(padded..).unwrap_or_default();
    }
    out
}

fn u64_value(v: &[u8], big: bool) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&v[..8]);
    if big {
        u64::from_be_bytes(b)
    } else {
        u64::from_le_bytes(b)
    }
}

/// A pcapng timestamp count in real time: its unit is the interface's if_tsresol (default
/// 10^-6 s; high bit set: a negative power of two).
fn scale_timestamp(count: u64, tsresol: u8) -> Duration {
    let count = u128::from(count);
    let nanos: u128 = if tsresol & 0x80 == 0 {
        let exp = u32::from(tsresol);
        if exp <= 9 {
            count.saturating_mul(10u128.pow(9 - exp))
        } else {
            count / 10u128.pow((exp - 9).min(38))
        }
    } else {
        let exp = u32::from(tsresol & 0x7f).min(127);
        (count.saturating_mul(1_000_000_000)) >> exp
    };
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// Reads a pcap or pcapng file.
pub fn read_capture(path: impl AsRef<Path>) -> Result<Capture, CaptureError> {
    let path = path.as_ref();
    collect(CaptureReader::open(path)?).map_err(|e| with_path(e, path))
}

/// Reads a pcap or pcapng file held in memory.
pub fn read_capture_bytes(data: &[u8]) -> Result<Capture, CaptureError> {
    collect(CaptureReader::new(data)?)
}

fn collect<R: Read>(mut reader: CaptureReader<R>) -> Result<Capture, CaptureError> {
    let mut capture = Capture::default();
    for item in reader.by_ref() {
        match item? {
            CaptureEvent::Wire(ev) => capture.events.push(ev),
            CaptureEvent::Problem(p) => capture.problems.push(p),
            // The problem that follows describes it; a Capture's events have no gap marker.
            CaptureEvent::Gap(_) => {}
        }
    }
    capture.problems.sort_by_key(|p| p.frame);
    capture.frames = reader.frames();
    Ok(capture)
}
