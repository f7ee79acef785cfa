//! The capture feed of the judge: a scenario judged from a capture instead of live. The
//! client's messages come from the capture's decoded trace, labelled with a role map (the
//! sidecar's, or `--roles`); the stimuli are observed instead of sent.
//!
//! With the run's timeline (the sidecar of a capture written by `cpmconf run`) the feed gives
//! the judge its inputs in the order the live run took them (which message, which event, when a
//! wait ended, what `sync` answered), so the capture gives the live verdicts. Without one (a
//! capture made elsewhere) the feed goes by the capture's clock: a `send` step is the next
//! message of its role with what the step pins down (absent: the step and what depends on it
//! are not reached), a `do` step leaves no trace and moves no mark, `sync` is never answered
//! (windows run in full, or to the next located stimulus), the client's FIN on an MSRP
//! connection is its close, and what the network's transaction layer absorbs live
//! (retransmissions, the ACK of a non-2xx) is not given to the judge. What a capture cannot
//! show is not judged: upper-tester events (`wait_for`), a deadline or window past the
//! capture's end, a message that may have come after a `do` step ([`Feed::knows_run`],
//! [`Feed::covers`]).

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use cpmconf_capture::{CaptureItems, Items, TraceFrame, TraceItem};
use cpmconf_codec::sip;
use cpmconf_sim::media::TransferProgress;

use crate::assess::StepOutcome;
use crate::observed::{MatchEnv, Observed};
use crate::scenario::{MsrpStart, Send, Step};

use super::labels::{Labeler, CLIENT};
use super::timeline::{fingerprint, Input, Timeline};
use super::{Arrival, Feed, Obs, ObsKind, ObsRef, RunError, Want};

/// One message of the capture as the judge sees it, labelled, owned: the feed keeps what it has
/// read (what the judge's steps reached, see [`ReplayFeed`]).
struct Entry {
    time: Duration,
    from: String,
    to: String,
    obs: ObsKind,
}

/// Turns the capture's items into the feed's entries, in order: role labels, one session key
/// per MSRP connection, the client's closes of MSRP connections and (without a timeline) what
/// the network's transaction layer absorbs. Cloned to look ahead from where the feed has read
/// without keeping what it passes.
#[derive(Clone)]
struct Loader<'l> {
    labels: &'l Labeler,
    replaying: bool,
    /// Capture time of the first entry: the origin of the feed's clock.
    start: Option<SystemTime>,
    sessions: HashMap<(SocketAddr, SocketAddr), u64>,
    msrp_pairs: HashSet<(SocketAddr, SocketAddr)>,
    first_fin: HashSet<(SocketAddr, SocketAddr)>,
    /// The branch and method of each request of the client seen (retransmission detection).
    seen: HashSet<(String, String)>,
    /// Looking ahead: what is read is not kept, and whether it is absorbed is not asked (so
    /// `seen` does not grow with what the look-ahead passes).
    ahead: bool,
    /// Items of the capture taken so far.
    items: usize,
}

