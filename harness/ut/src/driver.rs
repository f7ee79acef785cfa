//! Harness side of the upper tester (tokio edge): spawns or connects to an adapter, writes
//! requests, reads responses and events, and turns every failure into a precise `UtError`.

use std::collections::VecDeque;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::process::Child;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::command::{Command, Hello, HelloResult, RunSettings};
use crate::error::UtError;
use crate::event::Event;
use crate::profile::AdapterSpec;
use crate::protocol::{AdapterMessage, Request, Response, MAX_LINE, PROTOCOL_VERSION};
use crate::ring::TailBuffer;
use crate::tester::{EventPredicate, UpperTester, UtFuture};

/// Most events kept unread before the adapter is judged to be flooding.
pub const MAX_QUEUED_EVENTS: usize = 10_000;

/// Bound on how long the driver waits for a dead process to be reaped and its stderr drained.
const REAP_WAIT: Duration = Duration::from_secs(2);

/// What the reader side hands to the driver.
#[derive(Debug)]
pub(crate) enum Inbound {
    /// A decoded line, or a message from an in-process client.
    Message(AdapterMessage),
    /// A line that is not protocol JSON.
    Garbage { line: String, reason: String },
    /// Reading failed.
    ReadError(String),
}

/// Where requests go.
enum Outbound {
    /// JSON lines to a process's stdin or a TCP stream.
    Writer(Box<dyn AsyncWrite + Send + Unpin>),
    /// Typed requests to an in-process client ([`crate::channel_pair`]).
    Channel(mpsc::Sender<Request>),
}

/// Starts adapters described by a client profile.
pub struct AdapterProcess;

impl AdapterProcess {
    /// Starts the adapter: spawns a process (stdin/stdout piped, stderr kept in a bounded
    /// tail) or connects over TCP within `deadline`. `in_process` is not startable here: the
    /// engine builds the reference client and joins it with [`crate::channel_pair`].
    pub async fn spawn(spec: &AdapterSpec, deadline: Duration) -> Result<Adapter, UtError> {
        match spec {
            AdapterSpec::Process { command, env, cwd } => {
                let (program, args) = command
                    .split_first()
                    .ok_or_else(|| UtError::Unsupported("empty adapter command".to_owned()))?;
                let mut cmd = tokio::process::Command::new(program);
                cmd.args(args)
                    .envs(env)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .kill_on_drop(true);
                if let Some(dir) = cwd {
                    cmd.current_dir(dir);
                }
                let mut child = cmd.spawn().map_err(|e| {
                    UtError::Io(std::io::Error::new(
                        e.kind(),
                        format!("spawning {program:?}: {e}"),
                    ))
                })?;
                let missing = || UtError::Protocol("child pipes missing".to_owned());
                let stdin = child.stdin.take().ok_or_else(missing)?;
                let stdout = child.stdout.take().ok_or_else(missing)?;
                let stderr = child.stderr.take().ok_or_else(missing)?;
                let tail = TailBuffer::default();
                let stderr_task = tokio::spawn(drain_stderr(stderr, tail.clone()));
                let (tx, rx) = mpsc::channel(1024);
                tokio::spawn(read_lines(stdout, tx));
                Ok(Adapter::new(
                    format!("process {command:?}"),
                    Outbound::Writer(Box::new(stdin)),
                    rx,
                    Some(child),
                    tail,
                    Some(stderr_task),
                ))
            }
            AdapterSpec::Tcp { addr } => Adapter::connect_tcp(addr, deadline).await,
            AdapterSpec::InProcess => Err(UtError::Unsupported(
                "in_process adapters are joined with channel_pair(), not spawned".to_owned(),
            )),
        }
    }
}

/// A connected client adapter (process, TCP or in-memory channel).
pub struct Adapter {
    label: String,
    out: Outbound,
    inbound: mpsc::Receiver<Inbound>,
    queue: VecDeque<Event>,
    next_id: u64,
    child: Option<Child>,
    stderr: TailBuffer,
    stderr_task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Adapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Adapter")
            .field("label", &self.label)
            .field("next_id", &self.next_id)
            .finish()
    }
}

