//! The one judge of a scenario's steps, live or from a capture: a step interpreter over a
//! sequence of labelled observations (what the client sent, with the role it reached) and
//! upper-tester events. Which message each `expect` claims, `expect_none` windows, groups,
//! `after:` / `earlier:` marks and the pass-must-be-earned rules live here and nowhere else.
//!
//! The interpreter does no I/O. A [`Feed`] brings it observations and events, answers `sync`,
//! tells the time and carries out stimuli (`do`, `send`): the live driver
//! ([`crate::runner`]) feeds it from the simulated network and the upper tester; the capture
//! driver ([`replay`]) feeds it from a pcap, observing the stimuli instead of sending them.

pub mod labels;
pub mod replay;
mod steps;
pub mod timeline;

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use cpmconf_codec::{msrp, sip};
use cpmconf_sim::media::TransferProgress;
use cpmconf_sim::SimError;
use cpmconf_ut::{Event, UtError};

use crate::observed::{MatchEnv, Observed};
use crate::runner::Timing;
use crate::scenario::Step;

pub use steps::{describe, describe_expect, run_step, step_event};

use crate::assess::Assessor;
use crate::report::{RunEventKind, StepStatus};
use crate::scenario::Scenario;

/// One thing the client sent, as the judge sees it: the role it reached and what it was.
#[derive(Debug, Clone)]
pub struct Obs {
    /// Arrival number, from 1, in the order the feed delivered it.
    pub seq: u64,
    /// When it arrived (feed time: from the run's start, or the capture's).
    pub time: Duration,
    /// The role it reached (`registrar`, `cf`, `pf`, `bob`, ...).
    pub role: String,
    /// What it was.
    pub kind: ObsKind,
}

/// How far apart two messages of the client on different connections (its SIP and an MSRP
/// session, or two sessions) must arrive for their arrival order to count as the order it sent
/// them in. Closer than this, which came first is the scheduling of two sockets, not the
/// client's doing (a BYE written right after the last chunk can be read first), and `after:`
/// does not fail on it.
pub const CROSS_CONNECTION_SKEW: Duration = Duration::from_millis(50);

/// The connection a message of the client came on, for [`CROSS_CONNECTION_SKEW`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// SIP (one order: the client's transport to the core).
    Sip,
    /// MSRP session `n`.
    Msrp(u64),
}

/// Where a saved message sits, for `after:`: the first arrival number after it, and for a
/// message of the client when and on which connection it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Boundary {
    /// The first arrival number that counts as after the message.
    pub after: u64,
    /// Arrival time and connection of the message (`None`: a stimulus the harness sent).
    pub at: Option<(Duration, Channel)>,
}

impl Boundary {
    /// Whether a message that arrived as number `seq` at `time` on `channel` came before the
    /// saved one in a way that shows it was sent before it.
    pub fn shows_before(&self, seq: u64, time: Duration, channel: Option<Channel>) -> bool {
        if seq >= self.after {
            return false;
        }
        match (self.at, channel) {
            (Some((t, c)), Some(ch)) if c != ch => t.saturating_sub(time) >= CROSS_CONNECTION_SKEW,
            _ => true,
        }
    }
}

/// What an observation was.
#[derive(Debug, Clone)]
pub enum ObsKind {
    /// A SIP request or response.
    Sip(sip::Message),
    /// An MSRP frame on session `session` (a key the feed chose: one per MSRP connection).
    Msrp {
        /// The frame.
        frame: msrp::Message,
        /// The session.
        session: u64,
    },
    /// The MSRP connection of `session` ended; `by_peer` when the client closed it.
    MsrpClosed {
        /// The session.
        session: u64,
        /// The client (not the simulated role) closed it.
        by_peer: bool,
    },
}

