//! Pure decisions: does an observed SIP / MSRP message meet an `expect`? Every failed condition is
//! reported as expected-against-seen; a matcher kind that cannot be evaluated is an error, never a
//! pass.

use cpmconf_codec::sip::{feature_tag::FeatureSet, icsi, MediaType, NameAddr, Uri};
use cpmconf_codec::{cpim, multipart, sdp, transfer_encoding, xml, DecodeError};

use crate::observed::{MatchEnv, Observed, SavedMessage};
use crate::scenario::{
    ByteRangeExpect, Expect, Matcher, MatcherSpec, MsrpStart, NumberSpec, SdpExpect,
};
use crate::verdict::Finding;

/// Why an expectation could not be evaluated (the step's verdict is `error`, not `fail`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatchError {
    /// A `${...}` reference has no value at run time.
    #[error("failed to resolve a reference: {0}")]
    Reference(#[from] crate::scenario::TemplateError),
    /// A `save`d name the step refers to was never saved.
    #[error("no message saved as `{0}`")]
    NoSaved(String),
    /// The matcher kind cannot be evaluated on this message.
    #[error("unsupported matcher: {0}")]
    Unsupported(String),
    /// A regex in the scenario is invalid.
    #[error("invalid regex {0:?}: {1}")]
    Regex(String, String),
}

/// The result of judging one message against one expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchOutcome {
    /// Failed conditions; empty when the message meets the expectation.
    pub findings: Vec<Finding>,
    /// The message's start line and headers, quoted for the report.
    pub quote: Vec<String>,
}

impl MatchOutcome {
    /// `true` when every condition held.
    pub fn matched(&self) -> bool {
        self.findings.is_empty()
    }
}

/// `true` if the message is the one the expectation waits for: same protocol and start line
/// (method / status / MSRP method or status) and, for `answers` / `in_dialog`, the same
/// transaction or dialog. The runner judges the first candidate with [`check`]; other messages
/// are left for later steps.
pub fn is_candidate(e: &Expect, obs: Observed<'_>, env: &MatchEnv) -> Result<bool, MatchError> {
    if is_connection_opener(obs) && about_content(e) {
        return Ok(false);
    }
    if e.last_chunk && !completes_message(obs) {
        return Ok(false);
    }
    Ok(start_findings(e, obs).is_empty() && correlation_findings(e, obs, env)?.is_empty())
}

/// `true` for an expectation about a message's content (`cpim`, `body`, `xml`, `byte_range`),
/// which the connection-opening empty SEND never is.
pub fn about_content(e: &Expect) -> bool {
    e.cpim.is_some()
        || e.body.is_some()
        || e.xml.is_some()
        || e.byte_range.is_some()
        || e.last_chunk
        || e.cpim_from_device.is_some()
}

/// An MSRP request chunk that ends its message: end-line flag `$` (RFC 4975 7.1.1; a one-chunk
/// message is its own last chunk).
pub fn completes_message(obs: Observed<'_>) -> bool {
    matches!(obs, Observed::Msrp(m) if m.is_request() && m.flag == cpmconf_codec::msrp::Flag::Complete)
}

/// An MSRP SEND without a body: the active endpoint's first request on a new connection
/// (RFC 4975 7.1.1, Byte-Range 1-0/0). Plumbing: never a candidate for an expectation about
/// content (`cpim`, `body`, `xml`, `byte_range`).
pub fn is_connection_opener(obs: Observed<'_>) -> bool {
    matches!(obs, Observed::Msrp(m)
        if m.method().is_some_and(|x| x.as_str().eq_ignore_ascii_case("SEND")) && m.body.is_empty())
}

/// `true` if the message settles an `expect: { status, answers }` the other way: a final SIP
/// response (or, while a provisional one is awaited, any final response) in the awaited
/// transaction with a status the expectation does not accept. The client has answered; the
/// expectation can no longer be met, so the step ends at once with this response as evidence.
pub fn refuses(e: &Expect, obs: Observed<'_>, env: &MatchEnv) -> Result<bool, MatchError> {
    let (Some(want), Some(_), Observed::Sip(m)) = (e.status, &e.answers, obs) else {
        return Ok(false);
    };
    let Some(code) = m.status() else {
        return Ok(false);
    };
    if want.accepts(code.0) || code.0 < 200 {
        return Ok(false);
    }
    Ok(correlation_findings(e, obs, env)?.is_empty())
}

/// For a response that [`refuses`] the expectation: when a decline was awaited (`status: 603`,
/// `4xx`) and the client declined with another client or global failure (4xx, 6xx), it did
/// what the step is about with another code. The findings are then the status (key
/// [`STATUS_KEY`], evidence only against the requirements about the code) and those of the
/// step's other conditions judged on that response (headers, SDP, ...), so a requirement is
/// never passed on a condition nobody looked at. `None` for any other refusal (a 2xx where a
/// decline was awaited, a 3xx redirect or a 5xx server failure, a decline where a 2xx was),
/// which is the awaited message not coming.
pub fn declined_otherwise(
    e: &Expect,
    obs: Observed<'_>,
    env: &MatchEnv,
) -> Result<Option<Vec<Finding>>, MatchError> {
    let (Some(want), Observed::Sip(m)) = (e.status, obs) else {
        return Ok(None);
    };
    let Some(code) = m.status().map(|c| c.0) else {
        return Ok(None);
    };
    let declined = (400..500).contains(&code) || (600..700).contains(&code);
    if !(want.is_failure() && declined) {
        return Ok(None);
    }
    let mut findings =
        vec![finding("status", format!("a {want} response"), m.summary()).keyed(STATUS_KEY)];
    findings.extend(
        check(e, obs, env)?
            .findings
            .into_iter()
            .filter(|f| f.key.as_deref() != Some(START_KEY)),
    );
    Ok(Some(findings))
}

/// Judges a message against every condition of the expectation. Each finding carries the key of
/// the condition that produced it (`start`, `request_uri`, `headers.<Name>`,
/// `feature_tags.<header>`, `sdp.<attribute>`, `cpim.<Key>`, `xml.<path>`, `body`), so a step's
/// `evidence` can attribute it to the requirement it is evidence for.
pub fn check(e: &Expect, obs: Observed<'_>, env: &MatchEnv) -> Result<MatchOutcome, MatchError> {
    let mut f: Vec<Finding> = start_findings(e, obs);
    f.extend(correlation_findings(e, obs, env)?);
    let mut f: Vec<Finding> = f.into_iter().map(|x| x.keyed(START_KEY)).collect();
    let section = |f: &mut Vec<Finding>, key: &str, from: usize| {
        for x in f.iter_mut().skip(from) {
            if x.key.is_none() {
                x.key = Some(key.to_string());
            }
        }
    };
    if let Some(m) = &e.request_uri {
        let seen = match obs {
            Observed::Sip(s) => s.request_uri(),
            Observed::Msrp(_) => None,
        };
        let n = f.len();
        judge_as(
            &mut f,
            "Request-URI",
            m,
            &seen.into_iter().collect::<Vec<_>>(),
            env,
            ValueKind::Uri,
        )?;
        section(&mut f, "request_uri", n);
    }
    for (name, m) in &e.headers {
        let n = f.len();
        let kind = if obs_is_sip(obs) && is_address_header(name) {
            ValueKind::Uri
        } else if is_media_type_key(name) {
            ValueKind::MediaType
        } else {
            ValueKind::Text
        };
        judge_as(
            &mut f,
            &format!("header {name}"),
            m,
            &obs.header_values(name),
            env,
            kind,
        )?;
        section(&mut f, &format!("headers.{name}"), n);
    }
    if let Some(ft) = &e.feature_tags {
        feature_tags(
            &mut f,
            obs,
            ft.accept_contact.as_deref(),
            ft.contact.as_deref(),
        )?;
    }
    if let Some(s) = &e.sdp {
        let n = f.len();
        sdp_findings(&mut f, obs, s, env)?;
        section(&mut f, "sdp", n);
    }
    if let Some(c) = &e.cpim {
        let n = f.len();
        cpim_findings(&mut f, obs, c, env)?;
        section(&mut f, "cpim", n);
    }
    if let Some(x) = &e.xml {
        let n = f.len();
        xml_findings(&mut f, obs, x, env)?;
        section(&mut f, "xml", n);
    }
    if let Some(b) = &e.body {
        let n = f.len();
        match content_of(obs) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let seen: Vec<&str> = if text.is_empty() {
                    Vec::new()
                } else {
                    vec![text.as_str()]
                };
                judge(&mut f, "body", b, &seen, env)?;
            }
            Err(err) => f.push(finding(
                "body",
                "a body decodable by its Content-Transfer-Encoding",
                format!("undecodable: {err}"),
            )),
        }
        section(&mut f, "body", n);
    }
    if let Some(b) = &e.byte_range {
        let n = f.len();
        byte_range_findings(&mut f, obs, b, env)?;
        section(&mut f, "byte_range", n);
    }
    if let Some(name) = &e.resumes {
        let n = f.len();
        resume_findings(&mut f, obs, name, env)?;
        section(&mut f, "resumes", n);
    }
    if let Some(name) = &e.cpim_from_device {
        let n = f.len();
        cpim_from_device_findings(&mut f, obs, name, env)?;
        section(&mut f, "cpim_from_device", n);
    }
    Ok(MatchOutcome {
        findings: f,
        quote: obs.quote(),
    })
}

/// A number of a step, substituted.
fn number(n: &NumberSpec, env: &MatchEnv) -> Result<u64, MatchError> {
    match n {
        NumberSpec::Int(v) => Ok(*v),
        NumberSpec::Text(t) => {
            let v = env.interpolate(t)?;
            v.trim().parse().map_err(|_| {
                MatchError::Unsupported(format!("{t:?} is {v:?}, not a number of bytes"))
            })
        }
    }
}

/// `byte_range`: the chunk's Byte-Range (RFC 4975 9) against numbers.
fn byte_range_findings(
    out: &mut Vec<Finding>,
    obs: Observed<'_>,
    b: &ByteRangeExpect,
    env: &MatchEnv,
) -> Result<(), MatchError> {
    let Observed::Msrp(m) = obs else {
        out.push(finding("Byte-Range", "an MSRP chunk", obs.summary()).keyed("byte_range"));
        return Ok(());
    };
    let written = m.header("Byte-Range").unwrap_or("(absent)").to_string();
    let Some(Ok(r)) = m.byte_range() else {
        out.push(
            finding(
                "Byte-Range",
                "a valid Byte-Range (RFC 4975 9)",
                quote_text(&written),
            )
            .keyed("byte_range"),
        );
        return Ok(());
    };
    if let Some(start) = &b.start {
        let want = number(start, env)?;
        if r.start != want {
            out.push(
                finding(
                    "Byte-Range start",
                    format!("{want}"),
                    format!("{} ({})", r.start, quote_text(&written)),
                )
                .keyed("byte_range.start"),
            );
        }
    }
    if let Some(total) = &b.total {
        let want = number(total, env)?;
        if r.total.is_some_and(|t| t != want) {
            out.push(
                finding(
                    "Byte-Range total",
                    format!("{want} or `*`"),
                    quote_text(&written),
                )
                .keyed("byte_range.total"),
            );
        }
    }
    if let Some(partial) = b.partial {
        let last = r
            .end
            .unwrap_or_else(|| r.start + (m.body.len() as u64).saturating_sub(1));
        let is_partial = match r.total {
            Some(t) => last < t,
            None => m.flag == cpmconf_codec::msrp::Flag::More,
        };
        if is_partial != partial {
            let want = if partial {
                "a chunk that does not complete the message (more bytes follow)"
            } else {
                "the chunk that completes the message"
            };
            out.push(finding("Byte-Range", want, quote_text(&written)).keyed("byte_range.partial"));
        }
    }
    if let Some(aborted) = b.aborted {
        let is_aborted = m.flag == cpmconf_codec::msrp::Flag::Abort;
        if is_aborted != aborted {
            let want = if aborted {
                "a chunk that aborts the message (end-line flag `#`)"
            } else {
                "a chunk that does not abort the message (end-line flag `+` or `$`)"
            };
            out.push(
                finding(
                    "end-line flag",
                    want,
                    format!("`{}` (Byte-Range {written})", m.flag.as_char()),
                )
                .keyed("byte_range.aborted"),
            );
        }
    }
    Ok(())
}

