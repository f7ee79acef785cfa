//! A bounded byte ring keeping the last few KiB an adapter wrote to stderr.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Bytes kept from an adapter's stderr.
pub const STDERR_TAIL: usize = 8 * 1024;

/// Shared, bounded tail of a byte stream.
#[derive(Debug, Clone, Default)]
pub struct TailBuffer {
    inner: Arc<Mutex<VecDeque<u8>>>,
}

impl TailBuffer {
    /// Appends bytes, dropping the oldest beyond [`STDERR_TAIL`].
    pub fn push(&self, bytes: &[u8]) {
        let Ok(mut q) = self.inner.lock() else { return };
        let bytes = if bytes.len() > STDERR_TAIL {
            &bytes[bytes.len() - STDERR_TAIL..]
        } else {
            bytes
        };
        q.extend(bytes.iter().copied());
        let excess = q.len().saturating_sub(STDERR_TAIL);
        q.drain(..excess);
    }

    /// The kept bytes as text (lossy UTF-8).
    pub fn tail(&self) -> String {
        match self.inner.lock() {
            Ok(q) => {
                let v: Vec<u8> = q.iter().copied().collect();
                String::from_utf8_lossy(&v).into_owned()
            }
            Err(_) => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_last_bytes() {
        let t = TailBuffer::default();
        t.push(&vec![b'a'; STDERR_TAIL]);
        t.push(b"end");
        let s = t.tail();
        assert_eq!(s.len(), STDERR_TAIL);
        assert!(s.ends_with("aend"));
        t.push(&vec![b'z'; STDERR_TAIL * 2]);
        assert_eq!(t.tail(), "z".repeat(STDERR_TAIL));
    }
}
