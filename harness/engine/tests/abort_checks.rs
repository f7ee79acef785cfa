//! The `expect_none` steps of sender-abort-bye (7.4.3/abort-bye-sender) as written in the
//! scenario file, judged on hand-written MSRP chunks: the preconditions see the chunk that
//! completes the file (a client that sent it all before the abort is not in the situation:
//! `inconclusive`) and nothing else; the check after the abort sees every chunk of the file but
//! one that aborts it with `#` (RFC 4975 7.1.5, allowed by the catalogue): a client that keeps
//! sending after the BYE fails.

use std::path::Path;

use cpmconf_codec::msrp;
use cpmconf_engine::matcher::violates;
use cpmconf_engine::scenario::{load_file, Expect, Step};
use cpmconf_engine::{MatchEnv, Observed};
use rstest::rstest;

fn expect_nones() -> Vec<Expect> {
    let p =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/7.4.3/sender-abort-bye.yaml");
    load_file(&p)
        .unwrap_or_else(|d| panic!("{d}"))
        .scenario
        .steps
        .into_iter()
        .filter_map(|s| match s {
            Step::ExpectNone(e) => Some(*e),
            _ => None,
        })
        .collect()
}

/// The precondition steps (no `verifies`): the file must not be complete yet.
fn preconditions() -> Vec<Expect> {
    let v: Vec<Expect> = expect_nones()
        .into_iter()
        .filter(|e| e.verifies.is_empty())
        .collect();
    assert_eq!(
        v.len(),
        2,
        "two preconditions: before bob's 200 and before the abort"
    );
    v
}

/// The step that verifies the requirement: no chunk of the file after the abort.
fn after_abort() -> Expect {
    let mut v: Vec<Expect> = expect_nones()
        .into_iter()
        .filter(|e| e.verifies.iter().any(|id| id == "7.4.3/abort-bye-sender"))
        .collect();
    assert_eq!(v.len(), 1);
    v.remove(0)
}

/// A SEND chunk of `len` bytes with `range`, ended by `flag`.
fn chunk(range: &str, len: usize, flag: char) -> msrp::Message {
    let body = "x".repeat(len);
    let raw = format!("MSRP t1 SEND\r\nTo-Path: msrp://127.0.0.1:7394/s1;tcp\r\nFrom-Path: msrp://127.0.0.1:7000/s2;tcp\r\nMessage-ID: m1\r\nByte-Range: {range}\r\nContent-Type: application/octet-stream\r\n\r\n{body}\r\n-------t1{flag}\r\n");
    msrp::Message::parse(raw.as_bytes()).unwrap().value
}

/// The connection-opening empty SEND (RFC 4975 7.1.1).
fn opener() -> msrp::Message {
    msrp::Message::parse(b"MSRP t0 SEND\r\nTo-Path: msrp://127.0.0.1:7394/s1;tcp\r\nFrom-Path: msrp://127.0.0.1:7000/s2;tcp\r\nMessage-ID: m0\r\nByte-Range: 1-0/0\r\n\r\n-------t0$\r\n").unwrap().value
}

#[rstest]
// The last chunk, whatever the chunk size or a total of `*`: the file is complete, the
// situation is gone.
#[case::last_chunk(chunk("38913-40000/40000", 1088, '$'), true)]
#[case::whole_file_at_once(chunk("1-40000/40000", 40000, '$'), true)]
#[case::last_chunk_unknown_total(chunk("30001-40000/*", 10000, '$'), true)]
// A chunk in the middle, or one that aborts the file: still incomplete.
#[case::middle_chunk(chunk("8193-10240/40000", 2048, '+'), false)]
#[case::middle_chunk_unknown_total(chunk("8193-10240/*", 2048, '+'), false)]
#[case::aborting_chunk(chunk("8193-10240/40000", 2048, '#'), false)]
#[case::connection_opener(opener(), false)]
fn a_precondition_sees_only_the_chunk_that_completes_the_file(
    #[case] m: msrp::Message,
    #[case] complete: bool,
) {
    for e in preconditions() {
        let got = violates(&e, Observed::Msrp(&m), &MatchEnv::default()).unwrap();
        assert_eq!(got, complete, "{m:?}");
    }
}

#[rstest]
// A client that keeps sending after the abort: any chunk of the file but an aborting one fails.
#[case::next_chunk(chunk("10241-12288/40000", 2048, '+'), true)]
#[case::last_chunk(chunk("38913-40000/40000", 1088, '$'), true)]
#[case::rest_at_once_unknown_total(chunk("10241-40000/*", 29760, '$'), true)]
// Closing the chunk in flight with `#` is allowed (RFC 4975 7.1.5), before or after the BYE.
#[case::aborting_chunk(chunk("10241-12288/40000", 2048, '#'), false)]
#[case::aborting_empty_chunk(chunk("10241-10240/40000", 0, '#'), false)]
#[case::connection_opener(opener(), false)]
fn after_the_abort_only_a_chunk_that_aborts_the_file_may_go_out(
    #[case] m: msrp::Message,
    #[case] forbidden: bool,
) {
    let e = after_abort();
    let got = violates(&e, Observed::Msrp(&m), &MatchEnv::default()).unwrap();
    assert_eq!(got, forbidden, "{m:?}");
}
