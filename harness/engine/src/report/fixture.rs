//! A fixed synthetic run for the reporter snapshot tests.

use super::{Arrow, GoldenStatus, Ladder, Reporter, RunEvent, RunEventKind, StepStatus};
use crate::baseline::{RuleStrength, ACK_NON_2XX, VIA_COPIED};
use crate::catalogue::Strength;
use crate::verdict::{gate, Finding, ProtocolResult, RequirementResult, ScenarioResult, Verdict};

/// A protocol baseline result of the synthetic run.
fn proto(rule: &str, strength: RuleStrength, verdict: Verdict, waived: bool) -> ProtocolResult {
    let failed = matches!(verdict, Verdict::Fail | Verdict::XFail);
    ProtocolResult {
        rule: rule.into(),
        strength,
        verdict,
        waived,
        checked: 2,
        entries: if failed { vec![7] } else { Vec::new() },
        findings: if failed {
            vec![if rule == VIA_COPIED {
                Finding {
                    what: "Via of 200 OK (MESSAGE) (trace entry 7)".into(),
                    expected: "the request's 2 Via value(s)".into(),
                    seen: "1 value(s)".into(),
                    key: None,
                }
            } else {
                Finding {
                    what: "INVITE sip:bob@test (trace entry 7)".into(),
                    expected: "no warning finding".into(),
                    seen: "byte 412: line ends with a bare LF instead of CRLF".into(),
                    key: None,
                }
            }]
        } else {
            Vec::new()
        },
    }
}

fn req(
    id: &str,
    clause: &str,
    strength: Strength,
    verdict: Verdict,
    findings: Vec<Finding>,
) -> RequirementResult {
    RequirementResult {
        id: id.into(),
        strength,
        clause: clause.into(),
        requirement: format!("text of {id}"),
        verdict,
        step: Some(2),
        findings,
        quote: if verdict == Verdict::Fail {
            vec![
                "INVITE sip:g1@cf.test SIP/2.0".into(),
                "Contribution-ID: def".into(),
            ]
        } else {
            Vec::new()
        },
        message: None,
        advisory: false,
        trace_entry: None,
        pcap_frame: None,
    }
}

fn scen(
    id: &str,
    clause: &str,
    verdict: Verdict,
    reqs: Vec<RequirementResult>,
    message: Option<&str>,
) -> ScenarioResult {
    ScenarioResult {
        id: id.into(),
        clause: clause.into(),
        title: format!("title of {id}"),
        verdict,
        requirements: reqs,
        duration_ms: 12,
        message: message.map(str::to_string),
        protocol: Vec::new(),
        stimuli: Vec::new(),
        pcap: None,
        wire_log: None,
    }
}

/// The ladder of `rejoin-bad-id`: registration, then the INVITE the failure quotes (entry 2).
pub fn ladder() -> Ladder {
    let arrow = |entry: usize, from: &str, to: &str, label: &str, text: &str| Arrow {
        entry,
        frame: Some(entry as u64 * 3 + 1),
        from: from.into(),
        to: to.into(),
        label: label.into(),
        offset_us: entry as u64 * 1500,
        text: text.into(),
    };
    Ladder {
        pcap: "pcap/rejoin-bad-id.pcap".into(),
        wire_log: "wire/rejoin-bad-id.log".into(),
        parties: vec!["client".into(), "registrar".into(), "cf".into()],
        arrows: vec![
            arrow(
                0,
                "client",
                "registrar",
                "REGISTER",
                "REGISTER sip:test SIP/2.0\n",
            ),
            arrow(
                1,
                "registrar",
                "client",
                "200 OK (REGISTER)",
                "SIP/2.0 200 OK\n",
            ),
            arrow(
                2,
                "client",
                "cf",
                "INVITE",
                "INVITE sip:g1@cf.test SIP/2.0\nContribution-ID: def\n<tag & \"quote\">\n",
            ),
            arrow(
                3,
                "cf",
                "client",
                "403 Forbidden (INVITE)",
                "SIP/2.0 403 Forbidden\n",
            ),
        ],
    }
}

/// The scenario results of the synthetic run: requirement verdicts of every kind, and protocol
/// baseline results (a MUST failure, a SHOULD failure, a waived rule, passes).
pub fn results() -> Vec<ScenarioResult> {
    let mut v = requirement_results();
    v[0].add_protocol(vec![
        proto(ACK_NON_2XX, RuleStrength::Must, Verdict::Pass, false),
        proto("rfc4566/5-crlf", RuleStrength::Should, Verdict::Fail, false),
    ]);
    v[1].add_protocol(vec![
        proto(ACK_NON_2XX, RuleStrength::Must, Verdict::Pass, false),
        proto(VIA_COPIED, RuleStrength::Must, Verdict::Fail, false),
    ]);
    v[2].add_protocol(vec![proto(
        VIA_COPIED,
        RuleStrength::Must,
        Verdict::XFail,
        true,
    )]);
    v
}

