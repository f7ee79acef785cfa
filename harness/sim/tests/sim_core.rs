//! The simulated network against a test UA: registrar (with and without digest), reg event,
//! pager MESSAGE, 1-1 chat with MSRP, ad-hoc group via the factory, manual mode and scripted
//! answers, and the PF's deferred INVITE.

mod support;

use cpmconf_codec::multipart::{Multipart, Part};
use cpmconf_codec::sdp::{chat_answer, chat_offer, MsrpMedia, Origin, SessionDescription, Setup};
use cpmconf_codec::sip::{icsi, icsi_ref_param, Message, Method, StatusCode};
use cpmconf_codec::xml::conference_info::ConferenceInfo;
use cpmconf_codec::xml::reginfo::Reginfo;
use cpmconf_codec::xml::resource_lists::{Entry, ResourceLists};
use cpmconf_sim::{
    Auth, DeferredDelivery, Mode, NetConfig, Network, ObservedKind, ResponseSpec, Rule,
    StoredMessage,
};
use cpmconf_stack::msrp::{MsrpEndpoint, SendOptions, SessionConfig, SessionEvent};
use cpmconf_stack::sip::{Dialog, Transport};
use rstest::rstest;
use support::{Ua, WAIT};
use tokio::time::Instant;

async fn net(auth: Auth) -> Network {
    let mut cfg = NetConfig::new();
    cfg.auth = auth;
    Network::start(cfg).await.expect("start network")
}

/// The next observed SIP request, skipping other observations.
async fn next_request(net: &Network) -> (String, Message, Option<cpmconf_sim::PendingRequest>) {
    loop {
        let o = net.next_observed_within(WAIT).await.expect("observation");
        if let ObservedKind::SipRequest { msg, handle } = o.kind {
            return (o.role, msg, handle);
        }
    }
}

#[rstest]
#[case::udp(Transport::Udp)]
#[case::tcp(Transport::Tcp)]
#[tokio::test]
async fn register_and_deregister(#[case] transport: Transport) {
    let net = net(Auth::None).await;
    let mut ua = Ua::new("alice", net.core_addr(), transport).await;
    let ok = ua.register(600, None).await;
    assert_eq!(ok.status(), Some(StatusCode::OK));
    // RFC 3261 10.3 step 8: the 200 lists the binding with its expiry.
    assert_eq!(
        ok.header("Contact"),
        Some(format!("<{}>;expires=600", ua.contact_uri()).as_str())
    );
    assert_eq!(net.registered_contacts("sip:alice@cpm.test").len(), 1);
    let (role, msg, handle) = next_request(&net).await;
    assert_eq!(role, "registrar");
    assert_eq!(msg.method(), Some(&Method::Register));
    assert!(handle.is_none());
    let gone = ua.register(0, None).await;
    assert_eq!(gone.status(), Some(StatusCode::OK));
    assert!(net.registered_contacts("sip:alice@cpm.test").is_empty());
}

#[rstest]
#[case::md5("MD5")]
#[case::sha256("SHA-256")]
#[tokio::test]
async fn digest_challenge(#[case] algorithm: &str) {
    let net = net(Auth::Digest {
        realm: "cpm.test".into(),
        algorithms: vec![algorithm.into()],
    })
    .await;
    let mut ua = Ua::new("alice", net.core_addr(), Transport::Udp).await;
    let refused = ua.register(600, Some("wrong")).await;
    assert_eq!(refused.status(), Some(StatusCode::UNAUTHORIZED));
    let challenge = refused.header("WWW-Authenticate").expect("challenge");
    assert!(
        challenge.contains(&format!("algorithm={algorithm}")),
        "{challenge}"
    );
    assert!(net.registered_contacts("sip:alice@cpm.test").is_empty());
    let ok = ua.register(600, Some("alice")).await;
    assert_eq!(ok.status(), Some(StatusCode::OK));
    assert_eq!(net.registered_contacts("sip:alice@cpm.test").len(), 1);
}

