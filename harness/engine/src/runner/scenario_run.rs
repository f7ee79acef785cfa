//! One scenario, live: fresh tap (pcap written as traffic happens), fresh simulated network,
//! fresh client; the common precondition (hello, configure, register); the steps, each wait with
//! a deadline; then the monitors, the golden comparison and the wire log.

use std::path::Path;

use cpmconf_capture::{attach_pcap, Tap, Trace, TraceFrame};
use cpmconf_client::FaultSet;
use cpmconf_codec::sip::Method;
use cpmconf_sim::{Auth, Mode, NetConfig, Network};
use cpmconf_ut::{
    ClientProfile, Command, Hello, HelloResult, RunSettings, UtError, PROTOCOL_VERSION,
};
use tokio::time::Instant;

use crate::assess::Assessor;
use crate::catalogue::Catalogue;
use crate::golden::{self, Comparison};
use crate::observed::{scenario_seed, MatchEnv};
use crate::report::{GoldenStatus, RunEvent, RunEventKind};
use crate::scenario::{Expect, GroupItem, LoadedScenario, MsrpStart, Scenario, Step};
use crate::verdict::ScenarioResult;

use crate::judge::timeline::{Input, Timeline};
use crate::judge::Feed;
use crate::judge::{judge_steps, Arrived, Judge, Precondition, Want};

