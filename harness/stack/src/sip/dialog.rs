//! Sans-IO SIP dialog state (RFC 3261 12): identifiers, URIs, remote target, route set and
//! CSeq bookkeeping, and the building of in-dialog requests and of the ACK of a 2xx.

use cpmconf_codec::sip::{AddrText, Message, Method};

/// Why a dialog cannot be created or a request does not fit it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialogError {
    /// A header the dialog needs is absent.
    #[error("missing {0} (RFC 3261 12.1)")]
    Missing(&'static str),
    /// The response cannot create a dialog (not 101-299 with a To tag).
    #[error("response {0} cannot create a dialog (RFC 3261 12.1.2)")]
    NotDialogCreating(u16),
    /// RFC 3261 12.2.2: a remote CSeq lower than the last one is out of order.
    #[error("remote CSeq {got} is lower than {last} (RFC 3261 12.2.2)")]
    CSeqOutOfOrder {
        /// The CSeq received.
        got: u32,
        /// The last CSeq seen.
        last: u32,
    },
    /// The request belongs to another dialog.
    #[error("the request does not match this dialog (RFC 3261 12.2.2)")]
    Mismatch,
}

/// The identity of a dialog (RFC 3261 12): Call-ID, local tag, remote tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    /// Call-ID.
    pub call_id: String,
    /// This side's tag.
    pub local_tag: String,
    /// The peer's tag.
    pub remote_tag: String,
}

/// Early (from a 1xx with a tag) or confirmed (from a 2xx).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    /// Created by a provisional response.
    Early,
    /// Created or confirmed by a 2xx.
    Confirmed,
    /// Ended (BYE, or a non-2xx final for an early dialog).
    Terminated,
}

/// One side's view of a dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    /// Identity.
    pub id: DialogId,
    /// This side's name-addr (From for requests we send), without tag.
    pub local_uri: String,
    /// The peer's name-addr, without tag.
    pub remote_uri: String,
    /// Where in-dialog requests go (the peer's Contact URI).
    pub remote_target: String,
    /// Route set, in the order Route headers are written.
    pub route_set: Vec<String>,
    /// Last CSeq this side used.
    pub local_cseq: u32,
    /// Last CSeq received from the peer.
    pub remote_cseq: Option<u32>,
    /// Our Contact, written into requests we send when set.
    pub local_contact: Option<String>,
    /// State.
    pub state: DialogState,
}

fn name_addr_without_tag(v: &str) -> String {
    AddrText::read(v).without_param("tag")
}

fn contact_uri(msg: &Message) -> Option<String> {
    msg.headers
        .elements("Contact")
        .first()
        .map(|(_, v)| AddrText::read(v).uri.to_owned())
}

fn record_routes(msg: &Message) -> Vec<String> {
    msg.headers
        .elements("Record-Route")
        .into_iter()
        .map(|(_, v)| v.to_owned())
        .collect()
}

impl Dialog {
    /// RFC 3261 12.1.2: the UAC side, from the request sent and a 101-299 response with a To tag.
    /// The route set is the Record-Route of the response, reversed.
    pub fn uac(request: &Message, response: &Message) -> Result<Dialog, DialogError> {
        let code = response.status().ok_or(DialogError::Missing("status"))?;
        if !(101..300).contains(&code.0) {
            return Err(DialogError::NotDialogCreating(code.0));
        }
        let to = response.header("To").ok_or(DialogError::Missing("To"))?;
        let remote_tag = response
            .to_tag()
            .ok_or(DialogError::NotDialogCreating(code.0))?;
        let from = request.header("From").ok_or(DialogError::Missing("From"))?;
        let local_tag = request.from_tag().ok_or(DialogError::Missing("From tag"))?;
        let call_id = request.call_id().ok_or(DialogError::Missing("Call-ID"))?;
        let mut route_set = record_routes(response);
        route_set.reverse();
        let remote_target = contact_uri(response)
            .or_else(|| request.request_uri().map(str::to_owned))
            .ok_or(DialogError::Missing("Contact"))?;
        Ok(Dialog {
            id: DialogId {
                call_id: call_id.to_owned(),
                local_tag,
                remote_tag,
            },
            local_uri: name_addr_without_tag(from),
            remote_uri: name_addr_without_tag(to),
            remote_target,
            route_set,
            local_cseq: request.cseq_number().unwrap_or(1),
            remote_cseq: None,
            local_contact: request
                .headers
                .elements("Contact")
                .first()
                .map(|(_, v)| (*v).to_owned()),
            state: if code.is_success() {
                DialogState::Confirmed
            } else {
                DialogState::Early
            },
        })
    }

