//! Judging a capture made anywhere (`cpmconf check`): the per-message rules — the protocol
//! baseline and the global monitors — over every message the client under test sent, given as
//! the same [`ScenarioResult`] and [`RunEvent`] stream a live run gives, so every reporter
//! (terminal, results.json, junit.xml, index.html) shows it unchanged.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

use cpmconf_capture::{Trace, TraceEntry};
use cpmconf_codec::sip::Method;

use crate::assess::StepOutcome;
use crate::catalogue::Catalogue;
use crate::report::{Ladder, RunEvent, RunEventKind};
use crate::runner::monitor;
use crate::verdict::{gate_with, Gate, RequirementResult, ScenarioResult, Verdict};

/// The clause under which a capture's result is listed (it is no clause of the CR).
pub const CLAUSE: &str = "capture";

/// Who the client under test is in a capture: an IP address, or an IP address and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr {
    /// The address.
    pub ip: IpAddr,
    /// The port; `None` matches every port of the address.
    pub port: Option<u16>,
}

impl ClientAddr {
    /// Parses `192.0.2.1`, `192.0.2.1:5070`, `::1` or `[::1]:5070`.
    pub fn parse(s: &str) -> Result<ClientAddr, String> {
        let s = s.trim();
        if let Ok(a) = s.parse::<SocketAddr>() {
            return Ok(ClientAddr {
                ip: a.ip(),
                port: Some(a.port()),
            });
        }
        let bare = s.trim_start_matches('[').trim_end_matches(']');
        bare.parse::<IpAddr>()
            .map(|ip| ClientAddr { ip, port: None })
            .map_err(|_| {
                format!(
                    "{s:?} is not an address: expected IP or IP:PORT (192.0.2.1, 192.0.2.1:5070, \
                     ::1, [::1]:5070)"
                )
            })
    }

    /// `true` when `a` is this address (and port, when one is given).
    pub fn matches(&self, a: SocketAddr) -> bool {
        a.ip() == self.ip && self.port.is_none_or(|p| p == a.port())
    }
}

impl fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.port, self.ip) {
            (Some(p), ip) => write!(f, "{}", SocketAddr::new(ip, p)),
            (None, ip) => write!(f, "{ip}"),
        }
    }
}

/// Why a capture cannot be judged (exit status 2 of `cpmconf check`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LintError {
    /// No client was named and the capture does not tell which party it is.
    NoClient {
        /// Every party that sent SIP, with how many SIP messages.
        parties: Vec<(SocketAddr, usize)>,
    },
    /// The named client sent no SIP message in the capture.
    NoClientTraffic {
        /// The client as named.
        client: Vec<ClientAddr>,
        /// Every party that sent SIP, with how many SIP messages.
        parties: Vec<(SocketAddr, usize)>,
    },
}

