//! Outgoing INVITEs and their outcome (7.3.1.x, 7.4.1): sending, ACK of the 200, storing the
//! Group Session Identity (RFC 4579), starting the media plane (7.3.9), failures, and the end of
//! a session from our side (BYE, 7.3.4.1).

use cpmconf_codec::sdp::{Direction, SessionDescription, Setup};
use cpmconf_codec::sip::{Message, Method};
use cpmconf_stack::sip::Dialog;
use cpmconf_ut::{Event, Quirk, SessionEnded, SessionStarted};
use tokio::sync::{mpsc, oneshot};

use crate::core::{Core, Purpose};
use crate::media::{self, MediaCmd, Role};
use crate::state::SessionKind;

/// The MSRP path, setup and direction of an SDP body.
pub(crate) struct RemoteMedia {
    pub path: Vec<cpmconf_codec::msrp::MsrpUri>,
    pub setup: Option<Setup>,
    pub direction: Direction,
    pub sdp: SessionDescription,
}

/// Reads the MSRP media of an SDP body (a multipart body's SDP part too).
pub(crate) fn remote_media(msg: &Message) -> Option<RemoteMedia> {
    let body = msg.body_part("application/sdp")?.ok()?;
    let sdp = SessionDescription::parse(&body).ok()?.value;
    let m = sdp.msrp_media()?;
    let path = m.path()?.ok()?;
    let setup = m.setup();
    let direction = sdp.effective_direction(m);
    Some(RemoteMedia {
        path,
        setup,
        direction,
        sdp: sdp.clone(),
    })
}

/// The `+sip.instance` of the first Contact.
pub(crate) fn contact_instance(msg: &Message) -> Option<String> {
    msg.contact_features()
        .ok()?
        .into_iter()
        .find_map(|f| f.sip_instance())
}

/// The URI of the first Contact.
pub(crate) fn contact_uri(msg: &Message) -> Option<String> {
    msg.contacts()
        .ok()?
        .into_iter()
        .next()
        .map(|c| c.uri.to_string())
}

impl Core {
    /// Sends the INVITE of session `handle` (built by the caller) and remembers it.
    pub fn send_invite(&mut self, handle: &str, invite: Message) {
        let (cancel_tx, cancel_rx) = oneshot::channel();
        if let Some(s) = self.sessions.get_mut(handle) {
            s.invite = Some(invite.clone());
            s.cancel = Some(cancel_tx);
        }
        self.last_session = Some(handle.to_owned());
        self.send(
            invite,
            Purpose::Invite {
                handle: handle.to_owned(),
            },
            Some(cancel_rx),
        );
    }

