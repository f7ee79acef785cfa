//! The SIP endpoint's transaction routing, sans-IO: which transaction a received message belongs to, CANCEL and ACK handling, timers, and the bounded memory of finished transactions.
//!
//! Modelled on quinn-proto's `Endpoint`: the [`Router`] owns every client and server transaction
//! of an endpoint and decides everything about them, but opens no socket, spawns no task and
//! never reads the clock. Inputs are `handle_*` calls and commands ([`Router::start_client`],
//! [`Router::respond`], [`Router::keep_on_cancel`], [`Router::refuse`]), each carrying `now`.
//! After each input, poll in this order: [`Router::poll_transmit`] until `None` (bytes to put on
//! the wire, and where; a send that fails goes back in through [`Router::handle_send_error`]),
//! [`Router::poll_event`] until `None` (what the TU and the harness must learn), then
//! [`Router::poll_timeout`] (when to call [`Router::handle_timeout`] next).
//! [`SipEndpoint`](super::SipEndpoint) drives it over tokio sockets and channels; the unit tests
//! drive it with a virtual clock.

use super::error::{StackError, StackEvent};
use super::fields;
use super::response::response_to;
use super::transaction::{
    server_invite, ClientEvent, ClientInvite, ClientNonInvite, Reliability, ServerInvite,
    ServerNonInvite, Timers, TransactionKey,
};
use super::Transport;
use crate::ids::IdGen;
use cpmconf_codec::sip::{Message, Method, StatusCode, Via};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// Settings of a [`Router`] (the transaction part of an
/// [`EndpointConfig`](super::EndpointConfig), whose fields of the same names document them).
#[derive(Debug, Clone)]
pub struct RouterConfig {
    /// Transaction timers.
    pub timers: Timers,
    /// When an INVITE server transaction sends 100 Trying by itself.
    pub auto_trying: Option<Duration>,
    /// `Server` of the responses the router makes itself (200 to CANCEL, 487, 481).
    pub server: Option<String>,
    /// Seed of the tags of the responses the router makes itself.
    pub seed: u64,
    /// At most this many finished non-INVITE server transactions kept for Timer J.
    pub completed_cap: usize,
}

/// A server transaction's identity (RFC 3261 17.2.3): the branch and method of
/// [`TransactionKey`] plus the top Via's sent-by, so two clients that happen to pick the same
/// branch do not share a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerKey {
    /// Top Via branch and method (an ACK's is INVITE's: 17.2.3).
    pub key: TransactionKey,
    /// The top Via's sent-by as `host` or `host:port`, host lower-cased (hosts compare
    /// case-insensitively).
    pub sent_by: String,
}

impl ServerKey {
    /// The key of a received request whose top Via is `via`; `None` without a usable branch.
    pub fn of(req: &Message, via: &Via) -> Option<ServerKey> {
        let key = TransactionKey::for_server_request_branch(req, via.branch()?)?;
        let host = via.host.to_ascii_lowercase();
        let sent_by = match via.port {
            Some(p) => format!("{host}:{p}"),
            None => host,
        };
        Some(ServerKey { key, sent_by })
    }

    /// The same transaction's key for another method (a CANCEL's INVITE, 9.2).
    fn with_method(&self, method: Method) -> ServerKey {
        ServerKey {
            key: TransactionKey {
                branch: self.key.branch.clone(),
                method,
            },
            sent_by: self.sent_by.clone(),
        }
    }
}

/// The transaction a [`Transmit`] came from, to hand a failed send back to
/// ([`Router::handle_send_error`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A client transaction (this side's request and its retransmissions).
    Client(TransactionKey),
    /// A server transaction (its responses).
    Server(ServerKey),
}

/// Bytes to send, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The message, encoded.
    pub bytes: Vec<u8>,
    /// Where to: the request's destination, or the address a response goes to.
    pub dest: SocketAddr,
    /// How.
    pub transport: Transport,
    /// RFC 3261 18.2.2: a response over TCP goes on the request's connection to `dest` while it
    /// is open; once it has closed, to this address (`received` and the sent-by port). Only the
    /// transport knows which connections are open, so the driver picks.
    pub fallback: Option<SocketAddr>,
    /// The transaction that sent it; `None` for what is sent outside one (a stateless 400, a
    /// final response replayed from a finished transaction's compact memory).
    pub origin: Option<Origin>,
}

