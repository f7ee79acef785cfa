//! Registration with digest (MD5 and SHA-256) and Pager Mode send / receive with IMDN, against a
//! scripted core built on cpmconf-stack.

mod support;

use cpmconf_codec::cpim;
use cpmconf_codec::sip::{icsi, Challenge, Method, StatusCode};
use cpmconf_codec::xml::imdn::{Imdn, NotificationKind, Status};
use cpmconf_stack::sip::response_to;
use cpmconf_ut::{Command, Event, SendPager};
use rstest::rstest;
use support::{request, rig};

#[rstest]
#[case::md5("MD5")]
#[case::sha256("SHA-256")]
#[tokio::test]
async fn registers_with_digest(#[case] algorithm: &str) {
    let mut r = rig(&[]).await;
    r.cmd(Command::Register).await;
    let first = r.core.next_request_within(support::WAIT).await.unwrap();
    assert_eq!(first.request.method(), Some(&Method::Register));
    assert!(first.request.header("Authorization").is_none());
    assert_eq!(
        first.request.header("User-Agent"),
        Some("CPM-client/OMA2.0 cpmconf-ref/0.1")
    );
    let features = first.request.contact_features().unwrap();
    assert!(
        features[0].sip_instance().is_some(),
        "+sip.instance in Contact"
    );
    for i in icsi::ALL {
        assert!(features[0].has_icsi(i), "{i} in Contact");
    }
    let mut c401 = response_to(&first.request, StatusCode::UNAUTHORIZED, Some("reg"));
    c401.headers.push(
        "WWW-Authenticate",
        Challenge::new("cpm.test", "n0nce", algorithm).to_string(),
    );
    first.respond(c401).await.unwrap();
    let second = r.core.next_request_within(support::WAIT).await.unwrap();
    let creds = second
        .request
        .credentials(false)
        .unwrap()
        .expect("Authorization");
    assert!(
        creds.verify("secret", "REGISTER", b""),
        "digest response is right"
    );
    assert_eq!(creds.algorithm.as_deref(), Some(algorithm));
    assert_eq!(second.request.call_id(), first.request.call_id());
    let mut ok = response_to(&second.request, StatusCode::OK, Some("reg"));
    ok.headers.push(
        "Contact",
        format!("{};expires=600", second.request.header("Contact").unwrap()),
    );
    second.respond(ok).await.unwrap();
    match r.event(|e| matches!(e, Event::Registered(_))).await {
        Event::Registered(reg) => assert_eq!(reg.expires, Some(600)),
        other => panic!("{other:?}"),
    }
    // The reg-event subscription follows the registration.
    let sub = r.expect(Method::Subscribe).await;
    assert_eq!(sub.request.header("Event"), Some("reg"));
}

async fn pager_send(faults: &[&str]) -> cpmconf_codec::sip::Message {
    let mut r = rig(faults).await;
    r.cmd(Command::SendPager(SendPager {
        to: "sip:bob@cpm.test".into(),
        text: "hello".into(),
        content_type: None,
        imdn: Some(vec![cpmconf_ut::Disposition::PositiveDelivery]),
    }))
    .await;
    let tx = r.expect(Method::Message).await;
    tx.respond(response_to(&tx.request, StatusCode::OK, Some("b")))
        .await
        .unwrap();
    tx.request
}

#[tokio::test]
async fn pager_message_carries_cpm_headers_and_imdn_request() {
    let m = pager_send(&[]).await;
    assert_eq!(m.request_uri(), Some("sip:bob@cpm.test"));
    assert_eq!(
        m.header("Accept-Contact"),
        Some("*;+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.msg\"")
    );
    assert_eq!(m.header("P-Preferred-Service"), Some(icsi::CPM_MSG));
    // Generated from the client's seed (7): the same values on every run (these are rand
    // 0.10's ChaCha8 stream; a rand upgrade that changes the stream changes them).
    assert_eq!(
        m.header("Conversation-ID"),
        Some("1f853b2f-4791-4013-a317-ab97b111859e")
    );
    assert_eq!(
        m.header("Contribution-ID"),
        Some("e1d05c7f-f64e-4b4f-8da1-4948b3859631")
    );
    assert_eq!(
        m.header("User-Agent"),
        Some("CPM-client/OMA2.0 cpmconf-ref/0.1")
    );
    let body = cpim::parse(&m.body).unwrap().value;
    assert_eq!(body.imdn_message_id(), Some("vvuyk021hx7h"));
    assert_eq!(body.disposition_notification(), vec!["positive-delivery"]);
    assert_eq!(body.to().map(|t| t.uri), Some("sip:bob@cpm.test".into()));
    assert_eq!(body.body, b"hello");
}

