//! The live feed of the judge: observations from the simulated network, events and `sync`
//! from the client's upper tester, stimuli carried out by the simulated roles and the upper
//! tester, wall time. It also keeps what only the live run needs (requests held for a scripted
//! answer, requests sent for CANCEL) and records the judge's inputs that a capture does not
//! hold ([`crate::judge::timeline`]), so `cpmconf check` on the capture replays the same
//! judgement.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use cpmconf_sim::media::TransferProgress;
use cpmconf_sim::{Network, ObservedKind, PendingRequest, SessionId, SimError};
use cpmconf_ut::{Command, UpperTester, UtError};
use tokio::time::Instant;

use crate::assess::StepOutcome;
use crate::judge::timeline::{Input, Timeline};
use crate::judge::{Arrival, Feed, Obs, ObsKind, Want};
use crate::observed::MatchEnv;
use crate::scenario::{Step, TemplateError};

pub use crate::judge::RunError;

use super::options::Timing;

/// The live feed of one scenario.
pub struct LiveFeed<'n> {
    /// The simulated network.
    pub net: &'n Network,
    /// The client under test.
    pub ut: Box<dyn UpperTester>,
    /// Deadlines.
    pub timing: Timing,
    /// Where `send` steps find their fixture files.
    pub fixtures: PathBuf,
    /// When the feed's clock started.
    start: Instant,
    /// Held requests of observations not claimed yet, by arrival number.
    handles: HashMap<u64, PendingRequest>,
    /// Requests held by a role (manual mode) and claimed by an `expect`, for `send: { status }`.
    pub held: Vec<PendingRequest>,
    /// INVITEs a `send` step answered 2xx, for `send: { status, again: true }`.
    pub answered: Vec<PendingRequest>,
    /// Requests the simulated roles sent: (Call-ID, CSeq number, request id), for CANCEL.
    pub sent: Vec<(String, u32, cpmconf_sim::RequestId)>,
    /// MSRP sessions of claimed MSRP messages, by save name.
    pub sessions: HashMap<String, SessionId>,
    /// The judge's inputs a capture does not hold.
    pub timeline: Timeline,
}

/// What a `send` step works with.
pub struct SendContext<'a> {
    /// The simulated network.
    pub net: &'a Network,
    /// Variables and saved messages.
    pub env: &'a mut MatchEnv,
    /// Requests held for a scripted answer.
    pub held: &'a mut Vec<PendingRequest>,
    /// INVITEs answered 2xx by a step, whose 2xx a later step may send again.
    pub answered: &'a mut Vec<PendingRequest>,
    /// Requests the roles sent.
    pub sent: &'a mut Vec<(String, u32, cpmconf_sim::RequestId)>,
    /// MSRP sessions by save name.
    pub sessions: &'a HashMap<String, SessionId>,
}

impl<'n> LiveFeed<'n> {
    /// A feed over `net` and the client's upper tester; the clock starts now.
    pub fn new(
        net: &'n Network,
        ut: Box<dyn UpperTester>,
        timing: Timing,
        fixtures: PathBuf,
    ) -> Self {
        LiveFeed {
            net,
            ut,
            timing,
            fixtures,
            start: Instant::now(),
            handles: HashMap::new(),
            held: Vec::new(),
            answered: Vec::new(),
            sent: Vec::new(),
            sessions: HashMap::new(),
            timeline: Timeline::default(),
        }
    }

    fn at(&self, t: Duration) -> Instant {
        self.start + t
    }

    fn observation(&mut self, o: cpmconf_sim::Observed) -> Obs {
        let kind = match o.kind {
            ObservedKind::SipRequest { msg, handle } => {
                if let Some(h) = handle {
                    self.handles.insert(o.seq, h);
                }
                ObsKind::Sip(msg)
            }
            ObservedKind::SipResponse { msg, .. } => ObsKind::Sip(msg),
            ObservedKind::Msrp { frame, session } => ObsKind::Msrp { frame, session },
            ObservedKind::MsrpClosed { session, reason } => ObsKind::MsrpClosed {
                session,
                by_peer: reason.starts_with("closed by the peer"),
            },
        };
        let obs = Obs {
            seq: o.seq,
            time: o.time,
            role: o.role,
            kind,
        };
        self.timeline.push(Input::observed(&obs));
        obs
    }

