//! Virtual-clock tests of the transaction router: matching (RFC 3261 17.1.3, 17.2.3), ACK and CANCEL routing, timers, bounded memory; no sockets, no sleeping.

use super::*;
use crate::sip::transaction::TimerKind;
use rstest::rstest;

/// Client A's address and the sent-by its Vias carry.
const A: &str = "127.0.0.1:5070";
/// Client B: another host, so its sent-by differs from A's.
const B: &str = "127.0.0.2:5070";
/// Where this side sends its own requests.
const PEER: &str = "127.0.0.1:5080";

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

fn timers() -> Timers {
    Timers {
        t1: Duration::from_millis(500),
        t2: Duration::from_secs(4),
        t4: Duration::from_secs(5),
    }
}

/// A request from `sent_by` with the given branch, Call-ID and CSeq number.
fn request(method: Method, branch: &str, sent_by: &str, call_id: &str, cseq: u32) -> Message {
    let name = method.as_str().to_owned();
    Message::request(method, "sip:bob@127.0.0.1")
        .with_header(
            "Via",
            format!("SIP/2.0/UDP {sent_by};branch={branch};rport"),
        )
        .with_header("Max-Forwards", "70")
        .with_header("From", "<sip:alice@127.0.0.1>;tag=a1")
        .with_header("To", "<sip:bob@127.0.0.1>")
        .with_header("Call-ID", call_id)
        .with_header("CSeq", format!("{cseq} {name}"))
        .with_header("Content-Length", "0")
}

/// A request this side sends (its Via names this side).
fn outgoing(method: Method, branch: &str) -> Message {
    request(method, branch, PEER, "out-1", 1)
}

fn decode(bytes: &[u8]) -> Message {
    Message::parse(bytes)
        .expect("the router sends valid SIP")
        .value
}

/// The status code and CSeq method of a sent response.
fn code_of(m: &Message) -> (u16, Method) {
    (
        m.status().map(|c| c.0).unwrap_or(0),
        m.cseq_method().unwrap_or(Method::Ack),
    )
}

/// A router with a virtual clock.
struct Rig {
    router: Router,
    t0: Instant,
    now: Instant,
}

/// What one step sent and reported, with the offsets (ms from the start) of the sends.
#[derive(Debug, Default)]
struct Out {
    sent: Vec<(u128, Message, Transmit)>,
    events: Vec<Event>,
}

impl Out {
    fn codes(&self) -> Vec<(u16, Method)> {
        self.sent.iter().map(|(_, m, _)| code_of(m)).collect()
    }

    fn requests(&self) -> Vec<&Message> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Request { request, .. } => Some(request),
                _ => None,
            })
            .collect()
    }

    fn offsets(&self) -> Vec<u128> {
        self.sent.iter().map(|(t, _, _)| *t).collect()
    }
}

impl Rig {
    fn new() -> Rig {
        Rig::with_cap(32_768)
    }

    fn with_cap(completed_cap: usize) -> Rig {
        let t0 = Instant::now();
        Rig {
            router: Router::new(RouterConfig {
                timers: timers(),
                auto_trying: Some(Duration::ZERO),
                server: Some("rig".into()),
                seed: 7,
                completed_cap,
            }),
            t0,
            now: t0,
        }
    }

    /// Everything the router has to send and report now.
    fn take(&mut self) -> Out {
        let at = (self.now - self.t0).as_millis();
        let mut out = Out::default();
        while let Some(t) = self.router.poll_transmit() {
            out.sent.push((at, decode(&t.bytes), t));
        }
        while let Some(e) = self.router.poll_event() {
            out.events.push(e);
        }
        out
    }

    fn receive(&mut self, msg: Message, from: &str) -> Out {
        self.receive_over(msg, from, Transport::Udp)
    }

    fn receive_over(&mut self, msg: Message, from: &str, transport: Transport) -> Out {
        self.router
            .handle_request(msg, addr(from), transport, self.now);
        self.take()
    }

