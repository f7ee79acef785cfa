//! Harness -> adapter commands of the upper-tester protocol (version 1), one typed variant each.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One command from the harness to the client adapter. On the wire it is the `cmd` and `args`
/// members of a [`crate::Request`] line: `{"id": 7, "cmd": "send_pager", "args": {...}}`.
/// Commands without arguments carry no `args` member: `{"id": 3, "cmd": "register"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "cmd", content = "args", rename_all = "snake_case")]
pub enum Command {
    /// First exchange of every run: protocol version and run settings. Answered with a
    /// [`HelloResult`].
    Hello(Hello),
    /// Point the client at the simulated SIP/IP core and give it its identity and provisioning.
    Configure(Configure),
    /// Register with the SIP/IP core; the adapter emits `registered` when done.
    Register,
    /// De-register; the adapter emits `unregistered` when done.
    Unregister,
    /// Send a Pager Mode standalone message.
    SendPager(SendPager),
    /// Send a Large Message Mode standalone message (MSRP session).
    SendLarge(SendLarge),
    /// Start a 1-1 chat session. Result: [`SessionResult`].
    StartChat(StartChat),
    /// Start an ad-hoc group chat through the conference factory. Result: [`SessionResult`].
    StartAdhocGroup(StartAdhocGroup),
    /// Start a session with a pre-defined group. Result: [`SessionResult`].
    StartGroup(StartGroup),
    /// Re-join a (long-lived) group session. Result: [`SessionResult`].
    RejoinGroup(RejoinGroup),
    /// Send a chat message in a session (the most recent one when `session` is absent).
    SendChat(SendChat),
    /// Send an isComposing indication in a session.
    SendComposing(SendComposing),
    /// Send a file. Result: [`TransferResult`].
    SendFile(SendFile),
    /// Resume an interrupted file transfer.
    ResumeFile(ResumeFile),
    /// Accept a pending incoming invitation (when auto-accept is off).
    AcceptInvitation(AcceptInvitation),
    /// Decline a pending incoming invitation.
    DeclineInvitation(DeclineInvitation),
    /// The user displayed a received message (sends a display IMDN if one was requested).
    MarkDisplayed(MarkDisplayed),
    /// Leave (end) a session.
    Leave(Leave),
    /// Change client behaviour; absent fields keep their current value.
    SetPolicy(Policy),
    /// Lose network connectivity (no de-registration).
    GoOffline,
    /// Regain network connectivity.
    GoOnline,
    /// Answer only once everything received so far has been handled (closes `expect_none`
    /// windows early).
    Sync,
    /// Stop the client and exit after answering.
    Shutdown,
}

impl Command {
    /// Builds a command from its wire name and `args` (null or `{}` for commands without
    /// arguments), as a scenario's `do: { name: { args } }` step gives them. Unknown names and
    /// unknown or mistyped arguments are errors.
    pub fn from_parts(name: &str, args: serde_json::Value) -> Result<Command, serde_json::Error> {
        let empty = args.is_null() || args.as_object().is_some_and(|m| m.is_empty());
        let v = if empty && UNIT_COMMANDS.contains(&name) {
            serde_json::json!({ "cmd": name })
        } else {
            serde_json::json!({ "cmd": name, "args": args })
        };
        serde_json::from_value(v)
    }

    /// The command's `args` (null for commands without arguments).
    pub fn args(&self) -> serde_json::Value {
        serde_json::to_value(self)
            .ok()
            .and_then(|mut v| v.get_mut("args").map(serde_json::Value::take))
            .unwrap_or(serde_json::Value::Null)
    }

