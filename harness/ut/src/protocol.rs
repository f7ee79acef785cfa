//! The upper-tester wire protocol (version 1): JSON-lines envelopes, line codec and JSON Schema.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::command::Command;
use crate::event::{Event, EventLine};

/// The protocol version this crate speaks; sent in `hello` and checked against the adapter's.
pub const PROTOCOL_VERSION: u32 = 1;

/// Longest line (bytes, without the newline) accepted from an adapter.
pub const MAX_LINE: usize = 1 << 20;

/// One harness -> adapter line: `{"id": 7, "cmd": "send_pager", "args": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Request {
    /// Request id, unique within the run; echoed in the response.
    pub id: u64,
    /// The command (`cmd` and `args` members).
    #[serde(flatten)]
    pub command: Command,
}

/// One adapter -> harness answer: `{"id": 7, "ok": true, "result": {...}}` or
/// `{"id": 7, "ok": false, "error": "..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Response {
    /// Id of the request answered.
    pub id: u64,
    /// Whether the command was carried out.
    pub ok: bool,
    /// Command-specific result (see the command's doc); null or absent when there is none.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub result: Value,
    /// Why the command failed (when `ok` is false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Response {
    /// A successful response.
    pub fn ok(id: u64, result: Value) -> Response {
        Response {
            id,
            ok: true,
            result,
            error: None,
        }
    }

    /// A failed response.
    pub fn err(id: u64, error: impl Into<String>) -> Response {
        Response {
            id,
            ok: false,
            result: Value::Null,
            error: Some(error.into()),
        }
    }

    /// The result decoded as `T`, or [`crate::UtError::Rejected`] when `ok` is false, or
    /// [`crate::UtError::Protocol`] when the result has the wrong shape.
    pub fn result_as<T: serde::de::DeserializeOwned>(
        &self,
        command: &str,
    ) -> Result<T, crate::UtError> {
        if !self.ok {
            return Err(crate::UtError::Rejected {
                command: command.to_owned(),
                error: self.error.clone().unwrap_or_default(),
            });
        }
        let v = if self.result.is_null() {
            Value::Object(Default::default())
        } else {
            self.result.clone()
        };
        serde_json::from_value(v)
            .map_err(|e| crate::UtError::Protocol(format!("result of {command}: {e}")))
    }
}

/// Anything an adapter may write on one line.
#[derive(Debug, Clone, PartialEq)]
pub enum AdapterMessage {
    /// An answer to a request.
    Response(Response),
    /// An unsolicited event.
    Event(Event),
}

impl Serialize for AdapterMessage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            AdapterMessage::Response(r) => r.serialize(s),
            AdapterMessage::Event(e) => e.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for AdapterMessage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let v = Value::deserialize(d)?;
        let obj = v
            .as_object()
            .ok_or_else(|| D::Error::custom("not a JSON object"))?;
        if obj.contains_key("event") {
            Event::deserialize(v)
                .map(AdapterMessage::Event)
                .map_err(D::Error::custom)
        } else if obj.contains_key("id") {
            Response::deserialize(v)
                .map(AdapterMessage::Response)
                .map_err(D::Error::custom)
        } else {
            Err(D::Error::custom(
                "neither a response (no \"id\") nor an event (no \"event\")",
            ))
        }
    }
}

impl AdapterMessage {
    /// Decodes one adapter line (without its newline; a trailing CR is allowed).
    pub fn from_line(line: &str) -> Result<AdapterMessage, serde_json::Error> {
        serde_json::from_str(line.trim_end_matches('\r'))
    }

    /// Encodes as one line, newline included.
    pub fn to_line(&self) -> String {
        // Serialising these types cannot fail: all map keys are strings.
        let mut s = serde_json::to_string(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

impl Request {
    /// Encodes as one line, newline included.
    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Decodes one harness line (what an adapter written in Rust would call).
    pub fn from_line(line: &str) -> Result<Request, serde_json::Error> {
        serde_json::from_str(line.trim_end_matches('\r'))
    }
}

/// The JSON Schema (draft-07) of protocol version 1: `definitions` holds every message type;
/// the root accepts any line (a request, a response or an event).
pub fn protocol_schema() -> Value {
    let settings = schemars::generate::SchemaSettings::draft07();
    let mut gen = settings.into_generator();
    let request = gen.subschema_for::<Request>();
    let response = gen.subschema_for::<Response>();
    let event = gen.subschema_for::<EventLine>();
    // Result payloads are referenced from the docs, not from the envelopes.
    gen.subschema_for::<crate::command::HelloResult>();
    gen.subschema_for::<crate::command::SessionResult>();
    gen.subschema_for::<crate::command::MessageResult>();
    gen.subschema_for::<crate::command::TransferResult>();
    let definitions = gen.take_definitions(true);
    serde_json::json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://example.invalid/cpmconf/upper-tester/v1.schema.json",
        "title": "cpmconf upper-tester protocol",
        "description": "One JSON object per line. Harness -> adapter: Request. Adapter -> harness: Response or EventLine. Unknown event names must be ignored by receivers.",
        "x-protocol-version": PROTOCOL_VERSION,
        "anyOf": [request, response, event],
        "definitions": definitions,
    })
}
