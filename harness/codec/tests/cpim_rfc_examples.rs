//! CPIM decoding over the RFC 3862 / RFC 5438 examples: byte-exact re-encoding, namespace
//! resolution by URN (never by literal prefix), findings and errors with offsets.
#![allow(clippy::too_many_arguments)]

use cpmconf_codec::cpim::{self, Message, NameAddr, NS_IMDN};
use cpmconf_codec::Severity;
use rstest::rstest;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../../fixtures/cpim/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

#[rstest]
#[case::rfc3862_5_1(
    "rfc3862_5_1.cpim",
    Some("MR SANDERS"),
    "im:piglet@100akerwood.com",
    "im:eeyore@100akerwood.com",
    Some("2000-12-13T13:40:00-08:00"),
    None,
    &[],
    "text/xml; charset=utf-8"
)]
#[case::rfc5438_request(
    "rfc5438_request.cpim",
    Some("Alice"),
    "im:alice@example.com",
    "im:bob@example.com",
    Some("2006-04-04T12:16:49-05:00"),
    Some("34jk324j"),
    &["positive-delivery", "display"],
    "text/plain"
)]
#[case::rfc5438_delivery_notification(
    "rfc5438_delivery_notification.cpim",
    Some("Bob"),
    "im:bob@example.com",
    "im:alice@example.com",
    Some("2008-04-04T12:16:49-05:00"),
    Some("d834jied93rf"),
    &[],
    "message/imdn+xml"
)]
#[case::alias_foo(
    "alias_foo.cpim",
    None,
    "sip:anonymous@anonymous.invalid",
    "sip:anonymous@anonymous.invalid",
    Some("2026-11-27T10:00:00.000Z"),
    Some("Kz3x9aPq"),
    &["positive-delivery", "display"],
    "text/plain;charset=UTF-8"
)]
fn rfc_examples_decode_and_reencode_exactly(
    #[case] file: &str,
    #[case] from_display: Option<&str>,
    #[case] from_uri: &str,
    #[case] to_uri: &str,
    #[case] datetime: Option<&str>,
    #[case] message_id: Option<&str>,
    #[case] dispositions: &[&str],
    #[case] content_type: &str,
) {
    let bytes = fixture(file);
    let decoded = cpim::parse(&bytes).expect("decodes");
    let msg = &decoded.value;
    let from = msg.from().expect("From");
    assert_eq!(from.display.as_deref(), from_display);
    assert_eq!(from.uri, from_uri);
    assert_eq!(msg.to().expect("To").uri, to_uri);
    assert_eq!(msg.datetime(), datetime);
    assert_eq!(msg.imdn_message_id(), message_id);
    assert_eq!(msg.disposition_notification(), dispositions);
    assert_eq!(msg.content_type(), Some(content_type));
    assert!(
        decoded
            .findings
            .iter()
            .all(|f| f.severity < Severity::Error),
        "{:?}",
        decoded.findings
    );
    // Byte-exact re-encoding of an unmodified decoded message.
    assert_eq!(msg.to_bytes(), bytes);
    // Canonical rebuild re-parses to the same message.
    let mut canon = msg.clone();
    canon.canonicalize();
    let mut again = cpim::parse(&canon.to_bytes()).expect("re-decodes").value;
    again.canonicalize();
    assert_eq!(again, canon);
}

#[test]
fn rfc3862_example_resolves_its_own_namespace_and_keeps_the_body() {
    let msg = cpim::parse(&fixture("rfc3862_5_1.cpim")).unwrap().value;
    assert_eq!(
        msg.get_ns("mid:MessageFeatures@id.foo.com", "VitalMessageOption"),
        Some("Confirmation-requested")
    );
    assert_eq!(msg.get_ns_all(cpim::NS_CPIM, "Subject").len(), 2);
    assert_eq!(
        msg.content_header("Content-ID"),
        Some("<1234567890@foo.com>")
    );
    assert_eq!(
        msg.body,
        b"<body>\r\nHere is the text of my message.\r\n</body>\r\n"
    );
}

