//! The SIP transport (RFC 3261 18) on tokio: one UDP socket and one TCP listener on the same
//! port, whole-message framing (datagrams; Content-Length on TCP), connection reuse per remote
//! address, and the capture tap (the sending side records every byte it writes).

use super::error::StackEvent;
use super::framing::StreamFramer;
use super::Transport;
use cpmconf_capture::Tap;
use cpmconf_codec::sip::Message;
use cpmconf_codec::Limits;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Largest UDP datagram read.
const MAX_DATAGRAM: usize = 65_535;

/// What the transport hands up to the endpoint.
#[derive(Debug)]
pub enum Inbound {
    /// A whole decoded message.
    Message {
        /// The message.
        msg: Box<Message>,
        /// Where it came from (the TCP peer or the datagram source).
        source: SocketAddr,
        /// How it came.
        transport: Transport,
    },
    /// Something to report (malformed bytes, a closed connection).
    Event(StackEvent),
    /// A TCP connection to `peer` ended; transactions using it fail (RFC 3261 17.1.4).
    ConnectionLost {
        /// The peer.
        peer: SocketAddr,
    },
}

/// The report of a message that decoded with findings, if it has any.
fn findings_event(
    d: &cpmconf_codec::Decoded<Message>,
    from: SocketAddr,
    transport: Transport,
) -> Option<Inbound> {
    if d.findings.is_empty() {
        return None;
    }
    Some(Inbound::Event(StackEvent::Findings {
        from,
        transport,
        start_line: String::from_utf8_lossy(&d.value.to_bytes())
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned(),
        findings: d.findings.clone(),
    }))
}

struct Conn {
    id: u64,
    tx: mpsc::UnboundedSender<Vec<u8>>,
}

struct Shared {
    local: SocketAddr,
    udp: UdpSocket,
    conns: Mutex<HashMap<SocketAddr, Conn>>,
    next_id: AtomicU64,
    tap: Option<Tap>,
    tap_received: bool,
    limits: Limits,
    inbound: mpsc::Sender<Inbound>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    connect_timeout: Duration,
}

/// Settings of a transport.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// Address to bind (127.0.0.1 or ::1 in tests).
    pub ip: IpAddr,
    /// Port for both UDP and TCP; 0 picks a free one.
    pub port: u16,
    /// Capture tap; every sent datagram and TCP write is recorded once, by the sender.
    pub tap: Option<Tap>,
    /// Also record what this side receives (for a peer that records nothing, e.g. a real client
    /// under test). Off by default so that two stack endpoints never record a byte twice.
    pub tap_received: bool,
    /// Decoder limits.
    pub limits: Limits,
    /// Deadline for opening a TCP connection.
    pub connect_timeout: Duration,
}

/// A bound UDP socket and TCP listener on the same port. Cheap to clone.
#[derive(Clone)]
pub struct SipTransport {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SipTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipTransport")
            .field("local", &self.shared.local)
            .finish_non_exhaustive()
    }
}

impl SipTransport {
    /// Binds UDP and TCP on the same port and starts the receive tasks; decoded messages and
    /// events go to `inbound`.
    pub async fn bind(config: TransportConfig, inbound: mpsc::Sender<Inbound>) -> io::Result<Self> {
        let (udp, listener) = bind_pair(config.ip, config.port).await?;
        let local = udp.local_addr()?;
        let shared = Arc::new(Shared {
            local,
            udp,
            conns: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            tap: config.tap,
            tap_received: config.tap_received,
            limits: config.limits,
            inbound,
            tasks: Mutex::new(Vec::new()),
            connect_timeout: config.connect_timeout,
        });
        let udp_task = tokio::spawn(udp_loop(Arc::downgrade(&shared)));
        let tcp_task = tokio::spawn(accept_loop(Arc::downgrade(&shared), listener));
        lock(&shared.tasks).extend([udp_task, tcp_task]);
        Ok(SipTransport { shared })
    }