    fn response(&mut self, msg: Message) -> Out {
        self.router.handle_response(msg, addr(PEER), self.now);
        self.take()
    }

    fn respond(&mut self, key: &ServerKey, resp: Message) -> Out {
        self.router.respond(key, resp, self.now).expect("respond");
        self.take()
    }

    fn start(&mut self, req: Message) -> (TransactionKey, Out) {
        let key = self
            .router
            .start_client(req, addr(PEER), Transport::Udp, self.now)
            .expect("start");
        (key, self.take())
    }

    /// Runs the virtual clock to `ms` after the start, firing every timer on its deadline.
    fn advance_to(&mut self, ms: u64) -> Out {
        let end = self.t0 + Duration::from_millis(ms);
        let mut out = Out::default();
        // A timer due again at the same instant forever is a bug, not a hang of the test.
        for _ in 0..10_000 {
            match self.router.poll_timeout() {
                Some(t) if t <= end => {
                    self.now = t.max(self.now);
                    self.router.handle_timeout(self.now);
                    let step = self.take();
                    out.sent.extend(step.sent);
                    out.events.extend(step.events);
                }
                _ => {
                    self.now = end.max(self.now);
                    return out;
                }
            }
        }
        panic!("no end after 10000 timer firings");
    }
}

/// The server key of the only new request in `out`.
fn new_server(out: &Out) -> ServerKey {
    let keys: Vec<&ServerKey> = out
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Request {
                server: Some(k), ..
            } => Some(k),
            _ => None,
        })
        .collect();
    assert_eq!(
        keys.len(),
        1,
        "one new server transaction: {:?}",
        out.events
    );
    keys[0].clone()
}

fn ok_to(req: &Message) -> Message {
    response_to(req, StatusCode::OK, Some("b1"))
}

// --- 17.2.3: which server transaction a request belongs to --------------------------------------

/// A first MESSAGE from A (branch z9hG4bK1, Call-ID c1, CSeq 1) is answered 200; a second
/// request arrives. Absorbed: it is a retransmission (the 200 is sent again, the TU sees
/// nothing). New: it is a transaction of its own (the TU gets it).
#[rstest]
// The retransmission itself: branch, sent-by and method equal.
#[case::retransmission("z9hG4bK1", A, A, Method::Message, "c1", true)]
// Hosts compare case-insensitively; the sent-by is what matters, not the packet's source.
#[case::sent_by_host_case(
    "z9hG4bK1",
    "LOCALHOST:5070",
    "localhost:5070",
    Method::Message,
    "c1",
    true
)]
// Same Call-ID and CSeq but a new branch: a new transaction (a Call-ID/CSeq matcher fails).
#[case::new_branch("z9hG4bK2", A, A, Method::Message, "c1", false)]
// Same branch from another sent-by: another client's transaction (17.2.3 compares sent-by).
#[case::other_sent_by("z9hG4bK1", A, B, Method::Message, "c1", false)]
// Same branch and sent-by, another method: another transaction.
#[case::other_method("z9hG4bK1", A, A, Method::Options, "c1", false)]
// Same branch and sent-by, another Call-ID: still the same transaction (the branch decides).
#[case::branch_decides_not_call_id("z9hG4bK1", A, A, Method::Message, "c9", true)]
fn server_transaction_matching(
    #[case] branch: &str,
    #[case] first_sent_by: &str,
    #[case] second_sent_by: &str,
    #[case] method: Method,
    #[case] call_id: &str,
    #[case] absorbed: bool,
) {
    let mut rig = Rig::new();
    let first = request(Method::Message, "z9hG4bK1", first_sent_by, "c1", 1);
    let out = rig.receive(first.clone(), A);
    let key = new_server(&out);
    let out = rig.respond(&key, ok_to(&out.requests()[0].clone()));
    assert_eq!(out.codes(), [(200, Method::Message)]);
    rig.advance_to(1_000);

    let second = request(method.clone(), branch, second_sent_by, call_id, 1);
    let out = rig.receive(second, A);
    if absorbed {
        assert!(out.requests().is_empty(), "absorbed: {:?}", out.events);
        assert_eq!(
            out.codes(),
            [(200, Method::Message)],
            "the 200 is sent again"
        );
    } else {
        assert_eq!(
            out.requests().len(),
            1,
            "a new transaction: {:?}",
            out.events
        );
        assert_eq!(out.requests()[0].method(), Some(&method));
        assert!(out.sent.is_empty(), "nothing replayed: {:?}", out.codes());
    }
}

