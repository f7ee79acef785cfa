//! The protocol baseline: RFC rules that every message of one party (the client under test, or
//! the simulated network in the self-check) must keep whatever a scenario is about, as pure
//! functions over a decoded [`Trace`]. Findings cite RFC rule ids (`rfc3261/8.2.6.2-via-copied`),
//! kept apart from the CR requirement ids of the catalogue.

use std::collections::{BTreeMap, HashMap};

use cpmconf_capture::{Trace, TraceEntry, TraceFrame};
use cpmconf_codec::body;
use cpmconf_codec::sdp::{Direction, SessionDescription};
use cpmconf_codec::sip::{self, Method};
use cpmconf_codec::{Limits, Severity};
use serde::{Deserialize, Serialize};

/// How binding a protocol rule is: an RFC MUST fails the gate, a SHOULD is advisory unless the
/// run is strict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RuleStrength {
    /// RFC 2119 MUST / MUST NOT.
    Must,
    /// RFC 2119 SHOULD / SHOULD NOT.
    Should,
}

impl RuleStrength {
    /// `MUST` or `SHOULD`.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleStrength::Must => "MUST",
            RuleStrength::Should => "SHOULD",
        }
    }
}

/// A non-2xx final response to the client's INVITE is acknowledged (RFC 3261 17.1.1.3: "the
/// client transaction MUST ... generate an ACK request").
pub const ACK_NON_2XX: &str = "rfc3261/17.1.1.3-ack-non-2xx";
/// An offer or answer to receive names a connection address a peer can reach (RFC 3264 5 and
/// 6.1: the address is where the party wishes to receive; 0.0.0.0 is not one).
pub const SDP_UNSPECIFIED_ADDRESS: &str = "rfc3264/5-unspecified-address";
/// The MSRP URI in `a=path` names an address a peer can reach (RFC 4975 8.1, 9).
pub const MSRP_PATH_UNSPECIFIED: &str = "rfc4975/8.1-path-unspecified-address";
/// The tags of a dialog do not change inside it (RFC 3261 12.1.1, 12.2.1.1).
pub const TO_TAG_CHANGED: &str = "rfc3261/12-to-tag-changed";
/// A response copies every Via of its request, in order (RFC 3261 8.2.6.2).
pub const VIA_COPIED: &str = "rfc3261/8.2.6.2-via-copied";
/// A response's From equals its request's From, and its To the request's To (the URI, and the
/// tag when the request had one) (RFC 3261 8.2.6.2).
pub const FROM_TO_COPIED: &str = "rfc3261/8.2.6.2-from-to-copied";
/// The credentials' algorithm is the one the challenge named (RFC 3261 22.4, RFC 7616 3.4).
pub const AUTH_ALGORITHM: &str = "rfc3261/22.4-credentials-algorithm";
/// The credentials' realm is the challenge's realm (RFC 3261 22.4).
pub const AUTH_REALM: &str = "rfc3261/22.4-credentials-realm";
/// The credentials' response is the digest of the provisioned password under the named
/// algorithm (RFC 3261 22.4, RFC 2617 3.2.2).
pub const AUTH_RESPONSE: &str = "rfc3261/22.4-credentials-response";
/// With a `qop`, the credentials count the requests sent with their nonce: `nc` is there, it is
/// 00000001 or more (RFC 2617 3.2.2: "the hexadecimal count of the number of requests
/// (including the current request) that the client has sent with the nonce value in this
/// request"), and no two requests use the same count with one nonce (RFC 7616 3.4: "If the same
/// nc-value is seen twice, then the request is a replay"). A count ahead of the expected one,
/// or below one already seen but unused, is not a replay: the client may have used the nonce
/// out of the capture's sight, or built requests in another order than it sent them.
pub const NONCE_COUNT: &str = "rfc2617/3.2.2-nonce-count";
/// The Contact of a dialog-creating request is the contact the client registered (3GPP TS 24.229
/// 5.1.2A.1.1 / 5.1.3.1; RFC 3261 8.1.1.8: a URI at which the UA can be reached).
pub const CONTACT_REGISTERED: &str = "rfc3261/8.1.1.8-contact-registered";

/// The fixed rules with their strength, for listings (codec findings add their own ids).
pub const RULES: &[(&str, RuleStrength)] = &[
    (ACK_NON_2XX, RuleStrength::Must),
    (SDP_UNSPECIFIED_ADDRESS, RuleStrength::Must),
    (MSRP_PATH_UNSPECIFIED, RuleStrength::Must),
    (TO_TAG_CHANGED, RuleStrength::Must),
    (VIA_COPIED, RuleStrength::Must),
    (FROM_TO_COPIED, RuleStrength::Must),
    (AUTH_ALGORITHM, RuleStrength::Must),
    (AUTH_REALM, RuleStrength::Must),
    (AUTH_RESPONSE, RuleStrength::Must),
    (NONCE_COUNT, RuleStrength::Must),
    (CONTACT_REGISTERED, RuleStrength::Must),
];

fn strength_of(rule: &str) -> RuleStrength {
    RULES
        .iter()
        .find(|(r, _)| *r == rule)
        .map_or(RuleStrength::Must, |(_, s)| *s)
}

/// The rule id of a codec finding: its rule with the space before the short name replaced
/// (`rfc3261/7 bare-lf` becomes `rfc3261/7-bare-lf`).
pub fn codec_rule_id(rule: &str) -> String {
    rule.replace(' ', "-")
}

