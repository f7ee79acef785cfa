//! From step outcomes to verdicts: the runner records how each step ended; the assessor turns that
//! into one verdict per requirement (those a step `verifies`, and those the scenario `covers`) and
//! a scenario verdict.

use std::collections::BTreeMap;

use crate::catalogue::Catalogue;
use crate::matcher::claims;
use crate::scenario::Scenario;
use crate::verdict::{Finding, RequirementResult, ScenarioResult, Verdict};

/// How one step ended, as the runner saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// The step did what it says (an expectation met, a command done, an `expect_none` window
    /// closed with nothing).
    Passed,
    /// The awaited message came but failed conditions, or an `expect_none` saw a message.
    Failed {
        /// Failed conditions, each keyed by the condition that produced it.
        findings: Vec<Finding>,
        /// The offending message, quoted.
        quote: Vec<String>,
    },
    /// No candidate message before the deadline.
    TimedOut {
        /// What was awaited (`a 200 response from the client within 5 s`).
        awaited: String,
    },
    /// The client settled the awaited exchange the other way (a final response with another
    /// status): the step ended at once with that message as evidence.
    Refused {
        /// What was awaited.
        awaited: String,
        /// What came instead (`486 Busy Here`).
        seen: String,
        /// The message, quoted.
        quote: Vec<String>,
    },
    /// The situation the step is about could not be brought about (the client refused a command
    /// of a capability it declares, no earlier step observed what a SHALL NOT is about): the
    /// step's requirements are not judged.
    NotReached(String),
    /// The harness or the adapter broke (or a matcher was unsupported).
    Error(String),
}

/// What a step proves: the requirements it verifies and, per requirement, the conditions it
/// rests on (a requirement without an entry rests on all of them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proves {
    /// Requirement ids.
    pub verifies: Vec<String>,
    /// Requirement id -> condition keys (`headers.Contribution-ID`, `sdp`, ...).
    pub evidence: BTreeMap<String, Vec<String>>,
}

impl Proves {
    /// A step that proves nothing (a precondition).
    pub fn nothing() -> Proves {
        Proves::default()
    }

    /// Requirements without condition keys.
    pub fn ids(ids: &[String]) -> Proves {
        Proves {
            verifies: ids.to_vec(),
            evidence: BTreeMap::new(),
        }
    }

    /// What an `expect` or `expect_none` step proves: its `verifies` and their `evidence`.
    pub fn of_expect(e: &crate::scenario::Expect) -> Proves {
        Proves {
            verifies: e.verifies.clone(),
            evidence: e.evidence.clone(),
        }
    }

    /// The requirements `findings` count against (each with at least one finding of its own),
    /// in `verifies` order.
    pub fn blamed(&self, findings: &[Finding]) -> Vec<String> {
        self.verifies
            .iter()
            .filter(|id| !self.findings_for(id, findings).is_empty())
            .cloned()
            .collect()
    }

    /// The findings that are evidence against requirement `id`.
    pub fn findings_for<'f>(&self, id: &str, findings: &'f [Finding]) -> Vec<&'f Finding> {
        match self.evidence.get(id) {
            None => findings.iter().collect(),
            Some(keys) => findings
                .iter()
                .filter(|f| {
                    f.key
                        .as_deref()
                        .is_none_or(|k| keys.iter().any(|c| claims(c, k)))
                })
                .collect(),
        }
    }

    /// Findings no verified requirement rests on (only possible when every requirement has an
    /// `evidence` entry): a condition of the situation, not of a requirement.
    pub fn unclaimed<'f>(&self, findings: &'f [Finding]) -> Vec<&'f Finding> {
        if self.verifies.is_empty() {
            return findings.iter().collect();
        }
        findings
            .iter()
            .filter(|f| {
                !self
                    .verifies
                    .iter()
                    .any(|id| self.findings_for(id, std::slice::from_ref(*f)).len() == 1)
            })
            .collect()
    }
}

