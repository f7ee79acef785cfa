//! `send` steps: a simulated role sends a SIP request, a SIP response to a request it holds, or
//! an MSRP message, built from the step with every `${...}` substituted.

use std::path::Path;

use cpmconf_codec::sdp::{Direction, FileAttributes, FileRange, FileSelector};
use cpmconf_codec::sip::Method;
use cpmconf_codec::xml::conference_info::{ConferenceInfo, ElementState, Endpoint, User};
use cpmconf_sim::{
    Body, CpimSpec, OfferKind, RequestSpec, ResponseSpec, SdpOffer, SendOptions, Target,
};

use crate::matcher::icsi_of;
use crate::observed::{MatchEnv, Observed, SavedMessage};
use crate::scenario::{BodySend, CpimSend, MediaKind, MsrpStart, SdpSend, Send};

use super::context::{RunError, SendContext};

/// Performs a `send` step.
pub async fn send(ctx: &mut SendContext<'_>, s: &Send, fixtures: &Path) -> Result<(), RunError> {
    let role = ctx.env.interpolate(&s.role).map_err(RunError::from)?;
    if let Some(code) = s.status {
        return respond(ctx, s, code).await;
    }
    if let Some(m) = &s.msrp {
        return send_msrp(ctx, s, m, fixtures).await;
    }
    let Some(method) = &s.sip else {
        return Err(RunError::Other(
            "a send step needs one of `sip`, `status` or `msrp`".into(),
        ));
    };
    let method: Method = method
        .parse()
        .map_err(|_| RunError::Other(format!("unknown SIP method {method:?}")))?;
    if method == Method::Cancel {
        return cancel(ctx, s).await;
    }
    let target = match &s.in_dialog {
        Some(name) => {
            let call_id = saved_call_id(ctx, name)?;
            Target::Dialog(ctx.net.dialog_of_call_id(&call_id).ok_or_else(|| {
                RunError::Other(format!(
                    "no dialog of the simulated network has the Call-ID of `{name}` ({call_id})"
                ))
            })?)
        }
        None => Target::Aor(match &s.request_uri {
            Some(u) => ctx.env.interpolate(u).map_err(RunError::from)?,
            None => ctx
                .env
                .bindings
                .get("client.uri")
                .unwrap_or_default()
                .to_string(),
        }),
    };
    let mut spec = RequestSpec {
        method,
        target,
        from: None,
        headers: Vec::new(),
        body: Body::None,
        contact: None,
    };
    for (name, value) in &s.headers {
        let v = ctx.env.interpolate(value).map_err(RunError::from)?;
        if name.eq_ignore_ascii_case("From") {
            spec.from = Some(v);
        } else {
            spec.headers.push((name.clone(), v));
        }
    }
    let mut contact = match &s.contact {
        Some(c) => Some(ctx.env.interpolate(c).map_err(RunError::from)?),
        None => None,
    };
    if let Some(ft) = &s.feature_tags {
        if let Some(ac) = &ft.accept_contact {
            spec.headers.push((
                "Accept-Contact".into(),
                format!("*;+g.3gpp.icsi-ref=\"{}\"", icsi_param(ac)),
            ));
        }
        if let Some(ct) = &ft.contact {
            let c = contact.as_mut().ok_or_else(|| {
                RunError::Other("`feature_tags.contact` needs an explicit `contact`".into())
            })?;
            c.push_str(&format!(";+g.3gpp.icsi-ref=\"{}\"", icsi_param(ct)));
        }
    }
    spec.contact = contact;
    spec.body = body(ctx, s, &role, fixtures)?;
    let sent = ctx.net.send_request(&role, spec).await?;
    if let (Some(cid), Some(n)) = (sent.request.call_id(), sent.request.cseq_number()) {
        ctx.sent.push((cid.to_string(), n, sent.id));
    }
    let v = Observed::Sip(&sent.request);
    ctx.env.save("last_sent", v);
    if let Some(name) = &s.save {
        ctx.env.save(name.as_str(), v);
    }
    Ok(())
}

