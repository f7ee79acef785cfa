//! The state of one running scenario: the simulated network, the client's upper tester, the
//! variables and saved messages, the observations not yet consumed by an `expect`, the requests a
//! role holds for a scripted answer, and the upper-tester events not yet consumed.

use cpmconf_sim::{Network, ObservedKind, PendingRequest, SessionId, SimError};
use cpmconf_ut::{Command, Event, UpperTester, UtError};
use std::collections::{HashMap, VecDeque};
use tokio::time::Instant;

use crate::observed::{MatchEnv, Observed};

use super::options::Timing;

/// What waiting for the client produced.
#[derive(Debug)]
pub enum Arrival {
    /// A new observation, now the last entry of the pool.
    Observation,
    /// A new upper-tester event, now the last entry of the backlog.
    Event,
    /// The deadline passed.
    Deadline,
}

/// Why the scenario cannot go on (harness or adapter failure).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The simulated network failed.
    #[error("simulated network: {0}")]
    Sim(#[from] SimError),
    /// The upper tester failed (the message carries the adapter's stderr tail).
    #[error("{0}")]
    Ut(#[from] UtError),
    /// Anything else (an unsupported step form, a missing saved message, ...).
    #[error("{0}")]
    Other(String),
}

/// One scenario's running state.
pub struct Context<'n> {
    /// The simulated network.
    pub net: &'n Network,
    /// The client under test.
    pub ut: Box<dyn UpperTester>,
    /// Variables and saved messages.
    pub env: MatchEnv,
    /// Observations (everything the client sent) not consumed by an `expect` yet, in arrival
    /// order.
    pub pool: Vec<cpmconf_sim::Observed>,
    /// Requests held by a role (manual mode), with the message, for `send: { status, answers }`.
    pub held: Vec<PendingRequest>,
    /// Upper-tester events not consumed yet, in arrival order.
    pub backlog: VecDeque<Event>,
    /// Requests the simulated roles sent: (Call-ID, CSeq number, request id), for CANCEL.
    pub sent: Vec<(String, u32, cpmconf_sim::RequestId)>,
    /// MSRP sessions of saved MSRP messages, by save name.
    pub sessions: HashMap<String, SessionId>,
    /// Deadlines.
    pub timing: Timing,
    /// `Some(false)` once the client refused `sync` (expect_none windows then run in full).
    pub sync_supported: Option<bool>,
    /// How long the latest answered `sync` took: a loaded machine answers late, and the quiet
    /// window after `sync` ([`Context::quiet_window`]) grows with it.
    pub sync_latency: std::time::Duration,
    /// `true` once a step observed the client act (an `expect` or `wait_for` took a message or
    /// event): a SHALL NOT window before that would judge a situation that never arose.
    pub reached: bool,
    /// Warnings for the report (not verdicts), emitted as run events after the steps.
    pub warnings: Vec<String>,
    /// The arrival number of the last observation taken from the network.
    pub last_seq: u64,
    /// The first arrival number an `expect` may take without `earlier: true`: set when a `do` or
    /// `send` step starts, after taking everything the network had observed by then.
    pub mark: u64,
    /// For `after:`: by save name, the first arrival number that counts as after that message.
    pub boundaries: HashMap<String, u64>,
}

/// The matcher's view of an observation (`None` for the end of an MSRP session).
pub fn view(o: &cpmconf_sim::Observed) -> Option<Observed<'_>> {
    match &o.kind {
        ObservedKind::SipRequest { msg, .. } | ObservedKind::SipResponse { msg, .. } => {
            Some(Observed::Sip(msg))
        }
        ObservedKind::Msrp { frame, .. } => Some(Observed::Msrp(frame)),
        ObservedKind::MsrpClosed { .. } => None,
    }
}

