//! The registrar (RFC 3261 10.3): bindings with expiry, re-registration and de-registration,
//! the optional digest challenge (RFC 3261 22.4, RFC 8760 / RFC 7616 algorithms), and the
//! reg event package (RFC 3680): SUBSCRIBE, then a full-state reginfo NOTIFY now and on every
//! change.

use crate::aor::Aor;
use crate::config::Auth;
use crate::network::{respond, Flow, Held, Inner};
use crate::role::Role;
use crate::spec::{DialogHandle, ResponseSpec};
use crate::SimError;
use cpmconf_codec::sip::{AddrText, Challenge, Credentials, Method, NameAddr};
use cpmconf_codec::xml::reginfo::{Contact, Reginfo, Registration};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One registered contact.
#[derive(Debug, Clone)]
pub(crate) struct Binding {
    /// The Contact URI.
    pub uri: String,
    /// The whole Contact value as registered (feature tags, +sip.instance).
    pub contact: String,
    /// The flow it registered over; requests to it use this flow.
    pub flow: Flow,
    /// When it lapses.
    pub expires_at: Instant,
    /// reginfo contact id.
    pub id: u32,
}

/// A reg-event subscription.
#[derive(Debug, Clone)]
pub(crate) struct RegSub {
    pub aor: Aor,
    pub dialog: DialogHandle,
    pub version: u32,
    pub expires_at: Instant,
}

/// The bindings of every address of record, matched by [`Aor::matches`].
#[derive(Debug, Default)]
struct Bindings(Vec<(Aor, Vec<Binding>)>);

impl Bindings {
    /// The bindings of `aor` (expired ones included), if it ever registered.
    fn get(&self, aor: &Aor) -> Option<&Vec<Binding>> {
        self.0.iter().find(|(a, _)| a.matches(aor)).map(|(_, b)| b)
    }

    fn get_mut(&mut self, aor: &Aor) -> Option<&mut Vec<Binding>> {
        self.0
            .iter_mut()
            .find(|(a, _)| a.matches(aor))
            .map(|(_, b)| b)
    }

    /// The bindings of `aor`, an empty list added when it has none yet.
    fn entry(&mut self, aor: &Aor) -> &mut Vec<Binding> {
        let i = match self.0.iter().position(|(a, _)| a.matches(aor)) {
            Some(i) => i,
            None => {
                self.0.push((aor.clone(), Vec::new()));
                self.0.len() - 1
            }
        };
        &mut self.0[i].1
    }

    /// Every binding of every address of record.
    fn all(&self) -> impl Iterator<Item = &Binding> {
        self.0.iter().flat_map(|(_, b)| b)
    }
}

/// The registrar's state: bindings, reg-event subscriptions, and the nonces it issued.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    bindings: Bindings,
    reg_subs: Vec<RegSub>,
    nonces: HashSet<String>,
}

impl Registry {
    /// `true` when `aor` has a binding (expired ones count until a lookup drops them).
    pub fn is_registered(&self, aor: &Aor) -> bool {
        self.bindings.get(aor).is_some_and(|b| !b.is_empty())
    }

    /// The contact URIs bound to `aor`, oldest first.
    pub fn contact_uris(&self, aor: &Aor) -> Vec<String> {
        self.bindings
            .get(aor)
            .map(|b| b.iter().map(|b| b.uri.clone()).collect())
            .unwrap_or_default()
    }

    /// The flow of the binding whose contact URI is `uri`, if any.
    pub fn flow_of_contact(&self, uri: &str) -> Option<Flow> {
        self.bindings.all().find(|b| b.uri == uri).map(|b| b.flow)
    }
}

/// The live binding requests to `aor` (a URI or name-addr) use (the newest).
pub(crate) fn lookup(inner: &Inner, aor: &str) -> Option<Binding> {
    let aor = Aor::parse(aor);
    let now = Instant::now();
    let mut st = inner.state();
    let list = st.registrar.bindings.get_mut(&aor)?;
    list.retain(|b| b.expires_at > now);
    list.last().cloned()
}

fn user_of(username: &str) -> &str {
    let u = username.strip_prefix("sip:").unwrap_or(username);
    u.split('@').next().unwrap_or(u)
}

