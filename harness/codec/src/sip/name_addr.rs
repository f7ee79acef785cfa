//! name-addr / addr-spec values with header parameters (RFC 3261 20.10, 20.20, 20.39, 25.1):
//! From, To, Contact, Route, Record-Route, Referred-By, Refer-To, P-Asserted-Identity and
//! P-Preferred-Identity.

use std::fmt;

use super::message::Message;
use super::params::{read_quoted, skip_lws, write_quoted, Params};
use super::uri::Uri;
use crate::DecodeError;

const RULE: &str = "rfc3261/25.1 name-addr";

/// An address with optional display name and header parameters (`tag`, `expires`, feature tags).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NameAddr {
    /// The display name, quotes and escapes removed (`None` when absent).
    pub display: Option<String>,
    /// The URI.
    pub uri: Uri,
    /// Header parameters after the address.
    pub params: Params,
}

impl NameAddr {
    /// An address with no display name and no parameters.
    pub fn new(uri: Uri) -> Self {
        NameAddr {
            display: None,
            uri,
            params: Params::new(),
        }
    }

    /// Parses `[display-name] <uri> *(;param)` or `addr-spec *(;param)`. In the addr-spec form
    /// the URI ends at the first `;`, so any parameters there are header parameters (RFC 3261
    /// 20). Offsets are relative to `s`.
    pub fn parse(s: &str) -> Result<NameAddr, DecodeError> {
        let b = s.as_bytes();
        let i = skip_lws(b, 0);
        if i == b.len() {
            return Err(DecodeError::new(i, RULE, "an address"));
        }
        let mut display = None;
        let mut j = i;
        if b[i] == b'"' {
            let (d, end) = read_quoted(s, i)?;
            display = Some(d);
            j = skip_lws(b, end);
            if b.get(j) != Some(&b'<') {
                return Err(DecodeError::new(
                    j,
                    RULE,
                    "'<' after the quoted display name",
                ));
            }
        } else if let Some(lt) = s.find('<') {
            // display-name as tokens: only when '<' comes before any ';' (else it is addr-spec).
            let semi = s.find(';').unwrap_or(usize::MAX);
            if lt < semi {
                let name = s[i..lt].trim();
                // RFC 3261 25.1: display-name = *(token LWS) / quoted-string.
                if let Some(bad) = s[i..lt].bytes().position(|c| {
                    !(super::params::is_token_char(c) || c == b' ' || c == b'\t' || c >= 0x80)
                }) {
                    return Err(DecodeError::new(
                        i + bad,
                        "rfc3261/25.1 display-name",
                        "a display name of tokens, or a quoted string",
                    ));
                }
                if !name.is_empty() {
                    display = Some(name.to_owned());
                }
                j = lt;
            }
        }
        if b.get(j) == Some(&b'<') {
            let close = s[j..]
                .find('>')
                .map(|c| j + c)
                .ok_or_else(|| DecodeError::new(j, RULE, "'>' closing the address"))?;
            let uri = Uri::parse(&s[j + 1..close]).map_err(|e| e.shifted(j + 1))?;
            let params = Params::parse(&s[close + 1..]).map_err(|e| e.shifted(close + 1))?;
            return Ok(NameAddr {
                display,
                uri,
                params,
            });
        }
        // addr-spec: the URI ends at ';' or whitespace.
        let end = s[i..]
            .find(|c: char| c == ';' || c.is_ascii_whitespace() || c == ',')
            .map_or(s.len(), |e| i + e);
        let uri_txt = &s[i..end];
        if uri_txt.contains('?') {
            // RFC 3261 20: a URI with headers must be enclosed in '<' and '>'.
            return Err(DecodeError::new(
                i + uri_txt.find('?').unwrap_or(0),
                "rfc3261/20 addr-spec-brackets",
                "'<' '>' around a URI that has headers",
            ));
        }
        let uri = Uri::parse(uri_txt).map_err(|e| e.shifted(i))?;
        let params = Params::parse(&s[end..]).map_err(|e| e.shifted(end))?;
        Ok(NameAddr {
            display,
            uri,
            params,
        })
    }

    /// The `tag` parameter (From, To).
    pub fn tag(&self) -> Option<&str> {
        self.params.get("tag")
    }

    /// Sets the `tag` parameter.
    pub fn set_tag(&mut self, tag: &str) {
        self.params.set("tag", Some(tag));
    }

    /// The `expires` parameter of a Contact, when it is a number.
    pub fn expires(&self) -> Option<u32> {
        self.params.get("expires")?.trim().parse().ok()
    }
}

/// Writes `"Display" <uri>;params` (angle brackets always).
impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            write_quoted(f, d)?;
            f.write_str(" ")?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

impl std::str::FromStr for NameAddr {
    type Err = DecodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NameAddr::parse(s)
    }
}