    fn taken(&mut self, o: Result<cpmconf_sim::Observed, SimError>) -> Result<Arrival, RunError> {
        match o {
            Ok(o) => Ok(Arrival::Observation(self.observation(o))),
            Err(SimError::Timeout(_)) => {
                self.timeline.push(Input::Deadline);
                Ok(Arrival::Deadline)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn event(&mut self, e: Result<cpmconf_ut::Event, UtError>) -> Result<Arrival, RunError> {
        match e {
            Ok(e) => {
                self.timeline.push(Input::event(&e));
                Ok(Arrival::Event(e))
            }
            Err(UtError::Timeout { .. }) => {
                self.timeline.push(Input::Deadline);
                Ok(Arrival::Deadline)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Sends an upper-tester command and checks it was carried out.
    pub async fn command(&mut self, cmd: Command) -> Result<serde_json::Value, RunError> {
        let name = cmd.name();
        let timeout = self.timing.command();
        let r = self.ut.command(cmd, timeout).await?;
        Ok(r.result_as::<serde_json::Value>(name)?)
    }

    async fn run_do(&mut self, cmd: &crate::scenario::Command, env: &MatchEnv) -> StepOutcome {
        let Some((name, args)) = cmd.single() else {
            return StepOutcome::Error("a `do` step names exactly one command".into());
        };
        let args = match env.interpolate_json(args) {
            Ok(a) => a,
            Err(e) => return StepOutcome::Error(e.to_string()),
        };
        let cmd = match Command::from_parts(name, args) {
            Ok(c) => c,
            Err(e) => return StepOutcome::Error(format!("command {name}: {e}")),
        };
        match self.command(cmd).await {
            Ok(_) => StepOutcome::Passed,
            // `ok: false` to a command of a capability the client declares: the situation the
            // scenario needs could not be brought about; nothing about the client's wire
            // behaviour.
            Err(RunError::Ut(UtError::Rejected { command, error })) => {
                StepOutcome::NotReached(format!("the client refused `{command}`: {error}"))
            }
            Err(e) => StepOutcome::Error(e.to_string()),
        }
    }

    async fn run_send(&mut self, s: &crate::scenario::Send, env: &mut MatchEnv) -> StepOutcome {
        let fixtures = self.fixtures.clone();
        let mut sc = SendContext {
            net: self.net,
            env,
            held: &mut self.held,
            answered: &mut self.answered,
            sent: &mut self.sent,
            sessions: &self.sessions,
        };
        send_outcome(&s.role, super::send::send(&mut sc, s, &fixtures).await)
    }

    async fn next_live(&mut self, until: Duration, want: Want) -> Result<Arrival, RunError> {
        let deadline = self.at(until);
        let left = deadline.saturating_duration_since(Instant::now());
        match want {
            Want::Observations => {
                let o = self.net.next_observed(deadline).await;
                self.taken(o)
            }
            Want::Events => {
                let e = self.ut.next_event(left).await;
                self.event(e)
            }
            Want::Both => {
                tokio::select! {
                    o = self.net.next_observed(deadline) => self.taken(o),
                    e = self.ut.next_event(left) => self.event(e),
                }
            }
        }
    }

    /// An adapter that does not answer `sync` at all within the command deadline is a
    /// harness-side failure (`error` naming `sync`, docs/upper-tester.md).
    async fn sync_live(&mut self) -> Result<Option<Duration>, RunError> {
        let deadline = self.timing.command();
        let asked = Instant::now();
        let answer = match self.ut.command(Command::Sync, deadline).await {
            Ok(r) if r.ok => Some(asked.elapsed()),
            Ok(_) | Err(UtError::Rejected { .. }) => None,
            Err(UtError::Timeout { stderr_tail, .. }) => {
                return Err(RunError::Other(format!(
                    "the adapter did not answer `sync` within {}{}",
                    crate::matcher::human_duration(deadline),
                    if stderr_tail.trim().is_empty() {
                        String::new()
                    } else {
                        format!("; stderr tail:\n{stderr_tail}")
                    }
                )))
            }
            Err(e) => return Err(e.into()),
        };
        Ok(answer)
    }
}

impl Feed for LiveFeed<'_> {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    async fn next(&mut self, until: Duration, want: Want) -> Result<Arrival, RunError> {
        let r = self.next_live(until, want).await;
        if let Err(e) = &r {
            self.timeline.push(Input::Failed {
                message: e.to_string(),
            });
        }
        r
    }

    async fn sync(&mut self) -> Result<Option<Duration>, RunError> {
        let r = self.sync_live().await;
        self.timeline.push(match &r {
            Ok(answer) => Input::Sync {
                latency_us: answer.map(|d| d.as_micros() as u64),
            },
            Err(e) => Input::Failed {
                message: e.to_string(),
            },
        });
        r
    }

    async fn stimulus(&mut self, step: &Step, env: &mut MatchEnv) -> StepOutcome {
        let o = match step {
            Step::Do(cmd) => self.run_do(cmd, env).await,
            Step::Send(s) => self.run_send(s, env).await,
            _ => StepOutcome::Error("not a stimulus step".into()),
        };
        self.timeline.push(Input::stimulus(&o));
        o
    }

    fn consumed(&mut self, o: &Obs, save: Option<&str>) {
        if let Some(h) = self.handles.remove(&o.seq) {
            self.held.push(h);
        }
        if let (ObsKind::Msrp { session, .. }, Some(name)) = (&o.kind, save) {
            self.sessions.insert(name.to_string(), *session);
        }
    }

    fn progress(&self, session: u64) -> Option<TransferProgress> {
        self.net.msrp_progress(session)
    }

    fn granted(
        &mut self,
        request: &cpmconf_codec::sip::Message,
        deadline: Duration,
        within: Duration,
    ) -> Option<Duration> {
        let later = request
            .call_id()
            .zip(request.cseq_number())
            .and_then(|(cid, n)| self.net.answered_at(cid, n))
            .map(|t| t.saturating_duration_since(self.start))
            .and_then(|at| crate::judge::later_end(at, within, deadline));
        self.timeline.push(Input::Granted {
            later_by_us: later
                .map(|l| u64::try_from((l - deadline).as_micros()).unwrap_or(u64::MAX)),
        });
        later
    }
}

/// What a `send` step comes to, given how sending went: whose doing a failure is decides
/// between not reached (`inconclusive`: the client's earlier message, or its ending of the MSRP
/// session, left nothing to send in; or the client's profile does not provision a value the
/// message needs) and `error` (the harness).
fn send_outcome(role: &str, sent: Result<(), RunError>) -> StepOutcome {
    match sent {
        Ok(()) => StepOutcome::Passed,
        // The role cannot build its message from what the client sent (an answer to a
        // request without an SDP offer): the client's earlier message is the cause, and
        // what follows cannot be reached. Not a harness failure.
        Err(RunError::Sim(SimError::Invalid(m))) => {
            StepOutcome::NotReached(format!("the simulated {role} cannot send this: {m}"))
        }
        // The client ended the MSRP session the role would send in, or never set it up
        // (it did not connect, closed the connection, sent undecodable bytes): the client's
        // doing, not the harness's; what follows is not reached.
        Err(RunError::Sim(SimError::SessionEnded {
            reason,
            by_client: true,
        })) => StepOutcome::NotReached(format!(
            "the simulated {role} cannot send this: the client's MSRP session has ended ({reason})"
        )),
        // The client ended the session the role would send in (e.g. it left a deferred
        // delivery early): a step verifying that judged it; what follows is not reached.
        Err(e @ RunError::NoMsrpSession { .. }) => StepOutcome::NotReached(format!(
            "the simulated {role} cannot send this: {e} (the client ended it)"
        )),
        // A scenario about a provisioned limit the profile does not provision cannot be set
        // up for this client: not judged, not a harness failure.
        Err(RunError::Template(e))
            if matches!(&e, TemplateError::Undefined { path }
                if path.starts_with(super::scenario_run::PROVISIONED)) =>
        {
            StepOutcome::NotReached(format!("the client profile provisions no such value: {e}"))
        }
        Err(e) => StepOutcome::Error(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn ended(by_client: bool) -> RunError {
        RunError::Sim(SimError::SessionEnded {
            reason: "MSRP session not set up: timed out waiting for an MSRP connection".into(),
            by_client,
        })
    }

    /// Each way a send can go, with the outcome and what its message must say.
    #[rstest]
    #[case::sent(Ok(()), "passed", "")]
    #[case::client_ended_the_session(
        Err(ended(true)),
        "not reached",
        "the simulated bob cannot send this: the client's MSRP session has ended (MSRP session not set up: timed out waiting for an MSRP connection)"
    )]
    #[case::role_ended_the_session(Err(ended(false)), "error", "the session has ended")]
    #[case::nothing_to_answer(
        Err(RunError::Sim(SimError::Invalid("no SDP offer".into()))),
        "not reached",
        "the simulated bob cannot send this: no SDP offer"
    )]
    #[case::client_left(
        Err(RunError::NoMsrpSession { dialog: "push".into() }),
        "not reached",
        "(the client ended it)"
    )]
    #[case::not_provisioned(
        Err(RunError::Template(TemplateError::Undefined { path: "client.provisioned.max_size".into() })),
        "not reached",
        "the client profile provisions no such value: undefined reference `${client.provisioned.max_size}`"
    )]
    #[case::undefined_otherwise(
        Err(RunError::Template(TemplateError::Undefined { path: "saved.header.Call-ID".into() })),
        "error",
        "undefined reference `${saved.header.Call-ID}`"
    )]
    // Only the typed error says a value is not provisioned: a message that merely quotes such a
    // reference is the harness's.
    #[case::text_naming_a_provisioned_value(
        Err(RunError::Other("unknown variable ${client.provisioned.max_size}".into())),
        "error",
        "unknown variable"
    )]
    #[case::harness_failure(Err(RunError::Sim(SimError::Closed)), "error", "shut down")]
    #[case::socket_failure(
        Err(RunError::Sim(SimError::Msrp("write: broken pipe".into()))),
        "error",
        "broken pipe"
    )]
    fn a_send_failure_is_the_client_s_doing_or_the_harness_s(
        #[case] sent: Result<(), RunError>,
        #[case] want: &str,
        #[case] says: &str,
    ) {
        let (seen, message) = match send_outcome("bob", sent) {
            StepOutcome::Passed => ("passed", String::new()),
            StepOutcome::NotReached(m) => ("not reached", m),
            StepOutcome::Error(m) => ("error", m),
            other => panic!("{other:?}"),
        };
        assert_eq!(seen, want, "{message}");
        assert!(message.contains(says), "{message}");
    }
}