#[tokio::test]
async fn fault_user_agent_removes_only_user_agent() {
    let good = pager_send(&[]).await;
    let bad = pager_send(&["7/user-agent-header"]).await;
    assert!(good.header("User-Agent").is_some());
    assert!(bad.header("User-Agent").is_none());
    // Everything else stays.
    for h in [
        "Accept-Contact",
        "P-Preferred-Service",
        "Conversation-ID",
        "Contribution-ID",
    ] {
        assert!(bad.header(h).is_some(), "{h} kept");
    }
}

#[tokio::test]
async fn receives_pager_and_returns_delivery_imdn() {
    let mut r = rig(&[]).await;
    let mut m = request(Method::Message, "sip:bob@cpm.test", "pager-in-1");
    m.headers.push(
        "Accept-Contact",
        format!("*;{}", cpmconf_codec::sip::icsi_ref_param(&[icsi::CPM_MSG])),
    );
    m.headers.push("Conversation-ID", "conv-1");
    let cpim = cpim::Message::builder()
        .from(&cpim::NameAddr::uri("sip:bob@cpm.test"))
        .to(&cpim::NameAddr::uri("sip:alice@cpm.test"))
        .imdn_message_id("msg-in-1")
        .disposition_notification(&["positive-delivery", "display"])
        .content_type("text/plain")
        .body(b"hi alice".to_vec())
        .build();
    m.set_body("message/cpim", cpim.to_bytes());
    let resp = r.send(m).await;
    assert_eq!(resp.status(), Some(StatusCode::OK));
    match r.event(|e| matches!(e, Event::MessageReceived(_))).await {
        Event::MessageReceived(got) => {
            assert_eq!(got.text, "hi alice");
            assert_eq!(got.from, "sip:bob@cpm.test");
            assert_eq!(got.message_id.as_deref(), Some("msg-in-1"));
            assert_eq!(got.conversation_id.as_deref(), Some("conv-1"));
        }
        other => panic!("{other:?}"),
    }
    let imdn_tx = r.expect(Method::Message).await;
    imdn_tx
        .respond(response_to(&imdn_tx.request, StatusCode::OK, Some("i")))
        .await
        .unwrap();
    let c = cpim::parse(&imdn_tx.request.body).unwrap().value;
    assert_eq!(c.to().map(|t| t.uri), Some("sip:bob@cpm.test".into()));
    let imdn = Imdn::parse(&c.body).unwrap();
    assert_eq!(imdn.message_id, "msg-in-1");
    assert_eq!(imdn.kind, NotificationKind::Delivery);
    assert_eq!(imdn.status, Status::Delivered);
    // The user displays it: a display notification follows.
    r.cmd(Command::MarkDisplayed(cpmconf_ut::MarkDisplayed {
        message_id: "msg-in-1".into(),
    }))
    .await;
    let disp = r.expect(Method::Message).await;
    let c = cpim::parse(&disp.request.body).unwrap().value;
    assert_eq!(
        Imdn::parse(&c.body).unwrap().kind,
        NotificationKind::Display
    );
}

#[tokio::test]
async fn fault_dispatch_message_msg_rejects_pager() {
    let r = rig(&["7/dispatch-message-msg"]).await;
    let mut m = request(Method::Message, "sip:bob@cpm.test", "pager-in-2");
    m.headers.push(
        "Accept-Contact",
        format!("*;{}", cpmconf_codec::sip::icsi_ref_param(&[icsi::CPM_MSG])),
    );
    m.set_body("text/plain", b"x".to_vec());
    assert_eq!(r.send(m).await.status(), Some(StatusCode(488)));
}
