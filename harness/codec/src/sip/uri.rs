//! SIP, SIPS and tel URIs (RFC 3261 19.1, RFC 3966); any other absolute URI is kept opaque.

use std::fmt;

use crate::DecodeError;

const RULE_SIP: &str = "rfc3261/19.1.1 sip-uri";
const RULE_TEL: &str = "rfc3966/3 tel-uri";
const RULE_ABS: &str = "rfc3986/3.1 uri-scheme";

/// The scheme of a URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Scheme {
    /// `sip:`
    Sip,
    /// `sips:`
    Sips,
    /// `tel:`
    Tel,
    /// Any other scheme, lower-cased.
    Other(String),
}

impl Scheme {
    /// The scheme name without the colon.
    pub fn as_str(&self) -> &str {
        match self {
            Scheme::Sip => "sip",
            Scheme::Sips => "sips",
            Scheme::Tel => "tel",
            Scheme::Other(s) => s,
        }
    }
}

/// A URI.
///
/// For `sip:`/`sips:` every part is kept as written (percent-escapes included), so
/// [`fmt::Display`] gives back the input apart from the scheme's case. For `tel:`, `user` holds
/// the telephone number and `host` is empty. For other schemes, `opaque` holds everything after
/// the colon and the other parts are empty.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Uri {
    /// The scheme.
    pub scheme: Scheme,
    /// The user part (sip) or the number (tel), as written.
    pub user: Option<String>,
    /// The password of `user:password@` (deprecated by RFC 3261 but legal).
    pub password: Option<String>,
    /// The host as written; an IPv6 reference keeps its brackets.
    pub host: String,
    /// The port, when written.
    pub port: Option<u16>,
    /// uri-parameters in order, names and values as written.
    pub params: Vec<(String, Option<String>)>,
    /// URI headers (`?name=value&...`) in order, as written.
    pub headers: Vec<(String, String)>,
    /// For schemes other than sip, sips and tel: the text after `scheme:`.
    pub opaque: Option<String>,
}

/// Decodes `%XX` escapes; invalid escapes are kept as written and invalid UTF-8 is replaced.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Encodes every byte for which `keep` is false as `%XX` (upper-case hex).
pub fn percent_encode(s: &str, keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if keep(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// RFC 3261 25.1 unreserved characters (alphanum / mark).
pub fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b)
}

fn is_host_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_'
}

impl Uri {
    /// A `sip:` URI `sip:user@host`.
    pub fn sip(user: Option<&str>, host: &str) -> Uri {
        Uri {
            scheme: Scheme::Sip,
            user: user.map(str::to_owned),
            password: None,
            host: host.to_owned(),
            port: None,
            params: Vec::new(),
            headers: Vec::new(),
            opaque: None,
        }
    }

