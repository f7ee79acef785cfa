//! Findings: recoverable deviations that a lenient decoder records instead of rejecting the input.

use std::fmt;

/// How much a finding matters to a conformance verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Legal but unusual (line folding, a compact header form); worth showing, never a failure.
    Info,
    /// Against a SHOULD or a common interoperability expectation (bare LF line ends).
    Warning,
    /// Against a MUST of the RFC (a missing mandatory header); the message could still be decoded.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// A recoverable deviation: the rule it breaks, how much that matters, where, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// The rule broken, e.g. `rfc3261/7 bare-lf`.
    pub rule: &'static str,
    /// How much it matters.
    pub severity: Severity,
    /// Byte offset into the decoded buffer.
    pub offset: usize,
    /// One line of explanation.
    pub message: String,
}

impl Finding {
    /// Creates a finding.
    pub fn new(
        rule: &'static str,
        severity: Severity,
        offset: usize,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            rule,
            severity,
            offset,
            message: message.into(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at byte {}: {} ({})",
            self.severity, self.offset, self.message, self.rule
        )
    }
}

/// A decoded value together with the findings recorded while decoding it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded<T> {
    /// The decoded value.
    pub value: T,
    /// Every recoverable deviation seen, in input order.
    pub findings: Vec<Finding>,
}

impl<T> Decoded<T> {
    /// A value decoded without findings.
    pub fn clean(value: T) -> Self {
        Decoded {
            value,
            findings: Vec::new(),
        }
    }
}