/// One broken rule in one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtocolFinding {
    /// The RFC rule id.
    pub rule: String,
    /// MUST or SHOULD.
    pub strength: RuleStrength,
    /// Index of the offending trace entry.
    pub entry: usize,
    /// What was checked, with the message summary.
    pub what: String,
    /// What was acceptable.
    pub expected: String,
    /// What came.
    pub seen: String,
}

/// What the baseline found over one trace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BaselineReport {
    /// Every rule that had something to check, with how many messages it checked.
    pub checked: BTreeMap<&'static str, usize>,
    /// Every broken rule, in trace order per rule.
    pub findings: Vec<ProtocolFinding>,
}

impl BaselineReport {
    /// Adds what `other` (another part of the trace, or other rules) checked and found.
    pub fn merge(&mut self, other: BaselineReport) {
        for (rule, n) in other.checked {
            *self.checked.entry(rule).or_default() += n;
        }
        self.findings.extend(other.findings);
    }
}

/// What the checks need besides the trace.
#[derive(Debug, Clone, Default)]
pub struct BaselineConfig {
    /// The judged party's digest password (for recomputing its Authorization responses);
    /// `None` skips the response check.
    pub password: Option<String>,
    /// Contacts the judged party registered outside this trace ([`registered_contacts`] of the
    /// part holding its REGISTER transactions), when the trace is a part of a longer one.
    pub registered: Vec<String>,
}

struct Ctx<'a, 'r> {
    trace: &'a Trace,
    /// `true` for entries sent by the judged party.
    subject: Vec<bool>,
    /// Where the rules add what they checked and found.
    report: &'r mut BaselineReport,
}

impl<'a> Ctx<'a, '_> {
    /// The entry whose `index` is `i` (entries are in index order; a part of a longer trace,
    /// as `cpmconf check` judges a capture in parts, keeps the whole trace's indexes).
    fn entry(&self, i: usize) -> &TraceEntry {
        let at = self
            .trace
            .entries
            .binary_search_by_key(&i, |e| e.index)
            .unwrap_or_else(|_| panic!("trace entry {i} is not in the trace"));
        &self.trace.entries[at]
    }

    fn checked(&mut self, rule: &'static str) {
        *self.report.checked.entry(rule).or_default() += 1;
    }

    fn fail(&mut self, rule: &str, e: &TraceEntry, what: String, expected: &str, seen: String) {
        self.report.findings.push(ProtocolFinding {
            rule: rule.to_string(),
            strength: strength_of(rule),
            entry: e.index,
            what: format!("{what} of {} (trace entry {})", summary(e), e.index),
            expected: expected.to_string(),
            seen,
        });
    }

    fn sip_of(
        &self,
        subject: bool,
    ) -> impl Iterator<Item = (&'a TraceEntry, &'a sip::Message)> + '_ {
        let trace: &'a Trace = self.trace;
        trace
            .entries
            .iter()
            .zip(self.subject.iter())
            .filter(move |(_, s)| **s == subject)
            .filter_map(|(e, _)| e.sip().map(|m| (e, m)))
    }
}

fn summary(e: &TraceEntry) -> String {
    match &e.frame {
        TraceFrame::Sip(d) => d.value.summary(),
        TraceFrame::Msrp(d) => d.value.summary(),
        TraceFrame::Undecodable { .. } => "undecodable bytes".into(),
    }
}

/// Runs every baseline rule over the messages of `trace` for which `is_subject(entry)` is true;
/// the other entries are their peers (challenges, requests answered, responses acknowledged).
pub fn check(
    trace: &Trace,
    is_subject: &dyn Fn(&TraceEntry) -> bool,
    cfg: &BaselineConfig,
) -> BaselineReport {
    let mut report = BaselineReport::default();
    check_with(trace, is_subject, cfg, true, &mut report);
    report
}

/// [`check`] over one part of a longer trace (one REGISTER exchange, Call-ID or MSRP
/// connection, [`crate::parts`]): every rule but the digest rules, which correlate requests
/// and challenges across parts and are judged over the whole trace in order by a [`Digest`].
pub fn check_part(
    trace: &Trace,
    is_subject: &dyn Fn(&TraceEntry) -> bool,
    cfg: &BaselineConfig,
) -> BaselineReport {
    let mut report = BaselineReport::default();
    check_with(trace, is_subject, cfg, false, &mut report);
    report
}

/// [`check_part`], adding what it checked and found to `report` (as [`BaselineReport::merge`]
/// would): a long capture is judged in many small parts, and a report of its own for each
/// part was a good share of the work.
pub fn check_part_into(
    trace: &Trace,
    is_subject: &dyn Fn(&TraceEntry) -> bool,
    cfg: &BaselineConfig,
    report: &mut BaselineReport,
) {
    check_with(trace, is_subject, cfg, false, report);
}

fn check_with(
    trace: &Trace,
    is_subject: &dyn Fn(&TraceEntry) -> bool,
    cfg: &BaselineConfig,
    digest: bool,
    report: &mut BaselineReport,
) {
    let mut cx = Ctx {
        trace,
        subject: trace.entries.iter().map(is_subject).collect(),
        report,
    };
    codec_findings(&mut cx);
    ack_non_2xx(&mut cx);
    receive_address(&mut cx);
    to_tag(&mut cx);
    let answered = answered_requests(&cx);
    via_copied(&mut cx, &answered);
    from_to_copied(&mut cx, &answered);
    if digest {
        authorization(&mut cx, cfg);
    }
    contact_registered(&mut cx, cfg);
}

