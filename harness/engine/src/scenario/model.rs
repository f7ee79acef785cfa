//! The typed scenario model (language v1): metadata, `given` variables and the steps.
//!
//! Every struct refuses unknown keys, so a misspelt key is an error with its position rather than a
//! silently ignored line. The semantics of each field live in `docs/scenario-language.md`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::duration::DurationSpec;
use super::matcher_spec::{Matcher, StatusSpec};

/// Version of the scenario language this model implements.
pub const LANGUAGE_VERSION: u32 = 1;

/// One scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Optional language version; only 1 is understood.
    #[serde(default)]
    pub version: Option<u32>,
    /// Stable scenario id (unique across the suite).
    pub id: String,
    /// CR clause the scenario belongs to, e.g. `7.3.1.5.1`.
    pub clause: String,
    /// CR change number.
    #[serde(default)]
    pub change: Option<u32>,
    /// One-line description of the behaviour.
    pub title: String,
    /// Requirement ids the scenario covers (catalogue ids).
    #[serde(default)]
    pub covers: Vec<String>,
    /// Client capabilities needed; a client without one gets `not-applicable`.
    #[serde(default)]
    pub requires: Vec<String>,
    /// Free tags for selection.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Free-text note for reviewers.
    #[serde(default)]
    pub note: Option<String>,
    /// The common precondition the runner establishes before the steps.
    #[serde(default)]
    pub setup: Setup,
    /// Variables: literals, generated values (`$uuid`, `$token`), nested maps.
    #[serde(default)]
    pub given: BTreeMap<String, Given>,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// The common precondition: `hello` and `configure` always; `register` (waiting for the
/// `registered` event) unless a scenario that tests registration itself turns it off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Setup {
    /// Register the client before the steps (default `true`).
    #[serde(default = "yes")]
    pub register: bool,
    /// Longest conference subscription the Controlling Function grants to the SUBSCRIBE that
    /// creates it, in seconds (default: the network's, 120, which every refresh gets). A
    /// scenario about refreshing the subscription sets a short one, so the refresh comes within
    /// seconds instead of a minute, once.
    #[serde(default)]
    pub conference_expires: Option<u32>,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            register: true,
            conference_expires: None,
        }
    }
}

fn yes() -> bool {
    true
}

/// A `given` value: a scalar, a generator, or a nested map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Given {
    /// A string; `$uuid` and `$token` are generated from the run's seed.
    Text(String),
    /// An integer literal.
    Integer(i64),
    /// A boolean literal.
    Bool(bool),
    /// A nested map, reached as `${outer.inner}`.
    Map(BTreeMap<String, Given>),
}

/// One step: a map with exactly one key naming its kind.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// An upper-tester command to the client under test.
    Do(Command),
    /// A message a simulated role sends to the client.
    Send(Box<Send>),
    /// A message the client must send.
    Expect(Box<Expect>),
    /// A message the client must NOT send within a window (a SHALL NOT).
    ExpectNone(Box<Expect>),
    /// Expectations met in any order (SIP and MSRP interleave); all must be met.
    Parallel(Vec<GroupItem>),
    /// Same meaning as `parallel`; reads better for several messages of one protocol.
    AnyOrder(Vec<GroupItem>),
    /// An upper-tester event the client must report.
    WaitFor(Box<WaitFor>),
}

/// An item of a `parallel` / `any_order` group.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum GroupItem {
    /// A message the client must send.
    Expect(Box<Expect>),
    /// A message the client must not send (checked over the group's window).
    ExpectNone(Box<Expect>),
    /// An upper-tester event.
    WaitFor(Box<WaitFor>),
}

/// An upper-tester command: `{ name: { args } }` with exactly one name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Command(pub BTreeMap<String, serde_json::Value>);

impl Command {
    /// The command name and its arguments, if the map holds exactly one entry.
    pub fn single(&self) -> Option<(&str, &serde_json::Value)> {
        let mut it = self.0.iter();
        match (it.next(), it.next()) {
            (Some((k, v)), None) => Some((k.as_str(), v)),
            _ => None,
        }
    }
}

