//! The core: one SIP endpoint (P-CSCF/S-CSCF of the simulated domain) that every client uses
//! as outbound proxy, the dispatch of each request to a role (registrar, `cf`, `pf`, remote
//! users) or to the stateless proxy, the observation stream, and the engine-facing
//! [`Network`] API.

use crate::aor::Aor;
use crate::config::NetConfig;
use crate::focus::Conferences;
use crate::media::{self, MediaPlan, MsrpState, Push};
use crate::observe::{Action, Mode, Observed, ObservedKind, PendingRequest, Rule, Script};
use crate::registrar::Registry;
use crate::role::Role;
use crate::routing::Routing;
use crate::spec::{
    Body, DialogHandle, RequestId, RequestSpec, ResponseSpec, SentRequest, SessionId, Target,
};
use crate::{focus, proxy, registrar, SimError};
use cpmconf_codec::sdp::SessionDescription;
use cpmconf_codec::sip::{Event, Message, Method, StatusCode, Uri, Via};
use cpmconf_stack::ids::IdGen;
use cpmconf_stack::msrp::{MsrpEndpoint, SendOptions};
use cpmconf_stack::sip::{
    fields, response_to, Dialog, EndpointConfig, ServerTx, SipEndpoint, StackEvent, Transport,
};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Where requests to a client go: the address and transport it used (its flow).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flow {
    pub addr: SocketAddr,
    pub transport: Transport,
}

/// A request received by a role, with its server transaction.
pub(crate) struct Held {
    pub role: Role,
    pub tx: ServerTx,
    pub flow: Flow,
    pub to_tag: String,
}

/// A dialog the sim holds.
pub(crate) struct DialogEntry {
    pub dialog: Dialog,
    pub role: Role,
    pub flow: Flow,
    pub session: Option<SessionId>,
    /// The conference (focus URI) a conference subscription belongs to.
    pub conference: Option<String>,
}

/// A CANCEL request to a running INVITE: extra header fields and where to answer.
type CancelReply = (
    Vec<(String, String)>,
    oneshot::Sender<Result<RequestId, SimError>>,
);

/// Mutable state of the network, behind one lock never held across an await.
pub(crate) struct State {
    pub ids: IdGen,
    seq: u64,
    next_id: u64,
    /// The engine's scripted answers and per-role modes.
    pub script: Script,
    /// Bindings, reg-event subscriptions and nonces.
    pub registrar: Registry,
    /// Which role owns a Call-ID, tag or address; what the proxy forwarded.
    pub routing: Routing,
    pub dialogs: HashMap<DialogHandle, DialogEntry>,
    pub request_dialogs: HashMap<RequestId, DialogHandle>,
    cancels: HashMap<RequestId, mpsc::UnboundedSender<CancelReply>>,
    /// The conferences the CF hosts.
    pub conferences: Conferences,
    /// MSRP sessions: their command channels, answer modes, held chunks and progress.
    pub msrp: MsrpState,
    /// When a role sent its first final response to a request (by Call-ID and CSeq number);
    /// kept only while observations are on ([`NetConfig::observe`]).
    answered: HashMap<(String, u32), tokio::time::Instant>,
}

