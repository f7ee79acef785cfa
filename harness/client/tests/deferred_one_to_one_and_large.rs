//! Deferred 1-1 delivery (7.3.11: IMDN back in the session, reply in a new 1-1 session, 480
//! when the user declines), large message mode above the pager limit, and a BYE fault.

mod support;

use cpmconf_codec::cpim;
use cpmconf_codec::sdp::{chat_answer, chat_offer, Direction, Setup};
use cpmconf_codec::sip::{icsi, icsi_ref_param, Message, Method, StatusCode};
use cpmconf_codec::xml::imdn::Imdn;
use cpmconf_stack::msrp::{MsrpEndpoint, SessionConfig};
use cpmconf_stack::sip::{response_to, Dialog};
use cpmconf_ut::{Command, Event, Policy, SendChat, SendPager};
use rstest::rstest;
use support::*;
use tokio::time::Instant;

fn deferred_invite(
    ep: &MsrpEndpoint,
    call_id: &str,
) -> (Message, Vec<cpmconf_codec::msrp::MsrpUri>) {
    let (media, local) = peer_media(ep, call_id, Setup::ActPass);
    let mut inv = request(Method::Invite, "sip:rcse-standfw@cpm.test", call_id);
    inv.headers.push(
        "Accept-Contact",
        format!("*;{}", icsi_ref_param(&[icsi::CPM_SESSION])),
    );
    inv.headers.push("Contact", "<sip:pf@127.0.0.1:5998>");
    inv.headers.push("Referred-By", "<sip:bob@cpm.test>");
    inv.headers.push("Conversation-ID", "conv-d1");
    inv.headers.push("Contribution-ID", "contrib-d1");
    inv.set_body("application/sdp", chat_offer(&origin(), &media).to_bytes());
    (inv, local)
}

#[tokio::test]
async fn deferred_one_to_one_imdn_in_session_and_reply_in_new_session() {
    let mut r = rig(&[]).await;
    let ep = MsrpEndpoint::listen("127.0.0.1".parse().unwrap(), None)
        .await
        .unwrap();
    let (inv, local) = deferred_invite(&ep, "d11");
    let resp = r.send(inv).await;
    assert_eq!(resp.status(), Some(StatusCode::OK));
    let answer = sdp_of(&resp);
    let mut conn = ep
        .accept_session(
            SessionConfig::new(local, path_of(&answer)),
            Instant::now() + WAIT,
        )
        .await
        .unwrap();
    let msg = cpim::Message::builder()
        .from(&cpim::NameAddr::uri("sip:bob@cpm.test"))
        .to(&cpim::NameAddr::uri("sip:alice@cpm.test"))
        .imdn_message_id("d-1")
        .disposition_notification(&["positive-delivery"])
        .content_type("text/plain")
        .body(b"stored for you".to_vec())
        .build();
    conn.send_message("message/cpim", msg.to_bytes(), Default::default())
        .await
        .unwrap();
    let session = match r.event(|e| matches!(e, Event::MessageReceived(_))).await {
        Event::MessageReceived(m) => {
            assert!(m.deferred);
            assert_eq!(m.from, "sip:bob@cpm.test");
            m.session.unwrap()
        }
        other => panic!("{other:?}"),
    };
    // 7.3.11 item 1: the IMDN goes back in the same session.
    let (_, body) = msrp_message(&mut conn).await;
    let c = cpim::parse(&body).unwrap().value;
    assert_eq!(Imdn::parse(&c.body).unwrap().message_id, "d-1");
    // The user replies: a NEW 1-1 session to the originator, nothing into the deferred one.
    r.cmd(Command::SendChat(SendChat {
        session: Some(session),
        text: "thanks".into(),
        imdn: None,
        to: None,
    }))
    .await;
    let new = r.expect(Method::Invite).await;
    assert_eq!(new.request.request_uri(), Some("sip:bob@cpm.test"));
    r.sync().await;
    assert!(
        msrp_quiet(&mut conn).await,
        "no user message into the deferred session"
    );
}

