//! Deferred group delivery in a sendonly session (no IMDN, no chat into it; the fault turns the
//! IMDN on), and file transfer: push with BYE on completion, resume of an unknown file -> 488.

mod support;

use cpmconf_codec::cpim;
use cpmconf_codec::sdp::{chat_offer, file_answer, Direction, Setup};
use cpmconf_codec::sip::{icsi, icsi_ref_param, Method, StatusCode};
use cpmconf_stack::msrp::{MsrpEndpoint, SessionConfig};
use cpmconf_ut::{Command, Event, SendChat, SendFile};
use rstest::rstest;
use support::*;
use tokio::time::Instant;

#[rstest]
#[case::conformant(&[], false)]
#[case::fault_sendonly_no_imdn(&["7.3.12/sendonly-no-imdn"], true)]
#[tokio::test]
async fn deferred_group_sendonly_gets_no_imdn_and_no_chat(
    #[case] faults: &[&str],
    #[case] imdn_expected: bool,
) {
    let mut r = rig(faults).await;
    let ep = MsrpEndpoint::listen("127.0.0.1".parse().unwrap(), None)
        .await
        .unwrap();
    let (mut media, local) = peer_media(&ep, "pf1", Setup::ActPass);
    media.direction = Some(Direction::SendOnly);
    media.accept_types = vec!["message/cpim".into()];
    let mut inv = request(Method::Invite, "sip:g1@cf.test", "deferred-g1");
    inv.headers.push(
        "Accept-Contact",
        format!("*;{}", icsi_ref_param(&[icsi::CPM_SESSION])),
    );
    inv.headers.push("Contact", "<sip:focus1@cf.test>;isfocus");
    inv.headers.push("Conversation-ID", "conv-g1");
    inv.headers.push("Contribution-ID", "contrib-g1");
    inv.set_body("application/sdp", chat_offer(&origin(), &media).to_bytes());
    let resp = r.send(inv).await;
    assert_eq!(resp.status(), Some(StatusCode::OK));
    let answer = sdp_of(&resp);
    let m = answer.msrp_media().unwrap();
    // wire-facts 7: a sendonly offer is answered recvonly.
    assert_eq!(answer.effective_direction(m), Direction::RecvOnly);
    let mut conn = ep
        .accept_session(
            SessionConfig::new(local, path_of(&answer)),
            Instant::now() + WAIT,
        )
        .await
        .unwrap();
    let msg = cpim::Message::builder()
        .from(&cpim::NameAddr::uri("sip:bob@cpm.test"))
        .to(&cpim::NameAddr::uri("sip:g1@cf.test"))
        .imdn_message_id("deferred-1")
        .disposition_notification(&["positive-delivery"])
        .content_type("text/plain")
        .body(b"while you were away".to_vec())
        .build();
    conn.send_message("message/cpim", msg.to_bytes(), Default::default())
        .await
        .unwrap();
    match r.event(|e| matches!(e, Event::MessageReceived(_))).await {
        Event::MessageReceived(m) => assert!(m.deferred),
        other => panic!("{other:?}"),
    }
    if !imdn_expected {
        // The user writes: nothing goes into the sendonly session; a re-join INVITE does.
        r.cmd(Command::SendChat(SendChat {
            session: None,
            text: "back".into(),
            imdn: None,
            to: None,
        }))
        .await;
        let rejoin = r.expect(Method::Invite).await;
        assert_eq!(rejoin.request.request_uri(), Some("sip:focus1@cf.test"));
        assert_eq!(rejoin.request.header("Contribution-ID"), Some("contrib-g1"));
    }
    r.sync().await;
    assert_eq!(
        // The deferred session may end (idle) in the window: a close is not a message.
        !msrp_quiet_or_closed(&mut conn).await,
        imdn_expected,
        "IMDN or chat into the session"
    );
    if !imdn_expected {
        // 7.3.12 c i: the delivery session is left once delivery is done and the Participant
        // Information was received (the last deferred item).
        let info = "<?xml version=\"1.0\"?><conference-info xmlns=\"urn:ietf:params:xml:ns:conference-info\" entity=\"sip:focus1@cf.test\" state=\"full\" version=\"1\"><users><user entity=\"sip:bob@cpm.test\"/></users></conference-info>";
        conn.send_message(
            "application/conference-info+xml",
            info.as_bytes().to_vec(),
            Default::default(),
        )
        .await
        .unwrap();
        let bye = r.expect(Method::Bye).await;
        assert_eq!(bye.request.call_id(), Some("deferred-g1"));
    }
}

