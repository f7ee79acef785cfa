//! Size limits that bound every decoder, so hostile input costs bounded memory and time.

/// Limits applied while decoding. Exceeding one is a [`crate::DecodeError`], never a panic or an
/// unbounded allocation. The defaults suit a conformance run; all are settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Limits {
    /// Most header fields in one message (SIP, MSRP, CPIM, MIME part).
    pub max_headers: usize,
    /// Longest line (start line or one physical header line), in bytes.
    pub max_line_len: usize,
    /// Largest body, in bytes.
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_headers: 256,
            max_line_len: 16 * 1024,
            max_body: 16 * 1024 * 1024,
        }
    }
}