/// CANCEL of a pending INVITE a role sent (RFC 3261 9.1): `in_dialog` (or `answers`, default
/// `last_sent`) names the saved INVITE. The CANCEL is saved (and becomes `last_sent`) as RFC 3261
/// builds it: the INVITE's Request-URI, top Via, From, To, Call-ID and CSeq number.
async fn cancel(ctx: &mut SendContext<'_>, s: &Send) -> Result<(), RunError> {
    let name = s
        .in_dialog
        .as_deref()
        .or(s.answers.as_deref())
        .unwrap_or("last_sent");
    let Some(SavedMessage::Sip(invite)) = ctx.env.saved.get(name).cloned() else {
        return Err(other(format!("CANCEL: no SIP request saved as `{name}`")));
    };
    let key = (
        invite.call_id().unwrap_or_default().to_string(),
        invite.cseq_number().unwrap_or(0),
    );
    let id = ctx
        .sent
        .iter()
        .find(|(c, n, _)| (c.clone(), *n) == key)
        .map(|(_, _, id)| *id)
        .ok_or_else(|| {
            other(format!(
                "CANCEL: `{name}` is not a request a simulated role sent"
            ))
        })?;
    let mut headers = Vec::new();
    for (n, v) in &s.headers {
        headers.push((n.clone(), ctx.env.interpolate(v).map_err(RunError::from)?));
    }
    ctx.net.cancel_with(id, headers.clone()).await?;
    let mut text = format!(
        "CANCEL {} SIP/2.0\r\n",
        invite.request_uri().unwrap_or_default()
    );
    for h in ["Via", "From", "To", "Call-ID"] {
        if let Some(v) = invite.header(h) {
            text.push_str(&format!("{h}: {v}\r\n"));
        }
    }
    text.push_str(&format!("CSeq: {} CANCEL\r\n", key.1));
    for (n, v) in &headers {
        text.push_str(&format!("{n}: {v}\r\n"));
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    let msg = cpmconf_codec::sip::Message::parse(text.as_bytes())
        .map_err(|e| other(format!("CANCEL: {e}")))?
        .value;
    let v = Observed::Sip(&msg);
    ctx.env.save("last_sent", v);
    if let Some(n) = &s.save {
        ctx.env.save(n.as_str(), v);
    }
    Ok(())
}

/// The `+g.3gpp.icsi-ref` value: percent-encoded URNs joined by `,`.
fn icsi_param(names: &[String]) -> String {
    names
        .iter()
        .map(|n| icsi_of(n).replace(':', "%3A"))
        .collect::<Vec<_>>()
        .join(",")
}

fn other(e: impl std::fmt::Display) -> RunError {
    RunError::Other(e.to_string())
}

fn saved_call_id(ctx: &SendContext<'_>, name: &str) -> Result<String, RunError> {
    match ctx.env.saved.get(name) {
        Some(SavedMessage::Sip(m)) => m
            .call_id()
            .map(str::to_string)
            .ok_or_else(|| RunError::Other(format!("saved message `{name}` has no Call-ID"))),
        Some(SavedMessage::Msrp(_)) => Err(RunError::Other(format!(
            "saved message `{name}` is MSRP, not SIP"
        ))),
        None => Err(RunError::Other(format!("no message saved as `{name}`"))),
    }
}

/// A response to a held request (the role holds it because a later step answers it).
async fn respond(ctx: &mut SendContext<'_>, s: &Send, code: u16) -> Result<(), RunError> {
    let name = s.answers.as_deref().unwrap_or("last_received");
    let Some(SavedMessage::Sip(req)) = ctx.env.saved.get(name) else {
        return Err(RunError::Other(format!(
            "`answers: {name}` names no saved SIP request"
        )));
    };
    let key = (req.call_id().map(str::to_string), req.cseq_number());
    if s.again {
        // The role's UAS core sends its 2xx again (RFC 3261 13.3.1.4).
        let answered = ctx
            .answered
            .iter()
            .find(|h| {
                (
                    h.request().call_id().map(str::to_string),
                    h.request().cseq_number(),
                ) == key
            })
            .ok_or_else(|| {
                RunError::Other(format!(
                    "`again`: no earlier step answered `{name}` with a 2xx"
                ))
            })?;
        answered.retransmit_2xx().await?;
        return Ok(());
    }
    let pos = ctx
        .held
        .iter()
        .position(|h| (h.request().call_id().map(str::to_string), h.request().cseq_number()) == key)
        .ok_or_else(|| {
            RunError::Other(format!(
                "`{name}` is not held by a simulated role (only requests saved by an earlier `expect` can be answered)"
            ))
        })?;
    let held = ctx
        .held
        .get(pos)
        .cloned()
        .ok_or_else(|| other("held request vanished"))?;
    let mut spec = ResponseSpec::default();
    for (n, v) in &s.headers {
        spec.headers
            .push((n.clone(), ctx.env.interpolate(v).map_err(RunError::from)?));
    }
    if let Some(c) = &s.contact {
        spec.contact = Some(ctx.env.interpolate(c).map_err(RunError::from)?);
    }
    spec.reason = s.reason.clone();
    let role = held.role().to_string();
    spec.body = body(ctx, s, &role, Path::new("."))?;
    if s.keep_on_cancel {
        // Before the provisional goes out: the client may CANCEL as soon as it sees one.
        held.keep_on_cancel().await?;
    }
    held.respond(code, spec).await?;
    if code >= 200 {
        let held = ctx.held.remove(pos);
        if (200..300).contains(&code) && held.request().method() == Some(&Method::Invite) {
            ctx.answered.push(held);
        }
    }
    Ok(())
}

/// An MSRP message on the session of a saved SIP dialog or MSRP message.
async fn send_msrp(
    ctx: &mut SendContext<'_>,
    s: &Send,
    m: &MsrpStart,
    fixtures: &Path,
) -> Result<(), RunError> {
    if let MsrpStart::Status(code) = m {
        return respond_msrp(ctx, s, *code).await;
    }
    if m.is_method("CLOSE") {
        return close_msrp(ctx, s).await;
    }
    if !m.is_method("SEND") {
        return Err(RunError::Other(format!(
            "the simulated roles send MSRP SEND and responses to held chunks only (they answer requests by themselves), not {m:?}"
        )));
    }
    let session = msrp_session_of(ctx, s, "an MSRP send")?;
    let role = ctx.env.interpolate(&s.role).map_err(RunError::from)?;
    let (ct, bytes) = match body(ctx, s, &role, fixtures)? {
        Body::Cpim(c) => ("message/cpim".to_string(), c.to_bytes()),
        Body::Raw {
            content_type,
            bytes,
        } => (content_type, bytes),
        Body::None | Body::Sdp(_) => {
            return Err(other("an MSRP SEND needs a `cpim` or `body`"));
        }
    };
    let mut opts = SendOptions {
        stop_after_chunks: s.stop_after_chunks,
        byte_range_start: s.from_byte.unwrap_or(1) as u64,
        ..SendOptions::default()
    };
    if let Some(n) = s.chunk_size {
        opts.chunk_size = n;
    }
    ctx.net.send_msrp(session, &ct, bytes, opts).await?;
    Ok(())
}

/// `msrp: CLOSE` with `in_dialog: <saved>`: the role closes the MSRP connection of that SIP
/// dialog or MSRP message (the media plane is lost; CR 7.4.5 "interrupted"). The close follows
/// everything the role wrote on the connection before, in TCP order.
async fn close_msrp(ctx: &mut SendContext<'_>, s: &Send) -> Result<(), RunError> {
    let session = msrp_session_of(ctx, s, "`msrp: CLOSE`")?;
    ctx.net.close_msrp(session).await?;
    Ok(())
}

/// The MSRP session a step's `in_dialog` names: that of a saved MSRP message, or of the SIP
/// dialog of a saved SIP message.
fn msrp_session_of(
    ctx: &SendContext<'_>,
    s: &Send,
    what: &str,
) -> Result<cpmconf_sim::SessionId, RunError> {
    let name = s.in_dialog.as_deref().ok_or_else(|| {
        other(format!(
            "{what} needs `in_dialog` (a saved SIP dialog or MSRP message)"
        ))
    })?;
    if let Some(session) = ctx.sessions.get(name) {
        return Ok(*session);
    }
    let call_id = saved_call_id(ctx, name)?;
    let dialog = ctx
        .net
        .dialog_of_call_id(&call_id)
        .ok_or_else(|| other(format!("no dialog with the Call-ID of `{name}`")))?;
    ctx.net
        .session_of_dialog(dialog)
        .ok_or_else(|| RunError::NoMsrpSession {
            dialog: name.to_string(),
        })
}

/// `msrp: CODE` with `answers: <saved chunk>`: the role answers a SEND chunk of the client it
/// holds (the runner puts a role that answers chunks itself in manual MSRP mode for the whole
/// scenario, see `hold_answered_requests`).
async fn respond_msrp(ctx: &mut SendContext<'_>, s: &Send, code: u16) -> Result<(), RunError> {
    let name = s
        .answers
        .as_deref()
        .ok_or_else(|| other("an MSRP response needs `answers:` naming the saved chunk"))?;
    let Some(SavedMessage::Msrp(chunk)) = ctx.env.saved.get(name).cloned() else {
        return Err(other(format!(
            "`answers: {name}` names no saved MSRP message"
        )));
    };
    let session = ctx.sessions.get(name).copied().ok_or_else(|| {
        other(format!(
            "`answers: {name}`: no MSRP session of the simulated network carried it"
        ))
    })?;
    ctx.net.respond_msrp(session, &chunk, code).await?;
    Ok(())
}

/// The body of a request or response: SDP, CPIM or literal.
fn body(ctx: &SendContext<'_>, s: &Send, role: &str, fixtures: &Path) -> Result<Body, RunError> {
    let given = [
        s.sdp.is_some(),
        s.cpim.is_some(),
        s.body.is_some(),
        s.xml.is_some(),
    ];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(other(
            "a send step takes at most one of `sdp`, `cpim`, `body`, `xml`",
        ));
    }
    if let Some(x) = &s.xml {
        return xml_body(&ctx.env, x);
    }
    if let Some(sdp) = &s.sdp {
        return sdp_body(ctx, sdp);
    }
    if let Some(c) = &s.cpim {
        return cpim_body(ctx, c, role);
    }
    if let Some(b) = &s.body {
        return literal_body(ctx, b, fixtures);
    }
    Ok(Body::None)
}

