//! Two real endpoints on loopback: MESSAGE over UDP and TCP, INVITE/200/ACK/BYE dialogs, CANCEL
//! (plain and crossing a 200), retransmission and timeout against a silent peer.

use cpmconf_codec::sip::{Message, Method, StatusCode};
use cpmconf_stack::sip::{
    response_to, Dialog, EndpointConfig, SipEndpoint, StackError, Timers, Transport,
};
use rstest::rstest;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use tokio::time::timeout;

const DEADLINE: Duration = Duration::from_secs(10);

fn timers(t1_ms: u64) -> Timers {
    Timers {
        t1: Duration::from_millis(t1_ms),
        t2: Duration::from_millis(t1_ms * 8),
        t4: Duration::from_millis(t1_ms * 10),
    }
}

async fn endpoint(name: &str, t1_ms: u64) -> SipEndpoint {
    let mut c = EndpointConfig::new(name);
    c.timers = timers(t1_ms);
    SipEndpoint::bind(c).await.expect("bind")
}

fn request(method: Method, from: SocketAddr, to: SocketAddr, call_id: &str) -> Message {
    let m = method.as_str().to_owned();
    Message::request(method, format!("sip:bob@{to}"))
        .with_header("From", "<sip:alice@127.0.0.1>;tag=alice1")
        .with_header("To", "<sip:bob@127.0.0.1>")
        .with_header("Call-ID", call_id)
        .with_header("CSeq", format!("1 {m}"))
        .with_header("Contact", format!("<sip:alice@{from}>"))
}

#[rstest]
#[case(Transport::Udp)]
#[case(Transport::Tcp)]
#[tokio::test]
async fn message_round_trip(#[case] transport: Transport) {
    timeout(DEADLINE, async {
        let a = endpoint("a", 100).await;
        let b = endpoint("b", 100).await;
        let mut req = request(Method::Message, a.local_addr(), b.local_addr(), "m1");
        req.set_body("text/plain", b"hello".to_vec());
        let mut tx = a
            .send_request(req, b.local_addr(), transport)
            .await
            .expect("send");
        let stx = b.next_request_within(DEADLINE).await.expect("request");
        assert_eq!(stx.request.method(), Some(&Method::Message));
        assert_eq!(stx.request.body, b"hello");
        assert_eq!(stx.transport, transport);
        // RFC 3581: the server filled in rport with the source port.
        let via = stx.request.header("Via").expect("via");
        assert!(
            via.contains(&format!("rport={}", stx.source.port())),
            "{via}"
        );
        stx.respond(response_to(&stx.request, StatusCode::OK, Some("b1")))
            .await
            .expect("respond");
        let resp = tx.final_response(DEADLINE).await.expect("final");
        assert_eq!(resp.status(), Some(StatusCode::OK));
        assert_eq!(resp.call_id(), Some("m1"));
        // A second response in the same transaction is refused.
        assert!(stx
            .respond(response_to(&stx.request, StatusCode::OK, Some("b1")))
            .await
            .is_err());
    })
    .await
    .expect("deadline");
}

#[tokio::test]
async fn message_over_ipv6_loopback() {
    let mut c = EndpointConfig::new("v6");
    c.ip = IpAddr::V6(Ipv6Addr::LOCALHOST);
    // Skipped only when the host itself has no IPv6 loopback (a plain socket cannot bind ::1);
    // when it has one, an endpoint that fails to bind there is a failure.
    if let Err(e) = std::net::UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)) {
        eprintln!("SKIPPED message_over_ipv6_loopback: this host cannot bind [::1] ({e})");
        return;
    }
    let a = SipEndpoint::bind(c.clone())
        .await
        .unwrap_or_else(|e| panic!("the host binds [::1] but the endpoint does not: {e}"));
    let b = SipEndpoint::bind(c).await.expect("second v6 bind");
    timeout(DEADLINE, async {
        let req = request(Method::Options, a.local_addr(), b.local_addr(), "v6");
        let mut tx = a
            .send_request(req, b.local_addr(), Transport::Udp)
            .await
            .expect("send");
        assert!(tx
            .request()
            .header("Via")
            .is_some_and(|v| v.contains("[::1]")));
        let stx = b.next_request_within(DEADLINE).await.expect("request");
        stx.respond(response_to(&stx.request, StatusCode::OK, Some("t")))
            .await
            .expect("respond");
        assert_eq!(
            tx.final_response(DEADLINE).await.expect("final").status(),
            Some(StatusCode::OK)
        );
    })
    .await
    .expect("deadline");
}

