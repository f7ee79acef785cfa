//! The Via header field (RFC 3261 20.42, 18.2.1; rport from RFC 3581).

use std::fmt;

use super::message::Message;
use super::params::{skip_lws, Params};
use crate::DecodeError;

const RULE: &str = "rfc3261/20.42 via";

/// One Via element: `SIP/2.0/<transport> <host>[:port];params`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Via {
    /// The transport as written (`UDP`, `TCP`, `TLS`, ...).
    pub transport: String,
    /// The sent-by host (an IPv6 reference keeps its brackets).
    pub host: String,
    /// The sent-by port, when written.
    pub port: Option<u16>,
    /// The via-params (`branch`, `received`, `rport`, ...).
    pub params: Params,
}

/// The branch prefix of RFC 3261 compliant transactions (RFC 3261 8.1.1.7).
pub const MAGIC_COOKIE: &str = "z9hG4bK";

impl Via {
    /// A Via with a branch parameter.
    pub fn new(transport: &str, host: &str, port: Option<u16>, branch: &str) -> Via {
        let mut params = Params::new();
        params.set("branch", Some(branch));
        Via {
            transport: transport.to_owned(),
            host: host.to_owned(),
            port,
            params,
        }
    }

    /// Parses one Via element (LWS allowed around `/`, as RFC 4475 3.1.1.1 exercises). Offsets
    /// are relative to `s`.
    pub fn parse(s: &str) -> Result<Via, DecodeError> {
        let b = s.as_bytes();
        let mut i = skip_lws(b, 0);
        // sent-protocol = protocol-name SLASH protocol-version SLASH transport
        let mut parts = Vec::new();
        for k in 0..3 {
            let t0 = i;
            while i < b.len() && super::params::is_token_char(b[i]) {
                i += 1;
            }
            if i == t0 {
                return Err(DecodeError::new(
                    t0,
                    RULE,
                    "a sent-protocol token (SIP/2.0/transport)",
                ));
            }
            parts.push((t0, &s[t0..i]));
            i = skip_lws(b, i);
            if k < 2 {
                if b.get(i) != Some(&b'/') {
                    return Err(DecodeError::new(i, RULE, "'/' inside the sent-protocol"));
                }
                i = skip_lws(b, i + 1);
            }
        }
        if !parts[0].1.eq_ignore_ascii_case("SIP") {
            return Err(DecodeError::new(parts[0].0, RULE, "protocol name SIP"));
        }
        let h0 = i;
        if b.get(i) == Some(&b'[') {
            let close = s[i..]
                .find(']')
                .ok_or_else(|| DecodeError::new(i, RULE, "']' closing the IPv6 reference"))?;
            i += close + 1;
        } else {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b"-._".contains(&b[i])) {
                i += 1;
            }
        }
        if i == h0 {
            return Err(DecodeError::new(h0, RULE, "a sent-by host"));
        }
        let host = s[h0..i].to_owned();
        let mut port = None;
        let c = skip_lws(b, i);
        if b.get(c) == Some(&b':') {
            let p0 = skip_lws(b, c + 1);
            let mut p1 = p0;
            while p1 < b.len() && b[p1].is_ascii_digit() {
                p1 += 1;
            }
            port = Some(
                s[p0..p1]
                    .parse::<u16>()
                    .map_err(|_| DecodeError::new(p0, RULE, "a sent-by port from 0 to 65535"))?,
            );
            i = p1;
        }
        let params = Params::parse(&s[i..]).map_err(|e| e.shifted(i))?;
        Ok(Via {
            transport: parts[2].1.to_owned(),
            host,
            port,
            params,
        })
    }

    /// The branch parameter.
    pub fn branch(&self) -> Option<&str> {
        self.params.get("branch")
    }

    /// The received parameter (RFC 3261 18.2.1).
    pub fn received(&self) -> Option<&str> {
        self.params.get("received")
    }

    /// The rport parameter (RFC 3581): `None` when absent, `Some(None)` for the bare flag,
    /// `Some(Some(port))` when a port was filled in.
    pub fn rport(&self) -> Option<Option<u16>> {
        let p = self.params.param("rport")?;
        Some(p.value.as_deref().and_then(|v| v.parse().ok()))
    }

    /// Sets `received` (and fills `rport` with `port` when the flag is present), as a server
    /// transport does on receipt (RFC 3261 18.2.1, RFC 3581 4).
    pub fn stamp_received(&mut self, ip: &str, port: u16) {
        self.params.set("received", Some(ip));
        if self.params.has("rport") {
            self.params.set("rport", Some(&port.to_string()));
        }
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)
    }
}

