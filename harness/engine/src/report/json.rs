//! JSON reporter (`results.json`): every verdict with its requirement, step, expected/seen,
//! timings and the run's seed, what was selected (and which shard of a partition), and the full
//! event stream, so shards can be merged into one report.

use std::io::Write;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Reporter, RunEvent, RunEventKind};
use crate::verdict::{Gate, ScenarioResult};

/// Version of the results.json layout.
pub const RESULTS_VERSION: u32 = 1;

/// What a run selected: what a shard of a partitioned run needs so the shards can be merged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// `hash:K/N` when the run was shard K of N (`--partition`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// How many scenarios the selection holds before partitioning.
    pub total: usize,
    /// SHA-256 (hex) of the sorted ids of the selection before partitioning: equal for every
    /// shard of one selection.
    pub digest: String,
    /// The ids of the scenarios this run ran, sorted.
    pub scenarios: Vec<String>,
}

impl Selection {
    /// The selection of a run: `all` the ids selected before partitioning, `partition` its
    /// `hash:K/N` if any, `ran` the ids this run ran.
    pub fn new(all: &[&str], partition: Option<String>, ran: &[&str]) -> Selection {
        let mut sorted: Vec<&str> = all.to_vec();
        sorted.sort_unstable();
        let mut h = Sha256::new();
        for id in &sorted {
            h.update(id.as_bytes());
            h.update(b"\n");
        }
        let mut scenarios: Vec<String> = ran.iter().map(|s| s.to_string()).collect();
        scenarios.sort_unstable();
        Selection {
            partition,
            total: all.len(),
            digest: hex::encode(h.finalize()),
            scenarios,
        }
    }
}

/// The whole results document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    /// Layout version.
    pub version: u32,
    /// Seed of the run.
    pub seed: Option<u64>,
    /// Client profile.
    pub client: Option<String>,
    /// Strict mode.
    pub strict: bool,
    /// Wall-clock start.
    pub started_at: Option<String>,
    /// What was selected (absent when the caller did not say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<Selection>,
    /// Scenario results.
    pub scenarios: Vec<ScenarioResult>,
    /// The gate.
    pub gate: Option<Gate>,
    /// Every event in order.
    pub events: Vec<RunEvent>,
}

/// Writes results.json at the end of the run.
pub struct JsonReporter<W: Write> {
    out: W,
    doc: Results,
}

impl<W: Write> JsonReporter<W> {
    /// A reporter writing to `out`.
    pub fn new(out: W) -> Self {
        JsonReporter {
            out,
            doc: Results {
                version: RESULTS_VERSION,
                seed: None,
                client: None,
                strict: false,
                started_at: None,
                selection: None,
                scenarios: Vec::new(),
                gate: None,
                events: Vec::new(),
            },
        }
    }

    /// Records what the run selected (`results.json`'s `selection`).
    pub fn with_selection(mut self, selection: Selection) -> Self {
        self.doc.selection = Some(selection);
        self
    }

    /// The writer back (tests).
    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> Reporter for JsonReporter<W> {
    fn event(&mut self, ev: &RunEvent) -> std::io::Result<()> {
        match &ev.kind {
            RunEventKind::RunStarted {
                seed,
                client,
                strict,
                started_at,
                ..
            } => {
                self.doc.seed = Some(*seed);
                self.doc.client = Some(client.clone());
                self.doc.strict = *strict;
                self.doc.started_at = Some(started_at.clone());
            }
            RunEventKind::ScenarioFinished { result } => self.doc.scenarios.push(result.clone()),
            RunEventKind::RunFinished { gate } => self.doc.gate = Some(*gate),
            _ => {}
        }
        self.doc.events.push(ev.clone());
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut self.out, &self.doc)?;
        writeln!(self.out)?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_snapshot() {
        let mut r = JsonReporter::new(Vec::new());
        crate::report::fixture::feed(&mut r);
        let text = String::from_utf8(r.into_inner()).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["seed"], 42);
        assert_eq!(
            v["scenarios"][1]["requirements"][0]["findings"][0]["seen"],
            "\"def\""
        );
        insta::assert_snapshot!("json_synthetic_run", text);
    }
}
