//! Media types with parameters (RFC 2045 5.1, RFC 3261 20.15): Content-Type values, also used by
//! multipart bodies and the other codecs.

use std::fmt;

use super::message::Message;
use super::params::{is_token_char, Params};
use crate::DecodeError;

const RULE: &str = "rfc2045/5.1 content-type";

/// `type/subtype;params`; type and subtype are kept as written and compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MediaType {
    /// The top-level type (`multipart`).
    pub type_: String,
    /// The subtype (`mixed`).
    pub subtype: String,
    /// The parameters (`boundary`, `charset`, ...).
    pub params: Params,
}

impl MediaType {
    /// A media type without parameters.
    pub fn new(type_: &str, subtype: &str) -> MediaType {
        MediaType {
            type_: type_.to_owned(),
            subtype: subtype.to_owned(),
            params: Params::new(),
        }
    }

    /// Parses `type "/" subtype *(";" parameter)`. Offsets are relative to `s`.
    pub fn parse(s: &str) -> Result<MediaType, DecodeError> {
        let b = s.as_bytes();
        let mut i = super::params::skip_lws(b, 0);
        let t0 = i;
        while i < b.len() && is_token_char(b[i]) {
            i += 1;
        }
        if i == t0 {
            return Err(DecodeError::new(t0, RULE, "a media type token"));
        }
        let type_ = s[t0..i].to_owned();
        i = super::params::skip_lws(b, i);
        if b.get(i) != Some(&b'/') {
            return Err(DecodeError::new(i, RULE, "'/' between type and subtype"));
        }
        i = super::params::skip_lws(b, i + 1);
        let s0 = i;
        while i < b.len() && is_token_char(b[i]) {
            i += 1;
        }
        if i == s0 {
            return Err(DecodeError::new(s0, RULE, "a media subtype token"));
        }
        let subtype = s[s0..i].to_owned();
        let params = Params::parse(&s[i..]).map_err(|e| e.shifted(i))?;
        Ok(MediaType {
            type_,
            subtype,
            params,
        })
    }

    /// `type/subtype` in lower case.
    pub fn essence(&self) -> String {
        format!("{}/{}", self.type_, self.subtype).to_ascii_lowercase()
    }

    /// `true` when this is `type_/subtype` (case-insensitive; `*` matches anything).
    pub fn is(&self, type_: &str, subtype: &str) -> bool {
        (type_ == "*" || self.type_.eq_ignore_ascii_case(type_))
            && (subtype == "*" || self.subtype.eq_ignore_ascii_case(subtype))
    }

    /// `true` when the essence equals `essence` (`"application/sdp"`), case-insensitive.
    pub fn is_essence(&self, essence: &str) -> bool {
        match essence.split_once('/') {
            Some((t, s)) => self.is(t, s),
            None => false,
        }
    }

    /// A parameter value (quotes removed).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name)
    }

    /// The `boundary` parameter of a multipart type.
    pub fn boundary(&self) -> Option<&str> {
        self.param("boundary")
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}{}", self.type_, self.subtype, self.params)
    }
}

impl std::str::FromStr for MediaType {
    type Err = DecodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MediaType::parse(s)
    }
}

impl Message {
    /// The Content-Type, if present, with offsets into the message.
    pub fn content_type(&self) -> Result<Option<MediaType>, DecodeError> {
        match self.headers.get("Content-Type") {
            None => Ok(None),
            Some(h) => h.parse_value(MediaType::parse).map(Some),
        }
    }

    /// The body part of media type `essence` (`"application/sdp"`, `"message/cpim"`), by one
    /// rule for every reader: the whole body when the Content-Type's essence is `essence`
    /// (case-insensitive, parameters ignored); else, for a `multipart/*` body (RFC 2046 5.1), the
    /// first part whose Content-Type is `essence`, decoded by its Content-Transfer-Encoding
    /// (RFC 2045 6). `None` without a Content-Type or such a part; `Some(Err)` when the
    /// multipart body or the part's transfer encoding cannot be decoded.
    pub fn body_part(&self, essence: &str) -> Option<Result<Vec<u8>, DecodeError>> {
        let ct = self.headers.value("Content-Type")?;
        let own = ct.split(';').next().unwrap_or("").trim();
        if own.eq_ignore_ascii_case(essence) {
            return Some(Ok(self.body.clone()));
        }
        let multipart = own
            .as_bytes()
            .get(..10)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"multipart/"));
        if !multipart {
            return None;
        }
        let mp = match crate::multipart::Multipart::parse_with_type(ct, &self.body) {
            Ok(mp) => mp.value,
            Err(e) => return Some(Err(e)),
        };
        let part = mp.find(essence)?;
        Some(crate::transfer_encoding::decode(
            part.header("Content-Transfer-Encoding"),
            &part.body,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(content_type: Option<&str>, body: &str) -> Message {
        let mut m = Message::request(super::super::Method::Invite, "sip:b@x");
        if let Some(ct) = content_type {
            m.headers.push("Content-Type", ct);
        }
        m.body = body.as_bytes().to_vec();
        m
    }

    /// One rule for "the SDP part": plain body of that type, or the part of a multipart body
    /// (transfer-decoded); nothing for another type or no Content-Type.
    #[test]
    fn body_part_plain_or_multipart() {
        let part = |ct, body| message(ct, body).body_part("application/sdp");
        assert_eq!(
            part(Some("Application/SDP ; x=1"), "v=0\r\n")
                .unwrap()
                .unwrap(),
            b"v=0\r\n"
        );
        let mp = "--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/sdp\r\nContent-Transfer-Encoding: base64\r\n\r\ndj0w\r\n--b--\r\n";
        assert_eq!(
            part(Some("multipart/mixed;boundary=b"), mp)
                .unwrap()
                .unwrap(),
            b"v=0"
        );
        assert!(part(
            Some("multipart/mixed;boundary=b"),
            "--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n"
        )
        .is_none());
        assert!(part(Some("text/plain"), "v=0").is_none());
        assert!(part(None, "v=0").is_none());
        assert!(part(Some("multipart/mixed"), "no boundary")
            .unwrap()
            .is_err());
    }

    #[test]
    fn multipart_with_boundary() {
        let m = MediaType::parse("Multipart/Mixed ; boundary=\"b 1\";type=x").unwrap();
        assert!(m.is("multipart", "mixed"));
        assert!(m.is_essence("multipart/MIXED"));
        assert_eq!(m.boundary(), Some("b 1"));
        assert_eq!(m.to_string(), "Multipart/Mixed;boundary=\"b 1\";type=x");
        assert_eq!(MediaType::parse("text").unwrap_err().offset, 4);
    }
}
