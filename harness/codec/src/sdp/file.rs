//! RFC 5547 section 6 file-transfer attribute values: file-selector, file-date, file-range.

use crate::DecodeError;
use std::fmt;

const RULE_SEL: &str = "rfc5547/6 file-selector";
const RULE_DATE: &str = "rfc5547/6 file-date";
const RULE_RANGE: &str = "rfc5547/6 file-range";

/// `a=file-selector` (RFC 5547 section 6): selectors separated by SP, each optional.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct FileSelector {
    /// `name:"..."` (quotes removed).
    pub name: Option<String>,
    /// `type:type/subtype[;params]`.
    pub file_type: Option<String>,
    /// `size:<octets>`.
    pub size: Option<u64>,
    /// `hash:<algorithm>:<XX:XX:...>`: the algorithm (e.g. `sha-1`) and the bytes.
    pub hash: Option<(String, Vec<u8>)>,
}

/// Splits `key:value` selectors at spaces outside double quotes; yields (offset, key, value).
fn selectors(s: &str) -> Vec<(usize, &str, &str)> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b' ' || b[i] == b'\t' {
            i += 1;
            continue;
        }
        let start = i;
        let mut quoted = false;
        while i < b.len() && (quoted || (b[i] != b' ' && b[i] != b'\t')) {
            if b[i] == b'"' {
                quoted = !quoted;
            }
            i += 1;
        }
        let item = &s[start..i];
        match item.split_once(':') {
            Some((k, v)) => out.push((start, k, v)),
            None => out.push((start, item, "")),
        }
    }
    out
}

fn unquote<'a>(v: &'a str, off: usize, rule: &'static str) -> Result<&'a str, DecodeError> {
    v.strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .ok_or_else(|| DecodeError::new(off, rule, "a value in double quotes"))
}

fn hex_pairs(v: &str, off: usize) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    let mut pos = off;
    for pair in v.split(':') {
        // RFC 5547 6: hash-value = 2HEX *(":" 2HEX)
        if pair.len() != 2 || !pair.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(DecodeError::new(pos, RULE_SEL, "two hex digits per byte"));
        }
        let byte = u8::from_str_radix(pair, 16)
            .map_err(|_| DecodeError::new(pos, RULE_SEL, "two hex digits per byte"))?;
        out.push(byte);
        pos += 3;
    }
    Ok(out)
}

impl FileSelector {
    /// Parses the attribute value; error offsets are relative to `s`.
    pub fn parse(s: &str) -> Result<FileSelector, DecodeError> {
        let mut sel = FileSelector::default();
        for (off, key, value) in selectors(s) {
            let voff = off + key.len() + 1;
            match key {
                "name" => sel.name = Some(unquote(value, voff, RULE_SEL)?.to_owned()),
                "type" => {
                    if !value.contains('/') {
                        return Err(DecodeError::new(
                            voff,
                            RULE_SEL,
                            "a media type type/subtype",
                        ));
                    }
                    sel.file_type = Some(value.to_owned())
                }
                "size" => {
                    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(DecodeError::new(voff, RULE_SEL, "a decimal size in octets"));
                    }
                    sel.size = Some(value.parse().map_err(|_| {
                        DecodeError::new(voff, RULE_SEL, "a size that fits 64 bits")
                    })?)
                }
                "hash" => {
                    let Some((alg, hex)) = value.split_once(':') else {
                        return Err(DecodeError::new(
                            voff,
                            RULE_SEL,
                            "hash:<algorithm>:<hex pairs>",
                        ));
                    };
                    sel.hash = Some((alg.to_owned(), hex_pairs(hex, voff + alg.len() + 1)?));
                }
                _ => {
                    return Err(DecodeError::new(
                        off,
                        RULE_SEL,
                        "a selector name:, type:, size: or hash:",
                    ))
                }
            }
        }
        Ok(sel)
    }
}

impl fmt::Display for FileSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(n) = &self.name {
            parts.push(format!("name:\"{n}\""));
        }
        if let Some(t) = &self.file_type {
            parts.push(format!("type:{t}"));
        }
        if let Some(s) = self.size {
            parts.push(format!("size:{s}"));
        }
        if let Some((alg, bytes)) = &self.hash {
            let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02X}")).collect();
            parts.push(format!("hash:{alg}:{}", hex.join(":")));
        }
        f.write_str(&parts.join(" "))
    }
}

/// `a=file-date` (RFC 5547 section 6): `creation:"<RFC 2822 date>"` and/or `modification:` and
/// `read:`, each quoted.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct FileDate {
    /// The creation date as written (quotes removed).
    pub creation: Option<String>,
    /// The modification date.
    pub modification: Option<String>,
    /// The last read date.
    pub read: Option<String>,
}

impl FileDate {
    /// Parses the attribute value; error offsets are relative to `s`.
    pub fn parse(s: &str) -> Result<FileDate, DecodeError> {
        let mut d = FileDate::default();
        for (off, key, value) in selectors(s) {
            let v = Some(unquote(value, off + key.len() + 1, RULE_DATE)?.to_owned());
            match key {
                "creation" => d.creation = v,
                "modification" => d.modification = v,
                "read" => d.read = v,
                _ => {
                    return Err(DecodeError::new(
                        off,
                        RULE_DATE,
                        "creation:, modification: or read:",
                    ))
                }
            }
        }
        if d == FileDate::default() {
            return Err(DecodeError::new(
                0,
                RULE_DATE,
                "at least one date parameter",
            ));
        }
        Ok(d)
    }
}

impl fmt::Display for FileDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        for (k, v) in [
            ("creation", &self.creation),
            ("modification", &self.modification),
            ("read", &self.read),
        ] {
            if let Some(v) = v {
                parts.push(format!("{k}:\"{v}\""));
            }
        }
        f.write_str(&parts.join(" "))
    }
}

/// `a=file-range:<start>-<stop|*>` (RFC 5547 section 6), 1-based, `stop` `None` for `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct FileRange {
    /// First octet, counted from 1.
    pub start: u64,
    /// Last octet (inclusive), `None` for `*` (to the end of the file).
    pub stop: Option<u64>,
}

impl FileRange {
    /// Parses the attribute value; error offsets are relative to `s`.
    pub fn parse(s: &str) -> Result<FileRange, DecodeError> {
        let Some((a, b)) = s.split_once('-') else {
            return Err(DecodeError::new(
                s.len(),
                RULE_RANGE,
                "<start>-<stop> or <start>-*",
            ));
        };
        let num = |t: &str, off: usize| -> Result<u64, DecodeError> {
            if t.is_empty() || !t.bytes().all(|c| c.is_ascii_digit()) {
                return Err(DecodeError::new(
                    off,
                    RULE_RANGE,
                    "a decimal octet position",
                ));
            }
            t.parse()
                .map_err(|_| DecodeError::new(off, RULE_RANGE, "a position that fits 64 bits"))
        };
        let start = num(a, 0)?;
        if start == 0 {
            return Err(DecodeError::new(0, RULE_RANGE, "a start of at least 1"));
        }
        let stop = if b == "*" {
            None
        } else {
            Some(num(b, a.len() + 1)?)
        };
        if stop.is_some_and(|e| e < start) {
            return Err(DecodeError::new(
                a.len() + 1,
                RULE_RANGE,
                "a stop not before the start",
            ));
        }
        Ok(FileRange { start, stop })
    }
}

impl fmt::Display for FileRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.stop {
            Some(e) => write!(f, "{}-{}", self.start, e),
            None => write!(f, "{}-*", self.start),
        }
    }
}
