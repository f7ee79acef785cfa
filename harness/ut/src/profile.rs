//! Client profiles (`fixtures/clients/*.yaml`): how to start a client's adapter, its identity,
//! transport, capabilities (PICS-like) and provisioned values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::command::{Configure, Identity, Provisioned, Readings, Transport};
use crate::error::ProfileError;

/// One client under test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientProfile {
    /// Short name, used in report paths and `golden/<name>/`.
    pub name: String,
    /// How the harness reaches the client's upper tester.
    pub adapter: AdapterSpec,
    /// SIP identity the client registers.
    pub identity: ProfileIdentity,
    /// SIP transport towards the simulated SIP/IP core.
    #[serde(default)]
    pub transport: Transport,
    /// Declared capabilities; scenarios requiring others are "not applicable".
    #[serde(default)]
    pub capabilities: Vec<Capability>,
    /// Provisioned values given to the client in `configure`.
    #[serde(default)]
    pub provisioned: Provisioned,
    /// Digest algorithms the simulated registrar offers in its 401, one WWW-Authenticate each,
    /// in this order (RFC 8760: the client uses the first it supports). Default `[md5]`.
    #[serde(default = "default_auth_algorithms")]
    pub auth_algorithms: Vec<DigestAlgorithm>,
    /// Protocol baseline rules waived for a known quirk of this client (RFC rule ids such as
    /// `rfc3261/8.2.6.2-via-copied`): their failures become `xfail` and every summary lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protocol_waivers: Vec<String>,
    /// The readings the client takes where the CR allows several (IXIT), e.g.
    /// `device_id_in_cpim_from: gruu`; a reading not named is judged under every allowed one.
    #[serde(default, skip_serializing_if = "Readings::is_empty")]
    pub readings: Readings,
    /// Settings of the built-in reference client when it runs in the harness process
    /// (`adapter: { kind: in_process }`); ignored for every other adapter.
    #[serde(default, skip_serializing_if = "ReferenceSettings::is_default")]
    pub reference: ReferenceSettings,
    /// How long one second of protocol time lasts on this client, in seconds (default 1): a
    /// client built to run its own timers faster (the reference client, at 0.05) refreshes a
    /// subscription granted `Expires: 4` after 0.1 s instead of 2 s, and the scenarios'
    /// `within:` windows shrink by the same factor. Given to an adapter in `hello`
    /// (`settings.clock`); a client that cannot speed up its timers keeps 1.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub clock: f64,
}

fn one() -> f64 {
    1.0
}

fn is_one(x: &f64) -> bool {
    *x == 1.0
}

/// Settings of the in-process reference client (`reference:` in a profile).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferenceSettings {
    /// How many MSRP chunks of a file it sends before their 200s come back: a number (at least
    /// 1), or `unbounded` to write the whole file at once. Absent: the client's default (4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_send_window: Option<SendWindow>,
    /// Implementation variants to switch on ([`Quirk`]): ways a real client differs from the
    /// reference client that no named fault describes, some allowed by the CR and some not.
    /// They let the suite's own tests show that a check passes every reading the CR allows and
    /// fails a wrong client that is not one of the named faults.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quirks: Vec<Quirk>,
}

