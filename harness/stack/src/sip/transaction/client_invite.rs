//! The INVITE client transaction (RFC 3261 17.1.1, with the Accepted state of RFC 6026 7.2).

use super::{ClientEvent, Reliability, TimerKind, TimerTable, Timers};
use cpmconf_codec::sip::{Message, Method};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// States of Figure 5 plus RFC 6026 Accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Request sent, nothing heard.
    Calling,
    /// A provisional response arrived.
    Proceeding,
    /// A non-2xx final arrived and was ACKed; absorbing retransmissions (Timer D).
    Completed,
    /// A 2xx arrived; later 2xx go to the TU which ACKs them (RFC 6026, Timer M).
    Accepted,
    /// Done.
    Terminated,
}

/// An INVITE client transaction. Poll order: `poll_transmit`, `poll_event`, `poll_timeout`.
#[derive(Debug)]
pub struct ClientInvite {
    request: Message,
    state: State,
    reliability: Reliability,
    timers: Timers,
    table: TimerTable,
    a_interval: Duration,
    ack: Option<Message>,
    transmit: VecDeque<Message>,
    events: VecDeque<ClientEvent>,
}

impl ClientInvite {
    /// Starts the transaction: the request is queued for transmission, Timer A (UDP) and Timer B
    /// start (RFC 3261 17.1.1.2).
    pub fn new(request: Message, reliability: Reliability, timers: Timers, now: Instant) -> Self {
        let mut table = TimerTable::default();
        if !reliability.is_reliable() {
            table.set(TimerKind::A, now + timers.t1);
        }
        table.set(TimerKind::B, now + timers.timeout());
        let mut transmit = VecDeque::new();
        transmit.push_back(request.clone());
        ClientInvite {
            request,
            state: State::Calling,
            reliability,
            timers,
            table,
            a_interval: timers.t1,
            ack: None,
            transmit,
            events: VecDeque::new(),
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The request this transaction sends.
    pub fn request(&self) -> &Message {
        &self.request
    }

    /// A response matched to this transaction arrived.
    pub fn handle_response(&mut self, resp: Message, now: Instant) {
        let Some(code) = resp.status() else { return };
        match self.state {
            State::Calling | State::Proceeding => {
                if code.is_provisional() {
                    // 17.1.1.2: a provisional stops retransmission; Timer B only guards Calling.
                    self.state = State::Proceeding;
                    self.table.stop(TimerKind::A);
                    self.table.stop(TimerKind::B);
                    self.events.push_back(ClientEvent::Response(resp));
                } else if code.is_success() {
                    // RFC 6026 7.2: 2xx -> Accepted; the TU ACKs it.
                    self.state = State::Accepted;
                    self.table.stop_all();
                    self.table.set(TimerKind::M, now + self.timers.timeout());
                    self.events.push_back(ClientEvent::Response(resp));
                } else {
                    // 17.1.1.2: 300-699 -> Completed, ACK generated here, Timer D.
                    self.state = State::Completed;
                    self.table.stop_all();
                    let ack = ack_for_non_2xx(&self.request, &resp);
                    self.transmit.push_back(ack.clone());
                    self.ack = Some(ack);
                    let d = if self.reliability.is_reliable() {
                        Duration::ZERO
                    } else {
                        self.timers.timeout()
                    };
                    self.table.set(TimerKind::D, now + d);
                    self.events.push_back(ClientEvent::Response(resp));
                }
            }
            State::Completed => {
                // 17.1.1.2: a retransmitted final response gets the ACK again, not the TU.
                if !code.is_provisional() {
                    if let Some(ack) = &self.ack {
                        self.transmit.push_back(ack.clone());
                    }
                }
            }
            State::Accepted => {
                // RFC 6026 7.2: retransmitted 2xx go to the TU (it re-sends the ACK).
                if code.is_success() {
                    self.events.push_back(ClientEvent::Response(resp));
                }
            }
            State::Terminated => {}
        }
    }

    /// Call when `poll_timeout` has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(kind) = self.table.pop_expired(now) {
            match (kind, self.state) {
                (TimerKind::A, State::Calling) => {
                    // 17.1.1.2: retransmit, double the interval.
                    self.transmit.push_back(self.request.clone());
                    self.a_interval *= 2;
                    self.table.set(TimerKind::A, now + self.a_interval);
                }
                (TimerKind::B, State::Calling) => {
                    self.terminate();
                    self.events.push_back(ClientEvent::Timeout(TimerKind::B));
                }
                (TimerKind::D, State::Completed) | (TimerKind::M, State::Accepted) => {
                    self.terminate()
                }
                _ => {}
            }
        }
    }

    /// The transport failed to send (17.1.4): the TU learns of it and the transaction ends.
    pub fn handle_transport_error(&mut self) {
        if matches!(self.state, State::Calling | State::Proceeding) {
            self.events.push_back(ClientEvent::TransportError);
        }
        self.terminate();
    }

    fn terminate(&mut self) {
        self.state = State::Terminated;
        self.table.stop_all();
    }

    /// The next message to transmit.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Message> {
        self.transmit.pop_front()
    }

    /// The next event for the TU.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// When `handle_timeout` is due.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.table.next()
    }

    /// `true` once terminated (the owner may drop it).
    pub fn is_terminated(&self) -> bool {
        self.state == State::Terminated
    }
}

/// RFC 3261 17.1.1.3: the ACK for a non-2xx final response: Request-URI, Call-ID, From,
/// CSeq number and Route of the request; To of the response; only the request's top Via.
pub fn ack_for_non_2xx(request: &Message, response: &Message) -> Message {
    let uri = request.request_uri().unwrap_or_default();
    let mut ack = Message::request(Method::Ack, uri);
    if let Some(via) = request.top_via_value() {
        ack.headers.push("Via", via);
    }
    for name in ["Max-Forwards", "From"] {
        if let Some(v) = request.header(name) {
            ack.headers.push(name, v);
        }
    }
    if let Some(to) = response.header("To") {
        ack.headers.push("To", to);
    }
    if let Some(cid) = request.call_id() {
        ack.headers.push("Call-ID", cid);
    }
    ack.headers.push(
        "CSeq",
        format!("{} ACK", request.cseq_number().unwrap_or_default()),
    );
    for route in request.headers.get_all("Route") {
        ack.headers.push("Route", route.value);
    }
    // The ACK comes from the same user agent as the INVITE: keep its product tokens (the CPM
    // release in User-Agent is required on every request, CR clause 7 / Appendix D).
    if let Some(ua) = request.header("User-Agent") {
        ack.headers.push("User-Agent", ua);
    }
    ack.headers.push("Content-Length", "0");
    ack
}
