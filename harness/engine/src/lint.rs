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
    /// The output shows no ladder (the terminal summary): the first messages are not kept and
    /// no ladder is drawn ([`Lint::ladder`] is `None`).
    pub no_ladder: bool,
}

/// The result of linting one capture.
#[derive(Debug, Clone)]
pub struct Lint {
    /// The client judged (named or guessed).
    pub client: Vec<ClientAddr>,
    /// Whether the client was guessed from the REGISTER sender.
    pub guessed: bool,
    /// How many messages the capture held.
    pub messages: usize,
    /// The per-message verdicts, as a scenario result (clause [`CLAUSE`]).
    pub result: ScenarioResult,
    /// The gate over it.
    pub gate: Gate,
    /// The capture as a ladder (client lane first, the other parties by address); at most
    /// [`LADDER_LIMIT`] messages. `None` when [`LintOptions::no_ladder`] asked for none.
    pub ladder: Option<Ladder>,
    /// Whether the lint was strict.
    pub strict: bool,
}

/// The most messages a lint's ladder draws (the first ones of the capture).
pub const LADDER_LIMIT: usize = 2000;

pub use crate::parts::{FLUSH_EVERY, IDLE_WINDOW};

/// The first pass over a capture: who sent SIP, who registered, which MSRP sessions each party
/// offered, and the REGISTER transactions (small: a party registers rarely).
#[derive(Debug, Default)]
pub struct Survey {
    /// SIP messages per sender (a hash map: it is counted once per message; listed in address
    /// order by [`Survey::sip_senders`]).
    senders: cpmconf_capture::FastMap<SocketAddr, usize>,
    registering: std::collections::BTreeSet<SocketAddr>,
    sessions: BTreeMap<SocketAddr, std::collections::BTreeSet<String>>,
    registers: Vec<TraceEntry>,
    start: Option<std::time::SystemTime>,
    entries: usize,
}

impl Survey {
    /// Takes one entry of the capture, in order.
    pub fn push(&mut self, e: &TraceEntry) {
        self.take(e);
    }

    /// [`Survey::push`], giving the MSRP session ids the entry's SDP offered.
    fn take(&mut self, e: &TraceEntry) -> Vec<String> {
        self.entries += 1;
        self.start.get_or_insert(e.time);
        let Some(m) = e.sip() else {
            return Vec::new();
        };
        *self.senders.entry(e.src).or_default() += 1;
        if m.method() == Some(&Method::Register) {
            self.registering.insert(e.src);
        }
        if m.cseq_method() == Some(Method::Register) {
            self.registers.push(e.clone());
        }
        let ids = crate::baseline::path_sessions(m);
        if !ids.is_empty() {
            self.sessions
                .entry(e.src)
                .or_default()
                .extend(ids.iter().cloned());
        }
        ids
    }

    /// Every party that sent a SIP message, with its count, in address order.
    pub fn sip_senders(&self) -> Vec<(SocketAddr, usize)> {
        let mut all: Vec<(SocketAddr, usize)> =
            self.senders.iter().map(|(a, n)| (*a, *n)).collect();
        all.sort_unstable();
        all
    }

    /// The client: the named addresses, else the one party that sent REGISTER requests (a
    /// client registers; a network never does); whether it was guessed.
    pub fn client(&self, named: &[ClientAddr]) -> Result<(Vec<ClientAddr>, bool), LintError> {
        let client = if named.is_empty() {
            match self.registering.iter().collect::<Vec<_>>().as_slice() {
                [one] => vec![ClientAddr {
                    ip: one.ip(),
                    port: Some(one.port()),
                }],
                _ => {
                    return Err(LintError::NoClient {
                        parties: self.sip_senders(),
                    })
                }
            }
        } else {
            named.to_vec()
        };
        if !self
            .senders
            .keys()
            .any(|a| client.iter().any(|c| c.matches(*a)))
        {
            return Err(LintError::NoClientTraffic {
                client,
                parties: self.sip_senders(),
            });
        }
        Ok((client, named.is_empty()))
    }
}

/// Who the client is: its SIP addresses, and the MSRP sessions its own SDP offered or answered.
/// MSRP connections use other ports than SIP (often ephemeral ones): an MSRP message is the
/// client's when its From-Path names one of those sessions (RFC 4975 8.1).
#[derive(Debug, Clone)]
struct Who {
    client: Vec<ClientAddr>,
    sessions: std::collections::BTreeSet<String>,
}

