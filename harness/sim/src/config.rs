//! The settings of a simulated network: addresses, domain, timers, capture, authentication,
//! provisioned URIs and groups, and the seed of every generated identifier.

use cpmconf_capture::Tap;
use cpmconf_stack::sip::Timers;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

/// How the registrar authenticates REGISTER requests.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Auth {
    /// Every REGISTER is accepted.
    #[default]
    None,
    /// RFC 3261 22.4 digest challenge with 401; RFC 8760 / RFC 7616 algorithms.
    Digest {
        /// The realm (default: the domain).
        realm: String,
        /// Algorithms offered, one WWW-Authenticate each, in this order (`MD5`, `SHA-256`).
        algorithms: Vec<String>,
    },
}

impl Auth {
    /// Digest with `realm` offering MD5 only.
    pub fn digest_md5(realm: &str) -> Auth {
        Auth::Digest {
            realm: realm.into(),
            algorithms: vec!["MD5".into()],
        }
    }
}

/// A pre-defined group hosted by the Controlling Function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The group URI, e.g. `sip:g1@cf.test`.
    pub uri: String,
    /// Member URIs.
    pub members: Vec<String>,
}

/// Settings of [`crate::Network::start`].
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Address every socket binds (loopback in tests).
    pub ip: IpAddr,
    /// SIP port of the core, UDP and TCP (0: ephemeral).
    pub sip_port: u16,
    /// The home domain (`cpm.test`).
    pub domain: String,
    /// SIP transaction timers.
    pub timers: Timers,
    /// Capture tap every sim socket reports to.
    pub tap: Option<Tap>,
    /// Also record what the peers send: SIP the core receives and MSRP the roles receive, with
    /// the peers' TCP connections and closes (for a client in another process and for `serve`,
    /// where the peers record nothing).
    pub tap_received: bool,
    /// Registrar authentication.
    pub auth: Auth,
    /// Digest passwords per user part; a user without an entry has its user part as password.
    pub passwords: HashMap<String, String>,
    /// CPMDeferredMgmtURI: the Participating Function's store-and-forward identity.
    pub deferred_mgmt_uri: String,
    /// The Controlling Function's host (`cf.test`).
    pub cf_domain: String,
    /// The conference factory URI.
    pub conference_factory: String,
    /// Pre-defined groups.
    pub predefined_groups: Vec<Group>,
    /// Seed of every generated tag, branch, Call-ID, nonce and MSRP id.
    pub seed: u64,
    /// Expires granted to a REGISTER without one.
    pub default_expires: u32,
    /// Expires granted to a conference subscription (the outline uses 120).
    pub conference_expires: u32,
    /// Expires granted to the SUBSCRIBE that creates a conference subscription, when shorter
    /// than `conference_expires` is wanted there only: a scenario about the refresh grants a
    /// short first period and the usual one to the refresh, so the client refreshes once, not
    /// on a loop while the run settles.
    pub conference_expires_initial: Option<u32>,
    /// Keep an observation stream (off for `serve`, where nobody reads it).
    pub observe: bool,
    /// The Server header value of the sim's responses.
    pub server: String,
    /// Where to report every malformed message the core receives (`serve`); `None`: not
    /// reported.
    pub malformed: Option<tokio::sync::mpsc::UnboundedSender<crate::Malformed>>,
}

impl NetConfig {
    /// Loopback, ephemeral port, domain `cpm.test`, default timers, no tap, no auth,
    /// `sip:deferred@pf.test`, `sip:conf-factory@cf.test`, group `sip:g1@cf.test` with
    /// alice, bob and carol, seed 1.
    pub fn new() -> NetConfig {
        NetConfig {
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            sip_port: 0,
            domain: "cpm.test".into(),
            timers: Timers::default(),
            tap: None,
            tap_received: false,
            auth: Auth::None,
            passwords: HashMap::new(),
            deferred_mgmt_uri: "sip:deferred@pf.test".into(),
            cf_domain: "cf.test".into(),
            conference_factory: "sip:conf-factory@cf.test".into(),
            predefined_groups: vec![Group {
                uri: "sip:g1@cf.test".into(),
                members: vec![
                    "sip:alice@cpm.test".into(),
                    "sip:bob@cpm.test".into(),
                    "sip:carol@cpm.test".into(),
                ],
            }],
            seed: 1,
            default_expires: 3600,
            conference_expires: 120,
            conference_expires_initial: None,
            observe: true,
            server: "CPM-serv/OMA2.0 cpmconf-sim".into(),
            malformed: None,
        }
    }

    /// The password of `user` (its user part unless configured).
    pub fn password_of(&self, user: &str) -> String {
        self.passwords
            .get(user)
            .cloned()
            .unwrap_or_else(|| user.to_owned())
    }
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig::new()
    }
}
