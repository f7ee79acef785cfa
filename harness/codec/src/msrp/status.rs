//! MSRP status codes (RFC 4975 section 10) as an integer newtype, and the Status header value.

use crate::DecodeError;
use std::fmt;

/// An MSRP status code; unknown codes round-trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct StatusCode(pub u16);

impl StatusCode {
    /// 200: the transaction succeeded.
    pub const OK: StatusCode = StatusCode(200);
    /// 400: the request was unintelligible.
    pub const BAD_REQUEST: StatusCode = StatusCode(400);
    /// 403: the action is not allowed.
    pub const FORBIDDEN: StatusCode = StatusCode(403);
    /// 408: no response within the allotted time (used in REPORTs).
    pub const TIMEOUT: StatusCode = StatusCode(408);
    /// 413: stop sending this message.
    pub const STOP_SENDING: StatusCode = StatusCode(413);
    /// 415: the media type is not understood.
    pub const UNSUPPORTED_MEDIA: StatusCode = StatusCode(415);
    /// 423: a parameter is out of bounds.
    pub const OUT_OF_BOUNDS: StatusCode = StatusCode(423);
    /// 481: the session does not exist.
    pub const NO_SESSION: StatusCode = StatusCode(481);
    /// 501: the method is not understood.
    pub const UNKNOWN_METHOD: StatusCode = StatusCode(501);
    /// 506: the request arrived on a connection bound to another session.
    pub const WRONG_CONNECTION: StatusCode = StatusCode(506);

    /// The codes RFC 4975 section 10 defines.
    pub const KNOWN: [StatusCode; 10] = [
        Self::OK,
        Self::BAD_REQUEST,
        Self::FORBIDDEN,
        Self::TIMEOUT,
        Self::STOP_SENDING,
        Self::UNSUPPORTED_MEDIA,
        Self::OUT_OF_BOUNDS,
        Self::NO_SESSION,
        Self::UNKNOWN_METHOD,
        Self::WRONG_CONNECTION,
    ];

    /// `true` for a code defined in RFC 4975 section 10.
    pub fn is_known(self) -> bool {
        Self::KNOWN.contains(&self)
    }

    /// The comment RFC 4975 uses for the code (`OK` for 200), or an empty string.
    pub fn default_comment(self) -> &'static str {
        match self.0 {
            200 => "OK",
            400 => "Bad Request",
            403 => "Forbidden",
            408 => "Request Timeout",
            413 => "Stop Sending",
            415 => "Unsupported Media Type",
            423 => "Parameter Out Of Bounds",
            481 => "Session Does Not Exist",
            501 => "Unknown Method",
            506 => "Session Already Bound",
            _ => "",
        }
    }
}

impl From<StatusCode> for u16 {
    fn from(c: StatusCode) -> u16 {
        c.0
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03}", self.0)
    }
}

/// The value of a Status header: `namespace SP status-code [SP comment]` (RFC 4975 section 9).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StatusValue {
    /// The namespace, `000` for MSRP status codes.
    pub namespace: u16,
    /// The status code.
    pub code: u16,
    /// The comment, if any.
    pub comment: Option<String>,
}

const RULE_STATUS: &str = "rfc4975/9 status-header";

fn three_digits(s: &str, off: usize, what: &str) -> Result<u16, DecodeError> {
    if s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse()
            .map_err(|_| DecodeError::new(off, RULE_STATUS, what.to_owned()))
    } else {
        Err(DecodeError::new(off, RULE_STATUS, what.to_owned()))
    }
}

impl StatusValue {
    /// Parses a Status header value; error offsets are relative to `s`.
    pub fn parse(s: &str) -> Result<StatusValue, DecodeError> {
        let (ns, rest) = s.split_once(' ').unwrap_or((s, ""));
        let namespace = three_digits(ns, 0, "a three-digit namespace such as 000")?;
        let (code, comment) = rest.split_once(' ').unwrap_or((rest, ""));
        let code = three_digits(code, ns.len() + 1, "a three-digit status code")?;
        let comment = (!comment.is_empty()).then(|| comment.to_owned());
        Ok(StatusValue {
            namespace,
            code,
            comment,
        })
    }
}

impl fmt::Display for StatusValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03} {:03}", self.namespace, self.code)?;
        if let Some(c) = &self.comment {
            write!(f, " {c}")?;
        }
        Ok(())
    }
}