/// 17.2.1: an INVITE retransmitted while the TU has not answered finally gets the latest
/// provisional again (the auto 100, then the TU's 180), and reaches the TU only once.
#[test]
fn invite_retransmission_gets_the_latest_provisional() {
    let mut rig = Rig::new();
    let invite = request(Method::Invite, "z9hG4bKi", A, "c1", 1);
    let out = rig.receive(invite.clone(), A);
    assert_eq!(out.codes(), [(100, Method::Invite)], "auto 100 Trying");
    let key = new_server(&out);
    let out = rig.receive(invite.clone(), A);
    assert!(out.requests().is_empty());
    assert_eq!(out.codes(), [(100, Method::Invite)]);
    rig.respond(&key, response_to(&invite, StatusCode::RINGING, Some("b1")));
    let out = rig.receive(invite, A);
    assert!(out.requests().is_empty());
    assert_eq!(out.codes(), [(180, Method::Invite)]);
}

// --- 17.1.3: which client transaction a response belongs to -------------------------------------

/// This side sent MESSAGE and INVITE with branch z9hG4bKc (two client transactions: the key
/// is branch and CSeq method). A response goes to the one whose branch and CSeq method it
/// carries, or is reported as stray.
#[rstest]
#[case::message("z9hG4bKc", Method::Message, Some(Method::Message))]
#[case::invite("z9hG4bKc", Method::Invite, Some(Method::Invite))]
// Same Call-ID (every request here has Call-ID out-1) but another branch: stray.
#[case::other_branch("z9hG4bKx", Method::Message, None)]
// Same branch, a method no transaction has: stray.
#[case::other_method("z9hG4bKc", Method::Options, None)]
fn client_transaction_matching(
    #[case] branch: &str,
    #[case] cseq_method: Method,
    #[case] matched: Option<Method>,
) {
    let mut rig = Rig::new();
    let (message_key, _) = rig.start(outgoing(Method::Message, "z9hG4bKc"));
    let (invite_key, _) = rig.start(outgoing(Method::Invite, "z9hG4bKc"));
    let resp = response_to(
        &outgoing(cseq_method, branch),
        StatusCode::RINGING,
        Some("b1"),
    );
    let out = rig.response(resp.clone());
    let expected = match matched {
        Some(Method::Invite) => vec![Event::Client {
            key: invite_key,
            event: ClientEvent::Response(resp),
        }],
        Some(_) => vec![Event::Client {
            key: message_key,
            event: ClientEvent::Response(resp),
        }],
        None => vec![Event::Stack(StackEvent::StrayResponse {
            from: addr(PEER),
            response: Box::new(resp),
        })],
    };
    assert_eq!(out.events, expected);
}

// --- ACK ----------------------------------------------------------------------------------------