fn sdp_body(ctx: &SendContext<'_>, sdp: &SdpSend) -> Result<Body, RunError> {
    let i = |v: &str| ctx.env.interpolate(v).map_err(RunError::from);
    if sdp.answer == Some(MediaKind::File) {
        // The role answers the offer it holds (RFC 5547 8.2 and 9): the direction reversed,
        // its own MSRP endpoint, the offer's file-selector, file-transfer-id and file-range
        // echoed. Nothing of it is chosen by the step.
        for (set, key) in [
            (sdp.direction.is_some(), "direction"),
            (sdp.setup.is_some(), "setup"),
            (sdp.accept_types.is_some(), "accept-types"),
            (sdp.accept_wrapped_types.is_some(), "accept-wrapped-types"),
            (sdp.file_selector.is_some(), "file-selector"),
            (sdp.file_range.is_some(), "file-range"),
            (sdp.file_transfer_id.is_some(), "file-transfer-id"),
            (sdp.file_disposition.is_some(), "file-disposition"),
        ] {
            if set {
                return Err(other(format!(
                    "sdp `{key}` of a file answer comes from the offer it answers (RFC 5547 8.2: direction reversed, file attributes echoed); it cannot be set"
                )));
            }
        }
        return Ok(Body::Sdp(SdpOffer {
            kind: OfferKind::File(Box::new(FileAttributes {
                selector: FileSelector::default(),
                transfer_id: String::new(),
                disposition: None,
                date: None,
                icon: None,
                range: None,
            })),
            direction: Direction::SendRecv,
        }));
    }
    let kind = sdp.offer.or(sdp.answer).unwrap_or(MediaKind::Chat);
    let kind = match kind {
        MediaKind::Chat => OfferKind::Chat,
        MediaKind::Largemsg => OfferKind::LargeMsg,
        MediaKind::File => OfferKind::File(Box::new(file_attributes(&ctx.env, sdp)?)),
    };
    let direction = match sdp.direction.as_deref().map(i).transpose()?.as_deref() {
        None | Some("sendrecv") => Direction::SendRecv,
        Some("sendonly") => Direction::SendOnly,
        Some("recvonly") => Direction::RecvOnly,
        Some("inactive") => Direction::Inactive,
        Some(d) => return Err(other(format!("unknown SDP direction {d:?}"))),
    };
    let file = kind != OfferKind::Chat && kind != OfferKind::LargeMsg;
    // The sim writes file offers as RFC 5547 8.1 defines them (codec `sdp::file_offer`): a
    // push (a=sendonly) or a pull / resume request (a=recvonly, RFC 5547 9); the role's own
    // MSRP endpoint is behind either.
    if file && !matches!(direction, Direction::SendOnly | Direction::RecvOnly) {
        return Err(other(
            "`sdp: { offer: file }` is a push (direction: sendonly) or a pull or resume request (direction: recvonly) (RFC 5547 8.1)",
        ));
    }
    for (set, key) in [
        (sdp.setup.is_some(), "setup"),
        (sdp.accept_types.is_some(), "accept-types"),
        (sdp.accept_wrapped_types.is_some(), "accept-wrapped-types"),
        (!file && sdp.file_selector.is_some(), "file-selector"),
        (!file && sdp.file_range.is_some(), "file-range"),
        (!file && sdp.file_transfer_id.is_some(), "file-transfer-id"),
        (!file && sdp.file_disposition.is_some(), "file-disposition"),
    ] {
        if set {
            return Err(other(format!(
                "sdp `{key}` is chosen by the simulated role (file attributes only go with `offer: file`); it cannot be overridden"
            )));
        }
    }
    Ok(Body::Sdp(SdpOffer { kind, direction }))
}

