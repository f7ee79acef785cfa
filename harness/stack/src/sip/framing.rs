//! Sans-IO framing of SIP messages on a byte stream (RFC 3261 18.3: Content-Length delimits
//! each message on TCP), with the buffer bounded by the codec limits.

use cpmconf_codec::sip::Message;
use cpmconf_codec::{DecodeError, Decoded, Limits, Status};

/// Collects stream bytes and cuts whole messages out of them. After the first decode error the
/// stream cannot be resynchronised: the framer yields that error once and nothing more (the
/// owner closes the connection). Error offsets count from the start of the stream.
#[derive(Debug)]
pub struct StreamFramer {
    buf: Vec<u8>,
    /// Start of the bytes not yet cut out: messages are taken from the front by moving it, and
    /// the buffer is compacted once per `push` (not once per message, which moved the rest of
    /// the buffer for every message of a read holding many).
    head: usize,
    consumed: usize,
    limits: Limits,
    cap: usize,
    failed: bool,
}

impl StreamFramer {
    /// An empty framer. The buffer never holds more than one message's worth allowed by
    /// `limits` (header lines plus body) and 64 KiB of slack.
    pub fn new(limits: Limits) -> Self {
        let cap = limits
            .max_headers
            .saturating_add(1)
            .saturating_mul(limits.max_line_len.saturating_add(2))
            .saturating_add(limits.max_body)
            .saturating_add(64 * 1024);
        StreamFramer {
            buf: Vec::new(),
            head: 0,
            consumed: 0,
            limits,
            cap,
            failed: false,
        }
    }

    /// Adds received bytes (ignored after an error).
    pub fn push(&mut self, data: &[u8]) {
        if !self.failed {
            if self.head > 0 {
                self.buf.drain(..self.head);
                self.head = 0;
            }
            self.buf.extend_from_slice(data);
        }
    }

    /// The next whole message with its findings, a decode error (once), or `None` when more
    /// bytes are needed.
    pub fn poll(&mut self) -> Option<Result<Decoded<Message>, DecodeError>> {
        if self.failed {
            return None;
        }
        let rest = self.buf.get(self.head..).unwrap_or_default();
        if let Some(e) = hopeless_start(rest) {
            return Some(Err(self.fail(e)));
        }
        match Message::decode_stream(rest, &self.limits) {
            Ok(Status::Complete { value, consumed }) => {
                let n = consumed.min(rest.len());
                self.head += n;
                self.consumed += n;
                if self.head == self.buf.len() {
                    self.buf.clear();
                    self.head = 0;
                }
                Some(Ok(value))
            }
            Ok(Status::Partial) => {
                if rest.len() > self.cap {
                    let e = DecodeError::new(
                        rest.len(),
                        "limits/stream-buffer",
                        format!("a complete message within {} bytes", self.cap),
                    );
                    return Some(Err(self.fail(e)));
                }
                None
            }
            Err(e) => Some(Err(self.fail(e))),
        }
    }

    fn fail(&mut self, e: DecodeError) -> DecodeError {
        self.failed = true;
        self.buf = Vec::new();
        self.head = 0;
        e.shifted(self.consumed)
    }

    /// Bytes of an incomplete message held (CR and LF keep-alives not counted).
    pub fn pending_bytes(&self) -> usize {
        self.buf
            .get(self.head..)
            .unwrap_or_default()
            .iter()
            .filter(|b| !matches!(b, b'\r' | b'\n'))
            .count()
    }

    /// Bytes held in the buffer.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.head
    }
}

/// RFC 3261 7.1 / 7.2: a start line begins with a method token or `SIP/`; a stream whose first
/// word already holds a non-token byte can never become a message, so it is rejected at once
/// instead of waiting for a line end that may never come.
fn hopeless_start(buf: &[u8]) -> Option<DecodeError> {
    let start = buf.iter().position(|b| !matches!(b, b'\r' | b'\n'))?;
    for (i, b) in buf.iter().enumerate().skip(start) {
        if matches!(b, b' ' | b'\r' | b'\n') {
            return None;
        }
        let token = b.is_ascii_alphanumeric() || b"-.!%*_+`'~/".contains(b);
        if !token {
            return Some(DecodeError::new(
                i,
                "rfc3261/7.1 start-line",
                "a method token or SIP-Version at the start of a message",
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    const TWO: &[u8] = b"MESSAGE sip:b@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK1\r\nContent-Length: 5\r\n\r\nhello\r\n\r\nSIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK1\r\nContent-Length: 0\r\n\r\n";

    fn drain(f: &mut StreamFramer, out: &mut Vec<Result<Message, DecodeError>>) {
        while let Some(r) = f.poll() {
            out.push(r.map(|d| d.value));
        }
    }

    #[test]
    fn every_split_point_gives_the_same_two_messages() {
        for cut in 0..=TWO.len() {
            let mut f = StreamFramer::new(Limits::default());
            let mut out = Vec::new();
            f.push(&TWO[..cut]);
            drain(&mut f, &mut out);
            f.push(&TWO[cut..]);
            drain(&mut f, &mut out);
            assert_eq!(out.len(), 2, "cut at {cut}");
            let first = out[0].as_ref().expect("first");
            assert_eq!(first.body, b"hello");
            let second = out[1].as_ref().expect("second");
            assert_eq!(second.status().map(|s| s.0), Some(200));
            assert_eq!(f.buffered(), 0);
        }
    }

    #[test]
    fn error_offset_counts_from_stream_start_and_is_reported_once() {
        let mut f = StreamFramer::new(Limits::default());
        let mut input = TWO.to_vec();
        input.extend_from_slice(b"\x00garbage");
        f.push(&input);
        let mut out = Vec::new();
        drain(&mut f, &mut out);
        assert_eq!(out.len(), 3);
        let err = out[2].as_ref().expect_err("garbage");
        assert_eq!(err.offset, TWO.len());
        f.push(b"MESSAGE sip:x SIP/2.0\r\n\r\n");
        assert!(f.poll().is_none());
    }

    #[test]
    fn random_chunks_never_panic_and_stay_bounded() {
        let limits = Limits {
            max_headers: 16,
            max_line_len: 256,
            max_body: 1024,
        };
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(3261);
        for _ in 0..200 {
            let mut f = StreamFramer::new(limits);
            for _ in 0..50 {
                let len = rng.random_range(0..300);
                let mut chunk: Vec<u8> = (0..len).map(|_| rng.random()).collect();
                if rng.random_bool(0.3) {
                    chunk = b"INVITE sip:a SIP/2.0\r\nContent-Length: 9999\r\nX: y\r\n".to_vec();
                }
                f.push(&chunk);
                while f.poll().is_some() {}
                assert!(f.buffered() <= f.cap + 300);
            }
        }
    }
}
