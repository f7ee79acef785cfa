//! Incoming INVITEs (clause 7 dispatch by feature tag; 7.3.2; 7.3.1.5.1 race; 7.3.11 / 7.3.12
//! deferred delivery): classification, acceptance with an SDP answer, declining, CANCEL.

use std::sync::Arc;

use cpmconf_codec::sdp::{chat_answer, Direction};
use cpmconf_codec::sip::name_addr::same_address;
use cpmconf_codec::sip::{icsi, Message};
use cpmconf_stack::sip::{Dialog, ServerTx};
use cpmconf_ut::{Event, SessionEnded, SessionInvited, SessionKind as UtKind, SessionStarted};

use crate::core::{Core, Internal};
use crate::pager::accepts;
use crate::session_setup::{contact_instance, contact_uri, remote_media};
use crate::state::{Session, SessionKind};

impl Core {
    /// An incoming INVITE, dispatched by its Accept-Contact ICSIs (clause 7).
    pub fn on_invite(&mut self, tx: Arc<ServerTx>) {
        let req = &tx.request;
        let has_to_tag = req.to().ok().is_some_and(|t| t.tag().is_some());
        if has_to_tag {
            // A re-INVITE: keep the session as it is.
            let r = self.response(req, 488, None);
            self.respond(&tx, r);
            return;
        }
        let ft = accepts(req, icsi::CPM_FILETRANSFER);
        let large = accepts(req, icsi::CPM_LARGEMSG);
        let session = accepts(req, icsi::CPM_SESSION);
        let deferred = accepts(req, icsi::CPM_DEFERRED);
        let from = req.from().map(|f| f.uri.to_string()).unwrap_or_default();
        let from_mgmt = same_address(&from, &self.cfg.provisioned.deferred_mgmt_uri);
        let reject = |core: &mut Core, fault_on: bool| -> bool {
            if fault_on {
                let r = core.response(&tx.request, 488, Some("nodispatch"));
                core.respond(&tx, r);
                return true;
            }
            false
        };
        if ft {
            // 7/dispatch-invite-filetransfer
            let on = self.faults.has("7/dispatch-invite-filetransfer");
            if !reject(self, on) {
                self.on_file_invite(tx.clone());
            }
        } else if large && !deferred {
            // 7/dispatch-invite-largemsg
            let on = self.faults.has("7/dispatch-invite-largemsg");
            if !reject(self, on) {
                self.on_large_invite(tx.clone());
            }
        } else if session && !deferred {
            // 7/dispatch-invite-session
            let on = self.faults.has("7/dispatch-invite-session");
            if !reject(self, on) {
                self.on_session_invite(tx.clone(), false);
            }
        } else if deferred && (session || (from_mgmt && !large)) {
            // 7/dispatch-invite-deferred-session
            let on = self.faults.has("7/dispatch-invite-deferred-session");
            if !reject(self, on) {
                self.on_session_invite(tx.clone(), true);
            }
        } else if deferred {
            // 7/dispatch-invite-deferred-largemsg
            let on = self.faults.has("7/dispatch-invite-deferred-largemsg");
            if !reject(self, on) {
                self.on_large_invite(tx.clone());
            }
        } else {
            let r = self.response(req, 488, None);
            self.respond(&tx, r);
        }
    }

