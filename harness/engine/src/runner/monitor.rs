//! Global monitors: checks that hold for every message of a scenario, whatever its steps.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use cpmconf_capture::{Trace, TraceEntry};
use cpmconf_ut::ClientProfile;

use crate::assess::StepOutcome;
use crate::baseline::{self, BaselineConfig, BaselineReport, ProtocolFinding, RuleStrength};
use crate::verdict::{Finding, ProtocolResult, Verdict};

use crate::judge::labels::{Labeler, CLIENT};

/// The requirement the User-Agent monitor proves.
pub const USER_AGENT_REQUIREMENT: &str = "7/user-agent-header";

fn product_token() -> Option<&'static regex::Regex> {
    static RE: OnceLock<Option<regex::Regex>> = OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"(^|\s)CPM-client/OMA\d+\.\d+(\s|$)").ok())
        .as_ref()
}

/// 7/user-agent-header (clause 7, L47: "The CPM Client SHALL include a User-Agent header field
/// to indicate the OMA CPM release version of the CPM Client as specified in Appendix D"): the
/// SIP requests the client sent carry a User-Agent with the CPM product token
/// `CPM-client/OMA<major>.<minor>`.
///
/// The sentence does not say which requests. The default reading is every request the client's
/// UA core originates; an ACK for a non-2xx final response (built by the INVITE client
/// transaction from the INVITE, RFC 3261 17.1.1.3) and a CANCEL (built from the INVITE with the
/// header fields RFC 3261 9.1 lists) are not required to carry one. With `strict` (the run's
/// `--strict`), they are too.
///
/// Over a trace or a part of one (traces are judged a dialog at a time, [`ClientRules`]): how
/// many requests it judged, and the first violation with its trace entry index when that index
/// is below `before` (the earliest violation the caller already holds: a later one is not
/// written up).
pub fn user_agent_part(
    trace: &Trace,
    is_client: &dyn Fn(&TraceEntry) -> bool,
    strict: bool,
    before: usize,
) -> (usize, Option<(usize, StepOutcome)>) {
    let Some(re) = product_token() else {
        return (0, None);
    };
    let mut requests = 0;
    // The Via branches of the client's INVITEs: an ACK with one of them belongs to the INVITE
    // transaction (non-2xx); the ACK of a 2xx is a new transaction with a new branch.
    let branch = |m: &cpmconf_codec::sip::Message| -> Option<String> {
        m.header("Via")
            .and_then(|v| v.split(';').find_map(|p| p.trim().strip_prefix("branch=")))
            .map(str::to_string)
    };
    let invite_branches: Vec<String> = trace
        .entries
        .iter()
        .filter(|e| is_client(e))
        .filter_map(|e| e.sip())
        .filter(|m| m.method().is_some_and(|x| x.as_str() == "INVITE"))
        .filter_map(branch)
        .collect();
    for e in &trace.entries {
        let Some(m) = e.sip() else { continue };
        let Some(method) = m.method() else { continue };
        if !is_client(e) {
            continue;
        }
        let transaction_layer = match method.as_str() {
            "CANCEL" => true,
            "ACK" => branch(m).is_some_and(|b| invite_branches.contains(&b)),
            _ => false,
        };
        if transaction_layer && !strict {
            continue;
        }
        requests += 1;
        let ua: Vec<&str> = m.headers.get_all("User-Agent").map(|h| h.value).collect();
        if !ua.iter().any(|v| re.is_match(v)) {
            if e.index >= before {
                return (requests, None);
            }
            let failed = StepOutcome::Failed {
                findings: vec![Finding {
                    key: None,
                    what: format!(
                        "header User-Agent of {} (trace entry {})",
                        m.summary(),
                        e.index
                    ),
                    expected: "a product token CPM-client/OMA<major>.<minor>".into(),
                    seen: if ua.is_empty() {
                        "(absent)".into()
                    } else {
                        format!("{:?}", ua.join(", "))
                    },
                }],
                quote: crate::observed::Observed::Sip(m).quote(),
            };
            return (requests, Some((e.index, failed)));
        }
    }
    (requests, None)
}

/// Findings kept per rule in a scenario result (`entries` lists every offending message).
pub const FINDINGS_PER_RULE: usize = 5;

