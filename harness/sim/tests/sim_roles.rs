//! The engine side of the sim against test UAs: the stateless proxy between two registered
//! UAs, requests sent as a role (MESSAGE, INVITE with CANCEL, chat with MSRP push and BYE with
//! Reason), the deferred group INVITE, and reproducible identifiers.

mod support;

use cpmconf_codec::sdp::{chat_answer, MsrpMedia, Origin, SessionDescription};
use cpmconf_codec::sip::{icsi, Method, StatusCode};
use cpmconf_sim::{
    Body, CpimSpec, DeferredDelivery, NetConfig, Network, ObservedKind, RequestId, RequestSpec,
    SdpOffer, SendOptions,
};
use cpmconf_stack::msrp::{MsrpConnection, MsrpEndpoint, SessionConfig, SessionEvent};
use cpmconf_stack::sip::Transport;
use support::{Ua, WAIT};
use tokio::time::Instant;

async fn start(seed: u64) -> Network {
    let mut cfg = NetConfig::new();
    cfg.seed = seed;
    Network::start(cfg).await.expect("start")
}

/// The next observed response to `id` with a final status.
async fn final_response_to(net: &Network, id: RequestId) -> cpmconf_codec::sip::Message {
    loop {
        let o = net.next_observed_within(WAIT).await.expect("observation");
        if let ObservedKind::SipResponse { msg, to_request } = o.kind {
            if to_request == id && msg.status().is_some_and(|s| s.is_final()) {
                return msg;
            }
        }
    }
}

#[tokio::test]
async fn proxy_forwards_between_registered_uas() {
    let net = start(1).await;
    let mut alice = Ua::new("alice", net.core_addr(), Transport::Udp).await;
    let mut bob = Ua::new("bob", net.core_addr(), Transport::Udp).await;
    alice.register(600, None).await;
    bob.register(600, None).await;
    let mut msg = alice.request(Method::Message, "sip:bob@cpm.test");
    msg.set_body("text/plain", b"direct".to_vec());
    let alice_contact = alice.contact_uri();
    let sending = tokio::spawn(async move {
        let r = alice.send(msg).await;
        (alice, r)
    });
    let tx = bob.next_request().await;
    // RFC 3261 16.5/16.6: Request-URI rewritten to the contact, the proxy's Via on top.
    assert_eq!(tx.request.request_uri(), Some(bob.contact_uri().as_str()));
    let vias = tx.request.headers.elements("Via");
    assert_eq!(vias.len(), 2, "proxy Via + UAC Via: {vias:?}");
    // The UAC's Via with the received / rport it was sent from (RFC 3581 4); the proxy's own
    // on top, its branch a function of the incoming one (16.11).
    let alice_port = alice_contact
        .strip_prefix("sip:alice@127.0.0.1:")
        .and_then(|r| r.strip_suffix(";transport=udp"))
        .unwrap_or_else(|| panic!("{alice_contact}"));
    let uac_branch = vias[1]
        .1
        .split(";branch=z9hG4bK")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .unwrap_or_else(|| panic!("{vias:?}"));
    assert_eq!(
        vias[1].1,
        format!(
            "SIP/2.0/UDP 127.0.0.1:{alice_port};branch=z9hG4bK{uac_branch};rport={alice_port};\
             received=127.0.0.1"
        )
    );
    assert_eq!(
        vias[0].1,
        format!(
            "SIP/2.0/UDP {};branch=z9hG4bKpx{uac_branch}",
            net.core_addr()
        )
    );
    bob.answer(&tx, 200, None).await;
    let (_alice, resp) = sending.await.expect("join");
    assert_eq!(resp.status(), Some(StatusCode::OK));
}

/// A MESSAGE reusing the Call-ID (and From tag) of the sender's REGISTER is routed by its method
/// and Request-URI, so it reaches the registered callee instead of the registrar.
#[tokio::test]
async fn message_reusing_the_register_call_id_is_forwarded_to_the_callee() {
    let net = start(1).await;
    let mut alice = Ua::new("alice", net.core_addr(), Transport::Udp).await;
    let mut bob = Ua::new("bob", net.core_addr(), Transport::Udp).await;
    bob.register(600, None).await;
    let mut reg = alice
        .request(Method::Register, "sip:cpm.test")
        .with_header("Expires", "600");
    reg.headers.set("To", format!("<{}>", alice.aor()));
    let call_id = reg.call_id().unwrap().to_owned();
    let from = reg.header("From").unwrap().to_owned();
    assert_eq!(alice.send(reg).await.status(), Some(StatusCode::OK));
    let mut msg = alice.request(Method::Message, "sip:bob@cpm.test");
    msg.headers.set("Call-ID", call_id.clone());
    msg.headers.set("From", from);
    msg.headers.set("CSeq", "3 MESSAGE");
    msg.set_body("text/plain", b"same call-id".to_vec());
    let sending = tokio::spawn(async move {
        let r = alice.send(msg).await;
        (alice, r)
    });
    let tx = bob.next_request().await;
    assert_eq!(tx.request.method(), Some(&Method::Message));
    assert_eq!(tx.request.call_id(), Some(call_id.as_str()));
    bob.answer(&tx, 202, None).await;
    let (_alice, resp) = sending.await.expect("join");
    // The callee's answer, forwarded back: not the registrar's own 200.
    assert_eq!(resp.status(), Some(StatusCode(202)));
}

