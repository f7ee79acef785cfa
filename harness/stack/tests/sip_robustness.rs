//! Hostile and broken peers on loopback: a TCP peer that closes mid-message, floods of garbage
//! over UDP and TCP, and the capture tap recording each sent byte exactly once.

use cpmconf_capture::{Tap, WireEventKind};
use cpmconf_codec::sip::{Message, Method, StatusCode};
use cpmconf_stack::sip::{
    response_to, EndpointConfig, SipEndpoint, StackError, StackEvent, Timers, Transport,
};
use rand::{RngExt, SeedableRng};
use rstest::rstest;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

const DEADLINE: Duration = Duration::from_secs(10);

async fn endpoint(name: &str, tap: Option<Tap>) -> SipEndpoint {
    let mut c = EndpointConfig::new(name);
    // With a tap, T1 is long so that no retransmission can blur the count of sent messages.
    let t1 = if tap.is_some() { 5000 } else { 50 };
    c.timers = Timers {
        t1: Duration::from_millis(t1),
        t2: Duration::from_millis(t1 * 8),
        t4: Duration::from_millis(t1 * 10),
    };
    c.tap = tap;
    SipEndpoint::bind(c).await.expect("bind")
}

fn message(to: SocketAddr, call_id: &str) -> Message {
    Message::request(Method::Message, format!("sip:bob@{to}"))
        .with_header("From", "<sip:alice@127.0.0.1>;tag=a")
        .with_header("To", "<sip:bob@127.0.0.1>")
        .with_header("Call-ID", call_id)
        .with_header("CSeq", "1 MESSAGE")
}

/// Sends a MESSAGE from `a` to `b` and answers it: proves `b` still works.
async fn exchange(a: &SipEndpoint, b: &SipEndpoint, transport: Transport, call_id: &str) {
    let mut tx = a
        .send_request(message(b.local_addr(), call_id), b.local_addr(), transport)
        .await
        .expect("send");
    let stx = loop {
        let stx = b.next_request_within(DEADLINE).await.expect("request");
        if stx.request.call_id() == Some(call_id) {
            break stx;
        }
    };
    stx.respond(response_to(&stx.request, StatusCode::OK, Some("t")))
        .await
        .expect("respond");
    let r = tx.final_response(DEADLINE).await.expect("answer");
    assert_eq!(r.status(), Some(StatusCode::OK));
}

#[tokio::test]
async fn tcp_peer_closing_mid_response_is_a_transport_error() {
    timeout(DEADLINE, async {
        let a = endpoint("a", None).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let dest = listener.local_addr().expect("addr");
        let peer = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut chunk).await.expect("read");
                assert!(n > 0, "request never completed");
                buf.extend_from_slice(&chunk[..n]);
            }
            s.write_all(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.1:1;bra")
                .await
                .expect("write");
            // Dropping the stream closes it mid-message.
        });
        let mut tx = a
            .send_request(message(dest, "half"), dest, Transport::Tcp)
            .await
            .expect("send");
        match tx.next().await {
            Err(StackError::Transport(_)) => {}
            other => panic!("expected a transport error, got {other:?}"),
        }
        peer.await.expect("peer");
        let ev = a.next_event_within(DEADLINE).await.expect("event");
        assert!(
            matches!(ev, StackEvent::ConnectionClosed { peer, pending_bytes } if peer == dest && pending_bytes > 0),
            "{ev:?}"
        );
    })
    .await
    .expect("deadline");
}

#[tokio::test]
async fn tcp_client_closing_mid_request_is_reported_and_endpoint_goes_on() {
    timeout(DEADLINE, async {
        let a = endpoint("a", None).await;
        let b = endpoint("b", None).await;
        let mut s = tokio::net::TcpStream::connect(b.local_addr()).await.expect("connect");
        let local = s.local_addr().expect("addr");
        s.write_all(b"MESSAGE sip:bob@127.0.0.1 SIP/2.0\r\nContent-Length: 100\r\n\r\nabc")
            .await
            .expect("write");
        drop(s);
        let ev = b.next_event_within(DEADLINE).await.expect("event");
        assert!(
            matches!(ev, StackEvent::ConnectionClosed { peer, pending_bytes } if peer == local && pending_bytes > 0),
            "{ev:?}"
        );
        exchange(&a, &b, Transport::Tcp, "after-close").await;
    })
    .await
    .expect("deadline");
}

