//! HTTP Digest authentication for SIP (RFC 3261 22.4 and 25.1, RFC 7616 algorithms MD5 and
//! SHA-256, `-sess` variants): WWW-Authenticate / Proxy-Authenticate challenges, Authorization /
//! Proxy-Authorization credentials, and the response computation.

use std::fmt;

use md5::Md5;
use sha2::{Digest, Sha256};

use super::message::Message;
use super::params::{is_token_char, read_quoted, skip_lws};
use crate::DecodeError;

const RULE: &str = "rfc3261/25.1 digest";

/// Parses `scheme 1*SP auth-param *(COMMA auth-param)` into the scheme and the (name, value)
/// pairs in order, quotes removed. Offsets are relative to `s`.
pub fn parse_auth_params(s: &str) -> Result<(String, Vec<(String, String)>), DecodeError> {
    let b = s.as_bytes();
    let mut i = skip_lws(b, 0);
    let s0 = i;
    while i < b.len() && is_token_char(b[i]) {
        i += 1;
    }
    if i == s0 {
        return Err(DecodeError::new(
            s0,
            RULE,
            "an authentication scheme (Digest)",
        ));
    }
    let scheme = s[s0..i].to_owned();
    let mut out = Vec::new();
    loop {
        i = skip_lws(b, i);
        if i >= b.len() {
            break;
        }
        let n0 = i;
        while i < b.len() && is_token_char(b[i]) {
            i += 1;
        }
        if i == n0 {
            return Err(DecodeError::new(n0, RULE, "an auth-param name"));
        }
        let name = s[n0..i].to_owned();
        i = skip_lws(b, i);
        if b.get(i) != Some(&b'=') {
            return Err(DecodeError::new(i, RULE, "'=' after the auth-param name"));
        }
        i = skip_lws(b, i + 1);
        let value = if b.get(i) == Some(&b'"') {
            let (v, end) = read_quoted(s, i)?;
            i = end;
            v
        } else {
            let v0 = i;
            while i < b.len() && b[i] != b',' && !b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i == v0 {
                return Err(DecodeError::new(v0, RULE, "an auth-param value"));
            }
            s[v0..i].to_owned()
        };
        out.push((name, value));
        i = skip_lws(b, i);
        match b.get(i) {
            None => break,
            Some(b',') => i += 1,
            Some(_) => return Err(DecodeError::new(i, RULE, "',' between auth-params")),
        }
    }
    Ok((scheme, out))
}

fn find<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn need(params: &[(String, String)], name: &str, s: &str) -> Result<String, DecodeError> {
    find(params, name)
        .map(str::to_owned)
        .ok_or_else(|| DecodeError::new(s.len(), RULE, format!("a {name} parameter in the digest")))
}

/// A digest challenge (WWW-Authenticate / Proxy-Authenticate).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Challenge {
    /// The scheme, `Digest`.
    pub scheme: String,
    /// realm.
    pub realm: String,
    /// nonce.
    pub nonce: String,
    /// algorithm (`MD5` when absent, RFC 3261 22.4).
    pub algorithm: Option<String>,
    /// qop options (`auth`, `auth-int`).
    pub qop: Vec<String>,
    /// opaque.
    pub opaque: Option<String>,
    /// stale=true.
    pub stale: bool,
    /// domain.
    pub domain: Option<String>,
}

impl Challenge {
    /// A Digest challenge with qop=auth.
    pub fn new(realm: &str, nonce: &str, algorithm: &str) -> Challenge {
        Challenge {
            scheme: "Digest".into(),
            realm: realm.into(),
            nonce: nonce.into(),
            algorithm: Some(algorithm.into()),
            qop: vec!["auth".into()],
            opaque: None,
            stale: false,
            domain: None,
        }
    }

    /// Parses a challenge. Offsets are relative to `s`.
    pub fn parse(s: &str) -> Result<Challenge, DecodeError> {
        let (scheme, p) = parse_auth_params(s)?;
        Ok(Challenge {
            scheme,
            realm: need(&p, "realm", s)?,
            nonce: need(&p, "nonce", s)?,
            algorithm: find(&p, "algorithm").map(str::to_owned),
            qop: find(&p, "qop")
                .map(|q| {
                    q.split(',')
                        .map(|x| x.trim().to_owned())
                        .filter(|x| !x.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            opaque: find(&p, "opaque").map(str::to_owned),
            stale: find(&p, "stale").is_some_and(|v| v.eq_ignore_ascii_case("true")),
            domain: find(&p, "domain").map(str::to_owned),
        })
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} realm=\"{}\"", self.scheme, self.realm)?;
        if let Some(d) = &self.domain {
            write!(f, ", domain=\"{d}\"")?;
        }
        write!(f, ", nonce=\"{}\"", self.nonce)?;
        if let Some(o) = &self.opaque {
            write!(f, ", opaque=\"{o}\"")?;
        }
        if self.stale {
            f.write_str(", stale=TRUE")?;
        }
        if let Some(a) = &self.algorithm {
            write!(f, ", algorithm={a}")?;
        }
        if !self.qop.is_empty() {
            write!(f, ", qop=\"{}\"", self.qop.join(","))?;
        }
        Ok(())
    }
}

/// Digest credentials (Authorization / Proxy-Authorization).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Credentials {
    /// The scheme, `Digest`.
    pub scheme: String,
    /// username.
    pub username: String,
    /// realm.
    pub realm: String,
    /// nonce.
    pub nonce: String,
    /// digest-uri.
    pub uri: String,
    /// response (hex).
    pub response: String,
    /// algorithm.
    pub algorithm: Option<String>,
    /// cnonce.
    pub cnonce: Option<String>,
    /// opaque.
    pub opaque: Option<String>,
    /// message-qop (`auth`).
    pub qop: Option<String>,
    /// nonce-count (8 hex digits).
    pub nc: Option<String>,
}

