//! The CPIM message (RFC 3862 section 3): message headers, content headers, content; lenient
//! decoding with findings, NS alias resolution and byte-exact re-encoding.

use super::{Builder, Field, NameAddr, NS_CPIM, NS_IMDN};
use crate::text::{scan_fields, FieldBlock, RawField, ScanOptions};
use crate::{DecodeError, Decoded, Finding, Limits, Severity};

const RULE_HEADER_COLON: &str = "rfc3862/3.3 header-colon";
const RULE_CONTENT_COLON: &str = "rfc3862/3.1 content-header-colon";
const RULE_CRLF: &str = "rfc3862/3.1 crlf";
const RULE_BLANK: &str = "rfc3862/3.1 blank-line";
const RULE_CONTENT_BLANK: &str = "rfc3862/3.1 content-blank-line";
const RULE_NS: &str = "rfc3862/4.6 ns";
const RULE_PREFIX: &str = "rfc3862/3.3 name-prefix";
const RULE_FROM: &str = "rfc3862/4.1 from";
const RULE_TO: &str = "rfc3862/4.2 to";
const RULE_DATETIME: &str = "rfc3862/4.4 datetime";
const RULE_IMDN_DATETIME: &str = "rfc5438/6.3 datetime";
const RULE_IMDN_ID: &str = "rfc5438/6.3 message-id";
const RULE_DISPOSITION: &str = "rfc5438/6.2 disposition-notification";
const RULE_CONTENT_TYPE: &str = "rfc3862/3.2 content-type";
const RULE_BODY: &str = "limits/body-size";

/// The dispositions an `imdn.Disposition-Notification` may request (RFC 5438 section 6.2).
pub const DISPOSITIONS: [&str; 4] = [
    "positive-delivery",
    "negative-delivery",
    "display",
    "processing",
];

/// A CPIM message.
///
/// Decoded fields keep their raw text, so [`Message::to_bytes`] on an unmodified decoded message
/// gives back exactly the input; built or changed fields are written canonically.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Message {
    /// Message headers (From, To, DateTime, NS, prefixed extension headers...) in order.
    pub headers: Vec<Field>,
    /// MIME headers of the inner content (Content-Type, Content-Disposition, Content-ID...).
    pub content_headers: Vec<Field>,
    /// The content.
    #[serde(serialize_with = "crate::serde_lossy")]
    pub body: Vec<u8>,
    /// Original blank line after the message headers while unmodified.
    #[serde(skip)]
    pub raw_blank: Option<String>,
    /// Original blank line after the content headers while unmodified.
    #[serde(skip)]
    pub raw_content_blank: Option<String>,
}

/// A header with its namespace resolved from its prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedField<'a> {
    /// Namespace URN; [`NS_CPIM`] for an unprefixed header, `None` for an undeclared prefix.
    pub ns: Option<&'a str>,
    /// The name without prefix.
    pub name: &'a str,
    /// The field itself.
    pub field: &'a Field,
}

impl Default for Message {
    fn default() -> Self {
        Message::new()
    }
}

/// Parses `[prefix SP] "<" urn ">"` (RFC 3862 section 4.6).
fn parse_ns(value: &str) -> Option<(Option<&str>, &str)> {
    let v = value.trim();
    let lt = v.find('<')?;
    let inner = v.get(lt + 1..)?.strip_suffix('>')?;
    if inner.is_empty() || inner.contains('>') {
        return None;
    }
    let prefix = v.get(..lt)?.trim();
    if prefix.contains(char::is_whitespace) || prefix.contains('.') {
        return None;
    }
    Some((
        if prefix.is_empty() {
            None
        } else {
            Some(prefix)
        },
        inner,
    ))
}

fn to_field(raw: RawField) -> Field {
    Field {
        name: raw.name,
        value: raw.value,
        raw: Some(raw.raw),
        offset: raw.offset,
    }
}

impl Message {
    /// An empty message (no headers, no content headers, empty body).
    pub fn new() -> Message {
        Message {
            headers: Vec::new(),
            content_headers: Vec::new(),
            body: Vec::new(),
            raw_blank: None,
            raw_content_blank: None,
        }
    }

    /// A builder for a message.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Decodes a whole CPIM message; see [`parse`].
    pub fn parse(buf: &[u8]) -> Result<Decoded<Message>, DecodeError> {
        parse(buf)
    }

