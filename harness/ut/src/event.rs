//! Adapter -> harness unsolicited events of the upper-tester protocol (version 1).

use schemars::JsonSchema;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::command::ComposingState;

/// Declares [`Event`] (with its `Other` fallback), its wire names, its serde impls and the
/// schema-only mirror enum, from one list so they cannot drift apart.
macro_rules! events {
    ($( $(#[$doc:meta])* $variant:ident($payload:ident) = $name:literal, )*) => {
        /// One unsolicited event from the adapter: `{"event": "<name>", "data": {...}}`.
        /// Events the harness does not know (newer adapters) are kept as [`Event::Other`].
        #[derive(Debug, Clone, PartialEq)]
        pub enum Event {
            $( $(#[$doc])* $variant($payload), )*
            /// An event name this harness does not know; kept, never an error.
            Other {
                /// The event name.
                name: String,
                /// Its `data` member (null when absent).
                data: Value,
            },
        }

        /// Wire names of the events this version knows.
        pub const KNOWN_EVENTS: &[&str] = &[$($name),*];

        /// The `data` fields of the known event `name`, from its schema; `None` for a name this
        /// version does not know.
        pub fn event_fields(name: &str) -> Option<Vec<String>> {
            let schema = match name {
                $( $name => schemars::schema_for!($payload), )*
                _ => return None,
            };
            Some(
                schema
                    .as_value()
                    .get("properties")
                    .and_then(Value::as_object)
                    .map(|p| p.keys().cloned().collect())
                    .unwrap_or_default(),
            )
        }

        impl Event {
            /// The wire name of the event.
            pub fn name(&self) -> &str {
                match self {
                    $( Event::$variant(_) => $name, )*
                    Event::Other { name, .. } => name,
                }
            }

            /// Builds an event from its name and data; unknown names give [`Event::Other`],
            /// a known name with data of the wrong shape is an error.
            pub fn from_parts(name: &str, data: Value) -> Result<Event, serde_json::Error> {
                // An absent `data` on an event with only optional fields means "no fields".
                let data = if data.is_null() { Value::Object(Default::default()) } else { data };
                Ok(match name {
                    $( $name => Event::$variant(serde_json::from_value(data)?), )*
                    _ => Event::Other { name: name.to_owned(), data },
                })
            }

            /// The `data` member of the event.
            pub fn data(&self) -> Result<Value, serde_json::Error> {
                match self {
                    $( Event::$variant(p) => serde_json::to_value(p), )*
                    Event::Other { data, .. } => Ok(data.clone()),
                }
            }
        }

        /// Schema-only mirror of [`Event`] (the known events), adjacently tagged as on the wire.
        #[derive(JsonSchema)]
        #[serde(tag = "event", content = "data")]
        #[allow(dead_code)]
        pub(crate) enum EventLine {
            $( $(#[$doc])* #[serde(rename = $name)] $variant($payload), )*
        }
    };
}

events! {
    /// Registration succeeded.
    Registered(Registered) = "registered",
    /// De-registration done, or the registration was lost.
    Unregistered(Unregistered) = "unregistered",
    /// A message was shown to the user (pager, large, chat or deferred).
    MessageReceived(MessageReceived) = "message_received",
    /// An incoming session invitation arrived (shown to the user or auto-accepted).
    SessionInvited(SessionInvited) = "session_invited",
    /// A session is established.
    SessionStarted(SessionStarted) = "session_started",
    /// A session ended.
    SessionEnded(SessionEnded) = "session_ended",
    /// A file was received completely.
    FileReceived(FileReceived) = "file_received",
    /// A file transfer (either direction) ended, completed or not.
    FileTransferEnded(FileTransferEnded) = "file_transfer_ended",
    /// A disposition notification arrived for a sent message.
    ImdnReceived(ImdnReceived) = "imdn_received",
    /// An isComposing indication arrived.
    ComposingReceived(ComposingReceived) = "composing_received",
    /// The adapter or client hit an error outside any command.
    Error(ErrorEvent) = "error",
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeStruct};
        let data = self.data().map_err(S::Error::custom)?;
        let mut st = s.serialize_struct("Event", 2)?;
        st.serialize_field("event", self.name())?;
        st.serialize_field("data", &data)?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            event: String,
            #[serde(default)]
            data: Value,
        }
        let raw = Raw::deserialize(d)?;
        Event::from_parts(&raw.event, raw.data)
            .map_err(|e| D::Error::custom(format!("event {:?}: {e}", raw.event)))
    }
}

/// `registered` data.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Registered {
    /// Registration expiry granted (seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<u32>,
}

/// `unregistered` data.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Unregistered {
    /// Why (free text), e.g. `"user"`, `"expired"`, `"rejected 403"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `message_received` data.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct MessageReceived {
    /// Originator as shown to the user (CPIM From URI for deferred messages).
    pub from: String,
    /// Message text.
    pub text: String,
    /// Content type of the message.
    #[serde(default = "text_plain")]
    pub content_type: String,
    /// Conversation-ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// Contribution-ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contribution_id: Option<String>,
    /// IMDN Message-ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Session handle when received in a session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// Delivered by store-and-forward (deferred).
    #[serde(default)]
    pub deferred: bool,
}

fn text_plain() -> String {
    "text/plain".to_owned()
}

/// Kind of an incoming session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// 1-1 chat.
    Chat,
    /// Group chat (ad-hoc or pre-defined).
    Group,
    /// Large Message Mode standalone message.
    LargeMessage,
    /// File transfer.
    FileTransfer,
}

/// `session_invited` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SessionInvited {
    /// Adapter-chosen session handle.
    pub session: String,
    /// Inviting party as shown to the user.
    pub from: String,
    /// What kind of session.
    pub kind: SessionKind,
    /// Deferred delivery (from the CPMDeferredMgmtURI).
    #[serde(default)]
    pub deferred: bool,
}

/// `session_started` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SessionStarted {
    /// Session handle.
    pub session: String,
    /// Peer or focus URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
}

/// `session_ended` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SessionEnded {
    /// Session handle.
    pub session: String,
    /// Why (free text or a Reason header value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The session was completed elsewhere (Reason cause=200 "Call completed elsewhere").
    #[serde(default)]
    pub completed_elsewhere: bool,
}

/// `file_received` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FileReceived {
    /// File name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
    /// Transfer handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_id: Option<String>,
    /// Sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

/// `file_transfer_ended` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FileTransferEnded {
    /// Transfer handle.
    pub transfer_id: String,
    /// All bytes were transferred.
    #[serde(default)]
    pub completed: bool,
    /// Bytes transferred so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Why it ended (free text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `imdn_received` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ImdnReceived {
    /// Message-ID of the message the notification is about.
    pub message_id: String,
    /// Status: `delivered`, `failed`, `displayed`, `forbidden`, `error`, ...
    pub status: String,
    /// Who sent the notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

/// `composing_received` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ComposingReceived {
    /// Who is composing.
    pub from: String,
    /// Indicated state.
    pub state: ComposingState,
    /// Session handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

/// `error` data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorEvent {
    /// Human-readable description.
    pub message: String,
}