impl std::str::FromStr for Via {
    type Err = DecodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Via::parse(s)
    }
}

impl Message {
    /// Every Via element, top first, with offsets into the message.
    pub fn vias(&self) -> Result<Vec<Via>, DecodeError> {
        self.headers.parse_elements("Via", Via::parse)
    }

    /// The topmost Via element as written (unparsed), e.g. to copy it into an ACK.
    pub fn top_via_value(&self) -> Option<&str> {
        self.headers.elements("Via").first().map(|(_, v)| *v)
    }

    /// The branch of the topmost Via (RFC 3261 8.1.1.7); `None` when the top Via is absent,
    /// malformed or has no (or an empty) branch.
    pub fn top_branch(&self) -> Option<String> {
        self.top_via()
            .ok()?
            .branch()
            .filter(|b| !b.is_empty())
            .map(str::to_owned)
    }

    /// The topmost Via.
    pub fn top_via(&self) -> Result<Via, DecodeError> {
        let missing =
            || DecodeError::new(0, "rfc3261/8.1.1 mandatory-header", "a Via header field");
        let h = self.headers.get("Via").ok_or_else(missing)?;
        let texts = h.parse_elements(|v| Ok(v.to_owned()))?;
        let top = texts.first().ok_or_else(missing)?;
        match Via::parse(top) {
            Ok(v) => Ok(v),
            // The top element is malformed: parse through the header so the error offset points
            // into the message (folds accounted for); the first error is the top element's.
            Err(_) => h
                .parse_elements(Via::parse)?
                .into_iter()
                .next()
                .ok_or_else(missing),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tortuous_via() {
        let v = Via::parse("SIP  /   2.0 /UDP 192.0.2.2;rport;branch=390skdjuw").unwrap();
        assert_eq!(v.transport, "UDP");
        assert_eq!(v.host, "192.0.2.2");
        assert_eq!(v.rport(), Some(None));
        assert_eq!(v.branch(), Some("390skdjuw"));
    }

    #[test]
    fn stamp_and_display() {
        let mut v = Via::parse("SIP/2.0/TCP [::1]:5070;branch=z9hG4bK1;rport").unwrap();
        v.stamp_received("::1", 40000);
        assert_eq!(v.rport(), Some(Some(40000)));
        assert_eq!(
            v.to_string(),
            "SIP/2.0/TCP [::1]:5070;branch=z9hG4bK1;rport=40000;received=::1"
        );
        assert_eq!(Via::parse("SIP/2.0/UDP h:70000").unwrap_err().offset, 14);
    }

    #[test]
    fn top_branch_and_value() {
        let mut m = Message::request(crate::sip::Method::Options, "sip:a@b");
        assert_eq!(m.top_branch(), None);
        m.headers.push(
            "Via",
            "SIP/2.0/UDP h:1;BRANCH=z9hG4bKa, SIP/2.0/UDP g;branch=z9hG4bKb",
        );
        assert_eq!(m.top_branch().as_deref(), Some("z9hG4bKa"));
        assert_eq!(m.top_via_value(), Some("SIP/2.0/UDP h:1;BRANCH=z9hG4bKa"));
        let mut e = Message::request(crate::sip::Method::Options, "sip:a@b");
        e.headers.push("Via", "SIP/2.0/UDP h;branch=");
        assert_eq!(e.top_branch(), None);
    }
}