/// 17.2.1: the ACK of a non-2xx final has the INVITE's branch and belongs to its transaction:
/// it is not passed up, and it stops Timer G (no more 486), Timer I then ends the transaction.
#[test]
fn ack_of_non_2xx_is_absorbed_by_the_invite_transaction() {
    let mut rig = Rig::new();
    let invite = request(Method::Invite, "z9hG4bKi", A, "c1", 1);
    let key = new_server(&rig.receive(invite.clone(), A));
    rig.respond(
        &key,
        response_to(&invite, StatusCode::BUSY_HERE, Some("b1")),
    );
    // Timer G: the 486 again at T1 (500 ms) and 2*T1 later (1500 ms).
    let out = rig.advance_to(1_600);
    assert_eq!(out.offsets(), [500, 1500]);
    assert_eq!(out.codes(), [(486, Method::Invite), (486, Method::Invite)]);

    let out = rig.receive(request(Method::Ack, "z9hG4bKi", A, "c1", 1), A);
    assert!(
        out.events.is_empty(),
        "the ACK is not passed up: {:?}",
        out.events
    );
    assert_eq!(
        rig.router.retained().servers,
        1,
        "Confirmed, waiting for Timer I"
    );
    // Timer I is T4 (5 s) after the ACK: no 486 any more, then the transaction ends.
    let out = rig.advance_to(1_600 + 4_999);
    assert!(out.sent.is_empty() && out.events.is_empty(), "{out:?}");
    let out = rig.advance_to(1_600 + 5_000);
    assert_eq!(out.events, [Event::ServerEnded(key)]);
    assert!(out.sent.is_empty());
}

/// An ACK with the INVITE's branch from another sent-by is not that transaction's ACK: the
/// 486 keeps being retransmitted (a router that forgets the sent-by would stop it).
#[test]
fn ack_from_another_sent_by_does_not_confirm() {
    let mut rig = Rig::new();
    let invite = request(Method::Invite, "z9hG4bKi", A, "c1", 1);
    let key = new_server(&rig.receive(invite.clone(), A));
    rig.respond(
        &key,
        response_to(&invite, StatusCode::BUSY_HERE, Some("b1")),
    );
    rig.receive(request(Method::Ack, "z9hG4bKi", B, "c1", 1), B);
    let out = rig.advance_to(1_600);
    assert_eq!(out.codes(), [(486, Method::Invite), (486, Method::Invite)]);
}

/// 17.1.1.3 / 13.3.1.4: the ACK of a 2xx is a transaction of its own (a new branch): it is
/// passed up without a server transaction, and, when its Call-ID and CSeq number are the
/// INVITE's, it stops the 2xx retransmission.
#[rstest]
#[case::its_ack("c1", 1, true)]
#[case::other_cseq("c1", 2, false)]
#[case::other_call("c2", 1, false)]
fn ack_of_2xx_is_passed_up_and_stops_the_2xx(
    #[case] call_id: &str,
    #[case] cseq: u32,
    #[case] stops: bool,
) {
    let mut rig = Rig::new();
    let invite = request(Method::Invite, "z9hG4bKi", A, "c1", 1);
    let key = new_server(&rig.receive(invite.clone(), A));
    rig.respond(&key, ok_to(&invite));
    let ack = request(Method::Ack, "z9hG4bKack", A, call_id, cseq);
    let out = rig.receive(ack.clone(), A);
    assert_eq!(out.events.len(), 1, "{:?}", out.events);
    match &out.events[0] {
        Event::Request {
            request, server, ..
        } => {
            assert_eq!(request.method(), Some(&Method::Ack));
            assert_eq!(server, &None, "an ACK of a 2xx has no server transaction");
        }
        other => panic!("expected the ACK passed up, got {other:?}"),
    }
    let out = rig.advance_to(4_000);
    if stops {
        assert!(
            out.sent.is_empty(),
            "2xx retransmitted after its ACK: {:?}",
            out.offsets()
        );
    } else {
        // Timer G: 500, 1500, 3500 ms.
        assert_eq!(out.offsets(), [500, 1500, 3500]);
        assert!(out.codes().iter().all(|c| *c == (200, Method::Invite)));
    }
}

// --- CANCEL (9.2) -------------------------------------------------------------------------------

