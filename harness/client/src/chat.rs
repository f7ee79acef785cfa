//! Chat sessions (7.3.1.x, 7.3.9.1): the INVITEs for 1-1, ad-hoc group, pre-defined group and
//! re-join; CPIM chat messages with the To rules of 7.3.9.1 a-c and IMDN requests (d);
//! isComposing (5.5, 7.3.9.1 e); and everything arriving over MSRP in a session.

use cpmconf_codec::multipart::{Multipart, Part};
use cpmconf_codec::sdp::chat_offer;
use cpmconf_codec::sip::{icsi, Method};
use cpmconf_codec::xml::imdn::NotificationKind;
use cpmconf_codec::xml::iscomposing::{IsComposing, State};
use cpmconf_codec::xml::resource_lists::{CopyControl, Entry, ResourceLists};
use cpmconf_stack::msrp::SessionEvent;
use cpmconf_ut::{ComposingState, Event};

use crate::core::{Core, Purpose};
use crate::imdn::{decode_payload, Payload};
use crate::media::MediaCmd;
use crate::state::{PendingOut, Received, Session, SessionKind};

/// What the user asks of a new chat INVITE.
pub(crate) struct InviteSpec {
    pub kind: SessionKind,
    pub ruri: String,
    pub to: String,
    pub conversation_id: Option<String>,
    pub contribution_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub anonymous: bool,
    pub participants: Vec<String>,
    pub group_uri: Option<String>,
    pub text: Option<String>,
    pub subject: Option<String>,
    /// Re-use this handle (ad-hoc fallback of a re-join).
    pub handle: Option<String>,
}

