//! Chunking of large MSRP messages into SEND chunks and their reassembly by Message-ID and
//! Byte-Range (RFC 4975 sections 5.1 and 7.1.1).

use super::byte_range::ByteRange;
use super::message::{Flag, Message, PathArg};
use super::method::Method;
use crate::{DecodeError, Limits};
use std::collections::HashMap;

/// Splits `content` into SEND chunks of at most `max_chunk` body bytes (0: one chunk).
///
/// Each chunk gets a fresh transaction id from `tid_gen`, To-Path, From-Path, Message-ID,
/// Byte-Range `start-end/total` (1-based), the `report_headers` (e.g. Success-Report,
/// Failure-Report) and Content-Type; every chunk but the last ends with `+`, the last with `$`.
/// Empty content gives one chunk with `Byte-Range: 1-0/0`.
#[allow(clippy::too_many_arguments)]
pub fn split(
    content: &[u8],
    content_type: &str,
    message_id: &str,
    max_chunk: usize,
    mut tid_gen: impl FnMut() -> String,
    to_path: impl PathArg,
    from_path: impl PathArg,
    report_headers: &[(&str, &str)],
) -> Vec<Message> {
    let to = to_path.path_value();
    let from = from_path.path_value();
    let total = content.len() as u64;
    let size = if max_chunk == 0 {
        content.len().max(1)
    } else {
        max_chunk
    };
    let pieces: Vec<&[u8]> = if content.is_empty() {
        vec![&content[..0]]
    } else {
        content.chunks(size).collect()
    };
    let count = pieces.len();
    let mut out = Vec::with_capacity(count);
    let mut start = 1u64;
    for (i, piece) in pieces.into_iter().enumerate() {
        let mut m = Message::request(tid_gen(), Method::Send, to.as_str(), from.as_str())
            .with_header("Message-ID", message_id)
            .with_header(
                "Byte-Range",
                ByteRange::chunk(start, piece.len() as u64, total).to_string(),
            );
        for (n, v) in report_headers {
            m = m.with_header(*n, *v);
        }
        m.set_body(content_type, piece.to_vec());
        m.flag = if i + 1 == count {
            Flag::Complete
        } else {
            Flag::More
        };
        start += piece.len() as u64;
        out.push(m);
    }
    out
}

/// A message put back together from its chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reassembled {
    /// The Message-ID shared by the chunks.
    pub message_id: String,
    /// The Content-Type of the chunks (empty when none carried one).
    pub content_type: String,
    /// The whole content; for an aborted message, the bytes received from position 1 up to the
    /// first gap.
    pub body: Vec<u8>,
    /// `true` when a chunk ended with `#` (RFC 4975 7.1.1: the message is aborted).
    pub aborted: bool,
}

#[derive(Debug, Clone, Default)]
struct Pending {
    content_type: String,
    total: Option<u64>,
    /// Bytes placed so far (index 0 is byte 1).
    data: Vec<u8>,
    /// Received ranges, 1-based inclusive, sorted and merged.
    have: Vec<(u64, u64)>,
    /// End position of the `$` chunk once it arrived.
    last_end: Option<u64>,
}

