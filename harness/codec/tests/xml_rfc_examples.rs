//! XML bodies over the RFC examples (RFC 5438, 3994, 4575, 4826/5366, 3680): typed decoding,
//! rebuild and re-decode, namespace resolution by URN, errors with offsets, and `xml::select`.

use cpmconf_codec::xml::conference_info::{self, ConferenceInfo, ElementState};
use cpmconf_codec::xml::imdn::{self, Imdn, NotificationKind, Status};
use cpmconf_codec::xml::iscomposing::{self, IsComposing, State};
use cpmconf_codec::xml::reginfo::{self, Reginfo};
use cpmconf_codec::xml::resource_lists::{self, CopyControl, ResourceLists};
use cpmconf_codec::xml::select;
use rstest::rstest;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../../fixtures/xml/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

#[rstest]
#[case::delivered(
    "rfc5438_delivered.xml",
    NotificationKind::Delivery,
    Status::Delivered,
    Some("im:bob@example.com"),
    Some("Project Tomorrow")
)]
#[case::displayed(
    "rfc5438_displayed.xml",
    NotificationKind::Display,
    Status::Displayed,
    None,
    None
)]
#[case::prefixed_processing(
    "imdn_prefixed_processing.xml",
    NotificationKind::Processing,
    Status::Stored,
    None,
    None
)]
fn imdn_examples(
    #[case] file: &str,
    #[case] kind: NotificationKind,
    #[case] status: Status,
    #[case] recipient: Option<&str>,
    #[case] subject: Option<&str>,
) {
    let v = imdn::parse(&fixture(file)).expect("decodes");
    assert_eq!(v.kind, kind);
    assert_eq!(v.status, status);
    assert_eq!(v.recipient_uri.as_deref(), recipient);
    assert_eq!(v.subject.as_deref(), subject);
    assert!(!v.message_id.is_empty() && !v.datetime.is_empty());
    assert_eq!(Imdn::parse(v.to_xml().as_bytes()).expect("re-decodes"), v);
}

#[test]
fn imdn_delivered_fields() {
    let v = imdn::parse(&fixture("rfc5438_delivered.xml")).unwrap();
    assert_eq!(v.message_id, "34jk324j");
    assert_eq!(v.datetime, "2008-04-04T12:16:49-05:00");
    assert_eq!(
        v.original_recipient_uri.as_deref(),
        Some("im:bob@example.com")
    );
}

#[test]
fn imdn_inside_the_rfc5438_cpim_notification() {
    let path = format!(
        "{}/../../fixtures/cpim/rfc5438_delivery_notification.cpim",
        env!("CARGO_MANIFEST_DIR")
    );
    let msg = cpmconf_codec::cpim::parse(&std::fs::read(path).unwrap())
        .unwrap()
        .value;
    assert_eq!(
        msg.content_header("Content-Disposition"),
        Some("notification")
    );
    let v = imdn::parse(&msg.body).expect("the body is an IMDN");
    assert_eq!(
        (v.kind, v.status),
        (NotificationKind::Delivery, Status::Delivered)
    );
    assert_eq!(v.message_id, "34jk324j");
}

#[rstest]
#[case::wrong_namespace(
    "<imdn xmlns=\"urn:example:not-imdn\"><message-id>1</message-id></imdn>",
    0
)]
#[case::no_message_id(
    "<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\"><datetime>x</datetime><display-notification><status><displayed/></status></display-notification></imdn>",
    0
)]
#[case::status_of_another_notification(
    "<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\"><message-id>1</message-id><datetime>x</datetime><display-notification><status><delivered/></status></display-notification></imdn>",
    120
)]
#[case::two_notifications(
    "<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\"><message-id>1</message-id><datetime>x</datetime><display-notification><status><displayed/></status></display-notification><delivery-notification><status><delivered/></status></delivery-notification></imdn>",
    164
)]
#[case::mismatched_end_tag(
    "<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\"><message-id>1</datetime></imdn>",
    66
)]
#[case::unbound_prefix("<x:imdn xmlns:y=\"urn:ietf:params:xml:ns:imdn\"/>", 0)]
#[case::unclosed(
    "<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\"><message-id>1</message-id>",
    68
)]
fn imdn_errors_have_offsets(#[case] text: &str, #[case] offset: usize) {
    let err = imdn::parse(text.as_bytes()).expect_err("must not decode");
    assert_eq!(err.rule, imdn::RULE);
    assert_eq!(err.offset, offset, "{err}");
}

