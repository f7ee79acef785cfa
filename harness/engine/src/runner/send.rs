//! `send` steps: a simulated role sends a SIP request, a SIP response to a request it holds, or
//! an MSRP message, built from the step with every `${...}` substituted.

use std::path::Path;

use cpmconf_codec::sdp::Direction;
use cpmconf_codec::sip::Method;
use cpmconf_sim::{
    Body, CpimSpec, OfferKind, RequestSpec, ResponseSpec, SdpOffer, SendOptions, Target,
};

use crate::matcher::icsi_of;
use crate::observed::{Observed, SavedMessage};
use crate::scenario::{BodySend, CpimSend, MediaKind, MsrpStart, SdpSend, Send};

use super::context::{Context, RunError};

/// Performs a `send` step.
pub async fn send(ctx: &mut Context<'_>, s: &Send, fixtures: &Path) -> Result<(), RunError> {
    let role = ctx.env.interpolate(&s.role).map_err(other)?;
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
            Some(u) => ctx.env.interpolate(u).map_err(other)?,
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
        let v = ctx.env.interpolate(value).map_err(other)?;
        if name.eq_ignore_ascii_case("From") {
            spec.from = Some(v);
        } else {
            spec.headers.push((name.clone(), v));
        }
    }
    let mut contact = match &s.contact {
        Some(c) => Some(ctx.env.interpolate(c).map_err(other)?),
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
async fn cancel(ctx: &mut Context<'_>, s: &Send) -> Result<(), RunError> {
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
        headers.push((n.clone(), ctx.env.interpolate(v).map_err(other)?));
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

fn saved_call_id(ctx: &Context<'_>, name: &str) -> Result<String, RunError> {
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
async fn respond(ctx: &mut Context<'_>, s: &Send, code: u16) -> Result<(), RunError> {
    let name = s.answers.as_deref().unwrap_or("last_received");
    let Some(SavedMessage::Sip(req)) = ctx.env.saved.get(name) else {
        return Err(RunError::Other(format!(
            "`answers: {name}` names no saved SIP request"
        )));
    };
    let key = (req.call_id().map(str::to_string), req.cseq_number());
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
            .push((n.clone(), ctx.env.interpolate(v).map_err(other)?));
    }
    if let Some(c) = &s.contact {
        spec.contact = Some(ctx.env.interpolate(c).map_err(other)?);
    }
    spec.reason = s.reason.clone();
    let role = held.role().to_string();
    spec.body = body(ctx, s, &role, Path::new("."))?;
    held.respond(code, spec).await?;
    if code >= 200 {
        ctx.held.remove(pos);
    }
    Ok(())
}

/// An MSRP message on the session of a saved SIP dialog or MSRP message.
async fn send_msrp(
    ctx: &mut Context<'_>,
    s: &Send,
    m: &MsrpStart,
    fixtures: &Path,
) -> Result<(), RunError> {
    if m != &MsrpStart::Method("SEND".into()) {
        return Err(RunError::Other(format!(
            "the simulated roles send only MSRP SEND (they answer requests by themselves), not {m:?}"
        )));
    }
    let name = s.in_dialog.as_deref().ok_or_else(|| {
        other("an MSRP send needs `in_dialog` (a saved SIP dialog or MSRP message)")
    })?;
    let session = match ctx.sessions.get(name) {
        Some(s) => *s,
        None => {
            let call_id = saved_call_id(ctx, name)?;
            let dialog = ctx
                .net
                .dialog_of_call_id(&call_id)
                .ok_or_else(|| other(format!("no dialog with the Call-ID of `{name}`")))?;
            ctx.net
                .session_of_dialog(dialog)
                .ok_or_else(|| other(format!("the dialog of `{name}` has no MSRP session")))?
        }
    };
    let role = ctx.env.interpolate(&s.role).map_err(other)?;
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
    ctx.net
        .send_msrp(session, &ct, bytes, SendOptions::default())
        .await?;
    Ok(())
}

/// The body of a request or response: SDP, CPIM or literal.
fn body(ctx: &Context<'_>, s: &Send, role: &str, fixtures: &Path) -> Result<Body, RunError> {
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
    if s.xml.is_some() {
        return Err(other(
            "`xml` bodies are not built by this runner yet: write the XML with `body: { content-type, text }`",
        ));
    }
    if let Some(sdp) = &s.sdp {
        return sdp_body(sdp);
    }
    if let Some(c) = &s.cpim {
        return cpim_body(ctx, c, role);
    }
    if let Some(b) = &s.body {
        return literal_body(ctx, b, fixtures);
    }
    Ok(Body::None)
}

fn sdp_body(sdp: &SdpSend) -> Result<Body, RunError> {
    let kind = sdp.offer.or(sdp.answer).unwrap_or(MediaKind::Chat);
    let kind = match kind {
        MediaKind::Chat => OfferKind::Chat,
        MediaKind::Largemsg => OfferKind::LargeMsg,
        MediaKind::File => {
            return Err(other(
                "file-transfer SDP offers are not built by this runner yet",
            ))
        }
    };
    let direction = match sdp.direction.as_deref() {
        None | Some("sendrecv") => Direction::SendRecv,
        Some("sendonly") => Direction::SendOnly,
        Some("recvonly") => Direction::RecvOnly,
        Some("inactive") => Direction::Inactive,
        Some(d) => return Err(other(format!("unknown SDP direction {d:?}"))),
    };
    for (set, key) in [
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
                "sdp `{key}` is chosen by the simulated role; it cannot be overridden yet"
            )));
        }
    }
    Ok(Body::Sdp(SdpOffer { kind, direction }))
}

fn cpim_body(ctx: &Context<'_>, c: &CpimSend, role: &str) -> Result<Body, RunError> {
    let i = |v: &str| ctx.env.interpolate(v).map_err(other);
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

fn literal_body(ctx: &Context<'_>, b: &BodySend, fixtures: &Path) -> Result<Body, RunError> {
    let bytes = match (&b.text, &b.file) {
        (Some(t), None) => ctx.env.interpolate(t).map_err(other)?.into_bytes(),
        (None, Some(f)) => std::fs::read(fixtures.join(f))
            .map_err(|e| other(format!("body file {}: {e}", fixtures.join(f).display())))?,
        _ => return Err(other("a body needs exactly one of `text` and `file`")),
    };
    Ok(Body::Raw {
        content_type: ctx.env.interpolate(&b.content_type).map_err(other)?,
        bytes,
    })
}
