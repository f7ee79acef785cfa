//! MSRP for the roles: each role's own listening endpoint, SDP offers and answers naming it,
//! and one task per session that connects or accepts, reports every frame the client sends
//! as an observation, and sends what the engine asks.

use crate::network::Inner;
use crate::observe::{Mode, ObservedKind};
use crate::role::Role;
use crate::spec::{OfferKind, SdpOffer, SessionId};
use crate::SimError;
use cpmconf_codec::msrp::MsrpUri;
use cpmconf_codec::msrp::{ByteRange, Message as MsrpMessage, Method as MsrpMethod};
use cpmconf_codec::sdp::{
    chat_answer, chat_offer, file_answer, file_offer, MsrpMedia, Origin, SessionDescription, Setup,
};
use cpmconf_stack::msrp::{
    MsrpConnection, MsrpEndpoint, MsrpError, ResponsePolicy, SendOptions, SessionConfig,
    SessionEvent,
};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// A message to push on a session as soon as it is up (deferred delivery).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// Content-Type of the MSRP body.
    pub content_type: String,
    /// The body.
    pub body: Vec<u8>,
}

/// The byte ranges of the client's SEND chunks a session received and acknowledged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// (first, last) byte of every chunk with bytes received.
    received: Vec<(u64, u64)>,
    /// (first, last) byte of every chunk answered with 2xx.
    acknowledged: Vec<(u64, u64)>,
    /// The total of the latest chunk's Byte-Range (`None` for `*`).
    total: Option<u64>,
}

/// What a simulated role received of one message the client sent in chunks (CR 7.4.5): judged
/// from the wire, as the role saw it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransferProgress {
    /// The last byte of the prefix from byte 1 that the role acknowledged with 2xx without a
    /// gap (0: none). A chunk acknowledged after a gap does not count: the client may resume
    /// from the gap.
    pub acknowledged: u64,
    /// The last byte of any chunk the role received (0: none).
    pub received: u64,
    /// The message's size from the Byte-Range total (`None` when `*`).
    pub total: Option<u64>,
}

impl Progress {
    fn chunk_range(chunk: &MsrpMessage) -> Option<ByteRange> {
        if chunk.body.is_empty() {
            return None;
        }
        let r = chunk.byte_range()?.ok()?;
        Some(r)
    }

    fn received(&mut self, chunk: &MsrpMessage) {
        if let Some(r) = Progress::chunk_range(chunk) {
            let last = r.start + chunk.body.len() as u64 - 1;
            self.received.push((r.start, last));
            self.total = r.total;
        }
    }

    fn acknowledged(&mut self, chunk: &MsrpMessage) {
        if let Some(r) = Progress::chunk_range(chunk) {
            self.acknowledged
                .push((r.start, r.start + chunk.body.len() as u64 - 1));
        }
    }

    /// The summary the engine judges.
    pub fn summary(&self) -> TransferProgress {
        let mut acked = self.acknowledged.clone();
        acked.sort_unstable();
        let mut prefix = 0;
        for (first, last) in acked {
            if first > prefix + 1 {
                break;
            }
            prefix = prefix.max(last);
        }
        TransferProgress {
            acknowledged: prefix,
            received: self.received.iter().map(|r| r.1).max().unwrap_or(0),
            total: self.total,
        }
    }
}

/// The sim's MSRP sessions: the command channel of each, how each role answers the client's
/// SEND chunks ([`Mode::Manual`]: held), the chunks held unanswered by (session, transaction
/// id), and what each session received and acknowledged with 2xx.
#[derive(Default)]
pub(crate) struct MsrpState {
    sessions: HashMap<SessionId, mpsc::UnboundedSender<MsrpCmd>>,
    modes: HashMap<Role, Mode>,
    held: HashSet<(SessionId, String)>,
    progress: HashMap<SessionId, Progress>,
    /// Why each ended session ended (what its `MsrpClosed` observation says) and whether the
    /// client's side ended it, for the error of a command that came too late.
    ended: HashMap<SessionId, (String, bool)>,
}

impl MsrpState {
    /// Sets how `role`'s sessions answer SEND chunks that carry bytes.
    pub fn set_mode(&mut self, role: Role, mode: Mode) {
        self.modes.insert(role, mode);
    }

