//! The client's state and its single event loop: upper-tester commands, incoming SIP requests,
//! transaction outcomes, MSRP events and timers all arrive as [`Internal`] inputs and are handled
//! one at a time, so `sync` can be answered once the queue is empty.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cpmconf_codec::sip::{Message, Method};
use cpmconf_stack::msrp::{MsrpEndpoint, SessionEvent};
use cpmconf_stack::sip::{ServerTx, SipEndpoint};
use cpmconf_ut::Event;

use crate::events::EventSink;
use tokio::sync::{mpsc, oneshot};

use crate::config::{ClientConfig, ClientPolicy};
use crate::fault::FaultSet;
use crate::media::MediaCmd;
use crate::state::{FileRecord, Received, Session};
use cpmconf_stack::ids::IdGen;

/// What a client transaction was sent for; its responses come back tagged with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// REGISTER (`expires` 0 = de-registration); `auth` counts digest attempts.
    Register { expires: u32, auth: u32 },
    /// SUBSCRIBE to the reg event package.
    RegSubscribe,
    /// A MESSAGE (pager, IMDN); nothing to do with the answer but report failures.
    Message,
    /// The INVITE of a session.
    Invite { handle: String },
    /// A conference SUBSCRIBE (initial or refresh) of a session.
    ConfSubscribe { handle: String },
    /// A BYE or another request whose answer is not needed.
    Other,
}

/// Timers the loop arms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TimerKind {
    /// Refresh the registration.
    RegisterRefresh,
    /// Refresh a session's conference subscription.
    ConfRefresh { handle: String },
    /// A deferred group session may have finished its delivery (7.3.12 c).
    DeferredIdle { handle: String, generation: u64 },
}

/// One input of the loop.
pub(crate) enum Internal {
    /// An upper-tester request, answered through `reply`.
    Command {
        command: cpmconf_ut::Command,
        reply: oneshot::Sender<Result<serde_json::Value, String>>,
    },
    /// A new incoming SIP request.
    Request(ServerTx),
    /// A response on a client transaction.
    Response { purpose: Purpose, msg: Message },
    /// A client transaction failed (timeout, transport).
    TxFailed { purpose: Purpose, error: String },
    /// An incoming INVITE was cancelled (the stack answered 200/487).
    Cancelled {
        handle: String,
        cancel: Option<Message>,
    },
    /// The MSRP connection of a session is up.
    MediaUp {
        handle: String,
        cmds: mpsc::UnboundedSender<MediaCmd>,
    },
    /// The MSRP connection of a session failed or closed.
    MediaDown { handle: String, error: String },
    /// An MSRP event of a session.
    Media { handle: String, event: SessionEvent },
    /// A timer fired.
    Timer(TimerKind),
}

/// Registration state.
#[derive(Debug, Default)]
pub(crate) struct Registration {
    pub call_id: String,
    pub from_tag: String,
    pub cseq: u32,
    pub registered: bool,
    pub expires: u32,
    pub nc: u32,
    pub reg_sub_call_id: Option<String>,
}

/// The reference client's state.
pub(crate) struct Core {
    pub cfg: ClientConfig,
    pub faults: FaultSet,
    pub policy: ClientPolicy,
    pub ids: IdGen,
    pub sip: Arc<SipEndpoint>,
    pub msrp: Arc<MsrpEndpoint>,
    pub events: EventSink,
    pub internal: mpsc::UnboundedSender<Internal>,
    pub instance: String,
    pub reg: Registration,
    pub sessions: BTreeMap<String, Session>,
    pub next_handle: u64,
    pub last_session: Option<String>,
    pub received: HashMap<String, Received>,
    pub files: BTreeMap<String, FileRecord>,
    /// Last Participant Information per Conversation-ID (7.3.10), as participant URIs.
    pub participants: HashMap<String, Vec<String>>,
    pub online: bool,
    pub deferred_generation: u64,
    /// Handles the user knows that now name another session (re-join race, fallback).
    pub aliases: HashMap<String, String>,
    /// Media planes deliberately left open (fault 7.3.4.3/release-media).
    pub leaked_media: Vec<mpsc::UnboundedSender<MediaCmd>>,
    /// INVITEs of sessions ended before their final response (a late 2xx gets ACK + BYE).
    pub abandoned: HashMap<String, Message>,
    /// Long-lived group sessions the user left, newest last: what a re-join needs (7.3.1.5).
    pub left_groups: Vec<LeftGroup>,
}

/// A group session the user left, kept for a later re-join (7.3.1.5, 7.3.12 3).
#[derive(Debug, Clone)]
pub(crate) struct LeftGroup {
    pub group_uri: Option<String>,
    pub identity: String,
    pub conversation_id: String,
    pub contribution_id: String,
}

impl Core {
    /// Emits an upper-tester event (dropped when the harness is gone).
    pub fn emit(&self, event: Event) {
        self.events.send(event);
    }

    /// A new session handle.
    pub fn new_handle(&mut self, prefix: &str) -> String {
        self.next_handle += 1;
        format!("{prefix}{}", self.next_handle)
    }

    /// The proxy every request goes to.
    pub fn proxy(&self) -> SocketAddr {
        self.cfg.outbound_proxy
    }