impl Adapter {
    fn new(
        label: String,
        out: Outbound,
        inbound: mpsc::Receiver<Inbound>,
        child: Option<Child>,
        stderr: TailBuffer,
        stderr_task: Option<JoinHandle<()>>,
    ) -> Adapter {
        Adapter {
            label,
            out,
            inbound,
            queue: VecDeque::new(),
            next_id: 1,
            child,
            stderr,
            stderr_task,
        }
    }

    /// TCP mode: the adapter (e.g. on a device, reached through port forwarding) listens on
    /// `addr`; the harness connects within `deadline` and speaks the same JSON lines.
    pub async fn connect_tcp(addr: &str, deadline: Duration) -> Result<Adapter, UtError> {
        let stream = tokio::time::timeout(deadline, tokio::net::TcpStream::connect(addr))
            .await
            .map_err(|_| UtError::Timeout {
                what: format!("TCP connection to adapter at {addr}"),
                after: deadline,
                stderr_tail: String::new(),
            })??;
        stream.set_nodelay(true)?;
        let (r, w) = stream.into_split();
        let (tx, rx) = mpsc::channel(1024);
        tokio::spawn(read_lines(r, tx));
        Ok(Adapter::new(
            format!("tcp {addr}"),
            Outbound::Writer(Box::new(w)),
            rx,
            None,
            TailBuffer::default(),
            None,
        ))
    }

    /// In-memory adapter end (see [`crate::channel_pair`]).
    pub(crate) fn from_channel(
        out: mpsc::Sender<Request>,
        inbound: mpsc::Receiver<Inbound>,
    ) -> Adapter {
        Adapter::new(
            "in-process".to_owned(),
            Outbound::Channel(out),
            inbound,
            None,
            TailBuffer::default(),
            None,
        )
    }

    /// What this adapter is, for messages (`process ["python3", "a.py"]`).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The last ~8 KiB the adapter process wrote to stderr (empty for TCP and in-process).
    pub fn stderr_tail(&self) -> String {
        self.stderr.tail()
    }

    /// Events received but not yet taken.
    pub fn queued_events(&self) -> &VecDeque<Event> {
        &self.queue
    }

    /// Performs the `hello` exchange and checks the adapter speaks [`PROTOCOL_VERSION`].
    pub async fn hello(
        &mut self,
        harness: &str,
        settings: RunSettings,
        timeout: Duration,
    ) -> Result<HelloResult, UtError> {
        let hello = Command::Hello(Hello {
            protocol: PROTOCOL_VERSION,
            harness: harness.to_owned(),
            settings,
        });
        let resp = self.command(hello, timeout).await?;
        let result: HelloResult = resp.result_as("hello")?;
        if result.protocol != PROTOCOL_VERSION {
            return Err(UtError::Protocol(format!(
                "adapter {} {} speaks protocol version {}, the harness speaks {PROTOCOL_VERSION}",
                result.name, result.version, result.protocol
            )));
        }
        Ok(result)
    }

    /// Sends `cmd` and waits up to `timeout` for the response with its id. Events arriving
    /// meanwhile are queued; a late response to an earlier, timed-out request is dropped.
    pub async fn command(&mut self, cmd: Command, timeout: Duration) -> Result<Response, UtError> {
        let id = self.next_id;
        self.next_id += 1;
        let name = cmd.name();
        let request = Request { id, command: cmd };
        self.send(request).await?;
        let deadline = Instant::now() + timeout;
        loop {
            let what = || format!("response to {name} (id {id})");
            match self.recv(deadline, timeout, what).await? {
                AdapterMessage::Response(r) if r.id == id => return Ok(r),
                AdapterMessage::Response(r) => self.stray_response(&r)?,
                AdapterMessage::Event(e) => self.enqueue(e)?,
            }
        }
    }