/// What the router reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A new request for the TU (retransmissions are absorbed and never reported).
    Request {
        /// The request, its top Via with `received`/`rport` filled in (RFC 3581).
        request: Message,
        /// The top Via as the sender wrote it, when filling in changed it (an observer shows
        /// what was on the wire).
        sent_via: Option<String>,
        /// Where it came from.
        source: SocketAddr,
        /// How it came.
        transport: Transport,
        /// Its server transaction; `None` for an ACK of a 2xx, which has none (17.1.1.3).
        server: Option<ServerKey>,
    },
    /// An event of a client transaction (a response, Timer B/F, a transport error).
    Client {
        /// The transaction.
        key: TransactionKey,
        /// What happened.
        event: ClientEvent,
    },
    /// A client transaction ended and was forgotten: no more [`Event::Client`] for it.
    ClientEnded(TransactionKey),
    /// A CANCEL matched a pending INVITE (RFC 3261 9.2); it was answered 200, and the INVITE 487
    /// unless [`Router::keep_on_cancel`] was asked for.
    Cancelled {
        /// The INVITE's server transaction.
        invite: ServerKey,
        /// The CANCEL as it arrived.
        cancel: Message,
    },
    /// A server transaction ended (terminated, or finished and kept only compactly for
    /// Timer J): the TU can no longer respond in it and no CANCEL will be reported for it.
    ServerEnded(ServerKey),
    /// Something outside any transaction: an unusable request, a stray response.
    Stack(StackEvent),
}

/// What a router holds for its transactions ([`Router::retained`]): a finished transaction
/// costs only its compact form for Timer J, an unfinished one its whole state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retained {
    /// Client transactions in progress (whole state machines).
    pub clients: usize,
    /// Server transactions in any state but a Completed non-INVITE one (whole state machines).
    pub servers: usize,
    /// Completed non-INVITE server transactions kept, compactly, to absorb retransmissions
    /// until Timer J (RFC 3261 17.2.2).
    pub completed: usize,
    /// Bytes of the final responses those keep.
    pub completed_bytes: usize,
}

enum ClientMachine {
    Invite(ClientInvite),
    NonInvite(ClientNonInvite),
}

struct ClientEntry {
    machine: ClientMachine,
    dest: SocketAddr,
    transport: Transport,
}

impl ClientEntry {
    fn poll_transmit(&mut self) -> Option<Message> {
        match &mut self.machine {
            ClientMachine::Invite(t) => t.poll_transmit(),
            ClientMachine::NonInvite(t) => t.poll_transmit(),
        }
    }
    fn poll_event(&mut self) -> Option<ClientEvent> {
        match &mut self.machine {
            ClientMachine::Invite(t) => t.poll_event(),
            ClientMachine::NonInvite(t) => t.poll_event(),
        }
    }
    fn poll_timeout(&self) -> Option<Instant> {
        match &self.machine {
            ClientMachine::Invite(t) => t.poll_timeout(),
            ClientMachine::NonInvite(t) => t.poll_timeout(),
        }
    }
    fn handle_timeout(&mut self, now: Instant) {
        match &mut self.machine {
            ClientMachine::Invite(t) => t.handle_timeout(now),
            ClientMachine::NonInvite(t) => t.handle_timeout(now),
        }
    }
    fn handle_response(&mut self, m: Message, now: Instant) {
        match &mut self.machine {
            ClientMachine::Invite(t) => t.handle_response(m, now),
            ClientMachine::NonInvite(t) => t.handle_response(m, now),
        }
    }
    fn handle_transport_error(&mut self) {
        match &mut self.machine {
            ClientMachine::Invite(t) => t.handle_transport_error(),
            ClientMachine::NonInvite(t) => t.handle_transport_error(),
        }
    }
    fn is_terminated(&self) -> bool {
        match &self.machine {
            ClientMachine::Invite(t) => t.is_terminated(),
            ClientMachine::NonInvite(t) => t.is_terminated(),
        }
    }
}

// The non-INVITE transaction keeps no copy of its request, the INVITE one does (for its 487):
// the entries live in one map, and boxing would cost an allocation per INVITE for no gain.
#[allow(clippy::large_enum_variant)]
enum ServerMachine {
    Invite(ServerInvite),
    NonInvite(ServerNonInvite),
}

