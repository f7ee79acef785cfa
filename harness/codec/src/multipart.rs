//! multipart/mixed bodies (RFC 2046 5.1) with per-part headers; preamble, delimiters and
//! epilogue are kept so an unmodified decoded body re-encodes byte for byte.

use crate::sip::media_type::MediaType;
use crate::text::{scan_fields, ScanOptions};
use crate::{DecodeError, Decoded, Finding, Limits, Severity};

const RULE_BOUNDARY: &str = "rfc2046/5.1.1 boundary";
const RULE_FIRST: &str = "rfc2046/5.1.1 dash-boundary";
const RULE_CLOSE: &str = "rfc2046/5.1.1 close-delimiter";
const RULE_PART: &str = "rfc2046/5.1.1 body-part";

/// One body part: its header fields and content.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Part {
    /// Header fields in order, (name as written, unfolded value).
    pub headers: Vec<(String, String)>,
    /// The content.
    #[serde(serialize_with = "crate::serde_lossy")]
    pub body: Vec<u8>,
    /// Exact bytes of the header block (blank line included) while unmodified.
    #[serde(skip)]
    pub raw_head: Option<Vec<u8>>,
    /// Exact bytes of the delimiter before this part (the line end before `--boundary`, the
    /// boundary, transport padding and line end) while unmodified.
    #[serde(skip)]
    pub raw_delimiter: Option<Vec<u8>>,
    /// Offset of the part's first header byte in the decoded body (0 for built parts).
    #[serde(skip)]
    pub offset: usize,
}

impl Part {
    /// A part with a Content-Type header and content.
    pub fn new(content_type: &str, body: Vec<u8>) -> Part {
        Part {
            headers: vec![("Content-Type".into(), content_type.into())],
            body,
            raw_head: None,
            raw_delimiter: None,
            offset: 0,
        }
    }

    /// Appends a header (builder style).
    pub fn with_header(mut self, name: &str, value: &str) -> Part {
        self.headers.push((name.into(), value.into()));
        self.raw_head = None;
        self
    }

    /// The value of the first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The parsed Content-Type (`text/plain` when absent, RFC 2046 5.1).
    pub fn content_type(&self) -> Result<MediaType, DecodeError> {
        match self.header("Content-Type") {
            Some(v) => MediaType::parse(v),
            None => Ok(MediaType::new("text", "plain")),
        }
    }

    /// The Content-ID without angle brackets.
    pub fn content_id(&self) -> Option<&str> {
        let v = self.header("Content-ID")?.trim();
        Some(
            v.strip_prefix('<')
                .and_then(|x| x.strip_suffix('>'))
                .unwrap_or(v),
        )
    }
}

/// A multipart body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Multipart {
    /// The boundary (without the leading `--`).
    pub boundary: String,
    /// Bytes before the first delimiter (ignored by readers).
    #[serde(serialize_with = "crate::serde_lossy")]
    pub preamble: Vec<u8>,
    /// The parts in order.
    pub parts: Vec<Part>,
    /// Exact bytes of the close delimiter (line end before it, `--boundary--`) while unmodified.
    #[serde(skip)]
    pub raw_close: Option<Vec<u8>>,
    /// Everything after `--boundary--` (padding, line end, epilogue).
    #[serde(serialize_with = "crate::serde_lossy")]
    pub epilogue: Vec<u8>,
}

/// The `boundary` parameter of a multipart Content-Type value; offsets relative to `content_type`.
pub fn boundary_of(content_type: &str) -> Result<String, DecodeError> {
    let mt = MediaType::parse(content_type)?;
    let b = mt.boundary().ok_or_else(|| {
        DecodeError::new(
            content_type.len(),
            RULE_BOUNDARY,
            "a boundary parameter in the multipart Content-Type",
        )
    })?;
    // RFC 2046 5.1.1: boundary := 0*69<bchars> bcharsnospace
    if b.is_empty() || b.len() > 70 || b.ends_with(' ') {
        return Err(DecodeError::new(
            content_type.find(b).unwrap_or(0),
            RULE_BOUNDARY,
            "a boundary of 1 to 70 characters not ending in a space",
        ));
    }
    Ok(b.to_owned())
}

fn starts_with_at(buf: &[u8], at: usize, pat: &[u8]) -> bool {
    buf.get(at..at + pat.len()) == Some(pat)
}

/// A delimiter found at a line start: (start including the preceding line end, dash start,
/// end of delimiter line, is close).
struct Delim {
    start: usize,
    dash: usize,
    end: usize,
    close: bool,
}