    /// What `session` received and acknowledged, if it received a chunk with bytes.
    pub fn progress(&self, session: SessionId) -> Option<TransferProgress> {
        self.progress.get(&session).map(Progress::summary)
    }

    /// Removes every session's command channel (their tasks end).
    pub fn take_sessions(&mut self) -> Vec<mpsc::UnboundedSender<MsrpCmd>> {
        self.sessions.drain().map(|(_, s)| s).collect()
    }
}

/// How a role's session answers the client's SEND chunks: records what it received and
/// acknowledged, and holds the chunks of a role in [`Mode::Manual`] for the engine.
struct RolePolicy {
    inner: Arc<Inner>,
    role: Role,
    session: SessionId,
}

impl ResponsePolicy for RolePolicy {
    fn response_code(&mut self, _chunk: &MsrpMessage) -> Option<(u16, Option<String>)> {
        None
    }

    fn withhold(&mut self, chunk: &MsrpMessage) -> bool {
        if chunk.body.is_empty() || chunk.method() != Some(&MsrpMethod::Send) {
            return false;
        }
        let mut st = self.inner.state();
        let hold = st.msrp.modes.get(&self.role) == Some(&Mode::Manual);
        let p = st.msrp.progress.entry(self.session).or_default();
        p.received(chunk);
        if hold {
            st.msrp.held.insert((self.session, chunk.tid.clone()));
        } else {
            p.acknowledged(chunk);
        }
        hold
    }
}

/// What a session task is asked to do.
pub(crate) enum MsrpCmd {
    Send {
        content_type: String,
        body: Vec<u8>,
        opts: SendOptions,
        reply: Option<oneshot::Sender<Result<String, SimError>>>,
    },
    Raw {
        bytes: Vec<u8>,
        reply: oneshot::Sender<Result<(), SimError>>,
    },
    Close {
        reply: oneshot::Sender<Result<(), SimError>>,
    },
}

/// The local side of an MSRP session, decided when the SDP is written.
pub(crate) struct MediaPlan {
    role: Role,
    ep: Arc<MsrpEndpoint>,
    local: MsrpUri,
    remote: Vec<MsrpUri>,
    active: bool,
}

impl MediaPlan {
    /// The peer's path and whether the sim connects (learnt from the answer).
    pub fn with_remote(mut self, remote: Vec<MsrpUri>, active: bool) -> MediaPlan {
        self.remote = remote;
        self.active = active;
        self
    }
}

/// The MSRP endpoint of `role`, created on first use.
pub(crate) async fn endpoint(
    inner: &Arc<Inner>,
    role: &Role,
) -> Result<Arc<MsrpEndpoint>, SimError> {
    let mut eps = inner.msrp_eps.lock().await;
    if let Some(e) = eps.get(role) {
        return Ok(e.clone());
    }
    let mut ep = MsrpEndpoint::listen(inner.cfg.ip, inner.cfg.tap.clone()).await?;
    // A client in another process records nothing: what it sends is recorded here.
    if inner.cfg.tap_received {
        ep = ep.record_received();
    }
    let ep = Arc::new(ep);
    inner.state().routing.set_addr_role(ep.local_addr(), role);
    eps.insert(role.clone(), ep.clone());
    Ok(ep)
}

async fn local_side(
    inner: &Arc<Inner>,
    role: &Role,
) -> Result<(Arc<MsrpEndpoint>, MsrpUri, Origin), SimError> {
    let ep = endpoint(inner, role).await?;
    let (token, sess) = {
        let mut st = inner.state();
        (st.ids.token(12), st.ids.u64() >> 12)
    };
    let uri = ep.local_uri(&token);
    let origin = Origin::new("sim", sess, 1, &inner.cfg.ip.to_string());
    Ok((ep, uri, origin))
}

fn media_for(inner: &Inner, ep: &MsrpEndpoint, uri: MsrpUri) -> MsrpMedia {
    MsrpMedia::chat(&inner.cfg.ip.to_string(), ep.local_addr().port(), vec![uri])
}

