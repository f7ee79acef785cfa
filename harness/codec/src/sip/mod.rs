//! SIP (RFC 3261): messages, header fields, methods, status codes, and typed header values.

pub mod header;
pub mod message;
pub mod method;
pub mod status;

pub use header::{Header, Headers};
pub use message::{Message, RequestLine, StartLine, StatusLine};
pub use method::Method;
pub use status::StatusCode;