/// A CANCEL matches the INVITE transaction with its branch and sent-by (9.2 via 17.2.3, but
/// for the method). Matched, before a final: 200 to the CANCEL, 487 to the INVITE (unless
/// keep-on-cancel), reported as `Cancelled`; not matched: 481, nothing reported. The CANCEL
/// is never passed up as a request.
#[rstest]
#[case::matched("z9hG4bKi", A, false, &[(200, Method::Cancel), (487, Method::Invite)], true)]
#[case::kept("z9hG4bKi", A, true, &[(200, Method::Cancel)], true)]
// Same Call-ID and CSeq, another branch: no such transaction (a Call-ID matcher cancels).
#[case::other_branch("z9hG4bKx", A, false, &[(481, Method::Cancel)], false)]
// Same branch, another sent-by: no such transaction (a matcher without sent-by cancels).
#[case::other_sent_by("z9hG4bKi", B, false, &[(481, Method::Cancel)], false)]
fn cancel_matching(
    #[case] branch: &str,
    #[case] sent_by: &str,
    #[case] keep: bool,
    #[case] codes: &[(u16, Method)],
    #[case] cancelled: bool,
) {
    let mut rig = Rig::new();
    let invite = request(Method::Invite, "z9hG4bKi", A, "c1", 1);
    let key = new_server(&rig.receive(invite.clone(), A));
    if keep {
        rig.router.keep_on_cancel(&key).expect("keep");
    }
    let cancel = request(Method::Cancel, branch, sent_by, "c1", 1);
    let out = rig.receive(cancel, sent_by);
    assert_eq!(out.codes(), codes);
    // What is reported: the INVITE's key and the CANCEL's Call-ID and CSeq.
    let reported: Vec<(ServerKey, Option<&str>, Option<Method>)> = out
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Cancelled { invite, cancel } => {
                Some((invite.clone(), cancel.call_id(), cancel.cseq_method()))
            }
            Event::ServerEnded(_) => None,
            other => panic!("a CANCEL is not passed up: {other:?}"),
        })
        .collect();
    let expected = match cancelled {
        true => vec![(key.clone(), Some("c1"), Some(Method::Cancel))],
        false => vec![],
    };
    assert_eq!(reported, expected);
    // The 487 is the INVITE transaction's final: after it, the TU can no longer respond.
    let after = rig.router.respond(&key, ok_to(&invite), rig.now);
    assert_eq!(after.is_err(), cancelled && !keep, "{after:?}");
}

/// The 487 keeps the To tag of the provisional the INVITE already had (one dialog), and the
/// stack's own responses carry the configured Server.
#[test]
fn the_487_keeps_the_provisional_to_tag() {
    let mut rig = Rig::new();
    let invite = request(Method::Invite, "z9hG4bKi", A, "c1", 1);
    let key = new_server(&rig.receive(invite.clone(), A));
    rig.respond(
        &key,
        response_to(&invite, StatusCode::RINGING, Some("ringtag")),
    );
    let out = rig.receive(request(Method::Cancel, "z9hG4bKi", A, "c1", 1), A);
    let terminated = out
        .sent
        .iter()
        .map(|(_, m, _)| m)
        .find(|m| m.status() == Some(StatusCode::REQUEST_TERMINATED))
        .expect("a 487");
    assert_eq!(
        terminated.header("To"),
        Some("<sip:bob@127.0.0.1>;tag=ringtag")
    );
    assert_eq!(terminated.header("Server"), Some("rig"));
}

/// A CANCEL after the INVITE's final response still gets 200 (it matches), but changes
/// nothing: no 487, no `Cancelled`.
#[test]
fn cancel_after_the_final_changes_nothing() {
    let mut rig = Rig::new();
    let invite = request(Method::Invite, "z9hG4bKi", A, "c1", 1);
    let key = new_server(&rig.receive(invite.clone(), A));
    rig.respond(&key, ok_to(&invite));
    let out = rig.receive(request(Method::Cancel, "z9hG4bKi", A, "c1", 1), A);
    assert_eq!(out.codes(), [(200, Method::Cancel)]);
    assert!(
        !out.events
            .iter()
            .any(|e| matches!(e, Event::Cancelled { .. } | Event::Request { .. })),
        "{:?}",
        out.events
    );
}

