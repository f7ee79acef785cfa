//! `cpmconf serve`: the simulated network as a standalone server for live testing of real
//! clients (interop events): registrar, proxy between registered UAs, simulated remote users,
//! CF and PF, a periodic summary line (a line per message with `--log`), and a pcap that is
//! whole after SIGINT or SIGTERM.

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use cpmconf_capture::{attach_pcap, Tap, WireEvent, WireEventKind, WireSink};
use cpmconf_engine::ut::DigestAlgorithm;
use cpmconf_sim::{Auth, NetConfig, Network};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// Registrar authentication of `cpmconf serve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthMode {
    /// Accept every REGISTER.
    None,
    /// Challenge REGISTER with 401 (digest, algorithms from --auth-algorithms); the password
    /// of a user is its user part unless given with --password.
    Digest,
}

/// Arguments of `cpmconf serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address of the SIP core (UDP and TCP).
    #[arg(long, default_value = "127.0.0.1:5060")]
    pub listen: SocketAddr,
    /// Write every message to this pcap file as it happens.
    #[arg(long)]
    pub pcap: Option<PathBuf>,
    /// The home domain.
    #[arg(long, default_value = "cpm.test")]
    pub domain: String,
    /// Registrar authentication.
    #[arg(long, value_enum, default_value_t = AuthMode::None)]
    pub auth: AuthMode,
    /// Digest algorithms offered with --auth digest, one WWW-Authenticate each, in this order
    /// (`md5`, `sha-256`; comma-separated). RFC 8760 clients answer the first they support;
    /// SIPp 3.6 answers only MD5 and gives up when another comes first. Put `sha-256` first to
    /// have RFC 8760 clients use it.
    #[arg(long, value_name = "LIST", default_value = "md5,sha-256")]
    pub auth_algorithms: String,
    /// A digest password, as USER=PASSWORD (repeatable).
    #[arg(long = "password", value_name = "USER=PASSWORD")]
    pub passwords: Vec<String>,
    /// Allow a non-loopback --listen address (the simulator has no security of its own).
    #[arg(long)]
    pub public: bool,
    /// Seed of generated identifiers.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Every SECS seconds, a summary line: SIP messages received and their rate since the
    /// last line, malformed ones, transactions held (0: only at the end).
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub summary_interval: u64,
    /// Also print a line per message (source -> destination, protocol, first line). Off by
    /// default: at thousands of messages per second the printing costs more than serving.
    #[arg(long)]
    pub log: bool,
}

/// Malformed messages reported, for the summary.
#[derive(Debug, Default)]
struct Counts {
    malformed: std::sync::atomic::AtomicU64,
}

/// The summary line: messages received (and their rate over the last `over`, when given),
/// malformed ones, what the core holds for its transactions (in progress, finished and kept
/// for retransmissions, the bytes those keep).
fn summary_line(
    net: &Network,
    counts: &Counts,
    held: Option<(usize, usize, usize)>,
    rate: Option<(u64, std::time::Duration)>,
) -> String {
    use std::fmt::Write;
    let received = net.received_messages();
    let mut line = format!("cpmconf serve: summary: {received} message(s) received");
    if let Some((before, over)) = rate {
        let per_s = (received - before.min(received)) as f64 / over.as_secs_f64().max(1e-3);
        let _ = write!(
            line,
            " ({per_s:.0}/s over the last {:.0} s)",
            over.as_secs_f64()
        );
    }
    let _ = write!(
        line,
        ", {} malformed",
        counts.malformed.load(std::sync::atomic::Ordering::Relaxed)
    );
    if let Some((live, finished, bytes)) = held {
        let _ = write!(
            line,
            ", {live} transaction(s) in progress, {finished} finished kept for retransmissions \
             ({} KiB)",
            bytes / 1024
        );
    }
    line
}

/// What the core holds, for [`summary_line`].
fn held(r: cpmconf_sim::Retained) -> (usize, usize, usize) {
    (r.clients + r.servers, r.completed, r.completed_bytes)
}