impl Pending {
    fn add(&mut self, start: u64, end: u64) {
        if end < start {
            return;
        }
        self.have.push((start, end));
        self.have.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(self.have.len());
        for &(s, e) in &self.have {
            match merged.last_mut() {
                Some(last) if s <= last.1 + 1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.have = merged;
    }

    fn prefix_len(&self) -> u64 {
        match self.have.first() {
            Some(&(1, e)) => e,
            _ => 0,
        }
    }

    fn complete(&self) -> bool {
        let Some(total) = self.total.or(self.last_end) else {
            return false;
        };
        self.last_end.is_some() && (total == 0 || self.prefix_len() >= total)
    }
}

const RULE_RANGE: &str = "rfc4975/7.1.1 byte-range";

/// Reassembles chunked SEND messages keyed by Message-ID: chunks are placed by Byte-Range (in any
/// order); a message is complete once all bytes 1..total are present and its `$` chunk arrived.
/// A `#` chunk reports the message as aborted. For resume (RFC 5547 file-range, RFC 4975 7.1.1)
/// [`Reassembler::seed`] pre-fills the bytes already held, so later chunks starting beyond 1
/// complete it.
#[derive(Debug, Clone)]
pub struct Reassembler {
    limits: Limits,
    pending: HashMap<String, Pending>,
}

impl Reassembler {
    /// An empty reassembler; a message may not exceed `limits.max_body` bytes.
    pub fn new(limits: Limits) -> Reassembler {
        Reassembler {
            limits,
            pending: HashMap::new(),
        }
    }

    /// Message-IDs with chunks received but not yet complete.
    pub fn pending_ids(&self) -> Vec<&str> {
        self.pending.keys().map(String::as_str).collect()
    }

    /// Pre-fills bytes 1..=`prefix.len()` of `message_id`, for resuming an interrupted transfer.
    pub fn seed(&mut self, message_id: &str, content_type: &str, prefix: &[u8]) {
        let p = self.pending.entry(message_id.to_owned()).or_default();
        if p.content_type.is_empty() {
            p.content_type = content_type.to_owned();
        }
        if p.data.len() < prefix.len() {
            p.data.resize(prefix.len(), 0);
        }
        p.data[..prefix.len()].copy_from_slice(prefix);
        p.add(1, prefix.len() as u64);
    }

    /// Takes one SEND chunk; returns the message once complete or aborted. Offsets in errors are
    /// those of the chunk's headers.
    pub fn push(&mut self, chunk: &Message) -> Result<Option<Reassembled>, DecodeError> {
        if chunk.method() != Some(&Method::Send) {
            return Err(DecodeError::new(0, "rfc4975/7.1 send", "a SEND request"));
        }
        let Some(id) = chunk.message_id() else {
            return Err(DecodeError::new(
                0,
                "rfc4975/7.1 message-id",
                "a Message-ID header on a SEND chunk",
            ));
        };
        let off = chunk
            .headers
            .field("Byte-Range")
            .map(|f| f.value_offset)
            .unwrap_or(0);
        // RFC 4975 7.1.1: without Byte-Range the chunk is the whole message from byte 1.
        let range = match chunk.byte_range() {
            Some(r) => r?,
            None => ByteRange {
                start: 1,
                end: None,
                total: None,
            },
        };
        let len = chunk.body.len() as u64;
        let Some(end) = range.start.checked_add(len).map(|x| x - 1) else {
            return Err(DecodeError::new(off, RULE_RANGE, "a range within 64 bits"));
        };
        if let Some(e) = range.end {
            if e != end {
                return Err(DecodeError::new(
                    off,
                    RULE_RANGE,
                    format!("a range end of {end} matching the {len}-byte body"),
                ));
            }
        }
        let limit = self.limits.max_body as u64;
        if end > limit || range.total.is_some_and(|t| t > limit) {
            return Err(DecodeError::new(
                off,
                "limits/body-size",
                format!("a message of at most {limit} bytes"),
            ));
        }
        let p = self.pending.entry(id.to_owned()).or_default();
        if let Some(t) = range.total {
            if p.total.is_some_and(|old| old != t) || end > t {
                return Err(DecodeError::new(
                    off,
                    RULE_RANGE,
                    "the same total size in every chunk, covering the chunk",
                ));
            }
            p.total = Some(t);
        }
        if p.content_type.is_empty() {
            if let Some(ct) = chunk.content_type() {
                p.content_type = ct.to_owned();
            }
        }
        if len > 0 {
            let s = (range.start - 1) as usize;
            let e = end as usize;
            if p.data.len() < e {
                p.data.resize(e, 0);
            }
            p.data[s..e].copy_from_slice(&chunk.body);
            p.add(range.start, end);
        }
        match chunk.flag {
            Flag::Abort => {
                let p = self.pending.remove(id).unwrap_or_default();
                let n = p.prefix_len() as usize;
                let mut body = p.data;
                body.truncate(n);
                Ok(Some(Reassembled {
                    message_id: id.to_owned(),
                    content_type: p.content_type,
                    body,
                    aborted: true,
                }))
            }
            Flag::Complete | Flag::More => {
                if chunk.flag == Flag::Complete {
                    p.last_end = Some(end);
                }
                if !p.complete() {
                    return Ok(None);
                }
                let p = self.pending.remove(id).unwrap_or_default();
                let total = p.total.or(p.last_end).unwrap_or(0) as usize;
                let mut body = p.data;
                body.truncate(total);
                Ok(Some(Reassembled {
                    message_id: id.to_owned(),
                    content_type: p.content_type,
                    body,
                    aborted: false,
                }))
            }
        }
    }
}
