//! Fake-clock tests of the four transaction state machines.

use super::*;
use crate::sip::response::response_to;
use cpmconf_codec::sip::{Method, StatusCode};
use rstest::rstest;
use std::time::{Duration, Instant};

fn timers() -> Timers {
    Timers {
        t1: Duration::from_millis(500),
        t2: Duration::from_secs(4),
        t4: Duration::from_secs(5),
    }
}

fn request(method: Method) -> Message {
    let m = method.as_str().to_owned();
    Message::request(method, "sip:bob@127.0.0.1")
        .with_header(
            "Via",
            "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKtest1;rport",
        )
        .with_header("Max-Forwards", "70")
        .with_header("From", "<sip:alice@127.0.0.1>;tag=a1")
        .with_header("To", "<sip:bob@127.0.0.1>")
        .with_header("Call-ID", "c1")
        .with_header("CSeq", format!("1 {m}"))
        .with_header("Route", "<sip:proxy@127.0.0.1;lr>")
        .with_header("Content-Length", "0")
}

/// Runs the clock from `start` until `end`, firing timers when due; returns the offsets (ms) at
/// which a message was transmitted, and the events.
fn drive_client<T, E>(
    tx: &mut T,
    start: Instant,
    end: Instant,
    step: impl Fn(&mut T, Instant),
    poll: impl Fn(&mut T) -> (Vec<Message>, Vec<E>, Option<Instant>),
) -> (Vec<u128>, Vec<E>) {
    let mut sends = Vec::new();
    let mut events = Vec::new();
    let mut now = start;
    // A timer that fires again at the same instant forever is a bug, not a hang of the test.
    for _ in 0..10_000 {
        let (msgs, evs, next) = poll(tx);
        sends.extend(msgs.iter().map(|_| (now - start).as_millis()));
        events.extend(evs);
        match next {
            Some(t) if t <= end => {
                now = t.max(now);
                step(tx, now);
            }
            _ => return (sends, events),
        }
    }
    panic!("no end after 10000 timer firings; sent at {sends:?}");
}

fn poll_ci(tx: &mut ClientInvite) -> (Vec<Message>, Vec<ClientEvent>, Option<Instant>) {
    let msgs = std::iter::from_fn(|| tx.poll_transmit()).collect();
    let evs = std::iter::from_fn(|| tx.poll_event()).collect();
    (msgs, evs, tx.poll_timeout())
}

fn poll_cn(tx: &mut ClientNonInvite) -> (Vec<Message>, Vec<ClientEvent>, Option<Instant>) {
    let msgs = std::iter::from_fn(|| tx.poll_transmit()).collect();
    let evs = std::iter::from_fn(|| tx.poll_event()).collect();
    (msgs, evs, tx.poll_timeout())
}

#[test]
fn invite_retransmits_with_doubling_until_timer_b() {
    let t0 = Instant::now();
    let mut tx = ClientInvite::new(
        request(Method::Invite),
        Reliability::Unreliable,
        timers(),
        t0,
    );
    let (sends, events) = drive_client(
        &mut tx,
        t0,
        t0 + Duration::from_secs(60),
        |tx, now| tx.handle_timeout(now),
        poll_ci,
    );
    // 17.1.1.2: A at T1, 2T1, 4T1, ... until B at 64*T1 = 32s.
    assert_eq!(sends, vec![0, 500, 1500, 3500, 7500, 15500, 31500]);
    assert_eq!(events, vec![ClientEvent::Timeout(TimerKind::B)]);
    assert!(tx.is_terminated());
}

#[test]
fn non_invite_retransmits_capped_at_t2_until_timer_f() {
    let t0 = Instant::now();
    let mut tx = ClientNonInvite::new(
        request(Method::Message),
        Reliability::Unreliable,
        timers(),
        t0,
    );
    let (sends, events) = drive_client(
        &mut tx,
        t0,
        t0 + Duration::from_secs(60),
        |tx, now| tx.handle_timeout(now),
        poll_cn,
    );
    // 17.1.2.2: E at 500, 1000, 2000, 4000 then every T2=4s; F at 32s.
    assert_eq!(
        sends,
        vec![0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
    );
    assert_eq!(events, vec![ClientEvent::Timeout(TimerKind::F)]);
}

#[rstest]
#[case::unreliable(
    Reliability::Unreliable,
    &[0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
)]
#[case::reliable(Reliability::Reliable, &[0])]
fn reliable_transport_never_retransmits(#[case] r: Reliability, #[case] want: &[u128]) {
    let t0 = Instant::now();
    let mut tx = ClientNonInvite::new(request(Method::Options), r, timers(), t0);
    let (sends, events) = drive_client(
        &mut tx,
        t0,
        t0 + Duration::from_secs(60),
        |tx, now| tx.handle_timeout(now),
        poll_cn,
    );
    // The request is sent once in any case; only UDP retransmits it (17.1.2.2).
    assert_eq!(sends, want);
    assert_eq!(events, vec![ClientEvent::Timeout(TimerKind::F)]);
}