    /// RFC 3261 12.1.1: the UAS side, from the received request and the tag it puts in To.
    /// The route set is the request's Record-Route in order.
    pub fn uas(request: &Message, local_tag: &str) -> Result<Dialog, DialogError> {
        let from = request.header("From").ok_or(DialogError::Missing("From"))?;
        let to = request.header("To").ok_or(DialogError::Missing("To"))?;
        let remote_tag = request.from_tag().ok_or(DialogError::Missing("From tag"))?;
        let call_id = request.call_id().ok_or(DialogError::Missing("Call-ID"))?;
        let remote_target = contact_uri(request).ok_or(DialogError::Missing("Contact"))?;
        Ok(Dialog {
            id: DialogId {
                call_id: call_id.to_owned(),
                local_tag: local_tag.to_owned(),
                remote_tag,
            },
            local_uri: name_addr_without_tag(to),
            remote_uri: name_addr_without_tag(from),
            remote_target,
            route_set: record_routes(request),
            local_cseq: 0,
            remote_cseq: request.cseq_number(),
            local_contact: None,
            state: DialogState::Confirmed,
        })
    }

    /// A response within the dialog arrived: a 2xx confirms an early dialog and refreshes the
    /// remote target (12.2.1.2); a non-2xx final to the creating INVITE ends an early dialog.
    pub fn handle_response(&mut self, response: &Message) {
        let Some(code) = response.status() else {
            return;
        };
        if code.is_success() {
            if self.state == DialogState::Early {
                self.state = DialogState::Confirmed;
                let mut rr = record_routes(response);
                rr.reverse();
                self.route_set = rr;
            }
            if response.cseq_method() == Some(Method::Invite)
                || response.headers.contains("Contact")
            {
                if let Some(t) = contact_uri(response) {
                    self.remote_target = t;
                }
            }
        } else if code.is_final() && self.state == DialogState::Early {
            self.state = DialogState::Terminated;
        }
    }

