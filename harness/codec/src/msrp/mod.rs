//! MSRP (RFC 4975): messages, incremental stream decoding, chunking and reassembly.

pub mod byte_range;
pub mod chunk;
pub mod decoder;
pub mod header;
pub mod message;
pub mod method;
pub mod status;
pub mod uri;

pub use byte_range::ByteRange;
pub use chunk::{split, Reassembled, Reassembler};
pub use decoder::Decoder;
pub use header::{Field, Headers};
pub use message::{FailureReport, Flag, Message, PathArg, StartKind};
pub use method::Method;
pub use status::{StatusCode, StatusValue};
pub use uri::MsrpUri;