#[rstest]
#[case::conformant(&[], 480)]
#[case::fault_decline_480(&["7.3.11/decline-480"], 486)]
#[tokio::test]
async fn deferred_one_to_one_declined_with_480(#[case] faults: &[&str], #[case] code: u16) {
    let mut r = rig(faults).await;
    r.cmd(Command::SetPolicy(Policy {
        decline_deferred_with_480: Some(true),
        ..Default::default()
    }))
    .await;
    let ep = MsrpEndpoint::listen("127.0.0.1".parse().unwrap(), None)
        .await
        .unwrap();
    let (inv, _) = deferred_invite(&ep, "d12");
    assert_eq!(r.send(inv).await.status(), Some(StatusCode(code)));
}

#[tokio::test]
async fn message_above_pager_limit_goes_large_mode() {
    let mut r = rig(&[]).await;
    let text = "x".repeat(1400);
    r.cmd(Command::SendPager(SendPager {
        to: "sip:bob@cpm.test".into(),
        text: text.clone(),
        content_type: None,
        imdn: None,
    }))
    .await;
    let inv = r.expect(Method::Invite).await;
    let req = inv.request.clone();
    assert!(req
        .accept_contacts()
        .unwrap()
        .iter()
        .any(|f| f.has_icsi(icsi::CPM_LARGEMSG)));
    let offer = sdp_of(&req);
    assert_eq!(
        offer.effective_direction(offer.msrp_media().unwrap()),
        Direction::SendOnly
    );
    let ep = MsrpEndpoint::listen("127.0.0.1".parse().unwrap(), None)
        .await
        .unwrap();
    let (mut media, local) = peer_media(&ep, "large", Setup::Active);
    media.direction = Some(Direction::RecvOnly);
    let mut ok = response_to(&req, StatusCode::OK, Some("lg"));
    ok.headers.push("Contact", "<sip:bob@127.0.0.1:5999>");
    ok.set_body(
        "application/sdp",
        chat_answer(&origin(), &offer, &media).to_bytes(),
    );
    inv.respond(ok).await.unwrap();
    let mut conn = connect(local, path_of(&offer)).await;
    let (_, body) = msrp_message(&mut conn).await;
    let c = cpim::parse(&body).unwrap().value;
    assert_eq!(c.body, text.as_bytes());
    let bye = r.expect(Method::Bye).await;
    assert_eq!(bye.request.call_id(), req.call_id());
}

#[rstest]
#[case::conformant(&[], true)]
#[case::fault_send_200(&["7.3.4.3/send-200-ok"], false)]
#[tokio::test]
async fn bye_is_answered_200(#[case] faults: &[&str], #[case] answered: bool) {
    let r = rig(faults).await;
    let ep = MsrpEndpoint::listen("127.0.0.1".parse().unwrap(), None)
        .await
        .unwrap();
    let (media, local) = peer_media(&ep, "byetest", Setup::ActPass);
    let mut inv = request(Method::Invite, "sip:bob@cpm.test", "bye-1");
    inv.headers.push(
        "Accept-Contact",
        format!("*;{}", icsi_ref_param(&[icsi::CPM_SESSION])),
    );
    inv.headers.push("Contact", "<sip:bob@127.0.0.1:5999>");
    inv.set_body("application/sdp", chat_offer(&origin(), &media).to_bytes());
    let resp = r.send(inv.clone()).await;
    assert_eq!(resp.status(), Some(StatusCode::OK));
    let _conn = ep
        .accept_session(
            SessionConfig::new(local, path_of(&sdp_of(&resp))),
            Instant::now() + WAIT,
        )
        .await
        .unwrap();
    // The peer's dialog: built as UAC from its INVITE and the 200.
    let mut d = Dialog::uac(&inv, &resp).unwrap();
    let bye = d.request(Method::Bye);
    let mut tx = r
        .core
        .send_request(bye, r.client.sip_addr(), cpmconf_stack::sip::Transport::Udp)
        .await
        .unwrap();
    let got = tx
        .final_response(std::time::Duration::from_millis(800))
        .await;
    assert_eq!(got.is_ok(), answered);
    if answered {
        assert_eq!(got.unwrap().status(), Some(StatusCode::OK));
    }
}
