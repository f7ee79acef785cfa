//! A whole run: the selected scenarios in parallel (at most `jobs` at a time, each with its own
//! network and client), events streamed to the reporters in completion order, the gate at the end.
//! An [`Interrupt`](super::Interrupt) stops it early: no further scenario starts, running ones end
//! as `error: interrupted`, and the reporters still get every finished scenario and the gate.

use std::sync::Arc;

use tokio::sync::{mpsc, Semaphore};

use crate::catalogue::Catalogue;
use crate::report::{GoldenStatus, Reporter, RunEvent, RunEventKind};
use crate::scenario::LoadedScenario;
use crate::verdict::{gate_with, Gate, ScenarioResult};

use super::options::RunOptions;
use super::scenario_run::{run_scenario, ScenarioReport};

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// Per scenario, in the order of the options' scenario list.
    pub reports: Vec<ScenarioReport>,
    /// The gate (fails also on golden regressions).
    pub gate: Gate,
    /// Scenarios whose golden projection differs from its file.
    pub regressions: Vec<String>,
    /// The run was interrupted; `reports` holds only the scenarios that started.
    pub interrupted: bool,
    /// Selected scenarios that never started because of the interruption.
    pub not_started: usize,
}

impl RunSummary {
    /// The scenario results, in run order.
    pub fn results(&self) -> Vec<ScenarioResult> {
        self.reports.iter().map(|r| r.result.clone()).collect()
    }
}

/// Runs every scenario of `opts`; `on_done` sees each scenario as it finishes (progress bar).
/// Reporter I/O failures are returned after the run has finished.
pub async fn run_suite(
    catalogue: &Catalogue,
    opts: &RunOptions,
    client_label: &str,
    started_at: String,
    reporter: &mut dyn Reporter,
    on_done: &mut dyn FnMut(&ScenarioReport),
) -> std::io::Result<RunSummary> {
    let run_start = std::time::Instant::now();
    let mut io_err: Option<std::io::Error> = None;
    let emit = |r: &mut dyn Reporter, kind: RunEventKind, err: &mut Option<std::io::Error>| {
        let ev = RunEvent {
            elapsed_ms: run_start.elapsed().as_millis() as u64,
            kind,
        };
        if let Err(e) = r.event(&ev) {
            err.get_or_insert(e);
        }
    };
    emit(
        reporter,
        RunEventKind::RunStarted {
            seed: opts.seed,
            client: client_label.to_string(),
            strict: opts.strict,
            started_at,
            scenarios: opts.scenarios.len(),
        },
        &mut io_err,
    );
    let shared = Arc::new((catalogue.clone(), opts.clone()));
    let sem = Arc::new(Semaphore::new(opts.jobs.max(1)));
    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, Option<ScenarioReport>)>();
    for i in 0..opts.scenarios.len() {
        let shared = shared.clone();
        let sem = sem.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let Ok(_permit) = sem.acquire_owned().await else {
                return;
            };
            let (cat, opts) = &*shared;
            let Some(loaded) = opts.scenarios.get(i) else {
                return;
            };
            if opts.interrupt.is_triggered() {
                let _ = tx.send((i, None));
                return;
            }
            let report = tokio::select! {
                biased;
                () = opts.interrupt.triggered() => interrupted(loaded, run_start),
                r = run_scenario(cat, opts, loaded, run_start) => r,
            };
            let _ = tx.send((i, Some(report)));
        });
    }
    drop(tx);
    let mut reports: Vec<Option<ScenarioReport>> = vec![None; opts.scenarios.len()];
    let mut skipped = vec![false; opts.scenarios.len()];
    while let Some((i, report)) = rx.recv().await {
        let Some(report) = report else {
            if let Some(s) = skipped.get_mut(i) {
                *s = true;
            }
            continue;
        };
        for ev in &report.events {
            if let Err(e) = reporter.event(ev) {
                io_err.get_or_insert(e);
            }
        }
        on_done(&report);
        if let Some(slot) = reports.get_mut(i) {
            *slot = Some(report);
        }
    }
    let not_started = skipped.iter().filter(|s| **s).count();
    // A scenario task that panicked left its slot empty: report it as an error.
    let reports: Vec<ScenarioReport> = reports
        .into_iter()
        .zip(&opts.scenarios)
        .zip(skipped)
        .filter(|(_, skipped)| !skipped)
        .map(|((r, l), _)| {
            r.unwrap_or_else(|| {
                let report = ended_early(l, "the scenario's task ended abnormally", run_start);
                for ev in &report.events {
                    if let Err(e) = reporter.event(ev) {
                        io_err.get_or_insert(e);
                    }
                }
                report
            })
        })
        .collect();
    let results: Vec<ScenarioResult> = reports.iter().map(|r| r.result.clone()).collect();
    let regressions: Vec<String> = reports
        .iter()
        .filter(|r| r.regression)
        .map(|r| r.result.id.clone())
        .collect();
    let interrupted = opts.interrupt.is_triggered();
    let mut g = gate_with(&results, opts.strict, opts.min_judged);
    let golden = |want: GoldenStatus| {
        reports
            .iter()
            .flat_map(|r| &r.events)
            .filter(|e| matches!(&e.kind, RunEventKind::GoldenCompared { status, .. } if *status == want))
            .count()
    };
    g.golden_diffs = golden(GoldenStatus::Differs);
    g.golden_missing = golden(GoldenStatus::Missing);
    if !regressions.is_empty() || interrupted {
        g.passed = false;
    }
    emit(reporter, RunEventKind::RunFinished { gate: g }, &mut io_err);
    if let Err(e) = reporter.finish() {
        io_err.get_or_insert(e);
    }
    match io_err {
        Some(e) => Err(e),
        None => Ok(RunSummary {
            reports,
            gate: g,
            regressions,
            interrupted,
            not_started,
        }),
    }
}

/// The report of a scenario stopped by the interruption while it ran.
fn interrupted(loaded: &LoadedScenario, run_start: std::time::Instant) -> ScenarioReport {
    ended_early(loaded, "interrupted", run_start)
}

/// A scenario that ended without its verdicts: `error` with `message`, framed by its start and
/// finish events so every reporter lists it.
fn ended_early(
    loaded: &LoadedScenario,
    message: &str,
    run_start: std::time::Instant,
) -> ScenarioReport {
    let s = &loaded.scenario;
    let result = ScenarioResult {
        id: s.id.clone(),
        clause: s.clause.clone(),
        title: s.title.clone(),
        verdict: crate::verdict::Verdict::Error,
        requirements: Vec::new(),
        duration_ms: 0,
        message: Some(message.into()),
        protocol: Vec::new(),
        stimuli: Vec::new(),
        pcap: None,
        wire_log: None,
    };
    let at = run_start.elapsed().as_millis() as u64;
    let events = vec![
        RunEvent {
            elapsed_ms: at,
            kind: RunEventKind::ScenarioStarted {
                id: s.id.clone(),
                clause: s.clause.clone(),
                title: s.title.clone(),
            },
        },
        RunEvent {
            elapsed_ms: at,
            kind: RunEventKind::ScenarioFinished {
                result: result.clone(),
            },
        },
    ];
    ScenarioReport {
        result,
        events,
        golden: None,
        regression: false,
    }
}
