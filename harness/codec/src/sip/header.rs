//! SIP header fields: an ordered list that keeps unknown headers verbatim, with case-insensitive
//! and compact-form-aware lookup (RFC 3261 section 7.3). The fields' text lives in one buffer
//! per list (a decoded message's head, copied once); each field is a set of ranges into it.

use std::fmt;
use std::ops::Range;

use crate::text::{split_commas, RawField};
use crate::DecodeError;

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

/// Header field names of the IANA "Header Fields" registry of the SIP parameters (long forms),
/// and the OMA CPM ones; what [`is_registered_name`] knows. Not a limit on what a message may
/// carry (unknown headers are kept verbatim): a scenario that names a header outside it is warned
/// that the name may be misspelt.
const REGISTERED: &[&str] = &[
    "Accept",
    "Accept-Contact",
    "Accept-Encoding",
    "Accept-Language",
    "Accept-Resource-Priority",
    "Alert-Info",
    "AlertMsg-Error",
    "Allow",
    "Allow-Events",
    "Answer-Mode",
    "Attestation-Info",
    "Authentication-Info",
    "Authorization",
    "Call-ID",
    "Call-Info",
    "Cellular-Network-Info",
    "Contact",
    "Content-Disposition",
    "Content-Encoding",
    "Content-ID",
    "Content-Language",
    "Content-Length",
    "Content-Type",
    "CSeq",
    "Date",
    "Error-Info",
    "Event",
    "Expires",
    "Feature-Caps",
    "Flow-Timer",
    "From",
    "Geolocation",
    "Geolocation-Error",
    "Geolocation-Routing",
    "History-Info",
    "Identity",
    "Identity-Info",
    "Info-Package",
    "In-Reply-To",
    "Join",
    "Max-Breadth",
    "Max-Forwards",
    "MIME-Version",
    "Min-Expires",
    "Min-SE",
    "Organization",
    "Origination-Id",
    "P-Access-Network-Info",
    "P-Answer-State",
    "P-Asserted-Identity",
    "P-Asserted-Service",
    "P-Associated-URI",
    "P-Called-Party-ID",
    "P-Charge-Info",
    "P-Charging-Function-Addresses",
    "P-Charging-Vector",
    "P-DCS-Billing-Info",
    "P-DCS-LAES",
    "P-DCS-OSPS",
    "P-DCS-Redirect",
    "P-DCS-Trace-Party-ID",
    "P-Early-Media",
    "P-Media-Authorization",
    "P-Preferred-Identity",
    "P-Preferred-Service",
    "P-Private-Network-Indication",
    "P-Profile-Key",
    "P-Refused-URI-List",
    "P-Served-User",
    "P-User-Database",
    "P-Visited-Network-ID",
    "Path",
    "Permission-Missing",
    "Policy-Contact",
    "Policy-ID",
    "Priority",
    "Priority-Share",
    "Priority-Verstat",
    "Priv-Answer-Mode",
    "Privacy",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Proxy-Require",
    "RAck",
    "Reason",
    "Reason-Phrase",
    "Record-Route",
    "Recv-Info",
    "Refer-Events-At",
    "Refer-Sub",
    "Refer-To",
    "Referred-By",
    "Reject-Contact",
    "Relayed-Charge",
    "Replaces",
    "Reply-To",
    "Request-Disposition",
    "Require",
    "Resource-Priority",
    "Resource-Share",
    "Response-Source",
    "Restoration-Info",
    "Retry-After",
    "Route",
    "RSeq",
    "Security-Client",
    "Security-Server",
    "Security-Verify",
    "Server",
    "Service-Interact-Info",
    "Service-Route",
    "Session-Expires",
    "Session-ID",
    "SIP-ETag",
    "SIP-If-Match",
    "Subject",
    "Subscription-State",
    "Supported",
    "Suppress-If-Match",
    "Target-Dialog",
    "Timestamp",
    "To",
    "Trigger-Consent",
    "Unsupported",
    "User-Agent",
    "User-to-User",
    "Via",
    "Warning",
    "WWW-Authenticate",
    // OMA CPM (Conversation and Contribution identities, session replacement).
    "Conversation-ID",
    "Contribution-ID",
    "InReplyTo-Contribution-ID",
    "Session-Replaces",
];