#[rstest]
#[case::active(
    "rfc3994_active.xml",
    State::Active,
    None,
    Some("text/plain"),
    Some(90)
)]
#[case::idle(
    "rfc3994_idle.xml",
    State::Idle,
    Some("2003-01-27T10:43:00Z"),
    Some("audio"),
    None
)]
fn iscomposing_examples(
    #[case] file: &str,
    #[case] state: State,
    #[case] lastactive: Option<&str>,
    #[case] contenttype: Option<&str>,
    #[case] refresh: Option<u32>,
) {
    let v = iscomposing::parse(&fixture(file)).expect("decodes");
    assert_eq!(v.state, state);
    assert_eq!(v.lastactive.as_deref(), lastactive);
    assert_eq!(v.contenttype.as_deref(), contenttype);
    assert_eq!(v.refresh, refresh);
    assert_eq!(IsComposing::parse(v.to_xml().as_bytes()).unwrap(), v);
}

#[rstest]
#[case::bad_state("<isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\"><state>typing</state></isComposing>", 59)]
#[case::zero_refresh("<isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\"><state>idle</state><refresh>0</refresh></isComposing>", 78)]
#[case::no_state("<isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\"/>", 0)]
fn iscomposing_errors(#[case] text: &str, #[case] offset: usize) {
    let err = iscomposing::parse(text.as_bytes()).expect_err("must not decode");
    assert_eq!((err.offset, err.rule), (offset, iscomposing::RULE), "{err}");
}

#[test]
fn conference_info_rfc4575_example() {
    let v = conference_info::parse(&fixture("rfc4575_full.xml")).expect("decodes");
    assert_eq!(v.entity, "sips:conf233@example.com");
    assert_eq!(v.state, ElementState::Full);
    assert_eq!(v.version, Some(1));
    assert_eq!(
        v.description.as_ref().and_then(|d| d.subject.as_deref()),
        Some("Agenda: This month's goals")
    );
    assert_eq!(v.user_count, Some(33));
    assert_eq!(v.users.len(), 2);
    let bob = v.user("sip:bob@example.com").expect("bob");
    assert_eq!(bob.display_text.as_deref(), Some("Bob Hoskins"));
    assert_eq!(bob.endpoints[0].status.as_deref(), Some("disconnected"));
    let why = bob.endpoints[0].disconnection_info.as_ref().unwrap();
    assert_eq!(why.reason.as_deref(), Some("bad voice quality"));
    let alice = v.user("sip:alice@example.com").expect("alice");
    assert_eq!(alice.endpoints[0].status.as_deref(), Some("connected"));
    assert_eq!(
        alice.endpoints[0].joining_method.as_deref(),
        Some("dialed-out")
    );
    assert_eq!(ConferenceInfo::parse(v.to_xml().as_bytes()).unwrap(), v);
}

#[test]
fn conference_info_partial_with_prefix_and_roles() {
    let text = r#"<ci:conference-info xmlns:ci="urn:ietf:params:xml:ns:conference-info" entity="sip:g@x.test" state="partial" version="7"><ci:users><ci:user entity="sip:a@x.test" state="deleted"/><ci:user entity="sip:b@x.test"><ci:roles><ci:entry>chairman</ci:entry></ci:roles><ci:endpoint entity="sip:b@x.test"><ci:status>pending</ci:status></ci:endpoint></ci:user></ci:users></ci:conference-info>"#;
    let v = conference_info::parse(text.as_bytes()).unwrap();
    assert_eq!((v.state, v.version), (ElementState::Partial, Some(7)));
    assert_eq!(v.users[0].state, Some(ElementState::Deleted));
    assert_eq!(v.users[1].roles, vec!["chairman".to_owned()]);
    assert_eq!(v.users[1].endpoints[0].status.as_deref(), Some("pending"));
    let err = conference_info::parse(
        br#"<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" state="full"/>"#,
    )
    .expect_err("no entity");
    assert_eq!((err.offset, err.rule), (0, conference_info::RULE));
}

