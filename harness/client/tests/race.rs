//! 7.3.1.5.1: an INVITE for the same group session arrives during the client's own re-join: the
//! client accepts it, CANCELs its own INVITE, does not subscribe until the user chats, then chats
//! over MSRP and subscribes.

mod support;

use cpmconf_codec::cpim;
use cpmconf_codec::sdp::{chat_offer, Setup};
use cpmconf_codec::sip::{icsi, icsi_ref_param, Method, StatusCode};
use cpmconf_stack::msrp::{MsrpEndpoint, SessionConfig};
use cpmconf_stack::sip::response_to;
use cpmconf_ut::{Command, RejoinGroup, SendChat};
use rstest::rstest;
use std::time::Duration;
use support::*;
use tokio::time::Instant;

#[rstest]
#[case::conformant(&[], true)]
#[case::fault_use_incoming(&["7.3.1.5.1/use-incoming-invite"], false)]
#[tokio::test]
async fn incoming_invite_wins_the_rejoin_race(#[case] faults: &[&str], #[case] accepted: bool) {
    let mut r = rig(faults).await;
    r.cmd(Command::RejoinGroup(RejoinGroup {
        group_uri: "sip:g1@cf.test".into(),
        session_identity: Some("sip:focus1@cf.test".into()),
        conversation_id: "conv-r".into(),
        contribution_id: "contrib-r".into(),
        adhoc: false,
        text: None,
    }))
    .await;
    let own = r.expect(Method::Invite).await;
    own.respond(response_to(&own.request, StatusCode::RINGING, Some("cf1")))
        .await
        .unwrap();
    let ep = MsrpEndpoint::listen("127.0.0.1".parse().unwrap(), None)
        .await
        .unwrap();
    let (media, local) = peer_media(&ep, "race", Setup::ActPass);
    let mut inv = request(Method::Invite, "sip:g1@cf.test", "race-in");
    inv.headers.push(
        "Accept-Contact",
        format!("*;{}", icsi_ref_param(&[icsi::CPM_SESSION])),
    );
    inv.headers.push("Contact", "<sip:focus1@cf.test>;isfocus");
    inv.headers.push("Conversation-ID", "conv-r");
    inv.headers.push("Contribution-ID", "contrib-r");
    inv.set_body("application/sdp", chat_offer(&origin(), &media).to_bytes());
    let resp = r.send(inv).await;
    if !accepted {
        assert_eq!(resp.status(), Some(StatusCode(486)));
        // The client has handled the incoming INVITE (`sync`); a CANCEL of its own INVITE would
        // follow on the network: none arrives within the window.
        r.sync().await;
        let cancel = tokio::time::timeout(Duration::from_millis(500), own.cancelled()).await;
        assert!(
            cancel.is_err(),
            "the client cancelled its own re-join INVITE"
        );
        assert!(!own.is_cancelled());
        return;
    }
    assert_eq!(resp.status(), Some(StatusCode::OK));
    // The client CANCELs its own re-join INVITE.
    let cancelled = tokio::time::timeout(WAIT, own.cancelled()).await.unwrap();
    assert!(cancelled);
    let mut conn = ep
        .accept_session(
            SessionConfig::new(local, path_of(&sdp_of(&resp))),
            Instant::now() + WAIT,
        )
        .await
        .unwrap();
    // 7.3.1.5.1 c: no conference subscription while the user does not write.
    r.sync().await;
    let quiet = loop {
        match r.core.next_request_within(Duration::from_millis(300)).await {
            Ok(tx) if tx.request.method() == Some(&Method::Ack) => continue,
            Ok(tx) => break Some(tx.request.method().cloned()),
            Err(_) => break None,
        }
    };
    assert_eq!(quiet, None, "no request before the user chats");
    // d: chat over MSRP, and subscribe.
    r.cmd(Command::SendChat(SendChat {
        session: None,
        text: "me too".into(),
        imdn: None,
        to: None,
    }))
    .await;
    let (_, body) = msrp_message(&mut conn).await;
    let c = cpim::parse(&body).unwrap().value;
    assert_eq!(c.to().map(|t| t.uri), Some("sip:g1@cf.test".into()));
    let sub = r.expect(Method::Subscribe).await;
    assert_eq!(sub.request.request_uri(), Some("sip:focus1@cf.test"));
    assert_eq!(sub.request.header("Event"), Some("conference"));
}