    /// The wire name of the command (`"send_pager"`).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Hello(_) => "hello",
            Command::Configure(_) => "configure",
            Command::Register => "register",
            Command::Unregister => "unregister",
            Command::SendPager(_) => "send_pager",
            Command::SendLarge(_) => "send_large",
            Command::StartChat(_) => "start_chat",
            Command::StartAdhocGroup(_) => "start_adhoc_group",
            Command::StartGroup(_) => "start_group",
            Command::RejoinGroup(_) => "rejoin_group",
            Command::SendChat(_) => "send_chat",
            Command::SendComposing(_) => "send_composing",
            Command::SendFile(_) => "send_file",
            Command::ResumeFile(_) => "resume_file",
            Command::AcceptInvitation(_) => "accept_invitation",
            Command::DeclineInvitation(_) => "decline_invitation",
            Command::MarkDisplayed(_) => "mark_displayed",
            Command::Leave(_) => "leave",
            Command::SetPolicy(_) => "set_policy",
            Command::GoOffline => "go_offline",
            Command::GoOnline => "go_online",
            Command::Sync => "sync",
            Command::Shutdown => "shutdown",
        }
    }
}

/// Wire names of every command, in declaration order (what `cpmconf validate` offers for a
/// misspelt `do:` name).
pub const COMMAND_NAMES: &[&str] = &[
    "hello",
    "configure",
    "register",
    "unregister",
    "send_pager",
    "send_large",
    "start_chat",
    "start_adhoc_group",
    "start_group",
    "rejoin_group",
    "send_chat",
    "send_composing",
    "send_file",
    "resume_file",
    "accept_invitation",
    "decline_invitation",
    "mark_displayed",
    "leave",
    "set_policy",
    "go_offline",
    "go_online",
    "sync",
    "shutdown",
];

/// Commands that take no arguments.
pub const UNIT_COMMANDS: &[&str] = &[
    "register",
    "unregister",
    "go_offline",
    "go_online",
    "sync",
    "shutdown",
];

/// `hello` arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hello {
    /// Protocol version the harness speaks ([`crate::PROTOCOL_VERSION`]).
    pub protocol: u32,
    /// Harness name and version, e.g. `"cpmconf 0.1.0"`.
    pub harness: String,
    /// Settings of this run.
    #[serde(default)]
    pub settings: RunSettings,
}

/// Settings of the run that an adapter may use.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct RunSettings {
    /// Seed of the run's generated values; an adapter with its own randomness should use it.
    #[serde(default)]
    pub seed: u64,
    /// Factor applied to every deadline and SIP timer T1 (1.0 = nominal).
    #[serde(default = "one")]
    pub time_scale: f64,
    /// How long one second of protocol time lasts, in seconds (the profile's `clock`, 1.0 =
    /// real time): a client that can, runs its own timers (subscription and registration
    /// refresh, idle periods) that much faster; Expires values on the wire stay in seconds.
    #[serde(default = "one")]
    pub clock: f64,
    /// Scenario being run, for the adapter's logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
}

fn one() -> f64 {
    1.0
}

/// Result of `hello`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HelloResult {
    /// Adapter (client) name.
    pub name: String,
    /// Adapter (client) version.
    pub version: String,
    /// Protocol version the adapter speaks; must equal the harness's.
    pub protocol: u32,
    /// Capabilities the adapter supports (same vocabulary as the client profile).
    #[serde(default)]
    pub capabilities: Vec<String>,
}

/// SIP transport between client and SIP/IP core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// SIP over UDP.
    #[default]
    Udp,
    /// SIP over TCP.
    Tcp,
}

/// `configure` arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Configure {
    /// Outbound proxy (P-CSCF of the simulated SIP/IP core), `host:port`.
    pub proxy: String,
    /// SIP transport to use towards the proxy.
    pub transport: Transport,
    /// The client's identity.
    pub identity: Identity,
    /// Provisioned values.
    #[serde(default)]
    pub provisioned: Provisioned,
    /// The readings the client takes where the CR allows several (profile `readings`); left
    /// out of the JSON when none is named, so adapters that do not know it see no change.
    #[serde(default, skip_serializing_if = "Readings::is_empty")]
    pub readings: Readings,
}

/// The readings a client takes where the CR allows several (an IXIT of the profile): the
/// suite judges the client under the reading named here, and under every allowed reading when
/// none is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Readings {
    /// CR 7.4.5.2 item 1 (L262): "The device identifier used in the CPIM From header is set as
    /// described in section 6.1.1" (6.1.1 is not in the CR). See [`CpimFromDevice`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id_in_cpim_from: Option<CpimFromDevice>,
}

