//! A small test UA on cpmconf-stack: registers (answering a digest challenge), sends requests
//! through the sim core and answers requests from it.
#![allow(dead_code)]

use cpmconf_codec::sip::{Challenge, Credentials, Message, Method, StatusCode};
use cpmconf_stack::sip::{response_to, EndpointConfig, ServerTx, SipEndpoint, Transport};
use std::net::SocketAddr;
use std::time::Duration;

/// How long any single wait in a test may take.
pub const WAIT: Duration = Duration::from_secs(5);

/// A user agent using the sim core as outbound proxy.
pub struct Ua {
    pub ep: SipEndpoint,
    pub user: String,
    pub core: SocketAddr,
    pub transport: Transport,
    next: u32,
}

impl Ua {
    pub async fn new(user: &str, core: SocketAddr, transport: Transport) -> Ua {
        Self::with_tap(user, core, transport, None).await
    }

    /// A UA whose sent bytes are recorded by `tap` too (so a capture holds both directions).
    pub async fn with_tap(
        user: &str,
        core: SocketAddr,
        transport: Transport,
        tap: Option<cpmconf_capture::Tap>,
    ) -> Ua {
        let mut cfg = EndpointConfig::new(user);
        cfg.tap = tap;
        let ep = SipEndpoint::bind(cfg).await.expect("bind test UA");
        Ua {
            ep,
            user: user.into(),
            core,
            transport,
            next: 0,
        }
    }

    pub fn aor(&self) -> String {
        format!("sip:{}@cpm.test", self.user)
    }

    pub fn contact_uri(&self) -> String {
        let t = match self.transport {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        };
        format!("sip:{}@{};transport={t}", self.user, self.ep.local_addr())
    }

    /// A new out-of-dialog request with From (tag), To, Call-ID, CSeq and Contact.
    pub fn request(&mut self, method: Method, ruri: &str) -> Message {
        self.next += 1;
        let n = self.next;
        Message::request(method.clone(), ruri)
            .with_header("From", format!("<{}>;tag=ua{n}", self.aor()))
            .with_header("To", format!("<{ruri}>"))
            .with_header("Call-ID", format!("{}-{n}@test", self.user))
            .with_header("CSeq", format!("1 {}", method.as_str()))
            .with_header("Contact", format!("<{}>", self.contact_uri()))
            .with_header("User-Agent", "CPM-client/OMA2.0 test-ua")
    }

    /// Sends a request and returns its final response.
    pub async fn send(&self, req: Message) -> Message {
        let mut tx = self
            .ep
            .send_request(req, self.core, self.transport)
            .await
            .expect("send");
        tx.final_response(WAIT).await.expect("final response")
    }

    /// REGISTER for `expires` seconds, answering one digest challenge with `password`.
    pub async fn register(&mut self, expires: u32, password: Option<&str>) -> Message {
        let mut req = self
            .request(Method::Register, "sip:cpm.test")
            .with_header("Expires", expires.to_string());
        req.headers.set("To", format!("<{}>", self.aor()));
        let resp = self.send(req.clone()).await;
        if resp.status() != Some(StatusCode::UNAUTHORIZED) {
            return resp;
        }
        let Some(password) = password else {
            return resp;
        };
        let ch = Challenge::parse(resp.header("WWW-Authenticate").expect("challenge"))
            .expect("parse challenge");
        let creds = Credentials::answer(
            &ch,
            &self.user,
            password,
            "REGISTER",
            "sip:cpm.test",
            "cn0nce",
            1,
        )
        .expect("supported algorithm");
        req.headers.set("Authorization", creds.to_string());
        req.headers.set("CSeq", "2 REGISTER");
        self.send(req).await
    }

    /// The next request the sim sends to this UA.
    pub async fn next_request(&self) -> ServerTx {
        self.ep
            .next_request_within(WAIT)
            .await
            .expect("request from the sim")
    }

    /// Answers `tx` with `code` (To tag `uas`), optional Contact and body.
    pub async fn answer(&self, tx: &ServerTx, code: u16, body: Option<(&str, Vec<u8>)>) {
        let mut resp = response_to(&tx.request, StatusCode(code), Some("uas"));
        resp.headers
            .push("Contact", format!("<{}>", self.contact_uri()));
        if let Some((ct, b)) = body {
            resp.set_body(ct, b);
        }
        tx.respond(resp).await.expect("respond");
    }
}