impl Who {
    fn sip(&self, a: SocketAddr) -> bool {
        self.client.iter().any(|c| c.matches(a))
    }

    fn is_client(&self, e: &TraceEntry) -> bool {
        match e.msrp() {
            Some(m) => m.from_path().is_ok_and(|p| {
                p.iter()
                    .any(|u| !u.session_id.is_empty() && self.sessions.contains(&u.session_id))
            }),
            None => self.sip(e.src),
        }
    }
}

/// A single pass's survey, made as the entries come, and whether a part judged before the end
/// relied on a fact that a later entry changed (then the result might differ from two passes,
/// and the capture is read again: [`Judge::needs_second_pass`]).
struct Growing {
    survey: Survey,
    /// A part judged so far could be judged differently with what was learned since.
    unsure: bool,
    /// MSRP session ids in the From-Path of messages of parts judged so far that were not the
    /// client's sessions then (bounded: past [`UNRESOLVED_LIMIT`] the pass gives up).
    unresolved: std::collections::HashSet<String>,
    /// The contacts registered when the first part was judged (`None`: none was yet): a
    /// contact registered after that could change a judged part's Contact rule.
    registered_then: Option<std::collections::BTreeSet<String>>,
}

/// The most foreign MSRP session ids a single pass remembers before it gives up exactness.
const UNRESOLVED_LIMIT: usize = 65_536;

/// The second pass: judges the capture a part at a time, forgetting parts idle for
/// [`IDLE_WINDOW`] entries. Or the only pass ([`Judge::single_pass`]): it surveys as it goes.
pub struct Judge<'c> {
    catalogue: &'c Catalogue,
    opts: LintOptions,
    who: Who,
    guessed: bool,
    /// The password and the contacts the client registered, as every part is judged with.
    cfg: crate::baseline::BaselineConfig,
    start: Option<std::time::SystemTime>,
    parts: crate::parts::Parts,
    rules: monitor::ClientRules,
    ladder: Vec<TraceEntry>,
    entries: usize,
    growing: Option<Growing>,
}

impl<'c> Judge<'c> {
    /// A judge that needs no first pass: the client is named (`opts.client`), and who
    /// registered which contact and which MSRP sessions the client offered are learned as the
    /// entries come. A part is judged with what is known when it goes idle; if something learned
    /// later could change a part already judged, [`Judge::needs_second_pass`] says so and the
    /// capture must be judged in two passes instead ([`Survey`], then [`Judge::new`]): the result
    /// is the same either way. `None` when no client is named.
    pub fn single_pass(catalogue: &'c Catalogue, opts: &LintOptions) -> Option<Self> {
        if opts.client.is_empty() {
            return None;
        }
        let who = Who {
            client: opts.client.clone(),
            sessions: Default::default(),
        };
        let growing = Growing {
            survey: Survey::default(),
            unsure: false,
            unresolved: Default::default(),
            registered_then: None,
        };
        Some(Judge::with(
            catalogue,
            opts,
            who,
            false,
            Vec::new(),
            None,
            Some(growing),
        ))
    }

    /// A judge with nothing judged yet.
    fn with(
        catalogue: &'c Catalogue,
        opts: &LintOptions,
        who: Who,
        guessed: bool,
        registered: Vec<String>,
        start: Option<std::time::SystemTime>,
        growing: Option<Growing>,
    ) -> Self {
        Judge {
            catalogue,
            opts: opts.clone(),
            who,
            guessed,
            cfg: crate::baseline::BaselineConfig {
                password: opts.password.clone(),
                registered,
            },
            start,
            parts: Default::default(),
            rules: monitor::ClientRules::new(opts.password.clone(), opts.strict),
            ladder: Vec::new(),
            entries: 0,
            growing,
        }
    }

    /// A single pass ([`Judge::single_pass`]) judged a part before learning something that
    /// could change its verdict: judge the capture in two passes instead.
    pub fn needs_second_pass(&self) -> bool {
        self.growing.as_ref().is_some_and(|g| g.unsure)
    }

    /// A single pass: the named client sent SIP in the capture (what [`Judge::new`] checks
    /// before a second pass).
    pub fn client_sent(&self) -> Result<(), LintError> {
        match &self.growing {
            Some(g) => g.survey.client(&self.opts.client).map(|_| ()),
            None => Ok(()),
        }
    }