#[tokio::test]
async fn reg_event_subscription_gets_full_state_notify() {
    let net = net(Auth::None).await;
    let mut ua = Ua::new("alice", net.core_addr(), Transport::Udp).await;
    ua.register(600, None).await;
    let sub = ua
        .request(Method::Subscribe, "sip:alice@cpm.test")
        .with_header("Event", "reg")
        .with_header("Accept", "application/reginfo+xml")
        .with_header("Expires", "600000");
    let ok = ua.send(sub).await;
    assert_eq!(ok.status(), Some(StatusCode::OK));
    let notify = ua.next_request().await;
    assert_eq!(notify.request.method(), Some(&Method::Notify));
    assert_eq!(notify.request.header("Event"), Some("reg"));
    let info = Reginfo::parse(&notify.request.body).expect("reginfo");
    let reg = info.registrations.first().expect("registration");
    assert_eq!(reg.aor, "sip:alice@cpm.test");
    assert_eq!(reg.state, "active");
    assert!(reg.contacts.iter().any(|c| c.uri == ua.contact_uri()));
    ua.answer(&notify, 200, None).await;
    // The client's 200 to the NOTIFY is observed as a response to the sim's request.
    loop {
        let o = net.next_observed_within(WAIT).await.expect("observation");
        if let ObservedKind::SipResponse { msg, .. } = o.kind {
            assert_eq!(msg.cseq_method(), Some(Method::Notify));
            assert_eq!(o.role, "registrar");
            break;
        }
    }
    // RFC 3680 5.2: a change of the registration is notified to the active subscription: the
    // de-registration leaves the registration terminated, without contacts.
    let gone = ua.register(0, None).await;
    assert_eq!(gone.status(), Some(StatusCode::OK));
    let change = ua.next_request().await;
    assert_eq!(change.request.method(), Some(&Method::Notify));
    assert_eq!(change.request.call_id(), notify.request.call_id());
    let info = Reginfo::parse(&change.request.body).expect("reginfo");
    let reg = info.registrations.first().expect("registration");
    assert_eq!(reg.aor, "sip:alice@cpm.test");
    assert_eq!(reg.state, "terminated");
    assert!(reg.contacts.is_empty(), "{:?}", reg.contacts);
    ua.answer(&change, 200, None).await;
}

#[tokio::test]
async fn pager_message_to_remote_user() {
    let net = net(Auth::None).await;
    let mut ua = Ua::new("alice", net.core_addr(), Transport::Udp).await;
    ua.register(600, None).await;
    let mut msg = ua.request(Method::Message, "sip:bob@cpm.test").with_header(
        "Accept-Contact",
        format!("*;{}", icsi_ref_param(&[icsi::CPM_MSG])),
    );
    msg.set_body(
        "message/cpim",
        b"From: <sip:alice@cpm.test>\r\nTo: <sip:bob@cpm.test>\r\n\r\nContent-Type: text/plain\r\n\r\nhi".to_vec(),
    );
    let ok = ua.send(msg).await;
    assert_eq!(ok.status(), Some(StatusCode::OK));
    let (_, _, _) = next_request(&net).await; // REGISTER
    let (role, seen, _) = next_request(&net).await;
    assert_eq!(role, "bob");
    assert!(seen.accept_contacts().expect("accept-contact")[0].has_icsi(icsi::CPM_MSG));
    assert_eq!(
        net.role_of_call_id(seen.call_id().unwrap_or_default())
            .as_deref(),
        Some("bob")
    );
}

