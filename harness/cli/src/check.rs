//! `cpmconf check`: judges a capture made anywhere (a device lab, an interop event, `cpmconf
//! run` itself) by the per-message rules: the protocol baseline and the global monitors over
//! every message the client under test sent. Thin: reading is `cpmconf_capture`, judging is
//! `cpmconf_engine::lint`, reporting the reporters a run uses.

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
    /// The client under test: IP or IP:PORT (repeatable; an IP alone matches all its ports).
    /// Default: the client named in the capture's sidecar (`<capture>.meta.json`, written by
    /// `cpmconf run`), else the one party in the capture that sends REGISTER.
    #[arg(long, value_name = "ADDR")]
    client: Vec<String>,
    /// A client profile to take the digest password (to recompute Authorization responses) and
    /// the `protocol_waivers` from.
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
    // A capture written by `cpmconf run` says who the client is (its sidecar).
    let mut from_sidecar = false;
    if client.is_empty() {
        match read_sidecar(&a.capture) {
            Ok(Some(meta)) => {
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
            Ok(None) => {}
            Err(e) => return cannot(e),
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
    };
    // Two streaming passes: memory is bounded by what is open in the capture, not its length.
    let mut survey = Survey::default();
    let mut problems: Vec<String> = Vec::new();
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
    let l = judge.finish();
    let (started_at, _) = now_stamp();
    let events = l.events(&started_at);
    let clients = l
        .client
        .iter()
        .map(ClientAddr::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let mut json = JsonReporter::new(Vec::new());
    if let Err(e) = feed(&mut json, &events) {
        return cannot(format!("results.json: {e}"));
    }
    let json = json.into_inner();
    if a.json {
        println!("{}", String::from_utf8_lossy(&json));
    } else {
        println!(
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
        );
        for p in problems.iter().take(5) {
            println!("capture problem: {p}");
        }
        if problems.len() > 5 {
            println!("capture problems: {} in all", problems.len());
        }
        let mut t = TerminalReporter::new(std::io::stdout());
        if let Err(e) = feed(&mut t, &events) {
            return cannot(format!("terminal: {e}"));
        }
    }
    if let Some(dir) = &a.report {
        if let Err(e) = write_report(dir, &a.capture, &name, &l, &events, &json) {
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

fn feed(r: &mut dyn Reporter, events: &[cpmconf_engine::report::RunEvent]) -> std::io::Result<()> {
    for ev in events {
        r.event(ev)?;
    }
    r.finish()
}

/// Calls `f` with every entry of the capture, in order, streaming; frame problems (undecodable
/// frames, TCP gaps) are collected as text.
fn each_entry(
    capture: &Path,
    f: &mut dyn FnMut(TraceEntry),
    problems: &mut Vec<String>,
) -> Result<(), CaptureError> {
    for item in TraceStream::open(capture)? {
        match item? {
            TraceItem::Entry(e) => f(e),
            TraceItem::Problem(p) => problems.push(p.to_string()),
        }
    }
    Ok(())
}

fn write_report(
    dir: &Path,
    capture: &Path,
    name: &str,
    l: &Lint,
    events: &[cpmconf_engine::report::RunEvent],
    json: &[u8],
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("pcap"))?;
    std::fs::create_dir_all(dir.join("wire"))?;
    std::fs::copy(capture, dir.join("pcap").join(name))?;
    let role = |a: std::net::SocketAddr| {
        Some(if l.client.iter().any(|c| c.matches(a)) {
            "client".to_string()
        } else {
            a.to_string()
        })
    };
    // The wire log, written as the capture streams by.
    let mut log = std::io::BufWriter::new(std::fs::File::create(
        dir.join("wire").join(format!("{name}.log")),
    )?);
    let mut failed: Option<std::io::Error> = None;
    let mut entries = TraceStream::open(capture).map_err(std::io::Error::other)?;
    let start = entries.start();
    for item in entries.by_ref() {
        if let TraceItem::Entry(e) = item.map_err(std::io::Error::other)? {
            let part = Trace {
                entries: vec![e],
                start,
                problems: Vec::new(),
            };
            if let Err(err) = log.write_all(part.wire_log(&role).as_bytes()) {
                failed.get_or_insert(err);
            }
        }
    }
    if let Some(e) = failed {
        return Err(e);
    }
    log.flush()?;
    let mut junit = JunitReporter::new(Vec::new());
    feed(&mut junit, events)?;
    let mut html = HtmlReporter::new(Vec::new());
    feed(&mut html, events)?;
    std::fs::write(dir.join("results.json"), json)?;
    std::fs::write(dir.join("junit.xml"), junit.into_inner())?;
    std::fs::write(dir.join("index.html"), html.into_inner())
}
