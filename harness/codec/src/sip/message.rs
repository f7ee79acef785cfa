//! SIP messages (RFC 3261 section 7): start line, header fields, body; lenient decoding of a
//! whole datagram or of a stream prefix framed by Content-Length, and byte-exact re-encoding.

use super::header::{Header, Headers, Known};
use super::method::Method;
use super::status::StatusCode;
use crate::text::{checked_line_end, is_token_char, scan_fields, utf8, ScanOptions};
use crate::{DecodeError, Decoded, Finding, Limits, Severity, Status, Text};
use std::ops::Range;

/// The request line (RFC 3261 section 7.1).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RequestLine {
    /// The method.
    pub method: Method,
    /// The Request-URI as written.
    pub uri: Text,
    /// The SIP version, `SIP/2.0`.
    pub version: Text,
}

/// The status line (RFC 3261 section 7.2).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StatusLine {
    /// The SIP version, `SIP/2.0`.
    pub version: Text,
    /// The status code.
    pub code: StatusCode,
    /// The reason phrase (may be empty).
    pub reason: Text,
}

/// A request line or a status line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum StartLine {
    /// A request.
    Request(RequestLine),
    /// A response.
    Response(StatusLine),
}

/// A SIP request or response.
///
/// Fields decoded from bytes keep their original text, so [`Message::to_bytes`] on an unmodified
/// decoded message gives back exactly the input; a field changed through [`Headers::set`] or
/// built with [`Message::request`] is written in canonical form.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Message {
    /// Request line or status line.
    pub start: StartLine,
    /// Header fields in order, unknown ones included.
    pub headers: Headers,
    /// The body (Content-Length bytes).
    #[serde(serialize_with = "crate::serde_lossy")]
    pub body: Vec<u8>,
    /// Original blank line (`\r\n` or `\n`) while unmodified.
    #[serde(skip)]
    pub raw_blank: Option<String>,
    /// Bytes of a datagram beyond Content-Length (RFC 3261 18.3 says to discard them; they are kept
    /// only so that re-encoding gives back the input).
    #[serde(skip)]
    pub trailer: Vec<u8>,
}

const RULE_START: &str = "rfc3261/7.1 start-line";
const RULE_STATUS: &str = "rfc3261/7.2 status-line";
const RULE_CL: &str = "rfc3261/20.14 content-length";
const RULE_CSEQ: &str = "rfc3261/20.16 cseq";

impl Message {
    /// A request with version `SIP/2.0` and no headers.
    pub fn request(method: Method, uri: impl Into<Text>) -> Message {
        Message {
            start: StartLine::Request(RequestLine {
                method,
                uri: uri.into(),
                version: SIP_2_0,
            }),
            headers: Headers::new(),
            body: Vec::new(),
            raw_blank: None,
            trailer: Vec::new(),
        }
    }

    /// A response with version `SIP/2.0`, the code's usual reason phrase and no headers.
    pub fn response(code: StatusCode) -> Message {
        Message {
            start: StartLine::Response(StatusLine {
                version: SIP_2_0,
                code,
                reason: Text::from_static(code.default_reason()),
            }),
            headers: Headers::new(),
            body: Vec::new(),
            raw_blank: None,
            trailer: Vec::new(),
        }
    }

    /// Decodes one whole message, as received in a UDP datagram.
    pub fn parse(buf: &[u8]) -> Result<Decoded<Message>, DecodeError> {
        Self::parse_with(buf, &Limits::default())
    }

    /// [`Message::parse`] with explicit limits.
    pub fn parse_with(buf: &[u8], limits: &Limits) -> Result<Decoded<Message>, DecodeError> {
        match decode(buf, limits, false)? {
            Status::Complete { value, .. } => Ok(value),
            Status::Partial => Err(partial_error(buf)),
        }
    }

    /// Decodes the first message of a stream buffer (TCP): `Partial` until the header block and
    /// Content-Length bytes of body have arrived. Leading CRLF keep-alives are skipped and counted
    /// in `consumed`.
    pub fn decode_stream(
        buf: &[u8],
        limits: &Limits,
    ) -> Result<Status<Decoded<Message>>, DecodeError> {
        decode(buf, limits, true)
    }