impl Core {
    /// Builds and sends a chat INVITE (7.3.1.1 / 7.3.1.2 / 7.3.1.3 / 7.3.1.5); returns the handle.
    pub fn start_chat_invite(&mut self, spec: InviteSpec) -> String {
        let handle = match &spec.handle {
            Some(h) => h.clone(),
            None => self.new_handle("s"),
        };
        let kind = spec.kind;
        let (predef, rejoin) = (
            kind == SessionKind::PredefinedGroup,
            kind == SessionKind::Rejoin,
        );
        let mut req = self.base_request(Method::Invite, &spec.ruri, &spec.to);
        // 7.3.1.3 / 7.3.1.5: an INVITE per RFC 3261 (8.1.1.3: From carries a tag).
        if (predef && self.faults.has("7.3.1.3/initial-invite-rfc3261"))
            || (rejoin && self.faults.has("7.3.1.5/rejoin-invite-rfc3261"))
        {
            req.headers.set("From", format!("<{}>", self.aor()));
        }
        // 7.3.1.3 item 1 / 7.3.1.5 item 1: the Request-URI.
        if predef && self.faults.has("7.3.1.3/request-uri-predefined-group") {
            req.set_request_uri(self.cfg.provisioned.conference_factory_uri.clone());
        }
        if rejoin && self.faults.has("7.3.1.5/request-uri-group-session") {
            req.set_request_uri(spec.group_uri.clone().unwrap_or_default() + ";x-wrong=1");
        }
        // 7.3.1.3 item 2 / 7.3.1.5 item 2: Accept-Contact with the cpm.session ICSI.
        let ac_fault = (predef && self.faults.has("7.3.1.3/accept-contact-icsi"))
            || (rejoin && self.faults.has("7.3.1.5/accept-contact-icsi"));
        if !ac_fault {
            req.headers
                .push("Accept-Contact", Core::accept_contact(&[icsi::CPM_SESSION]));
        }
        // 7.3.1.3 item 3 / 7.3.1.5 item 4: P-Preferred-Service.
        let pps_fault = (predef && self.faults.has("7.3.1.3/p-preferred-service"))
            || (rejoin && self.faults.has("7.3.1.5/p-preferred-service"));
        if !pps_fault {
            req.headers.push("P-Preferred-Service", icsi::CPM_SESSION);
        }
        // 7.3.1.3 item 4 / 7.3.1.5 items 3 and 5: Contact with the ICSI and the device id.
        let contact_fault = (predef && self.faults.has("7.3.1.3/contact-icsi"))
            || (rejoin && self.faults.has("7.3.1.5/contact-icsi"));
        let instance = !(rejoin && self.faults.has("7.3.1.5/originator-address-device-id"));
        let icsis: &[&str] = if contact_fault {
            &[]
        } else {
            &[icsi::CPM_SESSION]
        };
        req.headers.push("Contact", self.contact(icsis, instance));
        // 7.3.1.5 item 6: User-Agent on the re-join INVITE.
        if rejoin && self.faults.has("7.3.1.5/user-agent-header") {
            req.headers.remove("User-Agent");
        }
        // 7.3.1.3 item 5 / 7.3.1.5 item 7: Privacy: id when anonymity is requested.
        let privacy_fault = (predef && self.faults.has("7.3.1.3/privacy-id"))
            || (rejoin && self.faults.has("7.3.1.5/privacy-id"));
        if (spec.anonymous || self.policy.anonymous) && !privacy_fault {
            req.headers.push("Privacy", "id");
        }
        // 7.3.1.3 item 6 / 7.3.1.5 item 8: Conversation-ID.
        let conversation_id = match &spec.conversation_id {
            Some(_) if predef && self.faults.has("7.3.1.3/conversation-id-existing") => {
                self.ids.uuid()
            }
            Some(c) => c.clone(),
            None => self.ids.uuid(),
        };
        let conv_fault = (predef
            && spec.conversation_id.is_none()
            && self.faults.has("7.3.1.3/conversation-id-new"))
            || (rejoin && self.faults.has("7.3.1.5/conversation-id"));
        if !conv_fault {
            req.headers.push("Conversation-ID", conversation_id.clone());
        }
        // 7.3.1.3 item 7 (new) / 7.3.1.5 item 9 (the stored one).
        let contribution_id = match &spec.contribution_id {
            Some(c) => c.clone(),
            None => self.ids.uuid(),
        };
        let contrib_fault = (predef && self.faults.has("7.3.1.3/contribution-id-new"))
            || (rejoin && self.faults.has("7.3.1.5/contribution-id"));
        if !contrib_fault {
            req.headers.push("Contribution-ID", contribution_id.clone());
        }
        // 7.3.1.3 item 8: InReplyTo-Contribution-ID when replying.
        if let Some(r) = &spec.in_reply_to {
            if !(predef && self.faults.has("7.3.1.3/inreplyto-contribution-id")) {
                req.headers.push("InReplyTo-Contribution-ID", r.clone());
            }
        }
        if let Some(subj) = &spec.subject {
            req.headers.push("Subject", subj.clone());
        }
        // 7.3.1.3 item 9 / 7.3.1.5 item 10: an SDP offer (5.2.1.1).
        let local_path = self.new_local_path();
        let mut media = self.chat_media(&local_path);
        if kind.is_group() {
            media.accept_types = vec!["message/cpim".into()];
            media.accept_wrapped_types = vec![
                "text/plain".into(),
                "message/imdn+xml".into(),
                "application/im-iscomposing+xml".into(),
                "application/conference-info+xml".into(),
            ];
        }
        let origin = self.origin();
        let sdp = chat_offer(&origin, &media).to_bytes();
        let sdp_fault = (predef && self.faults.has("7.3.1.3/sdp-offer"))
            || (rejoin && self.faults.has("7.3.1.5/sdp-offer"));
        let adhoc = kind == SessionKind::AdhocGroup;
        if adhoc {
            // RFC 5366: recipient-list-invite with a resource-list body.
            req.headers.push("Require", "recipient-list-invite");
            let fallback = spec.contribution_id.is_some();
            let skip_list = fallback && self.faults.has("7.3.1.5/fallback-resource-list");
            let entries: Vec<Entry> = spec
                .participants
                .iter()
                .map(|p| {
                    let mut e = Entry::new(p.clone());
                    e.copy_control = Some(CopyControl::To);
                    e
                })
                .collect();
            let mut mp = Multipart::new(&format!("b{}", self.ids.token(12)))
                .with_part(Part::new("application/sdp", sdp));
            if !skip_list {
                mp = mp.with_part(
                    Part::new(
                        "application/resource-lists+xml",
                        ResourceLists::single(entries).to_xml().into_bytes(),
                    )
                    .with_header("Content-Disposition", "recipient-list"),
                );
            }
            let ct = mp.content_type();
            req.set_body(&ct, mp.to_bytes());
        } else if !sdp_fault {
            req.set_body("application/sdp", sdp);
        }
        let mut s = Session::new(handle.clone(), kind, spec.to.clone());
        s.group_uri = spec.group_uri.clone();
        s.conversation_id = conversation_id;
        s.contribution_id = contribution_id;
        s.local_path = local_path;
        s.first_text = spec.text.clone();
        s.participants = spec.participants.clone();
        if kind == SessionKind::Rejoin {
            s.identity = Some(spec.ruri.clone());
            s.user_chatted = spec.text.is_some();
        }
        self.sessions.insert(handle.clone(), s);
        self.send_invite(&handle, req);
        handle
    }