/// RFC 3261 22.4 / RFC 8760: `None` when authorised; else the 401 challenge headers.
fn check_auth(inner: &Inner, held: &Held) -> Option<Vec<(String, String)>> {
    let Auth::Digest { realm, algorithms } = &inner.cfg.auth else {
        return None;
    };
    let req = &held.tx.request;
    let creds = req
        .header("Authorization")
        .and_then(|v| Credentials::parse(v).ok());
    if let Some(c) = creds {
        let known = inner.state().registrar.nonces.contains(&c.nonce);
        let password = inner.cfg.password_of(user_of(&c.username));
        if known && c.realm == *realm && c.verify(&password, "REGISTER", &req.body) {
            return None;
        }
    }
    // RFC 8760 2.4: one challenge per algorithm, in order of preference.
    let mut headers = Vec::new();
    for alg in algorithms {
        let nonce = {
            let mut st = inner.state();
            let n = st.ids.token(24);
            st.registrar.nonces.insert(n.clone());
            n
        };
        let ch = Challenge::new(realm, &nonce, alg);
        headers.push(("WWW-Authenticate".to_owned(), ch.to_string()));
    }
    Some(headers)
}

/// Handles a REGISTER.
pub(crate) async fn on_register(inner: &Arc<Inner>, held: &Held) -> Result<(), SimError> {
    if let Some(challenge) = check_auth(inner, held) {
        let spec = ResponseSpec {
            headers: challenge,
            ..ResponseSpec::default()
        };
        return respond(inner, held, 401, spec).await.map(|_| ());
    }
    let req = &held.tx.request;
    let Some(to) = req.header("To") else {
        return respond(inner, held, 400, ResponseSpec::default())
            .await
            .map(|_| ());
    };
    let aor = Aor::parse(to);
    let default_expires = req
        .header("Expires")
        .and_then(|e| e.trim().parse::<u32>().ok())
        .unwrap_or(inner.cfg.default_expires);
    let contacts: Vec<(String, String, u32)> = req
        .headers
        .elements("Contact")
        .into_iter()
        .map(|(_, v)| {
            let expires = NameAddr::parse(v)
                .ok()
                .and_then(|n| n.expires())
                .unwrap_or(default_expires);
            (v.to_owned(), AddrText::read(v).uri.to_owned(), expires)
        })
        .collect();
    let now = Instant::now();
    let changed;
    {
        let mut st = inner.state();
        let star = contacts.iter().any(|(v, _, _)| v.trim() == "*");
        let mut next_id = st.registrar.bindings.all().count() as u32 + 1;
        let list = st.registrar.bindings.entry(&aor);
        list.retain(|b| b.expires_at > now);
        let before: Vec<String> = list.iter().map(|b| b.uri.clone()).collect();
        if star {
            // RFC 3261 10.2.2: Contact * with Expires 0 removes every binding.
            list.clear();
        } else {
            for (value, uri, expires) in &contacts {
                list.retain(|b| b.uri != *uri);
                if *expires > 0 {
                    list.push(Binding {
                        uri: uri.clone(),
                        contact: AddrText::read(value).without_param("expires"),
                        flow: held.flow,
                        expires_at: now + Duration::from_secs(u64::from(*expires)),
                        id: next_id,
                    });
                    next_id += 1;
                }
            }
        }
        let after: Vec<String> = list.iter().map(|b| b.uri.clone()).collect();
        changed = before != after || !contacts.is_empty();
    }
    let bindings = inner
        .state()
        .registrar
        .bindings
        .get(&aor)
        .cloned()
        .unwrap_or_default();
    let mut headers = Vec::new();
    for b in &bindings {
        let left = b.expires_at.saturating_duration_since(now).as_secs();
        headers.push((
            "Contact".to_owned(),
            format!("{};expires={left}", b.contact),
        ));
    }
    headers.push(("P-Associated-URI".to_owned(), format!("<{aor}>")));
    let spec = ResponseSpec {
        headers,
        ..ResponseSpec::default()
    };
    // RFC 3680: subscribers learn of the change. Done before the 200, so a subscription the
    // client makes after its REGISTER succeeded gets exactly one (initial) NOTIFY, whatever
    // the timing.
    if changed {
        notify_reg(inner, &aor).await;
    }
    respond(inner, held, 200, spec).await?;
    Ok(())
}

fn reginfo(inner: &Inner, aor: &Aor, version: u32) -> Reginfo {
    let now = Instant::now();
    let bindings = inner
        .state()
        .registrar
        .bindings
        .get(aor)
        .cloned()
        .unwrap_or_default();
    let contacts: Vec<Contact> = bindings
        .iter()
        .filter(|b| b.expires_at > now)
        .map(|b| Contact {
            id: format!("c{}", b.id),
            state: "active".into(),
            event: "registered".into(),
            expires: Some(b.expires_at.saturating_duration_since(now).as_secs() as u32),
            uri: b.uri.clone(),
        })
        .collect();
    Reginfo {
        version,
        state: "full".into(),
        registrations: vec![Registration {
            aor: aor.to_string(),
            id: "r1".into(),
            state: if contacts.is_empty() {
                "terminated".into()
            } else {
                "active".into()
            },
            contacts,
        }],
    }
}

