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
            trace_entry: None,
            pcap_frame: None,
        }
    }

    /// `true` if this result fails the gate.
    pub fn fails_gate(&self, strict: bool) -> bool {
        verdict_fails_gate(self.verdict, Some(self.strength.weight(strict)))
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
        if self.requirements.is_empty() {
            return verdict_fails_gate(self.verdict, None);
        }
        self.requirements.iter().any(|r| r.fails_gate(strict))
            || matches!(self.verdict, Verdict::Error | Verdict::Inconclusive)
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
}

/// Computes the gate over scenario results.
pub fn gate(results: &[ScenarioResult], strict: bool) -> Gate {
    let failing = results.iter().filter(|r| r.fails_gate(strict)).count();
    let advisory = results
        .iter()
        .flat_map(|s| &s.requirements)
        .filter(|r| {
            matches!(r.verdict, Verdict::Fail | Verdict::XPass)
                && r.strength.weight(strict) == Weight::Advisory
        })
        .count();
    Gate {
        passed: failing == 0,
        failing,
        advisory,
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

    /// `true` if this requirement of this scenario is expected to fail.
    pub fn expects(&self, scenario: &str, requirement: &str) -> bool {
        self.scenarios.contains(scenario)
            || self
                .pairs
                .contains(&(scenario.to_string(), requirement.to_string()))
    }

    /// Applies the list to a scenario result: requirement verdicts become xfail / xpass and the
    /// scenario verdict is recomputed as the worst of them.
    pub fn apply(&self, result: &mut ScenarioResult) {
        if result.requirements.is_empty() {
            result.verdict = result
                .verdict
                .with_expectation(self.scenarios.contains(&result.id));
            return;
        }
        let mut overall: Option<Verdict> = None;
        for r in &mut result.requirements {
            r.verdict = r.verdict.with_expectation(self.expects(&result.id, &r.id));
            overall = Some(overall.map_or(r.verdict, |o| o.worst(r.verdict)));
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
    }

    #[test]
    fn bad_known_failures_file_names_position() {
        let e = KnownFailures::parse("a: b\n", "kf.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("kf.yaml:1:"), "{e}");
    }
}
