//! The run events: what happened, when (milliseconds since the run started), in order.

use serde::{Deserialize, Serialize};

use super::ladder::Ladder;

use crate::verdict::{Finding, Gate, RequirementResult, ScenarioResult};

/// One event of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEvent {
    /// Milliseconds since the run started.
    pub elapsed_ms: u64,
    /// What happened.
    #[serde(flatten)]
    pub kind: RunEventKind,
}

/// How a golden comparison came out. A missing file and a differing file are counted apart:
/// only a difference (or a file that could not be read or written) fails the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GoldenStatus {
    /// The projection equals the golden file (or `--bless` wrote it).
    Same,
    /// The projection differs from the golden file, or the file could not be read or written.
    Differs,
    /// No golden file yet: a `.snap.new` was written beside where it belongs.
    Missing,
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepStatus {
    /// Done as scripted.
    Ok,
    /// An expectation failed.
    Failed,
    /// The deadline passed with no candidate message.
    TimedOut,
    /// The harness or adapter broke.
    Error,
    /// Not run (an earlier step ended the scenario).
    Skipped,
}

/// The kinds of event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum RunEventKind {
    /// The run began.
    RunStarted {
        /// Seed of the id generator.
        seed: u64,
        /// Client profile name.
        client: String,
        /// `--strict`.
        strict: bool,
        /// Wall-clock start, RFC 3339.
        started_at: String,
        /// Number of scenarios selected.
        scenarios: usize,
    },
    /// A scenario began.
    ScenarioStarted {
        /// Scenario id.
        id: String,
        /// Clause.
        clause: String,
        /// Title.
        title: String,
    },
    /// A step ended.
    StepDone {
        /// Scenario id.
        scenario: String,
        /// 1-based step index.
        step: usize,
        /// Short description (`expect INVITE from client`).
        description: String,
        /// How it ended.
        status: StepStatus,
        /// Failed conditions.
        findings: Vec<Finding>,
        /// The judged message, quoted.
        quote: Vec<String>,
        /// Duration of the step.
        duration_ms: u64,
    },
    /// A requirement got its verdict.
    VerdictIssued {
        /// Scenario id.
        scenario: String,
        /// The result.
        result: RequirementResult,
    },
    /// The scenario's traffic was captured: its ladder (every message, who sent it to whom).
    TraceCaptured {
        /// Scenario id.
        scenario: String,
        /// The ladder.
        ladder: Ladder,
    },
    /// The golden projection was compared.
    GoldenCompared {
        /// Scenario id.
        scenario: String,
        /// Same, differing, or no golden file yet.
        status: GoldenStatus,
        /// Unified diff when different; the reason when missing or unwritable.
        diff: Option<String>,
    },
    /// A scenario ended.
    ScenarioFinished {
        /// The result (verdicts after the known-failures mapping).
        result: ScenarioResult,
    },
    /// Something the user should know that is not a verdict (a profile capability the adapter
    /// does not claim in its `hello`).
    Warning {
        /// The scenario it arose in, if any.
        scenario: Option<String>,
        /// What, as a sentence.
        message: String,
    },
    /// The run ended.
    RunFinished {
        /// The gate.
        gate: Gate,
    },
}
