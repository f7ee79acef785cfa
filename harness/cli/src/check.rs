//! `cpmconf check`: judges a capture made anywhere (a device lab, an interop event, `cpmconf
//! run` itself): against scenarios with the run's judge (`cpmconf_engine::check`), or by the
//! per-message rules alone (the protocol baseline and the global monitors over every message the
//! client under test sent, `cpmconf_engine::lint`). Thin: reading is `cpmconf_capture`,
//! reporting the reporters a run uses.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use std::io::Write;

use cpmconf_capture::{read_sidecar, CaptureError, Trace, TraceEntry, TraceItem, TraceStream};
use cpmconf_engine::lint::{ClientAddr, Judge, Lint, LintOptions, Survey};
use cpmconf_engine::report::{
    HtmlReporter, JsonReporter, JunitReporter, Reporter, TerminalReporter,
};
use cpmconf_engine::runner::now_stamp;
use cpmconf_engine::ut::ClientProfile;
use cpmconf_engine::Catalogue;

/// Arguments of `cpmconf check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The capture: pcap or pcapng (Ethernet, Linux cooked SLL, raw IP or BSD loopback link
    /// layer; IPv4 or IPv6; SIP over UDP and TCP, MSRP over TCP, reassembled).
    #[arg(value_name = "CAPTURE")]
    capture: PathBuf,
    /// The client under test, IP or IP:PORT (repeatable; an IP alone matches all its ports).
    /// Lint mode: default the client named in the capture's sidecar (`<capture>.meta.json`,
    /// written by `cpmconf run`), else the one party in the capture that sends REGISTER; alone
    /// (without --scenario or --roles) it selects lint mode. Scenario mode: every address that
    /// is neither the client nor in the role map is a third party (default: every such address
    /// is the client).
    #[arg(long, value_name = "ADDR")]
    client: Vec<String>,
    /// A client profile: its digest password (to recompute Authorization responses) and
    /// `protocol_waivers`; in scenario mode also its identity, provisioned values and
    /// capabilities (`${client.*}`, `requires`). Default in scenario mode: the built-in
    /// reference client's.
    #[arg(long, value_name = "PROFILE")]
    profile: Option<PathBuf>,
    /// The client's digest password (overrides the profile's), to recompute its Authorization
    /// responses; without it that check is skipped.
    #[arg(long, value_name = "PASSWORD")]
    password: Option<String>,
    /// SHOULD rules fail the gate, and the strict User-Agent reading applies (on the ACK of a
    /// non-2xx response and on CANCEL too).
    #[arg(long)]
    strict: bool,
    /// Print results.json to standard output instead of the terminal summary.
    #[arg(long)]
    json: bool,
    /// Also write a report folder: results.json, junit.xml, index.html, wire/<capture>.log and
    /// a copy of the capture in pcap/.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Judge the capture against this scenario (repeatable). Default: the scenario named in the
    /// capture's sidecar, when it has one (unless --lint).
    #[arg(long, value_name = "ID")]
    scenario: Vec<String>,
    /// Scenario directory (default: the scenarios built into cpmconf).
    #[arg(long, value_name = "DIR")]
    scenarios: Option<PathBuf>,
    /// Who is who in a capture made elsewhere (YAML): `roles:` maps each simulated party's
    /// address to its role (`"10.0.0.1:5060": core`, `"10.0.0.1:7000": pf`), `call_ids:`
    /// optionally maps Call-IDs to roles where one address serves several. Every other address
    /// is the client. Default: the sidecar's role map.
    #[arg(long, value_name = "FILE")]
    roles: Option<PathBuf>,
    /// The run seed of the scenario's `given` values. Default: the sidecar's, else 0.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Do not replay the run's timeline from the sidecar: judge the capture as one made
    /// elsewhere (stimuli found in the capture, no upper-tester events).
    #[arg(long)]
    no_timeline: bool,
    /// Per-message rules only, even when the sidecar names a scenario.
    #[arg(long, conflicts_with_all = ["scenario", "roles", "no_timeline"])]
    lint: bool,
}

/// A `--roles` file.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RolesFile {
    /// Address -> role.
    roles: std::collections::BTreeMap<String, String>,
    /// Call-ID -> role.
    #[serde(default)]
    call_ids: std::collections::BTreeMap<String, String>,
}

