//! Group session participant information (7.3.10, RFC 4575): the conference SUBSCRIBE of the
//! Group Session Identity, its refresh while the client takes part (7.3.1.3, 7.3.1.5.1 d,
//! 7.3.12 d), the NOTIFYs kept as the last Participant Information, and the end of the
//! subscription.

use std::sync::Arc;
use std::time::Duration;

use cpmconf_codec::sip::{Message, Method};
use cpmconf_codec::xml::conference_info;
use cpmconf_stack::sip::{Dialog, ServerTx};
use cpmconf_ut::Quirk;

use crate::core::{Core, Purpose, TimerKind};
use crate::state::{ConfSubscription, Session, SessionKind};

impl Core {
    /// SUBSCRIBE `Event: conference` to the Group Session Identity of `handle`.
    pub fn subscribe_conference(&mut self, handle: &str) {
        let Some(s) = self.sessions.get(handle) else {
            return;
        };
        if s.conf.as_ref().is_some_and(|c| c.active) {
            return;
        }
        let target = s
            .identity
            .clone()
            .or_else(|| s.group_uri.clone())
            .unwrap_or_else(|| s.peer.clone());
        let mut req = self.base_request(Method::Subscribe, &target, &target);
        req.headers.push("Contact", self.contact(&[], true));
        req.headers.push("Event", "conference");
        req.headers
            .push("Accept", "application/conference-info+xml");
        req.headers
            .push("Expires", self.cfg.timers.subscribe_expires.to_string());
        let call_id = req.call_id().unwrap_or_default().to_owned();
        if let Some(s) = self.sessions.get_mut(handle) {
            s.conf = Some(ConfSubscription {
                call_id,
                dialog: None,
                active: true,
                request: Some(req.clone()),
            });
        }
        self.send(
            req,
            Purpose::ConfSubscribe {
                handle: handle.to_owned(),
            },
            None,
        );
    }

    /// The answer to a conference SUBSCRIBE.
    pub fn on_conf_subscribe_response(&mut self, handle: &str, msg: &Message) {
        let Some(code) = msg.status() else { return };
        if code.is_provisional() {
            return;
        }
        let Some(s) = self.sessions.get_mut(handle) else {
            return;
        };
        let Some(conf) = s.conf.as_mut() else { return };
        if !code.is_success() {
            // 7.3.1.3: after an error the client MAY carry on with the group session.
            conf.active = false;
            return;
        }
        if conf.dialog.is_none() {
            if let Some(req) = &conf.request {
                if let Ok(mut d) = Dialog::uac(req, msg) {
                    d.local_contact = req.header("Contact").map(str::to_owned);
                    conf.dialog = Some(d);
                }
            }
        }
        let granted = msg
            .header("Expires")
            .and_then(|e| e.trim().parse::<u32>().ok())
            .unwrap_or(self.cfg.timers.subscribe_expires);
        let kind = s.kind;
        let via_race = s.via_race;
        let deferred = s.deferred;
        // 7.3.1.3 / 7.3.1.5.1 d / 7.3.12 d: maintain the subscription throughout.
        let no_refresh = match kind {
            SessionKind::PredefinedGroup => {
                self.faults.has("7.3.1.3/maintain-conference-subscription")
            }
            SessionKind::IncomingGroup if via_race => {
                self.faults.has("7.3.1.5.1/maintain-subscription")
            }
            SessionKind::IncomingGroup if deferred => {
                self.faults.has("7.3.12/maintain-subscription")
            }
            SessionKind::Rejoin => self.faults.has("7.3.1.5.1/maintain-subscription"),
            _ => false,
        };
        if granted > 0 && !no_refresh {
            let at = if self.cfg.quirk(Quirk::RefreshEvery3s) {
                Duration::from_secs(3)
            } else {
                Duration::from_millis(u64::from(granted) * 500)
            };
            self.arm(
                at,
                TimerKind::ConfRefresh {
                    handle: handle.to_owned(),
                },
            );
        }
    }

