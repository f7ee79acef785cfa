//! MSRP over real TCP on 127.0.0.1: binding, chat both ways, chunking, reports, abort, resume,
//! closed and garbled connections, and the capture tap.

use cpmconf_capture::{Tap, WireEventKind};
use cpmconf_codec::msrp::{ByteRange, Message, MsrpUri};
use cpmconf_stack::msrp::{
    MsrpConnection, MsrpEndpoint, MsrpError, SendOptions, SessionConfig, SessionEvent,
};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use tokio::time::Instant;

/// A deadline a few seconds away: every wait in these tests ends by then.
pub fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(5)
}

/// An active connection `a` and a passive connection `b`, bound to each other.
pub struct Pair {
    pub endpoint: MsrpEndpoint,
    pub a: MsrpConnection,
    pub b: MsrpConnection,
}

/// Binds a pair; `tweak` may change each side's config (passive first).
pub async fn pair_with(
    tap: Option<Tap>,
    tweak: impl Fn(&mut SessionConfig, bool),
) -> Result<Pair, MsrpError> {
    let endpoint = MsrpEndpoint::listen(IpAddr::V4(Ipv4Addr::LOCALHOST), tap.clone()).await?;
    let passive_uri = endpoint.local_uri("pass1xyz");
    let active_uri = MsrpUri::tcp("127.0.0.1", 9, "act1xyz");
    let mut pcfg = SessionConfig::new(vec![passive_uri.clone()], vec![active_uri.clone()]);
    pcfg.seed = Some(1);
    tweak(&mut pcfg, true);
    let mut acfg = SessionConfig::new(vec![active_uri], vec![passive_uri]);
    acfg.seed = Some(2);
    tweak(&mut acfg, false);
    let dl = deadline();
    let (b, a) = tokio::join!(
        endpoint.accept_session(pcfg, dl),
        MsrpConnection::connect(acfg, tap, dl)
    );
    Ok(Pair {
        endpoint,
        a: a?,
        b: b?,
    })
}

/// A bound pair with default configs.
pub async fn pair(tap: Option<Tap>) -> Pair {
    match pair_with(tap, |_, _| {}).await {
        Ok(p) => p,
        Err(e) => panic!("binding failed: {e}"),
    }
}

/// Reads events until `want` matches one, returning all events read (the match last).
pub async fn until(
    conn: &mut MsrpConnection,
    want: impl Fn(&SessionEvent) -> bool,
) -> Vec<SessionEvent> {
    let dl = deadline();
    let mut seen = Vec::new();
    loop {
        match conn.next_event(dl).await {
            Ok(ev) => {
                let done = want(&ev);
                seen.push(ev);
                if done {
                    return seen;
                }
            }
            Err(e) => panic!("waiting for an event: {e}; seen so far: {seen:#?}"),
        }
    }
}

fn is_message(e: &SessionEvent) -> bool {
    matches!(e, SessionEvent::Message { .. })
}