#[rstest]
#[case(Transport::Udp)]
#[case(Transport::Tcp)]
#[tokio::test]
async fn invite_ok_ack_bye(#[case] transport: Transport) {
    timeout(DEADLINE, async {
        let a = endpoint("a", 100).await;
        let b = endpoint("b", 100).await;
        let invite = request(Method::Invite, a.local_addr(), b.local_addr(), "d1");
        let mut tx = a
            .send_request(invite, b.local_addr(), transport)
            .await
            .expect("send");
        let stx = b.next_request_within(DEADLINE).await.expect("invite");
        let mut uas = Dialog::uas(&stx.request, "bobtag").expect("uas dialog");
        stx.respond(response_to(
            &stx.request,
            StatusCode::RINGING,
            Some("bobtag"),
        ))
        .await
        .expect("180");
        let mut ok = response_to(&stx.request, StatusCode::OK, Some("bobtag"));
        ok.headers
            .push("Contact", format!("<sip:bob@{}>", b.local_addr()));
        stx.respond(ok).await.expect("200");

        // RFC 3261 17.2.1: the server transaction answered 100 Trying at once.
        let trying = tx.next_within(DEADLINE).await.expect("100");
        assert_eq!(trying.status(), Some(StatusCode::TRYING));
        let ringing = tx.next_within(DEADLINE).await.expect("180");
        assert_eq!(ringing.status(), Some(StatusCode::RINGING));
        let ok = tx.next_within(DEADLINE).await.expect("200");
        assert_eq!(ok.status(), Some(StatusCode::OK));
        let mut uac = Dialog::uac(tx.request(), &ok).expect("uac dialog");
        assert_eq!(uac.id.remote_tag, "bobtag");
        a.send_ack(uac.ack_for(1), b.local_addr(), transport)
            .await
            .expect("ack");

        let ack = b.next_request_within(DEADLINE).await.expect("ack arrives");
        assert_eq!(ack.request.method(), Some(&Method::Ack));
        uas.handle_request(&ack.request).expect("ack in dialog");
        assert!(ack
            .respond(response_to(&ack.request, StatusCode::OK, None))
            .await
            .is_err());

        let bye = uac.request(Method::Bye);
        let mut bye_tx = a
            .send_request(bye, b.local_addr(), transport)
            .await
            .expect("bye");
        let sbye = b.next_request_within(DEADLINE).await.expect("bye arrives");
        assert_eq!(sbye.request.method(), Some(&Method::Bye));
        uas.handle_request(&sbye.request).expect("bye in dialog");
        assert!(uas.is_terminated());
        sbye.respond(response_to(&sbye.request, StatusCode::OK, None))
            .await
            .expect("200 bye");
        let r = bye_tx.final_response(DEADLINE).await.expect("bye answered");
        assert_eq!(r.status(), Some(StatusCode::OK));
    })
    .await
    .expect("deadline");
}

#[rstest]
#[case(Method::Message)]
#[case(Method::Invite)]
#[tokio::test]
async fn silent_peer_gets_retransmissions_then_timeout(#[case] method: Method) {
    timeout(DEADLINE, async {
        let a = endpoint("a", 10).await;
        let silent = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let dest = silent.local_addr().expect("addr");
        let counter = tokio::spawn(async move {
            let mut buf = vec![0u8; 65535];
            let mut n = 0usize;
            while timeout(Duration::from_millis(1500), silent.recv_from(&mut buf))
                .await
                .is_ok()
            {
                n += 1;
            }
            n
        });
        let req = request(method, a.local_addr(), dest, "t1");
        let mut tx = a
            .send_request(req, dest, Transport::Udp)
            .await
            .expect("send");
        let started = std::time::Instant::now();
        match tx.next().await {
            Err(StackError::Timeout { after, .. }) => {
                assert_eq!(after, Duration::from_millis(640));
            }
            other => panic!("expected a timeout, got {other:?}"),
        }
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(600), "{took:?}");
        let sent = counter.await.expect("counter");
        // A/E fire at 10, 30, 70, 150, 310, 630 ms (E capped at T2 = 80ms for non-INVITE):
        // at least 5 copies in all.
        assert!(sent >= 5, "only {sent} copies");
        assert!(matches!(tx.next().await, Err(StackError::Closed)));
    })
    .await
    .expect("deadline");
}

