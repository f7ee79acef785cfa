//! The one seeded generator of every identifier a party writes (Via branches, tags, Call-IDs,
//! nonces, UUIDs, MSRP and SDP ids): the same seed gives the same identifiers, so a run with the
//! same seed and client gives the same bytes on the wire apart from ports and timestamps.

use cpmconf_codec::sip::via::MAGIC_COOKIE;
use rand::rngs::ChaCha8Rng;
use rand::{Rng, RngExt, SeedableRng};

/// A seeded identifier generator.
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

    /// A generator for the part `label` of a party seeded with `seed` (see [`derive_seed`]).
    pub fn derived(seed: u64, label: &str) -> IdGen {
        IdGen::new(derive_seed(seed, label))
    }

    /// `len` lowercase alphanumerics.
    pub fn token(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        (0..len)
            .map(|_| {
                let i = self.rng.random_range(0..ALPHABET.len());
                ALPHABET.get(i).copied().map(char::from).unwrap_or('x')
            })
            .collect()
    }

    /// A tag (RFC 3261 19.3: at least 32 random bits; 10 of 36 symbols carry about 51).
    pub fn tag(&mut self) -> String {
        self.token(10)
    }

    /// A branch: the RFC 3261 magic cookie and 16 alphanumerics.
    pub fn branch(&mut self) -> String {
        format!("{MAGIC_COOKIE}{}", self.token(16))
    }

    /// A 64-bit value (MSRP session seeds, SDP session ids).
    pub fn u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// A number in 1..10^9 (SDP origins).
    pub fn number(&mut self) -> u64 {
        self.rng.random_range(1..1_000_000_000)
    }

    /// A version-4 UUID, lower-case (Conversation-ID, Contribution-ID, instance id).
    pub fn uuid(&mut self) -> String {
        let mut b: [u8; 16] = self.rng.random();
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }
}

/// A seed for the part `label` of a party seeded with `seed`: stable (FNV-1a over the label,
/// mixed with the seed), and different per label so two parts of one run (the simulator's core
/// and the client's endpoint) never draw the same identifiers.
pub fn derive_seed(seed: u64, label: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in label.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (seed ^ h).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_ids_and_another_seed_others() {
        let mut a = IdGen::new(7);
        let mut b = IdGen::new(7);
        assert_eq!(a.branch(), b.branch());
        assert_eq!(a.uuid(), b.uuid());
        assert_ne!(IdGen::new(7).tag(), IdGen::new(8).tag());
        assert!(a.branch().starts_with(MAGIC_COOKIE));
    }

    #[test]
    fn derived_parts_differ() {
        assert_eq!(derive_seed(3, "core"), derive_seed(3, "core"));
        assert_ne!(derive_seed(3, "core"), derive_seed(3, "client"));
        assert_ne!(derive_seed(3, "core"), derive_seed(4, "core"));
    }

    #[test]
    fn uuid_is_version_4() {
        let u = IdGen::new(1).uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(u.as_bytes()[14], b'4');
        assert!(matches!(u.as_bytes()[19], b'8' | b'9' | b'a' | b'b'), "{u}");
    }
}
