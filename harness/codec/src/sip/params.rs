//! Generic `;name=value` parameter lists (RFC 3261 25.1 generic-param) with quoted-string values.

use std::fmt;

use crate::DecodeError;

const RULE: &str = "rfc3261/25.1 generic-param";

/// One parameter: a name and an optional value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Param {
    /// The name as written (compared case-insensitively).
    pub name: String,
    /// The value: for a quoted string, its content with escapes removed; `None` for a flag.
    pub value: Option<String>,
    /// `true` when the value was (or is to be) written as a quoted string.
    pub quoted: bool,
}

/// An ordered list of parameters with case-insensitive names.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Params(pub Vec<Param>);

pub(crate) fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

fn is_value_char(b: u8) -> bool {
    // token / host (IPv6 references included) / a few lenient extras.
    is_token_char(b) || b"[]:/@?&=$#".contains(&b) || b >= 0x80
}

pub(crate) fn skip_lws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r' | b'\n') {
        i += 1;
    }
    i
}

/// Reads a quoted string starting at `i` (which must hold `"`); returns the unescaped content and
/// the index just past the closing quote. Offsets in errors are relative to `s`.
pub(crate) fn read_quoted(s: &str, i: usize) -> Result<(String, usize), DecodeError> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => {
                // RFC 3261 25.1: quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
                let Some(&c) = b.get(j + 1) else { break };
                out.push(c);
                j += 2;
            }
            b'"' => return Ok((String::from_utf8_lossy(&out).into_owned(), j + 1)),
            c => {
                out.push(c);
                j += 1;
            }
        }
    }
    Err(DecodeError::new(
        i,
        "rfc3261/25.1 quoted-string",
        "a closing '\"' for this quoted string",
    ))
}

/// Splits `s` at every `sep` outside double-quoted strings (a backslash inside quotes escapes
/// the next byte) and outside `<...>`; the pieces keep their whitespace.
pub(crate) fn split_unquoted(s: &str, sep: u8) -> Vec<&str> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let (mut quoted, mut angle, mut start, mut i) = (false, false, 0, 0);
    while i < b.len() {
        match b[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b'<' if !quoted => angle = true,
            b'>' if !quoted => angle = false,
            c if c == sep && !quoted && !angle => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(s.get(start..).unwrap_or(""));
    out
}

/// Writes `s` as a quoted string, escaping `"` and `\`.
pub(crate) fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        if c == '"' || c == '\\' {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}

impl Params {
    /// An empty list.
    pub fn new() -> Self {
        Params(Vec::new())
    }

    /// Parses `*( LWS ";" LWS name [ LWS "=" LWS value ] )` up to the end of `s` (trailing
    /// whitespace allowed). Offsets in errors are relative to `s`.
    pub fn parse(s: &str) -> Result<Params, DecodeError> {
        let (p, end) = Self::parse_prefix(s, 0)?;
        let end = skip_lws(s.as_bytes(), end);
        if end < s.len() {
            return Err(DecodeError::new(end, RULE, "';' before the next parameter"));
        }
        Ok(p)
    }

    /// Parses parameters starting at `start` and stops at the first byte that cannot start
    /// another `;param` (returned as the second element). Offsets are relative to `s`.
    pub fn parse_prefix(s: &str, start: usize) -> Result<(Params, usize), DecodeError> {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = start;
        loop {
            let j = skip_lws(b, i);
            if b.get(j) != Some(&b';') {
                return Ok((Params(out), i));
            }
            let n0 = skip_lws(b, j + 1);
            let mut n1 = n0;
            while n1 < b.len() && is_token_char(b[n1]) {
                n1 += 1;
            }
            if n1 == n0 {
                return Err(DecodeError::new(n0, RULE, "a parameter name after ';'"));
            }
            let name = s[n0..n1].to_owned();
            let k = skip_lws(b, n1);
            if b.get(k) == Some(&b'=') {
                let v0 = skip_lws(b, k + 1);
                if b.get(v0) == Some(&b'"') {
                    let (v, end) = read_quoted(s, v0)?;
                    out.push(Param {
                        name,
                        value: Some(v),
                        quoted: true,
                    });
                    i = end;
                } else {
                    let mut v1 = v0;
                    while v1 < b.len() && is_value_char(b[v1]) {
                        v1 += 1;
                    }
                    if v1 == v0 {
                        return Err(DecodeError::new(v0, RULE, "a parameter value after '='"));
                    }
                    out.push(Param {
                        name,
                        value: Some(s[v0..v1].to_owned()),
                        quoted: false,
                    });
                    i = v1;
                }
            } else {
                out.push(Param {
                    name,
                    value: None,
                    quoted: false,
                });
                i = n1;
            }
        }
    }

    /// Reads `;name[=value]` pieces leniently, for values from peers that the strict
    /// [`Params::parse`] rejects: pieces are split at `;` outside quoted strings (escapes
    /// respected), names and values are trimmed, a quoted value is unquoted when it closes and
    /// kept as written when it does not, and pieces without a name are skipped. Text before the
    /// first `;` is ignored. Never fails; on input the strict parser accepts, the result equals
    /// its result.
    pub fn parse_lenient(s: &str) -> Params {
        let mut out = Vec::new();
        let mut pieces = split_unquoted(s, b';').into_iter();
        pieces.next();
        for piece in pieces {
            let (name, value) = match piece.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim())),
                None => (piece.trim(), None),
            };
            if name.is_empty() {
                continue;
            }
            let (value, quoted) = match value {
                Some(v) if v.starts_with('"') => match read_quoted(v, 0) {
                    Ok((q, end)) if end == v.len() => (Some(q), true),
                    _ => (Some(v.to_owned()), false),
                },
                v => (v.map(str::to_owned), false),
            };
            out.push(Param {
                name: name.to_owned(),
                value,
                quoted,
            });
        }
        Params(out)
    }

    /// The parameter with this name (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.0.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The value of the parameter with this name (quotes and escapes removed); `None` when it is
    /// absent or a flag without a value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.param(name).and_then(|p| p.value.as_deref())
    }

    /// `true` when a parameter with this name is present (with or without a value).
    pub fn has(&self, name: &str) -> bool {
        self.param(name).is_some()
    }

    /// Sets a parameter (replacing one of the same name in place, else appending). A value that
    /// is not a plain token is written as a quoted string.
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        let quoted = value.is_some_and(|v| v.is_empty() || !v.bytes().all(is_value_char));
        self.set_param(Param {
            name: name.to_owned(),
            value: value.map(str::to_owned),
            quoted,
        });
    }

    /// Sets a parameter whose value is always written as a quoted string.
    pub fn set_quoted(&mut self, name: &str, value: &str) {
        self.set_param(Param {
            name: name.to_owned(),
            value: Some(value.to_owned()),
            quoted: true,
        });
    }

    fn set_param(&mut self, p: Param) {
        match self
            .0
            .iter_mut()
            .find(|q| q.name.eq_ignore_ascii_case(&p.name))
        {
            Some(q) => *q = p,
            None => self.0.push(p),
        }
    }

    /// Removes every parameter with this name; returns `true` if one was removed.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.0.len();
        self.0.retain(|p| !p.name.eq_ignore_ascii_case(name));
        before != self.0.len()
    }

    /// Iterates over the parameters in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Param> {
        self.0.iter()
    }

    /// `true` when there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(v) = &self.value {
            f.write_str("=")?;
            if self.quoted {
                write_quoted(f, v)?;
            } else {
                f.write_str(v)?;
            }
        }
        Ok(())
    }
}

