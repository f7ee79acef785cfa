//! The wire log: a readable rendering of a [`Trace`], one block per message, for reports; and the
//! short label of a message (method or status) that its header line and the report's ladder show.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use cpmconf_codec::Finding;

use crate::tap::Transport;
use crate::trace::{Trace, TraceEntry, TraceFrame};

/// Bodies longer than this are shown in part.
const BODY_SHOWN: usize = 4096;

impl Trace {
    /// Renders the trace: per message a header line (index, time offset from the first event,
    /// `src -> dst` with role names where `names` knows the address, transport, protocol and
    /// [`TraceEntry::label`]), the message text (bodies shown when printable, long ones
    /// shortened), then its findings; an undecodable entry shows its error and its bytes
    /// escaped. Capture problems come last.
    pub fn wire_log(&self, names: &dyn Fn(SocketAddr) -> Option<String>) -> String {
        let mut out = String::new();
        for e in &self.entries {
            render_entry(&mut out, self, e, names);
        }
        if !self.problems.is_empty() {
            out.push_str("== capture problems ==\n");
            for p in &self.problems {
                let _ = writeln!(out, "  {p}");
            }
        }
        out
    }

    /// The wire-log block of one entry of this trace (its header line, text and findings).
    pub fn entry_log(
        &self,
        e: &TraceEntry,
        names: &dyn Fn(SocketAddr) -> Option<String>,
    ) -> String {
        let mut out = String::new();
        render_entry(&mut out, self, e, names);
        out
    }
}

impl TraceEntry {
    /// What the message is, in a few characters: the SIP method (`INVITE`), a SIP status with
    /// its reason and the method it answers (`200 OK (INVITE)`), `MSRP SEND`, `MSRP 200`, or
    /// `undecodable`.
    pub fn label(&self) -> String {
        match &self.frame {
            TraceFrame::Sip(d) => match &d.value.start {
                cpmconf_codec::sip::StartLine::Request(r) => r.method.to_string(),
                cpmconf_codec::sip::StartLine::Response(s) => {
                    let head = format!("{} {}", s.code, s.reason);
                    match d.value.cseq_method() {
                        Some(m) => format!("{} ({m})", head.trim_end()),
                        None => head.trim_end().to_string(),
                    }
                }
            },
            TraceFrame::Msrp(d) => match d.value.summary().split_whitespace().next() {
                Some(what) => format!("MSRP {what}"),
                None => "MSRP".to_string(),
            },
            TraceFrame::Undecodable { .. } => "undecodable".to_string(),
        }
    }
}

fn endpoint(addr: SocketAddr, names: &dyn Fn(SocketAddr) -> Option<String>) -> String {
    match names(addr) {
        Some(name) => format!("{name} ({addr})"),
        None => addr.to_string(),
    }
}

fn render_entry(
    out: &mut String,
    trace: &Trace,
    e: &TraceEntry,
    names: &dyn Fn(SocketAddr) -> Option<String>,
) {
    let offset = trace
        .start
        .and_then(|s| e.time.duration_since(s).ok())
        .unwrap_or(Duration::ZERO);
    let transport = match e.transport {
        Transport::Udp => "UDP",
        Transport::Tcp => "TCP",
    };
    let kind = match &e.frame {
        TraceFrame::Sip(_) => "SIP",
        TraceFrame::Msrp(_) => "MSRP",
        TraceFrame::Undecodable { .. } => "UNDECODABLE",
    };
    let label = match &e.frame {
        TraceFrame::Sip(_) => e.label(),
        TraceFrame::Msrp(_) => e.label().trim_start_matches("MSRP ").to_string(),
        TraceFrame::Undecodable { .. } => String::new(),
    };
    let _ = writeln!(
        out,
        "=== #{} +{}.{:06}s {} -> {} {} {} {}",
        e.index,
        offset.as_secs(),
        offset.subsec_micros(),
        endpoint(e.src, names),
        endpoint(e.dst, names),
        transport,
        kind,
        label
    );
    if out.ends_with(" \n") {
        out.truncate(out.len() - 2);
        out.push('\n');
    }
    match &e.frame {
        TraceFrame::Sip(d) => {
            render_message(out, &d.value.to_bytes(), &d.value.body);
            render_findings(out, &d.findings);
        }
        TraceFrame::Msrp(d) => {
            render_message(out, &d.value.to_bytes(), &d.value.body);
            render_findings(out, &d.findings);
        }
        TraceFrame::Undecodable { bytes, error } => {
            let _ = writeln!(out, "!! {error}");
            render_escaped(out, bytes);
        }
    }
    out.push('\n');
}

fn is_printable(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok_and(|s| {
        s.chars()
            .all(|c| !c.is_control() || c == '\r' || c == '\n' || c == '\t')
    })
}

/// Where the body starts: after the first empty line.
fn head_len(bytes: &[u8]) -> Option<usize> {
    let crlf = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4);
    let lf = bytes.windows(2).position(|w| w == b"\n\n").map(|p| p + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn push_text(out: &mut String, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for line in text.split_inclusive('\n') {
        out.push_str(line.trim_end_matches(['\r', '\n']));
        out.push('\n');
    }
}

fn render_message(out: &mut String, bytes: &[u8], body: &[u8]) {
    let split = head_len(bytes).filter(|&h| h + body.len() <= bytes.len() && !body.is_empty());
    let Some(head) = split else {
        push_text(out, bytes);
        return;
    };
    let (head_bytes, rest) = bytes.split_at(head);
    let (body_bytes, after) = rest.split_at(body.len());
    push_text(out, head_bytes);
    if !is_printable(body_bytes) {
        let _ = writeln!(out, "[{} bytes of binary body]", body_bytes.len());
    } else if body_bytes.len() > BODY_SHOWN {
        let text = String::from_utf8_lossy(body_bytes);
        let mut cut = BODY_SHOWN / 2;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        push_text(out, text.get(..cut).unwrap_or_default().as_bytes());
        let _ = writeln!(
            out,
            "[... {} more bytes of body ...]",
            body_bytes.len() - cut
        );
    } else {
        push_text(out, body_bytes);
    }
    if !after.is_empty() {
        push_text(out, after);
    }
}

fn render_findings(out: &mut String, findings: &[Finding]) {
    for f in findings {
        let _ = writeln!(out, "  ! {f}");
    }
}

fn render_escaped(out: &mut String, bytes: &[u8]) {
    let shown = bytes.get(..BODY_SHOWN).unwrap_or(bytes);
    for line in shown.split_inclusive(|&b| b == b'\n') {
        let _ = writeln!(out, "  | {}", line.escape_ascii());
    }
    if shown.len() < bytes.len() {
        let _ = writeln!(out, "  [... {} more bytes ...]", bytes.len() - shown.len());
    }
}