#[test]
fn imdn_headers_resolve_under_any_alias() {
    let msg = cpim::parse(&fixture("alias_foo.cpim")).unwrap().value;
    assert_eq!(msg.imdn_message_id(), Some("Kz3x9aPq"));
    assert_eq!(msg.get_ns(NS_IMDN, "Message-ID"), Some("Kz3x9aPq"));
    // The literal prefix `imdn` means nothing here.
    assert!(!msg.headers.iter().any(|h| h.name.starts_with("imdn.")));
}

#[test]
fn a_prefix_bound_to_another_namespace_is_not_imdn() {
    let text = "From: <sip:a@x.test>\r\nTo: <sip:b@x.test>\r\nNS: imdn <urn:example:other>\r\n\
imdn.Message-ID: nope\r\nDateTime: 2026-01-01T00:00:00Z\r\n\r\nContent-Type: text/plain\r\n\r\nhi";
    let msg = cpim::parse(text.as_bytes()).unwrap().value;
    assert_eq!(msg.imdn_message_id(), None);
    assert_eq!(msg.get_ns("urn:example:other", "Message-ID"), Some("nope"));
}

#[rstest]
#[case::undeclared_prefix(
    "From: <sip:a@x.test>\r\nTo: <sip:b@x.test>\r\nDateTime: 2026-01-01T00:00:00Z\r\nimdn.Message-ID: 1\r\n\r\nContent-Type: text/plain\r\n\r\n",
    "rfc3862/3.3 name-prefix",
    Severity::Error,
    74
)]
#[case::missing_from(
    "To: <sip:b@x.test>\r\nDateTime: 2026-01-01T00:00:00Z\r\n\r\nContent-Type: text/plain\r\n\r\n",
    "rfc3862/4.1 from",
    Severity::Error,
    0
)]
#[case::missing_to(
    "From: <sip:a@x.test>\r\nDateTime: 2026-01-01T00:00:00Z\r\n\r\nContent-Type: text/plain\r\n\r\n",
    "rfc3862/4.2 to",
    Severity::Error,
    0
)]
#[case::bad_from(
    "From: sip:a@x.test\r\nTo: <sip:b@x.test>\r\nDateTime: 2026-01-01T00:00:00Z\r\n\r\nContent-Type: text/plain\r\n\r\n",
    "rfc3862/4.1 from",
    Severity::Error,
    0
)]
#[case::imdn_without_datetime(
    "From: <sip:a@x.test>\r\nTo: <sip:b@x.test>\r\nNS: imdn <urn:ietf:params:imdn>\r\nimdn.Message-ID: 1\r\n\r\nContent-Type: text/plain\r\n\r\n",
    "rfc5438/6.3 datetime",
    Severity::Error,
    0
)]
#[case::disposition_without_message_id(
    "From: <sip:a@x.test>\r\nTo: <sip:b@x.test>\r\nNS: imdn <urn:ietf:params:imdn>\r\nDateTime: 2026-01-01T00:00:00Z\r\nimdn.Disposition-Notification: display\r\n\r\nContent-Type: text/plain\r\n\r\n",
    "rfc5438/6.3 message-id",
    Severity::Error,
    107
)]
#[case::unknown_disposition(
    "From: <sip:a@x.test>\r\nTo: <sip:b@x.test>\r\nNS: imdn <urn:ietf:params:imdn>\r\nDateTime: 2026-01-01T00:00:00Z\r\nimdn.Message-ID: 1\r\nimdn.Disposition-Notification: display, read\r\n\r\nContent-Type: text/plain\r\n\r\n",
    "rfc5438/6.2 disposition-notification",
    Severity::Warning,
    127
)]
#[case::no_content_type(
    "From: <sip:a@x.test>\r\nTo: <sip:b@x.test>\r\nDateTime: 2026-01-01T00:00:00Z\r\n\r\n\r\nhi",
    "rfc3862/3.2 content-type",
    Severity::Warning,
    76
)]
#[case::bare_lf(
    "From: <sip:a@x.test>\nTo: <sip:b@x.test>\nDateTime: 2026-01-01T00:00:00Z\n\nContent-Type: text/plain\n\nhi",
    "rfc3862/3.1 crlf",
    Severity::Warning,
    20
)]
fn findings_name_rule_severity_and_offset(
    #[case] text: &str,
    #[case] rule: &str,
    #[case] severity: Severity,
    #[case] offset: usize,
) {
    let decoded = cpim::parse(text.as_bytes()).expect("decodes");
    let f = decoded
        .findings
        .iter()
        .find(|f| f.rule == rule)
        .unwrap_or_else(|| panic!("no {rule} in {:?}", decoded.findings));
    assert_eq!(f.severity, severity);
    assert_eq!(f.offset, offset, "{f}");
    assert_eq!(decoded.value.to_bytes(), text.as_bytes());
}

