//! The decoded trace: wire events (live from the tap, or read from a capture) decoded per flow
//! into SIP and MSRP messages in capture order, with every undecodable byte kept and explained.

use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;
use std::time::SystemTime;

use cpmconf_codec::{msrp, sip, DecodeError, Decoded, Limits, Status};

use crate::error::{CaptureError, FrameProblem};
use crate::pcap_reader::{Capture, CaptureEvent, CaptureReader, TcpGap};
use crate::tap::{Transport, WireEvent, WireEventKind};

/// What one trace entry holds.
#[derive(Debug, Clone, PartialEq)]
pub enum TraceFrame {
    /// A SIP request or response.
    Sip(Decoded<sip::Message>),
    /// An MSRP frame (request chunk or response).
    Msrp(Decoded<msrp::Message>),
    /// Bytes that could not be decoded: a datagram, or a stream from the failing message on
    /// (later bytes of the same stream are appended). `error.offset` is the absolute offset in
    /// the datagram or in the direction's TCP byte stream.
    Undecodable {
        /// The bytes kept.
        bytes: Vec<u8>,
        /// Why they could not be decoded.
        error: DecodeError,
    },
}

/// One decoded message with when, how and between whom it travelled.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceEntry {
    /// Position in the trace, from 0.
    pub index: usize,
    /// When the message's last byte was seen.
    pub time: SystemTime,
    /// UDP or TCP.
    pub transport: Transport,
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// The message.
    pub frame: TraceFrame,
}

impl TraceEntry {
    /// The SIP message, if this entry is one.
    pub fn sip(&self) -> Option<&sip::Message> {
        match &self.frame {
            TraceFrame::Sip(d) => Some(&d.value),
            _ => None,
        }
    }

    /// The MSRP frame, if this entry is one.
    pub fn msrp(&self) -> Option<&msrp::Message> {
        match &self.frame {
            TraceFrame::Msrp(d) => Some(&d.value),
            _ => None,
        }
    }
}

/// Every message of a run or a capture, in capture order (by the time the message's last byte
/// arrived). Built the same way from live events and from a capture file, so one matcher serves
/// both.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    /// The messages.
    pub entries: Vec<TraceEntry>,
    /// Time of the first event (the origin of the wire log's time offsets).
    pub start: Option<SystemTime>,
    /// Frames of a capture file that could not be decoded, and TCP gaps (empty for live traces).
    pub problems: Vec<FrameProblem>,
    /// Where a side closed a TCP connection (a FIN), in order.
    pub ends: Vec<StreamEnd>,
}

/// `src` closed its side of the TCP connection to `dst` (a FIN, or the tap's close event),
/// after the first `after` entries of the trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamEnd {
    /// When.
    pub time: SystemTime,
    /// The side that closed.
    pub src: SocketAddr,
    /// The other side.
    pub dst: SocketAddr,
    /// How many entries of the trace came before it.
    pub after: usize,
}

/// Rule id for bytes left in a stream when its connection closed or the capture ended.
pub const RULE_STREAM_END: &str = "capture/stream-end";

/// Rule id for bytes cut off by a TCP gap the capture never filled: the unfinished message
/// before the gap, and the bytes after it up to the next message start.
pub const RULE_TCP_GAP: &str = "capture/tcp-gap";

/// Bytes after a gap searched for a message start before they are given up as undecodable.
const RESYNC_LIMIT: usize = 64 * 1024;

/// How a direction's byte stream is being decoded.
enum StreamState {
    /// Too few bytes yet to tell SIP from MSRP.
    Undecided { buf: Vec<u8> },
    /// SIP framed by Content-Length; `buf` starts at stream offset `base`.
    Sip { buf: Vec<u8>, base: usize },
    /// MSRP; `tail` mirrors the decoder's undecoded bytes from stream offset `tail_base`.
    Msrp {
        decoder: Box<msrp::Decoder>,
        tail: Vec<u8>,
        tail_base: usize,
    },
    /// Decoding failed; later bytes go to the Undecodable entry at `entry`.
    Failed { entry: usize },
}

