//! Building blocks of every request and response the client sends: From/To/Call-ID/CSeq,
//! Contact with +sip.instance and ICSIs, Accept-Contact, P-Preferred-Service, User-Agent, SDP.

use cpmconf_codec::msrp::MsrpUri;
use cpmconf_codec::sdp::{MsrpMedia, Origin};
use cpmconf_codec::sip::{icsi_ref_param, Message, Method, StatusCode};
use cpmconf_stack::sip::response_to;

use crate::core::Core;

/// The product token of Appendix D followed by ours (7/user-agent-header).
pub const USER_AGENT: &str = "CPM-client/OMA2.0 cpmconf-ref/0.1";

impl Core {
    /// `sip:user@ip:port;transport=udp|tcp`.
    pub fn contact_uri(&self) -> String {
        let local = self.sip.local_addr();
        let t = match self.cfg.transport {
            cpmconf_stack::sip::Transport::Udp => "udp",
            cpmconf_stack::sip::Transport::Tcp => "tcp",
        };
        format!(
            "sip:{}@{};transport={t}",
            self.cfg.identity.user,
            cpmconf_stack::sip::fields::host_port(local)
        )
    }

    /// Contact with `+sip.instance` (6.1.1) and the ICSIs, each percent-encoded in
    /// `+g.3gpp.icsi-ref` (3GPP TS 24.229 7.2A.8.2).
    pub fn contact(&self, icsis: &[&str], with_instance: bool) -> String {
        let mut c = format!("<{}>", self.contact_uri());
        if with_instance {
            c.push_str(&format!(";+sip.instance=\"<{}>\"", self.instance));
        }
        if !icsis.is_empty() {
            c.push(';');
            c.push_str(&icsi_ref_param(icsis));
        }
        c
    }

    /// `*;+g.3gpp.icsi-ref="..."`.
    pub fn accept_contact(icsis: &[&str]) -> String {
        format!("*;{}", icsi_ref_param(icsis))
    }

    /// Our address of record.
    pub fn aor(&self) -> String {
        self.cfg.identity.aor()
    }

    /// A new out-of-dialog request with From (new tag), To, Call-ID, CSeq 1 and User-Agent.
    pub fn base_request(&mut self, method: Method, ruri: &str, to: &str) -> Message {
        let m = method.as_str().to_owned();
        let mut req = Message::request(method, ruri);
        let tag = self.ids.token(10);
        req.headers
            .push("From", format!("<{}>;tag={tag}", self.aor()));
        req.headers.push("To", format!("<{to}>"));
        let call_id = format!("{}@{}", self.ids.token(16), self.cfg.ip);
        req.headers.push("Call-ID", call_id);
        req.headers.push("CSeq", format!("1 {m}"));
        self.add_user_agent(&mut req);
        req
    }

    /// Adds User-Agent (clause 7: every request states the CPM release, Appendix D).
    pub fn add_user_agent(&self, req: &mut Message) {
        // 7/user-agent-header
        if !self.faults.has("7/user-agent-header") {
            req.headers.set("User-Agent", USER_AGENT);
        }
    }

    /// An in-dialog request of `dialog`, with User-Agent.
    pub fn in_dialog(&self, dialog: &mut cpmconf_stack::sip::Dialog, method: Method) -> Message {
        let mut req = dialog.request(method);
        self.add_user_agent(&mut req);
        req
    }

    /// A response to `req` with `code`, a To tag when `tag` is given.
    pub fn response(&self, req: &Message, code: u16, tag: Option<&str>) -> Message {
        response_to(req, StatusCode(code), tag)
    }

    /// A final response to `req` with `code` and a new To tag.
    pub fn response_tagged(&mut self, req: &Message, code: u16) -> Message {
        let tag = self.ids.token(10);
        response_to(req, StatusCode(code), Some(&tag))
    }

    /// A fresh MSRP path for a session of ours (passive listener URI).
    pub fn new_local_path(&mut self) -> Vec<MsrpUri> {
        let sid = self.ids.token(12);
        vec![self.msrp.local_uri(&sid)]
    }

    /// Chat media for `path`.
    pub fn chat_media(&self, path: &[MsrpUri]) -> MsrpMedia {
        let addr = self.msrp.local_addr();
        MsrpMedia::chat(&addr.ip().to_string(), addr.port(), path.to_vec())
    }

    /// An SDP origin for a new description.
    pub fn origin(&mut self) -> Origin {
        let n = self.ids.number();
        Origin::new("-", n, n, &self.cfg.ip.to_string())
    }
}
