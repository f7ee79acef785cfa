//! RFC 4475 torture messages (fixtures/sip/rfc4475), generated round trips, never-panic on
//! arbitrary bytes, and every-prefix stream framing for the SIP codec.

use cpmconf_codec::sip::{Message, Method, Scheme, Uri};
use cpmconf_codec::{DecodeError, Limits, Severity, Status};
use proptest::prelude::*;
use rstest::rstest;

fn load(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../fixtures/sip/rfc4475/{name}.sip",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parse(name: &str) -> (Vec<u8>, Message) {
    let buf = load(name);
    let d = Message::parse(&buf).unwrap_or_else(|e| panic!("{name}: {e}"));
    (buf, d.value)
}

/// Runs every typed accessor; returns the first error (none must panic).
fn all_accessors(m: &Message) -> Vec<Result<(), DecodeError>> {
    vec![
        m.vias().map(|_| ()),
        m.cseq().map(|_| ()),
        m.from().map(|_| ()),
        m.to().map(|_| ()),
        if m.contact_is_star() {
            Ok(())
        } else {
            m.contacts().map(|_| ())
        },
        m.routes().map(|_| ()),
        m.record_routes().map(|_| ()),
        m.content_type().map(|_| ()),
        m.max_forwards().map(|_| ()),
        m.content_length().map(|_| ()),
        m.expires().map(|_| ()),
        m.event().map(|_| ()),
        m.reasons().map(|_| ()),
        m.require().map(|_| ()),
        m.supported().map(|_| ()),
        m.privacy().map(|_| ()),
        m.accept_contacts().map(|_| ()),
        m.referred_by().map(|_| ()),
        m.refer_to().map(|_| ()),
        m.p_asserted_identities().map(|_| ()),
        m.challenge(false).map(|_| ()),
        m.credentials(false).map(|_| ()),
        m.check_cpm_ids().map(|_| ()),
        m.request_uri_parsed().map(|_| ()),
    ]
}

#[rstest]
#[case::wsinv("wsinv")]
#[case::intmeth("intmeth")]
#[case::esc01("esc01")]
#[case::escnull("escnull")]
#[case::lwsdisp("lwsdisp")]
#[case::semiuri("semiuri")]
#[case::transports("transports")]
#[case::noreason("noreason")]
#[case::unkscm("unkscm")]
#[case::dblreq("dblreq")]
fn well_formed_decodes_round_trips_and_accessors_work(#[case] name: &str) {
    let buf = load(name);
    let d = Message::parse(&buf).unwrap_or_else(|e| panic!("{name}: {e}"));
    let errors: Vec<_> = d
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:?}");
    let m = d.value;
    assert_eq!(m.to_bytes(), buf, "{name}: byte-exact round trip");
    for (i, r) in all_accessors(&m).into_iter().enumerate() {
        assert!(r.is_ok(), "{name}: accessor {i}: {r:?}");
    }
    assert!(m.call_id().is_some());
}