impl StreamState {
    fn buffered(&self) -> usize {
        match self {
            StreamState::Undecided { buf } | StreamState::Sip { buf, .. } => buf.len(),
            StreamState::Msrp { tail, .. } => 2 * tail.len(),
            StreamState::Failed { .. } => 0,
        }
    }
}

struct Stream {
    transport: Transport,
    /// Stream offset of the first byte this state machine saw (non-zero after a TCP gap).
    origin: usize,
    /// After a gap: bytes are skipped up to the next line that starts a SIP or MSRP message.
    resync: bool,
    state: StreamState,
}

/// Incremental trace builder: feed wire events (and TCP gaps) in order, take the entries each
/// one completes. [`Trace::from_events`] and [`crate::TraceStream`] are built on it.
///
/// An entry is complete when it comes out, with one exception kept for whole traces only: in a
/// builder made by [`TraceBuilder::retaining`], the bytes a stream sends after its first
/// undecodable message are appended to that Undecodable entry (which therefore stays in the
/// builder). A streaming builder ([`TraceBuilder::new`]) hands every entry out as soon as it is
/// made and only counts such later bytes ([`TraceBuilder::dropped_bytes`]), so its memory is
/// bounded by the open streams' unfinished messages.
pub struct TraceBuilder {
    limits: Limits,
    retain: bool,
    /// Entries made and not yet taken; `entries[0]` has index `first_index`.
    entries: Vec<TraceEntry>,
    first_index: usize,
    start: Option<SystemTime>,
    last_time: Option<SystemTime>,
    streams: crate::FastMap<(SocketAddr, SocketAddr), Stream>,
    /// Stream keys in first-seen order, so end-of-trace flushing is deterministic.
    order: Vec<(SocketAddr, SocketAddr)>,
    /// Where the next stream of a direction starts, after a gap.
    resume: crate::FastMap<(SocketAddr, SocketAddr), usize>,
    dropped: u64,
    /// TCP closes seen and not yet taken ([`TraceBuilder::take_ends`]; a retaining builder
    /// keeps them for its trace).
    ends: Vec<StreamEnd>,
}

impl std::fmt::Debug for TraceBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceBuilder")
            .field("retain", &self.retain)
            .field("open_streams", &self.streams.len())
            .field("next_index", &self.next_index())
            .finish_non_exhaustive()
    }
}

impl Default for TraceBuilder {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

const MSRP_PREFIX: &[u8] = b"MSRP ";

fn is_line_end(b: &u8) -> bool {
    *b == b'\r' || *b == b'\n'
}

/// SIP methods recognised when resynchronising after a gap (any other all-capitals token is
/// accepted too).
const METHODS: &[&[u8]] = &[
    b"INVITE",
    b"ACK",
    b"BYE",
    b"CANCEL",
    b"OPTIONS",
    b"REGISTER",
    b"MESSAGE",
    b"INFO",
    b"UPDATE",
    b"PRACK",
    b"SUBSCRIBE",
    b"NOTIFY",
    b"REFER",
    b"PUBLISH",
];

fn find_all<'a>(buf: &'a [u8], pat: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    buf.windows(pat.len())
        .enumerate()
        .filter(move |(_, w)| *w == pat)
        .map(|(i, _)| i)
}

/// Where the first SIP start line (request or status line) or MSRP start line in `buf`
/// begins. Messages need not start on a line of their own: a body without a final CRLF runs
/// straight into the next message's start line.
fn message_start(buf: &[u8]) -> Option<usize> {
    let mut best: Option<usize> = None;
    let mut consider = |p: usize| best = Some(best.map_or(p, |b: usize| b.min(p)));
    if let Some(p) = find_all(buf, MSRP_PREFIX).next() {
        consider(p);
    }
    // Status line: "SIP/2.0 " and a three-digit code.
    if let Some(p) = find_all(buf, b"SIP/2.0 ").find(|&p| {
        buf.get(p + 8..p + 12)
            .is_some_and(|c| c[..3].iter().all(u8::is_ascii_digit) && c[3] == b' ')
    }) {
        consider(p);
    }
    // Request line: "METHOD SP Request-URI SP SIP/2.0 CRLF".
    for end in find_all(buf, b" SIP/2.0\r\n") {
        let line_start = buf[..end]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |n| n + 1);
        let line = &buf[line_start..end];
        let Some(sp) = line.iter().rposition(|&b| b == b' ') else {
            continue;
        };
        let head = &line[..sp];
        let method = METHODS
            .iter()
            .find(|m| head.ends_with(m))
            .map(|m| m.len())
            .unwrap_or_else(|| {
                head.iter()
                    .rev()
                    .take_while(|b| b.is_ascii_uppercase())
                    .count()
            });
        if method > 0 {
            consider(line_start + sp - method);
            break;
        }
    }
    best
}

