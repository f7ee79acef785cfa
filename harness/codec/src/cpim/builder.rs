//! A builder for CPIM messages, writing canonical headers in the usual order.

use super::{Field, Message, NameAddr, IMDN_ALIAS, NS_CPIM, NS_IMDN};

/// Builds a [`Message`] header by header, in call order.
#[derive(Debug, Clone, Default)]
pub struct Builder {
    msg: Message,
}

impl Builder {
    /// An empty builder.
    pub fn new() -> Builder {
        Builder {
            msg: Message::new(),
        }
    }

    /// Appends an unprefixed header.
    pub fn header(mut self, name: &str, value: &str) -> Builder {
        self.msg.headers.push(Field::new(name, value));
        self
    }

    /// Appends `From: <value>`.
    pub fn from(self, who: &NameAddr) -> Builder {
        self.header("From", &who.to_string())
    }

    /// Appends `To: <value>`.
    pub fn to(self, who: &NameAddr) -> Builder {
        self.header("To", &who.to_string())
    }

    /// Appends `cc: <value>`.
    pub fn cc(self, who: &NameAddr) -> Builder {
        self.header("cc", &who.to_string())
    }

    /// Appends `DateTime: <value>`.
    pub fn datetime(self, datetime: &str) -> Builder {
        self.header("DateTime", datetime)
    }

    /// Appends `Subject: <value>`.
    pub fn subject(self, subject: &str) -> Builder {
        self.header("Subject", subject)
    }

    /// Appends `NS: alias <urn>`.
    pub fn ns(self, alias: &str, urn: &str) -> Builder {
        self.header("NS", &format!("{alias} <{urn}>"))
    }

    /// Appends header `name` in namespace `ns`, declaring an alias (`alias_hint`) first when the
    /// namespace has none yet.
    pub fn ns_header(mut self, ns: &str, alias_hint: &str, name: &str, value: &str) -> Builder {
        if ns == NS_CPIM {
            return self.header(name, value);
        }
        self.msg.push_ns(ns, alias_hint, name, value);
        self
    }

    /// Appends the IMDN Message-ID (declaring `NS: imdn <urn:ietf:params:imdn>` if needed).
    pub fn imdn_message_id(self, id: &str) -> Builder {
        self.ns_header(NS_IMDN, IMDN_ALIAS, "Message-ID", id)
    }

    /// Appends the IMDN Disposition-Notification with `dispositions` comma-separated.
    pub fn disposition_notification(self, dispositions: &[&str]) -> Builder {
        self.ns_header(
            NS_IMDN,
            IMDN_ALIAS,
            "Disposition-Notification",
            &dispositions.join(", "),
        )
    }

    /// Appends a content header.
    pub fn content_header(mut self, name: &str, value: &str) -> Builder {
        self.msg.content_headers.push(Field::new(name, value));
        self
    }

    /// Appends `Content-Type: <value>` to the content headers.
    pub fn content_type(self, content_type: &str) -> Builder {
        self.content_header("Content-Type", content_type)
    }

    /// Sets the content.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Builder {
        self.msg.body = body.into();
        self
    }

    /// The message.
    pub fn build(self) -> Message {
        self.msg
    }
}
