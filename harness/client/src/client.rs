//! The reference client's public face: [`RefClient::start`] binds SIP and MSRP and runs the
//! event loop; commands arrive through the upper-tester protocol (in-memory channel for the
//! engine, or [`RefClient::command`] for the JSON-lines adapter `cpmconf refclient`).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use cpmconf_stack::msrp::MsrpEndpoint;
use cpmconf_stack::sip::{EndpointConfig, SipEndpoint};
use cpmconf_ut::{
    channel_pair, Adapter, Capability, ClientEnd, Command, Event, HelloResult, Response,
    PROTOCOL_VERSION,
};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::chat::InviteSpec;
use crate::config::ClientConfig;
use crate::core::{Core, Internal, Registration};
use crate::error::ClientError;
use crate::events::EventSink;
use crate::file_transfer::generated_content;
use crate::pager::disposition_tokens;
use crate::state::SessionKind;
use cpmconf_stack::ids::{derive_seed, IdGen};

/// Name reported in `hello`.
pub const CLIENT_NAME: &str = "cpmconf-ref";

/// A running reference client. Dropping it stops the client.
#[derive(Debug)]
pub struct RefClient {
    internal: mpsc::UnboundedSender<Internal>,
    sip_addr: SocketAddr,
    msrp_addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for RefClient {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl RefClient {
    /// Starts the client and returns it with the harness end of an in-memory upper tester
    /// (`cpmconf_ut::Adapter`, which implements `UpperTester`): the engine drives the reference
    /// client exactly like an external adapter.
    pub async fn start(config: ClientConfig) -> Result<(RefClient, Adapter), ClientError> {
        let (adapter, end) = channel_pair();
        let sink = EventSink::Ut(end.events());
        let mut client = RefClient::spawn(config, sink).await?;
        let internal = client.internal.clone();
        client.tasks.push(tokio::spawn(serve(end, internal)));
        Ok((client, adapter))
    }

    /// Starts the client with events delivered on the returned channel; commands go through
    /// [`RefClient::command`] (used by the JSON-lines adapter).
    pub async fn start_detached(
        config: ClientConfig,
    ) -> Result<(RefClient, mpsc::UnboundedReceiver<Event>), ClientError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let client = RefClient::spawn(config, EventSink::Chan(tx)).await?;
        Ok((client, rx))
    }

    /// Carries out one upper-tester command; `Ok` holds the command's `result`.
    pub async fn command(&self, command: Command) -> Result<Value, String> {
        command_via(&self.internal, command).await
    }

    /// The local SIP address (UDP and TCP).
    pub fn sip_addr(&self) -> SocketAddr {
        self.sip_addr
    }

    /// The local MSRP listening address.
    pub fn msrp_addr(&self) -> SocketAddr {
        self.msrp_addr
    }

    async fn spawn(config: ClientConfig, sink: EventSink) -> Result<RefClient, ClientError> {
        let mut ep = EndpointConfig::new("client");
        ep.ip = config.ip;
        ep.port = config.sip_port;
        ep.timers = config.timers.sip;
        ep.tap = config.tap.clone();
        ep.seed = derive_seed(config.seed, "client-endpoint");
        let sip = Arc::new(SipEndpoint::bind(ep).await?);
        let msrp = Arc::new(MsrpEndpoint::listen(config.ip, config.tap.clone()).await?);
        let (itx, mut irx) = mpsc::unbounded_channel();
        // Its own stream, apart from the simulator's (which a run seeds alike): two parties
        // must not draw the same tags or MSRP session ids.
        let mut ids = IdGen::derived(config.seed, "client-ids");
        let instance = config
            .identity
            .instance_id
            .clone()
            .unwrap_or_else(|| format!("urn:uuid:{}", ids.uuid()));
        let sip_addr = sip.local_addr();
        let msrp_addr = msrp.local_addr();
        let mut core = Core {
            faults: config.faults.clone(),
            policy: config.policy.clone(),
            cfg: config,
            ids,
            sip: sip.clone(),
            msrp,
            events: sink,
            internal: itx.clone(),
            instance,
            reg: Registration::default(),
            sessions: BTreeMap::new(),
            next_handle: 0,
            last_session: None,
            received: HashMap::new(),
            files: BTreeMap::new(),
            participants: HashMap::new(),
            online: true,
            deferred_generation: 0,
            aliases: HashMap::new(),
            leaked_media: Vec::new(),
            abandoned: HashMap::new(),
            left_groups: Vec::new(),
        };
        let requests = {
            let itx = itx.clone();
            tokio::spawn(async move {
                while let Some(tx) = sip.next_request().await {
                    if itx.send(Internal::Request(tx)).is_err() {
                        return;
                    }
                }
            })
        };
        let looper = tokio::spawn(async move {
            while let Some(input) = irx.recv().await {
                let sync = matches!(
                    &input,
                    Internal::Command {
                        command: Command::Sync,
                        ..
                    }
                );
                if sync {
                    // Answer `sync` only once everything already received has been handled.
                    for _ in 0..4 {
                        tokio::task::yield_now().await;
                        while let Ok(other) = irx.try_recv() {
                            core.handle(other).await;
                        }
                    }
                }
                core.handle(input).await;
            }
        });
        Ok(RefClient {
            internal: itx,
            sip_addr,
            msrp_addr,
            tasks: vec![requests, looper],
        })
    }
}

async fn command_via(
    internal: &mpsc::UnboundedSender<Internal>,
    command: Command,
) -> Result<Value, String> {
    let (reply, rx) = oneshot::channel();
    internal
        .send(Internal::Command { command, reply })
        .map_err(|_| "the client has stopped".to_owned())?;
    rx.await.map_err(|_| "the client has stopped".to_owned())?
}

/// Serves the client end of an in-memory upper tester.
async fn serve(mut end: ClientEnd, internal: mpsc::UnboundedSender<Internal>) {
    while let Some(req) = end.recv().await {
        let shutdown = matches!(req.command, Command::Shutdown);
        let r = command_via(&internal, req.command).await;
        let resp = match r {
            Ok(v) => Response::ok(req.id, v),
            Err(e) => Response::err(req.id, e),
        };
        if end.respond(resp).await.is_err() || shutdown {
            return;
        }
    }
}

/// The `hello` answer of the reference client.
pub fn hello_result() -> HelloResult {
    HelloResult {
        name: CLIENT_NAME.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        protocol: PROTOCOL_VERSION,
        capabilities: Capability::ALL
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect(),
    }
}

impl Core {
    fn resolve(&self, handle: Option<&str>) -> Result<String, String> {
        let h = match handle {
            Some(h) => h.to_owned(),
            None => self
                .last_session
                .clone()
                .ok_or_else(|| "no session".to_owned())?,
        };
        let mut h = h;
        for _ in 0..4 {
            match self.aliases.get(&h) {
                Some(n) if !self.sessions.contains_key(&h) || self.sessions.contains_key(n) => {
                    h = n.clone()
                }
                _ => break,
            }
        }
        Ok(h)
    }