    /// 7.3.1.5: after 404/403 to a re-join, an ad-hoc INVITE with the last Participant
    /// Information and the same Conversation-ID and Contribution-ID.
    pub fn rejoin_fallback(&mut self, handle: &str) {
        let Some(old) = self.sessions.remove(handle) else {
            return;
        };
        let participants = self
            .participants
            .get(&old.conversation_id)
            .cloned()
            .unwrap_or_default();
        let conv = if self.faults.has("7.3.1.5/fallback-conversation-id") {
            None
        } else {
            Some(old.conversation_id.clone())
        };
        let contrib = if self.faults.has("7.3.1.5/fallback-contribution-id") {
            Some(self.ids.uuid())
        } else {
            Some(old.contribution_id.clone())
        };
        let cf = self.cfg.provisioned.conference_factory_uri.clone();
        let new = self.start_chat_invite(InviteSpec {
            kind: SessionKind::AdhocGroup,
            ruri: cf.clone(),
            to: cf,
            conversation_id: conv,
            contribution_id: contrib,
            in_reply_to: None,
            anonymous: false,
            participants,
            group_uri: None,
            text: old.first_text.clone(),
            subject: None,
            handle: Some(handle.to_owned()),
        });
        let _ = new;
    }

    /// The CPIM To of a chat message in `s` (7.3.9.1 a-c). A group session with a group URI is
    /// a pre-defined group's (item 1 c); one without is ad hoc (item 1 b), including a re-joined
    /// ad-hoc long-lived group and one the network invited us into.
    pub fn cpim_to(&self, s: &Session) -> String {
        match s.kind {
            SessionKind::PredefinedGroup | SessionKind::Rejoin | SessionKind::IncomingGroup
                if s.group_uri.is_some() =>
            {
                // 7.3.9.1 c: the pre-defined group's address.
                if self.faults.has("7.3.9.1/cpim-to-predefined-group") {
                    return s.identity.clone().unwrap_or_else(|| self.aor());
                }
                s.group_uri.clone().unwrap_or_else(|| s.peer.clone())
            }
            SessionKind::AdhocGroup
            | SessionKind::PredefinedGroup
            | SessionKind::Rejoin
            | SessionKind::IncomingGroup => {
                // 7.3.9.1 b: the address of the Controlling Function of the session.
                if self.faults.has("7.3.9.1/cpim-to-adhoc-group") {
                    return s
                        .participants
                        .first()
                        .cloned()
                        .unwrap_or_else(|| self.aor());
                }
                s.identity.clone().unwrap_or_else(|| match s.kind {
                    SessionKind::AdhocGroup => self.cfg.provisioned.conference_factory_uri.clone(),
                    _ => s.peer.clone(),
                })
            }
            _ => {
                // 7.3.9.1 a: one recipient -> its address.
                if self.faults.has("7.3.9.1/cpim-to-private-chat") {
                    return "sip:anonymous@anonymous.invalid".into();
                }
                s.peer.clone()
            }
        }
    }

    /// The CPIM To of a private message (or isComposing, `composing`) to one participant `to`
    /// of the group session `s` (7.3.9.1 a: "to one CPM user or to one non-CPM Principal within
    /// a CPM Group Session ... the address of the recipient").
    fn private_to(&self, s: &Session, to: &str, composing: bool) -> Result<String, String> {
        if !s.kind.is_group() {
            return Err(format!(
                "a private message needs a group session; {} is not one",
                s.handle
            ));
        }
        if composing && self.faults.has("7.3.9.1/cpim-to-private-iscomposing") {
            return Ok(self.cpim_to(s));
        }
        if !composing && self.faults.has("7.3.9.1/cpim-to-private-chat") {
            return Ok("sip:anonymous@anonymous.invalid".into());
        }
        Ok(to.to_owned())
    }

