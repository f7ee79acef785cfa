//! Verdicts per requirement and per scenario, the gate they feed (SHALL / SHALL NOT fail it,
//! SHOULD is advisory unless strict, MAY informational) and the known-failures file.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::catalogue::{Catalogue, Strength, Weight};

/// The outcome of a requirement or a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The client behaved as required.
    Pass,
    /// The client violated the requirement.
    Fail,
    /// The run could not decide (a precondition was not reached).
    Inconclusive,
    /// The harness or the client adapter broke.
    Error,
    /// The client does not declare a capability the scenario needs.
    NotApplicable,
    /// A failure listed in the known-failures file.
    #[serde(rename = "xfail")]
    XFail,
    /// A pass of something listed as a known failure: the list is stale.
    #[serde(rename = "xpass")]
    XPass,
}

impl Verdict {
    /// The report spelling (`not-applicable`, `xfail`).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Error => "error",
            Verdict::NotApplicable => "not-applicable",
            Verdict::XFail => "xfail",
            Verdict::XPass => "xpass",
        }
    }

    /// Combines two verdicts of one scenario: the worse wins (error > fail > xpass >
    /// inconclusive > xfail > pass > not-applicable).
    pub fn worst(self, other: Verdict) -> Verdict {
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }

    /// Applies the known-failures list: an expected failure becomes `xfail`, an expected failure
    /// that passes becomes `xpass`; other verdicts are unchanged.
    pub fn with_expectation(self, expected_to_fail: bool) -> Verdict {
        match (self, expected_to_fail) {
            (Verdict::Fail, true) => Verdict::XFail,
            (Verdict::Pass, true) => Verdict::XPass,
            (v, _) => v,
        }
    }
}

fn rank(v: Verdict) -> u8 {
    match v {
        Verdict::NotApplicable => 0,
        Verdict::Pass => 1,
        Verdict::XFail => 2,
        Verdict::Inconclusive => 3,
        Verdict::XPass => 4,
        Verdict::Fail => 5,
        Verdict::Error => 6,
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One failed condition: what was acceptable against what came.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// What was checked (`header Contribution-ID`).
    pub what: String,
    /// The acceptable value(s).
    pub expected: String,
    /// What came (`(absent)` when nothing).
    pub seen: String,
    /// The scenario condition that produced it (`headers.Contribution-ID`, `cpim.To`,
    /// `sdp.direction`; `start` for the start line and correlation): a step's `evidence` maps
    /// requirements to the conditions they rest on, so each finding blames its own requirement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl Finding {
    /// A finding with no condition key.
    pub fn new(
        what: impl Into<String>,
        expected: impl Into<String>,
        seen: impl Into<String>,
    ) -> Finding {
        Finding {
            what: what.into(),
            expected: expected.into(),
            seen: seen.into(),
            key: None,
        }
    }

    /// The same finding attributed to condition `key` (kept when one is set already).
    pub fn keyed(mut self, key: &str) -> Finding {
        if self.key.is_none() {
            self.key = Some(key.to_string());
        }
        self
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: expected {}, seen {}",
            self.what, self.expected, self.seen
        )
    }
}

/// The verdict of one requirement within one scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequirementResult {
    /// Requirement id.
    pub id: String,
    /// Its strength.
    pub strength: Strength,
    /// Its clause.
    pub clause: String,
    /// The requirement text (from the catalogue).
    pub requirement: String,
    /// The verdict after the known-failures mapping.
    pub verdict: Verdict,
    /// 1-based index of the step that decided it (None when decided by the scenario as a whole).
    pub step: Option<usize>,
    /// Failed conditions (empty on pass).
    pub findings: Vec<Finding>,
    /// The offending message lines, quoted.
    pub quote: Vec<String>,
    /// Free explanation (errors, inconclusive reasons).
    pub message: Option<String>,
    /// The catalogue marks it advisory until confirmed (a SHALL inside a NOTE): it weighs as a
    /// SHOULD unless strict.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub advisory: bool,
    /// Index in the scenario's trace (wire log `#N`) of the quoted message the findings are about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_entry: Option<usize>,
    /// Its frame number in the scenario's pcap (as Wireshark numbers frames).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pcap_frame: Option<u64>,
}

