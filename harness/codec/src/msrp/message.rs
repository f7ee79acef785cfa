//! MSRP frames (RFC 4975 sections 6, 7 and 9): start line, header fields, body, end-line;
//! decoding of one frame from a stream prefix and byte-exact re-encoding.

use super::byte_range::ByteRange;
use super::header::{Field, Headers};
use super::method::Method;
use super::status::{StatusCode, StatusValue};
use super::uri::{path_to_string, MsrpUri};
use crate::text::{checked_line_end, utf8};
use crate::{DecodeError, Decoded, Finding, Limits, Severity, Status};
use std::fmt;

/// The continuation flag ending a frame (RFC 4975 section 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Flag {
    /// `$`: the last (or only) chunk of the message.
    Complete,
    /// `+`: more chunks follow.
    More,
    /// `#`: the message is aborted.
    Abort,
}

impl Flag {
    /// The flag character.
    pub fn as_char(self) -> char {
        match self {
            Flag::Complete => '$',
            Flag::More => '+',
            Flag::Abort => '#',
        }
    }

    /// The flag for a byte, if it is one of `$ + #`.
    pub fn from_byte(b: u8) -> Option<Flag> {
        match b {
            b'$' => Some(Flag::Complete),
            b'+' => Some(Flag::More),
            b'#' => Some(Flag::Abort),
            _ => None,
        }
    }
}

/// What the start line says: a request with its method, or a response with its code.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum StartKind {
    /// `MSRP <tid> <METHOD>`.
    Request {
        /// The method.
        method: Method,
    },
    /// `MSRP <tid> <code> [comment]`.
    Response {
        /// The three-digit status code.
        code: u16,
        /// The comment after the code, if any.
        comment: Option<String>,
    },
}

/// The Failure-Report header value (RFC 4975 section 7.1.2, default `yes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum FailureReport {
    /// `yes`: responses and failure REPORTs are wanted.
    Yes,
    /// `no`: no responses, no REPORTs.
    No,
    /// `partial`: only failure REPORTs, no 200 responses.
    Partial,
}

/// Anything usable as a To-Path / From-Path value: a string as written or a list of URIs.
pub trait PathArg {
    /// The header value.
    fn path_value(&self) -> String;
}

impl PathArg for &str {
    fn path_value(&self) -> String {
        (*self).to_owned()
    }
}
impl PathArg for String {
    fn path_value(&self) -> String {
        self.clone()
    }
}
impl PathArg for &String {
    fn path_value(&self) -> String {
        (*self).clone()
    }
}
impl PathArg for &[MsrpUri] {
    fn path_value(&self) -> String {
        path_to_string(self)
    }
}
impl PathArg for &Vec<MsrpUri> {
    fn path_value(&self) -> String {
        path_to_string(self)
    }
}
impl PathArg for Vec<MsrpUri> {
    fn path_value(&self) -> String {
        path_to_string(self)
    }
}
impl<const N: usize> PathArg for &[MsrpUri; N] {
    fn path_value(&self) -> String {
        path_to_string(&self[..])
    }
}
impl<const N: usize> PathArg for [MsrpUri; N] {
    fn path_value(&self) -> String {
        path_to_string(&self[..])
    }
}
impl PathArg for &MsrpUri {
    fn path_value(&self) -> String {
        self.to_string()
    }
}
impl PathArg for MsrpUri {
    fn path_value(&self) -> String {
        self.to_string()
    }
}