    /// Queues or sends an MSRP message in `handle`.
    pub fn media_send(&mut self, handle: &str, content_type: &str, body: Vec<u8>) {
        let Some(s) = self.sessions.get_mut(handle) else {
            return;
        };
        match &s.media {
            Some(m) => {
                let _ = m.send(MediaCmd::Send {
                    content_type: content_type.to_owned(),
                    body,
                    opts: Default::default(),
                });
            }
            None => s.pending_out.push(PendingOut {
                content_type: content_type.to_owned(),
                body,
            }),
        }
    }

    /// A chat message from the user into session `handle` (7.3.9.1), to the whole session or,
    /// with `private`, to that one participant of a group session; returns the Message-ID.
    pub fn send_chat_in(
        &mut self,
        handle: &str,
        text: &str,
        display: &[&str],
        private: Option<&str>,
    ) -> Result<Option<String>, String> {
        let Some(s) = self.sessions.get(handle) else {
            return Err(format!("no session {handle}"));
        };
        let kind = s.kind;
        let private_to = match private {
            Some(p) => Some(self.private_to(s, p, false)?),
            None => None,
        };
        // 7.3.11 item 1: no user message into a deferred 1-1 session; the NOTE: a reply starts
        // a new 1-1 session (7.3.1.1).
        if kind == SessionKind::Deferred1to1
            && !self
                .faults
                .has("7.3.11/no-user-messages-in-deferred-session")
        {
            let to = s.peer.clone();
            if self.faults.has("7.3.11/reply-new-1-1-session") {
                let id =
                    self.send_pager(&to, "text/plain", text.as_bytes(), &["positive-delivery"]);
                return Ok(Some(id));
            }
            let h = self.start_chat_invite(InviteSpec {
                kind: SessionKind::Chat,
                ruri: to.clone(),
                to,
                conversation_id: Some(s.conversation_id.clone()),
                contribution_id: None,
                in_reply_to: None,
                anonymous: false,
                participants: Vec::new(),
                group_uri: None,
                text: Some(text.to_owned()),
                subject: None,
                handle: None,
            });
            let _ = h;
            return Ok(None);
        }
        let deferred_group = kind == SessionKind::IncomingGroup && s.deferred;
        let sendonly = s.remote_direction == cpmconf_codec::sdp::Direction::SendOnly;
        if deferred_group && sendonly && !self.faults.has("7.3.12/sendonly-no-chat") {
            // 7.3.12 2) a / 3): nothing goes into a sendonly delivery session; the user's
            // message re-joins the group (7.3.1.5).
            let target = s.identity.clone().unwrap_or_else(|| s.peer.clone());
            let spec = InviteSpec {
                kind: SessionKind::Rejoin,
                ruri: target.clone(),
                to: target,
                conversation_id: Some(s.conversation_id.clone()),
                contribution_id: Some(s.contribution_id.clone()),
                in_reply_to: None,
                anonymous: false,
                participants: Vec::new(),
                group_uri: s.group_uri.clone(),
                text: Some(text.to_owned()),
                subject: None,
                handle: None,
            };
            self.start_chat_invite(spec);
            return Ok(None);
        }
        if deferred_group && !sendonly && self.faults.has("7.3.12/sendrecv-send-new-chat") {
            let target = s.identity.clone().unwrap_or_else(|| s.peer.clone());
            let spec = InviteSpec {
                kind: SessionKind::Rejoin,
                ruri: target.clone(),
                to: target,
                conversation_id: Some(s.conversation_id.clone()),
                contribution_id: Some(s.contribution_id.clone()),
                in_reply_to: None,
                anonymous: false,
                participants: Vec::new(),
                group_uri: s.group_uri.clone(),
                text: Some(text.to_owned()),
                subject: None,
                handle: None,
            };
            self.start_chat_invite(spec);
            return Ok(None);
        }
        let via_race = s.via_race;
        let to = private_to.unwrap_or_else(|| self.cpim_to(s));
        // 7.3.9.1 d: delivery reports SHALL be requested; read reports MAY.
        let mut dispositions: Vec<&str> = Vec::new();
        if !self.faults.has("7.3.9.1/request-delivery-report") {
            dispositions.push("positive-delivery");
        }
        dispositions.extend_from_slice(display);
        let (body, id) = self.cpim_message(&to, "text/plain", text.as_bytes(), &dispositions);
        let by_message = (deferred_group && self.faults.has("7.3.12/send-chat-via-msrp"))
            || (via_race && self.faults.has("7.3.1.5.1/send-chat-via-msrp"));
        if by_message {
            let mut req = self.base_request(Method::Message, &to, &to);
            req.headers
                .push("Accept-Contact", Core::accept_contact(&[icsi::CPM_MSG]));
            req.headers.push("P-Preferred-Service", icsi::CPM_MSG);
            req.set_body("message/cpim", body);
            self.send(req, Purpose::Message, None);
        } else {
            self.media_send(handle, "message/cpim", body);
        }
        if let Some(s) = self.sessions.get_mut(handle) {
            s.user_chatted = true;
        }
        // 7.3.1.5.1 d / 7.3.12 d: chatting in a group session we were invited into (or
        // re-joined) subscribes to the conference state.
        let subscribe = match kind {
            SessionKind::IncomingGroup if via_race => {
                !self.faults.has("7.3.1.5.1/subscribe-when-chatting")
            }
            SessionKind::IncomingGroup => !self.faults.has("7.3.12/subscribe-when-chatting"),
            SessionKind::Rejoin => !self.faults.has("7.3.1.5.1/subscribe-when-chatting"),
            _ => false,
        };
        if subscribe {
            self.subscribe_conference(handle);
        }
        Ok(Some(id))
    }