    /// Encodes the message; an unmodified decoded message gives back its original bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body.len());
        for h in &self.headers {
            h.write_to(&mut out);
        }
        out.extend_from_slice(self.raw_blank.as_deref().unwrap_or("\r\n").as_bytes());
        for h in &self.content_headers {
            h.write_to(&mut out);
        }
        out.extend_from_slice(
            self.raw_content_blank
                .as_deref()
                .unwrap_or("\r\n")
                .as_bytes(),
        );
        out.extend_from_slice(&self.body);
        out
    }

    /// Drops all original text, so the next encoding is canonical (CRLF, `Name: value`).
    pub fn canonicalize(&mut self) {
        self.raw_blank = None;
        self.raw_content_blank = None;
        for h in self
            .headers
            .iter_mut()
            .chain(self.content_headers.iter_mut())
        {
            h.raw = None;
            h.offset = 0;
        }
    }

    /// The NS declarations in order: (alias, namespace URN); alias `None` for an unprefixed NS.
    pub fn namespaces(&self) -> Vec<(Option<&str>, &str)> {
        self.headers
            .iter()
            .filter(|h| h.name == "NS")
            .filter_map(|h| parse_ns(&h.value))
            .collect()
    }

    /// The alias declared for namespace `ns`, if any.
    pub fn alias_for(&self, ns: &str) -> Option<&str> {
        self.namespaces()
            .into_iter()
            .find(|(a, u)| a.is_some() && *u == ns)
            .and_then(|(a, _)| a)
    }

    /// Every message header with its namespace resolved. A prefix is resolved against every NS
    /// header of the message (so a declaration after use still resolves; decoding reports it).
    pub fn resolved(&self) -> Vec<ResolvedField<'_>> {
        let decls = self.namespaces();
        self.headers
            .iter()
            .map(|h| match h.name.split_once('.') {
                None => ResolvedField {
                    ns: Some(NS_CPIM),
                    name: &h.name,
                    field: h,
                },
                Some((prefix, name)) => ResolvedField {
                    ns: decls
                        .iter()
                        .find(|(a, _)| *a == Some(prefix))
                        .map(|(_, u)| *u),
                    name,
                    field: h,
                },
            })
            .collect()
    }

    /// Every value of header `name` in namespace `ns` (name compared case-insensitively).
    pub fn get_ns_all(&self, ns: &str, name: &str) -> Vec<&str> {
        self.resolved()
            .into_iter()
            .filter(|r| r.ns == Some(ns) && r.name.eq_ignore_ascii_case(name))
            .map(|r| r.field.value.as_str())
            .collect()
    }

    /// The first value of header `name` in namespace `ns`, whatever alias the message used.
    pub fn get_ns(&self, ns: &str, name: &str) -> Option<&str> {
        self.get_ns_all(ns, name).into_iter().next()
    }

    /// The first value of the unprefixed CPIM header `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_ns(NS_CPIM, name)
    }

    /// The From header (RFC 3862 section 4.1), when present and well-formed.
    pub fn from(&self) -> Option<NameAddr> {
        self.get("From").and_then(NameAddr::parse)
    }

    /// The first To header (RFC 3862 section 4.2), when present and well-formed.
    pub fn to(&self) -> Option<NameAddr> {
        self.get("To").and_then(NameAddr::parse)
    }

    /// Every well-formed To header.
    pub fn to_all(&self) -> Vec<NameAddr> {
        self.get_ns_all(NS_CPIM, "To")
            .into_iter()
            .filter_map(NameAddr::parse)
            .collect()
    }

    /// Every well-formed cc header (RFC 3862 section 4.3).
    pub fn cc(&self) -> Vec<NameAddr> {
        self.get_ns_all(NS_CPIM, "cc")
            .into_iter()
            .filter_map(NameAddr::parse)
            .collect()
    }

    /// The DateTime header (RFC 3862 section 4.4) as written.
    pub fn datetime(&self) -> Option<&str> {
        self.get("DateTime")
    }

    /// The first Subject header (RFC 3862 section 4.5) as written.
    pub fn subject(&self) -> Option<&str> {
        self.get("Subject")
    }

    /// The IMDN Message-ID (RFC 5438 section 6.3), under whatever alias `urn:ietf:params:imdn`
    /// was declared.
    pub fn imdn_message_id(&self) -> Option<&str> {
        self.get_ns(NS_IMDN, "Message-ID")
    }

    /// The requested dispositions (RFC 5438 section 6.2), lower-cased, from every
    /// Disposition-Notification header in the IMDN namespace.
    pub fn disposition_notification(&self) -> Vec<String> {
        self.get_ns_all(NS_IMDN, "Disposition-Notification")
            .into_iter()
            .flat_map(|v| v.split(','))
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// The first content header `name` (case-insensitive).
    pub fn content_header(&self, name: &str) -> Option<&str> {
        self.content_headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// The inner Content-Type.
    pub fn content_type(&self) -> Option<&str> {
        self.content_header("Content-Type")
    }

    /// Sets header `name` in namespace `ns`: replaces the first such header, or appends one,
    /// declaring an alias first when the namespace has none (`alias_hint` is used for it).
    pub fn set_ns(&mut self, ns: &str, alias_hint: &str, name: &str, value: &str) {
        if let Some(i) = self
            .resolved()
            .iter()
            .position(|r| r.ns == Some(ns) && r.name.eq_ignore_ascii_case(name))
        {
            if let Some(h) = self.headers.get_mut(i) {
                h.set_value(value);
            }
            return;
        }
        self.push_ns(ns, alias_hint, name, value);
    }

    /// Appends header `name` in namespace `ns` (declaring an alias as in [`Message::set_ns`]).
    pub fn push_ns(&mut self, ns: &str, alias_hint: &str, name: &str, value: &str) {
        if ns == NS_CPIM {
            self.headers.push(Field::new(name, value));
            return;
        }
        let alias = match self.alias_for(ns) {
            Some(a) => a.to_owned(),
            None => {
                let taken: Vec<String> = self
                    .namespaces()
                    .iter()
                    .filter_map(|(a, _)| a.map(str::to_owned))
                    .collect();
                let mut alias = alias_hint.to_owned();
                let mut n = 1;
                while taken.contains(&alias) {
                    alias = format!("{alias_hint}{n}");
                    n += 1;
                }
                self.headers
                    .push(Field::new("NS", format!("{alias} <{ns}>")));
                alias
            }
        };
        self.headers
            .push(Field::new(format!("{alias}.{name}"), value));
    }
}

/// Decodes a whole CPIM message with default limits.
pub fn parse(buf: &[u8]) -> Result<Decoded<Message>, DecodeError> {
    parse_with(buf, &Limits::default())
}

/// Decodes a whole CPIM message: message headers, blank line, content headers, blank line,
/// content. Missing blank lines and header lines without a colon are errors; deviations from
/// RFC 3862 / RFC 5438 that still decode are findings.
pub fn parse_with(buf: &[u8], limits: &Limits) -> Result<Decoded<Message>, DecodeError> {
    let mut findings = Vec::new();
    // RFC 3862 3.3: message headers do not fold.
    let head_opts = ScanOptions {
        allow_folding: false,
        colon_rule: RULE_HEADER_COLON,
        lf_rule: RULE_CRLF,
    };
    let head: FieldBlock =
        scan_fields(buf, 0, limits, head_opts, &mut findings)?.ok_or_else(|| {
            DecodeError::new(
                buf.len(),
                RULE_BLANK,
                "a blank line after the message headers",
            )
        })?;
    // RFC 3862 3.1: the content is a MIME entity, whose headers may fold.
    let content_opts = ScanOptions {
        allow_folding: true,
        colon_rule: RULE_CONTENT_COLON,
        lf_rule: RULE_CRLF,
    };
    let mut content_findings = Vec::new();
    let content = scan_fields(
        buf,
        head.body_offset,
        limits,
        content_opts,
        &mut content_findings,
    )?
    .ok_or_else(|| {
        DecodeError::new(
            buf.len(),
            RULE_CONTENT_BLANK,
            "a blank line after the content headers",
        )
    })?;
    if !findings.iter().any(|f| f.rule == RULE_CRLF) {
        findings.extend(content_findings);
    } else {
        findings.extend(content_findings.into_iter().filter(|f| f.rule != RULE_CRLF));
    }
    let body = buf.get(content.body_offset..).unwrap_or_default();
    if body.len() > limits.max_body {
        return Err(DecodeError::new(
            content.body_offset + limits.max_body,
            RULE_BODY,
            format!("a body of at most {} bytes", limits.max_body),
        ));
    }
    let msg = Message {
        headers: head.fields.into_iter().map(to_field).collect(),
        content_headers: content.fields.into_iter().map(to_field).collect(),
        body: body.to_vec(),
        raw_blank: Some(head.blank_line),
        raw_content_blank: Some(content.blank_line),
    };
    judge(&msg, head.body_offset, &mut findings);
    findings.sort_by_key(|f| f.offset);
    Ok(Decoded {
        value: msg,
        findings,
    })
}

/// Records the findings of a decoded message; `head_end` is where the content headers start.
fn judge(msg: &Message, head_end: usize, findings: &mut Vec<Finding>) {
    let mut declared: Vec<&str> = Vec::new();
    let all: Vec<&str> = msg.namespaces().iter().filter_map(|(a, _)| *a).collect();
    for h in &msg.headers {
        if h.name == "NS" {
            // RFC 3862 4.6: NS: [prefix] <URI>.
            match parse_ns(&h.value) {
                Some((Some(a), _)) => declared.push(a),
                Some((None, _)) => {}
                None => findings.push(Finding::new(
                    RULE_NS,
                    Severity::Error,
                    h.offset,
                    format!("NS value `{}` is not `prefix <URI>`", h.value),
                )),
            }
            continue;
        }
        if let Some(prefix) = h.prefix() {
            // RFC 3862 3.3: a Name-prefix must be declared by an NS header.
            if !all.contains(&prefix) {
                findings.push(Finding::new(
                    RULE_PREFIX,
                    Severity::Error,
                    h.offset,
                    format!(
                        "header {} uses prefix `{prefix}` that no NS header declares",
                        h.name
                    ),
                ));
            } else if !declared.contains(&prefix) {
                findings.push(Finding::new(
                    RULE_PREFIX,
                    Severity::Warning,
                    h.offset,
                    format!(
                        "header {} uses prefix `{prefix}` before its NS header",
                        h.name
                    ),
                ));
            }
        }
    }
    let first = |name: &str| {
        msg.resolved()
            .into_iter()
            .find(|r| r.ns == Some(NS_CPIM) && r.name.eq_ignore_ascii_case(name))
            .map(|r| (r.field.offset, r.field.value.clone()))
    };
    for (name, rule) in [("From", RULE_FROM), ("To", RULE_TO)] {
        match first(name) {
            // RFC 3862 4.1/4.2: From and To are mandatory, `[Formal-name] <URI>`.
            None => findings.push(Finding::new(
                rule,
                Severity::Error,
                0,
                format!("the message has no {name} header"),
            )),
            Some((off, v)) => {
                if NameAddr::parse(&v).is_none() {
                    findings.push(Finding::new(
                        rule,
                        Severity::Error,
                        off,
                        format!("{name} value `{v}` is not `[name] <URI>`"),
                    ));
                }
            }
        }
    }
    let imdn_id = msg.imdn_message_id();
    let dispositions = msg.get_ns(NS_IMDN, "Disposition-Notification");
    let uses_imdn = imdn_id.is_some() || dispositions.is_some();
    if msg.datetime().is_none() {
        // RFC 5438 6.3: a message carrying IMDN headers must carry DateTime.
        let (rule, severity) = if uses_imdn {
            (RULE_IMDN_DATETIME, Severity::Error)
        } else {
            (RULE_DATETIME, Severity::Info)
        };
        findings.push(Finding::new(
            rule,
            severity,
            0,
            "the message has no DateTime header",
        ));
    }
    if let Some(d) = msg
        .resolved()
        .into_iter()
        .find(|r| r.ns == Some(NS_IMDN) && r.name.eq_ignore_ascii_case("Disposition-Notification"))
    {
        // RFC 5438 6.3: a disposition request needs an imdn.Message-ID.
        if imdn_id.is_none() {
            findings.push(Finding::new(
                RULE_IMDN_ID,
                Severity::Error,
                d.field.offset,
                "Disposition-Notification without an IMDN Message-ID",
            ));
        }
        for v in msg.disposition_notification() {
            if !DISPOSITIONS.contains(&v.as_str()) {
                findings.push(Finding::new(
                    RULE_DISPOSITION,
                    Severity::Warning,
                    d.field.offset,
                    format!("unknown disposition `{v}`"),
                ));
            }
        }
    }
    if msg.content_type().is_none() {
        findings.push(Finding::new(
            RULE_CONTENT_TYPE,
            Severity::Warning,
            head_end,
            "the content has no Content-Type header",
        ));
    }
}
