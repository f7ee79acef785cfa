//! An SDP media description (RFC 4566 section 5.14) with typed access to the MSRP attributes
//! (RFC 4975 section 8, RFC 6135, RFC 6714) and the file-transfer attributes (RFC 5547).

use super::file::{FileDate, FileRange, FileSelector};
use super::line::Line;
use super::session::Connection;
use crate::msrp::MsrpUri;
use crate::DecodeError;
use std::fmt;

/// `a=setup` (RFC 4145 / RFC 6135).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Setup {
    /// `active`: this side opens the connection.
    Active,
    /// `passive`: this side waits for the connection.
    Passive,
    /// `actpass`: either (offers).
    ActPass,
    /// `holdconn`: no connection yet.
    HoldConn,
}

impl Setup {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Setup::Active => "active",
            Setup::Passive => "passive",
            Setup::ActPass => "actpass",
            Setup::HoldConn => "holdconn",
        }
    }

    /// Parses an attribute value.
    pub fn parse(s: &str) -> Option<Setup> {
        match s.trim() {
            "active" => Some(Setup::Active),
            "passive" => Some(Setup::Passive),
            "actpass" => Some(Setup::ActPass),
            "holdconn" => Some(Setup::HoldConn),
            _ => None,
        }
    }
}

/// Media direction attributes (RFC 4566 section 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Direction {
    /// `a=sendrecv` (the default).
    SendRecv,
    /// `a=sendonly`.
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction for an attribute name.
    pub fn parse(s: &str) -> Option<Direction> {
        match s {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    /// The direction seen from the other side (sendonly <-> recvonly).
    pub fn reversed(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }
}

/// Direction attributes among `lines`, the last one winning.
pub(crate) fn direction_in(lines: &[Line]) -> Option<Direction> {
    lines
        .iter()
        .rev()
        .filter_map(|l| l.attribute())
        .filter(|(_, v)| v.is_none())
        .find_map(|(n, _)| Direction::parse(n))
}

/// The parsed `m=` line: `<media> <port>[/<count>] <proto> <fmt> ...`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MediaLine {
    /// `message`, `audio`, ...
    pub media: String,
    /// The port.
    pub port: u16,
    /// The number of ports after `/`, if written.
    pub port_count: Option<u16>,
    /// `TCP/MSRP`, `TCP/TLS/MSRP`, ...
    pub proto: String,
    /// The formats (`*` for MSRP).
    pub formats: Vec<String>,
}

impl MediaLine {
    /// Parses an `m=` value; error offsets are relative to `s`.
    pub fn parse(s: &str) -> Result<MediaLine, DecodeError> {
        const RULE: &str = "rfc4566/5.14 m-line";
        let parts: Vec<&str> = s.split(' ').collect();
        if parts.len() < 4 || parts.iter().any(|p| p.is_empty()) {
            return Err(DecodeError::new(
                0,
                RULE,
                "<media> <port> <proto> <fmt> ...",
            ));
        }
        let poff = parts[0].len() + 1;
        let (port, count) = match parts[1].split_once('/') {
            Some((p, c)) => (p, Some(c)),
            None => (parts[1], None),
        };
        let port: u16 = port
            .parse()
            .map_err(|_| DecodeError::new(poff, RULE, "a decimal port"))?;
        let port_count = match count {
            Some(c) => Some(
                c.parse()
                    .map_err(|_| DecodeError::new(poff, RULE, "a decimal port count"))?,
            ),
            None => None,
        };
        Ok(MediaLine {
            media: parts[0].to_owned(),
            port,
            port_count,
            proto: parts[2].to_owned(),
            formats: parts[3..].iter().map(|s| (*s).to_owned()).collect(),
        })
    }
}

impl fmt::Display for MediaLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.media, self.port)?;
        if let Some(c) = self.port_count {
            write!(f, "/{c}")?;
        }
        write!(f, " {} {}", self.proto, self.formats.join(" "))
    }
}

/// One media description: its `m=` line first, then its other lines in order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MediaDescription {
    /// The lines, `m=` first.
    pub lines: Vec<Line>,
}

impl MediaDescription {
    /// A media description with just an `m=` line.
    pub fn new(media: &MediaLine) -> MediaDescription {
        MediaDescription {
            lines: vec![Line::new('m', media.to_string())],
        }
    }

    /// Appends a line (builder style).
    pub fn with_line(mut self, kind: char, value: impl Into<String>) -> MediaDescription {
        self.lines.push(Line::new(kind, value));
        self
    }

    /// Appends `a=name[:value]` (builder style).
    pub fn with_attr(mut self, name: &str, value: Option<&str>) -> MediaDescription {
        self.lines.push(Line::attr(name, value));
        self
    }

