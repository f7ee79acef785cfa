//! SIP and MSRP endpoints on tokio: transports, RFC 3261 transactions with timers, dialogs, and
//! MSRP sessions. Protocol state machines are sans-IO (time and bytes come in as arguments); only
//! the transport and endpoint modules touch sockets and the clock.

pub mod ids;
pub mod msrp;
pub mod sip;