/// An observation's kind, borrowed ([`ObsKind::as_ref`]): what the capture feed's matching of
/// stimuli and the timeline's fingerprints read without copying a message.
#[derive(Debug, Clone, Copy)]
pub enum ObsRef<'a> {
    /// A SIP request or response.
    Sip(&'a sip::Message),
    /// An MSRP frame on session `session`.
    Msrp {
        /// The frame.
        frame: &'a msrp::Message,
        /// The session.
        session: u64,
    },
    /// The MSRP connection of `session` ended; `by_peer` when the client closed it.
    MsrpClosed {
        /// The session.
        session: u64,
        /// The client (not the simulated role) closed it.
        by_peer: bool,
    },
}

impl ObsKind {
    /// Borrowed.
    pub fn as_ref(&self) -> ObsRef<'_> {
        match self {
            ObsKind::Sip(m) => ObsRef::Sip(m),
            ObsKind::Msrp { frame, session } => ObsRef::Msrp {
                frame,
                session: *session,
            },
            ObsKind::MsrpClosed { session, by_peer } => ObsRef::MsrpClosed {
                session: *session,
                by_peer: *by_peer,
            },
        }
    }
}

impl Obs {
    /// The connection it came on.
    pub fn channel(&self) -> Option<Channel> {
        match &self.kind {
            ObsKind::Sip(_) => Some(Channel::Sip),
            ObsKind::Msrp { session, .. } | ObsKind::MsrpClosed { session, .. } => {
                Some(Channel::Msrp(*session))
            }
        }
    }

    /// The matcher's view (`None` for the end of an MSRP session).
    pub fn view(&self) -> Option<Observed<'_>> {
        match &self.kind {
            ObsKind::Sip(m) => Some(Observed::Sip(m)),
            ObsKind::Msrp { frame, .. } => Some(Observed::Msrp(frame)),
            ObsKind::MsrpClosed { .. } => None,
        }
    }
}