/// RFC 3261 12.2.2: a BYE with a To tag matching no dialog gets 481, also on the Call-ID of an
/// earlier REGISTER.
#[tokio::test]
async fn bye_outside_any_dialog_gets_481() {
    let net = start(1).await;
    let mut alice = Ua::new("alice", net.core_addr(), Transport::Udp).await;
    let mut reg = alice
        .request(Method::Register, "sip:cpm.test")
        .with_header("Expires", "600");
    reg.headers.set("To", format!("<{}>", alice.aor()));
    let call_id = reg.call_id().unwrap().to_owned();
    assert_eq!(alice.send(reg).await.status(), Some(StatusCode::OK));
    let mut bye = alice.request(Method::Bye, "sip:bob@cpm.test");
    bye.headers.set("Call-ID", call_id);
    bye.headers.set("To", "<sip:bob@cpm.test>;tag=nosuchdialog");
    assert_eq!(alice.send(bye).await.status(), Some(StatusCode(481)));
}

#[tokio::test]
async fn message_sent_as_remote_user_is_answered_by_the_client() {
    let net = start(1).await;
    let mut alice = Ua::new("alice", net.core_addr(), Transport::Tcp).await;
    alice.register(600, None).await;
    let cpim = CpimSpec::text("sip:bob@cpm.test", "sip:alice@cpm.test", "hello");
    let spec = RequestSpec::to_aor(Method::Message, "sip:alice@cpm.test").body(Body::Cpim(cpim));
    let sent = net.send_request("bob", spec).await.expect("send");
    let tx = alice.next_request().await;
    assert!(tx
        .request
        .header("From")
        .is_some_and(|f| f.contains("sip:bob@cpm.test")));
    assert_eq!(tx.request.header("Content-Type"), Some("message/cpim"));
    alice.answer(&tx, 202, None).await;
    let resp = final_response_to(&net, sent.id).await;
    assert_eq!(resp.status(), Some(StatusCode::ACCEPTED));
    assert_eq!(net.role_of_call_id(&sent.call_id).as_deref(), Some("bob"));
}

#[tokio::test]
async fn invite_as_remote_user_can_be_cancelled() {
    let net = start(1).await;
    let mut alice = Ua::new("alice", net.core_addr(), Transport::Udp).await;
    alice.register(600, None).await;
    let spec =
        RequestSpec::to_aor(Method::Invite, "sip:alice@cpm.test").body(Body::Sdp(SdpOffer::chat()));
    let sent = net.send_request("bob", spec).await.expect("send");
    let tx = alice.next_request().await;
    alice.answer(&tx, 180, None).await;
    loop {
        let o = net.next_observed_within(WAIT).await.expect("180");
        if let ObservedKind::SipResponse { msg, .. } = o.kind {
            if msg.status() == Some(StatusCode::RINGING) {
                break;
            }
        }
    }
    let cancel_id = net.cancel(sent.id).await.expect("cancel");
    assert!(tokio::time::timeout(WAIT, tx.cancelled())
        .await
        .expect("in time"));
    let fin = final_response_to(&net, sent.id).await;
    assert_eq!(fin.status(), Some(StatusCode::REQUEST_TERMINATED));
    assert_ne!(cancel_id, sent.id);
}