/// `resumes: <chunk>`: the SDP a=file-range resumes the transfer of that chunk's session, from
/// the wire: (acknowledged prefix) + 1 <= start <= (last byte received) + 1, stop the size or
/// `*` (catalogue 7.4.5/track-transferred-bytes, 7.4.5/resume-request).
fn resume_findings(
    out: &mut Vec<Finding>,
    obs: Observed<'_>,
    name: &str,
    env: &MatchEnv,
) -> Result<(), MatchError> {
    let Some(p) = env.transfers.get(name) else {
        return Err(MatchError::NoSaved(name.to_string()));
    };
    let lo = p.acknowledged + 1;
    let hi = p.received + 1;
    let stop = p
        .total
        .map_or_else(|| "any stop".to_string(), |t| format!("stop {t} or `*`"));
    let want = format!(
        "a=file-range starting between {lo} (the last byte acknowledged with MSRP 200, {}, + 1) and {hi} (the last byte received, {}, + 1), {stop}",
        p.acknowledged, p.received
    );
    let Some(body) = part_or_finding(out, obs, "application/sdp", "SDP") else {
        return Ok(());
    };
    let seen = sdp::SessionDescription::parse(&body).ok().and_then(|d| {
        d.value
            .msrp_media()
            .and_then(|m| m.attr("file-range").map(str::to_string))
    });
    // Without a readable a=file-range the resume point is not on the wire: that is evidence
    // about the SDP (7.4.5.1/sdp-file-attributes), not about tracking. The runner ends such a
    // step `inconclusive` (NO_RESUME_POINT), neither pass nor fail.
    let Some(text) = seen else {
        out.push(finding("SDP a=file-range", want, "(absent)").keyed(NO_RESUME_POINT));
        return Ok(());
    };
    let Ok(r) = sdp::FileRange::parse(&text) else {
        out.push(finding("SDP a=file-range", want, quote_text(&text)).keyed(NO_RESUME_POINT));
        return Ok(());
    };
    let ok = (lo..=hi).contains(&r.start)
        && match (r.stop, p.total) {
            (None, _) | (_, None) => true,
            (Some(s), Some(t)) => s == t,
        };
    if !ok {
        out.push(finding("SDP a=file-range", want, quote_text(&text)));
    }
    Ok(())
}

/// The key of the `resumes` finding for a message without a readable a=file-range: no resume
/// point to judge, so the step's situation (a resume offer) was not reached.
pub const NO_RESUME_POINT: &str = "resumes.no-file-range";

/// The key of the `cpim_from_device` finding for a message without a CPIM body: no CPIM From
/// exists to carry a device identifier, so the step's situation was not reached.
pub const NO_CPIM_FROM: &str = "cpim_from_device.no-cpim";

/// `true` for the key of a finding that says the situation of its condition is absent from
/// the message (no CPIM body for `cpim_from_device`): the requirements resting on it are
/// `inconclusive`, not failed, and the others of the step are judged as usual.
pub fn is_not_reached(key: &str) -> bool {
    key == NO_CPIM_FROM
}

/// The runner value naming the profile's reading of CR 7.4.5.2 item 1 (`gruu`, `instance`;
/// unset when the profile names none).
pub const CPIM_FROM_READING: &str = "client.readings.device_id_in_cpim_from";

/// The runner value holding the profile's device instance id (`+sip.instance`).
pub const CLIENT_INSTANCE: &str = "client.instance_id";

/// An instance identifier as written (`<urn:...>`, `"<urn:...>"`, percent-encoded in a URI
/// parameter), for comparison: quotes, angle brackets and percent-encoding removed, the URN
/// compared ignoring case (RFC 8141 3: the `urn` and NID parts are case-insensitive, and the
/// UUID and IMEI forms the suite sees are case-insensitive throughout).
fn instance_key(v: &str) -> String {
    let v = cpmconf_codec::sip::uri::percent_decode(v.trim());
    let v = v.trim().trim_matches('"').trim();
    let v = v
        .strip_prefix('<')
        .and_then(|x| x.strip_suffix('>'))
        .unwrap_or(v);
    v.to_ascii_lowercase()
}

/// `cpim_from_device: <saved 200>`: CR 7.4.5.2 item 1 (L262), "The device identifier used in
/// the CPIM From header is set as described in section 6.1.1". 6.1.1 is not in the CR; the two
/// readings of it a CPIM From allows are judged, the profile's alone when it names one:
/// `gruu`, the From is the device's public GRUU (the CPM Address with `gr=<instance id>`,
/// RFC 5627 3.1 / 3GPP TS 24.229), and `instance`, the From is the CPM Address (with no `gr`
/// naming another device) and the device is the `+sip.instance` of the Contact of the client's
/// 200 OK saved as `name`.
fn cpim_from_device_findings(
    out: &mut Vec<Finding>,
    obs: Observed<'_>,
    name: &str,
    env: &MatchEnv,
) -> Result<(), MatchError> {
    let client = env
        .bindings
        .get("client.uri")
        .ok_or_else(|| MatchError::Unsupported("no ${client.uri} to compare with".into()))?
        .to_string();
    let instance = env
        .bindings
        .get(CLIENT_INSTANCE)
        .ok_or_else(|| MatchError::Unsupported(format!("no ${{{CLIENT_INSTANCE}}}")))?
        .to_string();
    let reading = env.bindings.get(CPIM_FROM_READING).map(|v| v.to_string());
    let ok200 = match env.saved.get(name) {
        Some(SavedMessage::Sip(m)) => m.clone(),
        Some(SavedMessage::Msrp(_)) => {
            return Err(MatchError::Unsupported(format!(
                "`cpim_from_device: {name}` names an MSRP message, not the client's SIP 200 OK"
            )))
        }
        None => return Err(MatchError::NoSaved(name.to_string())),
    };
    // No CPIM body: the file went out as it is (RFC 5547), no CPIM From exists to judge.
    let Some(Ok(body)) = part_of(obs, "message/cpim") else {
        out.push(
            finding(
                "CPIM From",
                "a message/cpim body whose From carries the device identifier",
                format!("Content-Type {}", quoted(obs.content_type())),
            )
            .keyed(NO_CPIM_FROM),
        );
        return Ok(());
    };
    let from = match cpim::parse(&body) {
        Ok(d) => d
            .value
            .get_ns_all(cpim::NS_CPIM, "From")
            .first()
            .map(|s| s.to_string()),
        Err(e) => {
            out.push(finding(
                "CPIM From",
                "a decodable message/cpim body",
                format!("undecodable: {e}"),
            ));
            return Ok(());
        }
    };
    let Some(from) = from else {
        out.push(finding("CPIM From", "a CPIM From header", "(absent)"));
        return Ok(());
    };
    let want_aor = address_uri(&client);
    let seen = address_uri(&from);
    let is_client = match (&seen, &want_aor) {
        (Some(s), Some(w)) => s.same_address(w),
        _ => false,
    };
    let gr = seen.as_ref().and_then(|u| u.param("gr")).map(instance_key);
    let own = instance_key(&instance);
    let contact_instance = ok200
        .contact_features()
        .ok()
        .into_iter()
        .flatten()
        .find_map(|f| f.sip_instance())
        .map(|v| instance_key(&v));
    let gruu_ok = is_client && gr.as_deref() == Some(own.as_str());
    let instance_ok = is_client
        && gr.as_deref().is_none_or(|g| g == own)
        && contact_instance.as_deref() == Some(own.as_str());
    let gruu_want = format!("the public GRUU <{client};gr={instance}> (reading `gruu`)");
    let instance_want = format!(
        "the CPM Address <{client}> (no `gr` of another device) with +sip.instance=\"<{instance}>\" on the Contact of the 200 OK saved as {name} (reading `instance`)"
    );
    let seen_text = format!(
        "From {}; Contact +sip.instance {}",
        quote_text(&from),
        contact_instance.map_or_else(|| "(absent)".to_string(), |c| format!("<{c}>"))
    );
    let (ok, want) = match reading.as_deref() {
        Some("gruu") => (gruu_ok, gruu_want),
        Some("instance") => (instance_ok, instance_want),
        Some(other) => {
            return Err(MatchError::Unsupported(format!(
                "unknown reading {other:?} of device_id_in_cpim_from (known: gruu, instance)"
            )))
        }
        None => (
            gruu_ok || instance_ok,
            format!("{gruu_want}, or {instance_want}"),
        ),
    };
    if !ok {
        out.push(finding("CPIM From device identifier", want, seen_text));
    }
    Ok(())
}

/// The condition key of start-line and correlation findings: they say the message is not the one
/// the step is about, so they are evidence against every requirement of the step.
pub const START_KEY: &str = "start";

/// The condition key of a decline with another status than the awaited one (`status: 603`
/// answered 486): the client refused, as the step is about, with another code. Evidence only
/// against the requirements whose `evidence` names `status` (or that have none).
pub const STATUS_KEY: &str = "status";

/// The pseudo-method `msrp: OPEN`: the client's first MSRP message on a new connection, whichever
/// end the negotiated a=setup made it.
pub const MSRP_OPEN: &str = "OPEN";

/// The condition key of ordering findings (`after:`, a message sent before the step started):
/// the message came at the wrong time, evidence against every requirement of the step.
pub const ORDER_KEY: &str = "order";

/// `true` when an `evidence` entry `claim` (a condition key such as `headers` or `sdp.direction`)
/// covers a finding with key `key`: the same key, a condition inside it, or the condition it is
/// part of (a missing SDP is evidence against `sdp.direction`). Start-line findings are claimed
/// by every entry.
pub fn claims(claim: &str, key: &str) -> bool {
    let inside =
        |a: &str, b: &str| a.len() > b.len() && a.starts_with(b) && a[b.len()..].starts_with('.');
    key == START_KEY
        || key == ORDER_KEY
        || claim.eq_ignore_ascii_case(key)
        || inside(key, claim)
        || inside(claim, key)
}

fn obs_is_sip(obs: Observed<'_>) -> bool {
    matches!(obs, Observed::Sip(_))
}

/// SIP header fields whose values are addresses (name-addr or addr-spec, RFC 3261 20): they
/// compare as URIs (RFC 3261 19.1.4), not as text. Compact forms included.
const ADDRESS_HEADERS: &[&str] = &[
    "To",
    "t",
    "From",
    "f",
    "Contact",
    "m",
    "Refer-To",
    "r",
    "Referred-By",
    "b",
    "P-Asserted-Identity",
    "P-Preferred-Identity",
];

/// `true` for a SIP header whose value is an address.
pub fn is_address_header(name: &str) -> bool {
    ADDRESS_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name))
}

/// CPIM header fields whose values are addresses (RFC 3862 3.3).
pub fn is_address_cpim_key(key: &str) -> bool {
    ["From", "To", "cc"]
        .iter()
        .any(|h| h.eq_ignore_ascii_case(key))
}

/// Upper-tester event fields whose values are addresses (`from` of `message_received`, the
/// `to`, `uri`, `group` and `peer` of others).
pub fn is_address_event_field(name: &str) -> bool {
    ["from", "to", "uri", "group", "peer"]
        .iter()
        .any(|f| f.eq_ignore_ascii_case(name))
}

/// XML paths whose values are addresses: an `entity` or `uri` attribute (conference-info users
/// and endpoints, resource-lists entries).
pub fn is_address_xml_path(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or(path);
    ["@entity", "@uri", "entity", "uri"]
        .iter()
        .any(|a| last.eq_ignore_ascii_case(a))
}

