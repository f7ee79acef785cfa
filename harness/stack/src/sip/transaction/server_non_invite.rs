//! The non-INVITE server transaction (RFC 3261 17.2.2).

use super::{Reliability, ServerEvent, TimerKind, TimerTable, Timers};
use cpmconf_codec::sip::Message;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// States of Figure 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting for the TU; retransmissions are absorbed silently.
    Trying,
    /// A provisional was sent.
    Proceeding,
    /// A final was sent; retransmissions get it again until Timer J.
    Completed,
    /// Done.
    Terminated,
}

/// A non-INVITE server transaction. Poll order: `poll_transmit`, `poll_event`, `poll_timeout`.
#[derive(Debug)]
pub struct ServerNonInvite {
    state: State,
    reliability: Reliability,
    timers: Timers,
    table: TimerTable,
    last_response: Option<Message>,
    transmit: VecDeque<Message>,
    events: VecDeque<ServerEvent>,
}

impl ServerNonInvite {
    /// Creates the transaction for a received request. It keeps no copy of the request: the
    /// TU has it, and nothing here needs it (responses come whole from the TU).
    pub fn new(reliability: Reliability, timers: Timers, now: Instant) -> Self {
        let _ = now;
        ServerNonInvite {
            state: State::Trying,
            reliability,
            timers,
            table: TimerTable::default(),
            last_response: None,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The TU sends a response. Returns `false` when the state no longer allows one.
    pub fn send_response(&mut self, resp: Message, now: Instant) -> bool {
        let Some(code) = resp.status() else {
            return false;
        };
        if !matches!(self.state, State::Trying | State::Proceeding) {
            return false;
        }
        self.transmit.push_back(resp.clone());
        self.last_response = Some(resp);
        if code.is_provisional() {
            self.state = State::Proceeding;
        } else {
            // 17.2.2: final -> Completed, Timer J (64*T1 on UDP, zero on TCP).
            self.state = State::Completed;
            let j = if self.reliability.is_reliable() {
                Duration::ZERO
            } else {
                self.timers.timeout()
            };
            self.table.set(TimerKind::J, now + j);
        }
        true
    }

    /// A retransmission of the request arrived (17.2.2).
    pub fn handle_request(&mut self, now: Instant) {
        let _ = now;
        match self.state {
            State::Trying | State::Terminated => {}
            State::Proceeding | State::Completed => {
                if let Some(r) = &self.last_response {
                    self.transmit.push_back(r.clone());
                }
            }
        }
    }

    /// Call when `poll_timeout` has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(kind) = self.table.pop_expired(now) {
            if (kind, self.state) == (TimerKind::J, State::Completed) {
                self.terminate();
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

    /// What absorbing retransmissions still needs once the transaction is Completed with
    /// nothing left to send or tell: the final response's bytes and when Timer J ends it
    /// (17.2.2: "any retransmissions of the request received while in the Completed state
    /// MUST cause the server to pass the final response to the transport layer"). `None` in
    /// any other state. The caller may then drop the transaction (and its request) and keep
    /// only this, so a busy server holds a few hundred bytes per finished transaction for
    /// 64*T1 instead of two whole messages.
    #[must_use]
    pub fn compact(&self) -> Option<Completed> {
        if self.state != State::Completed || !self.transmit.is_empty() || !self.events.is_empty() {
            return None;
        }
        Some(Completed {
            response: self.last_response.as_ref()?.to_bytes().into_boxed_slice(),
            until: self.table.next()?,
        })
    }
}

/// A Completed non-INVITE server transaction reduced to what absorbing retransmissions needs
/// ([`ServerNonInvite::compact`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed {
    /// The final response, as sent: sent again for each retransmitted request.
    pub response: Box<[u8]>,
    /// Timer J: when the transaction terminates.
    pub until: Instant,
}
