//! The SIP endpoint: a transport plus the transaction layer, driven by one tokio task, with the
//! API that the simulated network and the reference client use.
//!
//! Shape:
//! - [`SipEndpoint::bind`] binds UDP and TCP on one port ([`SipEndpoint::local_addr`]).
//! - Outgoing: [`SipEndpoint::send_request`] fills in Via (fresh `z9hG4bK` branch, `rport`),
//!   Max-Forwards and Content-Length when absent and returns a [`ClientTx`]; its
//!   [`ClientTx::next`] yields provisional and final responses and ends with
//!   [`StackError::Timeout`] (timer B/F), [`StackError::Transport`] or [`StackError::Closed`].
//!   [`ClientTx::cancel`] sends a CANCEL (RFC 3261 9.1) after a provisional; the 487 arrives on
//!   the INVITE's `ClientTx`. [`SipEndpoint::send_ack`] sends the ACK of a 2xx (no transaction),
//!   [`SipEndpoint::send_stateless`] and [`SipEndpoint::send_raw`] send as given.
//! - Incoming: [`SipEndpoint::next_request`] yields a [`ServerTx`] per new request (ACKs of 2xx
//!   too; retransmissions are absorbed); [`ServerTx::respond`] sends through the transaction.
//!   A CANCEL matching a pending INVITE is answered here (200 to the CANCEL, 487 to the INVITE)
//!   and resolves that INVITE's [`ServerTx::cancelled`]; it is not passed up as a request.
//! - [`SipEndpoint::next_event`] yields [`StackEvent`]s: malformed bytes, stray responses,
//!   closed connections. The event and request queues are bounded; when full, events are dropped
//!   and new requests get 503 (a flood never grows memory without bound).

use super::error::{StackError, StackEvent};
use super::fields;
use super::response::response_to;
use super::transaction::{
    ClientEvent, ClientInvite, ClientNonInvite, Reliability, ServerInvite, ServerNonInvite,
    TimerKind, Timers, TransactionKey,
};
use super::transport::{Inbound, SipTransport, TransportConfig};
use super::Transport;
use crate::ids::IdGen;
use cpmconf_capture::Tap;
use cpmconf_codec::sip::{Message, Method, StatusCode};
use cpmconf_codec::Limits;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// Settings of an endpoint.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// Address to bind (127.0.0.1 or ::1).
    pub ip: IpAddr,
    /// Port for UDP and TCP; 0 picks a free one.
    pub port: u16,
    /// Transaction timers (scale T1 down in tests).
    pub timers: Timers,
    /// Capture tap: every byte this endpoint sends is recorded once.
    pub tap: Option<Tap>,
    /// Also record received bytes (only for a peer that records nothing itself).
    pub tap_received: bool,
    /// Decoder limits.
    pub limits: Limits,
    /// A name for logs and reports (e.g. `core`, `client`).
    pub name: String,
    /// Capacity of the incoming request queue and of the event queue.
    pub queue: usize,
    /// When an INVITE server transaction sends 100 Trying by itself (RFC 3261 17.2.1):
    /// `Some(ZERO)` (default) at once, so traces do not depend on how fast the TU is;
    /// `Some(d)` after `d` without a TU response; `None` never.
    pub auto_trying: Option<Duration>,
    /// A `Server` value for the responses the stack makes itself (200 to a CANCEL, 487 to the
    /// cancelled INVITE); `None` writes none.
    pub server: Option<String>,
    /// Seed of the endpoint's identifiers (the Via branches it adds, the tags of the responses
    /// it makes itself): the same seed gives the same identifiers. [`EndpointConfig::new`] draws
    /// one at random; a run sets one derived from its seed.
    pub seed: u64,
    /// At most this many finished non-INVITE server transactions are kept for Timer J (each as
    /// its final response's bytes); beyond it the oldest goes first, so under a flood memory
    /// stays bounded and the window in which a retransmission is absorbed shrinks to this
    /// count over the request rate (a retransmission after it reaches the TU as a new
    /// request). 32,768 holds about 2-3 s of a 10,000 requests/s load, covering the
    /// retransmissions at T1, 2*T1 and 4*T1.
    pub completed_cap: usize,
}

impl EndpointConfig {
    /// 127.0.0.1, a free port, default timers and limits, no tap.
    pub fn new(name: impl Into<String>) -> Self {
        EndpointConfig {
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            timers: Timers::default(),
            tap: None,
            tap_received: false,
            limits: Limits::default(),
            name: name.into(),
            queue: 256,
            auto_trying: Some(Duration::ZERO),
            server: None,
            seed: rand::random(),
            completed_cap: 32_768,
        }
    }
}

enum Command {
    StartClient {
        req: Box<Message>,
        dest: SocketAddr,
        transport: Transport,
        events: mpsc::UnboundedSender<ClientEvent>,
        reply: oneshot::Sender<Result<(), StackError>>,
    },
    Respond {
        key: TransactionKey,
        resp: Box<Message>,
        reply: oneshot::Sender<Result<(), StackError>>,
    },
    Retained {
        reply: oneshot::Sender<Retained>,
    },
    KeepOnCancel {
        key: TransactionKey,
        reply: oneshot::Sender<Result<(), StackError>>,
    },
}

