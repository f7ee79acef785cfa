//! `cpmconf check`: judges a capture made anywhere (a device lab, an interop event, `cpmconf
//! run` itself) by the per-message rules: the protocol baseline and the global monitors over
//! every message the client under test sent. Thin: reading is `cpmconf_capture`, judging is
//! `cpmconf_engine::lint`, reporting the reporters a run uses.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use cpmconf_capture::Trace;
use cpmconf_engine::lint::{lint, ClientAddr, LintOptions};
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
    /// Default: the one party in the capture that sends REGISTER.
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
    let mut client = Vec::new();
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
    let trace = match Trace::from_pcap(&a.capture) {
        Ok(t) => t,
        Err(e) => return cannot(format!("{}: {e}", a.capture.display())),
    };
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
    let l = match lint(&catalogue, &trace, &opts) {
        Ok(l) => l,
        Err(e) => return cannot(format!("{}: {e}", a.capture.display())),
    };
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
            trace.entries.len(),
            if l.guessed {
                " (the party that sent REGISTER; --client names another)"
            } else {
                ""
            }
        );
        let mut t = TerminalReporter::new(std::io::stdout());
        if let Err(e) = feed(&mut t, &events) {
            return cannot(format!("terminal: {e}"));
        }
    }
    if let Some(dir) = &a.report {
        if let Err(e) = write_report(dir, &a.capture, &name, &trace, &l.client, &events, &json) {
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

fn write_report(
    dir: &Path,
    capture: &Path,
    name: &str,
    trace: &Trace,
    client: &[ClientAddr],
    events: &[cpmconf_engine::report::RunEvent],
    json: &[u8],
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("pcap"))?;
    std::fs::create_dir_all(dir.join("wire"))?;
    std::fs::copy(capture, dir.join("pcap").join(name))?;
    let role = |a: std::net::SocketAddr| {
        Some(if client.iter().any(|c| c.matches(a)) {
            "client".to_string()
        } else {
            a.to_string()
        })
    };
    std::fs::write(
        dir.join("wire").join(format!("{name}.log")),
        trace.wire_log(&role),
    )?;
    let mut junit = JunitReporter::new(Vec::new());
    feed(&mut junit, events)?;
    let mut html = HtmlReporter::new(Vec::new());
    feed(&mut html, events)?;
    std::fs::write(dir.join("results.json"), json)?;
    std::fs::write(dir.join("junit.xml"), junit.into_inner())?;
    std::fs::write(dir.join("index.html"), html.into_inner())
}