/// The start line of an MSRP message in a step: a method (`SEND`, `REPORT`) or a status code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum MsrpStart {
    /// A response status code (`200`, `413`).
    Status(u16),
    /// A request method (`SEND`, `REPORT`, `NICKNAME`).
    Method(String),
}

impl MsrpStart {
    /// `true` when this is the request method `name` (case-insensitive, as MSRP methods are
    /// written in steps: `SEND`, `send`).
    pub fn is_method(&self, name: &str) -> bool {
        matches!(self, MsrpStart::Method(m) if m.eq_ignore_ascii_case(name))
    }
}

/// A message a simulated role sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Send {
    /// The simulated role that sends (`cf`, `pf`, `core`, `b`, ...).
    #[serde(rename = "as")]
    pub role: String,
    /// A SIP request method.
    #[serde(default)]
    pub sip: Option<String>,
    /// A SIP response status code (with `answers`).
    #[serde(default)]
    pub status: Option<u16>,
    /// Reason phrase of a response (default: the standard one).
    #[serde(default)]
    pub reason: Option<String>,
    /// With a provisional `status` to an INVITE: a CANCEL of that INVITE is then answered 200
    /// but the INVITE gets no 487, so a later step's final response still goes out, as when it
    /// crosses the CANCEL on the wire (RFC 3261 9.2).
    #[serde(default)]
    pub keep_on_cancel: bool,
    /// With a 2xx `status` to an INVITE an earlier step answered with it: the role sends that
    /// 2xx again, as its UAS core does while no ACK arrives (RFC 3261 13.3.1.4); the client
    /// must ACK each 2xx it receives (13.2.2.4).
    #[serde(default)]
    pub again: bool,
    /// An MSRP request method or response status.
    #[serde(default)]
    pub msrp: Option<MsrpStart>,
    /// With `msrp: SEND`: the largest body per SEND chunk, in bytes (default 2048); the role
    /// sends the message in chunks with their Byte-Range (RFC 4975 7.1, 9).
    #[serde(default)]
    pub chunk_size: Option<usize>,
    /// With `msrp: SEND`: the role sends only this many chunks and stops, the message
    /// unfinished (the last chunk sent ends with `+`; no `$`, no `#`), as when the sender's
    /// side is lost mid-transfer (CR 7.4.5 "interrupted").
    #[serde(default)]
    pub stop_after_chunks: Option<usize>,
    /// With `msrp: SEND`: the body is the whole message, and the role sends it from this byte
    /// on (1-based), each chunk with its Byte-Range in the whole (`17-32/32`), as the sender of a
    /// resumed file transfer does (RFC 5547 9, CR 7.4.5.1 item 5).
    #[serde(default)]
    pub from_byte: Option<usize>,
    /// The saved request this response answers (or `last_received`).
    #[serde(default)]
    pub answers: Option<String>,
    /// The saved message whose dialog (SIP) or session (MSRP) carries this one.
    #[serde(default)]
    pub in_dialog: Option<String>,
    /// Request-URI (default: the client's contact).
    #[serde(default)]
    pub request_uri: Option<String>,
    /// Contact header value (e.g. `"${group.uri};isfocus"`).
    #[serde(default)]
    pub contact: Option<String>,
    /// Extra or overriding header fields.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Feature tags to put in Accept-Contact / Contact (ICSI short names or URNs).
    #[serde(default)]
    pub feature_tags: Option<FeatureTags>,
    /// SDP to build.
    #[serde(default)]
    pub sdp: Option<SdpSend>,
    /// A CPIM body to build.
    #[serde(default)]
    pub cpim: Option<CpimSend>,
    /// An XML body to build: `{ <kind>: { field: value } }` (imdn, iscomposing,
    /// conference-info, resource-lists, reginfo).
    #[serde(default)]
    pub xml: Option<BTreeMap<String, BTreeMap<String, serde_json::Value>>>,
    /// A literal body.
    #[serde(default)]
    pub body: Option<BodySend>,
    /// Name to save the sent message under.
    #[serde(default)]
    pub save: Option<String>,
}