/// What an endpoint holds for its transactions ([`SipEndpoint::retained`]): a finished
/// transaction costs only its compact form for Timer J, an unfinished one its whole state.
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

/// A SIP endpoint bound to one address. Dropping it stops its tasks and closes its connections.
pub struct SipEndpoint {
    transport: SipTransport,
    cmd: mpsc::UnboundedSender<Command>,
    requests: tokio::sync::Mutex<mpsc::Receiver<ServerTx>>,
    events: tokio::sync::Mutex<mpsc::Receiver<StackEvent>>,
    timers: Timers,
    name: String,
    /// Branches of the Vias this endpoint adds.
    ids: std::sync::Mutex<IdGen>,
    driver: JoinHandle<()>,
    received: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for SipEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipEndpoint")
            .field("name", &self.name)
            .field("local", &self.transport.local_addr())
            .finish_non_exhaustive()
    }
}

impl Drop for SipEndpoint {
    fn drop(&mut self) {
        self.driver.abort();
        self.transport.shutdown();
    }
}

impl SipEndpoint {
    /// Binds UDP and TCP on the same port and starts the endpoint.
    pub async fn bind(config: EndpointConfig) -> io::Result<SipEndpoint> {
        let queue = config.queue.max(1);
        let (in_tx, in_rx) = mpsc::channel(queue);
        let transport = SipTransport::bind(
            TransportConfig {
                ip: config.ip,
                port: config.port,
                tap: config.tap.clone(),
                tap_received: config.tap_received,
                limits: config.limits,
                connect_timeout: config.timers.timeout().max(Duration::from_millis(100)),
            },
            in_tx,
        )
        .await?;
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (req_tx, req_rx) = mpsc::channel(queue);
        let (ev_tx, ev_rx) = mpsc::channel(queue);
        let received = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let driver = Driver {
            received: received.clone(),
            transport: transport.clone(),
            timers: config.timers,
            cmd_tx: cmd_tx.clone(),
            requests: req_tx,
            events: ev_tx,
            clients: HashMap::new(),
            servers: HashMap::new(),
            stateless: Vec::new(),
            auto_trying: config.auto_trying,
            server: config.server.clone(),
            dirty_clients: HashSet::new(),
            dirty_servers: HashSet::new(),
            timer_heap: BinaryHeap::new(),
            timer_keys: HashMap::new(),
            next_timer: 0,
            invites: HashMap::new(),
            ids: IdGen::derived(config.seed, "endpoint-tags"),
            completed: HashMap::new(),
            completed_order: VecDeque::new(),
            completed_bytes: 0,
            completed_cap: config.completed_cap,
            raw_out: Vec::new(),
        };
        let driver = tokio::spawn(driver.run(cmd_rx, in_rx));
        Ok(SipEndpoint {
            transport,
            cmd: cmd_tx,
            requests: tokio::sync::Mutex::new(req_rx),
            events: tokio::sync::Mutex::new(ev_rx),
            timers: config.timers,
            name: config.name,
            ids: std::sync::Mutex::new(IdGen::derived(config.seed, "endpoint-branches")),
            driver,
            received,
        })
    }

    /// The bound address (same port for UDP and TCP).
    pub fn local_addr(&self) -> SocketAddr {
        self.transport.local_addr()
    }

    /// The endpoint's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The timers in use.
    pub fn timers(&self) -> Timers {
        self.timers
    }

    /// Sends a request in a new client transaction (not ACK; use [`SipEndpoint::send_ack`]).
    /// Adds, when absent: a Via with a fresh branch and `rport` (RFC 3261 8.1.1.7, RFC 3581),
    /// Max-Forwards 70 (8.1.1.6), Content-Length. A present top Via must carry a branch.
    pub async fn send_request(
        &self,
        req: Message,
        dest: SocketAddr,
        transport: Transport,
    ) -> Result<ClientTx, StackError> {
        if req.method() == Some(&Method::Ack) {
            return Err(StackError::Invalid(
                "ACK has no transaction; use send_ack (RFC 3261 17.1.1.3)".into(),
            ));
        }
        if !req.is_request() {
            return Err(StackError::Invalid("send_request needs a request".into()));
        }
        let req = self.complete_request(req, transport)?;
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let (reply_tx, reply_rx) = oneshot::channel();
        self.cmd
            .send(Command::StartClient {
                req: Box::new(req.clone()),
                dest,
                transport,
                events: ev_tx,
                reply: reply_tx,
            })
            .map_err(|_| StackError::Closed)?;
        reply_rx.await.map_err(|_| StackError::Closed)??;
        Ok(ClientTx {
            request: req,
            dest,
            transport,
            events: ev_rx,
            cmd: self.cmd.clone(),
            timers: self.timers,
            provisional: false,
            final_seen: false,
        })
    }

    /// Sends an ACK for a 2xx (RFC 3261 13.2.2.4: its own transaction-less request), adding Via
    /// (fresh branch), Max-Forwards and Content-Length when absent.
    pub async fn send_ack(
        &self,
        ack: Message,
        dest: SocketAddr,
        transport: Transport,
    ) -> Result<(), StackError> {
        let ack = self.complete_request(ack, transport)?;
        self.send_stateless(&ack, dest, transport).await
    }