#[test]
fn non_2xx_final_is_acked_by_the_transaction() {
    let t0 = Instant::now();
    let req = request(Method::Invite);
    let mut tx = ClientInvite::new(req.clone(), Reliability::Unreliable, timers(), t0);
    let _ = poll_ci(&mut tx);
    let resp = response_to(&req, StatusCode::BUSY_HERE, Some("b1"));
    tx.handle_response(resp.clone(), t0 + Duration::from_millis(10));
    let (msgs, evs, next) = poll_ci(&mut tx);
    assert_eq!(msgs.len(), 1);
    let ack = &msgs[0];
    assert_eq!(ack.method(), Some(&Method::Ack));
    assert_eq!(ack.header("To"), Some("<sip:bob@127.0.0.1>;tag=b1"));
    assert_eq!(ack.header("CSeq"), Some("1 ACK"));
    assert_eq!(ack.header("Route"), Some("<sip:proxy@127.0.0.1;lr>"));
    assert_eq!(ack.header("Via"), req.header("Via"));
    assert_eq!(evs, vec![ClientEvent::Response(resp.clone())]);
    // Timer D: 32s on UDP.
    assert_eq!(
        next,
        Some(t0 + Duration::from_millis(10) + Duration::from_secs(32))
    );
    // A retransmitted 486 is answered with the ACK again and not passed up.
    tx.handle_response(resp, t0 + Duration::from_millis(20));
    let (msgs, evs, _) = poll_ci(&mut tx);
    assert_eq!((msgs.len(), evs.len()), (1, 0));
}

#[test]
fn two_hundred_is_not_acked_by_the_transaction_and_retransmissions_reach_the_tu() {
    let t0 = Instant::now();
    let req = request(Method::Invite);
    let mut tx = ClientInvite::new(req.clone(), Reliability::Unreliable, timers(), t0);
    let _ = poll_ci(&mut tx);
    tx.handle_response(response_to(&req, StatusCode::RINGING, Some("b1")), t0);
    let ok = response_to(&req, StatusCode::OK, Some("b1"));
    tx.handle_response(ok.clone(), t0);
    tx.handle_response(ok.clone(), t0);
    let (msgs, evs, _) = poll_ci(&mut tx);
    assert!(msgs.is_empty(), "no ACK for 2xx from the transaction");
    assert_eq!(evs.len(), 3);
    tx.handle_timeout(t0 + Duration::from_secs(33));
    assert!(tx.is_terminated());
}

#[test]
fn provisional_stops_invite_retransmission() {
    let t0 = Instant::now();
    let req = request(Method::Invite);
    let mut tx = ClientInvite::new(req.clone(), Reliability::Unreliable, timers(), t0);
    let _ = poll_ci(&mut tx);
    tx.handle_response(response_to(&req, StatusCode::TRYING, None), t0);
    let _ = poll_ci(&mut tx);
    assert_eq!(tx.poll_timeout(), None);
}

#[test]
fn server_non_invite_absorbs_and_replays() {
    let t0 = Instant::now();
    let req = request(Method::Message);
    let mut tx = ServerNonInvite::new(Reliability::Unreliable, timers(), t0);
    tx.handle_request(t0);
    assert!(tx.poll_transmit().is_none(), "Trying absorbs silently");
    assert!(tx.send_response(response_to(&req, StatusCode::OK, Some("x")), t0));
    assert!(tx.poll_transmit().is_some());
    tx.handle_request(t0 + Duration::from_millis(100));
    assert_eq!(
        tx.poll_transmit().and_then(|m| m.status()),
        Some(StatusCode::OK)
    );
    assert!(!tx.send_response(response_to(&req, StatusCode::OK, None), t0));
    tx.handle_timeout(t0 + Duration::from_secs(32));
    assert!(tx.is_terminated());
}

#[test]
fn server_non_invite_compacts_only_when_completed_and_idle() {
    let t0 = Instant::now();
    let req = request(Method::Message);
    let mut tx = ServerNonInvite::new(Reliability::Unreliable, timers(), t0);
    assert_eq!(tx.compact(), None, "Trying still waits for the TU");
    assert!(tx.send_response(response_to(&req, StatusCode::TRYING, None), t0));
    let _ = tx.poll_transmit();
    assert_eq!(tx.compact(), None, "Proceeding still waits for a final");
    let ok = response_to(&req, StatusCode::OK, Some("x"));
    assert!(tx.send_response(ok.clone(), t0));
    assert_eq!(tx.compact(), None, "the final is not sent yet");
    let _ = tx.poll_transmit();
    let c = tx.compact().expect("Completed and idle");
    assert_eq!(&*c.response, &ok.to_bytes()[..]);
    assert_eq!(c.until, t0 + timers().timeout(), "Timer J, 64*T1");
    tx.handle_timeout(c.until);
    assert_eq!(tx.compact(), None, "Terminated");
}