#[tokio::test]
async fn cancel_before_answer_gives_487() {
    timeout(DEADLINE, async {
        let a = endpoint("a", 100).await;
        let b = endpoint("b", 100).await;
        let invite = request(Method::Invite, a.local_addr(), b.local_addr(), "c1");
        let mut tx = a
            .send_request(invite, b.local_addr(), Transport::Udp)
            .await
            .expect("send");
        let stx = b.next_request_within(DEADLINE).await.expect("invite");
        // 9.1: no CANCEL before a provisional.
        assert!(matches!(tx.cancel().await, Err(StackError::Invalid(_))));
        stx.respond(response_to(&stx.request, StatusCode::RINGING, Some("bt")))
            .await
            .expect("180");
        assert_eq!(
            tx.next_within(DEADLINE).await.expect("100").status(),
            Some(StatusCode::TRYING)
        );
        assert_eq!(
            tx.next_within(DEADLINE).await.expect("180").status(),
            Some(StatusCode::RINGING)
        );
        let reason = r#"SIP;cause=200;text="Call completed elsewhere""#;
        let mut ctx = tx.cancel_with(&[("Reason", reason)]).await.expect("cancel");
        assert_eq!(ctx.request().method(), Some(&Method::Cancel));
        let c = ctx.final_response(DEADLINE).await.expect("cancel answered");
        assert_eq!(c.status(), Some(StatusCode::OK));
        let fin = tx.final_response(DEADLINE).await.expect("487");
        assert_eq!(fin.status(), Some(StatusCode::REQUEST_TERMINATED));
        assert_eq!(
            fin.header("To").and_then(|t| t.split("tag=").nth(1)),
            Some("bt")
        );
        assert!(timeout(DEADLINE, stx.cancelled())
            .await
            .expect("cancelled in time"));
        assert!(stx.is_cancelled());
        // The TU sees the CANCEL as it arrived, Reason included (CR 7.3.4.4).
        let seen = stx.cancel_request().expect("the CANCEL is kept");
        assert_eq!(seen.method(), Some(&Method::Cancel));
        assert_eq!(seen.call_id(), stx.request.call_id());
        assert_eq!(seen.header("Reason"), Some(reason));
        // The TU can no longer answer the INVITE.
        assert!(stx
            .respond(response_to(&stx.request, StatusCode::OK, Some("bt")))
            .await
            .is_err());
    })
    .await
    .expect("deadline");
}

/// `keep_on_cancel`: the CANCEL is answered 200 and reported, but the INVITE gets no 487, so the
/// caller's 200 still goes out, as when it crosses the CANCEL on the wire.
#[rstest]
#[case::kept(true)]
#[case::default_487(false)]
#[tokio::test]
async fn keep_on_cancel_leaves_the_final_response_to_the_caller(#[case] keep: bool) {
    timeout(DEADLINE, async {
        let a = endpoint("a", 100).await;
        let b = endpoint("b", 100).await;
        let invite = request(Method::Invite, a.local_addr(), b.local_addr(), "k1");
        let mut tx = a
            .send_request(invite, b.local_addr(), Transport::Udp)
            .await
            .expect("send");
        let stx = b.next_request_within(DEADLINE).await.expect("invite");
        stx.respond(response_to(&stx.request, StatusCode::RINGING, Some("bt")))
            .await
            .expect("180");
        if keep {
            stx.keep_on_cancel().await.expect("keep");
        }
        for want in [StatusCode::TRYING, StatusCode::RINGING] {
            assert_eq!(
                tx.next_within(DEADLINE).await.expect("1xx").status(),
                Some(want)
            );
        }
        let mut ctx = tx.cancel().await.expect("cancel");
        let c = ctx.final_response(DEADLINE).await.expect("cancel answered");
        assert_eq!(c.status(), Some(StatusCode::OK));
        assert!(timeout(DEADLINE, stx.cancelled())
            .await
            .expect("cancelled in time"));
        let answered = stx
            .respond(response_to(&stx.request, StatusCode::OK, Some("bt")))
            .await;
        assert_eq!(answered.is_ok(), keep, "{answered:?}");
        let fin = tx.final_response(DEADLINE).await.expect("final");
        let want = if keep {
            StatusCode::OK
        } else {
            StatusCode::REQUEST_TERMINATED
        };
        assert_eq!(fin.status(), Some(want));
    })
    .await
    .expect("deadline");
}