/// The RFC 5547 attributes of `sdp: { offer: file, ... }`: `file-selector` is mandatory
/// (RFC 5547 5); `file-transfer-id` defaults to a value derived from the selector.
fn file_attributes(env: &MatchEnv, sdp: &SdpSend) -> Result<FileAttributes, RunError> {
    let i = |v: &str| env.interpolate(v).map_err(RunError::from);
    let text = sdp
        .file_selector
        .as_deref()
        .ok_or_else(|| other("`sdp: { offer: file }` needs a `file-selector` (RFC 5547 5)"))?;
    let text = i(text)?;
    let selector =
        FileSelector::parse(&text).map_err(|e| other(format!("file-selector {text:?}: {e}")))?;
    let transfer_id = match &sdp.file_transfer_id {
        Some(t) => i(t)?,
        None => {
            use sha2::{Digest, Sha256};
            hex::encode(
                Sha256::digest(text.as_bytes())
                    .get(..16)
                    .unwrap_or_default(),
            )
        }
    };
    let range = match &sdp.file_range {
        Some(r) => {
            let r = i(r)?;
            Some(FileRange::parse(&r).map_err(|e| other(format!("file-range {r:?}: {e}")))?)
        }
        None => None,
    };
    Ok(FileAttributes {
        selector,
        transfer_id,
        disposition: sdp.file_disposition.as_deref().map(i).transpose()?,
        date: None,
        icon: None,
        range,
    })
}