    /// The oldest queued event, or the next to arrive within `timeout`.
    pub async fn next_event(&mut self, timeout: Duration) -> Result<Event, UtError> {
        self.wait_event(&|_| true, timeout).await
    }

    /// The first event matching `pred` (queued or arriving within `timeout`); non-matching
    /// events stay queued in arrival order.
    pub async fn wait_event(
        &mut self,
        pred: EventPredicate<'_>,
        timeout: Duration,
    ) -> Result<Event, UtError> {
        if let Some(pos) = self.queue.iter().position(pred) {
            if let Some(e) = self.queue.remove(pos) {
                return Ok(e);
            }
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.recv(deadline, timeout, || "event".to_owned()).await? {
                AdapterMessage::Event(e) if pred(&e) => return Ok(e),
                AdapterMessage::Event(e) => self.enqueue(e)?,
                AdapterMessage::Response(r) => self.stray_response(&r)?,
            }
        }
    }

    /// Sends `shutdown`, waits for the answer and for the process to exit within `timeout`,
    /// and kills it if it lingers. A process that exits without answering is fine.
    pub async fn shutdown(&mut self, timeout: Duration) -> Result<(), UtError> {
        let deadline = Instant::now() + timeout;
        let answered = match self.command(Command::Shutdown, timeout).await {
            Ok(r) => r.result_as::<serde_json::Value>("shutdown").map(|_| ()),
            Err(UtError::Crashed { .. }) => Ok(()),
            Err(e) => Err(e),
        };
        if let Some(child) = self.child.as_mut() {
            let left = deadline.saturating_duration_since(Instant::now());
            if tokio::time::timeout(left, child.wait()).await.is_err() {
                child.kill().await?;
            }
        }
        answered
    }

    async fn send(&mut self, request: Request) -> Result<(), UtError> {
        let sent = match &mut self.out {
            Outbound::Writer(w) => {
                let line = request.to_line();
                match w.write_all(line.as_bytes()).await {
                    Ok(()) => w.flush().await.map_err(Some),
                    Err(e) => Err(Some(e)),
                }
            }
            Outbound::Channel(tx) => tx.send(request).await.map_err(|_| None),
        };
        match sent {
            Ok(()) => Ok(()),
            // A closed pipe or connection means the adapter went away: report it as such.
            Err(None) => Err(self.crashed().await),
            Err(Some(e)) if self.child.is_some() || is_disconnect(&e) => Err(self.crashed().await),
            Err(Some(e)) => Err(UtError::Io(e)),
        }
    }

    async fn recv(
        &mut self,
        deadline: Instant,
        after: Duration,
        what: impl Fn() -> String,
    ) -> Result<AdapterMessage, UtError> {
        match tokio::time::timeout_at(deadline, self.inbound.recv()).await {
            Err(_) => Err(UtError::Timeout {
                what: what(),
                after,
                stderr_tail: self.stderr.tail(),
            }),
            Ok(None) => Err(self.crashed().await),
            Ok(Some(Inbound::Message(m))) => Ok(m),
            Ok(Some(Inbound::Garbage { line, reason })) => Err(UtError::Garbage {
                line,
                reason,
                stderr_tail: self.stderr_settled().await,
            }),
            Ok(Some(Inbound::ReadError(e))) => Err(UtError::Io(std::io::Error::other(e))),
        }
    }

    fn stray_response(&self, r: &Response) -> Result<(), UtError> {
        if r.id < self.next_id {
            // Late answer to a request that already timed out.
            Ok(())
        } else {
            Err(UtError::Protocol(format!(
                "response with id {} that was never sent",
                r.id
            )))
        }
    }

    fn enqueue(&mut self, e: Event) -> Result<(), UtError> {
        if self.queue.len() >= MAX_QUEUED_EVENTS {
            return Err(UtError::Protocol(format!(
                "more than {MAX_QUEUED_EVENTS} unread events (flood)"
            )));
        }
        self.queue.push_back(e);
        Ok(())
    }

