//! Sans-IO MSRP session state (RFC 4975): paths, transaction ids, chunked sending with abort
//! and resume, expected responses with deadlines, answers and REPORTs for incoming SENDs.
//!
//! Inputs are `handle_*` calls (bytes read from the connection, the connection closing, time
//! passing) and `send_*` / `abort` calls; outputs are polled: [`MsrpSession::poll_transmit`]
//! (bytes to write, in order), [`MsrpSession::poll_event`] (what happened) and
//! [`MsrpSession::poll_timeout`] (when to call [`MsrpSession::handle_timeout`]). After every
//! input, drain `poll_transmit` first, then `poll_event`, then re-arm the timer from
//! `poll_timeout`. Time enters only as the `now` arguments.

use cpmconf_codec::msrp::{
    ByteRange, Decoder, FailureReport, Flag, Message, Method, MsrpUri, Reassembler, StartKind,
};
use cpmconf_codec::{DecodeError, Limits};
use rand::Rng;
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

/// Decides the status code that answers one incoming SEND chunk; `None` means 200 OK.
///
/// Lets a simulated peer script an answer per message or per chunk (413, 415, 481, ...).
pub trait ResponsePolicy: Send {
    /// The code and comment to answer `chunk` with, or `None` for `200 OK`.
    fn response_code(&mut self, chunk: &Message) -> Option<(u16, Option<String>)>;

    /// Asked only for a chunk [`ResponsePolicy::response_code`] lets through with `200 OK`:
    /// `true` keeps the chunk (it is reassembled as usual) but sends no response now, so a
    /// simulated peer can acknowledge it later, or never (a transfer interrupted before its
    /// bytes were acknowledged, CR 7.4.5). The owner answers it with
    /// `Message::response_to` written as raw bytes.
    fn withhold(&mut self, _chunk: &Message) -> bool {
        false
    }
}

impl<F> ResponsePolicy for F
where
    F: FnMut(&Message) -> Option<(u16, Option<String>)> + Send,
{
    fn response_code(&mut self, chunk: &Message) -> Option<(u16, Option<String>)> {
        self(chunk)
    }
}

/// The policy that answers every chunk with 200 OK.
#[derive(Debug, Clone, Copy, Default)]
pub struct AcceptAll;

impl ResponsePolicy for AcceptAll {
    fn response_code(&mut self, _chunk: &Message) -> Option<(u16, Option<String>)> {
        None
    }
}

fn failure_report_str(mode: FailureReport) -> &'static str {
    match mode {
        FailureReport::Yes => "yes",
        FailureReport::No => "no",
        FailureReport::Partial => "partial",
    }
}

/// How one outgoing message is sent.
#[derive(Debug, Clone)]
pub struct SendOptions {
    /// Largest body per SEND chunk, in bytes (at least 1).
    pub chunk_size: usize,
    /// Adds `Success-Report: yes` when `true` (RFC 4975 7.1.2).
    pub success_report: bool,
    /// The Failure-Report header to add; `None` leaves it out (meaning `yes`).
    pub failure_report: Option<FailureReport>,
    /// The Message-ID to use; `None` generates one.
    pub message_id: Option<String>,
    /// The 1-based position of the first byte to send: `1` sends the whole body; `N` sends
    /// only the bytes from N on, with `Byte-Range: N-end/total` (file resume, RFC 5547 / CR 7.4.5).
    pub byte_range_start: u64,
    /// Scripted abort: after this many chunks, the next chunk goes out with the `#` flag and
    /// the message ends there (RFC 4975 7.1.1 / 7.1.5).
    pub abort_after_chunks: Option<usize>,
    /// Scripted interruption: after this many chunks the sender stops, the message unfinished
    /// (its last chunk went out with `+`; no further chunk, no `#`), as when the sender's side
    /// is lost mid-transfer (CR 7.4.5 "interrupted").
    pub stop_after_chunks: Option<usize>,
    /// Further header fields put on every chunk.
    pub extra_headers: Vec<(String, String)>,
    /// Pacing: at most this many chunks of the message wait for their transaction responses
    /// at a time; the next chunk goes out once a response (or a response timeout) frees a
    /// place. `None` (the default) sends every chunk at once. A chunk that ends an aborted
    /// message (`#`) is never held back. Chunks that expect no response (`Failure-Report: no`
    /// or `partial`) do not count.
    pub window: Option<usize>,
}