/// Feature tags by header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FeatureTags {
    /// ICSIs in Accept-Contact.
    #[serde(default)]
    pub accept_contact: Option<Vec<String>>,
    /// ICSIs in Contact.
    #[serde(default)]
    pub contact: Option<Vec<String>>,
}

/// What kind of MSRP media an SDP describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MediaKind {
    /// A chat session (message/cpim).
    Chat,
    /// A file transfer (RFC 5547).
    File,
    /// A Large Message Mode message.
    Largemsg,
}

/// SDP a role sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SdpSend {
    /// Build an offer of this kind.
    #[serde(default)]
    pub offer: Option<MediaKind>,
    /// Build an answer of this kind (to the saved offer in `answers`).
    #[serde(default)]
    pub answer: Option<MediaKind>,
    /// `sendrecv`, `sendonly`, `recvonly`, `inactive`.
    #[serde(default)]
    pub direction: Option<String>,
    /// `active`, `passive`, `actpass`.
    #[serde(default)]
    pub setup: Option<String>,
    /// a=accept-types.
    #[serde(default)]
    pub accept_types: Option<Vec<String>>,
    /// a=accept-wrapped-types.
    #[serde(default)]
    pub accept_wrapped_types: Option<Vec<String>>,
    /// a=file-selector (RFC 5547): the attribute value, or `{name, type, size, hash}`.
    #[serde(default)]
    pub file_selector: Option<FileSelectorSend>,
    /// a=file-range (RFC 5547).
    #[serde(default)]
    pub file_range: Option<String>,
    /// a=file-transfer-id (RFC 5547).
    #[serde(default)]
    pub file_transfer_id: Option<String>,
    /// a=file-disposition (RFC 5547).
    #[serde(default)]
    pub file_disposition: Option<String>,
}

/// The `file-selector` of a file offer a role sends (RFC 5547 5): written as the attribute
/// value (`name:"a.jpg" type:image/jpeg size:50000`) or as a map, kept as the attribute text
/// (with `${...}` references still in it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "FileSelectorForm", into = "String")]
pub struct FileSelectorSend(pub String);

impl std::ops::Deref for FileSelectorSend {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<FileSelectorSend> for String {
    fn from(f: FileSelectorSend) -> String {
        f.0
    }
}

impl JsonSchema for FileSelectorSend {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FileSelectorSend".into()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        FileSelectorForm::json_schema(g)
    }
}

/// The two ways to write a `file-selector` a role sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum FileSelectorForm {
    /// The attribute value as written on the wire.
    Text(String),
    /// The selectors one by one.
    Fields(FileSelectorFields),
}

/// `file-selector` as a map (RFC 5547 5: every selector is optional, at least one is given).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileSelectorFields {
    /// `name:"..."`.
    #[serde(default)]
    pub name: Option<String>,
    /// `type:type/subtype`.
    #[serde(default, rename = "type")]
    pub file_type: Option<String>,
    /// `size:<octets>` (a number or a `${...}` text).
    #[serde(default)]
    pub size: Option<SizeText>,
    /// `hash:<algorithm>:<XX:XX:...>`, written without the `hash:` prefix (`sha-1:72:24:...`).
    #[serde(default)]
    pub hash: Option<String>,
}

/// A number or a text (a `${...}` reference).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum SizeText {
    /// A number.
    Number(u64),
    /// A text.
    Text(String),
}