/// What a wait produced.
#[derive(Debug)]
pub enum Arrival {
    /// Something the client sent.
    Observation(Obs),
    /// An upper-tester event.
    Event(Event),
    /// The deadline passed (or, from a capture, nothing more comes before it).
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
    /// A role would send in the MSRP session of a saved dialog that has none (left, or never
    /// set up, by the client).
    #[error("the dialog of `{dialog}` has no MSRP session")]
    NoMsrpSession {
        /// The saved message's name.
        dialog: String,
    },
    /// A `${...}` reference of the step that cannot be substituted (e.g. a value the client's
    /// profile does not provision).
    #[error("{0}")]
    Template(#[from] crate::scenario::TemplateError),
    /// Anything else (an unsupported step form, a missing saved message, ...).
    #[error("{0}")]
    Other(String),
}

/// Where the judge's observations, events, time and stimuli come from.
#[allow(async_fn_in_trait)]
pub trait Feed {
    /// Time since the scenario started, on the feed's clock (wall time live, capture time from a
    /// capture).
    fn now(&self) -> Duration;
    /// The next observation or upper-tester event (as `want` says) arriving before `until`.
    async fn next(&mut self, until: Duration, want: Want) -> Result<Arrival, RunError>;
    /// Asks the client to confirm it handled everything it received: `Some(latency)` when it
    /// did, `None` when it cannot (refused, or not in a capture).
    async fn sync(&mut self) -> Result<Option<Duration>, RunError>;
    /// A `do` or `send` step is next (before the judge takes what the client sent before it): a
    /// capture feed finds the step's message, which says when the stimulus came.
    fn prepare(&mut self, step: &Step, env: &MatchEnv) {
        let _ = (step, env);
    }
    /// Carries out (live) or locates (capture) a `do` or `send` step; `env` gets what the step
    /// saves (`last_sent`, its `save` name).
    async fn stimulus(&mut self, step: &Step, env: &mut MatchEnv) -> crate::StepOutcome;
    /// An observation was claimed by an `expect` (saved as `save`): the live feed keeps a held
    /// request's handle and the MSRP session for later `send` steps.
    fn consumed(&mut self, o: &Obs, save: Option<&str>);
    /// Where the message of a later `send` step sits among the arrival numbers, found without
    /// taking it (a capture made elsewhere: the end of an `expect_none` window before it).
    fn locate(&self, step: &Step, env: &MatchEnv) -> Option<u64> {
        let _ = (step, env);
        None
    }
    /// Where the stimulus found by [`Feed::prepare`] sits among the arrival numbers (a capture
    /// made elsewhere numbers messages by capture position); `None`: right after what the
    /// judge has taken.
    fn stimulus_mark(&self) -> Option<u64> {
        None
    }
    /// Whether the feed observed everything up to `until` (a capture made elsewhere may end
    /// before a step's deadline: what it does not show cannot be judged).
    fn covers(&self, until: Duration) -> bool {
        let _ = until;
        true
    }
    /// Whether the feed knows what the live judge knows beyond the wire: the client's
    /// upper-tester events, when each `do` step happened, `sync` answers and MSRP connection
    /// ends. Live, and from a capture with the run's timeline, it does; from a capture made
    /// elsewhere it does not, and the steps that need it are not judged (never failed).
    fn knows_run(&self) -> bool {
        true
    }
    /// What the simulated role received and acknowledged on an MSRP session.
    fn progress(&self, session: u64) -> Option<TransferProgress>;
    /// A `timer:` window measured again from when a simulated role sent its final response to
    /// `request` (a request of the client's that an earlier step saved): that response starts
    /// the timer it grants (a subscription's refresh). The window's later end, when the
    /// response went out by `deadline` and `within` after it ends past `deadline` (see
    /// [`later_end`]); `None` otherwise, or when the feed cannot tell.
    fn granted(
        &mut self,
        request: &sip::Message,
        deadline: Duration,
        within: Duration,
    ) -> Option<Duration>;
}

/// The end of a window of `within` from `answered`, when that is past `deadline` (a window is
/// moved later, never earlier).
pub fn later_end(answered: Duration, within: Duration, deadline: Duration) -> Option<Duration> {
    let end = answered + within;
    (answered <= deadline && end > deadline).then_some(end)
}

/// One scenario's judging state, over a feed.
pub struct Judge<F: Feed> {
    /// Where observations come from.
    pub feed: F,
    /// Variables and saved messages.
    pub env: MatchEnv,
    /// Observations not consumed by an `expect` yet, in arrival order.
    pub pool: Vec<Obs>,
    /// Upper-tester events not consumed yet, in arrival order.
    pub backlog: VecDeque<Event>,
    /// MSRP sessions of saved MSRP messages, by save name.
    pub sessions: HashMap<String, u64>,
    /// Deadlines.
    pub timing: Timing,
    /// `Some(false)` once the client refused `sync` (expect_none windows then run in full).
    pub sync_supported: Option<bool>,
    /// How long the latest answered `sync` took: a loaded machine answers late, and the quiet
    /// window after `sync` ([`Judge::quiet_window`]) grows with it.
    pub sync_latency: Duration,
    /// `true` when the next stimulus after the current step is a `do` step (an `expect_none`
    /// window of a capture without the run's timeline cannot tell what came after it).
    pub do_follows: bool,
    /// From a capture without the run's timeline: a `do` step came after the latest mark, so
    /// where an `earlier: true` window starts is unknown.
    pub mark_unknown: bool,
    /// From a capture without the run's timeline: the arrival number of the next `send` step's
    /// message; what the client sent from there on is after that stimulus, outside the current
    /// step's `expect_none` window.
    pub window_end: Option<u64>,
    /// `true` once a step observed the client act (an `expect` or `wait_for` took a message or
    /// event): a SHALL NOT window before that would judge a situation that never arose.
    pub reached: bool,
    /// The arrival number of the last observation taken from the feed.
    pub last_seq: u64,
    /// The first arrival number an `expect` may take without `earlier: true`: set when a `do` or
    /// `send` step starts, after taking everything the feed had by then.
    pub mark: u64,
    /// For `after:`: by save name, where that message sits.
    pub boundaries: HashMap<String, Boundary>,
}

impl<F: Feed> Judge<F> {
    /// A judge over `feed`, with the scenario's variables.
    pub fn new(feed: F, env: MatchEnv, timing: Timing) -> Self {
        Judge {
            feed,
            env,
            pool: Vec::new(),
            backlog: VecDeque::new(),
            sessions: HashMap::new(),
            timing,
            sync_supported: None,
            sync_latency: Duration::ZERO,
            reached: false,
            do_follows: false,
            window_end: None,
            mark_unknown: false,
            last_seq: 0,
            mark: 0,
            boundaries: HashMap::new(),
        }
    }

