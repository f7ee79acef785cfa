//! MSRP request methods (RFC 4975 section 9, RFC 4976, RFC 7701); unknown methods round-trip.

use std::fmt;

/// An MSRP method. Methods are case-sensitive upper-case tokens (RFC 4975 section 9:
/// `method = 1*UPALPHA`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Method {
    /// SEND (RFC 4975 7.1).
    Send,
    /// REPORT (RFC 4975 7.1.2).
    Report,
    /// AUTH (RFC 4976).
    Auth,
    /// NICKNAME (RFC 7701).
    Nickname,
    /// Any other method, as written.
    Extension(String),
}

impl Method {
    /// The method for a token (exact match; anything else is an extension).
    pub fn from_token(t: &str) -> Method {
        match t {
            "SEND" => Method::Send,
            "REPORT" => Method::Report,
            "AUTH" => Method::Auth,
            "NICKNAME" => Method::Nickname,
            other => Method::Extension(other.to_owned()),
        }
    }

    /// The token as written on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Send => "SEND",
            Method::Report => "REPORT",
            Method::Auth => "AUTH",
            Method::Nickname => "NICKNAME",
            Method::Extension(s) => s,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
