//! The reference CPM client (CR section 7 procedures) over real sockets, driven through the
//! upper-tester protocol, with named faults for mutation testing.
//!
//! Entry points: [`RefClient::start`] (in-process, returns the harness end of an in-memory
//! upper tester), [`RefClient::start_detached`] + [`RefClient::command`] (for the JSON-lines
//! adapter), [`FaultSet`] / [`all_faults`] / [`faults_table`].

mod chat;
mod client;
mod config;
mod core;
mod deferred;
mod error;
mod events;
pub mod fault;
mod file_transfer;
mod group;
mod imdn;
mod incoming;
mod large_message;
mod media;
mod outgoing;
mod pager;
mod registration;
mod session_end;
mod session_setup;
mod state;

pub use client::{hello_result, RefClient, CLIENT_NAME};
pub use config::{
    ClientConfig, ClientIdentity, ClientPolicy, ClientTimers, Provisioned, Transport,
    FILE_SEND_WINDOW,
};
pub use cpmconf_stack::sip::Timers;
pub use error::ClientError;
pub use fault::{all_faults, faults_table, FaultInfo, FaultSet, UnknownFault};
pub use outgoing::USER_AGENT;

/// The upper-tester protocol crate, re-exported for adapters built on this client.
pub use cpmconf_ut as ut;