/// An implementation variant of the reference client (`reference: { quirks: [...] }`), written
/// the way implementers write them. Each names whether the CR allows it; the suite's tests
/// (harness/engine/tests/runner.rs, `quirks_are_judged_by_what_the_cr_says`) hold every check
/// to that.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Quirk {
    /// Refreshes a conference subscription without an Expires header field (allowed: the
    /// event package's default applies, RFC 6665 4.1.2.1).
    RefreshWithoutExpires,
    /// "Refreshes" a conference subscription with `Expires: 0`, which ends it (wrong).
    RefreshWithExpiresZero,
    /// Refreshes a conference subscription every 3 s whatever the notifier granted (wrong
    /// when the grant is shorter: the subscription lapses before the refresh).
    #[serde(rename = "refresh-every-3s")]
    RefreshEvery3s,
    /// Writes a display name before the CPIM To address of its chat messages (allowed:
    /// RFC 3862 3.3, `To: "Team" <sip:...>`).
    CpimToDisplayName,
    /// Names an accepted file in its 200 answer by `name` only, dropping the offer's type,
    /// size and hash from `a=file-selector` (wrong: RFC 5547 8, the answer repeats it).
    FileSelectorNameOnly,
    /// Declines a file whose size equals the provisioned limit (wrong: only a larger file
    /// exceeds it).
    SizeLimitExclusive,
    /// Neither ACKs nor BYEs a 200 to its own re-join INVITE that comes after the PF's INVITE
    /// won the race (wrong: RFC 3261 13.2.2.4 and 7.3.1.5.1 leave the dialog to be ended).
    #[serde(rename = "late-200-ignored")]
    Late200Ignored,
    /// Takes every pushed file within the size limit without asking the user, even when told
    /// not to accept sessions without asking (wrong: 7.4.2 item 2 a, the user chooses).
    AcceptsFilesWithoutAsking,
    /// ACKs the first 2xx to its INVITE only, not the same 2xx sent again after a lost ACK
    /// (wrong: RFC 3261 13.2.2.4, an ACK for each 2xx received).
    #[serde(rename = "acks-first-2xx-only")]
    AcksFirst2xxOnly,
    /// Cuts the MSRP messages it sends (files, Large Message Mode) into 1024-byte chunks
    /// instead of 2048 (allowed: RFC 4975 leaves the chunk size to the sender).
    #[serde(rename = "msrp-chunks-1024")]
    MsrpChunks1024,
    /// Knows a file a resume request names by its name alone, not comparing the
    /// file-selector's size (wrong: 7.4.5.2 ii, a file that changed since it was sent is not
    /// known).
    ResumeByNameOnly,
    /// Answers every resume request 488 although the profile claims `file-resume`: as if it
    /// discarded every file at once (CR 7.4.5.2 ii allows a client to have discarded the file,
    /// so it is never failed for it), but its 488s say nothing about knowing a file, so they
    /// earn no pass either.
    RefusesEveryResume,
    /// Discards what it received of a file whose transfer was interrupted, and so answers the
    /// sender's offer to resume it 488 (allowed: CR 7.4.5.2 ii, "the originally transmitted
    /// bytes were discarded").
    DiscardsPartialFiles,
}

impl ReferenceSettings {
    fn is_default(&self) -> bool {
        *self == ReferenceSettings::default()
    }
}

/// A window of MSRP chunks awaiting their responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum SendWindow {
    /// At most this many chunks in flight.
    Chunks(usize),
    /// No limit: every chunk at once.
    Named(Unbounded),
}

/// The word `unbounded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Unbounded {
    /// No limit.
    #[serde(rename = "unbounded")]
    Unbounded,
}

impl SendWindow {
    /// The window in chunks; `None` when unbounded.
    pub fn chunks(self) -> Option<usize> {
        match self {
            SendWindow::Chunks(n) => Some(n.max(1)),
            SendWindow::Named(Unbounded::Unbounded) => None,
        }
    }
}

fn default_auth_algorithms() -> Vec<DigestAlgorithm> {
    vec![DigestAlgorithm::Md5]
}

/// A digest algorithm a registrar may challenge with (RFC 7616, RFC 8760).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum DigestAlgorithm {
    /// `MD5` (RFC 3261 22.4; the only one SIPp 3.6 answers).
    #[serde(rename = "md5")]
    Md5,
    /// `SHA-256` (RFC 8760).
    #[serde(rename = "sha-256")]
    Sha256,
}

impl DigestAlgorithm {
    /// Every algorithm.
    pub const ALL: &'static [DigestAlgorithm] = &[DigestAlgorithm::Md5, DigestAlgorithm::Sha256];

