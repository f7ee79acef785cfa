//! Errors of the SIP endpoint API and the events it reports outside any transaction.

use cpmconf_codec::sip::Message;
use cpmconf_codec::{DecodeError, Finding};
use std::net::SocketAddr;
use std::time::Duration;

use super::Transport;

/// Why an endpoint operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// A transaction timer (B, F, H) or an API deadline ran out.
    #[error("{what} timed out after {after:?}")]
    Timeout {
        /// What was being waited for, e.g. `final response to INVITE (timer B)`.
        what: String,
        /// How long was waited.
        after: Duration,
    },
    /// A socket failed (connect refused, reset, closed while a message was pending).
    #[error("transport error: {0}")]
    Transport(#[from] std::io::Error),
    /// Bytes could not be decoded as SIP.
    #[error("cannot decode SIP: {0}")]
    Decode(#[from] DecodeError),
    /// The endpoint or the transaction is gone.
    #[error("endpoint or transaction closed")]
    Closed,
    /// The call is not allowed now or the message lacks what the stack needs.
    #[error("invalid use: {0}")]
    Invalid(String),
}

/// Something the endpoint saw outside any transaction, for the harness to judge.
#[derive(Debug, Clone, PartialEq)]
pub enum StackEvent {
    /// Bytes that are not a SIP message (UDP: the datagram is dropped; TCP: the connection is
    /// closed). The error names the byte offset and rule.
    Malformed {
        /// The sender.
        from: SocketAddr,
        /// How the bytes came.
        transport: Transport,
        /// What could not be decoded.
        error: DecodeError,
    },
    /// A message that decoded with deviations (a missing mandatory header, bytes after the
    /// body of a datagram, ...); the message itself is handled as usual.
    Findings {
        /// The sender.
        from: SocketAddr,
        /// How it came.
        transport: Transport,
        /// The message's start line.
        start_line: String,
        /// Every deviation, with its byte offset and rule.
        findings: Vec<Finding>,
    },
    /// A message that decoded but lacks what the stack needs to handle it (e.g. no Via branch).
    Unusable {
        /// The sender.
        from: SocketAddr,
        /// The message.
        message: Box<Message>,
        /// Why it cannot be handled.
        reason: String,
    },
    /// A response that matches no client transaction (RFC 3261 18.1.2: passed to the core).
    StrayResponse {
        /// The sender.
        from: SocketAddr,
        /// The response.
        response: Box<Message>,
    },
    /// A TCP connection ended (by the peer or after a decode error).
    ConnectionClosed {
        /// The peer.
        peer: SocketAddr,
        /// Bytes of an incomplete message left in the buffer when it closed.
        pending_bytes: usize,
    },
}