    /// An isComposing indication (5.5, 7.3.9.1 e), for the whole session or, with `private`,
    /// for a private message to that one participant of a group session (7.3.9.1 a).
    pub fn send_composing_in(
        &mut self,
        handle: &str,
        state: ComposingState,
        private: Option<&str>,
    ) -> Result<(), String> {
        let Some(s) = self.sessions.get(handle) else {
            return Err(format!("no session {handle}"));
        };
        let is_group = s.kind.is_group();
        let to = match private {
            Some(p) => self.private_to(s, p, true)?,
            None => self.cpim_to(s),
        };
        let st = match state {
            ComposingState::Active => State::Active,
            ComposingState::Idle => State::Idle,
        };
        let mut ic = IsComposing::new(st);
        ic.contenttype = Some("text/plain".into());
        ic.refresh = Some(60);
        let xml = ic.to_xml().into_bytes();
        // 5.5: never request an IMDN for isComposing.
        let ask_imdn = self.faults.has("5.5/iscomposing-no-imdn-request");
        // 5.5: CPIM with From in a group; 7.3.9.1 e: bare in a 1-1 session.
        let wrap = if is_group {
            !self.faults.has("5.5/iscomposing-cpim-from-group")
        } else {
            self.faults.has("7.3.9.1/iscomposing-no-cpim-1-1") || ask_imdn
        };
        let (ct, body) = if wrap {
            let disp: &[&str] = if ask_imdn {
                &["positive-delivery"]
            } else {
                &[]
            };
            let (b, _) = self.cpim_message(&to, "application/im-iscomposing+xml", &xml, disp);
            ("message/cpim", b)
        } else {
            ("application/im-iscomposing+xml", xml)
        };
        // 7.3.9.1 e: isComposing goes over MSRP.
        if self.faults.has("7.3.9.1/iscomposing-via-msrp") {
            let mut req = self.base_request(Method::Message, &to, &to);
            req.headers
                .push("Accept-Contact", Core::accept_contact(&[icsi::CPM_MSG]));
            req.set_body(ct, body);
            self.send(req, Purpose::Message, None);
            return Ok(());
        }
        self.media_send(handle, ct, body);
        Ok(())
    }

