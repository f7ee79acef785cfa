//! Near-valid inputs for the property tests: a valid corpus message with a few byte edits
//! (replace, insert, delete), biased to the bytes that matter to the grammars, and a
//! deterministic count of how many of them a decoder accepts.
#![allow(dead_code)]

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

/// The files `names` under fixtures/`dir`.
pub fn corpus(dir: &str, names: &[&str]) -> Vec<Vec<u8>> {
    names
        .iter()
        .map(|n| {
            let path = format!("{}/../../fixtures/{dir}/{n}", env!("CARGO_MANIFEST_DIR"));
            std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
        })
        .collect()
}

/// One of `corpus` with 1 to `max_edits` edits; a byte is replaced, inserted or deleted.
pub fn edited(corpus: Vec<Vec<u8>>, max_edits: usize) -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        Just(b'\r'),
        Just(b'\n'),
        Just(b' '),
        Just(b':'),
        Just(b';'),
        Just(b'<'),
        Just(b'>'),
        Just(b'-'),
        Just(b'a'),
        Just(b'0'),
        any::<u8>(),
    ];
    (
        0..corpus.len(),
        proptest::collection::vec((any::<prop::sample::Index>(), byte, 0u8..3), 1..=max_edits),
    )
        .prop_map(move |(which, edits)| {
            let mut buf = corpus[which].clone();
            for (idx, byte, op) in edits {
                if buf.is_empty() {
                    break;
                }
                let i = idx.index(buf.len());
                match op {
                    0 => buf[i] = byte,
                    1 => buf.insert(i, byte),
                    _ => {
                        buf.remove(i);
                    }
                }
            }
            buf
        })
}

/// Draws `n` values of `strategy` from a deterministic runner, calls `check` on each, and
/// returns how many `check` accepted (`true`).
pub fn accepted<S: Strategy>(
    strategy: S,
    n: usize,
    mut check: impl FnMut(&S::Value) -> bool,
) -> usize {
    let mut runner = TestRunner::deterministic();
    let mut ok = 0;
    for _ in 0..n {
        let v = strategy
            .new_tree(&mut runner)
            .expect("the strategy generates")
            .current();
        if check(&v) {
            ok += 1;
        }
    }
    ok
}