// --- timers -------------------------------------------------------------------------------------

/// A client transaction over UDP with a silent peer: retransmissions (Timer A doubling
/// without bound for INVITE, Timer E doubling up to T2 for non-INVITE), then the timeout
/// (Timer B / F at 64*T1 = 32 s) reported and the transaction forgotten.
#[rstest]
#[case::invite(Method::Invite, &[0, 500, 1500, 3500, 7500, 15500, 31500], TimerKind::B)]
#[case::message(
    Method::Message,
    &[0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500],
    TimerKind::F
)]
fn client_retransmits_then_times_out(
    #[case] method: Method,
    #[case] sends: &[u128],
    #[case] timer: TimerKind,
) {
    let mut rig = Rig::new();
    let (key, first) = rig.start(outgoing(method, "z9hG4bKc"));
    let out = rig.advance_to(40_000);
    let mut offsets = first.offsets();
    offsets.extend(out.offsets());
    assert_eq!(offsets, sends);
    assert_eq!(
        out.events,
        [
            Event::Client {
                key: key.clone(),
                event: ClientEvent::Timeout(timer),
            },
            Event::ClientEnded(key),
        ]
    );
    assert_eq!(rig.router.poll_timeout(), None, "nothing left to wait for");
}

/// 17.1.2.2: a non-INVITE client transaction that got its final over UDP stays for Timer K
/// (T4) to absorb response retransmissions (not reported again), then ends.
#[test]
fn timer_k_absorbs_retransmitted_finals_then_ends() {
    let mut rig = Rig::new();
    let req = outgoing(Method::Message, "z9hG4bKc");
    let (key, _) = rig.start(req.clone());
    let out = rig.response(ok_to(&req));
    assert_eq!(out.events.len(), 1, "{:?}", out.events);
    rig.advance_to(4_999);
    let out = rig.response(ok_to(&req));
    assert!(
        out.events.is_empty(),
        "retransmitted 200 absorbed: {:?}",
        out.events
    );
    let out = rig.advance_to(5_000);
    assert_eq!(out.events, [Event::ClientEnded(key)]);
    let out = rig.response(ok_to(&req));
    assert!(matches!(
        out.events.as_slice(),
        [Event::Stack(StackEvent::StrayResponse { .. })]
    ));
}

/// 17.2.2: a finished non-INVITE server transaction replays its final response until Timer J
/// (64*T1 over UDP, zero over TCP); after it, the same request is a new transaction.
#[rstest]
#[case::udp(Transport::Udp, 32_000)]
#[case::tcp(Transport::Tcp, 0)]
fn timer_j_bounds_the_replay(#[case] transport: Transport, #[case] j_ms: u64) {
    let mut rig = Rig::new();
    let msg = request(Method::Message, "z9hG4bK1", A, "c1", 1);
    let out = rig.receive_over(msg.clone(), A, transport);
    let key = new_server(&out);
    let out = rig.respond(&key, ok_to(&msg));
    assert_eq!(out.events, [Event::ServerEnded(key)], "kept only compactly");
    assert_eq!(rig.router.retained().completed, 1);
    if j_ms > 0 {
        rig.advance_to(j_ms - 1);
        let out = rig.receive_over(msg.clone(), A, transport);
        assert!(out.requests().is_empty());
        assert_eq!(out.codes(), [(200, Method::Message)]);
    }
    rig.advance_to(j_ms);
    assert_eq!(rig.router.retained(), Retained::default());
    let out = rig.receive_over(msg, A, transport);
    assert_eq!(out.requests().len(), 1, "after Timer J it is new");
}

