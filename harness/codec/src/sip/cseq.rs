//! The CSeq header field (RFC 3261 20.16).

use std::fmt;

use super::message::Message;
use super::method::Method;
use crate::DecodeError;

const RULE: &str = "rfc3261/20.16 cseq";

/// `CSeq: <seq> <method>`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CSeq {
    /// The sequence number (RFC 3261 8.1.1.5: below 2**31 when chosen, below 2**32 on receipt).
    pub seq: u32,
    /// The method.
    pub method: Method,
}

impl CSeq {
    /// Parses `1*DIGIT LWS Method`. Offsets are relative to `s`.
    pub fn parse(s: &str) -> Result<CSeq, DecodeError> {
        let lead = s.len() - s.trim_start().len();
        let t = s.trim();
        let num_end = t.find(|c: char| c.is_ascii_whitespace()).unwrap_or(t.len());
        let num = &t[..num_end];
        if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DecodeError::new(lead, RULE, "a CSeq sequence number"));
        }
        let seq = num
            .parse::<u32>()
            .map_err(|_| DecodeError::new(lead, RULE, "a CSeq number below 2**32"))?;
        let m = t[num_end..].trim();
        if m.is_empty() || m.contains(|c: char| c.is_ascii_whitespace()) {
            return Err(DecodeError::new(
                lead + num_end,
                RULE,
                "one method token after the CSeq number",
            ));
        }
        Ok(CSeq {
            seq,
            method: Method::from_token(m),
        })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

impl Message {
    /// The CSeq header, with offsets into the message.
    pub fn cseq(&self) -> Result<CSeq, DecodeError> {
        let h = self.headers.get("CSeq").ok_or_else(|| {
            DecodeError::new(0, "rfc3261/8.1.1 mandatory-header", "a CSeq header field")
        })?;
        h.parse_value(CSeq::parse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_leading_zeros_and_errors() {
        let c = CSeq::parse("0009 INVITE").unwrap();
        assert_eq!((c.seq, &c.method), (9, &Method::Invite));
        assert_eq!(c.to_string(), "9 INVITE");
        assert_eq!(CSeq::parse("  4294967296 INVITE").unwrap_err().offset, 2);
        assert_eq!(CSeq::parse("1").unwrap_err().offset, 1);
    }
}