/// An offer as `role`, and the plan to set up the session once answered.
pub(crate) async fn offer(
    inner: &Arc<Inner>,
    role: &Role,
    offer: &SdpOffer,
) -> Result<(Vec<u8>, MediaPlan), SimError> {
    let (ep, uri, origin) = local_side(inner, role).await?;
    let mut m = media_for(inner, &ep, uri.clone());
    m.direction = Some(offer.direction);
    let sdp = match &offer.kind {
        OfferKind::Chat => chat_offer(&origin, &m),
        OfferKind::Group => {
            // wire-facts 5: group sessions accept message/cpim only, the rest wrapped.
            m.accept_types = vec!["message/cpim".into()];
            m.accept_wrapped_types = vec![
                "text/plain".into(),
                "message/imdn+xml".into(),
                "application/im-iscomposing+xml".into(),
            ];
            chat_offer(&origin, &m)
        }
        OfferKind::LargeMsg => {
            m.accept_types = vec!["message/cpim".into()];
            m.accept_wrapped_types = vec!["text/plain".into(), "message/imdn+xml".into()];
            chat_offer(&origin, &m)
        }
        OfferKind::File(f) => {
            m.accept_types = vec!["message/cpim".into()];
            if offer.direction == cpmconf_codec::sdp::Direction::RecvOnly {
                // The role receives the file: it takes it as it is (RFC 5547 5: the file's
                // type) or wrapped in CPIM.
                let ty = f.selector.file_type.clone().unwrap_or_else(|| "*".into());
                m.accept_types.push(ty.clone());
                m.accept_wrapped_types = vec![ty];
            }
            file_offer(&origin, &m, f.as_ref())
        }
    };
    let plan = MediaPlan {
        role: role.clone(),
        ep,
        local: uri,
        remote: Vec::new(),
        active: true,
    };
    Ok((sdp.to_bytes(), plan))
}

/// An answer as `role` to an MSRP offer (RFC 4975 8, RFC 6135 setup, RFC 5547 for files).
pub(crate) async fn answer(
    inner: &Arc<Inner>,
    role: &Role,
    offer: &SessionDescription,
) -> Result<(Vec<u8>, MediaPlan), SimError> {
    let om = offer
        .msrp_media()
        .ok_or_else(|| SimError::Invalid("the offer has no MSRP media".into()))?;
    let remote = om
        .path()
        .and_then(Result::ok)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| SimError::Invalid("the offer's a=path is missing or invalid".into()))?;
    let (ep, uri, origin) = local_side(inner, role).await?;
    let mut m = media_for(inner, &ep, uri.clone());
    let offered: Vec<String> = om.accept_types().iter().map(|s| s.to_string()).collect();
    if !offered.is_empty() {
        m.accept_types = offered;
    }
    let wrapped: Vec<String> = om
        .accept_wrapped_types()
        .iter()
        .map(|s| s.to_string())
        .collect();
    if !wrapped.is_empty() {
        m.accept_wrapped_types = wrapped;
    }
    m.direction = Some(offer.effective_direction(om).reversed());
    let sdp = if om.file_selector().is_some() {
        // RFC 5547 8 (and 9 for a resumed transfer): the answerer accepts the range offered.
        file_answer(&origin, offer, &m, om.file_range().and_then(Result::ok))
    } else {
        chat_answer(&origin, offer, &m)
    };
    let active = sdp.msrp_media().and_then(|x| x.setup()) == Some(Setup::Active);
    let plan = MediaPlan {
        role: role.clone(),
        ep,
        local: uri,
        remote,
        active,
    };
    Ok((sdp.to_bytes(), plan))
}