fn pair(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

impl<'l> Loader<'l> {
    fn new(labels: &'l Labeler, replaying: bool) -> Self {
        Loader {
            labels,
            replaying,
            start: None,
            sessions: HashMap::new(),
            msrp_pairs: HashSet::new(),
            first_fin: HashSet::new(),
            seen: HashSet::new(),
            ahead: false,
            items: 0,
        }
    }

    /// Capture time from the first entry.
    fn since(&self, t: SystemTime) -> Duration {
        self.start
            .map_or(Duration::ZERO, |s| t.duration_since(s).unwrap_or_default())
    }

    /// The feed entry `item` makes, if any, and whether it is already given: what the
    /// network's transaction layer absorbs never reaches the live judge.
    fn take(&mut self, item: TraceItem) -> Option<(Entry, bool)> {
        self.items += 1;
        match item {
            TraceItem::Problem(_) => None,
            // Without the timeline, the client closing an MSRP connection with a role (its FIN,
            // the role not having closed first) is observed where the capture has it.
            TraceItem::End(end) => {
                if self.replaying {
                    return None;
                }
                let key = pair(end.src, end.dst);
                let from = self.labels.name(end.src).unwrap_or_else(|| CLIENT.into());
                let to = self.labels.name(end.dst).unwrap_or_else(|| CLIENT.into());
                let first = self.first_fin.insert(key);
                if !self.msrp_pairs.contains(&key) || from != CLIENT || to == CLIENT {
                    return None;
                }
                let obs = ObsKind::MsrpClosed {
                    session: self.sessions.get(&key).copied().unwrap_or(0),
                    by_peer: first,
                };
                Some((
                    Entry {
                        time: self.since(end.time),
                        from,
                        to,
                        obs,
                    },
                    false,
                ))
            }
            TraceItem::Entry(e) => {
                self.start.get_or_insert(e.time);
                let (from, to) = self.labels.roles(&e);
                let obs = match e.frame {
                    TraceFrame::Sip(d) => ObsKind::Sip(d.value),
                    TraceFrame::Msrp(d) => {
                        let key = pair(e.src, e.dst);
                        self.msrp_pairs.insert(key);
                        let n = self.sessions.len() as u64 + 1;
                        let session = *self.sessions.entry(key).or_insert(n);
                        ObsKind::Msrp {
                            frame: d.value,
                            session,
                        }
                    }
                    // Undecodable bytes are judged by the protocol baseline; the simulated
                    // network never observes them either.
                    TraceFrame::Undecodable { .. } => return None,
                };
                let entry = Entry {
                    time: self.since(e.time),
                    from,
                    to,
                    obs,
                };
                let absorbed = self.absorbed(&entry);
                Some((entry, absorbed))
            }
        }
    }

    /// Without the timeline: a retransmitted request of the client (its branch and method
    /// seen before) and the ACK of a non-2xx final response (it carries the INVITE's branch,
    /// RFC 3261 17.1.1.3) are absorbed by the network's transaction layer, so a capture made
    /// elsewhere is judged on what a live run would observe.
    fn absorbed(&mut self, e: &Entry) -> bool {
        if self.replaying || self.ahead {
            return false;
        }
        let ObsKind::Sip(m) = &e.obs else {
            return false;
        };
        if e.from != CLIENT || !m.is_request() {
            return false;
        }
        let (Some(branch), Some(method)) = (m.top_branch(), m.method()) else {
            return false;
        };
        let method = method.to_string();
        let ack_of_invite = method == "ACK"
            && self
                .seen
                .contains(&(branch.to_string(), "INVITE".to_string()));
        // The ACK of a 2xx is no transaction's (17.1.1.3): each one, a repeated one too (the
        // ACK of a 2xx sent again, 13.2.2.4), reaches the role.
        let absorbed = method != "ACK" && !self.seen.insert((branch.to_string(), method));
        ack_of_invite || absorbed
    }
}

/// How far past a wait's deadline (capture time) the feed reads for the client's next
/// message before it answers that the deadline passed: a capture's timestamps can be a little
/// out of order (merged captures, reordered segments), and the next message of the client in
/// capture order is given when its time is within the deadline; one more than this out of
/// order is given at a later wait. Without this bound, a client silent for a long stretch of
/// other traffic would have the feed read (and keep) the whole stretch.
pub const READ_PAST_DEADLINE: Duration = Duration::from_secs(1);

/// The capture feed.
///
/// It reads the capture as the judge asks: a message of the client when the judge waits, a
/// stimulus when a step needs one. What it reads it keeps (the judge may come back to it: an
/// `earlier: true` expectation, a later stimulus of a role); what the steps never reach it
/// passes on to `tee` unkept, so judging a scenario holds the part of the capture its steps
/// span, not the capture. Looking ahead for a stimulus beyond what was read (and for the
/// capture's end) reads the capture again from the start without keeping anything.
pub struct ReplayFeed<'s> {
    source: &'s dyn CaptureItems,
    /// Where the feed reads next (`None`: read to the end, or failed).
    reader: Option<Items<'s>>,
    loader: Loader<'s>,
    /// Every item of the capture, as it is read (the trace monitors' stream).
    tee: Box<dyn FnMut(&TraceItem) + 's>,
    /// Why reading failed part-way, if it did.
    read_error: Option<String>,
    entries: Vec<Entry>,
    /// Client messages already given to the judge.
    delivered: Vec<bool>,
    /// Messages of the roles already taken as a stimulus.
    claimed: Vec<bool>,
    /// The live run's inputs still to replay (`None`: no timeline, go by the capture's clock).
    inputs: Option<VecDeque<Input>>,
    /// Capture time of the judge's present.
    now: Duration,
    /// Arrival numbers given so far.
    seq: u64,
    /// One past the highest entry given to the judge or taken as a stimulus.
    front: usize,
    /// A stimulus found by [`Feed::prepare`], taken by [`Feed::stimulus`].
    located: Option<usize>,
    /// One past the last message of a role taken as a stimulus: the next stimulus is after it.
    stimuli_front: usize,
    /// Without a timeline: no message of the client before this one is still to give.
    client_cursor: usize,
    /// Capture time of the last entry, found when first asked.
    end: std::cell::OnceCell<Duration>,
    /// Replaying: the fingerprint of each message of the client, computed once.
    fingerprints: Vec<Option<String>>,
}

