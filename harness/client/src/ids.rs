//! Seeded generation of every id the client makes (Call-ID, tags, Conversation-ID, ...), so the
//! same seed gives the same traffic.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The client's id generator.
#[derive(Debug, Clone)]
pub struct Ids {
    rng: ChaCha8Rng,
}

impl Ids {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Ids {
        Ids {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// `len` lower-case alphanumeric characters.
    pub fn token(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        (0..len)
            .map(|_| {
                let i = self.rng.gen_range(0..ALPHABET.len());
                char::from(ALPHABET.get(i).copied().unwrap_or(b'a'))
            })
            .collect()
    }

    /// A version-4 UUID, lower-case (Conversation-ID, Contribution-ID, instance id).
    pub fn uuid(&mut self) -> String {
        let mut b: [u8; 16] = self.rng.gen();
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex::encode(b);
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    /// A number for SDP origins.
    pub fn number(&mut self) -> u64 {
        self.rng.gen_range(1..1_000_000_000)
    }
}
