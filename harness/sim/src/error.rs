//! Errors of the simulated network's API.

use std::time::Duration;

/// Why a [`crate::Network`] call failed.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Binding a socket or another I/O operation failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The SIP stack refused or failed the operation.
    #[error("SIP stack: {0}")]
    Stack(#[from] cpmconf_stack::sip::StackError),
    /// An MSRP operation failed.
    #[error("MSRP: {0}")]
    Msrp(String),
    /// A command came for an MSRP session that had ended: `reason` is what its `MsrpClosed`
    /// observation says; `by_client` when the client's side ended it (it never connected or
    /// sent no first request, closed the connection, or sent bytes that cannot be decoded),
    /// not the simulated role.
    #[error("MSRP: the session has ended ({reason})")]
    SessionEnded {
        /// Why it ended.
        reason: String,
        /// The client ended it (or never set it up).
        by_client: bool,
    },
    /// Nothing arrived before the deadline.
    #[error("nothing observed within {0:?}")]
    Timeout(Duration),
    /// The target user has no registered contact.
    #[error("{0} is not registered")]
    NotRegistered(String),
    /// An id (request, dialog, MSRP session) the sim does not know.
    #[error("unknown {what} {id}")]
    Unknown {
        /// `request`, `dialog` or `MSRP session`.
        what: &'static str,
        /// The id asked for.
        id: u64,
    },
    /// The call does not fit the current state (e.g. answering twice, a CANCEL after a final).
    #[error("invalid: {0}")]
    Invalid(String),
    /// The network has been shut down.
    #[error("the simulated network is shut down")]
    Closed,
}
