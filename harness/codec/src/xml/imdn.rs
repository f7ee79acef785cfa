//! IMDN notification bodies (RFC 5438 section 7, `message/imdn+xml`): delivery, display and
//! processing notifications with their status.

use super::tree::{self, esc, push_opt, Element};
use crate::DecodeError;

/// The IMDN XML namespace (RFC 5438 section 7.1).
pub const NS: &str = "urn:ietf:params:xml:ns:imdn";
/// Rule cited by every IMDN body error.
pub const RULE: &str = "rfc5438/imdn-xml";

/// Which notification the body carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotificationKind {
    /// `<delivery-notification>`.
    Delivery,
    /// `<display-notification>`.
    Display,
    /// `<processing-notification>`.
    Processing,
}

impl NotificationKind {
    /// The element name.
    pub fn element(self) -> &'static str {
        match self {
            NotificationKind::Delivery => "delivery-notification",
            NotificationKind::Display => "display-notification",
            NotificationKind::Processing => "processing-notification",
        }
    }

    fn from_element(name: &str) -> Option<Self> {
        match name {
            "delivery-notification" => Some(NotificationKind::Delivery),
            "display-notification" => Some(NotificationKind::Display),
            "processing-notification" => Some(NotificationKind::Processing),
            _ => None,
        }
    }

    /// Whether `status` is allowed in this notification (RFC 5438 section 7.2.1 schema).
    pub fn allows(self, status: &Status) -> bool {
        use Status::*;
        matches!(
            (self, status),
            (_, Forbidden | Error | Other(_))
                | (NotificationKind::Delivery, Delivered | Failed)
                | (NotificationKind::Display, Displayed)
                | (NotificationKind::Processing, Processed | Stored)
        )
    }
}

/// The status element inside `<status>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// `<delivered/>`.
    Delivered,
    /// `<failed/>`.
    Failed,
    /// `<forbidden/>`.
    Forbidden,
    /// `<error/>`.
    Error,
    /// `<displayed/>`.
    Displayed,
    /// `<processed/>`.
    Processed,
    /// `<stored/>`.
    Stored,
    /// An extension status element in the IMDN namespace, by local name.
    Other(String),
}

impl Status {
    /// The element name.
    pub fn as_str(&self) -> &str {
        match self {
            Status::Delivered => "delivered",
            Status::Failed => "failed",
            Status::Forbidden => "forbidden",
            Status::Error => "error",
            Status::Displayed => "displayed",
            Status::Processed => "processed",
            Status::Stored => "stored",
            Status::Other(s) => s,
        }
    }

    /// The status for an element name.
    pub fn from_name(name: &str) -> Status {
        match name {
            "delivered" => Status::Delivered,
            "failed" => Status::Failed,
            "forbidden" => Status::Forbidden,
            "error" => Status::Error,
            "displayed" => Status::Displayed,
            "processed" => Status::Processed,
            "stored" => Status::Stored,
            other => Status::Other(other.to_owned()),
        }
    }
}

/// An IMDN body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Imdn {
    /// `<message-id>`: the imdn.Message-ID of the message this notification is about.
    pub message_id: String,
    /// `<datetime>`: the DateTime of that message.
    pub datetime: String,
    /// `<recipient-uri>`.
    pub recipient_uri: Option<String>,
    /// `<original-recipient-uri>`.
    pub original_recipient_uri: Option<String>,
    /// `<subject>`.
    pub subject: Option<String>,
    /// Which notification.
    pub kind: NotificationKind,
    /// Its status.
    pub status: Status,
}

impl Imdn {
    /// A notification with only the mandatory elements.
    pub fn new(
        message_id: impl Into<String>,
        datetime: impl Into<String>,
        kind: NotificationKind,
        status: Status,
    ) -> Imdn {
        Imdn {
            message_id: message_id.into(),
            datetime: datetime.into(),
            recipient_uri: None,
            original_recipient_uri: None,
            subject: None,
            kind,
            status,
        }
    }

    /// Decodes an IMDN body; see [`parse`].
    pub fn parse(bytes: &[u8]) -> Result<Imdn, DecodeError> {
        parse(bytes)
    }

    /// Encodes the body with the IMDN namespace as default namespace.
    pub fn to_xml(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n");
        out.push_str(&format!("<imdn xmlns=\"{NS}\">"));
        out.push_str(&format!(
            "<message-id>{}</message-id>",
            esc(&self.message_id)
        ));
        out.push_str(&format!("<datetime>{}</datetime>", esc(&self.datetime)));
        push_opt(&mut out, "recipient-uri", &self.recipient_uri);
        push_opt(
            &mut out,
            "original-recipient-uri",
            &self.original_recipient_uri,
        );
        push_opt(&mut out, "subject", &self.subject);
        let el = self.kind.element();
        out.push_str(&format!(
            "<{el}><status><{}/></status></{el}>",
            esc(self.status.as_str())
        ));
        out.push_str("</imdn>\r\n");
        out
    }
}

fn required(root: &Element, name: &str) -> Result<String, DecodeError> {
    root.child_text(NS, name)
        .ok_or_else(|| DecodeError::new(root.offset, RULE, format!("a <{name}> element in <imdn>")))
}

/// Decodes an IMDN body (RFC 5438 section 7): root `<imdn>` in the IMDN namespace with
/// `<message-id>`, `<datetime>` and exactly one notification element holding one status.
pub fn parse(bytes: &[u8]) -> Result<Imdn, DecodeError> {
    let root = tree::parse(bytes, RULE)?;
    tree::expect_root(&root, NS, "imdn", RULE)?;
    // RFC 5438 7.2.1: message-id and datetime are mandatory.
    let message_id = required(&root, "message-id")?;
    let datetime = required(&root, "datetime")?;
    let mut notes = root.children.iter().filter(|c| {
        c.ns.as_deref() == Some(NS) && NotificationKind::from_element(&c.name).is_some()
    });
    let Some(note) = notes.next() else {
        return Err(DecodeError::new(
            root.offset,
            RULE,
            "a delivery-, display- or processing-notification element",
        ));
    };
    if let Some(extra) = notes.next() {
        return Err(DecodeError::new(
            extra.offset,
            RULE,
            "only one notification element",
        ));
    }
    let kind = NotificationKind::from_element(&note.name).unwrap_or(NotificationKind::Delivery);
    let status_el = note
        .child(NS, "status")
        .ok_or_else(|| DecodeError::new(note.offset, RULE, "a <status> element"))?;
    let value = status_el
        .children
        .iter()
        .find(|c| c.ns.as_deref() == Some(NS))
        .ok_or_else(|| {
            DecodeError::new(status_el.offset, RULE, "a status value element in <status>")
        })?;
    let status = Status::from_name(&value.name);
    if !kind.allows(&status) {
        return Err(DecodeError::new(
            value.offset,
            RULE,
            format!("a status allowed in <{}>", kind.element()),
        ));
    }
    Ok(Imdn {
        message_id,
        datetime,
        recipient_uri: root.child_text(NS, "recipient-uri"),
        original_recipient_uri: root.child_text(NS, "original-recipient-uri"),
        subject: root.child_text(NS, "subject"),
        kind,
        status,
    })
}
