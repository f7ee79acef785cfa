//! The observation stream: everything the client under test sends to the sim, in arrival
//! order, with the role it reached; and the per-role handling modes and scripted answers that
//! decide whether a request is answered automatically or held for the engine.

use crate::network::Inner;
use crate::role::Role;
use crate::spec::{RequestId, ResponseSpec, SessionId};
use crate::SimError;
use cpmconf_codec::msrp;
use cpmconf_codec::sip::{Message, Method, Uri};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// One thing the client sent.
#[derive(Debug, Clone)]
pub struct Observed {
    /// Arrival number, from 1.
    pub seq: u64,
    /// Time since the network started.
    pub time: Duration,
    /// The role it reached (`registrar`, `cf`, `pf`, `bob`, `proxy`, ...).
    pub role: String,
    /// What it was.
    pub kind: ObservedKind,
}

/// What was observed.
#[derive(Debug, Clone)]
pub enum ObservedKind {
    /// A SIP request. `handle` is set when the request is held ([`Mode::Manual`] or a
    /// [`Action::Hold`] rule): answer it with [`PendingRequest::respond`].
    SipRequest {
        /// The request.
        msg: Message,
        /// The held request, if held.
        handle: Option<PendingRequest>,
    },
    /// A SIP response to a request the sim sent.
    SipResponse {
        /// The response.
        msg: Message,
        /// Which request it answers.
        to_request: RequestId,
    },
    /// An MSRP frame (request, response or REPORT) on one of the sim's sessions.
    Msrp {
        /// The frame.
        frame: msrp::Message,
        /// The session.
        session: SessionId,
    },
    /// An MSRP session ended (peer closed, undecodable bytes, or it never came up).
    MsrpClosed {
        /// The session.
        session: SessionId,
        /// Why.
        reason: String,
    },
}

/// How a role handles requests of one method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Default plumbing: answers, NOTIFYs, MSRP answers.
    #[default]
    Auto,
    /// Held after 100 Trying (INVITE) and handed to the engine.
    Manual,
}

/// What a scripted rule does with a matching request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Answer at once with this status code (and headers).
    Reply {
        /// Status code.
        code: u16,
        /// Extra header fields.
        headers: Vec<(String, String)>,
    },
    /// Hold it for the engine (like [`Mode::Manual`], for matching requests only).
    Hold,
}

/// A scripted answer: the first request matching role, method and (optionally) Request-URI
/// gets `action`; `times` limits how often (`None`: every time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Role (`*` for any).
    pub role: String,
    /// Method.
    pub method: Method,
    /// Request-URI to match, if any: the same address ([`Uri::same_address`]: parameters
    /// ignored, host case-insensitive).
    pub request_uri: Option<String>,
    /// What to do.
    pub action: Action,
    /// How many matching requests it applies to.
    pub times: Option<u32>,
}

impl Rule {
    /// "Answer the next `method` to `role` with `code`".
    pub fn reply_once(role: &str, method: Method, code: u16) -> Rule {
        Rule {
            role: role.into(),
            method,
            request_uri: None,
            action: Action::Reply {
                code,
                headers: Vec::new(),
            },
            times: Some(1),
        }
    }

    /// "Hold every `method` to `uri`".
    pub fn hold_uri(method: Method, uri: &str) -> Rule {
        Rule {
            role: "*".into(),
            method,
            request_uri: Some(uri.into()),
            action: Action::Hold,
            times: None,
        }
    }
}

/// A request held for the engine, answered with [`PendingRequest::respond`] (any number of
/// provisional responses, then one final) or handed back to the default handling with
/// [`PendingRequest::auto`].
/// How roles answer requests: the scripted one-off answers (checked first, in the order
/// added) and the per-role, per-method modes (`*` for every role).
#[derive(Debug, Default)]
pub(crate) struct Script {
    modes: HashMap<(String, Method), Mode>,
    rules: Vec<Rule>,
}

impl Script {
    /// Sets how `role` (`*` for every role) handles requests of `method`.
    pub fn set_mode(&mut self, role: &str, method: Method, mode: Mode) {
        self.modes.insert((role.to_owned(), method), mode);
    }

    /// Adds a scripted answer.
    pub fn push_rule(&mut self, rule: Rule) {
        self.rules.push(rule);
    }

    /// Removes every scripted answer and mode.
    pub fn clear(&mut self) {
        self.rules.clear();
        self.modes.clear();
    }