fn read_roles(path: &Path) -> Result<cpmconf_capture::RoleMap, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let f: RolesFile = serde_yaml::from_str(&text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!(":{}:{}", l.line(), l.column()))
            .unwrap_or_default();
        format!(
            "{}{at}: {e} (expected `roles:` mapping addresses IP:PORT to role names, and optionally `call_ids:`)",
            path.display()
        )
    })?;
    let mut map = cpmconf_capture::RoleMap::default();
    for (addr, role) in f.roles {
        let a: std::net::SocketAddr = addr.parse().map_err(|_| {
            format!(
                "{}: `{addr}` is not an address (expected IP:PORT, [IPv6]:PORT)",
                path.display()
            )
        })?;
        map.addrs.insert(a, role);
    }
    map.call_ids = f.call_ids.into_iter().collect();
    Ok(map)
}

/// Exit status when the capture cannot be judged.
const CANNOT_JUDGE: u8 = 2;

fn cannot(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("cpmconf check: {msg}");
    ExitCode::from(CANNOT_JUDGE)
}

/// `cpmconf check`: exit 0 every rule passes, 1 a rule failed, 2 the capture cannot be judged
/// (unreadable, not a capture, truncated, no SIP from the client, no client to judge).
pub fn run(a: &CheckArgs) -> ExitCode {
    let catalogue = match Catalogue::embedded() {
        Ok(c) => c,
        Err(e) => return cannot(e),
    };
    let mut client: Vec<ClientAddr> = Vec::new();
    for c in &a.client {
        match ClientAddr::parse(c) {
            Ok(c) => client.push(c),
            Err(e) => return cannot(format!("--client {e}")),
        }
    }
    let profile = match &a.profile {
        Some(p) => match ClientProfile::load(p) {
            Ok(p) => Some(p),
            Err(e) => return cannot(e),
        },
        None => None,
    };
    let sidecar = match read_sidecar(&a.capture) {
        Ok(m) => m,
        Err(e) => return cannot(e),
    };
    // A sidecar's scenario is judged unless the per-message rules are asked for (`--lint`, or
    // `--client` naming the party to lint).
    let scenario_ids: Vec<String> = if a.lint {
        Vec::new()
    } else if !a.scenario.is_empty() {
        a.scenario.clone()
    } else if !a.client.is_empty() && a.roles.is_none() {
        Vec::new()
    } else {
        sidecar
            .as_ref()
            .map(|m| m.scenario.clone())
            .filter(|s| !s.is_empty())
            .into_iter()
            .collect()
    };
    if !scenario_ids.is_empty() {
        return scenario_mode(
            a,
            &catalogue,
            profile,
            sidecar.as_ref(),
            &scenario_ids,
            &client,
        );
    }
    // A capture written by `cpmconf run` says who the client is (its sidecar).
    let mut from_sidecar = false;
    if client.is_empty() {
        if let Some(meta) = &sidecar {
            client = meta
                .client
                .iter()
                .map(|a| ClientAddr {
                    ip: a.ip(),
                    port: Some(a.port()),
                })
                .collect();
            from_sidecar = !client.is_empty();
        }
    }
    let name = a
        .capture
        .file_name()
        .map_or_else(|| "capture".into(), |n| n.to_string_lossy().to_string());
    let opts = LintOptions {
        name: name.clone(),
        client,
        password: a
            .password
            .clone()
            .or_else(|| profile.as_ref().map(|p| p.identity.password.clone())),
        strict: a.strict,
        waivers: profile
            .as_ref()
            .map(|p| p.protocol_waivers.clone())
            .unwrap_or_default(),
        // The terminal summary shows no ladder; results.json and the report folder do.
        no_ladder: !a.json && a.report.is_none(),
    };
    // Streaming: memory is bounded by what is open in the capture, not its length. With the
    // client named, one pass that surveys as it goes; two (a survey, then the judge) when the
    // client must be found first or the one pass learned too late something a judged part
    // depended on (the result is the same either way).
    let mut problems: Vec<String> = Vec::new();
    let mut single = None;
    if let Some(mut judge) = Judge::single_pass(&catalogue, &opts) {
        if let Err(e) = each_entry(&a.capture, &mut |e| judge.push(e), &mut problems) {
            return cannot(format!("{}: {e}", a.capture.display()));
        }
        if let Err(e) = judge.client_sent() {
            return cannot(format!("{}: {e}", a.capture.display()));
        }
        if judge.needs_second_pass() {
            problems.clear();
        } else {
            single = Some(judge.finish());
        }
    }
    let l = match single {
        Some(l) => l,
        None => {
            let mut survey = Survey::default();
            if let Err(e) = each_entry(&a.capture, &mut |e| survey.push(&e), &mut problems) {
                return cannot(format!("{}: {e}", a.capture.display()));
            }
            let mut judge = match Judge::new(&catalogue, &opts, &survey) {
                Ok(j) => j,
                Err(e) => return cannot(format!("{}: {e}", a.capture.display())),
            };
            let mut ignored = Vec::new();
            if let Err(e) = each_entry(&a.capture, &mut |e| judge.push(e), &mut ignored) {
                return cannot(format!("{}: {e}", a.capture.display()));
            }
            judge.finish()
        }
    };
    let (started_at, _) = now_stamp();
    let events = l.events(&started_at);
    let clients = l
        .client
        .iter()
        .map(ClientAddr::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let mut header = vec![format!(
        "{}: {} message(s), client {clients}{}",
        a.capture.display(),
        l.messages,
        if from_sidecar {
            " (from the capture's sidecar .meta.json; --client names another)"
        } else if l.guessed {
            " (the party that sent REGISTER; --client names another)"
        } else {
            ""
        }
    )];
    header.extend(
        problems
            .iter()
            .take(5)
            .map(|p| format!("capture problem: {p}")),
    );
    if problems.len() > 5 {
        header.push(format!("capture problems: {} in all", problems.len()));
    }
    if let Err(code) = output(a, &events, &header) {
        return code;
    }
    if let Some(dir) = &a.report {
        if let Err(e) = write_report(dir, &a.capture, &name, &l, &events) {
            return cannot(format!("{}: {e}", dir.display()));
        }
        if !a.json {
            println!("report: {}", dir.display());
        }
    }
    if l.gate.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Prints the check's outcome: results.json with --json, else `header` and the terminal
/// summary.
fn output(
    a: &CheckArgs,
    events: &[cpmconf_engine::report::RunEvent],
    header: &[String],
) -> Result<(), ExitCode> {
    if a.json {
        let json = results_json(events).map_err(|e| cannot(format!("results.json: {e}")))?;
        println!("{}", String::from_utf8_lossy(&json));
        return Ok(());
    }
    for h in header {
        println!("{h}");
    }
    let mut t = TerminalReporter::new(std::io::stdout());
    if let Err(e) = feed(&mut t, events) {
        return Err(cannot(format!("terminal: {e}")));
    }
    Ok(())
}

/// results.json of the check (made only when printed or written: the ladder it carries is
/// the largest part of the output).
fn results_json(events: &[cpmconf_engine::report::RunEvent]) -> std::io::Result<Vec<u8>> {
    let mut json = JsonReporter::new(Vec::new());
    feed(&mut json, events)?;
    Ok(json.into_inner())
}

/// The report folder's copy of the capture and its run files (results.json, junit.xml,
/// index.html); the caller writes the wire log.
fn write_run_files(
    dir: &Path,
    capture: &Path,
    name: &str,
    events: &[cpmconf_engine::report::RunEvent],
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("pcap"))?;
    std::fs::create_dir_all(dir.join("wire"))?;
    std::fs::copy(capture, dir.join("pcap").join(name))?;
    let mut junit = JunitReporter::new(Vec::new());
    feed(&mut junit, events)?;
    let mut html = HtmlReporter::new(Vec::new());
    feed(&mut html, events)?;
    std::fs::write(dir.join("results.json"), results_json(events)?)?;
    std::fs::write(dir.join("junit.xml"), junit.into_inner())?;
    std::fs::write(dir.join("index.html"), html.into_inner())
}

fn feed(r: &mut dyn Reporter, events: &[cpmconf_engine::report::RunEvent]) -> std::io::Result<()> {
    for ev in events {
        r.event(ev)?;
    }
    r.finish()
}

/// Calls `f` with every entry of the capture, in order, streaming; frame problems (undecodable
/// frames, TCP gaps) are collected as text. Reading and decoding run on a second thread, a few
/// batches ahead of `f` (bounded: memory stays flat), so decoding and judging share the cores.
fn each_entry(
    capture: &Path,
    f: &mut dyn FnMut(TraceEntry),
    problems: &mut Vec<String>,
) -> Result<(), CaptureError> {
    const BATCH: usize = 256;
    let stream = TraceStream::open(capture)?;
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Result<TraceItem, CaptureError>>>(4);
        s.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            for item in stream {
                batch.push(item);
                if batch.len() == BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    if tx.send(full).is_err() {
                        return;
                    }
                }
            }
            let _ = tx.send(batch);
        });
        for batch in rx {
            for item in batch {
                match item? {
                    TraceItem::Entry(e) => f(e),
                    TraceItem::Problem(p) => problems.push(p.to_string()),
                    // The per-message rules look at messages, not at connection closes.
                    TraceItem::End(_) => {}
                }
            }
        }
        Ok(())
    })
}