#[tokio::test]
async fn udp_garbage_flood_is_dropped_with_events() {
    timeout(DEADLINE, async {
        let a = endpoint("a", None).await;
        let b = endpoint("b", None).await;
        let raw = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(7);
        for i in 0..300 {
            let len = rng.random_range(1..1400);
            let mut d: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            if i % 3 == 0 {
                // Plausible start lines with broken headers.
                d = format!("INVITE sip:x SIP/2.0\r\nVia {i}\r\n\r\n").into_bytes();
            }
            raw.send_to(&d, b.local_addr()).await.expect("send");
        }
        let ev = b.next_event_within(DEADLINE).await.expect("event");
        match ev {
            StackEvent::Malformed {
                transport, error, ..
            } => {
                assert_eq!(transport, Transport::Udp);
                assert!(!error.rule.is_empty());
            }
            StackEvent::Unusable { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
        exchange(&a, &b, Transport::Udp, "after-udp-flood").await;
    })
    .await
    .expect("deadline");
}

#[rstest]
#[case::no_line_end(vec![b'x'; 200_000], "limits/line-length")]
#[case::binary(vec![0xff; 5000], "rfc3261/7.1 start-line")]
#[tokio::test]
async fn tcp_garbage_closes_that_connection_only(#[case] garbage: Vec<u8>, #[case] rule: &str) {
    timeout(DEADLINE, async {
        let a = endpoint("a", None).await;
        let b = endpoint("b", None).await;
        let mut s = tokio::net::TcpStream::connect(b.local_addr())
            .await
            .expect("connect");
        let local = s.local_addr().expect("addr");
        // The endpoint may close before everything is written; that is fine.
        let _ = s.write_all(&garbage).await;
        let ev = loop {
            let ev = b.next_event_within(DEADLINE).await.expect("event");
            if matches!(ev, StackEvent::Malformed { .. }) {
                break ev;
            }
        };
        let StackEvent::Malformed {
            from,
            transport,
            error,
        } = ev
        else {
            unreachable!()
        };
        assert_eq!((from, transport), (local, Transport::Tcp));
        assert_eq!(error.rule, rule);
        // The connection is closed by the endpoint (end of stream, or a reset when our unread
        // garbage was still queued), and nothing was answered on it before.
        let mut buf = [0u8; 64];
        let mut answered = Vec::new();
        let closed = timeout(DEADLINE, async {
            loop {
                match s.read(&mut buf).await {
                    Ok(0) => return None,
                    Err(e) => return Some(e.kind()),
                    Ok(n) => answered.extend_from_slice(&buf[..n]),
                }
            }
        })
        .await
        .expect("the endpoint closes the connection in time");
        assert!(
            matches!(
                closed,
                None | Some(std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe)
            ),
            "{closed:?}"
        );
        assert_eq!(String::from_utf8_lossy(&answered), "");
        exchange(&a, &b, Transport::Tcp, "after-tcp-garbage").await;
    })
    .await
    .expect("deadline");
}

#[rstest]
#[case(Transport::Udp)]
#[case(Transport::Tcp)]
#[tokio::test]
async fn tap_sees_each_sent_message_once(#[case] transport: Transport) {
    timeout(DEADLINE, async {
        let tap = Tap::new();
        let a = endpoint("a", Some(tap.clone())).await;
        let b = endpoint("b", Some(tap.clone())).await;
        exchange(&a, &b, transport, "tapped").await;
        let data: Vec<_> = tap
            .events()
            .into_iter()
            .filter_map(|e| match e.kind {
                WireEventKind::Data(d) => Some((e.src, e.dst, d)),
                _ => None,
            })
            .collect();
        assert_eq!(data.len(), 2, "request and response once each: {data:?}");
        assert!(data[0].2.starts_with(b"MESSAGE "));
        assert!(data[1].2.starts_with(b"SIP/2.0 200"));
        assert_eq!(
            data[0].0.port() == a.local_addr().port(),
            transport == Transport::Udp
        );
        assert_eq!(data[0].1, b.local_addr());
        let opens = tap
            .events()
            .iter()
            .filter(|e| e.kind == WireEventKind::TcpOpen)
            .count();
        assert_eq!(opens, usize::from(transport == Transport::Tcp));
    })
    .await
    .expect("deadline");
}

#[tokio::test]
async fn request_missing_call_id_gets_400_and_an_event() {
    timeout(DEADLINE, async {
        let b = endpoint("b", None).await;
        let raw = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let from = raw.local_addr().expect("addr");
        let req = format!(
            "MESSAGE sip:b@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {from};branch=z9hG4bKnocid\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n"
        );
        raw.send_to(req.as_bytes(), b.local_addr()).await.expect("send");
        let mut buf = vec![0u8; 65535];
        let (n, _) = raw.recv_from(&mut buf).await.expect("answer");
        let resp = Message::parse(&buf[..n]).expect("a SIP response").value;
        assert_eq!(resp.status(), Some(StatusCode::BAD_REQUEST));
        // First the decoder's finding (a mandatory header missing), then why it is unusable.
        let ev = b.next_event_within(DEADLINE).await.expect("event");
        assert!(
            matches!(&ev, StackEvent::Findings { from: f, findings, .. }
                if *f == from && findings.iter().any(|x| x.message.contains("Call-ID"))),
            "{ev:?}"
        );
        let ev = b.next_event_within(DEADLINE).await.expect("event");
        assert!(
            matches!(&ev, StackEvent::Unusable { from: f, reason, .. } if *f == from && reason.contains("Call-ID")),
            "{ev:?}"
        );
    })
    .await
    .expect("deadline");
}

#[tokio::test]
async fn full_request_queue_answers_503() {
    timeout(DEADLINE, async {
        let a = endpoint("a", None).await;
        let mut c = EndpointConfig::new("b");
        c.queue = 1;
        let b = SipEndpoint::bind(c).await.expect("bind");
        let mut first = a
            .send_request(
                message(b.local_addr(), "q1"),
                b.local_addr(),
                Transport::Tcp,
            )
            .await
            .expect("send 1");
        let mut second = a
            .send_request(
                message(b.local_addr(), "q2"),
                b.local_addr(),
                Transport::Tcp,
            )
            .await
            .expect("send 2");
        let r = second.final_response(DEADLINE).await.expect("503");
        assert_eq!(r.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
        // The queued one is still served.
        let stx = b.next_request_within(DEADLINE).await.expect("queued");
        assert_eq!(stx.request.call_id(), Some("q1"));
        stx.respond(response_to(&stx.request, StatusCode::OK, Some("t")))
            .await
            .expect("respond");
        let r = first.final_response(DEADLINE).await.expect("200");
        assert_eq!(r.status(), Some(StatusCode::OK));
    })
    .await
    .expect("deadline");
}

#[tokio::test]
async fn tap_received_records_what_a_silent_peer_sends() {
    timeout(DEADLINE, async {
        let tap = Tap::new();
        let mut c = EndpointConfig::new("b");
        c.tap = Some(tap.clone());
        c.tap_received = true;
        let b = SipEndpoint::bind(c).await.expect("bind");
        let raw = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind");
        raw.send_to(b"garbage", b.local_addr()).await.expect("send");
        let _ = b.next_event_within(DEADLINE).await.expect("malformed");
        let got: Vec<_> = tap
            .events()
            .into_iter()
            .filter(|e| e.kind == WireEventKind::Data(b"garbage".to_vec()))
            .collect();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].dst, b.local_addr());
    })
    .await
    .expect("deadline");
}