impl fmt::Display for LintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |p: &[(SocketAddr, usize)]| -> String {
            if p.is_empty() {
                "none (the capture holds no SIP message)".into()
            } else {
                p.iter()
                    .map(|(a, n)| format!("{a} ({n} SIP message(s))"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        match self {
            LintError::NoClient { parties } => write!(
                f,
                "cannot tell which party is the client under test: no single party sent REGISTER; \
                 name it with --client ADDR. Parties sending SIP: {}",
                list(parties)
            ),
            LintError::NoClientTraffic { client, parties } => write!(
                f,
                "the client {} sent no SIP message in the capture. Parties sending SIP: {}",
                client
                    .iter()
                    .map(ClientAddr::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                list(parties)
            ),
        }
    }
}

/// Every party that sent a SIP message, with its count, in address order.
pub fn sip_senders(trace: &Trace) -> Vec<(SocketAddr, usize)> {
    let mut by: BTreeMap<SocketAddr, usize> = BTreeMap::new();
    for (e, _) in trace.sip_messages() {
        *by.entry(e.src).or_default() += 1;
    }
    by.into_iter().collect()
}

/// The client when none is named: the one party that sent REGISTER requests (a client registers;
/// a network never does). Several or none: [`LintError::NoClient`].
pub fn guess_client(trace: &Trace) -> Result<ClientAddr, LintError> {
    let mut registering: Vec<SocketAddr> = trace
        .sip_messages()
        .filter(|(_, m)| m.method() == Some(&Method::Register))
        .map(|(e, _)| e.src)
        .collect();
    registering.sort();
    registering.dedup();
    match registering.as_slice() {
        [one] => Ok(ClientAddr {
            ip: one.ip(),
            port: Some(one.port()),
        }),
        _ => Err(LintError::NoClient {
            parties: sip_senders(trace),
        }),
    }
}

/// The MSRP session ids of the `a=path` URIs in the SDP of every SIP message `is_client` sent.
fn msrp_sessions(
    trace: &Trace,
    is_client: &dyn Fn(&TraceEntry) -> bool,
) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for (e, m) in trace.sip_messages() {
        if !is_client(e) {
            continue;
        }
        let Some(sd) = crate::baseline::sdp_of(m) else {
            continue;
        };
        for md in &sd.media {
            if let Some(Ok(path)) = md.path() {
                out.extend(path.into_iter().map(|u| u.session_id));
            }
        }
    }
    out
}

/// What a lint needs besides the trace.
#[derive(Debug, Clone, Default)]
pub struct LintOptions {
    /// The id the result carries (the capture's file name).
    pub name: String,
    /// The client under test; empty: [`guess_client`].
    pub client: Vec<ClientAddr>,
    /// The client's digest password, to recompute its Authorization responses (else skipped).
    pub password: Option<String>,
    /// SHOULD rules and the strict User-Agent reading count.
    pub strict: bool,
    /// Protocol rules waived for a known quirk.
    pub waivers: Vec<String>,
}

/// The result of linting one capture.
#[derive(Debug, Clone)]
pub struct Lint {
    /// The client judged (named or guessed).
    pub client: Vec<ClientAddr>,
    /// Whether the client was guessed from the REGISTER sender.
    pub guessed: bool,
    /// The per-message verdicts, as a scenario result (clause [`CLAUSE`]).
    pub result: ScenarioResult,
    /// The gate over it.
    pub gate: Gate,
    /// The capture as a ladder (client lane first, the other parties by address).
    pub ladder: Ladder,
    /// Whether the lint was strict.
    pub strict: bool,
}

/// Runs the per-message rules over the messages the client sent in `trace`.
pub fn lint(catalogue: &Catalogue, trace: &Trace, opts: &LintOptions) -> Result<Lint, LintError> {
    let (client, guessed) = if opts.client.is_empty() {
        (vec![guess_client(trace)?], true)
    } else {
        (opts.client.clone(), false)
    };
    let sip_client = |e: &TraceEntry| client.iter().any(|c| c.matches(e.src));
    if !trace.sip_messages().any(|(e, _)| sip_client(e)) {
        return Err(LintError::NoClientTraffic {
            client,
            parties: sip_senders(trace),
        });
    }
    // MSRP connections use other ports than SIP (often ephemeral ones): an MSRP message is the
    // client's when its From-Path names a session the client's own SDP offered or answered
    // (`a=path`, RFC 4975 8.1).
    let sessions = msrp_sessions(trace, &sip_client);
    let is_client = |e: &TraceEntry| match e.msrp() {
        Some(m) => m.from_path().is_ok_and(|p| {
            p.iter()
                .any(|u| !u.session_id.is_empty() && sessions.contains(&u.session_id))
        }),
        None => sip_client(e),
    };
    let mut requirements = Vec::new();
    if let Some(outcome) = monitor::user_agent(trace, &is_client, opts.strict) {
        let mut r = RequirementResult::new(
            catalogue,
            monitor::USER_AGENT_REQUIREMENT,
            Verdict::Pass,
            None,
        );
        if let StepOutcome::Failed { findings, quote } = outcome {
            r.verdict = Verdict::Fail;
            r.findings = findings;
            r.quote = quote;
        }
        requirements.push(r);
    }
    let verdict = requirements
        .iter()
        .map(|r| r.verdict)
        .fold(Verdict::Pass, Verdict::worst);
    let mut result = ScenarioResult {
        id: opts.name.clone(),
        clause: CLAUSE.into(),
        title: format!(
            "per-message rules over what {} sent",
            client
                .iter()
                .map(ClientAddr::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        verdict,
        requirements,
        duration_ms: 0,
        message: None,
        protocol: Vec::new(),
        stimuli: Vec::new(),
        pcap: Some(format!("pcap/{}", opts.name)),
        wire_log: Some(format!("wire/{}.log", opts.name)),
    };
    result.add_protocol(monitor::protocol_of(
        trace,
        &is_client,
        opts.password.clone(),
        &opts.waivers,
    ));
    let gate = gate_with(std::slice::from_ref(&result), opts.strict, None);
    let role = |a: SocketAddr| {
        if client.iter().any(|c| c.matches(a)) {
            "client".to_string()
        } else {
            a.to_string()
        }
    };
    // The client's MSRP connections are on other ports: name both ends by the messages.
    let msrp_client_ends: std::collections::HashSet<SocketAddr> = trace
        .entries
        .iter()
        .filter(|e| e.msrp().is_some() && is_client(e))
        .map(|e| e.src)
        .collect();
    let roles = |e: &TraceEntry| {
        let end = |a: SocketAddr| {
            if e.msrp().is_some() && msrp_client_ends.contains(&a) {
                "client".to_string()
            } else {
                role(a)
            }
        };
        (end(e.src), end(e.dst))
    };
    let ladder = Ladder::build(
        trace,
        &roles,
        &|a| Some(role(a)),
        &[],
        format!("pcap/{}", opts.name),
        format!("wire/{}.log", opts.name),
    );
    Ok(Lint {
        client,
        guessed,
        result,
        gate,
        ladder,
        strict: opts.strict,
    })
}

impl Lint {
    /// The run events of the lint, in the order a live run emits them, for the reporters.
    pub fn events(&self, started_at: &str) -> Vec<RunEvent> {
        let r = &self.result;
        let ev = |kind| RunEvent {
            elapsed_ms: 0,
            kind,
        };
        let mut out = vec![
            ev(RunEventKind::RunStarted {
                seed: 0,
                client: self
                    .client
                    .iter()
                    .map(ClientAddr::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                strict: self.strict,
                started_at: started_at.to_string(),
                scenarios: 1,
            }),
            ev(RunEventKind::ScenarioStarted {
                id: r.id.clone(),
                clause: r.clause.clone(),
                title: r.title.clone(),
            }),
            ev(RunEventKind::TraceCaptured {
                scenario: r.id.clone(),
                ladder: self.ladder.clone(),
            }),
        ];
        for q in &r.requirements {
            out.push(ev(RunEventKind::VerdictIssued {
                scenario: r.id.clone(),
                result: q.clone(),
            }));
        }
        out.push(ev(RunEventKind::ScenarioFinished { result: r.clone() }));
        out.push(ev(RunEventKind::RunFinished {
            gate: self.gate.clone(),
        }));
        out
    }
}

#[cfg(test)]
mod tests;
