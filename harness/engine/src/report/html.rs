//! HTML reporter (`index.html`): one static page, no server and no external asset, beside the
//! pcaps and wire logs it links to. A summary by clause (verdict counts, requirements judged and
//! not applicable), then per scenario its requirements (CR sentence, verdict, expected against
//! seen), its ladder as inline SVG (one lane per party, one arrow per message, the message that
//! decided a failure highlighted and linked to its finding) and every message's full text on
//! demand.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::Write;

use super::ladder::Ladder;
use super::{xml_escape as esc, GoldenStatus, Reporter, RunEvent, RunEventKind};
use crate::verdict::{Gate, RequirementResult, ScenarioResult, Verdict};

/// The verdict columns of the summary, in order.
const COLUMNS: [Verdict; 7] = [
    Verdict::Pass,
    Verdict::Fail,
    Verdict::XFail,
    Verdict::XPass,
    Verdict::Inconclusive,
    Verdict::Error,
    Verdict::NotApplicable,
];

/// Ladder geometry (pixels): time column, lane width, header height, row height.
const LEFT: usize = 70;
const LANE: usize = 170;
const TOP: usize = 40;
const ROW: usize = 26;

/// Writes `index.html` at the end of the run.
pub struct HtmlReporter<W: Write> {
    out: W,
    seed: Option<u64>,
    client: String,
    strict: bool,
    started_at: String,
    results: Vec<ScenarioResult>,
    ladders: HashMap<String, Ladder>,
    golden: HashMap<String, (GoldenStatus, String)>,
    gate: Option<Gate>,
}

impl<W: Write> HtmlReporter<W> {
    /// A reporter writing to `out`.
    pub fn new(out: W) -> Self {
        HtmlReporter {
            out,
            seed: None,
            client: String::new(),
            strict: false,
            started_at: String::new(),
            results: Vec::new(),
            ladders: HashMap::new(),
            golden: HashMap::new(),
            gate: None,
        }
    }