    /// Responses to our INVITE.
    pub fn on_invite_response(&mut self, handle: &str, msg: &Message) {
        let Some(code) = msg.status() else { return };
        if code.is_provisional() {
            return;
        }
        let Some(s) = self.sessions.get_mut(handle) else {
            // A 2xx for a session we gave up: ACK and BYE it (RFC 3261 13.2.2.4 / 15).
            if let Some(invite) = self.abandoned.remove(handle) {
                if code.is_success() {
                    if let Ok(mut d) = Dialog::uac(&invite, msg) {
                        let mut ack = d.ack_for(invite.cseq_number().unwrap_or(1));
                        self.add_user_agent(&mut ack);
                        self.send_ack(ack);
                        let bye = self.in_dialog(&mut d, Method::Bye);
                        self.send(bye, Purpose::Other, None);
                    }
                }
            }
            return;
        };
        let Some(invite) = s.invite.clone() else {
            return;
        };
        if !code.is_success() {
            if s.superseded && !s.established {
                // Our losing re-join INVITE ended (487 after our CANCEL): forget it.
                self.sessions.remove(handle);
                return;
            }
            if s.established {
                return;
            }
            let kind = s.kind;
            let reason = format!("{} {}", code.0, code.default_reason());
            // 7.3.1.5: on 404/403 the client MAY re-start the group as an ad-hoc group.
            if kind == SessionKind::Rejoin
                && (code.0 == 404 || code.0 == 403)
                && self.policy.rejoin_fallback_adhoc
            {
                self.rejoin_fallback(handle);
                return;
            }
            self.end_session(handle, Some(reason), false, false);
            return;
        }
        let Ok(mut dialog) = Dialog::uac(&invite, msg) else {
            return;
        };
        dialog.local_contact = invite.header("Contact").map(str::to_owned);
        let invite_cseq = invite.cseq_number().unwrap_or(1);
        let kind = s.kind;
        // 7.3.1.3 / 7.3.1.5 after-200 item 1: ACK towards the Controlling Function.
        let skip_ack = (kind == SessionKind::PredefinedGroup
            && self.faults.has("7.3.1.3/ack-200-ok"))
            || (kind == SessionKind::Rejoin && self.faults.has("7.3.1.5/ack-200-ok"));
        if s.dialog.is_some() {
            // A retransmitted 2xx: ACK again (RFC 3261 13.2.2.4), unless the fault withholds
            // every ACK of this 200 (or the quirk only the first).
            if !skip_ack && !self.cfg.quirk(Quirk::AcksFirst2xxOnly) {
                let mut ack = dialog.ack_for(invite_cseq);
                self.add_user_agent(&mut ack);
                self.send_ack(ack);
            }
            return;
        }
        if s.superseded && self.cfg.quirk(Quirk::Late200Ignored) {
            return;
        }
        if s.superseded {
            // 7.3.1.5.1: our own re-join lost to the incoming INVITE; ACK and BYE a late 200.
            let mut ack = dialog.ack_for(invite_cseq);
            self.add_user_agent(&mut ack);
            let mut d = dialog.clone();
            let mut bye = d.request(Method::Bye);
            self.add_user_agent(&mut bye);
            self.send_ack(ack);
            self.send(bye, Purpose::Other, None);
            return;
        }
        if !skip_ack {
            let mut ack = dialog.ack_for(invite_cseq);
            self.add_user_agent(&mut ack);
            self.send_ack(ack);
        }
        let store_identity = match kind {
            SessionKind::PredefinedGroup => {
                !self.faults.has("7.3.1.3/store-group-session-identity")
            }
            SessionKind::Rejoin => !self.faults.has("7.3.1.5/store-group-session-identity"),
            k => k.is_group(),
        };
        let Some(s) = self.sessions.get_mut(handle) else {
            return;
        };
        // 7.3.1.3 / 7.3.1.5 after-200 item 2: the Contact is the Group Session Identity (RFC 4579).
        if store_identity {
            s.identity = contact_uri(msg);
        }
        s.remote_instance = contact_instance(msg);
        s.dialog = Some(dialog);
        let is_transfer = s.transfer.is_some();
        s.established = true;
        let peer = s.identity.clone().unwrap_or_else(|| s.peer.clone());
        let remote = remote_media(msg);
        if let Some(r) = &remote {
            s.remote_direction = r.direction;
        }
        let first_text = s.first_text.is_some();
        if is_transfer {
            self.note_transfer_peer(handle);
        }
        self.emit(Event::SessionStarted(SessionStarted {
            session: handle.to_owned(),
            peer: Some(peer),
        }));
        // 7.3.1.3 / 7.3.1.5 after-200: initiate the media plane (7.3.9).
        let skip_media = (kind == SessionKind::PredefinedGroup
            && self.faults.has("7.3.1.3/initiate-media-plane"))
            || (kind == SessionKind::Rejoin && self.faults.has("7.3.1.5/initiate-media-plane"));
        if let (Some(r), false) = (remote, skip_media) {
            self.start_media(handle, r.setup, r.path);
        }
        match kind {
            // 7.3.1.3: subscribe to the conference state of the Group Session Identity.
            SessionKind::PredefinedGroup
                if !self.faults.has("7.3.1.3/subscribe-conference-event") =>
            {
                self.subscribe_conference(handle)
            }
            SessionKind::AdhocGroup => self.subscribe_conference(handle),
            // 7.3.1.5.1 c/d: a re-joined session subscribes only once the user chats.
            SessionKind::Rejoin if first_text => self.subscribe_conference(handle),
            _ => {}
        }
        if let Some(s) = self.sessions.get_mut(handle) {
            if let Some(t) = s.first_text.take() {
                let h = handle.to_owned();
                let _ = self.send_chat_in(&h, &t, &[], None);
            }
        }
    }