impl State {
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

/// Shared inside of a [`Network`].
pub(crate) struct Inner {
    pub cfg: NetConfig,
    pub ep: SipEndpoint,
    pub addr: SocketAddr,
    started: Instant,
    st: Mutex<State>,
    obs_tx: mpsc::UnboundedSender<Observed>,
    obs_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Observed>>,
    pub msrp_eps: tokio::sync::Mutex<HashMap<Role, Arc<MsrpEndpoint>>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Inner {
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds an observation (when the stream is on).
    pub fn observe(&self, role: &str, kind: ObservedKind) {
        if !self.cfg.observe {
            return;
        }
        let seq = {
            let mut st = self.state();
            st.seq += 1;
            st.seq
        };
        let _ = self.obs_tx.send(Observed {
            seq,
            time: self.started.elapsed(),
            role: role.to_owned(),
            kind,
        });
    }

    /// `sip:<user>@<domain>` of a remote-user role, or the role's service identity.
    pub fn role_uri(&self, role: &Role) -> String {
        match role {
            Role::Pf => self.cfg.deferred_mgmt_uri.clone(),
            Role::Cf => self.cfg.conference_factory.clone(),
            Role::Registrar | Role::Core => format!("sip:registrar@{}", self.cfg.domain),
            Role::User(user) => format!("sip:{user}@{}", self.cfg.domain),
        }
    }

    /// The Contact a role writes by default.
    pub fn role_contact(&self, role: &Role) -> String {
        let hp = fields::host_port(self.addr);
        match role {
            Role::Pf => format!("<{}>", self.cfg.deferred_mgmt_uri),
            other => format!("<sip:{other}@{hp}>"),
        }
    }

    /// The Via the core writes on a request it originates (with a bare `rport`).
    pub fn via(&self, transport: Transport, branch: &str) -> Via {
        let t = match transport {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        };
        fields::new_via(t, self.addr, branch)
    }

    pub fn spawn(&self, f: impl std::future::Future<Output = ()> + Send + 'static) {
        let h = tokio::spawn(f);
        let mut t = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        // Finished handles are dropped whenever the list would grow: at most twice the live
        // tasks are kept, at an amortised constant cost per spawn (a task per request).
        if t.len() == t.capacity() {
            t.retain(|h| !h.is_finished());
            let live = t.len();
            t.shrink_to(2 * live.max(8));
        }
        t.push(h);
    }
}

/// The simulated network. See the crate documentation for the API and its use.
pub struct Network {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("core", &self.inner.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        self.abort_tasks();
    }
}

impl Network {
    /// Binds the core (UDP and TCP on one port) and starts every role.
    pub async fn start(cfg: NetConfig) -> Result<Network, SimError> {
        let mut ec = EndpointConfig::new(Role::Core.as_str());
        ec.ip = cfg.ip;
        ec.port = cfg.sip_port;
        ec.timers = cfg.timers;
        ec.tap = cfg.tap.clone();
        ec.tap_received = cfg.tap_received;
        ec.queue = 1024;
        ec.server = Some(cfg.server.clone());
        ec.seed = cpmconf_stack::ids::derive_seed(cfg.seed, "sim-core-endpoint");
        let ep = SipEndpoint::bind(ec).await?;
        let addr = ep.local_addr();
        let (obs_tx, obs_rx) = mpsc::unbounded_channel();
        let mut routing = Routing::default();
        routing.set_addr_role(addr, &Role::Core);
        let st = State {
            ids: IdGen::derived(cfg.seed, "sim-ids"),
            seq: 0,
            next_id: 0,
            script: Script::default(),
            registrar: Registry::default(),
            routing,
            dialogs: HashMap::new(),
            request_dialogs: HashMap::new(),
            cancels: HashMap::new(),
            conferences: Conferences::default(),
            msrp: MsrpState::default(),
            answered: HashMap::new(),
        };
        let inner = Arc::new(Inner {
            cfg,
            ep,
            addr,
            started: Instant::now(),
            st: Mutex::new(st),
            obs_tx,
            obs_rx: tokio::sync::Mutex::new(obs_rx),
            msrp_eps: tokio::sync::Mutex::new(HashMap::new()),
            tasks: Mutex::new(Vec::new()),
        });
        // The roles with media get their MSRP endpoints at once, so their addresses are known.
        for role in [Role::Cf, Role::Pf] {
            media::endpoint(&inner, &role).await?;
        }
        let i = inner.clone();
        inner.spawn(async move {
            while let Some(tx) = i.ep.next_request().await {
                on_request(&i, tx);
            }
        });
        let i = inner.clone();
        inner.spawn(async move {
            while let Some(ev) = i.ep.next_event().await {
                if let Some(report) = &i.cfg.malformed {
                    if let Some(m) = crate::Malformed::from_event(&ev) {
                        let _ = report.send(m);
                    }
                }
                if let StackEvent::StrayResponse { response, .. } = ev {
                    proxy::forward_response(&i, *response).await;
                }
            }
        });
        Ok(Network { inner })
    }

    /// The core's SIP address (UDP and TCP): every client's outbound proxy.
    pub fn core_addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// The configuration in use.
    pub fn config(&self) -> &NetConfig {
        &self.inner.cfg
    }

    /// SIP messages the core has received and decoded (retransmissions included).
    pub fn received_messages(&self) -> u64 {
        self.inner.ep.received_messages()
    }

    /// What the core holds for its SIP transactions now.
    pub async fn retained(&self) -> Result<cpmconf_stack::sip::Retained, SimError> {
        Ok(self.inner.ep.retained().await?)
    }

    fn abort_tasks(&self) {
        let tasks =
            std::mem::take(&mut *self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for t in tasks {
            t.abort();
        }
        let sessions = self.inner.state().msrp.take_sessions();
        drop(sessions);
    }

    /// Stops every task and closes the sockets of this network (the tap is left to its owner).
    pub async fn shutdown(self) {
        self.abort_tasks();
    }

    /// The next thing the client sent, waiting until `deadline`.
    pub async fn next_observed(
        &self,
        deadline: tokio::time::Instant,
    ) -> Result<Observed, SimError> {
        let mut rx = self.inner.obs_rx.lock().await;
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(o)) => Ok(o),
            Ok(None) => Err(SimError::Closed),
            Err(_) => Err(SimError::Timeout(
                deadline.saturating_duration_since(tokio::time::Instant::now()),
            )),
        }
    }

    /// [`Network::next_observed`] with a duration.
    pub async fn next_observed_within(&self, within: Duration) -> Result<Observed, SimError> {
        self.next_observed(tokio::time::Instant::now() + within)
            .await
            .map_err(|e| match e {
                SimError::Timeout(_) => SimError::Timeout(within),
                other => other,
            })
    }

    /// Sets how `role` (`*` for every role) handles requests of `method`.
    pub fn set_mode(&self, role: &str, method: Method, mode: Mode) {
        self.inner.state().script.set_mode(role, method, mode);
    }

    /// Adds a scripted answer, checked before the modes, in the order added.
    pub fn push_rule(&self, rule: Rule) {
        self.inner.state().script.push_rule(rule);
    }

    /// Removes every scripted answer and mode.
    pub fn clear_rules(&self) {
        self.inner.state().script.clear();
    }

    /// The role whose socket has this address (`core`, `cf`, `pf`, a remote user).
    pub fn role_of_addr(&self, addr: SocketAddr) -> Option<String> {
        self.inner
            .state()
            .routing
            .addr_role(addr)
            .map(Role::to_string)
    }

    /// Who is who, as a plain value: the role of every simulated socket and of every Call-ID
    /// seen so far (for labelling a capture, live or from its sidecar).
    pub fn role_map(&self) -> cpmconf_capture::RoleMap {
        self.inner.state().routing.role_map()
    }

    /// The role that sent or received the request with this Call-ID (recorded for a received
    /// request only while observations are on, [`NetConfig::observe`]).
    pub fn role_of_call_id(&self, call_id: &str) -> Option<String> {
        self.inner
            .state()
            .routing
            .call_role(call_id)
            .map(Role::to_string)
    }