/// The id under which the codec's checks pass when no message had a warning or error finding.
pub const WELL_FORMED: &str = "codec/well-formed";

/// Groups baseline findings into one result per rule: `fail` for a rule with findings, `pass`
/// for a rule that checked messages and found nothing (codec findings pass together as
/// [`WELL_FORMED`]); a waived rule's failure is `xfail`, and a waived rule with nothing to check
/// is listed as `not-applicable`, so every waiver shows in the results.
pub fn results(report: BaselineReport, waivers: &[String]) -> Vec<ProtocolResult> {
    let mut by_rule: BTreeMap<String, ProtocolResult> = BTreeMap::new();
    // The entries each rule already lists (a capture can hold many thousands).
    let mut listed: std::collections::HashSet<(String, usize)> = Default::default();
    for f in report.findings {
        let r = by_rule
            .entry(f.rule.clone())
            .or_insert_with(|| ProtocolResult {
                rule: f.rule.clone(),
                strength: f.strength,
                verdict: Verdict::Fail,
                waived: false,
                checked: 0,
                entries: Vec::new(),
                findings: Vec::new(),
            });
        r.strength = r.strength.min(f.strength);
        if listed.insert((f.rule.clone(), f.entry)) {
            r.entries.push(f.entry);
        }
        if r.findings.len() < FINDINGS_PER_RULE {
            r.findings.push(Finding {
                what: f.what,
                expected: f.expected,
                seen: f.seen,
                key: None,
            });
        }
    }
    let codec_failed = by_rule
        .keys()
        .any(|k| !baseline::RULES.iter().any(|(r, _)| r == k));
    for (rule, n) in &report.checked {
        let id = if *rule == "codec" { WELL_FORMED } else { rule };
        if let Some(r) = by_rule.get_mut(id) {
            r.checked = *n;
        } else if !(*rule == "codec" && codec_failed) {
            let strength = baseline::RULES
                .iter()
                .find(|(r, _)| *r == id)
                .map_or(RuleStrength::Must, |(_, s)| *s);
            by_rule.insert(
                id.to_string(),
                ProtocolResult {
                    rule: id.to_string(),
                    strength,
                    verdict: Verdict::Pass,
                    waived: false,
                    checked: *n,
                    entries: Vec::new(),
                    findings: Vec::new(),
                },
            );
        }
    }
    for w in waivers {
        match by_rule.get_mut(w) {
            Some(r) => {
                r.waived = true;
                if r.verdict == Verdict::Fail {
                    r.verdict = Verdict::XFail;
                }
            }
            None => {
                by_rule.insert(
                    w.clone(),
                    ProtocolResult {
                        rule: w.clone(),
                        strength: RuleStrength::Must,
                        verdict: Verdict::NotApplicable,
                        waived: true,
                        checked: 0,
                        entries: Vec::new(),
                        findings: Vec::new(),
                    },
                );
            }
        }
    }
    by_rule.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpmconf_capture::Tap;
    use std::net::SocketAddr;

    const CLIENT_ADDR: &str = "127.0.0.1:5070";
    const CORE: &str = "127.0.0.1:5060";

    fn req(method: &str, branch: &str, ua: bool) -> String {
        let ua = if ua {
            "User-Agent: CPM-client/OMA2.0 test/1\r\n"
        } else {
            ""
        };
        format!(
            "{method} sip:bob@test SIP/2.0\r\nVia: SIP/2.0/UDP {CLIENT_ADDR};branch={branch}\r\n\
From: <sip:alice@test>;tag=a\r\nTo: <sip:bob@test>\r\nCall-ID: c1\r\nCSeq: 1 {method}\r\n\
Max-Forwards: 70\r\n{ua}Content-Length: 0\r\n\r\n"
        )
    }

    /// The client's INVITE with a User-Agent, then `requests` from the client.
    fn trace(requests: &[String]) -> Trace {
        let tap = Tap::new();
        let (c, n): (SocketAddr, SocketAddr) =
            (CLIENT_ADDR.parse().unwrap(), CORE.parse().unwrap());
        tap.udp(c, n, req("INVITE", "z9hG4bKinv", true).as_bytes());
        tap.udp(n, c, b"SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKinv\r\nFrom: <sip:alice@test>;tag=a\r\nTo: <sip:bob@test>;tag=b\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
        for r in requests {
            tap.udp(c, n, r.as_bytes());
        }
        Trace::from_events(&tap.events())
    }

    /// The User-Agent monitor's outcome over `t`, as a run's monitors judge it.
    fn judge(t: &Trace, strict: bool) -> Option<StepOutcome> {
        let client: SocketAddr = CLIENT_ADDR.parse().unwrap();
        let mut rules = ClientRules::new(None, strict);
        rules.judge(t, &|e| e.src == client, &BaselineConfig::default());
        rules.finish().1
    }

    #[test]
    fn transaction_layer_requests_need_a_user_agent_only_in_the_strict_reading() {
        let t = trace(&[
            req("ACK", "z9hG4bKinv", false),
            req("CANCEL", "z9hG4bKinv", false),
        ]);
        assert_eq!(judge(&t, false), Some(StepOutcome::Passed));
        match judge(&t, true) {
            Some(StepOutcome::Failed { findings, .. }) => {
                assert!(findings[0].what.contains("ACK"), "{findings:?}")
            }
            other => panic!("strict reading: expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn every_request_of_the_ua_core_needs_one_in_both_readings() {
        // An ACK with a new branch acknowledges a 2xx: the UA core builds it.
        for extra in [
            req("ACK", "z9hG4bKnew", false),
            req("MESSAGE", "z9hG4bKm", false),
        ] {
            let t = trace(std::slice::from_ref(&extra));
            for strict in [false, true] {
                assert!(
                    matches!(judge(&t, strict), Some(StepOutcome::Failed { .. })),
                    "{extra} strict={strict}"
                );
            }
        }
        assert_eq!(judge(&trace(&[]), false), Some(StepOutcome::Passed));
    }

    use rstest::rstest;

    fn finding(rule: &str, strength: RuleStrength, entry: usize) -> ProtocolFinding {
        ProtocolFinding {
            rule: rule.into(),
            strength,
            entry,
            what: format!("x (trace entry {entry})"),
            expected: "e".into(),
            seen: "s".into(),
        }
    }

    fn report() -> BaselineReport {
        let mut checked = BTreeMap::new();
        checked.insert("codec", 4);
        checked.insert(baseline::VIA_COPIED, 2);
        checked.insert(baseline::ACK_NON_2XX, 1);
        BaselineReport {
            checked,
            findings: vec![
                finding(baseline::VIA_COPIED, RuleStrength::Must, 3),
                finding(baseline::VIA_COPIED, RuleStrength::Must, 5),
            ],
        }
    }

    // (waivers, rule, verdict, waived)
    #[rstest]
    #[case(&[], baseline::VIA_COPIED, Verdict::Fail, false)]
    #[case(&[], baseline::ACK_NON_2XX, Verdict::Pass, false)]
    #[case(&[], WELL_FORMED, Verdict::Pass, false)]
    #[case(&[baseline::VIA_COPIED], baseline::VIA_COPIED, Verdict::XFail, true)]
    #[case(&[baseline::AUTH_REALM], baseline::AUTH_REALM, Verdict::NotApplicable, true)]
    fn results_group_by_rule_and_apply_waivers(
        #[case] waivers: &[&str],
        #[case] rule: &str,
        #[case] verdict: Verdict,
        #[case] waived: bool,
    ) {
        let w: Vec<String> = waivers.iter().map(|s| s.to_string()).collect();
        let rs = results(report(), &w);
        let r = rs
            .iter()
            .find(|r| r.rule == rule)
            .expect("a result for the rule");
        assert_eq!((r.verdict, r.waived), (verdict, waived), "{r:#?}");
        if verdict == Verdict::Fail {
            assert_eq!(r.entries, vec![3, 5]);
            assert_eq!(r.checked, 2);
        }
    }

    // The other parties of a foreign capture may break a rule in every message: each rule lists
    // its first FINDINGS_PER_RULE findings in trace order, then one counting the rest at the
    // first left out; a rule within the cap is listed whole, with no count. Parts are judged in
    // any order (a dialog when it goes idle): the result is the same whatever order they come.
    #[rstest]
    #[case::in_trace_order(false, false)]
    #[case::parts_in_reverse(true, false)]
    #[case::interleaved(false, true)]
    fn stimulus_findings_are_capped_per_rule_with_a_count(
        #[case] reverse: bool,
        #[case] interleave: bool,
    ) {
        // Each finding its own part (its k is 0).
        let mut all: Vec<ProtocolFinding> = (0..FINDINGS_PER_RULE + 3)
            .map(|i| finding("rule/a", RuleStrength::Must, 10 + i))
            .collect();
        all.push(finding("rule/b", RuleStrength::Should, 3));
        all.push(finding("rule/b", RuleStrength::Should, 99));
        if reverse {
            all.reverse();
        }
        if interleave {
            let (even, odd): (Vec<_>, Vec<_>) =
                all.into_iter().enumerate().partition(|(i, _)| i % 2 == 0);
            all = odd.into_iter().chain(even).map(|(_, f)| f).collect();
        }
        let mut kept = FirstPerRule::default();
        for f in all {
            kept.push(0, f);
        }
        let out = kept.finish();
        let entries: Vec<(&str, usize)> = out.iter().map(|f| (f.rule.as_str(), f.entry)).collect();
        let mut want = vec![("rule/b", 3)];
        want.extend((10..10 + FINDINGS_PER_RULE).map(|e| ("rule/a", e)));
        want.push(("rule/b", 99));
        want.push(("rule/a", 10 + FINDINGS_PER_RULE));
        assert_eq!(entries, want, "{out:#?}");
        let more = out.last().unwrap();
        assert!(
            more.what.starts_with(&format!(
                "3 more message(s) break this rule (the first {FINDINGS_PER_RULE} are listed"
            )),
            "{}",
            more.what
        );
        assert!(out[..out.len() - 1]
            .iter()
            .all(|f| !f.what.contains("more message(s)")));
    }

    #[test]
    fn a_codec_failure_replaces_the_well_formed_pass() {
        let mut r = report();
        r.findings
            .push(finding("rfc4566/5-crlf", RuleStrength::Should, 1));
        let rs = results(r, &[]);
        assert!(!rs.iter().any(|r| r.rule == WELL_FORMED));
        let lf = rs.iter().find(|r| r.rule == "rfc4566/5-crlf").unwrap();
        assert_eq!(
            (lf.verdict, lf.strength),
            (Verdict::Fail, RuleStrength::Should)
        );
    }
}

/// What is judged over a scenario's whole trace once its steps are done, the same live and
/// from a capture: the User-Agent monitor (into `assessor`), the wire's explanation of a
/// failed registration, the protocol baseline of the client and the simulator's own findings.
/// Judged a part at a time ([`TraceMonitor`]), as `cpmconf check` judges a capture it streams,
/// so both give the same results by construction.
pub fn judge_trace(
    assessor: &mut crate::assess::Assessor<'_>,
    trace: &Trace,
    labels: &Labeler,
    profile: &ClientProfile,
    strict: bool,
    registration_failed: bool,
) -> (Vec<ProtocolResult>, Vec<ProtocolFinding>) {
    let registers: Vec<TraceEntry> = trace
        .entries
        .iter()
        .filter(|e| is_register(e))
        .cloned()
        .collect();
    let mut m = TraceMonitor::new(labels, profile, strict, registers, trace.start);
    for e in &trace.entries {
        m.push(e.clone());
    }
    m.finish(assessor, registration_failed)
}

/// Whether an entry belongs to a REGISTER exchange (a REGISTER request, or a message whose CSeq
/// method is REGISTER).
pub fn is_register(e: &TraceEntry) -> bool {
    use cpmconf_codec::sip::Method;
    e.sip().is_some_and(|m| {
        m.method() == Some(&Method::Register) || m.cseq_method() == Some(Method::Register)
    })
}

/// The client's per-message rules over a trace judged a part at a time (a run's trace, a
/// capture streamed by `cpmconf check`, in scenario and in lint mode): the protocol baseline,
/// its digest rules over the whole trace in order ([`baseline::Digest`]: they correlate
/// across parts), and the User-Agent monitor's earliest violation.
pub struct ClientRules {
    strict: bool,
    digest: baseline::Digest,
    report: BaselineReport,
    ua_requests: usize,
    ua_first: Option<(usize, StepOutcome)>,
}

impl ClientRules {
    /// Rules for a client whose digest password is `password` (`None`: responses are not
    /// recomputed); `strict` reads the User-Agent rule strictly.
    pub fn new(password: Option<String>, strict: bool) -> Self {
        ClientRules {
            strict,
            digest: baseline::Digest::new(password),
            report: BaselineReport::default(),
            ua_requests: 0,
            ua_first: None,
        }
    }

    /// Takes the next entry of the trace, in order (`client`: the client sent it).
    pub fn see(&mut self, e: &TraceEntry, client: bool) {
        if baseline::Digest::wants(e) {
            self.digest.push(e, client);
        }
    }

    /// Judges one part of the trace (in any order), `cfg` giving what other parts registered.
    pub fn judge(
        &mut self,
        part: &Trace,
        is_client: &dyn Fn(&TraceEntry) -> bool,
        cfg: &BaselineConfig,
    ) {
        baseline::check_part_into(part, is_client, cfg, &mut self.report);
        let before = self.ua_first.as_ref().map_or(usize::MAX, |(j, _)| *j);
        let (n, first) = user_agent_part(part, is_client, self.strict, before);
        self.ua_requests += n;
        if let Some(first) = first {
            self.ua_first = Some(first);
        }
    }

    /// The baseline's report (findings in trace order) and the User-Agent monitor's outcome
    /// (`None`: the client sent no request), once every part is judged.
    pub fn finish(mut self) -> (BaselineReport, Option<StepOutcome>) {
        self.report.merge(self.digest.finish());
        // Rules list their findings in trace order, as over a whole trace.
        self.report.findings.sort_by_key(|f| f.entry);
        let ua = match self.ua_first {
            Some((_, failed)) => Some(failed),
            None => (self.ua_requests > 0).then_some(StepOutcome::Passed),
        };
        (self.report, ua)
    }
}

/// [`judge_trace`] over a trace given an entry at a time, judging each part ([`crate::parts`])
/// when it goes idle: what it holds is bounded by the parts open at once, not by the trace's
/// length. The REGISTER exchanges are given up front (what a part's Contact rule needs to know
/// was registered, and what explains a failed registration).
pub struct TraceMonitor<'a> {
    labels: &'a Labeler,
    registers: Vec<TraceEntry>,
    start: Option<std::time::SystemTime>,
    password: String,
    waivers: Vec<String>,
    /// Contacts registered by the client and by the other parties.
    client_registered: Vec<String>,
    others_registered: Vec<String>,
    parts: crate::parts::Parts,
    client: ClientRules,
    /// The other parties' digest rules, over the whole trace in order.
    others_digest: baseline::Digest,
    stimuli: FirstPerRule,
}

impl<'a> TraceMonitor<'a> {
    /// A monitor for a trace labelled by `labels` whose REGISTER exchanges are `registers`.
    pub fn new(
        labels: &'a Labeler,
        profile: &ClientProfile,
        strict: bool,
        registers: Vec<TraceEntry>,
        start: Option<std::time::SystemTime>,
    ) -> Self {
        let held = Trace {
            entries: registers,
            start,
            problems: Vec::new(),
            ends: Vec::new(),
        };
        let client = |e: &TraceEntry| labels.roles(e).0 == CLIENT;
        let client_registered = baseline::registered_contacts(&held, &client);
        let others_registered = baseline::registered_contacts(&held, &|e| !client(e));
        TraceMonitor {
            labels,
            registers: held.entries,
            start,
            password: profile.identity.password.clone(),
            waivers: profile.protocol_waivers.clone(),
            client_registered,
            others_registered,
            parts: Default::default(),
            client: ClientRules::new(Some(profile.identity.password.clone()), strict),
            others_digest: baseline::Digest::new(None),
            stimuli: FirstPerRule::default(),
        }
    }

    /// Takes the next entry of the trace, in order.
    pub fn push(&mut self, e: TraceEntry) {
        if baseline::Digest::wants(&e) {
            let client = self.labels.roles(&e).0 == CLIENT;
            self.client.see(&e, client);
            self.others_digest.push(&e, !client);
        }
        for part in self.parts.push(e) {
            self.judge(part);
        }
    }

    /// How many entries it holds right now.
    pub fn retained(&self) -> usize {
        self.parts.retained() + self.registers.len()
    }

    fn judge(&mut self, entries: Vec<TraceEntry>) {
        let part = Trace {
            entries,
            start: self.start,
            problems: Vec::new(),
            ends: Vec::new(),
        };
        let labels = self.labels;
        let client = |e: &TraceEntry| labels.roles(e).0 == CLIENT;
        let sim = |e: &TraceEntry| !client(e);
        let cfg = BaselineConfig {
            password: Some(self.password.clone()),
            registered: self.client_registered.clone(),
        };
        self.client.judge(&part, &client, &cfg);
        let cfg = BaselineConfig {
            password: None,
            registered: self.others_registered.clone(),
        };
        let mut found = baseline::check_part(&part, &sim, &cfg).findings;
        found.extend(baseline::stimulus(&part, &sim));
        // One entry's findings come in the order the rules judged it.
        found.sort_by_key(|f| f.entry);
        for (k, f) in found.into_iter().enumerate() {
            self.stimuli.push(k, f);
        }
    }

    /// Judges what is still open and gives the results: the User-Agent monitor into
    /// `assessor`, the protocol baseline's results and the other parties' findings.
    pub fn finish(
        mut self,
        assessor: &mut crate::assess::Assessor<'_>,
        registration_failed: bool,
    ) -> (Vec<ProtocolResult>, Vec<ProtocolFinding>) {
        for part in std::mem::take(&mut self.parts).finish() {
            self.judge(part);
        }
        // After the part's own findings of the same entry.
        for (k, f) in self.others_digest.finish().findings.into_iter().enumerate() {
            self.stimuli.push(usize::MAX / 2 + k, f);
        }
        let (report, ua) = self.client.finish();
        if let Some(outcome) = ua {
            assessor.record_monitor(USER_AGENT_REQUIREMENT, outcome);
        }
        if registration_failed {
            let held = Trace {
                entries: std::mem::take(&mut self.registers),
                start: self.start,
                problems: Vec::new(),
                ends: Vec::new(),
            };
            if let Some(why) = super::diagnose::registration(&held, self.labels, &self.password) {
                assessor.explain(&format!("; from the wire: {why}"));
            }
        }
        (results(report, &self.waivers), self.stimuli.finish())
    }
}

/// The findings of the other parties (the simulated network, or a capture's other parties):
/// the simulator must keep the rules it judges the client by, and send what a CPM network and
/// originating client send ([`baseline::stimulus`]). The other parties of a capture made
/// elsewhere (`cpmconf check`) are real networks and clients, which can break a rule in every
/// message they send, so at most [`FINDINGS_PER_RULE`] findings of a rule are listed, in trace
/// order, then one that counts the rest (at the first one left out). No scenario sends a
/// deliberately broken message yet; one that does will need a `send` marker that leaves its
/// entry out here. Kept as they come from
/// parts judged in any order: per rule the first [`FINDINGS_PER_RULE`] + 1 by trace position,
/// and how many there were.
#[derive(Debug, Default)]
struct FirstPerRule {
    rules: BTreeMap<String, (usize, BTreeMap<(usize, usize), ProtocolFinding>)>,
}

impl FirstPerRule {
    /// Finding `f`, the `k`-th of its part (in trace order).
    fn push(&mut self, k: usize, f: ProtocolFinding) {
        let (n, first) = self.rules.entry(f.rule.clone()).or_default();
        *n += 1;
        first.insert((f.entry, k), f);
        if first.len() > FINDINGS_PER_RULE + 1 {
            first.pop_last();
        }
    }

    /// The first findings of each rule in trace order, then per rule with more one finding
    /// saying how many more there were.
    fn finish(self) -> Vec<ProtocolFinding> {
        let mut listed: Vec<((usize, usize), ProtocolFinding)> = Vec::new();
        let mut more = Vec::new();
        for (_, (n, first)) in self.rules {
            for (i, (at, f)) in first.into_iter().enumerate() {
                if i < FINDINGS_PER_RULE {
                    listed.push((at, f));
                } else {
                    more.push((n, f));
                }
            }
        }
        listed.sort_by_key(|(at, _)| *at);
        let mut out: Vec<ProtocolFinding> = listed.into_iter().map(|(_, f)| f).collect();
        for (n, mut f) in more {
            let more = n - FINDINGS_PER_RULE;
            f.what = format!(
                "{more} more message(s) break this rule (the first {FINDINGS_PER_RULE} are listed; the next is {})",
                f.what
            );
            out.push(f);
        }
        out
    }
}