/// What a malformed message must produce, and where.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// `Message::parse` fails with this rule.
    Decode(&'static str),
    /// `Message::parse` succeeds with a finding of this rule.
    Finding(&'static str),
    /// Decoding succeeds; the accessor fails with this rule.
    Accessor(fn(&Message) -> Option<DecodeError>, &'static str),
}

/// `at`: text that must start at the reported offset (`None`: the end of the message).
#[rstest]
#[case::clerr("clerr", Expect::Decode("rfc3261/20.14 content-length"), None)]
#[case::ncl("ncl", Expect::Decode("rfc3261/20.14 content-length"), Some("-999"))]
#[case::scalar02(
    "scalar02",
    Expect::Decode("rfc3261/20.16 cseq"),
    Some("36893488147419103232")
)]
#[case::mcl01(
    "mcl01",
    Expect::Decode("rfc3261/20.14 content-length"),
    Some("Content-Length: 5")
)]
#[case::ltgtruri(
    "ltgtruri",
    Expect::Decode("rfc3261/19.1 request-uri"),
    Some("<sip:user@example.com> SIP")
)]
#[case::lwsruri(
    "lwsruri",
    Expect::Decode("rfc3261/7.1 start-line"),
    Some("INVITE sip:user@example.com; lr")
)]
#[case::bigcode(
    "bigcode",
    Expect::Decode("rfc3261/7.2 status-line"),
    Some("4294967301")
)]
#[case::lwsstart(
    "lwsstart",
    Expect::Finding("rfc3261/7.1 request-line-sp"),
    Some("INVITE  sip")
)]
#[case::trws(
    "trws",
    Expect::Finding("rfc3261/7.1 request-line-sp"),
    Some("OPTIONS sip:remote")
)]
#[case::badvers(
    "badvers",
    Expect::Finding("rfc3261/8.2.2 unsupported-version"),
    Some("SIP/7.0\r\n")
)]
#[case::mismatch01(
    "mismatch01",
    Expect::Finding("rfc3261/8.1.1.5 cseq-method"),
    Some("8 INVITE")
)]
#[case::insuf(
    "insuf",
    Expect::Finding("rfc3261/8.1.1 mandatory-header"),
    Some("INVITE sip:user")
)]
#[case::dblreq(
    "dblreq",
    Expect::Finding("rfc3261/18.3 bytes-after-body"),
    Some("\r\nINVITE sip:joe")
)]
#[case::quotbal("quotbal", Expect::Accessor(|m| m.to().err(), "rfc3261/25.1 quoted-string"), Some("\"Mr. J. User"))]
#[case::badaspec("badaspec", Expect::Accessor(|m| m.to().err(), "rfc3986/3.1 uri-scheme"), Some(" sip:t.watson@example.org >"))]
#[case::baddn("baddn", Expect::Accessor(|m| m.from().err(), "rfc3261/25.1 display-name"), Some(", Alexander"))]
fn malformed_gives_rule_at_offset(
    #[case] name: &str,
    #[case] expect: Expect,
    #[case] at: Option<&str>,
) {
    let buf = load(name);
    let want_offset = match at {
        None => buf.len(),
        Some(t) => {
            find(&buf, t.as_bytes()).unwrap_or_else(|| panic!("{name}: {t:?} not in fixture"))
        }
    };
    let (rule, offset) = match expect {
        Expect::Decode(rule) => {
            let e = Message::parse(&buf).expect_err(name);
            assert_eq!(e.rule, rule, "{name}: {e}");
            (rule, e.offset)
        }
        Expect::Finding(rule) => {
            let d = Message::parse(&buf).unwrap_or_else(|e| panic!("{name}: {e}"));
            let f = d
                .findings
                .iter()
                .find(|f| f.rule == rule)
                .unwrap_or_else(|| panic!("{name}: no finding {rule} in {:?}", d.findings));
            (rule, f.offset)
        }
        Expect::Accessor(get, rule) => {
            let d = Message::parse(&buf).unwrap_or_else(|e| panic!("{name}: {e}"));
            let e = get(&d.value).unwrap_or_else(|| panic!("{name}: accessor did not fail"));
            assert_eq!(e.rule, rule, "{name}: {e}");
            (rule, e.offset)
        }
    };
    assert_eq!(
        offset, want_offset,
        "{name}: {rule} reported at the wrong byte"
    );
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn wsinv_typed_values() {
    let (_, m) = parse("wsinv");
    let to = m.to().unwrap();
    assert_eq!(to.tag(), Some("1918181833n"));
    assert_eq!(to.uri.host, "chair-dnrc.example.com");
    let from = m.from().unwrap();
    assert_eq!(from.display.as_deref(), Some("J Rosenberg \\\""));
    assert_eq!(from.tag(), Some("98asjd8"));
    assert_eq!(m.max_forwards().unwrap(), Some(68));
    let cseq = m.cseq().unwrap();
    assert_eq!((cseq.seq, cseq.method), (9, Method::Invite));
    let vias = m.vias().unwrap();
    let v: Vec<(&str, &str, Option<&str>)> = vias
        .iter()
        .map(|v| (v.transport.as_str(), v.host.as_str(), v.branch()))
        .collect();
    assert_eq!(
        v,
        vec![
            ("UDP", "192.0.2.2", Some("390skdjuw")),
            ("TCP", "spindle.example.com", Some("z9hG4bK9ikj8")),
            ("UDP", "192.168.255.111", Some("z9hG4bK30239")),
        ]
    );
    let c = m.contacts().unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].display.as_deref(), Some("Quoted string \"\""));
    assert_eq!(c[0].params.get("newparam"), Some("newvalue"));
    assert!(c[0].params.has("secondparam"));
    assert_eq!(c[0].params.get("q"), Some("0.33"));
    let r = m.routes().unwrap();
    assert!(r[0].uri.has_param("lr"));
    assert_eq!(r[0].uri.param("unknownwith"), Some("value"));
    assert!(m
        .content_type()
        .unwrap()
        .unwrap()
        .is_essence("application/sdp"));
    assert_eq!(m.header("Subject"), Some(""));
    assert_eq!(m.body.len(), 150);
    let ruri = m.request_uri_parsed().unwrap().unwrap();
    assert!(ruri.has_param("unknownparam"));
}

