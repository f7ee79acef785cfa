//! multipart/mixed (RFC 2046 5.1): generated bodies round-trip through build, encode and parse;
//! decoded bodies re-encode byte for byte; malformed bodies give errors with offsets.

use cpmconf_codec::multipart::{Multipart, Part};
use cpmconf_codec::Limits;
use proptest::prelude::*;
use rstest::rstest;

fn arb_part() -> impl Strategy<Value = Part> {
    (
        "(text/plain|application/sdp|message/cpim|application/resource-lists\\+xml)",
        prop::collection::vec(("X-[A-Za-z]{1,8}", "[!-~]([ -~]{0,20}[!-~])?"), 0..3),
        // Bytes without '-' cannot form a delimiter line.
        prop::collection::vec(any::<u8>().prop_filter("no dash", |b| *b != b'-'), 0..120),
    )
        .prop_map(|(ct, hs, body)| {
            let mut p = Part::new(&ct, body);
            for (n, v) in hs {
                p = p.with_header(&n, &v);
            }
            p
        })
}

proptest! {
    #[test]
    fn built_bodies_parse_back(boundary in "[A-Za-z0-9]{1,30}", parts in prop::collection::vec(arb_part(), 1..5)) {
        let mut m = Multipart::new(&boundary);
        for p in &parts {
            m = m.with_part(p.clone());
        }
        let bytes = m.to_bytes();
        let back = Multipart::parse_with_type(&m.content_type(), &bytes).unwrap().value;
        prop_assert_eq!(back.parts.len(), parts.len());
        for (a, b) in back.parts.iter().zip(&parts) {
            prop_assert_eq!(&a.headers, &b.headers);
            prop_assert_eq!(&a.body, &b.body);
        }
        prop_assert_eq!(back.to_bytes(), bytes);
    }

    #[test]
    fn arbitrary_bodies_never_panic(buf in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = Multipart::parse(&buf, "b", &Limits::default());
    }
}

#[rstest]
#[case::lf_only(b"--b\nContent-Type: text/plain\n\nhi\n--b--\n".as_slice(), 1)]
#[case::no_part_headers(b"--b\r\n\r\nbody\r\n--b--".as_slice(), 1)]
#[case::padding_and_epilogue(b"pre\r\n--b \t\r\n\r\nx\r\n--b\r\n\r\ny\r\n--b--  \r\ntrailing".as_slice(), 2)]
fn decoded_bodies_round_trip(#[case] body: &[u8], #[case] parts: usize) {
    let m = Multipart::parse(body, "b", &Limits::default())
        .unwrap()
        .value;
    assert_eq!(m.parts.len(), parts);
    assert_eq!(m.to_bytes(), body);
}

#[rstest]
#[case::no_boundary_param("multipart/mixed", b"--b\r\n\r\nx\r\n--b--".as_slice(), "rfc2046/5.1.1 boundary", 15)]
#[case::no_first_delimiter("multipart/mixed;boundary=b", b"just text".as_slice(), "rfc2046/5.1.1 dash-boundary", 0)]
#[case::no_close_delimiter("multipart/mixed;boundary=b", b"--b\r\n\r\nx\r\n--b\r\n\r\ny".as_slice(), "rfc2046/5.1.1 close-delimiter", 18)]
fn malformed_bodies(
    #[case] ct: &str,
    #[case] body: &[u8],
    #[case] rule: &str,
    #[case] offset: usize,
) {
    let e = Multipart::parse_with_type(ct, body).unwrap_err();
    assert_eq!((e.rule, e.offset), (rule, offset), "{e}");
}

/// Found by the fuzzer: two delimiter lines in a row (no part between them) once underflowed.
#[test]
fn adjacent_delimiters_are_an_error_not_a_panic() {
    let body = b"I\n--b0undary\n--b0undary\n-\x07y?\x00\x00\x00\r\n\x00)\n\n--b0undary--b1adary\n";
    let err = cpmconf_codec::multipart::Multipart::parse(
        body,
        "b0undary",
        &cpmconf_codec::Limits::default(),
    )
    .expect_err("no part between the delimiters");
    assert_eq!(err.offset, 13);
}