impl TraceBuilder {
    /// A streaming builder: entries are handed out by [`TraceBuilder::take`] as they complete.
    pub fn new(limits: Limits) -> Self {
        TraceBuilder {
            limits,
            retain: false,
            entries: Vec::new(),
            first_index: 0,
            start: None,
            last_time: None,
            streams: Default::default(),
            order: Vec::new(),
            resume: Default::default(),
            dropped: 0,
            ends: Vec::new(),
        }
    }

    /// A builder for a whole [`Trace`]: later bytes of a failed stream are appended to its
    /// Undecodable entry, so entries must not be taken before the end.
    pub fn retaining(limits: Limits) -> Self {
        TraceBuilder {
            retain: true,
            ..Self::new(limits)
        }
    }

    /// The entries completed since the last call, in index order.
    pub fn take(&mut self) -> std::vec::Drain<'_, TraceEntry> {
        self.first_index += self.entries.len();
        self.entries.drain(..)
    }

    /// The TCP closes seen since the last call, in order (each after the entries
    /// [`TraceBuilder::take`] gave before it).
    pub fn take_ends(&mut self) -> std::vec::Drain<'_, StreamEnd> {
        self.ends.drain(..)
    }

    /// The index the next entry will get.
    pub fn next_index(&self) -> usize {
        self.first_index + self.entries.len()
    }

    /// Time of the first event.
    pub fn start(&self) -> Option<SystemTime> {
        self.start
    }

    /// TCP directions with decoding state.
    pub fn open_streams(&self) -> usize {
        self.streams.len()
    }

    /// Bytes of unfinished messages held for the open streams.
    pub fn buffered_bytes(&self) -> usize {
        self.streams.values().map(|s| s.state.buffered()).sum()
    }

    /// Bytes a streaming builder received after a stream's undecodable message and did not
    /// keep (a retaining builder appends them to the entry instead).
    pub fn dropped_bytes(&self) -> u64 {
        self.dropped
    }

    fn push_entry(
        &mut self,
        time: SystemTime,
        transport: Transport,
        src: SocketAddr,
        dst: SocketAddr,
        frame: TraceFrame,
    ) -> usize {
        let index = self.next_index();
        self.entries.push(TraceEntry {
            index,
            time,
            transport,
            src,
            dst,
            frame,
        });
        index
    }

    /// Handles one wire event.
    pub fn push(&mut self, ev: &WireEvent) {
        self.start.get_or_insert(ev.time);
        self.last_time = Some(ev.time);
        match (&ev.transport, &ev.kind) {
            (Transport::Udp, WireEventKind::Data(bytes)) => self.datagram(ev, bytes),
            (Transport::Udp, _) => {}
            (Transport::Tcp, WireEventKind::TcpOpen) => {
                // A new connection on the same address pair starts fresh streams.
                self.close(ev.time, ev.src, ev.dst);
                self.close(ev.time, ev.dst, ev.src);
                self.resume.remove(&(ev.src, ev.dst));
                self.resume.remove(&(ev.dst, ev.src));
            }
            (Transport::Tcp, WireEventKind::Data(bytes)) => self.stream_data(ev, bytes),
            (Transport::Tcp, WireEventKind::TcpClose) => {
                self.close(ev.time, ev.src, ev.dst);
                self.resume.remove(&(ev.src, ev.dst));
                self.ends.push(StreamEnd {
                    time: ev.time,
                    src: ev.src,
                    dst: ev.dst,
                    after: self.next_index(),
                });
            }
        }
    }

    /// Handles a TCP gap that will never fill: the unfinished message before it becomes an
    /// Undecodable entry ([`RULE_TCP_GAP`]), and decoding resumes at the next line after the gap
    /// that starts a SIP or MSRP message.
    pub fn gap(&mut self, gap: &TcpGap) {
        self.start.get_or_insert(gap.time);
        self.last_time = Some(gap.time);
        self.end_stream(gap.time, gap.src, gap.dst, RULE_TCP_GAP);
        let resume = usize::try_from(gap.offset.saturating_add(gap.missing)).unwrap_or(usize::MAX);
        self.resume.insert((gap.src, gap.dst), resume);
    }

    fn datagram(&mut self, ev: &WireEvent, bytes: &[u8]) {
        // RFC 5626 3.5.1: CRLF keep-alives are not messages.
        if bytes.iter().all(is_line_end) {
            return;
        }
        let frame = match sip::Message::parse_with(bytes, &self.limits) {
            Ok(d) => TraceFrame::Sip(d),
            Err(error) => TraceFrame::Undecodable {
                bytes: bytes.to_vec(),
                error,
            },
        };
        self.push_entry(ev.time, ev.transport, ev.src, ev.dst, frame);
    }

    fn stream_data(&mut self, ev: &WireEvent, bytes: &[u8]) {
        let key = (ev.src, ev.dst);
        let mut stream = match self.streams.remove(&key) {
            Some(s) => s,
            None => {
                self.order.push(key);
                let origin = self.resume.remove(&key);
                Stream {
                    transport: ev.transport,
                    origin: origin.unwrap_or(0),
                    resync: origin.is_some(),
                    state: StreamState::Undecided { buf: Vec::new() },
                }
            }
        };
        let state = std::mem::replace(&mut stream.state, StreamState::Failed { entry: 0 });
        stream.state = self.feed(ev, &mut stream, state, bytes);
        self.streams.insert(key, stream);
    }

    /// Feeds bytes to a stream and emits every message they complete.
    fn feed(
        &mut self,
        ev: &WireEvent,
        stream: &mut Stream,
        state: StreamState,
        bytes: &[u8],
    ) -> StreamState {
        let origin = stream.origin;
        match state {
            StreamState::Undecided { mut buf } => {
                buf.extend_from_slice(bytes);
                if stream.resync {
                    let skip = match message_start(&buf) {
                        Some(p) => {
                            stream.resync = false;
                            p
                        }
                        // Keep a tail that may hold the beginning of a start line.
                        None if buf.len() > RESYNC_LIMIT => buf.len() - 1024,
                        None => return StreamState::Undecided { buf },
                    };
                    if skip > 0 {
                        let skipped: Vec<u8> = buf.drain(..skip).collect();
                        let error = DecodeError::new(
                            origin,
                            RULE_TCP_GAP,
                            "the start of a SIP or MSRP message after bytes the capture missed",
                        );
                        self.push_entry(
                            ev.time,
                            ev.transport,
                            ev.src,
                            ev.dst,
                            TraceFrame::Undecodable {
                                bytes: skipped,
                                error,
                            },
                        );
                        stream.origin += skip;
                    }
                    if stream.resync {
                        return StreamState::Undecided { buf };
                    }
                }
                let start = buf.iter().position(|b| !is_line_end(b));
                let Some(start) = start else {
                    return StreamState::Undecided { buf };
                };
                let rest = buf.get(start..).unwrap_or_default();
                let n = rest.len().min(MSRP_PREFIX.len());
                if rest.len() < MSRP_PREFIX.len() && rest.get(..n) == MSRP_PREFIX.get(..n) {
                    return StreamState::Undecided { buf };
                }
                let fresh = if rest.starts_with(MSRP_PREFIX) {
                    StreamState::Msrp {
                        decoder: Box::new(msrp::Decoder::new(self.limits)),
                        tail: Vec::new(),
                        tail_base: 0,
                    }
                } else {
                    StreamState::Sip {
                        buf: Vec::new(),
                        base: 0,
                    }
                };
                self.feed(ev, stream, fresh, &buf)
            }
            StreamState::Sip { mut buf, mut base } => {
                buf.extend_from_slice(bytes);
                loop {
                    match sip::Message::decode_stream(&buf, &self.limits) {
                        Ok(Status::Partial) => return StreamState::Sip { buf, base },
                        Ok(Status::Complete {
                            mut value,
                            consumed,
                        }) => {
                            for f in &mut value.findings {
                                f.offset += origin + base;
                            }
                            self.push_entry(
                                ev.time,
                                ev.transport,
                                ev.src,
                                ev.dst,
                                TraceFrame::Sip(value),
                            );
                            let consumed = consumed.min(buf.len()).max(1);
                            buf.drain(..consumed);
                            base += consumed;
                            if buf.is_empty() {
                                return StreamState::Sip { buf, base };
                            }
                        }
                        Err(error) => {
                            let error = error.shifted(origin + base);
                            let entry = self.push_entry(
                                ev.time,
                                ev.transport,
                                ev.src,
                                ev.dst,
                                TraceFrame::Undecodable { bytes: buf, error },
                            );
                            return StreamState::Failed { entry };
                        }
                    }
                }
            }
            StreamState::Msrp {
                mut decoder,
                mut tail,
                mut tail_base,
            } => {
                decoder.push(bytes);
                tail.extend_from_slice(bytes);
                loop {
                    match decoder.next() {
                        Ok(None) => {
                            return StreamState::Msrp {
                                decoder,
                                tail,
                                tail_base,
                            }
                        }
                        Ok(Some(mut value)) => {
                            for f in &mut value.findings {
                                f.offset += origin;
                            }
                            self.push_entry(
                                ev.time,
                                ev.transport,
                                ev.src,
                                ev.dst,
                                TraceFrame::Msrp(value),
                            );
                            let done = decoder.offset().saturating_sub(tail_base).min(tail.len());
                            tail.drain(..done);
                            tail_base += done;
                        }
                        Err(error) => {
                            let entry = self.push_entry(
                                ev.time,
                                ev.transport,
                                ev.src,
                                ev.dst,
                                TraceFrame::Undecodable {
                                    bytes: tail,
                                    error: error.shifted(origin),
                                },
                            );
                            return StreamState::Failed { entry };
                        }
                    }
                }
            }
            StreamState::Failed { entry } => {
                let kept = if self.retain {
                    entry
                        .checked_sub(self.first_index)
                        .and_then(|i| self.entries.get_mut(i))
                        .and_then(|e| match &mut e.frame {
                            TraceFrame::Undecodable { bytes: kept, .. } => Some(kept),
                            _ => None,
                        })
                } else {
                    None
                };
                match kept {
                    Some(kept) => kept.extend_from_slice(bytes),
                    None => self.dropped += bytes.len() as u64,
                }
                StreamState::Failed { entry }
            }
        }
    }

    /// Ends the stream `src -> dst`: bytes of an unfinished message become an Undecodable entry.
    fn close(&mut self, time: SystemTime, src: SocketAddr, dst: SocketAddr) {
        self.end_stream(time, src, dst, RULE_STREAM_END);
    }

    fn end_stream(
        &mut self,
        time: SystemTime,
        src: SocketAddr,
        dst: SocketAddr,
        rule: &'static str,
    ) {
        let Some(stream) = self.streams.remove(&(src, dst)) else {
            return;
        };
        self.order.retain(|k| *k != (src, dst));
        let origin = stream.origin;
        let (bytes, offset) = match stream.state {
            StreamState::Undecided { buf } => {
                let len = buf.len();
                (buf, len)
            }
            StreamState::Sip { buf, base } => {
                let end = base + buf.len();
                (buf, end)
            }
            StreamState::Msrp {
                tail, tail_base, ..
            } => {
                let end = tail_base + tail.len();
                (tail, end)
            }
            StreamState::Failed { .. } => return,
        };
        if bytes.iter().all(is_line_end) {
            return;
        }
        let expected = if rule == RULE_TCP_GAP {
            "the rest of the message, which the capture never saw (a TCP gap)"
        } else {
            "the rest of the message before the stream ended"
        };
        let error = DecodeError::new(origin + offset, rule, expected);
        self.push_entry(
            time,
            stream.transport,
            src,
            dst,
            TraceFrame::Undecodable { bytes, error },
        );
    }

    /// Ends every open stream (at the last event's time): unfinished messages become
    /// Undecodable entries ([`RULE_STREAM_END`]). The builder can then be taken from once more.
    pub fn finish(&mut self) {
        let keys = std::mem::take(&mut self.order);
        let end = self.last_time.unwrap_or(std::time::UNIX_EPOCH);
        for (src, dst) in keys {
            self.close(end, src, dst);
        }
        self.resume.clear();
    }

    /// Finishes and returns the whole trace (for a retaining builder: every entry).
    pub fn into_trace(mut self) -> Trace {
        self.finish();
        Trace {
            entries: self.entries,
            start: self.start,
            problems: Vec::new(),
            ends: self.ends,
        }
    }
}

