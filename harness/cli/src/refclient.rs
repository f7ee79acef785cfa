//! `cpmconf refclient`: the reference CPM client as a JSON-lines upper-tester adapter on
//! stdin/stdout (protocol version 1, docs/upper-tester.md) — and the worked example for adapter
//! authors: read one request per line, answer each with one response line, write events as
//! they happen, log only to stderr.

use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;

use clap::Args;
use cpmconf_client::ut::{AdapterMessage, Command, Configure, Request, Response, RunSettings};
use cpmconf_client::{faults_table, hello_result, ClientConfig, FaultSet, RefClient};
use std::io::{BufRead, Write};
use tokio::sync::mpsc;

/// Arguments of `cpmconf refclient`.
#[derive(Args, Debug, Clone)]
pub struct RefclientArgs {
    /// Switch on a named fault (mutation testing); repeatable. `--list-faults` names them.
    #[arg(long = "fault", value_name = "ID")]
    pub faults: Vec<String>,
    /// Print the fault table (id and what it breaks) and exit.
    #[arg(long)]
    pub list_faults: bool,
    /// Local address for SIP and MSRP.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub ip: IpAddr,
}

/// Runs the adapter on a new tokio runtime (for a synchronous `main`).
pub fn main_entry(args: &RefclientArgs) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cpmconf refclient: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(run(args.clone())) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cpmconf refclient: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Serves the upper-tester protocol on stdin/stdout until EOF or `shutdown`.
pub async fn run(args: RefclientArgs) -> anyhow::Result<ExitCode> {
    if args.list_faults {
        print!("{}", faults_table());
        return Ok(ExitCode::SUCCESS);
    }
    let faults = FaultSet::parse(&args.faults)?;
    // One writer owns stdout so responses and events never interleave within a line. Plain
    // threads do the blocking stdin/stdout I/O (the workspace's tokio has no `io-std`).
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<String>();
    let writer = std::thread::spawn(move || {
        let stdout = std::io::stdout();
        while let Some(line) = out_rx.blocking_recv() {
            let mut lock = stdout.lock();
            if lock.write_all(line.as_bytes()).is_err() || lock.flush().is_err() {
                return;
            }
        }
    });
    let (in_tx, mut lines) = mpsc::unbounded_channel::<std::io::Result<String>>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let stop = line.is_err();
            if in_tx.send(line).is_err() || stop {
                return;
            }
        }
    });
    let mut settings = RunSettings::default();
    let mut client: Option<RefClient> = None;
    let respond = |r: Response| {
        let _ = out_tx.send(AdapterMessage::Response(r).to_line());
    };
    while let Some(line) = lines.recv().await {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let req = match Request::from_line(&line) {
            Ok(r) => r,
            Err(e) => {
                // Without an id there is nothing to answer: report it as an event.
                let ev = cpmconf_client::ut::Event::Error(cpmconf_client::ut::ErrorEvent {
                    message: format!("unreadable request line: {e}"),
                });
                let _ = out_tx.send(AdapterMessage::Event(ev).to_line());
                continue;
            }
        };
        let id = req.id;
        match req.command {
            Command::Hello(h) => {
                settings = h.settings;
                respond(Response::ok(id, serde_json::to_value(hello_result())?));
            }
            Command::Configure(c) => match configure(&c, &settings, &faults, args.ip) {
                Ok(cfg) => match RefClient::start_detached(cfg).await {
                    Ok((c, mut events)) => {
                        let out = out_tx.clone();
                        tokio::spawn(async move {
                            while let Some(ev) = events.recv().await {
                                if out.send(AdapterMessage::Event(ev).to_line()).is_err() {
                                    return;
                                }
                            }
                        });
                        eprintln!(
                            "cpmconf refclient: SIP on {}, MSRP on {}",
                            c.sip_addr(),
                            c.msrp_addr()
                        );
                        client = Some(c);
                        respond(Response::ok(id, serde_json::Value::Null));
                    }
                    Err(e) => respond(Response::err(id, e.to_string())),
                },
                Err(e) => respond(Response::err(id, e)),
            },
            Command::Shutdown => {
                respond(Response::ok(id, serde_json::Value::Null));
                break;
            }
            other => match &client {
                None => respond(Response::err(id, "configure first")),
                Some(c) => match c.command(other).await {
                    Ok(v) => respond(Response::ok(id, v)),
                    Err(e) => respond(Response::err(id, e)),
                },
            },
        }
    }
    drop(client);
    drop(out_tx);
    let _ = writer.join();
    Ok(ExitCode::SUCCESS)
}

/// Builds the client configuration from `configure` and the `hello` settings.
fn configure(
    c: &Configure,
    settings: &RunSettings,
    faults: &FaultSet,
    ip: IpAddr,
) -> Result<ClientConfig, String> {
    let mut cfg = ClientConfig::from_configure(c, ip)?;
    cfg.timers = cpmconf_client::ClientTimers {
        clock: settings.clock,
        ..cfg.timers.scaled(settings.time_scale)
    };
    cfg.faults = faults.clone();
    cfg.seed = settings.seed;
    Ok(cfg)
}
