//! SDP session descriptions: the RFC 4975 and RFC 5547 offer/answer examples, MSRP and
//! file-transfer attributes, builders, round trips.

use cpmconf_codec::msrp::MsrpUri;
use cpmconf_codec::sdp::{
    chat_answer, chat_offer, file_answer, file_offer, Direction, FileAttributes, FileDate,
    FileRange, FileSelector, MsrpMedia, Origin, SessionDescription, Setup,
};
use proptest::prelude::*;
use rstest::rstest;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../../fixtures/sdp/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[rstest]
#[case::alice(
    "rfc4975_8_alice_offer.sdp",
    7777,
    "alicepc.example.com",
    Direction::SendRecv
)]
#[case::bob(
    "rfc4975_8_bob_answer.sdp",
    8888,
    "bob.example.com",
    Direction::SendRecv
)]
#[case::push_offer(
    "rfc5547_push_offer.sdp",
    7654,
    "atlanta.example.com",
    Direction::SendOnly
)]
#[case::push_answer(
    "rfc5547_push_answer.sdp",
    8888,
    "bob.example.com",
    Direction::RecvOnly
)]
#[case::resume(
    "rfc5547_resume_answer.sdp",
    8888,
    "bob.example.com",
    Direction::RecvOnly
)]
fn rfc_examples_decode_and_round_trip(
    #[case] file: &str,
    #[case] port: u16,
    #[case] path_host: &str,
    #[case] dir: Direction,
) {
    let bytes = fixture(file);
    let d = SessionDescription::parse(&bytes).expect("decodes");
    assert!(d.findings.is_empty(), "{file}: {:?}", d.findings);
    let sd = d.value;
    assert_eq!(sd.to_bytes(), bytes, "byte-exact");
    let m = sd.msrp_media().expect("an MSRP media description");
    let ml = m.media_line().unwrap();
    assert_eq!(
        (ml.port, ml.proto.as_str(), ml.formats.clone()),
        (port, "TCP/MSRP", vec!["*".to_string()])
    );
    let path = m.path().unwrap().unwrap();
    assert_eq!(path[0].host, path_host);
    assert_eq!(sd.effective_direction(m), dir);
    assert_eq!(m.direction(), dir);
}

#[test]
fn push_offer_file_attributes() {
    let sd = SessionDescription::parse(&fixture("rfc5547_push_offer.sdp"))
        .unwrap()
        .value;
    let m = &sd.media[0];
    let sel = m.file_selector().unwrap().unwrap();
    assert_eq!(sel.name.as_deref(), Some("My cool picture.jpg"));
    assert_eq!(sel.file_type.as_deref(), Some("image/jpeg"));
    assert_eq!(sel.size, Some(32349));
    let (alg, hash) = sel.hash.clone().unwrap();
    assert_eq!(
        (alg.as_str(), hash.len(), hash[0], hash[19]),
        ("sha-1", 20, 0x72, 0x2E)
    );
    assert_eq!(
        m.attr("file-selector").unwrap(),
        sel.to_string(),
        "canonical form equals the RFC text"
    );
    assert_eq!(
        m.file_transfer_id(),
        Some("vBnG916bdberum2fFEABR1FR3ExZMUrd")
    );
    assert_eq!(m.file_disposition(), Some("attachment"));
    assert_eq!(
        m.file_date().unwrap().unwrap().creation.as_deref(),
        Some("Mon, 15 May 2006 15:01:31 +0300")
    );
    assert_eq!(m.file_icon(), Some("cid:id2@alicepc.example.com"));
    assert_eq!(m.max_size(), Some(32349));
    assert_eq!(m.accept_types(), ["message/cpim"]);
    assert_eq!(m.accept_wrapped_types(), ["*"]);
    assert!(m.file_range().is_none());
    assert!(!m.msrp_cema());
    assert_eq!(sd.origin().unwrap().username, "alice");
}

