//! MSRP URIs (RFC 4975 section 9): `msrp[s]://[userinfo@]host[:port]/session-id;transport[;params]`,
//! and session matching (RFC 4975 section 6.1).

use crate::DecodeError;
use std::fmt;

/// An MSRP or MSRPS URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct MsrpUri {
    /// `true` for `msrps`.
    pub secure: bool,
    /// The userinfo before `@`, if any.
    pub userinfo: Option<String>,
    /// The host as written (an IPv6 reference keeps its brackets: `[::1]`).
    pub host: String,
    /// The port, if written.
    pub port: Option<u16>,
    /// The session-id (the path after `/`), empty when absent.
    pub session_id: String,
    /// The transport, e.g. `tcp`.
    pub transport: String,
    /// Further `;name[=value]` parameters in order.
    pub params: Vec<(String, Option<String>)>,
}

const RULE: &str = "rfc4975/9 msrp-uri";

/// The port used when an MSRP URI has none (RFC 4975 section 6.1).
pub const DEFAULT_PORT: u16 = 2855;

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~".contains(&b)
}

impl MsrpUri {
    /// `msrp://host:port/session_id;tcp`.
    pub fn tcp(host: impl Into<String>, port: u16, session_id: impl Into<String>) -> MsrpUri {
        MsrpUri {
            secure: false,
            userinfo: None,
            host: host.into(),
            port: Some(port),
            session_id: session_id.into(),
            transport: "tcp".into(),
            params: Vec::new(),
        }
    }

