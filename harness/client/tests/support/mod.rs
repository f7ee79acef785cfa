//! A scripted network peer for the reference client's tests: one cpmconf-stack SIP endpoint
//! playing the SIP/IP core (and the remote users and focus behind it), plus helpers.
#![allow(dead_code)]

use std::time::Duration;

use cpmconf_client::{ClientConfig, FaultSet, RefClient};
use cpmconf_codec::msrp::MsrpUri;
use cpmconf_codec::sdp::{MsrpMedia, Origin, SessionDescription, Setup};
use cpmconf_codec::sip::{Message, Method, StatusCode};
use cpmconf_stack::msrp::{MsrpConnection, MsrpEndpoint, MsrpError, SessionConfig, SessionEvent};
use cpmconf_stack::sip::{response_to, EndpointConfig, ServerTx, SipEndpoint, Timers, Transport};
use cpmconf_ut::{Adapter, Command, Event, Response};
use tokio::time::Instant;

/// Deadline of every single wait.
pub const WAIT: Duration = Duration::from_secs(5);

/// The client under test and the scripted core.
pub struct Rig {
    pub client: RefClient,
    pub ut: Adapter,
    pub core: SipEndpoint,
}

/// Starts a core endpoint and a reference client pointed at it, with `faults` on.
pub async fn rig(faults: &[&str]) -> Rig {
    let mut ep = EndpointConfig::new("core");
    ep.timers = Timers {
        t1: Duration::from_millis(50),
        t2: Duration::from_millis(400),
        t4: Duration::from_millis(500),
    };
    let core = SipEndpoint::bind(ep).await.expect("bind core");
    let mut cfg = ClientConfig::new("alice", "cpm.test", "secret", core.local_addr());
    cfg.faults = FaultSet::parse(faults.iter().copied()).expect("faults");
    cfg.timers.sip = Timers {
        t1: Duration::from_millis(50),
        t2: Duration::from_millis(400),
        t4: Duration::from_millis(500),
    };
    cfg.timers.deferred_idle = Duration::from_millis(300);
    cfg.seed = 7;
    let (client, ut) = RefClient::start(cfg).await.expect("start client");
    Rig { client, ut, core }
}

impl Rig {
    /// Runs a command and returns its response (must be ok).
    pub async fn cmd(&mut self, c: Command) -> Response {
        let r = self.ut.command(c, WAIT).await.expect("command");
        assert!(r.ok, "command failed: {:?}", r.error);
        r
    }

    /// The next event matching `pred`.
    pub async fn event(&mut self, pred: impl Fn(&Event) -> bool + Send + Sync) -> Event {
        self.ut.wait_event(&pred, WAIT).await.expect("event")
    }

    /// The next request, which must have `method` (ACKs, which get no answer, are skipped); any
    /// other request fails the test.
    pub async fn expect(&self, method: Method) -> ServerTx {
        self.expect_after(method, &[]).await
    }

    /// The next request with `method`; requests with a method in `answered` come first, are
    /// answered 200 and skipped (ACKs too, unanswered); any other request fails the test.
    pub async fn expect_after(&self, method: Method, answered: &[Method]) -> ServerTx {
        loop {
            let tx = self.core.next_request_within(WAIT).await.expect("request");
            let got = tx.request.method().cloned();
            if got.as_ref() == Some(&method) {
                return tx;
            }
            match got {
                Some(Method::Ack) => {}
                Some(m) if answered.contains(&m) => {
                    tx.respond(response_to(&tx.request, StatusCode::OK, Some("auto")))
                        .await
                        .expect("answer a skipped request");
                }
                _ => panic!(
                    "expected a {method} request, got {}",
                    String::from_utf8_lossy(&tx.request.to_bytes())
                ),
            }
        }
    }

    /// Sends `req` to the client and returns the final response.
    pub async fn send(&self, req: Message) -> Message {
        let mut tx = self
            .core
            .send_request(req, self.client.sip_addr(), Transport::Udp)
            .await
            .expect("send");
        tx.final_response(WAIT).await.expect("final response")
    }

    /// `sync`: everything sent so far to the client has been handled.
    pub async fn sync(&mut self) {
        self.cmd(Command::Sync).await;
    }
}

/// A request from the network to alice.
pub fn request(method: Method, from: &str, call_id: &str) -> Message {
    let m = method.as_str().to_owned();
    let mut r = Message::request(method, "sip:alice@cpm.test");
    r.headers
        .push("From", format!("<{from}>;tag=peer{call_id}"));
    r.headers.push("To", "<sip:alice@cpm.test>");
    r.headers.push("Call-ID", call_id.to_owned());
    r.headers.push("CSeq", format!("1 {m}"));
    r
}

/// An MSRP chat media description of the peer (listening on `ep`).
pub fn peer_media(ep: &MsrpEndpoint, sid: &str, setup: Setup) -> (MsrpMedia, Vec<MsrpUri>) {
    let path = vec![ep.local_uri(sid)];
    let addr = ep.local_addr();
    let mut m = MsrpMedia::chat(&addr.ip().to_string(), addr.port(), path.clone());
    m.setup = setup;
    (m, path)
}

/// The MSRP path and SDP of a message body.
pub fn sdp_of(msg: &Message) -> SessionDescription {
    SessionDescription::parse(&msg.body).expect("sdp").value
}

/// The remote path of an SDP.
pub fn path_of(sdp: &SessionDescription) -> Vec<MsrpUri> {
    sdp.msrp_media()
        .and_then(|m| m.path())
        .expect("path")
        .expect("valid path")
}

/// Connects to the client's MSRP path (the peer is active).
pub async fn connect(local: Vec<MsrpUri>, remote: Vec<MsrpUri>) -> MsrpConnection {
    MsrpConnection::connect(
        SessionConfig::new(local, remote),
        None,
        Instant::now() + WAIT,
    )
    .await
    .expect("msrp connect")
}

/// The next whole MSRP message.
pub async fn msrp_message(conn: &mut MsrpConnection) -> (Option<String>, Vec<u8>) {
    loop {
        match conn
            .next_event(Instant::now() + WAIT)
            .await
            .expect("msrp event")
        {
            SessionEvent::Message {
                content_type, body, ..
            } => return (content_type, body),
            _ => continue,
        }
    }
}

/// Whether no MSRP message arrives within a short window (after a `sync`): `true` when the
/// window passes quietly, `false` on a message. The connection must stay open: its close, or any
/// other error, fails the test (it is not quiet, it is gone).
pub async fn msrp_quiet(conn: &mut MsrpConnection) -> bool {
    quiet(conn, false).await
}

/// [`msrp_quiet`] where the client may also close the connection in the window (a deferred
/// session that ends when idle): a clean close counts as quiet, any other error fails the test.
pub async fn msrp_quiet_or_closed(conn: &mut MsrpConnection) -> bool {
    quiet(conn, true).await
}

async fn quiet(conn: &mut MsrpConnection, close_ok: bool) -> bool {
    loop {
        match conn
            .next_event(Instant::now() + Duration::from_millis(300))
            .await
        {
            Ok(SessionEvent::Message { .. }) => return false,
            Ok(_) => continue,
            Err(MsrpError::Timeout(_)) => return true,
            Err(MsrpError::Closed) if close_ok => return true,
            Err(e) => panic!("MSRP connection failed while waiting for quiet: {e}"),
        }
    }
}

/// An SDP origin for the peer.
pub fn origin() -> Origin {
    Origin::new("-", 1, 1, "127.0.0.1")
}