fn find_delims(buf: &[u8], boundary: &str) -> Vec<Delim> {
    let dash: Vec<u8> = [b"--".as_slice(), boundary.as_bytes()].concat();
    let mut out = Vec::new();
    let mut i = 0;
    while i + dash.len() <= buf.len() {
        let at_line_start = i == 0 || buf[i - 1] == b'\n';
        if at_line_start && starts_with_at(buf, i, &dash) {
            let mut j = i + dash.len();
            let close = starts_with_at(buf, j, b"--");
            if close {
                j += 2;
                let start = line_start_before(buf, i);
                out.push(Delim {
                    start,
                    dash: i,
                    end: j,
                    close,
                });
                return out;
            }
            // transport-padding := *LWSP-char, then CRLF
            while j < buf.len() && (buf[j] == b' ' || buf[j] == b'\t') {
                j += 1;
            }
            let line_end = if starts_with_at(buf, j, b"\r\n") {
                Some(j + 2)
            } else if starts_with_at(buf, j, b"\n") {
                Some(j + 1)
            } else {
                None
            };
            if let Some(e) = line_end {
                out.push(Delim {
                    start: line_start_before(buf, i),
                    dash: i,
                    end: e,
                    close: false,
                });
                i = e;
                continue;
            }
        }
        i += 1;
    }
    out
}

fn line_start_before(buf: &[u8], dash: usize) -> usize {
    if dash >= 2 && &buf[dash - 2..dash] == b"\r\n" {
        dash - 2
    } else if dash >= 1 && buf[dash - 1] == b'\n' {
        dash - 1
    } else {
        dash
    }
}

impl Multipart {
    /// An empty multipart body with this boundary.
    pub fn new(boundary: &str) -> Multipart {
        Multipart {
            boundary: boundary.to_owned(),
            preamble: Vec::new(),
            parts: Vec::new(),
            raw_close: None,
            epilogue: b"\r\n".to_vec(),
        }
    }

    /// Appends a part (builder style).
    pub fn with_part(mut self, part: Part) -> Multipart {
        self.parts.push(part);
        self
    }

    /// The Content-Type value for this body: `multipart/mixed;boundary=...`.
    pub fn content_type(&self) -> String {
        let mut mt = MediaType::new("multipart", "mixed");
        mt.params.set("boundary", Some(&self.boundary));
        mt.to_string()
    }

    /// Decodes `body` using the boundary of `content_type`. Errors in the Content-Type have
    /// offsets into `content_type`; all others into `body`.
    pub fn parse_with_type(
        content_type: &str,
        body: &[u8],
    ) -> Result<Decoded<Multipart>, DecodeError> {
        let b = boundary_of(content_type)?;
        Multipart::parse(body, &b, &Limits::default())
    }

    /// Decodes a multipart body with the given boundary.
    pub fn parse(
        buf: &[u8],
        boundary: &str,
        limits: &Limits,
    ) -> Result<Decoded<Multipart>, DecodeError> {
        let mut findings = Vec::new();
        let delims = find_delims(buf, boundary);
        let Some(first) = delims.first() else {
            return Err(DecodeError::new(
                0,
                RULE_FIRST,
                format!("a delimiter line --{boundary}"),
            ));
        };
        if first.close {
            return Err(DecodeError::new(
                first.dash,
                RULE_PART,
                "at least one body part before the close delimiter",
            ));
        }
        let Some(last) = delims.last().filter(|d| d.close) else {
            return Err(DecodeError::new(
                buf.len(),
                RULE_CLOSE,
                format!("the close delimiter --{boundary}--"),
            ));
        };
        if first.start > 0 {
            findings.push(Finding::new(
                "rfc2046/5.1.1 preamble",
                Severity::Info,
                0,
                "the multipart body has a preamble, which readers ignore",
            ));
        }
        let opts = ScanOptions {
            allow_folding: true,
            colon_rule: "rfc2045/3 part-header-colon",
            lf_rule: "rfc2046/5.1.1 bare-lf",
        };
        let mut parts = Vec::new();
        for w in delims.windows(2) {
            let (d, next) = (&w[0], &w[1]);
            // RFC 2046 5.1.1: the line break before a delimiter belongs to it, so two delimiter
            // lines in a row leave no room for the part's header block or empty line.
            if next.start < d.end {
                return Err(DecodeError::new(
                    d.end,
                    RULE_PART,
                    "a body part (header fields or an empty line) between two delimiters",
                ));
            }
            let content = &buf[..next.start];
            if content.len() - d.end > limits.max_body {
                return Err(DecodeError::new(
                    d.end,
                    "limits/body-size",
                    "a smaller body part",
                ));
            }
            let head_start = d.end;
            let (headers, body_start) = if content.get(head_start) == Some(&b'\r')
                && content.get(head_start + 1) == Some(&b'\n')
            {
                (Vec::new(), head_start + 2)
            } else if content.get(head_start) == Some(&b'\n') {
                (Vec::new(), head_start + 1)
            } else {
                match scan_fields(content, head_start, limits, opts, &mut findings)? {
                    Some(block) => (
                        block
                            .fields
                            .into_iter()
                            .map(|f| (f.name, f.value))
                            .collect(),
                        block.body_offset,
                    ),
                    None => {
                        // Re-scan up to the delimiter itself so a malformed last line is
                        // reported where it is.
                        let mut ignored = Vec::new();
                        scan_fields(&buf[..next.dash], head_start, limits, opts, &mut ignored)?;
                        return Err(DecodeError::new(
                            next.start,
                            RULE_PART,
                            "the empty line that ends the part's header fields",
                        ));
                    }
                }
            };
            parts.push(Part {
                headers,
                body: content[body_start..].to_vec(),
                raw_head: Some(content[head_start..body_start].to_vec()),
                raw_delimiter: Some(buf[d.start..d.end].to_vec()),
                offset: head_start,
            });
        }
        Ok(Decoded {
            value: Multipart {
                boundary: boundary.to_owned(),
                preamble: buf[..first.start].to_vec(),
                parts,
                raw_close: Some(buf[last.start..last.end].to_vec()),
                epilogue: buf[last.end..].to_vec(),
            },
            findings,
        })
    }

