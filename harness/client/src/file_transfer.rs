//! CPM File Transfer (7.4.x, RFC 5547): sending (file-selector, file-transfer-id, sendonly),
//! receiving (size check against the provisioned limit, 200 with the file identities or 603,
//! delivery IMDN by SIP MESSAGE), BYE on completion or abort, byte tracking, and resume from
//! either side (7.4.5.1 requester, 7.4.5.2 responder with 488 for unknown files).

use std::sync::Arc;

use cpmconf_codec::msrp::Message as MsrpMessage;
use cpmconf_codec::sdp::{
    file_answer, file_offer, Direction, FileAttributes, FileRange, FileSelector,
};
use cpmconf_codec::sip::{icsi, Method};
use cpmconf_codec::xml::imdn::NotificationKind;
use cpmconf_stack::msrp::SendOptions;
use cpmconf_stack::sip::{Dialog, ServerTx};
use cpmconf_ut::Quirk;
use cpmconf_ut::{
    Event, FileReceived, FileTransferEnded, SessionInvited, SessionKind as UtKind, SessionStarted,
};
use sha2::{Digest, Sha256};

use crate::core::Core;
use crate::imdn::{decode_payload, Payload};
use crate::media::MediaCmd;
use crate::session_setup::{contact_instance, remote_media};
use crate::state::{FileRecord, Session, SessionKind};

