//! TCP reassembly: captured segments (in capture order, possibly out of order, retransmitted or
//! overlapping) back to the in-order byte streams the tap records, as [`WireEvent`]s. Closed
//! connections are freed, and a gap that will never fill is declared, so memory stays bounded
//! by the open connections.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::SystemTime;

use crate::error::FrameProblem;
use crate::frame::TcpSegment;
use crate::pcap_reader::{CaptureEvent, TcpGap};
use crate::tap::{Transport, WireEvent, WireEventKind};

/// One direction of a connection.
#[derive(Debug)]
struct Direction {
    src: SocketAddr,
    /// The next expected absolute sequence number, once known (SYN, or first segment seen).
    next: Option<u32>,
    /// Bytes delivered so far (the stream offset of `next`).
    delivered: u64,
    /// Segments beyond a gap, by stream offset.
    pending: BTreeMap<u64, Vec<u8>>,
    /// Total bytes in `pending`.
    pending_bytes: usize,
    /// Stream offset of the FIN, once seen.
    fin_at: Option<u64>,
    closed: bool,
    isn: Option<u32>,
}

impl Direction {
    fn new(src: SocketAddr) -> Self {
        Direction {
            src,
            next: None,
            delivered: 0,
            pending: BTreeMap::new(),
            pending_bytes: 0,
            fin_at: None,
            closed: false,
            isn: None,
        }
    }
}

#[derive(Debug)]
struct Conn {
    dirs: [Direction; 2],
    dead: bool,
    last_frame: u64,
}

impl Conn {
    fn new(client: SocketAddr, server: SocketAddr) -> Self {
        Conn {
            dirs: [Direction::new(client), Direction::new(server)],
            dead: false,
            last_frame: 0,
        }
    }

    fn dir_index(&self, src: SocketAddr) -> usize {
        usize::from(self.dirs[0].src != src)
    }
}

