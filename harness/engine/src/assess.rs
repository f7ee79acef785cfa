//! From step outcomes to verdicts: the runner records how each step ended; the assessor turns that
//! into one verdict per requirement (those a step `verifies`, and those the scenario `covers`) and
//! a scenario verdict.

use std::collections::BTreeMap;

use crate::catalogue::Catalogue;
use crate::scenario::Scenario;
use crate::verdict::{Finding, RequirementResult, ScenarioResult, Verdict};

/// How one step ended, as the runner saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// The step did what it says (an expectation met, a command done, an `expect_none` window
    /// closed with nothing).
    Passed,
    /// An expectation was not met: a candidate message failed conditions, or an `expect_none`
    /// saw a message.
    Failed {
        /// Failed conditions.
        findings: Vec<Finding>,
        /// The offending message, quoted.
        quote: Vec<String>,
    },
    /// No candidate message before the deadline.
    TimedOut {
        /// What was awaited (`INVITE from client within 5s`).
        awaited: String,
    },
    /// The harness or the adapter broke (or a matcher was unsupported).
    Error(String),
}

/// Collects step outcomes of one scenario.
#[derive(Debug, Clone)]
pub struct Assessor<'c> {
    catalogue: &'c Catalogue,
    scenario: Scenario,
    results: BTreeMap<String, RequirementResult>,
    order: Vec<String>,
    /// First step that ended the scenario early (timed-out precondition or error).
    stopped: Option<(usize, Verdict, String)>,
    failed: bool,
}

impl<'c> Assessor<'c> {
    /// Starts assessing a scenario.
    pub fn new(catalogue: &'c Catalogue, scenario: &Scenario) -> Self {
        Assessor {
            catalogue,
            scenario: scenario.clone(),
            results: BTreeMap::new(),
            order: Vec::new(),
            stopped: None,
            failed: false,
        }
    }

    /// Records the outcome of step `step` (1-based) that verifies `verifies`. Returns `false`
    /// when the scenario cannot usefully go on (error, or a precondition step that timed out).
    pub fn record(&mut self, step: usize, verifies: &[String], outcome: StepOutcome) -> bool {
        let (verdict, findings, quote, message) = match outcome {
            StepOutcome::Passed => (Verdict::Pass, Vec::new(), Vec::new(), None),
            StepOutcome::Failed { findings, quote } => (Verdict::Fail, findings, quote, None),
            StepOutcome::TimedOut { awaited } if !verifies.is_empty() => (
                Verdict::Fail,
                vec![Finding {
                    what: "message".into(),
                    expected: awaited.clone(),
                    seen: "(nothing before the deadline)".into(),
                }],
                Vec::new(),
                None,
            ),
            StepOutcome::TimedOut { awaited } => {
                // A step that proves nothing is a precondition: not reaching it is inconclusive.
                self.stop(
                    step,
                    Verdict::Inconclusive,
                    format!("step {step}: precondition not reached: {awaited}"),
                );
                return false;
            }
            StepOutcome::Error(m) => {
                self.stop(step, Verdict::Error, format!("step {step}: {m}"));
                for id in verifies {
                    self.set(
                        id,
                        Verdict::Error,
                        step,
                        Vec::new(),
                        Vec::new(),
                        Some(m.clone()),
                    );
                }
                return false;
            }
        };
        if verdict == Verdict::Fail {
            self.failed = true;
        }
        for id in verifies {
            self.set(
                id,
                verdict,
                step,
                findings.clone(),
                quote.clone(),
                message.clone(),
            );
        }
        true
    }

    fn stop(&mut self, step: usize, v: Verdict, m: String) {
        if self.stopped.is_none() {
            self.stopped = Some((step, v, m));
        }
    }

    fn set(
        &mut self,
        id: &str,
        v: Verdict,
        step: usize,
        findings: Vec<Finding>,
        quote: Vec<String>,
        message: Option<String>,
    ) {
        match self.results.get_mut(id) {
            // A later pass never hides an earlier failure of the same requirement.
            Some(r) => {
                if v.worst(r.verdict) != r.verdict {
                    r.verdict = v;
                    r.step = Some(step);
                    r.findings = findings;
                    r.quote = quote;
                    r.message = message;
                }
            }
            None => {
                let mut r = RequirementResult::new(self.catalogue, id, v, Some(step));
                r.findings = findings;
                r.quote = quote;
                r.message = message;
                self.results.insert(id.to_string(), r);
                self.order.push(id.to_string());
            }
        }
    }