fn requirement_results() -> Vec<ScenarioResult> {
    let bad = Finding {
        key: None,
        what: "header Contribution-ID".into(),
        expected: "\"abc\"".into(),
        seen: "\"def\"".into(),
    };
    let mut bad_id = scen(
        "rejoin-bad-id",
        "7.3.1.5.1",
        Verdict::Fail,
        vec![req(
            "7.3.1.5/contribution-id",
            "7.3.1.5",
            Strength::Shall,
            Verdict::Fail,
            vec![bad],
        )],
        None,
    );
    bad_id.pcap = Some("pcap/rejoin-bad-id.pcap".into());
    bad_id.wire_log = Some("wire/rejoin-bad-id.log".into());
    for r in &mut bad_id.requirements {
        r.trace_entry = Some(2);
        r.pcap_frame = Some(7);
    }
    vec![
        scen(
            "rejoin-ok",
            "7.3.1.5.1",
            Verdict::Pass,
            vec![req(
                "7.3.1.5.1/use-incoming-invite",
                "7.3.1.5.1",
                Strength::Shall,
                Verdict::Pass,
                vec![],
            )],
            None,
        ),
        bad_id,
        scen(
            "pager-should",
            "7",
            Verdict::Fail,
            vec![req(
                "7/user-agent-header",
                "7",
                Strength::Should,
                Verdict::Fail,
                vec![Finding {
                    key: None,
                    what: "header User-Agent".into(),
                    expected: "matching /CPM-client\\/OMA.*/".into(),
                    seen: "(absent)".into(),
                }],
            )],
            None,
        ),
        scen(
            "deferred-timeout",
            "7.3.11",
            Verdict::Inconclusive,
            vec![],
            Some("precondition not reached: no INVITE within 5s"),
        ),
        scen(
            "adapter-crash",
            "7.3.11",
            Verdict::Error,
            vec![],
            Some("adapter exited with status 1"),
        ),
        scen(
            "ft-known",
            "7.4.1",
            Verdict::XFail,
            vec![req(
                "7.4.1/file-selector",
                "7.4.1",
                Strength::Shall,
                Verdict::XFail,
                vec![],
            )],
            None,
        ),
        scen(
            "group-na",
            "7.3.1.3",
            Verdict::NotApplicable,
            vec![],
            Some("client lacks capability long-lived-group"),
        ),
    ]
}

/// Feeds the synthetic run to a reporter.
pub fn feed(r: &mut dyn Reporter) {
    let results = results();
    let mut t = 0;
    let mut ev = |kind: RunEventKind| {
        t += 5;
        r.event(&RunEvent {
            elapsed_ms: t,
            kind,
        })
        .unwrap();
    };
    ev(RunEventKind::RunStarted {
        seed: 42,
        client: "reference".into(),
        strict: false,
        started_at: "2026-01-01T00:00:00Z".into(),
        scenarios: results.len(),
    });
    for s in &results {
        ev(RunEventKind::ScenarioStarted {
            id: s.id.clone(),
            clause: s.clause.clone(),
            title: s.title.clone(),
        });
        let failed = s.verdict == Verdict::Fail;
        ev(RunEventKind::StepDone {
            scenario: s.id.clone(),
            step: 2,
            description: "expect INVITE from client".into(),
            status: if failed {
                StepStatus::Failed
            } else {
                StepStatus::Ok
            },
            findings: s
                .requirements
                .iter()
                .flat_map(|r| r.findings.clone())
                .collect(),
            quote: Vec::new(),
            duration_ms: 3,
        });
        for r in &s.requirements {
            ev(RunEventKind::VerdictIssued {
                scenario: s.id.clone(),
                result: r.clone(),
            });
        }
        if s.id == "rejoin-bad-id" {
            ev(RunEventKind::TraceCaptured {
                scenario: s.id.clone(),
                ladder: ladder(),
            });
        }
        if s.id == "rejoin-ok" {
            ev(RunEventKind::GoldenCompared {
                scenario: s.id.clone(),
                status: GoldenStatus::Differs,
                diff: Some("-client -> cf: INVITE\n+client -> cf: MESSAGE\n".into()),
            });
        }
        if s.id == "pager-should" {
            ev(RunEventKind::GoldenCompared {
                scenario: s.id.clone(),
                status: GoldenStatus::Missing,
                diff: Some("no golden file golden/reference/pager-should.snap yet".into()),
            });
        }
        ev(RunEventKind::ScenarioFinished { result: s.clone() });
    }
    // As the suite does: one golden diff and one missing golden file, counted apart.
    let mut g = gate(&results, false);
    g.golden_diffs = 1;
    g.golden_missing = 1;
    ev(RunEventKind::RunFinished { gate: g });
    r.finish().unwrap();
}