use super::client;
use super::context::{LiveFeed, RunError};
use super::monitor;
use super::options::RunOptions;
use crate::judge::labels::Labeler;

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
    let missing = s.missing_capabilities(|c| opts.profile.has_capability(c));
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
    let builtins = bind_builtins(&mut env, opts, &net);
    let feed = LiveFeed::new(&net, started.ut, opts.timing, opts.fixtures_dir.clone());
    let mut ctx = Judge::new(feed, env, opts.timing);
    ctx.feed.timeline.bindings = builtins;
    ctx.feed.timeline.time_scale = opts.timing.scale;
    ctx.feed.timeline.clock = opts.timing.clock;
    let mut warnings: Vec<String> = Vec::new();
    let set_up = setup(&mut ctx, &mut warnings, opts, s, seed).await;
    // Events of the precondition it did not consume start the judge's backlog.
    ctx.feed.timeline.backlog = ctx.backlog.iter().map(Input::event).collect();
    let pre = match set_up {
        Ok(()) => Precondition::Met,
        Err(RunError::Ut(UtError::Timeout { what, .. })) if what == "event" => {
            Precondition::NotReached {
                message: "precondition not reached: no `registered` event after `register`".into(),
                registration: true,
            }
        }
        Err(RunError::Ut(UtError::Rejected { command, error })) => Precondition::NotReached {
            registration: command == "register",
            message: format!("precondition not reached: the client refused `{command}`: {error}"),
        },
        Err(e) => Precondition::Error(format!("setup: {e}")),
    };
    ctx.feed.timeline.precondition = pre.clone();
    judge_steps(&mut ctx, s, &pre, assessor, &mut |k| ev.push(k)).await;
    for message in std::mem::take(&mut warnings) {
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
    let timeline = std::mem::take(&mut ctx.feed.timeline);
    let _ = ctx.feed.ut.shutdown(opts.timing.adapter()).await;
    drop(ctx);
    drop(started.reference);
    // The capture ends here: what the monitors judge, the wire log shows and the pcap holds are
    // the same events (a reply still in flight is in none of them), so `cpmconf check` on the
    // pcap gives the live verdicts.
    tap.finish();
    let events = tap.events();
    let trace = Trace::from_events(&events);
    let labels = Labeler::new(net.role_map());
    let (protocol, stimuli) = monitor::judge_trace(
        assessor,
        &trace,
        &labels,
        &opts.profile,
        opts.strict,
        pre.registration_failed(),
    );
    if !adapter_errors.is_empty() && assessor.is_stopped() {
        assessor.explain(&format!(
            "; the adapter reported: {}",
            adapter_errors.join("; ")
        ));
    }
    base.protocol = protocol;
    base.stimuli = stimuli;
    // The capture says who is who, so `cpmconf check` on it needs no flags.
    if let Err(e) = write_capture_meta(&pcap_dir, s, opts.seed, &trace, &labels, &timeline) {
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

/// Writes `pcap/<id>.pcap.meta.json`: the scenario, the seed, the client's SIP addresses,
/// the role of every simulated socket and Call-ID in the capture, and the judge's timeline.
fn write_capture_meta(
    pcap_dir: &Path,
    s: &Scenario,
    seed: u64,
    trace: &Trace,
    labels: &Labeler,
    timeline: &Timeline,
) -> Result<(), cpmconf_capture::MetaError> {
    let mut client: Vec<std::net::SocketAddr> = Vec::new();
    for e in &trace.entries {
        let (from, _) = labels.roles(e);
        if from == crate::judge::labels::CLIENT && e.sip().is_some() && !client.contains(&e.src) {
            client.push(e.src);
        }
    }
    // The whole role map, not only the addresses that sent or received: an MSRP path may name
    // a simulated endpoint that no captured segment came from.
    let map = labels.map();
    let roles: std::collections::BTreeMap<_, _> = map.addrs.iter().collect();
    let call_ids: std::collections::BTreeMap<_, _> = map.call_ids.iter().collect();
    let meta = cpmconf_capture::CaptureMeta {
        scenario: s.id.clone(),
        client,
        roles: roles
            .into_iter()
            .map(|(addr, role)| cpmconf_capture::RoleEntry {
                addr: *addr,
                role: role.clone(),
            })
            .collect(),
        seed: Some(seed),
        call_ids: call_ids
            .into_iter()
            .map(|(call_id, role)| cpmconf_capture::CallIdEntry {
                call_id: call_id.clone(),
                role: role.clone(),
            })
            .collect(),
        judge: serde_json::to_value(timeline).ok(),
        format_version: cpmconf_capture::meta::FORMAT_VERSION,
    };
    cpmconf_capture::write_sidecar(pcap_dir.join(format!("{}.pcap", s.id)), &meta).map(|_| ())
}

/// Lets exchanges still running when the steps end (a reg-event or conference subscription and
/// its NOTIFYs, MSRP responses) finish, so the golden cut comes at the same point every run.
/// A round is: `sync` (the client handled everything it received), then wait until the client
/// has sent nothing for the quiet window (20 ms, longer when `sync` was answered late). Rounds repeat until one passes with nothing at all on
/// the wire (neither side sent a byte, seen on the tap), at most for the `expect` deadline.
async fn settle(ctx: &mut Judge<LiveFeed<'_>>, tap: &Tap) {
    let end = ctx.feed.now() + ctx.timing.expect();
    loop {
        let before = tap.events().len();
        if ctx.sync_supported != Some(false) {
            let left = end.saturating_sub(ctx.feed.now());
            if tokio::time::timeout(left, ctx.sync()).await.is_err() {
                break;
            }
        }
        let grace = ctx.quiet_window();
        loop {
            let until = end.min(ctx.feed.now() + grace);
            match ctx.wait(until, Want::Observations).await {
                Ok(Arrived::Deadline) | Err(_) => break,
                Ok(_) if ctx.feed.now() >= end => break,
                Ok(_) => {}
            }
        }
        if tap.events().len() == before || ctx.feed.now() >= end {
            break;
        }
    }
}

/// The golden-projection inputs of a trace in capture order, with their roles (undecodable
/// entries are left to the wire log); `golden::project` puts them in canonical order.
fn golden_inputs<'t>(trace: &'t Trace, labels: &Labeler) -> Vec<golden::GoldenInput<'t>> {
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
    let mut cfg = profile_net_config(&opts.profile);
    cfg.timers = opts.timing.sip_timers(cfg.timers);
    cfg.tap = Some(tap.clone());
    // An external client records nothing itself: the network records what it receives too.
    cfg.tap_received = !client::is_in_process(&opts.profile);
    cfg.seed = seed;
    cfg
}