/// Codec findings of severity warning (SHOULD) or error (MUST) in the message and its bodies.
fn codec_findings(cx: &mut Ctx<'_, '_>) {
    let limits = Limits::default();
    for (i, e) in cx.trace.entries.iter().enumerate() {
        if !cx.subject[i] {
            continue;
        }
        let (mut found, bodies) = match &e.frame {
            TraceFrame::Sip(d) => (d.findings.clone(), body::sip_findings(&d.value, &limits)),
            TraceFrame::Msrp(d) => (d.findings.clone(), body::msrp_findings(&d.value, &limits)),
            TraceFrame::Undecodable { error, .. } => {
                cx.checked("codec");
                let rule = codec_rule_id(error.rule);
                cx.report.findings.push(ProtocolFinding {
                    rule,
                    strength: RuleStrength::Must,
                    entry: e.index,
                    what: format!("bytes at trace entry {}", e.index),
                    expected: format!("a decodable message: {}", error.expected),
                    seen: format!("undecodable at byte {}", error.offset),
                });
                continue;
            }
        };
        cx.checked("codec");
        found.extend(bodies);
        for f in found {
            let strength = match f.severity {
                Severity::Info => continue,
                Severity::Warning => RuleStrength::Should,
                Severity::Error => RuleStrength::Must,
            };
            cx.report.findings.push(ProtocolFinding {
                rule: codec_rule_id(f.rule),
                strength,
                entry: e.index,
                what: format!("{} (trace entry {})", summary(e), e.index),
                expected: format!("no {} finding", f.severity),
                seen: format!("byte {}: {}", f.offset, f.message),
            });
        }
    }
}

/// The transaction key of a message (Call-ID and CSeq number), when it has both: what
/// [`same_transaction`] compares.
fn tx_key(m: &sip::Message) -> Option<(&str, u32)> {
    Some((m.call_id()?, m.cseq_number()?))
}

/// Messages grouped by transaction key, each group in trace order: the rules join a subject's
/// messages with their peers' through it instead of scanning the whole trace for each (a
/// capture of 100,000 messages judged whole took 30 s). Keyed by the Call-ID and the CSeq
/// number, with the capture's fast hasher (a part of a long capture is judged with maps of its
/// own: the standard SipHash was a visible share of the work).
struct ByTransaction<'a> {
    map: cpmconf_capture::FastMap<(&'a str, u32), Vec<(usize, &'a sip::Message)>>,
}

impl<'a> ByTransaction<'a> {
    fn new(messages: impl Iterator<Item = (&'a TraceEntry, &'a sip::Message)>) -> Self {
        let mut map = cpmconf_capture::FastMap::default();
        for (e, m) in messages {
            if let Some(key) = tx_key(m) {
                map.entry(key).or_insert_with(Vec::new).push((e.index, m));
            }
        }
        ByTransaction { map }
    }

    /// The messages of `m`'s transaction (same Call-ID and CSeq number), in trace order, with
    /// their entry indexes.
    fn of<'s>(
        &'s self,
        m: &'s sip::Message,
    ) -> impl DoubleEndedIterator<Item = (usize, &'a sip::Message)> + 's {
        let map: &'s cpmconf_capture::FastMap<(&'s str, u32), Vec<(usize, &'a sip::Message)>> =
            &self.map;
        tx_key(m)
            .and_then(move |key| map.get(&key))
            .into_iter()
            .flatten()
            .filter(move |(_, x)| same_transaction(m, x))
            .copied()
    }
}

fn same_transaction(a: &sip::Message, b: &sip::Message) -> bool {
    a.call_id().is_some()
        && a.call_id() == b.call_id()
        && a.cseq_number().is_some()
        && a.cseq_number() == b.cseq_number()
}

/// RFC 3261 17.1.1.3: every non-2xx final response to an INVITE the subject sent is acknowledged
/// by an ACK with the same Call-ID and CSeq number.
fn ack_non_2xx(cx: &mut Ctx<'_, '_>) {
    let invites: Vec<(usize, &sip::Message)> = cx
        .sip_of(true)
        .filter(|(_, m)| m.method() == Some(&Method::Invite))
        .map(|(e, m)| (e.index, m))
        .collect();
    let finals = ByTransaction::new(cx.sip_of(false).filter(|(_, r)| {
        r.status().is_some_and(|s| s.0 >= 300) && r.cseq_method() == Some(Method::Invite)
    }));
    let acks = ByTransaction::new(
        cx.sip_of(true)
            .filter(|(_, a)| a.method() == Some(&Method::Ack)),
    );
    let mut todo = Vec::new();
    for (_, inv) in &invites {
        // One ACK per final response suffices (retransmissions are answered by the same ACK).
        if let Some((ri, r)) = finals.of(inv).next() {
            // Unacknowledged: what the finding names.
            let missing = (!acks.of(inv).any(|(i, _)| i > ri)).then(|| {
                let code = r.status().map(|s| s.0).unwrap_or(0);
                (code, inv.summary(), r.summary())
            });
            todo.push((ri, missing));
        }
    }
    drop((finals, acks, invites));
    for (ri, missing) in todo {
        cx.checked(ACK_NON_2XX);
        if let Some((code, inv, resp)) = missing {
            let e = cx.entry(ri).clone();
            cx.fail(
                ACK_NON_2XX,
                &e,
                format!("ACK for {code} to {inv}"),
                "an ACK with the INVITE's Call-ID and CSeq number",
                format!("(no ACK after {resp})"),
            );
        }
    }
}

