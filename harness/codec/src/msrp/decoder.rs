//! Incremental MSRP stream decoder: takes TCP bytes in any split and yields whole frames in order
//! (RFC 4975 section 6 framing).

use super::message::{decode_frame_from, Message};
use crate::{DecodeError, Decoded, Finding, Limits, Severity, Status};

/// Buffers stream bytes and decodes frames one by one.
///
/// Call [`Decoder::push`] with each received chunk, then [`Decoder::next`] until it returns
/// `Ok(None)`. Offsets in errors and findings count from the first byte ever pushed. After an
/// error the decoder is poisoned and returns the same error on every call.
#[derive(Debug, Clone)]
pub struct Decoder {
    limits: Limits,
    buf: Vec<u8>,
    base: usize,
    poisoned: Option<DecodeError>,
    /// Where the end-line search of the buffered frame may resume (relative to `buf`).
    search_from: usize,
}

impl Decoder {
    /// An empty decoder.
    pub fn new(limits: Limits) -> Decoder {
        Decoder {
            limits,
            buf: Vec::new(),
            base: 0,
            poisoned: None,
            search_from: 0,
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.poisoned.is_none() {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// Bytes buffered but not yet decoded.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Stream offset of the first buffered byte.
    pub fn offset(&self) -> usize {
        self.base
    }

    /// The next whole frame, `Ok(None)` when more bytes are needed.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Decoded<Message>>, DecodeError> {
        if let Some(e) = &self.poisoned {
            return Err(e.clone());
        }
        // Tolerate empty lines between frames (not allowed by RFC 4975 9, reported).
        let skip = self
            .buf
            .iter()
            .position(|&b| b != b'\r' && b != b'\n')
            .unwrap_or(self.buf.len());
        let mut pre = Vec::new();
        if skip > 0 && skip < self.buf.len() {
            pre.push(Finding::new(
                "rfc4975/9 between-frames",
                Severity::Warning,
                self.base,
                "empty lines between frames",
            ));
        }
        if skip == self.buf.len() {
            return Ok(None);
        }
        let from = self.search_from.saturating_sub(skip);
        match decode_frame_from(&self.buf[skip..], &self.limits, from) {
            Ok(Status::Partial) => {
                // An end-line (at most one line long) cannot start before this point.
                self.search_from = self.buf.len().saturating_sub(self.limits.max_line_len + 16);
                Ok(None)
            }
            Ok(Status::Complete {
                mut value,
                consumed,
            }) => {
                let shift = self.base + skip;
                for f in &mut value.findings {
                    f.offset += shift;
                }
                pre.append(&mut value.findings);
                value.findings = pre;
                self.buf.drain(..skip + consumed);
                self.search_from = 0;
                self.base += skip + consumed;
                Ok(Some(value))
            }
            Err(e) => {
                let e = e.shifted(self.base + skip);
                self.poisoned = Some(e.clone());
                self.buf = Vec::new();
                Err(e)
            }
        }
    }
}