/// How a value is compared by a plain (equality) matcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// Text, byte for byte after substitution.
    Text,
    /// An address: the URI of a name-addr, addr-spec or CPIM `[name] <uri>`, compared by
    /// RFC 3261 19.1.4 (`Uri::same_address`); display names and parameters do not count.
    Uri,
    /// A media type (a Content-Type value): type and subtype compare case-insensitively
    /// (RFC 2045 5.1), every parameter the expected value names must be present with the same
    /// value (`charset` case-insensitively, RFC 2046 4.1.2), other parameters do not count;
    /// `contains` ignores case.
    MediaType,
    /// An RFC 5547 `a=file-selector`: every selector the expected value names (`name`, `type`,
    /// `size`, `hash`) must be in the seen one with the same value, in any order (`type` as a
    /// media type, the hash algorithm ignoring case, the hash bytes however their hex is cased).
    FileSelector,
}

/// Whether a seen `a=file-selector` value echoes the expected one (see
/// [`ValueKind::FileSelector`]).
fn same_file_selector(want: &sdp::FileSelector, seen: &str) -> bool {
    let Ok(seen) = sdp::FileSelector::parse(seen) else {
        return false;
    };
    want.name
        .as_ref()
        .is_none_or(|n| seen.name.as_ref() == Some(n))
        && want.size.is_none_or(|n| seen.size == Some(n))
        && want.file_type.as_ref().is_none_or(|t| {
            MediaType::parse(t).is_ok_and(|t| {
                seen.file_type
                    .as_deref()
                    .is_some_and(|s| same_media_type(&t, s))
            })
        })
        && want.hash.as_ref().is_none_or(|(alg, bytes)| {
            seen.hash
                .as_ref()
                .is_some_and(|(a, b)| a.eq_ignore_ascii_case(alg) && b == bytes)
        })
}

/// Whether a seen Content-Type value is the expected media type (see [`ValueKind::MediaType`]).
fn same_media_type(want: &MediaType, seen: &str) -> bool {
    let Ok(seen) = MediaType::parse(seen) else {
        return false;
    };
    seen.essence() == want.essence()
        && want.params.iter().all(|p| {
            let (w, s) = (p.value.as_deref(), seen.param(&p.name));
            if p.name.eq_ignore_ascii_case("charset") {
                matches!((w, s), (Some(w), Some(s)) if w.eq_ignore_ascii_case(s))
            } else {
                w.is_some() == s.is_some() && w.is_none_or(|w| Some(w) == s)
            }
        })
}

/// SIP, MSRP and CPIM header fields whose values are media types.
pub fn is_media_type_key(key: &str) -> bool {
    key.eq_ignore_ascii_case("Content-Type")
}

/// The URI of an address value: `"Name" <uri>;params`, `Name <uri>`, `<uri>` or a bare URI.
pub fn address_uri(text: &str) -> Option<Uri> {
    NameAddr::parse(text)
        .map(|n| n.uri)
        .ok()
        .or_else(|| Uri::parse(text.trim()).ok())
}

/// The payload of a message body as sent: decoded by the message's own
/// Content-Transfer-Encoding header when it has one (RFC 2045 6).
fn content_of(obs: Observed<'_>) -> Result<Vec<u8>, DecodeError> {
    let cte = obs.header_values("Content-Transfer-Encoding");
    transfer_encoding::decode(cte.first().copied(), obs.body())
}

fn finding(
    what: impl Into<String>,
    expected: impl Into<String>,
    seen: impl Into<String>,
) -> Finding {
    Finding {
        key: None,
        what: what.into(),
        expected: expected.into(),
        seen: seen.into(),
    }
}

fn start_findings(e: &Expect, obs: Observed<'_>) -> Vec<Finding> {
    let mut f = Vec::new();
    match obs {
        Observed::Sip(m) => {
            if let Some(want) = &e.sip {
                let seen = m.method().map(|x| x.to_string());
                if !seen
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case(want))
                {
                    f.push(finding("SIP request", want.clone(), m.summary()));
                }
            }
            if let Some(want) = e.status {
                if !m.status().is_some_and(|c| want.accepts(c.0)) {
                    f.push(finding("SIP status", want.to_string(), m.summary()));
                }
            }
            if let Some(want) = &e.msrp {
                f.push(finding(
                    "protocol",
                    format!("MSRP {}", msrp_start_text(want)),
                    m.summary(),
                ));
            }
        }
        Observed::Msrp(m) => {
            if e.sip.is_some() || e.status.is_some() {
                let want = e
                    .sip
                    .clone()
                    .or(e.status.map(|s| s.to_string()))
                    .unwrap_or_default();
                f.push(finding(
                    "protocol",
                    format!("SIP {want}"),
                    format!("MSRP {}", m.summary()),
                ));
            }
            match &e.msrp {
                // `OPEN`: the client's side of the MSRP connection came up, in the role the
                // negotiated SDP gave it (RFC 4145 / RFC 6135 a=setup; RFC 4975 7.1.1): as the
                // active end it opens with a SEND, as the passive end it answers the role's
                // first SEND with a 2xx. Either is a valid outcome.
                Some(MsrpStart::Method(want)) if want.eq_ignore_ascii_case(MSRP_OPEN) => {
                    let opened = m.method().is_some_and(|x| x.as_str() == "SEND")
                        || m.code().is_some_and(|c| (200..300).contains(&c));
                    if !opened {
                        f.push(finding(
                            "MSRP connection set-up",
                            "a SEND (the client is the active end) or a 2xx to the role's first SEND (the passive end)",
                            m.summary(),
                        ));
                    }
                }
                Some(MsrpStart::Method(want))
                    if !m
                        .method()
                        .is_some_and(|x| x.as_str().eq_ignore_ascii_case(want)) =>
                {
                    f.push(finding("MSRP request", want.clone(), m.summary()));
                }
                Some(MsrpStart::Status(want)) if m.code() != Some(*want) => {
                    f.push(finding("MSRP status", want.to_string(), m.summary()));
                }
                _ => {}
            }
        }
    }
    f
}

fn msrp_start_text(s: &MsrpStart) -> String {
    match s {
        MsrpStart::Method(m) => m.clone(),
        MsrpStart::Status(c) => c.to_string(),
    }
}

fn saved<'e>(env: &'e MatchEnv, name: &str) -> Result<&'e SavedMessage, MatchError> {
    env.saved
        .get(name)
        .ok_or_else(|| MatchError::NoSaved(name.to_string()))
}

fn correlation_findings(
    e: &Expect,
    obs: Observed<'_>,
    env: &MatchEnv,
) -> Result<Vec<Finding>, MatchError> {
    let mut f = Vec::new();
    if let Some(name) = &e.answers {
        match (saved(env, name)?, obs) {
            // RFC 3261 17.1.3: a response matches its client transaction by branch and CSeq
            // method; Call-ID and CSeq together identify the request here.
            (SavedMessage::Sip(req), Observed::Sip(resp)) => {
                if resp.call_id() != req.call_id() {
                    f.push(finding(
                        format!("Call-ID (answers {name})"),
                        quoted(req.call_id()),
                        quoted(resp.call_id()),
                    ));
                }
                if resp.header("CSeq") != req.header("CSeq") {
                    f.push(finding(
                        format!("CSeq (answers {name})"),
                        quoted(req.header("CSeq")),
                        quoted(resp.header("CSeq")),
                    ));
                }
            }
            // RFC 4975 7.2: a response carries the transaction id of its request.
            (SavedMessage::Msrp(req), Observed::Msrp(resp)) => {
                if req.tid != resp.tid {
                    f.push(finding(
                        format!("MSRP transaction (answers {name})"),
                        quoted(Some(&req.tid)),
                        quoted(Some(&resp.tid)),
                    ));
                }
            }
            _ => f.push(finding(
                format!("answers {name}"),
                "a response of the same protocol",
                obs.summary(),
            )),
        }
    }
    if let Some(name) = &e.in_dialog {
        match (saved(env, name)?, obs) {
            (SavedMessage::Sip(d), Observed::Sip(m)) => {
                if m.call_id() != d.call_id() {
                    f.push(finding(
                        format!("Call-ID (in dialog of {name})"),
                        quoted(d.call_id()),
                        quoted(m.call_id()),
                    ));
                }
            }
            // The MSRP session of a dialog is the one its SDP negotiated (RFC 4975 8.1): the
            // message's To-Path or From-Path names a session of the saved message's `a=path`
            // (its own session, or its peer's in an answer). Judged on the messages alone, as
            // live so from a capture.
            (SavedMessage::Sip(d), Observed::Msrp(m)) => {
                let ids = crate::baseline::path_sessions(d);
                if ids.is_empty() {
                    return Err(MatchError::Unsupported(format!(
                        "`in_dialog: {name}` on an MSRP message: {name} has no SDP with an MSRP a=path to name its session"
                    )));
                }
                let seen: Vec<String> = [m.to_path(), m.from_path()]
                    .into_iter()
                    .filter_map(Result::ok)
                    .flatten()
                    .map(|u| u.session_id)
                    .collect();
                if !seen.iter().any(|s| ids.contains(s)) {
                    f.push(finding(
                        format!("MSRP session (in dialog of {name})"),
                        format!(
                            "a To-Path or From-Path URI with session {}",
                            ids.join(" or ")
                        ),
                        if seen.is_empty() {
                            "(no session in To-Path or From-Path)".to_string()
                        } else {
                            seen.join(", ")
                        },
                    ));
                }
            }
            (SavedMessage::Msrp(_), _) => {
                return Err(MatchError::Unsupported(format!(
                    "`in_dialog: {name}` names an MSRP message: expected a SIP message"
                )))
            }
        }
    }
    Ok(f)
}

fn quoted(v: Option<&str>) -> String {
    match v {
        Some(s) => quote_text(s),
        None => "(absent)".to_string(),
    }
}