/// Writes `;a=1;b`, or nothing for an empty list.
impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.0 {
            write!(f, ";{p}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quoted_flags_and_lws() {
        let p = Params::parse(r#" ; tag = 98asjd8 ;lr; x="a\"b;c" "#).unwrap();
        assert_eq!(p.get("TAG"), Some("98asjd8"));
        assert!(p.has("lr") && p.get("lr").is_none());
        assert_eq!(p.get("x"), Some("a\"b;c"));
        assert_eq!(p.to_string(), r#";tag=98asjd8;lr;x="a\"b;c""#);
    }

    #[test]
    fn unterminated_quote_points_at_quote() {
        let e = Params::parse(";a=\"xyz").unwrap_err();
        assert_eq!(e.offset, 3);
    }

    #[test]
    fn set_replaces_in_place() {
        let mut p = Params::parse(";a=1;b=2").unwrap();
        p.set("A", Some("x y"));
        assert_eq!(p.to_string(), ";A=\"x y\";b=2");
    }

    #[rstest::rstest]
    #[case(" ; tag = 98asjd8 ;lr; x=\"a\\\"b;c\" ")]
    #[case(";branch=z9hG4bK1;rport;received=[::1]")]
    #[case("")]
    fn lenient_agrees_with_strict(#[case] s: &str) {
        assert_eq!(Params::parse_lenient(s), Params::parse(s).unwrap());
    }

    #[test]
    fn lenient_keeps_what_strict_rejects() {
        let p = Params::parse_lenient(r#";a=x y;=z;;b="open;c=1"#);
        assert_eq!(p.get("a"), Some("x y"));
        // The unterminated quote runs to the end: `c` is inside it.
        assert_eq!(p.get("b"), Some("\"open;c=1"));
        assert!(!p.has("c"));
        assert_eq!(p.len(), 2);
    }
}