/// Collects step outcomes of one scenario.
#[derive(Debug, Clone)]
pub struct Assessor<'c> {
    catalogue: &'c Catalogue,
    scenario: Scenario,
    results: BTreeMap<String, RequirementResult>,
    order: Vec<String>,
    /// Every requirement the scenario names (steps' `verifies`, then `covers`), in order.
    planned: Vec<String>,
    /// Requirements some step verifies (the rest of `planned` is `covers` only).
    verified_somewhere: Vec<String>,
    /// The step that ended the scenario early, its verdict for what was not judged, and why.
    stopped: Option<(usize, Verdict, String)>,
    /// A step with `verifies` failed (covers-only requirements are then not judged).
    failed: Option<usize>,
}

fn one_line(findings: &[&Finding]) -> String {
    findings
        .iter()
        .map(|f| f.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// A finding that says the situation of its condition is absent from the message (no CPIM From).
fn not_reached(f: &Finding) -> bool {
    f.key.as_deref().is_some_and(crate::matcher::is_not_reached)
}

impl<'c> Assessor<'c> {
    /// Starts assessing a scenario.
    pub fn new(catalogue: &'c Catalogue, scenario: &Scenario) -> Self {
        let mut planned: Vec<String> = Vec::new();
        let push = |v: &mut Vec<String>, id: &String| {
            if !v.contains(id) {
                v.push(id.clone());
            }
        };
        for id in scenario.verifies() {
            push(&mut planned, &id);
        }
        let verified_somewhere = planned.clone();
        for id in &scenario.covers {
            push(&mut planned, id);
        }
        Assessor {
            catalogue,
            scenario: scenario.clone(),
            results: BTreeMap::new(),
            order: Vec::new(),
            planned,
            verified_somewhere,
            stopped: None,
            failed: None,
        }
    }

    /// Records the outcome of step `step` (1-based). Returns `false` when the scenario cannot
    /// usefully go on: the step's situation was not reached (nothing came, the client answered
    /// otherwise, a precondition's condition failed) or the harness broke. What later steps would
    /// have judged is then `inconclusive`, naming this step.
    pub fn record(&mut self, step: usize, proves: &Proves, outcome: StepOutcome) -> bool {
        match outcome {
            StepOutcome::Passed => {
                for id in &proves.verifies {
                    self.set(id, Verdict::Pass, step, Vec::new(), Vec::new(), None);
                }
                true
            }
            StepOutcome::Failed { findings, quote } => {
                if proves.verifies.is_empty() {
                    let all: Vec<&Finding> = findings.iter().collect();
                    self.stop(
                        step,
                        Verdict::Inconclusive,
                        format!(
                            "step {step}: the situation under test was not reached as required: {}",
                            one_line(&all)
                        ),
                    );
                    return false;
                }
                // A finding that says the situation of one condition is absent (no CPIM From
                // in the message) makes the requirements resting on it `inconclusive`; the
                // step's other requirements are judged on their own conditions.
                let absent: Vec<&Finding> = findings.iter().filter(|f| not_reached(f)).collect();
                for id in &proves.verifies {
                    let mine: Vec<Finding> = proves
                        .findings_for(id, &findings)
                        .into_iter()
                        .cloned()
                        .collect();
                    let unreached: Vec<&Finding> = mine.iter().filter(|f| not_reached(f)).collect();
                    if !unreached.is_empty() {
                        self.set(
                            id,
                            Verdict::Inconclusive,
                            step,
                            Vec::new(),
                            Vec::new(),
                            Some(format!(
                                "step {step}: the situation was not reached: {}",
                                one_line(&unreached)
                            )),
                        );
                    } else if mine.is_empty() {
                        self.set(id, Verdict::Pass, step, Vec::new(), Vec::new(), None);
                    } else {
                        self.failed.get_or_insert(step);
                        self.set(id, Verdict::Fail, step, mine, quote.clone(), None);
                    }
                }
                let unclaimed = proves.unclaimed(&findings);
                if !absent.is_empty() && unclaimed.is_empty() {
                    self.stop(
                        step,
                        Verdict::Inconclusive,
                        format!(
                            "step {step}: the situation was not reached: {}",
                            one_line(&absent)
                        ),
                    );
                    return false;
                }
                if !unclaimed.is_empty() {
                    self.stop(
                        step,
                        Verdict::Inconclusive,
                        format!(
                            "step {step}: a condition of the situation (no requirement of the step rests on it) failed: {}",
                            one_line(&unclaimed)
                        ),
                    );
                    return false;
                }
                true
            }
            StepOutcome::TimedOut { awaited } => {
                let f = Finding::new("message", awaited.clone(), "(nothing before the deadline)")
                    .keyed(crate::matcher::START_KEY);
                self.absent(step, proves, f, Vec::new());
                self.stop(
                    step,
                    Verdict::Inconclusive,
                    format!("step {step} did not complete: {awaited}: nothing came"),
                );
                false
            }
            StepOutcome::Refused {
                awaited,
                seen,
                quote,
            } => {
                let f = Finding::new("message", awaited.clone(), seen.clone())
                    .keyed(crate::matcher::START_KEY);
                self.absent(step, proves, f, quote);
                self.stop(
                    step,
                    Verdict::Inconclusive,
                    format!("step {step} did not complete: {awaited}; the client answered {seen}"),
                );
                false
            }
            StepOutcome::NotReached(m) => {
                for id in &proves.verifies {
                    self.set(
                        id,
                        Verdict::Inconclusive,
                        step,
                        Vec::new(),
                        Vec::new(),
                        Some(format!("step {step}: {m}")),
                    );
                }
                self.stop(step, Verdict::Inconclusive, format!("step {step}: {m}"));
                false
            }
            StepOutcome::Error(m) => {
                self.stop(step, Verdict::Error, format!("step {step}: {m}"));
                for id in &proves.verifies {
                    self.set(
                        id,
                        Verdict::Error,
                        step,
                        Vec::new(),
                        Vec::new(),
                        Some(m.clone()),
                    );
                }
                false
            }
        }
    }

    /// A step whose awaited message never came (or was answered otherwise). A requirement that
    /// rests on the message being sent (no `evidence` entry, or one naming `start`) fails: the
    /// client did not do what it must. One that rests only on the message's details is not
    /// judged (there is no message to judge). After an earlier step already failed, nothing is
    /// blamed: the missing message may be that failure's consequence.
    fn absent(&mut self, step: usize, proves: &Proves, f: Finding, quote: Vec<String>) {
        let earlier = self.failed;
        for id in &proves.verifies {
            let rests_on_message = proves
                .evidence
                .get(id)
                .is_none_or(|keys| keys.iter().any(|k| k == crate::matcher::START_KEY));
            match (earlier, rests_on_message) {
                (Some(k), _) => self.set(
                    id,
                    Verdict::Inconclusive,
                    step,
                    Vec::new(),
                    Vec::new(),
                    Some(format!(
                        "not judged: {} ({}); step {k} failed before, and this may be its consequence",
                        f.expected, f.seen
                    )),
                ),
                (None, true) => {
                    self.set(id, Verdict::Fail, step, vec![f.clone()], quote.clone(), None)
                }
                (None, false) => self.set(
                    id,
                    Verdict::Inconclusive,
                    step,
                    Vec::new(),
                    Vec::new(),
                    Some(format!(
                        "not judged: its conditions are about a message that did not come ({}: {})",
                        f.expected, f.seen
                    )),
                ),
            }
        }
        if earlier.is_none()
            && self
                .results
                .values()
                .any(|r| r.step == Some(step) && r.verdict == Verdict::Fail)
        {
            self.failed = Some(step);
        }
    }

    /// Records the verdict of a global monitor (judged over the whole trace, not a step): it
    /// counts for its own requirement only.
    pub fn record_monitor(&mut self, id: &str, outcome: StepOutcome) {
        match outcome {
            StepOutcome::Passed => self.set(id, Verdict::Pass, 0, Vec::new(), Vec::new(), None),
            StepOutcome::Failed { findings, quote } => {
                self.set(id, Verdict::Fail, 0, findings, quote, None)
            }
            StepOutcome::Error(m) => {
                self.set(id, Verdict::Error, 0, Vec::new(), Vec::new(), Some(m))
            }
            StepOutcome::TimedOut { awaited } | StepOutcome::Refused { awaited, .. } => self.set(
                id,
                Verdict::Inconclusive,
                0,
                Vec::new(),
                Vec::new(),
                Some(awaited),
            ),
            StepOutcome::NotReached(m) => self.set(
                id,
                Verdict::Inconclusive,
                0,
                Vec::new(),
                Vec::new(),
                Some(m),
            ),
        }
        if let Some(r) = self.results.get_mut(id) {
            if r.step == Some(0) {
                r.step = None;
            }
        }
    }

    /// Ends the scenario as `error` (setup could not run, the network could not start).
    pub fn harness_error(&mut self, m: String) {
        self.stop(0, Verdict::Error, m);
    }

    /// Ends the scenario as `inconclusive` before any step (a precondition of the common setup,
    /// such as registration, was not reached).
    pub fn setup_not_reached(&mut self, m: String) {
        self.stop(0, Verdict::Inconclusive, m);
    }

    /// Adds to the explanation of an early stop (a diagnosis found after the run).
    pub fn explain(&mut self, extra: &str) {
        if let Some((_, _, m)) = &mut self.stopped {
            m.push_str(extra);
        }
    }

    /// `true` once a step ended the scenario early.
    pub fn is_stopped(&self) -> bool {
        self.stopped.is_some()
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

    /// The scenario result. Every requirement the scenario names gets a verdict: those a step
    /// judged keep it (a requirement verified again by a step that was never reached becomes
    /// `inconclusive`); `covers`-only requirements pass when every step ran and none failed, and
    /// are `inconclusive` otherwise.
    pub fn finish(mut self, duration_ms: u64) -> ScenarioResult {
        let stopped = self.stopped.clone();
        for id in self.planned.clone() {
            let judged_here = self.results.contains_key(&id);
            let verified = self.verified_somewhere.contains(&id);
            let (v, m) = match &stopped {
                Some((_, _, _)) if verified && judged_here && !self.verified_after_stop(&id) => {
                    continue
                }
                Some((_, Verdict::Error, m)) => (Verdict::Error, Some(m.clone())),
                Some((_, _, m)) if verified && judged_here => {
                    // Judged by a step that ran; was it also to be judged by one that did not?
                    if self.verified_after_stop(&id) {
                        (
                            Verdict::Inconclusive,
                            Some(format!("not every check of it ran: {m}")),
                        )
                    } else {
                        continue;
                    }
                }
                Some((_, _, m)) => (Verdict::Inconclusive, Some(format!("not reached: {m}"))),
                None if judged_here => continue,
                None if verified => (
                    Verdict::Inconclusive,
                    Some("its step decided nothing".to_string()),
                ),
                None => match self.failed {
                    Some(step) => (
                        Verdict::Inconclusive,
                        Some(format!(
                            "not judged: step {step} of the scenario failed, so the scenario as a whole proves nothing"
                        )),
                    ),
                    None => (Verdict::Pass, None),
                },
            };
            match self.results.get_mut(&id) {
                Some(r) => {
                    if v.worst(r.verdict) != r.verdict {
                        r.verdict = v;
                        r.message = m;
                    }
                }
                None => {
                    let mut r = RequirementResult::new(self.catalogue, &id, v, None);
                    r.message = m;
                    self.results.insert(id.clone(), r);
                    self.order.push(id);
                }
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
            protocol: Vec::new(),
            stimuli: Vec::new(),
            pcap: None,
            wire_log: None,
        }
    }

    /// `true` if a step after the one that stopped the scenario verifies `id`.
    fn verified_after_stop(&self, id: &str) -> bool {
        let Some((stop, _, _)) = &self.stopped else {
            return false;
        };
        self.scenario
            .steps
            .iter()
            .enumerate()
            .skip(*stop)
            .any(|(_, s)| s.verifies().iter().any(|x| x == id))
    }

    /// The result for a scenario that needs a capability the client lacks.
    pub fn not_applicable(
        catalogue: &Catalogue,
        scenario: &Scenario,
        missing: &[String],
    ) -> ScenarioResult {
        let msg = format!("client lacks capability {}", missing.join(", "));
        let mut ids: Vec<String> = scenario.verifies();
        for c in &scenario.covers {
            if !ids.contains(c) {
                ids.push(c.clone());
            }
        }
        ScenarioResult {
            id: scenario.id.clone(),
            clause: scenario.clause.clone(),
            title: scenario.title.clone(),
            verdict: Verdict::NotApplicable,
            requirements: ids
                .iter()
                .map(|id| RequirementResult::new(catalogue, id, Verdict::NotApplicable, None))
                .collect(),
            duration_ms: 0,
            message: Some(msg),
            protocol: Vec::new(),
            stimuli: Vec::new(),
            pcap: None,
            wire_log: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse_scenario;

    const UA: &str = "7/user-agent-header";
    const PAGER: &str = "7/send-pager-mode";

    fn scenario(steps: &str) -> Scenario {
        parse_scenario(
            &format!("id: s\nclause: '7'\ntitle: t\ncovers: [{PAGER}]\nsteps: {steps}\n"),
            "s.yaml",
        )
        .unwrap()
        .scenario
    }

    fn finding(key: &str) -> Finding {
        Finding::new(format!("condition {key}"), "x", "(absent)").keyed(key)
    }

    fn failed(keys: &[&str]) -> StepOutcome {
        StepOutcome::Failed {
            findings: keys.iter().map(|k| finding(k)).collect(),
            quote: vec![],
        }
    }

    fn verdict_of(r: &ScenarioResult, id: &str) -> Verdict {
        r.requirements
            .iter()
            .find(|q| q.id == id)
            .map(|q| q.verdict)
            .unwrap_or_else(|| panic!("{id} has no verdict in {r:?}"))
    }

    #[test]
    fn a_later_pass_never_hides_a_failure_and_covers_wait_for_a_clean_run() {
        let cat = Catalogue::embedded().unwrap();
        let s = scenario("[]");
        let mut a = Assessor::new(&cat, &s);
        assert!(a.record(
            1,
            &Proves::ids(&[UA.into()]),
            failed(&["headers.User-Agent"])
        ));
        assert!(a.record(2, &Proves::ids(&[UA.into()]), StepOutcome::Passed));
        let r = a.finish(5);
        assert_eq!(r.verdict, Verdict::Fail);
        assert_eq!(verdict_of(&r, UA), Verdict::Fail);
        assert_eq!(r.requirements[0].step, Some(1));
        assert_eq!(verdict_of(&r, PAGER), Verdict::Inconclusive);
    }

    /// A condition whose situation is absent from the message (no CPIM From for
    /// `cpim_from_device`) makes the requirement resting on it inconclusive, not failed, while
    /// the step's other requirement is judged on its own condition (pass, or fail with a
    /// finding of its own); the scenario stops there.
    #[rstest::rstest]
    #[case::other_condition_met(&[crate::matcher::NO_CPIM_FROM], Verdict::Pass)]
    #[case::other_condition_failed(&[crate::matcher::NO_CPIM_FROM, "byte_range.start"], Verdict::Fail)]
    fn a_not_reached_condition_leaves_the_other_requirement_judged(
        #[case] keys: &[&str],
        #[case] other: Verdict,
    ) {
        const OK200: &str = "7.4.5.2/sender-200-ok-file";
        let cat = Catalogue::embedded().unwrap();
        let s = scenario("[]");
        let mut a = Assessor::new(&cat, &s);
        let proves = Proves {
            verifies: vec![UA.into(), OK200.into()],
            evidence: [
                (UA.to_string(), vec!["cpim_from_device".to_string()]),
                (OK200.to_string(), vec!["byte_range".to_string()]),
            ]
            .into_iter()
            .collect(),
        };
        assert!(!a.record(1, &proves, failed(keys)));
        let r = a.finish(2);
        assert_eq!(verdict_of(&r, UA), Verdict::Inconclusive);
        assert_eq!(verdict_of(&r, OK200), other);
        let worst = if other == Verdict::Fail {
            Verdict::Fail
        } else {
            Verdict::Inconclusive
        };
        assert_eq!(r.verdict, worst);
    }

    #[test]
    fn each_finding_blames_only_the_requirement_whose_condition_produced_it() {
        let cat = Catalogue::embedded().unwrap();
        let s = scenario("[]");
        let mut a = Assessor::new(&cat, &s);
        let proves = Proves {
            verifies: vec![UA.into(), PAGER.into()],
            evidence: [
                (UA.to_string(), vec!["headers.User-Agent".to_string()]),
                (
                    PAGER.to_string(),
                    vec!["request_uri".to_string(), "cpim".to_string()],
                ),
            ]
            .into_iter()
            .collect(),
        };
        assert!(a.record(1, &proves, failed(&["headers.User-Agent"])));
        let r = a.finish(1);
        assert_eq!(verdict_of(&r, UA), Verdict::Fail);
        assert_eq!(verdict_of(&r, PAGER), Verdict::Pass);
        // A finding inside a claimed condition (cpim.To under cpim) and a start-line finding.
        let mut a = Assessor::new(&cat, &s);
        assert!(a.record(1, &proves, failed(&["cpim.To"])));
        let r = a.finish(1);
        assert_eq!(
            (verdict_of(&r, UA), verdict_of(&r, PAGER)),
            (Verdict::Pass, Verdict::Fail)
        );
        let mut a = Assessor::new(&cat, &s);
        assert!(a.record(1, &proves, failed(&["start"])));
        let r = a.finish(1);
        assert_eq!(
            (verdict_of(&r, UA), verdict_of(&r, PAGER)),
            (Verdict::Fail, Verdict::Fail)
        );
    }

    #[test]
    fn a_failed_condition_no_requirement_rests_on_stops_the_scenario_inconclusive() {
        let cat = Catalogue::embedded().unwrap();
        let s = scenario("[]");
        let proves = Proves {
            verifies: vec![UA.into()],
            evidence: [(UA.to_string(), vec!["headers.User-Agent".to_string()])]
                .into_iter()
                .collect(),
        };
        let mut a = Assessor::new(&cat, &s);
        assert!(!a.record(1, &proves, failed(&["sdp.direction"])));
        let r = a.finish(1);
        assert_eq!(verdict_of(&r, UA), Verdict::Pass);
        assert_eq!(verdict_of(&r, PAGER), Verdict::Inconclusive);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        // A precondition step (no verifies) whose message fails a condition: same.
        let mut a = Assessor::new(&cat, &s);
        assert!(!a.record(1, &Proves::nothing(), failed(&["sdp.direction"])));
        let r = a.finish(1);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        assert!(r.message.unwrap().contains("condition sdp.direction"));
    }

    #[test]
    fn what_a_stopped_scenario_did_not_reach_is_inconclusive_not_pass() {
        let cat = Catalogue::embedded().unwrap();
        let s = scenario(&format!(
            "[{{expect: {{sip: MESSAGE}}}}, {{expect_none: {{sip: INVITE, verifies: [{UA}]}}}}]"
        ));
        let mut a = Assessor::new(&cat, &s);
        assert!(!a.record(
            1,
            &Proves::nothing(),
            StepOutcome::TimedOut {
                awaited: "MESSAGE".into()
            }
        ));
        let r = a.finish(1);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        assert_eq!(verdict_of(&r, UA), Verdict::Inconclusive);
        assert!(r
            .requirements
            .iter()
            .all(|q| q.message.as_deref().is_some_and(|m| m.contains("step 1"))));
    }

    #[test]
    fn a_refusal_fails_the_step_and_leaves_later_steps_inconclusive() {
        let cat = Catalogue::embedded().unwrap();
        let s = scenario(&format!(
            "[{{expect: {{status: 200, answers: x, verifies: [{PAGER}]}}}}, {{expect_none: {{sip: BYE, verifies: [{UA}]}}}}]"
        ));
        let mut a = Assessor::new(&cat, &s);
        assert!(!a.record(
            1,
            &Proves::ids(&[PAGER.into()]),
            StepOutcome::Refused {
                awaited: "a 200 response".into(),
                seen: "486 Busy Here".into(),
                quote: vec!["SIP/2.0 486 Busy Here".into()],
            }
        ));
        let r = a.finish(1);
        assert_eq!(verdict_of(&r, PAGER), Verdict::Fail);
        assert_eq!(verdict_of(&r, UA), Verdict::Inconclusive);
        let f = &r
            .requirements
            .iter()
            .find(|q| q.id == PAGER)
            .unwrap()
            .findings[0];
        assert_eq!(f.seen, "486 Busy Here");
    }

    #[test]
    fn refused_commands_are_not_reached_and_harness_failures_are_errors() {
        let cat = Catalogue::embedded().unwrap();
        let s = scenario("[]");
        let mut a = Assessor::new(&cat, &s);
        assert!(!a.record(
            1,
            &Proves::ids(&[UA.into()]),
            StepOutcome::NotReached("the client refused `send_chat`".into())
        ));
        let r = a.finish(1);
        assert_eq!(
            (r.verdict, verdict_of(&r, UA)),
            (Verdict::Inconclusive, Verdict::Inconclusive)
        );
        let mut a = Assessor::new(&cat, &s);
        a.record(
            1,
            &Proves::nothing(),
            StepOutcome::Error("adapter died".into()),
        );
        let r = a.finish(1);
        assert_eq!(
            (r.verdict, verdict_of(&r, PAGER)),
            (Verdict::Error, Verdict::Error)
        );
        let mut a = Assessor::new(&cat, &s);
        a.record(1, &Proves::nothing(), StepOutcome::Passed);
        assert_eq!(a.finish(1).verdict, Verdict::Pass);
    }

    #[test]
    fn a_missing_message_fails_only_what_rests_on_it_and_nothing_after_a_failure() {
        let cat = Catalogue::embedded().unwrap();
        let s = scenario("[]");
        let proves = Proves {
            verifies: vec![UA.into(), PAGER.into()],
            evidence: [
                (UA.to_string(), vec!["start".to_string()]),
                (PAGER.to_string(), vec!["sdp.direction".to_string()]),
            ]
            .into_iter()
            .collect(),
        };
        let gone = || StepOutcome::TimedOut {
            awaited: "a 200 response".into(),
        };
        let mut a = Assessor::new(&cat, &s);
        assert!(!a.record(1, &proves, gone()));
        let r = a.finish(1);
        assert_eq!(
            (verdict_of(&r, UA), verdict_of(&r, PAGER)),
            (Verdict::Fail, Verdict::Inconclusive)
        );
        // The same after an earlier failure: a consequence, not judged.
        let mut a = Assessor::new(&cat, &s);
        assert!(a.record(
            1,
            &Proves::ids(&["7/send-large-message-mode".into()]),
            failed(&["headers.X"])
        ));
        assert!(!a.record(2, &proves, gone()));
        let r = a.finish(1);
        assert_eq!(
            (verdict_of(&r, UA), verdict_of(&r, PAGER)),
            (Verdict::Inconclusive, Verdict::Inconclusive)
        );
        assert_eq!(verdict_of(&r, "7/send-large-message-mode"), Verdict::Fail);
    }

    #[test]
    fn a_harness_error_after_a_judged_step_keeps_what_was_judged() {
        let cat = Catalogue::embedded().unwrap();
        let s = scenario(&format!(
            "[{{expect: {{sip: MESSAGE, verifies: [{PAGER}]}}}}, {{expect: {{sip: BYE, verifies: [{UA}]}}}}]"
        ));
        let mut a = Assessor::new(&cat, &s);
        assert!(a.record(1, &Proves::ids(&[PAGER.into()]), failed(&["cpim.To"])));
        assert!(!a.record(2, &Proves::nothing(), StepOutcome::Error("network".into())));
        let r = a.finish(1);
        assert_eq!(verdict_of(&r, PAGER), Verdict::Fail);
        assert_eq!(verdict_of(&r, UA), Verdict::Error);
        assert_eq!(r.verdict, Verdict::Error);
    }

    #[test]
    fn a_global_monitor_failure_blames_only_its_own_requirement() {
        let cat = Catalogue::embedded().unwrap();
        let s = scenario("[]");
        let mut a = Assessor::new(&cat, &s);
        a.record(1, &Proves::nothing(), StepOutcome::Passed);
        a.record_monitor(UA, failed(&["headers.User-Agent"]));
        let r = a.finish(1);
        assert_eq!(verdict_of(&r, UA), Verdict::Fail);
        assert_eq!(verdict_of(&r, PAGER), Verdict::Pass);
    }
}