#[test]
fn intmeth_typed_values() {
    let (_, m) = parse("intmeth");
    assert_eq!(
        m.method(),
        Some(&Method::Extension(
            "!interesting-Method0123456789_*+`.%indeed'~".into()
        ))
    );
    let u = m.request_uri_parsed().unwrap().unwrap();
    assert_eq!(
        u.user.as_deref(),
        Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
    );
    assert_eq!(
        u.password.as_deref(),
        Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
    );
    assert_eq!(u.host, "example.com");
    assert_eq!(m.cseq().unwrap().seq, 139122385);
    assert_eq!(
        m.to().unwrap().display.as_deref(),
        Some("BEL:\x07 NUL:\0 DEL:\x7f")
    );
    let from = m.from().unwrap();
    assert_eq!(
        from.display.as_deref(),
        Some("token1~` token2'+_ token3*%!.-")
    );
    assert_eq!(from.tag(), Some("_token~1'+`*%!-."));
    assert_eq!(from.params.get("fromParam''~+*_!.-%"), Some("работающий"));
    assert_eq!(m.top_via().unwrap().branch(), Some("z9hG4bK-.!%66*_+`'~"));
    assert_eq!(m.max_forwards().unwrap(), Some(255));
}

#[test]
fn esc01_and_escnull_escapes() {
    let (_, m) = parse("esc01");
    let ruri = m.request_uri_parsed().unwrap().unwrap();
    assert_eq!(
        ruri.user_decoded().as_deref(),
        Some("sips:user@example.com")
    );
    assert_eq!(ruri.host, "example.net");
    let to = m.to().unwrap();
    assert!(to
        .uri
        .same_address(&Uri::parse("sip:user@example.com").unwrap()));
    assert_eq!(
        m.from().unwrap().uri.user_decoded().as_deref(),
        Some("I have spaces")
    );
    let c = &m.contacts().unwrap()[0];
    assert_eq!(c.uri.user_decoded().as_deref(), Some("caller"));
    assert_eq!(
        c.uri.params,
        vec![
            ("%6C%72".to_owned(), None),
            ("n%61me".to_owned(), Some("v%61lue%25%34%31".to_owned()))
        ]
    );

    let (_, m) = parse("escnull");
    let users: Vec<String> = m
        .contacts()
        .unwrap()
        .iter()
        .filter_map(|c| c.uri.user_decoded())
        .collect();
    assert_eq!(users, vec!["\0", "\0\0"]);
}

