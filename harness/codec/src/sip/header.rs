//! SIP header fields: an ordered list that keeps unknown headers verbatim, with case-insensitive
//! and compact-form-aware lookup (RFC 3261 section 7.3).

use crate::text::{split_commas, RawField};
use crate::{DecodeError, Text};

/// Long and compact forms (RFC 3261 section 7.3.3 and the RFCs that added compact forms).
const COMPACT: &[(&str, &str)] = &[
    ("a", "Accept-Contact"),
    ("b", "Referred-By"),
    ("c", "Content-Type"),
    ("d", "Request-Disposition"),
    ("e", "Content-Encoding"),
    ("f", "From"),
    ("i", "Call-ID"),
    ("j", "Reject-Contact"),
    ("k", "Supported"),
    ("l", "Content-Length"),
    ("m", "Contact"),
    ("n", "Identity-Info"),
    ("o", "Event"),
    ("r", "Refer-To"),
    ("s", "Subject"),
    ("t", "To"),
    ("u", "Allow-Events"),
    ("v", "Via"),
    ("x", "Session-Expires"),
    ("y", "Identity"),
];

/// The long form of a header name: `"v"` -> `"Via"`; other names are returned unchanged.
pub fn long_name(name: &str) -> &str {
    if name.len() == 1 {
        for (short, long) in COMPACT {
            if short.eq_ignore_ascii_case(name) {
                return long;
            }
        }
    }
    name
}

/// `true` when `a` and `b` name the same header (case-insensitive, compact forms resolved).
pub fn same_name(a: &str, b: &str) -> bool {
    long_name(a).eq_ignore_ascii_case(long_name(b))
}

/// Headers whose values contain commas that do not separate list elements (RFC 3261 7.3.1).
const NOT_LISTS: &[&str] = &[
    "WWW-Authenticate",
    "Authorization",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Authentication-Info",
    "Date",
    "Subject",
    "Call-ID",
    "CSeq",
    "Content-Length",
    "Content-Type",
    "Max-Forwards",
    "User-Agent",
    "Server",
    "Organization",
    "Conversation-ID",
    "Contribution-ID",
    "InReplyTo-Contribution-ID",
    "Expires",
    "Retry-After",
    "Refer-To",
    "Referred-By",
    "From",
    "To",
    "Timestamp",
];

/// `true` when a header's value is a comma-separated list that may be split (RFC 3261 7.3.1).
pub fn is_list_header(name: &str) -> bool {
    !NOT_LISTS.iter().any(|n| same_name(n, name))
}

/// One header field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Header {
    /// Name as written (a compact form stays compact).
    pub name: Text,
    /// Value, unfolded and trimmed.
    pub value: Text,
    /// The exact original bytes (line end and folding included) while the field is unmodified.
    /// A decoder leaves it `None` when the original is exactly the canonical `Name: value\r\n`
    /// that [`Header::write_to`] writes, so re-encoding stays byte-exact without the copy.
    #[serde(skip)]
    pub raw: Option<Text>,
    /// Offset of the field in the decoded message (0 for built fields).
    #[serde(skip)]
    pub offset: usize,
    /// Offset of the value in the decoded message (0 for built fields).
    #[serde(skip)]
    pub value_offset: usize,
}

impl Header {
    /// A new field with no original bytes.
    pub fn new(name: impl Into<Text>, value: impl Into<Text>) -> Self {
        Header {
            name: name.into(),
            value: value.into(),
            raw: None,
            offset: 0,
            value_offset: 0,
        }
    }

    /// The canonical long name (`v` -> `Via`).
    pub fn long_name(&self) -> &str {
        long_name(&self.name)
    }

    /// `true` if this field has the given name (case-insensitive, compact forms resolved).
    pub fn is(&self, name: &str) -> bool {
        same_name(&self.name, name)
    }

    /// The list elements of the value (split at top-level commas for list headers), each with its
    /// absolute offset in the decoded message.
    pub fn elements(&self) -> Vec<(usize, &str)> {
        self.element_spans()
            .into_iter()
            .map(|(o, s)| (self.value_pos(o), s))
            .collect()
    }

    /// The list elements with offsets relative to [`Header::value`].
    fn element_spans(&self) -> Vec<(usize, &str)> {
        if is_list_header(&self.name) {
            split_commas(&self.value)
        } else {
            vec![(0, self.value.as_str())]
        }
    }

    /// The absolute offset in the decoded message of byte `idx` of [`Header::value`], accounting
    /// for folded lines (RFC 3261 7.3.1), so errors inside a folded value point at the real byte.
    pub fn value_pos(&self, idx: usize) -> usize {
        let fallback = self.value_offset + idx;
        let Some(raw) = &self.raw else {
            return fallback;
        };
        let Some(rest) = raw.get(self.value_offset.saturating_sub(self.offset)..) else {
            return fallback;
        };
        // Rebuild the unfolded value as text::scan_fields does, noting where each byte came from.
        let mut map: Vec<usize> = Vec::with_capacity(self.value.len());
        let mut line_start = self.value_offset;
        for (n, line) in rest.split_inclusive('\n').enumerate() {
            let body = line.trim_end_matches(['\r', '\n']);
            if n == 0 {
                let t = body.trim_end();
                map.extend((0..t.len()).map(|i| line_start + i));
            } else {
                let lead = body.len() - body.trim_start().len();
                let t = body.trim();
                if !t.is_empty() {
                    if !map.is_empty() {
                        map.push(line_start + lead.saturating_sub(1));
                    }
                    map.extend((0..t.len()).map(|i| line_start + lead + i));
                }
            }
            line_start += line.len();
        }
        if map.len() != self.value.len() {
            return fallback;
        }
        match map.get(idx) {
            Some(&p) => p,
            None => map.last().map_or(fallback, |&p| p + 1 + (idx - map.len())),
        }
    }

