//! The incremental MSRP decoder (fed every split of a multi-frame stream), chunking and
//! reassembly, Byte-Range and MSRP URI syntax.

use cpmconf_codec::msrp::{split, ByteRange, Decoder, Flag, Message, Method, MsrpUri, Reassembler};
use cpmconf_codec::Limits;
use proptest::prelude::*;
use rstest::rstest;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../../fixtures/msrp/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn to() -> MsrpUri {
    MsrpUri::tcp("127.0.0.1", 40123, "s1d2k3")
}
fn from() -> MsrpUri {
    MsrpUri::tcp("127.0.0.1", 40124, "a9b8c7")
}

fn tids() -> impl FnMut() -> String {
    let mut n = 0;
    move || {
        n += 1;
        format!("tid{n:05}")
    }
}

/// A stream of three chunks, a response and the RFC examples.
fn stream() -> (Vec<u8>, Vec<Message>) {
    let content: Vec<u8> = (0..250u32).map(|i| (i % 251) as u8).collect();
    let mut frames = split(
        &content,
        "image/jpeg",
        "msg-1",
        100,
        tids(),
        &[to()],
        &[from()],
        &[("Success-Report", "yes")],
    );
    frames.push(
        Message::response("tid00001", 200u16, Some("OK"))
            .with_header("To-Path", from().to_string())
            .with_header("From-Path", to().to_string()),
    );
    for f in [
        "rfc4975_7_1_send.msrp",
        "rfc4975_7_1_2_report.msrp",
        "rfc4975_7_1_bind_empty_send.msrp",
    ] {
        frames.push(Message::parse(&fixture(f)).unwrap().value);
    }
    let bytes: Vec<u8> = frames.iter().flat_map(|m| m.to_bytes()).collect();
    (bytes, frames)
}

fn drain(d: &mut Decoder, out: &mut Vec<Message>) {
    while let Some(m) = d.next().expect("stream decodes") {
        out.push(m.value);
    }
}

#[test]
fn every_split_point_gives_the_same_frames() {
    let (bytes, frames) = stream();
    for cut in 0..=bytes.len() {
        let mut d = Decoder::new(Limits::default());
        let mut got = Vec::new();
        d.push(&bytes[..cut]);
        drain(&mut d, &mut got);
        d.push(&bytes[cut..]);
        drain(&mut d, &mut got);
        assert_eq!(got, frames, "split at {cut}");
        assert_eq!(d.buffered(), 0);
    }
}

#[test]
fn byte_by_byte_gives_the_same_frames_and_bytes() {
    let (bytes, frames) = stream();
    let mut d = Decoder::new(Limits::default());
    let mut got = Vec::new();
    for b in &bytes {
        d.push(std::slice::from_ref(b));
        drain(&mut d, &mut got);
    }
    assert_eq!(got, frames);
    let again: Vec<u8> = got.iter().flat_map(|m| m.to_bytes()).collect();
    assert_eq!(again, bytes);
}

#[test]
fn chunk_flags_and_ranges() {
    let (_, frames) = stream();
    let ranges: Vec<String> = frames[..3]
        .iter()
        .map(|m| m.header("Byte-Range").unwrap().to_owned())
        .collect();
    assert_eq!(ranges, ["1-100/250", "101-200/250", "201-250/250"]);
    let flags: Vec<Flag> = frames[..3].iter().map(|m| m.flag).collect();
    assert_eq!(flags, [Flag::More, Flag::More, Flag::Complete]);
    assert!(frames[..3]
        .iter()
        .all(|m| m.header("Success-Report") == Some("yes")));
}

#[test]
fn errors_name_absolute_offsets_and_poison() {
    let first = fixture("rfc4975_7_1_ok.msrp");
    let mut bytes = first.clone();
    bytes.extend_from_slice(b"MSRP abcd send\r\n");
    let mut d = Decoder::new(Limits::default());
    d.push(&bytes);
    assert!(d.next().unwrap().is_some());
    let e = d.next().unwrap_err();
    assert_eq!(
        (e.rule, e.offset),
        ("rfc4975/9 start-line", first.len() + 10)
    );
    d.push(&first);
    assert_eq!(d.next().unwrap_err(), e, "poisoned");
}

#[test]
fn garbage_is_rejected_before_a_line_end() {
    let mut d = Decoder::new(Limits::default());
    d.push(b"GET / HT");
    assert_eq!(d.next().unwrap_err().offset, 0);
}

