//! The wire record: one tap that sees every byte each simulated socket sends or receives, pcap
//! writing as traffic happens, pcap/pcapng reading with TCP reassembly, and the decoded [`Trace`]
//! of SIP and MSRP messages that both a live run and an offline capture produce.

pub mod tap;

pub use tap::{Tap, Transport, WireEvent, WireEventKind};
