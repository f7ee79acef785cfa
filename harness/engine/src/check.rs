//! `cpmconf check --scenario`: a scenario judged from a capture. The same judge as a live run
//! ([`crate::judge`]) over the capture feed ([`crate::judge::replay`]), then the same whole-trace
//! judgement ([`crate::runner::monitor::judge_trace`]), giving the same verdicts, texts and run
//! events as `cpmconf run`.

use cpmconf_capture::{CaptureMeta, Trace};
use cpmconf_ut::ClientProfile;

use crate::assess::Assessor;
use crate::catalogue::Catalogue;
use crate::judge::labels::{Labeler, CLIENT};
use crate::judge::replay::ReplayFeed;
use crate::judge::timeline::Timeline;
use crate::judge::{judge_steps, Judge, Precondition};
use crate::observed::MatchEnv;
use crate::report::{RunEvent, RunEventKind};
use crate::runner::{monitor, Timing};
use crate::scenario::LoadedScenario;
use crate::verdict::ScenarioResult;

/// What judging a scenario from a capture needs besides the capture.
pub struct CheckOptions<'a> {
    /// The client's profile (identity and provisioned values for `${client.*}`, password and
    /// waivers for the protocol baseline, capabilities for `requires`).
    pub profile: &'a ClientProfile,
    /// `--strict`.
    pub strict: bool,
    /// The run seed (`given` values); the sidecar's when it has one.
    pub seed: u64,
    /// The capture's file name: the ladder points at `pcap/<name>` and `wire/<name>.log`, where
    /// `cpmconf check --report` puts them.
    pub capture_name: String,
}

/// What judging a scenario from a capture produced.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// The verdicts.
    pub result: ScenarioResult,
    /// The run events (`ScenarioStarted` .. `ScenarioFinished`), as `run` reports them.
    pub events: Vec<RunEvent>,
    /// `true` when the sidecar's timeline was replayed (the live run's judgement order).
    pub replayed: bool,
}

/// The judge's timeline in a capture's sidecar, if it has a readable one.
pub fn timeline_of(meta: &CaptureMeta) -> Result<Option<Timeline>, String> {
    match &meta.judge {
        None => Ok(None),
        Some(v) => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|e| format!("the sidecar's judge timeline is malformed: {e}")),
    }
}

/// Judges `loaded` from `trace`, labelled by `labels`, replaying `timeline` when given.
pub async fn check_scenario(
    catalogue: &Catalogue,
    loaded: &LoadedScenario,
    trace: &Trace,
    labels: &Labeler,
    timeline: Option<&Timeline>,
    opts: &CheckOptions<'_>,
) -> CheckReport {
    let s = &loaded.scenario;
    let t0 = std::time::Instant::now();
    let mut events: Vec<RunEventKind> = vec![RunEventKind::ScenarioStarted {
        id: s.id.clone(),
        clause: s.clause.clone(),
        title: s.title.clone(),
    }];
    let missing = s.missing_capabilities(|c| opts.profile.has_capability(c));
    let result = if !missing.is_empty() {
        Assessor::not_applicable(catalogue, s, &missing)
    } else {
        let mut assessor = Assessor::new(catalogue, s);
        let timing = match timeline {
            Some(t) => Timing {
                scale: t.time_scale,
                clock: t.clock,
            },
            None => Timing::new(1.0, opts.profile),
        };
        let mut env = MatchEnv::for_scenario(s, opts.seed);
        let bindings = match timeline {
            Some(t) => t.bindings.clone(),
            None => {
                let core = labels
                    .map()
                    .addrs
                    .iter()
                    .find(|(_, r)| r.as_str() == "core")
                    .map(|(a, _)| a.to_string())
                    .unwrap_or_default();
                let cfg = crate::runner::scenario_run::profile_net_config(opts.profile);
                crate::runner::scenario_run::builtins(opts.profile, &cfg, &core)
            }
        };
        for (k, v) in bindings {
            env.bindings.set(k, v);
        }
        let feed = ReplayFeed::new(trace, labels, timeline);
        let mut judge = Judge::new(feed, env, timing);
        let pre = match timeline {
            Some(t) => {
                for i in &t.backlog {
                    if let crate::judge::timeline::Input::Event { name, data } = i {
                        if let Ok(e) = cpmconf_ut::Event::from_parts(name, data.clone()) {
                            judge.backlog.push_back(e);
                        }
                    }
                }
                t.precondition.clone()
            }
            None => registered(s.setup.register, trace, labels),
        };
        judge_steps(&mut judge, s, &pre, &mut assessor, &mut |k| events.push(k)).await;
        let (protocol, stimuli) = monitor::judge_trace(
            &mut assessor,
            trace,
            labels,
            opts.profile,
            opts.strict,
            pre.registration_failed(),
        );
        let mut r = assessor.finish(t0.elapsed().as_millis() as u64);
        r.add_protocol(protocol);
        r.stimuli = stimuli;
        r
    };
    let mut list: Vec<RunEvent> = events
        .into_iter()
        .map(|kind| RunEvent {
            elapsed_ms: 0,
            kind,
        })
        .collect();
    // The ladder of the capture, as `run` draws it (no pcap frame numbers: the capture's own
    // frames are not tracked through reassembly); of a long capture, its first
    // [`LADDER_LIMIT`](crate::lint::LADDER_LIMIT) messages, as lint mode draws it.
    let first;
    let drawn = if trace.entries.len() > crate::lint::LADDER_LIMIT {
        first = Trace {
            entries: trace.entries[..crate::lint::LADDER_LIMIT].to_vec(),
            start: trace.start,
            problems: Vec::new(),
            ends: Vec::new(),
        };
        &first
    } else {
        trace
    };
    list.push(RunEvent {
        elapsed_ms: 0,
        kind: RunEventKind::TraceCaptured {
            scenario: s.id.clone(),
            ladder: crate::report::Ladder::build(
                drawn,
                &|e| labels.roles(e),
                &|a| labels.name(a),
                &[],
                format!("pcap/{}", opts.capture_name),
                format!("wire/{}.log", opts.capture_name),
            ),
        },
    });
    let mut result = result;
    crate::report::ladder::annotate(&mut result, &list);
    for r in &result.requirements {
        list.push(RunEvent {
            elapsed_ms: 0,
            kind: RunEventKind::VerdictIssued {
                scenario: s.id.clone(),
                result: r.clone(),
            },
        });
    }
    list.push(RunEvent {
        elapsed_ms: 0,
        kind: RunEventKind::ScenarioFinished {
            result: result.clone(),
        },
    });
    CheckReport {
        result,
        events: list,
        replayed: timeline.is_some(),
    }
}

/// Without a timeline: the precondition holds when the client's REGISTER was answered 2xx in
/// the capture (or the scenario does not register).
fn registered(register: bool, trace: &Trace, labels: &Labeler) -> Precondition {
    if !register {
        return Precondition::Met;
    }
    let ok = trace.entries.iter().any(|e| {
        let Some(m) = e.sip() else { return false };
        labels.roles(e).1 == CLIENT
            && m.status().is_some_and(|c| (200..300).contains(&c.0))
            && m.cseq_method().is_some_and(|x| x.to_string() == "REGISTER")
    });
    if ok {
        Precondition::Met
    } else {
        Precondition::NotReached {
            message:
                "precondition not reached: the capture shows no REGISTER of the client answered 2xx"
                    .into(),
            registration: true,
        }
    }
}
