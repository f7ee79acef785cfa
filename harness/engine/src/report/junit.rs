//! JUnit XML reporter, written with `quick-junit` (the crate nextest uses): one testsuite per
//! clause, one testcase per scenario. `fail` and `xpass` that weigh on the gate and
//! `inconclusive` are failures, `error` is an error (neither is ever shown as passed);
//! not-applicable and xfail are skipped; an advisory (SHOULD) failure passes with a note unless
//! the run is strict. Every testcase's system-out gives the failure text and the paths of the
//! scenario's pcap and wire log; properties give the seed and the requirement ids.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::{Reporter, RunEvent, RunEventKind};
use crate::verdict::{ProtocolResult, ScenarioResult, Verdict};

/// Writes JUnit XML at the end of the run.
pub struct JunitReporter<W: Write> {
    out: W,
    strict: bool,
    seed: Option<u64>,
    results: Vec<ScenarioResult>,
}

impl<W: Write> JunitReporter<W> {
    /// A reporter writing to `out`.
    pub fn new(out: W) -> Self {
        JunitReporter {
            out,
            strict: false,
            seed: None,
            results: Vec::new(),
        }
    }

    /// The writer back (tests).
    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> Reporter for JunitReporter<W> {
    fn event(&mut self, ev: &RunEvent) -> std::io::Result<()> {
        match &ev.kind {
            RunEventKind::RunStarted { strict, seed, .. } => {
                self.strict = *strict;
                self.seed = Some(*seed);
            }
            RunEventKind::ScenarioFinished { result } => self.results.push(result.clone()),
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        let mut suites: BTreeMap<&str, Vec<&ScenarioResult>> = BTreeMap::new();
        for r in &self.results {
            suites.entry(r.clause.as_str()).or_default().push(r);
        }
        let mut report = Report::new("cpmconf");
        for (clause, rs) in suites {
            let mut suite = TestSuite::new(format!("clause {clause}"));
            if let Some(seed) = self.seed {
                suite.add_property(Property::new("seed", seed.to_string()));
            }
            let ms: u64 = rs.iter().map(|r| r.duration_ms).sum();
            suite.set_time(Duration::from_millis(ms));
            for r in rs {
                suite.add_test_case(test_case(r, self.strict, self.seed));
            }
            report.add_test_suite(suite);
        }
        if let Some(suite) = protocol_suite(&self.results, self.strict) {
            report.add_test_suite(suite);
        }
        report
            .serialize(&mut self.out)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        self.out.flush()
    }
}

/// `true` if the scenario is shown as failed (or errored) rather than passed or skipped.
fn is_failure(r: &ScenarioResult, strict: bool) -> bool {
    match r.verdict {
        Verdict::Error | Verdict::Inconclusive => true,
        Verdict::Fail | Verdict::XPass => r.fails_gate(strict),
        Verdict::Pass | Verdict::NotApplicable | Verdict::XFail => false,
    }
}

/// The failure text: the scenario's message, then each requirement that did not pass with its
/// findings, the message it quotes and where that message is in the capture.
fn details(r: &ScenarioResult) -> String {
    let mut text = String::new();
    if let Some(m) = &r.message {
        text.push_str(m);
        text.push('\n');
    }
    for q in &r.requirements {
        if matches!(q.verdict, Verdict::Pass | Verdict::NotApplicable) {
            continue;
        }
        text.push_str(&format!(
            "{} [{}] {} ({}): {}\n",
            q.verdict, q.strength, q.id, q.clause, q.requirement
        ));
        for f in &q.findings {
            text.push_str(&format!("  {f}\n"));
        }
        if let Some(e) = q.trace_entry {
            match q.pcap_frame {
                Some(f) => {
                    text.push_str(&format!("  message #{e} of the wire log, pcap frame {f}\n"))
                }
                None => text.push_str(&format!("  message #{e} of the wire log\n")),
            }
        }
        for l in &q.quote {
            text.push_str(&format!("  > {l}\n"));
        }
    }
    for p in r.protocol.iter().filter(|p| p.verdict == Verdict::Fail) {
        text.push_str(&format!(
            "fail [{}] {} (protocol baseline): trace entries {:?}\n",
            p.strength.as_str(),
            p.rule,
            p.entries
        ));
    }
    text
}

/// The protocol baseline as a suite of its own: one test case per RFC rule, failing when a
/// scenario failed it (advisory output for a SHOULD unless strict), skipped when the client
/// profile waives it. `None` when no scenario ran the baseline.
fn protocol_suite(results: &[ScenarioResult], strict: bool) -> Option<TestSuite> {
    let mut rules: BTreeMap<&str, Vec<(&str, &ProtocolResult)>> = BTreeMap::new();
    for r in results {
        for p in &r.protocol {
            rules
                .entry(p.rule.as_str())
                .or_default()
                .push((r.id.as_str(), p));
        }
    }
    if rules.is_empty() {
        return None;
    }
    let mut suite = TestSuite::new("protocol baseline");
    for (rule, seen) in &rules {
        let failed: Vec<&(&str, &ProtocolResult)> = seen
            .iter()
            .filter(|(_, p)| p.verdict == Verdict::Fail)
            .collect();
        let mut text = String::new();
        for (scenario, p) in &failed {
            text.push_str(&format!("{scenario}: trace entries {:?}\n", p.entries));
            for f in &p.findings {
                text.push_str(&format!("  {f}\n"));
            }
        }
        let strength = seen.first().map_or("MUST", |(_, p)| p.strength.as_str());
        let status = if failed.iter().any(|(_, p)| p.fails_gate(strict)) {
            non_success(
                NonSuccessKind::Failure,
                "fail",
                format!("{strength} {rule} failed in {} scenario(s)", failed.len()),
                &text,
            )
        } else if seen.iter().any(|(_, p)| p.waived) && failed.is_empty() {
            skipped("waived by the client profile (protocol_waivers)".into(), "")
        } else {
            TestCaseStatus::success()
        };
        let mut tc = TestCase::new(rule.to_string(), status);
        tc.set_classname("cpmconf.protocol");
        if !failed.is_empty() && !failed.iter().any(|(_, p)| p.fails_gate(strict)) {
            tc.set_system_out(format!("advisory: {text}"));
        }
        suite.add_test_case(tc);
    }
    Some(suite)
}

/// The paths of the scenario's capture files, for system-out.
fn files(r: &ScenarioResult) -> String {
    let mut text = String::new();
    if let Some(p) = &r.pcap {
        text.push_str(&format!("pcap: {p}\n"));
    }
    if let Some(w) = &r.wire_log {
        text.push_str(&format!("wire log: {w}\n"));
    }
    text
}

/// The one-line message of a failure: the first finding of the first requirement with this
/// verdict, else the scenario's message.
fn headline(r: &ScenarioResult, v: Verdict) -> String {
    r.requirements
        .iter()
        .find(|q| q.verdict == v)
        .map(|q| {
            format!(
                "{} {}: {}",
                q.strength,
                q.id,
                q.findings
                    .first()
                    .map(|f| f.to_string())
                    .unwrap_or_else(|| q.message.clone().unwrap_or_default())
            )
        })
        .or_else(|| r.message.clone())
        .unwrap_or_default()
}

fn non_success(kind: NonSuccessKind, ty: &str, message: String, text: &str) -> TestCaseStatus {
    let mut s = TestCaseStatus::non_success(kind);
    s.set_type(ty).set_message(message).set_description(text);
    s
}

fn skipped(message: String, text: &str) -> TestCaseStatus {
    let mut s = TestCaseStatus::skipped();
    s.set_message(message);
    if !text.is_empty() {
        s.set_description(text);
    }
    s
}

fn test_case(r: &ScenarioResult, strict: bool, seed: Option<u64>) -> TestCase {
    let text = details(r);
    let failing = is_failure(r, strict);
    let status = match r.verdict {
        Verdict::Pass => TestCaseStatus::success(),
        Verdict::Fail | Verdict::XPass if failing => non_success(
            NonSuccessKind::Failure,
            r.verdict.as_str(),
            headline(r, r.verdict),
            &text,
        ),
        // Advisory: passes, the note goes to system-out.
        Verdict::Fail | Verdict::XPass => TestCaseStatus::success(),
        Verdict::Error => non_success(
            NonSuccessKind::Error,
            "error",
            headline(r, Verdict::Error),
            &text,
        ),
        Verdict::Inconclusive => non_success(
            NonSuccessKind::Failure,
            "inconclusive",
            headline(r, Verdict::Inconclusive),
            &text,
        ),
        Verdict::NotApplicable => skipped(
            format!("not-applicable: {}", r.message.as_deref().unwrap_or("")),
            "",
        ),
        Verdict::XFail => skipped("xfail (known failure)".into(), &text),
    };
    let mut out = String::new();
    if matches!(r.verdict, Verdict::Fail | Verdict::XPass) && !failing {
        out.push_str("advisory: ");
    }
    if r.verdict != Verdict::Pass {
        out.push_str(&text);
    }
    out.push_str(&files(r));
    let mut tc = TestCase::new(r.id.clone(), status);
    tc.set_classname(format!("cpmconf.{}", r.clause))
        .set_time(Duration::from_millis(r.duration_ms));
    if !out.is_empty() {
        tc.set_system_out(out);
    }
    if let Some(seed) = seed {
        tc.add_property(Property::new("seed", seed.to_string()));
    }
    for q in &r.requirements {
        tc.add_property(Property::new("requirement", q.id.clone()));
    }
    tc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junit_snapshot() {
        let mut r = JunitReporter::new(Vec::new());
        crate::report::fixture::feed(&mut r);
        let text = String::from_utf8(r.into_inner()).unwrap();
        // Inconclusive and error are never a bare (passing) testcase.
        assert!(!text.contains(
            "<testcase name=\"deferred-timeout\" classname=\"cpmconf.7.3.11\" time=\"0.012\"/>"
        ));
        assert!(
            text.contains("<testsuites name=\"cpmconf\" tests=\"10\" failures=\"3\" errors=\"1\">"),
            "{text}"
        );
        // The protocol baseline is a suite of its own: a failed MUST rule is a failure there.
        assert!(
            text.contains("<testsuite name=\"protocol baseline\" tests=\"3\" disabled=\"0\" errors=\"0\" failures=\"1\">"),
            "{text}"
        );
        assert!(
            text.contains("adapter exited with status 1\" type=\"error\">"),
            "{text}"
        );
        assert!(
            text.contains("no INVITE within 5s\" type=\"inconclusive\">"),
            "{text}"
        );
        assert!(text.contains("pcap: pcap/rejoin-bad-id.pcap"), "{text}");
        assert!(
            text.contains("<property name=\"requirement\" value=\"7.3.1.5/contribution-id\"/>"),
            "{text}"
        );
        insta::assert_snapshot!("junit_synthetic_run", text);
    }
}