fn conn_key(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// Turns TCP segments into TcpOpen / Data / TcpClose events per connection.
///
/// Feed segments with [`TcpReassembler::push`] in capture order, then call
/// [`TcpReassembler::finish`]; events come out in the order their bytes became available in
/// sequence, with the time of the frame that made them available.
///
/// A connection is forgotten once both directions have closed (or it was reset); its address
/// pair is remembered (the last [`TOMBSTONES`] of them) so that late retransmissions of its
/// FIN or data do not look like a new connection, while a new SYN on the same pair opens one.
/// A gap is declared permanent when the receiver acknowledges bytes after it, or when more
/// than `max_pending` bytes pile up behind it; decoding of that direction then resumes after
/// the gap ([`CaptureEvent::Gap`]).
#[derive(Debug)]
pub struct TcpReassembler {
    conns: crate::FastMap<(SocketAddr, SocketAddr), Conn>,
    closed: crate::FastSet<(SocketAddr, SocketAddr)>,
    closed_order: VecDeque<(SocketAddr, SocketAddr)>,
    problems: Vec<FrameProblem>,
    max_pending: usize,
}

/// How many closed connections' address pairs are remembered.
pub const TOMBSTONES: usize = 4096;

/// Default bytes one direction may hold behind a gap.
pub const DEFAULT_MAX_PENDING: usize = 4 << 20;

impl Default for TcpReassembler {
    fn default() -> Self {
        Self::with_max_pending(DEFAULT_MAX_PENDING)
    }
}

impl TcpReassembler {
    /// An empty reassembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty reassembler that holds at most `max_pending` bytes behind a gap per direction.
    pub fn with_max_pending(max_pending: usize) -> Self {
        TcpReassembler {
            conns: Default::default(),
            closed: Default::default(),
            closed_order: VecDeque::new(),
            problems: Vec::new(),
            max_pending: max_pending.max(1),
        }
    }

    /// Connections currently tracked (open or half closed).
    pub fn open_connections(&self) -> usize {
        self.conns.len()
    }

    /// Payload bytes currently held behind gaps.
    pub fn buffered_bytes(&self) -> usize {
        self.conns
            .values()
            .flat_map(|c| c.dirs.iter())
            .map(|d| d.pending_bytes)
            .sum()
    }

    /// Handles one segment captured at `time` in frame number `frame` (1-based); events that
    /// become available are appended to `out` (gaps are kept for [`TcpReassembler::finish`]).
    pub fn push(
        &mut self,
        frame: u64,
        time: SystemTime,
        seg: &TcpSegment,
        out: &mut Vec<WireEvent>,
    ) {
        let mut events = Vec::new();
        self.push_events(frame, time, seg, &mut events);
        for ev in events {
            match ev {
                CaptureEvent::Wire(w) => out.push(w),
                CaptureEvent::Problem(p) => self.problems.push(p),
                CaptureEvent::Gap(_) => {}
            }
        }
    }

    /// Handles one segment; wire events, permanent gaps and their problems are appended to
    /// `out` in the order they happen.
    pub fn push_events(
        &mut self,
        frame: u64,
        time: SystemTime,
        seg: &TcpSegment,
        out: &mut Vec<CaptureEvent>,
    ) {
        let key = conn_key(seg.src, seg.dst);
        let mut seq = seg.seq;
        if self.closed.contains(&key) {
            if !seg.syn {
                // A late retransmission on a connection already closed.
                return;
            }
            self.closed.remove(&key);
        }
        if seg.syn {
            let fresh = match self.conns.get(&key) {
                None => true,
                Some(c) => {
                    let i = c.dir_index(seg.src);
                    c.dead
                        || (c.dirs[0].closed && c.dirs[1].closed)
                        || c.dirs[i].isn.is_some_and(|isn| isn != seg.seq)
                }
            };
            if fresh {
                // The SYN without ACK comes from the connecting side; a lone SYN-ACK means
                // the capture missed the SYN and the peer connected.
                let (client, server) = if seg.ack {
                    (seg.dst, seg.src)
                } else {
                    (seg.src, seg.dst)
                };
                if let Some(old) = self.conns.remove(&key) {
                    self.retire(&old, out);
                }
                self.conns.insert(key, Conn::new(client, server));
                out.push(wire(time, client, server, WireEventKind::TcpOpen));
            }
            seq = seg.seq.wrapping_add(1);
            if let Some(c) = self.conns.get_mut(&key) {
                let i = c.dir_index(seg.src);
                let d = &mut c.dirs[i];
                if d.isn.is_none() {
                    d.isn = Some(seg.seq);
                    d.next = Some(seq);
                }
            }
        }
        let conn = match self.conns.entry(key) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                if seg.payload.is_empty() && !seg.fin {
                    // A bare ACK or RST of a connection never seen carries nothing.
                    return;
                }
                // Capture started mid-connection: the first sender is taken as the client.
                out.push(wire(time, seg.src, seg.dst, WireEventKind::TcpOpen));
                v.insert(Conn::new(seg.src, seg.dst))
            }
        };
        conn.last_frame = frame;
        let i = conn.dir_index(seg.src);
        let peer = conn.dirs[1 - i].src;
        if seg.rst {
            for d in conn.dirs.iter_mut() {
                if !d.closed {
                    d.closed = true;
                    let dst = if d.src == seg.src { seg.dst } else { seg.src };
                    out.push(wire(time, d.src, dst, WireEventKind::TcpClose));
                }
            }
            conn.dead = true;
            self.forget(key, out);
            return;
        }
        let max_pending = self.max_pending;
        // The peer acknowledging bytes after a gap in its own receive direction proves they
        // were sent and received, so the capture missed them for good.
        if seg.ack {
            let d = &mut conn.dirs[1 - i];
            if let (Some(next), Some((&first, _))) = (d.next, d.pending.first_key_value()) {
                let acked = i64::from(seg.ack_no.wrapping_sub(next) as i32);
                if acked > 0 && d.delivered + acked as u64 >= first {
                    let reason =
                        format!("the receiver acknowledged bytes after them in frame {frame}");
                    skip_gap(d, frame, time, seg.src, &reason, out);
                    drain(d, time, seg.src, out);
                }
            }
        }
        let d = &mut conn.dirs[i];
        if d.closed {
            self.settle(key, out);
            return;
        }
        let next = *d.next.get_or_insert(seq);
        // Signed distance of this segment from the next expected byte (RFC 793 sequence space).
        let dist = i64::from(seq.wrapping_sub(next) as i32);
        let len = seg.payload.len() as i64;
        let start = d.delivered as i64 + dist;
        if seg.fin {
            let fin_at = (start + len).max(0) as u64;
            d.fin_at.get_or_insert(fin_at);
        }
        if start + len > d.delivered as i64 {
            if start <= d.delivered as i64 {
                let skip = (d.delivered as i64 - start) as usize;
                let fresh = seg.payload.get(skip..).unwrap_or_default().to_vec();
                deliver(d, time, peer, fresh, out);
            } else {
                let key = start as u64;
                let old = d.pending.get(&key).map_or(0, Vec::len);
                if old < seg.payload.len() {
                    d.pending.insert(key, seg.payload.clone());
                    d.pending_bytes += seg.payload.len() - old;
                }
                if d.pending_bytes > max_pending {
                    let reason = format!(
                        "{} bytes after them exceed the {max_pending}-byte reassembly limit",
                        d.pending_bytes
                    );
                    skip_gap(d, frame, time, peer, &reason, out);
                }
            }
        }
        drain(d, time, peer, out);
        if d.fin_at.is_some_and(|f| f <= d.delivered) && !d.closed {
            d.closed = true;
            out.push(wire(time, d.src, peer, WireEventKind::TcpClose));
        }
        self.settle(key, out);
    }

    /// Recomputes the buffered total and forgets the connection once both sides closed.
    fn settle(&mut self, key: (SocketAddr, SocketAddr), out: &mut Vec<CaptureEvent>) {
        let done = self
            .conns
            .get(&key)
            .is_some_and(|c| c.dead || (c.dirs[0].closed && c.dirs[1].closed));
        if done {
            self.forget(key, out);
        }
    }

    fn forget(&mut self, key: (SocketAddr, SocketAddr), out: &mut Vec<CaptureEvent>) {
        if let Some(c) = self.conns.remove(&key) {
            self.retire(&c, out);
        }
        if self.closed.insert(key) {
            self.closed_order.push_back(key);
        }
        while self.closed_order.len() > TOMBSTONES {
            if let Some(old) = self.closed_order.pop_front() {
                self.closed.remove(&old);
            }
        }
    }

    /// Reports what a connection that is being dropped still held behind gaps.
    fn retire(&mut self, c: &Conn, out: &mut Vec<CaptureEvent>) {
        let mut problems = Vec::new();
        report_gaps(c, &mut problems);
        out.extend(problems.into_iter().map(CaptureEvent::Problem));
    }

    /// Ends reassembly: bytes stuck behind a gap that never filled are reported, not delivered.
    pub fn finish(mut self) -> Vec<FrameProblem> {
        let mut events = Vec::new();
        let mut problems = std::mem::take(&mut self.problems);
        self.finish_events(&mut events);
        problems.extend(events.into_iter().filter_map(|e| match e {
            CaptureEvent::Problem(p) => Some(p),
            _ => None,
        }));
        problems
    }

    /// [`TcpReassembler::finish`], appending the problems to `out`.
    pub fn finish_events(&mut self, out: &mut Vec<CaptureEvent>) {
        let mut conns: Vec<_> = self.conns.drain().map(|(_, c)| c).collect();
        conns.sort_by_key(|c| c.last_frame);
        for c in &conns {
            self.retire(c, out);
        }
    }
}