impl RequirementResult {
    /// A result for a catalogued requirement (unknown ids get strength SHALL and an empty text).
    pub fn new(catalogue: &Catalogue, id: &str, verdict: Verdict, step: Option<usize>) -> Self {
        let r = catalogue.get(id);
        RequirementResult {
            id: id.to_string(),
            strength: r.map(|r| r.strength).unwrap_or(Strength::Shall),
            clause: r.map(|r| r.clause.clone()).unwrap_or_default(),
            requirement: r.map(|r| r.requirement.clone()).unwrap_or_default(),
            verdict,
            step,
            findings: Vec::new(),
            quote: Vec::new(),
            message: None,
            advisory: r.is_some_and(|r| r.advisory),
            trace_entry: None,
            pcap_frame: None,
        }
    }

    /// How much this result weighs in the gate: its strength's weight, but an advisory
    /// requirement (catalogue `advisory: true`) weighs at most as a SHOULD unless strict.
    pub fn weight(&self, strict: bool) -> Weight {
        match self.strength.weight(strict) {
            Weight::Gate if self.advisory && !strict => Weight::Advisory,
            w => w,
        }
    }

    /// `true` if this result fails the gate.
    pub fn fails_gate(&self, strict: bool) -> bool {
        verdict_fails_gate(self.verdict, Some(self.weight(strict)))
    }
}

/// `true` if a verdict of this weight fails the gate: `fail` and `xpass` weigh by strength;
/// `error` and `inconclusive` always fail the gate (no result is not a pass).
pub fn verdict_fails_gate(v: Verdict, weight: Option<Weight>) -> bool {
    match v {
        Verdict::Fail | Verdict::XPass => weight.is_none_or(|w| w == Weight::Gate),
        Verdict::Error | Verdict::Inconclusive => true,
        Verdict::Pass | Verdict::NotApplicable | Verdict::XFail => false,
    }
}

/// The outcome of one scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioResult {
    /// Scenario id.
    pub id: String,
    /// Clause.
    pub clause: String,
    /// Title.
    pub title: String,
    /// The overall verdict (the worst of the requirement verdicts, or the scenario's own).
    pub verdict: Verdict,
    /// Per-requirement results.
    pub requirements: Vec<RequirementResult>,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// Explanation for error / inconclusive / not-applicable.
    pub message: Option<String>,
    /// Protocol baseline verdicts (RFC rule ids, apart from the CR requirements).
    #[serde(default)]
    pub protocol: Vec<ProtocolResult>,
    /// Baseline and stimulus findings in what the simulated network sent: a harness defect
    /// (the simulator must keep the rules it judges the client by); never part of the gate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stimuli: Vec<crate::baseline::ProtocolFinding>,
    /// The scenario's pcap, relative to the report directory (`pcap/<id>.pcap`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pcap: Option<String>,
    /// Its wire log, relative to the report directory (`wire/<id>.log`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wire_log: Option<String>,
}

impl ScenarioResult {
    /// `true` if the scenario fails the gate.
    pub fn fails_gate(&self, strict: bool) -> bool {
        if self.protocol.iter().any(|p| p.fails_gate(strict)) {
            return true;
        }
        if self.requirements.is_empty() {
            return verdict_fails_gate(self.verdict, None);
        }
        self.requirements.iter().any(|r| r.fails_gate(strict))
            || matches!(self.verdict, Verdict::Error | Verdict::Inconclusive)
    }

    /// Adds protocol baseline verdicts; a failure (not waived) makes the scenario fail.
    pub fn add_protocol(&mut self, results: Vec<ProtocolResult>) {
        for p in &results {
            if p.verdict == Verdict::Fail && self.verdict != Verdict::NotApplicable {
                self.verdict = self.verdict.worst(Verdict::Fail);
            }
        }
        self.protocol.extend(results);
    }
}

/// The verdict of one protocol baseline rule (an RFC rule id such as
/// `rfc3261/8.2.6.2-via-copied`) over every message the client sent in one scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProtocolResult {
    /// The RFC rule id.
    pub rule: String,
    /// MUST (fails the gate) or SHOULD (advisory unless strict).
    pub strength: crate::baseline::RuleStrength,
    /// `pass`, `fail`, or `xfail` when the client profile waives the rule.
    pub verdict: Verdict,
    /// `true` when the client profile waives the rule (`protocol_waivers`).
    #[serde(default)]
    pub waived: bool,
    /// Messages checked.
    pub checked: usize,
    /// Trace entries of the offending messages.
    pub entries: Vec<usize>,
    /// Failed conditions (at most a few per rule; `entries` lists all).
    pub findings: Vec<Finding>,
}

