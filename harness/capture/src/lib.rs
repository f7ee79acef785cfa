//! The wire record: one tap that sees every byte each simulated socket sends or receives, pcap
//! writing as traffic happens, pcap/pcapng reading with TCP reassembly, and the decoded [`Trace`]
//! of SIP and MSRP messages that both a live run and an offline capture produce.
//!
//! Live: sockets report to a [`Tap`] (`Tap::with_pcap(path)` also writes a pcap as traffic
//! happens); `Trace::from_events(&tap.events())` decodes it. Offline: `Trace::from_pcap(path)`
//! reads pcap or pcapng (ours, tshark's, tcpdump's), reassembles TCP and decodes the same way;
//! [`TraceStream`] does the same record by record for captures of any length, and
//! [`meta`] keeps a capture's scenario and role map in a sidecar file next to it.
//! [`tshark::check_pcap`] asks Wireshark whether a capture decodes cleanly.
#![deny(missing_docs)]

pub mod error;
pub mod frame;
pub mod generate;
pub mod meta;
pub mod pcap_reader;
pub mod pcap_writer;
pub mod reassembly;
pub mod rewrite;
pub mod tap;
pub mod trace;
pub mod trace_stream;
pub mod tshark;
pub mod wire_log;

pub use error::{CaptureError, FrameProblem};

/// A hash map for keys read from a capture (address pairs, Call-IDs): foldhash's hasher,
/// seeded at random per process, several times cheaper than the standard SipHash on such
/// short keys (the per-packet lookups of reassembly and decoding, the per-message grouping of
/// `cpmconf check`).
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// The set of [`FastMap`].
pub type FastSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;
pub use meta::{
    read_sidecar, sidecar_path, write_sidecar, CallIdEntry, CaptureMeta, MetaError, RoleEntry,
    RoleMap,
};
pub use pcap_reader::{
    read_capture, read_capture_bytes, Capture, CaptureEvent, CaptureReader, ReaderOptions,
    ReaderStats, TcpGap,
};
pub use pcap_writer::{
    attach_pcap, pcap_frame_numbers, trace_frame_numbers, PcapSink, DEFAULT_MSS,
};
pub use tap::{Tap, Transport, WireEvent, WireEventKind, WireSink};
pub use trace::{
    StreamEnd, Trace, TraceBuilder, TraceEntry, TraceFrame, RULE_STREAM_END, RULE_TCP_GAP,
};
pub use trace_stream::{CaptureFile, CaptureItems, Items, StreamStats, TraceItem, TraceStream};
pub use tshark::{check_pcap, TsharkError, TsharkFrame, TsharkSummary};
