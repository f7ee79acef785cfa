//! One scenario, live: fresh tap (pcap written as traffic happens), fresh simulated network,
//! fresh client; the common precondition (hello, configure, register); the steps, each wait with
//! a deadline; then the monitors, the golden comparison and the wire log.

use std::path::Path;
use std::time::Duration;

use cpmconf_capture::{attach_pcap, Tap, Trace, TraceFrame};
use cpmconf_client::FaultSet;
use cpmconf_codec::sip::Method;
use cpmconf_sim::{Auth, Mode, NetConfig, Network, ObservedKind};
use cpmconf_ut::{Command, Hello, HelloResult, RunSettings, UtError, PROTOCOL_VERSION};
use tokio::time::Instant;

use crate::assess::{Assessor, Proves, StepOutcome};
use crate::catalogue::Catalogue;
use crate::golden::{self, Comparison};
use crate::group::{Assignment, GroupProgress, ItemState};
use crate::matcher::{check, check_event, human_duration, is_candidate, refuses, violates};
use crate::observed::{scenario_seed, MatchEnv};
use crate::report::{GoldenStatus, RunEvent, RunEventKind, StepStatus};
use crate::scenario::{Expect, GroupItem, LoadedScenario, MsrpStart, Scenario, Step, WaitFor};
use crate::verdict::{Finding, ScenarioResult};

use super::client;
use super::context::{view, Arrival, Context, RunError};
use super::labels::Labeler;
use super::monitor;
use super::options::RunOptions;

/// What one scenario produced.
#[derive(Debug, Clone)]
pub struct ScenarioReport {
    /// Verdicts (after the known-failures mapping).
    pub result: ScenarioResult,
    /// The scenario's events, in order (`ScenarioStarted` .. `ScenarioFinished`).
    pub events: Vec<RunEvent>,
    /// The golden projection (absent when the scenario did not run).
    pub golden: Option<String>,
    /// `true` when the projection differs from the golden file.
    pub regression: bool,
}

/// Collects events with their time since the run started.
struct Events {
    start: std::time::Instant,
    list: Vec<RunEvent>,
}

impl Events {
    fn push(&mut self, kind: RunEventKind) {
        self.list.push(RunEvent {
            elapsed_ms: self.start.elapsed().as_millis() as u64,
            kind,
        });
    }
}

/// Runs one scenario. Never panics on client behaviour: a harness or adapter failure is an
/// `error` verdict with its message, and the pcap is finished in every case.
pub async fn run_scenario(
    catalogue: &Catalogue,
    opts: &RunOptions,
    loaded: &LoadedScenario,
    run_start: std::time::Instant,
) -> ScenarioReport {
    let s = &loaded.scenario;
    let mut ev = Events {
        start: run_start,
        list: Vec::new(),
    };
    ev.push(RunEventKind::ScenarioStarted {
        id: s.id.clone(),
        clause: s.clause.clone(),
        title: s.title.clone(),
    });
    let t0 = std::time::Instant::now();
    let missing: Vec<String> = s
        .requires
        .iter()
        .filter(|c| !opts.profile.has_capability(c))
        .cloned()
        .collect();
    let (mut result, golden, regression) = if !missing.is_empty() {
        (
            Assessor::not_applicable(catalogue, s, &missing),
            None,
            false,
        )
    } else {
        let mut assessor = Assessor::new(catalogue, s);
        let mut base = Baseline::default();
        let (golden, regression) =
            run_live(catalogue, opts, loaded, &mut assessor, &mut ev, &mut base).await;
        let mut r = assessor.finish(t0.elapsed().as_millis() as u64);
        r.add_protocol(base.protocol);
        r.stimuli = base.stimuli;
        (r, golden, regression)
    };
    opts.known.apply(&mut result);
    crate::report::ladder::annotate(&mut result, &ev.list);
    for r in &result.requirements {
        ev.push(RunEventKind::VerdictIssued {
            scenario: s.id.clone(),
            result: r.clone(),
        });
    }
    ev.push(RunEventKind::ScenarioFinished {
        result: result.clone(),
    });
    ScenarioReport {
        result,
        events: ev.list,
        golden,
        regression,
    }
}

/// The protocol baseline of one run: the client's results, and the simulator's own findings.
#[derive(Default)]
struct Baseline {
    protocol: Vec<crate::verdict::ProtocolResult>,
    stimuli: Vec<crate::baseline::ProtocolFinding>,
}

