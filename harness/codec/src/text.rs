//! Line and header-block scanning shared by the text protocols (SIP, MSRP, CPIM, MIME parts).
//!
//! The scanner is lenient: it accepts bare LF line ends and folded lines and reports them as
//! findings; it rejects what cannot be read (a header line without a colon, a line over the
//! limit, too many headers) with the byte offset.

use crate::{DecodeError, Finding, Limits, Severity};

/// One physical-or-folded header line as it stood in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawField {
    /// The name as written (case kept).
    pub name: String,
    /// The value with folding replaced by one space and outer whitespace trimmed.
    pub value: String,
    /// The exact bytes of the field, folded continuation lines and line end included.
    pub raw: String,
    /// Offset of the field's first byte in the scanned buffer.
    pub offset: usize,
    /// Offset of the value's first byte in the scanned buffer.
    pub value_offset: usize,
}

/// What [`scan_fields`] found: the fields and where the body starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldBlock {
    /// The fields in order.
    pub fields: Vec<RawField>,
    /// Offset just past the blank line that ends the block.
    pub body_offset: usize,
    /// The exact bytes of the blank line (`\r\n` or `\n`).
    pub blank_line: String,
}

/// Options for [`scan_fields`].
#[derive(Debug, Clone, Copy)]
pub struct ScanOptions {
    /// Continuation lines (starting with SP or HTAB) are folded into the previous field (SIP, MIME).
    pub allow_folding: bool,
    /// Rule cited for a missing colon.
    pub colon_rule: &'static str,
    /// Rule cited for bare LF line ends.
    pub lf_rule: &'static str,
}

/// Finds the end of the line starting at `start`: returns (content end, next line start, had CR).
/// `None` when no LF follows yet.
pub fn line_end(buf: &[u8], start: usize) -> Option<(usize, usize, bool)> {
    let rel = memchr::memchr(b'\n', buf.get(start..)?)?;
    let lf = start + rel;
    if lf > start && buf[lf - 1] == b'\r' {
        Some((lf - 1, lf + 1, true))
    } else {
        Some((lf, lf + 1, false))
    }
}

/// Like [`line_end`], but enforces the line length limit.
pub fn checked_line_end(
    buf: &[u8],
    start: usize,
    limits: &Limits,
) -> Result<Option<(usize, usize, bool)>, DecodeError> {
    match line_end(buf, start) {
        Some((end, next, cr)) => {
            if end - start > limits.max_line_len {
                return Err(DecodeError::new(
                    start + limits.max_line_len,
                    "limits/line-length",
                    format!("a line of at most {} bytes", limits.max_line_len),
                ));
            }
            Ok(Some((end, next, cr)))
        }
        None => {
            if buf.len() - start > limits.max_line_len {
                return Err(DecodeError::new(
                    start + limits.max_line_len,
                    "limits/line-length",
                    format!("a line of at most {} bytes", limits.max_line_len),
                ));
            }
            Ok(None)
        }
    }
}

/// UTF-8 text of `buf[start..end]`, or an error at the first invalid byte.
pub fn utf8(buf: &[u8], start: usize, end: usize, what: &str) -> Result<String, DecodeError> {
    match std::str::from_utf8(&buf[start..end]) {
        Ok(s) => Ok(s.to_owned()),
        Err(e) => Err(DecodeError::new(
            start + e.valid_up_to(),
            "utf8",
            format!("UTF-8 text in {what}"),
        )),
    }
}

/// RFC 3261 25.1 token characters, as a lookup table.
const TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
            );
        i += 1;
    }
    t
};

pub(crate) fn is_token_char(b: u8) -> bool {
    TOKEN[usize::from(b)]
}

