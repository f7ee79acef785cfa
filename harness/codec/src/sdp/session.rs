//! An SDP session description (RFC 4566 section 5): ordered lines kept for byte-exact round trip,
//! session-level typed access, media descriptions.

use super::line::Line;
use super::media::{direction_in, Direction, MediaDescription};
use crate::{DecodeError, Decoded, Finding, Severity};

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Origin {
    /// User name (`-` when none).
    pub username: String,
    /// Session id (digits).
    pub session_id: String,
    /// Session version (digits).
    pub version: String,
    /// `IN`.
    pub nettype: String,
    /// `IP4` or `IP6`.
    pub addrtype: String,
    /// The address.
    pub address: String,
}

impl Origin {
    /// An origin with nettype `IN` and the address type chosen from the address.
    pub fn new(username: &str, session_id: u64, version: u64, address: &str) -> Origin {
        Origin {
            username: username.to_owned(),
            session_id: session_id.to_string(),
            version: version.to_string(),
            nettype: "IN".into(),
            addrtype: addrtype(address).into(),
            address: address.to_owned(),
        }
    }

    /// Parses an `o=` value (`None` when it has not six fields).
    pub fn parse(s: &str) -> Option<Origin> {
        let p: Vec<&str> = s.split(' ').collect();
        if p.len() != 6 || p.iter().any(|x| x.is_empty()) {
            return None;
        }
        Some(Origin {
            username: p[0].into(),
            session_id: p[1].into(),
            version: p[2].into(),
            nettype: p[3].into(),
            addrtype: p[4].into(),
            address: p[5].into(),
        })
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {}",
            self.username, self.session_id, self.version, self.nettype, self.addrtype, self.address
        )
    }
}

/// `IP6` for an address with a colon, else `IP4`.
pub fn addrtype(address: &str) -> &'static str {
    if address.contains(':') {
        "IP6"
    } else {
        "IP4"
    }
}

/// `c=<nettype> <addrtype> <connection-address>`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Connection {
    /// `IN`.
    pub nettype: String,
    /// `IP4` or `IP6`.
    pub addrtype: String,
    /// The address.
    pub address: String,
}

impl Connection {
    /// Parses a `c=` value.
    pub fn parse(s: &str) -> Option<Connection> {
        let p: Vec<&str> = s.split(' ').collect();
        if p.len() != 3 || p.iter().any(|x| x.is_empty()) {
            return None;
        }
        Some(Connection {
            nettype: p[0].into(),
            addrtype: p[1].into(),
            address: p[2].into(),
        })
    }

    /// `IN IP4 <address>` or `IN IP6 <address>`.
    pub fn value_for(address: &str) -> String {
        format!("IN {} {}", addrtype(address), address)
    }
}

/// A session description.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SessionDescription {
    /// Session-level lines in order (`v=` first).
    pub session: Vec<Line>,
    /// Media descriptions in order.
    pub media: Vec<MediaDescription>,
    /// Empty lines after the last line, kept for byte-exact re-encoding.
    #[serde(skip)]
    pub trailer: String,
}

const RULE_LINE: &str = "rfc4566/5 line-syntax";

impl SessionDescription {
    /// `v=0`, `o=`, `s=<name>`, `t=0 0`, and no media.
    pub fn new(origin: &Origin, session_name: &str) -> SessionDescription {
        SessionDescription {
            session: vec![
                Line::new('v', "0"),
                Line::new('o', origin.to_string()),
                Line::new('s', session_name),
                Line::new('t', "0 0"),
            ],
            media: Vec::new(),
            trailer: String::new(),
        }
    }

    /// Inserts a session-level line before `t=` when it is `c=` (RFC 4566 5 order), else appends.
    pub fn with_line(mut self, kind: char, value: impl Into<String>) -> SessionDescription {
        let line = Line::new(kind, value);
        let at = if kind == 'c' {
            self.session
                .iter()
                .position(|l| l.kind == 't')
                .unwrap_or(self.session.len())
        } else {
            self.session.len()
        };
        self.session.insert(at, line);
        self
    }

    /// Appends a media description (builder style).
    pub fn with_media(mut self, m: MediaDescription) -> SessionDescription {
        self.media.push(m);
        self
    }

