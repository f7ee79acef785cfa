//! Registration at the SIP/IP core (clause 7 intro, 7.1): REGISTER with +sip.instance and the CPM
//! ICSIs, digest authentication on 401 (MD5 and SHA-256), refresh, de-registration, and the
//! reg-event subscription with its NOTIFYs.

use std::time::Duration;

use cpmconf_codec::sip::{icsi, Credentials, Message, Method};
use cpmconf_ut::{Event, Registered, Unregistered};

use crate::core::{Core, Purpose, TimerKind};

impl Core {
    /// Sends a REGISTER with `expires`; `auth` is the Authorization value when answering a 401.
    pub fn send_register(&mut self, expires: u32, auth: Option<(Credentials, u32)>) {
        if self.reg.call_id.is_empty() {
            self.reg.call_id = format!("{}@{}", self.ids.token(16), self.cfg.ip);
            self.reg.from_tag = self.ids.token(10);
        }
        self.reg.cseq += 1;
        let domain = self.cfg.identity.domain.clone();
        let mut req = Message::request(Method::Register, format!("sip:{domain}"));
        req.headers.push(
            "From",
            format!("<{}>;tag={}", self.aor(), self.reg.from_tag),
        );
        req.headers.push("To", format!("<{}>", self.aor()));
        req.headers.push("Call-ID", self.reg.call_id.clone());
        req.headers
            .push("CSeq", format!("{} REGISTER", self.reg.cseq));
        req.headers.push("Contact", self.contact(&icsi::ALL, true));
        req.headers.push("Expires", expires.to_string());
        req.headers.push("Supported", "path, gruu");
        self.add_user_agent(&mut req);
        let attempt = match auth {
            Some((c, n)) => {
                req.headers.push("Authorization", c.to_string());
                n
            }
            None => 0,
        };
        self.send(
            req,
            Purpose::Register {
                expires,
                auth: attempt,
            },
            None,
        );
    }

    /// REGISTER answers: digest on 401/407, `registered` / `unregistered` on the final outcome.
    pub fn on_register_response(&mut self, expires: u32, auth: u32, msg: &Message) {
        let Some(code) = msg.status() else { return };
        if code.is_provisional() {
            return;
        }
        if (code.0 == 401 || code.0 == 407) && auth < 2 {
            let challenge = match msg.challenge(code.0 == 407) {
                Ok(Some(c)) => c,
                _ => {
                    self.emit(Event::Unregistered(Unregistered {
                        reason: Some(format!("rejected {} without a usable challenge", code.0)),
                    }));
                    return;
                }
            };
            self.reg.nc += 1;
            let user = self
                .cfg
                .identity
                .auth_user
                .clone()
                .unwrap_or_else(|| self.cfg.identity.user.clone());
            let cnonce = self.ids.token(16);
            let uri = format!("sip:{}", self.cfg.identity.domain);
            let Some(creds) = Credentials::answer(
                &challenge,
                &user,
                &self.cfg.identity.password,
                "REGISTER",
                &uri,
                &cnonce,
                self.reg.nc,
            ) else {
                self.emit(Event::Unregistered(Unregistered {
                    reason: Some(format!(
                        "unsupported digest algorithm {:?}",
                        challenge.algorithm
                    )),
                }));
                return;
            };
            self.send_register(expires, Some((creds, auth + 1)));
            return;
        }
        if code.is_success() {
            if expires == 0 {
                self.reg.registered = false;
                self.emit(Event::Unregistered(Unregistered {
                    reason: Some("user".into()),
                }));
                return;
            }
            let granted = msg
                .contacts()
                .ok()
                .and_then(|cs| cs.iter().find_map(|c| c.expires()))
                .or_else(|| msg.header("Expires").and_then(|e| e.trim().parse().ok()))
                .unwrap_or(expires);
            let first = !self.reg.registered;
            self.reg.registered = true;
            self.reg.expires = granted;
            self.arm(
                Duration::from_secs(u64::from(granted.max(2) / 2)),
                TimerKind::RegisterRefresh,
            );
            if first {
                self.emit(Event::Registered(Registered {
                    expires: Some(granted),
                }));
                self.subscribe_reg_event();
                self.on_registered_again();
            }
            return;
        }
        self.reg.registered = false;
        self.emit(Event::Unregistered(Unregistered {
            reason: Some(format!("rejected {}", code.0)),
        }));
    }

    /// SUBSCRIBE to the reg event package of our own AoR (RFC 3680).
    fn subscribe_reg_event(&mut self) {
        let aor = self.aor();
        let mut req = self.base_request(Method::Subscribe, &aor, &aor);
        req.headers.push("Contact", self.contact(&[], true));
        req.headers.push("Event", "reg");
        req.headers.push("Accept", "application/reginfo+xml");
        req.headers
            .push("Expires", self.cfg.timers.register_expires.to_string());
        self.reg.reg_sub_call_id = req.call_id().map(str::to_owned);
        self.send(req, Purpose::RegSubscribe, None);
    }

    /// A NOTIFY of the reg event package (RFC 3680): our registration terminated (or all of
    /// our contacts gone) ends the registration.
    pub fn on_reg_notify(&mut self, msg: &Message) {
        let Ok(info) = cpmconf_codec::xml::reginfo::parse(&msg.body) else {
            return;
        };
        let aor = self.aor();
        let local = self.contact_uri();
        let terminated = info
            .registrations
            .iter()
            .filter(|r| r.aor.eq_ignore_ascii_case(&aor))
            .any(|r| {
                r.state == "terminated"
                    || r.contacts
                        .iter()
                        .any(|c| c.uri.contains(&local) && c.state == "terminated")
            });
        if terminated && self.reg.registered {
            self.reg.registered = false;
            self.emit(Event::Unregistered(Unregistered {
                reason: Some("terminated by the network".into()),
            }));
        }
    }
}