/// The live part; returns the golden projection and whether it regressed.
async fn run_live(
    catalogue: &Catalogue,
    opts: &RunOptions,
    loaded: &LoadedScenario,
    assessor: &mut Assessor<'_>,
    ev: &mut Events,
    base: &mut Baseline,
) -> (Option<String>, bool) {
    let _ = catalogue;
    let s = &loaded.scenario;
    let pcap_dir = opts.report_dir.join("pcap");
    let wire_dir = opts.report_dir.join("wire");
    for d in [&pcap_dir, &wire_dir] {
        if let Err(e) = std::fs::create_dir_all(d) {
            assessor.harness_error(format!("{}: {e}", d.display()));
            return (None, false);
        }
    }
    let tap = Tap::new();
    if let Err(e) = attach_pcap(&tap, pcap_dir.join(format!("{}.pcap", s.id))) {
        assessor.harness_error(format!("pcap file: {e}"));
        return (None, false);
    }
    let seed = scenario_seed(opts.seed, &s.id);
    let faults = match FaultSet::parse(&opts.faults) {
        Ok(f) => f,
        Err(e) => {
            assessor.harness_error(e.to_string());
            tap.finish();
            return (None, false);
        }
    };
    let mut cfg = net_config(opts, &tap, seed);
    cfg.conference_expires_initial = s.setup.conference_expires;
    let net = match Network::start(cfg).await {
        Ok(n) => n,
        Err(e) => {
            assessor.harness_error(format!("simulated network: {e}"));
            tap.finish();
            return (None, false);
        }
    };
    hold_answered_requests(&net, s);
    let started = match client::start(
        &opts.profile,
        &faults,
        net.core_addr(),
        &tap,
        seed,
        opts.timing,
    )
    .await
    {
        Ok(c) => c,
        Err(e) => {
            assessor.harness_error(e);
            net.shutdown().await;
            tap.finish();
            return (None, false);
        }
    };
    let mut env = MatchEnv::for_scenario(s, opts.seed);
    bind_builtins(&mut env, opts, &net);
    let mut ctx = Context {
        net: &net,
        ut: started.ut,
        env,
        pool: Vec::new(),
        held: Vec::new(),
        sent: Vec::new(),
        backlog: Default::default(),
        sessions: Default::default(),
        timing: opts.timing,
        sync_supported: None,
        sync_latency: Duration::ZERO,
        reached: false,
        warnings: Vec::new(),
        last_seq: 0,
        mark: 0,
        boundaries: Default::default(),
    };
    let mut registration_failed = false;
    if let Err(e) = setup(&mut ctx, opts, s, seed).await {
        match e {
            RunError::Ut(UtError::Timeout { what, .. }) if what == "event" => {
                registration_failed = true;
                assessor.setup_not_reached(
                    "precondition not reached: no `registered` event after `register`".into(),
                );
            }
            RunError::Ut(UtError::Rejected { command, error }) => {
                registration_failed = command == "register";
                assessor.setup_not_reached(format!(
                    "precondition not reached: the client refused `{command}`: {error}"
                ));
            }
            e => assessor.harness_error(format!("setup: {e}")),
        }
        for (j, step) in s.steps.iter().enumerate() {
            ev.push(RunEventKind::StepDone {
                scenario: s.id.clone(),
                step: j + 1,
                description: describe(step),
                status: StepStatus::Skipped,
                findings: Vec::new(),
                quote: Vec::new(),
                duration_ms: 0,
            });
        }
    } else {
        for (i, step) in s.steps.iter().enumerate() {
            let n = i + 1;
            let t = std::time::Instant::now();
            let outcomes = run_step(&mut ctx, step, &opts.fixtures_dir).await;
            let mut go_on = true;
            for (proves, outcome) in outcomes {
                ev.push(step_event(s, n, step, &outcome, t.elapsed()));
                go_on &= assessor.record(n, &proves, outcome);
            }
            if !go_on {
                for (j, later) in s.steps.iter().enumerate().skip(n) {
                    ev.push(RunEventKind::StepDone {
                        scenario: s.id.clone(),
                        step: j + 1,
                        description: describe(later),
                        status: StepStatus::Skipped,
                        findings: Vec::new(),
                        quote: Vec::new(),
                        duration_ms: 0,
                    });
                }
                break;
            }
        }
    }
    for message in std::mem::take(&mut ctx.warnings) {
        ev.push(RunEventKind::Warning {
            scenario: Some(s.id.clone()),
            message,
        });
    }
    settle(&mut ctx, &tap).await;
    // What the adapter reported on its own (`error` events) explains an early stop.
    let adapter_errors: Vec<String> = ctx
        .backlog
        .iter()
        .filter(|e| e.name() == "error")
        .map(|e| e.data().map(|d| d.to_string()).unwrap_or_default())
        .collect();
    // The golden cut: the traffic up to quiescence after the last step. What the client sends
    // on the way out (and whether the answers make it before the network stops) is left to
    // the monitors and the wire log: its end is a race.
    let cut = tap.events().len();
    // The client stops first, so the trace ends with what it sent on the way out.
    let _ = ctx.ut.shutdown(opts.timing.adapter()).await;
    drop(ctx);
    drop(started.reference);
    // The capture ends here: what the monitors judge, the wire log shows and the pcap holds are
    // the same events (a reply still in flight is in none of them), so `cpmconf check` on the
    // pcap gives the live verdicts.
    tap.finish();
    let events = tap.events();
    let trace = Trace::from_events(&events);
    let labels = Labeler::new(&net);
    if let Some(outcome) = monitor::user_agent(
        &trace,
        &|e| labels.roles(e).0 == super::labels::CLIENT,
        opts.strict,
    ) {
        assessor.record_monitor(monitor::USER_AGENT_REQUIREMENT, outcome);
    }
    if registration_failed {
        if let Some(why) =
            super::diagnose::registration(&trace, &labels, &opts.profile.identity.password)
        {
            assessor.explain(&format!("; from the wire: {why}"));
        }
    }
    if !adapter_errors.is_empty() && assessor.is_stopped() {
        assessor.explain(&format!(
            "; the adapter reported: {}",
            adapter_errors.join("; ")
        ));
    }
    base.protocol = monitor::protocol(&trace, &labels, &opts.profile);
    base.stimuli = monitor::stimuli(&trace, &labels);
    // The capture says who is who, so `cpmconf check` on it needs no flags.
    if let Err(e) = write_capture_meta(&pcap_dir, s, opts.seed, &trace, &labels) {
        assessor.harness_error(format!("capture sidecar: {e}"));
    }
    let golden_trace = Trace::from_events(events.get(..cut).unwrap_or(&events));
    let projection = golden::project(&golden_inputs(&golden_trace, &labels));
    let log = trace.wire_log(&|a| labels.name(a));
    ev.push(RunEventKind::TraceCaptured {
        scenario: s.id.clone(),
        ladder: crate::report::Ladder::build(
            &trace,
            &|e| labels.roles(e),
            &|a| labels.name(a),
            &cpmconf_capture::trace_frame_numbers(&trace, &events),
            format!("pcap/{}.pcap", s.id),
            format!("wire/{}.log", s.id),
        ),
    });
    net.shutdown().await;
    tap.finish();
    if let Err(e) = std::fs::write(wire_dir.join(format!("{}.log", s.id)), log) {
        assessor.harness_error(format!("wire log: {e}"));
    }
    let regression = compare_golden(opts, loaded, &projection, ev);
    (Some(projection), regression)
}

/// Writes `pcap/<id>.pcap.meta.json`: the scenario, the seed, the client's SIP addresses and
/// every simulated socket's role.
fn write_capture_meta(
    pcap_dir: &Path,
    s: &Scenario,
    seed: u64,
    trace: &Trace,
    labels: &Labeler<'_>,
) -> Result<(), cpmconf_capture::MetaError> {
    let mut client: Vec<std::net::SocketAddr> = Vec::new();
    let mut roles: std::collections::BTreeMap<std::net::SocketAddr, String> = Default::default();
    for e in &trace.entries {
        let (from, _) = labels.roles(e);
        if from == super::labels::CLIENT {
            if e.sip().is_some() && !client.contains(&e.src) {
                client.push(e.src);
            }
        } else {
            for a in [e.src, e.dst] {
                if let Some(n) = labels.name(a).filter(|n| n != super::labels::CLIENT) {
                    roles.entry(a).or_insert(n);
                }
            }
        }
    }
    let meta = cpmconf_capture::CaptureMeta {
        scenario: s.id.clone(),
        client,
        roles: roles
            .into_iter()
            .map(|(addr, role)| cpmconf_capture::RoleEntry { addr, role })
            .collect(),
        seed: Some(seed),
        format_version: cpmconf_capture::meta::FORMAT_VERSION,
    };
    cpmconf_capture::write_sidecar(pcap_dir.join(format!("{}.pcap", s.id)), &meta).map(|_| ())
}