fn seen_text(seen: &[&str]) -> String {
    match seen {
        [] => "(absent)".to_string(),
        many => many
            .iter()
            .map(|s| quote_text(s))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Evaluates one matcher over every value found (none = absent) as text; pushes a finding if it
/// fails.
pub fn judge(
    out: &mut Vec<Finding>,
    what: &str,
    m: &Matcher,
    seen: &[&str],
    env: &MatchEnv,
) -> Result<(), MatchError> {
    judge_as(out, what, m, seen, env, ValueKind::Text)
}

/// Evaluates one matcher over every value found (none = absent); pushes a finding if it fails.
/// With [`ValueKind::Uri`] a plain (equality) matcher compares addresses as URIs (RFC 3261
/// 19.1.4); `contains` and `regex` always work on the text as written.
pub fn judge_as(
    out: &mut Vec<Finding>,
    what: &str,
    m: &Matcher,
    seen: &[&str],
    env: &MatchEnv,
    kind: ValueKind,
) -> Result<(), MatchError> {
    let ok = match m {
        Matcher::Equals(t) | Matcher::Spec(MatcherSpec::Equals(t)) => {
            let want = env.interpolate(t)?;
            if kind == ValueKind::FileSelector {
                if let Ok(w) = sdp::FileSelector::parse(&want) {
                    if !seen.iter().any(|s| same_file_selector(&w, s)) {
                        out.push(finding(
                            what,
                            format!(
                                "the file selectors {} (each with its value, in any order)",
                                quote_text(&want)
                            ),
                            seen_text(seen),
                        ));
                    }
                    return Ok(());
                }
            }
            if kind == ValueKind::MediaType {
                if let Ok(w) = MediaType::parse(&want) {
                    if !seen.iter().any(|s| same_media_type(&w, s)) {
                        out.push(finding(
                            what,
                            format!(
                                "the media type {} (type, subtype and charset ignore case; \
                                 other parameters of the value may be added)",
                                quote_text(&want)
                            ),
                            seen_text(seen),
                        ));
                    }
                    return Ok(());
                }
            }
            let want_uri = match kind {
                ValueKind::Uri => address_uri(&want),
                ValueKind::Text | ValueKind::MediaType | ValueKind::FileSelector => None,
            };
            let ok = match &want_uri {
                Some(w) => seen
                    .iter()
                    .any(|s| address_uri(s).is_some_and(|u| u.same_address(w))),
                None => seen.iter().any(|s| *s == want),
            };
            if !ok {
                let expected = match &want_uri {
                    Some(w) => format!("the address {w} (compared as a URI, RFC 3261 19.1.4)"),
                    None => quote_text(&want),
                };
                out.push(finding(what, expected, seen_text(seen)));
            }
            return Ok(());
        }
        Matcher::Spec(MatcherSpec::New(true)) => {
            // 7.3.1.3 "newly generated": well formed, and not a value seen before.
            let known = env.known_values();
            let problem = match seen.first() {
                None => Some("(absent)".to_string()),
                Some(v) if v.trim().is_empty() || v.chars().any(char::is_whitespace) => {
                    Some(format!("{} (not a token)", quote_text(v)))
                }
                Some(v) => known
                    .iter()
                    .find(|(_, k)| k == v)
                    .map(|(name, _)| format!("{} (already {name})", quote_text(v))),
            };
            if let Some(seen) = problem {
                out.push(finding(what, m.to_string(), seen));
            }
            return Ok(());
        }
        Matcher::Spec(MatcherSpec::New(false)) => true,
        Matcher::Spec(MatcherSpec::Not(t)) => {
            let unwanted = env.interpolate(t)?;
            !seen.iter().any(|s| *s == unwanted)
        }
        Matcher::Spec(MatcherSpec::Present(p)) => seen.is_empty() != *p,
        Matcher::Spec(MatcherSpec::Absent(a)) => seen.is_empty() == *a,
        Matcher::Spec(MatcherSpec::Contains(t)) => {
            let want = env.interpolate(t)?;
            let ok = if kind == ValueKind::MediaType {
                let want = want.to_ascii_lowercase();
                seen.iter().any(|s| s.to_ascii_lowercase().contains(&want))
            } else {
                seen.iter().any(|s| s.contains(&want))
            };
            if !ok {
                out.push(finding(
                    what,
                    format!("a value containing {}", quote_text(&want)),
                    seen_text(seen),
                ));
            }
            return Ok(());
        }
        Matcher::Spec(MatcherSpec::Regex(r)) => {
            // `${...}` is substituted first; the substituted values match literally.
            let r = &crate::scenario::vars::interpolate(r, &|p| {
                env.resolve(p).map(|v| regex::escape(&v))
            })?;
            let re = regex::Regex::new(&format!("^(?:{r})$"))
                .map_err(|e| MatchError::Regex(r.clone(), e.to_string()))?;
            seen.iter().any(|s| re.is_match(s))
        }
    };
    if !ok {
        out.push(finding(what, m.to_string(), seen_text(seen)));
    }
    Ok(())
}

/// A text value as the reports show it: in double quotes, control characters escaped.
pub fn quote_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A duration as the reports show it: `5 s`, `500 ms`, `1.5 s`.
pub fn human_duration(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms % 1000 == 0 {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// The ICSI a scenario names: a short name (`cpm.session`) or a full URN.
pub fn icsi_of(name: &str) -> String {
    if name.contains(':') {
        name.to_string()
    } else {
        icsi::from_short_name(name)
            .map(str::to_string)
            .unwrap_or_else(|| name.to_string())
    }
}

fn feature_tags(
    out: &mut Vec<Finding>,
    obs: Observed<'_>,
    accept: Option<&[String]>,
    contact: Option<&[String]>,
) -> Result<(), MatchError> {
    let Observed::Sip(m) = obs else {
        return Err(MatchError::Unsupported(
            "feature_tags on an MSRP message".into(),
        ));
    };
    type Group<'a> = (
        &'a str,
        &'a str,
        Option<&'a [String]>,
        Result<Vec<FeatureSet>, DecodeError>,
    );
    let groups: [Group<'_>; 2] = [
        (
            "Accept-Contact",
            "feature_tags.accept-contact",
            accept,
            m.accept_contacts(),
        ),
        (
            "Contact",
            "feature_tags.contact",
            contact,
            m.contact_features(),
        ),
    ];
    for (header, key, want, sets) in groups {
        let Some(want) = want else { continue };
        // wire-facts 1: compare decoded ICSI values, never substrings of the raw header.
        let seen: Vec<String> = match sets {
            Ok(sets) => sets.iter().flat_map(|s| s.icsi_refs()).collect(),
            Err(e) => {
                out.push(
                    finding(
                        format!("{header} feature tags"),
                        "a decodable header",
                        format!("undecodable: {e}"),
                    )
                    .keyed(key),
                );
                continue;
            }
        };
        for w in want {
            let icsi = icsi_of(w);
            if !seen.contains(&icsi) {
                let shown = if seen.is_empty() {
                    "(no +g.3gpp.icsi-ref)".to_string()
                } else {
                    seen.join(", ")
                };
                out.push(finding(format!("{header} +g.3gpp.icsi-ref"), icsi, shown).keyed(key));
            }
        }
        // 3GPP TS 24.229 7.2A.8.2 (wire-facts 1): in Contact and Accept-Contact the ICSI and
        // IARI values are percent-encoded, each ':' written %3A. Decoded values alone would pass
        // a client that writes them raw.
        for raw in unencoded_feature_values(m, header) {
            out.push(
                finding(
                    format!("{header} +g.3gpp.icsi-ref / iari-ref coding"),
                    "a percent-encoded URN (each ':' as %3A, 3GPP TS 24.229 7.2A.8.2)",
                    quote_text(&raw),
                )
                .keyed(key),
            );
        }
    }
    Ok(())
}

/// The `+g.3gpp.icsi-ref` / `+g.3gpp.iari-ref` values of `header` written with a raw `:`.
fn unencoded_feature_values(m: &cpmconf_codec::sip::Message, header: &str) -> Vec<String> {
    let mut out = Vec::new();
    for h in m.headers.iter().filter(|h| h.is(header)) {
        let v = h.value;
        let lower = v.to_ascii_lowercase();
        for tag in ["+g.3gpp.icsi-ref=\"", "+g.3gpp.iari-ref=\""] {
            let mut from = 0;
            while let Some(i) = lower.get(from..).and_then(|t| t.find(tag)) {
                let start = from + i + tag.len();
                let end = v
                    .get(start..)
                    .and_then(|t| t.find('"'))
                    .map_or(v.len(), |e| start + e);
                if let Some(val) = v.get(start..end) {
                    if val.contains(':') {
                        out.push(val.to_string());
                    }
                }
                from = end;
            }
        }
    }
    out
}

/// The content of the body part of a given media type: the whole body, or the matching part of
/// a multipart body, decoded by its Content-Transfer-Encoding (RFC 2045 6). `None` when there is
/// no such part; `Some(Err)` when its transfer encoding cannot be decoded.
fn part_of(obs: Observed<'_>, essence: &str) -> Option<Result<Vec<u8>, DecodeError>> {
    let ct = obs.content_type()?;
    let lower = ct.to_ascii_lowercase();
    if lower.starts_with(essence) {
        return Some(content_of(obs));
    }
    if lower.starts_with("multipart/") {
        let mp = multipart::Multipart::parse_with_type(ct, obs.body()).ok()?;
        return mp
            .value
            .find(essence)
            .map(|p| transfer_encoding::decode(p.header("Content-Transfer-Encoding"), &p.body));
    }
    None
}

/// `part_of` as a finding when the part is missing or undecodable.
fn part_or_finding(
    out: &mut Vec<Finding>,
    obs: Observed<'_>,
    essence: &str,
    what: &str,
) -> Option<Vec<u8>> {
    match part_of(obs, essence) {
        Some(Ok(b)) => Some(b),
        Some(Err(e)) => {
            out.push(finding(
                what,
                format!("a {essence} body decodable by its Content-Transfer-Encoding"),
                format!("undecodable: {e}"),
            ));
            None
        }
        None => {
            out.push(finding(
                what,
                format!("a {essence} body"),
                format!("Content-Type {}", quoted(obs.content_type())),
            ));
            None
        }
    }
}

fn sdp_findings(
    out: &mut Vec<Finding>,
    obs: Observed<'_>,
    s: &SdpExpect,
    env: &MatchEnv,
) -> Result<(), MatchError> {
    let Some(body) = part_or_finding(out, obs, "application/sdp", "SDP") else {
        return Ok(());
    };
    let sd = match sdp::SessionDescription::parse(&body) {
        Ok(d) => d.value,
        Err(e) => {
            out.push(finding(
                "SDP",
                "a decodable SDP body",
                format!("undecodable: {e}"),
            ));
            return Ok(());
        }
    };
    let Some(media) = sd.msrp_media() else {
        out.push(finding(
            "SDP media",
            "an m=message line with an MSRP protocol",
            "(none)",
        ));
        return Ok(());
    };
    let proto = media.media_line().ok().map(|l| l.proto);
    let one = |v: Option<&str>| v.map(|x| vec![x.to_string()]).unwrap_or_default();
    let checks: Vec<(&str, &Option<Matcher>, Vec<String>)> = vec![
        ("SDP m= proto", &s.proto, proto.into_iter().collect()),
        ("SDP a=setup", &s.setup, one(media.attr("setup"))),
        (
            "SDP a=file-selector",
            &s.file_selector,
            one(media.attr("file-selector")),
        ),
        (
            "SDP a=file-range",
            &s.file_range,
            one(media.attr("file-range")),
        ),
        (
            "SDP a=file-transfer-id",
            &s.file_transfer_id,
            one(media.file_transfer_id()),
        ),
        (
            "SDP a=file-disposition",
            &s.file_disposition,
            one(media.file_disposition()),
        ),
        ("SDP a=path", &s.path, one(media.attr("path"))),
    ];
    for (what, m, seen) in checks {
        if let Some(m) = m {
            let seen: Vec<&str> = seen.iter().map(String::as_str).collect();
            let n = out.len();
            let kind = if what == "SDP a=file-selector" {
                ValueKind::FileSelector
            } else {
                ValueKind::Text
            };
            judge_as(out, what, m, &seen, env, kind)?;
            let key = format!(
                "sdp.{}",
                what.trim_start_matches("SDP ")
                    .trim_start_matches("a=")
                    .trim_start_matches("m= ")
            );
            for x in out.iter_mut().skip(n) {
                x.key.get_or_insert_with(|| key.clone());
            }
        }
    }
    if let Some(d) = &s.direction {
        let seen = sd.effective_direction(media).as_str();
        if seen != d {
            out.push(
                finding("SDP direction", quote_text(d), quote_text(seen)).keyed("sdp.direction"),
            );
        }
    }
    if let Some(any) = &s.direction_one_of {
        let seen = sd.effective_direction(media).as_str();
        if !any.iter().any(|d| d == seen) {
            let want = any
                .iter()
                .map(|d| quote_text(d))
                .collect::<Vec<_>>()
                .join(" or ");
            out.push(finding("SDP direction", want, quote_text(seen)).keyed("sdp.direction"));
        }
    }
    for (what, want, have) in [
        ("SDP a=accept-types", &s.accept_types, media.accept_types()),
        (
            "SDP a=accept-wrapped-types",
            &s.accept_wrapped_types,
            media.accept_wrapped_types(),
        ),
    ] {
        for w in want.iter().flatten() {
            if !have.iter().any(|h| h.eq_ignore_ascii_case(w)) {
                out.push(
                    finding(
                        what,
                        format!("a list containing {}", quote_text(w)),
                        if have.is_empty() {
                            "(absent)".into()
                        } else {
                            quote_text(&have.join(" "))
                        },
                    )
                    .keyed(&format!("sdp.{}", what.trim_start_matches("SDP a="))),
                );
            }
        }
    }
    Ok(())
}

/// Well-known CPIM prefixes a scenario may use in keys (`imdn.Message-ID`), resolved to their
/// namespace, whatever alias the message itself declared.
const CPIM_PREFIXES: &[(&str, &str)] = &[("imdn", cpim::NS_IMDN)];

/// The message headers of RFC 3862 3.3 (unprefixed keys).
const CPIM_HEADERS: &[&str] = &["From", "To", "cc", "DateTime", "Subject", "NS", "Require"];

/// The CPIM headers of RFC 5438 6 (keys with the `imdn.` prefix).
const IMDN_CPIM_HEADERS: &[&str] = &[
    "Message-ID",
    "Disposition-Notification",
    "Original-To",
    "IMDN-Record-Route",
    "IMDN-Route",
];

/// Whether `key` of an expectation's `cpim:` names something a CPIM message can carry: the
/// payload (`Content`), its `Content-Type`, an RFC 3862 header, or an `imdn.` header of RFC 5438.
/// A misspelt key matches no header, so an `expect_none` with it would pass anything; `validate`
/// refuses it with what was expected.
pub fn check_cpim_key(key: &str) -> Result<(), String> {
    let known = |names: &[&str], name: &str| names.iter().any(|h| h.eq_ignore_ascii_case(name));
    if key == "Content" || key.eq_ignore_ascii_case("Content-Type") {
        return Ok(());
    }
    match key.split_once('.') {
        None if known(CPIM_HEADERS, key) => Ok(()),
        None => Err(format!(
            "`{key}` is not a CPIM message header (RFC 3862 3.3): expected one of {}, `Content` (the payload), `Content-Type`, or `imdn.<header>`",
            CPIM_HEADERS.join(", ")
        )),
        Some((prefix, name)) if prefix.eq_ignore_ascii_case("imdn") => {
            if known(IMDN_CPIM_HEADERS, name) {
                Ok(())
            } else {
                Err(format!(
                    "`{name}` is not an IMDN header (RFC 5438 6): expected imdn. followed by one of {}",
                    IMDN_CPIM_HEADERS.join(", ")
                ))
            }
        }
        Some((prefix, _)) => Err(format!(
            "unknown namespace prefix `{prefix}`: the matcher knows {}",
            CPIM_PREFIXES
                .iter()
                .map(|(p, _)| format!("`{p}.`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The first value of CPIM header `key` (`imdn.Message-ID`, `From`, ...; `Content` for the
/// payload) of `obs`'s message/cpim body, for a `${<saved>.cpim.<key>}` reference; `None` when
/// the message has no decodable CPIM body or no such header.
pub(crate) fn cpim_value(obs: Observed<'_>, key: &str) -> Option<String> {
    let body = part_of(obs, "message/cpim")?.ok()?;
    let msg = cpim::parse(&body).ok()?.value;
    if key == "Content" {
        let p =
            transfer_encoding::decode(msg.content_header("Content-Transfer-Encoding"), &msg.body)
                .ok()?;
        return Some(String::from_utf8_lossy(&p).into_owned());
    }
    cpim_header_values(&msg, key)
        .ok()?
        .first()
        .map(|v| v.to_string())
}

/// The values of CPIM header `key` of `msg` as a scenario names it: `Content-Type` (of the
/// encapsulated object), `<prefix>.<Name>` (by the namespace the prefix stands for, whatever
/// prefix the message declared), or a header of the CPIM namespace (`From`, `To`, ...).
fn cpim_header_values<'m>(msg: &'m cpim::Message, key: &str) -> Result<Vec<&'m str>, MatchError> {
    if key.eq_ignore_ascii_case("Content-Type") {
        return Ok(msg.content_type().into_iter().collect());
    }
    Ok(match key.split_once('.') {
        Some((prefix, name)) => {
            let Some((_, ns)) = CPIM_PREFIXES
                .iter()
                .find(|(p, _)| p.eq_ignore_ascii_case(prefix))
            else {
                return Err(MatchError::Unsupported(format!(
                    "CPIM key {key:?}: unknown namespace prefix {prefix:?} (known: imdn)"
                )));
            };
            msg.get_ns_all(ns, name)
        }
        None => msg.get_ns_all(cpim::NS_CPIM, key),
    })
}

fn cpim_findings(
    out: &mut Vec<Finding>,
    obs: Observed<'_>,
    want: &std::collections::BTreeMap<String, Matcher>,
    env: &MatchEnv,
) -> Result<(), MatchError> {
    let Some(body) = part_or_finding(out, obs, "message/cpim", "CPIM") else {
        return Ok(());
    };
    let msg = match cpim::parse(&body) {
        Ok(d) => d.value,
        Err(e) => {
            out.push(finding(
                "CPIM",
                "a decodable message/cpim body",
                format!("undecodable: {e}"),
            ));
            return Ok(());
        }
    };
    // RFC 3862 3.2: the encapsulated MIME object carries its own Content-Transfer-Encoding.
    let payload =
        transfer_encoding::decode(msg.content_header("Content-Transfer-Encoding"), &msg.body);
    for (key, m) in want {
        let n = out.len();
        let content;
        let seen: Vec<&str> = if key == "Content" {
            match &payload {
                Ok(p) => {
                    content = String::from_utf8_lossy(p).into_owned();
                    vec![content.as_str()]
                }
                Err(e) => {
                    out.push(finding(
                        "CPIM Content",
                        "content decodable by its Content-Transfer-Encoding",
                        format!("undecodable: {e}"),
                    ));
                    for x in out.iter_mut().skip(n) {
                        x.key.get_or_insert_with(|| format!("cpim.{key}"));
                    }
                    continue;
                }
            }
        } else {
            cpim_header_values(&msg, key)?
        };
        let kind = if is_address_cpim_key(key) {
            ValueKind::Uri
        } else if is_media_type_key(key) {
            ValueKind::MediaType
        } else {
            ValueKind::Text
        };
        judge_as(out, &format!("CPIM {key}"), m, &seen, env, kind)?;
        for x in out.iter_mut().skip(n) {
            x.key.get_or_insert_with(|| format!("cpim.{key}"));
        }
    }
    Ok(())
}

fn xml_findings(
    out: &mut Vec<Finding>,
    obs: Observed<'_>,
    want: &std::collections::BTreeMap<String, Matcher>,
    env: &MatchEnv,
) -> Result<(), MatchError> {
    let body = match obs.content_type().map(str::to_ascii_lowercase) {
        Some(ct) if ct.starts_with("message/cpim") => cpim::parse(obs.body()).ok().and_then(|c| {
            transfer_encoding::decode(
                c.value.content_header("Content-Transfer-Encoding"),
                &c.value.body,
            )
            .ok()
        }),
        Some(ct) if ct.starts_with("multipart/") => obs.content_type().and_then(|ct| {
            let mp = multipart::Multipart::parse_with_type(ct, obs.body()).ok()?;
            mp.value
                .parts
                .iter()
                .find(|p| {
                    p.header("Content-Type")
                        .is_some_and(|t| t.to_ascii_lowercase().contains("xml"))
                })
                .and_then(|p| {
                    transfer_encoding::decode(p.header("Content-Transfer-Encoding"), &p.body).ok()
                })
        }),
        Some(ct) if ct.contains("xml") => content_of(obs).ok(),
        _ => None,
    };
    let Some(body) = body else {
        out.push(finding(
            "XML",
            "an XML body",
            format!("Content-Type {}", quoted(obs.content_type())),
        ));
        return Ok(());
    };
    for (path, m) in want {
        let n = out.len();
        match xml::select(&body, path) {
            Ok(values) => {
                let seen: Vec<&str> = values.iter().map(String::as_str).collect();
                let kind = if is_address_xml_path(path) {
                    ValueKind::Uri
                } else {
                    ValueKind::Text
                };
                judge_as(out, &format!("XML {path}"), m, &seen, env, kind)?;
            }
            Err(e) => {
                out.push(finding(
                    format!("XML {path}"),
                    "a well-formed XML body",
                    format!("undecodable: {e}"),
                ));
            }
        }
        for x in out.iter_mut().skip(n) {
            x.key.get_or_insert_with(|| format!("xml.{path}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Expect;
    use cpmconf_codec::{msrp, sip};
    use rstest::rstest;

    const INVITE: &str = "INVITE sip:g1@cf.test SIP/2.0\r\n\
Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK1\r\n\
From: <sip:a@test>;tag=1\r\n\
To: <sip:g1@cf.test>\r\n\
Call-ID: c1@127.0.0.1\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:a@127.0.0.1:5060>;+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.session\"\r\n\
Accept-Contact: *;+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.session\"\r\n\
Conversation-ID: conv-1\r\n\
Contribution-ID: abc\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 149\r\n\
\r\n\
v=0\r\n\
o=- 1 1 IN IP4 127.0.0.1\r\n\
s=-\r\n\
c=IN IP4 127.0.0.1\r\n\
t=0 0\r\n\
m=message 7394 TCP/MSRP *\r\n\
a=accept-types:message/cpim\r\n\
a=path:msrp://127.0.0.1:7394/s1;tcp\r\n";

    fn sip_msg() -> sip::Message {
        let raw = INVITE.replace(
            "Content-Length: 149",
            &format!(
                "Content-Length: {}",
                INVITE.split("\r\n\r\n").nth(1).unwrap().len()
            ),
        );
        sip::Message::parse(raw.as_bytes()).unwrap().value
    }

    fn expect(yaml: &str) -> Expect {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn env() -> MatchEnv {
        let mut env = MatchEnv::default();
        env.bindings.set("g.conv", "conv-1");
        env.bindings.set("g.uri", "sip:g1@cf.test");
        env
    }

    #[rstest]
    #[case("${g.uri}", "sip:g1@cf.test", true)]
    #[case("sip:g1@cf.${tld}", "sip:g1@cf.test", true)]
    #[case("[a-z]+-${tld}/[0-9]+", "x-test/12", true)]
    // Substituted values match literally: the `.` of `a.c` is no wildcard.
    #[case("${dot}", "abc", false)]
    #[case("${dot}", "a.c", true)]
    #[case("${tld}", "sip:g1@cf.test", false)]
    fn regexes_substitute_references_first(#[case] r: &str, #[case] seen: &str, #[case] ok: bool) {
        let mut env = env();
        env.bindings.set("tld", "test");
        env.bindings.set("dot", "a.c");
        // The scenario loader accepts the regex although `${...}` alone is no valid regex.
        let e = expect(&format!(
            "{{ sip: INVITE, request_uri: {{ regex: '{r}' }} }}"
        ));
        let m = e.request_uri.unwrap();
        let mut f = Vec::new();
        judge(&mut f, "Request-URI", &m, &[seen], &env).unwrap();
        assert_eq!(f.is_empty(), ok, "{f:?}");
    }

    #[test]
    fn a_regex_with_an_undefined_reference_is_an_error_not_a_mismatch() {
        let e = expect("{ sip: INVITE, request_uri: { regex: '${nope}' } }");
        let mut f = Vec::new();
        assert!(judge(
            &mut f,
            "Request-URI",
            &e.request_uri.unwrap(),
            &["x"],
            &env()
        )
        .is_err());
    }

    // 7.3.12: the answer to a sendonly offer may be recvonly or inactive (RFC 3264 6.1); a client
    // answering either passes, one answering sendrecv (or nothing) fails on sdp.direction.
    #[rstest]
    #[case("a=recvonly\r\n", true)]
    #[case("a=inactive\r\n", true)]
    #[case("a=sendrecv\r\n", false)]
    #[case("", false)]
    fn direction_one_of_accepts_each_allowed_answer(#[case] attr: &str, #[case] ok: bool) {
        let raw = INVITE.replace(
            "a=path:msrp://127.0.0.1:7394/s1;tcp\r\n",
            &format!("a=path:msrp://127.0.0.1:7394/s1;tcp\r\n{attr}"),
        );
        let len = raw.split("\r\n\r\n").nth(1).unwrap().len();
        let raw = raw.replace("Content-Length: 149", &format!("Content-Length: {len}"));
        let m = sip::Message::parse(raw.as_bytes()).unwrap().value;
        let e = expect("{ sip: INVITE, sdp: { direction-one-of: [recvonly, inactive] } }");
        let out = check(&e, Observed::Sip(&m), &env()).unwrap();
        assert_eq!(out.matched(), ok, "{:?}", out.findings);
        if !ok {
            assert_eq!(out.findings[0].key.as_deref(), Some("sdp.direction"));
            assert!(out.findings[0]
                .to_string()
                .contains("\"recvonly\" or \"inactive\""));
        }
    }

    // Issue 15 item 4: who opens the MSRP connection follows the negotiated a=setup (RFC 4145 /
    // RFC 6135); `msrp: OPEN` takes the active end's first SEND and the passive end's 200 alike.
    #[rstest]
    #[case::active_end_sends(b"MSRP t0 SEND\r\nTo-Path: msrp://127.0.0.1:1/a;tcp\r\nFrom-Path: msrp://127.0.0.1:2/b;tcp\r\nMessage-ID: m0\r\nByte-Range: 1-0/0\r\n-------t0$\r\n".as_slice(), true)]
    #[case::passive_end_answers(b"MSRP t1 200 OK\r\nTo-Path: msrp://127.0.0.1:1/a;tcp\r\nFrom-Path: msrp://127.0.0.1:2/b;tcp\r\n-------t1$\r\n".as_slice(), true)]
    #[case::an_error_is_no_set_up(b"MSRP t2 481 No Session\r\nTo-Path: msrp://127.0.0.1:1/a;tcp\r\nFrom-Path: msrp://127.0.0.1:2/b;tcp\r\n-------t2$\r\n".as_slice(), false)]
    #[case::a_report_is_no_set_up(b"MSRP t3 REPORT\r\nTo-Path: msrp://127.0.0.1:1/a;tcp\r\nFrom-Path: msrp://127.0.0.1:2/b;tcp\r\nMessage-ID: m0\r\nStatus: 000 200 OK\r\n-------t3$\r\n".as_slice(), false)]
    fn msrp_open_accepts_either_setup_role(#[case] raw: &[u8], #[case] ok: bool) {
        let m = msrp::Message::parse(raw).unwrap().value;
        let e = expect("{ msrp: OPEN }");
        assert_eq!(is_candidate(&e, Observed::Msrp(&m), &env()).unwrap(), ok);
        let out = check(&e, Observed::Msrp(&m), &env()).unwrap();
        assert_eq!(out.matched(), ok, "{:?}", out.findings);
    }

    #[test]
    fn the_empty_connection_opening_send_is_no_candidate_for_content() {
        let raw = b"MSRP t0 SEND\r\nTo-Path: msrp://127.0.0.1:1/a;tcp\r\nFrom-Path: msrp://127.0.0.1:2/b;tcp\r\nMessage-ID: m0\r\nByte-Range: 1-0/0\r\n-------t0$\r\n";
        let m = msrp::Message::parse(raw).unwrap().value;
        let env = env();
        for e in [
            "{ msrp: SEND, cpim: { Content: hi } }",
            "{ msrp: SEND, body: hi }",
            "{ msrp: SEND, xml: { imdn/message-id: m } }",
        ] {
            assert!(
                !is_candidate(&expect(e), Observed::Msrp(&m), &env).unwrap(),
                "{e}"
            );
        }
        assert!(is_candidate(&expect("{ msrp: SEND }"), Observed::Msrp(&m), &env).unwrap());
    }

    #[rstest]
    #[case("{ sip: INVITE, request_uri: '${g.uri}', headers: { Conversation-ID: '${g.conv}' } }", &[])]
    #[case("{ sip: INVITE, headers: { Contribution-ID: def } }", &["header Contribution-ID: expected \"def\", seen \"abc\""])]
    #[case("{ sip: INVITE, headers: { Privacy: { present: true } } }", &["header Privacy: expected (present), seen (absent)"])]
    #[case("{ sip: INVITE, headers: { Privacy: { absent: true }, Call-ID: { regex: 'c[0-9]@.*' } } }", &[])]
    #[case("{ sip: INVITE, headers: { Call-ID: { regex: 'c[0-9]' } } }", &["header Call-ID: expected matching /c[0-9]/, seen \"c1@127.0.0.1\""])]
    #[case("{ sip: MESSAGE }", &["SIP request: expected MESSAGE, seen INVITE sip:g1@cf.test"])]
    #[case("{ sip: INVITE, feature_tags: { accept-contact: [cpm.session], contact: [cpm.session] } }", &[])]
    #[case("{ sip: INVITE, feature_tags: { accept-contact: [cpm.msg] } }", &["Accept-Contact +g.3gpp.icsi-ref: expected urn:urn-7:3gpp-service.ims.icsi.oma.cpm.msg, seen urn:urn-7:3gpp-service.ims.icsi.oma.cpm.session"])]
    #[case("{ sip: INVITE, sdp: { direction: sendrecv, accept-types: [message/cpim], proto: TCP/MSRP } }", &[])]
    #[case("{ sip: INVITE, sdp: { direction: sendonly, setup: active } }", &["SDP a=setup: expected \"active\", seen (absent)", "SDP direction: expected \"sendonly\", seen \"sendrecv\""])]
    #[case("{ sip: INVITE, cpim: { To: x } }", &["CPIM: expected a message/cpim body, seen Content-Type \"application/sdp\""])]
    fn sip_matchers(#[case] e: &str, #[case] want: &[&str]) {
        let m = sip_msg();
        let out = check(&expect(e), Observed::Sip(&m), &env()).unwrap();
        let got: Vec<String> = out.findings.iter().map(|f| f.to_string()).collect();
        assert_eq!(got, want);
        assert_eq!(
            out.quote.first().map(String::as_str),
            Some("INVITE sip:g1@cf.test SIP/2.0")
        );
    }

    #[rstest]
    // The INVITE's ids against what the scenario knows: `g.conv` is "conv-1".
    #[case("{ sip: INVITE, headers: { Contribution-ID: { new: true } } }", &[])]
    #[case("{ sip: INVITE, headers: { Conversation-ID: { new: true } } }", &["header Conversation-ID: expected a newly generated value (none the scenario had seen), seen \"conv-1\" (already the value of ${g.conv})"])]
    #[case("{ sip: INVITE, headers: { Privacy: { new: true } } }", &["header Privacy: expected a newly generated value (none the scenario had seen), seen (absent)"])]
    fn newly_generated_ids_differ_from_every_known_value(#[case] e: &str, #[case] want: &[&str]) {
        let m = sip_msg();
        let out = check(&expect(e), Observed::Sip(&m), &env()).unwrap();
        let got: Vec<String> = out.findings.iter().map(|f| f.to_string()).collect();
        assert_eq!(got, want);
    }

    #[rstest]
    // RFC 3261 19.1.4: same user, host (case-insensitive) and port; display names and
    // parameters do not count; a longer host is another address.
    #[case("sip:bob@test", "<sip:bob@TEST>;tag=1", true)]
    #[case("sip:bob@test", "\"Bob\" <sip:bob@test>", true)]
    #[case("<sip:bob@test>", "sip:bob@test;transport=tcp", true)]
    #[case("sip:bob@test", "<sip:bob@test.example>", false)]
    #[case("sip:bob@test", "<sip:Bob@test>", false)]
    #[case("sip:bob@test", "<sip:bob@test:5061>", false)]
    fn addresses_compare_as_uris(#[case] want: &str, #[case] seen: &str, #[case] ok: bool) {
        let m = Matcher::Equals(want.into());
        let mut f = Vec::new();
        judge_as(&mut f, "CPIM To", &m, &[seen], &env(), ValueKind::Uri).unwrap();
        assert_eq!(f.is_empty(), ok, "{want} vs {seen}: {f:?}");
        // As text, only the identical string passes.
        let mut f = Vec::new();
        judge(&mut f, "Subject", &m, &[seen], &env()).unwrap();
        assert_eq!(f.is_empty(), want == seen);
    }

    #[rstest]
    // RFC 2045 5.1: type and subtype ignore case; RFC 2046 4.1.2: so does the charset value;
    // parameters the expectation names must be there, others may be added.
    #[case("message/imdn+xml", "Message/IMDN+XML", true)]
    #[case("text/plain", "TEXT/Plain; charset=UTF-8", true)]
    #[case("text/plain;charset=utf-8", "text/plain; Charset=\"UTF-8\"", true)]
    #[case("text/plain;charset=utf-8", "text/plain", false)]
    #[case("text/plain;charset=utf-8", "text/plain;charset=iso-8859-1", false)]
    #[case("text/plain", "text/html", false)]
    #[case("text/plain", "text/plainer", false)]
    #[case("multipart/mixed;boundary=b1", "multipart/mixed;boundary=B1", false)]
    fn media_types_compare_by_rfc_2045(#[case] want: &str, #[case] seen: &str, #[case] ok: bool) {
        let mut f = Vec::new();
        let m = Matcher::Equals(want.into());
        judge_as(
            &mut f,
            "CPIM Content-Type",
            &m,
            &[seen],
            &env(),
            ValueKind::MediaType,
        )
        .unwrap();
        assert_eq!(f.is_empty(), ok, "{want} vs {seen}: {f:?}");
    }

    #[rstest]
    // RFC 5547 6: selectors in any order; each one expected must be echoed with its value.
    #[case(
        "name:\"a.jpg\" type:image/jpeg size:50000 hash:sha-1:72:24:5F",
        "size:50000 hash:SHA-1:72:24:5f type:Image/JPEG name:\"a.jpg\"",
        true
    )]
    #[case("name:\"a.jpg\"", "name:\"a.jpg\" type:image/jpeg size:50000", true)]
    #[case("name:\"a.jpg\" size:50000", "name:\"a.jpg\" size:50001", false)]
    #[case("name:\"a.jpg\" size:50000", "name:\"a.jpg\"", false)]
    #[case(
        "name:\"a.jpg\" hash:sha-1:72:24:5F",
        "name:\"a.jpg\" hash:sha-1:72:24:5E",
        false
    )]
    #[case(
        "name:\"a.jpg\" hash:sha-1:72:24:5F",
        "name:\"a.jpg\" hash:sha-256:72:24:5F",
        false
    )]
    #[case(
        "name:\"a.jpg\" type:image/jpeg",
        "name:\"a.jpg\" type:image/png",
        false
    )]
    #[case("name:\"a.jpg\"", "name:\"A.jpg\"", false)]
    #[case("name:\"a.jpg\"", "name:a.jpg", false)]
    fn file_selectors_compare_selector_by_selector(
        #[case] want: &str,
        #[case] seen: &str,
        #[case] ok: bool,
    ) {
        let mut f = Vec::new();
        let m = Matcher::Equals(want.into());
        judge_as(
            &mut f,
            "SDP a=file-selector",
            &m,
            &[seen],
            &env(),
            ValueKind::FileSelector,
        )
        .unwrap();
        assert_eq!(f.is_empty(), ok, "{want} vs {seen}: {f:?}");
    }

    #[rstest]
    #[case(&["3600"], true)]
    #[case(&[], true)]
    #[case(&["0"], false)]
    #[case(&["600", "0"], false)]
    fn not_passes_anything_but_its_value_and_absence(#[case] seen: &[&str], #[case] ok: bool) {
        let mut f = Vec::new();
        let m = Matcher::Spec(MatcherSpec::Not("0".into()));
        judge(&mut f, "header Expires", &m, seen, &env()).unwrap();
        assert_eq!(f.is_empty(), ok, "{seen:?}: {f:?}");
    }

    #[rstest]
    #[case("message/imdn+xml", "Message/IMDN+xml; charset=utf-8", true)]
    #[case("imdn", "application/im-iscomposing+xml", false)]
    fn media_type_contains_ignores_case(#[case] want: &str, #[case] seen: &str, #[case] ok: bool) {
        let mut f = Vec::new();
        let m = Matcher::Spec(MatcherSpec::Contains(want.into()));
        judge_as(
            &mut f,
            "header Content-Type",
            &m,
            &[seen],
            &env(),
            ValueKind::MediaType,
        )
        .unwrap();
        assert_eq!(f.is_empty(), ok, "{want} in {seen}: {f:?}");
        // As text, case counts.
        let mut f = Vec::new();
        judge(&mut f, "Subject", &m, &[seen], &env()).unwrap();
        assert_eq!(f.is_empty(), seen.contains(want));
    }

    #[test]
    fn a_content_type_header_and_cpim_key_compare_as_media_types() {
        let body = "From: <sip:a@test>\r\nTo: <sip:b@test>\r\n\r\nContent-Type: Text/Plain;charset=UTF-8\r\n\r\nhi";
        let raw = format!("MESSAGE sip:b@test SIP/2.0\r\nCall-ID: x\r\nCSeq: 1 MESSAGE\r\nContent-Type: Message/CPIM\r\nContent-Length: {}\r\n\r\n{body}", body.len());
        let m = sip::Message::parse(raw.as_bytes()).unwrap().value;
        for (e, ok) in [
            ("{ sip: MESSAGE, headers: { Content-Type: message/cpim }, cpim: { Content-Type: \"text/plain; charset=utf-8\" } }", true),
            ("{ sip: MESSAGE, cpim: { Content-Type: text/html } }", false),
            ("{ sip: MESSAGE, headers: { Content-Type: { contains: cpim } } }", true),
        ] {
            let out = check(&expect(e), Observed::Sip(&m), &env()).unwrap();
            assert_eq!(out.findings.is_empty(), ok, "{e}: {:?}", out.findings);
        }
    }

    #[test]
    fn an_unencoded_icsi_fails_although_its_decoded_value_matches() {
        let raw = INVITE.replace(
            "Accept-Contact: *;+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.session\"",
            "Accept-Contact: *;+g.3gpp.icsi-ref=\"urn:urn-7:3gpp-service.ims.icsi.oma.cpm.session\"",
        );
        let body_len = raw.split("\r\n\r\n").nth(1).unwrap().len();
        let raw = raw.replace(
            "Content-Length: 149",
            &format!("Content-Length: {body_len}"),
        );
        let m = sip::Message::parse(raw.as_bytes()).unwrap().value;
        let out = check(
            &expect("{ sip: INVITE, feature_tags: { accept-contact: [cpm.session], contact: [cpm.session] } }"),
            Observed::Sip(&m),
            &env(),
        )
        .unwrap();
        assert_eq!(out.findings.len(), 1, "{:?}", out.findings);
        assert_eq!(
            out.findings[0].key.as_deref(),
            Some("feature_tags.accept-contact")
        );
        assert!(out.findings[0].expected.contains("percent-encoded"));
    }

    #[test]
    fn cpim_content_is_compared_after_its_transfer_encoding() {
        for (cte, payload, ok) in [
            ("base64", "aGk=", true),
            ("quoted-printable", "h=69", true),
            ("7bit", "hi", true),
            ("base64", "aGo=", false),
        ] {
            let body = format!("From: <sip:a@test>\r\nTo: <sip:b@test>\r\n\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: {cte}\r\n\r\n{payload}");
            let raw = format!("MESSAGE sip:b@test SIP/2.0\r\nCall-ID: x\r\nCSeq: 1 MESSAGE\r\nContent-Type: message/cpim\r\nContent-Length: {}\r\n\r\n{body}", body.len());
            let m = sip::Message::parse(raw.as_bytes()).unwrap().value;
            let out = check(
                &expect("{ sip: MESSAGE, cpim: { Content: hi, To: 'sip:b@test' } }"),
                Observed::Sip(&m),
                &env(),
            )
            .unwrap();
            assert_eq!(
                out.findings.is_empty(),
                ok,
                "{cte} {payload}: {:?}",
                out.findings
            );
        }
    }

    #[test]
    fn a_refusing_final_response_settles_the_awaited_transaction() {
        let req = sip_msg();
        let mut env = env();
        env.saved.insert("inv".into(), SavedMessage::Sip(req));
        let resp = |code: &str, call: &str| {
            sip::Message::parse(format!("SIP/2.0 {code}\r\nCall-ID: {call}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n").as_bytes()).unwrap().value
        };
        let e = expect("{ status: 200, answers: inv }");
        assert!(refuses(
            &e,
            Observed::Sip(&resp("486 Busy Here", "c1@127.0.0.1")),
            &env
        )
        .unwrap());
        assert!(!refuses(
            &e,
            Observed::Sip(&resp("180 Ringing", "c1@127.0.0.1")),
            &env
        )
        .unwrap());
        assert!(!refuses(&e, Observed::Sip(&resp("200 OK", "c1@127.0.0.1")), &env).unwrap());
        assert!(!refuses(&e, Observed::Sip(&resp("486 Busy Here", "other")), &env).unwrap());
        let e = expect("{ status: 1xx, answers: inv }");
        assert!(refuses(
            &e,
            Observed::Sip(&resp("603 Decline", "c1@127.0.0.1")),
            &env
        )
        .unwrap());
        // Without `answers` nothing says which transaction is awaited.
        assert!(!refuses(
            &expect("{ status: 200 }"),
            Observed::Sip(&resp("486 Busy Here", "c1@127.0.0.1")),
            &env
        )
        .unwrap());
    }

    // A decline awaited: another 4xx or 6xx is the same act with another code (the finding is
    // the status, with the step's other conditions judged on the response); a 2xx, 3xx or 5xx
    // is not a decline at all.
    #[rstest]
    #[case::busy("486 Busy Here", Some(vec!["status"]))]
    #[case::global("600 Busy Everywhere", Some(vec!["status"]))]
    #[case::busy_without_reason("486 Busy Here", Some(vec!["status", "headers.Reason"]))]
    #[case::server_failure("500 Server Internal Error", None)]
    #[case::redirect("302 Moved Temporarily", None)]
    #[case::accepted("200 OK", None)]
    fn a_decline_with_another_code_is_judged_on_its_code(
        #[case] status: &str,
        #[case] keys: Option<Vec<&str>>,
    ) {
        let mut env = env();
        env.saved.insert("inv".into(), SavedMessage::Sip(sip_msg()));
        let resp = sip::Message::parse(
            format!("SIP/2.0 {status}\r\nCall-ID: c1@127.0.0.1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")
                .as_bytes(),
        )
        .unwrap()
        .value;
        // The third case asks for a Reason header the response lacks.
        let e = if keys.as_ref().is_some_and(|k| k.len() == 2) {
            expect("{ status: 603, answers: inv, headers: { Reason: { present: true } } }")
        } else {
            expect("{ status: 603, answers: inv }")
        };
        let got = declined_otherwise(&e, Observed::Sip(&resp), &env).unwrap();
        let got_keys: Option<Vec<String>> =
            got.map(|f| f.into_iter().filter_map(|x| x.key).collect());
        assert_eq!(
            got_keys,
            keys.map(|k| k.into_iter().map(String::from).collect::<Vec<_>>()),
            "{status}"
        );
    }

    #[test]
    fn undefined_reference_is_an_error_not_a_pass() {
        let m = sip_msg();
        let r = check(
            &expect("{ sip: INVITE, request_uri: '${nope}' }"),
            Observed::Sip(&m),
            &env(),
        );
        assert!(matches!(r, Err(MatchError::Reference(_))), "{r:?}");
    }

    #[test]
    fn answers_correlates_call_id_and_cseq() {
        let req = sip_msg();
        let ok = sip::Message::parse(b"SIP/2.0 200 OK\r\nCall-ID: c1@127.0.0.1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n").unwrap().value;
        let other = sip::Message::parse(
            b"SIP/2.0 200 OK\r\nCall-ID: zz\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap()
        .value;
        let mut env = env();
        env.saved.insert("inv".into(), SavedMessage::Sip(req));
        let e = expect("{ status: 2xx, answers: inv }");
        assert!(is_candidate(&e, Observed::Sip(&ok), &env).unwrap());
        assert!(!is_candidate(&e, Observed::Sip(&other), &env).unwrap());
        assert!(env.resolve("inv.header.Call-ID").as_deref() == Some("c1@127.0.0.1"));
    }

    /// `in_dialog` on an MSRP expectation: the message's To-Path or From-Path names a session of
    /// the saved message's SDP `a=path` (an offer or an answer: either end's session); a binding
    /// SEND of an earlier session of the same parties is not a candidate; a saved message with
    /// no MSRP `a=path` cannot name a session.
    #[rstest::rstest]
    #[case::to_the_offerer("res0001", "cli0009", Some(true))]
    #[case::from_the_answerer("cli0009", "res0001", Some(true))]
    #[case::earlier_session("old0001", "cli0001", Some(false))]
    #[case::no_sdp("", "", None)]
    fn in_dialog_names_the_msrp_session_of_the_dialog(
        #[case] to: &str,
        #[case] from: &str,
        #[case] candidate: Option<bool>,
    ) {
        let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=message 7394 TCP/MSRP *\r\na=accept-types:*\r\na=path:msrp://127.0.0.1:7394/res0001;tcp\r\n";
        let invite = if candidate.is_some() {
            format!("INVITE sip:a@test SIP/2.0\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}", sdp.len())
        } else {
            "INVITE sip:a@test SIP/2.0\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n".to_string()
        };
        let mut env = env();
        env.saved.insert(
            "resume".into(),
            SavedMessage::Sip(sip::Message::parse(invite.as_bytes()).unwrap().value),
        );
        let to = if to.is_empty() { "s1" } else { to };
        let from = if from.is_empty() { "s2" } else { from };
        let raw = format!("MSRP t0 SEND\r\nTo-Path: msrp://127.0.0.1:7394/{to};tcp\r\nFrom-Path: msrp://127.0.0.1:7000/{from};tcp\r\nMessage-ID: x0\r\nByte-Range: 1-0/0\r\n\r\n-------t0$\r\n");
        let send = msrp::Message::parse(raw.as_bytes()).unwrap().value;
        let e = expect("{ msrp: SEND, in_dialog: resume }");
        match candidate {
            Some(want) => assert_eq!(is_candidate(&e, Observed::Msrp(&send), &env).unwrap(), want),
            None => assert!(matches!(
                is_candidate(&e, Observed::Msrp(&send), &env),
                Err(MatchError::Unsupported(_))
            )),
        }
    }

    #[test]
    fn msrp_send_with_cpim_and_byte_range() {
        let body = "From: <sip:a@test>\r\nTo: <sip:g1@cf.test>\r\nNS: im <urn:ietf:params:imdn>\r\nim.Message-ID: m1\r\n\r\nContent-Type: text/plain\r\n\r\nhi";
        let raw = format!("MSRP t1 SEND\r\nTo-Path: msrp://127.0.0.1:7394/s1;tcp\r\nFrom-Path: msrp://127.0.0.1:7000/s2;tcp\r\nMessage-ID: x1\r\nByte-Range: 1-{}/{}\r\nContent-Type: message/cpim\r\n\r\n{body}\r\n-------t1$\r\n", body.len(), body.len());
        let m = msrp::Message::parse(raw.as_bytes()).unwrap().value;
        let e = expect("{ msrp: SEND, headers: { Byte-Range: { regex: '1-[0-9]+/[0-9]+' } }, cpim: { To: '<${g.uri}>', imdn.Message-ID: m1, Content: hi } }");
        let out = check(&e, Observed::Msrp(&m), &env()).unwrap();
        assert_eq!(out.findings, vec![]);
        let e = expect("{ msrp: 200 }");
        let out = check(&e, Observed::Msrp(&m), &env()).unwrap();
        assert_eq!(out.findings.len(), 1);
        let e = expect("{ msrp: SEND, feature_tags: { contact: [cpm.session] } }");
        assert!(matches!(
            check(&e, Observed::Msrp(&m), &env()),
            Err(MatchError::Unsupported(_))
        ));
    }

    /// `${<saved>.cpim.<key>}`: a CPIM header of a saved message, by its prefix as the scenario
    /// writes it (the message declares the namespace under another prefix), or its content.
    #[rstest::rstest]
    #[case("s.cpim.imdn.Message-ID", Some("m1"))]
    #[case("s.cpim.IMDN.Message-ID", Some("m1"))]
    #[case("s.cpim.To", Some("<sip:g1@cf.test>"))]
    #[case("s.cpim.Content", Some("hi"))]
    #[case("s.cpim.imdn.Disposition-Notification", None)]
    #[case("s.cpim.nope.Message-ID", None)]
    fn saved_cpim_values_resolve(#[case] path: &str, #[case] want: Option<&str>) {
        let body = "From: <sip:a@test>\r\nTo: <sip:g1@cf.test>\r\nNS: im <urn:ietf:params:imdn>\r\nim.Message-ID: m1\r\n\r\nContent-Type: text/plain\r\n\r\nhi";
        let raw = format!("MSRP t1 SEND\r\nTo-Path: msrp://127.0.0.1:7394/s1;tcp\r\nFrom-Path: msrp://127.0.0.1:7000/s2;tcp\r\nMessage-ID: x1\r\nByte-Range: 1-{}/{}\r\nContent-Type: message/cpim\r\n\r\n{body}\r\n-------t1$\r\n", body.len(), body.len());
        let m = msrp::Message::parse(raw.as_bytes()).unwrap().value;
        let mut env = env();
        env.saved.insert("s".into(), SavedMessage::Msrp(m));
        assert_eq!(env.resolve(path).as_deref(), want);
    }

    /// An MSRP SEND chunk of `len` bytes with `range` as its Byte-Range and `flag` as its
    /// end-line flag.
    fn chunk(range: &str, len: usize, flag: char) -> msrp::Message {
        let body = "x".repeat(len);
        let raw = format!("MSRP t1 SEND\r\nTo-Path: msrp://127.0.0.1:7394/s1;tcp\r\nFrom-Path: msrp://127.0.0.1:7000/s2;tcp\r\nMessage-ID: x1\r\nByte-Range: {range}\r\nContent-Type: application/octet-stream\r\n\r\n{body}\r\n-------t1{flag}\r\n");
        msrp::Message::parse(raw.as_bytes()).unwrap().value
    }

    #[rstest]
    // A client with another chunk size, or that writes `*` for an end or total it does not
    // state (RFC 4975 9), passes; the start is compared as a number.
    #[case::reference_chunk("{ start: '${at}', total: 6000 }", "2049-4096/6000", 2048, '+', &[])]
    #[case::small_chunks("{ start: '${at}', total: 6000 }", "2049-2548/6000", 500, '+', &[])]
    #[case::whole_rest("{ start: '${at}', total: 6000 }", "2049-6000/6000", 3952, '$', &[])]
    #[case::total_unknown("{ start: '${at}', total: 6000 }", "2049-*/*", 100, '+', &[])]
    #[case::from_one("{ start: '${at}', total: 6000 }", "1-2048/6000", 2048, '+', &["byte_range.start"])]
    #[case::other_total("{ start: 2049, total: 6000 }", "2049-4096/9000", 2048, '+', &["byte_range.total"])]
    #[case::partial("{ start: 1, partial: true }", "1-2048/6000", 2048, '+', &[])]
    #[case::partial_unknown_total("{ start: 1, partial: true }", "1-2048/*", 2048, '+', &[])]
    // The whole file in one chunk: not the partial chunk a precondition waits for.
    #[case::whole_file_is_not_partial("{ start: 1, partial: true }", "1-6000/6000", 6000, '$', &["byte_range.partial"])]
    #[case::last_chunk_unknown_total("{ partial: true }", "4097-6000/*", 1904, '$', &["byte_range.partial"])]
    // The end-line flag: `#` ends an aborted message (RFC 4975 7.1.5).
    #[case::aborted("{ aborted: true }", "2049-4096/6000", 2048, '#', &[])]
    #[case::not_aborted("{ aborted: false }", "2049-4096/6000", 2048, '+', &[])]
    #[case::last_is_not_aborted("{ aborted: false }", "4097-6000/6000", 1904, '$', &[])]
    #[case::aborted_where_none_may_be("{ aborted: false }", "2049-4096/6000", 2048, '#', &["byte_range.aborted"])]
    #[case::more_where_an_abort_is_awaited("{ aborted: true }", "2049-4096/6000", 2048, '+', &["byte_range.aborted"])]
    fn byte_ranges_compare_as_numbers(
        #[case] want: &str,
        #[case] range: &str,
        #[case] len: usize,
        #[case] flag: char,
        #[case] keys: &[&str],
    ) {
        let mut env = env();
        env.bindings.set("at", "2049");
        let e = expect(&format!("{{ msrp: SEND, byte_range: {want} }}"));
        let out = check(&e, Observed::Msrp(&chunk(range, len, flag)), &env).unwrap();
        let got: Vec<&str> = out
            .findings
            .iter()
            .filter_map(|f| f.key.as_deref())
            .collect();
        assert_eq!(got, keys, "{:?}", out.findings);
    }

    #[test]
    fn the_connection_opening_send_is_no_candidate_for_a_byte_range() {
        let e = expect("{ msrp: SEND, byte_range: { start: 1 } }");
        let opener = msrp::Message::parse(b"MSRP t0 SEND\r\nTo-Path: msrp://127.0.0.1:7394/s1;tcp\r\nFrom-Path: msrp://127.0.0.1:7000/s2;tcp\r\nMessage-ID: x0\r\nByte-Range: 1-0/0\r\n\r\n-------t0$\r\n").unwrap().value;
        assert!(!is_candidate(&e, Observed::Msrp(&opener), &env()).unwrap());
        let c = chunk("1-2048/6000", 2048, '+');
        assert!(is_candidate(&e, Observed::Msrp(&c), &env()).unwrap());
    }

    /// `last_chunk`: only the chunk that ends its message is a candidate, whatever size the
    /// client cuts; neither the opener nor a `+` or `#` chunk is.
    #[rstest]
    #[case::one_chunk("1-2000/2000", 2000, '$', true)]
    #[case::small_chunks_first("1-1024/2000", 1024, '+', false)]
    #[case::small_chunks_last("1025-2000/2000", 976, '$', true)]
    #[case::unknown_total_last("1025-2000/*", 976, '$', true)]
    #[case::aborted("1025-2000/2000", 976, '#', false)]
    fn only_the_chunk_that_ends_its_message_is_a_last_chunk_candidate(
        #[case] range: &str,
        #[case] len: usize,
        #[case] flag: char,
        #[case] candidate: bool,
    ) {
        let e = expect("{ msrp: SEND, last_chunk: true }");
        let c = chunk(range, len, flag);
        assert_eq!(
            is_candidate(&e, Observed::Msrp(&c), &env()).unwrap(),
            candidate
        );
        let opener = msrp::Message::parse(b"MSRP t0 SEND\r\nTo-Path: msrp://127.0.0.1:7394/s1;tcp\r\nFrom-Path: msrp://127.0.0.1:7000/s2;tcp\r\nMessage-ID: x0\r\nByte-Range: 1-0/0\r\n\r\n-------t0$\r\n").unwrap().value;
        assert!(!is_candidate(&e, Observed::Msrp(&opener), &env()).unwrap());
    }

    /// A resume offer with `range` as its a=file-range (none when empty).
    fn resume_offer(range: &str) -> sip::Message {
        let attr = if range.is_empty() {
            String::new()
        } else {
            format!("a=file-range:{range}\r\n")
        };
        let sdp = format!("v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=message 7000 TCP/MSRP *\r\na=sendonly\r\na=path:msrp://127.0.0.1:7000/s9;tcp\r\na=file-selector:name:\"t.bin\" size:6000\r\n{attr}");
        let raw = format!("INVITE sip:bob@test SIP/2.0\r\nCall-ID: r\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}", sdp.len());
        sip::Message::parse(raw.as_bytes()).unwrap().value
    }

    #[rstest]
    // Bob acknowledged bytes 1-2048 and received 1-4096: a client counting acknowledged bytes
    // (2049), sent bytes (4097) or anything between passes, with the size or `*` as stop.
    #[case::acknowledged_bytes("2049-6000", &[])]
    #[case::open_stop("2049-*", &[])]
    #[case::between("3000-6000", &[])]
    #[case::sent_bytes("4097-6000", &[])]
    // A client that tracks nothing asks for the whole file again.
    #[case::from_byte_one("1-6000", &["resumes"])]
    #[case::before_the_acknowledged_prefix("2048-6000", &["resumes"])]
    #[case::past_what_was_received("4098-6000", &["resumes"])]
    #[case::other_stop("2049-5000", &["resumes"])]
    // No resume point on the wire (absent, or not an RFC 5547 range): not evidence about
    // tracking (the runner stops inconclusive).
    #[case::no_file_range("", &[NO_RESUME_POINT])]
    #[case::inverted_range("6001-6000", &[NO_RESUME_POINT])]
    fn a_resume_point_lies_between_what_was_acknowledged_and_what_was_received(
        #[case] range: &str,
        #[case] keys: &[&str],
    ) {
        let mut env = env();
        env.transfers.insert(
            "first".into(),
            cpmconf_sim::media::TransferProgress {
                acknowledged: 2048,
                received: 4096,
                total: Some(6000),
            },
        );
        let e = expect("{ sip: INVITE, resumes: first }");
        let out = check(&e, Observed::Sip(&resume_offer(range)), &env).unwrap();
        let got: Vec<&str> = out
            .findings
            .iter()
            .filter_map(|f| f.key.as_deref())
            .collect();
        assert_eq!(got, keys, "{:?}", out.findings);
    }

    #[test]
    fn xml_paths_select_values() {
        let xml = "<?xml version=\"1.0\"?><imdn xmlns=\"urn:ietf:params:xml:ns:imdn\"><message-id>m1</message-id><delivery-notification><status><delivered/></status></delivery-notification></imdn>";
        let raw = format!("MESSAGE sip:b@test SIP/2.0\r\nCall-ID: x\r\nCSeq: 1 MESSAGE\r\nContent-Type: message/imdn+xml\r\nContent-Length: {}\r\n\r\n{xml}", xml.len());
        let m = sip::Message::parse(raw.as_bytes()).unwrap().value;
        let e = expect("{ sip: MESSAGE, xml: { imdn/message-id: m1, imdn/delivery-notification/status/*: delivered } }");
        assert_eq!(
            check(&e, Observed::Sip(&m), &env()).unwrap().findings,
            vec![]
        );
        let e = expect("{ sip: MESSAGE, xml: { imdn/message-id: m2 } }");
        assert_eq!(
            check(&e, Observed::Sip(&m), &env()).unwrap().findings.len(),
            1
        );
    }
}

/// `expect_none`: `true` if the message meets the whole expectation (a violation of the
/// SHALL NOT). A message that is only a candidate but differs in some condition is no violation.
pub fn violates(e: &Expect, obs: Observed<'_>, env: &MatchEnv) -> Result<bool, MatchError> {
    Ok(is_candidate(e, obs, env)? && check(e, obs, env)?.matched())
}

/// Judges an upper-tester event against a `wait_for`: `Ok(None)` when the event has another name
/// (not a candidate), else the outcome over the fields. Field values that are not strings are
/// compared by their JSON text (`3`, `true`); a missing field is absent.
pub fn check_event(
    w: &crate::scenario::WaitFor,
    event: &str,
    fields: &serde_json::Value,
    env: &MatchEnv,
) -> Result<Option<MatchOutcome>, MatchError> {
    if w.event != event {
        return Ok(None);
    }
    let mut f = Vec::new();
    for (name, m) in &w.fields {
        let text = match fields.get(name) {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
        };
        let seen: Vec<&str> = text.as_deref().into_iter().collect();
        let n = f.len();
        let kind = if is_address_event_field(name) {
            ValueKind::Uri
        } else {
            ValueKind::Text
        };
        judge_as(
            &mut f,
            &format!("event {event} field {name}"),
            m,
            &seen,
            env,
            kind,
        )?;
        for x in f.iter_mut().skip(n) {
            x.key.get_or_insert_with(|| format!("fields.{name}"));
        }
    }
    Ok(Some(MatchOutcome {
        findings: f,
        quote: vec![format!("{event} {fields}")],
    }))
}

#[cfg(test)]
mod event_tests {
    use super::*;

    #[test]
    fn events_match_by_name_and_fields() {
        let w: crate::scenario::WaitFor = serde_yaml::from_str(
            "{ event: message_received, fields: { text: hi, n: 3, from: { absent: true } } }",
        )
        .unwrap();
        let env = MatchEnv::default();
        let ev = serde_json::json!({ "text": "hi", "n": 3 });
        assert!(check_event(&w, "session_ended", &ev, &env)
            .unwrap()
            .is_none());
        assert!(check_event(&w, "message_received", &ev, &env)
            .unwrap()
            .unwrap()
            .matched());
        let ev = serde_json::json!({ "text": "ho", "n": 3, "from": "sip:b@test" });
        let out = check_event(&w, "message_received", &ev, &env)
            .unwrap()
            .unwrap();
        let got: Vec<String> = out.findings.iter().map(|f| f.to_string()).collect();
        assert_eq!(
            got,
            vec![
                "event message_received field from: expected (absent), seen \"sip:b@test\"",
                "event message_received field text: expected \"hi\", seen \"ho\"",
            ]
        );
    }
}
