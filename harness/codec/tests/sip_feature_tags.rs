//! Feature tags on whole CPM messages: Accept-Contact and Contact ICSIs, +sip.instance, isfocus,
//! P-Preferred-Service, the CPM identifier headers and digest authentication headers.

use cpmconf_codec::sip::feature_tag::icsi_ref_param;
use cpmconf_codec::sip::{icsi, Challenge, Credentials, Message};

const INVITE: &str = "INVITE sip:g1@cf.test SIP/2.0\r\n\
Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK77;rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@cpm.test>;tag=a1\r\n\
To: <sip:g1@cf.test>\r\n\
Call-ID: c1@127.0.0.1\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:alice@127.0.0.1:5070;transport=tcp>;+sip.instance=\"<urn:gsma:imei:35469106-056673-0>\";+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.session\"\r\n\
a: *;+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.session\";require;explicit\r\n\
P-Preferred-Service: urn:urn-7:3gpp-service.ims.icsi.oma.cpm.session\r\n\
Conversation-ID: 0d6f3c2a-8f0e-4a39-9b1e-1c1f5c0d2e11\r\n\
Contribution-ID: 5c2e0b8e-1b5e-4c47-8d2a-3a5e8f6b7c90\r\n\
Content-Length: 0\r\n\
\r\n";

#[test]
fn invite_feature_tags_decode() {
    let m = Message::parse(INVITE.as_bytes()).unwrap().value;
    let ac = m.accept_contacts().unwrap();
    assert_eq!(ac.len(), 1);
    assert_eq!(ac[0].icsi_refs(), vec![icsi::CPM_SESSION]);
    assert!(ac[0].require() && ac[0].explicit());
    let cf = m.contact_features().unwrap();
    assert_eq!(cf[0].icsi_refs(), vec![icsi::CPM_SESSION]);
    assert_eq!(
        cf[0].sip_instance().as_deref(),
        Some("urn:gsma:imei:35469106-056673-0")
    );
    assert!(!cf[0].is_focus());
    assert_eq!(m.p_preferred_service(), vec![icsi::CPM_SESSION]);
    assert_eq!(
        m.conversation_id(),
        Some("0d6f3c2a-8f0e-4a39-9b1e-1c1f5c0d2e11")
    );
    assert!(m.check_cpm_ids().unwrap().is_empty());
    assert_eq!(m.top_via().unwrap().rport(), Some(None));
}

#[test]
fn built_accept_contact_matches_wire_form() {
    let m = Message::parse(INVITE.as_bytes()).unwrap().value;
    let raw = m.header("Accept-Contact").unwrap();
    assert_eq!(
        raw,
        format!(
            "*;{};require;explicit",
            icsi_ref_param(&[icsi::CPM_SESSION])
        )
    );
}

#[test]
fn accept_contact_error_offset_points_into_message() {
    let bad = INVITE.replace("a: *;+g", "a: *;=g");
    let m = Message::parse(bad.as_bytes()).unwrap().value;
    let e = m.accept_contacts().unwrap_err();
    assert_eq!(&bad.as_bytes()[e.offset..e.offset + 2], b"=g");
}

#[test]
fn register_digest_exchange() {
    let resp = "SIP/2.0 401 Unauthorized\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n\
From: <sip:alice@cpm.test>;tag=1\r\n\
To: <sip:alice@cpm.test>;tag=2\r\n\
Call-ID: r1\r\n\
CSeq: 1 REGISTER\r\n\
WWW-Authenticate: Digest realm=\"cpm.test\", nonce=\"n0nce\", algorithm=MD5, qop=\"auth\"\r\n\
Content-Length: 0\r\n\r\n";
    let m = Message::parse(resp.as_bytes()).unwrap().value;
    let ch: Challenge = m.challenge(false).unwrap().unwrap();
    assert_eq!(ch.realm, "cpm.test");
    let cr =
        Credentials::answer(&ch, "alice", "secret", "REGISTER", "sip:cpm.test", "c0", 1).unwrap();
    let reg = Message::request(cpmconf_codec::sip::Method::Register, "sip:cpm.test")
        .with_header("Authorization", cr.to_string());
    let back = reg.credentials(false).unwrap().unwrap();
    assert!(back.verify("secret", "REGISTER", b""));
    assert!(!back.verify("secret", "INVITE", b""));
}
