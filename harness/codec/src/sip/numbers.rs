//! Integer header fields: Max-Forwards (RFC 3261 20.22), Content-Length (20.14), Expires (20.19),
//! Min-Expires (20.23).

use super::message::Message;
use crate::DecodeError;

/// Parses `1*DIGIT` (surrounding whitespace allowed) as a u32. Offsets are relative to `s`.
pub fn parse_u32(s: &str, rule: &'static str) -> Result<u32, DecodeError> {
    let lead = s.len() - s.trim_start().len();
    let t = s.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DecodeError::new(
            lead,
            rule,
            format!("a decimal number, not {t:?}"),
        ));
    }
    t.parse()
        .map_err(|_| DecodeError::new(lead, rule, "a number below 2**32"))
}

impl Message {
    fn number(&self, name: &str, rule: &'static str) -> Result<Option<u32>, DecodeError> {
        match self.headers.get(name) {
            None => Ok(None),
            Some(h) => h.parse_value(|v| parse_u32(v, rule)).map(Some),
        }
    }

    /// Max-Forwards (RFC 3261 20.22: 0 to 255).
    pub fn max_forwards(&self) -> Result<Option<u8>, DecodeError> {
        let rule = "rfc3261/20.22 max-forwards";
        match self.number("Max-Forwards", rule)? {
            None => Ok(None),
            Some(n) => u8::try_from(n).map(Some).map_err(|_| {
                let off = self
                    .headers
                    .get("Max-Forwards")
                    .map_or(0, |h| h.value_offset);
                DecodeError::new(off, rule, "a Max-Forwards value from 0 to 255")
            }),
        }
    }

    /// Content-Length (compact form `l`).
    pub fn content_length(&self) -> Result<Option<u32>, DecodeError> {
        self.number("Content-Length", "rfc3261/20.14 content-length")
    }

    /// Expires in seconds (RFC 3261 20.19: delta-seconds).
    pub fn expires(&self) -> Result<Option<u32>, DecodeError> {
        self.number("Expires", "rfc3261/20.19 expires")
    }

    /// Min-Expires in seconds (RFC 3261 20.23).
    pub fn min_expires(&self) -> Result<Option<u32>, DecodeError> {
        self.number("Min-Expires", "rfc3261/20.23 min-expires")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::Method;

    #[test]
    fn numbers() {
        let m = Message::request(Method::Register, "sip:r")
            .with_header("Max-Forwards", "0068")
            .with_header("Expires", "x");
        assert_eq!(m.max_forwards().unwrap(), Some(68));
        assert!(m.expires().is_err());
        assert_eq!(m.content_length().unwrap(), None);
        let m = Message::request(Method::Register, "sip:r").with_header("Max-Forwards", "256");
        assert!(m.max_forwards().is_err());
    }
}