/// The compact memory of finished transactions is capped: beyond the cap the oldest is
/// forgotten first (its retransmission is new), the newest still replays; the byte count
/// follows.
#[test]
fn completed_memory_is_capped_oldest_first() {
    let mut rig = Rig::with_cap(3);
    let mut reqs = Vec::new();
    for i in 0..5 {
        let m = request(Method::Message, &format!("z9hG4bK{i}"), A, "c1", i + 1);
        let key = new_server(&rig.receive(m.clone(), A));
        rig.respond(&key, ok_to(&m));
        reqs.push(m);
    }
    let held = rig.router.retained();
    assert_eq!(held.completed, 3);
    assert_eq!(held.servers, 0);
    let expected_bytes: usize = reqs[2..].iter().map(|m| ok_to(m).to_bytes().len()).sum();
    assert_eq!(held.completed_bytes, expected_bytes);
    let out = rig.receive(reqs[0].clone(), A);
    assert_eq!(out.requests().len(), 1, "the oldest was forgotten");
    let out = rig.receive(reqs[4].clone(), A);
    assert!(out.requests().is_empty(), "the newest is still kept");
    assert_eq!(out.codes(), [(200, Method::Message)]);
}

// --- where responses go, what is refused --------------------------------------------------------

/// RFC 3261 18.2.2 / RFC 3581 4: UDP responses go to the source when rport was asked, else to
/// `received` and the sent-by port; TCP responses go on the request's connection with the
/// same fallback.
#[rstest]
#[case::udp_rport(";rport", Transport::Udp, "127.0.0.1:40000", None)]
#[case::udp_no_rport("", Transport::Udp, "127.0.0.1:5070", None)]
#[case::tcp("", Transport::Tcp, "127.0.0.1:40000", Some("127.0.0.1:5070"))]
fn responses_go_where_18_2_2_says(
    #[case] rport: &str,
    #[case] transport: Transport,
    #[case] dest: &str,
    #[case] fallback: Option<&str>,
) {
    let mut rig = Rig::new();
    let m = request(Method::Message, "z9hG4bK1", A, "c1", 1);
    let via = format!("SIP/2.0/UDP {A};branch=z9hG4bK1{rport}");
    let mut m = m;
    fields::replace_top_via(&mut m, &via);
    let key = new_server(&rig.receive_over(m.clone(), "127.0.0.1:40000", transport));
    let out = rig.respond(&key, ok_to(&m));
    let (_, _, t) = &out.sent[0];
    assert_eq!(t.dest, addr(dest));
    assert_eq!(t.fallback, fallback.map(addr));
    assert_eq!(t.transport, transport);
    assert_eq!(t.origin, Some(Origin::Server(key)));
}

/// RFC 3261 21.4.1: a request the stack cannot key (no branch) or route (no Call-ID) gets a
/// stateless 400 naming what is missing and is reported; an ACK gets no response.
#[rstest]
#[case::no_branch(
    Method::Message,
    "Via",
    "SIP/2.0/UDP 127.0.0.1:5070",
    Some("a top Via with a branch")
)]
#[case::no_call_id(Method::Message, "Call-ID", "", Some("Call-ID and CSeq"))]
#[case::ack_no_branch(Method::Ack, "Via", "SIP/2.0/UDP 127.0.0.1:5070", None)]
fn unusable_requests_are_refused_statelessly(
    #[case] method: Method,
    #[case] header: &str,
    #[case] value: &str,
    #[case] reason: Option<&str>,
) {
    let mut rig = Rig::new();
    let mut m = request(method, "z9hG4bK1", A, "c1", 1);
    m.headers.remove(header);
    if !value.is_empty() {
        m.headers.push_front(header, value);
    }
    let out = rig.receive(m, A);
    match reason {
        Some(r) => {
            assert_eq!(out.codes().first().map(|c| c.0), Some(400));
            let (_, resp, t) = &out.sent[0];
            let reason_phrase = match &resp.start {
                cpmconf_codec::sip::StartLine::Response(s) => s.reason.as_str(),
                _ => "",
            };
            assert!(reason_phrase.contains(r), "{reason_phrase}");
            assert_eq!(t.origin, None, "stateless");
        }
        None => assert!(out.sent.is_empty()),
    }
    assert!(matches!(
        out.events.as_slice(),
        [Event::Stack(StackEvent::Unusable { .. })]
    ));
    assert_eq!(rig.router.retained(), Retained::default());
}