    /// Decodes a session description (lenient: bare LF and missing lines are findings).
    pub fn parse(buf: &[u8]) -> Result<Decoded<SessionDescription>, DecodeError> {
        let text = match std::str::from_utf8(buf) {
            Ok(t) => t,
            Err(e) => {
                return Err(DecodeError::new(
                    e.valid_up_to(),
                    "utf8",
                    "UTF-8 text in the session description",
                ))
            }
        };
        let mut findings = Vec::new();
        let mut sd = SessionDescription {
            session: Vec::new(),
            media: Vec::new(),
            trailer: String::new(),
        };
        let mut pos = 0;
        let mut lf_reported = false;
        while pos < text.len() {
            let rest = &text[pos..];
            let (content, eol) = match rest.find('\n') {
                Some(i) if i > 0 && rest.as_bytes()[i - 1] == b'\r' => {
                    (&rest[..i - 1], &rest[i - 1..=i])
                }
                Some(i) => (&rest[..i], &rest[i..=i]),
                None => (rest, ""),
            };
            if eol == "\n" && !lf_reported {
                findings.push(Finding::new(
                    "rfc4566/5 crlf",
                    Severity::Warning,
                    pos + content.len(),
                    "line ends with a bare LF instead of CRLF",
                ));
                lf_reported = true;
            }
            if content.is_empty() {
                if rest.bytes().all(|b| b == b'\r' || b == b'\n') {
                    findings.push(Finding::new(
                        RULE_LINE,
                        Severity::Info,
                        pos,
                        "empty lines after the last line",
                    ));
                    sd.trailer = rest.to_owned();
                    break;
                }
                return Err(DecodeError::new(
                    pos,
                    RULE_LINE,
                    "a <type>=<value> line, not an empty line",
                ));
            }
            // RFC 4566 5: <type>=<value>, type is one case-significant character, no spaces.
            let b = content.as_bytes();
            if b.len() < 2 || !b[0].is_ascii_lowercase() || b[1] != b'=' {
                return Err(DecodeError::new(pos, RULE_LINE, "a <type>=<value> line"));
            }
            let line = Line {
                kind: b[0] as char,
                value: content[2..].to_owned(),
                eol: eol.to_owned(),
                offset: pos,
            };
            if pos == 0 && line.kind != 'v' {
                return Err(DecodeError::new(
                    0,
                    "rfc4566/5.1 v-line",
                    "v=0 as the first line",
                ));
            }
            if line.kind == 'v' && line.value != "0" {
                findings.push(Finding::new(
                    "rfc4566/5.1 v-line",
                    Severity::Error,
                    pos,
                    format!("protocol version {} instead of 0", line.value),
                ));
            }
            if line.kind == 'm' {
                if let Err(e) = super::media::MediaLine::parse(&line.value) {
                    findings.push(Finding::new(
                        "rfc4566/5.14 m-line",
                        Severity::Error,
                        e.offset + pos + 2,
                        format!("m= line does not parse: expected {}", e.expected),
                    ));
                }
                sd.media.push(MediaDescription { lines: vec![line] });
            } else if let Some(m) = sd.media.last_mut() {
                m.lines.push(line);
            } else {
                sd.session.push(line);
            }
            pos += content.len() + eol.len();
        }
        if sd.session.is_empty() {
            return Err(DecodeError::new(
                0,
                "rfc4566/5.1 v-line",
                "v=0 as the first line",
            ));
        }
        for (kind, rule) in [
            ('o', "rfc4566/5.2 o-line"),
            ('s', "rfc4566/5.3 s-line"),
            ('t', "rfc4566/5.9 t-line"),
        ] {
            if !sd.session.iter().any(|l| l.kind == kind) {
                findings.push(Finding::new(
                    rule,
                    Severity::Error,
                    0,
                    format!("no {kind}= line"),
                ));
            }
        }
        // RFC 4566 5.7: c= at session level or in every media description.
        let session_c = sd.session.iter().any(|l| l.kind == 'c');
        for m in &sd.media {
            if !session_c && !m.lines.iter().any(|l| l.kind == 'c') {
                findings.push(Finding::new(
                    "rfc4566/5.7 c-line",
                    Severity::Error,
                    m.lines.first().map(|l| l.offset).unwrap_or(0),
                    "media description without c= and no session-level c=",
                ));
            }
        }
        Ok(Decoded {
            value: sd,
            findings,
        })
    }

    /// Encodes the description; an unmodified decoded one gives back its original bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_text().into_bytes()
    }

    /// [`SessionDescription::to_bytes`] as text.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for l in &self.session {
            l.write_to(&mut out);
        }
        for m in &self.media {
            for l in &m.lines {
                l.write_to(&mut out);
            }
        }
        out.push_str(&self.trailer);
        out
    }

    fn value(&self, kind: char) -> Option<&str> {
        self.session
            .iter()
            .find(|l| l.kind == kind)
            .map(|l| l.value.as_str())
    }

    /// The `v=` value.
    pub fn version(&self) -> Option<&str> {
        self.value('v')
    }

    /// The `o=` line, parsed.
    pub fn origin(&self) -> Option<Origin> {
        Origin::parse(self.value('o')?)
    }

    /// The `s=` value.
    pub fn session_name(&self) -> Option<&str> {
        self.value('s')
    }

    /// The session-level `c=` line, parsed.
    pub fn connection(&self) -> Option<Connection> {
        Connection::parse(self.value('c')?)
    }

    /// The value of the first session-level `a=name[:value]` (`Some("")` for `a=name`).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.session
            .iter()
            .filter_map(|l| l.attribute())
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.unwrap_or(""))
    }

    /// The session-level direction attribute, if any.
    pub fn direction(&self) -> Option<Direction> {
        direction_in(&self.session)
    }

    /// The direction of `media`: its own attribute, else the session-level one, else sendrecv.
    pub fn effective_direction(&self, media: &MediaDescription) -> Direction {
        media
            .direction_attr()
            .or_else(|| self.direction())
            .unwrap_or(Direction::SendRecv)
    }

    /// The connection address for `media`: its own `c=`, else the session-level one.
    pub fn effective_connection(&self, media: &MediaDescription) -> Option<super::Connection> {
        media.connection().or_else(|| self.connection())
    }

    /// The first `m=message` media description using MSRP.
    pub fn msrp_media(&self) -> Option<&MediaDescription> {
        self.media.iter().find(|m| {
            m.media_line()
                .is_ok_and(|l| l.media == "message" && l.proto.ends_with("MSRP"))
        })
    }
}
