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