impl Default for SendOptions {
    fn default() -> Self {
        SendOptions {
            chunk_size: 2048,
            success_report: false,
            failure_report: None,
            message_id: None,
            byte_range_start: 1,
            abort_after_chunks: None,
            stop_after_chunks: None,
            extra_headers: Vec::new(),
            window: None,
        }
    }
}

/// Static settings of a session.
pub struct SessionConfig {
    /// Our own path (the last URI is ours; for a direct session it is the only one).
    pub local_path: Vec<MsrpUri>,
    /// The peer's path, as learnt from its SDP `a=path`.
    pub remote_path: Vec<MsrpUri>,
    /// How long a SEND waits for its response before a [`SessionEvent::TransactionTimeout`]
    /// (RFC 4975 7.1.1 suggests 30 s).
    pub transaction_timeout: Duration,
    /// Decoder limits.
    pub limits: Limits,
    /// Seed of the id generator; `None` seeds from the OS.
    pub seed: Option<u64>,
    /// Emit a [`SessionEvent::Frame`] for every decoded incoming frame.
    pub emit_frames: bool,
    /// The policy answering incoming SEND chunks from the first one on (the binding SEND
    /// included); `None` answers 200 OK.
    pub policy: Option<Box<dyn ResponsePolicy>>,
    /// For an observer (the simulator), read by [`super::MsrpConnection`]: report every
    /// received frame before its response is written, from the binding on, so that the
    /// observer's record of a frame precedes anything the peer does once it has the response.
    /// `false` (the default): the responses go out before the event is reported.
    pub report_on_receipt: bool,
}

impl SessionConfig {
    /// A config with the defaults: 30 s transaction timeout, default limits, OS seed.
    pub fn new(local_path: Vec<MsrpUri>, remote_path: Vec<MsrpUri>) -> SessionConfig {
        SessionConfig {
            local_path,
            remote_path,
            transaction_timeout: Duration::from_secs(30),
            limits: Limits::default(),
            seed: None,
            emit_frames: false,
            policy: None,
            report_on_receipt: false,
        }
    }
}

/// What a session reports.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    /// The connection is bound to the session: the bind SEND got a 2xx (active side), or the
    /// first request for this session arrived (passive side) (RFC 4975 7.1.1, RFC 6135).
    Bound,
    /// A whole message arrived (all chunks, the last with `$`).
    Message {
        /// Its Message-ID.
        message_id: String,
        /// Its Content-Type, if any.
        content_type: Option<String>,
        /// The reassembled body.
        body: Vec<u8>,
        /// Number of SEND chunks it came in.
        chunks: usize,
    },
    /// The sender aborted a message (`#`) before it completed.
    Aborted {
        /// Its Message-ID.
        message_id: String,
        /// The bytes received until the abort.
        body: Vec<u8>,
    },
    /// A response to one of our requests arrived.
    Response {
        /// The transaction id.
        tid: String,
        /// The status code.
        code: u16,
        /// The comment, if any.
        comment: Option<String>,
        /// The Message-ID of the request it answers, when known.
        message_id: Option<String>,
    },
    /// A request of ours got no response in time (RFC 4975 7.1.1: treated like a 408).
    TransactionTimeout {
        /// The transaction id.
        tid: String,
        /// The Message-ID of the request, when known.
        message_id: Option<String>,
    },
    /// A REPORT arrived.
    Report {
        /// Its Message-ID.
        message_id: Option<String>,
        /// Its Status header value (`000 200 OK`).
        status: Option<String>,
        /// Its Byte-Range, if present and valid.
        byte_range: Option<ByteRange>,
    },
    /// A SEND chunk that cannot be placed (bad Byte-Range, no Message-ID, too large); it was
    /// answered with 400 and the stream goes on.
    BadChunk {
        /// The chunk's Message-ID (empty when it has none).
        message_id: String,
        /// What is wrong with it.
        error: DecodeError,
    },
    /// A decoded incoming frame (only with [`SessionConfig::emit_frames`]).
    Frame(Box<Message>),
    /// The peer closed the connection. `unparsed_bytes` counts bytes of an unfinished frame.
    Closed {
        /// Bytes received after the last whole frame.
        unparsed_bytes: usize,
    },
    /// Incoming bytes could not be decoded; the stream is not read any further.
    Error(DecodeError),
}

/// One outgoing message being chunked.
struct Outgoing {
    message_id: String,
    content_type: String,
    body: Vec<u8>,
    /// 0-based offset of the next byte to send.
    next: usize,
    opts: SendOptions,
    chunks_sent: usize,
    abort_requested: bool,
}