fn write_report(
    dir: &Path,
    capture: &Path,
    name: &str,
    l: &Lint,
    events: &[cpmconf_engine::report::RunEvent],
) -> std::io::Result<()> {
    write_run_files(dir, capture, name, events)?;
    let role = |a: std::net::SocketAddr| {
        Some(if l.client.iter().any(|c| c.matches(a)) {
            "client".to_string()
        } else {
            a.to_string()
        })
    };
    write_wire_log(dir, capture, name, &role)
}

/// Writes `wire/NAME.log` of the report in `dir`, reading the capture again as a stream: each
/// message as the wire log shows it (`names` names the addresses), then the capture's problems.
fn write_wire_log(
    dir: &Path,
    capture: &Path,
    name: &str,
    names: &dyn Fn(std::net::SocketAddr) -> Option<String>,
) -> std::io::Result<()> {
    let mut log = std::io::BufWriter::new(std::fs::File::create(
        dir.join("wire").join(format!("{name}.log")),
    )?);
    let mut entries = TraceStream::open(capture).map_err(std::io::Error::other)?;
    let mut one = Trace {
        entries: Vec::new(),
        start: None,
        problems: Vec::new(),
        ends: Vec::new(),
    };
    let mut problems = Vec::new();
    while let Some(item) = entries.next() {
        match item.map_err(std::io::Error::other)? {
            TraceItem::Entry(e) => {
                one.start = one.start.or(entries.start());
                log.write_all(one.entry_log(&e, names).as_bytes())?;
            }
            TraceItem::Problem(p) => problems.push(p),
            TraceItem::End(_) => {}
        }
    }
    // In frame order, as a capture read whole lists them (a gap is found at the end of its
    // stream, after later frames).
    problems.sort_by_key(|p| p.frame);
    one.problems = problems;
    // The problems section alone (no entries are left in `one`).
    log.write_all(one.wire_log(names).as_bytes())?;
    log.flush()
}