    /// Sends a message exactly as given, outside any transaction.
    pub async fn send_stateless(
        &self,
        msg: &Message,
        dest: SocketAddr,
        transport: Transport,
    ) -> Result<(), StackError> {
        self.send_raw(&msg.to_bytes(), dest, transport).await
    }

    /// Sends raw bytes (fault injection, garbage); they are captured like any other send.
    pub async fn send_raw(
        &self,
        bytes: &[u8],
        dest: SocketAddr,
        transport: Transport,
    ) -> Result<(), StackError> {
        Ok(self.transport.send(bytes, dest, transport).await?)
    }

    /// How many SIP messages (requests and responses, retransmissions included) it has
    /// received and decoded.
    pub fn received_messages(&self) -> u64 {
        self.received.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// What the endpoint holds for its transactions now (the bound on a busy server's memory).
    pub async fn retained(&self) -> Result<Retained, StackError> {
        let (reply, rx) = oneshot::channel();
        self.cmd
            .send(Command::Retained { reply })
            .map_err(|_| StackError::Closed)?;
        rx.await.map_err(|_| StackError::Closed)
    }

    /// The next new incoming request, or `None` once the endpoint has stopped.
    pub async fn next_request(&self) -> Option<ServerTx> {
        self.requests.lock().await.recv().await
    }

    /// [`SipEndpoint::next_request`] with a deadline.
    pub async fn next_request_within(&self, within: Duration) -> Result<ServerTx, StackError> {
        match tokio::time::timeout(within, self.next_request()).await {
            Ok(Some(tx)) => Ok(tx),
            Ok(None) => Err(StackError::Closed),
            Err(_) => Err(StackError::Timeout {
                what: "an incoming request".into(),
                after: within,
            }),
        }
    }

    /// The next event (malformed input, stray response, closed connection).
    pub async fn next_event(&self) -> Option<StackEvent> {
        self.events.lock().await.recv().await
    }

    /// [`SipEndpoint::next_event`] with a deadline.
    pub async fn next_event_within(&self, within: Duration) -> Result<StackEvent, StackError> {
        match tokio::time::timeout(within, self.next_event()).await {
            Ok(Some(e)) => Ok(e),
            Ok(None) => Err(StackError::Closed),
            Err(_) => Err(StackError::Timeout {
                what: "a stack event".into(),
                after: within,
            }),
        }
    }

    fn complete_request(
        &self,
        mut req: Message,
        transport: Transport,
    ) -> Result<Message, StackError> {
        if req.headers.contains("Via") {
            if fields::top_branch(&req).is_none() {
                return Err(StackError::Invalid(
                    "the top Via is malformed or has no branch".into(),
                ));
            }
        } else {
            // RFC 3261 8.1.1.7 (branch with magic cookie), RFC 3581 3 (rport).
            let branch = match self.ids.lock() {
                Ok(mut ids) => ids.branch(),
                Err(poisoned) => poisoned.into_inner().branch(),
            };
            let via = fields::new_via(transport_token(transport), self.local_addr(), &branch);
            req.headers.push_front("Via", via.to_string());
        }
        if !req.headers.contains("Max-Forwards") {
            req.headers.push("Max-Forwards", "70");
        }
        if !req.headers.contains("Content-Length") {
            req.headers
                .push("Content-Length", req.body.len().to_string());
        }
        Ok(req)
    }
}

fn transport_token(t: Transport) -> &'static str {
    match t {
        Transport::Udp => "UDP",
        Transport::Tcp => "TCP",
    }
}

/// A client transaction seen from the TU.
#[derive(Debug)]
pub struct ClientTx {
    request: Message,
    dest: SocketAddr,
    transport: Transport,
    events: mpsc::UnboundedReceiver<ClientEvent>,
    cmd: mpsc::UnboundedSender<Command>,
    timers: Timers,
    provisional: bool,
    final_seen: bool,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Command")
    }
}

impl ClientTx {
    /// The request as sent (with the Via, Max-Forwards and Content-Length added).
    pub fn request(&self) -> &Message {
        &self.request
    }

    /// Where it was sent.
    pub fn destination(&self) -> (SocketAddr, Transport) {
        (self.dest, self.transport)
    }

    /// The next response (provisional or final; for INVITE also retransmitted 2xx while the
    /// transaction lives, RFC 6026). Ends with `Timeout` (timer B/F), `Transport`, or `Closed`
    /// once the transaction is over. An INVITE in Proceeding has no timer (RFC 3261 17.1.1.2):
    /// use [`ClientTx::next_within`] for a deadline.
    pub async fn next(&mut self) -> Result<Message, StackError> {
        match self.events.recv().await {
            Some(ClientEvent::Response(m)) => {
                match m.status() {
                    Some(c) if c.is_provisional() => self.provisional = true,
                    Some(_) => self.final_seen = true,
                    None => {}
                }
                Ok(m)
            }
            Some(ClientEvent::Timeout(kind)) => Err(StackError::Timeout {
                what: format!(
                    "a final response to {} (timer {kind:?})",
                    self.request.method().map(|m| m.as_str()).unwrap_or("?")
                ),
                after: if kind == TimerKind::B || kind == TimerKind::F {
                    self.timers.timeout()
                } else {
                    Duration::ZERO
                },
            }),
            Some(ClientEvent::TransportError) => Err(StackError::Transport(io::Error::new(
                io::ErrorKind::BrokenPipe,
                format!("transport to {} failed", self.dest),
            ))),
            None => Err(StackError::Closed),
        }
    }

