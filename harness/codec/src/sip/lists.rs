//! Token and URN list headers: Require, Supported, Allow, Allow-Events, Proxy-Require,
//! Unsupported (RFC 3261 20), Privacy (RFC 3323 4.2), P-Preferred-Service and P-Asserted-Service
//! (RFC 6050).

use super::message::Message;
use super::params::is_token_char;
use crate::DecodeError;

/// The comma-separated tokens of every field with this name (case kept). Empty elements are
/// skipped; an element that is not one token is an error at its offset.
pub fn token_list(msg: &Message, name: &str) -> Result<Vec<String>, DecodeError> {
    let mut out = Vec::new();
    for (off, v) in msg.headers.elements(name) {
        if !v.bytes().all(is_token_char) {
            return Err(DecodeError::new(
                off,
                "rfc3261/25.1 token",
                format!("a token in {name}, not {v:?}"),
            ));
        }
        out.push(v.to_owned());
    }
    Ok(out)
}

impl Message {
    /// Require option tags.
    pub fn require(&self) -> Result<Vec<String>, DecodeError> {
        token_list(self, "Require")
    }

    /// Supported option tags.
    pub fn supported(&self) -> Result<Vec<String>, DecodeError> {
        token_list(self, "Supported")
    }

    /// Allow methods.
    pub fn allow(&self) -> Result<Vec<String>, DecodeError> {
        token_list(self, "Allow")
    }

    /// Allow-Events packages (RFC 6665 8.2.2; tokens with dots allowed).
    pub fn allow_events(&self) -> Result<Vec<String>, DecodeError> {
        token_list(self, "Allow-Events")
    }

    /// `true` when `tag` appears in Require or Proxy-Require (case-insensitive).
    pub fn requires(&self, tag: &str) -> bool {
        ["Require", "Proxy-Require"].iter().any(|n| {
            self.headers
                .elements(n)
                .iter()
                .any(|(_, v)| v.eq_ignore_ascii_case(tag))
        })
    }

    /// `true` when `tag` appears in Supported (case-insensitive).
    pub fn supports(&self, tag: &str) -> bool {
        self.headers
            .elements("Supported")
            .iter()
            .any(|(_, v)| v.eq_ignore_ascii_case(tag))
    }

    /// Privacy values (RFC 3323 4.2: `priv-value *(";" priv-value)`; commas tolerated).
    pub fn privacy(&self) -> Result<Vec<String>, DecodeError> {
        let mut out = Vec::new();
        for (off, v) in self.headers.elements("Privacy") {
            let mut o = off;
            for p in v.split(';') {
                let t = p.trim();
                if !t.is_empty() {
                    if !t.bytes().all(is_token_char) {
                        return Err(DecodeError::new(
                            o,
                            "rfc3323/4.2 privacy",
                            format!("a priv-value token, not {t:?}"),
                        ));
                    }
                    out.push(t.to_owned());
                }
                o += p.len() + 1;
            }
        }
        Ok(out)
    }

    /// P-Preferred-Service URNs (RFC 6050 4.2), plain and unencoded.
    pub fn p_preferred_service(&self) -> Vec<String> {
        urn_list(self, "P-Preferred-Service")
    }

    /// P-Asserted-Service URNs (RFC 6050 4.1).
    pub fn p_asserted_service(&self) -> Vec<String> {
        urn_list(self, "P-Asserted-Service")
    }
}

fn urn_list(msg: &Message, name: &str) -> Vec<String> {
    msg.headers
        .elements(name)
        .into_iter()
        .map(|(_, v)| v.to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::Method;

    #[test]
    fn lists() {
        let m = Message::request(Method::Invite, "sip:a@b")
            .with_header("Require", "100rel, timer")
            .with_header("k", "norefersub")
            .with_header("Privacy", "id;header")
            .with_header(
                "P-Preferred-Service",
                "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.session",
            );
        assert_eq!(m.require().unwrap(), vec!["100rel", "timer"]);
        assert!(m.requires("TIMER"));
        assert!(m.supports("norefersub"));
        assert_eq!(m.privacy().unwrap(), vec!["id", "header"]);
        assert_eq!(m.p_preferred_service().len(), 1);
        let bad = Message::request(Method::Invite, "sip:a@b").with_header("Require", "a b");
        assert!(bad.require().is_err());
    }
}