/// One request waiting for its response.
struct Pending {
    deadline: Option<Instant>,
    message_id: Option<String>,
}

/// Per-message state of incoming SENDs.
#[derive(Default)]
struct Incoming {
    chunks: usize,
    rejected: bool,
}

/// The sans-IO MSRP session. See the module documentation for the polling order.
pub struct MsrpSession {
    config: SessionConfig,
    rng: rand::rngs::StdRng,
    policy: Box<dyn ResponsePolicy>,
    decoder: Decoder,
    reassembler: Reassembler,
    control: VecDeque<Vec<u8>>,
    outgoing: VecDeque<Outgoing>,
    pending: HashMap<String, Pending>,
    incoming: HashMap<String, Incoming>,
    events: VecDeque<SessionEvent>,
    bind_tid: Option<String>,
    bound: bool,
    dead: bool,
    closed: bool,
    /// Bytes received since the last whole frame, for [`SessionEvent::Closed`].
    unparsed: usize,
    /// Ids of the messages whose chunks all went out.
    sent_ids: HashSet<String>,
}

/// `000 <code>[ <comment>]` (RFC 4975 9 Status header).
fn status_value(code: u16, comment: &str) -> String {
    if comment.is_empty() {
        format!("000 {code:03}")
    } else {
        format!("000 {code:03} {comment}")
    }
}

fn hex_id(rng: &mut rand::rngs::StdRng) -> String {
    // wire-facts 9 / RFC 4975 7.1: transaction ids carry at least 64 bits of randomness.
    format!("{:016x}", rng.next_u64())
}

impl MsrpSession {
    /// A session with the given settings (without a policy, every chunk gets 200 OK).
    pub fn new(mut config: SessionConfig) -> MsrpSession {
        use rand::SeedableRng;
        let rng = match config.seed {
            Some(s) => rand::rngs::StdRng::seed_from_u64(s),
            None => rand::make_rng(),
        };
        let decoder = Decoder::new(config.limits);
        MsrpSession {
            rng,
            policy: config.policy.take().unwrap_or_else(|| Box::new(AcceptAll)),
            decoder,
            reassembler: Reassembler::new(config.limits),
            control: VecDeque::new(),
            outgoing: VecDeque::new(),
            pending: HashMap::new(),
            incoming: HashMap::new(),
            events: VecDeque::new(),
            bind_tid: None,
            bound: false,
            dead: false,
            closed: false,
            unparsed: 0,
            sent_ids: HashSet::new(),
            config,
        }
    }

    /// Replaces the policy that answers incoming SEND chunks.
    pub fn set_policy(&mut self, policy: Box<dyn ResponsePolicy>) {
        self.policy = policy;
    }

    /// Our path.
    pub fn local_path(&self) -> &[MsrpUri] {
        &self.config.local_path
    }

    /// The peer's path.
    pub fn remote_path(&self) -> &[MsrpUri] {
        &self.config.remote_path
    }

    /// `true` once the connection is bound to this session.
    pub fn is_bound(&self) -> bool {
        self.bound
    }

    /// `true` after a decode error or the peer's close: nothing more is read.
    pub fn is_dead(&self) -> bool {
        self.dead
    }

    /// A fresh transaction id (16 hex digits, 64 random bits).
    pub fn new_tid(&mut self) -> String {
        hex_id(&mut self.rng)
    }

    /// A fresh Message-ID.
    pub fn new_message_id(&mut self) -> String {
        hex_id(&mut self.rng)
    }

    fn request(&mut self, method: Method) -> (String, Message) {
        let tid = self.new_tid();
        let msg = Message::request(
            tid.clone(),
            method,
            self.config.remote_path.clone(),
            self.config.local_path.clone(),
        );
        (tid, msg)
    }

    /// Active side: queues the first, empty SEND that binds the connection (RFC 4975 7.1.1,
    /// RFC 6135); [`SessionEvent::Bound`] follows its 2xx. Returns its transaction id.
    pub fn start_bind(&mut self, now: Instant) -> String {
        let (tid, msg) = self.request(Method::Send);
        let message_id = self.new_message_id();
        let msg = msg
            .with_header("Message-ID", &message_id)
            .with_header("Byte-Range", "1-0/0");
        self.control.push_back(msg.to_bytes());
        self.pending.insert(
            tid.clone(),
            Pending {
                deadline: Some(now + self.config.transaction_timeout),
                message_id: Some(message_id),
            },
        );
        self.bind_tid = Some(tid.clone());
        tid
    }