#[test]
fn resume_answer_range() {
    let sd = SessionDescription::parse(&fixture("rfc5547_resume_answer.sdp"))
        .unwrap()
        .value;
    assert_eq!(
        sd.media[0].file_range().unwrap().unwrap(),
        FileRange {
            start: 10001,
            stop: None
        }
    );
}

#[rstest]
#[case("1-*", FileRange { start: 1, stop: None })]
#[case("10-32349", FileRange { start: 10, stop: Some(32349) })]
fn file_range_syntax(#[case] text: &str, #[case] want: FileRange) {
    assert_eq!(FileRange::parse(text).unwrap(), want);
    assert_eq!(want.to_string(), text);
}

#[rstest]
#[case::zero("0-5", 0)]
#[case::no_dash("15", 2)]
#[case::reversed("9-3", 2)]
#[case::junk("1-x", 2)]
fn file_range_errors(#[case] text: &str, #[case] offset: usize) {
    assert_eq!(FileRange::parse(text).unwrap_err().offset, offset);
}

#[rstest]
#[case::unquoted_name("name:a.jpg", 5)]
#[case::bad_hash("size:1 hash:sha-1:7:24", 18)]
#[case::bad_size("size:-3", 5)]
#[case::unknown("colour:red", 0)]
fn file_selector_errors(#[case] text: &str, #[case] offset: usize) {
    assert_eq!(FileSelector::parse(text).unwrap_err().offset, offset);
}

#[test]
fn file_date_all_params() {
    let text = r#"creation:"Mon, 15 May 2006 15:01:31 +0300" modification:"Tue, 16 May 2006 09:00:00 +0300" read:"Wed, 17 May 2006 10:00:00 +0300""#;
    let d = FileDate::parse(text).unwrap();
    assert_eq!(d.read.as_deref(), Some("Wed, 17 May 2006 10:00:00 +0300"));
    assert_eq!(d.to_string(), text);
    assert!(FileDate::parse("creation:Mon").is_err());
}

#[rstest]
#[case::not_v(b"o=x 1 1 IN IP4 127.0.0.1\r\n".as_slice(), 0, "rfc4566/5.1 v-line")]
#[case::space(b"v=0\r\no = x\r\n".as_slice(), 5, "rfc4566/5 line-syntax")]
#[case::blank_inside(b"v=0\r\n\r\ns=-\r\n".as_slice(), 5, "rfc4566/5 line-syntax")]
#[case::utf8(b"v=0\r\ns=\xff\r\n".as_slice(), 7, "utf8")]
fn malformed_descriptions(#[case] input: &[u8], #[case] offset: usize, #[case] rule: &str) {
    let e = SessionDescription::parse(input).unwrap_err();
    assert_eq!((e.offset, e.rule), (offset, rule), "{e}");
}

#[rstest]
#[case::no_c(b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=message 9 TCP/MSRP *\r\n".as_slice(), "rfc4566/5.7 c-line")]
#[case::no_t(b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n".as_slice(), "rfc4566/5.9 t-line")]
#[case::bare_lf(b"v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nt=0 0\n".as_slice(), "rfc4566/5 crlf")]
#[case::bad_m(b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=message x TCP/MSRP *\r\n".as_slice(), "rfc4566/5.14 m-line")]
#[case::trailing_blank(b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\r\n".as_slice(), "rfc4566/5 line-syntax")]
fn deviations_are_findings(#[case] input: &[u8], #[case] rule: &str) {
    let d = SessionDescription::parse(input).unwrap();
    assert!(
        d.findings.iter().any(|f| f.rule == rule),
        "{:?}",
        d.findings
    );
    assert_eq!(d.value.to_bytes(), input);
}