/// Lets exchanges still running when the steps end (a reg-event or conference subscription and
/// its NOTIFYs, MSRP responses) finish, so the golden cut comes at the same point every run.
/// A round is: `sync` (the client handled everything it received), then wait until the client
/// has sent nothing for the quiet window (20 ms, longer when `sync` was answered late). Rounds repeat until one passes with nothing at all on
/// the wire (neither side sent a byte, seen on the tap), at most for the `expect` deadline.
async fn settle(ctx: &mut Context<'_>, tap: &Tap) {
    let end = Instant::now() + ctx.timing.expect();
    loop {
        let before = tap.events().len();
        if ctx.sync_supported != Some(false) {
            let left = end.saturating_duration_since(Instant::now());
            if tokio::time::timeout(left, ctx.sync()).await.is_err() {
                break;
            }
        }
        let grace = ctx.quiet_window();
        loop {
            let until = end.min(Instant::now() + grace);
            match ctx.wait(until, false).await {
                Ok(Arrival::Deadline) | Err(_) => break,
                Ok(_) if Instant::now() >= end => break,
                Ok(_) => {}
            }
        }
        if tap.events().len() == before || Instant::now() >= end {
            break;
        }
    }
}

/// The golden-projection inputs of a trace in capture order, with their roles (undecodable
/// entries are left to the wire log); `golden::project` puts them in canonical order.
fn golden_inputs<'t>(trace: &'t Trace, labels: &Labeler<'_>) -> Vec<golden::GoldenInput<'t>> {
    let mut v = Vec::new();
    for e in &trace.entries {
        let frame = match &e.frame {
            TraceFrame::Sip(d) => crate::observed::Observed::Sip(&d.value),
            TraceFrame::Msrp(d) => crate::observed::Observed::Msrp(&d.value),
            TraceFrame::Undecodable { .. } => continue,
        };
        let (from_role, to_role) = labels.roles(e);
        v.push(golden::GoldenInput {
            from_role,
            to_role,
            frame,
        });
    }
    v
}

/// The network of one scenario: the profile's domain, the client's password, digest
/// authentication, SIP timers scaled, every id from the scenario's seed.
fn net_config(opts: &RunOptions, tap: &Tap, seed: u64) -> NetConfig {
    let mut cfg = NetConfig::new();
    let id = &opts.profile.identity;
    cfg.domain = id.domain.clone();
    cfg.auth = Auth::Digest {
        realm: id.domain.clone(),
        algorithms: opts
            .profile
            .auth_algorithms
            .iter()
            .map(|a| a.token().to_owned())
            .collect(),
    };
    cfg.passwords.insert(id.user.clone(), id.password.clone());
    if let Some(u) = &opts.profile.provisioned.deferred_mgmt_uri {
        cfg.deferred_mgmt_uri = u.clone();
    }
    if let Some(u) = &opts.profile.provisioned.conference_factory_uri {
        cfg.conference_factory = u.clone();
    }
    cfg.timers = opts.timing.sip_timers(cfg.timers);
    cfg.tap = Some(tap.clone());
    // An external client records nothing itself: the network records what it receives too.
    cfg.tap_received = !client::is_in_process(&opts.profile);
    cfg.seed = seed;
    cfg
}

/// A role answers by itself unless a later `send: { status, answers: X }` answers the request
/// saved as X: such requests are held (manual mode) for the role named by the saving `expect`'s
/// `to` (any role when absent). A `send: { as: ROLE, msrp: CODE }` makes ROLE hold every MSRP
/// SEND chunk with bytes the client sends it, in every session, for the whole scenario.
fn hold_answered_requests(net: &Network, s: &Scenario) {
    let mut expects: Vec<&Expect> = Vec::new();
    for step in &s.steps {
        match step {
            Step::Expect(e) => expects.push(e),
            Step::Parallel(items) | Step::AnyOrder(items) => {
                for it in items {
                    if let GroupItem::Expect(e) = it {
                        expects.push(e);
                    }
                }
            }
            Step::Send(send) if matches!(send.msrp, Some(MsrpStart::Status(_))) => {
                net.set_msrp_mode(&send.role, cpmconf_sim::Mode::Manual);
            }
            Step::Send(send) if send.status.is_some() => {
                let name = send.answers.as_deref().unwrap_or("last_received");
                let saver = expects
                    .iter()
                    .rev()
                    .find(|e| e.save.as_deref() == Some(name) || name == "last_received");
                if let Some(e) = saver {
                    if let Some(m) = e.sip.as_deref().and_then(|m| m.parse::<Method>().ok()) {
                        net.set_mode(e.to.as_deref().unwrap_or("*"), m, Mode::Manual);
                    }
                }
            }
            _ => {}
        }
    }
}

/// `${client.*}`, `${sim.*}` values.
fn bind_builtins(env: &mut MatchEnv, opts: &RunOptions, net: &Network) {
    let p = &opts.profile;
    let b = &mut env.bindings;
    b.set("client.uri", p.public_user_identity());
    b.set("client.user", p.identity.user.clone());
    b.set("client.domain", p.identity.domain.clone());
    b.set("client.name", p.name.clone());
    b.set(
        crate::matcher::CLIENT_INSTANCE,
        p.identity.instance_id.clone(),
    );
    if let Some(r) = p.readings.device_id_in_cpim_from {
        b.set(crate::matcher::CPIM_FROM_READING, r.as_str().to_string());
    }
    // Provisioned limits, and the first value past each (a boundary a scenario tests from
    // both sides, whatever the profile provisions).
    let pv = &p.provisioned;
    for (name, v) in [
        ("pager_limit", pv.pager_limit),
        ("file_size_limit", pv.file_size_limit),
    ] {
        if let Some(v) = v {
            b.set(format!("client.provisioned.{name}"), v.to_string());
            b.set(
                format!("client.provisioned.{name}_plus_one"),
                v.saturating_add(1).to_string(),
            );
        }
    }
    let c = net.config();
    b.set("sim.domain", c.domain.clone());
    b.set("sim.core", net.core_addr().to_string());
    b.set("sim.conference_factory", c.conference_factory.clone());
    b.set("sim.deferred_mgmt_uri", c.deferred_mgmt_uri.clone());
    for g in &c.predefined_groups {
        if let Some(user) = g.uri.strip_prefix("sip:").and_then(|u| u.split('@').next()) {
            b.set(format!("sim.group.{user}"), g.uri.clone());
        }
    }
}

