//! The Controlling Function's conference focus: INVITE to the conference factory with a
//! resource list (RFC 5366) or to a pre-defined group creates a conference
//! `sip:conf-fN@<cf>` answered with an `isfocus` Contact (RFC 4579) and an MSRP answer;
//! a conference SUBSCRIBE (RFC 4575) gets 200 and a full conference-info NOTIFY.

use crate::aor::Aor;
use crate::network::{respond, sdp_of, Held, Inner};
use crate::role::Role;
use crate::spec::{Body, DialogHandle, RequestSpec, ResponseSpec, SdpOffer};
use crate::SimError;
use cpmconf_codec::sip::{AddrText, Method};
use cpmconf_codec::xml::conference_info::{ConferenceInfo, Endpoint, User};
use cpmconf_codec::xml::resource_lists::ResourceLists;
use std::sync::Arc;

/// A conference hosted by `cf`.
struct Conference {
    uri: Aor,
    participants: Vec<Aor>,
    version: u32,
    subscriptions: Vec<DialogHandle>,
}

/// The conferences the CF hosts, and the number of the last one it created.
#[derive(Default)]
pub(crate) struct Conferences {
    list: Vec<Conference>,
    next: u32,
}

impl Conferences {
    /// The participants of the conference `focus`, if the CF hosts it.
    pub fn participants(&self, focus: &Aor) -> Option<Vec<String>> {
        self.list
            .iter()
            .find(|c| c.uri.matches(focus))
            .map(|c| c.participants.iter().map(Aor::to_string).collect())
    }
}

/// The resource-list entries of a request body (RFC 5366: the part with
/// `Content-Disposition: recipient-list`, or any resource-lists part).
pub(crate) fn recipients(msg: &cpmconf_codec::sip::Message) -> Vec<String> {
    let Some(Ok(body)) = msg.body_part("application/resource-lists+xml") else {
        return Vec::new();
    };
    ResourceLists::parse(&body)
        .map(|l| l.entries().map(|e| e.uri.clone()).collect())
        .unwrap_or_default()
}

/// INVITE to the factory, a pre-defined group, or a conference URI.
pub(crate) async fn on_invite(inner: &Arc<Inner>, held: &Held) -> Result<(), SimError> {
    let req = &held.tx.request;
    let ruri = Aor::parse(req.request_uri().unwrap_or_default());
    let from = Aor::parse(req.header("From").unwrap_or_default());
    let to_factory = ruri.matches(&Aor::parse(&inner.cfg.conference_factory));
    let group = inner
        .cfg
        .predefined_groups
        .iter()
        .find(|g| Aor::parse(&g.uri).matches(&ruri));
    let members: Vec<String> = if to_factory {
        recipients(req)
    } else if let Some(g) = group {
        g.members.clone()
    } else {
        Vec::new()
    };
    if sdp_of(req).is_none_or(|s| s.msrp_media().is_none()) {
        return respond(inner, held, 488, ResponseSpec::default())
            .await
            .map(|_| ());
    }
    let focus = {
        let mut st = inner.state();
        let existing = st
            .conferences
            .list
            .iter()
            .position(|c| c.uri.matches(&ruri));
        match existing {
            Some(i) => {
                let c = st.conferences.list.get_mut(i);
                if let Some(c) = c {
                    if !c.participants.iter().any(|p| p.matches(&from)) {
                        c.participants.push(from.clone());
                    }
                    c.uri.clone()
                } else {
                    ruri.clone()
                }
            }
            None => {
                let uri = if to_factory || group.is_some() {
                    st.conferences.next += 1;
                    Aor::parse(&format!(
                        "sip:conf-f{}@{}",
                        st.conferences.next, inner.cfg.cf_domain
                    ))
                } else {
                    // An unknown session identity: a long-lived group the CF re-creates.
                    ruri.clone()
                };
                let mut participants = vec![from.clone()];
                participants.extend(
                    members
                        .iter()
                        .map(|m| Aor::parse(m))
                        .filter(|m| !m.matches(&from)),
                );
                st.conferences.list.push(Conference {
                    uri: uri.clone(),
                    participants,
                    version: 0,
                    subscriptions: Vec::new(),
                });
                uri
            }
        }
    };
    let spec = ResponseSpec {
        body: Body::Sdp(SdpOffer::chat()),
        contact: Some(format!("<{focus}>;isfocus")),
        ..ResponseSpec::default()
    };
    respond(inner, held, 200, spec).await?;
    let call_id = req.call_id().unwrap_or_default().to_owned();
    let mut st = inner.state();
    st.routing.set_tag_role(&call_id, &held.to_tag, &Role::Cf);
    st.routing.set_call_role(&call_id, &Role::Cf);
    drop(st);
    Ok(())
}

fn conference_info(c: &Conference, version: u32) -> ConferenceInfo {
    let mut info = ConferenceInfo::new(c.uri.to_string(), version);
    info.user_count = Some(c.participants.len() as u32);
    for p in &c.participants {
        info.users.push(User {
            entity: Some(p.to_string()),
            endpoints: vec![Endpoint {
                entity: Some(p.to_string()),
                status: Some("connected".into()),
                ..Endpoint::default()
            }],
            ..User::default()
        });
    }
    info
}

