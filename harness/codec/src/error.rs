//! Decode errors: input that cannot be decoded, with the byte offset and what was expected there.

use std::fmt;

/// Input that cannot be decoded at all.
///
/// Every error names the byte offset (from the start of the buffer handed to the decoder) where
/// decoding stopped, the rule it enforces (an RFC section or a short rule id such as
/// `rfc3261/25.1 start-line`) and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
pub struct DecodeError {
    /// Byte offset into the decoded buffer where the problem starts.
    pub offset: usize,
    /// The rule that the input breaks, e.g. `rfc3261/7.3.1 header-colon`.
    pub rule: &'static str,
    /// What was expected at `offset`, as one readable phrase.
    pub expected: String,
}

impl DecodeError {
    /// Creates an error at `offset` for `rule`, saying what was `expected`.
    pub fn new(offset: usize, rule: &'static str, expected: impl Into<String>) -> Self {
        DecodeError {
            offset,
            rule,
            expected: expected.into(),
        }
    }

    /// The same error moved by `delta` bytes, for errors found inside a nested buffer
    /// (a header value, a body part) that must point into the outer buffer.
    pub fn shifted(mut self, delta: usize) -> Self {
        self.offset += delta;
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "byte {}: expected {} ({})",
            self.offset, self.expected, self.rule
        )
    }
}

/// The result of a decoder that works on a prefix of a stream, in the manner of `httparse`:
/// "incomplete" is not "invalid".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status<T> {
    /// A whole item was decoded from the first `consumed` bytes.
    Complete {
        /// The decoded item.
        value: T,
        /// How many bytes of the input it took.
        consumed: usize,
    },
    /// More bytes are needed before anything can be decided.
    Partial,
}

impl<T> Status<T> {
    /// `true` for [`Status::Partial`].
    pub fn is_partial(&self) -> bool {
        matches!(self, Status::Partial)
    }

    /// Maps the value of a complete item.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Status<U> {
        match self {
            Status::Complete { value, consumed } => Status::Complete {
                value: f(value),
                consumed,
            },
            Status::Partial => Status::Partial,
        }
    }
}