struct ServerEntry {
    machine: ServerMachine,
    route: ResponseRoute,
    /// [`Router::keep_on_cancel`]: a CANCEL gets 200 and the INVITE no 487.
    keep_on_cancel: bool,
}

impl ServerEntry {
    fn poll_transmit(&mut self) -> Option<Message> {
        match &mut self.machine {
            ServerMachine::Invite(t) => t.poll_transmit(),
            ServerMachine::NonInvite(t) => t.poll_transmit(),
        }
    }
    fn drain_events(&mut self) {
        match &mut self.machine {
            ServerMachine::Invite(t) => while t.poll_event().is_some() {},
            ServerMachine::NonInvite(t) => while t.poll_event().is_some() {},
        }
    }
    fn poll_timeout(&self) -> Option<Instant> {
        match &self.machine {
            ServerMachine::Invite(t) => t.poll_timeout(),
            ServerMachine::NonInvite(t) => t.poll_timeout(),
        }
    }
    fn handle_timeout(&mut self, now: Instant) {
        match &mut self.machine {
            ServerMachine::Invite(t) => t.handle_timeout(now),
            ServerMachine::NonInvite(t) => t.handle_timeout(now),
        }
    }
    fn handle_request(&mut self, now: Instant) {
        match &mut self.machine {
            ServerMachine::Invite(t) => t.handle_request(now),
            ServerMachine::NonInvite(t) => t.handle_request(now),
        }
    }
    fn send_response(&mut self, m: Message, now: Instant) -> bool {
        match &mut self.machine {
            ServerMachine::Invite(t) => t.send_response(m, now),
            ServerMachine::NonInvite(t) => t.send_response(m, now),
        }
    }
    fn handle_transport_error(&mut self) {
        match &mut self.machine {
            ServerMachine::Invite(t) => t.handle_transport_error(),
            ServerMachine::NonInvite(t) => t.handle_transport_error(),
        }
    }
    fn is_terminated(&self) -> bool {
        match &self.machine {
            ServerMachine::Invite(t) => t.is_terminated(),
            ServerMachine::NonInvite(t) => t.is_terminated(),
        }
    }
}

/// Where the responses of a server transaction go (RFC 3261 18.2.2, RFC 3581 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ResponseRoute {
    source: SocketAddr,
    /// `received` and the sent-by port: where responses go when no connection to `source` is
    /// open (TCP) or when the Via carried no rport (UDP).
    fallback: SocketAddr,
    rport: bool,
    transport: Transport,
}

impl ResponseRoute {
    /// RFC 3261 18.2.2: over TCP on the request's connection if still open (the driver knows),
    /// else to `received` and the sent-by port; over UDP to the source when rport was asked
    /// (RFC 3581 4), otherwise to `received` and the sent-by port.
    fn transmit(&self, bytes: Vec<u8>, origin: Option<Origin>) -> Transmit {
        let (dest, fallback) = match self.transport {
            Transport::Tcp => (self.source, Some(self.fallback)),
            Transport::Udp if self.rport => (self.source, None),
            Transport::Udp => (self.fallback, None),
        };
        Transmit {
            bytes,
            dest,
            transport: self.transport,
            fallback,
            origin,
        }
    }
}

/// A finished non-INVITE server transaction as kept for Timer J.
struct CompletedEntry {
    response: Box<[u8]>,
    route: ResponseRoute,
}

/// Every transaction of one endpoint and the routing between them (see the module doc for the
/// poll order).
pub struct Router {
    timers: Timers,
    auto_trying: Option<Duration>,
    /// `Server` of the responses the router makes itself.
    server: Option<String>,
    /// Tags of the responses the router makes itself.
    ids: IdGen,
    clients: HashMap<TransactionKey, ClientEntry>,
    servers: HashMap<ServerKey, ServerEntry>,
    /// INVITE server transactions by (Call-ID, CSeq number), so an ACK of a 2xx (which has a
    /// branch of its own, RFC 3261 17.1.1.3) finds its INVITE without a scan of every
    /// transaction.
    invites: HashMap<(String, u32), ServerKey>,
    /// Completed non-INVITE server transactions reduced to their final response's bytes and
    /// where they go, until Timer J ([`ServerNonInvite::compact`]).
    completed: HashMap<ServerKey, CompletedEntry>,
    /// Their Timer J deadlines, earliest first (one duration for all, so arrival order).
    completed_order: VecDeque<(Instant, ServerKey)>,
    completed_bytes: usize,
    completed_cap: usize,
    /// Transactions that took an input since the last settle: only these are polled, so the
    /// cost of an input does not grow with the number of live transactions (a server keeps a
    /// finished UDP transaction for timer J, 64*T1, so there can be many).
    dirty_clients: Dirty<TransactionKey>,
    dirty_servers: Dirty<ServerKey>,
    /// Deadlines of transaction timers, earliest first; an entry whose transaction has moved on
    /// is skipped when it comes due (each change of a transaction pushes its new deadline).
    timer_heap: BinaryHeap<Reverse<(Instant, u64)>>,
    timer_keys: HashMap<u64, Origin>,
    next_timer: u64,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("retained", &self.retained())
            .finish_non_exhaustive()
    }
}

