//! The tokio edge of MSRP: a passive listener that matches incoming connections to sessions and
//! an active connector, both driving a sans-IO [`MsrpSession`] over one TCP connection.
//!
//! API:
//! - [`MsrpEndpoint::listen`]`(ip, tap)` binds `ip:0` (a=setup:passive);
//!   [`MsrpEndpoint::local_uri`]`(session_id)` gives the `a=path` URI to put in SDP;
//!   [`MsrpEndpoint::accept_session`]`(config, deadline)` waits for the connection whose first
//!   request names `config.local_path`'s session-id in its To-Path (RFC 4975 7.1.1 / RFC 6714
//!   CEMA matching); connections for other sessions are kept for the other `accept_session`
//!   calls, those waiting already included.
//! - [`MsrpConnection::connect`]`(config, tap, deadline)` (a=setup:active) connects to the
//!   first URI of `config.remote_path`, sends the empty binding SEND and waits for its 2xx
//!   (RFC 6135, RFC 4975 7.1.1).
//! - On a connection: [`MsrpConnection::send_message`] (chunked SENDs, written at once),
//!   [`MsrpConnection::send_raw`] / [`MsrpConnection::send_bytes`] for scripted frames,
//!   [`MsrpConnection::next_event`]`(deadline)` which reads, answers incoming SENDs (responses
//!   and REPORTs are written while waiting) and returns the next [`SessionEvent`], and
//!   [`MsrpConnection::close`].
//!
//! The connection does no work between calls: incoming SENDs are answered while the owner waits
//! in `next_event`. `Bound` and the 2xx to the binding SEND are consumed by `connect` /
//! `accept_session` (with `emit_frames`, the passive side still sees the binding SEND as a `Frame`). A closed TCP connection
//! gives [`SessionEvent::Closed`], undecodable bytes [`SessionEvent::Error`] (with the stream
//! offset); after either, `next_event` returns [`MsrpError::Closed`]. Every wait ends at its
//! deadline with [`MsrpError::Timeout`].
//!
//! Capture: every byte written is reported to the [`Tap`] once (`tcp_data`); the connecting
//! side reports `tcp_open`, the side calling `close` reports `tcp_close`. Received bytes are
//! reported only when asked ([`MsrpEndpoint::record_received`],
//! [`MsrpConnection::connect_recording_received`]): where the peer has no tap of its own (a
//! client in another process), its connection, bytes and close are recorded as they arrive.

use super::session::{MsrpSession, ResponsePolicy, SendOptions, SessionConfig, SessionEvent};
use cpmconf_capture::Tap;
use cpmconf_codec::msrp::{Decoder, Message, MsrpUri};
use cpmconf_codec::{DecodeError, Limits};
use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{timeout_at, Instant};

/// What went wrong on an MSRP connection.
#[derive(Debug, thiserror::Error)]
pub enum MsrpError {
    /// A socket operation failed.
    #[error("MSRP socket: {0}")]
    Io(#[from] io::Error),
    /// A deadline passed before the awaited thing happened.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    /// The peer's first bytes could not be decoded (see [`DecodeError::offset`]).
    #[error("undecodable MSRP from the peer: {0}")]
    Decode(DecodeError),
    /// The binding SEND was answered with an error code.
    #[error("binding SEND answered with {0}")]
    BindRejected(u16),
    /// The connection is closed (or unreadable after a decode error).
    #[error("MSRP connection closed")]
    Closed,
    /// A path has no usable URI.
    #[error("unusable MSRP path: {0}")]
    Path(String),
}

/// A connection read before its session is known.
struct Parked {
    stream: TcpStream,
    session_id: String,
    bytes: Vec<u8>,
}

/// A passive MSRP endpoint listening on one TCP port for any number of sessions.
pub struct MsrpEndpoint {
    listener: TcpListener,
    local_addr: SocketAddr,
    tap: Option<Tap>,
    /// Report what peers send (their connections, bytes and closes) to the tap too.
    tap_received: bool,
    parked: Mutex<Vec<Parked>>,
    /// Woken when a connection is parked: another session's wait may be the one it is for.
    parked_one: tokio::sync::Notify,
}

fn host_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

impl MsrpEndpoint {
    /// Listens on `ip` with a port chosen by the OS.
    pub async fn listen(ip: IpAddr, tap: Option<Tap>) -> io::Result<MsrpEndpoint> {
        let listener = TcpListener::bind(SocketAddr::new(ip, 0)).await?;
        let local_addr = listener.local_addr()?;
        Ok(MsrpEndpoint {
            listener,
            local_addr,
            tap,
            tap_received: false,
            parked: Mutex::new(Vec::new()),
            parked_one: tokio::sync::Notify::new(),
        })
    }