    /// A cpm.session INVITE: 1-1 chat, group (incl. deferred group, race) or deferred 1-1.
    fn on_session_invite(&mut self, tx: Arc<ServerTx>, deferred_tag: bool) {
        let req = tx.request.clone();
        let Some(remote) = remote_media(&req) else {
            let r = self.response(&req, 488, None);
            self.respond(&tx, r);
            return;
        };
        let from = req.from().map(|f| f.uri.to_string()).unwrap_or_default();
        let mgmt = same_address(&from, &self.cfg.provisioned.deferred_mgmt_uri);
        let referred_by = req.referred_by().ok().flatten().map(|r| r.uri.to_string());
        let is_focus = req
            .contact_features()
            .map(|fs| fs.iter().any(|f| f.is_focus()))
            .unwrap_or(false);
        let conv = req.header("Conversation-ID").unwrap_or("").to_owned();
        let contrib = req.header("Contribution-ID").unwrap_or("").to_owned();
        let focus = contact_uri(&req);
        let handle = self.new_handle("s");
        let mut s = Session::new(handle.clone(), SessionKind::Chat, from.clone());
        s.outgoing = false;
        s.conversation_id = conv.clone();
        s.contribution_id = contrib.clone();
        s.remote_direction = remote.direction;
        s.remote_instance = contact_instance(&req);
        s.incoming = Some(tx.clone());
        let mut auto = self.policy.auto_accept_sessions;
        if mgmt && referred_by.is_some() && !is_focus {
            // 7.3.11: deferred 1-1 delivery; the originator is in Referred-By.
            s.kind = SessionKind::Deferred1to1;
            s.deferred = true;
            s.peer = referred_by.clone().unwrap_or(from.clone());
            if self.policy.decline_deferred_with_480 {
                // 7.3.11: the user prefers later delivery -> 480.
                let code = if self.faults.has("7.3.11/decline-480") {
                    486
                } else {
                    480
                };
                let r = self.response_tagged(&req, code);
                self.respond(&tx, r);
                return;
            }
            auto = self.policy.auto_accept_deferred;
        } else if is_focus || deferred_tag {
            s.kind = SessionKind::IncomingGroup;
            s.identity = focus.clone();
            s.peer = focus.clone().unwrap_or(from.clone());
            // 7.3.1.5.1: the same group session (Conversation-ID, Contribution-ID, identity)
            // during our own re-join.
            let racing = self
                .sessions
                .iter()
                .find(|(_, o)| {
                    o.kind == SessionKind::Rejoin
                        && !o.established
                        && !o.superseded
                        && o.conversation_id == conv
                        && o.contribution_id == contrib
                        && (o.identity.as_deref().is_some_and(|i| {
                            focus.as_deref().is_some_and(|f| same_address(f, i))
                                || same_address(&from, i)
                        }))
                })
                .map(|(h, _)| h.clone());
            if let Some(own) = racing {
                if self.faults.has("7.3.1.5.1/use-incoming-invite") {
                    let r = self.response_tagged(&req, 486);
                    self.respond(&tx, r);
                    return;
                }
                // Use the incoming INVITE; CANCEL our own (or ACK+BYE its late 200).
                s.via_race = true;
                if let Some(o) = self.sessions.get_mut(&own) {
                    o.superseded = true;
                    s.group_uri = o.group_uri.clone();
                    s.first_text = o.first_text.take();
                    if let Some(c) = o.cancel.take() {
                        let _ = c.send(());
                    }
                }
                self.aliases.insert(own, handle.clone());
                auto = true;
            } else {
                let known = self.participants.contains_key(&conv);
                s.deferred =
                    mgmt || deferred_tag || remote.direction == Direction::SendOnly || known;
                if s.deferred {
                    // 7.3.12: support deferred group delivery.
                    if self.faults.has("7.3.12/support-deferred-group-delivery") {
                        let r = self.response_tagged(&req, 488);
                        self.respond(&tx, r);
                        return;
                    }
                    auto = self.policy.auto_accept_deferred;
                }
            }
        }
        let kind = match s.kind {
            k if k.is_group() => UtKind::Group,
            _ => UtKind::Chat,
        };
        let deferred = s.deferred;
        let shown_from = s.peer.clone();
        self.sessions.insert(handle.clone(), s);
        self.last_session = Some(handle.clone());
        self.emit(Event::SessionInvited(SessionInvited {
            session: handle.clone(),
            from: shown_from,
            kind,
            deferred,
        }));
        if auto {
            self.accept_incoming(&handle);
        } else {
            self.watch_cancel(&handle, tx);
        }
    }

    /// Reports a CANCEL of a pending incoming INVITE to the loop.
    pub fn watch_cancel(&self, handle: &str, tx: Arc<ServerTx>) {
        let internal = self.internal.clone();
        let handle = handle.to_owned();
        tokio::spawn(async move {
            if tx.cancelled().await {
                let cancel = tx.cancel_request();
                let _ = internal.send(Internal::Cancelled { handle, cancel });
            }
        });
    }