#[tokio::test]
async fn file_push_completes_with_bye() {
    let mut r = rig(&[]).await;
    r.cmd(Command::SendFile(SendFile {
        to: "sip:bob@cpm.test".into(),
        name: "a.bin".into(),
        content_type: "application/octet-stream".into(),
        size: Some(5000),
        path: None,
        sha256: None,
    }))
    .await;
    let inv = r.expect(Method::Invite).await;
    let req = inv.request.clone();
    assert!(req
        .accept_contacts()
        .unwrap()
        .iter()
        .any(|f| f.has_icsi(icsi::CPM_FILETRANSFER)));
    let offer = sdp_of(&req);
    let om = offer.msrp_media().unwrap();
    assert_eq!(offer.effective_direction(om), Direction::SendOnly);
    let sel = om.file_selector().unwrap().unwrap();
    assert_eq!(sel.size, Some(5000));
    assert_eq!(sel.name.as_deref(), Some("a.bin"));
    assert!(om.file_transfer_id().is_some());
    let ep = MsrpEndpoint::listen("127.0.0.1".parse().unwrap(), None)
        .await
        .unwrap();
    let (media, local) = peer_media(&ep, "bobft", Setup::Active);
    let mut ok = cpmconf_stack::sip::response_to(&req, StatusCode::OK, Some("ft"));
    ok.headers.push("Contact", "<sip:bob@127.0.0.1:5999>");
    ok.set_body(
        "application/sdp",
        file_answer(&origin(), &offer, &media, None).to_bytes(),
    );
    inv.respond(ok).await.unwrap();
    let mut conn = connect(local, path_of(&offer)).await;
    let (_, body) = msrp_message(&mut conn).await;
    assert_eq!(body.len(), 5000);
    // 7.4.3: the sender closes the completed transfer with BYE.
    let bye = r.expect(Method::Bye).await;
    bye.respond(cpmconf_stack::sip::response_to(
        &bye.request,
        StatusCode::OK,
        None,
    ))
    .await
    .unwrap();
    match r.event(|e| matches!(e, Event::FileTransferEnded(_))).await {
        Event::FileTransferEnded(e) => {
            assert!(e.completed);
            assert_eq!(e.bytes, Some(5000));
        }
        other => panic!("{other:?}"),
    }
}

#[rstest]
#[case::conformant(&[], 488)]
#[case::fault_unknown_file(&["7.4.5.2/488-unknown-file"], 200)]
#[tokio::test]
async fn resume_of_unknown_file_is_488(#[case] faults: &[&str], #[case] code: u16) {
    let r = rig(faults).await;
    let ep = MsrpEndpoint::listen("127.0.0.1".parse().unwrap(), None)
        .await
        .unwrap();
    let (mut media, _local) = peer_media(&ep, "resume1", Setup::ActPass);
    media.accept_types = vec!["application/octet-stream".into()];
    let mut sdp = String::from_utf8(chat_offer(&origin(), &media).to_bytes()).unwrap();
    sdp = sdp.replace("a=sendrecv\r\n", "a=recvonly\r\n");
    sdp.push_str(
        "a=file-selector:name:\"never-sent.bin\" type:application/octet-stream size:100\r\n",
    );
    sdp.push_str("a=file-transfer-id:xyz\r\na=file-range:51-100\r\n");
    let mut inv = request(Method::Invite, "sip:bob@cpm.test", "resume-1");
    inv.headers.push(
        "Accept-Contact",
        format!("*;{}", icsi_ref_param(&[icsi::CPM_FILETRANSFER])),
    );
    inv.headers.push("Contact", "<sip:bob@127.0.0.1:5999>");
    inv.set_body("application/sdp", sdp.into_bytes());
    let resp = r.send(inv).await;
    assert_eq!(resp.status(), Some(StatusCode(code)));
}