    /// Encodes the message; an unmodified decoded message gives back its original bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body.len());
        self.write_to(&mut out);
        out
    }

    /// The original start-line bytes (leading empty lines and line end included) of a decoded
    /// message while the start line is unmodified; `None` for a built or changed one.
    pub fn raw_start(&self) -> Option<&str> {
        self.headers.original_start()
    }

    /// Offset of the body in the encoding (start line, headers and blank line before it).
    pub fn body_offset(&self) -> usize {
        // What `write_to` writes before the body, counted instead of written.
        let start = match self.raw_start() {
            Some(raw) => raw.len(),
            None => {
                let line = match &self.start {
                    StartLine::Request(r) => {
                        r.method.as_str().len() + r.uri.len() + r.version.len()
                    }
                    StartLine::Response(s) => {
                        s.version.len()
                            + s.code.0.checked_ilog10().map_or(1, |d| d as usize + 1)
                            + s.reason.len()
                    }
                };
                line + 4
            }
        };
        let fields: usize = self.headers.iter().map(|h| h.encoded_len()).sum();
        start + fields + self.raw_blank.as_deref().map_or(2, str::len)
    }

    /// Appends the encoding to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self.raw_start() {
            Some(raw) => out.extend_from_slice(raw.as_bytes()),
            None => {
                match &self.start {
                    StartLine::Request(r) => {
                        out.extend_from_slice(r.method.as_str().as_bytes());
                        out.push(b' ');
                        out.extend_from_slice(r.uri.as_bytes());
                        out.push(b' ');
                        out.extend_from_slice(r.version.as_bytes());
                    }
                    StartLine::Response(s) => {
                        out.extend_from_slice(s.version.as_bytes());
                        out.push(b' ');
                        out.extend_from_slice(s.code.0.to_string().as_bytes());
                        out.push(b' ');
                        out.extend_from_slice(s.reason.as_bytes());
                    }
                }
                out.extend_from_slice(b"\r\n");
            }
        }
        for h in self.headers.iter() {
            h.write_to(out);
        }
        out.extend_from_slice(self.raw_blank.as_deref().unwrap_or("\r\n").as_bytes());
        out.extend_from_slice(&self.body);
        out.extend_from_slice(&self.trailer);
    }

    /// Drops all original text, so the next encoding is canonical (CRLF, `Name: value`).
    pub fn canonicalize(&mut self) {
        self.headers.forget_start();
        self.raw_blank = None;
        self.trailer.clear();
        self.headers.canonicalize();
    }

    /// `true` for a request.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request(_))
    }

    /// The method of a request.
    pub fn method(&self) -> Option<&Method> {
        match &self.start {
            StartLine::Request(r) => Some(&r.method),
            StartLine::Response(_) => None,
        }
    }

    /// The Request-URI of a request.
    pub fn request_uri(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request(r) => Some(&r.uri),
            StartLine::Response(_) => None,
        }
    }

    /// Sets the Request-URI of a request (no effect on a response).
    pub fn set_request_uri(&mut self, uri: impl Into<Text>) {
        if let StartLine::Request(r) = &mut self.start {
            r.uri = uri.into();
            self.headers.forget_start();
        }
    }

    /// The status code of a response.
    pub fn status(&self) -> Option<StatusCode> {
        match &self.start {
            StartLine::Response(s) => Some(s.code),
            StartLine::Request(_) => None,
        }
    }

    /// The value of the first header with this name (compact forms and case resolved).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.value(name)
    }

    /// Appends a header (builder style).
    pub fn with_header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        self.headers.push(name, value);
        self
    }

    /// Sets the body with its Content-Type and a matching Content-Length; an empty
    /// `content_type` removes Content-Type.
    pub fn set_body(&mut self, content_type: &str, body: Vec<u8>) {
        if content_type.is_empty() {
            self.headers.remove("Content-Type");
        } else {
            self.headers.set("Content-Type", content_type);
        }
        self.headers.set("Content-Length", body.len().to_string());
        self.body = body;
        self.trailer.clear();
    }

    /// The method named in CSeq for a response, or the request's own method.
    pub fn cseq_method(&self) -> Option<Method> {
        if let Some((_, method)) = self.headers.split_cseq() {
            return Some(Method::from_token(method));
        }
        cseq_words(self.header("CSeq")?).1.map(Method::from_token)
    }

    /// The CSeq number.
    pub fn cseq_number(&self) -> Option<u32> {
        if let Some((number, _)) = self.headers.split_cseq() {
            return Some(number);
        }
        cseq_words(self.header("CSeq")?).0?.parse().ok()
    }

    /// The Call-ID.
    pub fn call_id(&self) -> Option<&str> {
        self.header("Call-ID")
    }

    /// A short one-line summary: `INVITE sip:bob@cpm.test` or `200 OK (INVITE)`.
    pub fn summary(&self) -> String {
        match &self.start {
            StartLine::Request(r) => format!("{} {}", r.method, r.uri),
            StartLine::Response(s) => match self.cseq_method() {
                Some(m) => format!("{} {} ({})", s.code, s.reason, m),
                None => format!("{} {}", s.code, s.reason),
            },
        }
    }
}

fn partial_error(buf: &[u8]) -> DecodeError {
    DecodeError::new(
        buf.len(),
        "rfc3261/7 message-end",
        "the empty line that ends the header fields",
    )
}

fn is_version(v: &str) -> bool {
    if v == "SIP/2.0" {
        return true;
    }
    let Some(rest) = v.get(..4) else { return false };
    if !rest.eq_ignore_ascii_case("SIP/") {
        return false;
    }
    let num = &v[4..];
    let mut parts = num.split('.');
    matches!((parts.next(), parts.next(), parts.next()),
        (Some(a), Some(b), None) if !a.is_empty() && !b.is_empty()
            && a.bytes().all(|c| c.is_ascii_digit()) && b.bytes().all(|c| c.is_ascii_digit()))
}