/// When a role sent its final response is kept per request (what a `timer:` window of the
/// judge counts from, the grant of a subscription): known once the client has the response,
/// within the exchange, and for that request only.
#[tokio::test]
async fn a_role_s_final_response_time_is_kept_per_request() {
    let net = net(Auth::None).await;
    let mut ua = Ua::new("alice", net.core_addr(), Transport::Udp).await;
    ua.register(600, None).await;
    let msg = ua.request(Method::Message, "sip:bob@cpm.test").with_header(
        "Accept-Contact",
        format!("*;{}", icsi_ref_param(&[icsi::CPM_MSG])),
    );
    let (cid, n) = (
        msg.call_id().unwrap().to_string(),
        msg.cseq_number().unwrap(),
    );
    assert_eq!(net.answered_at(&cid, n), None);
    let before = tokio::time::Instant::now();
    let ok = ua.send(msg).await;
    let after = tokio::time::Instant::now();
    assert_eq!(ok.status(), Some(StatusCode::OK));
    let at = net.answered_at(&cid, n).expect("the 200's time");
    assert!(
        before <= at && at <= after,
        "{at:?} outside {before:?}..{after:?}"
    );
    assert_eq!(net.answered_at(&cid, n + 1), None);
    assert_eq!(net.answered_at("another-call-id", n), None);
}

fn offer(ep: &MsrpEndpoint, id: &str) -> SessionDescription {
    let media = MsrpMedia::chat("127.0.0.1", ep.local_addr().port(), vec![ep.local_uri(id)]);
    chat_offer(&Origin::new("alice", 1, 1, "127.0.0.1"), &media)
}

#[tokio::test]
async fn chat_with_remote_user_over_msrp() {
    let net = net(Auth::None).await;
    let mut ua = Ua::new("alice", net.core_addr(), Transport::Tcp).await;
    ua.register(600, None).await;
    let msrp = MsrpEndpoint::listen("127.0.0.1".parse().expect("ip"), None)
        .await
        .expect("listen");
    let sdp = offer(&msrp, "alice1");
    let mut inv = ua.request(Method::Invite, "sip:bob@cpm.test").with_header(
        "Accept-Contact",
        format!("*;{}", icsi_ref_param(&[icsi::CPM_SESSION])),
    );
    inv.set_body("application/sdp", sdp.to_bytes());
    let ok = ua.send(inv.clone()).await;
    assert_eq!(ok.status(), Some(StatusCode::OK));
    let answer = SessionDescription::parse(&ok.body)
        .expect("answer sdp")
        .value;
    let m = answer.msrp_media().expect("msrp media");
    // RFC 6135: an actpass offer is answered active; the sim connects to our path.
    assert_eq!(m.setup(), Some(Setup::Active));
    let remote = m.path().expect("path").expect("valid path");
    assert_eq!(
        net.role_of_addr(
            format!("{}:{}", remote[0].host, remote[0].port.unwrap_or(0))
                .parse()
                .expect("addr")
        )
        .as_deref(),
        Some("bob")
    );
    let dialog = Dialog::uac(&inv, &ok).expect("dialog");
    let mut ack = dialog.ack_for(1);
    ack.headers.push("Max-Forwards", "70");
    ua.ep
        .send_ack(ack, ua.core, ua.transport)
        .await
        .expect("ack");
    let mut cfg = SessionConfig::new(vec![msrp.local_uri("alice1")], remote);
    cfg.seed = Some(3);
    let mut conn = msrp
        .accept_session(cfg, Instant::now() + WAIT)
        .await
        .expect("sim connects");
    conn.send_message(
        "message/cpim",
        b"hello bob".to_vec(),
        SendOptions::default(),
    )
    .await
    .expect("send");
    loop {
        match conn.next_event(Instant::now() + WAIT).await.expect("event") {
            SessionEvent::Response { code, .. } => {
                assert_eq!(code, 200);
                break;
            }
            _ => continue,
        }
    }
    // The sim's ephemeral side of the connection it opened is labelled with its role.
    assert_eq!(net.role_of_addr(conn.peer_addr()).as_deref(), Some("bob"));
    // The SEND is observed with the role and session.
    loop {
        let o = net.next_observed_within(WAIT).await.expect("observation");
        if let ObservedKind::Msrp { frame, .. } = o.kind {
            if frame.body == b"hello bob" {
                assert_eq!(o.role, "bob");
                break;
            }
        }
    }
}

