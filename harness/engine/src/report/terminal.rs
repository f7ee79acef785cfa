//! Terminal reporter: one line per scenario as it ends (failures with expected vs seen), then a
//! summary per clause and the gate.

use std::collections::BTreeMap;
use std::io::Write;

use super::{Reporter, RunEvent, RunEventKind};
use crate::verdict::{ScenarioResult, Verdict};

/// Writes human-readable progress and a summary.
pub struct TerminalReporter<W: Write> {
    out: W,
    strict: bool,
    results: Vec<ScenarioResult>,
    golden_diffs: usize,
    warned: std::collections::BTreeSet<String>,
}

impl<W: Write> TerminalReporter<W> {
    /// A reporter writing to `out`.
    pub fn new(out: W) -> Self {
        TerminalReporter {
            out,
            strict: false,
            results: Vec::new(),
            golden_diffs: 0,
            warned: Default::default(),
        }
    }

    /// The writer back (tests).
    pub fn into_inner(self) -> W {
        self.out
    }
}

const COLUMNS: [Verdict; 7] = [
    Verdict::Pass,
    Verdict::Fail,
    Verdict::XFail,
    Verdict::XPass,
    Verdict::Inconclusive,
    Verdict::Error,
    Verdict::NotApplicable,
];

impl<W: Write> Reporter for TerminalReporter<W> {
    fn event(&mut self, ev: &RunEvent) -> std::io::Result<()> {
        match &ev.kind {
            RunEventKind::RunStarted {
                seed,
                client,
                strict,
                scenarios,
                ..
            } => {
                self.strict = *strict;
                writeln!(
                    self.out,
                    "cpmconf: {scenarios} scenarios against {client} (seed {seed}{})",
                    if *strict { ", strict" } else { "" }
                )?;
            }
            RunEventKind::GoldenCompared {
                scenario,
                matched: false,
                diff,
            } => {
                self.golden_diffs += 1;
                writeln!(self.out, "  golden differs for {scenario}:")?;
                for l in diff.as_deref().unwrap_or("").lines() {
                    writeln!(self.out, "    {l}")?;
                }
            }
            RunEventKind::ScenarioFinished { result: r } => {
                let tag = if matches!(r.verdict, Verdict::Fail) && !r.fails_gate(self.strict) {
                    "advisory".to_string()
                } else {
                    r.verdict.as_str().to_string()
                };
                writeln!(
                    self.out,
                    "{tag:>14}  {:<10} {} ({} ms)",
                    r.clause, r.id, r.duration_ms
                )?;
                if let Some(m) = &r.message {
                    writeln!(self.out, "                {m}")?;
                }
                for q in &r.requirements {
                    if matches!(q.verdict, Verdict::Pass | Verdict::NotApplicable) {
                        continue;
                    }
                    // Step 0 is the runner's own: the setup or a global monitor.
                    let at = match q.step {
                        Some(0) => " (global monitor)".to_string(),
                        Some(n) => format!(" at step {n}"),
                        None => String::new(),
                    };
                    writeln!(
                        self.out,
                        "                {} {} [{}]{at}: {}",
                        q.verdict, q.id, q.strength, q.requirement
                    )?;
                    for f in &q.findings {
                        writeln!(self.out, "                  {f}")?;
                    }
                    for l in &q.quote {
                        writeln!(self.out, "                  > {l}")?;
                    }
                }
                for p in &r.protocol {
                    if !matches!(p.verdict, Verdict::Fail | Verdict::XFail) {
                        continue;
                    }
                    let weight = if p.fails_gate(self.strict) || p.verdict == Verdict::XFail {
                        ""
                    } else {
                        ", advisory"
                    };
                    let waived = if p.waived {
                        ", waived by the profile"
                    } else {
                        ""
                    };
                    writeln!(
                        self.out,
                        "                {} {} [{}{weight}{waived}] (protocol baseline, trace entries {:?})",
                        p.verdict,
                        p.rule,
                        p.strength.as_str(),
                        p.entries
                    )?;
                    for f in &p.findings {
                        writeln!(self.out, "                  {f}")?;
                    }
                }
                self.results.push(r.clone());
            }
            RunEventKind::Warning { message, .. } => {
                // Each distinct warning once (a capability mismatch arises in every scenario).
                if self.warned.insert(message.clone()) {
                    writeln!(self.out, "warning: {message}")?;
                }
            }
            RunEventKind::RunFinished { gate } => {
                let mut by_clause: BTreeMap<&str, [usize; 7]> = BTreeMap::new();
                for r in &self.results {
                    let row = by_clause.entry(r.clause.as_str()).or_insert([0; 7]);
                    if let Some(i) = COLUMNS.iter().position(|v| *v == r.verdict) {
                        if let Some(c) = row.get_mut(i) {
                            *c += 1;
                        }
                    }
                }
                writeln!(self.out)?;
                write!(self.out, "{:<12}", "clause")?;
                for v in COLUMNS {
                    write!(self.out, " {:>14}", v.as_str())?;
                }
                writeln!(self.out)?;
                for (clause, row) in by_clause {
                    write!(self.out, "{clause:<12}")?;
                    for n in row {
                        write!(self.out, " {n:>14}")?;
                    }
                    writeln!(self.out)?;
                }
                write_protocol(&mut self.out, &self.results, self.strict)?;
                writeln!(
                    self.out,
                    "gate: {} ({} scenario(s) failing, {} advisory finding(s), {} golden diff(s))",
                    if gate.passed { "PASSED" } else { "FAILED" },
                    gate.failing,
                    gate.advisory,
                    self.golden_diffs
                )?;
                writeln!(self.out, "{}", gate.judged_text())?;
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// The protocol baseline group of the summary: per RFC rule, in how many scenarios it passed,
/// failed or was waived, and the profile's waivers.
fn write_protocol(
    out: &mut impl Write,
    results: &[ScenarioResult],
    strict: bool,
) -> std::io::Result<()> {
    let mut rules: BTreeMap<&str, (&'static str, [usize; 3])> = BTreeMap::new();
    let mut waived: Vec<&str> = Vec::new();
    for p in results.iter().flat_map(|r| &r.protocol) {
        let e = rules
            .entry(p.rule.as_str())
            .or_insert((p.strength.as_str(), [0; 3]));
        match p.verdict {
            Verdict::Pass => e.1[0] += 1,
            Verdict::Fail => e.1[1] += 1,
            Verdict::XFail => e.1[2] += 1,
            _ => {}
        }
        if p.waived && !waived.contains(&p.rule.as_str()) {
            waived.push(p.rule.as_str());
        }
    }
    if rules.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<44} {:>8} {:>6} {:>6} {:>6}",
        "protocol baseline (RFC rules)", "strength", "pass", "fail", "waived"
    )?;
    for (rule, (strength, [pass, fail, xfail])) in &rules {
        let note = if *fail > 0 && *strength == "SHOULD" && !strict {
            "  (advisory)"
        } else {
            ""
        };
        writeln!(
            out,
            "{rule:<44} {strength:>8} {pass:>6} {fail:>6} {xfail:>6}{note}"
        )?;
    }
    waived.sort_unstable();
    writeln!(
        out,
        "protocol waivers (client profile): {}",
        if waived.is_empty() {
            "none".to_string()
        } else {
            waived.join(", ")
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_snapshot() {
        let mut r = TerminalReporter::new(Vec::new());
        crate::report::fixture::feed(&mut r);
        let text = String::from_utf8(r.into_inner()).unwrap();
        assert!(text.contains("gate: FAILED"));
        insta::assert_snapshot!("terminal_synthetic_run", text);
    }
}