/// SUBSCRIBE with Event: conference to a focus URI.
pub(crate) async fn on_subscribe(inner: &Arc<Inner>, held: &Held) -> Result<(), SimError> {
    let req = &held.tx.request;
    let focus = Aor::parse(req.request_uri().unwrap_or_default());
    let longest = match inner.cfg.conference_expires_initial {
        Some(first) if req.to_tag().is_none() => first,
        _ => inner.cfg.conference_expires,
    };
    let requested = req
        .header("Expires")
        .and_then(|e| e.trim().parse::<u32>().ok())
        .unwrap_or(longest);
    let expires = requested.min(longest);
    // Requests reach the CF only for its own domain. A focus it did not create itself (one
    // named in an INVITE a scenario or the PF sent, e.g. a long-lived group session invited
    // back into) is adopted, with the subscriber as its first participant.
    {
        let mut st = inner.state();
        if !st.conferences.list.iter().any(|c| c.uri.matches(&focus)) {
            let subscriber = Aor::parse(req.header("From").unwrap_or_default());
            st.conferences.list.push(Conference {
                uri: focus.clone(),
                participants: vec![subscriber],
                version: 0,
                subscriptions: Vec::new(),
            });
        }
    }
    let spec = ResponseSpec {
        headers: vec![("Expires".into(), expires.to_string())],
        contact: Some(format!("<{focus}>;isfocus")),
        ..ResponseSpec::default()
    };
    respond(inner, held, 200, spec).await?;
    let dialog = {
        let st = inner.state();
        st.dialogs
            .iter()
            .filter(|(_, d)| {
                Some(d.dialog.id.call_id.as_str()) == req.call_id()
                    && (d.dialog.id.local_tag == held.to_tag
                        || Some(&d.dialog.id.local_tag) == req.to_tag().as_ref())
            })
            .map(|(h, _)| *h)
            .next()
    };
    let Some(dialog) = dialog else {
        return Ok(());
    };
    {
        let mut st = inner.state();
        if let Some(d) = st.dialogs.get_mut(&dialog) {
            d.conference = Some(focus.to_string());
        }
        if let Some(c) = st
            .conferences
            .list
            .iter_mut()
            .find(|c| c.uri.matches(&focus))
        {
            c.subscriptions.retain(|s| *s != dialog);
            if expires > 0 {
                c.subscriptions.push(dialog);
            }
        }
    }
    let state = if expires == 0 {
        "terminated;reason=timeout".to_owned()
    } else {
        format!("active;expires={expires}")
    };
    send_notify(inner, &focus, dialog, &state).await
}

async fn send_notify(
    inner: &Arc<Inner>,
    focus: &Aor,
    dialog: u64,
    state: &str,
) -> Result<(), SimError> {
    let info = {
        let mut st = inner.state();
        let Some(c) = st
            .conferences
            .list
            .iter_mut()
            .find(|c| c.uri.matches(focus))
        else {
            return Ok(());
        };
        c.version += 1;
        conference_info(c, c.version)
    };
    let spec = RequestSpec::in_dialog(Method::Notify, dialog)
        .header("Event", "conference")
        .header("Subscription-State", state)
        .body(Body::Raw {
            content_type: "application/conference-info+xml".into(),
            bytes: info.to_xml().into_bytes(),
        });
    crate::network::send_request(inner, &Role::Cf, spec, Vec::new())
        .await
        .map(|_| ())
}

/// A full-state NOTIFY to every subscriber of `focus`.
pub(crate) async fn notify_all(inner: &Arc<Inner>, focus: &Aor) -> Result<(), SimError> {
    let subs = inner
        .state()
        .conferences
        .list
        .iter()
        .find(|c| c.uri.matches(focus))
        .map(|c| c.subscriptions.clone())
        .unwrap_or_default();
    for d in subs {
        send_notify(inner, focus, d, "active").await?;
    }
    Ok(())
}

/// REFER to a conference with a resource list (RFC 5368, `Require: multiple-refer`): 202, the
/// listed users join the participant list, and every subscriber gets a NOTIFY.
pub(crate) async fn on_refer(inner: &Arc<Inner>, held: &Held) -> Result<(), SimError> {
    let req = &held.tx.request;
    let focus = Aor::parse(req.request_uri().unwrap_or_default());
    let mut added = recipients(req);
    if added.is_empty() {
        if let Some(to) = req.header("Refer-To") {
            added.push(AddrText::read(to).uri.to_owned());
        }
    }
    let known = {
        let mut st = inner.state();
        match st
            .conferences
            .list
            .iter_mut()
            .find(|c| c.uri.matches(&focus))
        {
            Some(c) => {
                for a in added {
                    let a = Aor::parse(&a);
                    if !c.participants.iter().any(|p| p.matches(&a)) {
                        c.participants.push(a);
                    }
                }
                true
            }
            None => false,
        }
    };
    if !known {
        return respond(inner, held, 404, ResponseSpec::default())
            .await
            .map(|_| ());
    }
    respond(inner, held, 202, ResponseSpec::default()).await?;
    notify_all(inner, &focus).await
}
