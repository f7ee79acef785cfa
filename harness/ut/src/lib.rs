//! Upper tester: the versioned JSON-lines protocol between the harness and a client adapter,
//! client profiles, and the harness-side driver (process, TCP or in-memory channel).

pub mod channel;
pub mod command;
pub mod driver;
pub mod error;
pub mod event;
pub mod profile;
pub mod protocol;
pub mod ring;
pub mod tester;

pub use channel::{channel_pair, ClientEnd, EventSender, HarnessGone};
pub use command::*;
pub use driver::{Adapter, AdapterProcess};
pub use error::{ProfileError, UtError};
pub use event::*;
pub use profile::{
    AdapterSpec, Capability, ClientProfile, DigestAlgorithm, ProfileIdentity, Quirk,
    ReferenceSettings, SendWindow,
};
pub use protocol::{
    protocol_schema, AdapterMessage, Request, Response, MAX_LINE, PROTOCOL_VERSION,
};
pub use tester::{EventPredicate, UpperTester, UtFuture};
