//! SIP (RFC 3261): messages, header fields, methods, status codes, and typed header values.

pub mod auth;
pub mod cpm_headers;
pub mod cseq;
pub mod event;
pub mod feature_tag;
pub mod header;
pub mod icsi;
pub mod lists;
pub mod media_type;
pub mod message;
pub mod method;
pub mod name_addr;
pub mod numbers;
pub mod params;
pub mod reason;
pub mod status;
pub mod uri;
pub mod via;

pub use auth::{digest_response, Challenge, Credentials, DigestInput};
pub use cseq::CSeq;
pub use event::Event;
pub use feature_tag::{iari_ref_param, icsi_ref_param, FeatureSet};
pub use header::{Header, Headers};
pub use media_type::MediaType;
pub use message::{Message, RequestLine, StartLine, StatusLine};
pub use method::Method;
pub use name_addr::{AddrText, NameAddr};
pub use params::{Param, Params};
pub use reason::Reason;
pub use status::StatusCode;
pub use uri::{percent_decode, percent_encode, Scheme, Uri};
pub use via::Via;