#[test]
fn resource_lists_rfc4826_example_flattens_nested_lists() {
    let v = resource_lists::parse(&fixture("rfc4826_list.xml")).expect("decodes");
    assert_eq!(v.lists.len(), 1);
    assert_eq!(v.lists[0].name.as_deref(), Some("friends"));
    let uris: Vec<&str> = v.entries().map(|e| e.uri.as_str()).collect();
    assert_eq!(
        uris,
        [
            "sip:bill@example.com",
            "sip:joe@example.com",
            "sip:nancy@example.com"
        ]
    );
    assert_eq!(
        v.lists[0].entries[0].display_name.as_deref(),
        Some("Bill Doe")
    );
    assert_eq!(ResourceLists::parse(v.to_xml().as_bytes()).unwrap(), v);
}

#[test]
fn resource_lists_rfc5366_copy_control() {
    let v = resource_lists::parse(&fixture("rfc5366_copycontrol.xml")).expect("decodes");
    let got: Vec<(&str, Option<CopyControl>, Option<bool>)> = v
        .entries()
        .map(|e| (e.uri.as_str(), e.copy_control, e.anonymize))
        .collect();
    assert_eq!(
        got,
        [
            ("sip:bill@example.com", Some(CopyControl::To), None),
            ("sip:randy@example.net", Some(CopyControl::To), Some(true)),
            ("sip:eddy@example.com", Some(CopyControl::To), Some(true)),
            ("sip:joe@example.org", Some(CopyControl::Cc), None),
            ("sip:carol@example.net", Some(CopyControl::Cc), Some(true)),
            ("sip:ted@example.net", Some(CopyControl::Bcc), None),
            ("sip:andy@example.com", Some(CopyControl::Bcc), None),
        ]
    );
    assert_eq!(ResourceLists::parse(v.to_xml().as_bytes()).unwrap(), v);
}

#[test]
fn copy_control_is_resolved_by_namespace_not_prefix() {
    let other_prefix = r#"<r:resource-lists xmlns:r="urn:ietf:params:xml:ns:resource-lists" xmlns:z="urn:ietf:params:xml:ns:copycontrol"><r:list><r:entry uri="sip:a@x.test" z:copyControl="bcc" z:anonymize="1"/></r:list></r:resource-lists>"#;
    let v = resource_lists::parse(other_prefix.as_bytes()).unwrap();
    assert_eq!(v.lists[0].entries[0].copy_control, Some(CopyControl::Bcc));
    assert_eq!(v.lists[0].entries[0].anonymize, Some(true));
    let wrong_ns = r#"<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists" xmlns:cp="urn:example:other"><list><entry uri="sip:a@x.test" cp:copyControl="bcc"/></list></resource-lists>"#;
    let v = resource_lists::parse(wrong_ns.as_bytes()).unwrap();
    assert_eq!(v.lists[0].entries[0].copy_control, None);
    let bad = r#"<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists" xmlns:cp="urn:ietf:params:xml:ns:copycontrol"><list><entry uri="sip:a@x.test" cp:copyControl="xx"/></list></resource-lists>"#;
    let err = resource_lists::parse(bad.as_bytes()).unwrap_err();
    assert_eq!((err.offset, err.rule), (114, "rfc5366/4 copycontrol"));
}