/// `xml: { conference-info: { entity, state, version, users: [{entity, state, display-text,
/// status}] } }`: an RFC 4575 document (`application/conference-info+xml`). Other kinds are
/// written with `body: { content-type, text }`.
fn xml_body(
    env: &MatchEnv,
    x: &std::collections::BTreeMap<String, std::collections::BTreeMap<String, serde_json::Value>>,
) -> Result<Body, RunError> {
    let mut kinds = x.iter();
    let (Some((kind, fields)), None) = (kinds.next(), kinds.next()) else {
        return Err(other("`xml` names exactly one document kind"));
    };
    if kind != "conference-info" {
        return Err(other(format!(
            "`xml: {{ {kind}: ... }}` is not built by the runner (only `conference-info` is): write the document with `body: {{ content-type, text }}`"
        )));
    }
    let fields = env
        .interpolate_json(&serde_json::to_value(fields).map_err(other)?)
        .map_err(RunError::from)?;
    let text = |v: &serde_json::Value| -> Option<String> {
        match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Null => None,
            o => Some(o.to_string()),
        }
    };
    let state = |v: Option<&serde_json::Value>| -> Result<Option<ElementState>, RunError> {
        match v.and_then(text).as_deref() {
            None => Ok(None),
            Some("full") => Ok(Some(ElementState::Full)),
            Some("partial") => Ok(Some(ElementState::Partial)),
            Some("deleted") => Ok(Some(ElementState::Deleted)),
            Some(s) => Err(other(format!(
                "conference-info state {s:?}: expected full, partial or deleted (RFC 4575 5.1)"
            ))),
        }
    };
    let obj = fields
        .as_object()
        .ok_or_else(|| other("`conference-info` takes a map"))?;
    for k in obj.keys() {
        if !crate::validate::CONFERENCE_INFO_KEYS.contains(&k.as_str()) {
            return Err(other(format!(
                "conference-info: unknown key `{k}` (known: entity, state, version, users)"
            )));
        }
    }
    let entity = obj
        .get("entity")
        .and_then(text)
        .ok_or_else(|| other("conference-info needs an `entity` (RFC 4575 5.1)"))?;
    let version = match obj.get("version").and_then(text) {
        Some(v) => v
            .parse::<u32>()
            .map_err(|_| other(format!("conference-info version {v:?} is not a number")))?,
        None => 1,
    };
    let mut doc = ConferenceInfo::new(entity, version);
    if let Some(st) = state(obj.get("state"))? {
        doc.state = st;
    }
    let users = match obj.get("users") {
        None => Vec::new(),
        Some(serde_json::Value::Array(a)) => a.clone(),
        Some(_) => return Err(other("conference-info `users` is a list of maps")),
    };
    for u in &users {
        let u = u
            .as_object()
            .ok_or_else(|| other("conference-info `users` is a list of maps"))?;
        for k in u.keys() {
            if !crate::validate::CONFERENCE_USER_KEYS.contains(&k.as_str()) {
                return Err(other(format!(
                    "conference-info user: unknown key `{k}` (known: entity, state, display-text, status)"
                )));
            }
        }
        let entity = u.get("entity").and_then(text);
        let endpoints = match u.get("status").and_then(text) {
            Some(status) => vec![Endpoint {
                entity: entity.clone(),
                status: Some(status),
                ..Endpoint::default()
            }],
            None => Vec::new(),
        };
        doc.users.push(User {
            entity,
            state: state(u.get("state"))?,
            display_text: u.get("display-text").and_then(text),
            roles: Vec::new(),
            endpoints,
        });
    }
    Ok(Body::Raw {
        content_type: "application/conference-info+xml".into(),
        bytes: doc.to_xml().into_bytes(),
    })
}