/// `true` when `name` (long or compact form, any case) is a registered SIP header name.
pub fn is_registered_name(name: &str) -> bool {
    let long = long_name(name);
    REGISTERED.iter().any(|r| r.eq_ignore_ascii_case(long))
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

/// One header field, as a view into its list ([`Headers`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Header<'a> {
    /// Name as written (a compact form stays compact).
    pub name: &'a str,
    /// Value, unfolded and trimmed.
    pub value: &'a str,
    /// The exact original bytes (line end and folding included) while the field is unmodified.
    /// A decoder leaves it `None` when the original is exactly the canonical `Name: value\r\n`
    /// that [`Header::write_to`] writes, so re-encoding stays byte-exact without the copy.
    #[serde(skip)]
    pub raw: Option<&'a str>,
    /// Offset of the field in the decoded message (0 for built fields).
    #[serde(skip)]
    pub offset: usize,
    /// Offset of the value in the decoded message (0 for built fields).
    #[serde(skip)]
    pub value_offset: usize,
}

impl<'a> Header<'a> {
    /// The canonical long name (`v` -> `Via`).
    pub fn long_name(&self) -> &'a str {
        long_name(self.name)
    }

    /// `true` if this field has the given name (case-insensitive, compact forms resolved).
    pub fn is(&self, name: &str) -> bool {
        same_name(self.name, name)
    }

    /// The list elements of the value (split at top-level commas for list headers), each with its
    /// absolute offset in the decoded message.
    pub fn elements(&self) -> Vec<(usize, &'a str)> {
        self.element_spans()
            .into_iter()
            .map(|(o, s)| (self.value_pos(o), s))
            .collect()
    }

    /// The list elements with offsets relative to [`Header::value`].
    fn element_spans(&self) -> Vec<(usize, &'a str)> {
        if is_list_header(self.name) {
            split_commas(self.value)
        } else {
            vec![(0, self.value)]
        }
    }

    /// The absolute offset in the decoded message of byte `idx` of [`Header::value`], accounting
    /// for folded lines (RFC 3261 7.3.1), so errors inside a folded value point at the real byte.
    pub fn value_pos(&self, idx: usize) -> usize {
        let fallback = self.value_offset + idx;
        let Some(raw) = self.raw else {
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
        parse(self.value).map_err(|e| {
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

    /// Writes the field: original bytes when unmodified, else `Name: value\r\n`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self.raw {
            Some(raw) => out.extend_from_slice(raw.as_bytes()),
            None => {
                out.extend_from_slice(self.name.as_bytes());
                out.extend_from_slice(b": ");
                out.extend_from_slice(self.value.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
    }

    /// How many bytes [`Header::write_to`] writes.
    pub fn encoded_len(&self) -> usize {
        match self.raw {
            Some(raw) => raw.len(),
            None => self.name.len() + self.value.len() + 4,
        }
    }
}

/// Header names the decoder checks and lookups ask for most, resolved once per field: a lookup of
/// one of these compares a byte per field instead of names. Two names have the same kind exactly
/// when [`same_name`] says they name the same header (compact forms resolved); every other name
/// is [`Known::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Known {
    To,
    From,
    CSeq,
    CallId,
    MaxForwards,
    Via,
    ContentLength,
    ContentType,
    Contact,
    UserAgent,
    Other,
}

/// How many kinds there are besides [`Known::Other`].
const KINDS: usize = Known::Other as usize;

impl Known {
    /// This kind's bit in a set of kinds.
    pub(crate) fn bit(self) -> u16 {
        1 << (self as u16)
    }

    /// Classifies a name as [`Header::is`] would match it (case-insensitive, compact forms).
    pub(crate) fn of(name: &str) -> Known {
        Known::of_bytes(name.as_bytes())
    }

    /// [`Known::of`] on the name's bytes.
    #[inline]
    pub(crate) fn of_bytes(name: &[u8]) -> Known {
        // The usual spelling first, without case folding.
        match name {
            b"Via" => return Known::Via,
            b"From" => return Known::From,
            b"To" => return Known::To,
            b"CSeq" => return Known::CSeq,
            b"Call-ID" => return Known::CallId,
            b"Max-Forwards" => return Known::MaxForwards,
            b"Content-Length" => return Known::ContentLength,
            b"Content-Type" => return Known::ContentType,
            b"Contact" => return Known::Contact,
            b"User-Agent" => return Known::UserAgent,
            _ => {}
        }
        let is = |s: &str| name.eq_ignore_ascii_case(s.as_bytes());
        let first = name.first().map_or(0, u8::to_ascii_lowercase);
        match name.len() {
            // The compact forms of these (RFC 3261 7.3.3).
            1 => match first {
                b't' => Known::To,
                b'v' => Known::Via,
                b'f' => Known::From,
                b'i' => Known::CallId,
                b'l' => Known::ContentLength,
                b'c' => Known::ContentType,
                b'm' => Known::Contact,
                _ => Known::Other,
            },
            2 if first == b't' && is("To") => Known::To,
            3 if first == b'v' && is("Via") => Known::Via,
            4 if first == b'f' && is("From") => Known::From,
            4 if first == b'c' && is("CSeq") => Known::CSeq,
            7 if first == b'c' && is("Call-ID") => Known::CallId,
            7 if first == b'c' && is("Contact") => Known::Contact,
            10 if first == b'u' && is("User-Agent") => Known::UserAgent,
            12 if first == b'm' && is("Max-Forwards") => Known::MaxForwards,
            12 if first == b'c' && is("Content-Type") => Known::ContentType,
            14 if first == b'c' && is("Content-Length") => Known::ContentLength,
            _ => Known::Other,
        }
    }
}

/// A header name as lookups compare it: its kind, and for [`Known::Other`] its long form.
#[derive(Clone, Copy)]
struct Wanted<'a> {
    kind: Known,
    long: &'a str,
}

impl<'a> Wanted<'a> {
    fn new(name: &'a str) -> Self {
        let kind = Known::of(name);
        Wanted {
            kind,
            // Compared only for `Other`.
            long: if kind == Known::Other {
                long_name(name)
            } else {
                name
            },
        }
    }

    /// `true` when field `s` of `buf` has this name.
    fn matches(&self, buf: &str, s: &Span) -> bool {
        if self.kind != Known::Other || s.kind != Known::Other {
            return s.kind == self.kind;
        }
        long_name(buf.get(range(s.name)).unwrap_or_default()).eq_ignore_ascii_case(self.long)
    }
}

/// Where one field's parts are in its list's buffer (`raw` empty: none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    name: (u32, u32),
    value: (u32, u32),
    raw: (u32, u32),
    offset: u32,
    value_offset: u32,
    /// The name's kind.
    kind: Known,
}

fn range((a, b): (u32, u32)) -> Range<usize> {
    a as usize..b as usize
}

/// The header fields of a message, in order. The text of every field is in one buffer: a
/// decoded message's head is copied into it once and each field is a set of ranges into it, so
/// decoding allocates per message, not per field; a field added or changed appends its text.
///
/// A decoded message's original start line is kept at the front of the same buffer (see
/// [`Headers::original_start`]), so the message needs no copy of its own for it.
#[derive(Clone, Default)]
pub struct Headers {
    buf: String,
    fields: Vec<Span>,
    /// `buf[..start]` is the original start line (leading empty lines and line end included);
    /// 0: none.
    start: u32,
    /// The first field of each kind but [`Known::Other`]: a lookup of a known name reads it
    /// instead of comparing every field.
    first: FirstOfKind,
    /// The first CSeq field as the decoder split it ([`Headers::keep_cseq`]).
    cseq: Option<CSeqSplit>,
}

/// A CSeq value the decoder split: the value's range in the buffer, its number and its method
/// word's range. It stands for the first CSeq field while that field's value is this range (the
/// buffer only grows: a field replaced or added has a new range).
#[derive(Clone, Copy)]
struct CSeqSplit {
    value: (u32, u32),
    number: u32,
    method: (u32, u32),
}

/// The index of the first field of each [`Known`] kind but `Other`, as [`Headers`] keeps it.
#[derive(Clone, Copy)]
struct FirstOfKind([u32; KINDS]);

impl Default for FirstOfKind {
    fn default() -> Self {
        FirstOfKind([u32::MAX; KINDS])
    }
}

impl FirstOfKind {
    /// Field `i`, of kind `kind`, was appended.
    fn appended(&mut self, kind: Known, i: usize) {
        if let Some(slot) = self.0.get_mut(kind as usize) {
            if *slot == u32::MAX {
                *slot = pos(i);
            }
        }
    }

    /// The first field of `kind` (not `Other`).
    fn get(&self, kind: Known) -> Option<usize> {
        let i = *self.0.get(kind as usize)?;
        (i != u32::MAX).then_some(i as usize)
    }

    /// Recomputed from `fields`, after fields were inserted, replaced or removed.
    fn of(fields: &[Span]) -> Self {
        let mut first = FirstOfKind::default();
        for (i, s) in fields.iter().enumerate().rev() {
            if let Some(slot) = first.0.get_mut(s.kind as usize) {
                *slot = pos(i);
            }
        }
        first
    }
}

/// Offsets as the fields store them (a message longer than 4 GiB cannot be decoded: limits).
fn pos(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Headers {
    /// An empty list.
    pub fn new() -> Self {
        Headers::default()
    }

    /// An empty list with room for `fields` fields: a decoder adds them with
    /// [`Headers::push_span`] and then gives their text with [`Headers::set_head`].
    pub(crate) fn for_head(fields: usize) -> Self {
        Headers {
            buf: String::new(),
            fields: Vec::with_capacity(fields),
            start: 0,
            first: FirstOfKind::default(),
            cseq: None,
        }
    }

    /// Sets the text the ranges of [`Headers::push_span`] refer to: `head`, a decoded message
    /// from its first byte, of which the first `start` bytes are the start line. Fields added
    /// with [`Headers::push_raw`] come after.
    pub(crate) fn set_head(&mut self, head: &str, start: usize) {
        // One allocation of the exact size (the buffer is empty: the decoder calls this first).
        self.buf = String::from(head);
        self.start = pos(start.min(head.len()));
        self.cseq = None;
    }

    /// Keeps the decoder's split of field `i`, the first CSeq field: its sequence `number` and
    /// its method word, at `method` within the value. Nothing when field `i` is not that field.
    pub(crate) fn keep_cseq(&mut self, i: usize, number: u32, method: Range<usize>) {
        let Some(s) = self.fields.get(i) else { return };
        if self.first.get(Known::CSeq) != Some(i) || method.end > (s.value.1 - s.value.0) as usize {
            return;
        }
        self.cseq = Some(CSeqSplit {
            value: s.value,
            number,
            method: (s.value.0 + pos(method.start), s.value.0 + pos(method.end)),
        });
    }

    /// The sequence number and method word of the first CSeq field as the decoder split it
    /// ([`Headers::keep_cseq`]); `None` when it did not, or that field was changed since.
    pub(crate) fn split_cseq(&self) -> Option<(u32, &str)> {
        let c = self.cseq.as_ref()?;
        let s = self.fields.get(self.first.get(Known::CSeq)?)?;
        (s.value == c.value).then(|| (c.number, self.buf.get(range(c.method)).unwrap_or_default()))
    }

    /// The decoded message's original start-line bytes (leading empty lines and line end
    /// included), while the start line is unmodified.
    pub fn original_start(&self) -> Option<&str> {
        (self.start > 0).then(|| self.buf.get(..self.start as usize).unwrap_or_default())
    }

    /// Forgets the original start line (it was changed): the next encoding writes it canonical.
    pub(crate) fn forget_start(&mut self) {
        self.start = 0;
    }

    /// Adds a field whose parts are ranges of the head given to [`Headers::set_head`]: name
    /// `name`, value `value`, original line `raw` (`None`: the canonical form); the field's and
    /// the value's offsets in the message are the ranges' starts. The ranges end below 2^32
    /// (the decoder declines anything longer).
    pub(crate) fn push_span(
        &mut self,
        kind: Known,
        name: Range<usize>,
        value: Range<usize>,
        raw: Option<Range<usize>>,
    ) {
        let raw = raw.map_or((0, 0), |r| (r.start as u32, r.end as u32));
        self.first.appended(kind, self.fields.len());
        self.fields.push(Span {
            offset: name.start as u32,
            value_offset: value.start as u32,
            name: (name.start as u32, name.end as u32),
            value: (value.start as u32, value.end as u32),
            raw,
            kind,
        });
    }

    /// Appends `s` to the buffer; its range.
    fn append(&mut self, s: &str) -> (u32, u32) {
        let start = pos(self.buf.len());
        self.buf.push_str(s);
        (start, pos(self.buf.len()))
    }

    /// A field with new text and no original bytes.
    fn span(&mut self, name: &str, value: &str) -> Span {
        Span {
            name: self.append(name),
            value: self.append(value),
            raw: (0, 0),
            offset: 0,
            value_offset: 0,
            kind: Known::of(name),
        }
    }

    /// A decoded field whose text is not a range of the head (an unfolded value).
    pub(crate) fn push_raw(&mut self, f: RawField) {
        let span = Span {
            name: self.append(&f.name),
            value: self.append(&f.value),
            raw: self.append(&f.raw),
            offset: pos(f.offset),
            value_offset: pos(f.value_offset),
            kind: Known::of(&f.name),
        };
        self.first.appended(span.kind, self.fields.len());
        self.fields.push(span);
    }

    fn view(&self, s: &Span) -> Header<'_> {
        let text = |r: (u32, u32)| self.buf.get(range(r)).unwrap_or_default();
        Header {
            name: text(s.name),
            value: text(s.value),
            raw: (s.raw.1 > s.raw.0).then(|| text(s.raw)),
            offset: s.offset as usize,
            value_offset: s.value_offset as usize,
        }
    }

    /// Field `i`.
    pub fn at(&self, i: usize) -> Option<Header<'_>> {
        self.fields.get(i).map(|s| self.view(s))
    }

    /// The index of the first field with this name.
    pub fn position(&self, name: &str) -> Option<usize> {
        let want = Wanted::new(name);
        if want.kind != Known::Other {
            return self.first.get(want.kind);
        }
        self.fields.iter().position(|s| want.matches(&self.buf, s))
    }

    /// The first field with this name.
    pub fn get(&self, name: &str) -> Option<Header<'_>> {
        self.position(name).and_then(|i| self.at(i))
    }

    /// The value of the first field with this name.
    pub fn value(&self, name: &str) -> Option<&str> {
        // The value's text alone (no view of the whole field).
        let s = self.fields.get(self.position(name)?)?;
        Some(self.buf.get(range(s.value)).unwrap_or_default())
    }

    /// Every field with this name, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = Header<'a>> + 'a {
        let want = Wanted::new(name);
        // Fields before the first of a known kind cannot match.
        let skip = match want.kind {
            Known::Other => 0,
            kind => self.first.get(kind).unwrap_or(self.fields.len()),
        };
        self.fields
            .iter()
            .skip(skip)
            .filter(move |s| want.matches(&self.buf, s))
            .map(|s| self.view(s))
    }

    /// Every list element of every field with this name, with absolute offsets: the values of
    /// `Via: a, b` and a second `Via: c` are `a`, `b`, `c`.
    pub fn elements<'a>(&'a self, name: &str) -> Vec<(usize, &'a str)> {
        let want = Wanted::new(name);
        self.fields
            .iter()
            .filter(|s| want.matches(&self.buf, s))
            .flat_map(|s| self.view(s).elements())
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
    pub fn push(&mut self, name: impl AsRef<str>, value: impl AsRef<str>) {
        let span = self.span(name.as_ref(), value.as_ref());
        self.first.appended(span.kind, self.fields.len());
        self.fields.push(span);
    }

    /// Inserts a field at position `i` (at the end when `i` is past it).
    pub fn insert(&mut self, i: usize, name: impl AsRef<str>, value: impl AsRef<str>) {
        let span = self.span(name.as_ref(), value.as_ref());
        self.fields.insert(i.min(self.fields.len()), span);
        self.first = FirstOfKind::of(&self.fields);
    }

    /// Replaces field `i` with a new one (no original bytes); nothing when there is none.
    pub fn replace(&mut self, i: usize, name: impl AsRef<str>, value: impl AsRef<str>) {
        if i < self.fields.len() {
            let span = self.span(name.as_ref(), value.as_ref());
            self.fields[i] = span;
            self.first = FirstOfKind::of(&self.fields);
        }
    }

    /// Replaces the first field with this name (keeping its position) and removes the others;
    /// appends when there is none.
    pub fn set(&mut self, name: &str, value: impl AsRef<str>) {
        match self.position(name) {
            Some(i) => {
                self.replace(i, name, value);
                let want = Wanted::new(name);
                let mut j = i + 1;
                while j < self.fields.len() {
                    if want.matches(&self.buf, &self.fields[j]) {
                        self.fields.remove(j);
                    } else {
                        j += 1;
                    }
                }
                self.first = FirstOfKind::of(&self.fields);
            }
            None => self.push(name, value),
        }
    }

    /// Removes every field with this name; returns how many were removed.
    pub fn remove(&mut self, name: &str) -> usize {
        let before = self.fields.len();
        let want = Wanted::new(name);
        let buf = &self.buf;
        self.fields.retain(|s| !want.matches(buf, s));
        self.first = FirstOfKind::of(&self.fields);
        before - self.fields.len()
    }

    /// Inserts a field at the front (as a proxy does with Via and Record-Route).
    pub fn push_front(&mut self, name: impl AsRef<str>, value: impl AsRef<str>) {
        self.insert(0, name, value);
    }

    /// Drops every field's original bytes, so the next encoding is canonical.
    pub fn canonicalize(&mut self) {
        for s in &mut self.fields {
            s.raw = (0, 0);
        }
    }

    /// Iterates over the fields with their names' kinds.
    pub(crate) fn iter_known(&self) -> impl Iterator<Item = (Header<'_>, Known)> {
        self.fields.iter().map(|s| (self.view(s), s.kind))
    }

    /// Iterates over the fields.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Header<'_>> + DoubleEndedIterator + Clone {
        self.fields.iter().map(|s| self.view(s))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// `true` when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

impl PartialEq for Headers {
    fn eq(&self, other: &Headers) -> bool {
        self.len() == other.len()
            && self.iter().eq(other.iter())
            && self.original_start() == other.original_start()
    }
}

impl Eq for Headers {}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl serde::Serialize for Headers {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
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
        assert_eq!(h.at(0).map(|f| f.value), Some("SIP/2.0/UDP z"));
        assert_eq!(h.at(1).map(|f| f.name), Some("Subject"));
    }

    /// Every spelling a lookup may meet: the kinds' names in several cases, every compact form
    /// and its long name, names that look alike, the empty name.
    fn spellings() -> Vec<String> {
        let mut names: Vec<String> = [
            "To",
            "From",
            "CSeq",
            "Call-ID",
            "Max-Forwards",
            "Via",
            "Content-Length",
            "Content-Type",
            "Contact",
            "User-Agent",
            "Tox",
            "Contacts",
            "Call-Info",
            "",
            "Cseq ",
            "content-typ",
            "Server",
            "x-contact",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for (short, long) in COMPACT {
            names.push(short.to_string());
            names.push(long.to_string());
        }
        let cased: Vec<String> = names
            .iter()
            .flat_map(|n| [n.to_ascii_lowercase(), n.to_ascii_uppercase()])
            .collect();
        names.extend(cased);
        names
    }

    #[test]
    fn a_names_kind_agrees_with_same_name() {
        let names = spellings();
        for a in &names {
            for b in &names {
                let (ka, kb) = (Known::of(a), Known::of(b));
                if ka != Known::Other || kb != Known::Other {
                    assert_eq!(
                        ka == kb,
                        same_name(a, b),
                        "{a:?} ({ka:?}) vs {b:?} ({kb:?})"
                    );
                }
            }
        }
        assert_eq!(Known::of("m"), Known::Contact);
        assert_eq!(Known::of("C"), Known::ContentType);
        assert_eq!(Known::of("user-agent"), Known::UserAgent);
        assert_eq!(Known::of("Subject"), Known::Other);
    }

    #[test]
    fn lookup_finds_every_spelling_of_a_name() {
        let names = spellings();
        for (i, field) in names.iter().enumerate() {
            let mut h = Headers::new();
            h.push("Filler", "0");
            h.push(field, "v");
            for asked in &names {
                let want = same_name(field, asked).then_some(1);
                assert_eq!(
                    h.position(asked),
                    want,
                    "field {field:?} asked as {asked:?} ({i})"
                );
                assert_eq!(
                    h.get_all(asked).count(),
                    usize::from(want.is_some()) + usize::from(same_name("Filler", asked))
                );
            }
        }
    }

    /// The first field of each kind, as [`Headers::position`] reads it, stays the first one a
    /// scan of every field finds, through every kind of edit.
    #[test]
    fn known_lookups_agree_with_a_scan_through_edits() {
        let scan = |h: &Headers, name: &str| h.iter().position(|f| same_name(f.name, name));
        let names = [
            "Via", "v", "To", "CSeq", "Call-ID", "i", "Contact", "Subject", "l",
        ];
        let mut h = Headers::new();
        let check = |h: &Headers, after: &str| {
            for n in names {
                assert_eq!(h.position(n), scan(h, n), "{n} after {after}");
                assert_eq!(
                    h.get_all(n).count(),
                    h.iter().filter(|f| same_name(f.name, n)).count(),
                    "{n} after {after}"
                );
            }
        };
        for (i, n) in names.iter().enumerate() {
            h.push(n, i.to_string());
            check(&h, "push");
        }
        h.push_front("Via", "front");
        check(&h, "push_front");
        h.insert(3, "t", "inserted");
        check(&h, "insert");
        h.replace(0, "Subject", "replaced");
        check(&h, "replace");
        h.set("Via", "set");
        check(&h, "set");
        h.remove("call-id");
        check(&h, "remove");
        h.set("Max-Forwards", "70");
        check(&h, "set (appended)");
    }

    #[test]
    fn editing_keeps_order_and_text() {
        let mut h = Headers::new();
        h.push("A", "1");
        h.push("B", "2");
        h.insert(1, "C", "3");
        h.push_front("D", "4");
        h.replace(2, "E", "5");
        h.insert(99, "F", "6");
        let got: Vec<(&str, &str)> = h.iter().map(|f| (f.name, f.value)).collect();
        assert_eq!(
            got,
            [("D", "4"), ("A", "1"), ("E", "5"), ("B", "2"), ("F", "6")]
        );
        assert_eq!(h.remove("a"), 1);
        assert_eq!(h.position("B"), Some(2));
        let mut same = Headers::new();
        for (n, v) in [("D", "4"), ("E", "5"), ("B", "2"), ("F", "6")] {
            same.push(n, v);
        }
        assert_eq!(h, same);
        assert_eq!(
            serde_json::to_string(&h).unwrap(),
            r#"[{"name":"D","value":"4"},{"name":"E","value":"5"},{"name":"B","value":"2"},{"name":"F","value":"6"}]"#
        );
    }
}
