//! MIME Content-Transfer-Encoding (RFC 2045 section 6): decoding a body part written as base64,
//! quoted-printable, 7bit, 8bit or binary back to its octets before anything compares it.

use crate::DecodeError;

const RULE_CTE: &str = "rfc2045/6.1 content-transfer-encoding";
const RULE_B64: &str = "rfc2045/6.8 base64";
const RULE_QP: &str = "rfc2045/6.7 quoted-printable";

/// A Content-Transfer-Encoding mechanism (RFC 2045 6.1; the token is case-insensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferEncoding {
    /// `7bit`, `8bit` or `binary`: the octets are the content (RFC 2045 6.2).
    Identity,
    /// `base64` (RFC 2045 6.8).
    Base64,
    /// `quoted-printable` (RFC 2045 6.7).
    QuotedPrintable,
}

impl TransferEncoding {
    /// The mechanism a header value names; `None` for an unknown token (RFC 2045 6.4: an
    /// unrecognised encoding must be treated as opaque data).
    pub fn parse(value: &str) -> Option<TransferEncoding> {
        let v = value.trim();
        let is = |t: &str| v.eq_ignore_ascii_case(t);
        if is("7bit") || is("8bit") || is("binary") {
            Some(TransferEncoding::Identity)
        } else if is("base64") {
            Some(TransferEncoding::Base64)
        } else if is("quoted-printable") {
            Some(TransferEncoding::QuotedPrintable)
        } else {
            None
        }
    }
}

/// Decodes `body` by the Content-Transfer-Encoding header value `cte` (`None`: no header, the
/// body is the content). An unknown mechanism is a [`DecodeError`] at offset 0; malformed
/// encoded text is a [`DecodeError`] at the offending byte.
pub fn decode(cte: Option<&str>, body: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let Some(cte) = cte else {
        return Ok(body.to_vec());
    };
    match TransferEncoding::parse(cte) {
        Some(TransferEncoding::Identity) => Ok(body.to_vec()),
        Some(TransferEncoding::Base64) => decode_base64(body),
        Some(TransferEncoding::QuotedPrintable) => decode_quoted_printable(body),
        None => Err(DecodeError::new(
            0,
            RULE_CTE,
            format!("a known Content-Transfer-Encoding (7bit, 8bit, binary, base64, quoted-printable), not {cte:?}"),
        )),
    }
}

fn b64_value(c: u8) -> Option<u32> {
    match c {
        b'A'..=b'Z' => Some(u32::from(c - b'A')),
        b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// RFC 2045 6.8: line breaks and other white space are ignored; `=` pads the last group.
pub fn decode_base64(body: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(body.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut n = 0u8;
    let mut pad_at: Option<usize> = None;
    for (i, &c) in body.iter().enumerate() {
        if c.is_ascii_whitespace() {
            continue;
        }
        if c == b'=' {
            pad_at.get_or_insert(i);
            continue;
        }
        if let Some(p) = pad_at {
            return Err(DecodeError::new(p, RULE_B64, "'=' padding only at the end"));
        }
        let Some(v) = b64_value(c) else {
            return Err(DecodeError::new(
                i,
                RULE_B64,
                "a base64 character (A-Z a-z 0-9 + /)",
            ));
        };
        acc = (acc << 6) | v;
        n += 1;
        if n == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            acc = 0;
            n = 0;
        }
    }
    match n {
        0 => {}
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        _ => {
            return Err(DecodeError::new(
                body.len(),
                RULE_B64,
                "a whole number of base64 groups",
            ))
        }
    }
    Ok(out)
}

/// RFC 2045 6.7: `=XX` is an octet, `=` at a line end is a soft line break, trailing white space
/// on a line is dropped.
pub fn decode_quoted_printable(body: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let hex = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        if c == b'=' {
            match (body.get(i + 1), body.get(i + 2)) {
                (Some(b'\r'), Some(b'\n')) => i += 3,
                (Some(b'\n'), _) => i += 2,
                (None, _) => i += 1,
                (Some(&h), Some(&l)) => match (hex(h), hex(l)) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                    }
                    _ => {
                        return Err(DecodeError::new(
                            i,
                            RULE_QP,
                            "two hexadecimal digits or a line break after '='",
                        ))
                    }
                },
                _ => {
                    return Err(DecodeError::new(
                        i,
                        RULE_QP,
                        "two hexadecimal digits or a line break after '='",
                    ))
                }
            }
            continue;
        }
        if c == b'\r' || c == b'\n' {
            // Trailing white space before a line break is transport padding (rule 3).
            while out.last().is_some_and(|b| *b == b' ' || *b == b'\t') {
                out.pop();
            }
        }
        out.push(c);
        i += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_known_vectors() {
        // RFC 4648 section 10 test vectors.
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(
                decode(Some("BASE64"), enc.as_bytes()).unwrap(),
                plain.as_bytes()
            );
        }
        assert_eq!(decode(Some("base64"), b"aG\r\nk=\r\n").unwrap(), b"hi");
    }

    #[test]
    fn base64_errors_name_the_offset() {
        let e = decode_base64(b"aGk*").unwrap_err();
        assert_eq!((e.offset, e.rule), (3, RULE_B64));
        let e = decode_base64(b"aG=k").unwrap_err();
        assert_eq!(e.offset, 2);
        assert!(decode_base64(b"a").is_err());
    }

    #[test]
    fn quoted_printable_decodes_escapes_and_soft_breaks() {
        assert_eq!(
            decode(Some("quoted-printable"), b"caf=C3=A9 =\r\nau lait  \r\nx").unwrap(),
            "café au lait\r\nx".as_bytes()
        );
        let e = decode_quoted_printable(b"a=ZZ").unwrap_err();
        assert_eq!(e.offset, 1);
    }

    #[test]
    fn identity_and_unknown_mechanisms() {
        for t in ["7bit", "8BIT", "binary"] {
            assert_eq!(decode(Some(t), b"=x").unwrap(), b"=x");
        }
        assert_eq!(decode(None, b"aGk=").unwrap(), b"aGk=");
        assert!(decode(Some("x-gzip"), b"").is_err());
    }
}