#[test]
fn findings_name_absolute_offsets() {
    let first = fixture("rfc4975_7_1_ok.msrp");
    let mut bytes = first.clone();
    bytes.extend_from_slice(b"MSRP abcd 200 OK\r\nFrom-Path: msrp://127.0.0.1:2/t;tcp\r\nTo-Path: msrp://127.0.0.1:1/s;tcp\r\n-------abcd$\r\n");
    let mut d = Decoder::new(Limits::default());
    d.push(&bytes);
    assert!(d.next().unwrap().unwrap().findings.is_empty());
    let second = d.next().unwrap().unwrap();
    let f = second
        .findings
        .iter()
        .find(|f| f.rule == "rfc4975/9 header-order")
        .unwrap();
    assert!(f.offset > first.len(), "{f}");
}

#[test]
fn aborted_message_is_reported() {
    let mut r = Reassembler::new(Limits::default());
    let m = Message::parse(&fixture("rfc4975_7_1_abort.msrp"))
        .unwrap()
        .value;
    let out = r.push(&m).unwrap().expect("abort reported");
    assert!(out.aborted);
    assert_eq!(out.message_id, "4564dpWd");
    assert_eq!(out.body, b"abcde");
    assert!(r.pending_ids().is_empty());
}

#[test]
fn resume_fills_in_the_rest() {
    let content = b"0123456789abcdefghij".to_vec();
    let chunks = split(
        &content,
        "text/plain",
        "m-r",
        7,
        tids(),
        &[to()],
        &[from()],
        &[],
    );
    let mut r = Reassembler::new(Limits::default());
    // The first chunk arrives, then the connection drops; the resumed transfer sends from 8 on.
    assert_eq!(r.push(&chunks[0]).unwrap(), None);
    assert_eq!(r.push(&chunks[1]).unwrap(), None);
    let done = r.push(&chunks[2]).unwrap().expect("complete");
    assert_eq!(done.body, content);
    assert!(!done.aborted);
    // Resume into a fresh reassembler with the bytes already held.
    let mut r2 = Reassembler::new(Limits::default());
    r2.seed("m-r", "text/plain", &content[..7]);
    assert_eq!(r2.push(&chunks[1]).unwrap(), None);
    let done = r2.push(&chunks[2]).unwrap().expect("complete");
    assert_eq!(done.body, content);
    assert_eq!(done.content_type, "text/plain");
}

#[test]
fn unknown_total_completes_at_the_dollar_chunk() {
    let mut a = Message::request("abcd1", Method::Send, &[to()], &[from()])
        .with_header("Message-ID", "u")
        .with_header("Byte-Range", "1-*/*")
        .with_body("text/plain", b"abc".to_vec())
        .with_flag(Flag::More);
    let b = Message::request("abcd2", Method::Send, &[to()], &[from()])
        .with_header("Message-ID", "u")
        .with_header("Byte-Range", "4-5/*")
        .with_body("text/plain", b"de".to_vec());
    let mut r = Reassembler::new(Limits::default());
    assert_eq!(r.push(&b).unwrap(), None);
    a.flag = Flag::More;
    assert_eq!(r.push(&a).unwrap().unwrap().body, b"abcde");
}

#[test]
fn inconsistent_range_is_an_error() {
    let m = Message::request("abcd1", Method::Send, &[to()], &[from()])
        .with_header("Message-ID", "x")
        .with_header("Byte-Range", "1-9/9")
        .with_body("text/plain", b"abc".to_vec());
    let e = Reassembler::new(Limits::default()).push(&m).unwrap_err();
    assert_eq!(e.rule, "rfc4975/7.1.1 byte-range");
}

#[rstest]
#[case("1-25/25", ByteRange { start: 1, end: Some(25), total: Some(25) })]
#[case("1-*/*", ByteRange { start: 1, end: None, total: None })]
#[case("4097-*/8191", ByteRange { start: 4097, end: None, total: Some(8191) })]
#[case("1-0/0", ByteRange { start: 1, end: Some(0), total: Some(0) })]
fn byte_range_syntax(#[case] text: &str, #[case] want: ByteRange) {
    assert_eq!(ByteRange::parse(text).unwrap(), want);
    assert_eq!(want.to_string(), text);
}

