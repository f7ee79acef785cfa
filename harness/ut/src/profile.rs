//! Client profiles (`fixtures/clients/*.yaml`): how to start a client's adapter, its identity,
//! transport, capabilities (PICS-like) and provisioned values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::command::{Configure, Identity, Provisioned, Transport};
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
    /// Protocol baseline rules waived for a known quirk of this client (RFC rule ids such as
    /// `rfc3261/8.2.6.2-via-copied`): their failures become `xfail` and every summary lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protocol_waivers: Vec<String>,
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
                private_user_identity: None,
                password: self.identity.password.clone(),
                domain: self.identity.domain.clone(),
                instance_id: self.identity.instance_id.clone(),
            },
            provisioned: self.provisioned.clone(),
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