/// Handles a reg-event SUBSCRIBE (RFC 3680): 200, then a full-state NOTIFY.
pub(crate) async fn on_subscribe(inner: &Arc<Inner>, held: &Held) -> Result<(), SimError> {
    let req = &held.tx.request;
    let expires = req
        .header("Expires")
        .and_then(|e| e.trim().parse::<u32>().ok())
        .unwrap_or(600_000);
    let aor = Aor::parse(req.request_uri().unwrap_or_default());
    let spec = ResponseSpec {
        headers: vec![("Expires".into(), expires.to_string())],
        ..ResponseSpec::default()
    };
    respond(inner, held, 200, spec).await?;
    let dialog = {
        let st = inner.state();
        crate::network::dialog_for(&st, req).or_else(|| {
            st.dialogs
                .iter()
                .filter(|(_, d)| {
                    Some(d.dialog.id.call_id.as_str()) == req.call_id()
                        && d.dialog.id.local_tag == held.to_tag
                })
                .map(|(h, _)| *h)
                .next()
        })
    };
    let Some(dialog) = dialog else {
        return Ok(());
    };
    {
        let mut st = inner.state();
        st.registrar.reg_subs.retain(|s| s.dialog != dialog);
        if expires > 0 {
            st.registrar.reg_subs.push(RegSub {
                aor: aor.clone(),
                dialog,
                version: 0,
                expires_at: Instant::now() + Duration::from_secs(u64::from(expires)),
            });
        }
    }
    let state = if expires == 0 {
        "terminated;reason=timeout".to_owned()
    } else {
        format!("active;expires={expires}")
    };
    send_reg_notify(inner, dialog, &aor, 0, &state).await;
    Ok(())
}

async fn send_reg_notify(
    inner: &Arc<Inner>,
    dialog: DialogHandle,
    aor: &Aor,
    version: u32,
    state: &str,
) {
    let body = reginfo(inner, aor, version).to_xml().into_bytes();
    let spec = crate::spec::RequestSpec::in_dialog(Method::Notify, dialog)
        .header("Event", "reg")
        .header("Subscription-State", state)
        .body(crate::spec::Body::Raw {
            content_type: "application/reginfo+xml".into(),
            bytes: body,
        });
    let _ = crate::network::send_request(inner, &Role::Registrar, spec, Vec::new()).await;
}

/// Sends the new state of `aor` to its subscribers.
pub(crate) async fn notify_reg(inner: &Arc<Inner>, aor: &Aor) {
    let now = Instant::now();
    let subs: Vec<(DialogHandle, u32, u64)> = {
        let mut st = inner.state();
        st.registrar.reg_subs.retain(|s| s.expires_at > now);
        st.registrar
            .reg_subs
            .iter_mut()
            .filter(|s| s.aor.matches(aor))
            .map(|s| {
                s.version += 1;
                (
                    s.dialog,
                    s.version,
                    s.expires_at.saturating_duration_since(now).as_secs(),
                )
            })
            .collect()
    };
    for (d, v, left) in subs {
        send_reg_notify(inner, d, aor, v, &format!("active;expires={left}")).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpmconf_stack::sip::Transport;
    use rstest::rstest;

    /// A binding registered under one spelling of an AOR is found under another exactly when
    /// the two are the same address by [`Uri::same_address`](cpmconf_codec::sip::Uri::same_address).
    #[rstest]
    #[case::host_case_and_uri_params("<sip:Bob@example.com;transport=tcp>", true)]
    #[case::header_params("\"Bob\" <sip:Bob@example.com>;tag=x", true)]
    #[case::user_case("sip:bob@EXAMPLE.com", false)]
    #[case::port("sip:Bob@EXAMPLE.com:5070", false)]
    fn aor_matching(#[case] asked: &str, #[case] found: bool) {
        let mut b = Bindings::default();
        b.entry(&Aor::parse("sip:Bob@EXAMPLE.com")).push(Binding {
            uri: "sip:bob@127.0.0.1:5070".into(),
            contact: "<sip:bob@127.0.0.1:5070>".into(),
            flow: Flow {
                addr: "127.0.0.1:5070".parse().unwrap(),
                transport: Transport::Udp,
            },
            expires_at: Instant::now() + Duration::from_secs(60),
            id: 1,
        });
        assert_eq!(b.get(&Aor::parse(asked)).is_some(), found, "{asked}");
        // One list per address: registering again under a matching spelling adds to it.
        b.entry(&Aor::parse(asked));
        assert_eq!(b.0.len(), if found { 1 } else { 2 });
    }
}
