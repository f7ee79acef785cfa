//! The simulated network a CPM client under test talks to: the SIP/IP core (registrar with
//! digest, reg event, stateless proxy between registered UAs), the Participating Function
//! (`pf`, store-and-forward), the Controlling Function (`cf`, conference focus) and remote
//! users (`bob`, `carol`, any unregistered user of the domain).
//!
//! # Shape
//!
//! One core SIP endpoint (UDP and TCP on one port, [`Network::core_addr`]) is every client's
//! outbound proxy. Each request is dispatched to a ROLE: `registrar` (REGISTER, SUBSCRIBE reg),
//! `cf` (any Request-URI on the CF host: the factory, pre-defined groups, `conf-fN`
//! sessions), `pf` (CPMDeferredMgmtURI), a remote user (its user part), or `proxy` (a
//! registered user of the domain: forwarded statelessly to its contact). In-dialog requests
//! go to the role that owns the Call-ID. Roles with media listen on their own MSRP port
//! ([`Network::msrp_addr`]); [`Network::role_of_addr`] and [`Network::role_of_call_id`] name
//! the role of an address or Call-ID for labelling captures.
//!
//! # Driving it from a scenario runner
//!
//! - [`Network::start`] with a [`NetConfig`] (every generated tag, branch, Call-ID, nonce and
//!   MSRP id comes from [`NetConfig::seed`]).
//! - [`Network::next_observed`]`(deadline)` yields, in arrival order, every SIP request the
//!   client sends to any role, every SIP response to a request of the sim, every MSRP frame
//!   on a sim session, and the end of each MSRP session ([`Observed`], [`ObservedKind`]).
//! - By default a role answers by itself ([`Mode::Auto`]): 200 to MESSAGE/NOTIFY/OPTIONS,
//!   registrar with expiry and 401 digest ([`Auth`]), reg-event NOTIFY (RFC 3680),
//!   INVITE with an MSRP offer -> 200 with an answer and an MSRP session (RFC 4975/6135),
//!   conference creation (`isfocus` Contact) and conference-info NOTIFY (RFC 4575), BYE -> 200.
//!   [`Network::set_mode`]`(role, method, Mode::Manual)` holds such requests (INVITE after
//!   100 Trying) and hands a [`PendingRequest`] in the observation; answer it with
//!   [`PendingRequest::respond`]`(code, ResponseSpec)` or [`PendingRequest::auto`].
//!   [`Network::push_rule`] scripts one-off answers ([`Rule::reply_once`]`("cf", INVITE, 404)`,
//!   [`Rule::hold_uri`]).
//! - [`Network::send_request`]`(role, RequestSpec)` sends as a role to a registered AOR
//!   ([`Target::Aor`]) or in a dialog ([`Target::Dialog`]); responses arrive as observations
//!   naming the [`SentRequest::id`]; a 2xx to INVITE is ACKed, its dialog
//!   ([`Network::dialog_of_request`]) and MSRP session ([`Network::session_of_dialog`]) set
//!   up. [`Network::cancel`] cancels a pending INVITE.
//! - MSRP: [`Network::send_msrp`], [`Network::send_msrp_raw`], [`Network::close_msrp`].
//! - Store-and-forward: [`Network::deliver_deferred_1to1`],
//!   [`Network::deliver_deferred_group`], [`Network::deliver_deferred_message`].
//! - [`Network::shutdown`] stops it.
//!
//! # Identities and defaults
//!
//! A remote user `bob` sends as `sip:bob@<domain>` with `Contact: <sip:bob@<core>>`; `pf` as
//! [`NetConfig::deferred_mgmt_uri`]; `cf` as the factory, answering with
//! `Contact: <sip:conf-fN@<cf>>;isfocus`; in-dialog requests of the client come back to the
//! role that owns the Call-ID. Conference subscriptions get `Expires` of at most
//! [`NetConfig::conference_expires`] (120). A REFER with a resource list to a conference adds
//! the listed users and NOTIFYs every subscriber.
//!
//! # Known limits
//!
//! - The stack answers a CANCEL itself (200, and 487 to the INVITE) and does not pass it up:
//!   for a held INVITE the observation stream carries a CANCEL rebuilt from the INVITE
//!   (RFC 3261 9.1); the wire bytes are in the capture. The proxy does not forward CANCEL.
//! - Passive MSRP sessions run on a thread of their own (the stack's `accept_session` future
//!   is not `Send`).

mod aor;
pub mod config;
pub mod deferred;
pub mod error;
mod focus;
pub mod malformed;
pub mod media;
pub mod network;
pub mod observe;
mod proxy;
mod registrar;
pub mod role;
mod routing;
pub mod spec;
pub mod stimulus;

pub use config::{Auth, Group, NetConfig};
pub use cpmconf_codec::xml::imdn::{NotificationKind, Status as ImdnStatus};
pub use cpmconf_stack::msrp::SendOptions;
pub use cpmconf_stack::sip::{Retained, Timers};
pub use deferred::{DeferredDelivery, StoredMessage};
pub use error::SimError;
pub use malformed::Malformed;
pub use media::Push;
pub use network::Network;
pub use observe::{Action, Mode, Observed, ObservedKind, PendingRequest, Rule};
pub use role::Role;
pub use spec::{
    is_composing, Body, CpimSpec, DialogHandle, OfferKind, RequestId, RequestSpec, ResponseSpec,
    SdpOffer, SentRequest, SessionId, Target,
};
