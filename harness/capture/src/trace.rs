//! The decoded trace: wire events (live from the tap, or read from a capture) decoded per flow
//! into SIP and MSRP messages in capture order, with every undecodable byte kept and explained.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::SystemTime;

use cpmconf_codec::{msrp, sip, DecodeError, Decoded, Limits, Status};

use crate::error::{CaptureError, FrameProblem};
use crate::pcap_reader::{read_capture, Capture};
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
}

/// Rule id for bytes left in a stream when its connection closed or the capture ended.
pub const RULE_STREAM_END: &str = "capture/stream-end";

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

struct Stream {
    transport: Transport,
    state: StreamState,
}

/// Incremental trace builder: feed events, take the trace.
struct Builder {
    limits: Limits,
    trace: Trace,
    streams: HashMap<(SocketAddr, SocketAddr), Stream>,
    /// Stream keys in first-seen order, so end-of-trace flushing is deterministic.
    order: Vec<(SocketAddr, SocketAddr)>,
}

const MSRP_PREFIX: &[u8] = b"MSRP ";

fn is_line_end(b: &u8) -> bool {
    *b == b'\r' || *b == b'\n'
}

impl Builder {
    fn push_entry(
        &mut self,
        time: SystemTime,
        transport: Transport,
        src: SocketAddr,
        dst: SocketAddr,
        frame: TraceFrame,
    ) -> usize {
        let index = self.trace.entries.len();
        self.trace.entries.push(TraceEntry {
            index,
            time,
            transport,
            src,
            dst,
            frame,
        });
        index
    }

    fn event(&mut self, ev: &WireEvent) {
        self.trace.start.get_or_insert(ev.time);
        match (&ev.transport, &ev.kind) {
            (Transport::Udp, WireEventKind::Data(bytes)) => self.datagram(ev, bytes),
            (Transport::Udp, _) => {}
            (Transport::Tcp, WireEventKind::TcpOpen) => {
                // A new connection on the same address pair starts fresh streams.
                self.close(ev.time, ev.src, ev.dst);
                self.close(ev.time, ev.dst, ev.src);
            }
            (Transport::Tcp, WireEventKind::Data(bytes)) => self.stream_data(ev, bytes),
            (Transport::Tcp, WireEventKind::TcpClose) => self.close(ev.time, ev.src, ev.dst),
        }
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
                Stream {
                    transport: ev.transport,
                    state: StreamState::Undecided { buf: Vec::new() },
                }
            }
        };
        stream.state = self.feed(ev, stream.state, bytes);
        self.streams.insert(key, stream);
    }

    /// Feeds bytes to a stream and emits every message they complete.
    fn feed(&mut self, ev: &WireEvent, state: StreamState, bytes: &[u8]) -> StreamState {
        match state {
            StreamState::Undecided { mut buf } => {
                buf.extend_from_slice(bytes);
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
                self.feed(ev, fresh, &buf)
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
                                f.offset += base;
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
                            let error = error.shifted(base);
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
                        Ok(Some(value)) => {
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
                                TraceFrame::Undecodable { bytes: tail, error },
                            );
                            return StreamState::Failed { entry };
                        }
                    }
                }
            }
            StreamState::Failed { entry } => {
                if let Some(TraceFrame::Undecodable { bytes: kept, .. }) =
                    self.trace.entries.get_mut(entry).map(|e| &mut e.frame)
                {
                    kept.extend_from_slice(bytes);
                }
                StreamState::Failed { entry }
            }
        }
    }

    /// Ends the stream `src -> dst`: bytes of an unfinished message become an Undecodable entry.
    fn close(&mut self, time: SystemTime, src: SocketAddr, dst: SocketAddr) {
        let Some(stream) = self.streams.remove(&(src, dst)) else {
            return;
        };
        self.order.retain(|k| *k != (src, dst));
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
        let error = DecodeError::new(
            offset,
            RULE_STREAM_END,
            "the rest of the message before the stream ended",
        );
        self.push_entry(
            time,
            stream.transport,
            src,
            dst,
            TraceFrame::Undecodable { bytes, error },
        );
    }

    fn finish(mut self, end: Option<SystemTime>) -> Trace {
        let keys = std::mem::take(&mut self.order);
        let end = end.unwrap_or(std::time::UNIX_EPOCH);
        for (src, dst) in keys {
            self.close(end, src, dst);
        }
        self.trace
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
        let mut b = Builder {
            limits: *limits,
            trace: Trace::default(),
            streams: HashMap::new(),
            order: Vec::new(),
        };
        for ev in events {
            b.event(ev);
        }
        b.finish(events.last().map(|e| e.time))
    }

    /// Reads a pcap or pcapng file and decodes it; frames that could not be decoded are listed
    /// in [`Trace::problems`].
    pub fn from_pcap(path: impl AsRef<Path>) -> Result<Trace, CaptureError> {
        Ok(Trace::from_capture(read_capture(path)?))
    }

    /// Decodes a capture already read (see [`crate::read_capture_bytes`]).
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