    /// The scenario result. Covered requirements that no step verified pass when every step ran
    /// and passed, and are inconclusive otherwise.
    pub fn finish(mut self, duration_ms: u64) -> ScenarioResult {
        let stopped = self.stopped.clone();
        for id in self.scenario.covers.clone() {
            if !self.results.contains_key(&id) {
                let (v, m) = match &stopped {
                    Some((_, Verdict::Error, m)) => (Verdict::Error, Some(m.clone())),
                    Some((_, _, m)) => (Verdict::Inconclusive, Some(m.clone())),
                    None if self.failed => (
                        Verdict::Inconclusive,
                        Some("another step of the scenario failed".to_string()),
                    ),
                    None => (Verdict::Pass, None),
                };
                let mut r = RequirementResult::new(self.catalogue, &id, v, None);
                r.message = m;
                self.results.insert(id.clone(), r);
                self.order.push(id);
            }
        }
        let requirements: Vec<RequirementResult> = self
            .order
            .iter()
            .filter_map(|id| self.results.remove(id))
            .collect();
        let mut verdict = requirements
            .iter()
            .fold(Verdict::Pass, |a, r| a.worst(r.verdict));
        if let Some((_, v, _)) = &stopped {
            verdict = verdict.worst(*v);
        }
        ScenarioResult {
            id: self.scenario.id.clone(),
            clause: self.scenario.clause.clone(),
            title: self.scenario.title.clone(),
            verdict,
            requirements,
            duration_ms,
            message: stopped.map(|(_, _, m)| m),
            pcap: None,
            wire_log: None,
        }
    }

    /// The result for a scenario that needs a capability the client lacks.
    pub fn not_applicable(
        catalogue: &Catalogue,
        scenario: &Scenario,
        missing: &[String],
    ) -> ScenarioResult {
        let msg = format!("client lacks capability {}", missing.join(", "));
        ScenarioResult {
            id: scenario.id.clone(),
            clause: scenario.clause.clone(),
            title: scenario.title.clone(),
            verdict: Verdict::NotApplicable,
            requirements: scenario
                .covers
                .iter()
                .map(|id| RequirementResult::new(catalogue, id, Verdict::NotApplicable, None))
                .collect(),
            duration_ms: 0,
            message: Some(msg),
            pcap: None,
            wire_log: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse_scenario;

    fn scenario() -> Scenario {
        parse_scenario(
            "id: s\nclause: '7'\ntitle: t\ncovers: [7/send-pager-mode, 7/user-agent-header]\nsteps: []\n",
            "s.yaml",
        )
        .unwrap()
        .scenario
    }

    #[test]
    fn pass_fail_and_covered() {
        let cat = Catalogue::embedded().unwrap();
        let s = scenario();
        let mut a = Assessor::new(&cat, &s);
        let f = Finding {
            what: "header User-Agent".into(),
            expected: "x".into(),
            seen: "(absent)".into(),
        };
        assert!(a.record(
            1,
            &["7/user-agent-header".into()],
            StepOutcome::Failed {
                findings: vec![f],
                quote: vec![]
            }
        ));
        assert!(a.record(2, &["7/user-agent-header".into()], StepOutcome::Passed));
        let r = a.finish(5);
        assert_eq!(r.verdict, Verdict::Fail);
        let ua = r
            .requirements
            .iter()
            .find(|q| q.id == "7/user-agent-header")
            .unwrap();
        assert_eq!((ua.verdict, ua.step), (Verdict::Fail, Some(1)));
        let pager = r
            .requirements
            .iter()
            .find(|q| q.id == "7/send-pager-mode")
            .unwrap();
        assert_eq!(pager.verdict, Verdict::Inconclusive);
    }

    #[test]
    fn precondition_timeout_is_inconclusive_and_all_passed_covers_pass() {
        let cat = Catalogue::embedded().unwrap();
        let s = scenario();
        let mut a = Assessor::new(&cat, &s);
        assert!(!a.record(
            1,
            &[],
            StepOutcome::TimedOut {
                awaited: "REGISTER".into()
            }
        ));
        let r = a.finish(1);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        let mut a = Assessor::new(&cat, &s);
        a.record(1, &[], StepOutcome::Passed);
        assert_eq!(a.finish(1).verdict, Verdict::Pass);
        let mut a = Assessor::new(&cat, &s);
        a.record(
            1,
            &["7/send-pager-mode".into()],
            StepOutcome::TimedOut {
                awaited: "MESSAGE".into(),
            },
        );
        assert_eq!(a.finish(1).verdict, Verdict::Fail);
        let mut a = Assessor::new(&cat, &s);
        a.record(1, &[], StepOutcome::Error("adapter died".into()));
        assert_eq!(a.finish(1).verdict, Verdict::Error);
    }
}
