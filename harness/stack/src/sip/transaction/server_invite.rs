//! The INVITE server transaction (RFC 3261 17.2.1, with the Accepted state of RFC 6026 7.1 and
//! the UAS core's 2xx retransmission of RFC 3261 13.3.1.4).

use super::{Reliability, ServerEvent, TimerKind, TimerTable, Timers};
use crate::sip::response::response_to;
use cpmconf_codec::sip::{Message, StatusCode};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// States of Figure 7 plus RFC 6026 Accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting for the TU's response (provisionals may have been sent).
    Proceeding,
    /// A non-2xx final was sent; retransmitting it (Timer G) until ACK or Timer H.
    Completed,
    /// The ACK came; absorbing ACK retransmissions (Timer I).
    Confirmed,
    /// A 2xx was sent; absorbing INVITE retransmissions (Timer L) and retransmitting the 2xx
    /// until its ACK is seen (13.3.1.4).
    Accepted,
    /// Done.
    Terminated,
}

/// An INVITE server transaction. Poll order: `poll_transmit`, `poll_event`, `poll_timeout`.
#[derive(Debug)]
pub struct ServerInvite {
    request: Message,
    state: State,
    reliability: Reliability,
    timers: Timers,
    table: TimerTable,
    g_interval: Duration,
    last_response: Option<Message>,
    transmit: VecDeque<Message>,
    events: VecDeque<ServerEvent>,
}

impl ServerInvite {
    /// Creates the transaction for a received INVITE; the 200ms Trying timer starts (17.2.1).
    pub fn new(request: Message, reliability: Reliability, timers: Timers, now: Instant) -> Self {
        Self::with_trying(request, reliability, timers, now, Some(timers.trying()))
    }

