//! Settings of the reference client: network, identity, provisioned values, user policy, timers.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use cpmconf_capture::Tap;
use cpmconf_stack::sip::Timers;
use cpmconf_ut::{Configure, Quirk};

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
    /// Ambiguity setting (7.4.5.2 item 1, L262): serving a resume request as original sender,
    /// wrap the resumed file in CPIM whose From carries the device identifier in this form
    /// (profile `readings.device_id_in_cpim_from`); `None` sends the file unwrapped (RFC 5547),
    /// as every other transfer.
    pub cpim_from_device: Option<cpmconf_ut::CpimFromDevice>,
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
            cpim_from_device: None,
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
    /// How long a deferred group session waits idle before the client leaves it (7.3.12 c), in
    /// protocol time.
    pub deferred_idle: Duration,
    /// How long one second of protocol time lasts, in seconds (1 = real time): every timer the
    /// client arms itself (registration and subscription refresh, deferred idle) runs on it.
    /// Expires values on the wire stay in seconds.
    pub clock: f64,
}

impl ClientTimers {
    /// Every timer multiplied by `factor` (the run's time scale; 1 when not a positive number):
    /// the SIP transaction timers, the MSRP connection deadline and the deferred idle time. The
    /// expiries are values the client asks for on the wire, not timers of its own: unchanged.
    pub fn scaled(self, factor: f64) -> ClientTimers {
        let f = positive_or_one(factor);
        ClientTimers {
            sip: self.sip.scaled(f),
            msrp_connect: self.msrp_connect.mul_f64(f),
            deferred_idle: self.deferred_idle.mul_f64(f),
            ..self
        }
    }

    /// `d` of protocol time on the client's clock (real time when `clock` is not a positive
    /// number).
    pub fn on_clock(&self, d: Duration) -> Duration {
        d.mul_f64(positive_or_one(self.clock))
    }
}

/// `x` when it is a positive number, else 1 (a factor that changes nothing).
fn positive_or_one(x: f64) -> f64 {
    if x.is_finite() && x > 0.0 {
        x
    } else {
        1.0
    }
}

