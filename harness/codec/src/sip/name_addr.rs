//! name-addr / addr-spec values with header parameters (RFC 3261 20.10, 20.20, 20.39, 25.1):
//! From, To, Contact, Route, Record-Route, Referred-By, Refer-To, P-Asserted-Identity and
//! P-Preferred-Identity.

use std::fmt;

use super::message::Message;
use super::params::{read_quoted, skip_lws, split_unquoted, write_quoted, Params};
use super::uri::Uri;
use crate::DecodeError;

const RULE: &str = "rfc3261/25.1 name-addr";

/// An address with optional display name and header parameters (`tag`, `expires`, feature tags).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NameAddr {
    /// The display name, quotes and escapes removed (`None` when absent).
    pub display: Option<String>,
    /// The URI.
    pub uri: Uri,
    /// Header parameters after the address.
    pub params: Params,
}

impl NameAddr {
    /// An address with no display name and no parameters.
    pub fn new(uri: Uri) -> Self {
        NameAddr {
            display: None,
            uri,
            params: Params::new(),
        }
    }

    /// Parses `[display-name] <uri> *(;param)` or `addr-spec *(;param)`. In the addr-spec form
    /// the URI ends at the first `;`, so any parameters there are header parameters (RFC 3261
    /// 20). Offsets are relative to `s`.
    pub fn parse(s: &str) -> Result<NameAddr, DecodeError> {
        let b = s.as_bytes();
        let i = skip_lws(b, 0);
        if i == b.len() {
            return Err(DecodeError::new(i, RULE, "an address"));
        }
        let mut display = None;
        let mut j = i;
        if b[i] == b'"' {
            let (d, end) = read_quoted(s, i)?;
            display = Some(d);
            j = skip_lws(b, end);
            if b.get(j) != Some(&b'<') {
                return Err(DecodeError::new(
                    j,
                    RULE,
                    "'<' after the quoted display name",
                ));
            }
        } else if let Some(lt) = s.find('<') {
            // display-name as tokens: only when '<' comes before any ';' (else it is addr-spec).
            let semi = s.find(';').unwrap_or(usize::MAX);
            if lt < semi {
                let name = s[i..lt].trim();
                // RFC 3261 25.1: display-name = *(token LWS) / quoted-string.
                if let Some(bad) = s[i..lt].bytes().position(|c| {
                    !(super::params::is_token_char(c) || c == b' ' || c == b'\t' || c >= 0x80)
                }) {
                    return Err(DecodeError::new(
                        i + bad,
                        "rfc3261/25.1 display-name",
                        "a display name of tokens, or a quoted string",
                    ));
                }
                if !name.is_empty() {
                    display = Some(name.to_owned());
                }
                j = lt;
            }
        }
        if b.get(j) == Some(&b'<') {
            let close = s[j..]
                .find('>')
                .map(|c| j + c)
                .ok_or_else(|| DecodeError::new(j, RULE, "'>' closing the address"))?;
            let uri = Uri::parse(&s[j + 1..close]).map_err(|e| e.shifted(j + 1))?;
            let params = Params::parse(&s[close + 1..]).map_err(|e| e.shifted(close + 1))?;
            return Ok(NameAddr {
                display,
                uri,
                params,
            });
        }
        // addr-spec: the URI ends at ';' or whitespace.
        let end = s[i..]
            .find(|c: char| c == ';' || c.is_ascii_whitespace() || c == ',')
            .map_or(s.len(), |e| i + e);
        let uri_txt = &s[i..end];
        if uri_txt.contains('?') {
            // RFC 3261 20: a URI with headers must be enclosed in '<' and '>'.
            return Err(DecodeError::new(
                i + uri_txt.find('?').unwrap_or(0),
                "rfc3261/20 addr-spec-brackets",
                "'<' '>' around a URI that has headers",
            ));
        }
        let uri = Uri::parse(uri_txt).map_err(|e| e.shifted(i))?;
        let params = Params::parse(&s[end..]).map_err(|e| e.shifted(end))?;
        Ok(NameAddr {
            display,
            uri,
            params,
        })
    }