    /// RFC 3261 12.2.2: checks an in-dialog request from the peer (identity, CSeq order) and
    /// records its CSeq; a BYE ends the dialog, a target-refresh updates the remote target.
    pub fn handle_request(&mut self, request: &Message) -> Result<(), DialogError> {
        if request.call_id() != Some(self.id.call_id.as_str())
            || request.from_tag().as_deref() != Some(self.id.remote_tag.as_str())
            || request.to_tag().as_deref() != Some(self.id.local_tag.as_str())
        {
            return Err(DialogError::Mismatch);
        }
        let method = request.method().cloned();
        if method != Some(Method::Ack) && method != Some(Method::Cancel) {
            let got = request.cseq_number().ok_or(DialogError::Missing("CSeq"))?;
            if let Some(last) = self.remote_cseq {
                if got < last {
                    return Err(DialogError::CSeqOutOfOrder { got, last });
                }
            }
            self.remote_cseq = Some(got);
        }
        match method {
            Some(Method::Bye) => self.state = DialogState::Terminated,
            Some(Method::Invite | Method::Update) => {
                if let Some(t) = contact_uri(request) {
                    self.remote_target = t;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// RFC 3261 12.2.1.1: a new in-dialog request: Request-URI = remote target, Route = route
    /// set (loose routing assumed), From/To with tags, Call-ID, the next local CSeq. Via,
    /// Max-Forwards and Content-Length are left to the endpoint. A BYE ends the dialog.
    pub fn request(&mut self, method: Method) -> Message {
        self.local_cseq = self.local_cseq.saturating_add(1);
        if method == Method::Bye {
            self.state = DialogState::Terminated;
        }
        let cseq = self.local_cseq;
        self.build(method, cseq)
    }

    /// RFC 3261 13.2.2.4: the ACK of a 2xx to the INVITE with CSeq `invite_cseq` (same CSeq
    /// number, method ACK, built like an in-dialog request).
    pub fn ack_for(&self, invite_cseq: u32) -> Message {
        self.build(Method::Ack, invite_cseq)
    }

    fn build(&self, method: Method, cseq: u32) -> Message {
        let m = method.as_str().to_owned();
        let mut req = Message::request(method, self.remote_target.clone());
        for r in &self.route_set {
            req.headers.push("Route", r.clone());
        }
        req.headers.push(
            "From",
            format!("{};tag={}", self.local_uri, self.id.local_tag),
        );
        req.headers.push(
            "To",
            format!("{};tag={}", self.remote_uri, self.id.remote_tag),
        );
        req.headers.push("Call-ID", self.id.call_id.clone());
        req.headers.push("CSeq", format!("{cseq} {m}"));
        if let Some(c) = &self.local_contact {
            req.headers.push("Contact", c.clone());
        }
        req
    }

    /// `true` once a BYE was sent or received (or an early dialog failed).
    pub fn is_terminated(&self) -> bool {
        self.state == DialogState::Terminated
    }

    /// Marks the dialog ended.
    pub fn terminate(&mut self) {
        self.state = DialogState::Terminated;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::response::response_to;
    use cpmconf_codec::sip::StatusCode;

    fn invite() -> Message {
        Message::request(Method::Invite, "sip:bob@127.0.0.1")
            .with_header("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1")
            .with_header("From", "\"Alice\" <sip:alice@127.0.0.1>;tag=a1")
            .with_header("To", "<sip:bob@127.0.0.1>")
            .with_header("Call-ID", "cid")
            .with_header("CSeq", "7 INVITE")
            .with_header("Contact", "<sip:alice@127.0.0.1:5060>")
            .with_header(
                "Record-Route",
                "<sip:p1@127.0.0.1;lr>, <sip:p2@127.0.0.1;lr>",
            )
    }

    #[test]
    fn uac_and_uas_build_mirror_requests() {
        let inv = invite();
        let mut ok = response_to(&inv, StatusCode::OK, Some("b1"));
        ok.headers
            .push("Contact", "<sip:bob@127.0.0.1:6000;transport=tcp>");
        ok.headers.push(
            "Record-Route",
            "<sip:p1@127.0.0.1;lr>, <sip:p2@127.0.0.1;lr>",
        );
        let mut uac = Dialog::uac(&inv, &ok).expect("uac dialog");
        let mut uas = Dialog::uas(&inv, "b1").expect("uas dialog");
        assert_eq!(uac.id.call_id, uas.id.call_id);
        assert_eq!(uac.id.local_tag, uas.id.remote_tag);
        assert_eq!(
            uac.route_set,
            vec!["<sip:p2@127.0.0.1;lr>", "<sip:p1@127.0.0.1;lr>"]
        );
        assert_eq!(
            uas.route_set,
            vec!["<sip:p1@127.0.0.1;lr>", "<sip:p2@127.0.0.1;lr>"]
        );

        let ack = uac.ack_for(7);
        assert_eq!(ack.header("CSeq"), Some("7 ACK"));
        assert_eq!(
            ack.request_uri(),
            Some("sip:bob@127.0.0.1:6000;transport=tcp")
        );

        let bye = uac.request(Method::Bye);
        assert_eq!(bye.header("CSeq"), Some("8 BYE"));
        assert_eq!(
            bye.header("From"),
            Some("\"Alice\" <sip:alice@127.0.0.1>;tag=a1")
        );
        assert_eq!(bye.header("To"), Some("<sip:bob@127.0.0.1>;tag=b1"));
        assert_eq!(bye.header("Route"), Some("<sip:p2@127.0.0.1;lr>"));
        assert!(uac.is_terminated());
        uas.handle_request(&bye).expect("in dialog");
        assert!(uas.is_terminated());
    }

    #[test]
    fn lower_remote_cseq_is_rejected() {
        let inv = invite();
        let mut uas = Dialog::uas(&inv, "b1").expect("uas");
        let mut req = Message::request(Method::Message, "sip:bob@127.0.0.1")
            .with_header("From", "<sip:alice@127.0.0.1>;tag=a1")
            .with_header("To", "<sip:bob@127.0.0.1>;tag=b1")
            .with_header("Call-ID", "cid")
            .with_header("CSeq", "6 MESSAGE");
        assert_eq!(
            uas.handle_request(&req),
            Err(DialogError::CSeqOutOfOrder { got: 6, last: 7 })
        );
        req.headers.set("To", "<sip:bob@127.0.0.1>;tag=zz");
        assert_eq!(uas.handle_request(&req), Err(DialogError::Mismatch));
    }

    #[test]
    fn response_without_to_tag_creates_no_dialog() {
        let inv = invite();
        let trying = response_to(&inv, StatusCode::RINGING, None);
        assert_eq!(
            Dialog::uac(&inv, &trying),
            Err(DialogError::NotDialogCreating(180))
        );
    }
}