    /// Reports to the tap what peers send on this endpoint's connections too (their
    /// connection, bytes and FIN), for peers that record nothing themselves.
    pub fn record_received(mut self) -> Self {
        self.tap_received = true;
        self
    }

    /// The listening address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `msrp://<ip>:<port>/<session_id>;tcp` for this endpoint.
    pub fn local_uri(&self, session_id: &str) -> MsrpUri {
        MsrpUri::tcp(
            host_text(self.local_addr.ip()),
            self.local_addr.port(),
            session_id,
        )
    }

    fn take_parked(&self, session_id: &str) -> Option<Parked> {
        let mut parked = self.parked.lock().unwrap_or_else(|e| e.into_inner());
        let i = parked.iter().position(|p| p.session_id == session_id)?;
        Some(parked.swap_remove(i))
    }

    /// Waits until a peer connects and sends a first request for `config`'s session (its
    /// To-Path's first URI carries the session-id of our last `local_path` URI), then answers it
    /// and returns the bound connection.
    ///
    /// Several sessions may wait at once: whichever wait accepts a connection reads its first
    /// request, and parks it when it is for another session, waking the other waits to look.
    /// A connection that closes before a whole frame is skipped; one whose first bytes cannot be
    /// decoded ends the wait with [`MsrpError::Decode`].
    pub async fn accept_session(
        &self,
        config: SessionConfig,
        deadline: Instant,
    ) -> Result<MsrpConnection, MsrpError> {
        let want = config
            .local_path
            .last()
            .map(|u| u.session_id.clone())
            .ok_or_else(|| MsrpError::Path("empty local path".into()))?;
        loop {
            // Registered before the look at the parked connections: a connection parked by
            // another wait after the look wakes this one (`notify_waiters` reaches every
            // `Notified` created before it).
            let parked_since = self.parked_one.notified();
            if let Some(p) = self.take_parked(&want) {
                return self.bound(p, config, deadline).await;
            }
            let accepted = timeout_at(deadline, async {
                tokio::select! {
                    // Cancel-safe: a connection not taken stays in the listener's queue.
                    r = self.listener.accept() => Some(r),
                    () = parked_since => None,
                }
            })
            .await
            .map_err(|_| MsrpError::Timeout("an MSRP connection"))?;
            let Some(accepted) = accepted else {
                continue;
            };
            let (stream, peer) = accepted?;
            let received = self.tap.as_ref().filter(|_| self.tap_received);
            if let Some(t) = received {
                t.tcp_open(peer, stream.local_addr().unwrap_or(self.local_addr));
            }
            let Some(parked) = read_first_frame(stream, config.limits, received, deadline).await?
            else {
                continue;
            };
            if parked.session_id == want {
                return self.bound(parked, config, deadline).await;
            }
            self.parked
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(parked);
            self.parked_one.notify_waiters();
        }
    }
}

impl MsrpEndpoint {
    async fn bound(
        &self,
        parked: Parked,
        config: SessionConfig,
        deadline: Instant,
    ) -> Result<MsrpConnection, MsrpError> {
        let mut conn =
            MsrpConnection::bound_passive(parked, config, self.tap.clone(), deadline).await?;
        conn.tap_received = self.tap_received;
        Ok(conn)
    }
}

/// Reads until the first whole frame and names its session; `None` when the peer closes first.
/// With `received`, what the peer sends is reported to that tap as it arrives.
async fn read_first_frame(
    mut stream: TcpStream,
    limits: Limits,
    received: Option<&Tap>,
    deadline: Instant,
) -> Result<Option<Parked>, MsrpError> {
    let mut decoder = Decoder::new(limits);
    let mut bytes = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match decoder.next() {
            Ok(Some(frame)) => {
                let session_id = frame
                    .value
                    .to_path()
                    .ok()
                    .and_then(|p| p.into_iter().next())
                    .map(|u| u.session_id)
                    .unwrap_or_default();
                return Ok(Some(Parked {
                    stream,
                    session_id,
                    bytes,
                }));
            }
            Ok(None) => {}
            Err(e) => return Err(MsrpError::Decode(e)),
        }
        let n = timeout_at(deadline, stream.read(&mut buf))
            .await
            .map_err(|_| MsrpError::Timeout("the first MSRP request"))??;
        if let (Some(t), Ok(local), Ok(peer)) = (received, stream.local_addr(), stream.peer_addr())
        {
            match buf.get(..n) {
                Some(got) if n > 0 => t.tcp_data(peer, local, got),
                _ => t.tcp_close(peer, local),
            }
        }
        if n == 0 {
            return Ok(None);
        }
        let got = buf.get(..n).unwrap_or_default();
        decoder.push(got);
        bytes.extend_from_slice(got);
    }
}

