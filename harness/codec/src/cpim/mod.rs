//! CPIM (RFC 3862) messages with NS alias resolution.
//!
//! A CPIM message is a block of message headers, a blank line, the MIME headers of the inner
//! content, a blank line and the content. Headers named `prefix.Name` belong to the namespace
//! that an earlier `NS: prefix <urn>` header declared; lookups go by namespace URN and name
//! ([`Message::get_ns`]), never by the literal prefix.

pub mod builder;
pub mod field;
pub mod message;
pub mod name_addr;

pub use builder::Builder;
pub use field::Field;
pub use message::{parse, parse_with, Message, ResolvedField};
pub use name_addr::NameAddr;

/// Namespace of the unprefixed CPIM message headers (RFC 3862 section 3.4).
pub const NS_CPIM: &str = "urn:ietf:params:cpim-headers:";
/// Namespace of the IMDN headers `Message-ID` and `Disposition-Notification` (RFC 5438 section 9).
pub const NS_IMDN: &str = "urn:ietf:params:imdn";
/// Usual alias for [`NS_IMDN`] when building messages.
pub const IMDN_ALIAS: &str = "imdn";