    /// A single pass: takes entry `e` into the survey and what the judge knows from it.
    fn learn(&mut self, e: &TraceEntry) {
        let Some(g) = &mut self.growing else { return };
        let ids = g.survey.take(e);
        self.start = g.survey.start;
        let Some(m) = e.sip() else { return };
        if self.who.sip(e.src) {
            for id in ids {
                if g.unresolved.contains(&id) {
                    g.unsure = true;
                }
                self.who.sessions.insert(id);
            }
        }
        // A registration takes effect with its 2xx (the only answer `registered_contacts`
        // counts).
        let registered =
            m.cseq_method() == Some(Method::Register) && m.status().is_some_and(|c| c.is_success());
        if registered {
            let registers = Trace {
                entries: std::mem::take(&mut g.survey.registers),
                start: g.survey.start,
                problems: Vec::new(),
                ends: Vec::new(),
            };
            let who = &self.who;
            self.cfg.registered =
                crate::baseline::registered_contacts(&registers, &|e| who.is_client(e));
            g.survey.registers = registers.entries;
            if let Some(then) = &g.registered_then {
                if self.cfg.registered.iter().any(|c| !then.contains(c)) {
                    g.unsure = true;
                }
            }
        }
    }

    /// A judge for the client the survey found (or `opts.client`).
    pub fn new(
        catalogue: &'c Catalogue,
        opts: &LintOptions,
        survey: &Survey,
    ) -> Result<Self, LintError> {
        let (client, guessed) = survey.client(&opts.client)?;
        let mut who = Who {
            client,
            sessions: Default::default(),
        };
        for (a, ids) in &survey.sessions {
            if who.sip(*a) {
                who.sessions.extend(ids.iter().cloned());
            }
        }
        let registers = Trace {
            entries: survey.registers.clone(),
            start: survey.start,
            problems: Vec::new(),
            ends: Vec::new(),
        };
        let registered = crate::baseline::registered_contacts(&registers, &|e| who.is_client(e));
        Ok(Judge::with(
            catalogue,
            opts,
            who,
            guessed,
            registered,
            survey.start,
            None,
        ))
    }

    /// Takes the next entry of the capture, in order.
    pub fn push(&mut self, e: TraceEntry) {
        self.learn(&e);
        self.entries += 1;
        let client = self.who.is_client(&e);
        self.rules.see(&e, client);
        if !self.opts.no_ladder && self.ladder.len() < LADDER_LIMIT {
            self.ladder.push(e.clone());
        }
        for entries in self.parts.push(e) {
            self.judge(entries);
        }
    }

    /// How many entries the judge holds right now (open dialogs, connections, the ladder).
    pub fn retained(&self) -> usize {
        self.parts.retained() + self.ladder.len()
    }

    fn judge(&mut self, entries: Vec<TraceEntry>) {
        if let Some(g) = &mut self.growing {
            if g.registered_then.is_none() {
                g.registered_then = Some(self.cfg.registered.iter().cloned().collect());
            }
            // MSRP messages attributed by sessions known now: remember the others' sessions.
            for e in &entries {
                let Some(Ok(path)) = e.msrp().map(|m| m.from_path()) else {
                    continue;
                };
                for u in path {
                    if !u.session_id.is_empty() && !self.who.sessions.contains(&u.session_id) {
                        if g.unresolved.len() >= UNRESOLVED_LIMIT {
                            g.unsure = true;
                        } else {
                            g.unresolved.insert(u.session_id.clone());
                        }
                    }
                }
            }
        }
        let part = Trace {
            entries,
            start: self.start,
            problems: Vec::new(),
            ends: Vec::new(),
        };
        let who = &self.who;
        let is_client = |e: &TraceEntry| who.is_client(e);
        self.rules.judge(&part, &is_client, &self.cfg);
    }