    /// The name in profiles and on the command line (`md5`, `sha-256`).
    pub fn as_str(self) -> &'static str {
        match self {
            DigestAlgorithm::Md5 => "md5",
            DigestAlgorithm::Sha256 => "sha-256",
        }
    }

    /// The `algorithm=` token of a challenge (`MD5`, `SHA-256`).
    pub fn token(self) -> &'static str {
        match self {
            DigestAlgorithm::Md5 => "MD5",
            DigestAlgorithm::Sha256 => "SHA-256",
        }
    }

    /// Parses a name, case-insensitively.
    pub fn parse(name: &str) -> Option<DigestAlgorithm> {
        Self::ALL
            .iter()
            .copied()
            .find(|a| a.as_str().eq_ignore_ascii_case(name.trim()))
    }

    /// Parses a comma-separated list (`md5,sha-256`): order kept, at least one, no repeats.
    pub fn parse_list(list: &str) -> Result<Vec<DigestAlgorithm>, String> {
        let mut out = Vec::new();
        for name in list.split(',') {
            let a = DigestAlgorithm::parse(name).ok_or_else(|| {
                format!(
                    "unknown digest algorithm {:?} (known: {})",
                    name.trim(),
                    Self::ALL
                        .iter()
                        .map(|a| a.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            if out.contains(&a) {
                return Err(format!("digest algorithm {} named twice", a.as_str()));
            }
            out.push(a);
        }
        Ok(out)
    }
}

/// How to reach a client's adapter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AdapterSpec {
    /// Start a process and speak JSON lines over its stdin/stdout.
    Process {
        /// argv; run without a shell (`command[0]` is looked up on PATH).
        command: Vec<String>,
        /// Extra environment variables.
        #[serde(default)]
        env: BTreeMap<String, String>,
        /// Working directory (default: the harness's); relative to the profile file's directory.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cwd: Option<PathBuf>,
    },
    /// Connect to an adapter listening on TCP (a client on a real device).
    Tcp {
        /// `host:port` the adapter listens on.
        addr: String,
    },
    /// The built-in reference client, in the harness process.
    InProcess,
}

/// The identity part of a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileIdentity {
    /// User part of the public user identity (`alice` for `sip:alice@test`).
    pub user: String,
    /// Home domain.
    pub domain: String,
    /// Digest password.
    pub password: String,
    /// Digest user name (private user identity) when it is not `user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_user_identity: Option<String>,
    /// Device instance id for `+sip.instance`.
    pub instance_id: String,
}

/// A client capability (PICS-like). Scenarios name these in `requires:`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// Pager Mode standalone messages.
    Pager,
    /// Large Message Mode standalone messages.
    LargeMessage,
    /// 1-1 chat sessions.
    Chat,
    /// Group chat (ad-hoc and pre-defined groups).
    GroupChat,
    /// Long-lived group sessions (re-join).
    LongLivedGroup,
    /// Deferred 1-1 messages.
    #[serde(rename = "deferred-1-1")]
    Deferred11,
    /// Deferred group messages.
    DeferredGroup,
    /// File transfer.
    FileTransfer,
    /// File transfer resume.
    FileResume,
    /// Disposition notifications.
    Imdn,
    /// isComposing.
    Iscomposing,
    /// Anonymous group participation.
    Anonymity,
    /// A UT action to re-join a group without writing.
    RejoinWithoutMessage,
    /// The MAY of 7.3.1.5: after a 404 or 403 to a re-join, fall back to a new ad-hoc group
    /// session with the last known participants. A client without it is not judged there.
    RejoinFallbackAdhoc,
}

impl Capability {
    /// Every capability, in declaration order.
    pub const ALL: &'static [Capability] = &[
        Capability::Pager,
        Capability::LargeMessage,
        Capability::Chat,
        Capability::GroupChat,
        Capability::LongLivedGroup,
        Capability::Deferred11,
        Capability::DeferredGroup,
        Capability::FileTransfer,
        Capability::FileResume,
        Capability::Imdn,
        Capability::Iscomposing,
        Capability::Anonymity,
        Capability::RejoinWithoutMessage,
        Capability::RejoinFallbackAdhoc,
    ];

    /// The wire/YAML name (`"group-chat"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Pager => "pager",
            Capability::LargeMessage => "large-message",
            Capability::Chat => "chat",
            Capability::GroupChat => "group-chat",
            Capability::LongLivedGroup => "long-lived-group",
            Capability::Deferred11 => "deferred-1-1",
            Capability::DeferredGroup => "deferred-group",
            Capability::FileTransfer => "file-transfer",
            Capability::FileResume => "file-resume",
            Capability::Imdn => "imdn",
            Capability::Iscomposing => "iscomposing",
            Capability::Anonymity => "anonymity",
            Capability::RejoinWithoutMessage => "rejoin-without-message",
            Capability::RejoinFallbackAdhoc => "rejoin-fallback-adhoc",
        }
    }

    /// Parses a capability name.
    pub fn parse(name: &str) -> Option<Capability> {
        Capability::ALL.iter().copied().find(|c| c.as_str() == name)
    }
}