    /// Queues a message for sending in SEND chunks; returns its Message-ID.
    pub fn send_message(&mut self, content_type: &str, body: Vec<u8>, opts: SendOptions) -> String {
        let message_id = opts
            .message_id
            .clone()
            .unwrap_or_else(|| self.new_message_id());
        let next = usize::try_from(opts.byte_range_start.saturating_sub(1))
            .unwrap_or(usize::MAX)
            .min(body.len());
        self.outgoing.push_back(Outgoing {
            message_id: message_id.clone(),
            content_type: content_type.to_owned(),
            body,
            next,
            opts,
            chunks_sent: 0,
            abort_requested: false,
        });
        message_id
    }

    /// Resume (RFC 5547 file-range, CR 7.4.5): bytes 1..=`prefix.len()` of the incoming
    /// message `message_id` are already held, so chunks from `prefix.len() + 1` on complete it.
    pub fn seed_incoming(&mut self, message_id: &str, content_type: &str, prefix: &[u8]) {
        self.reassembler.seed(message_id, content_type, prefix);
    }

    /// Aborts an outgoing message: its next chunk carries the `#` flag and ends it
    /// (RFC 4975 7.1.5). Returns `false` when no chunk of it is left to send.
    pub fn abort(&mut self, message_id: &str) -> bool {
        match self
            .outgoing
            .iter_mut()
            .find(|o| o.message_id == message_id)
        {
            Some(o) => {
                o.abort_requested = true;
                true
            }
            None => false,
        }
    }

    /// Queues a scripted frame exactly as given. A SEND's transaction waits for a response
    /// like any other; other requests (REPORT) and responses expect nothing back.
    pub fn send_raw(&mut self, msg: &Message, now: Instant) {
        if let StartKind::Request {
            method: Method::Send,
        } = &msg.start
        {
            self.pending.insert(
                msg.tid.clone(),
                Pending {
                    deadline: Some(now + self.config.transaction_timeout),
                    message_id: msg.message_id().map(str::to_owned),
                },
            );
        }
        self.control.push_back(msg.to_bytes());
    }

    /// Queues raw bytes (garbage, split frames) for the peer.
    pub fn send_bytes(&mut self, bytes: Vec<u8>) {
        self.control.push_back(bytes);
    }

