//! The reference client against the simulated network (cpmconf-sim): digest registration and a
//! 1-1 chat with the remote user `bob`, observed on the sim's side.

use std::time::Duration;

use cpmconf_client::{ClientConfig, RefClient};
use cpmconf_codec::sip::Method;
use cpmconf_sim::{Auth, NetConfig, Network, ObservedKind};
use cpmconf_ut::{Command, Event, SendChat, StartChat};

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn registers_and_chats_with_bob_through_the_sim() {
    let mut net_cfg = NetConfig::new();
    net_cfg.auth = Auth::Digest {
        realm: "cpm.test".into(),
        algorithms: vec!["SHA-256".into()],
    };
    let net = Network::start(net_cfg).await.expect("sim");
    let mut cfg = ClientConfig::new("alice", "cpm.test", "alice", net.core_addr());
    cfg.provisioned.deferred_mgmt_uri = "sip:deferred@pf.test".into();
    cfg.provisioned.conference_factory_uri = "sip:conf-factory@cf.test".into();
    let (_client, mut ut) = RefClient::start(cfg).await.expect("client");
    let ok = ut.command(Command::Register, WAIT).await.unwrap();
    assert!(ok.ok);
    let ev = ut
        .wait_event(
            &|e| matches!(e, Event::Registered(_) | Event::Unregistered(_)),
            WAIT,
        )
        .await
        .unwrap();
    assert!(matches!(ev, Event::Registered(_)), "{ev:?}");
    let r = ut
        .command(
            Command::StartChat(StartChat {
                to: "sip:bob@cpm.test".into(),
                text: None,
            }),
            WAIT,
        )
        .await
        .unwrap();
    assert!(r.ok);
    let ev = ut
        .wait_event(
            &|e| matches!(e, Event::SessionStarted(_) | Event::SessionEnded(_)),
            WAIT,
        )
        .await
        .unwrap();
    assert!(matches!(ev, Event::SessionStarted(_)), "{ev:?}");
    let r = ut
        .command(
            Command::SendChat(SendChat {
                session: None,
                text: "hi via sim".into(),
                imdn: None,
                to: None,
            }),
            WAIT,
        )
        .await
        .unwrap();
    assert!(r.ok);
    // The sim sees the INVITE at bob and then the chat SEND on bob's MSRP session.
    let mut saw_invite = false;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let o = net.next_observed_within(left).await.expect("observation");
        match o.kind {
            ObservedKind::SipRequest { msg, .. } if msg.method() == Some(&Method::Invite) => {
                assert_eq!(o.role, "bob");
                saw_invite = true;
            }
            ObservedKind::Msrp { frame, .. }
                if frame.body.windows(10).any(|w| w == b"hi via sim") =>
            {
                assert_eq!(o.role, "bob");
                break;
            }
            _ => {}
        }
    }
    assert!(saw_invite);
}