/// Bob invites alice to a chat and she accepts it with an a=setup:active answer (she is to
/// connect to bob's MSRP path): the dialog, the sim's MSRP session, her endpoint and bob's path.
async fn chat_accepted_by(
    net: &Network,
    alice: &mut Ua,
) -> (
    cpmconf_sim::DialogHandle,
    cpmconf_sim::SessionId,
    MsrpEndpoint,
    Vec<cpmconf_codec::msrp::MsrpUri>,
) {
    let spec = RequestSpec::to_aor(Method::Invite, "sip:alice@cpm.test")
        .header(
            "Accept-Contact",
            &format!(
                "*;{}",
                cpmconf_codec::sip::icsi_ref_param(&[icsi::CPM_SESSION])
            ),
        )
        .body(Body::Sdp(SdpOffer::chat()));
    let sent = net.send_request("bob", spec).await.expect("send");
    let tx = alice.next_request().await;
    let offer = SessionDescription::parse(&tx.request.body)
        .expect("offer")
        .value;
    let msrp = MsrpEndpoint::listen("127.0.0.1".parse().expect("ip"), None)
        .await
        .expect("listen");
    let media = MsrpMedia::chat(
        "127.0.0.1",
        msrp.local_addr().port(),
        vec![msrp.local_uri("al1")],
    );
    let answer = chat_answer(&Origin::new("alice", 5, 1, "127.0.0.1"), &offer, &media);
    alice
        .answer(&tx, 200, Some(("application/sdp", answer.to_bytes())))
        .await;
    let ok = final_response_to(net, sent.id).await;
    assert_eq!(ok.status(), Some(StatusCode::OK));
    let dialog = net.dialog_of_request(sent.id).expect("dialog");
    let session = net.session_of_dialog(dialog).expect("session");
    // The sim ACKs the 2xx.
    let ack = alice.next_request().await;
    assert_eq!(ack.request.method(), Some(&Method::Ack));
    let remote = offer
        .msrp_media()
        .and_then(|m| m.path())
        .expect("path")
        .expect("valid");
    (dialog, session, msrp, remote)
}

#[tokio::test]
async fn chat_from_remote_user_pushes_msrp_and_ends_with_reasoned_bye() {
    let net = start(1).await;
    let mut alice = Ua::new("alice", net.core_addr(), Transport::Tcp).await;
    alice.register(600, None).await;
    let (dialog, session, msrp, remote) = chat_accepted_by(&net, &mut alice).await;
    let mut cfg = SessionConfig::new(vec![msrp.local_uri("al1")], remote);
    cfg.seed = Some(4);
    let mut conn = MsrpConnection::connect(cfg, None, Instant::now() + WAIT)
        .await
        .expect("connect to bob");
    net.send_msrp(
        session,
        "message/cpim",
        b"pushed text".to_vec(),
        SendOptions::default(),
    )
    .await
    .expect("send msrp");
    loop {
        if let SessionEvent::Message { body, .. } =
            conn.next_event(Instant::now() + WAIT).await.expect("event")
        {
            assert_eq!(body, b"pushed text");
            break;
        }
    }
    let bye = RequestSpec::in_dialog(Method::Bye, dialog).header(
        "Reason",
        "SIP ;cause=200 ;text=\"Call completed elsewhere\"",
    );
    let bye_sent = net.send_request("bob", bye).await.expect("bye");
    let btx = alice.next_request().await;
    assert_eq!(btx.request.method(), Some(&Method::Bye));
    assert!(btx
        .request
        .header("Reason")
        .is_some_and(|r| r.contains("cause=200")));
    alice.answer(&btx, 200, None).await;
    let fin = final_response_to(&net, bye_sent.id).await;
    assert_eq!(fin.status(), Some(StatusCode::OK));
}

/// A client that accepts a chat as the active side and never connects: the session ends at
/// the sim's deadline for the connection, and pushing a message on it says why (not just that
/// it ended), so a step's error tells that the client did not connect.
#[tokio::test]
async fn pushing_on_a_session_the_client_never_connected_says_why_it_ended() {
    let mut cfg = NetConfig::new();
    cfg.seed = 1;
    // A short transaction timeout: the wait for the connection is its floor of 2 s.
    cfg.timers = cfg.timers.scaled(0.01);
    let net = Network::start(cfg).await.expect("start");
    let mut alice = Ua::new("alice", net.core_addr(), Transport::Tcp).await;
    alice.register(600, None).await;
    let (_dialog, session, _msrp, _remote) = chat_accepted_by(&net, &mut alice).await;
    let err = net
        .send_msrp(session, "text/plain", b"x".to_vec(), SendOptions::default())
        .await
        .expect_err("no connection, no session");
    let text = err.to_string();
    assert!(
        text.contains("the session has ended (MSRP session not set up: timed out waiting for an MSRP connection)"),
        "{text}"
    );
    // The client's doing (it did not connect), which the runner files as not reached.
    assert!(
        matches!(
            err,
            cpmconf_sim::SimError::SessionEnded {
                by_client: true,
                ..
            }
        ),
        "{err:?}"
    );
    // A later command names the same cause.
    let again = net
        .send_msrp(session, "text/plain", b"y".to_vec(), SendOptions::default())
        .await
        .expect_err("ended");
    assert_eq!(again.to_string(), text);
}

