//! The MSRP Byte-Range header value (RFC 4975 sections 7.1.1 and 9): `start-end/total`, 1-based.

use crate::DecodeError;
use std::fmt;

/// A Byte-Range value. `end` and `total` are `None` when written as `*` (unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct ByteRange {
    /// First byte of the chunk, counted from 1.
    pub start: u64,
    /// Last byte of the chunk (inclusive), `None` for `*`.
    pub end: Option<u64>,
    /// Size of the whole message, `None` for `*`.
    pub total: Option<u64>,
}

const RULE: &str = "rfc4975/9 byte-range";

fn number(s: &str, off: usize, what: &str) -> Result<u64, DecodeError> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DecodeError::new(off, RULE, what.to_owned()));
    }
    s.parse()
        .map_err(|_| DecodeError::new(off, RULE, what.to_owned()))
}

fn number_or_star(s: &str, off: usize, what: &str) -> Result<Option<u64>, DecodeError> {
    if s == "*" {
        Ok(None)
    } else {
        number(s, off, what).map(Some)
    }
}

impl ByteRange {
    /// A range for `len` bytes starting at `start` out of `total` (`len` 0 gives `start-(start-1)`).
    pub fn chunk(start: u64, len: u64, total: u64) -> ByteRange {
        ByteRange {
            start,
            end: Some(start.saturating_add(len).saturating_sub(1)),
            total: Some(total),
        }
    }

    /// Parses `range-start "-" range-end "/" total`; error offsets are relative to `s`.
    pub fn parse(s: &str) -> Result<ByteRange, DecodeError> {
        let Some((range, total)) = s.split_once('/') else {
            return Err(DecodeError::new(s.len(), RULE, "'/' then the total size"));
        };
        let Some((start, end)) = range.split_once('-') else {
            return Err(DecodeError::new(
                range.len(),
                RULE,
                "'-' between start and end",
            ));
        };
        let start_v = number(start, 0, "a decimal start position")?;
        // RFC 4975 9: range-start = 1*DIGIT, counting from 1.
        if start_v == 0 {
            return Err(DecodeError::new(0, RULE, "a start position of at least 1"));
        }
        let end_v = number_or_star(end, start.len() + 1, "a decimal end position or '*'")?;
        let total_v = number_or_star(total, range.len() + 1, "a decimal total or '*'")?;
        if let Some(e) = end_v {
            if e + 1 < start_v {
                return Err(DecodeError::new(
                    start.len() + 1,
                    RULE,
                    "an end position not before the start",
                ));
            }
            if let Some(t) = total_v {
                if e > t {
                    return Err(DecodeError::new(
                        start.len() + 1,
                        RULE,
                        "an end position within the total size",
                    ));
                }
            }
        }
        Ok(ByteRange {
            start: start_v,
            end: end_v,
            total: total_v,
        })
    }
}

impl fmt::Display for ByteRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-", self.start)?;
        match self.end {
            Some(e) => write!(f, "{e}")?,
            None => f.write_str("*")?,
        }
        match self.total {
            Some(t) => write!(f, "/{t}"),
            None => f.write_str("/*"),
        }
    }
}

impl std::str::FromStr for ByteRange {
    type Err = DecodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ByteRange::parse(s)
    }
}
