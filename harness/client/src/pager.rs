//! Pager Mode standalone messages (7.2.1.1 / 7.2.2.1): sending a SIP MESSAGE with cpm.msg and a
//! CPIM body; receiving MESSAGEs with cpm.msg or cpm.deferred (clause 7 dispatch), answering 200,
//! reporting the message or IMDN, and returning a requested delivery notification.

use std::sync::Arc;

use cpmconf_codec::sip::{icsi, Message, Method};
use cpmconf_codec::xml::imdn::NotificationKind;
use cpmconf_stack::sip::ServerTx;
use cpmconf_ut::{Disposition, Event, MessageReceived};

use crate::core::{Core, Purpose};
use crate::imdn::{decode_payload, Payload};
use crate::state::Received;

/// The disposition tokens of RFC 5438 for the upper tester's list.
pub(crate) fn disposition_tokens(d: &[Disposition]) -> Vec<&'static str> {
    d.iter()
        .map(|d| match d {
            Disposition::PositiveDelivery => "positive-delivery",
            Disposition::NegativeDelivery => "negative-delivery",
            Disposition::Display => "display",
        })
        .collect()
}

/// Whether `msg`'s Accept-Contact carries `icsi`.
pub(crate) fn accepts(msg: &Message, icsi: &str) -> bool {
    msg.accept_contacts()
        .map(|sets| sets.iter().any(|s| s.has_icsi(icsi)))
        .unwrap_or(false)
}

impl Core {
    /// Sends a Pager Mode message (clause 7 / 7.2.1.1); returns its IMDN Message-ID.
    pub fn send_pager(
        &mut self,
        to: &str,
        content_type: &str,
        body: &[u8],
        dispositions: &[&str],
    ) -> String {
        let (cpim, id) = self.cpim_message(to, content_type, body, dispositions);
        let mut req = self.base_request(Method::Message, to, to);
        req.headers
            .push("Accept-Contact", Core::accept_contact(&[icsi::CPM_MSG]));
        req.headers.push("P-Preferred-Service", icsi::CPM_MSG);
        req.headers
            .push("Contact", self.contact(&[icsi::CPM_MSG], true));
        let conv = self.ids.uuid();
        let contrib = self.ids.uuid();
        req.headers.push("Conversation-ID", conv);
        req.headers.push("Contribution-ID", contrib);
        if self.policy.anonymous {
            req.headers.push("Privacy", "id");
        }
        req.set_body("message/cpim", cpim);
        self.send(req, Purpose::Message, None);
        id
    }

    /// An incoming MESSAGE (clause 7: cpm.msg or cpm.deferred -> 7.2.2.1).
    pub fn on_message(&mut self, tx: &Arc<ServerTx>) {
        let req = &tx.request;
        let msg_tag = accepts(req, icsi::CPM_MSG);
        let deferred = accepts(req, icsi::CPM_DEFERRED);
        // 7/dispatch-message-msg, 7/dispatch-message-deferred
        if (msg_tag && !deferred && self.faults.has("7/dispatch-message-msg"))
            || (deferred && self.faults.has("7/dispatch-message-deferred"))
        {
            let r = self.response(req, 488, Some("nodispatch"));
            self.respond(tx, r);
            return;
        }
        let ct = req
            .header("Content-Type")
            .unwrap_or("text/plain")
            .to_owned();
        let payload = decode_payload(&ct, &req.body);
        // 5.4.4/process-read-report: a read report is processed (RFC 5438) and accepted.
        if self.faults.has("5.4.4/process-read-report") {
            if let Some(Payload::Imdn { imdn, .. }) = &payload {
                if imdn.kind == NotificationKind::Display {
                    let r = self.response(req, 415, Some("noimdn"));
                    self.respond(tx, r);
                    return;
                }
            }
        }
        let tag = self.ids.token(10);
        let r = self.response(req, 200, Some(&tag));
        self.respond(tx, r);
        let sip_from = req.from().map(|f| f.uri.to_string()).unwrap_or_default();
        let conversation_id = req.header("Conversation-ID").map(str::to_owned);
        let contribution_id = req.header("Contribution-ID").map(str::to_owned);
        match payload {
            Some(Payload::Imdn { from, imdn }) => self.on_imdn(from.or(Some(sip_from)), &imdn),
            Some(Payload::Text {
                from,
                content_type,
                text,
                message_id,
                dispositions,
            }) => {
                let from = if from.is_empty() { sip_from } else { from };
                self.deliver_text(
                    &from,
                    &content_type,
                    &text,
                    message_id.clone(),
                    conversation_id,
                    contribution_id,
                    None,
                    deferred,
                );
                if let Some(id) = message_id {
                    self.received.insert(
                        id.clone(),
                        Received {
                            from: from.clone(),
                            session: None,
                            display_requested: dispositions.iter().any(|d| d == "display"),
                            display_sent: false,
                        },
                    );
                    if dispositions.iter().any(|d| d == "positive-delivery") {
                        self.send_imdn_by_message(&from, &id, NotificationKind::Delivery);
                    }
                }
            }
            Some(Payload::Composing { from, state }) => {
                self.emit(Event::ComposingReceived(cpmconf_ut::ComposingReceived {
                    from: from.unwrap_or(sip_from),
                    state,
                    session: None,
                }));
            }
            Some(Payload::ConferenceInfo(_)) | None => {}
        }
    }

    /// Reports a user message to the upper tester.
    #[allow(clippy::too_many_arguments)]
    pub fn deliver_text(
        &self,
        from: &str,
        content_type: &str,
        text: &[u8],
        message_id: Option<String>,
        conversation_id: Option<String>,
        contribution_id: Option<String>,
        session: Option<String>,
        deferred: bool,
    ) {
        self.emit(Event::MessageReceived(MessageReceived {
            from: from.to_owned(),
            text: String::from_utf8_lossy(text).into_owned(),
            content_type: content_type.to_owned(),
            conversation_id,
            contribution_id,
            message_id,
            session,
            deferred,
        }));
    }
}