    /// When a simulated role sent its first final response to the request with this Call-ID
    /// and CSeq number (recorded only while observations are on, [`NetConfig::observe`]): what
    /// arms a timer of the client's that the response grants (a subscription's refresh).
    pub fn answered_at(&self, call_id: &str, cseq: u32) -> Option<tokio::time::Instant> {
        self.inner
            .state()
            .answered
            .get(&(call_id.to_string(), cseq))
            .copied()
    }

    /// The MSRP listening address of a role (created on first use).
    pub async fn msrp_addr(&self, role: &str) -> Result<SocketAddr, SimError> {
        Ok(media::endpoint(&self.inner, &Role::parse(role))
            .await?
            .local_addr())
    }

    /// The current contacts of `aor` (`sip:alice@cpm.test`).
    pub fn registered_contacts(&self, aor: &str) -> Vec<String> {
        self.inner.state().registrar.contact_uris(&Aor::parse(aor))
    }

    /// Sends a request as `role`. Responses appear as [`ObservedKind::SipResponse`]; a 2xx to
    /// INVITE is ACKed and its dialog (and MSRP session, for an SDP offer) set up.
    pub async fn send_request(
        &self,
        role: &str,
        spec: RequestSpec,
    ) -> Result<SentRequest, SimError> {
        send_request(&self.inner, &Role::parse(role), spec, Vec::new()).await
    }

    /// Like [`Network::send_request`]; once the MSRP session is up, `pushes` go out on it.
    pub async fn send_request_then_push(
        &self,
        role: &str,
        spec: RequestSpec,
        pushes: Vec<Push>,
    ) -> Result<SentRequest, SimError> {
        send_request(&self.inner, &Role::parse(role), spec, pushes).await
    }

    /// Cancels a pending INVITE the sim sent (after a provisional). Returns the CANCEL's
    /// request id (its 200 arrives as an observation; the INVITE's 487 under the INVITE's id).
    pub async fn cancel(&self, request: RequestId) -> Result<RequestId, SimError> {
        self.cancel_with(request, Vec::new()).await
    }

    /// [`Network::cancel`] with extra header fields on the CANCEL, e.g. a Reason
    /// `SIP;cause=200;text="Call completed elsewhere"` (RFC 3326, CR 7.3.4.4).
    pub async fn cancel_with(
        &self,
        request: RequestId,
        headers: Vec<(String, String)>,
    ) -> Result<RequestId, SimError> {
        let tx = self
            .inner
            .state()
            .cancels
            .get(&request)
            .cloned()
            .ok_or(SimError::Unknown {
                what: "request",
                id: request,
            })?;
        let (rtx, rrx) = oneshot::channel();
        tx.send((headers, rtx))
            .map_err(|_| SimError::Invalid("the INVITE is over".into()))?;
        rrx.await
            .map_err(|_| SimError::Invalid("the INVITE is over".into()))?
    }

    /// The dialog a request of the sim created (after its 2xx).
    pub fn dialog_of_request(&self, request: RequestId) -> Option<DialogHandle> {
        self.inner.state().request_dialogs.get(&request).copied()
    }

    /// The dialog with this Call-ID (the newest, if several).
    pub fn dialog_of_call_id(&self, call_id: &str) -> Option<DialogHandle> {
        self.inner
            .state()
            .dialogs
            .iter()
            .filter(|(_, d)| d.dialog.id.call_id == call_id)
            .map(|(h, _)| *h)
            .max()
    }

    /// The MSRP session of a dialog.
    pub fn session_of_dialog(&self, dialog: DialogHandle) -> Option<SessionId> {
        self.inner
            .state()
            .dialogs
            .get(&dialog)
            .and_then(|d| d.session)
    }

    /// Sends a message on an MSRP session (chunked per `opts`); returns its Message-ID.
    pub async fn send_msrp(
        &self,
        session: SessionId,
        content_type: &str,
        body: Vec<u8>,
        opts: SendOptions,
    ) -> Result<String, SimError> {
        media::send(&self.inner, session, content_type, body, opts).await
    }

    /// Writes raw bytes on an MSRP session (scripted or broken frames).
    pub async fn send_msrp_raw(&self, session: SessionId, bytes: Vec<u8>) -> Result<(), SimError> {
        media::send_raw(&self.inner, session, bytes).await
    }

    /// Sets how `role`'s MSRP sessions answer the client's SEND chunks that carry bytes:
    /// [`Mode::Auto`] (200 OK, the default) or [`Mode::Manual`] (no response until
    /// [`Network::respond_msrp`]; a chunk never answered stays unacknowledged). Chunks without a
    /// body (the binding SEND, RFC 4975 7.1.1) are always answered. Applies to chunks arriving
    /// from now on.
    pub fn set_msrp_mode(&self, role: &str, mode: Mode) {
        self.inner.state().msrp.set_mode(Role::parse(role), mode);
    }

    /// Answers a SEND chunk the session holds ([`Network::set_msrp_mode`]) with `code`;
    /// `request` is the chunk as observed. An error when the session does not hold it (answered
    /// already, or answered automatically).
    pub async fn respond_msrp(
        &self,
        session: SessionId,
        request: &cpmconf_codec::msrp::Message,
        code: u16,
    ) -> Result<(), SimError> {
        media::respond(&self.inner, session, request, code).await
    }

    /// What session `session` received of the client's SEND chunks and acknowledged with 2xx
    /// (automatically or by [`Network::respond_msrp`]); `None` for a session that received no
    /// chunk with bytes.
    pub fn msrp_progress(&self, session: SessionId) -> Option<media::TransferProgress> {
        self.inner.state().msrp.progress(session)
    }