impl Trace {
    /// Decodes wire events (as recorded by the tap or read from a capture) with default limits.
    ///
    /// UDP datagrams are SIP. Each direction of a TCP connection is MSRP when its first bytes
    /// (after any CRLF) are `MSRP `, else SIP. Bytes of a message still unfinished when its
    /// connection closes or the events end become an Undecodable entry
    /// ([`RULE_STREAM_END`]), so nothing is dropped silently.
    pub fn from_events(events: &[WireEvent]) -> Trace {
        Self::from_events_with(events, &Limits::default())
    }

    /// [`Trace::from_events`] with explicit limits.
    pub fn from_events_with(events: &[WireEvent], limits: &Limits) -> Trace {
        let mut b = TraceBuilder::retaining(*limits);
        for ev in events {
            b.push(ev);
        }
        b.into_trace()
    }

    /// Reads a pcap or pcapng file and decodes it; frames that could not be decoded are listed
    /// in [`Trace::problems`]. TCP gaps that never fill are resynchronised ([`RULE_TCP_GAP`]).
    /// For a capture too large to hold, use [`crate::TraceStream`].
    pub fn from_pcap(path: impl AsRef<Path>) -> Result<Trace, CaptureError> {
        Self::from_reader(CaptureReader::open(path)?, &Limits::default())
    }