    /// The writer back (tests).
    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> Reporter for HtmlReporter<W> {
    fn event(&mut self, ev: &RunEvent) -> std::io::Result<()> {
        match &ev.kind {
            RunEventKind::RunStarted {
                seed,
                client,
                strict,
                started_at,
                ..
            } => {
                self.seed = Some(*seed);
                self.client = client.clone();
                self.strict = *strict;
                self.started_at = started_at.clone();
            }
            RunEventKind::TraceCaptured { scenario, ladder } => {
                self.ladders.insert(scenario.clone(), ladder.clone());
            }
            RunEventKind::GoldenCompared {
                scenario,
                status,
                diff,
            } if *status != GoldenStatus::Same => {
                self.golden.insert(
                    scenario.clone(),
                    (*status, diff.clone().unwrap_or_default()),
                );
            }
            RunEventKind::ScenarioFinished { result } => self.results.push(result.clone()),
            RunEventKind::RunFinished { gate } => self.gate = Some(*gate),
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        let page = self.page();
        self.out.write_all(page.as_bytes())?;
        self.out.flush()
    }
}

const STYLE: &str = "
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;max-width:1400px}
h1{font-size:1.5em;margin:0 0 .3em}h2{margin-top:1.5em}h3{margin:.2em 0}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right}
.gate{padding:.4em .8em;display:inline-block;font-weight:bold;border-radius:4px}
.gate.passed{background:#d8f5d8}.gate.failed{background:#f9d4d4}
.v{display:inline-block;padding:0 .4em;border-radius:3px;font-size:.9em;font-weight:bold}
.v-pass{background:#d8f5d8}.v-fail,.v-xpass,.v-error{background:#f9d4d4}.v-inconclusive{background:#fbe7c0}
.v-xfail{background:#e4e4f7}.v-not-applicable{background:#eee;color:#666}.v-advisory{background:#fff3c4}
section.scenario{border-top:2px solid #ddd;padding-top:.6em;margin-top:1.2em}
pre{background:#f7f7f7;padding:.5em;overflow-x:auto;font-size:12px;margin:.2em 0}
.ladder{overflow-x:auto}
svg .party{font-weight:bold;font-size:13px}svg .lane{stroke:#999;stroke-dasharray:4 3}
svg .arrow line,svg .arrow path.loop{stroke:#345;stroke-width:1.3;fill:none}svg .arrow path.head{fill:#345}
svg .arrow text.label{font-size:11.5px;fill:#123;paint-order:stroke;stroke:#fff;stroke-width:3px}svg .arrow text.time{font-size:10px;fill:#888}
svg .arrow.failing line,svg .arrow.failing path.loop{stroke:#d00;stroke-width:3}svg .arrow.failing path.head{fill:#d00}
svg .arrow.failing text.label{fill:#d00;font-weight:bold}
svg a:hover text.label{text-decoration:underline}
tr.failing,details.msg.failing>summary{background:#fde8e8}
:target{outline:2px solid #e80}
details.msg>summary{font-family:monospace;font-size:12px;cursor:pointer}
";

/// Opens a closed `<details>` that a link points into.
const SCRIPT: &str = "function openTarget(){var t=location.hash&&document.getElementById(location.hash.slice(1));if(t&&t.tagName==='DETAILS'){t.open=true;}}window.addEventListener('hashchange',openTarget);openTarget();";

impl<W: Write> HtmlReporter<W> {
    fn page(&self) -> String {
        let mut results: Vec<&ScenarioResult> = self.results.iter().collect();
        results.sort_by(|a, b| (&a.clause, &a.id).cmp(&(&b.clause, &b.id)));
        let mut h = String::new();
        let title = format!("cpmconf report: {}", self.client);
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
            esc(&title),
            esc(&title)
        );
        let _ = writeln!(
            h,
            "<p class=\"meta\">client <b>{}</b>, seed <b>{}</b>{}, started {}, {} scenario(s)</p>",
            esc(&self.client),
            self.seed.map_or("?".to_string(), |s| s.to_string()),
            if self.strict { ", strict" } else { "" },
            esc(&self.started_at),
            results.len()
        );
        if let Some(g) = self.gate {
            let _ = writeln!(
                h,
                "<p class=\"gate {}\" id=\"gate\">gate {}: {} scenario(s) failing, {} advisory finding(s), {}</p>",
                if g.passed { "passed" } else { "failed" },
                if g.passed { "PASSED" } else { "FAILED" },
                g.failing,
                g.advisory,
                esc(&g.golden_text())
            );
        }
        self.summary(&mut h, &results);
        h.push_str("<h2>Scenarios</h2>\n<ul class=\"index\">\n");
        for r in &results {
            let _ = writeln!(
                h,
                "<li>{} <a href=\"#s-{}\">{}</a> ({})</li>",
                self.badge(r),
                esc(&r.id),
                esc(&r.id),
                esc(&r.clause)
            );
        }
        h.push_str("</ul>\n");
        for r in &results {
            self.scenario(&mut h, r);
        }
        let _ = write!(h, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
        h
    }

    fn badge(&self, r: &ScenarioResult) -> String {
        if matches!(r.verdict, Verdict::Fail) && !r.fails_gate(self.strict) {
            return "<span class=\"v v-advisory\">advisory</span>".into();
        }
        format!("<span class=\"v v-{0}\">{0}</span>", r.verdict.as_str())
    }

    fn summary(&self, h: &mut String, results: &[&ScenarioResult]) {
        // Per clause: scenario counts by verdict, requirements judged / not applicable, then
        // golden diffs and missing golden files (counted apart).
        let mut rows: BTreeMap<&str, ([usize; 7], usize, usize, [usize; 2])> = BTreeMap::new();
        for r in results {
            let row = rows
                .entry(r.clause.as_str())
                .or_insert(([0; 7], 0, 0, [0; 2]));
            match self.golden.get(&r.id).map(|g| g.0) {
                Some(GoldenStatus::Differs) => row.3[0] += 1,
                Some(GoldenStatus::Missing) => row.3[1] += 1,
                _ => {}
            }
            if let Some(i) = COLUMNS.iter().position(|v| *v == r.verdict) {
                if let Some(c) = row.0.get_mut(i) {
                    *c += 1;
                }
            }
            for q in &r.requirements {
                if q.verdict == Verdict::NotApplicable {
                    row.2 += 1;
                } else {
                    row.1 += 1;
                }
            }
        }
        h.push_str("<h2>Summary by clause</h2>\n<table class=\"summary\">\n<tr><th>clause</th>");
        for v in COLUMNS {
            let _ = write!(h, "<th>{}</th>", v.as_str());
        }
        h.push_str("<th>requirements judged</th><th>requirements not applicable</th><th>golden diff</th><th>golden missing</th></tr>\n");
        let mut total = ([0usize; 7], 0usize, 0usize, [0usize; 2]);
        for (clause, (counts, judged, na, [diffs, missing])) in &rows {
            let _ = write!(h, "<tr><td>{}</td>", esc(clause));
            for (i, n) in counts.iter().enumerate() {
                let _ = write!(h, "<td class=\"n\">{n}</td>");
                if let Some(t) = total.0.get_mut(i) {
                    *t += n;
                }
            }
            let _ = writeln!(
                h,
                "<td class=\"n\">{judged}</td><td class=\"n\">{na}</td><td class=\"n\">{diffs}</td><td class=\"n\">{missing}</td></tr>"
            );
            total.1 += judged;
            total.2 += na;
            total.3[0] += diffs;
            total.3[1] += missing;
        }
        h.push_str("<tr class=\"total\"><th>all</th>");
        for n in total.0 {
            let _ = write!(h, "<th class=\"n\">{n}</th>");
        }
        let _ = writeln!(
            h,
            "<th class=\"n\">{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th></tr>\n</table>",
            total.1, total.2, total.3[0], total.3[1]
        );
    }

    fn scenario(&self, h: &mut String, r: &ScenarioResult) {
        let sid = esc(&r.id);
        let _ = writeln!(
            h,
            "<section class=\"scenario\" id=\"s-{sid}\">\n<h3>{} {sid}: {}</h3>\n<p>clause {}, {} ms</p>",
            self.badge(r),
            esc(&r.title),
            esc(&r.clause),
            r.duration_ms
        );
        if let Some(m) = &r.message {
            let _ = writeln!(h, "<p class=\"message\">{}</p>", esc(m));
        }
        let ladder = self.ladders.get(&r.id);
        let mut files = Vec::new();
        if let Some(p) = r.pcap.as_deref().or(ladder.map(|l| l.pcap.as_str())) {
            files.push(format!("<a class=\"file\" href=\"{0}\">{0}</a>", esc(p)));
        }
        if let Some(w) = r
            .wire_log
            .as_deref()
            .or(ladder.map(|l| l.wire_log.as_str()))
        {
            files.push(format!("<a class=\"file\" href=\"{0}\">{0}</a>", esc(w)));
        }
        if !files.is_empty() {
            let _ = writeln!(h, "<p class=\"files\">capture: {}</p>", files.join(", "));
        }
        // The messages that decided a requirement that did not pass, and their findings.
        let mut decided: BTreeMap<usize, usize> = BTreeMap::new();
        for (i, q) in r.requirements.iter().enumerate() {
            if let (Some(e), true) = (q.trace_entry, deciding(q)) {
                decided.entry(e).or_insert(i);
            }
        }
        match ladder {
            Some(l) => draw(h, &r.id, l, &decided),
            None => {
                h.push_str("<p class=\"no-capture\">no capture: the scenario did not run</p>\n")
            }
        }
        requirements(h, r, ladder.is_some());
        protocol(h, r, ladder.is_some());
        if let Some((status, diff)) = self.golden.get(&r.id) {
            let what = match status {
                GoldenStatus::Missing => "no golden file yet",
                _ => "golden projection differs",
            };
            let _ = writeln!(
                h,
                "<details class=\"golden\"><summary>{what}</summary><pre>{}</pre></details>",
                esc(diff)
            );
        }
        if let Some(l) = ladder {
            messages(h, &r.id, l, &decided);
        }
        h.push_str("</section>\n");
    }
}

/// The protocol baseline rules (RFC rule ids) the scenario's messages did not pass, each with its
/// strength, verdict, findings and links to the offending messages; passing rules are left out.
fn protocol(h: &mut String, r: &ScenarioResult, linked: bool) {
    let shown: Vec<_> = r
        .protocol
        .iter()
        .filter(|p| p.verdict != Verdict::Pass)
        .collect();
    if shown.is_empty() {
        return;
    }
    h.push_str("<table class=\"requirements protocol\">\n<tr><th>protocol rule</th><th>verdict</th><th>findings</th><th>messages</th></tr>\n");
    for p in shown {
        let _ = write!(
            h,
            "<tr><td><b>{rule}</b><br>{strength}{waived}</td><td><span class=\"v v-{v}\">{v}</span></td><td><ul class=\"findings\">",
            rule = esc(&p.rule),
            strength = esc(p.strength.as_str()),
            waived = if p.waived { ", waived by the profile" } else { "" },
            v = p.verdict.as_str(),
        );
        for f in &p.findings {
            let _ = write!(
                h,
                "<li>{}: expected <code>{}</code>, seen <code>{}</code></li>",
                esc(&f.what),
                esc(&f.expected),
                esc(&f.seen)
            );
        }
        h.push_str("</ul></td><td>");
        let entries: Vec<String> = p
            .entries
            .iter()
            .map(|e| {
                if linked {
                    format!("<a href=\"#m-{}-{e}\">#{e}</a>", esc(&r.id))
                } else {
                    format!("#{e}")
                }
            })
            .collect();
        h.push_str(&entries.join(" "));
        h.push_str("</td></tr>\n");
    }
    h.push_str("</table>\n");
}

/// `true` for a requirement result whose message the ladder highlights.
fn deciding(q: &RequirementResult) -> bool {
    matches!(
        q.verdict,
        Verdict::Fail | Verdict::XFail | Verdict::XPass | Verdict::Error | Verdict::Inconclusive
    )
}

fn requirements(h: &mut String, r: &ScenarioResult, linked: bool) {
    if r.requirements.is_empty() {
        return;
    }
    h.push_str("<table class=\"requirements\">\n<tr><th>requirement</th><th>CR sentence</th><th>verdict</th><th>step</th><th>expected / seen</th><th>message</th></tr>\n");
    for (i, q) in r.requirements.iter().enumerate() {
        let class = if deciding(q) {
            " class=\"failing\""
        } else {
            ""
        };
        let step = match q.step {
            Some(0) => "monitor".to_string(),
            Some(n) => n.to_string(),
            None => "-".to_string(),
        };
        let _ = write!(
            h,
            "<tr id=\"f-{sid}-{i}\"{class}><td><b>{id}</b><br>{strength} ({clause})</td><td>{text}</td><td><span class=\"v v-{v}\">{v}</span></td><td>{step}</td><td>",
            sid = esc(&r.id),
            id = esc(&q.id),
            strength = esc(q.strength.as_str()),
            clause = esc(&q.clause),
            text = esc(&q.requirement),
            v = q.verdict.as_str(),
        );
        if let Some(m) = &q.message {
            let _ = write!(h, "<p>{}</p>", esc(m));
        }
        if !q.findings.is_empty() {
            h.push_str("<ul class=\"findings\">");
            for f in &q.findings {
                let _ = write!(
                    h,
                    "<li>{}: expected <code>{}</code>, seen <code>{}</code></li>",
                    esc(&f.what),
                    esc(&f.expected),
                    esc(&f.seen)
                );
            }
            h.push_str("</ul>");
        }
        if !q.quote.is_empty() {
            let _ = write!(
                h,
                "<details><summary>quoted message</summary><pre>{}</pre></details>",
                esc(&q.quote.join("\n"))
            );
        }
        h.push_str("</td><td>");
        if let Some(e) = q.trace_entry {
            let frame = q
                .pcap_frame
                .map(|f| format!(", pcap frame {f}"))
                .unwrap_or_default();
            if linked {
                let _ = write!(h, "<a href=\"#m-{}-{e}\">#{e}</a>{frame}", esc(&r.id));
            } else {
                let _ = write!(h, "#{e}{frame}");
            }
        }
        h.push_str("</td></tr>\n");
    }
    h.push_str("</table>\n");
}

fn lane_x(i: usize) -> usize {
    LEFT + i * LANE + LANE / 2
}

/// The ladder of one scenario as inline SVG.
fn draw(h: &mut String, scenario: &str, l: &Ladder, decided: &BTreeMap<usize, usize>) {
    let sid = esc(scenario);
    let width = LEFT + l.parties.len().max(1) * LANE;
    let height = TOP + l.arrows.len() * ROW + 10;
    let _ = writeln!(
        h,
        "<div class=\"ladder\"><svg xmlns=\"http://www.w3.org/2000/svg\" class=\"ladder\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"ladder of {sid}\">"
    );
    for (i, p) in l.parties.iter().enumerate() {
        let x = lane_x(i);
        let _ = writeln!(
            h,
            "<text class=\"party\" x=\"{x}\" y=\"20\" text-anchor=\"middle\">{}</text><line class=\"lane\" x1=\"{x}\" y1=\"28\" x2=\"{x}\" y2=\"{height}\"/>",
            esc(p)
        );
    }
    let lane = |name: &str| l.parties.iter().position(|p| p == name).unwrap_or(0);
    for (row, a) in l.arrows.iter().enumerate() {
        let y = TOP + row * ROW + ROW / 2 + 4;
        let (x1, x2) = (lane_x(lane(&a.from)), lane_x(lane(&a.to)));
        let failing = decided.get(&a.entry);
        let href = match failing {
            Some(i) => format!("#f-{sid}-{i}"),
            None => format!("#t-{sid}-{}", a.entry),
        };
        let frame = a
            .frame
            .map(|f| format!(" data-frame=\"{f}\""))
            .unwrap_or_default();
        let _ = write!(
            h,
            "<a href=\"{href}\"><g class=\"arrow{}\" id=\"m-{sid}-{}\" data-entry=\"{}\"{frame}><title>#{} {} -&gt; {}: {}{}</title>",
            if failing.is_some() { " failing" } else { "" },
            a.entry,
            a.entry,
            a.entry,
            esc(&a.from),
            esc(&a.to),
            esc(&a.label),
            a.frame.map(|f| format!(" (pcap frame {f})")).unwrap_or_default()
        );
        let _ = write!(
            h,
            "<text class=\"time\" x=\"4\" y=\"{y}\">+{}.{:03}s</text>",
            a.offset_us / 1_000_000,
            (a.offset_us / 1000) % 1000
        );
        if x1 == x2 {
            // A message a party sends to itself: a small loop.
            let _ = write!(
                h,
                "<path class=\"loop\" d=\"M{x1} {} h30 v10 h-26\"/><path class=\"head\" d=\"M{x1} {} l8 -4 v8 z\"/><text class=\"label\" x=\"{}\" y=\"{}\">{}</text>",
                y - 6,
                y + 4,
                x1 + 34,
                y,
                esc(&a.label)
            );
        } else {
            let dir: isize = if x2 > x1 { 1 } else { -1 };
            let tip = x2 as isize;
            let base = tip - dir * 9;
            let _ = write!(
                h,
                "<line x1=\"{x1}\" y1=\"{y}\" x2=\"{base}\" y2=\"{y}\"/><path class=\"head\" d=\"M{tip} {y} L{base} {} L{base} {} z\"/><text class=\"label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                y - 4,
                y + 4,
                (x1 + x2) / 2,
                y - 4,
                esc(&a.label)
            );
        }
        h.push_str("</g></a>\n");
    }
    h.push_str("</svg></div>\n");
}

/// Every message's full text, on demand.
fn messages(h: &mut String, scenario: &str, l: &Ladder, decided: &BTreeMap<usize, usize>) {
    let sid = esc(scenario);
    h.push_str("<div class=\"messages\">\n");
    for a in &l.arrows {
        let failing = decided.contains_key(&a.entry);
        let _ = writeln!(
            h,
            "<details class=\"msg{}\" id=\"t-{sid}-{}\"><summary>#{} {} -&gt; {}: {}{}{}</summary><pre>{}</pre></details>",
            if failing { " failing" } else { "" },
            a.entry,
            a.entry,
            esc(&a.from),
            esc(&a.to),
            esc(&a.label),
            a.frame.map(|f| format!(" (pcap frame {f})")).unwrap_or_default(),
            match decided.get(&a.entry) {
                Some(i) => format!(" <a href=\"#f-{sid}-{i}\">finding</a>"),
                None => String::new(),
            },
            esc(&a.text)
        );
    }
    h.push_str("</div>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_snapshot() {
        let mut r = HtmlReporter::new(Vec::new());
        crate::report::fixture::feed(&mut r);
        let text = String::from_utf8(r.into_inner()).unwrap();
        // One arrow per message of the fixture's ladder, the quoted one highlighted and linked
        // to its finding.
        assert_eq!(text.matches("<g class=\"arrow").count(), 4, "{text}");
        assert_eq!(
            text.matches("<g class=\"arrow failing\"").count(),
            1,
            "{text}"
        );
        assert!(text.contains("<a href=\"#f-rejoin-bad-id-0\"><g class=\"arrow failing\" id=\"m-rejoin-bad-id-2\""), "{text}");
        assert!(text.contains("href=\"pcap/rejoin-bad-id.pcap\""), "{text}");
        // A protocol baseline rule the scenario failed is shown with a link to its message.
        let bad = &text[text.find("id=\"s-rejoin-bad-id\"").unwrap()..];
        let bad = &bad[..bad.find("</section>").unwrap()];
        assert!(
            bad.contains("<b>rfc3261/8.2.6.2-via-copied</b>")
                && bad.contains("<a href=\"#m-rejoin-bad-id-7\">#7</a>"),
            "{bad}"
        );
        // No external asset.
        assert!(
            !text.contains("http://")
                || text.matches("http://").count()
                    == text.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
        );
        assert!(!text.contains("https://"));
        insta::assert_snapshot!("html_synthetic_run", text);
    }
}