    /// The bound address (same port for UDP and TCP).
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local
    }

    /// Sends one whole message's bytes. TCP reuses any open connection to `dest` (inbound or
    /// outbound, RFC 3261 18 and RFC 5923-style reuse) or opens one.
    pub async fn send(
        &self,
        bytes: &[u8],
        dest: SocketAddr,
        transport: Transport,
    ) -> io::Result<()> {
        match transport {
            Transport::Udp => {
                // Recorded before sending, so the capture's order is causal (an answer is never
                // recorded before what it answers).
                if let Some(tap) = &self.shared.tap {
                    tap.udp(self.shared.local, dest, bytes);
                }
                self.shared.udp.send_to(bytes, dest).await?;
                Ok(())
            }
            Transport::Tcp => {
                let existing = lock(&self.shared.conns).get(&dest).map(|c| c.tx.clone());
                let tx = match existing {
                    Some(tx) => tx,
                    None => self.connect(dest).await?,
                };
                tx.send(bytes.to_vec()).map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::BrokenPipe,
                        format!("connection to {dest} closed"),
                    )
                })
            }
        }
    }

    /// `true` if a TCP connection to `peer` is open.
    pub fn has_connection(&self, peer: SocketAddr) -> bool {
        lock(&self.shared.conns).contains_key(&peer)
    }

    async fn connect(&self, dest: SocketAddr) -> io::Result<mpsc::UnboundedSender<Vec<u8>>> {
        let stream = tokio::time::timeout(self.shared.connect_timeout, TcpStream::connect(dest))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, format!("connect to {dest}")))??;
        let local = stream.local_addr()?;
        if let Some(tap) = &self.shared.tap {
            tap.tcp_open(local, dest);
        }
        Ok(register(&self.shared, stream, local, dest))
    }

    /// Stops receiving and closes every connection (each writer records its FIN).
    pub fn shutdown(&self) {
        for t in lock(&self.shared.tasks).drain(..) {
            t.abort();
        }
        lock(&self.shared.conns).clear();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn bind_pair(ip: IpAddr, port: u16) -> io::Result<(UdpSocket, TcpListener)> {
    let mut last = None;
    for _ in 0..16 {
        let udp = UdpSocket::bind(SocketAddr::new(ip, port)).await?;
        let p = udp.local_addr()?.port();
        match TcpListener::bind(SocketAddr::new(ip, p)).await {
            Ok(l) => return Ok((udp, l)),
            Err(e) if port == 0 => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free port for UDP and TCP")))
}

async fn udp_loop(weak: std::sync::Weak<Shared>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let Some(shared) = weak.upgrade() else { return };
        let (n, from) = match shared.udp.recv_from(&mut buf).await {
            Ok(x) => x,
            // ICMP errors surface here on some systems; the socket stays usable.
            Err(_) => continue,
        };
        let Some(data) = buf.get(..n) else { continue };
        if shared.tap_received {
            if let Some(tap) = &shared.tap {
                tap.udp(from, shared.local, data);
            }
        }
        // RFC 3261 18.3: a datagram holds one whole message; undecodable ones are dropped (also
        // one shorter than its Content-Length: for a request that "SHOULD" get a 400, but
        // without a decoded message there is nothing to answer, so it is reported instead).
        let item = match Message::parse_with(data, &shared.limits) {
            Ok(d) => {
                if let Some(ev) = findings_event(&d, from, Transport::Udp) {
                    if shared.inbound.send(ev).await.is_err() {
                        return;
                    }
                }
                Inbound::Message {
                    msg: Box::new(d.value),
                    source: from,
                    transport: Transport::Udp,
                }
            }
            Err(error) => Inbound::Event(StackEvent::Malformed {
                from,
                transport: Transport::Udp,
                error,
            }),
        };
        let inbound = shared.inbound.clone();
        drop(shared);
        if inbound.send(item).await.is_err() {
            return;
        }
    }
}

async fn accept_loop(weak: std::sync::Weak<Shared>, listener: TcpListener) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let Some(shared) = weak.upgrade() else { return };
        let local = stream.local_addr().unwrap_or(shared.local);
        if shared.tap_received {
            if let Some(tap) = &shared.tap {
                tap.tcp_open(peer, local);
            }
        }
        // RFC 3261 18.2.1: keep inbound connections for the responses (and reuse them).
        register(&shared, stream, local, peer);
    }
}