#[test]
fn reginfo_rfc3680_example() {
    let v = reginfo::parse(&fixture("rfc3680_reginfo.xml")).expect("decodes");
    assert_eq!((v.version, v.state.as_str()), (0, "full"));
    let r = &v.registrations[0];
    assert_eq!(
        (r.aor.as_str(), r.id.as_str(), r.state.as_str()),
        ("sip:user@example.com", "as9", "active")
    );
    let c: Vec<(&str, &str, &str, &str)> = r
        .contacts
        .iter()
        .map(|c| {
            (
                c.id.as_str(),
                c.state.as_str(),
                c.event.as_str(),
                c.uri.as_str(),
            )
        })
        .collect();
    assert_eq!(
        c,
        [
            ("76", "active", "registered", "sip:user@pc887.example.com"),
            ("77", "terminated", "expired", "sip:user@university.edu"),
        ]
    );
    assert_eq!(Reginfo::parse(v.to_xml().as_bytes()).unwrap(), v);
    let err = reginfo::parse(br#"<reginfo xmlns="urn:ietf:params:xml:ns:reginfo" state="full"/>"#)
        .unwrap_err();
    assert_eq!((err.offset, err.rule), (0, reginfo::RULE));
}

#[rstest]
#[case::status_names("rfc5438_delivered.xml", "imdn/delivery-notification/status/*", &["delivered"])]
#[case::text("rfc5438_displayed.xml", "imdn/message-id", &["34jk324j"])]
#[case::prefixed_doc("imdn_prefixed_processing.xml", "imdn/processing-notification/status/*", &["stored"])]
#[case::no_match("rfc5438_displayed.xml", "imdn/delivery-notification/status/*", &[])]
#[case::wrong_root("rfc5438_displayed.xml", "isComposing/state", &[])]
#[case::attributes("rfc4575_full.xml", "conference-info/users/user/@entity", &["sip:bob@example.com", "sip:alice@example.com"])]
#[case::wildcard_middle("rfc4575_full.xml", "conference-info/users/*/endpoint/status", &["disconnected", "connected"])]
#[case::root_attribute("rfc4575_full.xml", "conference-info/@version", &["1"])]
#[case::copy_control_attr("rfc5366_copycontrol.xml", "resource-lists/list/entry/@copyControl", &["to", "to", "to", "cc", "cc", "bcc", "bcc"])]
fn select_paths(#[case] file: &str, #[case] path: &str, #[case] want: &[&str]) {
    assert_eq!(select(&fixture(file), path).expect("well-formed"), want);
}

#[test]
fn select_reports_malformed_xml() {
    let err = select(b"<a><b></a>", "a/b").unwrap_err();
    assert_eq!(err.rule, "xml/select");
    assert_eq!(err.offset, 10);
}

#[test]
fn built_bodies_are_what_peers_expect() {
    let v = Imdn::new(
        "Kz3x9aPq",
        "2026-11-27T10:00:00.000Z",
        NotificationKind::Display,
        Status::Displayed,
    );
    assert_eq!(
        v.to_xml(),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\">\
<message-id>Kz3x9aPq</message-id><datetime>2026-11-27T10:00:00.000Z</datetime>\
<display-notification><status><displayed/></status></display-notification></imdn>\r\n"
    );
    let c = IsComposing {
        refresh: Some(60),
        ..IsComposing::new(State::Active)
    };
    assert_eq!(
        select(c.to_xml().as_bytes(), "isComposing/refresh").unwrap(),
        ["60"]
    );
}

/// Entity and character references, CDATA and attribute values decode to the characters they
/// stand for, whichever way the parser hands them over (quick-xml 0.38+ gives each reference as an
/// event of its own rather than inside the text).
#[rstest]
#[case::predefined(
    b"<a>x &amp; y &lt;z&gt; &quot;q&quot; &apos;</a>",
    "x & y <z> \"q\" '"
)]
#[case::char_refs(b"<a>&#x41;&#66;&#x1F600;</a>", "AB\u{1F600}")]
#[case::reference_first_and_last(b"<a>&lt;tag&gt;</a>", "<tag>")]
#[case::cdata_kept_verbatim(b"<a>1 <![CDATA[&amp; <b>]]> 2</a>", "1 &amp; <b> 2")]
#[case::crlf_is_a_newline(b"<a>one\r\ntwo</a>", "one\ntwo")]
fn xml_text_references_resolve(#[case] doc: &[u8], #[case] text: &str) {
    let root = cpmconf_codec::xml::tree::parse(doc, "xml/test").unwrap();
    assert_eq!(root.text, text);
}

#[test]
fn xml_attribute_references_resolve() {
    let root =
        cpmconf_codec::xml::tree::parse(b"<a v=\"&lt;&#x41;&amp;&quot;\"/>", "xml/test").unwrap();
    assert_eq!(root.attr("v"), Some("<A&\""));
}

/// A reference that is no predefined entity nor a valid character is malformed text: an error
/// citing the caller's rule, never a silent drop or a panic.
#[rstest]
#[case::undeclared_entity(b"<a>x &nbsp; y</a>")]
#[case::nul_char_ref(b"<a>&#0;</a>")]
#[case::not_a_number(b"<a>&#xZZ;</a>")]
#[case::reference_outside_root(b"&amp;<a/>")]
fn xml_bad_references_are_errors(#[case] doc: &[u8]) {
    let err = cpmconf_codec::xml::tree::parse(doc, "xml/test").unwrap_err();
    assert_eq!(err.rule, "xml/test", "{err:?}");
}