#[test]
fn session_level_direction_applies_to_media() {
    let sd = SessionDescription::parse(b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\na=recvonly\r\nm=message 9 TCP/MSRP *\r\na=path:msrp://127.0.0.1:9/x;tcp\r\n").unwrap().value;
    assert_eq!(sd.direction(), Some(Direction::RecvOnly));
    assert_eq!(sd.media[0].direction(), Direction::SendRecv);
    assert_eq!(sd.effective_direction(&sd.media[0]), Direction::RecvOnly);
    assert_eq!(
        sd.effective_connection(&sd.media[0]).unwrap().address,
        "127.0.0.1"
    );
}

fn alice() -> MsrpMedia {
    MsrpMedia::chat(
        "127.0.0.1",
        40123,
        vec![MsrpUri::tcp("127.0.0.1", 40123, "s1d2k3")],
    )
}
fn bob() -> MsrpMedia {
    MsrpMedia::chat(
        "127.0.0.1",
        9,
        vec![MsrpUri::tcp("127.0.0.1", 40200, "b0b")],
    )
}

#[test]
fn chat_offer_answer() {
    let offer = chat_offer(&Origin::new("alice", 1, 1, "127.0.0.1"), &alice());
    let text = offer.to_text();
    assert_eq!(
        text,
        "v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=message 40123 TCP/MSRP *\r\n\
         c=IN IP4 127.0.0.1\r\na=path:msrp://127.0.0.1:40123/s1d2k3;tcp\r\na=setup:actpass\r\n\
         a=accept-types:message/cpim application/im-iscomposing+xml\r\n\
         a=accept-wrapped-types:text/plain message/imdn+xml\r\na=sendrecv\r\n"
    );
    let parsed = SessionDescription::parse(text.as_bytes()).unwrap();
    assert!(parsed.findings.is_empty(), "{:?}", parsed.findings);
    let answer = chat_answer(
        &Origin::new("bob", 2, 1, "127.0.0.1"),
        &parsed.value,
        &bob(),
    );
    let m = answer.msrp_media().unwrap();
    assert_eq!(m.setup(), Some(Setup::Active));
    assert_eq!(m.path().unwrap().unwrap()[0].session_id, "b0b");
}

#[test]
fn file_offer_answer() {
    let file = FileAttributes {
        selector: FileSelector {
            name: Some("a.jpg".into()),
            file_type: Some("image/jpeg".into()),
            size: Some(32349),
            hash: Some(("sha-1".into(), (0u8..20).collect())),
        },
        transfer_id: "ft-1".into(),
        disposition: Some("render".into()),
        date: None,
        icon: None,
        range: None,
    };
    let offer = file_offer(&Origin::new("alice", 1, 1, "127.0.0.1"), &alice(), &file);
    let om = offer.msrp_media().unwrap();
    assert_eq!(om.direction(), Direction::SendOnly);
    assert_eq!(om.file_selector().unwrap().unwrap(), file.selector);
    assert_eq!(
        om.attr("file-selector"),
        Some("name:\"a.jpg\" type:image/jpeg size:32349 hash:sha-1:00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13")
    );
    let answer = file_answer(
        &Origin::new("bob", 2, 1, "127.0.0.1"),
        &offer,
        &bob(),
        Some(FileRange {
            start: 1001,
            stop: None,
        }),
    );
    let am = answer.msrp_media().unwrap();
    assert_eq!(am.direction(), Direction::RecvOnly);
    assert_eq!(am.setup(), Some(Setup::Active));
    assert_eq!(am.file_transfer_id(), Some("ft-1"));
    assert_eq!(am.file_selector().unwrap().unwrap(), file.selector);
    assert_eq!(am.file_range().unwrap().unwrap().start, 1001);
    let again = SessionDescription::parse(&answer.to_bytes()).unwrap();
    assert_eq!(again.value, answer);
}

fn arb_media() -> impl Strategy<Value = MsrpMedia> {
    (
        1u16..,
        "[A-Za-z0-9]{1,16}",
        prop_oneof![
            Just(Setup::Active),
            Just(Setup::Passive),
            Just(Setup::ActPass),
            Just(Setup::HoldConn)
        ],
        proptest::collection::vec("[a-z]{1,8}/[a-z+.-]{1,12}", 1..4),
        proptest::collection::vec("[a-z]{1,8}/[a-z+.-]{1,12}", 0..3),
        proptest::option::of(prop_oneof![
            Just(Direction::SendRecv),
            Just(Direction::SendOnly),
            Just(Direction::RecvOnly),
            Just(Direction::Inactive)
        ]),
        proptest::option::of(any::<u64>()),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(port, sid, setup, at, awt, direction, max_size, cema, v6)| {
                let addr = if v6 { "::1" } else { "127.0.0.1" };
                let host = if v6 { "[::1]" } else { "127.0.0.1" };
                MsrpMedia {
                    address: addr.into(),
                    port,
                    path: vec![MsrpUri::tcp(host, port, sid)],
                    setup,
                    accept_types: at,
                    accept_wrapped_types: awt,
                    direction,
                    max_size,
                    cema,
                }
            },
        )
}

fn arb_file() -> impl Strategy<Value = FileAttributes> {
    (
        "[A-Za-z0-9 ._-]{1,20}",
        proptest::option::of(any::<u64>()),
        proptest::collection::vec(any::<u8>(), 20),
        "[A-Za-z0-9]{1,32}",
        proptest::option::of((1u64..1000, proptest::option::of(1000u64..2000))),
    )
        .prop_map(|(name, size, hash, id, range)| FileAttributes {
            selector: FileSelector {
                name: Some(name),
                file_type: Some("image/jpeg".into()),
                size,
                hash: Some(("sha-1".into(), hash)),
            },
            transfer_id: id,
            disposition: Some("attachment".into()),
            date: Some(FileDate {
                creation: Some("Mon, 15 May 2006 15:01:31 +0300".into()),
                modification: None,
                read: None,
            }),
            icon: Some("cid:id2@127.0.0.1".into()),
            range: range.map(|(s, e)| FileRange { start: s, stop: e }),
        })
}

proptest! {
    #[test]
    fn build_encode_parse_round_trip(media in arb_media(), file in proptest::option::of(arb_file())) {
        let origin = Origin::new("-", 7, 8, &media.address);
        let sd = match &file {
            Some(f) => file_offer(&origin, &media, f),
            None => chat_offer(&origin, &media),
        };
        let bytes = sd.to_bytes();
        let d = SessionDescription::parse(&bytes).unwrap();
        prop_assert!(d.findings.is_empty(), "{:?}", d.findings);
        prop_assert_eq!(&d.value, &sd);
        prop_assert_eq!(d.value.to_bytes(), bytes);
        let m = d.value.msrp_media().unwrap();
        prop_assert_eq!(m.path().unwrap().unwrap(), media.path.clone());
        prop_assert_eq!(m.max_size(), media.max_size);
        prop_assert_eq!(m.msrp_cema(), media.cema);
        if let Some(f) = &file {
            prop_assert_eq!(m.file_selector().unwrap().unwrap(), f.selector.clone());
            prop_assert_eq!(m.file_range().map(|r| r.unwrap()), f.range);
            prop_assert_eq!(m.file_date().unwrap().unwrap(), f.date.clone().unwrap());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(d) = SessionDescription::parse(&bytes) {
            prop_assert_eq!(d.value.to_bytes(), bytes);
            for m in &d.value.media {
                let _ = (m.media_line(), m.path(), m.file_selector(), m.file_date(), m.file_range());
            }
        }
    }

    #[test]
    fn arbitrary_attribute_values_never_panic(s in "\\PC{0,80}") {
        let _ = FileSelector::parse(&s);
        let _ = FileDate::parse(&s);
        let _ = FileRange::parse(&s);
        let text = format!("v=0\r\nm=message 9 TCP/MSRP *\r\na=file-selector:{s}\r\na=path:{s}\r\na=file-range:{s}\r\n");
        if let Ok(d) = SessionDescription::parse(text.as_bytes()) {
            let m = &d.value.media[0];
            let _ = (m.path(), m.file_selector(), m.file_range());
        }
    }
}