/// `cpmconf check --scenario`: each scenario judged from the capture, reported like a run.
fn scenario_mode(
    a: &CheckArgs,
    catalogue: &Catalogue,
    profile: Option<ClientProfile>,
    sidecar: Option<&cpmconf_capture::CaptureMeta>,
    ids: &[String],
    client: &[ClientAddr],
) -> ExitCode {
    use cpmconf_capture::CaptureFile;
    use cpmconf_engine::check::{check_scenario, timeline_of, CaptureSurvey, CheckOptions};
    use cpmconf_engine::judge::labels::Labeler;
    use cpmconf_engine::report::{RunEvent, RunEventKind};
    let profile = match profile {
        Some(p) => p,
        None => match ClientProfile::from_yaml(
            crate::embedded::REFERENCE_PROFILE,
            crate::embedded::REFERENCE_PROFILE_ORIGIN,
        ) {
            Ok(p) => p,
            Err(e) => return cannot(e),
        },
    };
    let mut map = match (&a.roles, sidecar) {
        (Some(path), _) => match read_roles(path) {
            Ok(m) => m,
            Err(e) => return cannot(format!("--roles {e}")),
        },
        (None, Some(meta)) => meta.role_map(),
        (None, None) => {
            return cannot(format!(
                "{} has no sidecar ({}) saying who is who: give --roles FILE for a capture made elsewhere, or --lint for the per-message rules",
                a.capture.display(),
                cpmconf_capture::sidecar_path(&a.capture).display()
            ))
        }
    };
    let all = match crate::run::load_valid_scenarios(a.scenarios.as_deref(), catalogue) {
        Ok(s) => s,
        Err(e) => return cannot(e),
    };
    let mut chosen = Vec::new();
    for id in ids {
        match all.iter().find(|l| &l.scenario.id == id) {
            Some(l) => chosen.push(l),
            None => {
                return cannot(format!(
                    "unknown scenario {id} (`cpmconf coverage` lists the scenarios)"
                ))
            }
        }
    }
    // The capture is read as a stream, never held whole: a survey first (who is who, the
    // REGISTER exchanges), then each scenario reads as far as its steps reach.
    let capture = CaptureFile(a.capture.clone());
    let survey = match CaptureSurvey::of(&capture) {
        Ok(s) => s,
        Err(e) => return cannot(format!("{}: {e}", a.capture.display())),
    };
    // With --client, only those addresses are the client: any other address the role map does
    // not name is a third party, labelled by its address.
    if !client.is_empty() {
        for &x in &survey.addresses {
            if map.role_of_addr(x).is_none() && !client.iter().any(|c| c.matches(x)) {
                map.addrs.insert(x, format!("other {x}"));
            }
        }
    }
    let labels = Labeler::new(map);
    if !survey.client_sent_sip(&labels) {
        return cannot(format!(
            "{}: no SIP message from the client (every address not in the role map) in the capture",
            a.capture.display()
        ));
    }
    let seed = a.seed.or_else(|| sidecar.and_then(|m| m.seed)).unwrap_or(0);
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return cannot(e),
    };
    let capture_name = a
        .capture
        .file_name()
        .map_or_else(|| "capture".into(), |n| n.to_string_lossy().to_string());
    let opts = CheckOptions {
        profile: &profile,
        strict: a.strict,
        seed,
        capture_name,
    };
    let (started_at, _) = now_stamp();
    let ev = |kind| RunEvent {
        elapsed_ms: 0,
        kind,
    };
    let mut events = vec![ev(RunEventKind::RunStarted {
        seed,
        client: profile.name.clone(),
        strict: a.strict,
        started_at,
        scenarios: chosen.len(),
    })];
    let mut results = Vec::new();
    let mut notes = Vec::new();
    for l in chosen {
        // The run's timeline belongs to the scenario the capture was recorded for.
        let timeline = match sidecar.filter(|m| m.scenario == l.scenario.id && !a.no_timeline) {
            Some(m) => match timeline_of(m) {
                Ok(t) => t,
                Err(e) => return cannot(e),
            },
            None => None,
        };
        let r = rt.block_on(check_scenario(
            catalogue,
            l,
            &capture,
            &survey,
            &labels,
            timeline.as_ref(),
            &opts,
        ));
        if let Some(e) = r.read_error {
            return cannot(format!("{}: {e}", a.capture.display()));
        }
        notes.push(format!(
            "{}: {}",
            l.scenario.id,
            if r.replayed {
                "judged by replaying the run's timeline from the sidecar"
            } else {
                "judged as a capture made elsewhere (stimuli found in the capture; upper-tester events and `do` times unknown; what the capture does not reach is not judged)"
            }
        ));
        results.push(r.result.clone());
        events.extend(r.events);
    }
    let gate = cpmconf_engine::verdict::gate(&results, a.strict);
    let passed = gate.passed;
    events.push(ev(RunEventKind::RunFinished { gate }));
    let limit = cpmconf_engine::lint::LADDER_LIMIT;
    let mut header = vec![format!(
        "{}: {} message(s){}",
        a.capture.display(),
        survey.messages,
        if survey.messages > limit {
            format!(" (the report's ladder shows the first {limit})")
        } else {
            String::new()
        }
    )];
    header.extend(notes);
    if let Err(code) = output(a, &events, &header) {
        return code;
    }
    if let Some(dir) = &a.report {
        let name = a
            .capture
            .file_name()
            .map_or_else(|| "capture".into(), |n| n.to_string_lossy().to_string());
        let written = write_run_files(dir, &a.capture, &name, &events)
            .and_then(|()| write_wire_log(dir, &a.capture, &name, &|x| labels.name(x)));
        if let Err(e) = written {
            return cannot(format!("{}: {e}", dir.display()));
        }
        if !a.json {
            println!("report: {}", dir.display());
        }
    }
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
