//! Terminal reporter: one line per scenario as it ends (failures with expected vs seen), then a
//! summary per clause and the gate. Quiet: only failures, golden diffs and the summary.

use std::collections::BTreeMap;
use std::io::Write;

use super::{GoldenStatus, Reporter, RunEvent, RunEventKind};
use crate::verdict::{ScenarioResult, Verdict};

/// Writes human-readable progress and a summary.
pub struct TerminalReporter<W: Write> {
    out: W,
    strict: bool,
    quiet: bool,
    results: Vec<ScenarioResult>,
    /// Scenarios whose golden comparison did not come out the same.
    golden: BTreeMap<String, GoldenStatus>,
    warned: std::collections::BTreeSet<String>,
}

impl<W: Write> TerminalReporter<W> {
    /// A reporter writing to `out`.
    pub fn new(out: W) -> Self {
        TerminalReporter {
            out,
            strict: false,
            quiet: false,
            results: Vec::new(),
            golden: BTreeMap::new(),
            warned: Default::default(),
        }
    }

    /// Quiet: only failing scenarios (fail, xpass, error), golden diffs, warnings and the
    /// summary; passing, expected-failure, inconclusive and not-applicable scenarios are not
    /// listed one by one.
    pub fn quiet(mut self, quiet: bool) -> Self {
        self.quiet = quiet;
        self
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
                status,
                diff,
            } if *status != GoldenStatus::Same => {
                self.golden.insert(scenario.clone(), *status);
                if *status == GoldenStatus::Differs {
                    writeln!(self.out, "  golden differs for {scenario}:")?;
                    for l in diff.as_deref().unwrap_or("").lines() {
                        writeln!(self.out, "    {l}")?;
                    }
                } else if !self.quiet {
                    writeln!(
                        self.out,
                        "  {}",
                        diff.as_deref().unwrap_or("no golden file yet")
                    )?;
                }
            }
            RunEventKind::ScenarioFinished { result: r } => {
                self.results.push(r.clone());
                if self.quiet
                    && !matches!(r.verdict, Verdict::Fail | Verdict::XPass | Verdict::Error)
                {
                    return Ok(());
                }
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
            }
            RunEventKind::Warning { message, .. } => {
                // Each distinct warning once (a capability mismatch arises in every scenario).
                if self.warned.insert(message.clone()) {
                    writeln!(self.out, "warning: {message}")?;
                }
            }
            RunEventKind::RunFinished { gate } => {
                // Verdict columns, then golden diffs and missing golden files, counted apart.
                let mut by_clause: BTreeMap<&str, [usize; 9]> = BTreeMap::new();
                for r in &self.results {
                    let row = by_clause.entry(r.clause.as_str()).or_insert([0; 9]);
                    let golden = match self.golden.get(&r.id) {
                        Some(GoldenStatus::Differs) => Some(7),
                        Some(GoldenStatus::Missing) => Some(8),
                        _ => None,
                    };
                    let verdict = COLUMNS.iter().position(|v| *v == r.verdict);
                    for i in verdict.into_iter().chain(golden) {
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
                writeln!(self.out, " {:>14} {:>14}", "golden-diff", "golden-missing")?;
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
                    "gate: {} ({} scenario(s) failing, {} advisory finding(s), {})",
                    if gate.passed { "PASSED" } else { "FAILED" },
                    gate.failing,
                    gate.advisory,
                    gate.golden_text()
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

    /// The summary row of `clause` in the per-clause table, as numbers.
    fn clause_row(text: &str, clause: &str) -> Vec<usize> {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(clause))
            .unwrap_or_else(|| panic!("no row for {clause} in\n{text}"));
        line.split_whitespace()
            .skip(1)
            .map(|n| n.parse().unwrap())
            .collect()
    }

    /// A golden diff and a missing golden file land in different columns of their clauses' rows
    /// and in different counts of the gate line.
    #[test]
    fn golden_diffs_and_missing_files_counted_apart() {
        let mut r = TerminalReporter::new(Vec::new());
        crate::report::fixture::feed(&mut r);
        let text = String::from_utf8(r.into_inner()).unwrap();
        // rejoin-ok (7.3.1.5.1) differs; pager-should (7) has no golden file.
        assert_eq!(clause_row(&text, "7.3.1.5.1")[7..], [1, 0]);
        assert_eq!(clause_row(&text, "7")[7..], [0, 1]);
        assert!(
            text.contains("1 golden diff(s), 1 golden file(s) missing"),
            "{text}"
        );
        assert!(text.contains("golden differs for rejoin-ok"));
        assert!(text.contains("no golden file golden/reference/pager-should.snap yet"));
    }

    /// Quiet lists only failing scenarios and golden diffs, then the whole summary.
    #[test]
    fn quiet_lists_only_failures_and_the_summary() {
        let mut r = TerminalReporter::new(Vec::new()).quiet(true);
        crate::report::fixture::feed(&mut r);
        let text = String::from_utf8(r.into_inner()).unwrap();
        let listed = |id: &str| text.contains(&format!(" {id} ("));
        assert!(listed("rejoin-bad-id"), "a failure is listed:\n{text}");
        assert!(listed("adapter-crash"), "an error is listed:\n{text}");
        assert!(!listed("group-na"), "not applicable is not listed:\n{text}");
        assert!(
            listed("rejoin-ok"),
            "an advisory failure is listed:\n{text}"
        );
        assert!(
            !listed("ft-known"),
            "an expected failure is not listed:\n{text}"
        );
        assert!(
            !listed("deferred-timeout"),
            "inconclusive is not listed:\n{text}"
        );
        assert!(text.contains("golden differs for rejoin-ok"));
        assert!(!text.contains("no golden file"), "{text}");
        // The summary still counts everything.
        assert_eq!(clause_row(&text, "7.3.1.3")[6], 1, "{text}");
        assert!(text.contains("gate: FAILED"));
    }
}