    /// Accepts the pending incoming session `handle` (7.3.2): 200 with an SDP answer, media.
    pub fn accept_incoming(&mut self, handle: &str) {
        let Some(s) = self.sessions.get(handle) else {
            return;
        };
        let Some(tx) = s.incoming.clone() else { return };
        let req = tx.request.clone();
        match s.kind {
            SessionKind::FileIn => {
                self.accept_file(handle);
                return;
            }
            SessionKind::LargeIn => {}
            _ => {}
        }
        let kind = s.kind;
        let deferred = s.deferred;
        let via_race = s.via_race;
        let remote_dir = s.remote_direction;
        if kind == SessionKind::Deferred1to1 && self.faults.has("7.3.11/accept-200-ok") {
            let r = self.response_tagged(&req, 486);
            self.respond(&tx, r);
            self.sessions.remove(handle);
            return;
        }
        let Some(remote) = remote_media(&req) else {
            return;
        };
        let local_path = self.new_local_path();
        let mut media = self.chat_media(&local_path);
        if kind.is_group() {
            media.accept_types = vec!["message/cpim".into()];
        }
        if kind == SessionKind::LargeIn {
            media.accept_types = vec!["message/cpim".into()];
            media.accept_wrapped_types = vec!["text/plain".into()];
        }
        // 7.3.12 2) a / wire-facts 7: a sendonly offer is answered recvonly.
        media.direction = Some(match remote_dir {
            Direction::SendOnly
                if !(kind == SessionKind::IncomingGroup
                    && self.faults.has("7.3.12/check-sdp-direction")) =>
            {
                Direction::RecvOnly
            }
            Direction::RecvOnly => Direction::SendOnly,
            _ => Direction::SendRecv,
        });
        let origin = self.origin();
        let answer = chat_answer(&origin, &remote.sdp, &media);
        let tag = self.ids.token(10);
        let mut r = self.response(&req, 200, Some(&tag));
        let icsi = if kind == SessionKind::LargeIn {
            icsi::CPM_LARGEMSG
        } else {
            icsi::CPM_SESSION
        };
        r.headers.push("Contact", self.contact(&[icsi], true));
        r.headers.set("User-Agent", crate::outgoing::USER_AGENT);
        if self.faults.has("7/user-agent-header") {
            r.headers.remove("User-Agent");
        }
        r.set_body("application/sdp", answer.to_bytes());
        self.respond(&tx, r);
        let Ok(mut dialog) = Dialog::uas(&req, &tag) else {
            return;
        };
        dialog.local_contact = Some(self.contact(&[icsi], true));
        let peer = {
            let Some(s) = self.sessions.get_mut(handle) else {
                return;
            };
            s.dialog = Some(dialog);
            s.local_path = local_path;
            s.established = true;
            s.incoming = None;
            s.identity.clone().unwrap_or_else(|| s.peer.clone())
        };
        self.emit(Event::SessionStarted(SessionStarted {
            session: handle.to_owned(),
            peer: Some(peer),
        }));
        // 7.3.11 item 1 / 7.3.12 2) a i: a sendrecv deferred delivery session is used to receive
        // the deferred messages (the faults accept it but never set its media up).
        let no_media = remote_dir == Direction::SendRecv
            && ((kind == SessionKind::Deferred1to1
                && self.faults.has("7.3.11/sendrecv-receive-deferred"))
                || (kind == SessionKind::IncomingGroup
                    && deferred
                    && self.faults.has("7.3.12/sendrecv-receive-deferred")));
        if !no_media {
            self.start_media(handle, remote.setup, remote.path);
        }
        // 7.3.12 c ii / 7.3.1.5.1 c: no conference subscription unless the user chats.
        if (kind == SessionKind::IncomingGroup
            && deferred
            && self.faults.has("7.3.12/no-subscribe-without-chat"))
            || (via_race && self.faults.has("7.3.1.5.1/no-subscribe-without-chat"))
        {
            self.subscribe_conference(handle);
        }
        if let Some(t) = self
            .sessions
            .get_mut(handle)
            .and_then(|s| s.first_text.take())
        {
            let _ = self.send_chat_in(handle, &t, &[], None);
        }
    }

    /// Declines the pending incoming session `handle` with `code`.
    pub fn decline_incoming(&mut self, handle: &str, code: u16) -> Result<(), String> {
        let Some(s) = self.sessions.get(handle) else {
            return Err(format!("no session {handle}"));
        };
        let Some(tx) = s.incoming.clone() else {
            return Err(format!("session {handle} is not a pending invitation"));
        };
        let mut code = code;
        if s.kind == SessionKind::FileIn && code == 603 && self.faults.has("7.4.2/decline-603") {
            code = 486;
        }
        if s.deferred && code == 480 && self.faults.has("7.3.11/decline-480") {
            code = 486;
        }
        let r = self.response_tagged(&tx.request, code);
        self.respond(&tx, r);
        self.sessions.remove(handle);
        self.emit(Event::SessionEnded(SessionEnded {
            session: handle.to_owned(),
            reason: Some(format!("declined {code}")),
            completed_elsewhere: false,
        }));
        Ok(())
    }

    /// A CANCEL ended a pending incoming INVITE (7.3.4.4; the stack answered 200 and 487).
    pub fn on_cancelled(&mut self, handle: &str, cancel: Option<&Message>) {
        let Some(s) = self.sessions.get(handle) else {
            return;
        };
        if s.established {
            return;
        }
        self.sessions.remove(handle);
        // 7.3.4.4 item 1 (RFC 3326): Reason SIP;cause=200 -> the user MAY be told the session
        // was established elsewhere; item 2: terminate the session.
        let completed_elsewhere = cancel.and_then(|c| c.reasons().ok()).is_some_and(|rs| {
            rs.iter()
                .any(|r| r.protocol.eq_ignore_ascii_case("SIP") && r.cause == Some(200))
        });
        self.emit(Event::SessionEnded(SessionEnded {
            session: handle.to_owned(),
            reason: Some("cancelled".into()),
            completed_elsewhere,
        }));
    }

    /// An ACK (nothing to do: sessions start at our 200).
    pub fn on_ack(&mut self, _msg: &Message) {}
}