    /// Reads a whole capture from `reader` (see [`Trace::from_pcap`]).
    pub fn from_reader<R: Read>(
        reader: CaptureReader<R>,
        limits: &Limits,
    ) -> Result<Trace, CaptureError> {
        let mut b = TraceBuilder::retaining(*limits);
        let mut problems = Vec::new();
        for item in reader {
            match item? {
                CaptureEvent::Wire(ev) => b.push(&ev),
                CaptureEvent::Gap(gap) => b.gap(&gap),
                CaptureEvent::Problem(p) => problems.push(p),
            }
        }
        let mut trace = b.into_trace();
        problems.sort_by_key(|p| p.frame);
        trace.problems = problems;
        Ok(trace)
    }

    /// Decodes a capture already read (see [`crate::read_capture_bytes`]); a [`Capture`] has no
    /// gap markers, so bytes across a TCP gap are decoded as if contiguous (prefer
    /// [`Trace::from_pcap`]).
    pub fn from_capture(capture: Capture) -> Trace {
        let mut trace = Trace::from_events(&capture.events);
        trace.problems = capture.problems;
        trace
    }

    /// The SIP messages, in order.
    pub fn sip_messages(&self) -> impl Iterator<Item = (&TraceEntry, &sip::Message)> {
        self.entries.iter().filter_map(|e| e.sip().map(|m| (e, m)))
    }

    /// The MSRP frames, in order.
    pub fn msrp_messages(&self) -> impl Iterator<Item = (&TraceEntry, &msrp::Message)> {
        self.entries.iter().filter_map(|e| e.msrp().map(|m| (e, m)))
    }

    /// The undecodable entries, in order.
    pub fn undecodable(&self) -> impl Iterator<Item = &TraceEntry> {
        self.entries
            .iter()
            .filter(|e| matches!(e.frame, TraceFrame::Undecodable { .. }))
    }
}