#[rstest]
#[case("0-5/5", 0)]
#[case("1-5", 3)]
#[case("1-x/5", 2)]
#[case("1:5/5", 3)]
#[case("1-6/5", 2)]
fn byte_range_errors(#[case] text: &str, #[case] offset: usize) {
    let e = ByteRange::parse(text).unwrap_err();
    assert_eq!(e.offset, offset, "{e}");
}

#[rstest]
#[case(
    "msrp://127.0.0.1:40123/s1d2k3;tcp",
    false,
    "127.0.0.1",
    Some(40123),
    "s1d2k3"
)]
#[case(
    "msrps://bob@[::1]:2855/ab+c=/d;tcp;x=1",
    true,
    "[::1]",
    Some(2855),
    "ab+c=/d"
)]
#[case("msrp://relay.example.com;tcp", false, "relay.example.com", None, "")]
fn msrp_uri_syntax(
    #[case] text: &str,
    #[case] secure: bool,
    #[case] host: &str,
    #[case] port: Option<u16>,
    #[case] sid: &str,
) {
    let u = MsrpUri::parse(text).unwrap();
    assert_eq!(
        (u.secure, u.host.as_str(), u.port, u.session_id.as_str()),
        (secure, host, port, sid)
    );
    assert_eq!(u.to_string(), text);
}

#[rstest]
#[case("sip:bob@example.com", 0)]
#[case("msrp://127.0.0.1:40123/s1d2k3", 29)]
#[case("msrp://127.0.0.1:99999/s;tcp", 17)]
#[case("msrp://127.0.0.1:1/s d;tcp", 20)]
fn msrp_uri_errors(#[case] text: &str, #[case] offset: usize) {
    assert_eq!(MsrpUri::parse(text).unwrap_err().offset, offset);
}

#[rstest]
#[case("msrp://127.0.0.1:2855/abc;tcp", "MSRP://127.0.0.1/abc;TCP;x=y", true)]
#[case("msrp://Host.Test:7/abc;tcp", "msrp://host.test:7/abc;tcp", true)]
#[case("msrp://h.test:7/abc;tcp", "msrp://h.test:7/ABC;tcp", false)]
#[case("msrp://h.test:7/abc;tcp", "msrps://h.test:7/abc;tcp", false)]
#[case("msrp://h.test:7/abc;tcp", "msrp://h.test:8/abc;tcp", false)]
fn session_matching(#[case] a: &str, #[case] b: &str, #[case] same: bool) {
    assert_eq!(
        MsrpUri::parse(a)
            .unwrap()
            .same_session(&MsrpUri::parse(b).unwrap()),
        same
    );
}

proptest! {
    #[test]
    fn split_shuffle_reassemble(content in proptest::collection::vec(any::<u8>(), 0..3000), max in 1usize..700, seed in any::<u64>()) {
        let mut chunks = split(&content, "application/octet-stream", "mid", max, tids(), &[to()], &[from()], &[]);
        prop_assert_eq!(chunks.len(), content.len().div_ceil(max).max(1));
        // Deterministic shuffle.
        let mut s = seed;
        for i in (1..chunks.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            chunks.swap(i, (s >> 33) as usize % (i + 1));
        }
        let mut r = Reassembler::new(Limits::default());
        let mut done = None;
        for (i, c) in chunks.iter().enumerate() {
            // Chunks survive the wire too.
            let c = Message::parse(&c.to_bytes()).unwrap().value;
            let out = r.push(&c).unwrap();
            if i + 1 < chunks.len() {
                prop_assert!(out.is_none());
            } else {
                done = out;
            }
        }
        let done = done.expect("complete after the last chunk");
        prop_assert_eq!(done.body, content);
        prop_assert!(!done.aborted);
    }

    #[test]
    fn random_splits_decode_the_same(cuts in proptest::collection::vec(any::<usize>(), 0..12)) {
        let (bytes, frames) = stream();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
        cuts.sort_unstable();
        let mut d = Decoder::new(Limits::default());
        let mut got = Vec::new();
        let mut last = 0;
        for c in cuts.into_iter().chain([bytes.len()]) {
            d.push(&bytes[last..c]);
            last = c;
            drain(&mut d, &mut got);
        }
        prop_assert_eq!(got, frames);
    }

    #[test]
    fn decoder_never_panics(parts in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..8)) {
        let mut d = Decoder::new(Limits { max_body: 256, max_line_len: 128, max_headers: 8 });
        for p in parts {
            d.push(&p);
            while let Ok(Some(_)) = d.next() {}
        }
    }

    #[test]
    fn uri_parse_never_panics(s in "\\PC{0,60}") {
        let _ = MsrpUri::parse(&s);
        let _ = ByteRange::parse(&s);
    }
}