#[tokio::test]
async fn adhoc_group_via_factory_gets_focus_and_conference_notify() {
    let net = net(Auth::None).await;
    let mut ua = Ua::new("alice", net.core_addr(), Transport::Udp).await;
    ua.register(600, None).await;
    let msrp = MsrpEndpoint::listen("127.0.0.1".parse().expect("ip"), None)
        .await
        .expect("listen");
    let sdp = offer(&msrp, "grp1");
    let list = ResourceLists::single(vec![
        Entry::new("sip:bob@cpm.test"),
        Entry::new("sip:carol@cpm.test"),
    ]);
    let body = Multipart::new("b0und")
        .with_part(Part::new("application/sdp", sdp.to_bytes()))
        .with_part(
            Part::new("application/resource-lists+xml", list.to_xml().into_bytes())
                .with_header("Content-Disposition", "recipient-list"),
        );
    let mut inv = ua
        .request(Method::Invite, "sip:conf-factory@cf.test")
        .with_header("Require", "recipient-list-invite");
    inv.set_body(&body.content_type(), body.to_bytes());
    let ok = ua.send(inv).await;
    assert_eq!(ok.status(), Some(StatusCode::OK));
    let contact = ok.header("Contact").expect("contact");
    assert!(
        contact.contains("<sip:conf-f1@cf.test>") && contact.contains("isfocus"),
        "{contact}"
    );
    let sub = ua
        .request(Method::Subscribe, "sip:conf-f1@cf.test")
        .with_header("Event", "conference")
        .with_header("Accept", "application/conference-info+xml")
        .with_header("Expires", "3600");
    let ok = ua.send(sub).await;
    assert_eq!(ok.status(), Some(StatusCode::OK));
    assert_eq!(ok.header("Expires"), Some("120"));
    let notify = ua.next_request().await;
    assert_eq!(notify.request.header("Event"), Some("conference"));
    let info = ConferenceInfo::parse(&notify.request.body).expect("conference-info");
    assert_eq!(info.entity, "sip:conf-f1@cf.test");
    for who in [
        "sip:alice@cpm.test",
        "sip:bob@cpm.test",
        "sip:carol@cpm.test",
    ] {
        assert!(info.user(who).is_some(), "{who} missing");
    }
    ua.answer(&notify, 200, None).await;
}

#[tokio::test]
async fn manual_mode_holds_invite_until_engine_answers() {
    let net = net(Auth::None).await;
    net.set_mode("bob", Method::Invite, Mode::Manual);
    let mut ua = Ua::new("alice", net.core_addr(), Transport::Udp).await;
    ua.register(600, None).await;
    let msrp = MsrpEndpoint::listen("127.0.0.1".parse().expect("ip"), None)
        .await
        .expect("listen");
    let mut inv = ua.request(Method::Invite, "sip:bob@cpm.test");
    inv.set_body("application/sdp", offer(&msrp, "m1").to_bytes());
    let mut tx = ua
        .ep
        .send_request(inv, ua.core, ua.transport)
        .await
        .expect("send");
    let handle = loop {
        let (role, msg, handle) = next_request(&net).await;
        if msg.method() == Some(&Method::Invite) {
            assert_eq!(role, "bob");
            break handle.expect("held");
        }
    };
    let first = tx.next_within(WAIT).await.expect("100");
    assert_eq!(first.status(), Some(StatusCode::TRYING));
    handle
        .respond(486, ResponseSpec::default())
        .await
        .expect("respond");
    let fin = tx.final_response(WAIT).await.expect("final");
    assert_eq!(fin.status(), Some(StatusCode::BUSY_HERE));
}

