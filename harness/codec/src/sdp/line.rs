//! One SDP line `<type>=<value>` (RFC 4566 section 5), kept with its line end for byte-exact
//! re-encoding.

/// One `<type>=<value>` line. Equality compares type and value only.
#[derive(Debug, Clone, Eq, serde::Serialize)]
pub struct Line {
    /// The type letter (`v`, `o`, `m`, `a`, ...).
    pub kind: char,
    /// Everything after `=`.
    pub value: String,
    /// The line end as written (`\r\n`, `\n`, or empty for a last line without one).
    #[serde(skip)]
    pub eol: String,
    /// Offset of the line in the decoded description (0 for built lines).
    #[serde(skip)]
    pub offset: usize,
}

impl PartialEq for Line {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.value == other.value
    }
}

impl Line {
    /// A built line ending in CRLF.
    pub fn new(kind: char, value: impl Into<String>) -> Line {
        Line {
            kind,
            value: value.into(),
            eol: "\r\n".into(),
            offset: 0,
        }
    }

    /// An `a=` line: `a=name` or `a=name:value`.
    pub fn attr(name: &str, value: Option<&str>) -> Line {
        match value {
            Some(v) => Line::new('a', format!("{name}:{v}")),
            None => Line::new('a', name),
        }
    }

    /// For an `a=` line, the attribute name and value (`None` for a property attribute).
    pub fn attribute(&self) -> Option<(&str, Option<&str>)> {
        if self.kind != 'a' {
            return None;
        }
        Some(match self.value.split_once(':') {
            Some((n, v)) => (n, Some(v)),
            None => (self.value.as_str(), None),
        })
    }

    /// Offset of the value (just past `=`) in the decoded description.
    pub fn value_offset(&self) -> usize {
        self.offset + 2
    }

    /// Appends `kind=value` and the line end.
    pub fn write_to(&self, out: &mut String) {
        out.push(self.kind);
        out.push('=');
        out.push_str(&self.value);
        out.push_str(&self.eol);
    }
}