    /// Sends `req` in a new client transaction; its responses come back as [`Internal::Response`]
    /// tagged with `purpose`. For an INVITE, `cancel` (when given) asks the task to CANCEL it.
    pub fn send(&self, req: Message, purpose: Purpose, cancel: Option<oneshot::Receiver<()>>) {
        if !self.online {
            let _ = self.internal.send(Internal::TxFailed {
                purpose,
                error: "offline".into(),
            });
            return;
        }
        let sip = self.sip.clone();
        let internal = self.internal.clone();
        let dest = self.proxy();
        let transport = self.cfg.transport;
        tokio::spawn(async move {
            let mut tx = match sip.send_request(req, dest, transport).await {
                Ok(tx) => tx,
                Err(e) => {
                    let _ = internal.send(Internal::TxFailed {
                        purpose,
                        error: e.to_string(),
                    });
                    return;
                }
            };
            let mut cancel = cancel;
            let mut cancel_wanted = false;
            let mut provisional = false;
            loop {
                let next = match cancel.as_mut() {
                    Some(c) => tokio::select! {
                        r = tx.next() => Some(r),
                        _ = c => None,
                    },
                    None => Some(tx.next().await),
                };
                match next {
                    None => {
                        cancel = None;
                        cancel_wanted = true;
                        if provisional {
                            let _ = tx.cancel().await;
                        }
                    }
                    Some(Ok(msg)) => {
                        let is_prov = msg.status().is_some_and(|c| c.is_provisional());
                        if is_prov && !provisional {
                            provisional = true;
                            // RFC 3261 9.1: a CANCEL waits for a provisional response.
                            if cancel_wanted {
                                let _ = tx.cancel().await;
                            }
                        }
                        let _ = internal.send(Internal::Response {
                            purpose: purpose.clone(),
                            msg,
                        });
                    }
                    Some(Err(cpmconf_stack::sip::StackError::Closed)) => return,
                    Some(Err(e)) => {
                        let _ = internal.send(Internal::TxFailed {
                            purpose,
                            error: e.to_string(),
                        });
                        return;
                    }
                }
            }
        });
    }

    /// Sends the ACK of a 2xx (no transaction).
    pub fn send_ack(&self, ack: Message) {
        let sip = self.sip.clone();
        let dest = self.proxy();
        let transport = self.cfg.transport;
        tokio::spawn(async move {
            let _ = sip.send_ack(ack, dest, transport).await;
        });
    }

    /// Answers an incoming request in its transaction.
    pub fn respond(&self, tx: &Arc<ServerTx>, resp: Message) {
        let tx = tx.clone();
        tokio::spawn(async move {
            let _ = tx.respond(resp).await;
        });
    }

    /// Fires `kind` after `after` of protocol time (on the client's clock).
    pub fn arm(&self, after: Duration, kind: TimerKind) {
        let after = self.cfg.timers.on_clock(after);
        let internal = self.internal.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let _ = internal.send(Internal::Timer(kind));
        });
    }

    /// Handles one input.
    pub async fn handle(&mut self, input: Internal) {
        match input {
            Internal::Command { command, reply } => {
                let r = self.command(command).await;
                let _ = reply.send(r);
            }
            Internal::Request(tx) => self.on_request(Arc::new(tx)),
            Internal::Response { purpose, msg } => self.on_response(purpose, msg),
            Internal::TxFailed { purpose, error } => self.on_tx_failed(purpose, error),
            Internal::Cancelled { handle, cancel } => self.on_cancelled(&handle, cancel.as_ref()),
            Internal::MediaUp { handle, cmds } => self.on_media_up(&handle, cmds),
            Internal::MediaDown { handle, error } => self.on_media_down(&handle, &error),
            Internal::Media { handle, event } => self.on_media_event(&handle, event),
            Internal::Timer(kind) => self.on_timer(kind),
        }
    }

    fn on_response(&mut self, purpose: Purpose, msg: Message) {
        match purpose {
            Purpose::Register { expires, auth } => self.on_register_response(expires, auth, &msg),
            Purpose::RegSubscribe => {}
            Purpose::Message | Purpose::Other => {}
            Purpose::Invite { handle } => self.on_invite_response(&handle, &msg),
            Purpose::ConfSubscribe { handle } => self.on_conf_subscribe_response(&handle, &msg),
        }
    }

    fn on_tx_failed(&mut self, purpose: Purpose, error: String) {
        match purpose {
            Purpose::Invite { handle } => {
                self.end_session(
                    &handle,
                    Some(format!("INVITE failed: {error}")),
                    false,
                    false,
                );
            }
            Purpose::Register { .. } => {
                self.emit(Event::Unregistered(cpmconf_ut::Unregistered {
                    reason: Some(format!("REGISTER failed: {error}")),
                }));
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, kind: TimerKind) {
        match kind {
            TimerKind::RegisterRefresh => {
                if self.reg.registered {
                    self.send_register(self.cfg.timers.register_expires, None);
                }
            }
            TimerKind::ConfRefresh { handle } => self.refresh_conf_subscription(&handle),
            TimerKind::DeferredIdle { handle, generation } => {
                self.on_deferred_idle(&handle, generation)
            }
        }
    }

    /// Dispatches an incoming request by method (clause 7).
    fn on_request(&mut self, tx: Arc<ServerTx>) {
        let method = tx.request.method().cloned();
        match method {
            Some(Method::Message) => self.on_message(&tx),
            Some(Method::Invite) => self.on_invite(tx),
            Some(Method::Ack) => self.on_ack(&tx.request),
            Some(Method::Bye) => self.on_bye(&tx),
            Some(Method::Notify) => self.on_notify(&tx),
            Some(Method::Options) => {
                let r = self.response(&tx.request, 200, None);
                self.respond(&tx, r);
            }
            _ => {
                let r = self.response(&tx.request, 501, None);
                self.respond(&tx, r);
            }
        }
    }
}