impl From<FileSelectorForm> for FileSelectorSend {
    fn from(f: FileSelectorForm) -> FileSelectorSend {
        match f {
            FileSelectorForm::Text(t) => FileSelectorSend(t),
            FileSelectorForm::Fields(x) => {
                let mut parts = Vec::new();
                if let Some(n) = &x.name {
                    parts.push(format!("name:\"{n}\""));
                }
                if let Some(t) = &x.file_type {
                    parts.push(format!("type:{t}"));
                }
                match &x.size {
                    Some(SizeText::Number(n)) => parts.push(format!("size:{n}")),
                    Some(SizeText::Text(t)) => parts.push(format!("size:{t}")),
                    None => {}
                }
                if let Some(h) = &x.hash {
                    parts.push(format!("hash:{h}"));
                }
                FileSelectorSend(parts.join(" "))
            }
        }
    }
}

/// A CPIM body a role sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CpimSend {
    /// CPIM From.
    #[serde(default)]
    pub from: Option<String>,
    /// CPIM To.
    #[serde(default)]
    pub to: Option<String>,
    /// Further CPIM headers (`imdn.Message-ID`, `imdn.Disposition-Notification`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Content-Type of the payload (default text/plain).
    #[serde(default)]
    pub content_type: Option<String>,
    /// Payload text.
    #[serde(default)]
    pub text: Option<String>,
}

/// A literal body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BodySend {
    /// Content-Type.
    pub content_type: String,
    /// Text content.
    #[serde(default)]
    pub text: Option<String>,
    /// A file under fixtures/ to send.
    #[serde(default)]
    pub file: Option<String>,
}

/// A message the client must (or, in `expect_none`, must not) send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Who sends: `client` (the default).
    #[serde(default = "client_role")]
    pub from: String,
    /// The role it is sent to (any role when absent).
    #[serde(default)]
    pub to: Option<String>,
    /// A SIP request method.
    #[serde(default)]
    pub sip: Option<String>,
    /// A SIP response status (`200` or a class `2xx`).
    #[serde(default)]
    pub status: Option<StatusSpec>,
    /// An MSRP method or status.
    #[serde(default)]
    pub msrp: Option<MsrpStart>,
    /// The saved request this response must answer (`last_sent` for the latest sent one).
    #[serde(default)]
    pub answers: Option<String>,
    /// The saved message whose dialog must carry this one (same Call-ID).
    #[serde(default)]
    pub in_dialog: Option<String>,
    /// Request-URI.
    #[serde(default)]
    pub request_uri: Option<Matcher>,
    /// Header matchers (SIP or MSRP headers, by the message's protocol).
    #[serde(default)]
    pub headers: BTreeMap<String, Matcher>,
    /// Decoded feature tags that must be present.
    #[serde(default)]
    pub feature_tags: Option<FeatureTags>,
    /// SDP checks.
    #[serde(default)]
    pub sdp: Option<SdpExpect>,
    /// CPIM header matchers (names as written, or prefix-resolved like `imdn.Message-ID`);
    /// the key `Content` matches the payload text.
    #[serde(default)]
    pub cpim: Option<BTreeMap<String, Matcher>>,
    /// XML path matchers over the XML body (`imdn/message-id: "${id}"`).
    #[serde(default)]
    pub xml: Option<BTreeMap<String, Matcher>>,
    /// Matcher over the whole body as text.
    #[serde(default)]
    pub body: Option<Matcher>,
    /// The Byte-Range of an MSRP chunk, compared as numbers (RFC 4975 9).
    #[serde(default)]
    pub byte_range: Option<ByteRangeExpect>,
    /// With `msrp: SEND`: only the chunk that completes its message (end-line flag `$`) is a
    /// candidate; the chunks before it, however the client cuts the message, are left alone.
    #[serde(default)]
    pub last_chunk: bool,
    /// The saved MSRP chunk of an interrupted transfer: the message's SDP `a=file-range` must
    /// resume it (CR 7.4.5): start between (the last byte of the prefix the simulated role
    /// acknowledged with 2xx) + 1 and (the last byte it received) + 1, stop the message's size
    /// or `*`. Judged from what the role saw on that chunk's MSRP session; a role that
    /// acknowledged no byte, or the whole message, is not the situation (`inconclusive`).
    #[serde(default)]
    pub resumes: Option<String>,
    /// CR 7.4.5.2 item 1 (L262): the CPIM From of the MSRP message carries the client's device
    /// identifier as the profile's reading names it (`readings.device_id_in_cpim_from`), or
    /// under any allowed reading when it names none: `gruu` (the From is the client's CPM
    /// Address with `gr=<instance id>`) or `instance` (the From is the CPM Address, no `gr` of
    /// another device, and the saved SIP message named here, the client's 200 OK setting up the
    /// session, carries `+sip.instance` with the profile's instance id on its Contact). A
    /// message without a CPIM body has no CPIM From: the step is `inconclusive`.
    #[serde(default)]
    pub cpim_from_device: Option<String>,
    /// With `status` and `answers`: final statuses the CR allows the client to answer here
    /// instead (`[488]`, a file whose bytes it discarded, CR 7.4.5.2 ii). Such an answer ends the
    /// scenario `inconclusive` (the situation under test was not reached), not failed; any
    /// other status still fails. Not in groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inconclusive_on: Vec<u16>,
    /// Name to save the matched message under.
    #[serde(default)]
    pub save: Option<String>,
    /// Requirement ids this step proves.
    #[serde(default)]
    pub verifies: Vec<String>,
    /// For a step that verifies several requirements: the conditions each rests on
    /// (`{7.3.1.5/contribution-id: [headers.Contribution-ID]}`), so a failed condition blames
    /// only the requirements it is evidence for. A verified requirement without an entry rests on
    /// every condition of the step.
    #[serde(default)]
    pub evidence: BTreeMap<String, Vec<String>>,
    /// Deadline (expect) or window (expect_none), in wall time, scaled by the global factor.
    #[serde(default)]
    pub within: Option<DurationSpec>,
    /// Instead of `within`, a bound in protocol time, for a message a timer of the client's
    /// own sends (a refresh within the granted Expires, leaving after an idle period): on the
    /// client's clock (the profile's `clock`) and scaled by the global factor. With `in_dialog`
    /// naming a request of the client's, counted from the role's final response to it when that
    /// went out after the step started (the judge's `granted_deadline`).
    #[serde(default)]
    pub timer: Option<DurationSpec>,
    /// `true`: the message may also be one the client sent before the step started (before the
    /// latest `do` or `send` step). By default an `expect` takes only what the client sent after
    /// the latest stimulus: what it sent before cannot be its answer.
    #[serde(default)]
    pub earlier: bool,
    /// Ordering: the message must come after the message saved under this name (one the client
    /// sent, taken by an earlier `expect`, or one a role sent in a `send` step). A candidate that
    /// came before it fails the step's requirements with the finding `order`.
    #[serde(default)]
    pub after: Option<String>,
}