impl Readings {
    /// `true` when no reading is named.
    pub fn is_empty(&self) -> bool {
        *self == Readings::default()
    }
}

/// How the device identifier of 6.1.1 goes with the CPIM From of the file an original sender
/// serves on a resume request (CR 7.4.5.2 item 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CpimFromDevice {
    /// The CPIM From is the device's public GRUU: the CPM Address with a `gr` URI parameter
    /// whose value is the instance identifier (RFC 5627 3.1; 3GPP TS 24.229 builds the public
    /// GRUU from the `+sip.instance` value).
    Gruu,
    /// The CPIM From is the CPM Address; the device identifier is the `+sip.instance` that 6.1.1
    /// ("in SIP requests and responses") puts on the Contact of the SIP 200 OK of the session.
    Instance,
}

impl CpimFromDevice {
    /// The name in profiles (`gruu`, `instance`).
    pub fn as_str(self) -> &'static str {
        match self {
            CpimFromDevice::Gruu => "gruu",
            CpimFromDevice::Instance => "instance",
        }
    }
}

/// The SIP identity the client registers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// Public user identity, a SIP URI (`sip:alice@test`).
    pub public_user_identity: String,
    /// Digest user name (private identity); defaults to the user part of the public identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_user_identity: Option<String>,
    /// Digest password.
    pub password: String,
    /// Home domain (digest realm).
    pub domain: String,
    /// Device instance id used in `+sip.instance` (`urn:gsma:imei:...` or `urn:uuid:...`).
    pub instance_id: String,
}

/// Provisioned configuration values (client profile `provisioned:` and `configure`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Provisioned {
    /// Largest message body (bytes) sent in Pager Mode; larger ones use Large Message Mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pager_limit: Option<u64>,
    /// Largest file (bytes) the client accepts (FT max size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_size_limit: Option<u64>,
    /// CPMDeferredMgmtURI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferred_mgmt_uri: Option<String>,
    /// Conference factory URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conference_factory_uri: Option<String>,
    /// Further provisioned values by name (extension point).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub other: std::collections::BTreeMap<String, String>,
}

/// Disposition notifications requested for a sent message (RFC 5438).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Disposition {
    /// `positive-delivery`.
    PositiveDelivery,
    /// `negative-delivery`.
    NegativeDelivery,
    /// `display`.
    Display,
}

/// `send_pager` arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendPager {
    /// Recipient URI.
    pub to: String,
    /// Message text.
    pub text: String,
    /// Content type of the message inside CPIM (default `text/plain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// IMDNs to request (none when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imdn: Option<Vec<Disposition>>,
}

/// `send_large` arguments: exactly one of `size` (generated text of that many bytes) or `text`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendLarge {
    /// Recipient URI.
    pub to: String,
    /// Size in bytes of a generated message body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Explicit message text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// `start_chat` arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartChat {
    /// Peer URI.
    pub to: String,
    /// First message, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// `start_adhoc_group` arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartAdhocGroup {
    /// Invited participants' URIs.
    pub participants: Vec<String>,
    /// Subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// First message, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// `start_group` arguments (pre-defined group).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartGroup {
    /// Group URI.
    pub group_uri: String,
    /// Continue this existing conversation (else a new Conversation-ID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// Contribution-ID this group session replies to (InReplyTo-Contribution-ID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    /// Request anonymity.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub anonymous: bool,
    /// First message, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// `rejoin_group` arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RejoinGroup {
    /// Group URI or the stored session identity (focus URI) to re-join.
    pub group_uri: String,
    /// Session identity (focus URI from an earlier 200 OK Contact), when it differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_identity: Option<String>,
    /// Conversation-ID of the group session.
    pub conversation_id: String,
    /// Contribution-ID of the group session.
    pub contribution_id: String,
    /// The long-lived group was started ad hoc (7.3.1.2), not pre-defined: it has no group URI
    /// of its own, `group_uri` is its Group Session Identity, and a chat message's CPIM To is
    /// the Controlling Function's address (7.3.9.1 item 1 b) rather than a group URI (item 1 c).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub adhoc: bool,
    /// Message to send once re-joined; absent: re-join without writing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// `send_chat` arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendChat {
    /// Session handle; absent: the most recent session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// Message text.
    pub text: String,
    /// IMDNs to request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imdn: Option<Vec<Disposition>>,
    /// A private message: the URI of the one participant of the group session it is for
    /// (CR 7.3.9.1 item 1 a); absent: the whole session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// isComposing state (RFC 3994).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComposingState {
    /// The user is typing.
    Active,
    /// The user stopped typing.
    Idle,
}

