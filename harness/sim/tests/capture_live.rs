//! A live run of the simulated network, captured: tshark decodes every frame of the pcap as SIP
//! or MSRP with no malformed packet, a large MSRP SEND split over TCP segments reassembles into
//! one message, and reading the pcap back gives the same Trace as the live run.

mod support;

use cpmconf_capture::{attach_pcap, tshark, Tap, Trace, TraceFrame};
use cpmconf_codec::sdp::{chat_offer, MsrpMedia, Origin, SessionDescription};
use cpmconf_codec::sip::{icsi, icsi_ref_param, Method, StatusCode};
use cpmconf_sim::{NetConfig, Network};
use cpmconf_stack::msrp::{MsrpEndpoint, SendOptions, SessionConfig, SessionEvent};
use cpmconf_stack::sip::{Dialog, Transport};
use support::{Ua, WAIT};
use tokio::time::Instant;

/// Bytes of the large chat message: well above one TCP segment (MSS 1460) of the pcap.
const LARGE: usize = 20_000;

#[tokio::test]
async fn live_capture_decodes_in_tshark_and_reads_back_identically() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pcap = dir.path().join("live.pcap");
    let tap = Tap::new();
    attach_pcap(&tap, &pcap).expect("pcap sink");
    let mut cfg = NetConfig::new();
    cfg.tap = Some(tap.clone());
    let net = Network::start(cfg).await.expect("network");

    // Pager mode over UDP.
    let mut udp = Ua::with_tap("alice", net.core_addr(), Transport::Udp, Some(tap.clone())).await;
    assert_eq!(udp.register(600, None).await.status(), Some(StatusCode::OK));
    let mut msg = udp
        .request(Method::Message, "sip:bob@cpm.test")
        .with_header(
            "Accept-Contact",
            format!("*;{}", icsi_ref_param(&[icsi::CPM_MSG])),
        );
    msg.set_body("text/plain", b"pager mode".to_vec());
    assert!(udp.send(msg).await.status().is_some_and(|s| s.is_success()));

    // A chat over TCP with a large MSRP SEND (one chunk, many TCP segments in the pcap).
    let mut tcp = Ua::with_tap("carol", net.core_addr(), Transport::Tcp, Some(tap.clone())).await;
    assert_eq!(tcp.register(600, None).await.status(), Some(StatusCode::OK));
    let msrp = MsrpEndpoint::listen("127.0.0.1".parse().expect("ip"), Some(tap.clone()))
        .await
        .expect("listen");
    let media = MsrpMedia::chat(
        "127.0.0.1",
        msrp.local_addr().port(),
        vec![msrp.local_uri("carol1")],
    );
    let sdp = chat_offer(&Origin::new("carol", 1, 1, "127.0.0.1"), &media);
    let mut inv = tcp.request(Method::Invite, "sip:bob@cpm.test").with_header(
        "Accept-Contact",
        format!("*;{}", icsi_ref_param(&[icsi::CPM_SESSION])),
    );
    inv.set_body("application/sdp", sdp.to_bytes());
    let ok = tcp.send(inv.clone()).await;
    assert_eq!(ok.status(), Some(StatusCode::OK));
    let answer = SessionDescription::parse(&ok.body).expect("answer").value;
    let remote = answer
        .msrp_media()
        .and_then(|m| m.path())
        .expect("answer has a path")
        .expect("path parses");
    let dialog = Dialog::uac(&inv, &ok).expect("dialog");
    let mut ack = dialog.ack_for(1);
    ack.headers.push("Max-Forwards", "70");
    tcp.ep
        .send_ack(ack, tcp.core, tcp.transport)
        .await
        .expect("ack");
    let mut scfg = SessionConfig::new(vec![msrp.local_uri("carol1")], remote);
    scfg.seed = Some(7);
    let mut conn = msrp
        .accept_session(scfg, Instant::now() + WAIT)
        .await
        .expect("the sim connects");
    let opts = SendOptions {
        chunk_size: LARGE * 2,
        ..SendOptions::default()
    };
    conn.send_message("text/plain", vec![b'x'; LARGE], opts)
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
    conn.close().await.expect("close");
    net.shutdown().await;
    tap.finish();

    // Reading the pcap back gives the live Trace.
    let live = Trace::from_events(&tap.events());
    let read = Trace::from_pcap(&pcap).expect("pcap reads back");
    assert_eq!(read.entries.len(), live.entries.len());
    for (a, b) in live.entries.iter().zip(read.entries.iter()) {
        assert_eq!((a.src, a.dst, a.transport), (b.src, b.dst, b.transport));
        match (&a.frame, &b.frame) {
            (TraceFrame::Sip(x), TraceFrame::Sip(y)) => assert_eq!(x.value, y.value),
            (TraceFrame::Msrp(x), TraceFrame::Msrp(y)) => assert_eq!(x.value, y.value),
            (x, y) => panic!("live {x:?} but read back {y:?}"),
        }
    }
    assert!(
        live.undecodable().next().is_none(),
        "every live message decodes"
    );
    let large_sends = live
        .msrp_messages()
        .filter(|(_, m)| m.body.len() == LARGE)
        .count();
    assert_eq!(large_sends, 1, "the large SEND is one message in the Trace");

    // tshark decodes every message as SIP or MSRP, with no malformed frame, and reassembles
    // the large SEND from its segments into one MSRP message.
    let summary = tshark::check_pcap(&pcap).expect("tshark runs (CI installs it)");
    let problems: Vec<_> = summary.problem_frames();
    assert!(problems.is_empty(), "tshark problems: {problems:?}");
    assert_eq!(
        summary.sip_lines().len(),
        live.sip_messages().count(),
        "every SIP message is a SIP frame for tshark"
    );
    assert_eq!(
        summary.msrp_lines().len(),
        live.msrp_messages().count(),
        "every MSRP message (the large SEND reassembled once) is an MSRP frame for tshark"
    );
}