    /// Parses one URI; error offsets are relative to `s`.
    pub fn parse(s: &str) -> Result<MsrpUri, DecodeError> {
        let (secure, rest_off) = if s
            .as_bytes()
            .get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"msrps://"))
        {
            (true, 8)
        } else if s
            .as_bytes()
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"msrp://"))
        {
            (false, 7)
        } else {
            return Err(DecodeError::new(0, RULE, "'msrp://' or 'msrps://'"));
        };
        let rest = &s[rest_off..];
        // The authority runs to the first '/' or ';'.
        let auth_end = rest.find(['/', ';']).unwrap_or(rest.len());
        let authority = &rest[..auth_end];
        let (userinfo, hostport, hp_off) = match authority.rfind('@') {
            Some(at) => (
                Some(authority[..at].to_owned()),
                &authority[at + 1..],
                rest_off + at + 1,
            ),
            None => (None, authority, rest_off),
        };
        let (host, port_text) = if hostport.starts_with('[') {
            match hostport.find(']') {
                Some(close) => {
                    let after = &hostport[close + 1..];
                    let port = match after.strip_prefix(':') {
                        Some(p) => Some(p),
                        None if after.is_empty() => None,
                        None => {
                            return Err(DecodeError::new(
                                hp_off + close + 1,
                                RULE,
                                "':' and a port after the IPv6 reference",
                            ))
                        }
                    };
                    (&hostport[..close + 1], port)
                }
                None => {
                    return Err(DecodeError::new(
                        hp_off,
                        RULE,
                        "']' closing the IPv6 reference",
                    ))
                }
            }
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        if host.is_empty()
            || !host
                .bytes()
                .all(|b| is_unreserved(b) || b"[]:%!$&'()*+,=".contains(&b))
        {
            return Err(DecodeError::new(hp_off, RULE, "a host name or IP address"));
        }
        let port = match port_text {
            None => None,
            Some(p) => {
                let off = hp_off + host.len() + 1;
                if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(DecodeError::new(off, RULE, "a decimal port"));
                }
                Some(
                    p.parse::<u16>()
                        .map_err(|_| DecodeError::new(off, RULE, "a port of at most 65535"))?,
                )
            }
        };
        let mut pos = rest_off + auth_end;
        let mut session_id = String::new();
        if s[pos..].starts_with('/') {
            let sid_start = pos + 1;
            let sid_end = s[sid_start..]
                .find(';')
                .map(|i| sid_start + i)
                .unwrap_or(s.len());
            session_id = s[sid_start..sid_end].to_owned();
            // RFC 4975 9: session-id = 1*( unreserved / "+" / "=" / "/" )
            if let Some(bad) = session_id
                .bytes()
                .position(|b| !(is_unreserved(b) || b"+=/%".contains(&b)))
            {
                return Err(DecodeError::new(
                    sid_start + bad,
                    RULE,
                    "a session-id of unreserved characters, '+', '=' or '/'",
                ));
            }
            pos = sid_end;
        }
        // RFC 4975 9: ";" transport is mandatory.
        if !s[pos..].starts_with(';') {
            return Err(DecodeError::new(
                pos,
                RULE,
                "';' and the transport (e.g. ;tcp)",
            ));
        }
        let mut parts = s[pos + 1..].split(';');
        let transport = parts.next().unwrap_or("").to_owned();
        if transport.is_empty() || !transport.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(DecodeError::new(
                pos + 1,
                RULE,
                "a transport token such as tcp",
            ));
        }
        let mut params = Vec::new();
        let mut off = pos + 1 + transport.len();
        for p in parts {
            if p.is_empty() {
                return Err(DecodeError::new(off + 1, RULE, "a URI parameter after ';'"));
            }
            match p.split_once('=') {
                Some((n, v)) => params.push((n.to_owned(), Some(v.to_owned()))),
                None => params.push((p.to_owned(), None)),
            }
            off += 1 + p.len();
        }
        Ok(MsrpUri {
            secure,
            userinfo,
            host: host.to_owned(),
            port,
            session_id,
            transport,
            params,
        })
    }

    /// Parses a whitespace-separated list of URIs (a To-Path or From-Path value, or an SDP
    /// `a=path`); error offsets are relative to `s`.
    pub fn parse_list(s: &str) -> Result<Vec<MsrpUri>, DecodeError> {
        let mut out = Vec::new();
        let mut i = 0;
        let b = s.as_bytes();
        while i < b.len() {
            if b[i] == b' ' || b[i] == b'\t' {
                i += 1;
                continue;
            }
            let start = i;
            while i < b.len() && b[i] != b' ' && b[i] != b'\t' {
                i += 1;
            }
            out.push(MsrpUri::parse(&s[start..i]).map_err(|e| e.shifted(start))?);
        }
        if out.is_empty() {
            return Err(DecodeError::new(0, RULE, "at least one MSRP URI"));
        }
        Ok(out)
    }

    /// The port, or 2855 when none is written.
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or(DEFAULT_PORT)
    }

    /// `true` when both URIs name the same session (RFC 4975 section 6.1): same scheme,
    /// host compared case-insensitively, port (2855 when absent), session-id compared exactly,
    /// transport compared case-insensitively; userinfo and parameters are ignored.
    pub fn same_session(&self, other: &MsrpUri) -> bool {
        self.secure == other.secure
            && self.host.eq_ignore_ascii_case(&other.host)
            && self.effective_port() == other.effective_port()
            && self.session_id == other.session_id
            && self.transport.eq_ignore_ascii_case(&other.transport)
    }
}

impl fmt::Display for MsrpUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.secure { "msrps://" } else { "msrp://" })?;
        if let Some(u) = &self.userinfo {
            write!(f, "{u}@")?;
        }
        f.write_str(&self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        if !self.session_id.is_empty() {
            write!(f, "/{}", self.session_id)?;
        }
        write!(f, ";{}", self.transport)?;
        for (n, v) in &self.params {
            match v {
                Some(v) => write!(f, ";{n}={v}")?,
                None => write!(f, ";{n}")?,
            }
        }
        Ok(())
    }
}

impl std::str::FromStr for MsrpUri {
    type Err = DecodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MsrpUri::parse(s)
    }
}

/// Writes a path (URIs separated by one space).
pub fn path_to_string(path: &[MsrpUri]) -> String {
    let mut out = String::new();
    for (i, u) in path.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&u.to_string());
    }
    out
}
