//! 1-1 chat over MSRP both ways with BYE (Reason cause=200 -> completed elsewhere), pre-defined
//! group with the conference SUBSCRIBE, and re-join with the 404 ad-hoc fallback.

mod support;

use cpmconf_codec::cpim;
use cpmconf_codec::sdp::{chat_answer, Setup};
use cpmconf_codec::sip::{icsi, Method, StatusCode};
use cpmconf_codec::xml::imdn::{Imdn, NotificationKind};
use cpmconf_stack::msrp::MsrpEndpoint;
use cpmconf_stack::sip::{response_to, Dialog};
use cpmconf_ut::{Command, Event, RejoinGroup, SendChat, StartChat, StartGroup};
use rstest::rstest;
use support::*;

/// Starts a 1-1 chat with bob and answers it; returns the MSRP connection and bob's dialog.
async fn chat_up(
    r: &mut Rig,
) -> (
    cpmconf_stack::msrp::MsrpConnection,
    Dialog,
    cpmconf_codec::sip::Message,
) {
    r.cmd(Command::StartChat(StartChat {
        to: "sip:bob@cpm.test".into(),
        text: None,
    }))
    .await;
    let inv = r.expect(Method::Invite).await;
    let req = inv.request.clone();
    assert!(req
        .accept_contacts()
        .unwrap()
        .iter()
        .any(|f| f.has_icsi(icsi::CPM_SESSION)));
    let offer = sdp_of(&req);
    let ep = MsrpEndpoint::listen("127.0.0.1".parse().unwrap(), None)
        .await
        .unwrap();
    let (media, local) = peer_media(&ep, "bob1", Setup::Active);
    let answer = chat_answer(&origin(), &offer, &media);
    let mut ok = response_to(&req, StatusCode::OK, Some("bobtag"));
    ok.headers.push("Contact", "<sip:bob@127.0.0.1:5999>");
    ok.set_body("application/sdp", answer.to_bytes());
    inv.respond(ok).await.unwrap();
    let _ack = r.expect(Method::Ack).await;
    let conn = connect(local, path_of(&offer)).await;
    let mut d = Dialog::uas(&req, "bobtag").unwrap();
    d.local_contact = Some("<sip:bob@127.0.0.1:5999>".into());
    (conn, d, req)
}

#[tokio::test]
async fn one_to_one_chat_both_ways_and_bye_completed_elsewhere() {
    let mut r = rig(&[]).await;
    let (mut conn, mut d, _) = chat_up(&mut r).await;
    let session = match r.event(|e| matches!(e, Event::SessionStarted(_))).await {
        Event::SessionStarted(s) => s.session,
        other => panic!("{other:?}"),
    };
    r.cmd(Command::SendChat(SendChat {
        session: Some(session.clone()),
        text: "hi bob".into(),
        imdn: None,
        to: None,
    }))
    .await;
    let (ct, body) = msrp_message(&mut conn).await;
    assert_eq!(ct.as_deref(), Some("message/cpim"));
    let c = cpim::parse(&body).unwrap().value;
    assert_eq!(c.to().map(|t| t.uri), Some("sip:bob@cpm.test".into()));
    // 7.3.9.1 d: a delivery report is requested.
    assert!(c
        .disposition_notification()
        .contains(&"positive-delivery".to_owned()));
    // isComposing in 1-1: bare (7.3.9.1 e).
    r.cmd(Command::SendComposing(cpmconf_ut::SendComposing {
        session: Some(session.clone()),
        state: cpmconf_ut::ComposingState::Active,
        to: None,
    }))
    .await;
    let (ct, _) = msrp_message(&mut conn).await;
    assert_eq!(ct.as_deref(), Some("application/im-iscomposing+xml"));
    // Bob writes; alice gets it and sends the delivery IMDN back over MSRP.
    let msg = cpim::Message::builder()
        .from(&cpim::NameAddr::uri("sip:bob@cpm.test"))
        .to(&cpim::NameAddr::uri("sip:alice@cpm.test"))
        .imdn_message_id("bob-m1")
        .disposition_notification(&["positive-delivery"])
        .content_type("text/plain")
        .body(b"hello alice".to_vec())
        .build();
    conn.send_message("message/cpim", msg.to_bytes(), Default::default())
        .await
        .unwrap();
    match r.event(|e| matches!(e, Event::MessageReceived(_))).await {
        Event::MessageReceived(m) => {
            assert_eq!(m.text, "hello alice");
            assert_eq!(m.session.as_deref(), Some(session.as_str()));
        }
        other => panic!("{other:?}"),
    }
    let (_, body) = msrp_message(&mut conn).await;
    let c = cpim::parse(&body).unwrap().value;
    let imdn = Imdn::parse(&c.body).unwrap();
    assert_eq!(imdn.message_id, "bob-m1");
    assert_eq!(imdn.kind, NotificationKind::Delivery);
    // BYE with Reason cause=200.
    let mut bye = d.request(Method::Bye);
    bye.headers.push(
        "Reason",
        "SIP ;cause=200 ;text=\"Call completed elsewhere\"",
    );
    assert_eq!(r.send(bye).await.status(), Some(StatusCode::OK));
    match r.event(|e| matches!(e, Event::SessionEnded(_))).await {
        Event::SessionEnded(e) => {
            assert_eq!(e.session, session);
            assert!(e.completed_elsewhere);
        }
        other => panic!("{other:?}"),
    }
}