impl Expect {
    /// Its deadline or window as written: `within` in wall time, `timer` in protocol time on
    /// the client's clock, both scaled by the global factor; `None` when neither is written.
    pub fn bound(&self, timing: crate::runner::Timing) -> Option<std::time::Duration> {
        match (self.within, self.timer) {
            (Some(w), _) => Some(w.scaled(timing)),
            (None, Some(t)) => Some(timing.window(t.0)),
            (None, None) => None,
        }
    }
}

fn client_role() -> String {
    "client".to_string()
}

/// A number in a step: an integer, or a string with `${...}` references that must substitute
/// to one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum NumberSpec {
    /// A literal.
    Int(u64),
    /// A template (`"${resume.sdp.file-range.start}"`).
    Text(String),
}

/// Byte-Range checks of an MSRP chunk (RFC 4975 9: `Byte-Range: start-end/total`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ByteRangeExpect {
    /// The first byte of the chunk.
    #[serde(default)]
    pub start: Option<NumberSpec>,
    /// The size of the whole message; a total of `*` (unknown, RFC 4975 9) is accepted too.
    #[serde(default)]
    pub total: Option<NumberSpec>,
    /// `true`: the chunk does not complete the message (its last byte is below the total, or
    /// with a total of `*` its end-line flag is `+`); `false`: it does.
    #[serde(default)]
    pub partial: Option<bool>,
    /// `true`: the chunk's end-line flag is `#`, the sender aborted the message with it
    /// (RFC 4975 7.1.5); `false`: it is `+` or `$`.
    #[serde(default)]
    pub aborted: Option<bool>,
}