fn register(
    shared: &Arc<Shared>,
    stream: TcpStream,
    local: SocketAddr,
    peer: SocketAddr,
) -> mpsc::UnboundedSender<Vec<u8>> {
    // Each write is a whole message (or a burst of them): waiting for more (Nagle) only delays.
    let _ = stream.set_nodelay(true);
    let (read, write) = stream.into_split();
    let (tx, rx) = mpsc::unbounded_channel();
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    lock(&shared.conns).insert(peer, Conn { id, tx: tx.clone() });
    tokio::spawn(writer(write, rx, shared.tap.clone(), local, peer));
    let reader_task = tokio::spawn(reader(Arc::downgrade(shared), read, id, local, peer));
    let mut tasks = lock(&shared.tasks);
    tasks.retain(|t| !t.is_finished());
    tasks.push(reader_task);
    tx
}

/// Most bytes a connection's writer joins into one write.
const WRITE_BATCH: usize = 64 * 1024;

async fn writer(
    mut write: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
    tap: Option<Tap>,
    local: SocketAddr,
    peer: SocketAddr,
) {
    while let Some(bytes) = rx.recv().await {
        // Recorded before writing: the capture's order is causal (one segment per message).
        if let Some(tap) = &tap {
            tap.tcp_data(local, peer, &bytes);
        }
        // Messages queued meanwhile go out in the same write: one system call (and, for the
        // peer, one read) for a burst of responses instead of one per message.
        let mut batch = bytes;
        while batch.len() < WRITE_BATCH {
            let Ok(more) = rx.try_recv() else { break };
            if let Some(tap) = &tap {
                tap.tcp_data(local, peer, &more);
            }
            batch.extend_from_slice(&more);
        }
        if write.write_all(&batch).await.is_err() {
            return;
        }
    }
    if write.shutdown().await.is_ok() {
        if let Some(tap) = &tap {
            tap.tcp_close(local, peer);
        }
    }
}

async fn reader(
    weak: std::sync::Weak<Shared>,
    mut read: OwnedReadHalf,
    id: u64,
    local: SocketAddr,
    peer: SocketAddr,
) {
    let mut chunk = vec![0u8; 16 * 1024];
    let (limits, tap_received, tap) = match weak.upgrade() {
        Some(s) => (s.limits, s.tap_received, s.tap.clone()),
        None => return,
    };
    // RFC 3261 18.3: on a stream, Content-Length frames each message.
    let mut framer = StreamFramer::new(limits);
    let mut decode_error = None;
    'read: loop {
        let n = match read.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let Some(data) = chunk.get(..n) else { break };
        if tap_received {
            if let Some(tap) = &tap {
                tap.tcp_data(peer, local, data);
            }
        }
        framer.push(data);
        while let Some(item) = framer.poll() {
            match item {
                Ok(decoded) => {
                    let Some(shared) = weak.upgrade() else { return };
                    let inbound = shared.inbound.clone();
                    drop(shared);
                    if let Some(ev) = findings_event(&decoded, peer, Transport::Tcp) {
                        if inbound.send(ev).await.is_err() {
                            return;
                        }
                    }
                    let item = Inbound::Message {
                        msg: Box::new(decoded.value),
                        source: peer,
                        transport: Transport::Tcp,
                    };
                    if inbound.send(item).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    decode_error = Some(e);
                    break 'read;
                }
            }
        }
    }
    let Some(shared) = weak.upgrade() else { return };
    let pending = framer.pending_bytes();
    {
        let mut conns = lock(&shared.conns);
        if conns.get(&peer).is_some_and(|c| c.id == id) {
            // Dropping the sender ends the writer, which closes our side.
            conns.remove(&peer);
        }
    }
    let inbound = shared.inbound.clone();
    drop(shared);
    if let Some(error) = decode_error {
        let _ = inbound
            .send(Inbound::Event(StackEvent::Malformed {
                from: peer,
                transport: Transport::Tcp,
                error,
            }))
            .await;
    }
    let _ = inbound
        .send(Inbound::Event(StackEvent::ConnectionClosed {
            peer,
            pending_bytes: pending,
        }))
        .await;
    let _ = inbound.send(Inbound::ConnectionLost { peer }).await;
}
