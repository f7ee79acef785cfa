//! junit.xml as a JUnit consumer (the PyPI `junitparser` package) reads it, for a run holding
//! every verdict: fail and xpass that weigh on the gate and inconclusive are failures, error is an
//! error (neither is ever read as passed), not-applicable and xfail are skipped, an advisory
//! SHOULD failure passes; each testcase carries the seed and its requirement ids as properties.

mod support;

use cpmconf_engine::report::{JunitReporter, Reporter, RunEvent, RunEventKind};
use cpmconf_engine::{gate, Finding, RequirementResult, ScenarioResult, Strength, Verdict};
use support::junitparser_read;

fn scenario(id: &str, verdict: Verdict, strength: Strength) -> ScenarioResult {
    let req_verdict = match verdict {
        Verdict::Error | Verdict::Inconclusive => None,
        v => Some(v),
    };
    ScenarioResult {
        id: id.into(),
        clause: "7.3.1.5".into(),
        title: format!("title of {id}"),
        verdict,
        requirements: req_verdict
            .map(|v| RequirementResult {
                id: format!("7.3.1.5/{id}"),
                strength,
                clause: "7.3.1.5".into(),
                requirement: "a sentence of the CR".into(),
                verdict: v,
                step: Some(2),
                findings: if matches!(v, Verdict::Fail) {
                    vec![Finding {
                        what: "header Contribution-ID".into(),
                        expected: "\"abc\"".into(),
                        seen: "\"def\"".into(),
                        key: None,
                    }]
                } else {
                    Vec::new()
                },
                quote: Vec::new(),
                message: None,
                advisory: false,
                trace_entry: None,
                pcap_frame: None,
            })
            .into_iter()
            .collect(),
        duration_ms: 10,
        message: match verdict {
            Verdict::Error => Some("adapter exited with status 1".into()),
            Verdict::Inconclusive => Some("precondition not reached".into()),
            Verdict::NotApplicable => Some("client lacks capability x".into()),
            _ => None,
        },
        pcap: Some(format!("pcap/{id}.pcap")),
        wire_log: Some(format!("wire/{id}.log")),
        protocol: Vec::new(),
        stimuli: Vec::new(),
    }
}

#[test]
fn every_verdict_reads_back_as_the_right_junit_result() {
    let results = vec![
        scenario("passes", Verdict::Pass, Strength::Shall),
        scenario("fails", Verdict::Fail, Strength::Shall),
        scenario("advisory", Verdict::Fail, Strength::Should),
        scenario("undecided", Verdict::Inconclusive, Strength::Shall),
        scenario("broken", Verdict::Error, Strength::Shall),
        scenario("lacking", Verdict::NotApplicable, Strength::Shall),
        scenario("known", Verdict::XFail, Strength::Shall),
        scenario("stale", Verdict::XPass, Strength::Shall),
    ];
    let mut r = JunitReporter::new(Vec::new());
    let mut feed = |kind| {
        r.event(&RunEvent {
            elapsed_ms: 0,
            kind,
        })
        .unwrap()
    };
    feed(RunEventKind::RunStarted {
        seed: 99,
        client: "reference".into(),
        strict: false,
        started_at: "2026-01-01T00:00:00Z".into(),
        scenarios: results.len(),
    });
    for s in &results {
        feed(RunEventKind::ScenarioFinished { result: s.clone() });
    }
    feed(RunEventKind::RunFinished {
        gate: gate(&results, false),
    });
    r.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junit.xml");
    std::fs::write(&path, r.into_inner()).unwrap();
    let j = junitparser_read(&path);
    assert_eq!(j["tests"], 8, "{j:#}");
    assert_eq!(j["failures"], 3, "{j:#}");
    assert_eq!(j["errors"], 1, "{j:#}");
    let want = [
        ("passes", "passed", None),
        ("fails", "failure", Some("fail")),
        ("advisory", "passed", None),
        ("undecided", "failure", Some("inconclusive")),
        ("broken", "error", Some("error")),
        ("lacking", "skipped", None),
        ("known", "skipped", None),
        ("stale", "failure", Some("xpass")),
    ];
    for (id, result, ty) in want {
        let c = &j["cases"][id];
        assert_eq!(c["result"], result, "{id}: {c:#}");
        if let Some(ty) = ty {
            assert_eq!(c["type"], ty, "{id}");
        }
        let out = c["system_out"].as_str().unwrap();
        assert!(
            out.contains(&format!("pcap: pcap/{id}.pcap")),
            "{id}: {out}"
        );
        assert!(
            out.contains(&format!("wire log: wire/{id}.log")),
            "{id}: {out}"
        );
        let props = c["properties"].as_array().unwrap();
        assert!(props.contains(&serde_json::json!(["seed", "99"])), "{id}");
    }
    for id in ["undecided", "broken"] {
        assert_eq!(j["cases"][id]["passed"], false, "{id} read as passed");
    }
    assert!(j["cases"]["advisory"]["system_out"]
        .as_str()
        .unwrap()
        .starts_with("advisory: "));
    assert!(j["cases"]["fails"]["properties"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!(["requirement", "7.3.1.5/fails"])));
}
