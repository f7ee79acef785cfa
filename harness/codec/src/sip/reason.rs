//! The Reason header field (RFC 3326 2): protocol, cause, text; several values per message.

use std::fmt;

use super::message::Message;
use super::params::{is_token_char, Params};
use crate::DecodeError;

const RULE: &str = "rfc3326/2 reason";

/// `Reason: SIP ;cause=200 ;text="Call completed elsewhere"`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reason {
    /// The protocol (`SIP`, `Q.850`, ...).
    pub protocol: String,
    /// The `cause` parameter, when it is a number.
    pub cause: Option<u16>,
    /// The `text` parameter, quotes removed.
    pub text: Option<String>,
    /// All parameters as written (`cause` and `text` included).
    pub params: Params,
}

impl Reason {
    /// A reason with cause and optional text.
    pub fn new(protocol: &str, cause: u16, text: Option<&str>) -> Reason {
        let mut params = Params::new();
        params.set("cause", Some(&cause.to_string()));
        if let Some(t) = text {
            params.set_quoted("text", t);
        }
        Reason {
            protocol: protocol.to_owned(),
            cause: Some(cause),
            text: text.map(str::to_owned),
            params,
        }
    }

    /// Parses one reason-value. Offsets are relative to `s`.
    pub fn parse(s: &str) -> Result<Reason, DecodeError> {
        let b = s.as_bytes();
        let i0 = super::params::skip_lws(b, 0);
        let mut i = i0;
        while i < b.len() && is_token_char(b[i]) {
            i += 1;
        }
        if i == i0 {
            return Err(DecodeError::new(
                i0,
                RULE,
                "a protocol token (SIP, Q.850, ...)",
            ));
        }
        let params = Params::parse(&s[i..]).map_err(|e| e.shifted(i))?;
        let cause = match params.get("cause") {
            None => None,
            Some(c) => Some(c.parse::<u16>().map_err(|_| {
                let off = s.find("cause").unwrap_or(i);
                DecodeError::new(off, RULE, "a numeric cause")
            })?),
        };
        Ok(Reason {
            protocol: s[i0..i].to_owned(),
            cause,
            text: params.get("text").map(str::to_owned),
            params,
        })
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.protocol, self.params)
    }
}

impl Message {
    /// Every Reason value, in order.
    pub fn reasons(&self) -> Result<Vec<Reason>, DecodeError> {
        self.headers.parse_elements("Reason", Reason::parse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::Method;

    #[test]
    fn two_reasons() {
        let m = Message::request(Method::Bye, "sip:a@b").with_header(
            "Reason",
            "SIP ;cause=200 ;text=\"Call completed, elsewhere\", Q.850;cause=16",
        );
        let r = m.reasons().unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].cause, Some(200));
        assert_eq!(r[0].text.as_deref(), Some("Call completed, elsewhere"));
        assert_eq!(r[1].protocol, "Q.850");
        assert_eq!(
            Reason::new("SIP", 480, Some("Away")).to_string(),
            "SIP;cause=480;text=\"Away\""
        );
        assert!(Reason::parse("SIP;cause=x").is_err());
    }
}