#[rstest]
#[case::huge_start("9999999999999999999-*/*", "limits/body-size")]
#[case::over_total("3-4/3", "rfc4975/9 byte-range")]
#[case::wrong_end("1-1/2", "rfc4975/7.1.1 byte-range")]
fn reassembler_rejects_bad_ranges(#[case] range: &str, #[case] rule: &str) {
    let m = Message::request("abcd1", Method::Send, &[to()], &[from()])
        .with_header("Message-ID", "x")
        .with_header("Byte-Range", range)
        .with_body("text/plain", b"ab".to_vec());
    let e = Reassembler::new(Limits::default()).push(&m).unwrap_err();
    assert_eq!(e.rule, rule, "{e}");
}

proptest! {
    #[test]
    fn reassembler_never_panics(chunks in proptest::collection::vec(("[0-9*]{1,20}-[0-9*]{1,20}/[0-9*]{1,20}", proptest::collection::vec(any::<u8>(), 0..40), 0u8..3), 0..10)) {
        let mut r = Reassembler::new(Limits { max_body: 4096, ..Limits::default() });
        for (range, body, flag) in chunks {
            let flag = [Flag::Complete, Flag::More, Flag::Abort][flag as usize];
            let m = Message::request("abcd1", Method::Send, &[to()], &[from()])
                .with_header("Message-ID", "x")
                .with_header("Byte-Range", range)
                .with_body("text/plain", body)
                .with_flag(flag);
            let _ = r.push(&m);
        }
    }
}

#[test]
fn large_chunk_in_small_reads_is_scanned_once() {
    let content = vec![b'x'; 4 * 1024 * 1024];
    let frames = split(
        &content,
        "application/octet-stream",
        "big",
        0,
        tids(),
        &[to()],
        &[from()],
        &[],
    );
    let bytes = frames[0].to_bytes();
    let limits = Limits::default();
    let mut d = Decoder::new(limits);
    let mut got = Vec::new();
    let mut reads = 0;
    for piece in bytes.chunks(1500) {
        d.push(piece);
        drain(&mut d, &mut got);
        reads += 1;
    }
    assert_eq!(got, frames);
    // Each read searches its new bytes and at most one line (plus a CRLF and an end-line's
    // margin) before them; re-scanning the whole buffer on every read would search about
    // `reads * len / 2` bytes (thousands of times more).
    let bound = (bytes.len() + reads * (limits.max_line_len + 16)) as u64;
    assert!(
        d.scanned() <= bound,
        "scanned {} bytes for a {}-byte frame in {reads} reads (bound {bound})",
        d.scanned(),
        bytes.len()
    );
    assert!(d.scanned() >= bytes.len() as u64, "{}", d.scanned());
}

/// RFC 4975 9 has no empty lines between frames: the decoder skips them and reports a warning at
/// the first skipped byte, on the frame that follows; empty lines at the end wait for more.
#[test]
fn empty_lines_between_frames_are_skipped_with_a_finding() {
    let (_, frames) = stream();
    let first = frames[0].to_bytes();
    let second = frames[1].to_bytes();
    let mut bytes = first.clone();
    bytes.extend_from_slice(b"\r\n\r\n");
    bytes.extend_from_slice(&second);
    bytes.extend_from_slice(b"\r\n");
    let mut d = Decoder::new(Limits::default());
    d.push(&bytes);
    let a = d.next().unwrap().expect("first frame");
    assert_eq!(a.value, frames[0]);
    assert!(a.findings.is_empty(), "{:?}", a.findings);
    let b = d.next().unwrap().expect("second frame");
    assert_eq!(b.value, frames[1]);
    let found: Vec<(&str, usize)> = b.findings.iter().map(|f| (f.rule, f.offset)).collect();
    assert_eq!(found, vec![("rfc4975/9 between-frames", first.len())]);
    // The trailing CRLF is not a frame.
    assert!(d.next().unwrap().is_none());
}