fn unspecified(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.parse::<std::net::IpAddr>()
        .is_ok_and(|a| a.is_unspecified())
}

/// The SDP of a SIP message, plain or as a multipart part.
pub fn sdp_of(m: &sip::Message) -> Option<SessionDescription> {
    let bytes = m.body_part("application/sdp")?.ok()?;
    SessionDescription::parse(&bytes).ok().map(|d| d.value)
}

/// The MSRP session ids of the `a=path` URIs in the SDP of a SIP message (plain or multipart).
pub fn path_sessions(m: &sip::Message) -> Vec<String> {
    let Some(sd) = sdp_of(m) else {
        return Vec::new();
    };
    sd.media
        .iter()
        .filter_map(|md| md.path().and_then(Result::ok))
        .flatten()
        .map(|u| u.session_id)
        .filter(|s| !s.is_empty())
        .collect()
}

/// RFC 3264 5 / RFC 4975 8.1: a stream the subject wants to receive on (sendrecv or recvonly)
/// names a reachable address, not 0.0.0.0 / ::, in `c=` and in the MSRP `a=path`.
fn receive_address(cx: &mut Ctx<'_, '_>) {
    let mut hits = Vec::new();
    for (e, m) in cx.sip_of(true) {
        let Some(sd) = sdp_of(m) else { continue };
        for md in &sd.media {
            let dir = sd.effective_direction(md);
            if !matches!(dir, Direction::SendRecv | Direction::RecvOnly) {
                continue;
            }
            let c = sd.effective_connection(md).map(|c| c.address);
            hits.push((
                e.index,
                SDP_UNSPECIFIED_ADDRESS,
                c.clone().filter(|a| unspecified(a)),
                dir,
            ));
            if let Some(Ok(path)) = md.path() {
                let bad = path
                    .iter()
                    .find(|u| unspecified(&u.host))
                    .map(|u| u.host.clone());
                hits.push((e.index, MSRP_PATH_UNSPECIFIED, bad, dir));
            }
        }
    }
    for (i, rule, bad, dir) in hits {
        cx.checked(rule);
        if let Some(addr) = bad {
            let e = cx.entry(i).clone();
            let what = if rule == SDP_UNSPECIFIED_ADDRESS {
                format!("c= address of a {} stream", dir.as_str())
            } else {
                format!("a=path of a {} stream", dir.as_str())
            };
            cx.fail(
                rule,
                &e,
                what,
                "an address the peer can reach (not 0.0.0.0 or ::)",
                addr,
            );
        }
    }
}

fn tag_of(m: &sip::Message, from: bool) -> Option<String> {
    let na = if from { m.from() } else { m.to() };
    na.ok()?.tag().map(str::to_owned)
}

/// RFC 3261 12: inside a dialog (Call-ID and the peer's tag) the subject's own tag stays the
/// same: the To tag of its responses and, in its requests, the To tag it answers to.
fn to_tag(cx: &mut Ctx<'_, '_>) {
    // (Call-ID, From tag) -> (first To tag, entry index)
    let mut seen: HashMap<(String, String, bool), (String, usize)> = HashMap::new();
    let mut bad = Vec::new();
    for (e, m) in cx.sip_of(true) {
        // Only messages of a dialog usage count: REGISTER, MESSAGE or OPTIONS transactions tag
        // each response anew; a final non-2xx response creates no dialog (a re-sent INVITE with
        // credentials is answered with a new tag); an ACK of a non-2xx answers such a response;
        // and RFC 3261 9.2 makes the To tag of a CANCEL's response a SHOULD.
        let dialog_usage = matches!(
            m.cseq_method(),
            Some(
                Method::Invite
                    | Method::Bye
                    | Method::Update
                    | Method::Prack
                    | Method::Info
                    | Method::Subscribe
                    | Method::Notify
                    | Method::Refer
            )
        );
        if !dialog_usage || m.status().is_some_and(|s| s.0 >= 300) {
            continue;
        }
        let (Some(cid), Some(from), Some(to)) = (m.call_id(), tag_of(m, true), tag_of(m, false))
        else {
            continue;
        };
        let key = (cid.to_string(), from, m.is_request());
        match seen.get(&key) {
            None => {
                seen.insert(key, (to, e.index));
            }
            Some((first, at)) => {
                bad.push((e.index, first.clone(), *at, to));
            }
        }
    }
    for _ in 0..seen.len() {
        cx.checked(TO_TAG_CHANGED);
    }
    for (i, first, at, to) in bad {
        if first == to {
            continue;
        }
        let e = cx.entry(i).clone();
        cx.fail(
            TO_TAG_CHANGED,
            &e,
            "To tag inside the dialog".into(),
            &format!("tag={first} (as in trace entry {at})"),
            format!("tag={to}"),
        );
    }
}

/// The Via values of a message, each as written but with the `received` and `rport` parameters
/// of the top one left out: the server transport adds those to the request as it arrives (RFC 3261
/// 18.2.1, RFC 3581 4), so the copy in the response legitimately carries them.
fn via_values(m: &sip::Message) -> Vec<String> {
    m.headers
        .elements("Via")
        .into_iter()
        .enumerate()
        .map(|(i, (_, v))| {
            let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
            if i > 0 {
                return v;
            }
            let mut parts = v.split(';');
            let head = parts.next().unwrap_or_default().to_string();
            parts
                .filter(|p| {
                    let name = p.split('=').next().unwrap_or_default().trim();
                    !name.eq_ignore_ascii_case("received") && !name.eq_ignore_ascii_case("rport")
                })
                .fold(head, |acc, p| format!("{acc};{p}"))
        })
        .collect()
}