impl Router {
    /// A router with no transactions.
    pub fn new(config: RouterConfig) -> Router {
        Router {
            timers: config.timers,
            auto_trying: config.auto_trying,
            server: config.server,
            ids: IdGen::derived(config.seed, "endpoint-tags"),
            clients: HashMap::new(),
            servers: HashMap::new(),
            invites: HashMap::new(),
            completed: HashMap::new(),
            completed_order: VecDeque::new(),
            completed_bytes: 0,
            completed_cap: config.completed_cap,
            dirty_clients: Dirty::default(),
            dirty_servers: Dirty::default(),
            timer_heap: BinaryHeap::new(),
            timer_keys: HashMap::new(),
            next_timer: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The next bytes to send.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event to report.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Router::handle_timeout`] is due next (it may find nothing to do: a transaction
    /// that moved on leaves its old deadline behind).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let heap = self.timer_heap.peek().map(|Reverse((t, _))| *t);
        let j = self.completed_order.front().map(|(t, _)| *t);
        match (heap, j) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// What the router holds now (the bound on a busy server's memory).
    pub fn retained(&self) -> Retained {
        Retained {
            clients: self.clients.len(),
            servers: self.servers.len(),
            completed: self.completed.len(),
            completed_bytes: self.completed_bytes,
        }
    }

    /// Starts a client transaction for `req` (its top Via must carry a branch; not ACK) to
    /// `dest`; its first transmission is queued at once.
    pub fn start_client(
        &mut self,
        req: Message,
        dest: SocketAddr,
        transport: Transport,
        now: Instant,
    ) -> Result<TransactionKey, StackError> {
        let Some(key) = TransactionKey::for_client_request(&req) else {
            return Err(StackError::Invalid("request without branch".into()));
        };
        if self.clients.contains_key(&key) {
            return Err(StackError::Invalid(format!(
                "a client transaction with branch {} already exists",
                key.branch
            )));
        }
        let rel = reliability(transport);
        let machine = if req.method() == Some(&Method::Invite) {
            ClientMachine::Invite(ClientInvite::new(req, rel, self.timers, now))
        } else {
            ClientMachine::NonInvite(ClientNonInvite::new(req, rel, self.timers, now))
        };
        let entry = ClientEntry {
            machine,
            dest,
            transport,
        };
        self.clients.insert(key.clone(), entry);
        self.dirty_clients.insert(key.clone());
        self.settle();
        Ok(key)
    }

    /// The TU sends `resp` in the server transaction `key`.
    pub fn respond(
        &mut self,
        key: &ServerKey,
        resp: Message,
        now: Instant,
    ) -> Result<(), StackError> {
        let Some(entry) = self.servers.get_mut(key) else {
            return Err(StackError::Invalid(
                "the server transaction has ended".into(),
            ));
        };
        if !entry.send_response(resp, now) {
            return Err(StackError::Invalid(
                "the transaction state allows no further response".into(),
            ));
        }
        self.dirty_servers.insert(key.clone());
        self.settle();
        Ok(())
    }

    /// The UAS core sends the 2xx of the INVITE `key` again, as while no ACK arrives (RFC 3261
    /// 13.3.1.4): a scripted retransmission, on any transport.
    pub fn retransmit_2xx(&mut self, key: &ServerKey) -> Result<(), StackError> {
        let sent = match self.servers.get_mut(key) {
            Some(ServerEntry {
                machine: ServerMachine::Invite(inv),
                ..
            }) => inv.retransmit_2xx(),
            _ => false,
        };
        if !sent {
            return Err(StackError::Invalid(
                "no 2xx of this INVITE to send again (none sent, or its transaction has ended)"
                    .into(),
            ));
        }
        self.dirty_servers.insert(key.clone());
        self.settle();
        Ok(())
    }

    /// The TU cannot take `request` (its queue is full): answer 503 in its transaction rather
    /// than queue without bound (RFC 3261 21.5.4).
    pub fn refuse(&mut self, key: &ServerKey, request: &Message, now: Instant) {
        let resp = response_to(request, StatusCode::SERVICE_UNAVAILABLE, None);
        // A transaction that has ended or already answered needs no 503.
        let _ = self.respond(key, resp, now);
    }

    /// From now on a CANCEL of the INVITE `key` is answered 200 but the INVITE is not ended
    /// with 487 (see [`ServerTx::keep_on_cancel`](super::ServerTx::keep_on_cancel)).
    pub fn keep_on_cancel(&mut self, key: &ServerKey) -> Result<(), StackError> {
        match self.servers.get_mut(key) {
            Some(entry) => {
                entry.keep_on_cancel = true;
                Ok(())
            }
            None => Err(StackError::Invalid(
                "the server transaction has ended".into(),
            )),
        }
    }

    /// A send of the transaction `origin` failed (RFC 3261 17.1.4, 17.2.4): it ends.
    pub fn handle_send_error(&mut self, origin: &Origin) {
        match origin {
            Origin::Client(k) => {
                if let Some(e) = self.clients.get_mut(k) {
                    e.handle_transport_error();
                    self.dirty_clients.insert(k.clone());
                }
            }
            Origin::Server(k) => {
                if let Some(e) = self.servers.get_mut(k) {
                    e.handle_transport_error();
                    self.dirty_servers.insert(k.clone());
                }
            }
        }
        self.settle();
    }

    /// The TCP connection to `peer` was lost: RFC 3261 17.1.4, a transport failure ends the
    /// client transactions that used it.
    pub fn handle_connection_lost(&mut self, peer: SocketAddr) {
        let mut lost: Vec<&TransactionKey> = self
            .clients
            .iter()
            .filter(|(_, e)| e.transport == Transport::Tcp && e.dest == peer)
            .map(|(k, _)| k)
            .collect();
        // In branch order, so what is reported does not depend on the map's order.
        lost.sort_by(|a, b| (&a.branch, a.method.as_str()).cmp(&(&b.branch, b.method.as_str())));
        let lost: Vec<TransactionKey> = lost.into_iter().cloned().collect();
        for k in lost {
            if let Some(e) = self.clients.get_mut(&k) {
                e.handle_transport_error();
            }
            self.dirty_clients.insert(k);
        }
        self.settle();
    }

    /// A response arrived from `source`.
    pub fn handle_response(&mut self, msg: Message, source: SocketAddr, now: Instant) {
        // RFC 3261 17.1.3: match on top Via branch and CSeq method.
        let key = TransactionKey::for_response(&msg);
        match key.and_then(|k| self.clients.get_mut(&k).map(|e| (k, e))) {
            Some((k, entry)) => {
                entry.handle_response(msg, now);
                self.dirty_clients.insert(k);
            }
            // RFC 3261 18.1.2: a response matching no transaction goes to the core.
            None => self
                .events
                .push_back(Event::Stack(StackEvent::StrayResponse {
                    from: source,
                    response: Box::new(msg),
                })),
        }
        self.settle();
    }

    /// A request arrived from `source` over `transport`.
    pub fn handle_request(
        &mut self,
        msg: Message,
        source: SocketAddr,
        transport: Transport,
        now: Instant,
    ) {
        self.route_request(msg, source, transport, now);
        self.settle();
    }

    /// Fires every timer that is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        // Timer J of the compacted transactions: they terminate.
        while self.completed_order.front().is_some_and(|(t, _)| *t <= now) {
            if let Some((_, key)) = self.completed_order.pop_front() {
                self.forget_completed(&key);
            }
        }
        while let Some(Reverse((t, id))) = self.timer_heap.peek().copied() {
            if t > now {
                break;
            }
            self.timer_heap.pop();
            match self.timer_keys.remove(&id) {
                Some(Origin::Client(key)) => {
                    if let Some(e) = self.clients.get_mut(&key) {
                        if e.poll_timeout().is_some_and(|d| d <= now) {
                            e.handle_timeout(now);
                            self.dirty_clients.insert(key);
                        }
                    }
                }
                Some(Origin::Server(key)) => {
                    if let Some(e) = self.servers.get_mut(&key) {
                        if e.poll_timeout().is_some_and(|d| d <= now) {
                            e.handle_timeout(now);
                            self.dirty_servers.insert(key);
                        }
                    }
                }
                None => {}
            }
        }
        self.settle();
    }

    fn forget_completed(&mut self, key: &ServerKey) {
        if let Some(c) = self.completed.remove(key) {
            self.completed_bytes -= c.response.len();
        }
    }

    fn route_request(
        &mut self,
        mut msg: Message,
        source: SocketAddr,
        transport: Transport,
        now: Instant,
    ) {
        // The top Via is parsed once: for the key and for received/rport.
        let via = msg.top_via().ok();
        let key = via.as_ref().and_then(|v| ServerKey::of(&msg, v));
        let missing = if key.is_none() {
            Some("a top Via with a branch (RFC 3261 8.1.1.7)")
        } else if msg.call_id().is_none() || msg.cseq_number().is_none() {
            Some("Call-ID and CSeq (RFC 3261 8.1.1)")
        } else if msg.header("From").is_none() || msg.header("To").is_none() {
            Some("From and To (RFC 3261 8.1.1)")
        } else {
            None
        };
        if let Some(what) = missing {
            if msg.method() != Some(&Method::Ack) && msg.headers.contains("Via") {
                // RFC 3261 21.4.1: answer 400 statelessly, naming what is missing.
                let mut resp = response_to(&msg, StatusCode::BAD_REQUEST, None);
                if let cpmconf_codec::sip::StartLine::Response(s) = &mut resp.start {
                    s.reason = format!("Bad Request: missing {what}").into();
                }
                self.transmits.push_back(Transmit {
                    bytes: resp.to_bytes(),
                    dest: source,
                    transport,
                    fallback: None,
                    origin: None,
                });
            }
            self.events.push_back(Event::Stack(StackEvent::Unusable {
                from: source,
                message: Box::new(msg),
                reason: format!("missing {what}"),
            }));
            return;
        }
        let Some(key) = key else {
            return;
        };
        let before = msg.header("Via").map(str::to_owned);
        let (fallback, rport) = mark_received(&mut msg, via, source);
        let sent_via = before.filter(|b| msg.header("Via") != Some(b.as_str()));
        let route = ResponseRoute {
            source,
            fallback,
            rport,
            transport,
        };
        match msg.method().cloned().unwrap_or(Method::Ack) {
            Method::Ack => self.route_ack(key, msg, sent_via, source, transport, now),
            _ => {
                if let Some(c) = self.completed.get(&key) {
                    // 17.2.2: a retransmission in Completed gets the final response again.
                    let t = c.route.transmit(c.response.to_vec(), None);
                    self.transmits.push_back(t);
                    return;
                }
                if let Some(entry) = self.servers.get_mut(&key) {
                    // 17.2.1 / 17.2.2: a retransmission is absorbed by its transaction.
                    entry.handle_request(now);
                    self.dirty_servers.insert(key);
                    return;
                }
                let method = key.key.method.clone();
                let rel = reliability(transport);
                let machine = if method == Method::Invite {
                    if let (Some(c), Some(n)) = (msg.call_id(), msg.cseq_number()) {
                        self.invites.insert((c.to_owned(), n), key.clone());
                    }
                    ServerMachine::Invite(ServerInvite::with_trying(
                        msg.clone(),
                        rel,
                        self.timers,
                        now,
                        self.auto_trying,
                    ))
                } else {
                    ServerMachine::NonInvite(ServerNonInvite::new(rel, self.timers, now))
                };
                let mut entry = ServerEntry {
                    machine,
                    route,
                    keep_on_cancel: false,
                };
                if method == Method::Cancel {
                    // Marked first: the 200 to the CANCEL goes out before the INVITE's 487.
                    self.dirty_servers.insert(key.clone());
                    self.on_cancel(&key, &msg, &mut entry, now);
                } else {
                    self.events.push_back(Event::Request {
                        request: msg,
                        sent_via,
                        source,
                        transport,
                        server: Some(key.clone()),
                    });
                }
                self.dirty_servers.insert(key.clone());
                self.servers.insert(key, entry);
            }
        }
    }

    /// An ACK; `invite_key` is the key of the INVITE transaction with its branch and sent-by
    /// (17.2.3: an ACK matches the INVITE it acknowledges).
    fn route_ack(
        &mut self,
        invite_key: ServerKey,
        msg: Message,
        sent_via: Option<String>,
        source: SocketAddr,
        transport: Transport,
        now: Instant,
    ) {
        if let Some(ServerEntry {
            machine: ServerMachine::Invite(inv),
            ..
        }) = self.servers.get_mut(&invite_key)
        {
            if inv.state() == server_invite::State::Completed
                || inv.state() == server_invite::State::Confirmed
            {
                // 17.2.1: the ACK of a non-2xx belongs to the transaction.
                inv.handle_ack(now);
                self.dirty_servers.insert(invite_key);
                return;
            }
        }
        // An ACK of a 2xx (a transaction of its own, 17.1.1.3): stop the 2xx retransmission of
        // the matching INVITE (13.3.1.4) and pass it up.
        let invite = match (msg.call_id(), msg.cseq_number()) {
            (Some(c), Some(n)) => self.invites.get(&(c.to_owned(), n)).cloned(),
            _ => None,
        };
        if let Some(k) = invite {
            if let Some(ServerEntry {
                machine: ServerMachine::Invite(inv),
                ..
            }) = self.servers.get_mut(&k)
            {
                inv.handle_ack_2xx();
                self.dirty_servers.insert(k);
            }
        }
        self.events.push_back(Event::Request {
            request: msg,
            sent_via,
            source,
            transport,
            server: None,
        });
    }

    /// RFC 3261 9.2: a CANCEL matching a server transaction gets 200; a pending INVITE gets 487.
    /// Without a match, 481.
    fn on_cancel(
        &mut self,
        key: &ServerKey,
        cancel: &Message,
        entry: &mut ServerEntry,
        now: Instant,
    ) {
        // 9.2: the CANCEL matches the transaction 17.2.3 would match it to, but for the method.
        let invite_key = key.with_method(Method::Invite);
        let Some(inv_entry) = self.servers.get_mut(&invite_key) else {
            entry.send_response(
                response_to(cancel, StatusCode::NO_TRANSACTION, Some(&self.ids.tag())),
                now,
            );
            return;
        };
        self.dirty_servers.insert(invite_key.clone());
        let to_tag = self.ids.tag();
        let server = self.server.clone();
        let stamp = |mut m: Message| {
            if let Some(s) = &server {
                m.headers.push("Server", s.clone());
            }
            m
        };
        entry.send_response(
            stamp(response_to(cancel, StatusCode::OK, Some(&to_tag))),
            now,
        );
        let keep = inv_entry.keep_on_cancel;
        if let ServerMachine::Invite(inv) = &mut inv_entry.machine {
            if inv.is_proceeding() {
                if !keep {
                    let tag = inv.last_response_to_tag().unwrap_or(to_tag);
                    let resp = stamp(response_to(
                        inv.request(),
                        StatusCode::REQUEST_TERMINATED,
                        Some(&tag),
                    ));
                    inv.send_response(resp, now);
                }
                self.events.push_back(Event::Cancelled {
                    invite: invite_key,
                    cancel: cancel.clone(),
                });
            }
        }
    }

    fn arm(&mut self, origin: Origin, deadline: Instant) {
        let id = self.next_timer;
        self.next_timer += 1;
        self.timer_heap.push(Reverse((deadline, id)));
        self.timer_keys.insert(id, origin);
    }

    /// Queues what the transactions that took input want to send, reports their events, arms
    /// their next timer and forgets the terminated ones.
    fn settle(&mut self) {
        let dirty_clients = self.dirty_clients.take();
        for k in dirty_clients {
            let Some(e) = self.clients.get_mut(&k) else {
                continue;
            };
            while let Some(m) = e.poll_transmit() {
                self.transmits.push_back(Transmit {
                    bytes: m.to_bytes(),
                    dest: e.dest,
                    transport: e.transport,
                    fallback: None,
                    origin: Some(Origin::Client(k.clone())),
                });
            }
            while let Some(event) = e.poll_event() {
                self.events.push_back(Event::Client {
                    key: k.clone(),
                    event,
                });
            }
            if e.is_terminated() {
                self.clients.remove(&k);
                self.events.push_back(Event::ClientEnded(k));
            } else if let Some(t) = e.poll_timeout() {
                self.arm(Origin::Client(k), t);
            }
        }
        let dirty_servers = self.dirty_servers.take();
        for k in dirty_servers {
            let Some(e) = self.servers.get_mut(&k) else {
                continue;
            };
            while let Some(m) = e.poll_transmit() {
                let t = e
                    .route
                    .transmit(m.to_bytes(), Some(Origin::Server(k.clone())));
                self.transmits.push_back(t);
            }
            e.drain_events();
            if let ServerMachine::NonInvite(t) = &e.machine {
                if let Some(c) = t.compact() {
                    // Finished: keep only what absorbing retransmissions needs until Timer J.
                    let route = e.route;
                    self.servers.remove(&k);
                    self.events.push_back(Event::ServerEnded(k.clone()));
                    self.keep_completed(k, c.response, c.until, route);
                    continue;
                }
            }
            if e.is_terminated() {
                if let Some(ServerEntry {
                    machine: ServerMachine::Invite(inv),
                    ..
                }) = self.servers.remove(&k)
                {
                    let r = inv.request();
                    if let (Some(c), Some(n)) = (r.call_id(), r.cseq_number()) {
                        let index = (c.to_owned(), n);
                        if self.invites.get(&index) == Some(&k) {
                            self.invites.remove(&index);
                        }
                    }
                }
                self.events.push_back(Event::ServerEnded(k));
            } else if let Some(t) = e.poll_timeout() {
                self.arm(Origin::Server(k), t);
            }
        }
    }

    /// Keeps a finished non-INVITE transaction compactly until Timer J, within the cap (beyond
    /// it the oldest goes first).
    fn keep_completed(
        &mut self,
        key: ServerKey,
        response: Box<[u8]>,
        until: Instant,
        route: ResponseRoute,
    ) {
        self.completed_bytes += response.len();
        self.completed_order.push_back((until, key.clone()));
        self.completed
            .insert(key, CompletedEntry { response, route });
        while self.completed.len() > self.completed_cap {
            let Some((_, old)) = self.completed_order.pop_front() else {
                break;
            };
            self.forget_completed(&old);
        }
    }
}

/// The transactions that took an input since the last settle, each once, in the order they
/// took it (so what is sent and reported follows the order of the inputs, run after run).
struct Dirty<K> {
    order: Vec<K>,
    seen: HashSet<K>,
}

impl<K> Default for Dirty<K> {
    fn default() -> Self {
        Dirty {
            order: Vec::new(),
            seen: HashSet::new(),
        }
    }
}

impl<K: Clone + Eq + std::hash::Hash> Dirty<K> {
    fn insert(&mut self, k: K) {
        if self.seen.insert(k.clone()) {
            self.order.push(k);
        }
    }

    fn take(&mut self) -> Vec<K> {
        self.seen.clear();
        std::mem::take(&mut self.order)
    }
}

fn reliability(t: Transport) -> Reliability {
    match t {
        Transport::Udp => Reliability::Unreliable,
        Transport::Tcp => Reliability::Reliable,
    }
}

/// RFC 3261 18.2.1 and RFC 3581 4: note `received` (source IP differs from sent-by) and fill a
/// bare `rport` with the source port. Returns the address responses fall back to and whether
/// the client asked for rport.
fn mark_received(msg: &mut Message, via: Option<Via>, source: SocketAddr) -> (SocketAddr, bool) {
    let Some(mut via) = via else {
        return (source, false);
    };
    let rport = via.rport().is_some();
    let host = via.host.trim_start_matches('[').trim_end_matches(']');
    let host_matches = host.parse::<IpAddr>().is_ok_and(|ip| ip == source.ip());
    let port = via.port.unwrap_or(5060);
    if !host_matches || rport {
        via.stamp_received(&source.ip().to_string(), source.port());
        fields::replace_top_via(msg, &via.to_string());
    }
    (SocketAddr::new(source.ip(), port), rport)
}

#[cfg(test)]
mod tests;