    /// Judges what is left and gives the result.
    pub fn finish(mut self) -> Lint {
        let parts = std::mem::take(&mut self.parts).finish();
        // The ladder is drawn on a second core while the open parts are judged (the capture
        // has been read: that core is free).
        let ladder_trace = Trace {
            entries: std::mem::take(&mut self.ladder),
            start: self.start,
            problems: Vec::new(),
            ends: Vec::new(),
        };
        let who = self.who.clone();
        let name = self.opts.name.clone();
        let draw = !self.opts.no_ladder;
        let ladder = std::thread::scope(|s| {
            let drawing = draw.then(|| s.spawn(|| ladder_of(&ladder_trace, &who, &name)));
            for entries in parts {
                self.judge(entries);
            }
            drawing.map(|d| d.join())
        });
        let ladder = match ladder {
            Some(Ok(l)) => Some(l),
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => None,
        };
        let rules = std::mem::replace(&mut self.rules, monitor::ClientRules::new(None, false));
        let (report, ua) = rules.finish();
        let catalogue = self.catalogue;
        let mut requirements = Vec::new();
        let ua = match ua {
            Some(StepOutcome::Failed { findings, quote }) => Some((Verdict::Fail, findings, quote)),
            Some(_) => Some((Verdict::Pass, Vec::new(), Vec::new())),
            None => None,
        };
        if let Some((verdict, findings, quote)) = ua {
            let mut r =
                RequirementResult::new(catalogue, monitor::USER_AGENT_REQUIREMENT, verdict, None);
            r.findings = findings;
            r.quote = quote;
            requirements.push(r);
        }
        let verdict = requirements
            .iter()
            .map(|r| r.verdict)
            .fold(Verdict::Pass, Verdict::worst);
        let who = self
            .who
            .client
            .iter()
            .map(ClientAddr::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let name = self.opts.name.clone();
        let mut result = ScenarioResult {
            id: name.clone(),
            clause: CLAUSE.into(),
            title: if self.entries > LADDER_LIMIT {
                format!(
                    "per-message rules over what {who} sent ({} messages; the ladder shows the first {LADDER_LIMIT})",
                    self.entries
                )
            } else {
                format!(
                    "per-message rules over what {who} sent ({} messages)",
                    self.entries
                )
            },
            verdict,
            requirements,
            duration_ms: 0,
            message: None,
            protocol: Vec::new(),
            stimuli: Vec::new(),
            pcap: Some(format!("pcap/{name}")),
            wire_log: Some(format!("wire/{name}.log")),
        };
        result.add_protocol(monitor::results(report, &self.opts.waivers));
        let gate = gate_with(std::slice::from_ref(&result), self.opts.strict, None);
        Lint {
            client: self.who.client.clone(),
            guessed: self.guessed,
            messages: self.entries,
            result,
            gate,
            ladder,
            strict: self.opts.strict,
        }
    }
}

/// The ladder of `trace`: the client's lane (its SIP address and, for MSRP, both ends of its
/// connections) named `client`, every other party by its address.
fn ladder_of(trace: &Trace, who: &Who, name: &str) -> Ladder {
    let msrp_client_ends: std::collections::HashSet<SocketAddr> = trace
        .entries
        .iter()
        .filter(|e| e.msrp().is_some() && who.is_client(e))
        .map(|e| e.src)
        .collect();
    let roles = |e: &TraceEntry| {
        let end = |a: SocketAddr| {
            if who.sip(a) || (e.msrp().is_some() && msrp_client_ends.contains(&a)) {
                "client".to_string()
            } else {
                a.to_string()
            }
        };
        (end(e.src), end(e.dst))
    };
    let names = |a: SocketAddr| {
        Some(if who.sip(a) {
            "client".to_string()
        } else {
            a.to_string()
        })
    };
    Ladder::build(
        trace,
        &roles,
        &names,
        &[],
        format!("pcap/{name}"),
        format!("wire/{name}.log"),
    )
}

/// Runs the per-message rules over the messages the client sent in `trace` (both passes over
/// a trace held in memory).
pub fn lint(catalogue: &Catalogue, trace: &Trace, opts: &LintOptions) -> Result<Lint, LintError> {
    let mut survey = Survey::default();
    for e in &trace.entries {
        survey.push(e);
    }
    let mut judge = Judge::new(catalogue, opts, &survey)?;
    for e in &trace.entries {
        judge.push(e.clone());
    }
    Ok(judge.finish())
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
        ];
        if let Some(ladder) = &self.ladder {
            out.push(ev(RunEventKind::TraceCaptured {
                scenario: r.id.clone(),
                ladder: ladder.clone(),
            }));
        }
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