/// One TCP connection carrying one MSRP session.
pub struct MsrpConnection {
    stream: TcpStream,
    local_addr: SocketAddr,
    peer_addr: SocketAddr,
    tap: Option<Tap>,
    /// Report what the peer sends (bytes, FIN) to the tap too.
    tap_received: bool,
    session: MsrpSession,
    backlog: VecDeque<SessionEvent>,
    /// Bytes taken from the session and not all written yet, with how many were: kept when a
    /// caller drops a `flush` midway (a `select!` branch losing), so that no byte is lost or
    /// written twice and the next flush goes on where this one stopped.
    unsent: Option<(Vec<u8>, usize)>,
    buf: Vec<u8>,
    write_timeout: Duration,
    /// `true` (the default): [`Self::next_event`] writes the answers to what produced an event
    /// before reporting it; `false` (`SessionConfig::report_on_receipt`): it reports first.
    answer_first: bool,
    bytes_written: u64,
    closed_by_us: bool,
    finished: bool,
    peer_gone: bool,
}

impl MsrpConnection {
    fn new(stream: TcpStream, session: MsrpSession, tap: Option<Tap>) -> io::Result<Self> {
        Ok(MsrpConnection {
            local_addr: stream.local_addr()?,
            peer_addr: stream.peer_addr()?,
            stream,
            tap,
            tap_received: false,
            session,
            backlog: VecDeque::new(),
            unsent: None,
            buf: vec![0u8; 64 * 1024],
            write_timeout: Duration::from_secs(10),
            answer_first: true,
            bytes_written: 0,
            closed_by_us: false,
            finished: false,
            peer_gone: false,
        })
    }

    async fn bound_passive(
        parked: Parked,
        config: SessionConfig,
        tap: Option<Tap>,
        deadline: Instant,
    ) -> Result<MsrpConnection, MsrpError> {
        let answer_first = !config.report_on_receipt;
        let session = MsrpSession::new(config);
        let mut conn = MsrpConnection::new(parked.stream, session, tap)?;
        conn.answer_first = answer_first;
        conn.session.handle_bytes(&parked.bytes);
        // The binding SEND came first, so its 200 is the first message queued; an observer
        // answers only that one now, and the frames that came with it once reported.
        conn.flush_up_to(deadline, (!answer_first).then_some(1))
            .await?;
        conn.drain_events_until_bound(None)?;
        Ok(conn)
    }