/// A TU that cannot take a request gets it refused with 503 in its transaction.
#[test]
fn refused_request_gets_503() {
    let mut rig = Rig::new();
    let m = request(Method::Message, "z9hG4bK1", A, "c1", 1);
    let key = new_server(&rig.receive(m.clone(), A));
    rig.router.refuse(&key, &m, rig.now);
    assert_eq!(rig.take().codes(), [(503, Method::Message)]);
}

// --- transport failures -------------------------------------------------------------------------

/// 17.1.4: a failed send ends the client transaction with a transport error; a lost TCP
/// connection ends only the TCP transactions to that peer.
#[test]
fn transport_failures_end_the_transactions_that_used_them() {
    let mut rig = Rig::new();
    let (udp, _) = rig.start(outgoing(Method::Message, "z9hG4bKu"));
    let tcp = rig
        .router
        .start_client(
            outgoing(Method::Message, "z9hG4bKt"),
            addr(PEER),
            Transport::Tcp,
            rig.now,
        )
        .expect("start");
    rig.take();
    rig.router.handle_connection_lost(addr(PEER));
    let out = rig.take();
    assert_eq!(
        out.events,
        [
            Event::Client {
                key: tcp,
                event: ClientEvent::TransportError
            },
            Event::ClientEnded(TransactionKey {
                branch: "z9hG4bKt".into(),
                method: Method::Message
            }),
        ]
    );
    rig.router.handle_send_error(&Origin::Client(udp.clone()));
    let out = rig.take();
    assert_eq!(
        out.events,
        [
            Event::Client {
                key: udp.clone(),
                event: ClientEvent::TransportError
            },
            Event::ClientEnded(udp),
        ]
    );
    assert_eq!(rig.router.retained(), Retained::default());
}

/// A second client transaction with a live one's branch and method is refused.
#[test]
fn duplicate_client_branch_is_refused() {
    let mut rig = Rig::new();
    rig.start(outgoing(Method::Message, "z9hG4bKc"));
    let again = rig.router.start_client(
        outgoing(Method::Message, "z9hG4bKc"),
        addr(PEER),
        Transport::Udp,
        rig.now,
    );
    assert!(matches!(again, Err(StackError::Invalid(_))), "{again:?}");
}

// --- received / rport (moved from the endpoint) -------------------------------------------------

fn with_via(via: &str) -> Message {
    Message::request(Method::Message, "sip:b@127.0.0.1").with_header("Via", via)
}

#[rstest]
// RFC 3581 4: rport asked -> received and rport filled, responses to the source.
#[case(
    "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1;rport",
    "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1;rport=40000;received=127.0.0.1",
    5070,
    true
)]
// RFC 3261 18.2.1: sent-by host differs from the source -> received only.
#[case(
    "SIP/2.0/UDP client.test:5080;branch=z9hG4bK2",
    "SIP/2.0/UDP client.test:5080;branch=z9hG4bK2;received=127.0.0.1",
    5080,
    false
)]
// Same host, no rport: untouched; default port 5060.
#[case(
    "SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK3",
    "SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK3",
    5060,
    false
)]
fn received_and_rport(
    #[case] via: &str,
    #[case] expected: &str,
    #[case] port: u16,
    #[case] rport: bool,
) {
    let mut m = with_via(via);
    let source: SocketAddr = "127.0.0.1:40000".parse().expect("addr");
    let via = m.top_via().ok();
    let (fallback, r) = mark_received(&mut m, via, source);
    assert_eq!(m.header("Via"), Some(expected));
    assert_eq!(fallback, SocketAddr::new(source.ip(), port));
    assert_eq!(r, rport);
}
