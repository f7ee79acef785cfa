//! One CPIM header field (message header or content header), raw text kept for re-encoding.

/// A header field. `name` is the name as written, prefix included (`imdn.Message-ID`).
///
/// A field decoded from bytes keeps its exact original line in `raw`; a field built or changed
/// is written canonically as `Name: value` CRLF.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Field {
    /// Name as written, prefix included.
    pub name: String,
    /// Value with outer whitespace trimmed.
    pub value: String,
    /// Exact original bytes of the line (line end included) while unmodified.
    #[serde(skip)]
    pub raw: Option<String>,
    /// Offset of the field in the decoded buffer (0 for built fields).
    #[serde(skip)]
    pub offset: usize,
}

impl Field {
    /// A built field (no raw text).
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Field {
        Field {
            name: name.into(),
            value: value.into(),
            raw: None,
            offset: 0,
        }
    }

    /// The name prefix before the first `.` (RFC 3862 section 3.4 Name-prefix), if any.
    pub fn prefix(&self) -> Option<&str> {
        self.name.split_once('.').map(|(p, _)| p)
    }

    /// The name without its prefix.
    pub fn local_name(&self) -> &str {
        self.name.split_once('.').map_or(&self.name, |(_, n)| n)
    }

    /// Replaces the value; the field is then written canonically.
    pub fn set_value(&mut self, value: impl Into<String>) {
        self.value = value.into();
        self.raw = None;
    }

    /// Appends the encoding to `out`.
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