fn decode(
    buf: &[u8],
    limits: &Limits,
    stream: bool,
) -> Result<Status<Decoded<Message>>, DecodeError> {
    let mut findings = Vec::new();
    // Leading CRLFs: keep-alives on streams (RFC 5626 3.5.1), tolerated on datagrams (RFC 3261 7.5).
    let mut start = 0;
    while start < buf.len() && (buf[start] == b'\r' || buf[start] == b'\n') {
        start += 1;
    }
    if start == buf.len() {
        return if stream {
            Ok(Status::Partial)
        } else {
            Err(DecodeError::new(start, RULE_START, "a SIP start line"))
        };
    }
    if start > 0 && !stream {
        findings.push(Finding::new(
            "rfc3261/7.5 leading-crlf",
            Severity::Info,
            0,
            "empty lines before the start line are ignored",
        ));
    }
    let Some((line_end, next, cr)) = checked_line_end(buf, start, limits)? else {
        return Ok(Status::Partial);
    };
    let line = match std::str::from_utf8(&buf[start..line_end]) {
        Ok(line) => line,
        Err(e) => {
            return Err(DecodeError::new(
                start + e.valid_up_to(),
                "utf8",
                "UTF-8 text in the start line",
            ))
        }
    };
    let start_line = parse_start_line(line, start, &mut findings)?;
    if !cr {
        findings.push(Finding::new(
            "rfc3261/7 bare-lf",
            Severity::Warning,
            line_end,
            "line ends with a bare LF instead of CRLF",
        ));
    }
    let opts = ScanOptions {
        allow_folding: true,
        colon_rule: "rfc3261/7.3.1 header-colon",
        lf_rule: "rfc3261/7 bare-lf",
    };
    // Fast path for a clean header block; anything unusual goes through scan_fields, which
    // produces the findings and errors.
    let fast = if cr {
        fast_head(buf, next, limits)
    } else {
        None
    };
    let (mut headers, raw_blank, body_offset, summary) = match fast {
        Some(FastHead {
            headers,
            body_offset,
            summary,
        }) => (headers, None, body_offset, summary),
        None => {
            let lf_already = !cr;
            let mut field_findings = Vec::new();
            let Some(block) = scan_fields(buf, next, limits, opts, &mut field_findings)? else {
                return Ok(Status::Partial);
            };
            findings.extend(
                field_findings
                    .into_iter()
                    .filter(|f| !(lf_already && f.rule == "rfc3261/7 bare-lf")),
            );
            let raw_blank = (block.blank_line != "\r\n").then_some(block.blank_line);
            let mut headers = Headers::for_head(block.fields.len());
            headers.set_head(&utf8(buf, 0, next, "the start line")?, next);
            for f in block.fields {
                headers.push_raw(f);
            }
            let mut summary = Summary::default();
            for (i, (h, kind)) in headers.iter_known().enumerate() {
                summary.add(i, kind);
                if kind == Known::ContentLength {
                    summary.length(h, limits)?;
                }
            }
            (headers, raw_blank, block.body_offset, summary)
        }
    };
    let content_length = summary.content_length;
    let body_start = body_offset;
    let available = buf.len() - body_start;
    let (body_len, consumed) = match (content_length, stream) {
        (Some(n), true) => {
            if available < n {
                return Ok(Status::Partial);
            }
            (n, body_start + n)
        }
        (None, true) => {
            findings.push(Finding::new(
                "rfc3261/18.3 content-length-stream",
                Severity::Error,
                body_start,
                "no Content-Length on a stream transport; the body is taken as empty",
            ));
            (0, body_start)
        }
        (Some(n), false) => {
            if available < n {
                return Err(DecodeError::new(
                    buf.len(),
                    RULE_CL,
                    format!(
                        "{n} body bytes as Content-Length says, but the message ends after {available}"
                    ),
                ));
            }
            if available > n {
                findings.push(Finding::new(
                    "rfc3261/18.3 bytes-after-body",
                    Severity::Warning,
                    body_start + n,
                    format!(
                        "{} bytes follow the {n}-byte body that Content-Length announces; they are discarded",
                        available - n
                    ),
                ));
            }
            (n, buf.len())
        }
        (None, false) => {
            if available > limits.max_body {
                return Err(DecodeError::new(
                    body_start + limits.max_body,
                    "limits/body-size",
                    format!("a body of at most {} bytes", limits.max_body),
                ));
            }
            (available, buf.len())
        }
    };
    let body = buf[body_start..body_start + body_len].to_vec();
    let trailer = if stream {
        Vec::new()
    } else {
        buf[body_start + body_len..].to_vec()
    };

    if let Some(i) = summary.cseq {
        if let Some(h) = headers.at(i) {
            let (number, method) = check_cseq(h, summary.cseq_more, &start_line, &mut findings)?;
            // Kept: the rules read a message's CSeq many times.
            headers.keep_cseq(i, number, method);
        }
    }
    check_mandatory(summary.present, &start_line, start, &mut findings);

    let message = Message {
        start: start_line,
        headers,
        body,
        raw_blank,
        trailer,
    };
    if findings.len() > 1 {
        findings.sort_by_key(|f| f.offset);
    }
    Ok(Status::Complete {
        value: Decoded {
            value: message,
            findings,
        },
        consumed,
    })
}