    /// Waits until `until` (feed time) for the next observation or upper-tester event (as
    /// `want` says); an observation is appended to the pool, an event to the backlog.
    pub async fn wait(&mut self, until: Duration, want: Want) -> Result<Arrived, RunError> {
        match self.feed.next(until, want).await? {
            Arrival::Observation(o) => {
                self.last_seq = self.last_seq.max(o.seq);
                self.pool.push(o);
                Ok(Arrived::Observation)
            }
            Arrival::Event(e) => {
                self.backlog.push_back(e);
                Ok(Arrived::Event)
            }
            Arrival::Deadline => Ok(Arrived::Deadline),
        }
    }

    /// Removes pool entry `i` (consumed by an expectation): saves the message as
    /// `last_received` and under `save`, and tells the feed.
    pub fn consume(&mut self, i: usize, save: Option<&str>) {
        if i >= self.pool.len() {
            return;
        }
        let o = self.pool.remove(i);
        let after = Boundary {
            after: o.seq + 1,
            at: o.channel().map(|c| (o.time, c)),
        };
        self.boundaries.insert("last_received".into(), after);
        if let Some(name) = save {
            self.boundaries.insert(name.to_string(), after);
        }
        self.feed.consumed(&o, save);
        if let Some(v) = o.view() {
            self.env.save("last_received", v);
            if let Some(name) = save {
                self.env.save(name, v);
            }
        }
        if let (ObsKind::Msrp { session, .. }, Some(name)) = (&o.kind, save) {
            self.sessions.insert(name.to_string(), *session);
        }
    }

    /// A stimulus step (`do`, `send`) starts: takes every observation the feed already has
    /// (what the client sent before now) and moves the mark past them, so that an `expect`
    /// after this step takes only what the client sent from now on (unless `earlier: true`).
    pub async fn mark_stimulus(&mut self) -> Result<(), RunError> {
        loop {
            let now = self.feed.now();
            match self.wait(now, Want::Observations).await? {
                Arrived::Observation => {}
                Arrived::Event | Arrived::Deadline => break,
            }
        }
        self.mark = self.feed.stimulus_mark().unwrap_or(self.last_seq + 1);
        self.mark_unknown = false;
        Ok(())
    }

    /// After an answered `sync`, how long the wire must stay quiet before the client counts as
    /// settled: the nominal grace (20 ms, scaled), or four times the latest `sync`'s latency
    /// when that is longer. On a loaded machine (a debug build, 64 scenarios at once, busy
    /// loops) the client's tasks run late by about what its `sync` answer was late; a fixed
    /// 20 ms then cut the golden projection before an unsubscription the client was about to
    /// send.
    pub fn quiet_window(&self) -> Duration {
        self.timing
            .sync_grace()
            .max(self.sync_latency.saturating_mul(4))
    }

    /// Asks the client to confirm it handled everything it received (`sync`). `false` when the
    /// client refuses it or the feed cannot ask (a capture); the caller then waits out the full
    /// window.
    pub async fn sync(&mut self) -> Result<bool, RunError> {
        if self.sync_supported == Some(false) {
            return Ok(false);
        }
        match self.feed.sync().await? {
            Some(latency) => {
                self.sync_supported = Some(true);
                self.sync_latency = latency;
                Ok(true)
            }
            None => {
                self.sync_supported = Some(false);
                Ok(false)
            }
        }
    }
}

/// What [`Judge::wait`] added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrived {
    /// A new observation, now the last entry of the pool.
    Observation,
    /// A new upper-tester event, now the last entry of the backlog.
    Event,
    /// The deadline passed.
    Deadline,
}

/// What a wait takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Only what the client sends.
    Observations,
    /// Only upper-tester events (what the client sends stays queued in the feed).
    Events,
    /// Either.
    Both,
}