    /// The next bytes to write, control frames (responses, REPORTs) before message chunks.
    #[must_use]
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        if let Some(b) = self.control.pop_front() {
            return Some(b);
        }
        self.next_chunk(now)
    }

    /// `true` when `out` may send its next chunk now: it is being aborted, or fewer of its
    /// chunks than its window await their responses.
    fn may_send(&self, out: &Outgoing) -> bool {
        let aborting = out.abort_requested
            || out
                .opts
                .abort_after_chunks
                .is_some_and(|k| out.chunks_sent >= k);
        aborting
            || out.opts.window.is_none_or(|w| {
                let awaiting = self
                    .pending
                    .values()
                    .filter(|p| p.message_id.as_deref() == Some(out.message_id.as_str()))
                    .count();
                awaiting < w.max(1)
            })
    }

    fn next_chunk(&mut self, now: Instant) -> Option<Vec<u8>> {
        // The first message allowed to send (a paced message waiting for responses lets the
        // ones queued after it go on).
        let i = (0..self.outgoing.len())
            .find(|&i| self.outgoing.get(i).is_some_and(|o| self.may_send(o)))?;
        let mut out = self.outgoing.remove(i)?;
        let total = out.body.len();
        let size = out.opts.chunk_size.max(1);
        let start = out.next;
        let end = start.saturating_add(size).min(total);
        let chunk = out.body.get(start..end).unwrap_or_default().to_vec();
        let aborted = out.abort_requested
            || out
                .opts
                .abort_after_chunks
                .is_some_and(|k| out.chunks_sent >= k);
        let last = end >= total || aborted;
        let flag = if aborted {
            Flag::Abort
        } else if last {
            Flag::Complete
        } else {
            Flag::More
        };
        let (tid, msg) = self.request(Method::Send);
        // RFC 4975 7.1.1: every chunk carries the Message-ID and the Byte-Range of its bytes.
        let range = ByteRange::chunk(start as u64 + 1, chunk.len() as u64, total as u64);
        let mut msg = msg
            .with_header("Message-ID", &out.message_id)
            .with_header("Byte-Range", range.to_string());
        if out.opts.success_report {
            msg = msg.with_header("Success-Report", "yes");
        }
        if let Some(fr) = out.opts.failure_report {
            msg = msg.with_header("Failure-Report", failure_report_str(fr));
        }
        for (n, v) in &out.opts.extra_headers {
            msg = msg.with_header(n, v);
        }
        if !chunk.is_empty() || total == 0 {
            msg.set_body(&out.content_type, chunk);
        }
        msg.flag = flag;
        // RFC 4975 7.1.2: with Failure-Report "no" no response comes; with "partial" only
        // errors come, so no deadline applies.
        let mode = out.opts.failure_report.unwrap_or(FailureReport::Yes);
        if mode != FailureReport::No {
            let deadline =
                (mode == FailureReport::Yes).then(|| now + self.config.transaction_timeout);
            self.pending.insert(
                tid,
                Pending {
                    deadline,
                    message_id: Some(out.message_id.clone()),
                },
            );
        }
        out.chunks_sent += 1;
        out.next = end;
        if last {
            self.sent_ids.insert(out.message_id.clone());
        } else if out
            .opts
            .stop_after_chunks
            .is_none_or(|k| out.chunks_sent < k)
        {
            self.outgoing.insert(i, out);
        }
        Some(msg.to_bytes())
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// The earliest response deadline, if any request waits for one.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.pending.values().filter_map(|p| p.deadline).min()
    }

    /// Time has passed: every request past its deadline gives a
    /// [`SessionEvent::TransactionTimeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut expired: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline.is_some_and(|d| d <= now))
            .map(|(t, _)| t.clone())
            .collect();
        expired.sort();
        for tid in expired {
            if let Some(p) = self.pending.remove(&tid) {
                self.events.push_back(SessionEvent::TransactionTimeout {
                    tid,
                    message_id: p.message_id,
                });
            }
        }
    }

    /// The peer closed its side of the connection.
    /// Reported once, however often the close is seen (read EOF, failed write).
    pub fn handle_close(&mut self) {
        self.dead = true;
        if !self.closed {
            self.closed = true;
            self.events.push_back(SessionEvent::Closed {
                unparsed_bytes: self.unparsed,
            });
        }
    }

    /// Bytes arrived from the peer.
    pub fn handle_bytes(&mut self, bytes: &[u8]) {
        if self.dead {
            return;
        }
        self.decoder.push(bytes);
        loop {
            match self.decoder.next() {
                Ok(Some(decoded)) => {
                    self.handle_frame(decoded.value);
                }
                Ok(None) => {
                    self.unparsed = self.decoder.buffered();
                    break;
                }
                Err(e) => {
                    self.dead = true;
                    self.events.push_back(SessionEvent::Error(e));
                    break;
                }
            }
        }
    }

    fn handle_frame(&mut self, msg: Message) {
        if self.config.emit_frames {
            self.events
                .push_back(SessionEvent::Frame(Box::new(msg.clone())));
        }
        match &msg.start {
            StartKind::Response { code, comment } => {
                let (code, comment) = (*code, comment.clone());
                self.handle_response(msg.tid.clone(), code, comment);
            }
            StartKind::Request {
                method: Method::Send,
            } => self.handle_send(&msg),
            StartKind::Request {
                method: Method::Report,
            } => {
                // RFC 4975 7.1.2: REPORT requests are never answered.
                self.bind_on_request();
                let byte_range = msg.byte_range().and_then(Result::ok);
                self.events.push_back(SessionEvent::Report {
                    message_id: msg.message_id().map(str::to_owned),
                    status: msg.header("Status").map(str::to_owned),
                    byte_range,
                });
            }
            StartKind::Request { .. } => {
                // RFC 4975 7.3: an unknown method gets 501.
                self.respond(&msg, 501, Some("Unknown Method".into()));
            }
        }
    }

    fn bind_on_request(&mut self) {
        if !self.bound {
            self.bound = true;
            self.events.push_back(SessionEvent::Bound);
        }
    }

    fn handle_response(&mut self, tid: String, code: u16, comment: Option<String>) {
        let pending = self.pending.remove(&tid);
        if self.bind_tid.as_deref() == Some(tid.as_str()) && (200..300).contains(&code) {
            self.bind_tid = None;
            if !self.bound {
                self.bound = true;
                self.events.push_back(SessionEvent::Bound);
            }
        }
        let message_id = pending.and_then(|p| p.message_id);
        // RFC 4975 7.1.1 / 10.5: a 413 tells the sender to stop sending this message; the
        // next chunk (if any is left) goes out with '#'.
        if code == 413 {
            if let Some(id) = &message_id {
                self.abort(id);
            }
        }
        self.events.push_back(SessionEvent::Response {
            tid,
            code,
            comment,
            message_id,
        });
    }

    /// Answers a request: To-Path is the previous hop (first From-Path URI), From-Path is us
    /// (RFC 4975 7.2).
    fn respond(&mut self, req: &Message, code: u16, comment: Option<String>) {
        let resp = Message::response_to(req, code, comment.as_deref());
        self.control.push_back(resp.to_bytes());
    }

    fn report(&mut self, message_id: &str, range: ByteRange, code: u16, comment: &str) {
        let tid = self.new_tid();
        let msg = Message::request(
            tid,
            Method::Report,
            self.config.remote_path.clone(),
            self.config.local_path.clone(),
        )
        .with_header("Message-ID", message_id)
        .with_header("Byte-Range", range.to_string())
        .with_header("Status", status_value(code, comment));
        self.control.push_back(msg.to_bytes());
    }

    fn handle_send(&mut self, msg: &Message) {
        // RFC 4975 7.3.1: the first To-Path URI must name this session, else 481.
        let ours = match msg.to_path() {
            Ok(path) => path
                .first()
                .zip(self.config.local_path.last())
                .is_some_and(|(a, b)| a.session_id == b.session_id),
            Err(_) => {
                self.respond(msg, 400, Some("Bad Request".into()));
                return;
            }
        };
        if !ours {
            self.respond(msg, 481, Some("Session Does Not Exist".into()));
            return;
        }
        self.bind_on_request();
        let message_id = msg.message_id().map(str::to_owned).unwrap_or_default();
        let failure = msg.failure_report().unwrap_or(FailureReport::Yes);
        let scripted = self.policy.response_code(msg);
        let withheld = scripted.is_none() && self.policy.withhold(msg);
        let (mut code, mut comment) = scripted.unwrap_or((200, Some("OK".into())));
        let (chunks, earlier_rejected) = {
            let entry = self.incoming.entry(message_id.clone()).or_default();
            entry.chunks += 1;
            (entry.chunks, entry.rejected)
        };
        let mut outcome = None;
        if code == 200 && !earlier_rejected {
            match self.reassembler.push(msg) {
                Ok(done) => outcome = done,
                Err(error) => {
                    // RFC 4975 7.3: a request that cannot be processed gets 400.
                    code = 400;
                    comment = Some("Bad Request".into());
                    self.events.push_back(SessionEvent::BadChunk {
                        message_id: message_id.clone(),
                        error,
                    });
                }
            }
        }
        if code != 200 {
            if let Some(entry) = self.incoming.get_mut(&message_id) {
                entry.rejected = true;
            }
        }
        // RFC 4975 7.1.2: "no" means no response at all; "partial" only error responses.
        let answer = match failure {
            FailureReport::Yes => true,
            FailureReport::Partial => code != 200,
            FailureReport::No => false,
        } && !(withheld && code == 200);
        if answer {
            self.respond(msg, code, comment.clone());
        }
        let range = match msg.byte_range() {
            Some(Ok(r)) => r,
            _ => ByteRange::chunk(1, msg.body.len() as u64, msg.body.len() as u64),
        };
        if code != 200 {
            // RFC 4975 7.1.2: an error is reported unless Failure-Report is "no".
            if failure != FailureReport::No {
                let text = comment.unwrap_or_else(|| {
                    cpmconf_codec::msrp::StatusCode(code)
                        .default_comment()
                        .to_owned()
                });
                self.report(&message_id, range, code, &text);
            }
        }
        if outcome.is_some() || (msg.flag != Flag::More && (code != 200 || earlier_rejected)) {
            self.incoming.remove(&message_id);
        }
        let Some(done) = outcome else {
            return;
        };
        if done.aborted {
            self.events.push_back(SessionEvent::Aborted {
                message_id: done.message_id,
                body: done.body,
            });
            return;
        }
        let len = done.body.len() as u64;
        // RFC 4975 7.1.2: Success-Report "yes" asks for a REPORT once the whole
        // message is received, covering the received bytes.
        if msg.success_report() == Some(true) {
            self.report(&done.message_id, ByteRange::chunk(1, len, len), 200, "OK");
        }
        // An empty SEND binds or keeps the connection alive; it is not a message.
        if len == 0 && done.content_type.is_empty() {
            return;
        }
        self.events.push_back(SessionEvent::Message {
            message_id: done.message_id,
            content_type: (!done.content_type.is_empty()).then_some(done.content_type),
            body: done.body,
            chunks,
        });
    }
}