/// SDP checks of an expectation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SdpExpect {
    /// `m=` protocol (e.g. `TCP/MSRP`, `TCP/TLS/MSRP`) of the first message media.
    #[serde(default)]
    pub proto: Option<Matcher>,
    /// Effective direction (`sendrecv` when no direction attribute is present).
    #[serde(default)]
    pub direction: Option<String>,
    /// The effective direction must be one of these (where the CR allows several answers, e.g.
    /// 7.3.12: `recvonly` or `inactive` to a `sendonly` offer).
    #[serde(default)]
    pub direction_one_of: Option<Vec<String>>,
    /// a=setup value.
    #[serde(default)]
    pub setup: Option<Matcher>,
    /// Types a=accept-types must contain.
    #[serde(default)]
    pub accept_types: Option<Vec<String>>,
    /// Types a=accept-wrapped-types must contain.
    #[serde(default)]
    pub accept_wrapped_types: Option<Vec<String>>,
    /// a=file-selector.
    #[serde(default)]
    pub file_selector: Option<Matcher>,
    /// a=file-range.
    #[serde(default)]
    pub file_range: Option<Matcher>,
    /// a=file-transfer-id.
    #[serde(default)]
    pub file_transfer_id: Option<Matcher>,
    /// a=file-disposition.
    #[serde(default)]
    pub file_disposition: Option<Matcher>,
    /// a=path.
    #[serde(default)]
    pub path: Option<Matcher>,
}

/// An upper-tester event the client must report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitFor {
    /// Event name (`message_received`, `session_ended`, ...).
    pub event: String,
    /// Matchers over the event's fields.
    #[serde(default)]
    pub fields: BTreeMap<String, Matcher>,
    /// Requirement ids this step proves.
    #[serde(default)]
    pub verifies: Vec<String>,
    /// The fields each verified requirement rests on (`{id: [fields.text]}`), as for `expect`.
    #[serde(default)]
    pub evidence: BTreeMap<String, Vec<String>>,
    /// Deadline.
    #[serde(default)]
    pub within: Option<DurationSpec>,
}

impl Step {
    /// The requirement ids this step verifies (a group: all its items).
    pub fn verifies(&self) -> Vec<String> {
        match self {
            Step::Expect(e) | Step::ExpectNone(e) => e.verifies.clone(),
            Step::WaitFor(w) => w.verifies.clone(),
            Step::Parallel(items) | Step::AnyOrder(items) => items
                .iter()
                .flat_map(|i| match i {
                    GroupItem::Expect(e) | GroupItem::ExpectNone(e) => e.verifies.clone(),
                    GroupItem::WaitFor(w) => w.verifies.clone(),
                })
                .collect(),
            Step::Do(_) | Step::Send(_) => Vec::new(),
        }
    }
}

impl Scenario {
    /// Every requirement id the scenario's steps verify (its verdicts come from those steps), in
    /// step order, without repeats.
    pub fn verifies(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for step in &self.steps {
            for id in step.verifies() {
                if !out.contains(&id) {
                    out.push(id);
                }
            }
        }
        out
    }

    /// The capabilities it `requires` that `has` says the client lacks (the scenario is then
    /// not applicable to that client).
    pub fn missing_capabilities(&self, has: impl Fn(&str) -> bool) -> Vec<String> {
        self.requires.iter().filter(|c| !has(c)).cloned().collect()
    }

    /// The requirement ids it covers or verifies (what `--requirement` selects by).
    pub fn covers_or_verifies(&self) -> Vec<String> {
        let mut v = self.covers.clone();
        for id in self.verifies() {
            if !v.contains(&id) {
                v.push(id);
            }
        }
        v
    }
}