/// Each response of the subject with the request it answers (the latest earlier request of the
/// peer with its Call-ID, CSeq number and method and top Via branch): (response entry, request,
/// response).
fn answered_requests<'a>(cx: &Ctx<'a, '_>) -> Vec<(usize, &'a sip::Message, &'a sip::Message)> {
    let requests = ByTransaction::new(cx.sip_of(false).filter(|(_, m)| m.is_request()));
    let mut out = Vec::new();
    for (e, r) in cx.sip_of(true) {
        if r.is_request() {
            continue;
        }
        let branch = r.top_branch();
        let req = requests.of(r).rev().find(|(i, q)| {
            *i < e.index && q.method().cloned() == r.cseq_method() && q.top_branch() == branch
        });
        if let Some((_, q)) = req {
            out.push((e.index, q, r));
        }
    }
    out
}

/// RFC 3261 8.2.6.2: "The Via header field values in the response MUST equal the Via header
/// field values in the request and MUST maintain the same ordering."
fn via_copied(cx: &mut Ctx<'_, '_>, answered: &[(usize, &sip::Message, &sip::Message)]) {
    for &(i, q, r) in answered {
        let (want, got) = (via_values(q), via_values(r));
        cx.checked(VIA_COPIED);
        if want != got {
            let e = cx.entry(i).clone();
            cx.fail(
                VIA_COPIED,
                &e,
                "Via".into(),
                &format!(
                    "the request's {} Via value(s): {}",
                    want.len(),
                    want.join(", ")
                ),
                format!("{} value(s): {}", got.len(), got.join(", ")),
            );
        }
    }
}

/// Whether `got` is the `want` of RFC 3261 8.2.6.2: the same address (19.1.4; display names and
/// other parameters do not count) and the same tag; with `tag_too` false (a To without a tag in
/// the request) `got` may add one.
fn same_party(want: &sip::NameAddr, got: &sip::NameAddr, tag_too: bool) -> bool {
    let tags = match (want.tag(), got.tag()) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        (None, None) => true,
        // A To without a tag gets one in the response (8.2.6.2); a From does not.
        (None, Some(_)) => !tag_too,
        (Some(_), None) => false,
    };
    want.uri.same_address(&got.uri) && tags
}

/// RFC 3261 8.2.6.2: "The From field of the response MUST equal the From header field of the
/// request. ... If a request contained a To tag in the request, the To header field in the
/// response MUST equal that of the request. However, if the To header field in the request did
/// not contain a tag, the URI in the To header field in the response MUST equal the URI in the
/// To header field". A From whose tag changed breaks the peer's dialog and transaction matching.
fn from_to_copied(cx: &mut Ctx<'_, '_>, answered: &[(usize, &sip::Message, &sip::Message)]) {
    for &(i, q, r) in answered {
        let pairs = [
            ("From", q.from(), r.from(), true),
            ("To", q.to(), r.to(), false),
        ];
        for (name, want, got, tag_too) in pairs {
            let Ok(want) = want else {
                continue;
            };
            cx.checked(FROM_TO_COPIED);
            let seen = match &got {
                Ok(g) if same_party(&want, g, tag_too) => continue,
                Ok(_) | Err(_) => r.headers.value(name).unwrap_or("(absent)").to_string(),
            };
            let expected = match (name, want.tag()) {
                ("To", None) => format!("the request's To URI {}", want.uri),
                _ => format!(
                    "the request's {name}: {}",
                    q.headers.value(name).unwrap_or_default()
                ),
            };
            let e = cx.entry(i).clone();
            cx.fail(FROM_TO_COPIED, &e, name.into(), &expected, seen);
        }
    }
}

fn algorithm_label(a: Option<&str>) -> String {
    a.unwrap_or("MD5").to_ascii_uppercase()
}

/// RFC 3261 22.4: Authorization / Proxy-Authorization answers the last challenge the subject
/// received for that realm: same algorithm, same realm, and a response computed with the
/// provisioned password.
fn authorization(cx: &mut Ctx<'_, '_>, cfg: &BaselineConfig) {
    let mut d = Digest::new(cfg.password.clone());
    for (e, subject) in cx.trace.entries.iter().zip(cx.subject.iter()) {
        d.push(e, *subject);
    }
    cx.report.merge(d.finish());
}

/// The digest rules ([`authorization`]) over a trace given an entry at a time, in order. They
/// match a request's credentials with the latest challenge of its nonce (or of its kind)
/// anywhere before it and count each nonce's uses across the whole trace: a client may reuse a
/// nonce (the REGISTER's, say) on requests of other dialogs until it goes stale, so these rules
/// are not judged a part at a time ([`check_part`] leaves them out). What it keeps: the latest
/// challenge per nonce, and per nonce the counts used (with a hash of the transaction that
/// used each).
#[derive(Debug)]
pub struct Digest {
    password: Option<String>,
    /// The latest challenge per (proxy, nonce), and per proxy.
    of_nonce: HashMap<(bool, String), sip::Challenge>,
    latest: [Option<sip::Challenge>; 2],
    /// Per (proxy, nonce): each count used, with the transaction (Via, CSeq) that sent it.
    counts: HashMap<(bool, String), BTreeMap<u64, u64>>,
    checked: BTreeMap<&'static str, usize>,
    /// Nonce-count findings, then the others (the order [`check`] lists them in).
    count_findings: Vec<ProtocolFinding>,
    findings: Vec<ProtocolFinding>,
}