    /// Parses leniently ([`AddrText::read`]): only the URI must parse ([`Uri::parse`]); the
    /// display name and header parameters are taken as found. Offsets in errors are relative to
    /// `s`.
    pub fn parse_lenient(s: &str) -> Result<NameAddr, DecodeError> {
        let t = AddrText::read(s);
        let at = t.uri.as_ptr() as usize - s.as_ptr() as usize;
        let uri = Uri::parse(t.uri).map_err(|e| e.shifted(at))?;
        Ok(NameAddr {
            display: t.display,
            uri,
            params: t.params,
        })
    }

    /// The `tag` parameter (From, To).
    pub fn tag(&self) -> Option<&str> {
        self.params.get("tag")
    }

    /// Sets the `tag` parameter.
    pub fn set_tag(&mut self, tag: &str) {
        self.params.set("tag", Some(tag));
    }

    /// The `expires` parameter of a Contact, when it is a number.
    pub fn expires(&self) -> Option<u32> {
        self.params.get("expires")?.trim().parse().ok()
    }
}

/// A name-addr or addr-spec value read leniently (peers send From, To and Contact values the
/// strict [`NameAddr::parse`] rejects, and the stack must still answer them): the parts are
/// found, with quoted strings, escapes and angle brackets respected, but the address is not
/// validated. The header parameters are [`Params::parse_lenient`]'s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrText<'a> {
    /// The display name: a quoted one unquoted and unescaped, a token one trimmed.
    pub display: Option<String>,
    /// The URI as written: inside `<` `>` (to the end when `>` is missing), or in the addr-spec
    /// form up to the first `;`; trimmed.
    pub uri: &'a str,
    /// The value without its header parameters, as written (trimmed).
    pub addr: &'a str,
    /// The header parameters (after `>`, or after the URI of an addr-spec).
    pub params: Params,
}