#[tokio::test]
async fn scripted_rule_answers_next_cf_invite_with_404() {
    let net = net(Auth::None).await;
    net.push_rule(Rule::reply_once("cf", Method::Invite, 404));
    let mut ua = Ua::new("alice", net.core_addr(), Transport::Udp).await;
    ua.register(600, None).await;
    let msrp = MsrpEndpoint::listen("127.0.0.1".parse().expect("ip"), None)
        .await
        .expect("listen");
    let mut inv = ua.request(Method::Invite, "sip:conf-f2@cf.test");
    inv.set_body("application/sdp", offer(&msrp, "r1").to_bytes());
    assert_eq!(
        ua.send(inv.clone()).await.status(),
        Some(StatusCode::NOT_FOUND)
    );
    // Only once: the re-try is answered by the focus.
    let mut inv2 = ua.request(Method::Invite, "sip:conf-f2@cf.test");
    inv2.set_body("application/sdp", offer(&msrp, "r2").to_bytes());
    let ok = ua.send(inv2).await;
    assert_eq!(ok.status(), Some(StatusCode::OK));
    assert!(ok.header("Contact").is_some_and(|c| c.contains("isfocus")));
}

#[tokio::test]
async fn deferred_one_to_one_from_pf_pushes_stored_messages() {
    let net = net(Auth::None).await;
    let mut ua = Ua::new("alice", net.core_addr(), Transport::Tcp).await;
    ua.register(600, None).await;
    let delivery = DeferredDelivery {
        conversation_id: Some("conv-x3".into()),
        ..DeferredDelivery::new(
            "sip:alice@cpm.test",
            "sip:bob@cpm.test",
            vec![StoredMessage {
                from: "sip:bob@cpm.test".into(),
                message_id: "m-1".into(),
                text: "stored hello".into(),
                dispositions: vec!["positive-delivery".into()],
            }],
        )
    };
    let sent = net.deliver_deferred_1to1(delivery).await.expect("deliver");
    let tx = ua.next_request().await;
    let inv = &tx.request;
    assert_eq!(inv.method(), Some(&Method::Invite));
    assert!(inv
        .header("From")
        .is_some_and(|f| f.contains("sip:deferred@pf.test")));
    assert_eq!(inv.header("Referred-By"), Some("<sip:bob@cpm.test>"));
    assert_eq!(inv.header("Conversation-ID"), Some("conv-x3"));
    assert!(inv.accept_contacts().expect("ac")[0].has_icsi(icsi::CPM_SESSION));
    let offer = SessionDescription::parse(&inv.body).expect("offer").value;
    let msrp = MsrpEndpoint::listen("127.0.0.1".parse().expect("ip"), None)
        .await
        .expect("listen");
    let media = MsrpMedia::chat(
        "127.0.0.1",
        msrp.local_addr().port(),
        vec![msrp.local_uri("a9")],
    );
    let answer = chat_answer(&Origin::new("alice", 2, 1, "127.0.0.1"), &offer, &media);
    ua.answer(&tx, 200, Some(("application/sdp", answer.to_bytes())))
        .await;
    // The answer is active: the UA connects to the PF's path.
    let remote = offer
        .msrp_media()
        .and_then(|m| m.path())
        .expect("path")
        .expect("valid");
    let mut cfg = SessionConfig::new(vec![msrp.local_uri("a9")], remote);
    cfg.seed = Some(9);
    let mut conn = cpmconf_stack::msrp::MsrpConnection::connect(cfg, None, Instant::now() + WAIT)
        .await
        .expect("connect to the PF");
    loop {
        match conn.next_event(Instant::now() + WAIT).await.expect("event") {
            SessionEvent::Message { body, .. } => {
                let text = String::from_utf8_lossy(&body);
                assert!(text.contains("stored hello"), "{text}");
                assert!(text.contains("From: <sip:bob@cpm.test>"), "{text}");
                break;
            }
            _ => continue,
        }
    }
    assert!(net.dialog_of_request(sent.id).is_some());
}