#[tokio::test]
async fn deferred_group_invite_carries_focus_contact() {
    let net = start(1).await;
    let mut alice = Ua::new("alice", net.core_addr(), Transport::Udp).await;
    alice.register(600, None).await;
    let d = DeferredDelivery {
        conversation_id: Some("X2".into()),
        contribution_id: Some("K2".into()),
        deferred_tag: true,
        ..DeferredDelivery::new("sip:alice@cpm.test", "sip:conf-f2@cf.test", Vec::new())
    };
    let sent = net
        .deliver_deferred_group(d, "sip:conf-f2@cf.test")
        .await
        .expect("deliver");
    let tx = alice.next_request().await;
    let inv = &tx.request;
    assert!(inv
        .header("Contact")
        .is_some_and(|c| c.contains("<sip:conf-f2@cf.test>;isfocus")));
    assert_eq!(inv.header("Contribution-ID"), Some("K2"));
    let ac = inv.accept_contacts().expect("accept-contact");
    assert!(ac[0].has_icsi(icsi::CPM_SESSION) && ac[0].has_icsi(icsi::CPM_DEFERRED));
    let offer = SessionDescription::parse(&inv.body).expect("sdp").value;
    let m = offer.msrp_media().expect("msrp");
    assert_eq!(m.accept_types(), vec!["message/cpim"]);
    alice.answer(&tx, 486, None).await;
    let fin = final_response_to(&net, sent.id).await;
    assert_eq!(fin.status(), Some(StatusCode::BUSY_HERE));
}

async fn first_call_id(seed: u64) -> (String, String) {
    let net = start(seed).await;
    let mut alice = Ua::new("alice", net.core_addr(), Transport::Udp).await;
    alice.register(600, None).await;
    let sent = net
        .send_request(
            "bob",
            RequestSpec::to_aor(Method::Options, "sip:alice@cpm.test"),
        )
        .await
        .expect("send");
    let tx = alice.next_request().await;
    alice.answer(&tx, 200, None).await;
    let from = sent.request.header("From").unwrap_or_default().to_owned();
    (sent.call_id, from)
}

#[tokio::test]
async fn identifiers_follow_the_seed() {
    let a = first_call_id(42).await;
    let b = first_call_id(42).await;
    let c = first_call_id(43).await;
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[tokio::test]
async fn held_message_handed_back_to_auto_and_deferred_imdn_by_message() {
    let net = start(1).await;
    net.set_mode("*", Method::Message, cpmconf_sim::Mode::Manual);
    let mut alice = Ua::new("alice", net.core_addr(), Transport::Udp).await;
    alice.register(600, None).await;
    let msg = alice.request(Method::Message, "sip:carol@cpm.test");
    let sending = tokio::spawn(async move {
        let r = alice.send(msg).await;
        (alice, r)
    });
    let handle = loop {
        let o = net.next_observed_within(WAIT).await.expect("observation");
        if let ObservedKind::SipRequest { msg, handle } = o.kind {
            if msg.method() == Some(&Method::Message) {
                assert_eq!(o.role, "carol");
                break handle.expect("held");
            }
        }
    };
    handle.auto().await.expect("auto");
    let (alice, resp) = sending.await.expect("join");
    assert_eq!(resp.status(), Some(StatusCode::OK));

    let imdn = CpimSpec::imdn(
        "sip:bob@cpm.test",
        "sip:alice@cpm.test",
        "m-7",
        cpmconf_sim::NotificationKind::Display,
        cpmconf_sim::ImdnStatus::Displayed,
    );
    let sent = net
        .deliver_deferred_message("sip:alice@cpm.test", "sip:bob@cpm.test", imdn)
        .await
        .expect("deliver");
    let tx = alice.next_request().await;
    assert!(tx
        .request
        .header("From")
        .is_some_and(|f| f.contains("sip:deferred@pf.test")));
    let ac = tx.request.accept_contacts().expect("accept-contact");
    assert!(ac[0].has_icsi(icsi::CPM_DEFERRED));
    let body = String::from_utf8_lossy(&tx.request.body).into_owned();
    assert!(body.contains("Content-Disposition: notification"), "{body}");
    assert!(body.contains("<displayed/>"), "{body}");
    alice.answer(&tx, 200, None).await;
    assert_eq!(
        final_response_to(&net, sent.id).await.status(),
        Some(StatusCode::OK)
    );
}