    /// [`ClientTx::next`] with a deadline.
    pub async fn next_within(&mut self, within: Duration) -> Result<Message, StackError> {
        match tokio::time::timeout(within, self.next()).await {
            Ok(r) => r,
            Err(_) => Err(StackError::Timeout {
                what: "a response".into(),
                after: within,
            }),
        }
    }

    /// Skips provisional responses and returns the first final one.
    pub async fn final_response(&mut self, within: Duration) -> Result<Message, StackError> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let m = self.next_within(left).await?;
            if m.status().is_some_and(|c| !c.is_provisional()) {
                return Ok(m);
            }
        }
    }

    /// Cancels a pending INVITE (RFC 3261 9.1): only after a provisional response and before a
    /// final one. The CANCEL has its own transaction (returned); the 487 arrives on this one.
    pub async fn cancel(&self) -> Result<ClientTx, StackError> {
        self.cancel_with(&[]).await
    }

    /// [`ClientTx::cancel`] with extra header fields on the CANCEL, e.g.
    /// `Reason: SIP;cause=200;text="Call completed elsewhere"` (RFC 3326).
    pub async fn cancel_with(&self, extra: &[(&str, &str)]) -> Result<ClientTx, StackError> {
        if self.request.method() != Some(&Method::Invite) {
            return Err(StackError::Invalid("only INVITE can be cancelled".into()));
        }
        // 9.1: a CANCEL SHOULD NOT be sent before a provisional response.
        if !self.provisional || self.final_seen {
            return Err(StackError::Invalid(
                "CANCEL needs a provisional and no final response yet (RFC 3261 9.1)".into(),
            ));
        }
        let mut cancel = cancel_for(&self.request);
        for (name, value) in extra {
            cancel.headers.push(*name, *value);
        }
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let (reply_tx, reply_rx) = oneshot::channel();
        self.cmd
            .send(Command::StartClient {
                req: Box::new(cancel.clone()),
                dest: self.dest,
                transport: self.transport,
                events: ev_tx,
                reply: reply_tx,
            })
            .map_err(|_| StackError::Closed)?;
        reply_rx.await.map_err(|_| StackError::Closed)??;
        Ok(ClientTx {
            request: cancel,
            dest: self.dest,
            transport: self.transport,
            events: ev_rx,
            cmd: self.cmd.clone(),
            timers: self.timers,
            provisional: false,
            final_seen: false,
        })
    }
}

/// RFC 3261 9.1: CANCEL with the INVITE's Request-URI, Call-ID, To, From, CSeq number, top Via
/// (same branch) and Route.
pub fn cancel_for(invite: &Message) -> Message {
    let mut c = Message::request(Method::Cancel, invite.request_uri().unwrap_or_default());
    if let Some(v) = fields::top_via(invite) {
        c.headers.push("Via", v);
    }
    c.headers.push("Max-Forwards", "70");
    for name in ["From", "To", "Call-ID"] {
        if let Some(v) = invite.header(name) {
            c.headers.push(name, v);
        }
    }
    c.headers.push(
        "CSeq",
        format!("{} CANCEL", invite.cseq_number().unwrap_or_default()),
    );
    for r in invite.headers.get_all("Route") {
        c.headers.push("Route", r.value.clone());
    }
    // Same user agent as the INVITE (the CPM release in User-Agent is required on every
    // request, CR clause 7 / Appendix D).
    if let Some(ua) = invite.header("User-Agent") {
        c.headers.push("User-Agent", ua);
    }
    c.headers.push("Content-Length", "0");
    c
}

/// An incoming request and its server transaction.
#[derive(Debug)]
pub struct ServerTx {
    /// The request (top Via with `received`/`rport` filled in, RFC 3581).
    pub request: Message,
    /// Where it came from.
    pub source: SocketAddr,
    /// How it came.
    pub transport: Transport,
    key: Option<TransactionKey>,
    cmd: mpsc::UnboundedSender<Command>,
    cancelled: Option<watch::Receiver<Option<Message>>>,
}

impl ServerTx {
    /// Sends a response through the transaction (build it with [`crate::sip::response_to`]).
    /// Fails for an ACK (no transaction) or once a final response has been sent.
    pub async fn respond(&self, resp: Message) -> Result<(), StackError> {
        let Some(key) = self.key.clone() else {
            return Err(StackError::Invalid(
                "an ACK has no server transaction to respond in".into(),
            ));
        };
        let (reply_tx, reply_rx) = oneshot::channel();
        self.cmd
            .send(Command::Respond {
                key,
                resp: Box::new(resp),
                reply: reply_tx,
            })
            .map_err(|_| StackError::Closed)?;
        reply_rx.await.map_err(|_| StackError::Closed)?
    }