impl Digest {
    /// A judge of the digest rules; `password` recomputes responses when known.
    pub fn new(password: Option<String>) -> Self {
        Digest {
            password,
            of_nonce: HashMap::new(),
            latest: [None, None],
            counts: HashMap::new(),
            checked: BTreeMap::new(),
            count_findings: Vec::new(),
            findings: Vec::new(),
        }
    }

    /// Whether the rules need to see `e` at all (a challenge, or a request with credentials).
    pub fn wants(e: &TraceEntry) -> bool {
        e.sip().is_some_and(|m| {
            m.status().is_some_and(|s| s.0 == 401 || s.0 == 407)
                || (m.is_request()
                    && (m.headers.contains("Authorization")
                        || m.headers.contains("Proxy-Authorization")))
        })
    }

    fn check(&mut self, rule: &'static str) {
        *self.checked.entry(rule).or_default() += 1;
    }

    fn finding(
        rule: &str,
        e: &TraceEntry,
        what: &str,
        expected: &str,
        seen: String,
    ) -> ProtocolFinding {
        ProtocolFinding {
            rule: rule.to_string(),
            strength: strength_of(rule),
            entry: e.index,
            what: format!("{what} of {} (trace entry {})", summary(e), e.index),
            expected: expected.to_string(),
            seen,
        }
    }

    /// Takes the next entry of the trace; `subject` when the judged party sent it.
    pub fn push(&mut self, e: &TraceEntry, subject: bool) {
        let Some(m) = e.sip() else { return };
        if !subject {
            // A challenge the subject received.
            if m.status().is_some_and(|s| s.0 == 401 || s.0 == 407) {
                let proxy = m.status().is_some_and(|s| s.0 == 407);
                if let Ok(Some(c)) = m.challenge(proxy) {
                    self.of_nonce.insert((proxy, c.nonce.clone()), c.clone());
                    self.latest[usize::from(proxy)] = Some(c);
                }
            }
            return;
        }
        if !m.is_request() {
            return;
        }
        for proxy in [false, true] {
            let Ok(Some(cr)) = m.credentials(proxy) else {
                continue;
            };
            if cr.qop.is_some() {
                // A retransmission repeats its request, count included: it is the same request.
                let tx = {
                    use std::hash::{Hash, Hasher};
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    m.header("Via").unwrap_or_default().hash(&mut h);
                    m.header("CSeq").unwrap_or_default().hash(&mut h);
                    h.finish()
                };
                let seen = self.counts.entry((proxy, cr.nonce.clone())).or_default();
                let nc = cr
                    .nc
                    .as_deref()
                    .and_then(|v| u64::from_str_radix(v, 16).ok());
                let retransmission = nc.is_some_and(|n| seen.get(&n) == Some(&tx));
                let wrong = match nc {
                    None => Some((
                        "a nonce count (`nc`, 8 hex digits) with `qop`".to_string(),
                        cr.nc.clone().unwrap_or_else(|| "(absent)".into()),
                    )),
                    Some(0) => Some((
                        "a count of 00000001 or more (the requests sent with this nonce, this one included)".to_string(),
                        "00000000".to_string(),
                    )),
                    Some(n) => match seen.get(&n) {
                        Some(t) if *t == tx => None,
                        Some(_) => Some((
                            format!("a count not used before with this nonce ({n:08x} went out in an earlier request: a replay)"),
                            format!("{n:08x}"),
                        )),
                        None => None,
                    },
                };
                if let Some(n) = nc {
                    seen.entry(n).or_insert(tx);
                }
                if !retransmission {
                    self.check(NONCE_COUNT);
                    if let Some((expected, seen)) = wrong {
                        self.count_findings.push(Self::finding(
                            NONCE_COUNT,
                            e,
                            "nonce count of the credentials",
                            &expected,
                            seen,
                        ));
                    }
                }
            }
            let c = self
                .of_nonce
                .get(&(proxy, cr.nonce.clone()))
                .or(self.latest[usize::from(proxy)].as_ref())
                .cloned();
            if let Some(c) = c {
                self.judge(e, m, &c, &cr);
            }
        }
    }

    fn judge(
        &mut self,
        e: &TraceEntry,
        m: &sip::Message,
        c: &sip::Challenge,
        cr: &sip::Credentials,
    ) {
        self.check(AUTH_ALGORITHM);
        let (want, got) = (
            algorithm_label(c.algorithm.as_deref()),
            algorithm_label(cr.algorithm.as_deref()),
        );
        if want != got {
            self.findings.push(Self::finding(
                AUTH_ALGORITHM,
                e,
                "algorithm of the credentials",
                &format!("{want} (the challenge's)"),
                cr.algorithm
                    .clone()
                    .unwrap_or_else(|| "(absent: MD5)".into()),
            ));
        }
        self.check(AUTH_REALM);
        if c.realm != cr.realm {
            self.findings.push(Self::finding(
                AUTH_REALM,
                e,
                "realm of the credentials",
                &format!("{:?} (the challenge's)", c.realm),
                format!("{:?}", cr.realm),
            ));
        }
        let method = m.method().map(|x| x.as_str().to_string());
        if let (Some(pw), Some(method)) = (self.password.clone(), method) {
            self.check(AUTH_RESPONSE);
            if !cr.verify(&pw, &method, &m.body) {
                let other = ["MD5", "SHA-256", "MD5-sess", "SHA-256-sess"]
                    .into_iter()
                    .filter(|a| !a.eq_ignore_ascii_case(&got))
                    .find(|a| {
                        let mut alt = cr.clone();
                        alt.algorithm = Some((*a).to_string());
                        alt.verify(&pw, &method, &m.body)
                    });
                self.findings.push(Self::finding(
                    AUTH_RESPONSE,
                    e,
                    "response of the credentials",
                    &format!("the {got} digest of the provisioned password"),
                    match other {
                        Some(a) => format!(
                            "{} (the {a} digest: the label does not name the hash used)",
                            cr.response
                        ),
                        None => format!("{} (no digest of the provisioned password)", cr.response),
                    },
                ));
            }
        }
    }