#[rstest]
#[case(Transport::Udp)]
#[case(Transport::Tcp)]
#[tokio::test]
async fn cancel_crossing_200_leaves_a_usable_dialog(#[case] transport: Transport) {
    timeout(DEADLINE, async {
        let a = endpoint("a", 100).await;
        let b = endpoint("b", 100).await;
        let invite = request(Method::Invite, a.local_addr(), b.local_addr(), "x1");
        let mut tx = a
            .send_request(invite, b.local_addr(), transport)
            .await
            .expect("send");
        let stx = b.next_request_within(DEADLINE).await.expect("invite");
        stx.respond(response_to(&stx.request, StatusCode::RINGING, Some("bt")))
            .await
            .expect("180");
        assert_eq!(
            tx.next_within(DEADLINE).await.expect("100").status(),
            Some(StatusCode::TRYING)
        );
        assert_eq!(
            tx.next_within(DEADLINE).await.expect("180").status(),
            Some(StatusCode::RINGING)
        );
        let mut ok = response_to(&stx.request, StatusCode::OK, Some("bt"));
        ok.headers
            .push("Contact", format!("<sip:bob@{}>", b.local_addr()));
        stx.respond(ok).await.expect("200");
        // The 200 is on its way (not yet read by the TU): the CANCEL crosses it.
        let reason = r#"SIP;cause=200;text="Call completed elsewhere""#;
        let mut ctx = tx.cancel_with(&[("Reason", reason)]).await.expect("cancel");
        let c = ctx.final_response(DEADLINE).await.expect("cancel answered");
        assert!(
            matches!(
                c.status(),
                Some(StatusCode::OK | StatusCode::NO_TRANSACTION)
            ),
            "{c:?}"
        );
        let fin = tx.final_response(DEADLINE).await.expect("final");
        assert_eq!(fin.status(), Some(StatusCode::OK));
        assert!(!stx.is_cancelled());
        let mut uac = Dialog::uac(tx.request(), &fin).expect("dialog");
        a.send_ack(uac.ack_for(1), b.local_addr(), transport)
            .await
            .expect("ack");
        let ack = b.next_request_within(DEADLINE).await.expect("ack");
        assert_eq!(ack.request.method(), Some(&Method::Ack));
        let mut bye_tx = a
            .send_request(uac.request(Method::Bye), b.local_addr(), transport)
            .await
            .expect("bye");
        let sbye = b.next_request_within(DEADLINE).await.expect("bye");
        sbye.respond(response_to(&sbye.request, StatusCode::OK, None))
            .await
            .expect("200");
        assert_eq!(
            bye_tx
                .final_response(DEADLINE)
                .await
                .expect("bye final")
                .status(),
            Some(StatusCode::OK)
        );
    })
    .await
    .expect("deadline");
}

#[tokio::test]
async fn retransmitted_request_is_absorbed_and_answer_replayed() {
    timeout(DEADLINE, async {
        let b = endpoint("b", 100).await;
        let raw = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let from = raw.local_addr().expect("addr");
        let req = request(Method::Message, from, b.local_addr(), "r1")
            .with_header("Via", format!("SIP/2.0/UDP {from};branch=z9hG4bKretx"))
            .with_header("Content-Length", "0");
        let bytes = req.to_bytes();
        raw.send_to(&bytes, b.local_addr()).await.expect("send");
        let stx = b.next_request_within(DEADLINE).await.expect("request");
        raw.send_to(&bytes, b.local_addr()).await.expect("resend");
        stx.respond(response_to(&stx.request, StatusCode::OK, Some("t")))
            .await
            .expect("respond");
        let mut buf = vec![0u8; 65535];
        let (n, _) = raw.recv_from(&mut buf).await.expect("first 200");
        assert!(buf.starts_with(b"SIP/2.0 200"), "{:?}", &buf[..n]);
        // A retransmission after the final gets the same 200 again, not a new request.
        raw.send_to(&bytes, b.local_addr()).await.expect("resend");
        let (m, _) = raw.recv_from(&mut buf).await.expect("replayed 200");
        assert_eq!(n, m);
        assert!(timeout(Duration::from_millis(300), b.next_request())
            .await
            .is_err());
    })
    .await
    .expect("deadline");
}