/// Scans header fields from `start` up to and including the blank line.
///
/// Returns `Ok(None)` when the buffer ends before the blank line (a stream needs more bytes).
pub fn scan_fields(
    buf: &[u8],
    start: usize,
    limits: &Limits,
    opts: ScanOptions,
    findings: &mut Vec<Finding>,
) -> Result<Option<FieldBlock>, DecodeError> {
    let mut fields: Vec<RawField> = Vec::new();
    let mut pos = start;
    let mut lf_reported = false;
    loop {
        let Some((end, next, cr)) = checked_line_end(buf, pos, limits)? else {
            return Ok(None);
        };
        if !cr && !lf_reported {
            findings.push(Finding::new(
                opts.lf_rule,
                Severity::Warning,
                end,
                "line ends with a bare LF instead of CRLF",
            ));
            lf_reported = true;
        }
        if end == pos {
            let blank_line = if cr { "\r\n" } else { "\n" }.to_owned();
            return Ok(Some(FieldBlock {
                fields,
                body_offset: next,
                blank_line,
            }));
        }
        let first = buf[pos];
        if (first == b' ' || first == b'\t') && opts.allow_folding {
            let Some(prev) = fields.last_mut() else {
                return Err(DecodeError::new(
                    pos,
                    opts.colon_rule,
                    "a header field name, not a continuation line",
                ));
            };
            let text = utf8(buf, pos, end, "a folded header line")?;
            let trimmed = text.trim();
            if !trimmed.is_empty() {
                if !prev.value.is_empty() {
                    prev.value.push(' ');
                }
                prev.value.push_str(trimmed);
            }
            prev.raw
                .push_str(&utf8(buf, pos, next, "a folded header line")?);
            findings.push(Finding::new(
                "rfc3261/7.3.1 folding",
                Severity::Info,
                pos,
                format!("header {} is folded over several lines", prev.name),
            ));
            pos = next;
            continue;
        }
        // name: token, optional whitespace, colon.
        let mut i = pos;
        while i < end && is_token_char(buf[i]) {
            i += 1;
        }
        if i == pos {
            return Err(DecodeError::new(
                pos,
                opts.colon_rule,
                "a header field name (a token) at the start of the line",
            ));
        }
        let name_end = i;
        while i < end && (buf[i] == b' ' || buf[i] == b'\t') {
            i += 1;
        }
        if i >= end || buf[i] != b':' {
            return Err(DecodeError::new(
                i,
                opts.colon_rule,
                "':' after the header field name",
            ));
        }
        if name_end != i {
            findings.push(Finding::new(
                "rfc3261/7.3.1 hcolon-whitespace",
                Severity::Info,
                name_end,
                "whitespace between header name and colon",
            ));
        }
        let mut v = i + 1;
        while v < end && (buf[v] == b' ' || buf[v] == b'\t') {
            v += 1;
        }
        if fields.len() >= limits.max_headers {
            return Err(DecodeError::new(
                pos,
                "limits/header-count",
                format!("at most {} header fields", limits.max_headers),
            ));
        }
        let name = utf8(buf, pos, name_end, "a header name")?;
        let value = utf8(buf, v, end, "a header value")?.trim_end().to_owned();
        let raw = utf8(buf, pos, next, "a header line")?;
        fields.push(RawField {
            name,
            value,
            raw,
            offset: pos,
            value_offset: v,
        });
        pos = next;
    }
}

/// Splits a header value at commas that stand outside quoted strings and angle brackets,
/// returning each trimmed element with its offset relative to `value`.
pub fn split_commas(value: &str) -> Vec<(usize, &str)> {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_quote = false;
    let mut in_angle = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_quote => i += 1,
            b'"' => in_quote = !in_quote,
            b'<' if !in_quote => in_angle = true,
            b'>' if !in_quote => in_angle = false,
            b',' if !in_quote && !in_angle => {
                push_trimmed(value, start, i, &mut out);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    push_trimmed(value, start, value.len(), &mut out);
    out
}

fn push_trimmed<'a>(value: &'a str, start: usize, end: usize, out: &mut Vec<(usize, &'a str)>) {
    let piece = &value[start..end.min(value.len())];
    let lead = piece.len() - piece.trim_start().len();
    let t = piece.trim();
    if !t.is_empty() {
        out.push((start + lead, t));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_respects_quotes_and_brackets() {
        let v = r#""Doe, J" <sip:a@b;x=1,2>, <sip:c@d>, "q\",x""#;
        let parts: Vec<&str> = split_commas(v).into_iter().map(|p| p.1).collect();
        assert_eq!(
            parts,
            vec![r#""Doe, J" <sip:a@b;x=1,2>"#, "<sip:c@d>", r#""q\",x""#]
        );
    }

    #[test]
    fn scan_reports_missing_colon_offset() {
        let buf = b"A: 1\r\nBroken line\r\n\r\n";
        let mut f = Vec::new();
        let opts = ScanOptions {
            allow_folding: true,
            colon_rule: "t/colon",
            lf_rule: "t/lf",
        };
        let err = scan_fields(buf, 0, &Limits::default(), opts, &mut f).unwrap_err();
        assert_eq!(err.offset, 13);
        assert_eq!(err.rule, "t/colon");
    }

    #[test]
    fn scan_folds_and_reports_bare_lf() {
        let buf = b"Subject: a\n  b\nX:y\n\nbody";
        let mut f = Vec::new();
        let opts = ScanOptions {
            allow_folding: true,
            colon_rule: "t/colon",
            lf_rule: "t/lf",
        };
        let block = scan_fields(buf, 0, &Limits::default(), opts, &mut f)
            .unwrap()
            .unwrap();
        assert_eq!(block.fields[0].value, "a b");
        assert_eq!(block.fields[0].raw, "Subject: a\n  b\n");
        assert_eq!(block.fields[1].value, "y");
        assert_eq!(&buf[block.body_offset..], b"body");
        assert!(f.iter().any(|x| x.rule == "t/lf"));
    }
}
