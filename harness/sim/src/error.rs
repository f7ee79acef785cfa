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