impl<'s> ReplayFeed<'s> {
    /// A feed over `source` labelled by `labels`, replaying `timeline` when given; every item
    /// it reads goes to `tee` too ([`ReplayFeed::drain`] reads the rest).
    pub fn new(
        source: &'s dyn CaptureItems,
        labels: &'s Labeler,
        timeline: Option<&Timeline>,
        tee: Box<dyn FnMut(&TraceItem) + 's>,
    ) -> Self {
        let (reader, read_error) = match source.items() {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(e.to_string())),
        };
        ReplayFeed {
            source,
            reader,
            loader: Loader::new(labels, timeline.is_some()),
            tee,
            read_error,
            entries: Vec::new(),
            delivered: Vec::new(),
            claimed: Vec::new(),
            inputs: timeline.map(|t| t.inputs.iter().cloned().collect()),
            now: Duration::ZERO,
            seq: 0,
            front: 0,
            located: None,
            stimuli_front: 0,
            client_cursor: 0,
            end: std::cell::OnceCell::new(),
            fingerprints: Vec::new(),
        }
    }

    /// The next item of the capture, given to `tee` (`None` at its end, or when reading
    /// failed: [`ReplayFeed::read_error`]).
    fn next_item(&mut self) -> Option<TraceItem> {
        let item = match self.reader.as_mut()?.next() {
            Some(Ok(item)) => item,
            Some(Err(e)) => {
                self.read_error = Some(e.to_string());
                self.reader = None;
                return None;
            }
            None => {
                self.reader = None;
                return None;
            }
        };
        (self.tee)(&item);
        Some(item)
    }

    /// Reads the next item of the capture and keeps the entry it makes: `false` at its end.
    fn read(&mut self) -> bool {
        let Some(item) = self.next_item() else {
            return false;
        };
        if let Some((e, absorbed)) = self.loader.take(item) {
            let fp = (self.inputs.is_some() && e.from == CLIENT)
                .then(|| fingerprint(&e.to, e.obs.as_ref()));
            self.fingerprints.push(fp);
            self.delivered.push(absorbed);
            self.claimed.push(false);
            self.entries.push(e);
        }
        true
    }

    /// Reads until entry `i` is read (`false`: the capture has fewer).
    fn read_to(&mut self, i: usize) -> bool {
        while self.entries.len() <= i {
            if !self.read() {
                return false;
            }
        }
        true
    }

    /// The first entry from `from` on for which `hit` holds, reading as far as needed.
    fn find_reading(&mut self, from: usize, hit: &dyn Fn(&Self, usize) -> bool) -> Option<usize> {
        let mut i = from;
        loop {
            if !self.read_to(i) {
                return None;
            }
            if hit(self, i) {
                return Some(i);
            }
            i += 1;
        }
    }

    /// Reads the capture again from the start up to where the feed has read, then gives the
    /// entries after that (numbered on from the feed's), keeping none.
    fn ahead(&self) -> impl Iterator<Item = (usize, Entry)> + '_ {
        let mut loader = self.loader.clone();
        loader.ahead = true;
        let skip = loader.items;
        let items = if self.reader.is_some() {
            self.source.items().ok()
        } else {
            None
        };
        let mut index = self.entries.len();
        items
            .into_iter()
            .flatten()
            .skip(skip)
            .map_while(Result::ok)
            .filter_map(move |item| {
                let (e, _) = loader.take(item)?;
                index += 1;
                Some((index - 1, e))
            })
    }

    /// Reads the rest of the capture into `tee`, keeping nothing (the steps are done).
    pub fn drain(&mut self) {
        while self.next_item().is_some() {}
    }

    /// Why the capture could not be read to its end, if it could not.
    pub fn read_error(&self) -> Option<&str> {
        self.read_error.as_deref()
    }

    /// How many of the capture's messages the feed holds (what the steps reached).
    pub fn held(&self) -> usize {
        self.entries.len()
    }

    fn is_client(&self, i: usize) -> bool {
        self.entries.get(i).is_some_and(|e| e.from == CLIENT)
    }

    fn deliver(&mut self, i: usize) -> Arrival {
        self.delivered[i] = true;
        // Replaying, arrival numbers count as the live run's did; otherwise they are capture
        // positions, so a stimulus found in the capture splits them into before and after.
        self.seq = if self.inputs.is_some() {
            self.seq + 1
        } else {
            i as u64 + 1
        };
        self.front = self.front.max(i + 1);
        let e = &self.entries[i];
        self.now = self.now.max(e.time);
        Arrival::Observation(Obs {
            seq: self.seq,
            time: e.time,
            role: e.to.clone(),
            kind: e.obs.clone(),
        })
    }

    /// The first message of the client not given yet whose fingerprint is `fp`.
    fn find_client(&mut self, fp: &str) -> Option<usize> {
        self.find_reading(0, &|f, i| {
            !f.delivered[i] && f.fingerprints[i].as_deref() == Some(fp)
        })
    }

    /// The first message of `role` that a `send` step would put on the wire, after the previous
    /// stimulus (replaying: after everything the judge took, which the live run had taken
    /// before it sent). Past what the feed has read, the capture is read again to look.
    fn find_sent(&self, s: &Send, role: &str, env: &MatchEnv) -> Option<usize> {
        let from = if self.inputs.is_some() {
            self.front
        } else {
            self.stimuli_front
        };
        let is_sent = |e: &Entry| e.from == role && sends(s, e.obs.as_ref(), env);
        (from..self.entries.len())
            .find(|&i| !self.claimed[i] && is_sent(&self.entries[i]))
            .or_else(|| {
                self.ahead()
                    .find(|(i, e)| *i >= from && is_sent(e))
                    .map(|(i, _)| i)
            })
    }

    /// Capture time of the last entry.
    fn end(&self) -> Duration {
        *self.end.get_or_init(|| {
            let read = self.entries.iter().map(|e| e.time).max();
            let rest = self.ahead().map(|(_, e)| e.time).max();
            read.max(rest).unwrap_or_default()
        })
    }

    fn out_of_step(&self, wanted: &str, got: Option<&Input>) -> RunError {
        RunError::Other(format!(
            "the capture's timeline is out of step with the scenario: the judge asked for {wanted}, the timeline has {}",
            got.map_or_else(|| "nothing more".to_string(), |i| format!("{i:?}"))
        ))
    }

    /// What the simulated role of `session` received and acknowledged in what the judge saw so
    /// far: the client's SEND chunks and the role's 2xx answers to them.
    fn progress_of(&self, session: u64) -> Option<TransferProgress> {
        let mut ranges: HashMap<&str, (u64, u64, Option<u64>)> = HashMap::new();
        let mut acked: Vec<(u64, u64)> = Vec::new();
        let mut p = TransferProgress::default();
        let mut seen = false;
        for e in self.entries.iter().take(self.front) {
            let ObsKind::Msrp { frame, session: s } = &e.obs else {
                continue;
            };
            if *s != session {
                continue;
            }
            seen = true;
            if e.from == CLIENT && frame.is_request() {
                if let Some((a, b, total)) = frame.header("Byte-Range").and_then(byte_range) {
                    let b = b.unwrap_or(a + frame.body.len() as u64).max(a);
                    let end = if frame.body.is_empty() {
                        a.saturating_sub(1)
                    } else {
                        b
                    };
                    ranges.insert(frame.tid.as_str(), (a, end, total));
                    p.received = p.received.max(end);
                    if total.is_some() {
                        p.total = total;
                    }
                }
            } else if e.from != CLIENT && frame.code().is_some_and(|c| (200..300).contains(&c)) {
                if let Some((a, b, _)) = ranges.get(frame.tid.as_str()) {
                    acked.push((*a, *b));
                }
            }
        }
        if !seen {
            return None;
        }
        acked.sort_unstable();
        for (a, b) in acked {
            if a <= p.acknowledged + 1 {
                p.acknowledged = p.acknowledged.max(b);
            }
        }
        Some(p)
    }
}

