//! A long capture judged a part at a time: every per-message rule but the digest rules
//! (`baseline::Digest`, judged over the whole capture in order) correlates messages of one
//! REGISTER exchange, one dialog or transaction (one Call-ID) or one MSRP connection only, so
//! the entries are grouped by that part, and a part that saw no entry for [`IDLE_WINDOW`]
//! entries is handed out to be judged and forgotten. What is held is bounded by the parts open
//! within that window, not by the capture's length. Lint mode ([`crate::lint`]) and scenario
//! mode ([`crate::check`]) of `cpmconf check` both judge this way.

use std::net::SocketAddr;

use cpmconf_capture::{FastMap, TraceEntry};
use cpmconf_codec::sip::Method;

/// Entries after which a dialog (Call-ID) or connection that saw no message is judged and
/// forgotten: the state of a long capture's judge is bounded by what is open within this
/// window. A Call-ID that reappears later is judged as a new part.
pub const IDLE_WINDOW: usize = 4096;

/// Entries between two looks for idle parts.
pub const FLUSH_EVERY: usize = 1024;

/// The open parts of a capture read in order: the REGISTER exchanges (kept to the end:
/// registrations are few, and later parts need what they registered), dialogs by Call-ID
/// (looked up without copying the Call-ID of a part already open), MSRP connections by their
/// two ends. Each with the index of its latest entry.
#[derive(Debug, Default)]
pub struct Parts {
    register: Vec<TraceEntry>,
    call_ids: FastMap<String, (usize, Vec<TraceEntry>)>,
    connections: FastMap<(SocketAddr, SocketAddr), (usize, Vec<TraceEntry>)>,
    pushed: usize,
    /// Entries in the open parts.
    held: usize,
}

impl Parts {
    /// Takes the next entry of the capture; gives the parts that went idle (each in trace
    /// order), to be judged now.
    pub fn push(&mut self, e: TraceEntry) -> Vec<Vec<TraceEntry>> {
        self.pushed += 1;
        self.held += 1;
        let at = e.index;
        match e.sip() {
            Some(m) if m.cseq_method() == Some(Method::Register) => self.register.push(e),
            Some(m) => {
                let id = m.call_id().unwrap_or_default();
                match self.call_ids.get_mut(id) {
                    Some(part) => {
                        part.0 = at;
                        part.1.push(e);
                    }
                    None => {
                        let id = id.to_string();
                        // Room for a transaction's request and responses without regrowing.
                        let mut part = Vec::with_capacity(4);
                        part.push(e);
                        self.call_ids.insert(id, (at, part));
                    }
                }
            }
            None => {
                let part = self
                    .connections
                    .entry((e.src.min(e.dst), e.src.max(e.dst)))
                    .or_default();
                part.0 = at;
                part.1.push(e);
            }
        }
        if self.pushed % FLUSH_EVERY != 0 {
            return Vec::new();
        }
        let idle = |last: usize| last + IDLE_WINDOW < at;
        let mut out: Vec<Vec<TraceEntry>> = self
            .call_ids
            .extract_if(|_, (last, _)| idle(*last))
            .map(|(_, (_, v))| v)
            .collect();
        out.extend(
            self.connections
                .extract_if(|_, (last, _)| idle(*last))
                .map(|(_, (_, v))| v),
        );
        self.held -= out.iter().map(Vec::len).sum::<usize>();
        out
    }

    /// Every part still open, in the order of its first entry.
    pub fn finish(self) -> Vec<Vec<TraceEntry>> {
        let mut parts: Vec<Vec<TraceEntry>> = self
            .call_ids
            .into_values()
            .chain(self.connections.into_values())
            .map(|(_, v)| v)
            .collect();
        if !self.register.is_empty() {
            parts.push(self.register);
        }
        parts.sort_by_key(|v| v.first().map_or(0, |e| e.index));
        parts
    }

    /// How many entries the open parts hold.
    pub fn retained(&self) -> usize {
        self.held
    }
}