/// One `finding:` line per deviation of a malformed message (RFC rule and byte offset).
fn print_malformed(m: &cpmconf_sim::Malformed) {
    let what = m.start_line.as_deref().unwrap_or("undecodable bytes");
    let fate = if m.dropped { "dropped" } else { "handled" };
    for f in &m.findings {
        println!(
            "finding: {} ({:?}) {what}: {f} [{fate}]",
            m.from, m.transport
        );
    }
}

/// Prints one line per captured message (`--log`).
struct LogSink;

impl WireSink for LogSink {
    fn on_event(&mut self, e: &WireEvent) {
        let WireEventKind::Data(bytes) = &e.kind else {
            return;
        };
        let text = String::from_utf8_lossy(bytes);
        let first = text.lines().next().unwrap_or("").trim();
        if first.is_empty() {
            return;
        }
        let proto = if first.starts_with("MSRP ") {
            "MSRP"
        } else {
            "SIP"
        };
        println!("{} -> {} {proto} {first}", e.src, e.dst);
    }
}

/// The network settings `args` ask for; refuses a public address without `--public`.
pub fn config(args: &ServeArgs) -> anyhow::Result<NetConfig> {
    if !args.listen.ip().is_loopback() && !args.public {
        bail!(
            "refusing to listen on non-loopback address {}: the simulator accepts anyone; \
             pass --public to do it anyway",
            args.listen
        );
    }
    let mut cfg = NetConfig::new();
    cfg.ip = args.listen.ip();
    cfg.sip_port = args.listen.port();
    cfg.domain = args.domain.clone();
    cfg.seed = args.seed;
    cfg.observe = false;
    // The peers are real devices that record nothing for us: capture what the core receives.
    cfg.tap_received = true;
    cfg.auth = match args.auth {
        AuthMode::None => Auth::None,
        AuthMode::Digest => Auth::Digest {
            realm: args.domain.clone(),
            algorithms: DigestAlgorithm::parse_list(&args.auth_algorithms)
                .map_err(|e| anyhow::anyhow!("--auth-algorithms: {e}"))?
                .into_iter()
                .map(|a| a.token().to_owned())
                .collect(),
        },
    };
    let mut passwords = HashMap::new();
    for p in &args.passwords {
        let (u, pw) = p
            .split_once('=')
            .with_context(|| format!("--password {p}: expected USER=PASSWORD"))?;
        passwords.insert(u.to_owned(), pw.to_owned());
    }
    cfg.passwords = passwords;
    for g in &mut cfg.predefined_groups {
        g.members = g
            .members
            .iter()
            .map(|m| m.replace("@cpm.test", &format!("@{}", args.domain)))
            .collect();
    }
    Ok(cfg)
}

/// Runs the server until SIGINT or SIGTERM, then finishes the capture.
pub async fn serve(args: &ServeArgs) -> anyhow::Result<()> {
    let mut cfg = config(args)?;
    // Nothing is kept in memory: a long interop session only grows its pcap file. Without a
    // pcap or --log nothing reads the capture, so there is none.
    let tap = (args.pcap.is_some() || args.log).then(Tap::streaming);
    let counts = std::sync::Arc::new(Counts::default());
    if let (Some(tap), true) = (&tap, args.log) {
        tap.add_sink(Box::new(LogSink));
    }
    let (report_tx, mut report_rx) = tokio::sync::mpsc::unbounded_channel();
    cfg.malformed = Some(report_tx);
    let c = counts.clone();
    let reporter = tokio::spawn(async move {
        while let Some(m) = report_rx.recv().await {
            c.malformed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            print_malformed(&m);
        }
    });
    if let (Some(tap), Some(path)) = (&tap, &args.pcap) {
        attach_pcap(tap, path).with_context(|| format!("cannot write {}", path.display()))?;
    }
    cfg.tap = tap.clone();
    let net = std::sync::Arc::new(
        Network::start(cfg)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?,
    );
    let summary = (args.summary_interval > 0).then(|| {
        let (c, n) = (counts.clone(), net.clone());
        let every = std::time::Duration::from_secs(args.summary_interval);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            let mut before = (n.received_messages(), std::time::Instant::now());
            loop {
                tick.tick().await;
                let now = std::time::Instant::now();
                let held = n.retained().await.ok().map(held);
                println!(
                    "{}",
                    summary_line(&n, &c, held, Some((before.0, now - before.1)))
                );
                before = (n.received_messages(), now);
            }
        })
    });
    println!(
        "cpmconf serve: SIP core on {} (UDP and TCP), domain {}, auth {:?}; Ctrl-C to stop",
        net.core_addr(),
        args.domain,
        args.auth
    );
    wait_for_signal().await?;
    if let Some(s) = summary {
        s.abort();
        let _ = s.await;
    }
    let held = net.retained().await.ok().map(held);
    println!("{}", summary_line(&net, &counts, held, None));
    match std::sync::Arc::try_unwrap(net) {
        Ok(net) => net.shutdown().await,
        Err(net) => drop(net),
    }
    reporter.abort();
    // The pcap is completed only here, so an interrupted run still leaves a whole file.
    if let Some(tap) = &tap {
        tap.finish();
    }
    println!("cpmconf serve: stopped");
    Ok(())
}

