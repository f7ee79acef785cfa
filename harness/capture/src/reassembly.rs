//! TCP reassembly: captured segments (in capture order, possibly out of order, retransmitted or
//! overlapping) back to the in-order byte streams the tap records, as [`WireEvent`]s.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::SystemTime;

use crate::error::FrameProblem;
use crate::frame::TcpSegment;
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
#[derive(Debug, Default)]
pub struct TcpReassembler {
    conns: HashMap<(SocketAddr, SocketAddr), Conn>,
    problems: Vec<FrameProblem>,
}

impl TcpReassembler {
    /// An empty reassembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Handles one segment captured at `time` in frame number `frame` (1-based); events that
    /// become available are appended to `out`.
    pub fn push(
        &mut self,
        frame: u64,
        time: SystemTime,
        seg: &TcpSegment,
        out: &mut Vec<WireEvent>,
    ) {
        let key = conn_key(seg.src, seg.dst);
        let mut seq = seg.seq;
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
                self.flush_conn_gaps(key);
                self.conns.insert(key, Conn::new(client, server));
                out.push(event(time, client, server, WireEventKind::TcpOpen));
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
                out.push(event(time, seg.src, seg.dst, WireEventKind::TcpOpen));
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
                    out.push(event(time, d.src, dst, WireEventKind::TcpClose));
                }
            }
            conn.dead = true;
            return;
        }
        let d = &mut conn.dirs[i];
        if d.closed {
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
                let keep = d
                    .pending
                    .get(&key)
                    .is_none_or(|old| old.len() < seg.payload.len());
                if keep {
                    d.pending.insert(key, seg.payload.clone());
                }
            }
        }
        // Segments that the new bytes made contiguous.
        while let Some((&off, _)) = d.pending.first_key_value() {
            if off > d.delivered {
                break;
            }
            let Some((off, bytes)) = d.pending.pop_first() else {
                break;
            };
            let skip = (d.delivered - off) as usize;
            if let Some(rest) = bytes.get(skip..) {
                if !rest.is_empty() {
                    deliver(d, time, peer, rest.to_vec(), out);
                }
            }
        }
        if d.fin_at.is_some_and(|f| f <= d.delivered) && !d.closed {
            d.closed = true;
            out.push(event(time, d.src, peer, WireEventKind::TcpClose));
        }
    }

    fn flush_conn_gaps(&mut self, key: (SocketAddr, SocketAddr)) {
        if let Some(c) = self.conns.get(&key) {
            report_gaps(c, &mut self.problems);
        }
    }

    /// Ends reassembly: bytes stuck behind a gap that never filled are reported, not delivered.
    pub fn finish(mut self) -> Vec<FrameProblem> {
        let mut conns: Vec<_> = self.conns.into_values().collect();
        conns.sort_by_key(|c| c.last_frame);
        for c in &conns {
            report_gaps(c, &mut self.problems);
        }
        self.problems
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
    out: &mut Vec<WireEvent>,
) {
    if bytes.is_empty() {
        return;
    }
    d.delivered += bytes.len() as u64;
    if let Some(n) = d.next.as_mut() {
        *n = n.wrapping_add(bytes.len() as u32);
    }
    out.push(event(time, d.src, dst, WireEventKind::Data(bytes)));
}

fn event(time: SystemTime, src: SocketAddr, dst: SocketAddr, kind: WireEventKind) -> WireEvent {
    WireEvent {
        time,
        transport: Transport::Tcp,
        src,
        dst,
        kind,
    }
}