    /// Starts the MSRP connection of `handle` against the peer's `path`: we connect unless the
    /// peer's setup is `active` (RFC 6135 / RFC 4145).
    pub fn start_media(
        &mut self,
        handle: &str,
        remote_setup: Option<Setup>,
        remote_path: Vec<cpmconf_codec::msrp::MsrpUri>,
    ) {
        let Some(s) = self.sessions.get(handle) else {
            return;
        };
        let role = if remote_setup == Some(Setup::Active) {
            Role::Passive(self.msrp.clone())
        } else {
            Role::Active
        };
        let seed = self.cfg.seed ^ self.next_handle.wrapping_mul(0x9e37_79b9);
        media::open(
            handle.to_owned(),
            role,
            s.local_path.clone(),
            remote_path,
            self.cfg.tap.clone(),
            seed,
            self.cfg.timers.msrp_connect,
            self.internal.clone(),
        );
    }

    /// The media plane is up: send what waited for it.
    pub fn on_media_up(&mut self, handle: &str, cmds: mpsc::UnboundedSender<MediaCmd>) {
        let Some(s) = self.sessions.get_mut(handle) else {
            let _ = cmds.send(MediaCmd::Close);
            return;
        };
        for p in s.pending_out.drain(..) {
            let _ = cmds.send(MediaCmd::Send {
                content_type: p.content_type,
                body: p.body,
                opts: Default::default(),
            });
        }
        s.media = Some(cmds);
        let kind = s.kind;
        match kind {
            SessionKind::FileOut => self.send_file_content(handle),
            SessionKind::LargeOut => self.send_large_content(handle),
            _ => {}
        }
        if self.sessions.get(handle).is_some_and(|s| s.deferred) {
            self.rearm_deferred_idle(handle);
        }
    }

    /// The media plane failed or the peer closed it.
    pub fn on_media_down(&mut self, handle: &str, error: &str) {
        if let Some(s) = self.sessions.get_mut(handle) {
            s.media = None;
            if matches!(s.kind, SessionKind::FileIn | SessionKind::FileOut) {
                self.transfer_interrupted(handle, error);
            }
        }
    }

    /// Ends a session: releases the media plane, ends the conference subscription, sends BYE
    /// when `send_bye`, and reports `session_ended`.
    pub fn end_session(
        &mut self,
        handle: &str,
        reason: Option<String>,
        completed_elsewhere: bool,
        send_bye: bool,
    ) {
        let Some(mut s) = self.sessions.remove(handle) else {
            return;
        };
        if let Some(m) = s.media.take() {
            let _ = m.send(MediaCmd::Close);
        }
        self.unsubscribe_conference(&mut s);
        if send_bye {
            if let Some(d) = s.dialog.as_mut() {
                let bye = self.in_dialog(d, Method::Bye);
                self.send(bye, Purpose::Other, None);
            }
        }
        if let Some(c) = s.cancel.take() {
            if !s.established {
                let _ = c.send(());
                if let Some(inv) = s.invite.take() {
                    self.abandoned.insert(handle.to_owned(), inv);
                }
            }
        }
        if let Some(t) = s.transfer.clone() {
            self.transfer_ended(&t, reason.clone());
        }
        if self.last_session.as_deref() == Some(handle) {
            self.last_session = None;
        }
        self.emit(Event::SessionEnded(SessionEnded {
            session: handle.to_owned(),
            reason,
            completed_elsewhere,
        }));
    }
}