/// The common precondition: hello, configure, and (unless `setup: { register: false }`) register
/// and wait for `registered`.
async fn setup(
    ctx: &mut Context<'_>,
    opts: &RunOptions,
    s: &Scenario,
    seed: u64,
) -> Result<(), RunError> {
    let hello = Command::Hello(Hello {
        protocol: PROTOCOL_VERSION,
        harness: format!("cpmconf {}", env!("CARGO_PKG_VERSION")),
        settings: RunSettings {
            seed,
            time_scale: opts.timing.factor(),
            clock: opts.timing.clock_factor(),
            scenario: Some(s.id.clone()),
        },
    });
    let r = ctx.ut.command(hello, opts.timing.adapter()).await?;
    let h: HelloResult = r.result_as("hello")?;
    // The profile declares what the client can do; an adapter that does not claim a declared
    // capability will likely refuse its commands (inconclusive) - say so once, up front.
    let unclaimed: Vec<&str> = opts
        .profile
        .capabilities
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !h.capabilities.iter().any(|x| x == c))
        .collect();
    if !unclaimed.is_empty() {
        ctx.warnings.push(format!(
            "the profile declares capabilities the adapter {} does not claim in its hello: {}",
            h.name,
            unclaimed.join(", ")
        ));
    }
    if h.protocol != PROTOCOL_VERSION {
        return Err(RunError::Other(format!(
            "adapter {} speaks upper-tester protocol {}, the harness {PROTOCOL_VERSION}",
            h.name, h.protocol
        )));
    }
    let core = ctx.net.core_addr().to_string();
    ctx.command(Command::Configure(opts.profile.configure(&core)))
        .await?;
    if s.setup.register {
        ctx.command(Command::Register).await?;
        let deadline = Instant::now() + ctx.timing.expect();
        wait_event(ctx, "registered", deadline).await?;
    }
    Ok(())
}