fn parse_start_line(
    line: &str,
    offset: usize,
    findings: &mut Vec<Finding>,
) -> Result<StartLine, DecodeError> {
    if line
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"))
    {
        // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF
        let (version, rest) = line.split_once(' ').ok_or_else(|| {
            DecodeError::new(offset + line.len(), RULE_STATUS, "SP after the SIP version")
        })?;
        if !is_version(version) {
            return Err(DecodeError::new(
                offset,
                RULE_STATUS,
                format!("a SIP version such as SIP/2.0, not {version:?}"),
            ));
        }
        let code_off = offset + version.len() + 1;
        let (code, reason) = match rest.split_once(' ') {
            Some((c, r)) => (c, r),
            None => (rest, ""),
        };
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DecodeError::new(
                code_off,
                RULE_STATUS,
                format!("a three-digit status code, not {code:?}"),
            ));
        }
        let n: u16 = code.parse().unwrap_or(0);
        if !(100..700).contains(&n) {
            return Err(DecodeError::new(
                code_off,
                RULE_STATUS,
                format!("a status code from 100 to 699, not {n}"),
            ));
        }
        if !version.eq("SIP/2.0") {
            findings.push(version_finding(version, offset));
        }
        return Ok(StartLine::Response(StatusLine {
            version: version_text(version),
            code: StatusCode(n),
            reason: Text::new(reason),
        }));
    }
    // Request-Line = Method SP Request-URI SP SIP-Version CRLF
    let [Some(method), Some(uri), Some(version), None] = first_words::<4>(line) else {
        let expected = if line.split_whitespace().count() > 3 {
            "Method SP Request-URI SP SIP-Version, with no whitespace inside the Request-URI"
        } else {
            "Method SP Request-URI SP SIP-Version"
        };
        return Err(DecodeError::new(offset, RULE_START, expected));
    };
    let (spaces, tabs) = line.bytes().fold((0usize, 0usize), |(s, t), b| {
        (s + usize::from(b == b' '), t + usize::from(b == b'\t'))
    });
    if spaces != 2 || tabs > 0 {
        findings.push(Finding::new(
            "rfc3261/7.1 request-line-sp",
            Severity::Warning,
            offset,
            "the request line separates its parts with more than single SP characters",
        ));
    }
    // Method = token (RFC 3261 25.1).
    if !method.bytes().all(is_token_char) {
        return Err(DecodeError::new(
            offset,
            RULE_START,
            format!("a method token, not {method:?}"),
        ));
    }
    // Computed only for an error (as the first occurrence of the URI text in the line).
    let uri_off = || offset + line.find(uri).unwrap_or(0);
    // RFC 3261 19.1: the Request-URI is written without enclosing '<' '>' (RFC 4475 3.1.2.6).
    if uri.starts_with('<') {
        return Err(DecodeError::new(
            uri_off(),
            "rfc3261/19.1 request-uri",
            "a Request-URI without enclosing '<' '>'",
        ));
    }
    if !uri.contains(':') {
        return Err(DecodeError::new(
            uri_off(),
            "rfc3261/19.1 request-uri",
            format!("an absolute Request-URI with a scheme, not {uri:?}"),
        ));
    }
    let ver_off = || offset + line.rfind(version).unwrap_or(0);
    if !is_version(version) {
        return Err(DecodeError::new(
            ver_off(),
            RULE_START,
            format!("a SIP version such as SIP/2.0, not {version:?}"),
        ));
    }
    if version != "SIP/2.0" {
        findings.push(version_finding(version, ver_off()));
    }
    Ok(StartLine::Request(RequestLine {
        method: Method::from_token(method),
        uri: Text::new(uri),
        version: version_text(version),
    }))
}

const SIP_2_0: Text = Text::from_static("SIP/2.0");

/// The version as written (static when it is the usual `SIP/2.0`).
fn version_text(version: &str) -> Text {
    if version == "SIP/2.0" {
        SIP_2_0
    } else {
        Text::new(version)
    }
}

fn version_finding(version: &str, offset: usize) -> Finding {
    if version.eq_ignore_ascii_case("SIP/2.0") {
        Finding::new(
            "rfc3261/7.1 version-case",
            Severity::Info,
            offset,
            format!("SIP version written as {version:?}"),
        )
    } else {
        Finding::new(
            "rfc3261/8.2.2 unsupported-version",
            Severity::Error,
            offset,
            format!("SIP version {version} is not supported (a UAS answers 505)"),
        )
    }
}

/// What the decoder's own checks need from the header fields, gathered in one pass.
#[derive(Default)]
struct Summary {
    /// One bit per [`Known`] kind present.
    present: u16,
    /// Index of the first CSeq, and whether there is another.
    cseq: Option<usize>,
    cseq_more: bool,
    /// The Content-Length every occurrence agrees on.
    content_length: Option<usize>,
}

impl Summary {
    /// Takes field `i` of kind `kind` into account (a Content-Length's value goes to
    /// [`Summary::length`] as well).
    #[inline]
    fn add(&mut self, i: usize, kind: Known) {
        self.present |= kind.bit();
        match kind {
            Known::CSeq if self.cseq.is_some() => self.cseq_more = true,
            Known::CSeq => self.cseq = Some(i),
            _ => {}
        }
    }

    /// A Content-Length field: an error when it is not a non-negative decimal, is too large, or
    /// differs from an earlier one (the fields taken in order).
    fn length(&mut self, h: Header<'_>, limits: &Limits) -> Result<(), DecodeError> {
        let n = content_length(h, limits)?;
        if let Some(prev) = self.content_length {
            if prev != n {
                return Err(DecodeError::new(
                    h.offset,
                    RULE_CL,
                    format!("one Content-Length value, not both {prev} and {n}"),
                ));
            }
        }
        self.content_length = Some(n);
        Ok(())
    }
}

/// A Content-Length value: a non-negative decimal within the body limit.
fn content_length(h: Header<'_>, limits: &Limits) -> Result<usize, DecodeError> {
    let v = h.value.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DecodeError::new(
            h.value_offset,
            RULE_CL,
            format!("a non-negative decimal Content-Length, not {v:?}"),
        ));
    }
    let n: usize = v.parse().map_err(|_| {
        DecodeError::new(
            h.value_offset,
            RULE_CL,
            "a Content-Length that fits in memory",
        )
    })?;
    if n > limits.max_body {
        return Err(DecodeError::new(
            h.value_offset,
            "limits/body-size",
            format!("a body of at most {} bytes, not {n}", limits.max_body),
        ));
    }
    Ok(n)
}