    /// Refreshes the conference subscription of `handle` in its dialog.
    pub fn refresh_conf_subscription(&mut self, handle: &str) {
        let expires = self.cfg.timers.subscribe_expires;
        let Some(s) = self.sessions.get_mut(handle) else {
            return;
        };
        let Some(conf) = s.conf.as_mut() else { return };
        let Some(d) = conf.dialog.as_mut() else {
            return;
        };
        if !conf.active {
            return;
        }
        let mut req = d.request(Method::Subscribe);
        req.headers.push("Event", "conference");
        req.headers
            .push("Accept", "application/conference-info+xml");
        if self.cfg.quirk(Quirk::RefreshWithExpiresZero) {
            req.headers.push("Expires", "0");
        } else if !self.cfg.quirk(Quirk::RefreshWithoutExpires) {
            req.headers.push("Expires", expires.to_string());
        }
        self.add_user_agent(&mut req);
        self.send(
            req,
            Purpose::ConfSubscribe {
                handle: handle.to_owned(),
            },
            None,
        );
    }

    /// Ends the conference subscription of a session being closed (SUBSCRIBE Expires: 0).
    pub fn unsubscribe_conference(&mut self, s: &mut Session) {
        let Some(mut conf) = s.conf.take() else {
            return;
        };
        let Some(d) = conf.dialog.as_mut() else {
            return;
        };
        if !conf.active {
            return;
        }
        let mut req = d.request(Method::Subscribe);
        req.headers.push("Event", "conference");
        req.headers.push("Expires", "0");
        self.add_user_agent(&mut req);
        self.send(req, Purpose::Other, None);
    }

    /// A NOTIFY: reg event (registration) or conference (Participant Information, 7.3.10).
    pub fn on_notify(&mut self, tx: &Arc<ServerTx>) {
        let req = &tx.request;
        let event = req
            .header("Event")
            .map(|e| {
                e.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        match event.as_str() {
            "reg" => {
                let r = self.response(req, 200, None);
                self.respond(tx, r);
                let m = req.clone();
                self.on_reg_notify(&m);
            }
            "conference" => {
                let r = self.response(req, 200, None);
                self.respond(tx, r);
                let call_id = req.call_id().unwrap_or_default();
                let handle = self
                    .sessions
                    .iter()
                    .find(|(_, s)| s.conf.as_ref().is_some_and(|c| c.call_id == call_id))
                    .map(|(h, _)| h.clone());
                if let (Some(h), Ok(ci)) = (handle, conference_info::parse(&req.body)) {
                    // RFC 4575: a user marked deleted, or whose endpoint is disconnected, has
                    // left; every other user listed takes part.
                    let gone = |u: &conference_info::User| {
                        matches!(u.state, Some(conference_info::ElementState::Deleted))
                            || u.endpoints
                                .iter()
                                .any(|e| e.status.as_deref() == Some("disconnected"))
                    };
                    let users: Vec<String> = ci
                        .users
                        .iter()
                        .filter(|u| !gone(u))
                        .filter_map(|u| u.entity.clone())
                        .collect();
                    let left: Vec<String> = ci
                        .users
                        .iter()
                        .filter(|u| gone(u))
                        .filter_map(|u| u.entity.clone())
                        .collect();
                    if let Some(s) = self.sessions.get_mut(&h) {
                        let conv = s.conversation_id.clone();
                        let entry = self.participants.entry(conv).or_default();
                        if ci.state == conference_info::ElementState::Full {
                            *entry = users;
                        } else {
                            // A partial state updates the last one (RFC 4575 4.6).
                            entry.retain(|u| !left.contains(u));
                            for u in users {
                                if !entry.contains(&u) {
                                    entry.push(u);
                                }
                            }
                        }
                    }
                }
            }
            _ => {
                let r = self.response(req, 489, None);
                self.respond(tx, r);
            }
        }
    }
}
