//! The CPM identifiers of OMA CPM Appendix C: Conversation-ID, Contribution-ID and
//! InReplyTo-Contribution-ID, treated as opaque tokens (their ABNF is unconfirmed, wire-facts 2).

use super::message::Message;
use crate::{DecodeError, Finding, Severity};

/// Conversation-ID header name.
pub const CONVERSATION_ID: &str = "Conversation-ID";
/// Contribution-ID header name.
pub const CONTRIBUTION_ID: &str = "Contribution-ID";
/// InReplyTo-Contribution-ID header name.
pub const IN_REPLY_TO_CONTRIBUTION_ID: &str = "InReplyTo-Contribution-ID";

fn is_id_char(b: u8) -> bool {
    b.is_ascii_graphic() && !b"\"<>,;".contains(&b)
}

impl Message {
    /// Conversation-ID, trimmed.
    pub fn conversation_id(&self) -> Option<&str> {
        self.header(CONVERSATION_ID).map(str::trim)
    }

    /// Contribution-ID, trimmed.
    pub fn contribution_id(&self) -> Option<&str> {
        self.header(CONTRIBUTION_ID).map(str::trim)
    }

    /// InReplyTo-Contribution-ID, trimmed.
    pub fn in_reply_to_contribution_id(&self) -> Option<&str> {
        self.header(IN_REPLY_TO_CONTRIBUTION_ID).map(str::trim)
    }

    /// Checks the CPM identifier headers: each present one must be a single non-empty token
    /// (error), and appear once (finding). Returns the findings; a malformed value is an error.
    pub fn check_cpm_ids(&self) -> Result<Vec<Finding>, DecodeError> {
        let mut findings = Vec::new();
        for name in [
            CONVERSATION_ID,
            CONTRIBUTION_ID,
            IN_REPLY_TO_CONTRIBUTION_ID,
        ] {
            let mut n = 0;
            for h in self.headers.get_all(name) {
                n += 1;
                let v = h.value.trim();
                if v.is_empty() || !v.bytes().all(is_id_char) {
                    return Err(DecodeError::new(
                        h.value_offset,
                        "cpm/appendix-c id-token",
                        format!("one opaque token in {name}, not {v:?}"),
                    ));
                }
                if n > 1 {
                    findings.push(Finding::new(
                        "cpm/appendix-c id-once",
                        Severity::Error,
                        h.offset,
                        format!("{name} appears more than once"),
                    ));
                }
            }
        }
        Ok(findings)
    }
}

#[cfg(test)]
mod tests {
    use crate::sip::{Message, Method};

    #[test]
    fn ids() {
        let m = Message::request(Method::Invite, "sip:a@b")
            .with_header("Conversation-ID", " f81d4fae-7dec ")
            .with_header("contribution-id", "abc")
            .with_header("Contribution-ID", "def");
        assert_eq!(m.conversation_id(), Some("f81d4fae-7dec"));
        assert_eq!(m.contribution_id(), Some("abc"));
        assert_eq!(m.in_reply_to_contribution_id(), None);
        assert_eq!(m.check_cpm_ids().unwrap().len(), 1);
        let bad = Message::request(Method::Invite, "sip:a@b").with_header("Conversation-ID", "a b");
        assert!(bad.check_cpm_ids().is_err());
    }
}
