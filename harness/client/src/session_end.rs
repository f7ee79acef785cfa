//! Closing sessions: a BYE from the peer (7.3.4.3: 200, release the media plane, terminate,
//! completed elsewhere on Reason SIP;cause=200) and the user leaving (BYE, CANCEL or decline).

use std::sync::Arc;

use cpmconf_codec::sip::Reason;
use cpmconf_stack::sip::ServerTx;

use crate::chat::InviteSpec;
use crate::core::{Core, LeftGroup};
use crate::media::MediaCmd;
use crate::state::SessionKind;

impl Core {
    /// An incoming BYE (7.3.4.3).
    pub fn on_bye(&mut self, tx: &Arc<ServerTx>) {
        let req = &tx.request;
        let call_id = req.call_id().unwrap_or_default();
        let handle = self
            .sessions
            .iter()
            .find(|(_, s)| s.dialog.as_ref().is_some_and(|d| d.id.call_id == call_id))
            .map(|(h, _)| h.clone());
        let Some(handle) = handle else {
            let r = self.response(req, 481, None);
            self.respond(tx, r);
            return;
        };
        // 7.3.4.3 items 1-2: generate and send a 200 OK.
        if !self.faults.has("7.3.4.3/send-200-ok") {
            let code = if self.faults.has("7.3.4.3/generate-200-ok") {
                486
            } else {
                200
            };
            let r = self.response(req, code, None);
            self.respond(tx, r);
        }
        // 7.3.4.3 item 4 (RFC 3326): Reason SIP;cause=200 -> completed elsewhere.
        let mut completed_elsewhere = false;
        let mut reason_text = None;
        if let Ok(reasons) = req.reasons() {
            for r in reasons {
                if r.protocol.eq_ignore_ascii_case("SIP") && r.cause == Some(200) {
                    completed_elsewhere = true;
                }
                reason_text = Some(reason_string(&r));
            }
        }
        // 7.3.4.3 item 3: release the media plane.
        if self.faults.has("7.3.4.3/release-media") {
            if let Some(s) = self.sessions.get_mut(&handle) {
                if let Some(m) = s.media.take() {
                    self.leaked_media.push(m);
                }
            }
        }
        // 7.3.4.3: terminate the session (its dialog with it: a later request in it gets 481).
        if self.faults.has("7.3.4.3/terminate-session") {
            // The media plane is still released (item 3 is another requirement).
            if let Some(m) = self.sessions.get_mut(&handle).and_then(|s| s.media.take()) {
                let _ = m.send(MediaCmd::Close);
            }
            return;
        }
        if let Some(s) = self.sessions.get_mut(&handle) {
            if let Some(d) = s.dialog.as_mut() {
                d.terminate();
            }
        }
        self.end_session(
            &handle,
            reason_text.or(Some("BYE".into())),
            completed_elsewhere,
            false,
        );
    }

    /// The user leaves `handle`: BYE when established (7.3.4.1, 7.4.3 abort), CANCEL when our
    /// INVITE is pending, 603 when an invitation is pending.
    pub fn leave(&mut self, handle: &str) -> Result<(), String> {
        let Some(s) = self.sessions.get_mut(handle) else {
            return Err(format!("no session {handle}"));
        };
        if s.incoming.is_some() && !s.established {
            return self.decline_incoming(handle, 603);
        }
        let abort_fault = (s.kind == SessionKind::FileOut
            && self.faults.has("7.4.3/abort-bye-sender"))
            || (s.kind == SessionKind::FileIn && self.faults.has("7.4.3/abort-bye-receiver"));
        if abort_fault {
            // Drops the transfer by closing MSRP only.
            if let Some(m) = s.media.take() {
                let _ = m.send(MediaCmd::Close);
            }
            s.dialog = None;
        }
        if s.kind.is_group() {
            if let Some(identity) = s.identity.clone() {
                self.left_groups.push(LeftGroup {
                    group_uri: s.group_uri.clone(),
                    identity,
                    conversation_id: s.conversation_id.clone(),
                    contribution_id: s.contribution_id.clone(),
                });
            }
        }
        self.end_session(handle, Some("user left".into()), false, true);
        Ok(())
    }

    /// Registered again (7.3.12 3, NOTE): "The CPM Client SHOULD NOT attempt re-joining the
    /// previously CPM Group Session, unless CPM User has CPM Message to send": nothing happens
    /// until the user writes. The fault re-joins the last group session left at once.
    pub fn on_registered_again(&mut self) {
        if !self.faults.has("7.3.12/no-rejoin-without-message") {
            return;
        }
        let Some(g) = self.left_groups.last().cloned() else {
            return;
        };
        self.start_chat_invite(InviteSpec {
            kind: SessionKind::Rejoin,
            ruri: g.identity.clone(),
            to: g.identity,
            conversation_id: Some(g.conversation_id),
            contribution_id: Some(g.contribution_id),
            in_reply_to: None,
            anonymous: false,
            participants: Vec::new(),
            group_uri: g.group_uri,
            text: None,
            subject: None,
            handle: None,
        });
    }
}

fn reason_string(r: &Reason) -> String {
    r.to_string()
}