#[test]
fn server_invite_sends_trying_then_retransmits_final_until_ack() {
    let t0 = Instant::now();
    let req = request(Method::Invite);
    let mut tx = ServerInvite::new(req.clone(), Reliability::Unreliable, timers(), t0);
    assert_eq!(tx.poll_timeout(), Some(t0 + Duration::from_millis(200)));
    tx.handle_timeout(t0 + Duration::from_millis(200));
    assert_eq!(
        tx.poll_transmit().and_then(|m| m.status()),
        Some(StatusCode::TRYING)
    );
    let t1 = t0 + Duration::from_secs(1);
    assert!(tx.send_response(response_to(&req, StatusCode::BUSY_HERE, Some("x")), t1));
    assert!(tx.poll_transmit().is_some());
    // G at T1 then 2*T1.
    tx.handle_timeout(t1 + Duration::from_millis(500));
    assert!(tx.poll_transmit().is_some());
    assert_eq!(tx.poll_timeout(), Some(t1 + Duration::from_millis(1500)));
    tx.handle_ack(t1 + Duration::from_millis(600));
    assert_eq!(
        tx.poll_timeout(),
        Some(t1 + Duration::from_millis(600) + timers().t4)
    );
    tx.handle_timeout(t1 + Duration::from_secs(10));
    assert!(tx.is_terminated());
    assert!(tx.poll_event().is_none());
}

fn poll_si(tx: &mut ServerInvite) -> (Vec<Message>, Vec<ServerEvent>, Option<Instant>) {
    let msgs = std::iter::from_fn(|| tx.poll_transmit()).collect();
    let evs = std::iter::from_fn(|| tx.poll_event()).collect();
    (msgs, evs, tx.poll_timeout())
}