impl ProtocolResult {
    /// `true` if this result fails the gate: a failed MUST, or a failed SHOULD when strict.
    pub fn fails_gate(&self, strict: bool) -> bool {
        self.verdict == Verdict::Fail
            && (strict || self.strength == crate::baseline::RuleStrength::Must)
    }
}

/// The gate over a whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gate {
    /// `true` when nothing fails the gate.
    pub passed: bool,
    /// Scenarios failing the gate.
    pub failing: usize,
    /// Requirement results failing only advisorily (SHOULD, not strict).
    pub advisory: usize,
    /// Requirement results with a judgement about the client (pass, fail, xfail, xpass).
    pub judged: usize,
    /// Requirement results in all.
    pub requirements: usize,
    /// Requirement results not applicable (the client lacks a capability).
    pub not_applicable: usize,
    /// Requirement results inconclusive (their situation was not reached).
    pub inconclusive: usize,
    /// Requirement results in error (the harness or adapter broke).
    pub errors: usize,
    /// The fewest judged results the gate accepts (`--min-judged`), when set.
    pub min_judged: Option<usize>,
    /// Scenarios whose golden projection differs from its file (each fails the gate).
    #[serde(default)]
    pub golden_diffs: usize,
    /// Scenarios without a golden file yet (reported, not failing the gate).
    #[serde(default)]
    pub golden_missing: usize,
}

impl Gate {
    /// "2 golden diff(s), 1 golden file(s) missing": the golden counts, kept apart.
    pub fn golden_text(&self) -> String {
        format!(
            "{} golden diff(s), {} golden file(s) missing",
            self.golden_diffs, self.golden_missing
        )
    }

    /// "judged 40 of 120 requirements (70 not applicable, 10 inconclusive)".
    pub fn judged_text(&self) -> String {
        let mut s = format!(
            "judged {} of {} requirements ({} not applicable, {} inconclusive",
            self.judged, self.requirements, self.not_applicable, self.inconclusive
        );
        if self.errors > 0 {
            s.push_str(&format!(", {} error", self.errors));
        }
        s.push(')');
        if let Some(m) = self.min_judged {
            s.push_str(&format!(
                "; at least {m} required{}",
                if self.judged < m { ": TOO FEW" } else { "" }
            ));
        }
        s
    }
}

/// Computes the gate over scenario results.
pub fn gate(results: &[ScenarioResult], strict: bool) -> Gate {
    gate_with(results, strict, None)
}

/// Computes the gate; with `min_judged`, fewer judged requirement results than that fail it.
pub fn gate_with(results: &[ScenarioResult], strict: bool, min_judged: Option<usize>) -> Gate {
    let failing = results.iter().filter(|r| r.fails_gate(strict)).count();
    let reqs = || results.iter().flat_map(|s| &s.requirements);
    let advisory = reqs()
        .filter(|r| {
            matches!(r.verdict, Verdict::Fail | Verdict::XPass)
                && r.weight(strict) == Weight::Advisory
        })
        .count()
        + results
            .iter()
            .flat_map(|s| &s.protocol)
            .filter(|p| p.verdict == Verdict::Fail && !p.fails_gate(strict))
            .count();
    let count = |f: &dyn Fn(Verdict) -> bool| reqs().filter(|r| f(r.verdict)).count();
    let judged = count(&|v| {
        matches!(
            v,
            Verdict::Pass | Verdict::Fail | Verdict::XFail | Verdict::XPass
        )
    });
    let too_few = min_judged.is_some_and(|m| judged < m);
    Gate {
        passed: failing == 0 && !too_few,
        failing,
        advisory,
        judged,
        requirements: reqs().count(),
        not_applicable: count(&|v| v == Verdict::NotApplicable),
        inconclusive: count(&|v| v == Verdict::Inconclusive),
        errors: count(&|v| v == Verdict::Error),
        min_judged,
        golden_diffs: 0,
        golden_missing: 0,
    }
}

