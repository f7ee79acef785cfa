//! Settings of the reference client: network, identity, provisioned values, user policy, timers.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use cpmconf_capture::Tap;
use cpmconf_stack::sip::Timers;

use crate::fault::FaultSet;

/// SIP transport towards the outbound proxy.
pub use cpmconf_stack::sip::Transport;

/// The SIP identity of the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// User part of the public identity (`alice`).
    pub user: String,
    /// Home domain (`cpm.test`), also the digest realm expected.
    pub domain: String,
    /// Digest user name; the public identity's user part when `None`.
    pub auth_user: Option<String>,
    /// Digest password.
    pub password: String,
    /// Device instance id for `+sip.instance` (`urn:uuid:...`); generated from the seed when
    /// `None`.
    pub instance_id: Option<String>,
}

impl ClientIdentity {
    /// `sip:user@domain`.
    pub fn aor(&self) -> String {
        format!("sip:{}@{}", self.user, self.domain)
    }
}

/// Provisioned configuration values (CPM device management).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioned {
    /// Largest pager-mode body in bytes; larger messages use large message mode.
    pub pager_limit: u64,
    /// Largest incoming file accepted (7.4.2 item 3).
    pub file_size_limit: u64,
    /// CPMDeferredMgmtURI: the From of deferred-delivery INVITEs (7.3.11).
    pub deferred_mgmt_uri: String,
    /// Conference factory URI for ad-hoc groups.
    pub conference_factory_uri: String,
}

impl Provisioned {
    /// Defaults for `domain`: pager limit 1300, file limit 10 MiB, `sip:rcse-standfw@domain`,
    /// `sip:conference-factory@domain`.
    pub fn defaults(domain: &str) -> Provisioned {
        Provisioned {
            pager_limit: 1300,
            file_size_limit: 10 * 1024 * 1024,
            deferred_mgmt_uri: format!("sip:rcse-standfw@{domain}"),
            conference_factory_uri: format!("sip:conference-factory@{domain}"),
        }
    }
}

/// What the simulated user decides (the upper tester's `set_policy` changes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPolicy {
    /// Accept incoming session invitations without a user action.
    pub auto_accept_sessions: bool,
    /// Accept deferred-delivery sessions without a user action.
    pub auto_accept_deferred: bool,
    /// Accept incoming files (within the size limit).
    pub accept_files: bool,
    /// Decline deferred-delivery invitations with 480 (the user is roaming, 7.3.11).
    pub decline_deferred_with_480: bool,
    /// File transfer resume is supported (7.4.5.2 i).
    pub resume_supported: bool,
    /// Anonymity requested (Privacy: id, 7.3.1.3 item 5 / 7.3.1.5 item 7).
    pub anonymous: bool,
    /// 7.3.12 c i: terminate a deferred group session once delivery is done only after the
    /// Participant Information arrived (`true`, the default: what the CR says) or as soon as the
    /// IMDNs are sent (`false`, a deviation kept for testing the ordering check).
    pub wait_participant_info_before_leaving: bool,
    /// Ambiguity setting (7.3.1.5): after a 404/403 on re-join, fall back to an ad-hoc INVITE
    /// (the MAY taken).
    pub rejoin_fallback_adhoc: bool,
}

impl Default for ClientPolicy {
    fn default() -> Self {
        ClientPolicy {
            auto_accept_sessions: true,
            auto_accept_deferred: true,
            accept_files: true,
            decline_deferred_with_480: false,
            resume_supported: true,
            anonymous: false,
            wait_participant_info_before_leaving: true,
            rejoin_fallback_adhoc: true,
        }
    }
}

/// Client-side timers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClientTimers {
    /// SIP transaction timers.
    pub sip: Timers,
    /// Requested registration expiry (seconds).
    pub register_expires: u32,
    /// Requested conference subscription expiry (seconds); refreshed at half of the granted time.
    pub subscribe_expires: u32,
    /// Deadline of MSRP connection set-up.
    pub msrp_connect: Duration,
    /// How long a deferred group session waits idle before the client leaves it (7.3.12 c).
    pub deferred_idle: Duration,
}

impl Default for ClientTimers {
    fn default() -> Self {
        ClientTimers {
            sip: Timers::default(),
            register_expires: 3600,
            subscribe_expires: 3600,
            msrp_connect: Duration::from_secs(10),
            deferred_idle: Duration::from_secs(2),
        }
    }
}

/// Everything [`crate::RefClient::start`] needs.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Local address for SIP and MSRP (127.0.0.1 or ::1).
    pub ip: IpAddr,
    /// Local SIP port; 0 picks a free one.
    pub sip_port: u16,
    /// Transport towards the outbound proxy.
    pub transport: Transport,
    /// The P-CSCF of the (simulated) SIP/IP core: every request goes there.
    pub outbound_proxy: SocketAddr,
    /// Identity.
    pub identity: ClientIdentity,
    /// Provisioned values.
    pub provisioned: Provisioned,
    /// User policy.
    pub policy: ClientPolicy,
    /// Faults switched on (mutation testing).
    pub faults: FaultSet,
    /// Timers.
    pub timers: ClientTimers,
    /// Capture tap for every byte the client sends.
    pub tap: Option<Tap>,
    /// Seed of every generated id.
    pub seed: u64,
}

impl ClientConfig {
    /// A config for `user@domain` with password `password` talking to `proxy` over UDP, with the
    /// defaults for everything else.
    pub fn new(user: &str, domain: &str, password: &str, proxy: SocketAddr) -> ClientConfig {
        ClientConfig {
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            sip_port: 0,
            transport: Transport::Udp,
            outbound_proxy: proxy,
            identity: ClientIdentity {
                user: user.to_owned(),
                domain: domain.to_owned(),
                auth_user: None,
                password: password.to_owned(),
                instance_id: None,
            },
            provisioned: Provisioned::defaults(domain),
            policy: ClientPolicy::default(),
            faults: FaultSet::none(),
            timers: ClientTimers::default(),
            tap: None,
            seed: 0,
        }
    }
}
