//! Body inspection by Content-Type: a SIP or MSRP body, and what it wraps (the content of a CPIM
//! message, the parts of a multipart body), decoded with the decoder its media type names; every
//! finding and every decode error of a body becomes a finding with its offset in the message.

use crate::sip::MediaType;
use crate::{cpim, multipart, sdp, xml, DecodeError, Finding, Limits, Severity};

/// How deep CPIM-in-multipart-in-CPIM nesting is followed.
const MAX_DEPTH: usize = 4;

/// One body (or body part) that was inspected.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BodyPart {
    /// Where it sits: the media types from the outer body in (`multipart/mixed > application/sdp`).
    pub path: String,
    /// Offset of its first byte in the message.
    pub offset: usize,
    /// Its length in bytes.
    pub len: usize,
    /// `decoded` (a decoder read it), `undecodable` (a decode error, listed as a finding) or
    /// `opaque` (a media type with no decoder here, such as `text/plain`).
    pub status: &'static str,
}

/// What inspecting a body found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Inspection {
    /// Every body and nested part, outer first.
    pub parts: Vec<BodyPart>,
    /// Every finding of every part, offsets into the message, in offset order.
    pub findings: Vec<Finding>,
}

impl Inspection {
    /// `true` when a finding of severity warning or error was recorded.
    pub fn has_problems(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.severity >= Severity::Warning)
    }
}

/// Decodes `body`, which starts at `offset` of its message and has the Content-Type value
/// `content_type`, and everything it wraps. An empty body inspects to nothing.
pub fn inspect(content_type: &str, body: &[u8], offset: usize, limits: &Limits) -> Inspection {
    let mut out = Inspection::default();
    if !body.is_empty() {
        walk(content_type, body, offset, "", 0, limits, &mut out);
    }
    out.findings.sort_by_key(|f| f.offset);
    out
}

/// The bodies of a SIP message, by its Content-Type; offsets into the encoded message.
pub fn inspect_sip(m: &crate::sip::Message, limits: &Limits) -> Inspection {
    match m.headers.value("Content-Type") {
        Some(ct) => inspect(ct, &m.body, m.body_offset(), limits),
        None => Inspection::default(),
    }
}

/// The findings of [`inspect_sip`] alone: a body of a type no decoder reads (most of a
/// capture's, such as `text/plain`) is passed over without parsing its Content-Type.
pub fn sip_findings(m: &crate::sip::Message, limits: &Limits) -> Vec<Finding> {
    match m.headers.value("Content-Type") {
        Some(ct) if may_decode(ct) => inspect_sip(m, limits).findings,
        _ => Vec::new(),
    }
}

/// The findings of [`inspect_msrp`] alone, passing over what no decoder reads as
/// [`sip_findings`] does.
pub fn msrp_findings(m: &crate::msrp::Message, limits: &Limits) -> Vec<Finding> {
    match m.content_type() {
        Some(ct) if may_decode(ct) => inspect_msrp(m, limits).findings,
        _ => Vec::new(),
    }
}

/// `false` when a Content-Type value cannot name a type [`walk`] decodes: each such type's
/// essence holds one of these words, and an essence is made of the value's own characters
/// (lowercased), whether the value parses as a media type or not.
fn may_decode(content_type: &str) -> bool {
    let b = content_type.as_bytes();
    // One pass: a word is compared only where its first letter is (checked once per message,
    // so the usual `text/plain` costs a scan of ten bytes).
    (0..b.len()).any(|i| {
        let word: &[u8] = match b[i].to_ascii_lowercase() {
            b's' => b"sdp",
            b'c' => b"cpim",
            b'm' => b"multipart",
            b'x' => b"xml",
            _ => return false,
        };
        b.get(i..i + word.len())
            .is_some_and(|x| x.eq_ignore_ascii_case(word))
    })
}