fn cpim_body(ctx: &SendContext<'_>, c: &CpimSend, role: &str) -> Result<Body, RunError> {
    let i = |v: &str| ctx.env.interpolate(v).map_err(RunError::from);
    let domain = ctx
        .env
        .bindings
        .get("sim.domain")
        .unwrap_or("test")
        .to_string();
    let from = match &c.from {
        Some(f) => i(f)?,
        None => format!("sip:{role}@{domain}"),
    };
    let to = match &c.to {
        Some(t) => i(t)?,
        None => ctx
            .env
            .bindings
            .get("client.uri")
            .unwrap_or_default()
            .to_string(),
    };
    let mut spec = CpimSpec::text(&from, &to, &i(c.text.as_deref().unwrap_or(""))?);
    if let Some(ct) = &c.content_type {
        spec.content_type = i(ct)?;
    }
    for (name, value) in &c.headers {
        let v = i(value)?;
        match name.as_str() {
            "imdn.Message-ID" => spec.message_id = Some(v),
            "imdn.Disposition-Notification" => {
                spec.dispositions = v.split(',').map(|d| d.trim().to_string()).collect()
            }
            "DateTime" => spec.datetime = Some(v),
            "Content-Disposition" => spec.content_disposition = Some(v),
            other_name => {
                return Err(other(format!(
                    "CPIM header {other_name:?} cannot be set (known: imdn.Message-ID, imdn.Disposition-Notification, DateTime, Content-Disposition)"
                )))
            }
        }
    }
    Ok(Body::Cpim(spec))
}

