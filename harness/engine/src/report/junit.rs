//! JUnit XML reporter: one testsuite per clause, one testcase per scenario; fail, xpass, error and
//! inconclusive are failures (inconclusive is never shown as a pass), not-applicable and xfail
//! are skipped; an advisory (SHOULD) failure passes with a note unless the run is strict.

use std::collections::BTreeMap;
use std::io::Write;

use super::{xml_escape, Reporter, RunEvent, RunEventKind};
use crate::verdict::{ProtocolResult, ScenarioResult, Verdict};

/// Writes JUnit XML at the end of the run.
pub struct JunitReporter<W: Write> {
    out: W,
    strict: bool,
    results: Vec<ScenarioResult>,
}

impl<W: Write> JunitReporter<W> {
    /// A reporter writing to `out`.
    pub fn new(out: W) -> Self {
        JunitReporter {
            out,
            strict: false,
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
            RunEventKind::RunStarted { strict, .. } => self.strict = *strict,
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
        let o = &mut self.out;
        writeln!(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
        let total_fail = self
            .results
            .iter()
            .filter(|r| is_failure(r, self.strict))
            .count();
        writeln!(
            o,
            "<testsuites name=\"cpmconf\" tests=\"{}\" failures=\"{}\">",
            self.results.len(),
            total_fail
        )?;
        for (clause, rs) in suites {
            let failures = rs.iter().filter(|r| is_failure(r, self.strict)).count();
            let skipped = rs
                .iter()
                .filter(|r| matches!(r.verdict, Verdict::NotApplicable | Verdict::XFail))
                .count();
            let time: u64 = rs.iter().map(|r| r.duration_ms).sum();
            writeln!(
                o,
                "  <testsuite name=\"clause {}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{}\">",
                xml_escape(clause),
                rs.len(),
                secs(time)
            )?;
            for r in rs {
                write!(
                    o,
                    "    <testcase name=\"{}\" classname=\"{}\" time=\"{}\"",
                    xml_escape(&r.id),
                    xml_escape(&format!("cpmconf.{}", r.clause)),
                    secs(r.duration_ms)
                )?;
                let body = case_body(r, self.strict);
                if body.is_empty() {
                    writeln!(o, "/>")?;
                } else {
                    writeln!(o, ">")?;
                    write!(o, "{body}")?;
                    writeln!(o, "    </testcase>")?;
                }
            }
            writeln!(o, "  </testsuite>")?;
        }
        write!(o, "{}", protocol_suite(&self.results, self.strict))?;
        writeln!(o, "</testsuites>")?;
        o.flush()
    }
}

fn secs(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

fn is_failure(r: &ScenarioResult, strict: bool) -> bool {
    match r.verdict {
        Verdict::Error | Verdict::Inconclusive => true,
        Verdict::Fail | Verdict::XPass => r.fails_gate(strict),
        Verdict::Pass | Verdict::NotApplicable | Verdict::XFail => false,
    }
}

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
/// profile waives it. Empty when no scenario ran the baseline.
fn protocol_suite(results: &[ScenarioResult], strict: bool) -> String {
    let mut rules: BTreeMap<&str, Vec<(&str, &ProtocolResult)>> = BTreeMap::new();
    for r in results {
        for p in &r.protocol {
            rules.entry(p.rule.as_str()).or_default().push((r.id.as_str(), p));
        }
    }
    if rules.is_empty() {
        return String::new();
    }
    let mut cases = String::new();
    let mut failures = 0;
    let mut skipped = 0;
    for (rule, seen) in &rules {
        cases.push_str(&format!(
            "    <testcase name=\"{}\" classname=\"cpmconf.protocol\" time=\"0.000\"",
            xml_escape(rule)
        ));
        let failed: Vec<&(&str, &ProtocolResult)> =
            seen.iter().filter(|(_, p)| p.verdict == Verdict::Fail).collect();
        let mut text = String::new();
        for (scenario, p) in &failed {
            text.push_str(&format!("{scenario}: trace entries {:?}\n", p.entries));
            for f in &p.findings {
                text.push_str(&format!("  {f}\n"));
            }
        }
        let text = xml_escape(&text);
        let strength = seen.first().map_or("MUST", |(_, p)| p.strength.as_str());
        if failed.iter().any(|(_, p)| p.fails_gate(strict)) {
            failures += 1;
            cases.push_str(&format!(
                ">\n      <failure type=\"fail\" message=\"{strength} {} failed in {} scenario(s)\">{text}</failure>\n    </testcase>\n",
                xml_escape(rule),
                failed.len()
            ));
        } else if !failed.is_empty() {
            cases.push_str(&format!(
                ">\n      <system-out>advisory: {text}</system-out>\n    </testcase>\n"
            ));
        } else if seen.iter().any(|(_, p)| p.waived) {
            skipped += 1;
            cases.push_str(">\n      <skipped message=\"waived by the client profile (protocol_waivers)\"/>\n    </testcase>\n");
        } else {
            cases.push_str("/>\n");
        }
    }
    format!(
        "  <testsuite name=\"protocol baseline\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"0.000\">\n{cases}  </testsuite>\n",
        rules.len()
    )
}

fn case_body(r: &ScenarioResult, strict: bool) -> String {
    let text = xml_escape(&details(r));
    let first = |v: Verdict| {
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
                        .unwrap_or_default()
                )
            })
            .or_else(|| r.message.clone())
            .unwrap_or_default()
    };
    match r.verdict {
        Verdict::Pass => String::new(),
        Verdict::Fail | Verdict::XPass if is_failure(r, strict) => format!(
            "      <failure type=\"{}\" message=\"{}\">{text}</failure>\n",
            r.verdict,
            xml_escape(&first(r.verdict))
        ),
        Verdict::Fail | Verdict::XPass => {
            format!("      <system-out>advisory: {text}</system-out>\n")
        }
        Verdict::Error => format!(
            "      <failure type=\"error\" message=\"{}\">{text}</failure>\n",
            xml_escape(&first(Verdict::Error))
        ),
        Verdict::Inconclusive => format!(
            "      <failure type=\"inconclusive\" message=\"{}\">{text}</failure>\n",
            xml_escape(&first(Verdict::Inconclusive))
        ),
        Verdict::NotApplicable => format!(
            "      <skipped message=\"not-applicable: {}\"/>\n",
            xml_escape(r.message.as_deref().unwrap_or(""))
        ),
        Verdict::XFail => {
            format!("      <skipped message=\"xfail (known failure)\">{text}</skipped>\n")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junit_snapshot() {
        let mut r = JunitReporter::new(Vec::new());
        crate::report::fixture::feed(&mut r);
        let text = String::from_utf8(r.into_inner()).unwrap();
        assert!(!text.contains(
            "<testcase name=\"deferred-timeout\" classname=\"cpmconf.7.3.11\" time=\"0.012\"/>"
        ));
        insta::assert_snapshot!("junit_synthetic_run", text);
    }
}