/// One MSRP frame: a request (or one chunk of a message) or a response.
///
/// A decoded frame keeps its original bytes, so [`Message::to_bytes`] on an unmodified decoded
/// frame gives back exactly the input. Equality compares transaction id, start line, header
/// names and values, body and flag (not the original bytes).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Message {
    /// The transaction id.
    pub tid: String,
    /// Request method or response code.
    pub start: StartKind,
    /// Header fields in order.
    pub headers: Headers,
    /// The body (empty when the frame has none).
    #[serde(serialize_with = "crate::serde_lossy")]
    pub body: Vec<u8>,
    /// The continuation flag of the end-line.
    pub flag: Flag,
    /// Original start line (line end included).
    #[serde(skip)]
    pub raw_start: Option<String>,
    /// Original blank line before the body, when the frame had a body section.
    #[serde(skip)]
    pub raw_blank: Option<String>,
    /// Original bytes from the end of the body to the end of the frame.
    #[serde(skip)]
    pub raw_end: Option<String>,
}

impl PartialEq for Message {
    fn eq(&self, other: &Self) -> bool {
        self.tid == other.tid
            && self.start == other.start
            && self.headers == other.headers
            && self.body == other.body
            && self.flag == other.flag
    }
}
impl Eq for Message {}

const RULE_START: &str = "rfc4975/9 start-line";
const RULE_TID: &str = "rfc4975/9 transact-id";
const RULE_COLON: &str = "rfc4975/9 header-colon";
const RULE_LF: &str = "rfc4975/9 crlf";
const RULE_END: &str = "rfc4975/6 end-line";
const RULE_END_TID: &str = "rfc4975/6 end-line-tid";
const RULE_TO: &str = "rfc4975/7.1 to-path";
const RULE_FROM: &str = "rfc4975/7.1 from-path";
const RULE_BODY: &str = "limits/body-size";

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b".-+%=".contains(&b)
}

impl Message {
    /// A request `MSRP <tid> <METHOD>` with To-Path and From-Path, no body, flag `$`.
    pub fn request(
        tid: impl Into<String>,
        method: Method,
        to_path: impl PathArg,
        from_path: impl PathArg,
    ) -> Message {
        let mut m = Message::bare(tid.into(), StartKind::Request { method });
        m.headers.push(Field::new("To-Path", to_path.path_value()));
        m.headers
            .push(Field::new("From-Path", from_path.path_value()));
        m
    }

    /// A response `MSRP <tid> <code> [comment]` with no headers (add To-Path and From-Path
    /// with [`Message::with_header`], or use [`Message::response_to`]).
    pub fn response(
        tid: impl Into<String>,
        code: impl Into<u16>,
        comment: Option<&str>,
    ) -> Message {
        Message::bare(
            tid.into(),
            StartKind::Response {
                code: code.into(),
                comment: comment.map(str::to_owned),
            },
        )
    }

    /// The response to `request` (RFC 4975 section 7.2): same transaction id, To-Path set to
    /// the first URI of the request's From-Path (the previous hop), From-Path set to the last
    /// URI of the request's To-Path (this endpoint). Paths that do not parse are copied as text.
    pub fn response_to(request: &Message, code: impl Into<u16>, comment: Option<&str>) -> Message {
        let mut m = Message::response(request.tid.clone(), code, comment);
        let to = match request.from_path() {
            Ok(p) => p.first().map(|u| u.to_string()).unwrap_or_default(),
            Err(_) => request.header("From-Path").unwrap_or("").to_owned(),
        };
        let from = match request.to_path() {
            Ok(p) => p.last().map(|u| u.to_string()).unwrap_or_default(),
            Err(_) => request.header("To-Path").unwrap_or("").to_owned(),
        };
        m.headers.push(Field::new("To-Path", to));
        m.headers.push(Field::new("From-Path", from));
        m
    }

    fn bare(tid: String, start: StartKind) -> Message {
        Message {
            tid,
            start,
            headers: Headers::new(),
            body: Vec::new(),
            flag: Flag::Complete,
            raw_start: None,
            raw_blank: None,
            raw_end: None,
        }
    }