    /// Parses a URI. Offsets in errors are relative to `s`; callers shift them.
    pub fn parse(s: &str) -> Result<Uri, DecodeError> {
        let b = s.as_bytes();
        let colon = s
            .find(':')
            .ok_or_else(|| DecodeError::new(s.len(), RULE_ABS, "a URI scheme followed by ':'"))?;
        let scheme_txt = &s[..colon];
        if scheme_txt.is_empty()
            || !b[0].is_ascii_alphabetic()
            || !scheme_txt
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(&c))
        {
            return Err(DecodeError::new(
                0,
                RULE_ABS,
                "a URI scheme (ALPHA *( ALPHA / DIGIT / \"+\" / \"-\" / \".\" ))",
            ));
        }
        if let Some(ws) = s.bytes().position(|c| c <= b' ' || c == 0x7f) {
            return Err(DecodeError::new(
                ws,
                RULE_ABS,
                "no whitespace or control characters inside a URI",
            ));
        }
        let scheme = match scheme_txt.to_ascii_lowercase().as_str() {
            "sip" => Scheme::Sip,
            "sips" => Scheme::Sips,
            "tel" => Scheme::Tel,
            other => Scheme::Other(other.to_owned()),
        };
        let rest = colon + 1;
        match scheme {
            Scheme::Sip | Scheme::Sips => Self::parse_sip(s, scheme, rest),
            Scheme::Tel => Self::parse_tel(s, rest),
            Scheme::Other(_) => {
                if rest == s.len() {
                    return Err(DecodeError::new(rest, RULE_ABS, "a URI after the scheme"));
                }
                Ok(Uri {
                    scheme,
                    user: None,
                    password: None,
                    host: String::new(),
                    port: None,
                    params: Vec::new(),
                    headers: Vec::new(),
                    opaque: Some(s[rest..].to_owned()),
                })
            }
        }
    }

    fn parse_tel(s: &str, rest: usize) -> Result<Uri, DecodeError> {
        let end = s[rest..].find(';').map_or(s.len(), |i| rest + i);
        let number = &s[rest..end];
        // RFC 3966 3: telephone-subscriber = global-number / local-number
        if number.is_empty()
            || !number
                .bytes()
                .all(|c| c.is_ascii_hexdigit() || b"+-.()*#".contains(&c))
        {
            return Err(DecodeError::new(
                rest,
                RULE_TEL,
                "a telephone number (digits and visual separators)",
            ));
        }
        let params = parse_uri_params(s, end, s.len(), RULE_TEL)?;
        Ok(Uri {
            scheme: Scheme::Tel,
            user: Some(number.to_owned()),
            password: None,
            host: String::new(),
            port: None,
            params,
            headers: Vec::new(),
            opaque: None,
        })
    }

    fn parse_sip(s: &str, scheme: Scheme, rest: usize) -> Result<Uri, DecodeError> {
        let b = s.as_bytes();
        let (user, password, host_start) = match s[rest..].find('@') {
            Some(at) => {
                let at = rest + at;
                let info = &s[rest..at];
                if info.is_empty() {
                    return Err(DecodeError::new(rest, RULE_SIP, "a user name before '@'"));
                }
                match info.find(':') {
                    Some(c) => (
                        Some(info[..c].to_owned()),
                        Some(info[c + 1..].to_owned()),
                        at + 1,
                    ),
                    None => (Some(info.to_owned()), None, at + 1),
                }
            }
            None => (None, None, rest),
        };
        let mut i = host_start;
        if b.get(i) == Some(&b'[') {
            // RFC 3261 25.1: IPv6reference = "[" IPv6address "]"
            let close = s[i..]
                .find(']')
                .ok_or_else(|| DecodeError::new(i, RULE_SIP, "']' closing the IPv6 reference"))?;
            let inner = &s[i + 1..i + close];
            if inner.is_empty()
                || !inner
                    .bytes()
                    .all(|c| c.is_ascii_hexdigit() || c == b':' || c == b'.')
            {
                return Err(DecodeError::new(
                    i + 1,
                    RULE_SIP,
                    "an IPv6 address inside '[' ']'",
                ));
            }
            i += close + 1;
        } else {
            while i < b.len() && is_host_char(b[i]) {
                i += 1;
            }
        }
        if i == host_start {
            return Err(DecodeError::new(
                host_start,
                RULE_SIP,
                "a host name or IP address",
            ));
        }
        let host = s[host_start..i].to_owned();
        let mut port = None;
        if b.get(i) == Some(&b':') {
            let p0 = i + 1;
            let mut p1 = p0;
            while p1 < b.len() && b[p1].is_ascii_digit() {
                p1 += 1;
            }
            let n: u16 = s[p0..p1]
                .parse()
                .map_err(|_| DecodeError::new(p0, RULE_SIP, "a port number from 0 to 65535"))?;
            port = Some(n);
            i = p1;
        }
        let params_end = s[i..].find('?').map_or(s.len(), |q| i + q);
        if i < params_end && b[i] != b';' {
            return Err(DecodeError::new(
                i,
                RULE_SIP,
                "';' (uri-parameters), '?' (headers) or the end of the URI after the host",
            ));
        }
        let params = parse_uri_params(s, i, params_end, RULE_SIP)?;
        let mut headers = Vec::new();
        if params_end < s.len() {
            let mut off = params_end + 1;
            for h in s[params_end + 1..].split('&') {
                let (n, v) = h
                    .split_once('=')
                    .ok_or_else(|| DecodeError::new(off, RULE_SIP, "a URI header 'name=value'"))?;
                if n.is_empty() {
                    return Err(DecodeError::new(off, RULE_SIP, "a URI header name"));
                }
                headers.push((n.to_owned(), v.to_owned()));
                off += h.len() + 1;
            }
        }
        Ok(Uri {
            scheme,
            user,
            password,
            host,
            port,
            params,
            headers,
            opaque: None,
        })
    }

    /// The value of a uri-parameter (case-insensitive name); `Some("")` for a flag such as `lr`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref().unwrap_or(""))
    }

    /// `true` when the uri-parameter is present (with or without a value).
    pub fn has_param(&self, name: &str) -> bool {
        self.param(name).is_some()
    }

    /// Sets a uri-parameter in place or appends it.
    pub fn set_param(&mut self, name: &str, value: Option<&str>) {
        let v = value.map(str::to_owned);
        match self
            .params
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(p) => p.1 = v,
            None => self.params.push((name.to_owned(), v)),
        }
    }

    /// The user part with percent-escapes decoded.
    pub fn user_decoded(&self) -> Option<String> {
        self.user.as_deref().map(percent_decode)
    }

    /// The URI without parameters and headers: `scheme:user@host:port`.
    pub fn address(&self) -> Uri {
        Uri {
            params: Vec::new(),
            headers: Vec::new(),
            password: None,
            ..self.clone()
        }
    }

    /// `true` when both URIs name the same address: same scheme, same user (escapes decoded,
    /// case-sensitive), same host (case-insensitive), same port (RFC 3261 19.1.4, parameters and
    /// headers ignored). tel numbers compare without visual separators (RFC 3966 4).
    pub fn same_address(&self, other: &Uri) -> bool {
        if self.scheme != other.scheme {
            return false;
        }
        match self.scheme {
            Scheme::Tel => {
                let digits = |u: &Option<String>| -> String {
                    u.as_deref()
                        .unwrap_or("")
                        .chars()
                        .filter(|c| !"-.()".contains(*c))
                        .map(|c| c.to_ascii_lowercase())
                        .collect()
                };
                digits(&self.user) == digits(&other.user)
            }
            Scheme::Other(_) => {
                self.opaque.as_deref().map(percent_decode)
                    == other.opaque.as_deref().map(percent_decode)
            }
            Scheme::Sip | Scheme::Sips => {
                self.user_decoded() == other.user_decoded()
                    && percent_decode(&self.host).eq_ignore_ascii_case(&percent_decode(&other.host))
                    && self.port == other.port
            }
        }
    }
}