/// Whether the common precondition (hello, configure, register) was met.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precondition {
    /// Met: the steps run.
    #[default]
    Met,
    /// The client did not reach it (no `registered`, a refused command): nothing is judged.
    NotReached {
        /// Why.
        message: String,
        /// The registration is what failed (the wire is asked why).
        registration: bool,
    },
    /// The harness or adapter failed before the steps.
    Error(String),
}

impl Precondition {
    /// `true` when the client's registration is what was not reached.
    pub fn registration_failed(&self) -> bool {
        matches!(
            self,
            Precondition::NotReached {
                registration: true,
                ..
            }
        )
    }
}

/// Runs the scenario's steps over the judge, recording each outcome in `assessor` and
/// reporting each step as a run event; after a step that stops the scenario, and when the
/// precondition was not met, the remaining steps are reported skipped.
pub async fn judge_steps<F: Feed>(
    ctx: &mut Judge<F>,
    s: &Scenario,
    pre: &Precondition,
    assessor: &mut Assessor<'_>,
    push: &mut (dyn FnMut(RunEventKind) + Send),
) {
    let skipped = |from: usize, push: &mut (dyn FnMut(RunEventKind) + Send)| {
        for (j, step) in s.steps.iter().enumerate().skip(from) {
            push(RunEventKind::StepDone {
                scenario: s.id.clone(),
                step: j + 1,
                description: describe(step),
                status: StepStatus::Skipped,
                findings: Vec::new(),
                quote: Vec::new(),
                duration_ms: 0,
            });
        }
    };
    match pre {
        Precondition::Met => {}
        Precondition::NotReached { message, .. } => {
            assessor.setup_not_reached(message.clone());
            return skipped(0, push);
        }
        Precondition::Error(m) => {
            assessor.harness_error(m.clone());
            return skipped(0, push);
        }
    }
    for (i, step) in s.steps.iter().enumerate() {
        let n = i + 1;
        let next = s.steps[n..]
            .iter()
            .find(|x| matches!(x, Step::Do(_) | Step::Send(_)));
        ctx.do_follows = matches!(next, Some(Step::Do(_)));
        ctx.window_end = next.and_then(|x| ctx.feed.locate(x, &ctx.env));
        let t = std::time::Instant::now();
        let outcomes = run_step(ctx, step).await;
        let mut go_on = true;
        for (proves, outcome) in outcomes {
            push(step_event(s, n, step, &outcome, t.elapsed()));
            go_on &= assessor.record(n, &proves, outcome);
        }
        if !go_on {
            return skipped(n, push);
        }
    }
}

#[cfg(test)]
mod boundary_tests {
    use super::*;
    use rstest::rstest;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    // `after: last_chunk` with the chunk (MSRP session 1) arriving as number 10 at 100 ms.
    #[rstest]
    #[case::later_number(11, 90, Some(Channel::Sip), false)]
    #[case::same_connection(9, 99, Some(Channel::Msrp(1)), true)]
    #[case::other_connection_close_in_time(9, 99, Some(Channel::Sip), false)]
    #[case::other_connection_just_within(9, 51, Some(Channel::Sip), false)]
    #[case::other_connection_far_apart(9, 50, Some(Channel::Sip), true)]
    #[case::other_session(9, 99, Some(Channel::Msrp(2)), false)]
    fn arrival_order_across_connections_counts_only_past_the_skew(
        #[case] seq: u64,
        #[case] ms: u64,
        #[case] channel: Option<Channel>,
        #[case] before: bool,
    ) {
        let chunk = Boundary {
            after: 10,
            at: Some((MS(100), Channel::Msrp(1))),
        };
        assert_eq!(chunk.shows_before(seq, MS(ms), channel), before);
    }

    // After a stimulus the harness sent, the order is its own: no skew.
    #[test]
    fn a_stimulus_boundary_is_strict() {
        let sent = Boundary {
            after: 10,
            at: None,
        };
        assert!(sent.shows_before(9, MS(100), Some(Channel::Sip)));
        assert!(!sent.shows_before(10, MS(0), Some(Channel::Sip)));
    }
}