    /// What `role` does with `req` (not an ACK): the action of the first rule that matches
    /// (using up one of its times; a rule's Request-URI matches by [`Uri::same_address`]), else
    /// [`Action::Hold`] in [`Mode::Manual`], else `None` (answered automatically).
    pub fn action_for(&mut self, role: &Role, req: &Message) -> Option<Action> {
        let method = req.method()?.clone();
        let ruri = req.request_uri().and_then(|u| Uri::parse(u).ok());
        let matching = self.rules.iter().position(|r| {
            (r.role == "*" || r.role == role.as_str())
                && r.method == method
                && r.request_uri.as_ref().is_none_or(|want| {
                    Uri::parse(want)
                        .ok()
                        .zip(ruri.as_ref())
                        .is_some_and(|(w, r)| w.same_address(r))
                })
                && r.times != Some(0)
        });
        if let Some(rule) = matching.and_then(|i| self.rules.get_mut(i)) {
            if let Some(t) = rule.times.as_mut() {
                *t -= 1;
            }
            return Some(rule.action.clone());
        }
        let mode = self
            .modes
            .get(&(role.to_string(), method.clone()))
            .or_else(|| self.modes.get(&("*".to_owned(), method)))
            .copied()
            .unwrap_or_default();
        (mode == Mode::Manual).then_some(Action::Hold)
    }
}

#[derive(Clone)]
pub struct PendingRequest {
    pub(crate) inner: Arc<Inner>,
    pub(crate) held: Arc<crate::network::Held>,
}

impl std::fmt::Debug for PendingRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingRequest")
            .field("role", &self.held.role)
            .field("request", &self.held.tx.request.summary())
            .finish_non_exhaustive()
    }
}

impl PendingRequest {
    /// The held request.
    pub fn request(&self) -> &Message {
        &self.held.tx.request
    }

    /// The role holding it.
    pub fn role(&self) -> &str {
        self.held.role.as_str()
    }

    /// Sends a response with `code`. A 2xx to INVITE with [`crate::Body::Sdp`] answers the
    /// offer and sets up the MSRP session and the dialog; a 2xx to SUBSCRIBE creates the
    /// subscription dialog. Returns the MSRP session id when one was set up.
    pub async fn respond(
        &self,
        code: u16,
        spec: ResponseSpec,
    ) -> Result<Option<SessionId>, SimError> {
        crate::network::respond(&self.inner, &self.held, code, spec).await
    }

    /// Lets the role's default handling answer it.
    pub async fn auto(&self) -> Result<(), SimError> {
        crate::network::auto_handle(&self.inner, &self.held).await
    }

    /// A CANCEL of this held INVITE is answered 200 but the INVITE gets no 487: its final
    /// response is the scenario's to send, as when it crosses the CANCEL on the wire (RFC 3261
    /// 9.2). The CANCEL is still observed.
    pub async fn keep_on_cancel(&self) -> Result<(), SimError> {
        self.held.tx.keep_on_cancel().await.map_err(SimError::from)
    }

    /// Sends the 2xx of this answered INVITE again, as the role's UAS core does while no ACK
    /// arrives (RFC 3261 13.3.1.4); the client must ACK each 2xx it receives (13.2.2.4).
    pub async fn retransmit_2xx(&self) -> Result<(), SimError> {
        self.held.tx.retransmit_2xx().await.map_err(SimError::from)
    }

    /// `true` once the client cancelled it (the stack has answered 487).
    pub fn is_cancelled(&self) -> bool {
        self.held.tx.is_cancelled()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: Method, uri: &str) -> Message {
        Message::request(method, uri)
    }

    /// Rules come before modes and are used up; a rule's Request-URI matches by address; a
    /// role's own mode wins over the `*` mode.
    #[test]
    fn script_order() {
        let mut s = Script::default();
        let bob = Role::User("bob".into());
        s.set_mode("*", Method::Message, Mode::Manual);
        s.set_mode("bob", Method::Message, Mode::Auto);
        s.push_rule(Rule::reply_once("bob", Method::Message, 486));
        s.push_rule(Rule::hold_uri(Method::Invite, "sip:g@CF.test"));
        let m = req(Method::Message, "sip:bob@x.test");
        assert!(matches!(
            s.action_for(&bob, &m),
            Some(Action::Reply { code: 486, .. })
        ));
        assert_eq!(
            s.action_for(&bob, &m),
            None,
            "used up; bob's own mode is Auto"
        );
        assert_eq!(
            s.action_for(&Role::Pf, &m),
            Some(Action::Hold),
            "the * mode"
        );
        let i = req(Method::Invite, "sip:g@cf.test;transport=tcp");
        assert_eq!(s.action_for(&Role::Cf, &i), Some(Action::Hold));
        let other = req(Method::Invite, "sip:g@cf.test:5070");
        assert_eq!(s.action_for(&Role::Cf, &other), None);
        s.clear();
        assert_eq!(s.action_for(&Role::Pf, &m), None);
    }
}
