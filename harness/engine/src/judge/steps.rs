//! The step interpreter: each step over the judge's pool of observations and backlog of
//! events, with a deadline on every wait (feed time). Texts of steps and expectations for the
//! reports live here too, so every driver reports the same words.

use std::time::Duration;

use crate::assess::{Proves, StepOutcome};
use crate::group::{Assignment, GroupProgress, ItemState};
use crate::matcher::{check, check_event, human_duration, is_candidate, refuses, violates};
use crate::observed::Observed;
use crate::report::{RunEventKind, StepStatus};
use crate::scenario::{Expect, GroupItem, Scenario, Step, WaitFor};
use crate::verdict::Finding;

use super::{Arrived, Feed, Judge, Obs, ObsKind, Want};

/// Runs one step; returns the outcome of each part (one for a plain step, one per item of a
/// group) with the requirements it verifies.
pub async fn run_step<F: Feed>(ctx: &mut Judge<F>, step: &Step) -> Vec<(Proves, StepOutcome)> {
    // A stimulus: what the client sent before it cannot be its answer (`earlier: true` aside).
    // A `do` step leaves no trace in a capture made elsewhere: when it happened is unknown, so
    // it moves no mark there (what the client sent before it is not held against it).
    let timed = ctx.feed.knows_run() || matches!(step, Step::Send(_));
    if !timed {
        ctx.mark_unknown = true;
    }
    if matches!(step, Step::Do(_) | Step::Send(_)) && timed {
        ctx.feed.prepare(step, &ctx.env);
        if let Err(e) = ctx.mark_stimulus().await {
            return vec![(Proves::nothing(), error(e))];
        }
    }
    match step {
        Step::Do(_) | Step::Send(_) => {
            let o = ctx.feed.stimulus(step, &mut ctx.env).await;
            // `after: <this send>`: what the client sends from now on.
            if let (Step::Send(s), StepOutcome::Passed) = (step, &o) {
                if let Some(name) = &s.save {
                    ctx.boundaries.insert(
                        name.clone(),
                        crate::judge::Boundary {
                            after: ctx.mark,
                            at: None,
                        },
                    );
                }
            }
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

/// A step whose window a capture made elsewhere does not reach to the end: not judged.
fn capture_ends(what: &str) -> StepOutcome {
    StepOutcome::NotReached(format!("the capture ends before {what} could be observed"))
}

/// A `wait_for` judged from a capture made elsewhere: what the client showed its user is not on
/// the wire, so the step cannot be judged (and is not failed).
fn no_events(event: &str) -> StepOutcome {
    StepOutcome::NotReached(format!(
        "`wait_for {event}` needs the client's upper-tester events, which a capture does not hold"
    ))
}

fn proves(e: &Expect) -> Proves {
    Proves::of_expect(e)
}

fn error(e: impl std::fmt::Display) -> StepOutcome {
    StepOutcome::Error(e.to_string())
}

fn awaited(e: &Expect, within: Duration) -> String {
    format!("{} within {}", describe_expect(e), human_duration(within))
}

/// Whether pool entry `o` is a candidate for `e` (from the client, to the right role).
fn candidate<F: Feed>(
    ctx: &Judge<F>,
    e: &Expect,
    o: &Obs,
) -> Result<bool, crate::matcher::MatchError> {
    let Some(v) = o.view() else { return Ok(false) };
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

async fn run_expect<F: Feed>(ctx: &mut Judge<F>, e: &Expect) -> StepOutcome {
    if e.from != "client" {
        return error(format!(
            "`from: {}`: only messages of the client are observed",
            e.from
        ));
    }
    let within = e.bound(ctx.timing).unwrap_or(ctx.timing.expect());
    let mut deadline = ctx.feed.now() + within;
    if e.msrp.as_ref().is_some_and(|m| m.is_method("CLOSE")) {
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
                        early = o.view().map(|v| (v.summary(), v.quote()));
                    }
                    next += 1;
                }
                Ok(true) => {
                    let Some(v) = o.view() else { break };
                    let mut out = match check(e, v, &ctx.env) {
                        Ok(out) => out,
                        Err(err) => return error(err),
                    };
                    let (seq, time, channel) = (o.seq, o.time, o.channel());
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
                        if b.shows_before(seq, time, channel) {
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
                    let refused = o.view().map(|v| refuses(e, v, &ctx.env));
                    match refused {
                        Some(Ok(true)) => {
                            let (seen, quote) = o
                                .view()
                                .map(|v| (v.summary(), v.quote()))
                                .unwrap_or_default();
                            let code = o.view().and_then(|v| match v {
                                Observed::Sip(m) => m.status().map(|c| c.0),
                                Observed::Msrp(_) => None,
                            });
                            let declined = match o
                                .view()
                                .map(|v| crate::matcher::declined_otherwise(e, v, &ctx.env))
                            {
                                Some(Err(err)) => return error(err),
                                Some(Ok(d)) => d,
                                None => None,
                            };
                            // A decline judged as the step's message is saved as one.
                            let save = declined.as_ref().and(e.save.as_deref());
                            ctx.consume(next, save);
                            ctx.reached = true;
                            // An answer the CR allows here instead: not the situation under test.
                            if code.is_some_and(|c| e.inconclusive_on.contains(&c)) {
                                return StepOutcome::NotReached(format!(
                                    "the client answered {seen} instead of {}, an answer the CR allows here (`inconclusive_on`; the scenario's note says why): the situation under test was not reached",
                                    without_article(&awaited(e, within))
                                ));
                            }
                            // A decline awaited and another decline given: the same act with
                            // another code, judged on its status and the step's other
                            // conditions.
                            if let Some(findings) = declined {
                                return StepOutcome::Failed { findings, quote };
                            }
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
        match ctx.wait(deadline, Want::Observations).await {
            Ok(Arrived::Deadline) => {
                if let Some(later) = granted_deadline(ctx, e, within, deadline) {
                    deadline = later;
                    continue;
                }
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
                if !ctx.feed.covers(deadline) {
                    return capture_ends(&awaited(e, within));
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

/// A `timer:` window for a request in the dialog of a saved request of the client's
/// (`in_dialog: NAME`, a subscription's refresh): the client's timer starts when the role's
/// final response to the saved request reaches it (the response grants the Expires), and the
/// simulated network answers on a task of its own, which a loaded machine can run after the
/// step started. So at the written deadline the window is measured again from that response,
/// and the deadline moves there when that is later (never earlier than written; a response
/// not sent by the deadline moves nothing).
fn granted_deadline<F: Feed>(
    ctx: &mut Judge<F>,
    e: &Expect,
    within: Duration,
    deadline: Duration,
) -> Option<Duration> {
    e.timer?;
    let request = match ctx.env.saved.get(e.in_dialog.as_deref()?) {
        Some(crate::observed::SavedMessage::Sip(m)) if m.is_request() => m.clone(),
        _ => return None,
    };
    ctx.feed.granted(&request, deadline, within)
}

/// `resumes: <saved chunk>`: what the simulated role received and acknowledged on that chunk's
/// MSRP session, for the matcher. The situation of a resume is a transfer the role acknowledged
/// in part: with no byte acknowledged the lower bound is byte 1, which a client that tracks
/// nothing meets too, and with every byte acknowledged nothing is left to resume. Either way
/// the step is `inconclusive` (not reached), not a pass.
fn prepare_resume<F: Feed>(ctx: &mut Judge<F>, e: &Expect) -> Option<StepOutcome> {
    let name = e.resumes.as_deref()?;
    let Some(session) = ctx.sessions.get(name).copied() else {
        return Some(error(format!(
            "`resumes: {name}` names no MSRP message saved by an earlier `expect`"
        )));
    };
    let p = ctx.feed.progress(session).unwrap_or_default();
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
async fn run_expect_close<F: Feed>(
    ctx: &mut Judge<F>,
    e: &Expect,
    deadline: Duration,
    within: Duration,
) -> StepOutcome {
    loop {
        let hit = ctx.pool.iter().position(|o| {
            matches!(&o.kind, ObsKind::MsrpClosed { by_peer: true, .. })
                && e.to.as_deref().is_none_or(|t| t == o.role)
        });
        if let Some(i) = hit {
            ctx.pool.remove(i);
            return StepOutcome::Passed;
        }
        match ctx.wait(deadline, Want::Observations).await {
            Ok(Arrived::Deadline) if !ctx.feed.covers(deadline) => {
                return capture_ends(&format!(
                    "the MSRP connection with {} closed",
                    e.to.as_deref().unwrap_or("the simulated network")
                ))
            }
            Ok(Arrived::Deadline) => {
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
fn find_violation<F: Feed>(
    ctx: &Judge<F>,
    e: &Expect,
    from: usize,
) -> Result<Option<StepOutcome>, crate::matcher::MatchError> {
    for o in ctx.pool.iter().skip(from) {
        let Some(v) = o.view() else { continue };
        if ctx.window_end.is_some_and(|end| o.seq >= end) {
            continue;
        }
        if e.to.as_deref().is_some_and(|t| t != o.role) {
            continue;
        }
        if violates(e, v, &ctx.env)? {
            if !ctx.feed.knows_run() && (ctx.do_follows || (e.earlier && ctx.mark_unknown)) {
                return Ok(Some(StepOutcome::NotReached(format!(
                    "{} is in the window of `expect_none {}`, but without the run's timeline the capture cannot show whether it came before or after a `do` step next to the window",
                    v.summary(),
                    describe_expect(e)
                ))));
            }
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

async fn run_expect_none<F: Feed>(ctx: &mut Judge<F>, e: &Expect) -> StepOutcome {
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
    let deadline = ctx.feed.now() + window;
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
                Ok(true) => until = deadline.min(ctx.feed.now() + ctx.quiet_window()),
                Ok(false) => {}
                Err(err) => return error(err),
            }
        }
        match ctx.wait(until, Want::Observations).await {
            Ok(Arrived::Deadline) => {
                return match find_violation(ctx, e, checked) {
                    Ok(Some(v)) => v,
                    Ok(None) if !ctx.feed.covers(until) && ctx.window_end.is_none() => {
                        capture_ends(&format!(
                            "the whole window of `expect_none {}`",
                            describe_expect(e)
                        ))
                    }
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

async fn run_wait_for<F: Feed>(ctx: &mut Judge<F>, w: &WaitFor) -> StepOutcome {
    if !ctx.feed.knows_run() {
        return no_events(&w.event);
    }
    let within = w
        .within
        .map_or(ctx.timing.expect(), |d| d.scaled(ctx.timing));
    let deadline = ctx.feed.now() + within;
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
        match ctx.wait(deadline, Want::Events).await {
            Ok(Arrived::Deadline) => {
                return StepOutcome::TimedOut {
                    awaited: format!(
                        "event {} from the client within {}",
                        w.event,
                        human_duration(within)
                    ),
                }
            }
            Ok(_) => {}
            Err(e) => return error(e),
        }
    }
}

async fn run_group<F: Feed>(ctx: &mut Judge<F>, items: &[GroupItem]) -> Vec<(Proves, StepOutcome)> {
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
    let deadline = ctx.feed.now() + within;
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
            let Some(v) = o.view() else {
                next_obs += 1;
                continue;
            };
            // From a capture made elsewhere: what came after the next stimulus is not this
            // group's.
            if ctx.window_end.is_some_and(|end| o.seq >= end) {
                next_obs += 1;
                continue;
            }
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
                    Ok(true) => until = deadline.min(ctx.feed.now() + ctx.quiet_window()),
                    Ok(false) => {}
                    Err(e) => return fail_all(e.to_string()),
                }
            }
        }
        let wants_events = items.iter().any(|i| matches!(i, GroupItem::WaitFor(_)));
        match ctx
            .wait(
                until,
                if wants_events {
                    Want::Both
                } else {
                    Want::Observations
                },
            )
            .await
        {
            Ok(Arrived::Deadline) => break,
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
                (GroupItem::WaitFor(w), ItemState::Pending) if !ctx.feed.knows_run() => {
                    no_events(&w.event)
                }
                (_, ItemState::Pending) if !ctx.feed.covers(deadline) => capture_ends(&what),
                (_, ItemState::Pending) => StepOutcome::TimedOut { awaited: what },
                (GroupItem::ExpectNone(e), ItemState::Violated(_))
                    if !ctx.feed.knows_run() && ctx.do_follows =>
                {
                    StepOutcome::NotReached(format!(
                        "a message is in the window of `expect_none {}`, but without the run's timeline the capture cannot show whether it came before or after the next `do` step",
                        describe_expect(e)
                    ))
                }
                (GroupItem::ExpectNone(e), ItemState::Violated(out)) => StepOutcome::Failed {
                    findings: vec![Finding::new(
                        "message",
                        format!("no {}", without_article(&describe_expect(e))),
                        out.quote.first().cloned().unwrap_or_default(),
                    )
                    .keyed(crate::matcher::START_KEY)],
                    quote: out.quote.clone(),
                },
                // Declined with another code (the status finding): judged on it alone.
                (_, ItemState::Refused(out)) if !out.findings.is_empty() => StepOutcome::Failed {
                    findings: out.findings.clone(),
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

/// The run event of a finished step.
pub fn step_event(
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