#[rstest]
#[case::conformant(&[], true)]
#[case::fault(&["7.3.9.1/request-delivery-report"], false)]
#[tokio::test]
async fn delivery_report_request_follows_the_fault(
    #[case] faults: &[&str],
    #[case] requested: bool,
) {
    let mut r = rig(faults).await;
    let (mut conn, _d, _) = chat_up(&mut r).await;
    r.cmd(Command::SendChat(SendChat {
        session: None,
        text: "x".into(),
        imdn: None,
        to: None,
    }))
    .await;
    let (_, body) = msrp_message(&mut conn).await;
    let c = cpim::parse(&body).unwrap().value;
    assert_eq!(
        c.disposition_notification()
            .contains(&"positive-delivery".to_owned()),
        requested
    );
    assert_eq!(c.to().map(|t| t.uri), Some("sip:bob@cpm.test".into()));
}

#[tokio::test]
async fn predefined_group_subscribes_then_rejoin_falls_back_to_adhoc() {
    let mut r = rig(&[]).await;
    r.cmd(Command::StartGroup(StartGroup {
        group_uri: "sip:g1@cf.test".into(),
        conversation_id: None,
        in_reply_to: None,
        anonymous: false,
        text: None,
    }))
    .await;
    let inv = r.expect(Method::Invite).await;
    let req = inv.request.clone();
    assert_eq!(req.request_uri(), Some("sip:g1@cf.test"));
    assert_eq!(req.header("P-Preferred-Service"), Some(icsi::CPM_SESSION));
    assert!(req.contact_features().unwrap()[0].has_icsi(icsi::CPM_SESSION));
    let conv = req.header("Conversation-ID").unwrap().to_owned();
    let contrib = req.header("Contribution-ID").unwrap().to_owned();
    let offer = sdp_of(&req);
    let ep = MsrpEndpoint::listen("127.0.0.1".parse().unwrap(), None)
        .await
        .unwrap();
    let (media, local) = peer_media(&ep, "focus1", Setup::Active);
    let mut ok = response_to(&req, StatusCode::OK, Some("cf"));
    ok.headers.push("Contact", "<sip:focus1@cf.test>;isfocus");
    ok.set_body(
        "application/sdp",
        chat_answer(&origin(), &offer, &media).to_bytes(),
    );
    inv.respond(ok).await.unwrap();
    let _ack = r.expect(Method::Ack).await;
    let _conn = connect(local, path_of(&offer)).await;
    // 7.3.1.3: SUBSCRIBE to the conference event package of the Group Session Identity.
    let sub = r.expect(Method::Subscribe).await;
    assert_eq!(sub.request.request_uri(), Some("sip:focus1@cf.test"));
    assert_eq!(sub.request.header("Event"), Some("conference"));
    let mut sok = response_to(&sub.request, StatusCode::OK, Some("cfsub"));
    sok.headers.push("Contact", "<sip:focus1@cf.test>");
    sok.headers.push("Expires", "600");
    sub.respond(sok).await.unwrap();
    let mut sd = Dialog::uas(&sub.request, "cfsub").unwrap();
    let mut notify = sd.request(Method::Notify);
    notify.headers.push("Event", "conference");
    notify
        .headers
        .push("Subscription-State", "active;expires=600");
    let mut ci = cpmconf_codec::xml::conference_info::ConferenceInfo::new("sip:focus1@cf.test", 1);
    for u in ["sip:bob@cpm.test", "sip:carol@cpm.test"] {
        ci.users.push(cpmconf_codec::xml::conference_info::User {
            entity: Some(u.into()),
            ..Default::default()
        });
    }
    notify.set_body("application/conference-info+xml", ci.to_xml().into_bytes());
    assert_eq!(r.send(notify).await.status(), Some(StatusCode::OK));
    r.sync().await;
    // Leave, then re-join: 404 -> ad-hoc INVITE with the last participants and the same ids.
    let session = match r.event(|e| matches!(e, Event::SessionStarted(_))).await {
        Event::SessionStarted(s) => s.session,
        other => panic!("{other:?}"),
    };
    r.cmd(Command::Leave(cpmconf_ut::Leave {
        session: Some(session),
    }))
    .await;
    // Leaving ends the conference subscription: a SUBSCRIBE in its dialog with Expires: 0.
    let unsub = r.expect(Method::Subscribe).await;
    assert_eq!(unsub.request.call_id(), sub.request.call_id());
    assert_eq!(unsub.request.header("Expires"), Some("0"));
    unsub
        .respond(response_to(&unsub.request, StatusCode::OK, Some("cfsub")))
        .await
        .unwrap();
    // ... and the session: a BYE in the INVITE's dialog.
    let bye = r.expect(Method::Bye).await;
    assert_eq!(bye.request.call_id(), inv.request.call_id());
    bye.respond(response_to(&bye.request, StatusCode::OK, None))
        .await
        .unwrap();
    r.cmd(Command::RejoinGroup(RejoinGroup {
        group_uri: "sip:g1@cf.test".into(),
        session_identity: Some("sip:focus1@cf.test".into()),
        conversation_id: conv.clone(),
        contribution_id: contrib.clone(),
        adhoc: false,
        text: None,
    }))
    .await;
    let rejoin = r.expect(Method::Invite).await;
    assert_eq!(rejoin.request.request_uri(), Some("sip:focus1@cf.test"));
    assert_eq!(
        rejoin.request.header("Conversation-ID"),
        Some(conv.as_str())
    );
    assert_eq!(
        rejoin.request.header("Contribution-ID"),
        Some(contrib.as_str())
    );
    rejoin
        .respond(response_to(
            &rejoin.request,
            StatusCode::NOT_FOUND,
            Some("nf"),
        ))
        .await
        .unwrap();
    let adhoc = r.expect(Method::Invite).await;
    let a = &adhoc.request;
    assert_eq!(a.request_uri(), Some("sip:conference-factory@cpm.test"));
    assert_eq!(a.header("Require"), Some("recipient-list-invite"));
    assert_eq!(a.header("Conversation-ID"), Some(conv.as_str()));
    assert_eq!(a.header("Contribution-ID"), Some(contrib.as_str()));
    let mp = cpmconf_codec::multipart::Multipart::parse_with_type(
        a.header("Content-Type").unwrap(),
        &a.body,
    )
    .unwrap()
    .value;
    let list = mp
        .find("application/resource-lists+xml")
        .expect("resource list");
    assert_eq!(list.header("Content-Disposition"), Some("recipient-list"));
    let rl = cpmconf_codec::xml::resource_lists::parse(&list.body).unwrap();
    let uris: Vec<&str> = rl.entries().map(|e| e.uri.as_str()).collect();
    assert_eq!(uris, vec!["sip:bob@cpm.test", "sip:carol@cpm.test"]);
}

#[rstest]
#[case::conformant(&[], true)]
#[case::fault(&["7.3.1.5/contribution-id"], false)]
#[tokio::test]
async fn rejoin_contribution_id_follows_the_fault(#[case] faults: &[&str], #[case] present: bool) {
    let mut r = rig(faults).await;
    r.cmd(Command::RejoinGroup(RejoinGroup {
        group_uri: "sip:g1@cf.test".into(),
        session_identity: None,
        conversation_id: "conv-x".into(),
        contribution_id: "contrib-x".into(),
        adhoc: false,
        text: None,
    }))
    .await;
    let inv = r.expect(Method::Invite).await;
    assert_eq!(
        inv.request.header("Contribution-ID") == Some("contrib-x"),
        present
    );
    assert_eq!(inv.request.header("Conversation-ID"), Some("conv-x"));
    assert!(inv.request.header("User-Agent").is_some());
}