fn missing(name: &str) -> DecodeError {
    DecodeError::new(
        0,
        "rfc3261/8.1.1 mandatory-header",
        format!("a {name} header field"),
    )
}

impl Message {
    /// The single address of a header such as From or To, with offsets into the message.
    pub fn name_addr(&self, name: &str) -> Result<NameAddr, DecodeError> {
        let h = self.headers.get(name).ok_or_else(|| missing(name))?;
        h.parse_value(NameAddr::parse)
    }

    /// Every address of every field with this name (list headers split at top-level commas).
    pub fn name_addrs(&self, name: &str) -> Result<Vec<NameAddr>, DecodeError> {
        self.headers.parse_elements(name, NameAddr::parse)
    }

    /// The From header.
    pub fn from(&self) -> Result<NameAddr, DecodeError> {
        self.name_addr("From")
    }

    /// The To header.
    pub fn to(&self) -> Result<NameAddr, DecodeError> {
        self.name_addr("To")
    }

    /// The Contact addresses (empty when there is none). A `Contact: *` (RFC 3261 10.2.2) is an
    /// error here: check [`Message::contact_is_star`] first where it is legal (REGISTER).
    pub fn contacts(&self) -> Result<Vec<NameAddr>, DecodeError> {
        for (off, v) in self.headers.elements("Contact") {
            if v == "*" {
                return Err(DecodeError::new(
                    off,
                    "rfc3261/10.2.2 contact-star",
                    "a Contact address ('*' is only for removing all bindings)",
                ));
            }
        }
        self.name_addrs("Contact")
    }

    /// `true` when the message has `Contact: *` (RFC 3261 10.2.2).
    pub fn contact_is_star(&self) -> bool {
        self.headers
            .elements("Contact")
            .iter()
            .any(|(_, v)| *v == "*")
    }

    /// The Route addresses, in order.
    pub fn routes(&self) -> Result<Vec<NameAddr>, DecodeError> {
        self.name_addrs("Route")
    }

    /// The Record-Route addresses, in order.
    pub fn record_routes(&self) -> Result<Vec<NameAddr>, DecodeError> {
        self.name_addrs("Record-Route")
    }

    /// The Referred-By address (RFC 3892), if present.
    pub fn referred_by(&self) -> Result<Option<NameAddr>, DecodeError> {
        self.optional_name_addr("Referred-By")
    }

    /// The Refer-To address (RFC 3515), if present.
    pub fn refer_to(&self) -> Result<Option<NameAddr>, DecodeError> {
        self.optional_name_addr("Refer-To")
    }

    /// The P-Asserted-Identity addresses (RFC 3325).
    pub fn p_asserted_identities(&self) -> Result<Vec<NameAddr>, DecodeError> {
        self.name_addrs("P-Asserted-Identity")
    }

    /// The P-Preferred-Identity addresses (RFC 3325).
    pub fn p_preferred_identities(&self) -> Result<Vec<NameAddr>, DecodeError> {
        self.name_addrs("P-Preferred-Identity")
    }

    fn optional_name_addr(&self, name: &str) -> Result<Option<NameAddr>, DecodeError> {
        match self.headers.get(name) {
            None => Ok(None),
            Some(h) => h.parse_value(NameAddr::parse).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let a = NameAddr::parse(r#""J Rosenberg \\\"" <sip:jdrosen@example.com> ; tag = 98asjd8"#)
            .unwrap();
        assert_eq!(a.display.as_deref(), Some("J Rosenberg \\\""));
        assert_eq!(a.tag(), Some("98asjd8"));
        let b =
            NameAddr::parse("sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n").unwrap();
        assert_eq!(b.uri.host, "chair-dnrc.example.com");
        assert_eq!(b.tag(), Some("1918181833n"));
        let c = NameAddr::parse("Bob Smith <sip:bob@b.test;lr>;expires=60").unwrap();
        assert_eq!(c.display.as_deref(), Some("Bob Smith"));
        assert!(c.uri.has_param("lr"));
        assert_eq!(c.expires(), Some(60));
        assert_eq!(
            c.to_string(),
            "\"Bob Smith\" <sip:bob@b.test;lr>;expires=60"
        );
        let d = NameAddr::parse("sip:a@b;tag=1").unwrap();
        assert!(d.uri.params.is_empty());
        assert_eq!(d.tag(), Some("1"));
    }

    #[test]
    fn errors_have_offsets() {
        assert_eq!(NameAddr::parse("<sip:a@b").unwrap_err().offset, 0);
        assert_eq!(NameAddr::parse("\"x\" <sip:a@b:x>").unwrap_err().offset, 13);
        assert_eq!(
            NameAddr::parse("sip:a@b?x=1").unwrap_err().rule,
            "rfc3261/20 addr-spec-brackets"
        );
    }
}