    /// From now on a CANCEL of this INVITE is answered 200 but the INVITE is not ended with 487:
    /// its final response is left to the caller, as when a UAS's final response crosses the
    /// CANCEL on the wire (RFC 3261 9.2: the 487 is a SHOULD, and a CANCEL has no effect on a
    /// transaction that already sent its final response). The CANCEL is still reported by
    /// [`ServerTx::is_cancelled`] and [`ServerTx::cancel_request`].
    pub async fn keep_on_cancel(&self) -> Result<(), StackError> {
        let Some(key) = self.key.clone().filter(|k| k.method == Method::Invite) else {
            return Err(StackError::Invalid(
                "only an INVITE server transaction can be cancelled".into(),
            ));
        };
        let (reply_tx, reply_rx) = oneshot::channel();
        self.cmd
            .send(Command::KeepOnCancel {
                key,
                reply: reply_tx,
            })
            .map_err(|_| StackError::Closed)?;
        reply_rx.await.map_err(|_| StackError::Closed)?
    }

    /// `true` if a CANCEL for this INVITE has arrived (and was answered with 200, the INVITE
    /// with 487 unless [`ServerTx::keep_on_cancel`] was asked for).
    pub fn is_cancelled(&self) -> bool {
        self.cancelled
            .as_ref()
            .is_some_and(|c| c.borrow().is_some())
    }

    /// The CANCEL that cancelled this INVITE, as it arrived (its Reason header tells, for
    /// instance, that the call was completed elsewhere: RFC 3326, CR 7.3.4.4).
    pub fn cancel_request(&self) -> Option<Message> {
        self.cancelled.as_ref().and_then(|c| c.borrow().clone())
    }

    /// Waits until a CANCEL arrives (`true`) or the transaction ends without one (`false`).
    pub async fn cancelled(&self) -> bool {
        let Some(rx) = &self.cancelled else {
            return false;
        };
        let mut rx = rx.clone();
        let ok = rx.wait_for(|c| c.is_some()).await.is_ok();
        ok
    }
}

enum ClientMachine {
    Invite(ClientInvite),
    NonInvite(ClientNonInvite),
}