fn literal_body(ctx: &SendContext<'_>, b: &BodySend, fixtures: &Path) -> Result<Body, RunError> {
    let bytes = match (&b.text, &b.file) {
        (Some(t), None) => ctx.env.interpolate(t).map_err(RunError::from)?.into_bytes(),
        (None, Some(f)) => std::fs::read(fixtures.join(f))
            .map_err(|e| other(format!("body file {}: {e}", fixtures.join(f).display())))?,
        _ => return Err(other("a body needs exactly one of `text` and `file`")),
    };
    Ok(Body::Raw {
        content_type: ctx
            .env
            .interpolate(&b.content_type)
            .map_err(RunError::from)?,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpmconf_codec::xml::conference_info::ConferenceInfo as Doc;

    fn env() -> MatchEnv {
        let mut env = MatchEnv::default();
        env.bindings.set("ft", "ft-1");
        env.bindings.set("g", "sip:g1@cf.test");
        env
    }

    fn sdp(yaml: &str) -> SdpSend {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn a_file_selector_map_becomes_rfc5547_attributes() {
        let s = sdp("{ offer: file, direction: sendonly, file-selector: { name: a.jpg, type: image/jpeg, size: 50000, hash: 'sha-1:72:24:5F' }, file-transfer-id: '${ft}', file-range: 1-* }");
        let f = file_attributes(&env(), &s).unwrap();
        assert_eq!(f.selector.name.as_deref(), Some("a.jpg"));
        assert_eq!(f.selector.file_type.as_deref(), Some("image/jpeg"));
        assert_eq!(f.selector.size, Some(50000));
        assert_eq!(
            f.selector.hash,
            Some(("sha-1".to_string(), vec![0x72, 0x24, 0x5f]))
        );
        assert_eq!(f.transfer_id, "ft-1");
        assert_eq!(f.range.map(|r| (r.start, r.stop)), Some((1, None)));
    }

    #[test]
    fn a_file_selector_text_is_kept_and_the_transfer_id_defaults() {
        let s = sdp("{ offer: file, file-selector: 'name:\"b.bin\" size:3' }");
        let f = file_attributes(&env(), &s).unwrap();
        assert_eq!(f.selector.name.as_deref(), Some("b.bin"));
        assert_eq!(f.selector.size, Some(3));
        assert_eq!(f.transfer_id.len(), 32);
        let again = file_attributes(&env(), &s).unwrap();
        assert_eq!(f.transfer_id, again.transfer_id);
    }

    #[test]
    fn a_file_offer_needs_a_selector_and_a_valid_range() {
        assert!(file_attributes(&env(), &sdp("{ offer: file }")).is_err());
        let s = sdp("{ offer: file, file-selector: { size: 3 }, file-range: '5' }");
        assert!(file_attributes(&env(), &s).is_err());
    }

    #[test]
    fn conference_info_is_built_from_a_small_map() {
        let x = serde_yaml::from_str(
            "conference-info: { entity: '${g}', state: partial, version: 3, users: [ { entity: 'sip:bob@test', status: connected }, { entity: 'sip:carol@test', state: deleted } ] }",
        )
        .unwrap();
        let Body::Raw {
            content_type,
            bytes,
        } = xml_body(&env(), &x).unwrap()
        else {
            panic!("not a raw body")
        };
        assert_eq!(content_type, "application/conference-info+xml");
        let doc = Doc::parse(&bytes).unwrap();
        assert_eq!(doc.entity, "sip:g1@cf.test");
        assert_eq!(doc.state, ElementState::Partial);
        assert_eq!(doc.version, Some(3));
        let bob = doc.user("sip:bob@test").unwrap();
        assert_eq!(
            bob.endpoints.first().and_then(|e| e.status.as_deref()),
            Some("connected")
        );
        let carol = doc.user("sip:carol@test").unwrap();
        assert_eq!(carol.state, Some(ElementState::Deleted));
        assert!(carol.endpoints.is_empty());
    }

    #[test]
    fn other_xml_kinds_and_unknown_keys_are_refused_with_the_way_out() {
        let x = serde_yaml::from_str("imdn: { message-id: m1 }").unwrap();
        let e = xml_body(&env(), &x).unwrap_err().to_string();
        assert!(e.contains("body: { content-type, text }"), "{e}");
        let x = serde_yaml::from_str("conference-info: { entity: x, color: red }").unwrap();
        assert!(xml_body(&env(), &x).is_err());
        let x = serde_yaml::from_str("conference-info: { state: full }").unwrap();
        assert!(xml_body(&env(), &x).is_err());
    }
}