impl ClientProfile {
    /// Loads and validates a profile file; errors name `file:line:column`. A relative
    /// `adapter.cwd` is resolved against the profile's directory.
    pub fn load(path: &Path) -> Result<ClientProfile, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut profile = ClientProfile::from_yaml(&text, &path.display().to_string())?;
        if let AdapterSpec::Process { cwd: Some(cwd), .. } = &mut profile.adapter {
            if cwd.is_relative() {
                let base = path.parent().unwrap_or_else(|| Path::new("."));
                *cwd = base.join(&*cwd);
            }
        }
        Ok(profile)
    }

    /// Parses a profile from YAML text; `origin` names the source in errors.
    pub fn from_yaml(text: &str, origin: &str) -> Result<ClientProfile, ProfileError> {
        let invalid = |line: usize, column: usize, message: String| ProfileError::Invalid {
            path: origin.to_owned(),
            line,
            column,
            message,
        };
        let profile: ClientProfile = serde_yaml::from_str(text).map_err(|e| {
            let message = e.to_string();
            let (line, column) = match e.location() {
                // The internally tagged `adapter` is buffered before it is decoded, so serde_yaml
                // reports its errors at 1:1; point at the offending key instead.
                Some(l) if (l.line(), l.column()) != (1, 1) => (l.line(), l.column()),
                _ => backticked(&message).map_or((1, 1), |key| locate(text, &format!("{key}:"))),
            };
            invalid(line, column, message)
        })?;
        if profile.name.is_empty() {
            return Err(invalid(1, 1, "name must not be empty".to_owned()));
        }
        if profile.auth_algorithms.is_empty() {
            let (line, column) = locate(text, "auth_algorithms:");
            return Err(invalid(
                line,
                column,
                "auth_algorithms must name at least one algorithm".to_owned(),
            ));
        }
        for (i, a) in profile.auth_algorithms.iter().enumerate() {
            if profile
                .auth_algorithms
                .get(..i)
                .is_some_and(|b| b.contains(a))
            {
                let (line, column) = locate(text, "auth_algorithms:");
                return Err(invalid(
                    line,
                    column,
                    format!("auth_algorithms names {} twice", a.as_str()),
                ));
            }
        }
        if !(profile.clock.is_finite() && profile.clock > 0.0 && profile.clock <= 1.0) {
            let (line, column) = locate(text, "clock:");
            return Err(invalid(
                line,
                column,
                format!(
                    "clock must be a number above 0 and at most 1 (how many seconds one protocol second lasts on the client; a slow client needs --time-scale instead), not {}",
                    profile.clock
                ),
            ));
        }
        if let AdapterSpec::Process { command, .. } = &profile.adapter {
            if command.is_empty() {
                let (line, column) = locate(text, "command:");
                return Err(invalid(
                    line,
                    column,
                    "adapter.command must name a program".to_owned(),
                ));
            }
        }
        Ok(profile)
    }

    /// Whether the profile declares the capability named `name` (as in a scenario's `requires`).
    pub fn has_capability(&self, name: &str) -> bool {
        self.capabilities.iter().any(|c| c.as_str() == name)
    }

    /// The public user identity, `sip:<user>@<domain>`.
    pub fn public_user_identity(&self) -> String {
        format!("sip:{}@{}", self.identity.user, self.identity.domain)
    }

    /// The `configure` command for this client, pointing it at `proxy` (`host:port`).
    pub fn configure(&self, proxy: &str) -> Configure {
        Configure {
            proxy: proxy.to_owned(),
            transport: self.transport,
            identity: Identity {
                public_user_identity: self.public_user_identity(),
                private_user_identity: self.identity.private_user_identity.clone(),
                password: self.identity.password.clone(),
                domain: self.identity.domain.clone(),
                instance_id: self.identity.instance_id.clone(),
            },
            provisioned: self.provisioned.clone(),
            readings: self.readings,
        }
    }
}

/// The first `backticked` word of a serde message (the offending field or variant).
fn backticked(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message.get(start..)?.find('`')?;
    message.get(start..start + len)
}

/// 1-based line and column of the first occurrence of `needle`, or (0, 0).
fn locate(text: &str, needle: &str) -> (usize, usize) {
    text.lines()
        .enumerate()
        .find_map(|(i, l)| l.find(needle).map(|c| (i + 1, c + 1)))
        .unwrap_or((0, 0))
}