    /// Carries out one upper-tester command.
    pub async fn command(&mut self, command: Command) -> Result<Value, String> {
        match command {
            Command::Hello(_) => serde_json::to_value(hello_result()).map_err(|e| e.to_string()),
            Command::Configure(c) => {
                self.cfg.apply(&c)?;
                self.instance = c.identity.instance_id.clone();
                Ok(Value::Null)
            }
            Command::Register => {
                self.send_register(self.cfg.timers.register_expires, None);
                Ok(Value::Null)
            }
            Command::Unregister => {
                self.send_register(0, None);
                Ok(Value::Null)
            }
            Command::SendPager(a) => {
                let d = a
                    .imdn
                    .as_deref()
                    .map(disposition_tokens)
                    .unwrap_or_default();
                let ct = a.content_type.as_deref().unwrap_or("text/plain");
                // 7/send-pager-mode: a pager message goes in a SIP MESSAGE (7.2.1.1); above the
                // provisioned limit it becomes a large message.
                let large = a.text.len() as u64 > self.cfg.provisioned.pager_limit
                    || self.faults.has("7/send-pager-mode");
                let id = if large {
                    self.send_large(&a.to, a.text.as_bytes(), &d)
                } else {
                    self.send_pager(&a.to, ct, a.text.as_bytes(), &d)
                };
                Ok(json!({ "message_id": id }))
            }
            Command::SendLarge(a) => {
                let body = match (&a.text, a.size) {
                    (Some(t), _) => t.clone().into_bytes(),
                    (None, Some(n)) => generated_content(n),
                    (None, None) => return Err("send_large needs text or size".into()),
                };
                // 7/send-large-message-mode: large messages use an MSRP session (7.2.1.2).
                let id = if self.faults.has("7/send-large-message-mode") {
                    self.send_pager(&a.to, "text/plain", &body, &[])
                } else {
                    self.send_large(&a.to, &body, &[])
                };
                Ok(json!({ "message_id": id }))
            }
            Command::StartChat(a) => {
                let h = self.start_chat_invite(InviteSpec {
                    kind: SessionKind::Chat,
                    ruri: a.to.clone(),
                    to: a.to,
                    conversation_id: None,
                    contribution_id: None,
                    in_reply_to: None,
                    anonymous: false,
                    participants: Vec::new(),
                    group_uri: None,
                    text: a.text,
                    subject: None,
                    handle: None,
                });
                Ok(json!({ "session": h }))
            }
            Command::StartAdhocGroup(a) => {
                let cf = self.cfg.provisioned.conference_factory_uri.clone();
                let h = self.start_chat_invite(InviteSpec {
                    kind: SessionKind::AdhocGroup,
                    ruri: cf.clone(),
                    to: cf,
                    conversation_id: None,
                    contribution_id: None,
                    in_reply_to: None,
                    anonymous: false,
                    participants: a.participants,
                    group_uri: None,
                    text: a.text,
                    subject: a.subject,
                    handle: None,
                });
                Ok(json!({ "session": h }))
            }
            Command::StartGroup(a) => {
                let h = self.start_chat_invite(InviteSpec {
                    kind: SessionKind::PredefinedGroup,
                    ruri: a.group_uri.clone(),
                    to: a.group_uri.clone(),
                    conversation_id: a.conversation_id,
                    contribution_id: None,
                    in_reply_to: a.in_reply_to,
                    anonymous: a.anonymous,
                    participants: Vec::new(),
                    group_uri: Some(a.group_uri),
                    text: a.text,
                    subject: None,
                    handle: None,
                });
                Ok(json!({ "session": h }))
            }
            Command::RejoinGroup(a) => {
                let target = a.session_identity.clone().unwrap_or(a.group_uri.clone());
                let h = self.start_chat_invite(InviteSpec {
                    kind: SessionKind::Rejoin,
                    ruri: target.clone(),
                    to: target,
                    conversation_id: Some(a.conversation_id),
                    contribution_id: Some(a.contribution_id),
                    in_reply_to: None,
                    anonymous: false,
                    participants: Vec::new(),
                    // An ad-hoc long-lived group has no group URI of its own (7.3.9.1 item 1 b).
                    group_uri: (!a.adhoc).then_some(a.group_uri),
                    text: a.text,
                    subject: None,
                    handle: None,
                });
                Ok(json!({ "session": h }))
            }
            Command::SendChat(a) => {
                let h = self.resolve(a.session.as_deref())?;
                let display: Vec<&str> = a
                    .imdn
                    .as_deref()
                    .map(disposition_tokens)
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|d| *d == "display")
                    .collect();
                let id = self.send_chat_in(&h, &a.text, &display, a.to.as_deref())?;
                Ok(json!({ "message_id": id }))
            }
            Command::SendComposing(a) => {
                let h = self.resolve(a.session.as_deref())?;
                self.send_composing_in(&h, a.state, a.to.as_deref())?;
                Ok(Value::Null)
            }
            Command::SendFile(a) => {
                let content = match (&a.path, a.size) {
                    (Some(p), _) => std::fs::read(p).map_err(|e| format!("{p}: {e}"))?,
                    (None, Some(n)) => generated_content(n),
                    (None, None) => return Err("send_file needs path or size".into()),
                };
                let t = self.send_file(&a.to, &a.name, &a.content_type, content);
                Ok(json!({ "transfer_id": t }))
            }
            Command::ResumeFile(a) => {
                let t = match a.transfer_id {
                    Some(t) => t,
                    None => self
                        .latest_unfinished_transfer()
                        .ok_or("no interrupted transfer to resume")?,
                };
                self.resume_file(&t)?;
                Ok(Value::Null)
            }
            Command::AcceptInvitation(a) => {
                let h = self.resolve(a.session.as_deref())?;
                self.accept_incoming(&h);
                Ok(Value::Null)
            }
            Command::DeclineInvitation(a) => {
                let h = self.resolve(a.session.as_deref())?;
                let deferred = self.sessions.get(&h).is_some_and(|s| s.deferred);
                let default = if deferred { 480 } else { 603 };
                self.decline_incoming(&h, a.code.unwrap_or(default))?;
                Ok(Value::Null)
            }
            Command::MarkDisplayed(a) => {
                self.mark_displayed(&a.message_id)?;
                Ok(Value::Null)
            }
            Command::Leave(a) => {
                let h = self.resolve(a.session.as_deref())?;
                self.leave(&h)?;
                Ok(Value::Null)
            }
            Command::SetPolicy(p) => {
                let pol = &mut self.policy;
                if let Some(v) = p.auto_accept_sessions {
                    pol.auto_accept_sessions = v;
                }
                if let Some(v) = p.auto_accept_deferred {
                    pol.auto_accept_deferred = v;
                }
                if let Some(v) = p.accept_files {
                    pol.accept_files = v;
                }
                if let Some(v) = p.file_size_limit {
                    self.cfg.provisioned.file_size_limit = v;
                }
                if let Some(v) = p.decline_deferred_with_480 {
                    pol.decline_deferred_with_480 = v;
                }
                if let Some(v) = p.resume_supported {
                    pol.resume_supported = v;
                }
                if let Some(v) = p.anonymous {
                    pol.anonymous = v;
                }
                Ok(Value::Null)
            }
            Command::GoOffline => {
                self.online = false;
                let handles: Vec<String> = self.sessions.keys().cloned().collect();
                for h in handles {
                    self.end_session(&h, Some("offline".into()), false, false);
                }
                Ok(Value::Null)
            }
            Command::GoOnline => {
                self.online = true;
                Ok(Value::Null)
            }
            Command::Sync | Command::Shutdown => Ok(Value::Null),
        }
    }

    /// The user displayed a message: a display IMDN if one was requested (5.4, 7.3.11 item 2).
    fn mark_displayed(&mut self, message_id: &str) -> Result<(), String> {
        let Some(r) = self.received.get_mut(message_id) else {
            return Err(format!("no received message {message_id}"));
        };
        if !r.display_requested || r.display_sent {
            return Ok(());
        }
        r.display_sent = true;
        let r = r.clone();
        let kind = cpmconf_codec::xml::imdn::NotificationKind::Display;
        match r.session {
            Some(h) => self.session_imdn(&h, &r.from, message_id, kind),
            None => self.send_imdn_by_message(&r.from, message_id, kind),
        }
        Ok(())
    }
}