/// A clean message head decoded on the fast path.
struct FastHead {
    headers: Headers,
    body_offset: usize,
    summary: Summary,
}

/// The fast path for the common, clean header block: every line CRLF-terminated, no folding,
/// the name directly followed by the colon, valid UTF-8, within the limits, the blank line
/// present. The head is copied once into the fields' buffer; each field is ranges of it.
/// Returns `None` for anything else, and the caller runs [`scan_fields`], which gives the exact
/// findings and errors; the Content-Length checks return the same errors as there.
fn fast_head(buf: &[u8], next: usize, limits: &Limits) -> Option<FastHead> {
    let mut headers = Headers::for_head(16);
    let mut summary = Summary::default();
    // The Content-Length fields, checked once the text is known to be UTF-8 (more than four:
    // the full scan).
    let mut lengths = [0usize; 4];
    let mut n_lengths = 0;
    let mut pos = next;
    let body_offset = loop {
        // The name: token characters directly followed by the colon (no name: the blank line,
        // or something for the full scan).
        let name_len = buf.get(pos..)?.iter().position(|&b| !is_token_char(b))?;
        if name_len == 0 {
            if buf.get(pos..pos + 2) == Some(b"\r\n") {
                break pos + 2;
            }
            return None;
        }
        if buf[pos + name_len] != b':' {
            return None;
        }
        let mut v = pos + name_len + 1;
        while v < buf.len() && (buf[v] == b' ' || buf[v] == b'\t') {
            v += 1;
        }
        // The line ends at the first LF, which must follow a CR (a bare LF: the full scan).
        let lf = v + memchr::memchr(b'\n', buf.get(v..)?)?;
        if buf[lf - 1] != b'\r' || lf - 1 < v {
            return None;
        }
        let end = lf - 1;
        if end - pos > limits.max_line_len || headers.len() >= limits.max_headers {
            return None;
        }
        let line = &buf[pos..end];
        let mut value_end = end;
        // The ASCII characters `char::is_whitespace` takes (a bare CR among them; no LF can be
        // inside a line).
        while value_end > v
            && matches!(buf[value_end - 1], b' ' | b'\t' | b'\x0b' | b'\x0c' | b'\r')
        {
            value_end -= 1;
        }
        if value_end > v && !buf[value_end - 1].is_ascii() {
            // A non-ASCII character may be Unicode white space: trim as `str::trim_end` does.
            value_end = v + std::str::from_utf8(&buf[v..value_end])
                .ok()?
                .trim_end()
                .len();
        }
        if lf >= u32::MAX as usize {
            // The fields' ranges are 32-bit (no decodable message comes near).
            return None;
        }
        let name_end = pos + name_len;
        let canonical = v == name_end + 2 && buf[name_end + 1] == b' ' && value_end == end;
        let i = headers.len();
        let kind = Known::of_bytes(&line[..name_len]);
        headers.push_span(
            kind,
            pos..name_end,
            v..value_end,
            (!canonical).then_some(pos..lf + 1),
        );
        summary.add(i, kind);
        if kind == Known::ContentLength {
            *lengths.get_mut(n_lengths)? = i;
            n_lengths += 1;
        }
        pos = lf + 1;
    };
    headers.set_head(std::str::from_utf8(buf.get(..body_offset)?).ok()?, next);
    for &i in &lengths[..n_lengths] {
        summary.length(headers.at(i)?, limits).ok()?;
    }
    Some(FastHead {
        headers,
        body_offset,
        summary,
    })
}

/// The first `N` white-space separated words of `v`, as `str::split_whitespace` splits them;
/// an ASCII value without U+000B (the one ASCII character `char::is_whitespace` takes and
/// `u8::is_ascii_whitespace` does not) is split byte by byte, without decoding characters.
fn first_words<const N: usize>(v: &str) -> [Option<&str>; N] {
    let mut out = [None; N];
    if v.is_ascii() && !v.as_bytes().contains(&0x0b) {
        for (o, w) in out.iter_mut().zip(v.split_ascii_whitespace()) {
            *o = Some(w);
        }
    } else {
        for (o, w) in out.iter_mut().zip(v.split_whitespace()) {
            *o = Some(w);
        }
    }
    out
}

/// The first two white-space separated words of a CSeq value (number and method).
fn cseq_words(v: &str) -> (Option<&str>, Option<&str>) {
    // The usual form, `1 MESSAGE` (digits, one space, a token), split without a scan for
    // white space: it has none but the space.
    let b = v.as_bytes();
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits > 0 && b.get(digits) == Some(&b' ') {
        let method = &b[digits + 1..];
        if !method.is_empty() && method.iter().all(|&c| is_token_char(c)) {
            return (v.get(..digits), v.get(digits + 1..));
        }
    }
    let [number, method] = first_words(v);
    (number, method)
}