/// RFC 3261 13.3.1.4: over UDP the UAS retransmits its 2xx until the ACK arrives; the ACK (a
/// new transaction of its own) must find the INVITE and stop the retransmissions.
#[tokio::test]
async fn ack_stops_2xx_retransmissions() {
    timeout(DEADLINE, async {
        let a = endpoint("a", 40).await;
        let b = endpoint("b", 40).await;
        let invite = request(Method::Invite, a.local_addr(), b.local_addr(), "ack2xx");
        let mut tx = a
            .send_request(invite.clone(), b.local_addr(), Transport::Udp)
            .await
            .expect("send");
        let stx = b.next_request_within(DEADLINE).await.expect("invite");
        let mut ok = response_to(&stx.request, StatusCode::OK, Some("bobtag"));
        ok.headers
            .push("Contact", format!("<sip:bob@{}>", b.local_addr()));
        stx.respond(ok).await.expect("200");
        let first = tx.final_response(DEADLINE).await.expect("200");
        // Without an ACK the 2xx comes again (the window below is long enough to see it).
        let again = tx.next_within(DEADLINE).await.expect("retransmitted 200");
        assert_eq!(again.status(), Some(StatusCode::OK));
        let dialog = Dialog::uac(&invite, &first).expect("dialog");
        let mut ack = dialog.ack_for(1);
        ack.headers.push("Max-Forwards", "70");
        a.send_ack(ack, b.local_addr(), Transport::Udp)
            .await
            .expect("ack");
        // The ACK reaches b's TU too.
        let seen = b.next_request_within(DEADLINE).await.expect("ack");
        assert_eq!(seen.request.method(), Some(&Method::Ack));
        // Retransmissions (every 2*T1 and more, from 80 ms) stop: none in 400 ms.
        match tx.next_within(Duration::from_millis(400)).await {
            Err(StackError::Timeout { .. }) | Err(StackError::Closed) => {}
            other => panic!("the 2xx kept coming after the ACK: {other:?}"),
        }
    })
    .await
    .expect("deadline");
}

/// A finished non-INVITE server transaction is kept only in compact form (its final response's
/// bytes) until Timer J, still answers a retransmission with the same response, and is gone
/// after Timer J: a busy server's memory does not grow with every request it has answered.
#[tokio::test]
async fn finished_server_transactions_are_kept_compactly_until_timer_j() {
    const N: usize = 40;
    timeout(DEADLINE, async {
        let b = endpoint("b", 50).await;
        let sock = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("udp");
        let me = sock.local_addr().expect("addr");
        let raw = |i: usize| {
            request(Method::Message, me, b.local_addr(), &format!("c{i}"))
                .with_header("Via", format!("SIP/2.0/UDP {me};branch=z9hG4bKn{i};rport"))
                .with_header("Max-Forwards", "70")
                .with_header("Content-Length", "0")
                .to_bytes()
        };
        let mut buf = vec![0u8; 4096];
        let mut first = Vec::new();
        for i in 0..N {
            sock.send_to(&raw(i), b.local_addr()).await.expect("send");
            let stx = b.next_request_within(DEADLINE).await.expect("request");
            stx.respond(response_to(&stx.request, StatusCode::OK, Some("t")))
                .await
                .expect("respond");
            let (n, _) = sock.recv_from(&mut buf).await.expect("200");
            if i == 0 {
                first = buf[..n].to_vec();
            }
        }
        let r = b.retained().await.expect("retained");
        assert_eq!((r.servers, r.completed), (0, N), "{r:?}");
        assert!(r.completed_bytes <= N * first.len() * 2, "{r:?}");
        // 17.2.2: a retransmission in Completed gets the same final response again.
        sock.send_to(&raw(0), b.local_addr()).await.expect("resend");
        let (n, _) = sock.recv_from(&mut buf).await.expect("replayed 200");
        assert_eq!(&buf[..n], &first[..]);
        // Timer J (64*T1 = 3.2 s here) ends them all.
        loop {
            let r = b.retained().await.expect("retained");
            if r.completed == 0 && r.completed_bytes == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("deadline");
}

/// Beyond `completed_cap` finished transactions, the oldest are dropped first: memory stays
/// bounded under a flood.
#[tokio::test]
async fn finished_server_transactions_beyond_the_cap_are_dropped_oldest_first() {
    const N: usize = 30;
    const CAP: usize = 8;
    timeout(DEADLINE, async {
        let mut c = EndpointConfig::new("b");
        c.timers = timers(500);
        c.completed_cap = CAP;
        let b = SipEndpoint::bind(c).await.expect("bind");
        let a = endpoint("a", 500).await;
        for i in 0..N {
            let req = request(
                Method::Message,
                a.local_addr(),
                b.local_addr(),
                &format!("k{i}"),
            );
            let mut tx = a
                .send_request(req, b.local_addr(), Transport::Udp)
                .await
                .expect("send");
            let stx = b.next_request_within(DEADLINE).await.expect("request");
            stx.respond(response_to(&stx.request, StatusCode::OK, Some("t")))
                .await
                .expect("respond");
            tx.final_response(DEADLINE).await.expect("200");
        }
        let r = b.retained().await.expect("retained");
        assert_eq!((r.servers, r.completed), (0, CAP), "{r:?}");
    })
    .await
    .expect("deadline");
}
