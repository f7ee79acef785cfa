//! MSRP header fields: an ordered list with case-insensitive lookup that keeps each field's
//! original bytes for byte-exact re-encoding (RFC 4975 section 9).

/// The MSRP header field names of RFC 4975 (9, 14.4), RFC 4976 (relays) and RFC 7701
/// (nicknames); what [`is_registered_name`] knows (a scenario naming another is warned that the
/// name may be misspelt).
const REGISTERED: &[&str] = &[
    "To-Path",
    "From-Path",
    "Message-ID",
    "Success-Report",
    "Failure-Report",
    "Byte-Range",
    "Status",
    "Content-Type",
    "Content-ID",
    "Content-Description",
    "Content-Disposition",
    "Expires",
    "Min-Expires",
    "Max-Expires",
    "Use-Path",
    "WWW-Authenticate",
    "Authorization",
    "Authentication-Info",
    "Use-Nickname",
];

/// `true` when `name` (any case) is a registered MSRP header name.
pub fn is_registered_name(name: &str) -> bool {
    REGISTERED.iter().any(|r| r.eq_ignore_ascii_case(name))
}

/// One header field. Equality compares name and value only.
#[derive(Debug, Clone, Eq, serde::Serialize)]
pub struct Field {
    /// The name as written.
    pub name: String,
    /// The value, outer whitespace trimmed.
    pub value: String,
    /// The original line (line end included); used for encoding while it still matches
    /// `name` and `value`.
    #[serde(skip)]
    pub raw: Option<String>,
    /// Offset of the field in the decoded frame (0 for built fields).
    #[serde(skip)]
    pub offset: usize,
    /// Offset of the value in the decoded frame (0 for built fields).
    #[serde(skip)]
    pub value_offset: usize,
}

impl PartialEq for Field {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.value == other.value
    }
}

impl Field {
    /// A built field (`Name: value`).
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Field {
        Field {
            name: name.into(),
            value: value.into(),
            raw: None,
            offset: 0,
            value_offset: 0,
        }
    }

    /// `true` when the field has this name (case-insensitive).
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// Appends the field: its original line while unmodified, else `Name: value\r\n`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        if let Some(raw) = &self.raw {
            if self.raw_matches(raw) {
                out.extend_from_slice(raw.as_bytes());
                return;
            }
        }
        out.extend_from_slice(self.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(self.value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }

    fn raw_matches(&self, raw: &str) -> bool {
        let Some(rest) = raw.strip_prefix(self.name.as_str()) else {
            return false;
        };
        let Some(v) = rest.trim_start_matches([' ', '\t']).strip_prefix(':') else {
            return false;
        };
        let v = v
            .strip_suffix("\r\n")
            .or_else(|| v.strip_suffix('\n'))
            .unwrap_or(v);
        v.trim_matches([' ', '\t']) == self.value
    }
}

/// Header fields in order.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
#[serde(transparent)]
pub struct Headers(pub Vec<Field>);

impl Headers {
    /// No fields.
    pub fn new() -> Headers {
        Headers(Vec::new())
    }

    /// The value of the first field with this name (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.field(name).map(|f| f.value.as_str())
    }

    /// The first field with this name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.0.iter().find(|f| f.is(name))
    }

    /// Every field with this name.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Field> + 'a {
        self.0.iter().filter(move |f| f.is(name))
    }

    /// The fields in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Field> {
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

    /// Removes every field with this name.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|f| !f.is(name));
    }

    /// Replaces the first field with this name (dropping others) or inserts it in canonical order.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        if let Some(i) = self.0.iter().position(|f| f.is(name)) {
            self.0[i].value = value;
            let mut seen = false;
            self.0.retain(|f| {
                if f.is(name) {
                    let keep = !seen;
                    seen = true;
                    keep
                } else {
                    true
                }
            });
        } else {
            self.insert(Field::new(name, value));
        }
    }

    /// Inserts a field in canonical order (RFC 4975 section 9 and wire-facts 9): To-Path first,
    /// From-Path second, other headers next, Content-* after them, Content-Type last.
    pub fn insert(&mut self, field: Field) {
        let at = if field.is("To-Path") {
            0
        } else if field.is("From-Path") {
            usize::from(self.0.first().is_some_and(|f| f.is("To-Path")))
        } else if field.is("Content-Type") {
            self.0.len()
        } else if field.name.to_ascii_lowercase().starts_with("content-") {
            self.0
                .iter()
                .position(|f| f.is("Content-Type"))
                .unwrap_or(self.0.len())
        } else {
            self.0
                .iter()
                .position(|f| f.name.to_ascii_lowercase().starts_with("content-"))
                .unwrap_or(self.0.len())
        };
        self.0.insert(at, field);
    }

    /// Appends a field at the end, whatever its name.
    pub fn push(&mut self, field: Field) {
        self.0.push(field);
    }
}