/// What a client profile sets in the network's configuration: its domain, its password,
/// digest authentication with its algorithms, its provisioned service URIs.
pub fn profile_net_config(profile: &ClientProfile) -> NetConfig {
    let mut cfg = NetConfig::new();
    let id = &profile.identity;
    cfg.domain = id.domain.clone();
    cfg.auth = Auth::Digest {
        realm: id.domain.clone(),
        algorithms: profile
            .auth_algorithms
            .iter()
            .map(|a| a.token().to_owned())
            .collect(),
    };
    cfg.passwords.insert(id.user.clone(), id.password.clone());
    if let Some(u) = &profile.provisioned.deferred_mgmt_uri {
        cfg.deferred_mgmt_uri = u.clone();
    }
    if let Some(u) = &profile.provisioned.conference_factory_uri {
        cfg.conference_factory = u.clone();
    }
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
fn bind_builtins(env: &mut MatchEnv, opts: &RunOptions, net: &Network) -> Vec<(String, String)> {
    let set = builtins(&opts.profile, net.config(), &net.core_addr().to_string());
    for (k, v) in &set {
        env.bindings.set(k.clone(), v.clone());
    }
    set
}

/// The prefix of the values a client profile provisions (`${client.provisioned.pager_limit}`):
/// a profile without one leaves the reference undefined, and a step that needs it is not
/// reached for that client (not a harness error).
pub(crate) const PROVISIONED: &str = "client.provisioned.";

/// The `${client.*}` values of a profile and the `${sim.*}` values of a network
/// configuration whose core listens on `core`.
pub fn builtins(p: &ClientProfile, c: &NetConfig, core: &str) -> Vec<(String, String)> {
    let mut set: Vec<(String, String)> = Vec::new();
    let b = &mut Builtins(&mut set);
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
            b.set(format!("{PROVISIONED}{name}"), v.to_string());
            b.set(
                format!("{PROVISIONED}{name}_plus_one"),
                v.saturating_add(1).to_string(),
            );
        }
    }
    b.set("sim.domain", c.domain.clone());
    b.set("sim.core", core.to_string());
    b.set("sim.conference_factory", c.conference_factory.clone());
    b.set("sim.deferred_mgmt_uri", c.deferred_mgmt_uri.clone());
    for g in &c.predefined_groups {
        if let Some(user) = g.uri.strip_prefix("sip:").and_then(|u| u.split('@').next()) {
            b.set(format!("sim.group.{user}"), g.uri.clone());
        }
    }
    set
}

/// Collects `${client.*}` and `${sim.*}` values (the timeline records them for a replay).
struct Builtins<'a>(&'a mut Vec<(String, String)>);

impl Builtins<'_> {
    fn set(&mut self, k: impl Into<String>, v: impl Into<String>) {
        self.0.push((k.into(), v.into()));
    }
}

/// The common precondition: hello, configure, and (unless `setup: { register: false }`) register
/// and wait for `registered`.
async fn setup(
    ctx: &mut Judge<LiveFeed<'_>>,
    warnings: &mut Vec<String>,
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
    let r = ctx.feed.ut.command(hello, opts.timing.adapter()).await?;
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
        warnings.push(format!(
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
    let core = ctx.feed.net.core_addr().to_string();
    ctx.feed
        .command(Command::Configure(opts.profile.configure(&core)))
        .await?;
    if s.setup.register {
        ctx.feed.command(Command::Register).await?;
        let deadline = Instant::now() + ctx.timing.expect();
        wait_event(ctx, "registered", deadline).await?;
    }
    Ok(())
}

/// The first event named `name` (from the backlog or arriving before `deadline`).
async fn wait_event(
    ctx: &mut Judge<LiveFeed<'_>>,
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
        let e = ctx.feed.ut.next_event(left).await?;
        ctx.backlog.push_back(e);
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