/// Checks the CSeq field `h`; its sequence number and where its method word is in the value.
fn check_cseq(
    h: Header<'_>,
    more_than_one: bool,
    start: &StartLine,
    findings: &mut Vec<Finding>,
) -> Result<(u32, Range<usize>), DecodeError> {
    let (num, method) = cseq_words(h.value);
    let num = num.unwrap_or("");
    let number = match num.parse::<u32>() {
        Ok(n) if !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => {
            return Err(DecodeError::new(
                h.value_offset,
                RULE_CSEQ,
                format!("a CSeq sequence number below 2**32, not {num:?}"),
            ))
        }
    };
    let Some(method) = method else {
        return Err(DecodeError::new(
            h.value_offset + h.value.len(),
            RULE_CSEQ,
            "a method after the CSeq number",
        ));
    };
    if let StartLine::Request(r) = start {
        if r.method.as_str() != method {
            findings.push(Finding::new(
                "rfc3261/8.1.1.5 cseq-method",
                Severity::Error,
                h.value_offset,
                format!(
                    "CSeq method {method} differs from the request method {}",
                    r.method
                ),
            ));
        }
    }
    if more_than_one {
        findings.push(Finding::new(
            "rfc3261/20.16 cseq-once",
            Severity::Error,
            h.offset,
            "more than one CSeq header",
        ));
    }
    // The method word is a slice of the value.
    let at = (method.as_ptr() as usize).saturating_sub(h.value.as_ptr() as usize);
    Ok((number, at..at + method.len()))
}