    /// Encodes the body; an unmodified decoded body gives back its original bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.preamble.clone();
        for (i, p) in self.parts.iter().enumerate() {
            match &p.raw_delimiter {
                Some(d) => out.extend_from_slice(d),
                None => {
                    if i > 0 || !self.preamble.is_empty() {
                        out.extend_from_slice(b"\r\n");
                    }
                    out.extend_from_slice(format!("--{}\r\n", self.boundary).as_bytes());
                }
            }
            match &p.raw_head {
                Some(h) => out.extend_from_slice(h),
                None => {
                    for (n, v) in &p.headers {
                        out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
                    }
                    out.extend_from_slice(b"\r\n");
                }
            }
            out.extend_from_slice(&p.body);
        }
        match &self.raw_close {
            Some(c) => out.extend_from_slice(c),
            None => out.extend_from_slice(format!("\r\n--{}--", self.boundary).as_bytes()),
        }
        out.extend_from_slice(&self.epilogue);
        out
    }

    /// The first part whose Content-Type essence is `essence` (`application/sdp`).
    pub fn find(&self, essence: &str) -> Option<&Part> {
        self.parts
            .iter()
            .find(|p| p.content_type().is_ok_and(|m| m.is_essence(essence)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = b"preamble\r\n--xyz\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n\r\n--xyz  \r\nContent-Type: application/resource-lists+xml\r\nContent-Disposition: recipient-list\r\n\r\n<a/>\r\n--xyz--\r\nepilogue";

    #[test]
    fn parse_and_round_trip() {
        let d = Multipart::parse_with_type("multipart/mixed;boundary=xyz", BODY).unwrap();
        let m = d.value;
        assert_eq!(m.parts.len(), 2);
        assert_eq!(m.parts[0].body, b"v=0\r\n");
        assert_eq!(m.parts[1].body, b"<a/>");
        assert_eq!(
            m.parts[1].header("content-disposition"),
            Some("recipient-list")
        );
        assert_eq!(m.preamble, b"preamble");
        assert_eq!(m.epilogue, b"\r\nepilogue");
        assert!(m.find("application/SDP").is_some());
        assert_eq!(m.to_bytes(), BODY);
    }

    #[test]
    fn built_body_parses_back() {
        let m = Multipart::new("b1")
            .with_part(Part::new("text/plain", b"hi".to_vec()))
            .with_part(
                Part::new("message/cpim", b"x\r\n".to_vec()).with_header("Content-ID", "<c1>"),
            );
        let bytes = m.to_bytes();
        assert_eq!(
            bytes,
            b"--b1\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b1\r\nContent-Type: message/cpim\r\nContent-ID: <c1>\r\n\r\nx\r\n\r\n--b1--\r\n"
        );
        let back = Multipart::parse_with_type(&m.content_type(), &bytes)
            .unwrap()
            .value;
        assert_eq!(back.parts[1].body, b"x\r\n");
        assert_eq!(back.parts[1].content_id(), Some("c1"));
    }

    #[test]
    fn errors() {
        let e = Multipart::parse_with_type("multipart/mixed", b"").unwrap_err();
        assert_eq!(e.rule, RULE_BOUNDARY);
        let e = Multipart::parse(b"--a\r\n\r\nbody", "a", &Limits::default()).unwrap_err();
        assert_eq!((e.rule, e.offset), (RULE_CLOSE, 11));
        let e = Multipart::parse(b"nothing", "a", &Limits::default()).unwrap_err();
        assert_eq!(e.rule, RULE_FIRST);
        let e = Multipart::parse(b"--a\r\nbroken\r\n--a--", "a", &Limits::default()).unwrap_err();
        assert_eq!((e.rule, e.offset), ("rfc2045/3 part-header-colon", 11));
    }
}