/// The body of an MSRP frame, by its Content-Type, when the frame holds its whole message
/// (no Byte-Range, or `1-N/N`): a chunk of a larger message is only part of a CPIM message or
/// an XML document, and is judged by its framing alone.
pub fn inspect_msrp(m: &crate::msrp::Message, limits: &Limits) -> Inspection {
    let whole = match m.byte_range() {
        None => true,
        Some(Ok(r)) => r.start == 1 && r.total == Some(m.body.len() as u64),
        Some(Err(_)) => false,
    };
    match m.content_type() {
        Some(ct) if whole => inspect(ct, &m.body, m.body_offset(), limits),
        _ => Inspection::default(),
    }
}

fn shifted(mut f: Finding, delta: usize) -> Finding {
    f.offset += delta;
    f
}

/// A decode error inside a body: the body is unreadable, which is an error finding of the message.
fn error_finding(e: DecodeError, delta: usize) -> Finding {
    Finding::new(
        e.rule,
        Severity::Error,
        e.offset + delta,
        format!("body does not decode: expected {}", e.expected),
    )
}

fn walk(
    content_type: &str,
    body: &[u8],
    offset: usize,
    parent: &str,
    depth: usize,
    limits: &Limits,
    out: &mut Inspection,
) {
    let essence = MediaType::parse(content_type)
        .map(|m| m.essence().to_ascii_lowercase())
        .unwrap_or_else(|_| content_type.trim().to_ascii_lowercase());
    let path = if parent.is_empty() {
        essence.clone()
    } else {
        format!("{parent} > {essence}")
    };
    let at = out.parts.len();
    out.parts.push(BodyPart {
        path: path.clone(),
        offset,
        len: body.len(),
        status: "decoded",
    });
    let failed = |out: &mut Inspection, e: DecodeError| {
        out.findings.push(error_finding(e, offset));
        out.parts[at].status = "undecodable";
    };
    match essence.as_str() {
        "application/sdp" => match sdp::SessionDescription::parse(body) {
            Ok(d) => out
                .findings
                .extend(d.findings.into_iter().map(|f| shifted(f, offset))),
            Err(e) => failed(out, e),
        },
        "message/cpim" => match cpim::parse_with(body, limits) {
            Ok(d) => {
                out.findings
                    .extend(d.findings.into_iter().map(|f| shifted(f, offset)));
                let inner = &d.value.body;
                if depth < MAX_DEPTH {
                    if let Some(ct) = d.value.content_type() {
                        let inner_at = offset + body.len() - inner.len();
                        walk(ct, inner, inner_at, &path, depth + 1, limits, out);
                    }
                }
            }
            Err(e) => failed(out, e),
        },
        e if e.starts_with("multipart/") => {
            match multipart::Multipart::parse_with_type(content_type, body) {
                Ok(d) => {
                    out.findings
                        .extend(d.findings.into_iter().map(|f| shifted(f, offset)));
                    if depth < MAX_DEPTH {
                        for p in &d.value.parts {
                            let head = p.raw_head.as_ref().map_or(0, Vec::len);
                            let ct = p.header("Content-Type").unwrap_or("text/plain");
                            let part_at = offset + p.offset + head;
                            walk(ct, &p.body, part_at, &path, depth + 1, limits, out);
                        }
                    }
                }
                // A Content-Type without a boundary has its error offset in the header value,
                // not in the body: point at the body's start.
                Err(e) if e.rule == "rfc2045/5.1 content-type" || e.offset > body.len() => {
                    failed(out, DecodeError::new(0, e.rule, e.expected))
                }
                Err(e) => failed(out, e),
            }
        }
        "message/imdn+xml" => {
            if let Err(e) = xml::imdn::parse(body) {
                failed(out, e)
            }
        }
        "application/im-iscomposing+xml" => {
            if let Err(e) = xml::iscomposing::parse(body) {
                failed(out, e)
            }
        }
        "application/conference-info+xml" => match xml::conference_info::parse(body) {
            // RFC 4575 5.1: "The version attribute MUST be present" (a notifier numbers its
            // documents so the subscriber can order partial ones).
            Ok(doc) if doc.version.is_none() => out.findings.push(Finding::new(
                "rfc4575/5.1 version",
                Severity::Error,
                offset,
                "conference-info without a version attribute",
            )),
            Ok(_) => {}
            Err(e) => failed(out, e),
        },
        "application/resource-lists+xml" => {
            if let Err(e) = xml::resource_lists::parse(body) {
                failed(out, e)
            }
        }
        "application/reginfo+xml" => {
            if let Err(e) = xml::reginfo::parse(body) {
                failed(out, e)
            }
        }
        _ => out.parts[at].status = "opaque",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const SDP_LF: &[u8] = b"v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=message 9 TCP/MSRP *\na=path:msrp://127.0.0.1:9/s;tcp\n";
    const SDP_OK: &[u8] = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=message 9 TCP/MSRP *\r\na=path:msrp://127.0.0.1:9/s;tcp\r\n";
    const CPIM_OK: &[u8] = b"From: <sip:a@cpm.test>\r\nTo: <sip:b@cpm.test>\r\nNS: imdn <urn:ietf:params:imdn>\r\nimdn.Message-ID: m1\r\nDateTime: 2026-11-27T10:00:00.000Z\r\n\r\nContent-Type: text/plain\r\n\r\nhi";
    const IMDN_CPIM_BROKEN: &[u8] = b"From: <sip:a@cpm.test>\r\nTo: <sip:b@cpm.test>\r\nDateTime: 2026-11-27T10:00:00.000Z\r\n\r\nContent-Type: message/imdn+xml\r\n\r\n<imdn";

    /// The inner CPIM content starts at this offset of [`IMDN_CPIM_BROKEN`].
    const IMDN_AT: usize = IMDN_CPIM_BROKEN.len() - 5;

    // (rule, lowest and highest acceptable offset) of the first warning or error finding.
    #[rstest]
    #[case::sdp_bare_lf("application/sdp", SDP_LF, Some(("rfc4566/5 crlf", 106, 106)))]
    #[case::sdp_clean("application/sdp", SDP_OK, None)]
    #[case::cpim_clean("message/cpim", CPIM_OK, None)]
    #[case::cpim_wraps_bad_imdn("message/cpim", IMDN_CPIM_BROKEN, Some(("rfc5438/imdn-xml", 103 + IMDN_AT, 103 + IMDN_AT + 5)))]
    #[case::xml_not_closed("application/im-iscomposing+xml", b"<isComposing", Some(("rfc3994/iscomposing-xml", 103, 103 + 12)))]
    #[case::no_decoder("text/plain", b"hello\n", None)]
    #[case::conference_info_without_version("application/conference-info+xml", b"<conference-info xmlns=\"urn:ietf:params:xml:ns:conference-info\" entity=\"sip:g@cf.test\" state=\"full\"/>", Some(("rfc4575/5.1 version", 103, 103)))]
    #[case::conference_info_with_version("application/conference-info+xml", b"<conference-info xmlns=\"urn:ietf:params:xml:ns:conference-info\" entity=\"sip:g@cf.test\" state=\"full\" version=\"1\"/>", None)]
    fn findings_point_into_the_message(
        #[case] ct: &str,
        #[case] body: &[u8],
        #[case] want: Option<(&str, usize, usize)>,
    ) {
        let i = inspect(ct, body, 103, &Limits::default());
        let problems: Vec<&Finding> = i
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning)
            .collect();
        match want {
            None => {
                assert!(problems.is_empty(), "{problems:?}");
                assert!(!i.has_problems());
            }
            Some((rule, lo, hi)) => {
                let f = problems.first().expect("a finding");
                assert_eq!(f.rule, rule, "{f:?}");
                assert!((lo..=hi).contains(&f.offset), "{f:?}");
                assert!(i.has_problems());
            }
        }
    }

    /// The findings-only entry points give exactly what the whole inspection finds, for every
    /// decodable type however its Content-Type is spelled (case, white space, parameters, a
    /// value that does not parse), and for types no decoder reads.
    #[rstest]
    #[case::sdp("application/sdp", SDP_LF)]
    #[case::sdp_upper_with_params("APPLICATION/SDP ; charset=x", SDP_LF)]
    #[case::sdp_spaced("application / sdp", SDP_LF)]
    #[case::sdp_bad_params("application/sdp;;=", SDP_LF)]
    #[case::cpim_mixed_case("Message/CPIM", IMDN_CPIM_BROKEN)]
    #[case::xml("application/im-iscomposing+XML", b"<isComposing")]
    #[case::multipart_without_boundary("Multipart/Mixed", b"--b\r\n")]
    #[case::unparsable("  multipart/x", b"x")]
    #[case::text_plain("text/plain", b"hello")]
    #[case::text_plain_upper("TEXT/PLAIN;charset=UTF-8", b"hello")]
    #[case::garbage("((", b"x")]
    fn findings_alone_equal_the_inspections(#[case] ct: &str, #[case] body: &[u8]) {
        let limits = Limits::default();
        let mut m = crate::sip::Message::request(crate::sip::Method::Message, "sip:b@x");
        m.headers.push("Content-Type", ct);
        m.body = body.to_vec();
        assert_eq!(sip_findings(&m, &limits), inspect_sip(&m, &limits).findings);
        let mut f = crate::msrp::Message::request(
            "t1",
            crate::msrp::Method::Send,
            "msrp://127.0.0.1:9/a;tcp",
            "msrp://127.0.0.1:9/b;tcp",
        )
        .with_header("Content-Type", ct);
        f.body = body.to_vec();
        assert_eq!(
            msrp_findings(&f, &limits),
            inspect_msrp(&f, &limits).findings
        );
        // Every type a decoder reads is looked at.
        let opaque = inspect_sip(&m, &limits)
            .parts
            .iter()
            .all(|p| p.status == "opaque");
        assert!(opaque || may_decode(ct), "{ct}");
    }

    /// The one-pass word search finds what a search for each word in turn finds, at the
    /// start, the end and the middle, in any case, and not a word cut off by the value's end.
    #[rstest]
    #[case::sdp("application/sdp")]
    #[case::upper("APPLICATION/SDP")]
    #[case::cpim("message/CPIM")]
    #[case::multipart_first("Multipart/mixed;boundary=x")]
    #[case::xml_suffix("application/im-iscomposing+xml")]
    #[case::cut_off("application/sd")]
    #[case::cut_off_xml("text/xm")]
    #[case::plain("text/plain")]
    #[case::empty("")]
    #[case::letters_only_first("s c m x")]
    #[case::non_ascii("t\u{e9}xt/sdp")]
    fn may_decode_finds_each_word_anywhere(#[case] ct: &str) {
        const WORDS: [&[u8]; 4] = [b"sdp", b"cpim", b"multipart", b"xml"];
        let b = ct.as_bytes();
        let each = WORDS
            .iter()
            .any(|w| b.windows(w.len()).any(|x| x.eq_ignore_ascii_case(w)));
        assert_eq!(may_decode(ct), each, "{ct:?}");
    }

    #[test]
    fn multipart_parts_are_inspected_at_their_offsets() {
        let body = [
            &b"--b1\r\nContent-Type: application/sdp\r\n\r\n"[..],
            SDP_LF,
            b"\r\n--b1\r\nContent-Type: application/resource-lists+xml\r\n\r\n<x\r\n--b1--\r\n",
        ]
        .concat();
        let i = inspect("multipart/mixed;boundary=b1", &body, 10, &Limits::default());
        let paths: Vec<&str> = i.parts.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "multipart/mixed",
                "multipart/mixed > application/sdp",
                "multipart/mixed > application/resource-lists+xml"
            ]
        );
        assert_eq!(i.parts[1].offset, 10 + 39);
        let lf = i
            .findings
            .iter()
            .find(|f| f.rule == "rfc4566/5 crlf")
            .unwrap();
        assert_eq!(lf.offset, 10 + 39 + 3);
        assert_eq!(i.parts[2].status, "undecodable");
    }
}
