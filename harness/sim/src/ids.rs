//! The seeded generator of every identifier the sim writes (tags, branches, Call-IDs, nonces,
//! MSRP session ids), so that a run with the same seed and client is reproducible.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Seeded identifier generator.
#[derive(Debug)]
pub struct IdGen {
    rng: ChaCha8Rng,
}

impl IdGen {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> IdGen {
        IdGen {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// `len` lowercase alphanumerics.
    pub fn token(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        (0..len)
            .map(|_| {
                let i = self.rng.gen_range(0..ALPHABET.len());
                ALPHABET.get(i).copied().map(char::from).unwrap_or('x')
            })
            .collect()
    }

    /// A tag (RFC 3261 19.3: at least 32 random bits).
    pub fn tag(&mut self) -> String {
        self.token(10)
    }

    /// A branch with the RFC 3261 magic cookie.
    pub fn branch(&mut self) -> String {
        format!("z9hG4bK{}", self.token(16))
    }

    /// A Call-ID.
    pub fn call_id(&mut self) -> String {
        format!("{}@sim", self.token(20))
    }

    /// A 64-bit value (MSRP session seeds, SDP session ids).
    pub fn u64(&mut self) -> u64 {
        self.rng.next_u64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_ids() {
        let mut a = IdGen::new(7);
        let mut b = IdGen::new(7);
        assert_eq!(a.branch(), b.branch());
        assert_eq!(a.call_id(), b.call_id());
        let mut c = IdGen::new(8);
        assert_ne!(IdGen::new(7).tag(), c.tag());
    }
}
