//! The non-INVITE client transaction (RFC 3261 17.1.2).

use super::{ClientEvent, Reliability, TimerKind, TimerTable, Timers};
use cpmconf_codec::sip::Message;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// States of Figure 6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Request sent, nothing heard.
    Trying,
    /// A provisional response arrived.
    Proceeding,
    /// A final response arrived; absorbing retransmissions (Timer K).
    Completed,
    /// Done.
    Terminated,
}

/// A non-INVITE client transaction. Poll order: `poll_transmit`, `poll_event`, `poll_timeout`.
#[derive(Debug)]
pub struct ClientNonInvite {
    request: Message,
    state: State,
    reliability: Reliability,
    timers: Timers,
    table: TimerTable,
    e_interval: Duration,
    transmit: VecDeque<Message>,
    events: VecDeque<ClientEvent>,
}

impl ClientNonInvite {
    /// Starts the transaction: the request is queued, Timer E (UDP) and Timer F start (17.1.2.2).
    pub fn new(request: Message, reliability: Reliability, timers: Timers, now: Instant) -> Self {
        let mut table = TimerTable::default();
        if !reliability.is_reliable() {
            table.set(TimerKind::E, now + timers.t1);
        }
        table.set(TimerKind::F, now + timers.timeout());
        let mut transmit = VecDeque::new();
        transmit.push_back(request.clone());
        ClientNonInvite {
            request,
            state: State::Trying,
            reliability,
            timers,
            table,
            e_interval: timers.t1,
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
            State::Trying | State::Proceeding => {
                if code.is_provisional() {
                    self.state = State::Proceeding;
                    self.events.push_back(ClientEvent::Response(resp));
                } else {
                    // 17.1.2.2: final -> Completed, Timer K (T4 on UDP, zero on TCP).
                    self.state = State::Completed;
                    self.table.stop_all();
                    let k = if self.reliability.is_reliable() {
                        Duration::ZERO
                    } else {
                        self.timers.t4
                    };
                    self.table.set(TimerKind::K, now + k);
                    self.events.push_back(ClientEvent::Response(resp));
                }
            }
            State::Completed | State::Terminated => {}
        }
    }

    /// Call when `poll_timeout` has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(kind) = self.table.pop_expired(now) {
            match (kind, self.state) {
                (TimerKind::E, State::Trying) => {
                    // 17.1.2.2: retransmit, interval MIN(2*previous, T2).
                    self.transmit.push_back(self.request.clone());
                    self.e_interval = (self.e_interval * 2).min(self.timers.t2);
                    self.table.set(TimerKind::E, now + self.e_interval);
                }
                (TimerKind::E, State::Proceeding) => {
                    // 17.1.2.2: in Proceeding, retransmit every T2.
                    self.transmit.push_back(self.request.clone());
                    self.table.set(TimerKind::E, now + self.timers.t2);
                }
                (TimerKind::F, State::Trying | State::Proceeding) => {
                    self.terminate();
                    self.events.push_back(ClientEvent::Timeout(TimerKind::F));
                }
                (TimerKind::K, State::Completed) => self.terminate(),
                _ => {}
            }
        }
    }

    /// The transport failed to send (17.1.4).
    pub fn handle_transport_error(&mut self) {
        if matches!(self.state, State::Trying | State::Proceeding) {
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

    /// `true` once terminated.
    pub fn is_terminated(&self) -> bool {
        self.state == State::Terminated
    }
}
