//! Conference state bodies (RFC 4575 section 5, `application/conference-info+xml`): the
//! conference, its description, users, their roles and endpoints.

use super::tree::{self, esc, push_opt, Element};
use crate::DecodeError;

/// The conference-info XML namespace (RFC 4575 section 5).
pub const NS: &str = "urn:ietf:params:xml:ns:conference-info";
/// Rule cited by every conference-info body error.
pub const RULE: &str = "rfc4575/conference-info-xml";

/// The `state` attribute (RFC 4575 section 5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ElementState {
    /// A full document or element.
    Full,
    /// A partial update.
    Partial,
    /// The element was removed.
    Deleted,
}

impl ElementState {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            ElementState::Full => "full",
            ElementState::Partial => "partial",
            ElementState::Deleted => "deleted",
        }
    }

    fn parse(el: &Element) -> Result<Option<ElementState>, DecodeError> {
        match el.attr("state") {
            None => Ok(None),
            Some("full") => Ok(Some(ElementState::Full)),
            Some("partial") => Ok(Some(ElementState::Partial)),
            Some("deleted") => Ok(Some(ElementState::Deleted)),
            Some(_) => Err(DecodeError::new(
                el.offset,
                RULE,
                "state `full`, `partial` or `deleted`",
            )),
        }
    }
}

/// `<conference-description>` (RFC 4575 section 5.3), the commonly used parts.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Description {
    /// `<display-text>`.
    pub display_text: Option<String>,
    /// `<subject>`.
    pub subject: Option<String>,
    /// `<free-text>`.
    pub free_text: Option<String>,
    /// `<maximum-user-count>`.
    pub maximum_user_count: Option<u32>,
}

/// `<joining-info>` or `<disconnection-info>` (RFC 4575 section 5.6.4/5.6.6).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ExecutionInfo {
    /// `<when>`.
    pub when: Option<String>,
    /// `<reason>`.
    pub reason: Option<String>,
    /// `<by>`.
    pub by: Option<String>,
}

/// `<endpoint>` (RFC 4575 section 5.6).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Endpoint {
    /// `entity` attribute.
    pub entity: Option<String>,
    /// `state` attribute.
    pub state: Option<ElementState>,
    /// `<display-text>`.
    pub display_text: Option<String>,
    /// `<status>`: connected, disconnected, on-hold, muted-via-focus, pending, alerting,
    /// dialing-in, dialing-out, disconnecting.
    pub status: Option<String>,
    /// `<joining-method>`.
    pub joining_method: Option<String>,
    /// `<joining-info>`.
    pub joining_info: Option<ExecutionInfo>,
    /// `<disconnection-method>`.
    pub disconnection_method: Option<String>,
    /// `<disconnection-info>`.
    pub disconnection_info: Option<ExecutionInfo>,
}

/// `<user>` (RFC 4575 section 5.6).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct User {
    /// `entity` attribute.
    pub entity: Option<String>,
    /// `state` attribute.
    pub state: Option<ElementState>,
    /// `<display-text>`.
    pub display_text: Option<String>,
    /// `<roles>/<entry>`.
    pub roles: Vec<String>,
    /// `<endpoint>` elements.
    pub endpoints: Vec<Endpoint>,
}

/// A conference-info document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConferenceInfo {
    /// `entity` attribute: the conference URI.
    pub entity: String,
    /// `state` attribute (default `full`).
    pub state: ElementState,
    /// `version` attribute.
    pub version: Option<u32>,
    /// `<conference-description>`.
    pub description: Option<Description>,
    /// `<conference-state>/<user-count>`.
    pub user_count: Option<u32>,
    /// `<users>/<user>` elements.
    pub users: Vec<User>,
}

impl ConferenceInfo {
    /// A full document for `entity` at `version`, with no users.
    pub fn new(entity: impl Into<String>, version: u32) -> ConferenceInfo {
        ConferenceInfo {
            entity: entity.into(),
            state: ElementState::Full,
            version: Some(version),
            description: None,
            user_count: None,
            users: Vec::new(),
        }
    }

    /// Decodes a document; see [`parse`].
    pub fn parse(bytes: &[u8]) -> Result<ConferenceInfo, DecodeError> {
        parse(bytes)
    }