/// Starts the task of a session; `pushes` go out once it is up.
pub(crate) fn start_session(inner: &Arc<Inner>, plan: MediaPlan, pushes: Vec<Push>) -> SessionId {
    let (tx, rx) = mpsc::unbounded_channel();
    for p in pushes {
        let _ = tx.send(MsrpCmd::Send {
            content_type: p.content_type,
            body: p.body,
            opts: SendOptions::default(),
            reply: None,
        });
    }
    let (sid, seed) = {
        let mut st = inner.state();
        let sid = st.next_id();
        st.msrp.sessions.insert(sid, tx);
        (sid, st.ids.u64())
    };
    let mut cfg = SessionConfig::new(vec![plan.local.clone()], plan.remote.clone());
    cfg.seed = Some(seed);
    cfg.emit_frames = true;
    // A received frame is observed before its response goes out, so the observation order is
    // causal: what the client does once it has the response comes later.
    cfg.report_on_receipt = true;
    cfg.policy = Some(Box::new(RolePolicy {
        inner: inner.clone(),
        role: plan.role.clone(),
        session: sid,
    }));
    let timeout = inner.cfg.timers.timeout().max(Duration::from_secs(2));
    let i = inner.clone();
    if plan.active {
        // RFC 6135: the active side connects and binds with an empty SEND.
        let tap = inner.cfg.tap.clone();
        let received = inner.cfg.tap_received;
        inner.spawn(async move {
            let deadline = Instant::now() + timeout;
            let conn = if received {
                MsrpConnection::connect_recording_received(cfg, tap, deadline).await
            } else {
                MsrpConnection::connect(cfg, tap, deadline).await
            };
            serve(i, sid, plan.role, conn, rx).await;
        });
    } else {
        // The passive side waits for the peer's connection on the role's endpoint.
        inner.spawn(async move {
            let conn = plan.ep.accept_session(cfg, Instant::now() + timeout).await;
            serve(i, sid, plan.role, conn, rx).await;
        });
    }
    sid
}

async fn serve(
    inner: Arc<Inner>,
    sid: SessionId,
    role: Role,
    conn: Result<MsrpConnection, MsrpError>,
    mut rx: mpsc::UnboundedReceiver<MsrpCmd>,
) {
    let mut conn = match conn {
        Ok(c) => c,
        Err(e) => {
            let reason = format!("MSRP session not set up: {e}");
            {
                let mut st = inner.state();
                st.msrp.sessions.remove(&sid);
                st.msrp.ended.insert(sid, (reason.clone(), peer_caused(&e)));
            }
            inner.observe(
                role.as_str(),
                ObservedKind::MsrpClosed {
                    session: sid,
                    reason,
                },
            );
            return;
        }
    };
    // Captures show this connection's local address (an ephemeral port on the active side).
    inner
        .state()
        .routing
        .set_addr_role(conn.local_addr(), &role);
    let (reason, by_client) = loop {
        let far = Instant::now() + Duration::from_secs(3600);
        tokio::select! {
            cmd = rx.recv() => match cmd {
                None => {
                    observe_received(&inner, role.as_str(), sid, &mut conn);
                    let _ = conn.close().await;
                    observe_after_close(&inner, role.as_str(), sid, &mut conn).await;
                    break ("closed by the sim".to_owned(), false);
                }
                Some(MsrpCmd::Send { content_type, body, opts, reply }) => {
                    let r = conn
                        .send_message(&content_type, body, opts)
                        .await
                        .map_err(|e| SimError::Msrp(e.to_string()));
                    if let Some(reply) = reply {
                        let _ = reply.send(r);
                    }
                }
                Some(MsrpCmd::Raw { bytes, reply }) => {
                    let r = conn.send_bytes(&bytes).await.map_err(|e| SimError::Msrp(e.to_string()));
                    let _ = reply.send(r);
                }
                Some(MsrpCmd::Close { reply }) => {
                    observe_received(&inner, role.as_str(), sid, &mut conn);
                    let r = conn.close().await.map_err(|e| SimError::Msrp(e.to_string()));
                    let _ = reply.send(r);
                    observe_after_close(&inner, role.as_str(), sid, &mut conn).await;
                    break ("closed by the sim".to_owned(), false);
                }
            },
            ev = conn.next_event(far) => match ev {
                Ok(SessionEvent::Frame(f)) => {
                    inner.observe(role.as_str(), ObservedKind::Msrp { frame: *f, session: sid });
                }
                Ok(SessionEvent::Closed { unparsed_bytes }) => {
                    break (format!("closed by the peer ({unparsed_bytes} bytes of an unfinished frame)"), true);
                }
                Ok(SessionEvent::Error(e)) => break (format!("undecodable MSRP: {e}"), true),
                Ok(_) => {}
                Err(MsrpError::Timeout(_)) => {}
                // The connection failed under the role while it read.
                Err(e) => break (e.to_string(), peer_caused(&e)),
            },
        }
    };
    {
        let mut st = inner.state();
        st.msrp.sessions.remove(&sid);
        st.msrp.ended.insert(sid, (reason.clone(), by_client));
    }
    inner.observe(
        role.as_str(),
        ObservedKind::MsrpClosed {
            session: sid,
            reason,
        },
    );
}