#[rstest]
#[case::no_blank_line_after_headers(
    "From: <sip:a@x.test>\r\nTo: <sip:b@x.test>\r\n",
    42,
    "rfc3862/3.1 blank-line"
)]
#[case::no_blank_line_after_content_headers(
    "From: <sip:a@x.test>\r\n\r\nContent-Type: text/plain\r\n",
    50,
    "rfc3862/3.1 content-blank-line"
)]
#[case::header_without_colon(
    "From: <sip:a@x.test>\r\nTo <sip:b@x.test>\r\n\r\n\r\n",
    25,
    "rfc3862/3.3 header-colon"
)]
#[case::content_header_without_colon(
    "From: <sip:a@x.test>\r\n\r\nContent-Type text/plain\r\n\r\n",
    37,
    "rfc3862/3.1 content-header-colon"
)]
#[case::folded_message_header(
    "From: <sip:a@x.test>\r\n  more\r\n\r\n\r\n",
    22,
    "rfc3862/3.3 header-colon"
)]
fn errors_name_offset_and_rule(#[case] text: &str, #[case] offset: usize, #[case] rule: &str) {
    let err = cpim::parse(text.as_bytes()).expect_err("must not decode");
    assert_eq!((err.offset, err.rule), (offset, rule), "{err}");
}

#[test]
fn builder_writes_canonical_imdn_request() {
    let msg = Message::builder()
        .from(&NameAddr::named("Alice", "sip:alice@cpm.test"))
        .to(&NameAddr::uri("sip:bob@cpm.test"))
        .imdn_message_id("Kz3x9aPq")
        .datetime("2026-11-27T10:00:00.000Z")
        .disposition_notification(&["positive-delivery", "display"])
        .content_type("text/plain;charset=UTF-8")
        .body("Hello")
        .build();
    let text = String::from_utf8(msg.to_bytes()).unwrap();
    assert_eq!(
        text,
        "From: Alice <sip:alice@cpm.test>\r\nTo: <sip:bob@cpm.test>\r\n\
NS: imdn <urn:ietf:params:imdn>\r\nimdn.Message-ID: Kz3x9aPq\r\n\
DateTime: 2026-11-27T10:00:00.000Z\r\n\
imdn.Disposition-Notification: positive-delivery, display\r\n\r\n\
Content-Type: text/plain;charset=UTF-8\r\n\r\nHello"
    );
    let decoded = cpim::parse(text.as_bytes()).unwrap();
    assert!(decoded.findings.is_empty(), "{:?}", decoded.findings);
}

#[test]
fn set_ns_replaces_under_the_declared_alias() {
    let mut msg = cpim::parse(&fixture("alias_foo.cpim")).unwrap().value;
    msg.set_ns(NS_IMDN, "imdn", "Message-ID", "new-id");
    assert_eq!(msg.imdn_message_id(), Some("new-id"));
    assert!(String::from_utf8_lossy(&msg.to_bytes()).contains("foo.Message-ID: new-id\r\n"));
    // Only the changed line lost its raw text.
    assert_eq!(msg.headers.iter().filter(|h| h.raw.is_none()).count(), 1);
}

#[test]
fn name_addr_quotes_what_needs_quoting() {
    let n = NameAddr::named("Doe, \"J\"", "sip:j@x.test");
    let text = n.to_string();
    assert_eq!(text, r#""Doe, \"J\"" <sip:j@x.test>"#);
    assert_eq!(NameAddr::parse(&text), Some(n));
    assert_eq!(NameAddr::parse("<sip:a@b> trailing"), None);
    assert_eq!(NameAddr::parse("sip:a@b"), None);
}