    /// The `m=` line, parsed.
    pub fn media_line(&self) -> Result<MediaLine, DecodeError> {
        match self.lines.first() {
            Some(l) if l.kind == 'm' => {
                MediaLine::parse(&l.value).map_err(|e| e.shifted(l.value_offset()))
            }
            _ => Err(DecodeError::new(0, "rfc4566/5.14 m-line", "an m= line")),
        }
    }

    /// The media-level `c=` line, parsed (`None` when absent or unreadable).
    pub fn connection(&self) -> Option<Connection> {
        let l = self.lines.iter().find(|l| l.kind == 'c')?;
        Connection::parse(&l.value)
    }

    /// The first `a=` line with this name.
    pub fn attr_line(&self, name: &str) -> Option<&Line> {
        self.lines
            .iter()
            .find(|l| l.attribute().is_some_and(|(n, _)| n == name))
    }

    /// The value of the first `a=name:value` (`Some("")` for a property attribute `a=name`).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attr_line(name)
            .and_then(|l| l.attribute())
            .map(|(_, v)| v.unwrap_or(""))
    }

    /// Values of every `a=name:value`.
    pub fn attrs<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.lines
            .iter()
            .filter_map(|l| l.attribute())
            .filter(move |(n, _)| *n == name)
            .map(|(_, v)| v.unwrap_or(""))
    }

    fn typed<T>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Result<T, DecodeError>,
    ) -> Option<Result<T, DecodeError>> {
        let l = self.attr_line(name)?;
        let (_, v) = l.attribute()?;
        let v = v.unwrap_or("");
        let off = l.value_offset() + name.len() + 1;
        Some(parse(v).map_err(|e| e.shifted(off)))
    }

    /// `a=path` (RFC 4975 section 8): the MSRP URIs.
    pub fn path(&self) -> Option<Result<Vec<MsrpUri>, DecodeError>> {
        self.typed("path", MsrpUri::parse_list)
    }

    /// `a=setup` (RFC 6135), `None` when absent or unreadable.
    pub fn setup(&self) -> Option<Setup> {
        Setup::parse(self.attr("setup")?)
    }

    /// `a=accept-types` (RFC 4975 section 8), split at spaces.
    pub fn accept_types(&self) -> Vec<&str> {
        self.attr("accept-types")
            .map(|v| v.split_whitespace().collect())
            .unwrap_or_default()
    }

    /// `a=accept-wrapped-types` (RFC 4975 section 8), split at spaces.
    pub fn accept_wrapped_types(&self) -> Vec<&str> {
        self.attr("accept-wrapped-types")
            .map(|v| v.split_whitespace().collect())
            .unwrap_or_default()
    }

    /// `a=max-size` (RFC 4975 section 8), `None` when absent or unreadable.
    pub fn max_size(&self) -> Option<u64> {
        self.attr("max-size")?.trim().parse().ok()
    }

    /// `true` when `a=msrp-cema` is present (RFC 6714).
    pub fn msrp_cema(&self) -> bool {
        self.attr_line("msrp-cema").is_some()
    }

    /// The media-level direction attribute, if any.
    pub fn direction_attr(&self) -> Option<Direction> {
        direction_in(&self.lines)
    }

    /// The media-level direction, `sendrecv` when absent (RFC 4566 section 6). See
    /// [`super::SessionDescription::effective_direction`] for the session-level fallback.
    pub fn direction(&self) -> Direction {
        self.direction_attr().unwrap_or(Direction::SendRecv)
    }

    /// `a=file-selector` (RFC 5547 section 6).
    pub fn file_selector(&self) -> Option<Result<FileSelector, DecodeError>> {
        self.typed("file-selector", FileSelector::parse)
    }

    /// `a=file-transfer-id`.
    pub fn file_transfer_id(&self) -> Option<&str> {
        self.attr("file-transfer-id")
    }

    /// `a=file-disposition` (`render`, `attachment`, ...).
    pub fn file_disposition(&self) -> Option<&str> {
        self.attr("file-disposition")
    }

    /// `a=file-date`.
    pub fn file_date(&self) -> Option<Result<FileDate, DecodeError>> {
        self.typed("file-date", FileDate::parse)
    }

    /// `a=file-icon` (a `cid:` URL).
    pub fn file_icon(&self) -> Option<&str> {
        self.attr("file-icon")
    }

    /// `a=file-range`.
    pub fn file_range(&self) -> Option<Result<FileRange, DecodeError>> {
        self.typed("file-range", FileRange::parse)
    }
}
