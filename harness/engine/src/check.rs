//! `cpmconf check --scenario`: a scenario judged from a capture. The same judge as a live run
//! ([`crate::judge`]) over the capture feed ([`crate::judge::replay`]), then the same trace
//! monitors ([`crate::runner::monitor::TraceMonitor`]), giving the same verdicts, texts and run
//! events as `cpmconf run`.
//!
//! The capture is streamed, never held whole: a first pass ([`CaptureSurvey`]) learns who sent
//! what and the REGISTER exchanges; then the feed reads as far as the scenario's steps reach,
//! and every message, read by the feed or after the steps, goes past the monitors, which judge
//! it a dialog or connection at a time. What is held is the part of the capture the steps span
//! plus the dialogs open at once, not the capture.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::SystemTime;

use cpmconf_capture::{CaptureError, CaptureItems, CaptureMeta, Trace, TraceEntry, TraceItem};
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
    /// At most how many of the capture's messages were held at once (bounded above by what the
    /// step judge read, the part of the capture its steps reached, plus the most the trace
    /// monitors held, the dialogs and connections open at once): not the capture's length.
    pub held: usize,
    /// The capture could not be read to its end this time (it was, in the survey): why.
    pub read_error: Option<String>,
}

/// What a first pass over a capture learns for judging scenarios from it, in memory bounded by
/// its parties and its REGISTER exchanges.
#[derive(Debug, Clone, Default)]
pub struct CaptureSurvey {
    /// Every address that sent or received a message.
    pub addresses: BTreeSet<SocketAddr>,
    /// Every address that sent a SIP message.
    sip_senders: BTreeSet<SocketAddr>,
    /// The REGISTER exchanges (CSeq method REGISTER), in order.
    registers: Vec<TraceEntry>,
    /// How many messages (entries, undecodable ones too) the capture holds.
    pub messages: usize,
    /// Time of the capture's first event.
    pub start: Option<SystemTime>,
    /// The capture's problems (frames that could not be decoded, TCP gaps), as text.
    pub problems: Vec<String>,
}

impl CaptureSurvey {
    /// Reads `capture` once.
    pub fn of(capture: &dyn CaptureItems) -> Result<Self, CaptureError> {
        let mut s = CaptureSurvey {
            start: capture.start()?,
            ..Default::default()
        };
        for item in capture.items()? {
            match item? {
                TraceItem::Entry(e) => {
                    s.messages += 1;
                    s.addresses.insert(e.src);
                    s.addresses.insert(e.dst);
                    if e.sip().is_some() {
                        s.sip_senders.insert(e.src);
                    }
                    if monitor::is_register(&e) {
                        s.registers.push(e);
                    }
                }
                TraceItem::Problem(p) => s.problems.push(p.to_string()),
                TraceItem::End(_) => {}
            }
        }
        Ok(s)
    }

    /// Whether the client (as `labels` say: every address not in the role map) sent SIP.
    pub fn client_sent_sip(&self, labels: &Labeler) -> bool {
        self.sip_senders
            .iter()
            .any(|a| labels.map().role_of_addr(*a).is_none())
    }

    /// Without a timeline: the precondition holds when the client's REGISTER was answered 2xx
    /// in the capture (or the scenario does not register).
    fn precondition(&self, register: bool, labels: &Labeler) -> Precondition {
        if !register {
            return Precondition::Met;
        }
        let ok = self.registers.iter().any(|e| {
            let Some(m) = e.sip() else { return false };
            labels.roles(e).1 == CLIENT && m.status().is_some_and(|c| (200..300).contains(&c.0))
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

/// Judges `loaded` from `capture` (surveyed as `survey`), labelled by `labels`, replaying
/// `timeline` when given.
pub async fn check_scenario(
    catalogue: &Catalogue,
    loaded: &LoadedScenario,
    capture: &dyn CaptureItems,
    survey: &CaptureSurvey,
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
    // The ladder draws the capture's first messages.
    let mut first: Vec<TraceEntry> = Vec::new();
    let mut held = 0;
    let mut read_error = None;
    let missing = s.missing_capabilities(|c| opts.profile.has_capability(c));
    let result = if !missing.is_empty() {
        match first_entries(capture) {
            Ok(v) => first = v,
            Err(e) => read_error = Some(e.to_string()),
        }
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
        let mut trace_monitor = monitor::TraceMonitor::new(
            labels,
            opts.profile,
            opts.strict,
            survey.registers.clone(),
            survey.start,
        );
        let mut monitor_held = 0;
        let pre = {
            let tee = Box::new(|item: &TraceItem| {
                if let TraceItem::Entry(e) = item {
                    if first.len() < crate::lint::LADDER_LIMIT {
                        first.push(e.clone());
                    }
                    trace_monitor.push(e.clone());
                    monitor_held = monitor_held.max(trace_monitor.retained());
                }
            });
            let feed = ReplayFeed::new(capture, labels, timeline, tee);
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
                None => survey.precondition(s.setup.register, labels),
            };
            judge_steps(&mut judge, s, &pre, &mut assessor, &mut |k| events.push(k)).await;
            // What the steps did not reach goes past the monitors only.
            judge.feed.drain();
            read_error = judge.feed.read_error().map(str::to_string);
            held = judge.feed.held();
            pre
        };
        held += monitor_held;
        let (protocol, stimuli) = trace_monitor.finish(&mut assessor, pre.registration_failed());
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
    let drawn = Trace {
        entries: first,
        start: survey.start,
        problems: Vec::new(),
        ends: Vec::new(),
    };
    list.push(RunEvent {
        elapsed_ms: 0,
        kind: RunEventKind::TraceCaptured {
            scenario: s.id.clone(),
            ladder: crate::report::Ladder::build(
                &drawn,
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
        held,
        read_error,
    }
}

/// The capture's first [`LADDER_LIMIT`](crate::lint::LADDER_LIMIT) messages (what the ladder
/// draws of a scenario that is not judged).
fn first_entries(capture: &dyn CaptureItems) -> Result<Vec<TraceEntry>, CaptureError> {
    let mut out = Vec::new();
    for item in capture.items()? {
        if let TraceItem::Entry(e) = item? {
            out.push(e);
            if out.len() == crate::lint::LADDER_LIMIT {
                break;
            }
        }
    }
    Ok(out)
}