    /// Like [`ServerInvite::new`], choosing when the transaction sends 100 Trying by itself:
    /// `Some(ZERO)` at once (deterministic traces), `Some(d)` if the TU has not answered after
    /// `d`, `None` never (the TU takes on 17.2.1's duty, or a test omits it on purpose).
    pub fn with_trying(
        request: Message,
        reliability: Reliability,
        timers: Timers,
        now: Instant,
        trying: Option<Duration>,
    ) -> Self {
        let mut table = TimerTable::default();
        let mut transmit = VecDeque::new();
        let mut last_response = None;
        match trying {
            Some(d) if d.is_zero() => {
                let t = response_to(&request, StatusCode::TRYING, None);
                transmit.push_back(t.clone());
                last_response = Some(t);
            }
            Some(d) => table.set(TimerKind::Trying, now + d),
            None => {}
        }
        ServerInvite {
            request,
            state: State::Proceeding,
            reliability,
            timers,
            table,
            g_interval: timers.t1,
            last_response,
            transmit,
            events: VecDeque::new(),
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The INVITE.
    pub fn request(&self) -> &Message {
        &self.request
    }

    /// `true` while no final response has been sent (a CANCEL may still end it with 487).
    pub fn is_proceeding(&self) -> bool {
        self.state == State::Proceeding
    }

    /// The To tag of the last response sent (so a 487 after a CANCEL keeps it).
    pub fn last_response_to_tag(&self) -> Option<String> {
        self.last_response.as_ref()?.to_tag()
    }

    /// The TU sends a response through this transaction. Returns `false` (and sends nothing) when
    /// the state no longer allows one.
    pub fn send_response(&mut self, resp: Message, now: Instant) -> bool {
        let Some(code) = resp.status() else {
            return false;
        };
        if self.state != State::Proceeding {
            return false;
        }
        self.table.stop(TimerKind::Trying);
        self.transmit.push_back(resp.clone());
        self.last_response = Some(resp);
        if code.is_provisional() {
            return true;
        }
        let unreliable = !self.reliability.is_reliable();
        if code.is_success() {
            // RFC 6026 7.1: 2xx -> Accepted (Timer L); 13.3.1.4: retransmit the 2xx on UDP.
            self.state = State::Accepted;
            self.table.set(TimerKind::L, now + self.timers.timeout());
        } else {
            // 17.2.1: 300-699 -> Completed; Timer G on UDP, Timer H always.
            self.state = State::Completed;
            self.table.set(TimerKind::H, now + self.timers.timeout());
        }
        if unreliable {
            self.g_interval = self.timers.t1;
            self.table.set(TimerKind::G, now + self.g_interval);
        }
        true
    }

    /// A retransmission of the INVITE arrived.
    pub fn handle_request(&mut self, now: Instant) {
        let _ = now;
        match self.state {
            // 17.2.1: retransmit the most recent provisional (or the final in Completed).
            State::Proceeding | State::Completed => {
                if let Some(r) = &self.last_response {
                    self.transmit.push_back(r.clone());
                }
            }
            // RFC 6026 7.1: absorbed in Accepted.
            State::Accepted | State::Confirmed | State::Terminated => {}
        }
    }

    /// An ACK with this transaction's branch (non-2xx) arrived (17.2.1).
    pub fn handle_ack(&mut self, now: Instant) {
        if self.state == State::Completed {
            self.state = State::Confirmed;
            self.table.stop_all();
            let i = if self.reliability.is_reliable() {
                Duration::ZERO
            } else {
                self.timers.t4
            };
            self.table.set(TimerKind::I, now + i);
        }
    }

    /// The ACK of a 2xx (a transaction of its own) was seen by the dialog layer: stop
    /// retransmitting the 2xx (13.3.1.4).
    pub fn handle_ack_2xx(&mut self) {
        if self.state == State::Accepted {
            self.table.stop(TimerKind::G);
        }
    }

    /// The TU's 2xx retransmission (RFC 3261 13.3.1.4: the UAS core sends the 2xx again while
    /// no ACK arrives), asked for now: the 2xx is transmitted once more. `false` (nothing sent)
    /// unless a 2xx was sent and the transaction is still Accepted (RFC 6026 7.1, Timer L).
    pub fn retransmit_2xx(&mut self) -> bool {
        let two_xx = self
            .last_response
            .as_ref()
            .and_then(Message::status)
            .is_some_and(|c| c.is_success());
        if self.state != State::Accepted || !two_xx {
            return false;
        }
        if let Some(r) = &self.last_response {
            self.transmit.push_back(r.clone());
        }
        true
    }

    /// Call when `poll_timeout` has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(kind) = self.table.pop_expired(now) {
            match (kind, self.state) {
                (TimerKind::Trying, State::Proceeding) => {
                    // 17.2.1: the TU did not answer within 200ms: send 100 Trying.
                    let trying = response_to(&self.request, StatusCode::TRYING, None);
                    self.transmit.push_back(trying.clone());
                    self.last_response = Some(trying);
                }
                (TimerKind::G, State::Completed | State::Accepted) => {
                    if let Some(r) = &self.last_response {
                        self.transmit.push_back(r.clone());
                    }
                    self.g_interval = (self.g_interval * 2).min(self.timers.t2);
                    self.table.set(TimerKind::G, now + self.g_interval);
                }
                (TimerKind::H, State::Completed) => {
                    self.terminate();
                    self.events.push_back(ServerEvent::Timeout(TimerKind::H));
                }
                (TimerKind::I, State::Confirmed) | (TimerKind::L, State::Accepted) => {
                    self.terminate()
                }
                _ => {}
            }
        }
    }

    /// The transport failed to send a response (17.2.4).
    pub fn handle_transport_error(&mut self) {
        if self.state != State::Terminated {
            self.events.push_back(ServerEvent::TransportError);
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
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    /// When `handle_timeout` is due.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.table.next()
    }

    /// `true` once terminated.
    pub fn is_terminated(&self) -> bool {
        self.state == State::Terminated
    }
}