    /// Connects to the first URI of `config.remote_path`, sends the binding empty SEND and waits
    /// for its 2xx (RFC 4975 7.1.1, RFC 6135 active side).
    pub async fn connect(
        config: SessionConfig,
        tap: Option<Tap>,
        deadline: Instant,
    ) -> Result<MsrpConnection, MsrpError> {
        Self::connect_with(config, tap, false, deadline).await
    }

    /// [`Self::connect`], reporting to the tap what the peer sends too (its bytes and FIN), for
    /// a peer that records nothing itself.
    pub async fn connect_recording_received(
        config: SessionConfig,
        tap: Option<Tap>,
        deadline: Instant,
    ) -> Result<MsrpConnection, MsrpError> {
        Self::connect_with(config, tap, true, deadline).await
    }

    async fn connect_with(
        config: SessionConfig,
        tap: Option<Tap>,
        tap_received: bool,
        deadline: Instant,
    ) -> Result<MsrpConnection, MsrpError> {
        let target = config
            .remote_path
            .first()
            .ok_or_else(|| MsrpError::Path("empty remote path".into()))?;
        let host = target
            .host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = target.effective_port();
        let stream = timeout_at(deadline, TcpStream::connect((host.as_str(), port)))
            .await
            .map_err(|_| MsrpError::Timeout("the MSRP TCP connection"))??;
        let answer_first = !config.report_on_receipt;
        let session = MsrpSession::new(config);
        let mut conn = MsrpConnection::new(stream, session, tap)?;
        conn.answer_first = answer_first;
        conn.tap_received = tap_received;
        if let Some(t) = &conn.tap {
            t.tcp_open(conn.local_addr, conn.peer_addr);
        }
        let bind_tid = conn.session.start_bind(Instant::now().into_std());
        loop {
            // The binding SEND, then (before the bind completes) answers to what the peer sent
            // meanwhile. Frames that came with the binding 200 are answered after this returns:
            // by `next_event`, before (or, for an observer, after) they are reported.
            conn.flush(deadline).await?;
            conn.pump(deadline, "the 200 to the binding SEND").await?;
            if conn.drain_events_until_bound(Some(&bind_tid))? {
                return Ok(conn);
            }
        }
    }

    /// Moves session events to the backlog; `true` once bound. `Bound` itself is dropped.
    fn drain_events_until_bound(&mut self, bind_tid: Option<&str>) -> Result<bool, MsrpError> {
        while let Some(ev) = self.session.poll_event() {
            match ev {
                SessionEvent::Bound => {}
                SessionEvent::Response { ref tid, code, .. } if Some(tid.as_str()) == bind_tid => {
                    if !(200..300).contains(&code) {
                        return Err(MsrpError::BindRejected(code));
                    }
                }
                SessionEvent::TransactionTimeout { ref tid, .. }
                    if Some(tid.as_str()) == bind_tid =>
                {
                    return Err(MsrpError::Timeout("the 200 to the binding SEND"));
                }
                SessionEvent::Closed { .. } => return Err(MsrpError::Closed),
                SessionEvent::Error(e) if !self.session.is_bound() => {
                    return Err(MsrpError::Decode(e))
                }
                other => self.backlog.push_back(other),
            }
        }
        Ok(self.session.is_bound())
    }

    /// Writes everything the session has queued, reporting each write to the tap.
    async fn flush(&mut self, deadline: Instant) -> Result<(), MsrpError> {
        self.flush_up_to(deadline, None).await
    }