    /// Parses the whole value with `parse`, moving error offsets into the decoded message.
    pub fn parse_value<T>(
        &self,
        parse: impl FnOnce(&str) -> Result<T, DecodeError>,
    ) -> Result<T, DecodeError> {
        parse(&self.value).map_err(|e| {
            let at = self.value_pos(e.offset);
            DecodeError { offset: at, ..e }
        })
    }

    /// Parses each list element with `parse`, moving error offsets into the decoded message.
    pub fn parse_elements<T>(
        &self,
        parse: impl Fn(&str) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        self.element_spans()
            .into_iter()
            .map(|(o, s)| {
                parse(s).map_err(|e| {
                    let at = self.value_pos(o + e.offset);
                    DecodeError { offset: at, ..e }
                })
            })
            .collect()
    }

    pub(crate) fn from_raw(f: RawField) -> Self {
        Header {
            name: f.name.into(),
            value: f.value.into(),
            raw: Some(f.raw.into()),
            offset: f.offset,
            value_offset: f.value_offset,
        }
    }

    /// Writes the field: original bytes when unmodified, else `Name: value\r\n`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match &self.raw {
            Some(raw) => out.extend_from_slice(raw.as_bytes()),
            None => {
                out.extend_from_slice(self.name.as_bytes());
                out.extend_from_slice(b": ");
                out.extend_from_slice(self.value.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
    }
}

/// The header fields of a message, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Headers(pub Vec<Header>);

impl Headers {
    /// An empty list.
    pub fn new() -> Self {
        Headers(Vec::new())
    }

    /// The first field with this name.
    pub fn get(&self, name: &str) -> Option<&Header> {
        self.0.iter().find(|h| h.is(name))
    }

    /// The value of the first field with this name.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).map(|h| h.value.as_str())
    }

    /// Every field with this name, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Header> + 'a {
        self.0.iter().filter(move |h| h.is(name))
    }

    /// Every list element of every field with this name, with absolute offsets: the values of
    /// `Via: a, b` and a second `Via: c` are `a`, `b`, `c`.
    pub fn elements<'a>(&'a self, name: &str) -> Vec<(usize, &'a str)> {
        self.0
            .iter()
            .filter(|h| h.is(name))
            .flat_map(|h| h.elements())
            .collect()
    }

    /// Parses every list element of every field with this name with `parse`, in order; error
    /// offsets point into the decoded message (folded lines accounted for).
    pub fn parse_elements<T>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let mut out = Vec::new();
        for h in self.get_all(name) {
            out.extend(h.parse_elements(&parse)?);
        }
        Ok(out)
    }

    /// `true` if a field with this name is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Appends a field.
    pub fn push(&mut self, name: impl Into<Text>, value: impl Into<Text>) {
        self.0.push(Header::new(name, value));
    }

    /// Replaces the first field with this name (keeping its position) and removes the others;
    /// appends when there is none.
    pub fn set(&mut self, name: &str, value: impl Into<Text>) {
        let value = value.into();
        match self.0.iter().position(|h| h.is(name)) {
            Some(i) => {
                self.0[i] = Header::new(name, value);
                let mut j = i + 1;
                while j < self.0.len() {
                    if self.0[j].is(name) {
                        self.0.remove(j);
                    } else {
                        j += 1;
                    }
                }
            }
            None => self.push(name, value),
        }
    }

    /// Removes every field with this name; returns how many were removed.
    pub fn remove(&mut self, name: &str) -> usize {
        let before = self.0.len();
        self.0.retain(|h| !h.is(name));
        before - self.0.len()
    }

    /// Inserts a field at the front (as a proxy does with Via and Record-Route).
    pub fn push_front(&mut self, name: impl Into<Text>, value: impl Into<Text>) {
        self.0.insert(0, Header::new(name, value));
    }

    /// Iterates over the fields.
    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.0.iter()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// `true` when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_and_case_insensitive_lookup() {
        let mut h = Headers::new();
        h.push("v", "SIP/2.0/UDP a");
        h.push("VIA", "SIP/2.0/UDP b, SIP/2.0/TCP c");
        h.push("Subject", "x, y");
        assert_eq!(h.elements("Via").len(), 3);
        assert_eq!(h.elements("subject").len(), 1);
        assert_eq!(h.value("via"), Some("SIP/2.0/UDP a"));
        h.set("Via", "SIP/2.0/UDP z");
        assert_eq!(h.get_all("Via").count(), 1);
        assert_eq!(h.0[0].value, "SIP/2.0/UDP z");
    }
}