impl Credentials {
    /// Parses credentials. Offsets are relative to `s`.
    pub fn parse(s: &str) -> Result<Credentials, DecodeError> {
        let (scheme, p) = parse_auth_params(s)?;
        Ok(Credentials {
            scheme,
            username: need(&p, "username", s)?,
            realm: need(&p, "realm", s)?,
            nonce: need(&p, "nonce", s)?,
            uri: need(&p, "uri", s)?,
            response: need(&p, "response", s)?,
            algorithm: find(&p, "algorithm").map(str::to_owned),
            cnonce: find(&p, "cnonce").map(str::to_owned),
            opaque: find(&p, "opaque").map(str::to_owned),
            qop: find(&p, "qop").map(str::to_owned),
            nc: find(&p, "nc").map(str::to_owned),
        })
    }

    /// Answers `challenge` for `method` and `uri` with qop=auth when offered (nonce count `nc`,
    /// client nonce `cnonce`). `None` for an unsupported algorithm.
    pub fn answer(
        challenge: &Challenge,
        username: &str,
        password: &str,
        method: &str,
        uri: &str,
        cnonce: &str,
        nc: u32,
    ) -> Option<Credentials> {
        let qop = challenge
            .qop
            .iter()
            .any(|q| q.eq_ignore_ascii_case("auth"))
            .then(|| "auth".to_owned());
        let nc_s = format!("{nc:08x}");
        let response = digest_response(&DigestInput {
            algorithm: challenge.algorithm.as_deref().unwrap_or("MD5"),
            username,
            realm: &challenge.realm,
            password,
            method,
            uri,
            nonce: &challenge.nonce,
            qop: qop.as_deref(),
            nc: &nc_s,
            cnonce,
            body: b"",
        })?;
        Some(Credentials {
            scheme: "Digest".into(),
            username: username.into(),
            realm: challenge.realm.clone(),
            nonce: challenge.nonce.clone(),
            uri: uri.into(),
            response,
            algorithm: challenge.algorithm.clone(),
            cnonce: qop.as_ref().map(|_| cnonce.to_owned()),
            opaque: challenge.opaque.clone(),
            nc: qop.as_ref().map(|_| nc_s),
            qop,
        })
    }

    /// `true` when `response` is right for this password and method (the registrar's check).
    pub fn verify(&self, password: &str, method: &str, body: &[u8]) -> bool {
        let expected = digest_response(&DigestInput {
            algorithm: self.algorithm.as_deref().unwrap_or("MD5"),
            username: &self.username,
            realm: &self.realm,
            password,
            method,
            uri: &self.uri,
            nonce: &self.nonce,
            qop: self.qop.as_deref(),
            nc: self.nc.as_deref().unwrap_or(""),
            cnonce: self.cnonce.as_deref().unwrap_or(""),
            body,
        });
        expected.is_some_and(|e| e.eq_ignore_ascii_case(&self.response))
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", response=\"{}\"",
            self.scheme, self.username, self.realm, self.nonce, self.uri, self.response
        )?;
        if let Some(a) = &self.algorithm {
            write!(f, ", algorithm={a}")?;
        }
        if let Some(c) = &self.cnonce {
            write!(f, ", cnonce=\"{c}\"")?;
        }
        if let Some(o) = &self.opaque {
            write!(f, ", opaque=\"{o}\"")?;
        }
        if let Some(q) = &self.qop {
            write!(f, ", qop={q}")?;
        }
        if let Some(n) = &self.nc {
            write!(f, ", nc={n}")?;
        }
        Ok(())
    }
}