#[cfg(unix)]
async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("SIGINT handler")?,
        _ = term.recv() => {}
    }
    Ok(())
}

#[cfg(not(unix))]
async fn wait_for_signal() -> anyhow::Result<()> {
    tokio::signal::ctrl_c().await.context("Ctrl-C handler")
}

/// Entry point for `main`: runs [`serve`] on a tokio runtime; exit 0 after a signal, 2 when
/// the server cannot start (the reason is printed).
pub fn run(args: &ServeArgs) -> ExitCode {
    // One thread: every message passes transport, transaction layer and role in turn, and
    // handing it between threads (wake-ups, cache misses, allocator arenas) cost more than it
    // gained on two cores that the load generator shares.
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cpmconf serve: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cpmconf serve: {e:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        serve: ServeArgs,
    }

    #[test]
    fn public_address_needs_the_flag() {
        let args = T::parse_from(["t", "--listen", "192.0.2.1:5060"]).serve;
        let err = config(&args).expect_err("refused");
        assert!(err.to_string().contains("--public"), "{err}");
        let args = T::parse_from(["t", "--listen", "192.0.2.1:5060", "--public"]).serve;
        assert!(config(&args).is_ok());
    }

    #[test]
    fn defaults_are_loopback_5060_no_auth() {
        let args = T::parse_from(["t"]).serve;
        let cfg = config(&args).expect("config");
        assert_eq!(cfg.sip_port, 5060);
        assert!(cfg.ip.is_loopback());
        assert_eq!(cfg.auth, Auth::None);
        let args = T::parse_from(["t", "--auth", "digest", "--password", "alice=pw"]).serve;
        let cfg = config(&args).expect("config");
        assert_eq!(cfg.password_of("alice"), "pw");
        assert_eq!(cfg.password_of("bob"), "bob");
    }

    #[rstest::rstest]
    #[case::default(&[], Ok(&["MD5", "SHA-256"][..]))]
    #[case::sha_first(&["--auth-algorithms", "sha-256,md5"], Ok(&["SHA-256", "MD5"][..]))]
    #[case::md5_only(&["--auth-algorithms", "MD5"], Ok(&["MD5"][..]))]
    #[case::unknown(&["--auth-algorithms", "md5,sha-512"], Err("unknown digest algorithm \"sha-512\""))]
    #[case::twice(&["--auth-algorithms", "md5,md5"], Err("named twice"))]
    fn auth_algorithms_set_the_challenges_and_their_order(
        #[case] extra: &[&str],
        #[case] want: Result<&[&str], &str>,
    ) {
        let mut argv = vec!["t", "--auth", "digest"];
        argv.extend_from_slice(extra);
        let args = T::parse_from(argv).serve;
        match (config(&args), want) {
            (Ok(cfg), Ok(want)) => {
                let Auth::Digest { algorithms, .. } = cfg.auth else {
                    panic!("digest expected")
                };
                assert_eq!(algorithms, want);
            }
            (Err(e), Err(want)) => assert!(e.to_string().contains(want), "{e}"),
            (got, want) => panic!("{got:?} against {want:?}"),
        }
    }
}
