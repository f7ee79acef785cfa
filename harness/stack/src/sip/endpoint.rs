//! The SIP endpoint: a transport plus the transaction [`Router`], driven by one tokio task, with the API that the simulated network and the reference client use.
//!
//! The driver task only does I/O: it feeds what the sockets, the API and the clock bring to the
//! sans-IO [`Router`] (which owns every transaction and makes every protocol decision), sends
//! what it polls out, passes its events to the API's channels and sleeps until its next
//! deadline.
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
//!   A CANCEL matching a pending INVITE is answered by the [`Router`] (200 to the CANCEL, 487
//!   to the INVITE) and resolves that INVITE's [`ServerTx::cancelled`]; it is not passed up as
//!   a request.
//! - [`SipEndpoint::next_event`] yields [`StackEvent`]s: malformed bytes, stray responses,
//!   closed connections. The event and request queues are bounded; when full, events are dropped
//!   and new requests get 503 (a flood never grows memory without bound).

use super::error::{StackError, StackEvent};
use super::fields;
pub use super::router::Retained;
use super::router::{Event, Origin, Router, RouterConfig, ServerKey};
use super::transaction::{ClientEvent, TimerKind, Timers, TransactionKey};
use super::transport::{Inbound, SipTransport, TransportConfig};
use super::Transport;
use crate::ids::IdGen;
use cpmconf_capture::Tap;
use cpmconf_codec::sip::{Message, Method};
use cpmconf_codec::Limits;
use std::collections::HashMap;
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
        key: ServerKey,
        resp: Box<Message>,
        reply: oneshot::Sender<Result<(), StackError>>,
    },
    Retained {
        reply: oneshot::Sender<Retained>,
    },
    KeepOnCancel {
        key: ServerKey,
        reply: oneshot::Sender<Result<(), StackError>>,
    },
    Retransmit2xx {
        key: ServerKey,
        reply: oneshot::Sender<Result<(), StackError>>,
    },
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
            router: Router::new(RouterConfig {
                timers: config.timers,
                auto_trying: config.auto_trying,
                server: config.server.clone(),
                seed: config.seed,
                completed_cap: config.completed_cap,
            }),
            received: received.clone(),
            transport: transport.clone(),
            cmd_tx: cmd_tx.clone(),
            requests: req_tx,
            events: ev_tx,
            clients: HashMap::new(),
            cancels: HashMap::new(),
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
            if req.top_branch().is_none() {
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
    if let Some(v) = invite.top_via_value() {
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
        c.headers.push("Route", r.value);
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
    /// The top Via as the sender wrote it, when filling in changed it.
    sent_via: Option<String>,
    /// Where it came from.
    pub source: SocketAddr,
    /// How it came.
    pub transport: Transport,
    key: Option<ServerKey>,
    cmd: mpsc::UnboundedSender<Command>,
    cancelled: Option<watch::Receiver<Option<Message>>>,
}

impl ServerTx {
    /// The request as it was on the wire (the top Via as its sender wrote it), for observers.
    pub fn as_sent(&self) -> Message {
        let mut m = self.request.clone();
        if let Some(v) = &self.sent_via {
            super::fields::replace_top_via(&mut m, v);
        }
        m
    }

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
        self.invite_command(
            "only an INVITE server transaction can be cancelled",
            |key, reply| Command::KeepOnCancel { key, reply },
        )
        .await
    }

    /// Sends the driver a command about this INVITE server transaction and waits for its
    /// answer; `not_invite` when this is not an INVITE's.
    async fn invite_command(
        &self,
        not_invite: &str,
        command: impl FnOnce(ServerKey, oneshot::Sender<Result<(), StackError>>) -> Command,
    ) -> Result<(), StackError> {
        let Some(key) = self.key.clone().filter(|k| k.key.method == Method::Invite) else {
            return Err(StackError::Invalid(not_invite.into()));
        };
        let (reply_tx, reply_rx) = oneshot::channel();
        self.cmd
            .send(command(key, reply_tx))
            .map_err(|_| StackError::Closed)?;
        reply_rx.await.map_err(|_| StackError::Closed)?
    }

    /// Sends this INVITE's 2xx again, as the UAS core does while no ACK arrives (RFC 3261
    /// 13.3.1.4): a scripted retransmission (a test of the peer's UAC core, which must ACK each
    /// 2xx it receives, 13.2.2.4). An error unless a 2xx was sent and the transaction is still
    /// Accepted (RFC 6026 7.1).
    pub async fn retransmit_2xx(&self) -> Result<(), StackError> {
        self.invite_command(
            "only an INVITE server transaction sends a 2xx again",
            |key, reply| Command::Retransmit2xx { key, reply },
        )
        .await
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

/// The endpoint's task: I/O around the [`Router`].
struct Driver {
    router: Router,
    received: std::sync::Arc<std::sync::atomic::AtomicU64>,
    transport: SipTransport,
    cmd_tx: mpsc::UnboundedSender<Command>,
    requests: mpsc::Sender<ServerTx>,
    events: mpsc::Sender<StackEvent>,
    /// The [`ClientTx`] channel of each live client transaction.
    clients: HashMap<TransactionKey, mpsc::UnboundedSender<ClientEvent>>,
    /// The [`ServerTx::cancelled`] channel of each live server transaction (dropped when it
    /// ends, which tells a waiting [`ServerTx::cancelled`] that no CANCEL will come).
    cancels: HashMap<ServerKey, watch::Sender<Option<Message>>>,
}

impl Driver {
    async fn run(
        mut self,
        mut cmd_rx: mpsc::UnboundedReceiver<Command>,
        mut in_rx: mpsc::Receiver<Inbound>,
    ) {
        loop {
            let next = self.router.poll_timeout();
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
                () = sleep => self.router.handle_timeout(Instant::now()),
            }
            let _ = self.drain(None).await;
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
                let result = match self.router.start_client(*req, dest, transport, now) {
                    Ok(key) => {
                        self.clients.insert(key.clone(), events);
                        // The first transmission happens now, so a refused connection is
                        // reported to the caller directly.
                        let origin = Origin::Client(key);
                        self.drain(Some(&origin))
                            .await
                            .map_err(StackError::Transport)
                    }
                    Err(e) => Err(e),
                };
                let _ = reply.send(result);
            }
            Command::Respond { key, resp, reply } => {
                let queued = self.router.respond(&key, *resp, now);
                let _ = reply.send(self.send_queued(key, queued).await);
            }
            Command::KeepOnCancel { key, reply } => {
                let _ = reply.send(self.router.keep_on_cancel(&key));
            }
            Command::Retransmit2xx { key, reply } => {
                let queued = self.router.retransmit_2xx(&key);
                let _ = reply.send(self.send_queued(key, queued).await);
            }
            Command::Retained { reply } => {
                let _ = reply.send(self.router.retained());
            }
        }
    }

    /// After the router queued a response of the server transaction `key` (`queued`), sends it.
    async fn send_queued(
        &mut self,
        key: ServerKey,
        queued: Result<(), StackError>,
    ) -> Result<(), StackError> {
        queued?;
        self.drain(Some(&Origin::Server(key)))
            .await
            .map_err(StackError::Transport)
    }

    fn on_inbound(&mut self, inbound: Inbound) {
        match inbound {
            Inbound::Event(e) => self.report(e),
            Inbound::ConnectionLost { peer } => self.router.handle_connection_lost(peer),
            Inbound::Message {
                msg,
                source,
                transport,
            } => {
                self.received
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let now = Instant::now();
                if msg.is_request() {
                    self.router.handle_request(*msg, source, transport, now);
                } else {
                    self.router.handle_response(*msg, source, now);
                }
            }
        }
    }

    fn report(&self, e: StackEvent) {
        // Bounded: when nobody reads events, they are dropped rather than kept.
        let _ = self.events.try_send(e);
    }

    /// Sends what the router has to send and passes its events on, until it has nothing left
    /// (passing an event on may give it more input). Returns the first send error of the
    /// transaction `watch`.
    async fn drain(&mut self, watch: Option<&Origin>) -> io::Result<()> {
        let mut result = Ok(());
        loop {
            let mut any = false;
            while let Some(t) = self.router.poll_transmit() {
                any = true;
                // 18.2.2: the request's connection while it is open, else the fallback.
                let dest = match t.fallback {
                    Some(f) if !self.transport.has_connection(t.dest) => f,
                    _ => t.dest,
                };
                if let Err(e) = self.transport.send(&t.bytes, dest, t.transport).await {
                    if let Some(origin) = t.origin {
                        if result.is_ok() && watch == Some(&origin) {
                            result = Err(e);
                        }
                        self.router.handle_send_error(&origin);
                    }
                }
            }
            while let Some(ev) = self.router.poll_event() {
                any = true;
                self.dispatch(ev);
            }
            if !any {
                return result;
            }
        }
    }

    fn dispatch(&mut self, ev: Event) {
        match ev {
            Event::Request {
                request,
                sent_via,
                source,
                transport,
                server,
            } => {
                let cancelled = server.as_ref().map(|k| {
                    let (tx, rx) = watch::channel(None);
                    self.cancels.insert(k.clone(), tx);
                    rx
                });
                let stx = ServerTx {
                    request,
                    sent_via,
                    source,
                    transport,
                    key: server,
                    cmd: self.cmd_tx.clone(),
                    cancelled,
                };
                if let Err(e) = self.requests.try_send(stx) {
                    // The TU is not keeping up: the router refuses rather than queue.
                    let stx = e.into_inner();
                    if let Some(key) = &stx.key {
                        self.router.refuse(key, &stx.request, Instant::now());
                    }
                }
            }
            Event::Client { key, event } => {
                if let Some(tx) = self.clients.get(&key) {
                    let _ = tx.send(event);
                }
            }
            Event::ClientEnded(key) => {
                self.clients.remove(&key);
            }
            Event::Cancelled { invite, cancel } => {
                if let Some(tx) = self.cancels.get(&invite) {
                    let _ = tx.send(Some(cancel));
                }
            }
            Event::ServerEnded(key) => {
                self.cancels.remove(&key);
            }
            Event::Stack(e) => self.report(e),
        }
    }
}