/// `send_composing` arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendComposing {
    /// Session handle; absent: the most recent session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// State to indicate.
    pub state: ComposingState,
    /// The user is typing a private message: the URI of the one participant of the group
    /// session it is for (CR 7.3.9.1 item 1 a); absent: the whole session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// `send_file` arguments: the content is `path` (a fixture file) or `size` generated bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendFile {
    /// Recipient URI (a user or a group).
    pub to: String,
    /// File name announced in the file-selector.
    pub name: String,
    /// Content type of the file.
    pub content_type: String,
    /// Size in bytes of generated content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Path of a fixture file, absolute or relative to the adapter's working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Expected SHA-256 of the content (lowercase hex), for the adapter to check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// `resume_file` arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResumeFile {
    /// Transfer handle from `send_file` or `file_received`/`file_transfer_ended`; absent: the
    /// most recent transfer that did not complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_id: Option<String>,
}

/// `accept_invitation` arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    /// Session handle from `session_invited`; absent: the most recent
    /// session (the last invitation received, unless a session was started since).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

/// `decline_invitation` arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclineInvitation {
    /// Session handle from `session_invited`; absent: the most recent
    /// session (the last invitation received, unless a session was started since).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// SIP status code to decline with (client default when absent, typically 486 or 603).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
}

/// `mark_displayed` arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkDisplayed {
    /// Message-ID (IMDN) of the received message.
    pub message_id: String,
}

/// `leave` arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Leave {
    /// Session handle; absent: the most recent session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

/// `set_policy` arguments; every field is optional and only the given ones change.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Accept incoming session invitations without a user action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_accept_sessions: Option<bool>,
    /// Accept deferred-delivery sessions without a user action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_accept_deferred: Option<bool>,
    /// Accept incoming files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept_files: Option<bool>,
    /// Largest incoming file (bytes) accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_size_limit: Option<u64>,
    /// Decline deferred-delivery invitations with 480 Temporarily Unavailable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline_deferred_with_480: Option<bool>,
    /// Offer/accept file transfer resume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_supported: Option<bool>,
    /// Request anonymity on outgoing requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous: Option<bool>,
}

/// Result of the session-starting commands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SessionResult {
    /// Adapter-chosen handle of the session, used by later commands and events.
    pub session: String,
}

/// Result of `send_pager`, `send_large` and `send_chat` (all fields optional).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct MessageResult {
    /// IMDN Message-ID of the sent message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

/// Result of `send_file`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TransferResult {
    /// Adapter-chosen handle of the transfer.
    pub transfer_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `COMMAND_NAMES` is exactly the set of variants serde accepts: the list serde gives for an
    /// unknown name, and a known name is never "unknown".
    #[test]
    fn command_names_are_the_serde_variants() {
        let err = Command::from_parts("no_such_command", serde_json::json!({}))
            .unwrap_err()
            .to_string();
        let listed: Vec<&str> = err
            .split("expected one of ")
            .nth(1)
            .expect("serde lists the variants")
            .split(", ")
            .map(|s| s.trim_matches(|c: char| c == '`' || c.is_whitespace()))
            .map(|s| s.split('`').next().unwrap_or(s))
            .collect();
        assert_eq!(listed, COMMAND_NAMES, "{err}");
        for name in COMMAND_NAMES {
            if let Err(e) = Command::from_parts(name, serde_json::Value::Null) {
                assert!(!e.to_string().contains("unknown variant"), "{name}: {e}");
            }
        }
    }
}