fn check_mandatory(present: u16, start: &StartLine, offset: usize, findings: &mut Vec<Finding>) {
    let (names, rule): (&[(&str, Known)], &'static str) = match start {
        StartLine::Request(_) => (
            &[
                ("To", Known::To),
                ("From", Known::From),
                ("CSeq", Known::CSeq),
                ("Call-ID", Known::CallId),
                ("Max-Forwards", Known::MaxForwards),
                ("Via", Known::Via),
            ],
            "rfc3261/8.1.1 mandatory-header",
        ),
        StartLine::Response(_) => (
            &[
                ("To", Known::To),
                ("From", Known::From),
                ("CSeq", Known::CSeq),
                ("Call-ID", Known::CallId),
                ("Via", Known::Via),
            ],
            "rfc3261/8.2.6.2 mandatory-header",
        ),
    };
    for (name, kind) in names {
        if present & kind.bit() == 0 {
            findings.push(Finding::new(
                rule,
                Severity::Error,
                offset,
                format!("mandatory header {name} is missing"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const INVITE: &[u8] = b"INVITE sip:bob@cpm.test SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n\
Max-Forwards: 70\r\n\
To: <sip:bob@cpm.test>\r\n\
From: <sip:alice@cpm.test>;tag=1\r\n\
Call-ID: abc\r\n\
CSeq: 1 INVITE\r\n\
Content-Type: text/plain\r\n\
Content-Length: 5\r\n\
\r\n\
hello";

    #[rstest]
    #[case::clean(b"A: 1\r\nBb:  two \r\nC:\r\nD:\tx\r\nvia: lower\r\nVia: v\r\n\r\nbody")]
    #[case::empty_block(b"\r\n")]
    #[case::space_before_colon(b"A: 1\r\nB : 2\r\n\r\n")]
    #[case::bare_lf(b"A: 1\n\n")]
    #[case::bare_lf_blank(b"A: 1\r\n\nB: 2\r\n\r\n")]
    #[case::folded(b"A: 1\r\n b\r\n\r\n")]
    #[case::bad_utf8(b"A: \xff\r\n\r\n")]
    #[case::no_blank_line(b"A: 1\r\n")]
    #[case::no_colon(b"A 1\r\n\r\n")]
    #[case::unicode_space_at_end(b"A: x\xc2\xa0\r\n\r\n")]
    #[case::mixed_space_at_end(b"A: x \xe3\x80\x80\x0b\t\x0c \r\n\r\n")]
    #[case::bad_content_length(b"Content-Length: x\r\n\r\n")]
    #[case::bare_cr_in_value(b"A: x\ry\r\n\r\n")]
    #[case::bare_cr_after_value(b"A: x\r\r\n\r\n")]
    #[case::value_only_spaces(b"A:  \t \r\n\r\n")]
    #[case::ends_after_colon(b"A:")]
    #[case::ends_in_value(b"A: x")]
    #[case::ends_after_cr(b"A: x\r")]
    fn fast_head_agrees_with_the_full_scan_or_declines(#[case] block: &[u8]) {
        let start = b"MESSAGE sip:a SIP/2.0\r\n";
        let buf = [start.as_slice(), block].concat();
        let limits = Limits::default();
        let opts = ScanOptions {
            allow_folding: true,
            colon_rule: "t/colon",
            lf_rule: "t/lf",
        };
        let mut f = Vec::new();
        let full = scan_fields(&buf, start.len(), &limits, opts, &mut f);
        match fast_head(&buf, start.len(), &limits) {
            Some(fast) => {
                let full = full.unwrap().unwrap();
                assert!(f.is_empty());
                assert_eq!(fast.body_offset, full.body_offset);
                let mut slow = Headers::new();
                for f in full.fields {
                    slow.push_raw(f);
                }
                assert_eq!(fast.headers.len(), slow.len());
                for (a, b) in fast.headers.iter().zip(slow.iter()) {
                    assert_eq!((a.name, a.value), (b.name, b.value));
                    assert_eq!((a.offset, a.value_offset), (b.offset, b.value_offset));
                    let (mut wa, mut wb) = (Vec::new(), Vec::new());
                    a.write_to(&mut wa);
                    b.write_to(&mut wb);
                    assert_eq!(wa, wb);
                }
            }
            None => assert!(
                !f.is_empty() || !matches!(full, Ok(Some(_))) || Message::parse(&buf).is_err(),
                "declined a clean block: {:?}",
                String::from_utf8_lossy(&buf)
            ),
        }
    }

    #[rstest]
    #[case::usual("1 INVITE")]
    #[case::padded(" \t 12  MESSAGE \x0c ")]
    #[case::vertical_tab("7\x0bBYE")]
    #[case::unicode_space("3\u{3000}ACK")]
    #[case::one_word("5")]
    #[case::empty("")]
    #[case::leading_unicode_space("\u{3000}3 ACK")]
    #[case::unicode_after_two_words("3 ACK\u{85}x")]
    #[case::non_ascii_word("3 \u{e9}A")]
    #[case::spaces_only(" \t\x0b ")]
    #[case::three_words("1 INVITE extra")]
    #[case::method_then_unicode_space("1 INVITE\u{3000}x")]
    #[case::method_then_tab("1 INVITE\t")]
    #[case::two_spaces("1  INVITE")]
    #[case::leading_zeros("007 ACK")]
    #[case::number_then_space_only("1 ")]
    #[case::request_line("INVITE sip:b@x SIP/2.0")]
    #[case::request_line_tab("INVITE\tsip:b@x  SIP/2.0 extra")]
    #[case::request_line_nbsp("INVITE sip:b@x\u{a0}SIP/2.0")]
    fn cseq_words_split_as_split_whitespace(#[case] v: &str) {
        let mut it = v.split_whitespace();
        assert_eq!(cseq_words(v), (it.next(), it.next()));
        let mut it = v.split_whitespace();
        assert_eq!(
            first_words::<4>(v),
            [it.next(), it.next(), it.next(), it.next()]
        );
    }

    /// The CSeq as the rules read it, split again from the field's text each time.
    fn cseq_read_again(m: &Message) -> (Option<u32>, Option<Method>) {
        let v = m
            .headers
            .get_all("CSeq")
            .next()
            .map(|h| h.value.to_string());
        let (n, w) = v.as_deref().map(cseq_words).unwrap_or_default();
        (n.and_then(|n| n.parse().ok()), w.map(Method::from_token))
    }

    /// The decoder keeps its split of the first CSeq; what `cseq_number` and `cseq_method` give
    /// from it equals a split of the field's text, for odd spellings and after every kind of
    /// edit (a kept split of a field since replaced or removed would give the old CSeq).
    #[rstest]
    #[case::usual("CSeq: 7 MESSAGE\r\n")]
    #[case::padded("CSeq:   12\t MESSAGE  \r\n")]
    #[case::compact_spelling("cseq: 3 INVITE\r\n")]
    #[case::extension_method("CSeq: 4 FOO\r\n")]
    #[case::two_fields("CSeq: 5 MESSAGE\r\nCSeq: 6 BYE\r\n")]
    #[case::leading_zeros("CSeq: 007 MESSAGE\r\n")]
    #[case::folded("CSeq: 8\r\n MESSAGE\r\n")]
    fn the_kept_cseq_split_follows_the_fields(#[case] cseq: &str) {
        let raw = format!(
            "MESSAGE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKa\r\nTo: <sip:b@x>\r\n\
             From: <sip:a@x>;tag=1\r\nCall-ID: c\r\n{cseq}Max-Forwards: 70\r\n\
             Content-Length: 0\r\n\r\n"
        );
        let m = Message::parse(raw.as_bytes()).unwrap().value;
        let same = |m: &Message, what: &str| {
            assert_eq!(
                (m.cseq_number(), m.cseq_method()),
                cseq_read_again(m),
                "{what}"
            );
        };
        same(&m, "decoded");
        assert!(m.cseq_number().is_some(), "decoded");
        let mut e = m.clone();
        e.headers.insert(0, "X-First", "1");
        same(&e, "a field inserted before");
        let mut e = m.clone();
        e.headers.set("CSeq", "99 BYE");
        same(&e, "set");
        assert_eq!(e.cseq_number(), Some(99));
        let i = m.headers.position("CSeq").unwrap();
        let mut e = m.clone();
        e.headers.replace(i, "CSeq", "42 ACK");
        same(&e, "replaced");
        assert_eq!(e.cseq_method(), Some(Method::Ack));
        let mut e = m.clone();
        e.headers.remove("CSeq");
        same(&e, "removed");
        assert_eq!(e.cseq_number(), None);
        let mut e = m.clone();
        e.headers.remove("CSeq");
        e.headers.push("CSeq", "2 INFO");
        same(&e, "removed and added again");
        assert_eq!(e.cseq_method(), Some(Method::Info));
    }

    /// The body offset is counted, not encoded: it must agree with the encoding for decoded,
    /// edited, canonicalized and built messages, requests and responses.
    #[rstest]
    #[case::decoded(Message::parse(INVITE).unwrap().value)]
    #[case::odd_lines(Message::parse(
        b"MESSAGE sip:b@x SIP/2.0\r\nv:  SIP/2.0/UDP h;branch=z9hG4bK1\r\nt:<sip:b@x>\r\n\
f: <sip:a@x>;tag=1\r\ni: c\r\nCSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\nl: 2\r\n\r\nhi"
    ).unwrap().value)]
    #[case::lf_only(Message::parse(
        b"SIP/2.0 200 OK\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nTo: <sip:b@x>\nFrom: <sip:a@x>;tag=1\n\
Call-ID: c\nCSeq: 1 MESSAGE\nContent-Length: 0\n\n"
    ).unwrap().value)]
    #[case::edited({
        let mut m = Message::parse(INVITE).unwrap().value;
        m.headers.set("Via", "SIP/2.0/TCP other");
        m.headers.push("Subject", "added");
        m
    })]
    #[case::canonicalized({
        let mut m = Message::parse(INVITE).unwrap().value;
        m.canonicalize();
        m
    })]
    #[case::built_request(Message::request(Method::Extension("FOO".into()), "sip:x@y").with_header("A", "b"))]
    #[case::built_response(Message::response(StatusCode(488)).with_header("A", ""))]
    #[case::one_digit_status(Message::response(StatusCode(0)))]
    #[case::trailer({
        let mut m = Message::parse(INVITE).unwrap().value;
        m.trailer = b"\r\n".to_vec();
        m
    })]
    fn body_offset_is_where_the_encoding_puts_the_body(#[case] m: Message) {
        let bytes = m.to_bytes();
        assert_eq!(
            m.body_offset(),
            bytes.len() - m.body.len() - m.trailer.len()
        );
        assert_eq!(&bytes[m.body_offset()..][..m.body.len()], m.body.as_slice());
    }

    #[test]
    fn round_trip_is_byte_exact() {
        let d = Message::parse(INVITE).unwrap();
        assert!(d.findings.is_empty(), "{:?}", d.findings);
        assert_eq!(d.value.to_bytes(), INVITE);
        assert_eq!(d.value.method(), Some(&Method::Invite));
        assert_eq!(d.value.body, b"hello");
    }

    #[test]
    fn only_non_canonical_lines_keep_their_bytes_and_compact_names_count() {
        let odd: &[u8] = b"MESSAGE sip:bob@cpm.test SIP/2.0\r\n\
v: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n\
Max-Forwards:70\r\n\
t:  <sip:bob@cpm.test>\r\n\
f:\t<sip:alice@cpm.test>;tag=1\r\n\
i: abc \r\n\
CSeq: 1 MESSAGE\r\n\
l: 0\r\n\
\r\n";
        let d = Message::parse(odd).unwrap();
        assert!(d.findings.is_empty(), "{:?}", d.findings);
        let kept: Vec<&str> = d
            .value
            .headers
            .iter()
            .filter(|h| h.raw.is_some())
            .map(|h| h.name)
            .collect();
        assert_eq!(kept, ["Max-Forwards", "t", "f", "i"]);
        assert_eq!(d.value.raw_blank, None);
        assert_eq!(d.value.to_bytes(), odd);
        let lf = String::from_utf8_lossy(odd).replace("\r\n\r\n", "\r\n\n");
        let d = Message::parse(lf.as_bytes()).unwrap();
        assert_eq!(d.value.raw_blank.as_deref(), Some("\n"));
        assert_eq!(d.value.to_bytes(), lf.as_bytes());
    }

    #[test]
    fn stream_needs_whole_body() {
        for cut in 0..INVITE.len() {
            let r = Message::decode_stream(&INVITE[..cut], &Limits::default()).unwrap();
            assert!(r.is_partial(), "cut at {cut}");
        }
        let mut two = INVITE.to_vec();
        two.extend_from_slice(INVITE);
        match Message::decode_stream(&two, &Limits::default()).unwrap() {
            Status::Complete { consumed, .. } => assert_eq!(consumed, INVITE.len()),
            Status::Partial => panic!("expected a complete message"),
        }
    }

    /// RFC 3261 7.3.1 / 20.14: Content-Length may repeat (the compact form `l` too) as long as
    /// every value agrees; two different values are an error at the second header. A datagram
    /// and a stream frame the same body either way.
    #[rstest::rstest]
    #[case::equal("Content-Length: 5\r\nContent-Length: 5", None)]
    #[case::equal_compact("l: 5\r\nContent-Length: 5", None)]
    #[case::different("Content-Length: 5\r\nContent-Length: 4", Some("Content-Length: 4"))]
    fn repeated_content_length(#[case] lines: &str, #[case] error_at: Option<&str>) {
        let text = String::from_utf8_lossy(INVITE).replace("Content-Length: 5", lines);
        let bytes = text.as_bytes();
        match error_at {
            None => {
                let d = Message::parse(bytes).unwrap();
                assert_eq!(d.value.body, b"hello");
                assert_eq!(d.value.to_bytes(), bytes);
                // On a stream the next message starts right after the 5 body bytes.
                let mut stream = bytes.to_vec();
                stream.extend_from_slice(b"INVITE sip:");
                match Message::decode_stream(&stream, &Limits::default()).unwrap() {
                    Status::Complete { value, consumed } => {
                        assert_eq!(consumed, bytes.len());
                        assert_eq!(value.value.body, b"hello");
                    }
                    Status::Partial => panic!("expected a complete message"),
                }
            }
            Some(second) => {
                let e = Message::parse(bytes).unwrap_err();
                assert_eq!(e.rule, RULE_CL);
                assert_eq!(e.offset, text.find(second).unwrap(), "{e}");
                assert_eq!(e.expected, "one Content-Length value, not both 5 and 4");
            }
        }
    }

    #[test]
    fn negative_content_length_is_an_error_with_offset() {
        let bad =
            String::from_utf8_lossy(INVITE).replace("Content-Length: 5", "Content-Length: -5");
        let e = Message::parse(bad.as_bytes()).unwrap_err();
        assert_eq!(e.rule, RULE_CL);
        assert_eq!(&bad.as_bytes()[e.offset..e.offset + 2], b"-5");
    }

    #[test]
    fn built_message_is_canonical() {
        let mut m =
            Message::request(Method::Message, "sip:bob@cpm.test").with_header("Call-ID", "x");
        m.set_body("text/plain", b"hi".to_vec());
        assert_eq!(
            m.to_bytes(),
            b"MESSAGE sip:bob@cpm.test SIP/2.0\r\nCall-ID: x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi"
        );
    }
}