struct ClientEntry {
    machine: ClientMachine,
    dest: SocketAddr,
    transport: Transport,
    events: mpsc::UnboundedSender<ClientEvent>,
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
    source: SocketAddr,
    /// RFC 3261 18.2.2 / RFC 3581 4: where responses go when no connection to `source` is open
    /// (TCP) or when the Via carried no rport (UDP).
    fallback: SocketAddr,
    rport: bool,
    transport: Transport,
    cancelled: watch::Sender<Option<Message>>,
    /// [`ServerTx::keep_on_cancel`]: a CANCEL gets 200 and the INVITE no 487.
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

struct Driver {
    received: std::sync::Arc<std::sync::atomic::AtomicU64>,
    transport: SipTransport,
    timers: Timers,
    cmd_tx: mpsc::UnboundedSender<Command>,
    requests: mpsc::Sender<ServerTx>,
    events: mpsc::Sender<StackEvent>,
    clients: HashMap<TransactionKey, ClientEntry>,
    servers: HashMap<TransactionKey, ServerEntry>,
    /// Responses sent outside any transaction (400 to unusable requests).
    stateless: Vec<(Message, SocketAddr, Transport)>,
    auto_trying: Option<Duration>,
    /// `Server` of the responses the stack makes itself.
    server: Option<String>,
    /// Transactions that took an input since the last flush: only these are polled, so the
    /// cost of an event does not grow with the number of live transactions (a server keeps a
    /// finished UDP transaction for timer J, 64*T1, so there can be many).
    dirty_clients: HashSet<TransactionKey>,
    dirty_servers: HashSet<TransactionKey>,
    /// Deadlines of transaction timers, earliest first; an entry whose transaction has moved on
    /// is skipped when it comes due (each change of a transaction pushes its new deadline).
    timer_heap: BinaryHeap<Reverse<(Instant, u64)>>,
    timer_keys: HashMap<u64, (bool, TransactionKey)>,
    next_timer: u64,
    /// INVITE server transactions by (Call-ID, CSeq number), so an ACK of a 2xx (which has a
    /// branch of its own, RFC 3261 17.1.1.3) finds its INVITE without a scan of every
    /// transaction.
    invites: HashMap<(String, u32), TransactionKey>,
    /// Tags of the responses the driver makes itself.
    ids: IdGen,
    /// Completed non-INVITE server transactions reduced to their final response's bytes and
    /// where they go, until Timer J ([`ServerNonInvite::compact`]).
    completed: HashMap<TransactionKey, CompletedEntry>,
    /// Their Timer J deadlines, earliest first (one duration for all, so arrival order).
    completed_order: VecDeque<(Instant, TransactionKey)>,
    completed_bytes: usize,
    completed_cap: usize,
    /// Bytes to send outside any transaction state machine (replayed final responses).
    raw_out: Vec<(Box<[u8]>, SocketAddr, Transport)>,
}

/// A finished non-INVITE server transaction as kept for Timer J.
struct CompletedEntry {
    response: Box<[u8]>,
    dest: SocketAddr,
    transport: Transport,
}

impl Driver {
    async fn run(
        mut self,
        mut cmd_rx: mpsc::UnboundedReceiver<Command>,
        mut in_rx: mpsc::Receiver<Inbound>,
    ) {
        loop {
            let next = self.timer_heap.peek().map(|Reverse((t, _))| *t);
            let next = match (next, self.completed_order.front().map(|(t, _)| *t)) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let sleep = async {
                match next {
                    Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                cmd = cmd_rx.recv() => match cmd {
                    Some(c) => self.on_command(c).await,
                    None => return,
                },
                inbound = in_rx.recv() => match inbound {
                    Some(i) => self.on_inbound(i),
                    None => return,
                },
                () = sleep => self.on_timers(Instant::now()),
            }
            self.flush().await;
        }
    }

    async fn on_command(&mut self, cmd: Command) {
        let now = Instant::now();
        match cmd {
            Command::StartClient {
                req,
                dest,
                transport,
                events,
                reply,
            } => {
                let Some(key) = TransactionKey::for_client_request(&req) else {
                    let _ = reply.send(Err(StackError::Invalid("request without branch".into())));
                    return;
                };
                if self.clients.contains_key(&key) {
                    let _ = reply.send(Err(StackError::Invalid(format!(
                        "a client transaction with branch {} already exists",
                        key.branch
                    ))));
                    return;
                }
                let rel = reliability(transport);
                let machine = if req.method() == Some(&Method::Invite) {
                    ClientMachine::Invite(ClientInvite::new(*req, rel, self.timers, now))
                } else {
                    ClientMachine::NonInvite(ClientNonInvite::new(*req, rel, self.timers, now))
                };
                let mut entry = ClientEntry {
                    machine,
                    dest,
                    transport,
                    events,
                };
                // The first transmission happens now, so a refused connection is reported to
                // the caller directly.
                let mut result = Ok(());
                while let Some(m) = entry.poll_transmit() {
                    if let Err(e) = self.transport.send(&m.to_bytes(), dest, transport).await {
                        entry.handle_transport_error();
                        result = Err(StackError::Transport(e));
                        break;
                    }
                }
                if result.is_ok() {
                    self.dirty_clients.insert(key.clone());
                    self.clients.insert(key, entry);
                }
                let _ = reply.send(result);
            }
            Command::Respond { key, resp, reply } => {
                self.dirty_servers.insert(key.clone());
                let Some(entry) = self.servers.get_mut(&key) else {
                    let _ = reply.send(Err(StackError::Invalid(
                        "the server transaction has ended".into(),
                    )));
                    return;
                };
                if !entry.send_response(*resp, now) {
                    let _ = reply.send(Err(StackError::Invalid(
                        "the transaction state allows no further response".into(),
                    )));
                    return;
                }
                let mut result = Ok(());
                while let Some(m) = entry.poll_transmit() {
                    let (dest, transport) = response_dest(&self.transport, entry);
                    if let Err(e) = self.transport.send(&m.to_bytes(), dest, transport).await {
                        entry.handle_transport_error();
                        result = Err(StackError::Transport(e));
                        break;
                    }
                }
                let _ = reply.send(result);
            }
            Command::KeepOnCancel { key, reply } => {
                let result = match self.servers.get_mut(&key) {
                    Some(entry) => {
                        entry.keep_on_cancel = true;
                        Ok(())
                    }
                    None => Err(StackError::Invalid(
                        "the server transaction has ended".into(),
                    )),
                };
                let _ = reply.send(result);
            }
            Command::Retained { reply } => {
                let _ = reply.send(Retained {
                    clients: self.clients.len(),
                    servers: self.servers.len(),
                    completed: self.completed.len(),
                    completed_bytes: self.completed_bytes,
                });
            }
        }
    }

    fn on_inbound(&mut self, inbound: Inbound) {
        match inbound {
            Inbound::Event(e) => self.report(e),
            Inbound::ConnectionLost { peer } => {
                // RFC 3261 17.1.4: a transport failure ends the transactions that used it.
                for (k, e) in self.clients.iter_mut() {
                    if e.transport == Transport::Tcp && e.dest == peer {
                        e.handle_transport_error();
                        self.dirty_clients.insert(k.clone());
                    }
                }
            }
            Inbound::Message {
                msg,
                source,
                transport,
            } => {
                self.received
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if msg.is_request() {
                    self.on_request(*msg, source, transport);
                } else {
                    self.on_response(*msg, source);
                }
            }
        }
    }

    fn report(&self, e: StackEvent) {
        // Bounded: when nobody reads events, they are dropped rather than kept.
        let _ = self.events.try_send(e);
    }

    fn on_response(&mut self, msg: Message, source: SocketAddr) {
        let now = Instant::now();
        // RFC 3261 17.1.3: match on top Via branch and CSeq method.
        let key = TransactionKey::for_response(&msg);
        match key.as_ref().and_then(|k| self.clients.get_mut(k)) {
            Some(entry) => {
                entry.handle_response(msg, now);
                if let Some(k) = key {
                    self.dirty_clients.insert(k);
                }
            }
            None => self.report(StackEvent::StrayResponse {
                from: source,
                response: Box::new(msg),
            }),
        }
    }

    fn on_request(&mut self, mut msg: Message, source: SocketAddr, transport: Transport) {
        let now = Instant::now();
        // The top Via is parsed once: for the key and for received/rport.
        let via = msg.top_via().ok();
        let key = via
            .as_ref()
            .and_then(|v| v.branch())
            .and_then(|b| TransactionKey::for_server_request_branch(&msg, b));
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
                    s.reason = format!("Bad Request: missing {what}");
                }
                self.stateless.push((resp, source, transport));
            }
            self.report(StackEvent::Unusable {
                from: source,
                message: Box::new(msg),
                reason: format!("missing {what}"),
            });
            return;
        }
        let Some(key) = key else {
            return;
        };
        let (fallback, rport) = mark_received(&mut msg, via, source);
        let method = msg.method().cloned().unwrap_or(Method::Ack);
        match method {
            Method::Ack => {
                if let Some(ServerEntry {
                    machine: ServerMachine::Invite(inv),
                    ..
                }) = self.servers.get_mut(&key)
                {
                    if inv.state() == super::transaction::server_invite::State::Completed
                        || inv.state() == super::transaction::server_invite::State::Confirmed
                    {
                        // 17.2.1: the ACK of a non-2xx belongs to the transaction.
                        inv.handle_ack(now);
                        self.dirty_servers.insert(key);
                        return;
                    }
                }
                // An ACK of a 2xx: stop the 2xx retransmission of the matching INVITE.
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
                let stx = ServerTx {
                    request: msg,
                    source,
                    transport,
                    key: None,
                    cmd: self.cmd_tx.clone(),
                    cancelled: None,
                };
                let _ = self.requests.try_send(stx);
            }
            _ => {
                if let Some(c) = self.completed.get(&key) {
                    // 17.2.2: a retransmission in Completed gets the final response again.
                    self.raw_out.push((c.response.clone(), c.dest, c.transport));
                    return;
                }
                if let Some(entry) = self.servers.get_mut(&key) {
                    // 17.2.1 / 17.2.2: a retransmission is absorbed by its transaction.
                    entry.handle_request(now);
                    self.dirty_servers.insert(key);
                    return;
                }
                let rel = reliability(transport);
                let (cancel_tx, cancel_rx) = watch::channel(None);
                if method == Method::Invite {
                    if let (Some(c), Some(n)) = (msg.call_id(), msg.cseq_number()) {
                        self.invites.insert((c.to_owned(), n), key.clone());
                    }
                }
                let machine = if method == Method::Invite {
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
                    source,
                    fallback,
                    rport,
                    transport,
                    cancelled: cancel_tx,
                    keep_on_cancel: false,
                };
                if method == Method::Cancel {
                    self.on_cancel(&key, &msg, &mut entry, now);
                    self.dirty_servers.insert(key.clone());
                    self.servers.insert(key, entry);
                    return;
                }
                let stx = ServerTx {
                    request: msg,
                    source,
                    transport,
                    key: Some(key.clone()),
                    cmd: self.cmd_tx.clone(),
                    cancelled: Some(cancel_rx),
                };
                if let Err(e) = self.requests.try_send(stx) {
                    // The TU is not keeping up: refuse rather than queue without bound.
                    let stx = e.into_inner();
                    let resp = response_to(&stx.request, StatusCode::SERVICE_UNAVAILABLE, None);
                    entry.send_response(resp, now);
                }
                self.dirty_servers.insert(key.clone());
                self.servers.insert(key, entry);
            }
        }
    }

    /// RFC 3261 9.2: a CANCEL matching a server transaction gets 200; a pending INVITE gets 487.
    /// Without a match, 481.
    fn on_cancel(
        &mut self,
        key: &TransactionKey,
        cancel: &Message,
        entry: &mut ServerEntry,
        now: Instant,
    ) {
        let invite_key = TransactionKey {
            branch: key.branch.clone(),
            method: Method::Invite,
        };
        match self.servers.get_mut(&invite_key) {
            Some(inv_entry) => {
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
                    if inv.is_proceeding() && keep {
                        let _ = inv_entry.cancelled.send(Some(cancel.clone()));
                    } else if inv.is_proceeding() {
                        let tag = inv.last_response_to_tag().unwrap_or_else(|| to_tag.clone());
                        let resp = stamp(response_to(
                            inv.request(),
                            StatusCode::REQUEST_TERMINATED,
                            Some(&tag),
                        ));
                        inv.send_response(resp, now);
                        let _ = inv_entry.cancelled.send(Some(cancel.clone()));
                    }
                }
            }
            None => {
                entry.send_response(
                    response_to(cancel, StatusCode::NO_TRANSACTION, Some(&self.ids.tag())),
                    now,
                );
            }
        }
    }

    /// Fires every transaction timer that is due and marks those transactions for the flush.
    fn on_timers(&mut self, now: Instant) {
        // Timer J of the compacted transactions: they terminate.
        while self.completed_order.front().is_some_and(|(t, _)| *t <= now) {
            if let Some((_, key)) = self.completed_order.pop_front() {
                if let Some(c) = self.completed.remove(&key) {
                    self.completed_bytes -= c.response.len();
                }
            }
        }
        while let Some(Reverse((t, id))) = self.timer_heap.peek().copied() {
            if t > now {
                break;
            }
            self.timer_heap.pop();
            let Some((client, key)) = self.timer_keys.remove(&id) else {
                continue;
            };
            if client {
                if let Some(e) = self.clients.get_mut(&key) {
                    if e.poll_timeout().is_some_and(|d| d <= now) {
                        e.handle_timeout(now);
                        self.dirty_clients.insert(key);
                    }
                }
            } else if let Some(e) = self.servers.get_mut(&key) {
                if e.poll_timeout().is_some_and(|d| d <= now) {
                    e.handle_timeout(now);
                    self.dirty_servers.insert(key);
                }
            }
        }
    }

    fn arm(&mut self, client: bool, key: TransactionKey, deadline: Instant) {
        let id = self.next_timer;
        self.next_timer += 1;
        self.timer_heap.push(Reverse((deadline, id)));
        self.timer_keys.insert(id, (client, key));
    }

    /// Sends what the transactions that took input want to send, passes their events up, arms
    /// their next timer and forgets the terminated ones.
    async fn flush(&mut self) {
        for (m, dest, t) in std::mem::take(&mut self.stateless) {
            let _ = self.transport.send(&m.to_bytes(), dest, t).await;
        }
        for (bytes, dest, t) in std::mem::take(&mut self.raw_out) {
            let _ = self.transport.send(&bytes, dest, t).await;
        }
        let dirty_clients: Vec<TransactionKey> = self.dirty_clients.drain().collect();
        let dirty_servers: Vec<TransactionKey> = self.dirty_servers.drain().collect();
        let mut out: Vec<(Vec<u8>, SocketAddr, Transport, TransactionKey, bool)> = Vec::new();
        for k in &dirty_clients {
            if let Some(e) = self.clients.get_mut(k) {
                while let Some(m) = e.poll_transmit() {
                    out.push((m.to_bytes(), e.dest, e.transport, k.clone(), true));
                }
            }
        }
        for k in &dirty_servers {
            if let Some(e) = self.servers.get_mut(k) {
                while let Some(m) = e.poll_transmit() {
                    let (dest, t) = response_dest(&self.transport, e);
                    out.push((m.to_bytes(), dest, t, k.clone(), false));
                }
            }
        }
        for (bytes, dest, t, key, client) in out {
            if self.transport.send(&bytes, dest, t).await.is_err() {
                if client {
                    if let Some(e) = self.clients.get_mut(&key) {
                        e.handle_transport_error();
                    }
                } else if let Some(e) = self.servers.get_mut(&key) {
                    e.handle_transport_error();
                }
            }
        }
        for k in dirty_clients {
            let Some(e) = self.clients.get_mut(&k) else {
                continue;
            };
            while let Some(ev) = e.poll_event() {
                let _ = e.events.send(ev);
            }
            if e.is_terminated() {
                self.clients.remove(&k);
            } else if let Some(t) = e.poll_timeout() {
                self.arm(true, k, t);
            }
        }
        for k in dirty_servers {
            let Some(e) = self.servers.get_mut(&k) else {
                continue;
            };
            e.drain_events();
            if let ServerMachine::NonInvite(t) = &e.machine {
                if let Some(c) = t.compact() {
                    // Finished: keep only what absorbing retransmissions needs until Timer J.
                    let (dest, transport) = response_dest(&self.transport, e);
                    self.servers.remove(&k);
                    self.completed_bytes += c.response.len();
                    self.completed_order.push_back((c.until, k.clone()));
                    self.completed.insert(
                        k,
                        CompletedEntry {
                            response: c.response,
                            dest,
                            transport,
                        },
                    );
                    while self.completed.len() > self.completed_cap {
                        let Some((_, old)) = self.completed_order.pop_front() else {
                            break;
                        };
                        if let Some(c) = self.completed.remove(&old) {
                            self.completed_bytes -= c.response.len();
                        }
                    }
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
                        if self.invites.get(&(c.to_owned(), n)) == Some(&k) {
                            self.invites.remove(&(c.to_owned(), n));
                        }
                    }
                }
            } else if let Some(t) = e.poll_timeout() {
                self.arm(false, k, t);
            }
        }
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
fn mark_received(
    msg: &mut Message,
    via: Option<cpmconf_codec::sip::Via>,
    source: SocketAddr,
) -> (SocketAddr, bool) {
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

/// RFC 3261 18.2.2: responses go back over the request's connection (TCP) if still open, else to
/// `received` and the sent-by port; on UDP to the source when rport was asked (RFC 3581),
/// otherwise to `received` and the sent-by port.
fn response_dest(transport: &SipTransport, e: &ServerEntry) -> (SocketAddr, Transport) {
    let dest = match e.transport {
        Transport::Tcp if transport.has_connection(e.source) => e.source,
        Transport::Tcp => e.fallback,
        Transport::Udp if e.rport => e.source,
        Transport::Udp => e.fallback,
    };
    (dest, e.transport)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

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
}