fn is_report(e: &SessionEvent) -> bool {
    matches!(e, SessionEvent::Report { .. })
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn response_codes(events: &[SessionEvent]) -> Vec<u16> {
    events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Response { code, .. } => Some(*code),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn active_and_passive_bind_and_chat_both_ways() {
    let mut p = pair(None).await;
    let id =
        p.a.send_message(
            "text/plain",
            b"hello passive".to_vec(),
            SendOptions::default(),
        )
        .await
        .expect("send a->b");
    let (got, answered) = tokio::join!(
        until(&mut p.b, is_message),
        until(&mut p.a, |e| matches!(e, SessionEvent::Response { .. }))
    );
    assert_eq!(
        got.last(),
        Some(&SessionEvent::Message {
            message_id: id.clone(),
            content_type: Some("text/plain".into()),
            body: b"hello passive".to_vec(),
            chunks: 1,
        })
    );
    assert!(matches!(
        answered.last(),
        Some(SessionEvent::Response { code: 200, message_id: Some(m), .. }) if *m == id
    ));

    let id2 =
        p.b.send_message(
            "text/plain",
            b"hello active".to_vec(),
            SendOptions::default(),
        )
        .await
        .expect("send b->a");
    let (got, answered) = tokio::join!(
        until(&mut p.a, is_message),
        until(&mut p.b, |e| matches!(e, SessionEvent::Response { .. }))
    );
    assert!(matches!(
        got.last(),
        Some(SessionEvent::Message { message_id, body, .. }) if *message_id == id2 && body == b"hello active"
    ));
    assert_eq!(response_codes(&answered), vec![200]);
}

#[tokio::test]
async fn large_message_is_chunked_reassembled_and_success_reported() {
    let mut p = pair(None).await;
    let body = pattern(50_000);
    let opts = SendOptions {
        chunk_size: 2048,
        success_report: true,
        ..SendOptions::default()
    };
    let id =
        p.a.send_message("application/octet-stream", body.clone(), opts)
            .await
            .expect("send");
    let (got, sender) = tokio::join!(until(&mut p.b, is_message), until(&mut p.a, is_report));
    match got.last() {
        Some(SessionEvent::Message {
            message_id,
            body: got_body,
            chunks,
            ..
        }) => {
            assert_eq!(message_id, &id);
            assert_eq!(*chunks, 25, "50000 bytes in 2048-byte chunks");
            assert!(got_body == &body, "reassembled body differs");
        }
        other => panic!("expected the message, got {other:?}"),
    }
    assert_eq!(response_codes(&sender), vec![200; 25]);
    assert_eq!(
        sender.last(),
        Some(&SessionEvent::Report {
            message_id: Some(id),
            status: Some("000 200 OK".into()),
            byte_range: Some(ByteRange {
                start: 1,
                end: Some(50_000),
                total: Some(50_000)
            }),
        })
    );
}

#[rstest::rstest]
#[case(413, "000 413 Stop Sending")]
#[case(415, "000 415 Unsupported Media Type")]
#[tokio::test]
async fn scripted_error_answer_produces_failure_report(#[case] code: u16, #[case] status: &str) {
    let mut p = pair_with(None, |c, passive| c.emit_frames = passive)
        .await
        .expect("bind");
    p.b.set_policy(Box::new(move |m: &Message| {
        (m.content_type() == Some("application/x-odd")).then_some((code, None))
    }));
    let id =
        p.a.send_message("application/x-odd", b"odd".to_vec(), SendOptions::default())
            .await
            .expect("send");
    let is_send_frame = |e: &SessionEvent| matches!(e, SessionEvent::Frame(m) if m.content_type() == Some("application/x-odd"));
    let (receiver, sender) =
        tokio::join!(until(&mut p.b, is_send_frame), until(&mut p.a, is_report));
    assert!(
        !receiver.iter().any(is_message),
        "a rejected message was delivered"
    );
    assert_eq!(response_codes(&sender), vec![code]);
    assert!(matches!(
        sender.last(),
        Some(SessionEvent::Report { message_id: Some(m), status: Some(s), .. }) if *m == id && s == status
    ));
}

#[tokio::test]
async fn aborted_message_is_reported_as_aborted() {
    let mut p = pair(None).await;
    let body = pattern(10_000);
    let opts = SendOptions {
        chunk_size: 2048,
        abort_after_chunks: Some(2),
        ..SendOptions::default()
    };
    let id =
        p.a.send_message("text/plain", body.clone(), opts)
            .await
            .expect("send");
    let got = until(&mut p.b, |e| matches!(e, SessionEvent::Aborted { .. })).await;
    assert!(!got.iter().any(is_message));
    match got.last() {
        Some(SessionEvent::Aborted {
            message_id,
            body: partial,
        }) => {
            assert_eq!(message_id, &id);
            // Two whole chunks, then the '#' chunk with its own 2048 bytes.
            assert_eq!(partial.as_slice(), body.get(..6144).unwrap_or_default());
        }
        other => panic!("expected Aborted, got {other:?}"),
    }
}

#[tokio::test]
async fn a_stopped_message_leaves_its_receiver_with_the_chunks_sent_and_nothing_more() {
    let mut p = pair_with(None, |c, passive| c.emit_frames = passive)
        .await
        .expect("bind");
    let body = pattern(10_000);
    let opts = SendOptions {
        chunk_size: 2048,
        stop_after_chunks: Some(2),
        ..SendOptions::default()
    };
    let id =
        p.a.send_message("text/plain", body, opts)
            .await
            .expect("send");
    // A second message behind it: once it arrives, everything of the first is in.
    p.a.send_message("text/plain", b"after".to_vec(), SendOptions::default())
        .await
        .expect("send");
    let got = until(&mut p.b, is_message).await;
    let chunks: Vec<(String, char)> = got
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Frame(m) if m.message_id() == Some(id.as_str()) => Some((
                m.header("Byte-Range").unwrap_or_default().to_owned(),
                m.flag.as_char(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        chunks,
        vec![
            ("1-2048/10000".to_owned(), '+'),
            ("2049-4096/10000".to_owned(), '+')
        ]
    );
    assert!(!got
        .iter()
        .any(|e| matches!(e, SessionEvent::Aborted { .. })));
    assert!(matches!(got.last(), Some(SessionEvent::Message { body, .. }) if body == b"after"));
}

#[tokio::test]
async fn resume_sends_only_the_missing_bytes_with_their_byte_range() {
    let mut p = pair_with(None, |c, passive| c.emit_frames = passive)
        .await
        .expect("bind");
    let body = pattern(50_000);
    p.b.session().seed_incoming(
        "resume-1",
        "application/octet-stream",
        body.get(..20_000).unwrap_or_default(),
    );
    let opts = SendOptions {
        chunk_size: 10_000,
        message_id: Some("resume-1".into()),
        byte_range_start: 20_001,
        ..SendOptions::default()
    };
    p.a.send_message("application/octet-stream", body.clone(), opts)
        .await
        .expect("send");
    let got = until(&mut p.b, is_message).await;
    let ranges: Vec<String> = got
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Frame(m) if m.message_id() == Some("resume-1") => {
                m.header("Byte-Range").map(str::to_owned)
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        ranges,
        vec![
            "20001-30000/50000",
            "30001-40000/50000",
            "40001-50000/50000"
        ]
    );
    assert!(matches!(got.last(), Some(SessionEvent::Message { body: b, .. }) if *b == body));
}

#[tokio::test]
async fn peer_closing_mid_frame_gives_closed_in_bounded_time() {
    let mut p = pair(None).await;
    p.a.send_bytes(b"MSRP abcd1234 SEND\r\nTo-Path: msrp://127.0.0.1/x;tcp\r\n")
        .await
        .expect("send half a frame");
    p.a.close().await.expect("close");
    let got = until(&mut p.b, |e| {
        matches!(e, SessionEvent::Closed { .. } | SessionEvent::Error(_))
    })
    .await;
    assert!(
        matches!(got.last(), Some(SessionEvent::Closed { unparsed_bytes }) if *unparsed_bytes > 0),
        "{got:?}"
    );
    assert!(matches!(
        p.b.next_event(deadline()).await,
        Err(MsrpError::Closed)
    ));
}

#[tokio::test]
async fn garbage_gives_an_error_naming_its_offset() {
    let mut p = pair(None).await;
    let before = p.a.bytes_written() as usize;
    p.a.send_bytes(b"HELLO THERE\r\n\r\n")
        .await
        .expect("send garbage");
    let got = until(&mut p.b, |e| {
        matches!(e, SessionEvent::Closed { .. } | SessionEvent::Error(_))
    })
    .await;
    match got.last() {
        Some(SessionEvent::Error(e)) => {
            assert!(
                (before..before + 12).contains(&e.offset),
                "offset {} not within the garbage at {before}: {e}",
                e.offset
            );
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[tokio::test]
async fn tap_records_every_sent_byte_exactly_once() {
    let tap = Tap::new();
    let mut p = pair(Some(tap.clone())).await;
    p.a.send_message(
        "text/plain",
        pattern(5000),
        SendOptions {
            chunk_size: 1000,
            success_report: true,
            ..SendOptions::default()
        },
    )
    .await
    .expect("send");
    let (_, _) = tokio::join!(until(&mut p.b, is_message), until(&mut p.a, is_report));
    p.b.send_message("text/plain", b"back".to_vec(), SendOptions::default())
        .await
        .expect("send back");
    let (_, _) = tokio::join!(
        until(&mut p.a, is_message),
        until(&mut p.b, |e| matches!(e, SessionEvent::Response { .. }))
    );
    p.a.close().await.expect("close");
    let events = tap.events();
    let sent_by = |addr| -> usize {
        events
            .iter()
            .filter(|e| e.src == addr)
            .map(|e| match &e.kind {
                WireEventKind::Data(d) => d.len(),
                _ => 0,
            })
            .sum()
    };
    assert_eq!(sent_by(p.a.local_addr()) as u64, p.a.bytes_written());
    assert_eq!(sent_by(p.b.local_addr()) as u64, p.b.bytes_written());
    let opens: Vec<_> = events
        .iter()
        .filter(|e| e.kind == WireEventKind::TcpOpen)
        .map(|e| (e.src, e.dst))
        .collect();
    assert_eq!(opens, vec![(p.a.local_addr(), p.a.peer_addr())]);
    assert!(
        matches!(events.last(), Some(e) if e.kind == WireEventKind::TcpClose && e.src == p.a.local_addr())
    );
    assert!(p.a.bytes_written() > 5000 && p.b.bytes_written() > 0);
}

#[tokio::test]
async fn unanswered_send_gives_a_transaction_timeout() {
    let mut p = pair_with(None, |c, passive| {
        if !passive {
            c.transaction_timeout = Duration::from_millis(300);
        }
    })
    .await
    .expect("bind");
    // The passive side is never driven, so nothing answers.
    let id =
        p.a.send_message("text/plain", b"anyone?".to_vec(), SendOptions::default())
            .await
            .expect("send");
    let got = until(&mut p.a, |e| {
        matches!(e, SessionEvent::TransactionTimeout { .. })
    })
    .await;
    assert!(matches!(
        got.last(),
        Some(SessionEvent::TransactionTimeout { message_id: Some(m), .. }) if *m == id
    ));
}

#[tokio::test]
async fn binding_send_rejected_by_the_passive_side_fails_connect() {
    let result = pair_with(None, |c, passive| {
        if passive {
            c.policy = Some(Box::new(|_: &Message| Some((403u16, None))));
        }
    })
    .await;
    assert!(
        matches!(result, Err(MsrpError::BindRejected(403))),
        "{:?}",
        result.err()
    );
}

fn raw_send(to: &MsrpUri, from: &MsrpUri, tid: &str, text: &str) -> Vec<u8> {
    Message::request(tid, cpmconf_codec::msrp::Method::Send, to, from)
        .with_header("Message-ID", format!("mid-{tid}"))
        .with_header("Byte-Range", format!("1-{}/{}", text.len(), text.len()))
        .with_body("text/plain", text.as_bytes().to_vec())
        .to_bytes()
}

/// A passive endpoint with two sessions' URIs (`sess0001`, `sess0002`) and a foreign peer's.
async fn two_sessions() -> (MsrpEndpoint, MsrpUri, MsrpUri, MsrpUri) {
    let endpoint = MsrpEndpoint::listen(IpAddr::V4(Ipv4Addr::LOCALHOST), None)
        .await
        .expect("listen");
    let peer = MsrpUri::tcp("127.0.0.1", 9, "peer0001");
    let (s1, s2) = (
        endpoint.local_uri("sess0001"),
        endpoint.local_uri("sess0002"),
    );
    (endpoint, peer, s1, s2)
}

/// A foreign client's connection to `endpoint` whose first SEND (`tid`) carries `text` for
/// session `to`.
async fn connect_and_send(
    endpoint: &MsrpEndpoint,
    to: &MsrpUri,
    peer: &MsrpUri,
    tid: &str,
    text: &str,
) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut c = tokio::time::timeout_at(
        deadline(),
        tokio::net::TcpStream::connect(endpoint.local_addr()),
    )
    .await
    .expect("in time")
    .expect("connect");
    c.write_all(&raw_send(to, peer, tid, text))
        .await
        .expect("write");
    c
}

#[tokio::test]
async fn passive_side_matches_connections_to_sessions_by_to_path() {
    let (endpoint, peer, s1, s2) = two_sessions().await;
    // Two foreign clients connect; each first SEND carries a message for its session.
    let c1 = connect_and_send(&endpoint, &s1, &peer, "tid00001", "for one").await;
    let mut c2 = connect_and_send(&endpoint, &s2, &peer, "tid00002", "for two").await;
    // Accepting session 2 first parks the connection of session 1 for later.
    let mut b2 = endpoint
        .accept_session(SessionConfig::new(vec![s2], vec![peer.clone()]), deadline())
        .await
        .expect("accept 2");
    let mut b1 = endpoint
        .accept_session(SessionConfig::new(vec![s1], vec![peer]), deadline())
        .await
        .expect("accept 1");
    let got2 = until(&mut b2, is_message).await;
    let got1 = until(&mut b1, is_message).await;
    assert!(matches!(got1.last(), Some(SessionEvent::Message { body, .. }) if body == b"for one"));
    assert!(matches!(got2.last(), Some(SessionEvent::Message { body, .. }) if body == b"for two"));
    // The foreign client got its 200.
    drop(c1);
    let mut buf = vec![0u8; 512];
    let n = tokio::time::timeout_at(deadline(), tokio::io::AsyncReadExt::read(&mut c2, &mut buf))
        .await
        .expect("in time")
        .expect("read");
    assert!(buf
        .get(..n)
        .unwrap_or_default()
        .starts_with(b"MSRP tid00002 200"));
}

/// Polls `f` once.
async fn poll_once<F: std::future::Future + Unpin>(f: &mut F) -> std::task::Poll<F::Output> {
    std::future::poll_fn(|cx| std::task::Poll::Ready(std::pin::Pin::new(&mut *f).poll(cx))).await
}

/// Two sessions wait on one endpoint at once (a client slow to connect the first session while
/// a second is set up). The connection of the second is accepted by the first's wait, which
/// parks it: the second's wait, already waiting for a connection, must then take it, not wait
/// for another until its deadline. Before the fix it waited: the first session's bytes sat
/// parked, and the second session ended at its deadline (`resume-as-recipient` under load).
#[tokio::test]
async fn a_wait_takes_a_connection_parked_by_another_wait() {
    let (endpoint, peer, s1, s2) = two_sessions().await;
    let first = Instant::now() + Duration::from_millis(500);
    let mut wait1 = std::pin::pin!(
        endpoint.accept_session(SessionConfig::new(vec![s1], vec![peer.clone()]), first)
    );
    let mut wait2 = std::pin::pin!(endpoint.accept_session(
        SessionConfig::new(vec![s2.clone()], vec![peer.clone()]),
        deadline()
    ));
    // Both wait for a connection.
    assert!(poll_once(&mut wait2).await.is_pending());
    assert!(poll_once(&mut wait1).await.is_pending());
    let _c2 = connect_and_send(&endpoint, &s2, &peer, "tid00002", "for two").await;
    // Only the first wait runs while the connection and its bytes arrive: it accepts it, reads
    // its first request and parks it.
    for _ in 0..20 {
        assert!(poll_once(&mut wait1).await.is_pending());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut b2 = tokio::time::timeout(Duration::from_secs(2), wait2)
        .await
        .expect("the second wait took the parked connection, not its deadline")
        .expect("accept 2");
    let got = until(&mut b2, is_message).await;
    assert!(matches!(got.last(), Some(SessionEvent::Message { body, .. }) if body == b"for two"));
    // The first session's wait still ends at its own deadline.
    assert!(matches!(wait1.await, Err(MsrpError::Timeout(_))));
}

/// The sim and the client set up sessions on spawned tasks: both futures must be Send.
#[test]
fn accept_session_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let ep = MsrpEndpoint::listen("127.0.0.1".parse().expect("ip"), None)
            .await
            .expect("listen");
        let local = vec![ep.local_uri("s1")];
        let cfg = SessionConfig::new(local.clone(), local);
        let fut = ep.accept_session(cfg, tokio::time::Instant::now());
        assert_send(&fut);
        let cfg = SessionConfig::new(vec![ep.local_uri("s2")], vec![ep.local_uri("s3")]);
        let fut = MsrpConnection::connect(cfg, None, tokio::time::Instant::now());
        assert_send(&fut);
    });
}

/// Session configs of a passive side on `endpoint` and an active side towards it.
fn configs(endpoint: &MsrpEndpoint, name: &str) -> (SessionConfig, SessionConfig) {
    let passive_uri = endpoint.local_uri(&format!("pass{name}"));
    let active_uri = MsrpUri::tcp("127.0.0.1", 9, &format!("act{name}"));
    (
        SessionConfig::new(vec![passive_uri.clone()], vec![active_uri.clone()]),
        SessionConfig::new(vec![active_uri], vec![passive_uri]),
    )
}

/// Everything of kind `data` that went from `src`'s port, concatenated.
fn sent_by(tap: &Tap, port: u16) -> String {
    tap.events()
        .into_iter()
        .filter(|e| e.src.port() == port)
        .filter_map(|e| match e.kind {
            WireEventKind::Data(d) => Some(String::from_utf8_lossy(&d).into_owned()),
            _ => None,
        })
        .collect()
}

// A peer in another process records nothing: with `record_received` the passive side records
// its connection, every byte it sends and its FIN, besides what the passive side writes.
#[tokio::test]
async fn a_passive_side_records_what_a_silent_peer_sends() {
    let tap = Tap::new();
    let endpoint = MsrpEndpoint::listen(IpAddr::V4(Ipv4Addr::LOCALHOST), Some(tap.clone()))
        .await
        .expect("listen")
        .record_received();
    let (pcfg, acfg) = configs(&endpoint, "2xyz");
    let dl = deadline();
    let (b, a) = tokio::join!(
        endpoint.accept_session(pcfg, dl),
        MsrpConnection::connect(acfg, None, dl)
    );
    let (mut a, mut b) = (a.expect("connect"), b.expect("accept"));
    a.send_message(
        "text/plain",
        b"from the silent peer".to_vec(),
        SendOptions::default(),
    )
    .await
    .expect("send");
    until(&mut b, is_message).await;
    until(&mut a, |e| matches!(e, SessionEvent::Response { .. })).await;
    a.close().await.expect("close");
    until(&mut b, |e| matches!(e, SessionEvent::Closed { .. })).await;
    let a_port = a.local_addr().port();
    let events = tap.events();
    let opened = events
        .iter()
        .filter(|e| e.kind == WireEventKind::TcpOpen && e.src.port() == a_port)
        .count();
    let closed = events
        .iter()
        .filter(|e| e.kind == WireEventKind::TcpClose && e.src.port() == a_port)
        .count();
    assert_eq!((opened, closed), (1, 1), "{events:#?}");
    let from_a = sent_by(&tap, a_port);
    assert_eq!(
        from_a.matches(" SEND\r\n").count(),
        2,
        "the binding SEND and the message: {from_a}"
    );
    assert!(from_a.contains("from the silent peer"), "{from_a}");
    assert!(sent_by(&tap, endpoint.local_addr().port()).contains(" 200 OK"));
}

// The same on the active side (`connect_recording_received`), towards a passive peer with no
// tap: its answers and messages are recorded.
#[tokio::test]
async fn an_active_side_records_what_a_silent_peer_sends() {
    let tap = Tap::new();
    let endpoint = MsrpEndpoint::listen(IpAddr::V4(Ipv4Addr::LOCALHOST), None)
        .await
        .expect("listen");
    let (pcfg, acfg) = configs(&endpoint, "3xyz");
    let dl = deadline();
    let (b, a) = tokio::join!(
        endpoint.accept_session(pcfg, dl),
        MsrpConnection::connect_recording_received(acfg, Some(tap.clone()), dl)
    );
    let (mut a, mut b) = (a.expect("connect"), b.expect("accept"));
    b.send_message(
        "text/plain",
        b"from the passive peer".to_vec(),
        SendOptions::default(),
    )
    .await
    .expect("send");
    until(&mut a, is_message).await;
    let from_b = sent_by(&tap, endpoint.local_addr().port());
    assert!(
        from_b.contains(" 200 OK"),
        "the 200 to the binding SEND: {from_b}"
    );
    assert!(from_b.contains("from the passive peer"), "{from_b}");
    // Without asking, only what the side itself writes is recorded.
    let plain = Tap::new();
    let endpoint = MsrpEndpoint::listen(IpAddr::V4(Ipv4Addr::LOCALHOST), None)
        .await
        .expect("listen");
    let (pcfg, acfg) = configs(&endpoint, "4xyz");
    let dl = deadline();
    let (b, a) = tokio::join!(
        endpoint.accept_session(pcfg, dl),
        MsrpConnection::connect(acfg, Some(plain.clone()), dl)
    );
    let (mut a, mut b) = (a.expect("connect"), b.expect("accept"));
    b.send_message("text/plain", b"unrecorded".to_vec(), SendOptions::default())
        .await
        .expect("send");
    until(&mut a, is_message).await;
    assert_eq!(sent_by(&plain, endpoint.local_addr().port()), "");
    assert!(sent_by(&plain, a.local_addr().port()).contains(" SEND\r\n"));
}