#[test]
fn small_valid_ones() {
    let (_, m) = parse("lwsdisp");
    assert_eq!(m.from().unwrap().display.as_deref(), Some("caller"));
    let (_, m) = parse("semiuri");
    let u = m.request_uri_parsed().unwrap().unwrap();
    assert_eq!(u.user.as_deref(), Some("user;par=u%40example.net"));
    assert_eq!(u.param("par"), None);
    let (_, m) = parse("transports");
    let t: Vec<String> = m.vias().unwrap().into_iter().map(|v| v.transport).collect();
    assert_eq!(t, vec!["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
    let (_, m) = parse("noreason");
    assert_eq!(m.status().map(|s| s.0), Some(100));
    assert_eq!(m.to().unwrap().tag(), Some("902jndnke3"));
    let (_, m) = parse("unkscm");
    let u = m.request_uri_parsed().unwrap().unwrap();
    assert_eq!(u.scheme, Scheme::Other("nobodyknowsthisscheme".into()));
    assert_eq!(u.to_string(), "nobodyknowsthisscheme:totallyopaquecontent");
}

#[test]
fn every_prefix_of_a_stream() {
    let names = ["wsinv", "esc01", "transports", "noreason", "intmeth"];
    let mut stream = Vec::new();
    let mut ends = Vec::new();
    for n in names {
        stream.extend_from_slice(b"\r\n\r\n"); // keep-alives between messages
        stream.extend_from_slice(&load(n));
        ends.push(stream.len());
    }
    let limits = Limits::default();
    let mut start = 0;
    for (i, &end) in ends.iter().enumerate() {
        for cut in start..end {
            let r = Message::decode_stream(&stream[start..cut], &limits)
                .unwrap_or_else(|e| panic!("{}: prefix {cut}: {e}", names[i]));
            assert!(
                r.is_partial(),
                "{}: prefix up to {cut} must be partial",
                names[i]
            );
        }
        match Message::decode_stream(&stream[start..], &limits).unwrap() {
            Status::Complete { value, consumed } => {
                assert_eq!(start + consumed, end, "{}", names[i]);
                // The keep-alive CRLFs belong to the consumed bytes and are kept for re-encoding.
                assert_eq!(value.value.to_bytes(), &stream[start..end]);
            }
            Status::Partial => panic!("{}: expected a complete message", names[i]),
        }
        start = end;
    }
}

const METHODS: &[&str] = &[
    "INVITE",
    "ACK",
    "BYE",
    "MESSAGE",
    "SUBSCRIBE",
    "NOTIFY",
    "REFER",
    "OPTIONS",
    "REGISTER",
    "X-CUSTOM",
];

fn arb_message() -> impl Strategy<Value = Message> {
    let start = prop_oneof![
        (0..METHODS.len(), "[a-z0-9]{1,8}", "[a-z]{1,8}").prop_map(|(i, u, h)| {
            Message::request(Method::from_token(METHODS[i]), format!("sip:{u}@{h}.test"))
        }),
        (100u16..700, "[A-Za-z]{0,12}").prop_map(|(c, r)| {
            let mut m = Message::response(c.into());
            if let cpmconf_codec::sip::StartLine::Response(s) = &mut m.start {
                s.reason = r;
            }
            m
        }),
    ];
    let extra = prop::collection::vec(("X-[A-Za-z0-9-]{1,12}", "[!-~]([ -~]{0,40}[!-~])?"), 0..6);
    let body = prop::collection::vec(any::<u8>(), 0..200);
    (
        start,
        "[a-z0-9]{1,10}",
        "[a-z0-9]{1,10}",
        any::<u32>(),
        0u8..=255,
        extra,
        body,
    )
        .prop_map(|(mut m, tag, branch, seq, mf, extra, body)| {
            let method = m.method().cloned().unwrap_or(Method::Invite);
            m.headers.push(
                "Via",
                format!("SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK{branch}"),
            );
            m.headers.push("From", format!("<sip:a@x.test>;tag={tag}"));
            m.headers.push("To", "\"B, b\" <sip:b@x.test>");
            m.headers.push("Call-ID", format!("{branch}@127.0.0.1"));
            m.headers.push("CSeq", format!("{seq} {method}"));
            m.headers.push("Max-Forwards", mf.to_string());
            for (n, v) in extra {
                m.headers.push(n, v);
            }
            m.set_body("application/octet-stream", body);
            m
        })
}

fn pairs(m: &Message) -> Vec<(String, String)> {
    m.headers
        .iter()
        .map(|h| (h.name.clone(), h.value.clone()))
        .collect()
}

proptest! {
    #[test]
    fn generated_messages_round_trip(m in arb_message()) {
        let bytes = m.to_bytes();
        let d = Message::parse(&bytes).unwrap();
        prop_assert_eq!(&d.value.start, &m.start);
        prop_assert_eq!(pairs(&d.value), pairs(&m));
        prop_assert_eq!(&d.value.body, &m.body);
        prop_assert_eq!(d.value.to_bytes(), bytes.clone());
        for r in all_accessors(&d.value) {
            prop_assert!(r.is_ok(), "{:?}", r);
        }
        let cseq = d.value.cseq().unwrap();
        prop_assert_eq!(Some(cseq.seq), m.cseq_number());
        match Message::decode_stream(&bytes, &Limits::default()).unwrap() {
            Status::Complete { consumed, .. } => prop_assert_eq!(consumed, bytes.len()),
            Status::Partial => prop_assert!(false, "partial"),
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(buf in prop::collection::vec(any::<u8>(), 0..600)) {
        exercise(&buf);
    }

    #[test]
    fn sip_alphabet_values_never_panic(v in "[a-zA-Z0-9:;=@<>\"\\\\,. \t/%\\[\\]?&*+!~é-]{0,60}") {
        exercise(v.as_bytes());
        let mut m = Message::request(Method::Invite, "sip:a@b");
        for name in [
            "Via", "From", "To", "Contact", "Route", "CSeq", "Content-Type", "Max-Forwards",
            "Event", "Reason", "Privacy", "Require", "Accept-Contact", "WWW-Authenticate",
            "Authorization", "Referred-By", "Conversation-ID",
        ] {
            m.headers.push(name, v.clone());
        }
        let _ = all_accessors(&m);
        let _ = m.contact_features();
        let _ = Message::parse(&m.to_bytes());
    }

    #[test]
    fn mutated_torture_messages_never_panic(
        which in 0usize..5,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let name = ["wsinv", "intmeth", "esc01", "quotbal", "badaspec"][which];
        let mut buf = load(name);
        for (idx, byte, op) in edits {
            if buf.is_empty() { break; }
            let i = idx.index(buf.len());
            match op {
                0 => buf[i] = byte,
                1 => buf.insert(i, byte),
                _ => { buf.remove(i); }
            }
        }
        exercise(&buf);
    }
}

fn exercise(buf: &[u8]) {
    if let Ok(d) = Message::parse(buf) {
        let _ = all_accessors(&d.value);
        let _ = d.value.contact_features();
        let _ = d.value.to_bytes();
    }
    if let Ok(Status::Complete { value, .. }) = Message::decode_stream(buf, &Limits::default()) {
        let _ = all_accessors(&value.value);
    }
    if let Ok(s) = std::str::from_utf8(buf) {
        let _ = Uri::parse(s);
        let _ = cpmconf_codec::sip::NameAddr::parse(s);
        let _ = cpmconf_codec::sip::Via::parse(s);
        let _ = cpmconf_codec::sip::Params::parse(s);
        let _ = cpmconf_codec::sip::FeatureSet::parse_accept_contact(s);
        let _ = cpmconf_codec::sip::Challenge::parse(s);
        let _ = cpmconf_codec::sip::MediaType::parse(s);
        let _ =
            cpmconf_codec::multipart::Multipart::parse_with_type("multipart/mixed;boundary=b", buf);
    }
}

/// Errors inside folded header values point at the byte in the message, not in the unfolded
/// value (RFC 3261 7.3.1 folding, as in wsinv).
#[rstest]
#[case::folded_contact("  secondparam ; q = 0.33", "  secondparam ; q = \"0.33", "\"0.33", 0)]
#[case::folded_via(" z9hG4bK30239\r\n", " z9hG4bK30239 junk\r\n", "junk", 1)]
#[case::folded_from("  tag = 98asjd8", "  tag = 98asjd8 ;=x", "=x", 2)]
fn folded_header_errors_point_at_raw_bytes(
    #[case] from: &str,
    #[case] to: &str,
    #[case] at: &str,
    #[case] accessor: usize,
) {
    let text = String::from_utf8(load("wsinv"))
        .unwrap()
        .replacen(from, to, 1);
    let m = Message::parse(text.as_bytes()).unwrap().value;
    let e = match accessor {
        0 => m.contacts().unwrap_err(),
        1 => m.vias().unwrap_err(),
        _ => m.from().unwrap_err(),
    };
    let want = text.find(at).unwrap();
    assert_eq!(e.offset, want, "{e}");
}