    /// What the rules checked and found: the nonce-count findings first, then the others, each
    /// in trace order.
    pub fn finish(mut self) -> BaselineReport {
        self.count_findings.append(&mut self.findings);
        BaselineReport {
            checked: self.checked,
            findings: self.count_findings,
        }
    }
}

/// The URI of a Contact compared as RFC 3261 19.1.4 compares SIP URIs, reduced to what
/// identifies the binding: scheme, user, host (case-insensitive) and port.
fn contact_key(na: &sip::NameAddr) -> String {
    let u = &na.uri;
    format!(
        "{}:{}@{}:{}",
        u.scheme.as_str(),
        u.user.as_deref().unwrap_or(""),
        u.host.to_ascii_lowercase(),
        u.port.map(|p| p.to_string()).unwrap_or_default()
    )
}

/// The contacts (and GRUUs) the party `is_subject` picks registered in `trace`: the Contact of
/// each REGISTER it sent that a 2xx answered (not de-registrations), and the pub-gruu /
/// temp-gruu of that 2xx.
pub fn registered_contacts(trace: &Trace, is_subject: &dyn Fn(&TraceEntry) -> bool) -> Vec<String> {
    let mut report = BaselineReport::default();
    let cx = Ctx {
        trace,
        subject: trace.entries.iter().map(is_subject).collect(),
        report: &mut report,
    };
    registrations(&cx)
}

fn registrations(cx: &Ctx<'_, '_>) -> Vec<String> {
    let mut registered: Vec<String> = Vec::new();
    // Most parts of a long capture hold no REGISTER: nothing to index then.
    if !cx
        .sip_of(true)
        .any(|(_, m)| m.method() == Some(&Method::Register))
    {
        return registered;
    }
    let oks = ByTransaction::new(
        cx.sip_of(false)
            .filter(|(_, r)| r.status().is_some_and(|s| (200..300).contains(&s.0))),
    );
    for (e, m) in cx.sip_of(true) {
        if m.method() != Some(&Method::Register) {
            continue;
        }
        let ok = oks.of(m).find(|(i, _)| *i > e.index);
        let Some((_, ok)) = ok else { continue };
        for c in m.contacts().unwrap_or_default() {
            if c.expires() != Some(0) {
                registered.push(contact_key(&c));
            }
        }
        for c in ok.contacts().unwrap_or_default() {
            for p in ["pub-gruu", "temp-gruu"] {
                if let Some(g) = c.params.get(p) {
                    if let Ok(u) = sip::Uri::parse(g.trim_matches('"')) {
                        registered.push(contact_key(&sip::NameAddr::new(u)));
                    }
                }
            }
        }
    }
    registered
}

/// The Contact of a dialog-creating request (INVITE, SUBSCRIBE, REFER outside a dialog) is a
/// contact the subject registered (or a GRUU the registrar gave it).
fn contact_registered(cx: &mut Ctx<'_, '_>, cfg: &BaselineConfig) {
    let mut registered = registrations(cx);
    registered.extend(cfg.registered.iter().cloned());
    if registered.is_empty() {
        return;
    }
    let mut work = Vec::new();
    for (e, m) in cx.sip_of(true) {
        let creating = matches!(
            m.method(),
            Some(Method::Invite) | Some(Method::Subscribe) | Some(Method::Refer)
        ) && tag_of(m, false).is_none();
        if !creating {
            continue;
        }
        let contacts = m.contacts().unwrap_or_default();
        let keys: Vec<String> = contacts.iter().map(contact_key).collect();
        let shown: Vec<String> = contacts.iter().map(|c| c.uri.to_string()).collect();
        work.push((e.index, keys, shown));
    }
    for (i, keys, shown) in work {
        cx.checked(CONTACT_REGISTERED);
        if keys.is_empty() || !keys.iter().all(|k| registered.contains(k)) {
            let e = cx.entry(i).clone();
            cx.fail(
                CONTACT_REGISTERED,
                &e,
                "Contact of a dialog-creating request".into(),
                "the contact the client registered",
                if shown.is_empty() {
                    "(absent)".into()
                } else {
                    shown.join(", ")
                },
            );
        }
    }
}