    /// The user whose entity is `entity`.
    pub fn user(&self, entity: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.entity.as_deref() == Some(entity))
    }

    /// Encodes the document with the conference-info namespace as default namespace.
    pub fn to_xml(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n");
        out.push_str(&format!(
            "<conference-info xmlns=\"{NS}\" entity=\"{}\" state=\"{}\"",
            esc(&self.entity),
            self.state.as_str()
        ));
        if let Some(v) = self.version {
            out.push_str(&format!(" version=\"{v}\""));
        }
        out.push('>');
        if let Some(d) = &self.description {
            out.push_str("<conference-description>");
            push_opt(&mut out, "display-text", &d.display_text);
            push_opt(&mut out, "subject", &d.subject);
            push_opt(&mut out, "free-text", &d.free_text);
            push_opt(
                &mut out,
                "maximum-user-count",
                &d.maximum_user_count.map(|v| v.to_string()),
            );
            out.push_str("</conference-description>");
        }
        if let Some(c) = self.user_count {
            out.push_str(&format!(
                "<conference-state><user-count>{c}</user-count></conference-state>"
            ));
        }
        out.push_str("<users>");
        for u in &self.users {
            out.push_str("<user");
            attrs(&mut out, &u.entity, u.state);
            out.push('>');
            push_opt(&mut out, "display-text", &u.display_text);
            if !u.roles.is_empty() {
                out.push_str("<roles>");
                for r in &u.roles {
                    out.push_str(&format!("<entry>{}</entry>", esc(r)));
                }
                out.push_str("</roles>");
            }
            for e in &u.endpoints {
                out.push_str("<endpoint");
                attrs(&mut out, &e.entity, e.state);
                out.push('>');
                push_opt(&mut out, "display-text", &e.display_text);
                push_opt(&mut out, "status", &e.status);
                push_opt(&mut out, "joining-method", &e.joining_method);
                write_info(&mut out, "joining-info", &e.joining_info);
                push_opt(&mut out, "disconnection-method", &e.disconnection_method);
                write_info(&mut out, "disconnection-info", &e.disconnection_info);
                out.push_str("</endpoint>");
            }
            out.push_str("</user>");
        }
        out.push_str("</users></conference-info>\r\n");
        out
    }
}

fn attrs(out: &mut String, entity: &Option<String>, state: Option<ElementState>) {
    if let Some(e) = entity {
        out.push_str(&format!(" entity=\"{}\"", esc(e)));
    }
    if let Some(s) = state {
        out.push_str(&format!(" state=\"{}\"", s.as_str()));
    }
}

fn write_info(out: &mut String, name: &str, info: &Option<ExecutionInfo>) {
    if let Some(i) = info {
        out.push_str(&format!("<{name}>"));
        push_opt(out, "when", &i.when);
        push_opt(out, "reason", &i.reason);
        push_opt(out, "by", &i.by);
        out.push_str(&format!("</{name}>"));
    }
}

fn number(el: Option<&Element>, what: &str) -> Result<Option<u32>, DecodeError> {
    match el {
        None => Ok(None),
        Some(el) => el.text.parse::<u32>().map(Some).map_err(|_| {
            DecodeError::new(el.offset, RULE, format!("an unsigned integer in <{what}>"))
        }),
    }
}

fn info(el: Option<&Element>) -> Option<ExecutionInfo> {
    el.map(|i| ExecutionInfo {
        when: i.child_text(NS, "when"),
        reason: i.child_text(NS, "reason"),
        by: i.child_text(NS, "by"),
    })
}

/// Decodes a conference-info document (RFC 4575 section 5): root `<conference-info>` with a
/// mandatory `entity`, `state` (default `full`) and `version`; unknown elements are ignored.
pub fn parse(bytes: &[u8]) -> Result<ConferenceInfo, DecodeError> {
    let root = tree::parse(bytes, RULE)?;
    tree::expect_root(&root, NS, "conference-info", RULE)?;
    // RFC 4575 5.1: the entity attribute is mandatory.
    let entity = root
        .attr("entity")
        .ok_or_else(|| DecodeError::new(root.offset, RULE, "an entity attribute"))?
        .to_owned();
    let state = ElementState::parse(&root)?.unwrap_or(ElementState::Full);
    let version = match root.attr("version") {
        None => None,
        Some(v) => Some(v.parse::<u32>().map_err(|_| {
            DecodeError::new(root.offset, RULE, "an unsigned integer version attribute")
        })?),
    };
    let description = match root.child(NS, "conference-description") {
        None => None,
        Some(d) => Some(Description {
            display_text: d.child_text(NS, "display-text"),
            subject: d.child_text(NS, "subject"),
            free_text: d.child_text(NS, "free-text"),
            maximum_user_count: number(d.child(NS, "maximum-user-count"), "maximum-user-count")?,
        }),
    };
    let user_count = match root.child(NS, "conference-state") {
        None => None,
        Some(s) => number(s.child(NS, "user-count"), "user-count")?,
    };
    let mut users = Vec::new();
    if let Some(us) = root.child(NS, "users") {
        for u in us.children_named(NS, "user") {
            let mut endpoints = Vec::new();
            for e in u.children_named(NS, "endpoint") {
                endpoints.push(Endpoint {
                    entity: e.attr("entity").map(str::to_owned),
                    state: ElementState::parse(e)?,
                    display_text: e.child_text(NS, "display-text"),
                    status: e.child_text(NS, "status"),
                    joining_method: e.child_text(NS, "joining-method"),
                    joining_info: info(e.child(NS, "joining-info")),
                    disconnection_method: e.child_text(NS, "disconnection-method"),
                    disconnection_info: info(e.child(NS, "disconnection-info")),
                });
            }
            users.push(User {
                entity: u.attr("entity").map(str::to_owned),
                state: ElementState::parse(u)?,
                display_text: u.child_text(NS, "display-text"),
                roles: u
                    .child(NS, "roles")
                    .map(|r| {
                        r.children_named(NS, "entry")
                            .map(|e| e.text.clone())
                            .collect()
                    })
                    .unwrap_or_default(),
                endpoints,
            });
        }
    }
    Ok(ConferenceInfo {
        entity,
        state,
        version,
        description,
        user_count,
        users,
    })
}