impl<'n> Context<'n> {
    /// Waits until `deadline` for the next observation or upper-tester event (when
    /// `events` is set); the arrival is appended to the pool or the backlog.
    pub async fn wait(&mut self, deadline: Instant, events: bool) -> Result<Arrival, RunError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if events {
            tokio::select! {
                o = self.net.next_observed(deadline) => self.take_observation(o),
                e = self.ut.next_event(left) => match e {
                    Ok(e) => {
                        self.backlog.push_back(e);
                        Ok(Arrival::Event)
                    }
                    Err(UtError::Timeout { .. }) => Ok(Arrival::Deadline),
                    Err(e) => Err(e.into()),
                },
            }
        } else {
            let o = self.net.next_observed(deadline).await;
            self.take_observation(o)
        }
    }

    fn take_observation(
        &mut self,
        o: Result<cpmconf_sim::Observed, SimError>,
    ) -> Result<Arrival, RunError> {
        match o {
            Ok(o) => {
                self.last_seq = self.last_seq.max(o.seq);
                self.pool.push(o);
                Ok(Arrival::Observation)
            }
            Err(SimError::Timeout(_)) => Ok(Arrival::Deadline),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes pool entry `i` (consumed by an expectation): keeps a held request for a later
    /// `send: { status }`, saves the message as `last_received` and under `save`.
    pub fn consume(&mut self, i: usize, save: Option<&str>) {
        if i >= self.pool.len() {
            return;
        }
        let o = self.pool.remove(i);
        let after = o.seq + 1;
        self.boundaries.insert("last_received".into(), after);
        if let Some(name) = save {
            self.boundaries.insert(name.to_string(), after);
        }
        if let ObservedKind::SipRequest {
            handle: Some(h), ..
        } = &o.kind
        {
            self.held.push(h.clone());
        }
        if let Some(v) = view(&o) {
            self.env.save("last_received", v);
            if let Some(name) = save {
                self.env.save(name, v);
            }
        }
        if let (ObservedKind::Msrp { session, .. }, Some(name)) = (&o.kind, save) {
            self.sessions.insert(name.to_string(), *session);
        }
    }

    /// A stimulus step (`do`, `send`) starts: takes every observation the network already has
    /// (what the client sent before now) and moves the mark past them, so that an `expect`
    /// after this step takes only what the client sent from now on (unless `earlier: true`).
    pub async fn mark_stimulus(&mut self) -> Result<(), RunError> {
        loop {
            match self.wait(Instant::now(), false).await? {
                Arrival::Observation => {}
                Arrival::Event | Arrival::Deadline => break,
            }
        }
        self.mark = self.last_seq + 1;
        Ok(())
    }

    /// Sends an upper-tester command and checks it was carried out.
    pub async fn command(&mut self, cmd: Command) -> Result<serde_json::Value, RunError> {
        let name = cmd.name();
        let timeout = self.timing.command();
        let r = self.ut.command(cmd, timeout).await?;
        Ok(r.result_as::<serde_json::Value>(name)?)
    }

    /// After an answered `sync`, how long the wire must stay quiet before the client counts as
    /// settled: the nominal grace (20 ms, scaled), or four times the latest `sync`'s latency
    /// when that is longer. On a loaded machine (a debug build, 64 scenarios at once, busy
    /// loops) the client's tasks run late by about what its `sync` answer was late; a fixed
    /// 20 ms then cut the golden projection before an unsubscription the client was about to
    /// send.
    pub fn quiet_window(&self) -> std::time::Duration {
        self.timing
            .sync_grace()
            .max(self.sync_latency.saturating_mul(4))
    }

    /// Asks the client to confirm it handled everything it received (`sync`). `false` when the
    /// client refuses it (`ok: false`, an unknown command); the caller then waits out the full
    /// window. An adapter that does not answer `sync` at all within the command deadline is a
    /// harness-side failure (`error` naming `sync`, docs/upper-tester.md).
    pub async fn sync(&mut self) -> Result<bool, RunError> {
        if self.sync_supported == Some(false) {
            return Ok(false);
        }
        let deadline = self.timing.command();
        let asked = Instant::now();
        match self.ut.command(Command::Sync, deadline).await {
            Ok(r) if r.ok => {
                self.sync_supported = Some(true);
                self.sync_latency = asked.elapsed();
                Ok(true)
            }
            Ok(_) | Err(UtError::Rejected { .. }) => {
                self.sync_supported = Some(false);
                Ok(false)
            }
            Err(UtError::Timeout { stderr_tail, .. }) => Err(RunError::Other(format!(
                "the adapter did not answer `sync` within {}{}",
                crate::matcher::human_duration(deadline),
                if stderr_tail.trim().is_empty() {
                    String::new()
                } else {
                    format!("; stderr tail:\n{stderr_tail}")
                }
            ))),
            Err(e) => Err(e.into()),
        }
    }
}