    /// [`Self::flush`], taking at most `limit` messages from the session (all when `None`).
    async fn flush_up_to(
        &mut self,
        deadline: Instant,
        mut limit: Option<usize>,
    ) -> Result<(), MsrpError> {
        let write_deadline = deadline.min(Instant::now() + self.write_timeout);
        loop {
            if self.unsent.is_none() {
                if limit == Some(0) {
                    break;
                }
                let Some(bytes) = self.session.poll_transmit(Instant::now().into_std()) else {
                    break;
                };
                limit = limit.map(|n| n - 1);
                if self.peer_gone {
                    continue;
                }
                // Recorded before the write, so the capture's order is causal: the peer's
                // answer can never be recorded before the bytes it answers.
                if let Some(t) = &self.tap {
                    t.tcp_data(self.local_addr, self.peer_addr, &bytes);
                }
                self.unsent = Some((bytes, 0));
            }
            let Some((bytes, done)) = self.unsent.as_mut() else {
                break;
            };
            // `write` (not `write_all`) is cancel safe: dropped before it completes, it wrote
            // nothing, and `unsent` still says where to go on.
            let rest = bytes.get(*done..).unwrap_or_default();
            let written = timeout_at(write_deadline, self.stream.write(rest))
                .await
                .map_err(|_| MsrpError::Timeout("the peer to read what we write"))?;
            match written {
                Ok(n) if n > 0 => {
                    *done += n;
                    self.bytes_written += n as u64;
                    if *done >= bytes.len() {
                        self.unsent = None;
                    }
                }
                Ok(_) => {
                    // The stream takes no more bytes: the peer is gone.
                    self.unsent = None;
                    self.peer_gone = true;
                    self.session.handle_close();
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::BrokenPipe
                            | io::ErrorKind::ConnectionReset
                            | io::ErrorKind::ConnectionAborted
                            | io::ErrorKind::NotConnected
                    ) =>
                {
                    // The peer is gone: what is left is dropped and `Closed` is reported.
                    self.unsent = None;
                    self.peer_gone = true;
                    self.session.handle_close();
                }
                Err(e) => return Err(MsrpError::Io(e)),
            }
        }
        if self.peer_gone {
            return Err(MsrpError::Closed);
        }
        Ok(())
    }

    /// [`Self::flush`] where a vanished peer is an event (`Closed`), not an error.
    async fn flush_for_events(&mut self, deadline: Instant) -> Result<(), MsrpError> {
        match self.flush(deadline).await {
            Err(MsrpError::Closed) => Ok(()),
            other => other,
        }
    }