/// 17.2.1: a non-2xx final on UDP is retransmitted at T1, 2*T1, 4*T1 ... capped at T2 (Timer G)
/// until Timer H (64*T1) ends the transaction; 13.3.1.4: a 2xx follows the same schedule until
/// Timer L, without an event.
#[rstest]
#[case::non_2xx_timer_g(StatusCode::BUSY_HERE, vec![ServerEvent::Timeout(TimerKind::H)])]
#[case::two_hundred(StatusCode::OK, vec![])]
fn server_invite_final_retransmits_capped_at_t2(
    #[case] status: StatusCode,
    #[case] want_events: Vec<ServerEvent>,
) {
    let t0 = Instant::now();
    let req = request(Method::Invite);
    let mut tx = ServerInvite::new(req.clone(), Reliability::Unreliable, timers(), t0);
    assert!(tx.send_response(response_to(&req, status, Some("x")), t0));
    let (sends, events) = drive_client(
        &mut tx,
        t0,
        t0 + Duration::from_secs(60),
        |tx, now| tx.handle_timeout(now),
        poll_si,
    );
    assert_eq!(
        sends,
        vec![0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
    );
    assert_eq!(events, want_events);
    assert!(tx.is_terminated());
}

#[test]
fn server_invite_timer_h_without_ack() {
    let t0 = Instant::now();
    let req = request(Method::Invite);
    let mut tx = ServerInvite::new(req.clone(), Reliability::Reliable, timers(), t0);
    assert!(tx.send_response(response_to(&req, StatusCode::BUSY_HERE, Some("x")), t0));
    let _ = tx.poll_transmit();
    assert_eq!(tx.poll_timeout(), Some(t0 + Duration::from_secs(32)));
    tx.handle_timeout(t0 + Duration::from_secs(32));
    assert_eq!(tx.poll_event(), Some(ServerEvent::Timeout(TimerKind::H)));
    assert!(tx.poll_transmit().is_none(), "no retransmission on TCP");
}

#[test]
fn server_invite_absorbs_retransmitted_invite_after_2xx() {
    let t0 = Instant::now();
    let req = request(Method::Invite);
    let mut tx = ServerInvite::new(req.clone(), Reliability::Reliable, timers(), t0);
    assert!(tx.send_response(response_to(&req, StatusCode::OK, Some("x")), t0));
    let _ = tx.poll_transmit();
    tx.handle_request(t0 + Duration::from_millis(5));
    assert!(tx.poll_transmit().is_none());
    assert!(!tx.is_terminated());
}

#[test]
fn server_invite_retransmits_2xx_on_udp_until_its_ack() {
    let t0 = Instant::now();
    let req = request(Method::Invite);
    let mut tx = ServerInvite::new(req.clone(), Reliability::Unreliable, timers(), t0);
    assert!(tx.send_response(response_to(&req, StatusCode::OK, Some("x")), t0));
    let _ = tx.poll_transmit();
    // 13.3.1.4: T1, then 2*T1 ...
    tx.handle_timeout(t0 + Duration::from_millis(500));
    assert_eq!(
        tx.poll_transmit().and_then(|m| m.status()),
        Some(StatusCode::OK)
    );
    assert_eq!(tx.poll_timeout(), Some(t0 + Duration::from_millis(1500)));
    tx.handle_ack_2xx();
    // Only Timer L (64*T1) is left.
    assert_eq!(tx.poll_timeout(), Some(t0 + Duration::from_secs(32)));
    tx.handle_timeout(t0 + Duration::from_secs(32));
    assert!(tx.is_terminated());
    assert!(tx.poll_transmit().is_none());
}

#[rstest]
#[case::udp(Reliability::Unreliable)]
#[case::tcp(Reliability::Reliable)]
fn a_2xx_is_sent_again_on_request_until_the_transaction_ends(#[case] reliability: Reliability) {
    let t0 = Instant::now();
    let req = request(Method::Invite);
    let mut tx = ServerInvite::new(req.clone(), reliability, timers(), t0);
    // Nothing to send again before a final response, nor after a non-2xx one.
    assert!(!tx.retransmit_2xx());
    let ok = response_to(&req, StatusCode::OK, Some("x"));
    assert!(tx.send_response(ok.clone(), t0));
    assert_eq!(tx.poll_transmit().as_ref(), Some(&ok));
    // 13.3.1.4 asked for now: the same 2xx, also after its ACK, while Accepted (Timer L).
    tx.handle_ack_2xx();
    assert!(tx.retransmit_2xx());
    assert_eq!(tx.poll_transmit().as_ref(), Some(&ok));
    assert!(tx.poll_transmit().is_none());
    tx.handle_timeout(t0 + Duration::from_secs(32));
    assert!(tx.is_terminated());
    assert!(!tx.retransmit_2xx());
    assert!(tx.poll_transmit().is_none());

    let mut busy = ServerInvite::new(req.clone(), reliability, timers(), t0);
    assert!(busy.send_response(response_to(&req, StatusCode::BUSY_HERE, Some("x")), t0));
    let _ = busy.poll_transmit();
    assert!(!busy.retransmit_2xx());
}

#[test]
fn transport_error_is_reported_once_and_terminates() {
    let t0 = Instant::now();
    let mut tx = ClientNonInvite::new(
        request(Method::Message),
        Reliability::Reliable,
        timers(),
        t0,
    );
    let _ = tx.poll_transmit();
    tx.handle_transport_error();
    assert_eq!(tx.poll_event(), Some(ClientEvent::TransportError));
    assert!(tx.poll_event().is_none());
    assert!(tx.is_terminated());
    assert_eq!(tx.poll_timeout(), None);
}

#[rstest]
#[case(Some(Duration::ZERO), true, None)]
#[case(Some(Duration::from_millis(200)), false, Some(200))]
#[case(None, false, None)]
fn server_invite_trying_policy(
    #[case] trying: Option<Duration>,
    #[case] at_once: bool,
    #[case] timer_ms: Option<u64>,
) {
    let t0 = Instant::now();
    let req = request(Method::Invite);
    let mut tx = ServerInvite::with_trying(req, Reliability::Reliable, timers(), t0, trying);
    assert_eq!(
        tx.poll_transmit().and_then(|m| m.status()) == Some(StatusCode::TRYING),
        at_once
    );
    assert_eq!(
        tx.poll_timeout(),
        timer_ms.map(|ms| t0 + Duration::from_millis(ms))
    );
}

#[rstest]
#[case(Reliability::Unreliable, 32_000)]
#[case(Reliability::Reliable, 0)]
fn timer_d_is_zero_on_reliable_transports(#[case] r: Reliability, #[case] d_ms: u64) {
    let t0 = Instant::now();
    let req = request(Method::Invite);
    let mut tx = ClientInvite::new(req.clone(), r, timers(), t0);
    let _ = poll_ci(&mut tx);
    tx.handle_response(response_to(&req, StatusCode::NOT_FOUND, Some("x")), t0);
    let (msgs, _, next) = poll_ci(&mut tx);
    assert_eq!(msgs.len(), 1, "the ACK");
    assert_eq!(next, Some(t0 + Duration::from_millis(d_ms)));
}