impl Default for ClientTimers {
    fn default() -> Self {
        ClientTimers {
            sip: Timers::default(),
            register_expires: 3600,
            subscribe_expires: 3600,
            msrp_connect: Duration::from_secs(10),
            deferred_idle: Duration::from_secs(2),
            clock: 1.0,
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
    /// Pacing of a file sent over MSRP: at most this many chunks wait for their MSRP 200 at a
    /// time ([`FILE_SEND_WINDOW`] by default); `None` writes the whole file at once.
    pub file_send_window: Option<usize>,
    /// Implementation variants switched on (`reference: { quirks }` in a profile): ways a real
    /// client differs that no named fault describes, for testing the suite's checks.
    pub quirks: Vec<Quirk>,
}

/// The default [`ClientConfig::file_send_window`]: four 2048-byte chunks (8 KiB) in flight.
pub const FILE_SEND_WINDOW: usize = 4;

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
            file_send_window: Some(FILE_SEND_WINDOW),
            quirks: Vec::new(),
        }
    }

    /// Whether the implementation variant `q` is switched on.
    pub fn quirk(&self, q: Quirk) -> bool {
        self.quirks.contains(&q)
    }

    /// The configuration an upper-tester `configure` describes, the client's SIP and MSRP bound
    /// to `ip`: the one mapping from a client profile (through
    /// [`ClientProfile::configure`](cpmconf_ut::ClientProfile::configure)) to a client
    /// configuration, used in process, by `cpmconf refclient` and by a later `configure`.
    pub fn from_configure(c: &Configure, ip: IpAddr) -> Result<ClientConfig, String> {
        let mut cfg = ClientConfig::new("", "", "", SocketAddr::new(ip, 0));
        cfg.ip = ip;
        cfg.apply(c)?;
        Ok(cfg)
    }

    /// Applies a `configure`: outbound proxy, transport, identity (public and private user
    /// identity, password, domain, instance id) and every provisioned value given (the others
    /// keep their defaults for the domain).
    pub fn apply(&mut self, c: &Configure) -> Result<(), String> {
        self.outbound_proxy = c
            .proxy
            .parse()
            .map_err(|e| format!("proxy {:?}: {e}", c.proxy))?;
        self.transport = match c.transport {
            cpmconf_ut::Transport::Udp => Transport::Udp,
            cpmconf_ut::Transport::Tcp => Transport::Tcp,
        };
        let uri = c.identity.public_user_identity.trim_start_matches("sip:");
        let (user, domain) = uri
            .split_once('@')
            .unwrap_or((uri, c.identity.domain.as_str()));
        if self.identity.domain != domain {
            self.provisioned = Provisioned::defaults(domain);
        }
        self.identity = ClientIdentity {
            user: user.to_owned(),
            domain: domain.to_owned(),
            auth_user: c.identity.private_user_identity.clone(),
            password: c.identity.password.clone(),
            instance_id: Some(c.identity.instance_id.clone()),
        };
        let p = &c.provisioned;
        if let Some(v) = p.pager_limit {
            self.provisioned.pager_limit = v;
        }
        if let Some(v) = p.file_size_limit {
            self.provisioned.file_size_limit = v;
        }
        if let Some(v) = &p.deferred_mgmt_uri {
            self.provisioned.deferred_mgmt_uri = v.clone();
        }
        if let Some(v) = &p.conference_factory_uri {
            self.provisioned.conference_factory_uri = v.clone();
        }
        self.policy.cpim_from_device = c.readings.device_id_in_cpim_from;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpmconf_ut::ClientProfile;

    /// Every profile field a client configuration holds reaches it, each set to a value unlike
    /// its default.
    #[test]
    fn every_profile_field_reaches_the_client_config() {
        let yaml = "name: x\nadapter: { kind: in_process }\n\
            identity: { user: carol, domain: home.test, password: pw, \
            private_user_identity: carol-private@home.test, instance_id: 'urn:uuid:9' }\n\
            transport: tcp\ncapabilities: [pager]\n\
            provisioned: { pager_limit: 77, file_size_limit: 88, \
            deferred_mgmt_uri: 'sip:d@x.test', conference_factory_uri: 'sip:f@x.test' }\n\
            readings: { device_id_in_cpim_from: instance }\n";
        let profile = ClientProfile::from_yaml(yaml, "test profile").expect("profile");
        let ip: IpAddr = Ipv4Addr::LOCALHOST.into();
        let cfg =
            ClientConfig::from_configure(&profile.configure("127.0.0.1:5062"), ip).expect("config");
        assert_eq!(cfg.outbound_proxy, "127.0.0.1:5062".parse().unwrap());
        assert_eq!(cfg.ip, ip);
        assert_eq!(cfg.transport, Transport::Tcp);
        assert_eq!(
            cfg.identity,
            ClientIdentity {
                user: "carol".into(),
                domain: "home.test".into(),
                auth_user: Some("carol-private@home.test".into()),
                password: "pw".into(),
                instance_id: Some("urn:uuid:9".into()),
            }
        );
        assert_eq!(
            cfg.provisioned,
            Provisioned {
                pager_limit: 77,
                file_size_limit: 88,
                deferred_mgmt_uri: "sip:d@x.test".into(),
                conference_factory_uri: "sip:f@x.test".into(),
            }
        );
        assert_eq!(
            cfg.policy.cpim_from_device,
            Some(cpmconf_ut::CpimFromDevice::Instance)
        );
    }

    /// Every client timer scales with the run's time factor; the expiries it asks for do not.
    #[test]
    fn every_client_timer_scales() {
        let t = ClientTimers::default();
        let s = t.scaled(3.0);
        assert_eq!(s.sip.t1, t.sip.t1 * 3);
        assert_eq!(s.sip.timeout(), t.sip.timeout() * 3);
        assert_eq!(s.msrp_connect, t.msrp_connect * 3);
        assert_eq!(s.deferred_idle, t.deferred_idle * 3);
        assert_eq!(
            (s.register_expires, s.subscribe_expires),
            (t.register_expires, t.subscribe_expires)
        );
        assert_eq!(t.scaled(f64::NAN), t, "no factor: nominal timers");
    }

    /// Provisioned values the profile leaves out keep the defaults of its domain.
    #[test]
    fn absent_provisioned_values_default_for_the_domain() {
        let yaml = "name: x\nadapter: { kind: in_process }\n\
            identity: { user: u, domain: d.test, password: p, instance_id: 'urn:uuid:1' }\n\
            transport: udp\ncapabilities: [pager]\n";
        let profile = ClientProfile::from_yaml(yaml, "test profile").expect("profile");
        let cfg = ClientConfig::from_configure(
            &profile.configure("127.0.0.1:5060"),
            Ipv4Addr::LOCALHOST.into(),
        )
        .expect("config");
        assert_eq!(cfg.provisioned, Provisioned::defaults("d.test"));
        assert_eq!(cfg.identity.auth_user, None);
    }
}
