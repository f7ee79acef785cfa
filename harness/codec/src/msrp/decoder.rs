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
    /// Bytes of `buf` already decoded (dropped lazily, so a frame does not move the rest).
    head: usize,
    base: usize,
    poisoned: Option<DecodeError>,
    /// Where the end-line search of the buffered frame may resume (relative to `buf[head..]`).
    search_from: usize,
    /// Bytes handed to the frame search so far (see [`Decoder::scanned`]).
    scanned: u64,
}

impl Decoder {
    /// An empty decoder.
    pub fn new(limits: Limits) -> Decoder {
        Decoder {
            limits,
            buf: Vec::new(),
            head: 0,
            base: 0,
            poisoned: None,
            search_from: 0,
            scanned: 0,
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.poisoned.is_none() {
            if self.head > 0 && self.head >= self.buf.len() / 2 {
                self.buf.drain(..self.head);
                self.head = 0;
            }
            self.buf.extend_from_slice(bytes);
        }
    }

    /// Bytes buffered but not yet decoded.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.head
    }

    /// Bytes the frame search was given so far, summed over every call of [`Decoder::next`]: the
    /// decoder's work. A frame arriving in many reads is searched from where the previous search
    /// stopped (less one line), so this stays linear in the stream length.
    pub fn scanned(&self) -> u64 {
        self.scanned
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
        let pending = self.buf.get(self.head..).unwrap_or_default();
        let skip = pending
            .iter()
            .position(|&b| b != b'\r' && b != b'\n')
            .unwrap_or(pending.len());
        let mut pre = Vec::new();
        if skip > 0 && skip < pending.len() {
            pre.push(Finding::new(
                "rfc4975/9 between-frames",
                Severity::Warning,
                self.base,
                "empty lines between frames",
            ));
        }
        if skip == pending.len() {
            return Ok(None);
        }
        let from = self.search_from.saturating_sub(skip);
        self.scanned += pending.len().saturating_sub(skip + from) as u64;
        match decode_frame_from(&pending[skip..], &self.limits, from) {
            Ok(Status::Partial) => {
                // An end-line (at most one line long) cannot start before this point.
                self.search_from = pending.len().saturating_sub(self.limits.max_line_len + 16);
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
                self.head += skip + consumed;
                if self.head >= self.buf.len() {
                    self.buf.clear();
                    self.head = 0;
                }
                self.search_from = 0;
                self.base += skip + consumed;
                Ok(Some(value))
            }
            Err(e) => {
                let e = e.shifted(self.base + skip);
                self.poisoned = Some(e.clone());
                self.buf = Vec::new();
                self.head = 0;
                Err(e)
            }
        }
    }
}