    /// Closes an MSRP session's connection.
    pub async fn close_msrp(&self, session: SessionId) -> Result<(), SimError> {
        media::close(&self.inner, session).await
    }

    /// Participants of a conference the CF hosts (focus URI), if it exists.
    pub fn conference_participants(&self, focus: &str) -> Option<Vec<String>> {
        self.inner
            .state()
            .conferences
            .participants(&Aor::parse(focus))
    }

    /// Sends a conference-info NOTIFY (full state) to every subscriber of `focus`.
    pub async fn notify_conference(&self, focus: &str) -> Result<(), SimError> {
        focus::notify_all(&self.inner, &Aor::parse(focus)).await
    }

    /// The role that holds a dialog.
    pub fn role_of_dialog(&self, dialog: DialogHandle) -> Option<String> {
        self.inner
            .state()
            .dialogs
            .get(&dialog)
            .map(|d| d.role.to_string())
    }
}

/// Where an incoming request goes.
enum Route {
    Proxy,
    Role(Role),
    /// An in-dialog request (To tag present) matching no dialog of the sim: 481 (RFC 3261
    /// 12.2.2).
    NoDialog,
}

/// Routes a request: a proxied exchange or a dialog of the sim by Call-ID and tags first (never
/// by Call-ID alone: a client may reuse its REGISTER's Call-ID for a MESSAGE), then an
/// out-of-dialog request by method and Request-URI.
fn classify(inner: &Inner, st: &State, req: &Message) -> Route {
    let call_id = req.call_id().unwrap_or_default().to_owned();
    let from_tag = req.from_tag().unwrap_or_default();
    let to_tag = req.to_tag();
    let proxied = |tag: &str| st.routing.is_proxied(&call_id, tag);
    let method = req.method().cloned().unwrap_or(Method::Ack);
    // A later request of a forwarded exchange: in-dialog either way, or the CANCEL / ACK of a
    // forwarded INVITE (same From tag, no To tag or the callee's).
    if to_tag.as_deref().is_some_and(proxied)
        || (proxied(&from_tag)
            && (to_tag.is_some() || matches!(method, Method::Cancel | Method::Ack)))
    {
        return Route::Proxy;
    }
    if let Some(to_tag) = to_tag {
        return match st.routing.tag_role(&call_id, &to_tag) {
            Some(role) => Route::Role(role.clone()),
            None => Route::NoDialog,
        };
    }
    if method == Method::Register {
        return Route::Role(Role::Registrar);
    }
    if method == Method::Subscribe
        && req
            .header("Event")
            .is_some_and(|e| Event::parse_lenient(e).is("reg"))
    {
        return Route::Role(Role::Registrar);
    }
    let Some(uri) = req.request_uri().and_then(|u| Uri::parse(u).ok()) else {
        return Route::Role(Role::Core);
    };
    let host = uri.host.to_ascii_lowercase();
    if host == inner.cfg.cf_domain.to_ascii_lowercase() {
        return Route::Role(Role::Cf);
    }
    let deferred = Uri::parse(&inner.cfg.deferred_mgmt_uri).ok();
    if deferred
        .as_ref()
        .is_some_and(|d| d.same_address(&uri) || d.host.eq_ignore_ascii_case(&host))
    {
        return Route::Role(Role::Pf);
    }
    if host == inner.cfg.domain.to_ascii_lowercase() {
        if st.registrar.is_registered(&Aor::of(&uri)) {
            return Route::Proxy;
        }
        return Route::Role(user_role(&uri));
    }
    Route::Role(user_role(&uri))
}

/// The role a Request-URI of no service names: its user part, else the core.
fn user_role(uri: &Uri) -> Role {
    uri.user.as_deref().map_or(Role::Core, Role::parse)
}

/// Identifiers keyed by a message (its Call-ID, From tag, CSeq and method) rather than drawn in
/// turn from the shared generator: tasks of the sim run concurrently (a reg-event NOTIFY beside a
/// scripted INVITE), so drawing in turn would make the identifiers depend on scheduling.
fn keyed_ids(seed: u64, what: &str, msg: &Message) -> IdGen {
    let from_tag = msg.from_tag().unwrap_or_default();
    let key = format!(
        "{what} {} {from_tag} {} {}",
        msg.call_id().unwrap_or_default(),
        msg.cseq_number().unwrap_or_default(),
        msg.method()
            .map(|m| m.as_str().to_owned())
            .unwrap_or_default()
    );
    IdGen::derived(seed, &key)
}

/// Handles one new request: classifies it, records the observation in arrival order, then
/// hands the answering to a task.
fn on_request(inner: &Arc<Inner>, tx: ServerTx) {
    let flow = Flow {
        addr: tx.source,
        transport: tx.transport,
    };
    let (route, action, to_tag) = {
        let mut st = inner.state();
        let route = classify(inner, &st, &tx.request);
        let to_tag = keyed_ids(inner.cfg.seed, "to-tag", &tx.request).tag();
        let action = match &route {
            Route::Proxy | Route::NoDialog => None,
            Route::Role(role) => {
                let method = tx.request.method().cloned().unwrap_or(Method::Ack);
                if let Some(cid) = tx.request.call_id() {
                    // Only an observed run labels its trace by Call-ID afterwards
                    // ([`Network::role_of_call_id`]); a server nobody observes keeps nothing
                    // per request.
                    if inner.cfg.observe {
                        st.routing.note_call_role(cid, role);
                    }
                    // A MESSAGE, OPTIONS or PUBLISH never creates a dialog (RFC 3428 4,
                    // RFC 3261 11, RFC 3903 4): its answer's tag routes nothing later, and a
                    // request carrying it matches no dialog (481, RFC 3261 12.2.2).
                    let dialogless =
                        matches!(method, Method::Message | Method::Options | Method::Publish);
                    if !dialogless && tx.request.to_tag().is_none() {
                        st.routing.set_tag_role(cid, &to_tag, role);
                    }
                }
                if method == Method::Ack {
                    None
                } else {
                    st.script.action_for(role, &tx.request)
                }
            }
        };
        (route, action, to_tag)
    };
    let role = match route {
        Route::Proxy => {
            inner.observe(
                "proxy",
                ObservedKind::SipRequest {
                    msg: tx.as_sent(),
                    handle: None,
                },
            );
            let i = inner.clone();
            inner.spawn(async move { proxy::forward_request(&i, tx).await });
            return;
        }
        Route::NoDialog => {
            inner.observe(
                Role::Core.as_str(),
                ObservedKind::SipRequest {
                    msg: tx.as_sent(),
                    handle: None,
                },
            );
            if tx.request.method() != Some(&Method::Ack) {
                // RFC 3261 12.2.2: a request with a To tag matching no existing dialog "SHOULD"
                // be rejected with 481 (Call/Transaction Does Not Exist).
                let resp = response_to(&tx.request, StatusCode(481), None);
                inner.spawn(async move {
                    let _ = tx.respond(resp).await;
                });
            }
            return;
        }
        Route::Role(r) => r,
    };
    // RFC 3261 8.1.1: a valid request "MUST, at a minimum, contain" Max-Forwards (among To,
    // From, CSeq, Call-ID and Via, which the stack already requires). The core answering as the
    // UAS rejects it with 400 naming the header (21.4.1); a proxied request without it is
    // forwarded (16.3 step 3: "If the request does not contain a Max-Forwards header field,
    // this check is passed"). The codec's finding reports it either way.
    if tx.request.header("Max-Forwards").is_none() && tx.request.method() != Some(&Method::Ack) {
        inner.observe(
            role.as_str(),
            ObservedKind::SipRequest {
                msg: tx.as_sent(),
                handle: None,
            },
        );
        let mut resp = response_to(&tx.request, StatusCode(400), Some(&to_tag));
        if let cpmconf_codec::sip::StartLine::Response(l) = &mut resp.start {
            l.reason = "Missing Max-Forwards".into();
        }
        inner.spawn(async move {
            let _ = tx.respond(resp).await;
        });
        return;
    }
    let held = Arc::new(Held {
        role: role.clone(),
        tx,
        flow,
        to_tag,
    });
    // Without an observer the request is not copied for one.
    if inner.cfg.observe {
        let handle = matches!(action, Some(Action::Hold)).then(|| PendingRequest {
            inner: inner.clone(),
            held: held.clone(),
        });
        inner.observe(
            role.as_str(),
            ObservedKind::SipRequest {
                msg: held.tx.as_sent(),
                handle,
            },
        );
    }
    let i = inner.clone();
    inner.spawn(async move {
        let r = match action {
            Some(Action::Reply { code, headers }) => respond(
                &i,
                &held,
                code,
                ResponseSpec {
                    headers,
                    ..ResponseSpec::default()
                },
            )
            .await
            .map(|_| ()),
            Some(Action::Hold) => {
                if held.tx.request.method() == Some(&Method::Invite) {
                    let r = respond(&i, &held, 100, ResponseSpec::default())
                        .await
                        .map(|_| ());
                    // The stack answers a CANCEL itself (200, and 487 to the INVITE) and keeps
                    // the CANCEL as it arrived; the engine observes it.
                    let (i2, h2) = (i.clone(), held.clone());
                    i.spawn(async move {
                        if h2.tx.cancelled().await {
                            let Some(cancel) = h2.tx.cancel_request() else {
                                return;
                            };
                            i2.observe(
                                h2.role.as_str(),
                                ObservedKind::SipRequest {
                                    msg: cancel,
                                    handle: None,
                                },
                            );
                        }
                    });
                    r
                } else {
                    Ok(())
                }
            }
            None => auto_handle(&i, &held).await,
        };
        // A failed answer (transport gone) leaves nothing else to do; the client's
        // retransmission or timeout shows in the observations.
        drop(r);
    });
}

/// The SDP offer of a request: its body, or the `application/sdp` part of a multipart body.
pub(crate) fn sdp_of(msg: &Message) -> Option<SessionDescription> {
    let body = msg.body_part("application/sdp")?.ok()?;
    SessionDescription::parse(&body).ok().map(|d| d.value)
}

/// Answers a held request (see [`PendingRequest::respond`]).
pub(crate) async fn respond(
    inner: &Arc<Inner>,
    held: &Held,
    code: u16,
    spec: ResponseSpec,
) -> Result<Option<SessionId>, SimError> {
    let req = &held.tx.request;
    let method = req.method().cloned().unwrap_or(Method::Ack);
    let status = StatusCode(code);
    let in_dialog = req.to_tag().is_some();
    let tag = (code > 100).then_some(held.to_tag.as_str());
    let mut resp = response_to(req, status, tag);
    if let Some(r) = &spec.reason {
        if let cpmconf_codec::sip::StartLine::Response(l) = &mut resp.start {
            l.reason = r.clone().into();
        }
    }
    resp.headers.push("Server", inner.cfg.server.clone());
    for (n, v) in &spec.headers {
        resp.headers.push(n.clone(), v.clone());
    }
    let creates_dialog =
        status.is_success() && !in_dialog && matches!(method, Method::Invite | Method::Subscribe);
    let with_contact = creates_dialog || (status.is_success() && method == Method::Invite);
    let contact = with_contact.then(|| {
        spec.contact
            .clone()
            .unwrap_or_else(|| inner.role_contact(&held.role))
    });
    if let Some(c) = &contact {
        resp.headers.push("Contact", c.clone());
    }
    let mut plan: Option<MediaPlan> = None;
    match &spec.body {
        Body::None => {}
        Body::Sdp(_) => {
            let offer = sdp_of(req)
                .ok_or_else(|| SimError::Invalid("the request carries no SDP offer".into()))?;
            let (bytes, p) = media::answer(inner, &held.role, &offer).await?;
            resp.set_body("application/sdp", bytes);
            plan = Some(p);
        }
        Body::Cpim(c) => resp.set_body("message/cpim", c.to_bytes()),
        Body::Raw {
            content_type,
            bytes,
        } => resp.set_body(content_type, bytes.clone()),
    }
    // The first final response's time, noted as it is handed to the transaction (before the
    // send, so whoever holds the response finds it noted; taken back if the send fails).
    let noted = match (req.call_id(), req.cseq_number()) {
        (Some(cid), Some(n)) if code >= 200 && inner.cfg.observe => {
            let key = (cid.to_string(), n);
            let mut st = inner.state();
            (!st.answered.contains_key(&key)).then(|| {
                st.answered.insert(key.clone(), tokio::time::Instant::now());
                key
            })
        }
        _ => None,
    };
    if let Err(e) = held.tx.respond(resp).await {
        if let Some(key) = noted {
            inner.state().answered.remove(&key);
        }
        return Err(e.into());
    }
    let mut session = None;
    if creates_dialog {
        if let Ok(mut d) = Dialog::uas(req, &held.to_tag) {
            d.local_contact = contact;
            let mut st = inner.state();
            let h = st.next_id();
            let entry = DialogEntry {
                dialog: d,
                role: held.role.clone(),
                flow: held.flow,
                session: None,
                conference: None,
            };
            st.dialogs.insert(h, entry);
            drop(st);
            if let Some(p) = plan.take() {
                let sid = media::start_session(inner, p, Vec::new());
                if let Some(e) = inner.state().dialogs.get_mut(&h) {
                    e.session = Some(sid);
                }
                session = Some(sid);
            }
        }
    }
    if let Some(p) = plan {
        // An answer in an existing dialog (re-INVITE): the new session becomes the dialog's.
        let sid = media::start_session(inner, p, Vec::new());
        let old = {
            let mut st = inner.state();
            let h = dialog_for(&st, req);
            h.and_then(|h| st.dialogs.get_mut(&h))
                .and_then(|e| e.session.replace(sid))
        };
        if let Some(old) = old {
            let _ = media::close(inner, old).await;
        }
        session = Some(sid);
    }
    Ok(session)
}

/// The dialog an in-dialog request belongs to.
pub(crate) fn dialog_for(st: &State, req: &Message) -> Option<DialogHandle> {
    let cid = req.call_id()?;
    let to_tag = req.to_tag()?;
    st.dialogs
        .iter()
        .find(|(_, d)| d.dialog.id.call_id == cid && d.dialog.id.local_tag == to_tag)
        .map(|(h, _)| *h)
}

/// The default handling of a request by its role.
pub(crate) async fn auto_handle(inner: &Arc<Inner>, held: &Held) -> Result<(), SimError> {
    let req = &held.tx.request;
    let method = req.method().cloned().unwrap_or(Method::Ack);
    let in_dialog = req.to_tag().is_some();
    let event = req
        .header("Event")
        .map(|e| Event::parse_lenient(e).package.to_ascii_lowercase());
    if in_dialog && method != Method::Ack {
        let mut st = inner.state();
        if let Some(h) = dialog_for(&st, req) {
            if let Some(e) = st.dialogs.get_mut(&h) {
                let _ = e.dialog.handle_request(req);
            }
        }
    }
    let ok = ResponseSpec::default();
    match method {
        Method::Ack => Ok(()),
        Method::Register => registrar::on_register(inner, held).await,
        Method::Subscribe if event.as_deref() == Some("reg") => {
            registrar::on_subscribe(inner, held).await
        }
        Method::Subscribe if event.as_deref() == Some("conference") && held.role == Role::Cf => {
            focus::on_subscribe(inner, held).await
        }
        Method::Subscribe => respond(inner, held, 489, ok).await.map(|_| ()),
        Method::Bye => {
            let session = {
                let mut st = inner.state();
                let h = dialog_for(&st, req);
                h.and_then(|h| st.dialogs.get_mut(&h))
                    .and_then(|e| e.session.take())
            };
            respond(inner, held, 200, ok).await?;
            if let Some(s) = session {
                let _ = media::close(inner, s).await;
            }
            Ok(())
        }
        Method::Invite if in_dialog => {
            let body = if sdp_of(req).is_some_and(|s| s.msrp_media().is_some()) {
                Body::Sdp(crate::spec::SdpOffer::chat())
            } else {
                Body::None
            };
            let spec = ResponseSpec {
                body,
                ..ResponseSpec::default()
            };
            respond(inner, held, 200, spec).await.map(|_| ())
        }
        Method::Invite if held.role == Role::Cf => focus::on_invite(inner, held).await,
        Method::Invite => {
            if sdp_of(req).is_some_and(|s| s.msrp_media().is_some()) {
                let spec = ResponseSpec {
                    body: Body::Sdp(crate::spec::SdpOffer::chat()),
                    ..ResponseSpec::default()
                };
                respond(inner, held, 200, spec).await.map(|_| ())
            } else {
                // RFC 3261 13.3.1.3: no acceptable media.
                respond(inner, held, 488, ok).await.map(|_| ())
            }
        }
        Method::Refer if held.role == Role::Cf => focus::on_refer(inner, held).await,
        Method::Refer => respond(inner, held, 202, ok).await.map(|_| ()),
        Method::Message
        | Method::Notify
        | Method::Options
        | Method::Update
        | Method::Info
        | Method::Prack
        | Method::Publish => respond(inner, held, 200, ok).await.map(|_| ()),
        Method::Cancel => Ok(()),
        Method::Extension(_) => respond(inner, held, 501, ok).await.map(|_| ()),
    }
}

/// Sends a request as `role` and follows its responses in a task.
pub(crate) async fn send_request(
    inner: &Arc<Inner>,
    role: &Role,
    spec: RequestSpec,
    pushes: Vec<Push>,
) -> Result<SentRequest, SimError> {
    let method = spec.method.clone();
    let (mut msg, flow) = match &spec.target {
        Target::Aor(aor) => {
            let binding = registrar::lookup(inner, aor)
                .ok_or_else(|| SimError::NotRegistered(aor.clone()))?;
            let mut st = inner.state();
            let tag = st.ids.tag();
            let call_id = format!("{}@sim", st.ids.token(20));
            drop(st);
            let from = spec.from.clone().unwrap_or_else(|| inner.role_uri(role));
            let mut m = Message::request(method.clone(), binding.uri.clone());
            m.headers.push("From", format!("<{from}>;tag={tag}"));
            m.headers.push("To", format!("<{}>", Aor::parse(aor)));
            m.headers.push("Call-ID", call_id);
            m.headers.push("CSeq", format!("1 {}", method.as_str()));
            if matches!(method, Method::Invite | Method::Subscribe | Method::Refer) {
                let c = spec
                    .contact
                    .clone()
                    .unwrap_or_else(|| inner.role_contact(role));
                m.headers.push("Contact", c);
            }
            (m, binding.flow)
        }
        Target::Dialog(h) => {
            let mut st = inner.state();
            let e = st.dialogs.get_mut(h).ok_or(SimError::Unknown {
                what: "dialog",
                id: *h,
            })?;
            let mut m = e.dialog.request(method.clone());
            if let Some(c) = &spec.contact {
                m.headers.set("Contact", c.clone());
            }
            (m, e.flow)
        }
    };
    let branch = keyed_ids(inner.cfg.seed, "branch", &msg).branch();
    msg.headers
        .push_front("Via", inner.via(flow.transport, &branch).to_string());
    msg.headers.push("Max-Forwards", "70");
    msg.headers.push("User-Agent", inner.cfg.server.clone());
    for (n, v) in &spec.headers {
        msg.headers.push(n.clone(), v.clone());
    }
    if matches!(spec.target, Target::Aor(_)) {
        crate::stimulus::complete_request(&mut msg, &spec.body);
    }
    let mut plan = None;
    match &spec.body {
        Body::None => {}
        Body::Sdp(offer) => {
            let (bytes, p) = media::offer(inner, role, offer).await?;
            msg.set_body("application/sdp", bytes);
            plan = Some(p);
        }
        Body::Cpim(c) => msg.set_body("message/cpim", c.to_bytes()),
        Body::Raw {
            content_type,
            bytes,
        } => msg.set_body(content_type, bytes.clone()),
    }
    let call_id = msg.call_id().unwrap_or_default().to_owned();
    let (id, cancel_rx) = {
        let mut st = inner.state();
        st.routing.set_call_role(&call_id, role);
        if let Some(tag) = msg.from_tag() {
            st.routing.set_tag_role(&call_id, &tag, role);
        }
        let id = st.next_id();
        let (ctx, crx) = mpsc::unbounded_channel();
        if method == Method::Invite {
            st.cancels.insert(id, ctx);
        }
        (id, crx)
    };
    let ctx = inner
        .ep
        .send_request(msg, flow.addr, flow.transport)
        .await?;
    let request = ctx.request().clone();
    let i = inner.clone();
    let role = role.clone();
    inner.spawn(async move {
        follow(i, id, role, flow, ctx, plan, pushes, cancel_rx).await;
    });
    Ok(SentRequest {
        id,
        call_id,
        method,
        request,
    })
}

/// Follows the responses to a request of the sim: observes them, ACKs a 2xx to INVITE, sets
/// up the dialog and the MSRP session, and sends a CANCEL when asked.
#[allow(clippy::too_many_arguments)]
async fn follow(
    inner: Arc<Inner>,
    id: RequestId,
    role: Role,
    flow: Flow,
    mut ctx: cpmconf_stack::sip::ClientTx,
    mut plan: Option<MediaPlan>,
    pushes: Vec<Push>,
    mut cancel_rx: mpsc::UnboundedReceiver<CancelReply>,
) {
    let request = ctx.request().clone();
    let method = request.method().cloned().unwrap_or(Method::Ack);
    let mut dialog: Option<DialogHandle> = None;
    let mut pushes = Some(pushes);
    loop {
        let resp = tokio::select! {
            r = ctx.next() => r,
            Some((extra, reply)) = cancel_rx.recv() => {
                let extra: Vec<(&str, &str)> =
                    extra.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
                let r = match ctx.cancel_with(&extra).await {
                    Ok(cancel_tx) => {
                        let cid = inner.state().next_id();
                        let i = inner.clone();
                        let role = role.clone();
                        inner.spawn(async move {
                            let mut c = cancel_tx;
                            while let Ok(m) = c.next().await {
                                let fin = m.status().is_some_and(|s| s.is_final());
                                i.observe(role.as_str(), ObservedKind::SipResponse { msg: m, to_request: cid });
                                if fin { break; }
                            }
                        });
                        Ok(cid)
                    }
                    Err(e) => Err(SimError::Stack(e)),
                };
                let _ = reply.send(r);
                continue;
            }
        };
        let Ok(resp) = resp else { break };
        let status = resp.status().unwrap_or(StatusCode(0));
        let setup_needed = status.is_success()
            && matches!(method, Method::Invite | Method::Subscribe)
            && dialog.is_none();
        if !setup_needed {
            inner.observe(
                role.as_str(),
                ObservedKind::SipResponse {
                    msg: resp.clone(),
                    to_request: id,
                },
            );
        }
        if status.is_success() && matches!(method, Method::Invite | Method::Subscribe) {
            if dialog.is_none() {
                if let Ok(d) = Dialog::uac(&request, &resp) {
                    let mut st = inner.state();
                    let existing = request.to_tag().and_then(|_| dialog_for_uac(&st, &request));
                    let h = match existing {
                        Some(h) => h,
                        None => {
                            let h = st.next_id();
                            st.dialogs.insert(
                                h,
                                DialogEntry {
                                    dialog: d,
                                    role: role.clone(),
                                    flow,
                                    session: None,
                                    conference: None,
                                },
                            );
                            h
                        }
                    };
                    st.request_dialogs.insert(id, h);
                    dialog = Some(h);
                }
                if let (Some(p), Some(answer)) = (plan.take(), sdp_of(&resp)) {
                    let remote = answer
                        .msrp_media()
                        .and_then(|m| m.path())
                        .and_then(Result::ok)
                        .unwrap_or_default();
                    let active = answer
                        .msrp_media()
                        .and_then(|m| m.setup())
                        .is_none_or(|s| s == cpmconf_codec::sdp::Setup::Passive);
                    let p = p.with_remote(remote, active);
                    let sid = media::start_session(&inner, p, pushes.take().unwrap_or_default());
                    if let Some(h) = dialog {
                        if let Some(e) = inner.state().dialogs.get_mut(&h) {
                            e.session = Some(sid);
                        }
                    }
                }
            }
            if setup_needed {
                // Observed once the dialog and MSRP session exist, so the engine can use them.
                inner.observe(
                    role.as_str(),
                    ObservedKind::SipResponse {
                        msg: resp.clone(),
                        to_request: id,
                    },
                );
            }
            if method == Method::Invite {
                let ack = {
                    let st = inner.state();
                    dialog
                        .and_then(|h| st.dialogs.get(&h))
                        .map(|e| e.dialog.ack_for(request.cseq_number().unwrap_or(1)))
                };
                if let Some(mut ack) = ack {
                    let branch = keyed_ids(inner.cfg.seed, "branch", &ack).branch();
                    ack.headers
                        .push_front("Via", inner.via(flow.transport, &branch).to_string());
                    ack.headers.push("Max-Forwards", "70");
                    ack.headers.push("User-Agent", inner.cfg.server.clone());
                    let _ = inner.ep.send_ack(ack, flow.addr, flow.transport).await;
                }
            }
        }
        if status.is_final() && (method != Method::Invite || !status.is_success()) {
            break;
        }
    }
    inner.state().cancels.remove(&id);
}

fn dialog_for_uac(st: &State, req: &Message) -> Option<DialogHandle> {
    let cid = req.call_id()?;
    let from_tag = req.from_tag()?;
    st.dialogs
        .iter()
        .find(|(_, d)| d.dialog.id.call_id == cid && d.dialog.id.local_tag == from_tag)
        .map(|(h, _)| *h)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server nobody observes (`cpmconf serve`) answers many pager MESSAGEs and keeps no
    /// per-request routing entry, and its task list stays bounded by what is live.
    #[tokio::test]
    async fn answered_messages_leave_no_per_request_state() {
        const N: usize = 60;
        tokio::time::timeout(Duration::from_secs(20), async {
            let mut cfg = NetConfig::new();
            cfg.sip_port = 0;
            cfg.observe = false;
            let net = Network::start(cfg).await.expect("network");
            let ua = SipEndpoint::bind(EndpointConfig::new("ua"))
                .await
                .expect("ua");
            for i in 0..N {
                let m = Message::request(Method::Message, "sip:bob@cpm.test")
                    .with_header("From", "<sip:alice@cpm.test>;tag=a")
                    .with_header("To", "<sip:bob@cpm.test>")
                    .with_header("Call-ID", format!("pager-{i}"))
                    .with_header("CSeq", "1 MESSAGE");
                let mut tx = ua
                    .send_request(m, net.core_addr(), Transport::Udp)
                    .await
                    .expect("send");
                let r = tx
                    .final_response(Duration::from_secs(5))
                    .await
                    .expect("answer");
                assert_eq!(r.status(), Some(StatusCode::OK));
            }
            let st = net.inner.state();
            assert_eq!(st.routing.per_call_entries(), (0, 0), "call and tag roles");
            drop(st);
            let tasks = net
                .inner
                .tasks
                .lock()
                .map(|t| t.len())
                .unwrap_or(usize::MAX);
            assert!(
                tasks < N / 2,
                "{tasks} task handles kept after {N} requests"
            );
        })
        .await
        .expect("deadline");
    }
}