    /// Sends the delivery IMDN for a message received in session `handle`, by the path the
    /// session's rules choose (7.3.1.5.1 b, 7.3.11 item 1, 7.3.12 a / b ii).
    pub fn session_imdn(
        &mut self,
        handle: &str,
        to: &str,
        message_id: &str,
        kind: NotificationKind,
    ) {
        let Some(s) = self.sessions.get(handle) else {
            // 7.3.11 item 2: after the session ended, by SIP MESSAGE.
            if !self.faults.has("7.3.11/imdn-via-sip-message-after-session") {
                self.send_imdn_by_message(to, message_id, kind);
            }
            return;
        };
        let display = kind == NotificationKind::Display;
        let sendonly_group = s.kind == SessionKind::IncomingGroup
            && s.deferred
            && s.remote_direction == cpmconf_codec::sdp::Direction::SendOnly;
        if sendonly_group && !self.faults.has("7.3.12/sendonly-no-imdn") {
            // 7.3.12 2) a: no IMDN into a sendonly deferred group session.
            return;
        }
        let deferred_group = s.kind == SessionKind::IncomingGroup && s.deferred && !sendonly_group;
        if deferred_group {
            let skip = if display {
                self.faults.has("7.3.12/imdn-display-via-msrp")
            } else {
                self.faults.has("7.3.12/imdn-delivery-via-msrp")
                    || self
                        .faults
                        .has("7.3.12/sendrecv-send-delivery-notifications")
            };
            if skip {
                return;
            }
        }
        let by_message = (s.kind == SessionKind::Deferred1to1
            && self.faults.has("7.3.11/sendrecv-send-imdn"))
            || (s.via_race
                && ((display && self.faults.has("7.3.1.5.1/imdn-display-via-msrp"))
                    || (!display && self.faults.has("7.3.1.5.1/imdn-delivery-via-msrp"))));
        if by_message || s.media.is_none() && s.established && s.dialog.is_none() {
            self.send_imdn_by_message(to, message_id, kind);
            return;
        }
        // 7.3.9.1 a: the IMDN's CPIM To is the sender of the message.
        let cpim_to = if s.kind.is_group() && self.faults.has("7.3.9.1/cpim-to-imdn-in-group") {
            s.identity.clone().unwrap_or_else(|| s.peer.clone())
        } else {
            to.to_owned()
        };
        let body = self.cpim_imdn(&cpim_to, message_id, kind);
        self.media_send(handle, "message/cpim", body);
    }

    /// An MSRP event of session `handle`.
    pub fn on_media_event(&mut self, handle: &str, event: SessionEvent) {
        match event {
            SessionEvent::Message {
                content_type, body, ..
            } => self.on_session_message(handle, content_type.as_deref().unwrap_or(""), &body),
            SessionEvent::Response {
                code, message_id, ..
            } => self.on_media_response(handle, code, message_id),
            SessionEvent::Frame(f) => self.on_media_frame(handle, &f),
            SessionEvent::Aborted { body, .. } => self.on_file_aborted(handle, &body),
            _ => {}
        }
    }

    fn on_session_message(&mut self, handle: &str, content_type: &str, body: &[u8]) {
        let Some(s) = self.sessions.get(handle) else {
            return;
        };
        let kind = s.kind;
        if matches!(kind, SessionKind::FileIn) {
            self.on_file_content(handle, content_type, body);
            return;
        }
        let deferred = s.deferred;
        let peer = s.peer.clone();
        let conv = Some(s.conversation_id.clone());
        let contrib = Some(s.contribution_id.clone());
        match decode_payload(content_type, body) {
            Some(Payload::Text {
                from,
                content_type,
                text,
                message_id,
                dispositions,
            }) => {
                let from = if from.is_empty() { peer } else { from };
                self.deliver_text(
                    &from,
                    &content_type,
                    &text,
                    message_id.clone(),
                    conv,
                    contrib,
                    Some(handle.to_owned()),
                    deferred,
                );
                if let Some(id) = message_id {
                    self.received.insert(
                        id.clone(),
                        Received {
                            from: from.clone(),
                            session: Some(handle.to_owned()),
                            display_requested: dispositions.iter().any(|d| d == "display"),
                            display_sent: false,
                        },
                    );
                    if dispositions.iter().any(|d| d == "positive-delivery") {
                        if kind == SessionKind::LargeIn {
                            self.send_imdn_by_message(&from, &id, NotificationKind::Delivery);
                        } else {
                            self.session_imdn(handle, &from, &id, NotificationKind::Delivery);
                        }
                    }
                }
            }
            Some(Payload::Imdn { from, imdn }) => self.on_imdn(from, &imdn),
            Some(Payload::Composing { from, state }) => {
                self.emit(Event::ComposingReceived(cpmconf_ut::ComposingReceived {
                    from: from.unwrap_or(peer),
                    state,
                    session: Some(handle.to_owned()),
                }));
            }
            Some(Payload::ConferenceInfo(p)) => {
                if let Some(s) = self.sessions.get_mut(handle) {
                    s.participant_info_seen = true;
                    let c = s.conversation_id.clone();
                    self.participants.insert(c, p);
                }
            }
            None => {}
        }
        if deferred {
            self.rearm_deferred_idle(handle);
        }
    }
}