/// `start-end/total` of an MSRP Byte-Range (`*` for an unknown end or total).
fn byte_range(v: &str) -> Option<(u64, Option<u64>, Option<u64>)> {
    let (range, total) = v.trim().split_once('/')?;
    let (a, b) = range.split_once('-')?;
    Some((
        a.trim().parse().ok()?,
        b.trim().parse().ok(),
        total.trim().parse().ok(),
    ))
}

/// Whether a message of a role is what `send` step `s` puts on the wire: its method or status,
/// and what the step pins down: the dialog it is sent in (`in_dialog`), the request it answers
/// (`answers`), its Request-URI and the header values it sets. (A simulated role also sends
/// messages of its own, such as the conference NOTIFY after a SUBSCRIBE; those differ in one of
/// these.)
fn sends(s: &Send, o: ObsRef<'_>, env: &MatchEnv) -> bool {
    let i = |t: &str| env.interpolate(t).unwrap_or_else(|_| t.to_string());
    let saved_sip = |name: &str| match env.saved.get(name) {
        Some(crate::observed::SavedMessage::Sip(m)) => Some(m),
        _ => None,
    };
    match (o, &s.sip, s.status, &s.msrp) {
        (ObsRef::Sip(m), Some(method), _, _) => {
            m.method()
                .is_some_and(|x| x.to_string().eq_ignore_ascii_case(method))
                && s.in_dialog
                    .as_deref()
                    .is_none_or(|d| saved_sip(d).is_none_or(|saved| saved.call_id() == m.call_id()))
                && s.request_uri
                    .as_deref()
                    .is_none_or(|u| m.request_uri().is_none_or(|ru| ru.to_string() == i(u)))
                && s.headers.iter().all(|(name, value)| {
                    m.header(name)
                        .is_some_and(|v| v.contains(i(value).as_str()))
                })
                && s.body.as_ref().is_none_or(|b| {
                    m.header("Content-Type")
                        .is_some_and(|ct| ct.contains(i(&b.content_type).as_str()))
                        && b.text.as_deref().is_none_or(|t| {
                            String::from_utf8_lossy(&m.body).contains(i(t).as_str())
                        })
                })
        }
        (ObsRef::Sip(m), None, Some(code), None) => {
            m.status().is_some_and(|c| c.0 == code)
                && s.answers.as_deref().is_none_or(|a| {
                    saved_sip(a).is_none_or(|req| {
                        req.call_id() == m.call_id() && req.header("CSeq") == m.header("CSeq")
                    })
                })
        }
        (ObsRef::Msrp { frame, .. }, None, None, Some(MsrpStart::Method(m))) => frame
            .method()
            .is_some_and(|x| x.to_string().eq_ignore_ascii_case(m)),
        (ObsRef::Msrp { frame, .. }, None, None, Some(MsrpStart::Status(c))) => {
            frame.code() == Some(*c)
        }
        _ => false,
    }
}

