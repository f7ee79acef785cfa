//! Sans-IO parsers and serialisers for the protocols a CPM client speaks: SIP, SDP, MSRP, CPIM,
//! multipart MIME and the XML bodies (IMDN, isComposing, conference-info, resource-lists,
//! reginfo).
//!
//! Decode leniently, judge strictly: every decoder accepts what it can read and records each
//! recoverable deviation as a [`Finding`] (rule, severity, byte offset, explanation); input it
//! cannot read is a [`DecodeError`] naming the byte offset and what was expected. Nothing here
//! does I/O, reads the clock or panics on input; sizes are bounded by [`Limits`].
#![deny(missing_docs)]

pub mod body;
pub mod cpim;
pub mod error;
pub mod finding;
pub mod fuzzing;
pub mod limits;
pub mod msrp;
pub mod multipart;
pub mod sdp;
pub mod sip;
pub mod small_text;
pub mod text;
pub mod transfer_encoding;
pub mod xml;

pub use error::{DecodeError, Status};
pub use finding::{Decoded, Finding, Severity};
pub use limits::Limits;
pub use small_text::Text;

/// Serialises bytes as UTF-8 text, replacing invalid sequences (for JSON views of bodies).
pub(crate) fn serde_lossy<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(bytes))
}
