//! What the simulated network reports about malformed input it receives (undecodable bytes,
//! messages decoded with findings, messages the stack cannot use), for `cpmconf serve`'s finding
//! lines and counts. What the core answers to such a message is decided elsewhere (a 400 for a
//! request missing Max-Forwards, see `network.rs`).

use cpmconf_stack::sip::{StackEvent, Transport};
use std::net::SocketAddr;

/// One malformed message received by the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// The sender.
    pub from: SocketAddr,
    /// How it came.
    pub transport: Transport,
    /// The start line, when the message decoded.
    pub start_line: Option<String>,
    /// One line per deviation (`error at byte 0: ... (rfc3261/8.1.1 mandatory-header)`).
    pub findings: Vec<String>,
    /// Whether the message was dropped (undecodable or unusable) rather than handled.
    pub dropped: bool,
}

impl Malformed {
    /// The report of a stack event, when it is about malformed input.
    pub fn from_event(ev: &StackEvent) -> Option<Malformed> {
        match ev {
            StackEvent::Malformed {
                from,
                transport,
                error,
            } => Some(Malformed {
                from: *from,
                transport: *transport,
                start_line: None,
                findings: vec![format!("cannot decode: {error}")],
                dropped: true,
            }),
            StackEvent::Findings {
                from,
                transport,
                start_line,
                findings,
            } => Some(Malformed {
                from: *from,
                transport: *transport,
                start_line: Some(start_line.clone()),
                findings: findings.iter().map(ToString::to_string).collect(),
                dropped: false,
            }),
            StackEvent::Unusable {
                from,
                message,
                reason,
            } => Some(Malformed {
                from: *from,
                transport: Transport::Udp,
                start_line: String::from_utf8_lossy(&message.to_bytes())
                    .lines()
                    .next()
                    .map(str::to_owned),
                findings: vec![format!("not handled: {reason}")],
                dropped: true,
            }),
            StackEvent::StrayResponse { .. } | StackEvent::ConnectionClosed { .. } => None,
        }
    }
}