#[tokio::test]
async fn held_invite_cancelled_by_the_client_is_observed() {
    let net = net(Auth::None).await;
    net.push_rule(Rule::hold_uri(Method::Invite, "sip:g1@cf.test"));
    let mut ua = Ua::new("alice", net.core_addr(), Transport::Udp).await;
    ua.register(600, None).await;
    let msrp = MsrpEndpoint::listen("127.0.0.1".parse().expect("ip"), None)
        .await
        .expect("listen");
    let mut inv = ua.request(Method::Invite, "sip:g1@cf.test");
    inv.set_body("application/sdp", offer(&msrp, "c1").to_bytes());
    let mut tx = ua
        .ep
        .send_request(inv, ua.core, ua.transport)
        .await
        .expect("send");
    let handle = loop {
        let (role, msg, handle) = next_request(&net).await;
        if msg.method() == Some(&Method::Invite) {
            assert_eq!(role, "cf");
            break handle.expect("held by the rule");
        }
    };
    assert_eq!(
        tx.next_within(WAIT).await.expect("100").status(),
        Some(StatusCode::TRYING)
    );
    let _cancel = tx.cancel().await.expect("cancel");
    let fin = tx.final_response(WAIT).await.expect("487");
    assert_eq!(fin.status(), Some(StatusCode::REQUEST_TERMINATED));
    let (role, msg, _) = next_request(&net).await;
    assert_eq!((role.as_str(), msg.method()), ("cf", Some(&Method::Cancel)));
    assert!(handle.is_cancelled());
}

#[tokio::test]
async fn refer_to_conference_adds_participant_and_notifies() {
    let net = net(Auth::None).await;
    let mut ua = Ua::new("alice", net.core_addr(), Transport::Udp).await;
    ua.register(600, None).await;
    let msrp = MsrpEndpoint::listen("127.0.0.1".parse().expect("ip"), None)
        .await
        .expect("listen");
    let mut inv = ua.request(Method::Invite, "sip:g1@cf.test");
    inv.set_body("application/sdp", offer(&msrp, "g1").to_bytes());
    let ok = ua.send(inv).await;
    assert!(ok
        .header("Contact")
        .is_some_and(|c| c.contains("sip:conf-f1@cf.test")));
    let sub = ua
        .request(Method::Subscribe, "sip:conf-f1@cf.test")
        .with_header("Event", "conference");
    assert_eq!(ua.send(sub).await.status(), Some(StatusCode::OK));
    let first = ua.next_request().await;
    ua.answer(&first, 200, None).await;
    let before = ConferenceInfo::parse(&first.request.body).expect("info");
    assert!(before.user("sip:dave@cpm.test").is_none());
    let list = ResourceLists::single(vec![Entry::new("sip:dave@cpm.test")]);
    let mut refer = ua
        .request(Method::Refer, "sip:conf-f1@cf.test")
        .with_header("Require", "multiple-refer")
        .with_header("Refer-Sub", "false");
    // RFC 5368: the list travels as a multipart part.
    let body = Multipart::new("rb").with_part(Part::new(
        "application/resource-lists+xml",
        list.to_xml().into_bytes(),
    ));
    refer.set_body(&body.content_type(), body.to_bytes());
    assert_eq!(ua.send(refer).await.status(), Some(StatusCode::ACCEPTED));
    let second = ua.next_request().await;
    let after = ConferenceInfo::parse(&second.request.body).expect("info");
    assert!(after.user("sip:dave@cpm.test").is_some());
    assert!(after.version > before.version);
    ua.answer(&second, 200, None).await;
}

/// A conference SUBSCRIBE to a focus of the CF domain that the CF did not create (one a PF
/// INVITE named) is accepted, and the focus then exists for later requests.
#[tokio::test]
async fn conference_subscribe_adopts_a_cf_domain_focus() {
    let net = net(Auth::None).await;
    let mut ua = Ua::new("alice", net.core_addr(), Transport::Udp).await;
    ua.register(600, None).await;
    let sub = ua
        .request(Method::Subscribe, "sip:conf-f9@cf.test")
        .with_header("Event", "conference")
        .with_header("Accept", "application/conference-info+xml")
        .with_header("Expires", "120");
    let resp = ua.send(sub).await;
    assert_eq!(resp.status(), Some(StatusCode::OK));
    assert_eq!(
        net.conference_participants("sip:conf-f9@cf.test"),
        Some(vec!["sip:alice@cpm.test".to_owned()])
    );
}