/// Inputs of [`digest_response`].
#[derive(Debug, Clone, Copy)]
pub struct DigestInput<'a> {
    /// `MD5`, `MD5-sess`, `SHA-256` or `SHA-256-sess` (case-insensitive).
    pub algorithm: &'a str,
    /// username.
    pub username: &'a str,
    /// realm.
    pub realm: &'a str,
    /// The shared secret.
    pub password: &'a str,
    /// The request method.
    pub method: &'a str,
    /// digest-uri.
    pub uri: &'a str,
    /// nonce.
    pub nonce: &'a str,
    /// `Some("auth")` / `Some("auth-int")`, or `None` for the RFC 2069 form.
    pub qop: Option<&'a str>,
    /// nonce-count as sent (8 hex digits).
    pub nc: &'a str,
    /// cnonce.
    pub cnonce: &'a str,
    /// The body (hashed for auth-int only).
    pub body: &'a [u8],
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The request-digest of RFC 7616 3.4.1 (RFC 2617 3.2.2.1), lower-case hex; `None` for an
/// unsupported algorithm.
pub fn digest_response(p: &DigestInput<'_>) -> Option<String> {
    let alg = p.algorithm.to_ascii_uppercase();
    let (base, sess) = match alg.strip_suffix("-SESS") {
        Some(b) => (b.to_owned(), true),
        None => (alg, false),
    };
    let h: fn(&[u8]) -> String = match base.as_str() {
        "MD5" => |d| hex(&Md5::digest(d)),
        "SHA-256" => |d| hex(&Sha256::digest(d)),
        _ => return None,
    };
    let mut ha1 = h(format!("{}:{}:{}", p.username, p.realm, p.password).as_bytes());
    if sess {
        ha1 = h(format!("{ha1}:{}:{}", p.nonce, p.cnonce).as_bytes());
    }
    let ha2 = if p.qop.is_some_and(|q| q.eq_ignore_ascii_case("auth-int")) {
        h(format!("{}:{}:{}", p.method, p.uri, h(p.body)).as_bytes())
    } else {
        h(format!("{}:{}", p.method, p.uri).as_bytes())
    };
    Some(match p.qop {
        Some(q) => h(format!("{ha1}:{}:{}:{}:{q}:{ha2}", p.nonce, p.nc, p.cnonce).as_bytes()),
        None => h(format!("{ha1}:{}:{ha2}", p.nonce).as_bytes()),
    })
}

impl Message {
    /// The challenge of WWW-Authenticate (or Proxy-Authenticate when `proxy`).
    pub fn challenge(&self, proxy: bool) -> Result<Option<Challenge>, DecodeError> {
        let name = if proxy {
            "Proxy-Authenticate"
        } else {
            "WWW-Authenticate"
        };
        match self.headers.get(name) {
            None => Ok(None),
            Some(h) => h.parse_value(Challenge::parse).map(Some),
        }
    }

    /// The credentials of Authorization (or Proxy-Authorization when `proxy`).
    pub fn credentials(&self, proxy: bool) -> Result<Option<Credentials>, DecodeError> {
        let name = if proxy {
            "Proxy-Authorization"
        } else {
            "Authorization"
        };
        match self.headers.get(name) {
            None => Ok(None),
            Some(h) => h.parse_value(Credentials::parse).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 2617 3.5 example (HTTP, MD5, qop=auth).
    #[test]
    fn rfc2617_example() {
        let r = digest_response(&DigestInput {
            algorithm: "MD5",
            username: "Mufasa",
            realm: "testrealm@host.com",
            password: "Circle Of Life",
            method: "GET",
            uri: "/dir/index.html",
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            qop: Some("auth"),
            nc: "00000001",
            cnonce: "0a4f113b",
            body: b"",
        });
        assert_eq!(r.as_deref(), Some("6629fae49393a05397450978507c4ef1"));
    }

    // RFC 7616 3.9.1 example (SHA-256).
    #[test]
    fn rfc7616_sha256_example() {
        let r = digest_response(&DigestInput {
            algorithm: "SHA-256",
            username: "Mufasa",
            realm: "http-auth@example.org",
            password: "Circle of Life",
            method: "GET",
            uri: "/dir/index.html",
            nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            qop: Some("auth"),
            nc: "00000001",
            cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
            body: b"",
        });
        assert_eq!(
            r.as_deref(),
            Some("753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1")
        );
    }

    #[test]
    fn challenge_answer_verify_round_trip() {
        let c = Challenge::parse(
            "Digest realm=\"ims.test\", nonce=\"abc,def\", algorithm=SHA-256, qop=\"auth,auth-int\", opaque=\"o\"",
        )
        .unwrap();
        assert_eq!(c.qop, vec!["auth", "auth-int"]);
        assert_eq!(Challenge::parse(&c.to_string()).unwrap(), c);
        let cr =
            Credentials::answer(&c, "alice", "pw", "REGISTER", "sip:ims.test", "cn", 1).unwrap();
        let back = Credentials::parse(&cr.to_string()).unwrap();
        assert_eq!(back, cr);
        assert!(back.verify("pw", "REGISTER", b""));
        assert!(!back.verify("wrong", "REGISTER", b""));
        assert_eq!(
            Challenge::parse("Digest realm=\"x\" nonce=\"y\"")
                .unwrap_err()
                .offset,
            17
        );
    }
}
