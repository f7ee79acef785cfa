//! The Event header field (RFC 6665 8.2.1): event package, template, `id` parameter.

use std::fmt;

use super::message::Message;
use super::params::{is_token_char, Params};
use crate::DecodeError;

/// `Event: package[.template];id=...`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Event {
    /// The event type (package with any templates), e.g. `conference` or `reg`.
    pub package: String,
    /// The parameters.
    pub params: Params,
}

impl Event {
    /// Parses an Event value. Offsets are relative to `s`.
    pub fn parse(s: &str) -> Result<Event, DecodeError> {
        let b = s.as_bytes();
        let i0 = super::params::skip_lws(b, 0);
        let mut i = i0;
        while i < b.len() && is_token_char(b[i]) {
            i += 1;
        }
        if i == i0 {
            return Err(DecodeError::new(
                i0,
                "rfc6665/8.2.1 event",
                "an event package token",
            ));
        }
        let params = Params::parse(&s[i..]).map_err(|e| e.shifted(i))?;
        Ok(Event {
            package: s[i0..i].to_owned(),
            params,
        })
    }

    /// Reads an Event value leniently: the package is the text before the first `;` outside
    /// quotes (trimmed), the parameters are [`Params::parse_lenient`]'s. Never fails.
    pub fn parse_lenient(s: &str) -> Event {
        let main = super::params::split_unquoted(s, b';')
            .first()
            .copied()
            .unwrap_or("");
        Event {
            package: main.trim().to_owned(),
            params: Params::parse_lenient(&s[main.len()..]),
        }
    }

    /// The `id` parameter.
    pub fn id(&self) -> Option<&str> {
        self.params.get("id")
    }

    /// `true` for this package (case-insensitive, RFC 6665 8.2.1).
    pub fn is(&self, package: &str) -> bool {
        self.package.eq_ignore_ascii_case(package)
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.package, self.params)
    }
}

impl Message {
    /// The Event header (compact form `o`), if present.
    pub fn event(&self) -> Result<Option<Event>, DecodeError> {
        match self.headers.get("Event") {
            None => Ok(None),
            Some(h) => h.parse_value(Event::parse).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_with_id() {
        let e = Event::parse("conference;id=7").unwrap();
        assert!(e.is("Conference"));
        assert_eq!(e.id(), Some("7"));
        assert_eq!(e.to_string(), "conference;id=7");
        assert_eq!(Event::parse(" ;id=1").unwrap_err().offset, 1);
    }

    #[test]
    fn lenient_event() {
        let e = Event::parse_lenient(r#" Reg ; id="a;b" ;x=y z"#);
        assert!(e.is("reg"));
        assert_eq!(e.id(), Some("a;b"));
        assert_eq!(e.params.get("x"), Some("y z"));
        assert_eq!(Event::parse_lenient("").package, "");
    }
}