/// Errors reading a known-failures file.
#[derive(Debug, thiserror::Error)]
pub enum KnownFailuresError {
    /// Unreadable file.
    #[error("failed to read known-failures file {path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Not a YAML list of strings.
    #[error("{path}:{line}:{column}: error: {message} (expected a YAML list of `scenario-id` or `scenario-id/requirement-id`)")]
    Parse {
        /// Path.
        path: String,
        /// Line.
        line: usize,
        /// Column.
        column: usize,
        /// Message.
        message: String,
    },
}

/// The known-failures list (`--expect-fail FILE`): entries are scenario ids (every requirement
/// of the scenario) or `scenario-id/requirement-id` pairs (requirement ids contain `/` too, so
/// the scenario id is everything before the first `/`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownFailures {
    scenarios: BTreeSet<String>,
    pairs: BTreeSet<(String, String)>,
}

impl KnownFailures {
    /// Parses the YAML list.
    pub fn parse(text: &str, path: &str) -> Result<KnownFailures, KnownFailuresError> {
        let items: Vec<String> = if text.trim().is_empty() {
            Vec::new()
        } else {
            serde_yaml::from_str(text).map_err(|e| {
                let (line, column) = e
                    .location()
                    .map(|l| (l.line(), l.column()))
                    .unwrap_or((1, 1));
                KnownFailuresError::Parse {
                    path: path.to_string(),
                    line,
                    column,
                    message: e.to_string(),
                }
            })?
        };
        let mut k = KnownFailures::default();
        for item in items {
            match item.split_once('/') {
                Some((s, r)) => {
                    k.pairs.insert((s.to_string(), r.to_string()));
                }
                None => {
                    k.scenarios.insert(item);
                }
            }
        }
        Ok(k)
    }