    /// The stderr tail once the stderr reader has caught up (bounded wait).
    async fn stderr_settled(&mut self) -> String {
        if let Some(task) = self.stderr_task.as_mut() {
            if tokio::time::timeout(Duration::from_millis(200), task)
                .await
                .is_ok()
            {
                self.stderr_task = None;
            }
        }
        self.stderr.tail()
    }

    /// The adapter is gone: reap the process (bounded wait) and report its status.
    async fn crashed(&mut self) -> UtError {
        let mut status = None;
        if let Some(child) = self.child.as_mut() {
            if let Ok(Ok(s)) = tokio::time::timeout(REAP_WAIT, child.wait()).await {
                status = s.code();
            }
        }
        if let Some(task) = self.stderr_task.take() {
            let _ = tokio::time::timeout(REAP_WAIT, task).await;
        }
        UtError::Crashed {
            status,
            stderr_tail: self.stderr.tail(),
        }
    }
}

fn is_disconnect(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        BrokenPipe | ConnectionReset | ConnectionAborted | NotConnected | UnexpectedEof
    )
}

impl UpperTester for Adapter {
    fn command(&mut self, cmd: Command, timeout: Duration) -> UtFuture<'_, Response> {
        Box::pin(Adapter::command(self, cmd, timeout))
    }

    fn next_event(&mut self, timeout: Duration) -> UtFuture<'_, Event> {
        Box::pin(Adapter::next_event(self, timeout))
    }

    fn wait_event<'a>(
        &'a mut self,
        pred: EventPredicate<'a>,
        timeout: Duration,
    ) -> UtFuture<'a, Event> {
        Box::pin(Adapter::wait_event(self, pred, timeout))
    }

    fn shutdown(&mut self, timeout: Duration) -> UtFuture<'_, ()> {
        Box::pin(Adapter::shutdown(self, timeout))
    }
}

/// Reads JSON lines (at most [`MAX_LINE`] bytes each) and forwards them decoded; ends at EOF
/// by dropping the sender, which the driver sees as the adapter going away.
async fn read_lines<R: AsyncRead + Unpin + Send + 'static>(r: R, tx: mpsc::Sender<Inbound>) {
    let mut reader = BufReader::new(r);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let limit = (MAX_LINE + 1) as u64;
        let n = match (&mut reader).take(limit).read_until(b'\n', &mut buf).await {
            Ok(n) => n,
            Err(e) => {
                let _ = tx.send(Inbound::ReadError(e.to_string())).await;
                return;
            }
        };
        if n == 0 {
            return;
        }
        let complete = buf.last() == Some(&b'\n');
        if !complete && buf.len() > MAX_LINE {
            let line = truncate(&buf);
            let _ = tx
                .send(Inbound::Garbage {
                    line,
                    reason: format!("line longer than {MAX_LINE} bytes"),
                })
                .await;
            return;
        }
        let text = match std::str::from_utf8(&buf) {
            Ok(t) => t.trim_end_matches(['\n', '\r']),
            Err(e) => {
                let reason = format!("invalid UTF-8 at byte {}", e.valid_up_to());
                let _ = tx
                    .send(Inbound::Garbage {
                        line: truncate(&buf),
                        reason,
                    })
                    .await;
                continue;
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        let item = match AdapterMessage::from_line(text) {
            Ok(m) => Inbound::Message(m),
            Err(e) => Inbound::Garbage {
                line: truncate(text.as_bytes()),
                reason: e.to_string(),
            },
        };
        if tx.send(item).await.is_err() {
            return;
        }
    }
}

fn truncate(bytes: &[u8]) -> String {
    let end = bytes.len().min(512);
    String::from_utf8_lossy(bytes.get(..end).unwrap_or_default()).into_owned()
}

async fn drain_stderr<R: AsyncRead + Unpin>(mut r: R, tail: TailBuffer) {
    let mut buf = [0u8; 4096];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => tail.push(buf.get(..n).unwrap_or_default()),
        }
    }
}
