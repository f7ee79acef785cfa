//! What the judge took in during a live run that a capture does not hold: the order of its
//! waits (an observation, an upper-tester event, a deadline), the answers to `sync`, how far a
//! `timer:` window moved to count from a role's response, and the outcomes of stimuli.
//! `cpmconf run` writes it into the capture's sidecar; replaying it over the capture's messages
//! ([`super::replay`]) gives the live verdicts. Observations are named by a fingerprint of the
//! message (start line, Call-ID and CSeq, MSRP transaction and Byte-Range), never by content
//! the capture would not show.

use serde::{Deserialize, Serialize};

use crate::assess::StepOutcome;

use super::{Obs, ObsKind, ObsRef};

/// One input of the judge, in the order it came.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "input", rename_all = "snake_case", deny_unknown_fields)]
pub enum Input {
    /// A message of the client (found in the capture by its fingerprint).
    Observed {
        /// [`fingerprint`] of the message.
        message: String,
    },
    /// The client closed (or the role saw the end of) an MSRP connection with `role`.
    Closed {
        /// The role whose connection ended.
        role: String,
        /// The client closed it.
        by_peer: bool,
    },
    /// An upper-tester event.
    Event {
        /// Its name.
        name: String,
        /// Its data.
        data: serde_json::Value,
    },
    /// A wait ended at its deadline.
    Deadline,
    /// The client's answer to `sync`: the latency in microseconds, or none when it refused.
    Sync {
        /// Microseconds until the answer; absent when refused.
        latency_us: Option<u64>,
    },
    /// Waiting or `sync` failed on the harness side (the adapter broke, the network failed).
    Failed {
        /// What failed.
        message: String,
    },
    /// A `timer:` window measured again from a role's response ([`super::Feed::granted`]):
    /// how far its end moved, in microseconds (absent: it did not). A move, not a time: the
    /// replay's clock is the capture's.
    Granted {
        /// Microseconds the window's end moved; absent when it did not.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        later_by_us: Option<u64>,
    },
    /// A `do` or `send` step was carried out with this outcome.
    Stimulus {
        /// `passed`, `not_reached` or `error`.
        outcome: String,
        /// The message of a step not passed.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        message: String,
    },
}

impl Input {
    /// The input for an observation.
    pub fn observed(o: &Obs) -> Input {
        match &o.kind {
            ObsKind::MsrpClosed { by_peer, .. } => Input::Closed {
                role: o.role.clone(),
                by_peer: *by_peer,
            },
            _ => Input::Observed {
                message: fingerprint(&o.role, o.kind.as_ref()),
            },
        }
    }

    /// The input for an upper-tester event.
    pub fn event(e: &cpmconf_ut::Event) -> Input {
        Input::Event {
            name: e.name().to_string(),
            data: e.data().unwrap_or(serde_json::Value::Null),
        }
    }

    /// The input for a stimulus' outcome.
    pub fn stimulus(o: &StepOutcome) -> Input {
        let (outcome, message) = match o {
            StepOutcome::Passed => ("passed", String::new()),
            StepOutcome::NotReached(m) => ("not_reached", m.clone()),
            StepOutcome::Error(m) => ("error", m.clone()),
            other => ("error", format!("{other:?}")),
        };
        Input::Stimulus {
            outcome: outcome.into(),
            message,
        }
    }

    /// The recorded outcome of a stimulus.
    pub fn outcome(outcome: &str, message: &str) -> StepOutcome {
        match outcome {
            "passed" => StepOutcome::Passed,
            "not_reached" => StepOutcome::NotReached(message.to_string()),
            _ => StepOutcome::Error(message.to_string()),
        }
    }
}

/// The judge's inputs of one live run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timeline {
    /// Upper-tester events that arrived during the precondition and were not consumed by it
    /// (the judge starts with them in its backlog).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backlog: Vec<Input>,
    /// The inputs, in order.
    pub inputs: Vec<Input>,
    /// Whether the precondition was met (the steps ran).
    #[serde(default)]
    pub precondition: super::Precondition,
    /// The run's time scale (`--time-scale`), for the deadlines the reports quote.
    #[serde(default = "one")]
    pub time_scale: f64,
    /// The client's clock (profile `clock`).
    #[serde(default = "one")]
    pub clock: f64,
    /// The run's `${...}` values that do not come from the scenario and its seed (the client's
    /// identity, the simulated network's addresses).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bindings: Vec<(String, String)>,
}

fn one() -> f64 {
    1.0
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline {
            backlog: Vec::new(),
            inputs: Vec::new(),
            precondition: super::Precondition::Met,
            time_scale: 1.0,
            clock: 1.0,
            bindings: Vec::new(),
        }
    }
}

impl Timeline {
    /// Appends an input.
    pub fn push(&mut self, i: Input) {
        self.inputs.push(i);
    }
}

/// A message's fingerprint: its start line, and the fields that tell two similar messages
/// apart (SIP Call-ID and CSeq; MSRP Message-ID and Byte-Range).
pub fn fingerprint(role: &str, kind: ObsRef<'_>) -> String {
    match kind {
        ObsRef::Sip(m) => format!(
            "{} | {} | {}",
            m.summary(),
            m.call_id().unwrap_or(""),
            m.header("CSeq").unwrap_or("")
        ),
        ObsRef::Msrp { frame, .. } => format!(
            "{} | {} | {}",
            frame.start_line().trim_end(),
            frame.header("Message-ID").unwrap_or(""),
            frame.header("Byte-Range").unwrap_or("")
        ),
        ObsRef::MsrpClosed { by_peer, .. } => format!("closed {role} {by_peer}"),
    }
}