    /// Reads the file.
    pub fn load(path: &Path) -> Result<KnownFailures, KnownFailuresError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| KnownFailuresError::Io {
            path: p.clone(),
            source,
        })?;
        KnownFailures::parse(&text, &p)
    }

    /// Entries that match nothing in the suite (a scenario id that does not exist, a
    /// requirement the scenario does not judge), with their line in `text` (the file's text), as
    /// `path:line:column: error: ...` messages. `judges(scenario)` gives the requirement ids a
    /// scenario judges, `None` for an unknown scenario.
    pub fn unmatched(
        &self,
        text: &str,
        path: &str,
        judges: &dyn Fn(&str) -> Option<Vec<String>>,
    ) -> Vec<String> {
        let position = |entry: &str| -> (usize, usize) {
            for (i, line) in text.lines().enumerate() {
                if let Some(c) = line.find(entry) {
                    return (i + 1, c + 1);
                }
            }
            (1, 1)
        };
        let mut out = Vec::new();
        for s in &self.scenarios {
            if judges(s).is_none() {
                let (l, c) = position(s);
                out.push(format!(
                    "{path}:{l}:{c}: error: known failure {s:?} names no scenario of the suite"
                ));
            }
        }
        for (s, r) in &self.pairs {
            let entry = format!("{s}/{r}");
            let problem = match judges(s) {
                None => Some(format!("names no scenario of the suite ({s:?})")),
                Some(ids) if !ids.contains(r) => Some(format!(
                    "scenario {s} does not judge requirement {r:?} (it judges: {})",
                    ids.join(", ")
                )),
                Some(_) => None,
            };
            if let Some(p) = problem {
                let (l, c) = position(&entry);
                out.push(format!(
                    "{path}:{l}:{c}: error: known failure {entry:?} {p}"
                ));
            }
        }
        out
    }

    /// `true` if this requirement of this scenario is expected to fail.
    pub fn expects(&self, scenario: &str, requirement: &str) -> bool {
        self.scenarios.contains(scenario)
            || self
                .pairs
                .contains(&(scenario.to_string(), requirement.to_string()))
    }

    /// Applies the list to a scenario result. A `scenario-id/requirement-id` entry maps that
    /// requirement: fail -> xfail, pass -> xpass (stale). A scenario-id entry says the scenario
    /// as a whole is known to fail, whatever requirement (a global monitor included) it fails
    /// on: its failures become xfail and its passes stay passes; only when nothing in it fails
    /// any more is the entry stale, and its passes become xpass.
    pub fn apply(&self, result: &mut ScenarioResult) {
        let whole = self.scenarios.contains(&result.id);
        if result.requirements.is_empty() {
            result.verdict = result.verdict.with_expectation(whole);
            return;
        }
        let any_fail = result
            .requirements
            .iter()
            .any(|r| r.verdict == Verdict::Fail);
        let mut overall: Option<Verdict> = None;
        for r in &mut result.requirements {
            let pair = self.pairs.contains(&(result.id.clone(), r.id.clone()));
            r.verdict = match (r.verdict, pair, whole) {
                (v, true, _) => v.with_expectation(true),
                (Verdict::Fail, false, true) => Verdict::XFail,
                (Verdict::Pass, false, true) if !any_fail => Verdict::XPass,
                (v, _, _) => v,
            };
            overall = Some(overall.map_or(r.verdict, |o| o.worst(r.verdict)));
        }
        for p in &result.protocol {
            overall = overall.map(|o| o.worst(p.verdict));
        }
        if let Some(o) = overall {
            if !matches!(
                result.verdict,
                Verdict::Error | Verdict::Inconclusive | Verdict::NotApplicable
            ) {
                result.verdict = o;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn req(id: &str, strength: Strength, verdict: Verdict) -> RequirementResult {
        RequirementResult {
            id: id.into(),
            strength,
            clause: "7".into(),
            requirement: String::new(),
            verdict,
            step: Some(1),
            findings: Vec::new(),
            quote: Vec::new(),
            message: None,
            advisory: false,
            trace_entry: None,
            pcap_frame: None,
        }
    }

    fn scen(reqs: Vec<RequirementResult>) -> ScenarioResult {
        let verdict = reqs.iter().fold(Verdict::Pass, |a, r| a.worst(r.verdict));
        ScenarioResult {
            id: "sc".into(),
            clause: "7".into(),
            title: String::new(),
            verdict,
            requirements: reqs,
            duration_ms: 0,
            message: None,
            protocol: Vec::new(),
            stimuli: Vec::new(),
            pcap: None,
            wire_log: None,
        }
    }

    #[rstest]
    #[case(Strength::Shall, Verdict::Fail, false, true)]
    #[case(Strength::ShallNot, Verdict::Fail, false, true)]
    #[case(Strength::Should, Verdict::Fail, false, false)]
    #[case(Strength::ShouldNot, Verdict::Fail, true, true)]
    #[case(Strength::May, Verdict::Fail, true, false)]
    #[case(Strength::May, Verdict::Error, false, true)]
    #[case(Strength::Shall, Verdict::Inconclusive, false, true)]
    #[case(Strength::Shall, Verdict::XFail, false, false)]
    #[case(Strength::Shall, Verdict::XPass, false, true)]
    #[case(Strength::Shall, Verdict::NotApplicable, false, false)]
    fn gate_weights(
        #[case] s: Strength,
        #[case] v: Verdict,
        #[case] strict: bool,
        #[case] fails: bool,
    ) {
        let g = gate(&[scen(vec![req("7/a", s, v)])], strict);
        assert_eq!(!g.passed, fails);
    }

    #[test]
    fn an_advisory_shall_weighs_as_a_should_unless_strict() {
        let mut r = req(
            "7.3.11/reply-new-1-1-session",
            Strength::Shall,
            Verdict::Fail,
        );
        r.advisory = true;
        let g = gate(&[scen(vec![r.clone()])], false);
        assert_eq!((g.passed, g.advisory), (true, 1));
        assert!(!gate(&[scen(vec![r])], true).passed);
        let cat = Catalogue::embedded().unwrap();
        let r = RequirementResult::new(&cat, "7.3.11/reply-new-1-1-session", Verdict::Fail, None);
        assert!(
            r.advisory,
            "the catalogue marks the SHALL inside the NOTE (L206) advisory"
        );
    }

    #[test]
    fn advisory_counts_should_failures() {
        let g = gate(
            &[scen(vec![req("7/a", Strength::Should, Verdict::Fail)])],
            false,
        );
        assert_eq!((g.passed, g.advisory), (true, 1));
    }

    #[test]
    fn known_failures_map_to_xfail_and_xpass() {
        let k = KnownFailures::parse("- sc/7/a\n- other\n", "kf.yaml").unwrap();
        let mut s = scen(vec![
            req("7/a", Strength::Shall, Verdict::Fail),
            req("7/b", Strength::Shall, Verdict::Pass),
        ]);
        k.apply(&mut s);
        assert_eq!(s.requirements[0].verdict, Verdict::XFail);
        assert_eq!(s.requirements[1].verdict, Verdict::Pass);
        assert_eq!(s.verdict, Verdict::XFail);
        let k = KnownFailures::parse("- sc\n", "kf.yaml").unwrap();
        let mut s = scen(vec![req("7/b", Strength::Shall, Verdict::Pass)]);
        k.apply(&mut s);
        assert_eq!(s.verdict, Verdict::XPass);
        assert!(!gate(&[s], false).passed);
        // A scenario entry covers whatever the scenario fails on (a global monitor too): its
        // other requirements that pass stay passes, and the gate passes.
        let mut s = scen(vec![
            req("7/user-agent-header", Strength::Shall, Verdict::Fail),
            req("7/b", Strength::Shall, Verdict::Pass),
        ]);
        k.apply(&mut s);
        assert_eq!(s.requirements[0].verdict, Verdict::XFail);
        assert_eq!(s.requirements[1].verdict, Verdict::Pass);
        assert_eq!(s.verdict, Verdict::XFail);
        assert!(gate(&[s], false).passed);
    }

    #[test]
    fn known_failures_that_match_nothing_are_named_with_their_line() {
        let text = "- sc\n- nope\n- sc/7/zz\n- sc/7/a\n";
        let k = KnownFailures::parse(text, "kf.yaml").unwrap();
        let judges = |s: &str| (s == "sc").then(|| vec!["7/a".to_string()]);
        let got = k.unmatched(text, "kf.yaml", &judges);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            got[0].starts_with("kf.yaml:2:3: error: known failure \"nope\""),
            "{got:?}"
        );
        assert!(
            got[1].starts_with("kf.yaml:3:3: error:") && got[1].contains("does not judge"),
            "{got:?}"
        );
    }

    #[test]
    fn the_gate_says_how_much_was_judged_and_can_require_a_minimum() {
        let s = scen(vec![
            req("7/a", Strength::Shall, Verdict::Pass),
            req("7/b", Strength::Shall, Verdict::NotApplicable),
            req("7/c", Strength::Shall, Verdict::NotApplicable),
        ]);
        let g = gate_with(std::slice::from_ref(&s), false, None);
        assert_eq!((g.judged, g.requirements, g.not_applicable), (1, 3, 2));
        assert!(g.passed);
        assert_eq!(
            g.judged_text(),
            "judged 1 of 3 requirements (2 not applicable, 0 inconclusive)"
        );
        let g = gate_with(&[s], false, Some(2));
        assert!(!g.passed);
        assert!(g.judged_text().ends_with("at least 2 required: TOO FEW"));
    }

    fn proto(strength: crate::baseline::RuleStrength, verdict: Verdict) -> ProtocolResult {
        ProtocolResult {
            rule: "rfc3261/8.2.6.2-via-copied".into(),
            strength,
            verdict,
            waived: verdict == Verdict::XFail,
            checked: 1,
            entries: vec![3],
            findings: Vec::new(),
        }
    }

    #[rstest]
    #[case(crate::baseline::RuleStrength::Must, Verdict::Fail, false, true, 0)]
    #[case(crate::baseline::RuleStrength::Should, Verdict::Fail, false, false, 1)]
    #[case(crate::baseline::RuleStrength::Should, Verdict::Fail, true, true, 0)]
    #[case(crate::baseline::RuleStrength::Must, Verdict::XFail, false, false, 0)]
    #[case(crate::baseline::RuleStrength::Must, Verdict::Pass, true, false, 0)]
    fn protocol_rules_weigh_by_strength(
        #[case] s: crate::baseline::RuleStrength,
        #[case] v: Verdict,
        #[case] strict: bool,
        #[case] fails: bool,
        #[case] advisory: usize,
    ) {
        let mut sc = scen(vec![req("7/a", Strength::Shall, Verdict::Pass)]);
        sc.add_protocol(vec![proto(s, v)]);
        let g = gate(&[sc.clone()], strict);
        assert_eq!((!g.passed, g.advisory), (fails, advisory));
        KnownFailures::default().apply(&mut sc);
        let want = if v == Verdict::Fail {
            Verdict::Fail
        } else {
            Verdict::Pass.worst(v)
        };
        assert_eq!(sc.verdict, want);
    }

    #[test]
    fn bad_known_failures_file_names_position() {
        let e = KnownFailures::parse("a: b\n", "kf.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("kf.yaml:1:"), "{e}");
    }
}