fn parse_uri_params(
    s: &str,
    start: usize,
    end: usize,
    rule: &'static str,
) -> Result<Vec<(String, Option<String>)>, DecodeError> {
    let mut out = Vec::new();
    if start >= end {
        return Ok(out);
    }
    // s[start] is ';'
    let mut off = start + 1;
    for p in s[start + 1..end].split(';') {
        let (n, v) = match p.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (p, None),
        };
        if n.is_empty() {
            return Err(DecodeError::new(
                off,
                rule,
                "a uri-parameter name after ';'",
            ));
        }
        out.push((n.to_owned(), v));
        off += p.len() + 1;
    }
    Ok(out)
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.scheme.as_str())?;
        if let Some(o) = &self.opaque {
            return f.write_str(o);
        }
        if let Some(u) = &self.user {
            f.write_str(u)?;
            if let Some(p) = &self.password {
                write!(f, ":{p}")?;
            }
            if self.scheme != Scheme::Tel {
                f.write_str("@")?;
            }
        }
        f.write_str(&self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        for (n, v) in &self.params {
            write!(f, ";{n}")?;
            if let Some(v) = v {
                write!(f, "={v}")?;
            }
        }
        for (i, (n, v)) in self.headers.iter().enumerate() {
            write!(f, "{}{n}={v}", if i == 0 { '?' } else { '&' })?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Uri {
    type Err = DecodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uri::parse(s)
    }
}

impl crate::sip::Message {
    /// The Request-URI of a request, parsed (`None` for a response). Error offsets point into the
    /// message when the start line is the original one, else into the URI text.
    pub fn request_uri_parsed(&self) -> Result<Option<Uri>, DecodeError> {
        let Some(text) = self.request_uri() else {
            return Ok(None);
        };
        let base = self.raw_start().and_then(|raw| raw.find(text)).unwrap_or(0);
        Uri::parse(text).map(Some).map_err(|e| e.shifted(base))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sip_uri_parts_and_round_trip() {
        let s = "sips:alice:pw@[2001:db8::10]:5061;transport=tcp;lr?Subject=hi&X=y";
        let u = Uri::parse(s).unwrap();
        assert_eq!(u.scheme, Scheme::Sips);
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.password.as_deref(), Some("pw"));
        assert_eq!(u.host, "[2001:db8::10]");
        assert_eq!(u.port, Some(5061));
        assert_eq!(u.param("TRANSPORT"), Some("tcp"));
        assert_eq!(u.param("lr"), Some(""));
        assert_eq!(u.headers.len(), 2);
        assert_eq!(u.to_string(), s);
    }

    #[test]
    fn tel_and_opaque() {
        let t = Uri::parse("tel:+1-201-555-0123;phone-context=x").unwrap();
        assert_eq!(t.user.as_deref(), Some("+1-201-555-0123"));
        assert_eq!(t.to_string(), "tel:+1-201-555-0123;phone-context=x");
        assert!(t.same_address(&Uri::parse("tel:+12015550123").unwrap()));
        let o = Uri::parse("urn:uuid:1234").unwrap();
        assert_eq!(o.opaque.as_deref(), Some("uuid:1234"));
        assert_eq!(o.to_string(), "urn:uuid:1234");
    }

    #[test]
    fn same_address_rules() {
        let a = Uri::parse("sip:%61lice@ATLANTA.com;transport=TCP").unwrap();
        let b = Uri::parse("SIP:alice@AtLanTa.CoM;Transport=tcp").unwrap();
        assert!(a.same_address(&b));
        let c = Uri::parse("sip:ALICE@atlanta.com").unwrap();
        assert!(!a.same_address(&c));
        let d = Uri::parse("sip:alice@atlanta.com:5060").unwrap();
        assert!(!b.same_address(&d));
    }

    #[test]
    fn errors_point_at_the_problem() {
        assert_eq!(Uri::parse("sip:a@b:99999").unwrap_err().offset, 8);
        assert_eq!(Uri::parse("sip:@b").unwrap_err().offset, 4);
        assert_eq!(Uri::parse("nocolon").unwrap_err().offset, 7);
        assert_eq!(Uri::parse("sip:a@b c").unwrap_err().offset, 7);
        assert_eq!(percent_decode("urn%3Aa%3ab%"), "urn:a:b%");
    }
}
