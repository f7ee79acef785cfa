//! The ladder of a scenario: its parties and one arrow per captured message (SIP request or
//! response, MSRP chunk or response, undecodable bytes), labelled with method or status and tied
//! to the trace entry and pcap frame; built by the runner from the trace, drawn by the HTML
//! reporter, and used to point each failed requirement at the message it quotes.

use std::net::SocketAddr;
use std::time::Duration;

use cpmconf_capture::{Trace, TraceEntry};
use serde::{Deserialize, Serialize};

use super::{RunEvent, RunEventKind};
use crate::verdict::{ScenarioResult, Verdict};

/// The label of the client under test (as the golden projection and the wire log name it).
const CLIENT: &str = "client";

/// Simulated roles that get a fixed lane after the client, in this order; other parties (the
/// remote users) follow in the order they first appear.
const FIXED_LANES: [&str; 4] = ["core", "registrar", "pf", "cf"];

/// One scenario's traffic as a sequence diagram.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ladder {
    /// The scenario's pcap, relative to the report directory.
    pub pcap: String,
    /// The scenario's wire log, relative to the report directory.
    pub wire_log: String,
    /// The lanes, left to right: the client, then the core, PF and CF, then remote users.
    pub parties: Vec<String>,
    /// One arrow per trace entry, in capture order.
    pub arrows: Vec<Arrow>,
}

/// One message of the ladder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arrow {
    /// Index of the trace entry (the wire log's `#N`).
    pub entry: usize,
    /// Frame number in the pcap of the frame that ends the message, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame: Option<u64>,
    /// Sending party.
    pub from: String,
    /// Receiving party.
    pub to: String,
    /// Method or status (`INVITE`, `200 OK (INVITE)`, `MSRP SEND`).
    pub label: String,
    /// Microseconds since the first captured event.
    pub offset_us: u64,
    /// The message as the wire log shows it (header line, text, findings).
    pub text: String,
}

impl Ladder {
    /// The ladder of `trace`: `roles` names sender and receiver of an entry, `names` an address
    /// (for the wire-log text), `frames` the pcap frame of each entry (as
    /// [`cpmconf_capture::trace_frame_numbers`] gives them).
    pub fn build(
        trace: &Trace,
        roles: &dyn Fn(&TraceEntry) -> (String, String),
        names: &dyn Fn(SocketAddr) -> Option<String>,
        frames: &[Option<u64>],
        pcap: String,
        wire_log: String,
    ) -> Ladder {
        let mut arrows = Vec::with_capacity(trace.entries.len());
        for e in &trace.entries {
            let (from, to) = roles(e);
            let offset = trace
                .start
                .and_then(|s| e.time.duration_since(s).ok())
                .unwrap_or(Duration::ZERO);
            arrows.push(Arrow {
                entry: e.index,
                frame: frames.get(e.index).copied().flatten(),
                from,
                to,
                label: e.label(),
                offset_us: u64::try_from(offset.as_micros()).unwrap_or(u64::MAX),
                text: trace.entry_log(e, names),
            });
        }
        Ladder {
            pcap,
            wire_log,
            parties: lanes(&arrows),
            arrows,
        }
    }

    /// The arrow of the quoted message: the first (a retransmission repeats it) whose text holds
    /// the quote's start line, Call-ID and CSeq (what identifies a SIP message; an MSRP start
    /// line carries its transaction id), preferring one the client sent. Other quoted lines may
    /// differ: the quote is the message as the simulated network received it (a `received`
    /// parameter added to the Via).
    pub fn quoted(&self, quote: &[String]) -> Option<&Arrow> {
        let first = quote.first()?;
        let keys: Vec<&str> = std::iter::once(first.as_str())
            .chain(quote.iter().skip(1).map(String::as_str).filter(|l| {
                let l = l.to_ascii_lowercase();
                ["call-id:", "i:", "cseq:"].iter().any(|k| l.starts_with(k))
            }))
            .map(str::trim_end)
            .collect();
        let holds = |a: &&Arrow| {
            keys.iter()
                .all(|q| a.text.lines().any(|l| l.trim_end() == *q))
        };
        self.arrows
            .iter()
            .filter(|a| a.from == CLIENT)
            .find(holds)
            .or_else(|| self.arrows.iter().find(holds))
    }
}

/// The lanes of a set of arrows: the client first, the fixed roles next, the rest by first
/// appearance.
fn lanes(arrows: &[Arrow]) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for a in arrows {
        for p in [&a.from, &a.to] {
            if !seen.contains(p) {
                seen.push(p.clone());
            }
        }
    }
    let mut out = vec![CLIENT.to_string()];
    for f in FIXED_LANES {
        if seen.iter().any(|p| p == f) {
            out.push(f.to_string());
        }
    }
    for p in seen {
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// Ties a scenario result to its capture, from the scenario's `TraceCaptured` event in `events`:
/// the pcap and wire-log paths, and for each requirement that did not pass and quotes a message,
/// the trace entry and pcap frame of that message.
pub fn annotate(result: &mut ScenarioResult, events: &[RunEvent]) {
    let Some(ladder) = events.iter().find_map(|e| match &e.kind {
        RunEventKind::TraceCaptured { scenario, ladder } if *scenario == result.id => Some(ladder),
        _ => None,
    }) else {
        return;
    };
    result.pcap = Some(ladder.pcap.clone());
    result.wire_log = Some(ladder.wire_log.clone());
    for r in &mut result.requirements {
        if matches!(r.verdict, Verdict::Pass | Verdict::NotApplicable) {
            continue;
        }
        if let Some(a) = ladder.quoted(&r.quote) {
            r.trace_entry = Some(a.entry);
            r.pcap_frame = a.frame;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrow(entry: usize, from: &str, to: &str, text: &str) -> Arrow {
        Arrow {
            entry,
            frame: Some(entry as u64 + 1),
            from: from.into(),
            to: to.into(),
            label: "X".into(),
            offset_us: 0,
            text: text.into(),
        }
    }

    #[test]
    fn lanes_put_the_client_then_core_pf_cf_then_users_in_order() {
        let arrows = vec![
            arrow(0, "bob", "client", ""),
            arrow(1, "client", "cf", ""),
            arrow(2, "registrar", "client", ""),
            arrow(3, "carol", "client", ""),
        ];
        assert_eq!(
            lanes(&arrows),
            ["client", "registrar", "cf", "bob", "carol"]
        );
    }

    #[test]
    fn quoted_prefers_the_clients_message_holding_every_line() {
        let l = Ladder {
            pcap: String::new(),
            wire_log: String::new(),
            parties: Vec::new(),
            arrows: vec![
                arrow(0, "cf", "client", "INVITE sip:a\nCall-ID: 1\n"),
                arrow(1, "client", "cf", "INVITE sip:a\nCall-ID: 2\n"),
                arrow(2, "client", "cf", "INVITE sip:a\nCall-ID: 1\n"),
            ],
        };
        let q = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            l.quoted(&q(&["INVITE sip:a", "Call-ID: 1"]))
                .map(|a| a.entry),
            Some(2)
        );
        assert_eq!(
            l.quoted(&q(&["INVITE sip:a", "Call-ID: 3"]))
                .map(|a| a.entry),
            None
        );
        // Lines other than the start line, Call-ID and CSeq may differ (Via received=).
        assert_eq!(
            l.quoted(&q(&[
                "INVITE sip:a",
                "Via: SIP/2.0/UDP x;received=y",
                "Call-ID: 2"
            ]))
            .map(|a| a.entry),
            Some(1)
        );
        assert_eq!(l.quoted(&[]).map(|a| a.entry), None);
    }
}