/// Whether a failed MSRP set-up or read is the client's doing: it did not connect or answer in
/// time, sent nothing decodable, refused the binding SEND, offered no usable path, closed or
/// reset the connection, or its path could not be reached. A local socket failure (out of file
/// descriptors on accept, say) is the harness's, and a command on that session an `error`.
fn peer_caused(e: &MsrpError) -> bool {
    use std::io::ErrorKind as K;
    match e {
        MsrpError::Io(io) => matches!(
            io.kind(),
            K::ConnectionRefused
                | K::ConnectionReset
                | K::ConnectionAborted
                | K::BrokenPipe
                | K::NotConnected
                | K::UnexpectedEof
                | K::TimedOut
                | K::HostUnreachable
                | K::NetworkUnreachable
        ),
        MsrpError::Timeout(_)
        | MsrpError::Decode(_)
        | MsrpError::BindRejected(_)
        | MsrpError::Closed
        | MsrpError::Path(_) => true,
    }
}

/// The error of a command on `session` whose task has ended: why it ended, when known.
fn ended(inner: &Inner, session: SessionId) -> SimError {
    match sender(inner, session) {
        Err(e @ SimError::SessionEnded { .. }) => e,
        _ => SimError::Msrp("the session has ended".into()),
    }
}

/// Observes the frames already received on `conn` that the loop has not taken yet (the session
/// is being closed while they wait): nothing the client sent goes unjudged.
fn observe_received(inner: &Inner, role: &str, sid: SessionId, conn: &mut MsrpConnection) {
    while let Some(ev) = conn.take_event() {
        if let SessionEvent::Frame(f) = ev {
            inner.observe(
                role,
                ObservedKind::Msrp {
                    frame: *f,
                    session: sid,
                },
            );
        }
    }
}

/// How long a role keeps reading a connection it closed (its FIN sent) for what the client
/// still sends before it closes too: a chunk after the client's own BYE is on the wire and is
/// judged (a client that closes at once ends this at once).
const READ_AFTER_CLOSE: Duration = Duration::from_millis(500);