/// `msrp: CLOSE` puts no message on the wire (a TCP FIN): nothing to locate.
fn leaves_no_message(s: &Send) -> bool {
    s.msrp.as_ref().is_some_and(|m| m.is_method("CLOSE"))
}

impl ReplayFeed<'_> {
    /// Saves what a `send` step of a SIP request sent, as the live step does.
    fn save_sent(&mut self, s: &Send, i: usize, env: &mut MatchEnv) {
        if !self.read_to(i) {
            return;
        }
        self.claimed[i] = true;
        self.front = self.front.max(i + 1);
        self.stimuli_front = i + 1;
        self.now = self.now.max(self.entries[i].time);
        if s.sip.is_none() {
            return;
        }
        if let ObsKind::Sip(m) = &self.entries[i].obs {
            env.save("last_sent", Observed::Sip(m));
            if let Some(name) = &s.save {
                env.save(name.as_str(), Observed::Sip(m));
            }
        }
    }
}

impl Feed for ReplayFeed<'_> {
    fn now(&self) -> Duration {
        self.now
    }

    async fn next(&mut self, until: Duration, want: Want) -> Result<Arrival, RunError> {
        if let Some(inputs) = &mut self.inputs {
            let input = inputs.pop_front();
            return match input {
                Some(Input::Observed { message }) => match self.find_client(&message) {
                    Some(i) => Ok(self.deliver(i)),
                    None => Err(RunError::Other(format!(
                        "the capture lacks a message of the client that the live run observed: {message}"
                    ))),
                },
                Some(Input::Closed { role, by_peer }) => {
                    self.seq += 1;
                    Ok(Arrival::Observation(Obs {
                        seq: self.seq,
                        time: self.now,
                        role,
                        kind: ObsKind::MsrpClosed {
                            session: 0,
                            by_peer,
                        },
                    }))
                }
                Some(Input::Event { name, data }) => {
                    cpmconf_ut::Event::from_parts(&name, data)
                        .map(Arrival::Event)
                        .map_err(|e| RunError::Other(format!("timeline event {name}: {e}")))
                }
                Some(Input::Deadline) => {
                    self.now = self.now.max(until);
                    Ok(Arrival::Deadline)
                }
                Some(Input::Failed { message }) => Err(RunError::Other(message)),
                // The live run ended here (the settling after the steps is not recorded as
                // steps): nothing more arrives.
                None => Ok(Arrival::Deadline),
                Some(other) => {
                    let e = self.out_of_step("a message, an event or a deadline", Some(&other));
                    Err(e)
                }
            };
        }
        if want != Want::Events {
            // Every message of the client before the cursor was given (or absorbed): they are
            // given in capture order. Reading stops past the deadline (by READ_PAST_DEADLINE,
            // for timestamps a little out of order): what comes later is read by a later wait.
            let stop = until.saturating_add(READ_PAST_DEADLINE);
            let next = self.find_reading(self.client_cursor, &|f, i| {
                (f.is_client(i) && !f.delivered[i]) || f.entries[i].time > stop
            });
            let next = next.filter(|&i| self.is_client(i) && !self.delivered[i]);
            if let Some(i) = next {
                self.client_cursor = i;
                if self.entries[i].time <= until {
                    return Ok(self.deliver(i));
                }
            }
        }
        self.now = self.now.max(until);
        Ok(Arrival::Deadline)
    }

    async fn sync(&mut self) -> Result<Option<Duration>, RunError> {
        let Some(inputs) = &mut self.inputs else {
            return Ok(None);
        };
        match inputs.pop_front() {
            Some(Input::Sync { latency_us }) => Ok(latency_us.map(Duration::from_micros)),
            Some(Input::Failed { message }) => Err(RunError::Other(message)),
            other => Err(self.out_of_step("a `sync` answer", other.as_ref())),
        }
    }

    fn prepare(&mut self, step: &Step, env: &MatchEnv) {
        self.located = None;
        if self.inputs.is_some() {
            return;
        }
        if let Step::Send(s) = step {
            let role = env.interpolate(&s.role).unwrap_or_else(|_| s.role.clone());
            if let Some(i) = self.find_sent(s, &role, env) {
                if self.read_to(i) {
                    self.located = Some(i);
                    // What the client sent before the role's message was sent before the
                    // stimulus.
                    self.now = self.now.max(self.entries[i].time);
                }
            }
        }
    }

    async fn stimulus(&mut self, step: &Step, env: &mut MatchEnv) -> StepOutcome {
        let Step::Send(s) = step else {
            // A `do` step: from a timeline its recorded outcome; from a capture made elsewhere
            // it leaves no trace, and the client's reaction is what the next steps judge.
            return match &mut self.inputs {
                Some(inputs) => match inputs.pop_front() {
                    Some(Input::Stimulus { outcome, message }) => {
                        Input::outcome(&outcome, &message)
                    }
                    other => StepOutcome::Error(
                        self.out_of_step("a `do` step", other.as_ref()).to_string(),
                    ),
                },
                None => StepOutcome::Passed,
            };
        };
        let role = env.interpolate(&s.role).unwrap_or_else(|_| s.role.clone());
        if let Some(inputs) = &mut self.inputs {
            let o = match inputs.pop_front() {
                Some(Input::Stimulus { outcome, message }) => Input::outcome(&outcome, &message),
                other => {
                    return StepOutcome::Error(
                        self.out_of_step("a `send` step", other.as_ref())
                            .to_string(),
                    )
                }
            };
            if matches!(o, StepOutcome::Passed) && !leaves_no_message(s) {
                match self.find_sent(s, &role, env) {
                    Some(i) => self.save_sent(s, i, env),
                    None => {
                        return StepOutcome::Error(format!(
                            "the capture lacks the message the simulated {role} sent for this step"
                        ))
                    }
                }
            }
            return o;
        }
        if leaves_no_message(s) {
            return StepOutcome::Passed;
        }
        match self.located.take() {
            Some(i) => {
                self.save_sent(s, i, env);
                StepOutcome::Passed
            }
            None => StepOutcome::NotReached(format!(
                "the capture does not show {role} sending what this step sends ({}) after the messages judged so far: the stimulus never appears",
                crate::judge::describe(step)
            )),
        }
    }

    fn consumed(&mut self, _o: &Obs, _save: Option<&str>) {}

    fn locate(&self, step: &Step, env: &MatchEnv) -> Option<u64> {
        if self.inputs.is_some() {
            return None;
        }
        let Step::Send(s) = step else { return None };
        let role = env.interpolate(&s.role).unwrap_or_else(|_| s.role.clone());
        self.find_sent(s, &role, env).map(|i| i as u64 + 1)
    }

    fn stimulus_mark(&self) -> Option<u64> {
        match (&self.inputs, self.located) {
            (None, Some(i)) => Some(i as u64 + 1),
            _ => None,
        }
    }

    fn knows_run(&self) -> bool {
        self.inputs.is_some()
    }

    fn covers(&self, until: Duration) -> bool {
        self.inputs.is_some() || until <= self.end()
    }

    fn progress(&self, session: u64) -> Option<TransferProgress> {
        self.progress_of(session)
    }

    fn granted(
        &mut self,
        request: &sip::Message,
        deadline: Duration,
        within: Duration,
    ) -> Option<Duration> {
        // Replaying, the live window's move. A timeline written before moves were recorded has
        // none: its live judge moved no window, and neither does the replay.
        if let Some(inputs) = &mut self.inputs {
            let Some(Input::Granted { later_by_us }) = inputs.front() else {
                return None;
            };
            let later = later_by_us.map(|d| deadline + Duration::from_micros(d));
            inputs.pop_front();
            return later;
        }
        // From the capture: the role's first final response to the request (`later_end`
        // takes it only when it was sent by the deadline).
        let (call_id, cseq) = (request.call_id()?, request.cseq_number()?);
        let answers = |e: &Entry| {
            e.from != CLIENT
                && matches!(&e.obs, ObsKind::Sip(m)
                    if m.status().is_some_and(|s| s.0 >= 200)
                        && m.call_id() == Some(call_id)
                        && m.cseq_number() == Some(cseq))
        };
        let at = match self.entries.iter().find(|e| answers(e)) {
            Some(e) => e.time,
            // Not read yet: looked for ahead, as far as a wait reads past its deadline.
            None => self
                .ahead()
                .take_while(|(_, e)| e.time <= deadline + READ_PAST_DEADLINE)
                .find(|(_, e)| answers(e))
                .map(|(_, e)| e.time)?,
        };
        super::later_end(at, within, deadline)
    }
}