impl<'a> AddrText<'a> {
    /// Reads `s`; never fails.
    pub fn read(s: &'a str) -> AddrText<'a> {
        let b = s.as_bytes();
        // The first '<' outside a quoted display name opens the URI; the first '>' after it
        // closes it (a URI holds no '>'; a quoted header parameter after it may).
        let (mut quoted, mut i) = (false, 0);
        let mut open = None;
        while i < b.len() {
            match b[i] {
                b'\\' if quoted => i += 1,
                b'"' => quoted = !quoted,
                b'<' if !quoted => {
                    open = Some(i);
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        let Some(open) = open else {
            let main = split_unquoted(s, b';').first().copied().unwrap_or("");
            return AddrText {
                display: None,
                uri: main.trim(),
                addr: main.trim(),
                params: Params::parse_lenient(&s[main.len()..]),
            };
        };
        let close = s[open..].find('>').map_or(s.len(), |c| open + c);
        let name = s[..open].trim();
        let display = match read_quoted(name, 0) {
            Ok((d, _)) if name.starts_with('"') => Some(d),
            _ if name.is_empty() => None,
            _ => Some(name.to_owned()),
        };
        let rest = s.get(close + 1..).unwrap_or("");
        AddrText {
            display,
            uri: s[open + 1..close].trim(),
            addr: s[..(close + 1).min(s.len())].trim(),
            params: Params::parse_lenient(rest),
        }
    }

    /// The `tag` parameter (From, To), `None` when absent or empty.
    pub fn tag(&self) -> Option<&str> {
        self.params.get("tag").filter(|t| !t.is_empty())
    }

    /// The value without header parameter `name` (any case): the address as written, then the
    /// other parameters in order.
    pub fn without_param(&self, name: &str) -> String {
        let mut out = self.addr.to_owned();
        for p in self
            .params
            .iter()
            .filter(|p| !p.name.eq_ignore_ascii_case(name))
        {
            out.push(';');
            out.push_str(&p.to_string());
        }
        out
    }
}

/// `true` when two URI or name-addr values name the same address: both URIs parse
/// ([`NameAddr::parse_lenient`]) and are [`Uri::same_address`], or neither parses and their URI
/// texts ([`AddrText::uri`]) are equal. A value that parses never matches one that does not.
pub fn same_address(a: &str, b: &str) -> bool {
    match (NameAddr::parse_lenient(a), NameAddr::parse_lenient(b)) {
        (Ok(x), Ok(y)) => x.uri.same_address(&y.uri),
        (Err(_), Err(_)) => AddrText::read(a).uri == AddrText::read(b).uri,
        _ => false,
    }
}

/// Writes `"Display" <uri>;params` (angle brackets always).
impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            write_quoted(f, d)?;
            f.write_str(" ")?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

impl std::str::FromStr for NameAddr {
    type Err = DecodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NameAddr::parse(s)
    }
}

fn missing(name: &str) -> DecodeError {
    DecodeError::new(
        0,
        "rfc3261/8.1.1 mandatory-header",
        format!("a {name} header field"),
    )
}

impl Message {
    /// The single address of a header such as From or To, with offsets into the message.
    pub fn name_addr(&self, name: &str) -> Result<NameAddr, DecodeError> {
        let h = self.headers.get(name).ok_or_else(|| missing(name))?;
        h.parse_value(NameAddr::parse)
    }

    /// Every address of every field with this name (list headers split at top-level commas).
    pub fn name_addrs(&self, name: &str) -> Result<Vec<NameAddr>, DecodeError> {
        self.headers.parse_elements(name, NameAddr::parse)
    }

    /// The From header.
    pub fn from(&self) -> Result<NameAddr, DecodeError> {
        self.name_addr("From")
    }

    /// The To header.
    pub fn to(&self) -> Result<NameAddr, DecodeError> {
        self.name_addr("To")
    }

    /// The tag of the From header, read leniently ([`AddrText::tag`]).
    pub fn from_tag(&self) -> Option<String> {
        AddrText::read(self.header("From")?)
            .tag()
            .map(str::to_owned)
    }

    /// The tag of the To header, read leniently ([`AddrText::tag`]).
    pub fn to_tag(&self) -> Option<String> {
        AddrText::read(self.header("To")?).tag().map(str::to_owned)
    }

    /// The Contact addresses (empty when there is none). A `Contact: *` (RFC 3261 10.2.2) is an
    /// error here: check [`Message::contact_is_star`] first where it is legal (REGISTER).
    pub fn contacts(&self) -> Result<Vec<NameAddr>, DecodeError> {
        for (off, v) in self.headers.elements("Contact") {
            if v == "*" {
                return Err(DecodeError::new(
                    off,
                    "rfc3261/10.2.2 contact-star",
                    "a Contact address ('*' is only for removing all bindings)",
                ));
            }
        }
        self.name_addrs("Contact")
    }

    /// `true` when the message has `Contact: *` (RFC 3261 10.2.2).
    pub fn contact_is_star(&self) -> bool {
        self.headers
            .elements("Contact")
            .iter()
            .any(|(_, v)| *v == "*")
    }

    /// The Route addresses, in order.
    pub fn routes(&self) -> Result<Vec<NameAddr>, DecodeError> {
        self.name_addrs("Route")
    }

    /// The Record-Route addresses, in order.
    pub fn record_routes(&self) -> Result<Vec<NameAddr>, DecodeError> {
        self.name_addrs("Record-Route")
    }

    /// The Referred-By address (RFC 3892), if present.
    pub fn referred_by(&self) -> Result<Option<NameAddr>, DecodeError> {
        self.optional_name_addr("Referred-By")
    }

    /// The Refer-To address (RFC 3515), if present.
    pub fn refer_to(&self) -> Result<Option<NameAddr>, DecodeError> {
        self.optional_name_addr("Refer-To")
    }

    /// The P-Asserted-Identity addresses (RFC 3325).
    pub fn p_asserted_identities(&self) -> Result<Vec<NameAddr>, DecodeError> {
        self.name_addrs("P-Asserted-Identity")
    }

    /// The P-Preferred-Identity addresses (RFC 3325).
    pub fn p_preferred_identities(&self) -> Result<Vec<NameAddr>, DecodeError> {
        self.name_addrs("P-Preferred-Identity")
    }

    fn optional_name_addr(&self, name: &str) -> Result<Option<NameAddr>, DecodeError> {
        match self.headers.get(name) {
            None => Ok(None),
            Some(h) => h.parse_value(NameAddr::parse).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let a = NameAddr::parse(r#""J Rosenberg \\\"" <sip:jdrosen@example.com> ; tag = 98asjd8"#)
            .unwrap();
        assert_eq!(a.display.as_deref(), Some("J Rosenberg \\\""));
        assert_eq!(a.tag(), Some("98asjd8"));
        let b =
            NameAddr::parse("sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n").unwrap();
        assert_eq!(b.uri.host, "chair-dnrc.example.com");
        assert_eq!(b.tag(), Some("1918181833n"));
        let c = NameAddr::parse("Bob Smith <sip:bob@b.test;lr>;expires=60").unwrap();
        assert_eq!(c.display.as_deref(), Some("Bob Smith"));
        assert!(c.uri.has_param("lr"));
        assert_eq!(c.expires(), Some(60));
        assert_eq!(
            c.to_string(),
            "\"Bob Smith\" <sip:bob@b.test;lr>;expires=60"
        );
        let d = NameAddr::parse("sip:a@b;tag=1").unwrap();
        assert!(d.uri.params.is_empty());
        assert_eq!(d.tag(), Some("1"));
    }

    #[test]
    fn errors_have_offsets() {
        assert_eq!(NameAddr::parse("<sip:a@b").unwrap_err().offset, 0);
        assert_eq!(NameAddr::parse("\"x\" <sip:a@b:x>").unwrap_err().offset, 13);
        assert_eq!(
            NameAddr::parse("sip:a@b?x=1").unwrap_err().rule,
            "rfc3261/20 addr-spec-brackets"
        );
    }

    /// Rows a naive split (at the first `;`, `<` or `>`) reads wrongly: display, URI text and
    /// tag as [`AddrText::read`] must find them.
    #[rstest::rstest]
    #[case::semicolon_in_display(
        r#""A;b" <sip:a@x;lr>;tag=12"#,
        Some("A;b"),
        "sip:a@x;lr",
        Some("12")
    )]
    #[case::brackets_in_display(r#""a <b>" <sip:c@d>;tag=1"#, Some("a <b>"), "sip:c@d", Some("1"))]
    #[case::escaped_quotes(
        r#""Bob \"B\" \\" <sip:b@x>;tag=7"#,
        Some(r#"Bob "B" \"#),
        "sip:b@x",
        Some("7")
    )]
    #[case::addr_spec_params_are_header_params("sip:a@x;tag=9", None, "sip:a@x", Some("9"))]
    #[case::uri_tag_is_not_the_header_tag(
        "<sip:a@x;tag=u>;TAG=h",
        None,
        "sip:a@x;tag=u",
        Some("h")
    )]
    #[case::bare_brackets("<sip:a@x>", None, "sip:a@x", None)]
    #[case::whitespace_around_separators("<sip:a@x> ; tag = 5 ", None, "sip:a@x", Some("5"))]
    #[case::quoted_param_holding_brackets(
        r#"<sip:a@127.0.0.1:5;transport=udp>;+sip.instance="<urn:gsma:imei:A-1>""#,
        None,
        "sip:a@127.0.0.1:5;transport=udp",
        None
    )]
    #[case::quoted_tag_with_semicolon(r#"<sip:a@x>;tag="q;t""#, None, "sip:a@x", Some("q;t"))]
    #[case::empty_tag_is_none("<sip:a@x>;tag=", None, "sip:a@x", None)]
    #[case::comma_in_token_display(
        "Bob, Jr. <sip:b@x>;tag=3",
        Some("Bob, Jr."),
        "sip:b@x",
        Some("3")
    )]
    #[case::missing_close_bracket("<sip:a@x;lr", None, "sip:a@x;lr", None)]
    fn lenient_reading(
        #[case] v: &str,
        #[case] display: Option<&str>,
        #[case] uri: &str,
        #[case] tag: Option<&str>,
    ) {
        let t = AddrText::read(v);
        assert_eq!(t.display.as_deref(), display);
        assert_eq!(t.uri, uri);
        assert_eq!(t.tag(), tag);
        let n = NameAddr::parse_lenient(v).unwrap();
        assert_eq!(n.uri, Uri::parse(uri).unwrap());
        assert_eq!(n.tag(), tag.or(t.params.get("tag")));
    }

    /// On values the strict parser accepts, the lenient one agrees with it.
    #[rstest::rstest]
    #[case(r#""J Rosenberg \\\"" <sip:jdrosen@example.com> ; tag = 98asjd8"#)]
    #[case("sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n")]
    #[case("Bob Smith <sip:bob@b.test;lr>;expires=60")]
    #[case(r#"<sip:a@b>;+sip.instance="<urn:uuid:1>";+g.oma.sip-im"#)]
    #[case("sip:a@b;tag=1")]
    fn lenient_agrees_with_strict(#[case] v: &str) {
        assert_eq!(NameAddr::parse_lenient(v), NameAddr::parse(v));
    }

    /// Malformed values: an error (the URI does not parse) or a lenient reading, never a panic.
    #[rstest::rstest]
    #[case("", false)]
    #[case("<>", false)]
    #[case(r#""unterminated <sip:a@x>"#, false)]
    #[case("garbage;tag=1", false)]
    #[case("<sip:", false)]
    #[case("\u{e9}\u{e9} <sip:a@x>;\u{e9}=\"\u{e9}", true)]
    #[case(r#""\"#, false)]
    #[case("<sip:a@x>;;=;tag", true)]
    fn malformed_is_an_error_not_a_panic(#[case] v: &str, #[case] ok: bool) {
        let _ = AddrText::read(v).without_param("tag");
        assert_eq!(NameAddr::parse_lenient(v).is_ok(), ok, "{v}");
    }

    #[test]
    fn without_param_keeps_the_address_as_written() {
        let t = AddrText::read(r#"Bob <sip:b@x;lr> ;Expires=60; +sip.instance="<urn:a>";tag=1"#);
        assert_eq!(
            t.without_param("expires"),
            r#"Bob <sip:b@x;lr>;+sip.instance="<urn:a>";tag=1"#
        );
        assert_eq!(
            AddrText::read("sip:a@x;tag=1;lr").without_param("TAG"),
            "sip:a@x;lr"
        );
    }

    #[rstest::rstest]
    #[case::host_case_and_uri_params(
        "sip:Bob@EXAMPLE.com",
        "<sip:Bob@example.com;transport=tcp>",
        true
    )]
    #[case::header_params_ignored("\"B\" <sip:bob@x>;tag=1", "sip:bob@x;tag=2", true)]
    #[case::user_case_matters("sip:bob@x", "sip:Bob@x", false)]
    #[case::port_matters("sip:bob@x:5070", "sip:bob@x", false)]
    #[case::both_unparsable_same_text("<not a uri>", "not a uri", true)]
    #[case::both_empty("", "", true)]
    #[case::unparsable_never_matches_a_uri("sip:bob@x:99999", "sip:bob@x", false)]
    fn same_address_of_values(#[case] a: &str, #[case] b: &str, #[case] same: bool) {
        assert_eq!(same_address(a, b), same, "{a} / {b}");
        assert_eq!(same_address(b, a), same, "{b} / {a}");
    }

    #[test]
    fn message_tags() {
        let mut m = Message::request(super::super::Method::Message, "sip:b@x");
        m.headers.push("From", r#""x;tag=no" <sip:a@x>;TAG=f1"#);
        m.headers.push("To", "<sip:b@x>");
        assert_eq!(m.from_tag().as_deref(), Some("f1"));
        assert_eq!(m.to_tag(), None);
    }
}