/// Observes what the client sends on `conn` after the role closed it, until the client closes
/// its side or [`READ_AFTER_CLOSE`] passes.
async fn observe_after_close(inner: &Inner, role: &str, sid: SessionId, conn: &mut MsrpConnection) {
    let deadline = Instant::now() + READ_AFTER_CLOSE;
    loop {
        match conn.next_event(deadline).await {
            Ok(SessionEvent::Frame(f)) => inner.observe(
                role,
                ObservedKind::Msrp {
                    frame: *f,
                    session: sid,
                },
            ),
            Ok(SessionEvent::Closed { .. }) | Ok(SessionEvent::Error(_)) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

fn sender(inner: &Inner, session: SessionId) -> Result<mpsc::UnboundedSender<MsrpCmd>, SimError> {
    let st = inner.state();
    if let Some(tx) = st.msrp.sessions.get(&session) {
        return Ok(tx.clone());
    }
    Err(match st.msrp.ended.get(&session) {
        Some((reason, by_client)) => SimError::SessionEnded {
            reason: reason.clone(),
            by_client: *by_client,
        },
        None => SimError::Unknown {
            what: "MSRP session",
            id: session,
        },
    })
}

/// Sends a message on a session.
pub(crate) async fn send(
    inner: &Inner,
    session: SessionId,
    content_type: &str,
    body: Vec<u8>,
    opts: SendOptions,
) -> Result<String, SimError> {
    let (tx, rx) = oneshot::channel();
    sender(inner, session)?
        .send(MsrpCmd::Send {
            content_type: content_type.to_owned(),
            body,
            opts,
            reply: Some(tx),
        })
        .map_err(|_| ended(inner, session))?;
    rx.await.map_err(|_| ended(inner, session))?
}

/// Writes raw bytes on a session.
pub(crate) async fn send_raw(
    inner: &Inner,
    session: SessionId,
    bytes: Vec<u8>,
) -> Result<(), SimError> {
    let (tx, rx) = oneshot::channel();
    sender(inner, session)?
        .send(MsrpCmd::Raw { bytes, reply: tx })
        .map_err(|_| ended(inner, session))?;
    rx.await.map_err(|_| ended(inner, session))?
}

/// Answers a SEND chunk the session holds (see [`RolePolicy`]).
pub(crate) async fn respond(
    inner: &Inner,
    session: SessionId,
    request: &MsrpMessage,
    code: u16,
) -> Result<(), SimError> {
    if !inner
        .state()
        .msrp
        .held
        .remove(&(session, request.tid.clone()))
    {
        return Err(SimError::Invalid(format!(
            "the MSRP session holds no SEND with transaction id {} (only chunks held by a role in manual mode can be answered)",
            request.tid
        )));
    }
    let bytes = MsrpMessage::response_to(request, code, None).to_bytes();
    send_raw(inner, session, bytes).await?;
    if (200..300).contains(&code) {
        if let Some(p) = inner.state().msrp.progress.get_mut(&session) {
            p.acknowledged(request);
        }
    }
    Ok(())
}

/// Closes a session's connection.
pub(crate) async fn close(inner: &Inner, session: SessionId) -> Result<(), SimError> {
    let (tx, rx) = oneshot::channel();
    sender(inner, session)?
        .send(MsrpCmd::Close { reply: tx })
        .map_err(|_| ended(inner, session))?;
    rx.await.map_err(|_| ended(inner, session))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn io(kind: std::io::ErrorKind) -> MsrpError {
        MsrpError::Io(std::io::Error::from(kind))
    }

    /// Who ended a session that failed: the client (its command is not reached) or the
    /// harness's own socket (an error).
    #[rstest]
    #[case::never_connected(MsrpError::Timeout("an MSRP connection"), true)]
    #[case::path_refused(io(std::io::ErrorKind::ConnectionRefused), true)]
    #[case::reset(io(std::io::ErrorKind::ConnectionReset), true)]
    #[case::host_unreachable(io(std::io::ErrorKind::HostUnreachable), true)]
    #[case::closed(MsrpError::Closed, true)]
    #[case::binding_refused(MsrpError::BindRejected(403), true)]
    #[case::no_usable_path(MsrpError::Path("empty".into()), true)]
    #[case::out_of_descriptors(MsrpError::Io(std::io::Error::from_raw_os_error(24)), false)]
    #[case::address_in_use(io(std::io::ErrorKind::AddrInUse), false)]
    #[case::permission(io(std::io::ErrorKind::PermissionDenied), false)]
    fn a_failed_session_is_blamed_on_whoever_failed_it(#[case] e: MsrpError, #[case] client: bool) {
        assert_eq!(peer_caused(&e), client, "{e}");
    }

    fn chunk(range: &str, len: usize) -> MsrpMessage {
        let raw = format!(
            "MSRP t SEND\r\nTo-Path: msrp://127.0.0.1:1/a;tcp\r\nFrom-Path: msrp://127.0.0.1:2/b;tcp\r\nMessage-ID: m\r\nByte-Range: {range}\r\nContent-Type: text/plain\r\n\r\n{}\r\n-------t+\r\n",
            "x".repeat(len)
        );
        MsrpMessage::parse(raw.as_bytes()).unwrap().value
    }

    #[rstest]
    // The acknowledged prefix stops at the first gap: bytes acknowledged after it do not count.
    #[case::first_only(&[("1-10/30", 10, true), ("11-20/30", 10, false), ("21-30/30", 10, false)], 10, 30)]
    #[case::gap(&[("1-10/30", 10, true), ("11-20/30", 10, false), ("21-30/30", 10, true)], 10, 30)]
    #[case::in_order(&[("1-10/30", 10, true), ("11-20/30", 10, true)], 20, 20)]
    #[case::none(&[("1-10/30", 10, false)], 0, 10)]
    #[case::not_from_one(&[("11-20/30", 10, true)], 0, 20)]
    fn the_acknowledged_prefix_and_the_last_byte_received(
        #[case] chunks: &[(&str, usize, bool)],
        #[case] acknowledged: u64,
        #[case] received: u64,
    ) {
        let mut p = Progress::default();
        for (range, len, ack) in chunks {
            let c = chunk(range, *len);
            p.received(&c);
            if *ack {
                p.acknowledged(&c);
            }
        }
        let s = p.summary();
        assert_eq!(
            (s.acknowledged, s.received, s.total),
            (acknowledged, received, Some(30))
        );
    }
}
