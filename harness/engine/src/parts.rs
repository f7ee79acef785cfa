//! A long capture judged a part at a time: every per-message rule correlates messages of one
//! REGISTER exchange, one dialog or transaction (one Call-ID) or one MSRP connection only, so
//! the entries are grouped by that part, and a part that saw no entry for [`IDLE_WINDOW`]
//! entries is handed out to be judged and forgotten. What is held is bounded by the parts open
//! within that window, not by the capture's length. Lint mode ([`crate::lint`]) and scenario
//! mode ([`crate::check`]) of `cpmconf check` both judge this way.

use std::collections::HashMap;
use std::net::SocketAddr;

use cpmconf_capture::TraceEntry;
use cpmconf_codec::sip::Method;

/// Entries after which a dialog (Call-ID) or connection that saw no message is judged and
/// forgotten: the state of a long capture's judge is bounded by what is open within this
/// window. A Call-ID that reappears later is judged as a new part.
pub const IDLE_WINDOW: usize = 4096;

/// Entries between two looks for idle parts.
pub const FLUSH_EVERY: usize = 1024;

/// Which part of a capture an entry is judged in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Part {
    /// Every REGISTER transaction (kept to the end: registrations are few, and later parts
    /// need what they registered).
    Register,
    CallId(String),
    Connection(SocketAddr, SocketAddr),
}

fn part_of(e: &TraceEntry) -> Part {
    match e.sip() {
        Some(m) if m.cseq_method() == Some(Method::Register) => Part::Register,
        Some(m) => Part::CallId(m.call_id().unwrap_or_default().to_string()),
        None => Part::Connection(e.src.min(e.dst), e.src.max(e.dst)),
    }
}

/// The open parts of a capture read in order.
#[derive(Debug, Default)]
pub struct Parts {
    open: HashMap<Part, (usize, Vec<TraceEntry>)>,
    pushed: usize,
}

impl Parts {
    /// Takes the next entry of the capture; gives the parts that went idle (each in trace
    /// order), to be judged now.
    pub fn push(&mut self, e: TraceEntry) -> Vec<Vec<TraceEntry>> {
        self.pushed += 1;
        let at = e.index;
        let part = self.open.entry(part_of(&e)).or_default();
        part.0 = at;
        part.1.push(e);
        if self.pushed % FLUSH_EVERY != 0 {
            return Vec::new();
        }
        let idle: Vec<Part> = self
            .open
            .iter()
            .filter(|(k, (last, _))| **k != Part::Register && last + IDLE_WINDOW < at)
            .map(|(k, _)| k.clone())
            .collect();
        idle.into_iter()
            .filter_map(|k| self.open.remove(&k).map(|(_, v)| v))
            .collect()
    }

    /// Every part still open, in the order of its first entry.
    pub fn finish(self) -> Vec<Vec<TraceEntry>> {
        let mut parts: Vec<Vec<TraceEntry>> = self.open.into_values().map(|(_, v)| v).collect();
        parts.sort_by_key(|v| v.first().map_or(0, |e| e.index));
        parts
    }

    /// How many entries the open parts hold.
    pub fn retained(&self) -> usize {
        self.open.values().map(|(_, v)| v.len()).sum()
    }
}
