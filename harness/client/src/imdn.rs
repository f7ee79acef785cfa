//! CPIM payloads and disposition notifications (5.4, RFC 5438): building chat / IMDN /
//! isComposing bodies, processing what arrives (5.4.4), and sending IMDNs by SIP MESSAGE or MSRP.

use cpmconf_codec::cpim::{self, NameAddr};
use cpmconf_codec::sip::{icsi, Method};
use cpmconf_codec::xml::imdn::{Imdn, NotificationKind, Status};
use cpmconf_ut::{Event, ImdnReceived, Quirk};

use crate::core::{Core, Purpose};

/// A decoded incoming CPIM payload.
pub(crate) enum Payload {
    /// A user message.
    Text {
        from: String,
        content_type: String,
        text: Vec<u8>,
        message_id: Option<String>,
        dispositions: Vec<String>,
    },
    /// A disposition notification.
    Imdn { from: Option<String>, imdn: Imdn },
    /// An isComposing indication.
    Composing {
        from: Option<String>,
        state: cpmconf_ut::ComposingState,
    },
    /// Conference state delivered in the session (Participant Information, 7.3.12 b i).
    ConferenceInfo(Vec<String>),
}

/// The current time as RFC 3339 (CPIM DateTime, IMDN datetime).
pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

fn composing_state(body: &[u8]) -> Option<cpmconf_ut::ComposingState> {
    let c = cpmconf_codec::xml::iscomposing::parse(body).ok()?;
    Some(match c.state {
        cpmconf_codec::xml::iscomposing::State::Active => cpmconf_ut::ComposingState::Active,
        _ => cpmconf_ut::ComposingState::Idle,
    })
}

fn participants_of(body: &[u8]) -> Option<Vec<String>> {
    let ci = cpmconf_codec::xml::conference_info::parse(body).ok()?;
    Some(
        ci.users
            .iter()
            .filter(|u| {
                !matches!(
                    u.state,
                    Some(cpmconf_codec::xml::conference_info::ElementState::Deleted)
                )
            })
            .filter(|u| {
                !u.endpoints
                    .iter()
                    .any(|e| e.status.as_deref() == Some("disconnected"))
            })
            .filter_map(|u| u.entity.clone())
            .collect(),
    )
}

/// Decodes a body of `content_type` (CPIM or bare) into a [`Payload`].
pub(crate) fn decode_payload(content_type: &str, body: &[u8]) -> Option<Payload> {
    let ct = content_type.to_ascii_lowercase();
    if ct.starts_with("application/im-iscomposing+xml") {
        return composing_state(body).map(|state| Payload::Composing { from: None, state });
    }
    if ct.starts_with("application/conference-info+xml") {
        return participants_of(body).map(Payload::ConferenceInfo);
    }
    if !ct.starts_with("message/cpim") {
        return Some(Payload::Text {
            from: String::new(),
            content_type: content_type.to_owned(),
            text: body.to_vec(),
            message_id: None,
            dispositions: Vec::new(),
        });
    }
    let msg = cpim::parse(body).ok()?.value;
    let from = msg.from().map(|f| f.uri);
    let inner = msg
        .content_type()
        .unwrap_or("text/plain")
        .to_ascii_lowercase();
    if inner.starts_with("message/imdn+xml") {
        let imdn = Imdn::parse(&msg.body).ok()?;
        return Some(Payload::Imdn { from, imdn });
    }
    if inner.starts_with("application/im-iscomposing+xml") {
        return composing_state(&msg.body).map(|state| Payload::Composing { from, state });
    }
    if inner.starts_with("application/conference-info+xml") {
        return participants_of(&msg.body).map(Payload::ConferenceInfo);
    }
    Some(Payload::Text {
        from: from.unwrap_or_default(),
        content_type: msg.content_type().unwrap_or("text/plain").to_owned(),
        text: msg.body.clone(),
        message_id: msg.imdn_message_id().map(str::to_owned),
        dispositions: msg.disposition_notification(),
    })
}

impl Core {
    /// A CPIM user message From us To `to` with a new imdn.Message-ID; returns (bytes, id).
    pub fn cpim_message(
        &mut self,
        to: &str,
        content_type: &str,
        body: &[u8],
        dispositions: &[&str],
    ) -> (Vec<u8>, String) {
        let id = self.ids.token(12);
        let mut to = NameAddr::uri(to);
        if self.cfg.quirk(Quirk::CpimToDisplayName) {
            to.display = Some("Chat".into());
        }
        let mut b = cpim::Message::builder()
            .from(&NameAddr::uri(self.aor()))
            .to(&to)
            .datetime(&now_rfc3339())
            .imdn_message_id(&id);
        if !dispositions.is_empty() {
            b = b.disposition_notification(dispositions);
        }
        let msg = b.content_type(content_type).body(body.to_vec()).build();
        (msg.to_bytes(), id)
    }

    /// A CPIM-wrapped IMDN about `message_id` To `to`.
    pub fn cpim_imdn(&mut self, to: &str, message_id: &str, kind: NotificationKind) -> Vec<u8> {
        let status = match kind {
            NotificationKind::Display => Status::Displayed,
            NotificationKind::Processing => Status::Processed,
            NotificationKind::Delivery => Status::Delivered,
        };
        let imdn = Imdn::new(message_id, now_rfc3339(), kind, status);
        let id = self.ids.token(12);
        cpim::Message::builder()
            .from(&NameAddr::uri(self.aor()))
            .to(&NameAddr::uri(to))
            .datetime(&now_rfc3339())
            .imdn_message_id(&id)
            .content_type("message/imdn+xml")
            .content_header("Content-Disposition", "notification")
            .body(imdn.to_xml().into_bytes())
            .build()
            .to_bytes()
    }

    /// Sends an IMDN in a SIP MESSAGE to `to` (5.4.1; 7.3.11 item 2; 7.4.2 item 6).
    pub fn send_imdn_by_message(&mut self, to: &str, message_id: &str, kind: NotificationKind) {
        let body = self.cpim_imdn(to, message_id, kind);
        let mut req = self.base_request(Method::Message, to, to);
        req.headers
            .push("Accept-Contact", Core::accept_contact(&[icsi::CPM_MSG]));
        req.headers.push("P-Preferred-Service", icsi::CPM_MSG);
        req.headers
            .push("Contact", self.contact(&[icsi::CPM_MSG], true));
        req.set_body("message/cpim", body);
        self.send(req, Purpose::Message, None);
    }

    /// An IMDN arrived (5.4.4: processed per RFC 5438): reported to the user.
    pub fn on_imdn(&mut self, from: Option<String>, imdn: &Imdn) {
        self.emit(Event::ImdnReceived(ImdnReceived {
            message_id: imdn.message_id.clone(),
            status: imdn.status.as_str().to_owned(),
            from,
        }));
    }
}
