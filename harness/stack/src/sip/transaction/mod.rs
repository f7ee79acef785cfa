//! Sans-IO SIP transactions (RFC 3261 section 17): the four state machines, their timers and the
//! matching keys.
//!
//! Every state machine follows the same shape. Inputs are `handle_*` calls that carry `now`
//! (a message, a timer firing, a transport error, a response from the TU); outputs are polled
//! after each input, in this order: [`poll_transmit`](ClientInvite::poll_transmit) until `None`
//! (messages to put on the wire), `poll_event` until `None` (what the TU must learn), then
//! `poll_timeout` (when to call `handle_timeout` next). No method reads the clock.

pub mod client_invite;
pub mod client_non_invite;
pub mod key;
pub mod server_invite;
pub mod server_non_invite;
pub mod timer;

pub use client_invite::ClientInvite;
pub use client_non_invite::ClientNonInvite;
pub use key::TransactionKey;
pub use server_invite::ServerInvite;
pub use server_non_invite::{Completed, ServerNonInvite};
pub use timer::{TimerKind, TimerTable, Timers};

use cpmconf_codec::sip::Message;

/// What a client transaction tells its TU.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    /// A provisional or final response (and, for INVITE, retransmitted 2xx: RFC 6026 7.2).
    Response(Message),
    /// Timer B or F fired: no final response in time.
    Timeout(TimerKind),
    /// The transport reported an error (RFC 3261 17.1.4).
    TransportError,
}

/// What a server transaction tells its TU.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerEvent {
    /// Timer H fired: the ACK for a final non-2xx response never came (RFC 3261 17.2.1).
    Timeout(TimerKind),
    /// The transport reported an error while sending a response (RFC 3261 17.2.4).
    TransportError,
}

/// Whether the transport under a transaction is reliable (TCP) or not (UDP); reliable
/// transports get no retransmissions and zero wait timers (RFC 3261 17.1.1.2, 17.1.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reliability {
    /// UDP: retransmit, wait for stray retransmissions.
    Unreliable,
    /// TCP: no retransmission, wait timers zero.
    Reliable,
}

impl Reliability {
    /// `true` for TCP.
    pub fn is_reliable(self) -> bool {
        self == Reliability::Reliable
    }
}

#[cfg(test)]
mod tests;