/// A network-originated out-of-dialog INVITE or MESSAGE carries Conversation-ID (CPM Appendix C).
pub const STIMULUS_CONVERSATION_ID: &str = "cpm/appendix-c-conversation-id";
/// ... and Contribution-ID (CPM Appendix C).
pub const STIMULUS_CONTRIBUTION_ID: &str = "cpm/appendix-c-contribution-id";
/// ... and Accept-Contact with the service's ICSI (3GPP TS 24.229 7.2A.8, wire-facts 1).
pub const STIMULUS_ACCEPT_CONTACT: &str = "ts24229/7.2A.8-accept-contact-icsi";
/// An out-of-dialog request from the network names its originator in P-Asserted-Identity unless
/// privacy is asked for (RFC 3325 9.1, RFC 3323).
pub const STIMULUS_PAI: &str = "rfc3325/9.1-p-asserted-identity";
/// Requests carry a User-Agent and responses a Server with a CPM product token (CPM Appendix D).
pub const STIMULUS_PRODUCT_TOKEN: &str = "cpm/appendix-d-product-token";
/// A CPIM message carries an IMDN Message-ID and a DateTime, as an originating CPM client writes
/// it (RFC 5438 6.3, wire-facts 6).
pub const STIMULUS_CPIM_IDS: &str = "rfc5438/6.3-cpim-message-id";

/// What a conformant CPM network and originating client put on the wire beyond the RFC
/// baseline, checked on the messages of the simulated network only (the client's own are the
/// scenarios' business): the rules `STIMULUS_*`.
pub fn stimulus(trace: &Trace, is_subject: &dyn Fn(&TraceEntry) -> bool) -> Vec<ProtocolFinding> {
    let mut out = Vec::new();
    let mut fail = |rule: &str, e: &TraceEntry, what: &str, expected: &str, seen: &str| {
        out.push(ProtocolFinding {
            rule: rule.to_string(),
            strength: RuleStrength::Must,
            entry: e.index,
            what: format!("{what} of {} (trace entry {})", summary(e), e.index),
            expected: expected.to_string(),
            seen: seen.to_string(),
        });
    };
    let token = |v: Option<&str>| {
        v.is_some_and(|v| v.contains("CPM-serv/OMA") || v.contains("CPM-client/OMA"))
    };
    for e in trace.entries.iter().filter(|e| is_subject(e)) {
        if let Some(m) = e.sip() {
            if m.is_request() {
                if !token(m.headers.value("User-Agent")) {
                    fail(
                        STIMULUS_PRODUCT_TOKEN,
                        e,
                        "User-Agent",
                        "CPM-serv/OMA2.0 or CPM-client/OMA2.0",
                        m.headers.value("User-Agent").unwrap_or("(absent)"),
                    );
                }
                let out_of_dialog = tag_of(m, false).is_none();
                let cpm = matches!(m.method(), Some(Method::Invite | Method::Message));
                if out_of_dialog && cpm {
                    for (rule, h) in [
                        (STIMULUS_CONVERSATION_ID, "Conversation-ID"),
                        (STIMULUS_CONTRIBUTION_ID, "Contribution-ID"),
                    ] {
                        if !m.headers.contains(h) {
                            fail(rule, e, h, "a value", "(absent)");
                        }
                    }
                    if !m
                        .headers
                        .get_all("Accept-Contact")
                        .any(|h| h.value.contains("+g.3gpp.icsi-ref"))
                    {
                        fail(
                            STIMULUS_ACCEPT_CONTACT,
                            e,
                            "Accept-Contact",
                            "*;+g.3gpp.icsi-ref=\"<ICSI>\"",
                            m.headers.value("Accept-Contact").unwrap_or("(absent)"),
                        );
                    }
                }
                let private = m
                    .headers
                    .value("Privacy")
                    .is_some_and(|p| p.to_ascii_lowercase().contains("id"))
                    || m.headers
                        .value("From")
                        .is_some_and(|f| f.to_ascii_lowercase().contains("anonymous"));
                if out_of_dialog
                    && !private
                    && m.method() != Some(&Method::Ack)
                    && m.method() != Some(&Method::Cancel)
                    && !m.headers.contains("P-Asserted-Identity")
                {
                    fail(
                        STIMULUS_PAI,
                        e,
                        "P-Asserted-Identity",
                        "the originator's URI",
                        "(absent)",
                    );
                }
            } else if m.status().is_some_and(|s| s.0 != 100) && !token(m.headers.value("Server")) {
                // 100 Trying is hop-by-hop, made by the transaction layer (RFC 3261 8.2.6.1):
                // the product token is asked of end-to-end responses.
                fail(
                    STIMULUS_PRODUCT_TOKEN,
                    e,
                    "Server",
                    "CPM-serv/OMA2.0 or CPM-client/OMA2.0",
                    m.headers.value("Server").unwrap_or("(absent)"),
                );
            }
        }
        // The CPIM messages of the entry: the inspection names every decoded part by its path.
        let (bytes, parts) = match &e.frame {
            TraceFrame::Sip(d) => (
                d.value.to_bytes(),
                body::inspect_sip(&d.value, &Limits::default()).parts,
            ),
            TraceFrame::Msrp(d) => (
                d.value.to_bytes(),
                body::inspect_msrp(&d.value, &Limits::default()).parts,
            ),
            TraceFrame::Undecodable { .. } => (Vec::new(), Vec::new()),
        };
        for p in parts
            .iter()
            .filter(|p| p.path.ends_with("message/cpim") && p.status == "decoded")
        {
            let Some(b) = bytes.get(p.offset..p.offset + p.len) else {
                continue;
            };
            if let Ok(c) = cpmconf_codec::cpim::parse(b) {
                if c.value.imdn_message_id().is_none() || c.value.datetime().is_none() {
                    fail(
                        STIMULUS_CPIM_IDS,
                        e,
                        "CPIM headers",
                        "imdn.Message-ID and DateTime",
                        "one of them absent",
                    );
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