/// Deterministic generated file content of `size` bytes.
pub(crate) fn generated_content(size: u64) -> Vec<u8> {
    (0..size).map(|i| b'a' + (i % 26) as u8).collect()
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

impl Core {
    /// Starts a push transfer of `content` to `to` (7.4.1); returns the transfer id.
    pub fn send_file(
        &mut self,
        to: &str,
        name: &str,
        content_type: &str,
        content: Vec<u8>,
    ) -> String {
        let transfer_id = self.new_handle("t");
        let sdp_id = self.ids.token(12);
        let rec = FileRecord {
            transfer_id: transfer_id.clone(),
            name: name.to_owned(),
            content_type: content_type.to_owned(),
            size: content.len() as u64,
            content,
            bytes_done: 0,
            we_sent: true,
            peer: to.to_owned(),
            peer_instance: None,
            sdp_transfer_id: sdp_id,
            completed: false,
        };
        self.files.insert(transfer_id.clone(), rec);
        self.file_invite(&transfer_id, None, Direction::SendOnly, None);
        transfer_id
    }

    /// Sends a file transfer INVITE for record `transfer_id` (new or resume).
    fn file_invite(
        &mut self,
        transfer_id: &str,
        range: Option<FileRange>,
        direction: Direction,
        device: Option<String>,
    ) {
        let Some(rec) = self.files.get(transfer_id).cloned() else {
            return;
        };
        let handle = self.new_handle("f");
        let to = rec.peer.clone();
        // 7/initiate-file-transfer: a file transfer uses the cpm.filetransfer procedure (7.4.1).
        let ft_icsi = if range.is_none() && self.faults.has("7/initiate-file-transfer") {
            icsi::CPM_SESSION
        } else {
            icsi::CPM_FILETRANSFER
        };
        let mut req = self.base_request(Method::Invite, &to, &to);
        req.headers
            .push("Accept-Contact", Core::accept_contact(&[ft_icsi]));
        // 6.1.1 / 6.1.2 (7.4.5.1 items 1a / 2a): the same device as before.
        if let Some(d) = &device {
            req.headers.push(
                "Accept-Contact",
                format!("*;+sip.instance=\"{d}\";require;explicit"),
            );
        }
        req.headers.push("P-Preferred-Service", ft_icsi);
        req.headers.push("Contact", self.contact(&[ft_icsi], true));
        let conv = self.ids.uuid();
        let contrib = self.ids.uuid();
        req.headers.push("Conversation-ID", conv.clone());
        req.headers.push("Contribution-ID", contrib.clone());
        let path = self.new_local_path();
        let mut media = self.chat_media(&path);
        media.accept_types = vec![rec.content_type.clone(), "message/cpim".into()];
        media.accept_wrapped_types = Vec::new();
        let file = FileAttributes {
            selector: FileSelector {
                name: Some(rec.name.clone()),
                file_type: Some(rec.content_type.clone()),
                size: Some(rec.size),
                hash: None,
            },
            transfer_id: rec.sdp_transfer_id.clone(),
            disposition: Some("attachment".into()),
            date: None,
            icon: None,
            range,
        };
        let origin = self.origin();
        let mut text =
            String::from_utf8_lossy(&file_offer(&origin, &media, &file).to_bytes()).into_owned();
        if direction == Direction::RecvOnly {
            text = text.replace("a=sendonly\r\n", "a=recvonly\r\n");
        }
        if range.is_some() && self.faults.has("7.4.5.1/sdp-file-attributes") {
            text = text
                .lines()
                .filter(|l| !l.starts_with("a=file-range") && !l.starts_with("a=file-selector"))
                .map(|l| format!("{l}\r\n"))
                .collect();
        }
        req.set_body("application/sdp", text.into_bytes());
        let kind = if rec.we_sent {
            SessionKind::FileOut
        } else {
            SessionKind::FileIn
        };
        let mut s = Session::new(handle.clone(), kind, to);
        s.conversation_id = conv;
        s.contribution_id = contrib;
        s.local_path = path;
        s.transfer = Some(transfer_id.to_owned());
        s.resume_start = range.map(|r| r.start).unwrap_or(1);
        self.sessions.insert(handle.clone(), s);
        self.send_invite(&handle, req);
    }

    /// MSRP is up in an outgoing-file session: send the file from `resume_start`.
    pub fn send_file_content(&mut self, handle: &str) {
        let Some(s) = self.sessions.get(handle) else {
            return;
        };
        let Some(m) = s.media.clone() else { return };
        let Some(t) = s.transfer.clone() else { return };
        let mut start = s.resume_start.max(1);
        // 7.4.5.1 item 5: MSRP Byte-Range from the resume point.
        if start > 1 && self.faults.has("7.4.5.1/media-plane-byte-range") {
            start = 1;
        }
        let Some(rec) = self.files.get(&t) else {
            return;
        };
        let remaining = (rec.size + 1).saturating_sub(start) as usize;
        let chunk = self.chunk_size();
        let mut chunks = remaining.div_ceil(chunk).max(1);
        let id = self.ids.token(12);
        let mut body = rec.content.clone();
        let mut ct = rec.content_type.clone();
        // 7.4.5.2 item 1 (L262): serving a resume request as original sender, "the device
        // identifier used in the CPIM From header is set as described in section 6.1.1". With
        // a reading configured, the rest of the file goes out as one CPIM message (From this
        // device, To the requestor) from the requested byte on: the chunks keep the Byte-Range
        // positions from the resume point, the CPIM headers heading the first one.
        let serving_resume = !s.outgoing && s.kind == SessionKind::FileOut;
        if let (true, Some(reading)) = (serving_resume, self.policy.cpim_from_device) {
            let peer = s.peer.clone();
            let skip = (start.saturating_sub(1) as usize).min(body.len());
            let instance = if self.faults.has("7.4.5.2/sender-cpim-from-device-id") {
                "urn:uuid:00000000-0000-4000-8000-000000000000".to_owned()
            } else {
                self.instance.clone()
            };
            let from = match reading {
                cpmconf_ut::CpimFromDevice::Gruu => format!("{};gr={instance}", self.aor()),
                // The device is named by +sip.instance on the 200's Contact; the fault names
                // another one in the From all the same.
                cpmconf_ut::CpimFromDevice::Instance
                    if self.faults.has("7.4.5.2/sender-cpim-from-device-id") =>
                {
                    format!("{};gr={instance}", self.aor())
                }
                cpmconf_ut::CpimFromDevice::Instance => self.aor(),
            };
            let msg = cpmconf_codec::cpim::Message::builder()
                .from(&cpmconf_codec::cpim::NameAddr::uri(&from))
                .to(&cpmconf_codec::cpim::NameAddr::uri(&peer))
                .datetime(&crate::imdn::now_rfc3339())
                .imdn_message_id(&self.ids.token(12))
                .content_type(&ct)
                .body(body.get(skip..).unwrap_or_default().to_vec())
                .build()
                .to_bytes();
            chunks = msg.len().div_ceil(chunk).max(1);
            body = vec![0; skip];
            body.extend_from_slice(&msg);
            ct = "message/cpim".into();
        }
        if let Some(s) = self.sessions.get_mut(handle) {
            s.file_msg = Some((id.clone(), chunks));
            s.responses_seen = 0;
        }
        let _ = m.send(MediaCmd::Send {
            content_type: ct,
            body,
            opts: SendOptions {
                chunk_size: chunk,
                message_id: Some(id),
                byte_range_start: start,
                // Paced: the user's abort (7.4.3) finds the file still unsent in part.
                window: self.cfg.file_send_window,
                ..Default::default()
            },
        });
    }

    /// An MSRP response in a session: counts the chunks of a file or large message.
    pub fn on_media_response(&mut self, handle: &str, code: u16, message_id: Option<String>) {
        let Some(s) = self.sessions.get_mut(handle) else {
            return;
        };
        let Some((id, chunks)) = s.file_msg.clone() else {
            return;
        };
        if message_id.as_deref() != Some(id.as_str()) || !(200..300).contains(&code) {
            return;
        }
        s.responses_seen += 1;
        let seen = s.responses_seen;
        let start = s.resume_start;
        let kind = s.kind;
        let outgoing = s.outgoing;
        let transfer = s.transfer.clone();
        // 7.4.5: track how much was sent.
        let chunk = self.chunk_size();
        if let Some(rec) = transfer.as_ref().and_then(|t| self.files.get_mut(t)) {
            let sent = (start.saturating_sub(1) + (seen * chunk) as u64).min(rec.size);
            if !self.faults.has("7.4.5/track-transferred-bytes") {
                rec.bytes_done = sent;
            }
        }
        if seen < chunks {
            return;
        }
        if let Some(rec) = transfer.as_ref().and_then(|t| self.files.get_mut(t)) {
            rec.completed = true;
            rec.bytes_done = rec.size;
        }
        match kind {
            SessionKind::LargeOut => {
                self.end_session(handle, Some("sent".into()), false, true);
            }
            SessionKind::FileOut => {
                // 7.4.3: the sender closes a completed transfer with BYE; 7.4.5.1 item 6 for a
                // resumed one.
                let resumed = start > 1;
                let fault = if resumed && outgoing {
                    self.faults.has("7.4.5.1/terminate-on-completion")
                } else {
                    self.faults.has("7.4.3/sender-bye-on-completion")
                };
                if !fault {
                    self.end_session(handle, Some("file sent".into()), false, true);
                }
            }
            _ => {}
        }
    }

    /// Counts received file bytes from each SEND chunk (7.4.5).
    pub fn on_media_frame(&mut self, handle: &str, frame: &MsrpMessage) {
        let Some(s) = self.sessions.get(handle) else {
            return;
        };
        if s.kind != SessionKind::FileIn || !frame.is_request() {
            return;
        }
        let resumed = s.resume_start > 1;
        let Some(t) = s.transfer.clone() else { return };
        let Some(rec) = self.files.get_mut(&t) else {
            return;
        };
        if frame.body.is_empty() {
            return;
        }
        let start = frame
            .byte_range()
            .and_then(|r| r.ok())
            .map(|r| r.start)
            .unwrap_or(rec.bytes_done + 1);
        let off = start.saturating_sub(1) as usize;
        if off <= rec.content.len() {
            rec.content.truncate(off);
            rec.content.extend_from_slice(&frame.body);
            if !self.faults.has("7.4.5/track-transferred-bytes") {
                rec.bytes_done = rec.content.len() as u64;
            }
        }
        // A resumed transfer (RFC 5547 9): the message carries only the bytes from the resume
        // point, which the MSRP layer cannot put together alone (it never saw the first ones);
        // the file is complete when its last chunk brings what was kept up to the size.
        let complete = resumed
            && start > 1
            && frame.flag == cpmconf_codec::msrp::Flag::Complete
            && !rec.completed
            && rec.content.len() as u64 == rec.size;
        if complete {
            let content = rec.content.clone();
            let ct = frame.content_type().unwrap_or("").to_owned();
            self.on_file_content(handle, &ct, &content);
        }
    }

    /// An aborted incoming message (`#`): the transfer stops here.
    pub fn on_file_aborted(&mut self, handle: &str, _body: &[u8]) {
        self.transfer_interrupted(handle, "aborted by the sender");
    }

    /// A whole file arrived in `handle`.
    pub fn on_file_content(&mut self, handle: &str, content_type: &str, body: &[u8]) {
        let Some(s) = self.sessions.get(handle) else {
            return;
        };
        let Some(t) = s.transfer.clone() else { return };
        let outgoing = s.outgoing;
        let resumed = s.resume_start > 1;
        let from = s.peer.clone();
        let (data, dispositions, message_id) = match decode_payload(content_type, body) {
            Some(Payload::Text {
                text,
                dispositions,
                message_id,
                ..
            }) if content_type
                .to_ascii_lowercase()
                .starts_with("message/cpim") =>
            {
                (text, dispositions, message_id)
            }
            _ => (body.to_vec(), Vec::new(), None),
        };
        let Some(rec) = self.files.get_mut(&t) else {
            return;
        };
        let full = if data.len() as u64 == rec.size {
            data
        } else if resumed {
            let mut v = rec.content.clone();
            v.extend_from_slice(&data);
            v
        } else {
            data
        };
        rec.content = full.clone();
        rec.bytes_done = full.len() as u64;
        rec.completed = true;
        let name = rec.name.clone();
        self.emit(Event::FileReceived(FileReceived {
            name,
            size: full.len() as u64,
            sha256: sha256_hex(&full),
            transfer_id: Some(t.clone()),
            from: Some(from.clone()),
        }));
        // 7.4.2 item 6 / 7.4.5.2 item 2: a requested delivery notification by SIP MESSAGE (the
        // fault does not check the request: it notifies whether asked or not).
        if let Some(id) = message_id {
            if dispositions.iter().any(|d| d == "positive-delivery")
                || self.faults.has("7.4.2/check-delivery-notification-request")
            {
                let via_msrp = if resumed && !outgoing {
                    self.faults.has("7.4.5.2/recipient-imdn-sip-message")
                } else {
                    self.faults.has("7.4.2/delivery-notification-sip-message")
                };
                if via_msrp {
                    let b = self.cpim_imdn(&from, &id, NotificationKind::Delivery);
                    self.media_send(handle, "message/cpim", b);
                } else {
                    self.send_imdn_by_message(&from, &id, NotificationKind::Delivery);
                }
            }
        }
        // 7.4.5.1 item 6: the resuming receiver closes the session once the file is complete.
        if outgoing && !self.faults.has("7.4.5.1/terminate-on-completion") {
            self.end_session(handle, Some("file received".into()), false, true);
        }
    }

    /// The media plane of a transfer went away before completion.
    pub fn transfer_interrupted(&mut self, handle: &str, error: &str) {
        let Some(t) = self.sessions.get(handle).and_then(|s| s.transfer.clone()) else {
            return;
        };
        let Some(rec) = self.files.get(&t) else {
            return;
        };
        if rec.completed {
            return;
        }
        let bytes = rec.bytes_done;
        self.emit(Event::FileTransferEnded(FileTransferEnded {
            transfer_id: t,
            completed: false,
            bytes: Some(bytes),
            reason: Some(error.to_owned()),
        }));
    }

    /// A transfer's session ended.
    pub fn transfer_ended(&mut self, transfer_id: &str, reason: Option<String>) {
        let Some(rec) = self.files.get(transfer_id) else {
            return;
        };
        self.emit(Event::FileTransferEnded(FileTransferEnded {
            transfer_id: transfer_id.to_owned(),
            completed: rec.completed,
            bytes: Some(rec.bytes_done),
            reason,
        }));
    }

    /// The most recently started transfer that did not complete (what `resume_file` without a
    /// `transfer_id` resumes).
    pub fn latest_unfinished_transfer(&self) -> Option<String> {
        self.files
            .values()
            .filter(|r| !r.completed)
            .max_by_key(|r| {
                r.transfer_id
                    .trim_start_matches(|c: char| !c.is_ascii_digit())
                    .parse::<u64>()
                    .unwrap_or(0)
            })
            .map(|r| r.transfer_id.clone())
    }

    /// Resumes an interrupted transfer (7.4.5.1).
    pub fn resume_file(&mut self, transfer_id: &str) -> Result<(), String> {
        let Some(rec) = self.files.get(transfer_id).cloned() else {
            return Err(format!("no transfer {transfer_id}"));
        };
        if rec.completed {
            return Err(format!("transfer {transfer_id} is complete"));
        }
        let start = rec.bytes_done + 1;
        let range = FileRange {
            start,
            stop: Some(rec.size),
        };
        let device = if rec.we_sent {
            rec.peer_instance
                .clone()
                .filter(|_| !self.faults.has("7.4.5.1/sender-device-id"))
        } else {
            rec.peer_instance
                .clone()
                .filter(|_| !self.faults.has("7.4.5.1/receiver-device-id"))
        };
        // 7.4.5.1 item 4: recvonly for the original receiver, sendonly for the original sender.
        let direction = if rec.we_sent {
            if self.faults.has("7.4.5.1/sendonly-original-sender") {
                Direction::RecvOnly
            } else {
                Direction::SendOnly
            }
        } else if self.faults.has("7.4.5.1/recvonly-original-receiver") {
            Direction::SendOnly
        } else {
            Direction::RecvOnly
        };
        self.file_invite(transfer_id, Some(range), direction, device);
        Ok(())
    }

    /// A cpm.filetransfer INVITE (7.4.2, or a resume request 7.4.5.2).
    pub fn on_file_invite(&mut self, tx: Arc<ServerTx>) {
        let req = tx.request.clone();
        let Some(remote) = remote_media(&req) else {
            let r = self.response(&req, 488, None);
            self.respond(&tx, r);
            return;
        };
        let Some(m) = remote.sdp.msrp_media() else {
            return;
        };
        let selector = m.file_selector().and_then(|r| r.ok()).unwrap_or_default();
        let range = m.file_range().and_then(|r| r.ok());
        let sdp_id = m.file_transfer_id().unwrap_or("").to_owned();
        let from = req.from().map(|f| f.uri.to_string()).unwrap_or_default();
        let tag = self.ids.token(10);
        let reject = |core: &mut Core, code: u16| {
            let r = core.response(&req, code, Some(&tag));
            core.respond(&tx, r);
        };
        let resume = range.is_some();
        // 7.4.5.2 i: no resume support -> 488.
        if resume
            && (!self.policy.resume_supported || self.cfg.quirk(Quirk::RefusesEveryResume))
            && !self.faults.has("7.4.5.2/488-resume-unsupported")
        {
            reject(self, 488);
            return;
        }
        let by_name_only = self.cfg.quirk(Quirk::ResumeByNameOnly);
        let same = |r: &FileRecord| {
            Some(r.name.as_str()) == selector.name.as_deref()
                && (by_name_only || selector.size.is_none_or(|s| s == r.size))
        };
        let peer_wants_to_receive = remote.direction == Direction::RecvOnly;
        let handle = self.new_handle("f");
        let (kind, transfer_id, start) = if peer_wants_to_receive {
            // 7.4.5.2 item 1: we are the original sender; 488 for an unknown file (ii).
            let known = self
                .files
                .values()
                .find(|r| r.we_sent && same(r))
                .map(|r| r.transfer_id.clone());
            let known = match known {
                Some(k) => k,
                None if self.faults.has("7.4.5.2/488-unknown-file") => {
                    let t = self.new_handle("t");
                    let size = selector.size.unwrap_or(0);
                    self.files.insert(
                        t.clone(),
                        FileRecord {
                            transfer_id: t.clone(),
                            name: selector.name.clone().unwrap_or_default(),
                            content_type: selector
                                .file_type
                                .clone()
                                .unwrap_or_else(|| "application/octet-stream".into()),
                            size,
                            content: generated_content(size),
                            bytes_done: 0,
                            we_sent: true,
                            peer: from.clone(),
                            peer_instance: None,
                            sdp_transfer_id: sdp_id.clone(),
                            completed: false,
                        },
                    );
                    t
                }
                None => {
                    reject(self, 488);
                    return;
                }
            };
            if self.faults.has("7.4.5.2/sender-200-ok-file") {
                reject(self, 603);
                return;
            }
            (
                SessionKind::FileOut,
                known,
                range.map(|r| r.start).unwrap_or(1),
            )
        } else if resume {
            // 7.4.5.2 item 2: we are the original recipient; the file must be the one we have
            // (a client that discarded the bytes received knows none: ii).
            let discards = self.cfg.quirk(Quirk::DiscardsPartialFiles);
            let known = self
                .files
                .values()
                .find(|r| !discards && !r.we_sent && !r.completed && same(r))
                .map(|r| r.transfer_id.clone());
            match known {
                Some(k) => (SessionKind::FileIn, k, range.map(|r| r.start).unwrap_or(1)),
                None if self.faults.has("7.4.5.2/488-unknown-file") => {
                    let t = self.new_incoming_record(&selector, &from, &sdp_id, &req);
                    (SessionKind::FileIn, t, 1)
                }
                None => {
                    reject(self, 488);
                    return;
                }
            }
        } else {
            // 7.4.2 item 3: the size against the provisioned limit.
            let limit = self.cfg.provisioned.file_size_limit;
            let too_big = selector.size.is_some_and(|s| {
                if self.cfg.quirk(Quirk::SizeLimitExclusive) {
                    s >= limit
                } else {
                    s > limit
                }
            }) && !self.faults.has("7.4.2/validate-file-size");
            if too_big || !self.policy.accept_files {
                // 7.4.2 item 4: 603 when no file is accepted.
                let code = if self.faults.has("7.4.2/decline-603") {
                    486
                } else {
                    603
                };
                reject(self, code);
                return;
            }
            let t = self.new_incoming_record(&selector, &from, &sdp_id, &req);
            (SessionKind::FileIn, t, 1)
        };
        if let Some(rec) = self.files.get_mut(&transfer_id) {
            rec.peer = from.clone();
            if rec.peer_instance.is_none() {
                rec.peer_instance = contact_instance(&req);
            }
        }
        let mut s = Session::new(handle.clone(), kind, from.clone());
        s.outgoing = false;
        s.incoming = Some(tx.clone());
        s.transfer = Some(transfer_id);
        s.resume_start = start;
        s.remote_direction = remote.direction;
        self.sessions.insert(handle.clone(), s);
        self.last_session = Some(handle.clone());
        self.emit(Event::SessionInvited(SessionInvited {
            session: handle.clone(),
            from,
            kind: UtKind::FileTransfer,
            deferred: false,
        }));
        // 7.4.2 (push): the user chooses whether to take the offered file (`accept_invitation`
        // / `decline_invitation`), unless told to accept sessions without asking (the
        // default). A resume of a transfer already taken, or a request for a file we sent,
        // goes on at once.
        if self.policy.auto_accept_sessions
            || resume
            || kind == SessionKind::FileOut
            || self.cfg.quirk(Quirk::AcceptsFilesWithoutAsking)
        {
            self.accept_file(&handle);
        }
    }

    fn new_incoming_record(
        &mut self,
        selector: &FileSelector,
        from: &str,
        sdp_id: &str,
        req: &cpmconf_codec::sip::Message,
    ) -> String {
        let t = self.new_handle("t");
        self.files.insert(
            t.clone(),
            FileRecord {
                transfer_id: t.clone(),
                name: selector.name.clone().unwrap_or_default(),
                content_type: selector
                    .file_type
                    .clone()
                    .unwrap_or_else(|| "application/octet-stream".into()),
                size: selector.size.unwrap_or(0),
                content: Vec::new(),
                bytes_done: 0,
                we_sent: false,
                peer: from.to_owned(),
                peer_instance: contact_instance(req),
                sdp_transfer_id: sdp_id.to_owned(),
                completed: false,
            },
        );
        t
    }

    /// Accepts a file transfer INVITE: 200 with the RFC 5547 answer (7.4.2 item 4), media.
    pub fn accept_file(&mut self, handle: &str) {
        let Some(s) = self.sessions.get(handle) else {
            return;
        };
        let Some(tx) = s.incoming.clone() else { return };
        let req = tx.request.clone();
        let Some(remote) = remote_media(&req) else {
            return;
        };
        let mut start = s.resume_start;
        let kind = s.kind;
        // 7.4.5.2 item 2: the original recipient answers a resume per 7.4.2 with the range.
        if start > 1
            && kind == SessionKind::FileIn
            && self.faults.has("7.4.5.2/recipient-follow-7-4-2")
        {
            start = 1;
            if let Some(s) = self.sessions.get_mut(handle) {
                s.resume_start = 1;
            }
        }
        let range = if start > 1 {
            remote
                .sdp
                .msrp_media()
                .and_then(|m| m.file_range())
                .and_then(|r| r.ok())
        } else {
            None
        };
        let local_path = self.new_local_path();
        let mut media = self.chat_media(&local_path);
        media.accept_types = vec!["*".into()];
        media.accept_wrapped_types = Vec::new();
        let origin = self.origin();
        let answer = file_answer(&origin, &remote.sdp, &media, range);
        let mut text = String::from_utf8_lossy(&answer.to_bytes()).into_owned();
        // 7.4.2 item 4: the answer names the accepted files (RFC 5547).
        if self.faults.has("7.4.2/accept-200-ok-file-identities") {
            text = text
                .lines()
                .filter(|l| !l.starts_with("a=file-selector"))
                .map(|l| format!("{l}\r\n"))
                .collect();
        }
        if self.cfg.quirk(Quirk::FileSelectorNameOnly) {
            text = text
                .lines()
                .map(|l| match l.strip_prefix("a=file-selector:") {
                    Some(sel) => {
                        let name = sel.split(' ').find(|p| p.starts_with("name:"));
                        format!("a=file-selector:{}\r\n", name.unwrap_or(sel))
                    }
                    None => format!("{l}\r\n"),
                })
                .collect();
        }
        let tag = self.ids.token(10);
        let mut r = self.response(&req, 200, Some(&tag));
        r.headers
            .push("Contact", self.contact(&[icsi::CPM_FILETRANSFER], true));
        r.set_body("application/sdp", text.into_bytes());
        self.respond(&tx, r);
        let Ok(mut dialog) = Dialog::uas(&req, &tag) else {
            return;
        };
        dialog.local_contact = Some(self.contact(&[icsi::CPM_FILETRANSFER], true));
        if let Some(s) = self.sessions.get_mut(handle) {
            s.dialog = Some(dialog);
            s.local_path = local_path;
            s.established = true;
            s.incoming = None;
        }
        self.emit(Event::SessionStarted(SessionStarted {
            session: handle.to_owned(),
            peer: None,
        }));
        // 7.4.2 item 5: receive the file over MSRP (7.3.9.1).
        if kind == SessionKind::FileIn && self.faults.has("7.4.2/media-plane-receive") {
            return;
        }
        self.start_media(handle, remote.setup, remote.path);
    }

    /// Our outgoing transfer INVITE got its 200: remember the recipient's device (6.1.2).
    pub fn note_transfer_peer(&mut self, handle: &str) {
        let Some(s) = self.sessions.get(handle) else {
            return;
        };
        let (Some(t), Some(i)) = (s.transfer.clone(), s.remote_instance.clone()) else {
            return;
        };
        if let Some(rec) = self.files.get_mut(&t) {
            rec.peer_instance = Some(i);
        }
    }
}