    /// One wait: read bytes (or see the close) or let a response deadline pass.
    async fn pump(&mut self, deadline: Instant, what: &'static str) -> Result<(), MsrpError> {
        if self.session.is_dead() || self.peer_gone {
            return Err(MsrpError::Closed);
        }
        let timer = self.session.poll_timeout().map(Instant::from_std);
        let wake = timer.map_or(deadline, |t| t.min(deadline));
        let received = self.tap.as_ref().filter(|_| self.tap_received);
        match timeout_at(wake, self.stream.read(&mut self.buf)).await {
            Ok(Ok(0)) => {
                if let Some(t) = received {
                    t.tcp_close(self.peer_addr, self.local_addr);
                }
                self.session.handle_close()
            }
            Ok(Ok(n)) => {
                let got = self.buf.get(..n).unwrap_or_default();
                if let Some(t) = received {
                    t.tcp_data(self.peer_addr, self.local_addr, got);
                }
                self.session.handle_bytes(got);
            }
            Ok(Err(e))
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                ) =>
            {
                if let Some(t) = received {
                    t.tcp_close(self.peer_addr, self.local_addr);
                }
                self.session.handle_close()
            }
            Ok(Err(e)) => return Err(MsrpError::Io(e)),
            Err(_) => {
                let now = Instant::now();
                if now >= deadline {
                    return Err(MsrpError::Timeout(what));
                }
                self.session.handle_timeout(now.into_std());
            }
        }
        Ok(())
    }

    /// The next event, answering incoming requests meanwhile. After `Closed` or `Error` it
    /// returns [`MsrpError::Closed`].
    pub async fn next_event(&mut self, deadline: Instant) -> Result<SessionEvent, MsrpError> {
        loop {
            if !self.backlog.is_empty() {
                // Answers to what produced the event go out before the caller sees it (unless
                // it reports on receipt). The event waits in the backlog meanwhile: a caller
                // that drops this future during the flush (a `select!` branch losing) finds
                // it on its next call.
                if self.answer_first {
                    self.flush_for_events(deadline).await?;
                }
                if let Some(ev) = self.backlog.pop_front() {
                    return Ok(self.note_end(ev));
                }
            }
            if let Some(ev) = self.session.poll_event() {
                if !self.answer_first {
                    // Its answers go out on the next call (or with the next send).
                    return Ok(self.note_end(ev));
                }
                self.backlog.push_back(ev);
                continue;
            }
            if self.finished {
                return Err(MsrpError::Closed);
            }
            self.flush_for_events(deadline).await?;
            if self.session.poll_event().is_none() {
                self.pump(deadline, "an MSRP event").await?;
            } else {
                continue;
            }
        }
    }

    /// An event already received and decoded, without any I/O (`None` when there is none):
    /// what a caller that stops reading drains so that nothing received is lost.
    pub fn take_event(&mut self) -> Option<SessionEvent> {
        let ev = self
            .backlog
            .pop_front()
            .or_else(|| self.session.poll_event())?;
        Some(self.note_end(ev))
    }

    fn note_end(&mut self, ev: SessionEvent) -> SessionEvent {
        if matches!(ev, SessionEvent::Closed { .. } | SessionEvent::Error(_)) {
            self.finished = true;
        }
        ev
    }

    /// Queues a message as SEND chunks and writes them all; returns its Message-ID.
    pub async fn send_message(
        &mut self,
        content_type: &str,
        body: Vec<u8>,
        opts: SendOptions,
    ) -> Result<String, MsrpError> {
        let id = self.session.send_message(content_type, body, opts);
        self.flush(Instant::now() + self.write_timeout).await?;
        Ok(id)
    }

    /// Writes a scripted frame as given (a SEND waits for its response like any other).
    pub async fn send_raw(&mut self, msg: &Message) -> Result<(), MsrpError> {
        self.session.send_raw(msg, Instant::now().into_std());
        self.flush(Instant::now() + self.write_timeout).await
    }

    /// Writes raw bytes (garbage, a frame cut in two) to the peer.
    pub async fn send_bytes(&mut self, bytes: &[u8]) -> Result<(), MsrpError> {
        self.session.send_bytes(bytes.to_vec());
        self.flush(Instant::now() + self.write_timeout).await
    }

    /// Closes our side of the connection (TCP FIN), reported to the tap once.
    pub async fn close(&mut self) -> Result<(), MsrpError> {
        if self.closed_by_us {
            return Ok(());
        }
        self.closed_by_us = true;
        let r = timeout_at(Instant::now() + self.write_timeout, self.stream.shutdown()).await;
        if let Some(t) = &self.tap {
            t.tcp_close(self.local_addr, self.peer_addr);
        }
        match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            Ok(Err(e)) => Err(MsrpError::Io(e)),
            Err(_) => Err(MsrpError::Timeout("the TCP shutdown")),
        }
    }

    /// Replaces the policy answering incoming SEND chunks.
    pub fn set_policy(&mut self, policy: Box<dyn ResponsePolicy>) {
        self.session.set_policy(policy);
    }

    /// Sets how long a write may wait for the peer to read (default 10 s).
    pub fn set_write_timeout(&mut self, timeout: Duration) {
        self.write_timeout = timeout;
    }

    /// The session state (paths, id generator, resume seeding).
    pub fn session(&mut self) -> &mut MsrpSession {
        &mut self.session
    }

    /// Our socket address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The peer's socket address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer_addr
    }

    /// Bytes written on this connection so far.
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }
}