/// The first event named `name` (from the backlog or arriving before `deadline`).
async fn wait_event(
    ctx: &mut Context<'_>,
    name: &str,
    deadline: Instant,
) -> Result<cpmconf_ut::Event, RunError> {
    loop {
        if let Some(pos) = ctx.backlog.iter().position(|e| e.name() == name) {
            if let Some(e) = ctx.backlog.remove(pos) {
                return Ok(e);
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let e = ctx.ut.next_event(left).await?;
        ctx.backlog.push_back(e);
    }
}

/// Runs one step; returns the outcome of each part (one for a plain step, one per item of a
/// group) with the requirements it verifies.
async fn run_step(
    ctx: &mut Context<'_>,
    step: &Step,
    fixtures: &Path,
) -> Vec<(Proves, StepOutcome)> {
    // A stimulus: what the client sent before it cannot be its answer (`earlier: true` aside).
    if matches!(step, Step::Do(_) | Step::Send(_)) {
        if let Err(e) = ctx.mark_stimulus().await {
            return vec![(Proves::nothing(), error(e))];
        }
    }
    match step {
        Step::Do(cmd) => vec![(Proves::nothing(), run_do(ctx, cmd).await)],
        Step::Send(s) => {
            let o = match super::send::send(ctx, s, fixtures).await {
                Ok(()) => {
                    // `after: <this send>`: what the client sends from now on.
                    if let Some(name) = &s.save {
                        ctx.boundaries.insert(name.clone(), ctx.mark);
                    }
                    StepOutcome::Passed
                }
                // The role cannot build its message from what the client sent (an answer to a
                // request without an SDP offer): the client's earlier message is the cause, and
                // what follows cannot be reached. Not a harness failure.
                Err(RunError::Sim(cpmconf_sim::SimError::Invalid(m))) => StepOutcome::NotReached(
                    format!("the simulated {} cannot send this: {m}", s.role),
                ),
                // A scenario about a provisioned limit the profile does not provision cannot
                // be set up for this client: not judged, not a harness failure.
                // The client ended the session the role would send in (e.g. it left a deferred
                // delivery early): a step verifying that judged it; what follows is not reached.
                Err(RunError::Other(m)) if m.contains("has no MSRP session") => {
                    StepOutcome::NotReached(format!(
                        "the simulated {} cannot send this: {m} (the client ended it)",
                        s.role
                    ))
                }
                Err(e) if e.to_string().contains("${client.provisioned.") => {
                    StepOutcome::NotReached(format!(
                        "the client profile provisions no such value: {e}"
                    ))
                }
                Err(e) => StepOutcome::Error(e.to_string()),
            };
            vec![(Proves::nothing(), o)]
        }
        Step::Expect(e) => vec![(proves(e), run_expect(ctx, e).await)],
        Step::ExpectNone(e) => vec![(proves(e), run_expect_none(ctx, e).await)],
        Step::WaitFor(w) => {
            let p = Proves {
                verifies: w.verifies.clone(),
                evidence: w.evidence.clone(),
            };
            vec![(p, run_wait_for(ctx, w).await)]
        }
        Step::Parallel(items) | Step::AnyOrder(items) => run_group(ctx, items).await,
    }
}

fn proves(e: &Expect) -> Proves {
    Proves::of_expect(e)
}

fn error(e: impl std::fmt::Display) -> StepOutcome {
    StepOutcome::Error(e.to_string())
}

async fn run_do(ctx: &mut Context<'_>, cmd: &crate::scenario::Command) -> StepOutcome {
    let Some((name, args)) = cmd.single() else {
        return error("a `do` step names exactly one command");
    };
    let args = match ctx.env.interpolate_json(args) {
        Ok(a) => a,
        Err(e) => return error(e),
    };
    let cmd = match Command::from_parts(name, args) {
        Ok(c) => c,
        Err(e) => return error(format!("command {name}: {e}")),
    };
    match ctx.command(cmd).await {
        Ok(_) => StepOutcome::Passed,
        // `ok: false` to a command of a capability the client declares: the situation the
        // scenario needs could not be brought about; nothing about the client's wire behaviour.
        Err(RunError::Ut(UtError::Rejected { command, error })) => {
            StepOutcome::NotReached(format!("the client refused `{command}`: {error}"))
        }
        Err(e) => error(e),
    }
}

fn awaited(e: &Expect, within: Duration) -> String {
    format!("{} within {}", describe_expect(e), human_duration(within))
}

/// Whether pool entry `o` is a candidate for `e` (from the client, to the right role).
fn candidate(
    ctx: &Context<'_>,
    e: &Expect,
    o: &cpmconf_sim::Observed,
) -> Result<bool, crate::matcher::MatchError> {
    let Some(v) = view(o) else { return Ok(false) };
    if e.to.as_deref().is_some_and(|t| t != o.role) {
        return Ok(false);
    }
    if is_connection_opener(v) && crate::matcher::about_content(e) {
        return Ok(false);
    }
    is_candidate(e, v, &ctx.env)
}

/// An MSRP SEND without a body: the active endpoint's first request on a new connection
/// (RFC 4975 section 7.1.1); plumbing, not the message an expectation about content waits for.
fn is_connection_opener(v: crate::observed::Observed<'_>) -> bool {
    matches!(v, crate::observed::Observed::Msrp(m)
        if m.method().is_some_and(|x| x.to_string() == "SEND") && m.body.is_empty())
}

async fn run_expect(ctx: &mut Context<'_>, e: &Expect) -> StepOutcome {
    if e.from != "client" {
        return error(format!(
            "`from: {}`: only messages of the client are observed",
            e.from
        ));
    }
    let within = e.bound(ctx.timing).unwrap_or(ctx.timing.expect());
    let deadline = Instant::now() + within;
    if matches!(&e.msrp, Some(MsrpStart::Method(m)) if m.eq_ignore_ascii_case("CLOSE")) {
        return run_expect_close(ctx, e, deadline, within).await;
    }
    if let Some(o) = prepare_resume(ctx, e) {
        return o;
    }
    let after = match &e.after {
        Some(name) => match ctx.boundaries.get(name) {
            Some(b) => Some((name.as_str(), *b)),
            None => {
                return error(format!(
                    "`after: {name}`: no message was saved under that name by an earlier step"
                ))
            }
        },
        None => None,
    };
    // A candidate the client sent before the step started, kept for the finding if nothing
    // later comes.
    let mut early: Option<(String, Vec<String>)> = None;
    let mut next = 0;
    loop {
        while next < ctx.pool.len() {
            let Some(o) = ctx.pool.get(next) else { break };
            let before_step = !e.earlier && o.seq < ctx.mark;
            match candidate(ctx, e, o) {
                Ok(true) if before_step => {
                    if early.is_none() {
                        early = view(o).map(|v| (v.summary(), v.quote()));
                    }
                    next += 1;
                }
                Ok(true) => {
                    let Some(v) = view(o) else { break };
                    let mut out = match check(e, v, &ctx.env) {
                        Ok(out) => out,
                        Err(err) => return error(err),
                    };
                    let seq = o.seq;
                    let summary = v.summary();
                    ctx.consume(next, e.save.as_deref());
                    ctx.reached = true;
                    if let Some(f) = out
                        .findings
                        .iter()
                        .find(|f| f.key.as_deref() == Some(crate::matcher::NO_RESUME_POINT))
                    {
                        return StepOutcome::NotReached(format!(
                            "{summary} carries no resume point to judge: {}: expected {}, seen {}",
                            f.what, f.expected, f.seen
                        ));
                    }
                    if let Some((name, b)) = after {
                        if seq < b {
                            out.findings.insert(
                                0,
                                Finding::new(
                                    "order",
                                    format!("sent after the message saved as {name}"),
                                    format!("{summary}, sent before it"),
                                )
                                .keyed(crate::matcher::ORDER_KEY),
                            );
                        }
                    }
                    return if out.findings.is_empty() {
                        StepOutcome::Passed
                    } else {
                        StepOutcome::Failed {
                            findings: out.findings,
                            quote: out.quote,
                        }
                    };
                }
                Ok(false) => {
                    let refused = view(o).map(|v| refuses(e, v, &ctx.env));
                    match refused {
                        Some(Ok(true)) => {
                            let (seen, quote) = view(o)
                                .map(|v| (v.summary(), v.quote()))
                                .unwrap_or_default();
                            ctx.consume(next, None);
                            ctx.reached = true;
                            return StepOutcome::Refused {
                                awaited: awaited(e, within),
                                seen,
                                quote,
                            };
                        }
                        Some(Err(err)) => return error(err),
                        _ => next += 1,
                    }
                }
                Err(err) => return error(err),
            }
        }
        match ctx.wait(deadline, false).await {
            Ok(Arrival::Deadline) => {
                // Only a message sent before the step started came: it is evidence, at the
                // wrong time (e.g. a BYE before the stimulus it must follow).
                if let Some((seen, quote)) = early {
                    return StepOutcome::Failed {
                        findings: vec![Finding::new(
                            "order",
                            format!(
                                "{} sent after the step started (after the latest `do` or `send`)",
                                without_article(&awaited(e, within))
                            ),
                            format!("{seen}, sent before the step started"),
                        )
                        .keyed(crate::matcher::ORDER_KEY)],
                        quote,
                    };
                }
                return StepOutcome::TimedOut {
                    awaited: awaited(e, within),
                };
            }
            Ok(_) => {}
            Err(err) => return error(err),
        }
    }
}

/// `resumes: <saved chunk>`: what the simulated role received and acknowledged on that chunk's
/// MSRP session, for the matcher. The situation of a resume is a transfer the role acknowledged
/// in part: with no byte acknowledged the lower bound is byte 1, which a client that tracks
/// nothing meets too, and with every byte acknowledged nothing is left to resume. Either way
/// the step is `inconclusive` (not reached), not a pass.
fn prepare_resume(ctx: &mut Context<'_>, e: &Expect) -> Option<StepOutcome> {
    let name = e.resumes.as_deref()?;
    let Some(session) = ctx.sessions.get(name).copied() else {
        return Some(error(format!(
            "`resumes: {name}` names no MSRP message saved by an earlier `expect`"
        )));
    };
    let p = ctx.net.msrp_progress(session).unwrap_or_default();
    let partial = p.acknowledged > 0 && p.total.is_none_or(|t| p.acknowledged < t);
    if !partial {
        return Some(StepOutcome::NotReached(format!(
            "`resumes: {name}`: the transfer was not interrupted part-way: the simulated role acknowledged {} of {} bytes (received {}), so a resume point cannot show whether the client tracked the bytes",
            p.acknowledged,
            p.total.map_or_else(|| "*".to_string(), |t| t.to_string()),
            p.received
        )));
    }
    ctx.env.transfers.insert(name.to_string(), p);
    None
}

/// `expect: { msrp: CLOSE, to: ROLE }`: the client closes its MSRP connection with ROLE (it
/// releases the media plane, e.g. CR 7.3.4.3 item 3). A connection the simulated role closed
/// itself does not count.
async fn run_expect_close(
    ctx: &mut Context<'_>,
    e: &Expect,
    deadline: Instant,
    within: Duration,
) -> StepOutcome {
    loop {
        let hit = ctx.pool.iter().position(|o| {
            matches!(&o.kind, ObservedKind::MsrpClosed { reason, .. }
                if reason.starts_with("closed by the peer"))
                && e.to.as_deref().is_none_or(|t| t == o.role)
        });
        if let Some(i) = hit {
            ctx.pool.remove(i);
            return StepOutcome::Passed;
        }
        match ctx.wait(deadline, false).await {
            Ok(Arrival::Deadline) => {
                return StepOutcome::Failed {
                    findings: vec![Finding {
                        key: None,
                        what: format!(
                            "MSRP connection with {}",
                            e.to.as_deref().unwrap_or("the simulated network")
                        ),
                        expected: "closed by the client (media released)".into(),
                        seen: format!("still open after {within:?}"),
                    }],
                    quote: Vec::new(),
                }
            }
            Ok(_) => {}
            Err(err) => return error(err),
        }
    }
}

/// Checks pool entries from `from` for a violation of `e`.
fn find_violation(
    ctx: &Context<'_>,
    e: &Expect,
    from: usize,
) -> Result<Option<StepOutcome>, crate::matcher::MatchError> {
    for o in ctx.pool.iter().skip(from) {
        let Some(v) = view(o) else { continue };
        if e.to.as_deref().is_some_and(|t| t != o.role) {
            continue;
        }
        if violates(e, v, &ctx.env)? {
            return Ok(Some(StepOutcome::Failed {
                findings: vec![Finding::new(
                    "message",
                    format!("no {}", without_article(&describe_expect(e))),
                    v.summary(),
                )
                .keyed(crate::matcher::START_KEY)],
                quote: v.quote(),
            }));
        }
    }
    Ok(None)
}

async fn run_expect_none(ctx: &mut Context<'_>, e: &Expect) -> StepOutcome {
    // A forbidden message is evidence in any case; an empty window proves something only
    // where the situation arose (an earlier step observed the client act).
    let earned = ctx.reached;
    let unearned = || {
        StepOutcome::NotReached(format!(
            "no earlier step observed the client act, so the situation of `expect_none {}` never arose",
            describe_expect(e)
        ))
    };
    let window = e.bound(ctx.timing).unwrap_or(ctx.timing.expect_none());
    let deadline = Instant::now() + window;
    // The window starts now: messages taken from the network before this step are outside it;
    // with `earlier: true` it starts at the latest `do` or `send` step.
    let mut checked = if e.earlier {
        let mark = ctx.mark;
        ctx.pool
            .iter()
            .position(|o| o.seq >= mark)
            .unwrap_or(ctx.pool.len())
    } else {
        ctx.pool.len()
    };
    let mut sync_done = false;
    let mut until = deadline;
    loop {
        match find_violation(ctx, e, checked) {
            Ok(Some(v)) => return v,
            Ok(None) => checked = ctx.pool.len(),
            Err(err) => return error(err),
        }
        if !sync_done {
            sync_done = true;
            match ctx.sync().await {
                // Quiescent: what the client sent before answering is on its way; a short
                // grace (bounded by the window) lets it reach the network.
                Ok(true) => until = deadline.min(Instant::now() + ctx.quiet_window()),
                Ok(false) => {}
                Err(err) => return error(err),
            }
        }
        match ctx.wait(until, false).await {
            Ok(Arrival::Deadline) => {
                return match find_violation(ctx, e, checked) {
                    Ok(Some(v)) => v,
                    Ok(None) if earned => StepOutcome::Passed,
                    Ok(None) => unearned(),
                    Err(err) => error(err),
                };
            }
            Ok(_) => {}
            Err(err) => return error(err),
        }
    }
}

async fn run_wait_for(ctx: &mut Context<'_>, w: &WaitFor) -> StepOutcome {
    let within = w
        .within
        .map_or(ctx.timing.expect(), |d| d.scaled(ctx.timing));
    let deadline = Instant::now() + within;
    loop {
        if let Some(pos) = ctx.backlog.iter().position(|e| e.name() == w.event) {
            let Some(event) = ctx.backlog.remove(pos) else {
                continue;
            };
            let data = match event.data() {
                Ok(d) => d,
                Err(e) => return error(e),
            };
            ctx.reached = true;
            return match check_event(w, event.name(), &data, &ctx.env) {
                Ok(Some(out)) if out.matched() => StepOutcome::Passed,
                Ok(Some(out)) => StepOutcome::Failed {
                    findings: out.findings,
                    quote: out.quote,
                },
                Ok(None) => StepOutcome::Passed,
                Err(e) => error(e),
            };
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match ctx.ut.next_event(left).await {
            Ok(e) => ctx.backlog.push_back(e),
            Err(UtError::Timeout { .. }) => {
                return StepOutcome::TimedOut {
                    awaited: format!(
                        "event {} from the client within {}",
                        w.event,
                        human_duration(within)
                    ),
                }
            }
            Err(e) => return error(e),
        }
    }
}

async fn run_group(ctx: &mut Context<'_>, items: &[GroupItem]) -> Vec<(Proves, StepOutcome)> {
    let fail_all = |m: String| -> Vec<(Proves, StepOutcome)> {
        vec![(Proves::nothing(), StepOutcome::Error(m))]
    };
    let reached_before = ctx.reached;
    if items
        .iter()
        .any(|i| matches!(i, GroupItem::Expect(e) | GroupItem::ExpectNone(e) if e.from != "client"))
    {
        return fail_all("only messages of the client are observed (`from: client`)".into());
    }
    let within = items
        .iter()
        .filter_map(|i| match i {
            GroupItem::Expect(e) | GroupItem::ExpectNone(e) => e.bound(ctx.timing),
            GroupItem::WaitFor(w) => w.within.map(|d| d.scaled(ctx.timing)),
        })
        .max()
        .unwrap_or(ctx.timing.expect());
    let deadline = Instant::now() + within;
    if items.iter().any(|i| {
        matches!(i, GroupItem::Expect(e) | GroupItem::ExpectNone(e)
            if e.resumes.is_some() || e.cpim_from_device.is_some())
    }) {
        return fail_all(
            "`resumes` and `cpim_from_device` are judged in a plain `expect` step only, not in a group".into(),
        );
    }
    let mut g = GroupProgress::new(items);
    let has_none = items.iter().any(|i| matches!(i, GroupItem::ExpectNone(_)));
    let mut next_obs = 0;
    let mut sync_done = false;
    let mut until = deadline;
    loop {
        // Offer every new observation and event.
        while next_obs < ctx.pool.len() {
            let Some(o) = ctx.pool.get(next_obs) else {
                break;
            };
            let Some(v) = view(o) else {
                next_obs += 1;
                continue;
            };
            let save = |i: usize| match items.get(i) {
                Some(GroupItem::Expect(e)) => e.save.clone(),
                _ => None,
            };
            match g.offer_message("client", &o.role, v, &ctx.env) {
                Ok(Assignment::Item(i)) => {
                    let name = save(i);
                    ctx.consume(next_obs, name.as_deref());
                }
                Ok(Assignment::Unclaimed) => next_obs += 1,
                Err(e) => return fail_all(e.to_string()),
            }
        }
        let mut k = 0;
        while k < ctx.backlog.len() {
            let Some(e) = ctx.backlog.get(k) else { break };
            let data = e.data().unwrap_or(serde_json::Value::Null);
            match g.offer_event(e.name(), &data, &ctx.env) {
                Ok(Assignment::Item(_)) => {
                    ctx.backlog.remove(k);
                }
                Ok(Assignment::Unclaimed) => k += 1,
                Err(e) => return fail_all(e.to_string()),
            }
        }
        if g.is_complete() {
            if !has_none {
                break;
            }
            if !sync_done {
                sync_done = true;
                match ctx.sync().await {
                    Ok(true) => until = deadline.min(Instant::now() + ctx.quiet_window()),
                    Ok(false) => {}
                    Err(e) => return fail_all(e.to_string()),
                }
            }
        }
        let wants_events = items.iter().any(|i| matches!(i, GroupItem::WaitFor(_)));
        match ctx.wait(until, wants_events).await {
            Ok(Arrival::Deadline) => break,
            Ok(_) => {}
            Err(e) => return fail_all(e.to_string()),
        }
    }
    let positives_met = items.iter().zip(g.states()).all(|(item, st)| match item {
        GroupItem::ExpectNone(_) => true,
        _ => matches!(st, ItemState::Met(_)),
    });
    let has_positive = items.iter().any(|i| !matches!(i, GroupItem::ExpectNone(_)));
    if g.states().iter().any(|st| {
        matches!(
            st,
            ItemState::Met(_) | ItemState::Failed(_) | ItemState::Refused(_)
        )
    }) {
        ctx.reached = true;
    }
    items
        .iter()
        .zip(g.states())
        .map(|(item, st)| {
            let (p, what) = match item {
                GroupItem::Expect(e) => (proves(e), awaited(e, within)),
                GroupItem::ExpectNone(e) => (proves(e), String::new()),
                GroupItem::WaitFor(w) => (
                    Proves {
                        verifies: w.verifies.clone(),
                        evidence: w.evidence.clone(),
                    },
                    format!(
                        "event {} from the client within {}",
                        w.event,
                        human_duration(within)
                    ),
                ),
            };
            let o = match (item, st) {
                (_, ItemState::Met(_)) => StepOutcome::Passed,
                // A SHALL NOT judged only where its situation arose: the group's positive items
                // all met (or, in a group of SHALL NOTs alone, an earlier step observed the client).
                (GroupItem::ExpectNone(e), ItemState::Pending)
                    if (has_positive && !positives_met) || (!has_positive && !reached_before) =>
                {
                    StepOutcome::NotReached(format!(
                        "the situation of `expect_none {}` never arose (the group's other items were not all met)",
                        describe_expect(e)
                    ))
                }
                (GroupItem::ExpectNone(_), ItemState::Pending) => StepOutcome::Passed,
                (_, ItemState::Pending) => StepOutcome::TimedOut { awaited: what },
                (GroupItem::ExpectNone(e), ItemState::Violated(out)) => StepOutcome::Failed {
                    findings: vec![Finding::new(
                        "message",
                        format!("no {}", without_article(&describe_expect(e))),
                        out.quote.first().cloned().unwrap_or_default(),
                    )
                    .keyed(crate::matcher::START_KEY)],
                    quote: out.quote.clone(),
                },
                (_, ItemState::Refused(out)) => StepOutcome::Refused {
                    awaited: what,
                    seen: out.quote.first().cloned().unwrap_or_default(),
                    quote: out.quote.clone(),
                },
                (_, ItemState::Failed(out)) | (_, ItemState::Violated(out)) => {
                    StepOutcome::Failed {
                        findings: out.findings.clone(),
                        quote: out.quote.clone(),
                    }
                }
            };
            (p, o)
        })
        .collect()
}

/// `a 200 response from the client to cf`, `an INVITE from the client`: what an expectation
/// waits for, as a phrase.
pub fn describe_expect(e: &Expect) -> String {
    let what = match (&e.sip, &e.status, &e.msrp) {
        (Some(m), _, _) => format!("a SIP {m} request"),
        (_, Some(s), _) => format!("a {s} response"),
        (_, _, Some(crate::scenario::MsrpStart::Method(m)))
            if m.eq_ignore_ascii_case(crate::matcher::MSRP_OPEN) =>
        {
            "the MSRP connection set up (a SEND or a 2xx, by the negotiated a=setup)".into()
        }
        (_, _, Some(crate::scenario::MsrpStart::Method(m))) => format!("an MSRP {m} request"),
        (_, _, Some(crate::scenario::MsrpStart::Status(c))) => format!("an MSRP {c} response"),
        _ => "a message".into(),
    };
    let from = if e.from == "client" {
        "the client".to_string()
    } else {
        e.from.clone()
    };
    let mut out = format!("{what} from {from}");
    if let Some(t) = &e.to {
        out.push_str(&format!(" to {t}"));
    }
    if let Some(a) = &e.answers {
        out.push_str(&format!(" answering {a}"));
    }
    if let Some(d) = &e.in_dialog {
        out.push_str(&format!(" in the dialog of {d}"));
    }
    out
}

fn without_article(s: &str) -> &str {
    s.strip_prefix("an ")
        .or_else(|| s.strip_prefix("a "))
        .unwrap_or(s)
}

/// A short description of a step for the reports.
pub fn describe(step: &Step) -> String {
    match step {
        Step::Do(c) => format!("do {}", c.single().map_or("?", |(n, _)| n)),
        Step::Send(s) => {
            let what = match (&s.sip, s.status, &s.msrp) {
                (Some(m), _, _) => m.clone(),
                (_, Some(c), _) => c.to_string(),
                (_, _, Some(crate::scenario::MsrpStart::Method(m))) => format!("MSRP {m}"),
                (_, _, Some(crate::scenario::MsrpStart::Status(c))) => format!("MSRP {c}"),
                _ => "?".into(),
            };
            format!("send {what} as {}", s.role)
        }
        Step::Expect(e) => format!("expect {}", describe_expect(e)),
        Step::ExpectNone(e) => format!("expect_none {}", describe_expect(e)),
        Step::WaitFor(w) => format!("wait_for {}", w.event),
        Step::Parallel(i) => format!("parallel ({} items)", i.len()),
        Step::AnyOrder(i) => format!("any_order ({} items)", i.len()),
    }
}

fn step_event(
    s: &Scenario,
    n: usize,
    step: &Step,
    o: &StepOutcome,
    took: Duration,
) -> RunEventKind {
    let (status, findings, quote) = match o {
        StepOutcome::Passed => (StepStatus::Ok, Vec::new(), Vec::new()),
        StepOutcome::Failed { findings, quote } => {
            (StepStatus::Failed, findings.clone(), quote.clone())
        }
        StepOutcome::TimedOut { awaited } => (
            StepStatus::TimedOut,
            vec![Finding::new(
                "message",
                awaited.clone(),
                "(nothing before the deadline)",
            )],
            Vec::new(),
        ),
        StepOutcome::Refused {
            awaited,
            seen,
            quote,
        } => (
            StepStatus::Failed,
            vec![Finding::new("message", awaited.clone(), seen.clone())],
            quote.clone(),
        ),
        StepOutcome::NotReached(m) => (
            StepStatus::Skipped,
            vec![Finding::new("situation", "reached", m.clone())],
            Vec::new(),
        ),
        StepOutcome::Error(m) => (
            StepStatus::Error,
            vec![Finding::new("harness", "the step to run", m.clone())],
            Vec::new(),
        ),
    };
    RunEventKind::StepDone {
        scenario: s.id.clone(),
        step: n,
        description: describe(step),
        status,
        findings,
        quote,
        duration_ms: took.as_millis() as u64,
    }
}

/// Compares (or with `--bless` writes) the golden file; returns `true` on a regression.
fn compare_golden(
    opts: &RunOptions,
    loaded: &LoadedScenario,
    projection: &str,
    ev: &mut Events,
) -> bool {
    let s = &loaded.scenario;
    let Some(golden_root) = &opts.golden_root else {
        return false;
    };
    let path = golden::golden_path(golden_root, &opts.profile.name, &s.id);
    // The scenario file relative to the repository (the golden root's parent), so golden files
    // do not depend on where the repository is checked out.
    let base = golden_root.parent().unwrap_or(Path::new(""));
    let file = Path::new(&loaded.file);
    let source = file
        .strip_prefix(base)
        .unwrap_or(file)
        .display()
        .to_string()
        .replace('\\', "/");
    let expression = format!("golden projection of scenario {}", s.id);
    let push = |ev: &mut Events, status: GoldenStatus, diff: Option<String>| {
        ev.push(RunEventKind::GoldenCompared {
            scenario: s.id.clone(),
            status,
            diff,
        })
    };
    if opts.bless {
        return match golden::bless(&path, &source, &expression, projection) {
            Ok(()) => {
                push(ev, GoldenStatus::Same, None);
                false
            }
            Err(e) => {
                push(
                    ev,
                    GoldenStatus::Differs,
                    Some(format!("could not write {}: {e}", path.display())),
                );
                true
            }
        };
    }
    match golden::compare(&path, projection) {
        Ok(Comparison::Same) => {
            push(ev, GoldenStatus::Same, None);
            false
        }
        Ok(Comparison::Missing) => {
            let _ = golden::write_pending(&path, &source, &expression, projection);
            push(
                ev,
                GoldenStatus::Missing,
                Some(format!(
                    "no golden file {} yet (run with --bless to write it)",
                    path.display()
                )),
            );
            false
        }
        Ok(Comparison::Differs(diff)) => {
            let _ = golden::write_pending(&path, &source, &expression, projection);
            push(ev, GoldenStatus::Differs, Some(diff));
            true
        }
        Err(e) => {
            push(ev, GoldenStatus::Differs, Some(e.to_string()));
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    /// Every expectation kind renders as a sentence, never as program debug output.
    #[rstest]
    #[case("{ sip: INVITE }", "a SIP INVITE request from the client")]
    #[case(
        "{ status: 200, answers: invite }",
        "a 200 response from the client answering invite"
    )]
    #[case("{ status: 2xx, to: cf }", "a 2xx response from the client to cf")]
    #[case("{ msrp: SEND, to: pf }", "an MSRP SEND request from the client to pf")]
    #[case("{ msrp: 200 }", "an MSRP 200 response from the client")]
    #[case(
        "{ sip: BYE, in_dialog: chat }",
        "a SIP BYE request from the client in the dialog of chat"
    )]
    #[case("{ headers: { Event: conference } }", "a message from the client")]
    fn expectations_read_as_sentences(#[case] yaml: &str, #[case] want: &str) {
        let e: Expect = serde_yaml::from_str(yaml).unwrap();
        let text = describe_expect(&e);
        assert_eq!(text, want);
        let awaited = awaited(&e, Duration::from_millis(1500));
        assert!(awaited.ends_with("within 1.5 s"), "{awaited}");
        for debris in ["Code(", "Class(", "Status(", "Method(", "Some(", "\"", "{"] {
            assert!(!awaited.contains(debris), "{awaited:?} shows {debris:?}");
        }
        assert_eq!(
            without_article(&text).chars().next(),
            want.split(' ').nth(1).and_then(|w| w.chars().next())
        );
    }
}