    /// Adds a header in canonical order (To-Path, From-Path, others, Content-*, Content-Type).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Message {
        self.headers.insert(Field::new(name, value));
        self
    }

    /// Sets the flag (builder style).
    pub fn with_flag(mut self, flag: Flag) -> Message {
        self.flag = flag;
        self
    }

    /// Sets the body and its Content-Type; an empty `content_type` removes Content-Type.
    pub fn set_body(&mut self, content_type: &str, body: impl Into<Vec<u8>>) {
        if content_type.is_empty() {
            self.headers.remove("Content-Type");
        } else {
            self.headers.set("Content-Type", content_type);
        }
        self.body = body.into();
    }

    /// [`Message::set_body`], builder style.
    pub fn with_body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Message {
        self.set_body(content_type, body);
        self
    }

    /// Decodes exactly one whole frame; bytes after its end-line are an error.
    pub fn parse(buf: &[u8]) -> Result<Decoded<Message>, DecodeError> {
        Self::parse_with(buf, &Limits::default())
    }

    /// [`Message::parse`] with explicit limits.
    pub fn parse_with(buf: &[u8], limits: &Limits) -> Result<Decoded<Message>, DecodeError> {
        match decode_frame(buf, limits)? {
            Status::Complete { value, consumed } => {
                if consumed < buf.len() {
                    return Err(DecodeError::new(
                        consumed,
                        "rfc4975/6 single-frame",
                        "the end of input after the end-line",
                    ));
                }
                Ok(value)
            }
            Status::Partial => Err(partial_error(buf)),
        }
    }

    /// Decodes the first frame of a stream buffer: `Partial` until its end-line has arrived.
    /// Offsets are relative to `buf`.
    pub fn decode_stream(
        buf: &[u8],
        limits: &Limits,
    ) -> Result<Status<Decoded<Message>>, DecodeError> {
        decode_frame(buf, limits)
    }

    /// The start line without line end: `MSRP <tid> SEND` or `MSRP <tid> 200 OK`.
    pub fn start_line(&self) -> String {
        match &self.start {
            StartKind::Request { method } => format!("MSRP {} {}", self.tid, method),
            StartKind::Response { code, comment } => match comment {
                Some(c) => format!("MSRP {} {:03} {}", self.tid, code, c),
                None => format!("MSRP {} {:03}", self.tid, code),
            },
        }
    }

    /// The end-line without line end: `-------<tid><flag>`.
    pub fn end_line(&self) -> String {
        format!("-------{}{}", self.tid, self.flag.as_char())
    }

    /// `true` when the frame is written with a blank line and a body section: a decoded frame
    /// as it came (a Content-Type with neither blank line nor body stays without one, found by
    /// fuzzing), a built one also when it names a Content-Type.
    fn has_body_section(&self) -> bool {
        self.raw_blank.is_some()
            || !self.body.is_empty()
            || (self.raw_start.is_none() && self.content_type().is_some())
    }

    /// Encodes the frame; an unmodified decoded frame gives back its original bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body.len());
        self.write_to(&mut out);
        out
    }

    /// Offset of the body in the encoding (start line, headers and blank line before it).
    pub fn body_offset(&self) -> usize {
        let mut out = Vec::with_capacity(256);
        self.write_head(&mut out);
        out.len()
    }

    /// Appends the encoding to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        self.write_head(out);
        let end = self.end_line();
        let body_section = self.has_body_section();
        if body_section {
            out.extend_from_slice(&self.body);
        }
        match &self.raw_end {
            Some(raw)
                if raw.trim_matches(['\r', '\n']) == end
                    && (raw.starts_with(['\r', '\n'])
                        == (body_section && !(self.body.is_empty() && raw.starts_with('-')))) =>
            {
                out.extend_from_slice(raw.as_bytes())
            }
            _ => {
                if body_section {
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(end.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
    }

    /// Start line, headers and (when there is a body section) the blank line.
    fn write_head(&self, out: &mut Vec<u8>) {
        let start = self.start_line();
        match &self.raw_start {
            Some(raw)
                if raw
                    .strip_suffix("\r\n")
                    .or_else(|| raw.strip_suffix('\n'))
                    .is_some_and(|r| r == start) =>
            {
                out.extend_from_slice(raw.as_bytes())
            }
            _ => {
                out.extend_from_slice(start.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
        for f in self.headers.iter() {
            f.write_to(out);
        }
        if self.has_body_section() {
            out.extend_from_slice(self.raw_blank.as_deref().unwrap_or("\r\n").as_bytes());
        }
    }

    /// `true` for a request.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartKind::Request { .. })
    }

    /// The method of a request.
    pub fn method(&self) -> Option<&Method> {
        match &self.start {
            StartKind::Request { method } => Some(method),
            StartKind::Response { .. } => None,
        }
    }

    /// The status code of a response.
    pub fn code(&self) -> Option<u16> {
        match &self.start {
            StartKind::Response { code, .. } => Some(*code),
            StartKind::Request { .. } => None,
        }
    }

    /// The value of the first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    fn path(&self, name: &str, rule: &'static str) -> Result<Vec<MsrpUri>, DecodeError> {
        let Some(f) = self.headers.field(name) else {
            return Err(DecodeError::new(0, rule, format!("a {name} header")));
        };
        MsrpUri::parse_list(&f.value).map_err(|e| e.shifted(f.value_offset))
    }

    /// The To-Path URIs (offsets in errors point into the decoded frame).
    pub fn to_path(&self) -> Result<Vec<MsrpUri>, DecodeError> {
        self.path("To-Path", RULE_TO)
    }

    /// The From-Path URIs.
    pub fn from_path(&self) -> Result<Vec<MsrpUri>, DecodeError> {
        self.path("From-Path", RULE_FROM)
    }

    /// The Message-ID.
    pub fn message_id(&self) -> Option<&str> {
        self.header("Message-ID")
    }

    /// The Byte-Range, if present.
    pub fn byte_range(&self) -> Option<Result<ByteRange, DecodeError>> {
        let f = self.headers.field("Byte-Range")?;
        Some(ByteRange::parse(&f.value).map_err(|e| e.shifted(f.value_offset)))
    }

    /// The Content-Type.
    pub fn content_type(&self) -> Option<&str> {
        self.header("Content-Type")
    }

    /// Success-Report: `Some(true)` for `yes`, `Some(false)` for `no`, `None` when absent or
    /// unreadable (RFC 4975 7.1.2: absent means `no`).
    pub fn success_report(&self) -> Option<bool> {
        match self.header("Success-Report")? {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        }
    }

    /// Failure-Report, `None` when absent or unreadable (RFC 4975 7.1.2: absent means `yes`).
    pub fn failure_report(&self) -> Option<FailureReport> {
        match self.header("Failure-Report")? {
            "yes" => Some(FailureReport::Yes),
            "no" => Some(FailureReport::No),
            "partial" => Some(FailureReport::Partial),
            _ => None,
        }
    }

    /// The Status header of a REPORT, `None` when absent or unreadable.
    pub fn status(&self) -> Option<StatusValue> {
        StatusValue::parse(self.header("Status")?).ok()
    }

    /// A one-line summary: `SEND a786hjs2 $` or `200 a786hjs2`.
    pub fn summary(&self) -> String {
        match &self.start {
            StartKind::Request { method } => {
                format!("{} {} {}", method, self.tid, self.flag.as_char())
            }
            StartKind::Response { code, .. } => format!("{:03} {}", code, self.tid),
        }
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

fn partial_error(buf: &[u8]) -> DecodeError {
    // A last line that looks like an end-line with another transaction id is the likely cause.
    let trimmed = buf
        .iter()
        .rposition(|&b| b != b'\r' && b != b'\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    let line_start = buf[..trimmed]
        .iter()
        .rposition(|&b| b == b'\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    if buf[line_start..trimmed].starts_with(b"-------") && line_start > 0 {
        return DecodeError::new(
            line_start + 7,
            RULE_END_TID,
            "an end-line with the transaction id of the start line",
        );
    }
    DecodeError::new(
        buf.len(),
        RULE_END,
        "the end-line -------<transaction-id>[$+#] that closes the frame",
    )
}

fn parse_start(
    line: &str,
    findings: &mut Vec<Finding>,
) -> Result<(String, StartKind), DecodeError> {
    // RFC 4975 9: req-start = pMSRP SP transact-id SP method CRLF (pMSRP is case-sensitive).
    let Some(rest) = line.strip_prefix("MSRP ") else {
        return Err(DecodeError::new(
            0,
            RULE_START,
            "'MSRP ' at the start of the frame",
        ));
    };
    let (tid, tail) = rest.split_once(' ').unwrap_or((rest, ""));
    // RFC 4975 9: transact-id = ident; ident = ALPHANUM 3*31ident-char.
    if tid.is_empty() {
        return Err(DecodeError::new(5, RULE_TID, "a transaction id"));
    }
    if let Some(bad) = tid.bytes().position(|b| !is_ident_char(b)) {
        return Err(DecodeError::new(
            5 + bad,
            RULE_TID,
            "transaction id characters: letters, digits, '.', '-', '+', '%', '='",
        ));
    }
    if !tid.as_bytes()[0].is_ascii_alphanumeric() {
        return Err(DecodeError::new(
            5,
            RULE_TID,
            "a letter or digit starting the transaction id",
        ));
    }
    if !(4..=32).contains(&tid.len()) {
        findings.push(Finding::new(
            RULE_TID,
            Severity::Error,
            5,
            format!(
                "transaction id is {} characters; RFC 4975 allows 4 to 32",
                tid.len()
            ),
        ));
    }
    let tail_off = 5 + tid.len() + 1;
    if tail.is_empty() {
        return Err(DecodeError::new(
            tail_off.min(line.len()),
            RULE_START,
            "a method or a three-digit status code after the transaction id",
        ));
    }
    let (word, comment) = match tail.split_once(' ') {
        Some((w, c)) => (w, Some(c)),
        None => (tail, None),
    };
    if word.len() == 3 && word.bytes().all(|b| b.is_ascii_digit()) {
        let code: u16 = word.parse().unwrap_or(0);
        if !StatusCode(code).is_known() {
            findings.push(Finding::new(
                "rfc4975/10 status-code",
                Severity::Info,
                tail_off,
                format!("status code {code} is not defined by RFC 4975"),
            ));
        }
        return Ok((
            tid.to_owned(),
            StartKind::Response {
                code,
                comment: comment.map(str::to_owned),
            },
        ));
    }
    // RFC 4975 9: method = 1*UPALPHA.
    if let Some(bad) = word.bytes().position(|b| !b.is_ascii_uppercase()) {
        return Err(DecodeError::new(
            tail_off + bad,
            RULE_START,
            "an upper-case method name or a three-digit status code",
        ));
    }
    if let Some(c) = comment {
        return Err(DecodeError::new(
            tail_off + word.len(),
            RULE_START,
            format!("the end of the request line, not '{c}'"),
        ));
    }
    Ok((
        tid.to_owned(),
        StartKind::Request {
            method: Method::from_token(word),
        },
    ))
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from >= hay.len() {
        return None;
    }
    memchr::memmem::find(hay.get(from..)?, needle).map(|i| from + i)
}

/// Decodes the frame at the start of `buf` (offsets relative to `buf`).
pub(crate) fn decode_frame(
    buf: &[u8],
    limits: &Limits,
) -> Result<Status<Decoded<Message>>, DecodeError> {
    decode_frame_from(buf, limits, 0)
}

/// [`decode_frame`], searching for the end-line no earlier than `search_from` (a stream decoder
/// passes the point its previous search reached, so a large body is scanned once).
pub(crate) fn decode_frame_from(
    buf: &[u8],
    limits: &Limits,
    search_from: usize,
) -> Result<Status<Decoded<Message>>, DecodeError> {
    let mut findings = Vec::new();
    // Reject garbage early, before a whole line has arrived.
    let probe = buf.len().min(5);
    if buf[..probe] != b"MSRP "[..probe] {
        return Err(DecodeError::new(
            0,
            RULE_START,
            "'MSRP ' at the start of the frame",
        ));
    }
    let Some((line_end, mut pos, cr)) = checked_line_end(buf, 0, limits)? else {
        return Ok(Status::Partial);
    };
    let mut lf_reported = false;
    if !cr {
        findings.push(Finding::new(
            RULE_LF,
            Severity::Warning,
            line_end,
            "line ends with a bare LF instead of CRLF",
        ));
        lf_reported = true;
    }
    let line = match std::str::from_utf8(&buf[..line_end]) {
        Ok(line) => line,
        Err(e) => {
            return Err(DecodeError::new(
                e.valid_up_to(),
                "utf8",
                "UTF-8 text in the start line",
            ))
        }
    };
    let (tid, start) = parse_start(line, &mut findings)?;
    // The start line and its line end (`buf[line_end..pos]` is CRLF or LF).
    let mut raw_start = String::with_capacity(pos);
    raw_start.push_str(line);
    raw_start.push_str(if cr { "\r\n" } else { "\n" });
    let mut headers = Headers(Vec::with_capacity(8));
    let end_prefix = b"-------";
    // Header lines until the blank line (body follows) or the end-line (no body).
    let mut body_start = None;
    let mut frame_end = 0;
    let mut flag = Flag::Complete;
    let mut raw_end = None;
    loop {
        let Some((end, next, cr)) = checked_line_end(buf, pos, limits)? else {
            return Ok(Status::Partial);
        };
        if !cr && !lf_reported {
            findings.push(Finding::new(
                RULE_LF,
                Severity::Warning,
                end,
                "line ends with a bare LF instead of CRLF",
            ));
            lf_reported = true;
        }
        let text = &buf[pos..end];
        if text.is_empty() {
            body_start = Some(next);
            break;
        }
        if text.starts_with(end_prefix) {
            let rest = &text[end_prefix.len()..];
            let (t, f) = match rest.split_last() {
                Some((f, t)) => (t, Flag::from_byte(*f)),
                None => (rest, None),
            };
            // RFC 4975 6: the end-line carries the transaction id of the start line.
            if t != tid.as_bytes() {
                return Err(DecodeError::new(
                    pos + end_prefix.len(),
                    RULE_END_TID,
                    format!("the transaction id {tid} in the end-line"),
                ));
            }
            let Some(f) = f else {
                return Err(DecodeError::new(
                    end.saturating_sub(1),
                    RULE_END,
                    "a continuation flag '$', '+' or '#' ending the end-line",
                ));
            };
            flag = f;
            frame_end = next;
            raw_end = Some(utf8(buf, pos, next, "the end-line")?);
            break;
        }
        // RFC 4975 9: header = hname ":" SP hval CRLF.
        let Some(colon) = text.iter().position(|&b| b == b':') else {
            return Err(DecodeError::new(
                pos,
                RULE_COLON,
                "a header line 'Name: value'",
            ));
        };
        // One validation of the line; when it fails, the per-part checks below (in the order
        // of the rules) name the exact part and offset.
        let line = std::str::from_utf8(text).ok();
        let name_owned;
        let name = match line {
            Some(line) => line.get(..colon).unwrap_or_default(),
            None => {
                name_owned = utf8(buf, pos, pos + colon, "a header name")?;
                name_owned.as_str()
            }
        };
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.!%*+`'~".contains(&b))
        {
            return Err(DecodeError::new(
                pos,
                RULE_COLON,
                "a header name (a token) before ':'",
            ));
        }
        let mut v = pos + colon + 1;
        while v < end && (buf[v] == b' ' || buf[v] == b'\t') {
            v += 1;
        }
        if headers.len() >= limits.max_headers {
            return Err(DecodeError::new(
                pos,
                "limits/header-count",
                format!("at most {} header fields", limits.max_headers),
            ));
        }
        let Some(line) = line else {
            utf8(buf, v, end, "a header value")?;
            utf8(buf, pos, next, "a header line")?;
            return Err(DecodeError::new(pos, "utf8", "UTF-8 text in a header line"));
        };
        let value = line
            .get(v - pos..)
            .unwrap_or_default()
            .trim_end_matches([' ', '\t']);
        // The original line is kept only when it differs from the canonical `Name: value\r\n`
        // that Field::write_to writes in its absence.
        let canonical = cr
            && v == pos + colon + 2
            && text.get(colon + 1) == Some(&b' ')
            && v + value.len() == end;
        let raw = if canonical {
            None
        } else {
            Some(utf8(buf, pos, next, "a header line")?)
        };
        headers.push(Field {
            name: name.to_owned(),
            value: value.to_owned(),
            raw,
            offset: pos,
            value_offset: v,
        });
        pos = next;
    }
    let mut body = Vec::new();
    let mut raw_blank = None;
    if let Some(bstart) = body_start {
        raw_blank = Some(utf8(buf, pos, bstart, "the blank line")?);
        let mut needle = end_prefix.to_vec();
        needle.extend_from_slice(tid.as_bytes());
        let mut from = bstart.max(search_from);
        let found = loop {
            let Some(p) = find(buf, &needle, from) else {
                break None;
            };
            from = p + 1;
            // The end-line follows a line end: "CRLF -------tid flag CRLF".
            if p > bstart && buf.get(p - 1) != Some(&b'\n') {
                continue;
            }
            let fpos = p + needle.len();
            let Some(&fb) = buf.get(fpos) else {
                return Ok(Status::Partial);
            };
            let Some(f) = Flag::from_byte(fb) else {
                continue;
            };
            let after = match (buf.get(fpos + 1), buf.get(fpos + 2)) {
                (Some(b'\r'), Some(b'\n')) => fpos + 3,
                (Some(b'\n'), _) => fpos + 2,
                (Some(b'\r'), None) | (None, _) => return Ok(Status::Partial),
                _ => continue,
            };
            let mut body_end = p.saturating_sub(1).max(bstart);
            if p == bstart {
                // RFC 4975 9: content-stuff ends with data CRLF, even for empty data.
                findings.push(Finding::new(
                    "rfc4975/9 content-stuff",
                    Severity::Warning,
                    p,
                    "no line end between the empty body and the end-line",
                ));
            } else if body_end > bstart && buf[body_end - 1] == b'\r' {
                body_end -= 1;
            } else if !lf_reported {
                findings.push(Finding::new(
                    RULE_LF,
                    Severity::Warning,
                    body_end,
                    "bare LF before the end-line",
                ));
            }
            break Some((body_end, f, after));
        };
        let Some((body_end, f, after)) = found else {
            if buf.len() - bstart > limits.max_body + needle.len() + 4 {
                return Err(DecodeError::new(
                    bstart + limits.max_body,
                    RULE_BODY,
                    format!("an end-line within {} bytes of body", limits.max_body),
                ));
            }
            return Ok(Status::Partial);
        };
        if body_end - bstart > limits.max_body {
            return Err(DecodeError::new(
                bstart + limits.max_body,
                RULE_BODY,
                format!("a body of at most {} bytes", limits.max_body),
            ));
        }
        body = buf[bstart..body_end].to_vec();
        flag = f;
        frame_end = after;
        raw_end = Some(String::from_utf8_lossy(&buf[body_end..after]).into_owned());
    }
    let msg = Message {
        tid,
        start,
        headers,
        body,
        flag,
        raw_start: Some(raw_start),
        raw_blank,
        raw_end,
    };
    check(&msg, line_end, body_start, &mut findings)?;
    Ok(Status::Complete {
        value: Decoded {
            value: msg,
            findings,
        },
        consumed: frame_end,
    })
}

/// Rules checked on a whole frame: mandatory paths, header order, body rules.
fn check(
    msg: &Message,
    start_end: usize,
    body_start: Option<usize>,
    findings: &mut Vec<Finding>,
) -> Result<(), DecodeError> {
    // RFC 4975 7.1 / 7.2: requests and responses carry To-Path and From-Path.
    let to = msg.headers.iter().position(|f| f.is("To-Path"));
    let from = msg.headers.iter().position(|f| f.is("From-Path"));
    let Some(to) = to else {
        return Err(DecodeError::new(start_end, RULE_TO, "a To-Path header"));
    };
    let Some(from) = from else {
        return Err(DecodeError::new(start_end, RULE_FROM, "a From-Path header"));
    };
    // RFC 4975 9: headers = To-Path CRLF From-Path CRLF 1*( header CRLF ).
    if to != 0 {
        findings.push(Finding::new(
            "rfc4975/9 header-order",
            Severity::Error,
            msg.headers.0[to].offset,
            "To-Path is not the first header",
        ));
    }
    if from != 1 {
        findings.push(Finding::new(
            "rfc4975/9 header-order",
            Severity::Error,
            msg.headers.0[from].offset,
            "From-Path is not the second header",
        ));
    }
    for (f, rule) in [
        (&msg.headers.0[to], RULE_TO),
        (&msg.headers.0[from], RULE_FROM),
    ] {
        if let Err(e) = MsrpUri::parse_list(&f.value) {
            findings.push(Finding::new(
                rule,
                Severity::Error,
                e.offset + f.value_offset,
                format!("{} does not parse: expected {}", f.name, e.expected),
            ));
        }
    }
    if let Some(f) = msg.headers.field("Byte-Range") {
        if let Err(e) = ByteRange::parse(&f.value) {
            findings.push(Finding::new(
                "rfc4975/9 byte-range",
                Severity::Error,
                e.offset + f.value_offset,
                format!("Byte-Range does not parse: expected {}", e.expected),
            ));
        }
    }
    let boff = body_start.unwrap_or(start_end);
    // RFC 4975 7.1.1: range-end is the position of the chunk's last byte.
    // (In a REPORT the Byte-Range names the reported part of the original message.)
    if let (Some(Ok(r)), Some(Method::Send)) = (msg.byte_range(), msg.method()) {
        let expect = r
            .start
            .saturating_add(msg.body.len() as u64)
            .saturating_sub(1);
        if r.end.is_some_and(|e| e != expect) {
            findings.push(Finding::new(
                "rfc4975/7.1.1 byte-range-length",
                Severity::Error,
                msg.headers
                    .field("Byte-Range")
                    .map(|f| f.value_offset)
                    .unwrap_or(boff),
                format!(
                    "Byte-Range end does not match a {}-byte body",
                    msg.body.len()
                ),
            ));
        }
    }
    // RFC 4975 7.1: a request with a non-empty body carries Content-Type.
    if !msg.body.is_empty() && msg.content_type().is_none() {
        findings.push(Finding::new(
            "rfc4975/7.1 content-type",
            Severity::Error,
            boff,
            "a body without a Content-Type header",
        ));
    }
    match &msg.start {
        StartKind::Response { .. } => {
            // RFC 4975 9: msrp-response = resp-start headers end-line (no body).
            if body_start.is_some() {
                findings.push(Finding::new(
                    "rfc4975/9 response-body",
                    Severity::Error,
                    boff,
                    "a response with a body section",
                ));
            }
        }
        StartKind::Request { method } => {
            // RFC 4975 7.1: non-SEND requests bodies are at most 10240 octets.
            if *method != Method::Send && msg.body.len() > 10240 {
                findings.push(Finding::new(
                    "rfc4975/7.1 non-send-body",
                    Severity::Error,
                    boff,
                    format!(
                        "a {method} body of {} bytes (at most 10240)",
                        msg.body.len()
                    ),
                ));
            }
        }
    }
    Ok(())
}
