//! MSRP sessions (RFC 4975): a sans-IO session state machine and its tokio TCP edge.

pub mod connection;
pub mod session;

pub use connection::{MsrpConnection, MsrpEndpoint, MsrpError};
pub use session::{
    AcceptAll, MsrpSession, ResponsePolicy, SendOptions, SessionConfig, SessionEvent,
};
