//! Large Message Mode standalone messages (7.2.1.2 / 7.2.2.2): a cpm.largemsg INVITE with a
//! sendonly MSRP offer, the CPIM message over MSRP, then BYE; and the receiving side.

use std::sync::Arc;

use cpmconf_codec::sdp::{chat_offer, Direction};
use cpmconf_codec::sip::{icsi, Method};
use cpmconf_stack::msrp::SendOptions;
use cpmconf_stack::sip::ServerTx;
use cpmconf_ut::{Event, Quirk, SessionInvited, SessionKind as UtKind};

use crate::core::Core;
use crate::media::MediaCmd;
use crate::session_setup::remote_media;
use crate::state::{Session, SessionKind};

/// Chunk size of our MSRP SENDs.
const CHUNK: usize = 2048;

impl Core {
    /// The body size per MSRP SEND chunk of the messages the client sends (files, Large
    /// Message Mode): 2048 bytes, 1024 with the `msrp-chunks-1024` quirk.
    pub(crate) fn chunk_size(&self) -> usize {
        if self.cfg.quirk(Quirk::MsrpChunks1024) {
            1024
        } else {
            CHUNK
        }
    }

    /// Sends a Large Message Mode message (clause 7 / 7.2.1.2); returns its IMDN Message-ID.
    pub fn send_large(&mut self, to: &str, body: &[u8], dispositions: &[&str]) -> String {
        let (cpim, id) = self.cpim_message(to, "text/plain", body, dispositions);
        let handle = self.new_handle("l");
        let mut req = self.base_request(Method::Invite, to, to);
        req.headers.push(
            "Accept-Contact",
            Core::accept_contact(&[icsi::CPM_LARGEMSG]),
        );
        req.headers.push("P-Preferred-Service", icsi::CPM_LARGEMSG);
        req.headers
            .push("Contact", self.contact(&[icsi::CPM_LARGEMSG], true));
        let conv = self.ids.uuid();
        let contrib = self.ids.uuid();
        req.headers.push("Conversation-ID", conv.clone());
        req.headers.push("Contribution-ID", contrib.clone());
        let path = self.new_local_path();
        let mut media = self.chat_media(&path);
        media.accept_types = vec!["message/cpim".into()];
        media.accept_wrapped_types = vec!["text/plain".into()];
        media.direction = Some(Direction::SendOnly);
        let origin = self.origin();
        req.set_body("application/sdp", chat_offer(&origin, &media).to_bytes());
        let mut s = Session::new(handle.clone(), SessionKind::LargeOut, to.to_owned());
        s.conversation_id = conv;
        s.contribution_id = contrib;
        s.local_path = path;
        s.large_body = Some(cpim);
        self.sessions.insert(handle.clone(), s);
        self.send_invite(&handle, req);
        id
    }

    /// MSRP is up in a large message session: send the message.
    pub fn send_large_content(&mut self, handle: &str) {
        let Some(s) = self.sessions.get_mut(handle) else {
            return;
        };
        let Some(body) = s.large_body.take() else {
            return;
        };
        let Some(m) = s.media.clone() else { return };
        let id = self.ids.token(12);
        let chunk = self.chunk_size();
        let chunks = body.len().div_ceil(chunk).max(1);
        if let Some(s) = self.sessions.get_mut(handle) {
            s.file_msg = Some((id.clone(), chunks));
        }
        let _ = m.send(MediaCmd::Send {
            content_type: "message/cpim".into(),
            body,
            opts: SendOptions {
                chunk_size: chunk,
                message_id: Some(id),
                ..Default::default()
            },
        });
    }

    /// A cpm.largemsg (or deferred large message) INVITE (7.2.2.2).
    pub fn on_large_invite(&mut self, tx: Arc<ServerTx>) {
        let req = tx.request.clone();
        let Some(remote) = remote_media(&req) else {
            let r = self.response(&req, 488, None);
            self.respond(&tx, r);
            return;
        };
        let from = req.from().map(|f| f.uri.to_string()).unwrap_or_default();
        let handle = self.new_handle("l");
        let mut s = Session::new(handle.clone(), SessionKind::LargeIn, from.clone());
        s.outgoing = false;
        s.remote_direction = remote.direction;
        s.conversation_id = req.header("Conversation-ID").unwrap_or("").to_owned();
        s.contribution_id = req.header("Contribution-ID").unwrap_or("").to_owned();
        s.incoming = Some(tx.clone());
        self.sessions.insert(handle.clone(), s);
        self.emit(Event::SessionInvited(SessionInvited {
            session: handle.clone(),
            from,
            kind: UtKind::LargeMessage,
            deferred: false,
        }));
        self.accept_incoming(&handle);
    }
}