/// Declares the bytes before the first pending segment of `d` lost and moves past them.
fn skip_gap(
    d: &mut Direction,
    frame: u64,
    time: SystemTime,
    dst: SocketAddr,
    reason: &str,
    out: &mut Vec<CaptureEvent>,
) {
    let Some((&first, _)) = d.pending.first_key_value() else {
        return;
    };
    if first <= d.delivered {
        return;
    }
    let missing = first - d.delivered;
    out.push(CaptureEvent::Gap(TcpGap {
        frame,
        time,
        src: d.src,
        dst,
        offset: d.delivered,
        missing,
    }));
    out.push(CaptureEvent::Problem(FrameProblem {
        frame,
        problem: format!(
            "TCP {} -> {}: {missing} bytes missing at stream offset {} were never captured ({}); \
             decoding resumes after them",
            d.src, dst, d.delivered, reason
        ),
    }));
    d.delivered = first;
    if let Some(n) = d.next.as_mut() {
        *n = n.wrapping_add(missing as u32);
    }
}

/// Delivers the pending segments that are now contiguous.
fn drain(d: &mut Direction, time: SystemTime, dst: SocketAddr, out: &mut Vec<CaptureEvent>) {
    while let Some((&off, _)) = d.pending.first_key_value() {
        if off > d.delivered {
            break;
        }
        let Some((off, bytes)) = d.pending.pop_first() else {
            break;
        };
        d.pending_bytes = d.pending_bytes.saturating_sub(bytes.len());
        let skip = (d.delivered - off) as usize;
        if let Some(rest) = bytes.get(skip..) {
            if !rest.is_empty() {
                deliver(d, time, dst, rest.to_vec(), out);
            }
        }
    }
}

fn report_gaps(c: &Conn, problems: &mut Vec<FrameProblem>) {
    for (i, d) in c.dirs.iter().enumerate() {
        if let Some((&off, _)) = d.pending.first_key_value() {
            let stuck: usize = d.pending.values().map(Vec::len).sum();
            problems.push(FrameProblem {
                frame: c.last_frame,
                problem: format!(
                    "TCP {} -> {}: {} bytes missing at stream offset {}; {} bytes after the gap \
                     could not be delivered",
                    d.src,
                    c.dirs[1 - i].src,
                    off - d.delivered,
                    d.delivered,
                    stuck
                ),
            });
        }
    }
}

fn deliver(
    d: &mut Direction,
    time: SystemTime,
    dst: SocketAddr,
    bytes: Vec<u8>,
    out: &mut Vec<CaptureEvent>,
) {
    if bytes.is_empty() {
        return;
    }
    d.delivered += bytes.len() as u64;
    if let Some(n) = d.next.as_mut() {
        *n = n.wrapping_add(bytes.len() as u32);
    }
    out.push(wire(time, d.src, dst, WireEventKind::Data(bytes)));
}

fn wire(time: SystemTime, src: SocketAddr, dst: SocketAddr, kind: WireEventKind) -> CaptureEvent {
    CaptureEvent::Wire(WireEvent {
        time,
        transport: Transport::Tcp,
        src,
        dst,
        kind,
    })
}
