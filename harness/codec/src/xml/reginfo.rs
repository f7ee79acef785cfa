//! Registration state bodies (RFC 3680 section 5, `application/reginfo+xml`).

use super::tree::{self, esc, Element};
use crate::DecodeError;

/// The reginfo XML namespace (RFC 3680 section 5.3).
pub const NS: &str = "urn:ietf:params:xml:ns:reginfo";
/// Rule cited by every reginfo body error.
pub const RULE: &str = "rfc3680/reginfo-xml";

/// One `<contact>` (RFC 3680 section 5.1).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Contact {
    /// `id` attribute.
    pub id: String,
    /// `state` attribute: active or terminated.
    pub state: String,
    /// `event` attribute: registered, created, refreshed, shortened, expired, deactivated,
    /// probation, unregistered, rejected.
    pub event: String,
    /// `expires` attribute.
    pub expires: Option<u32>,
    /// `<uri>`.
    pub uri: String,
}

/// One `<registration>`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Registration {
    /// `aor` attribute.
    pub aor: String,
    /// `id` attribute.
    pub id: String,
    /// `state` attribute: init, active or terminated.
    pub state: String,
    /// The contacts.
    pub contacts: Vec<Contact>,
}

/// A reginfo document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reginfo {
    /// `version` attribute.
    pub version: u32,
    /// `state` attribute: full or partial.
    pub state: String,
    /// The registrations.
    pub registrations: Vec<Registration>,
}

impl Reginfo {
    /// Decodes a document; see [`parse`].
    pub fn parse(bytes: &[u8]) -> Result<Reginfo, DecodeError> {
        parse(bytes)
    }

    /// Encodes the document with the reginfo namespace as default namespace.
    pub fn to_xml(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\"?>\r\n");
        out.push_str(&format!(
            "<reginfo xmlns=\"{NS}\" version=\"{}\" state=\"{}\">",
            self.version,
            esc(&self.state)
        ));
        for r in &self.registrations {
            out.push_str(&format!(
                "<registration aor=\"{}\" id=\"{}\" state=\"{}\">",
                esc(&r.aor),
                esc(&r.id),
                esc(&r.state)
            ));
            for c in &r.contacts {
                out.push_str(&format!(
                    "<contact id=\"{}\" state=\"{}\" event=\"{}\"",
                    esc(&c.id),
                    esc(&c.state),
                    esc(&c.event)
                ));
                if let Some(e) = c.expires {
                    out.push_str(&format!(" expires=\"{e}\""));
                }
                out.push_str(&format!("><uri>{}</uri></contact>", esc(&c.uri)));
            }
            out.push_str("</registration>");
        }
        out.push_str("</reginfo>\r\n");
        out
    }
}

fn attr(el: &Element, name: &str) -> Result<String, DecodeError> {
    el.attr(name).map(str::to_owned).ok_or_else(|| {
        DecodeError::new(
            el.offset,
            RULE,
            format!("a {name} attribute on <{}>", el.name),
        )
    })
}

/// Decodes a reginfo document (RFC 3680 section 5.3): root `<reginfo version state>`,
/// `<registration aor id state>` and `<contact id state event [expires]>` with a `<uri>`.
pub fn parse(bytes: &[u8]) -> Result<Reginfo, DecodeError> {
    let root = tree::parse(bytes, RULE)?;
    tree::expect_root(&root, NS, "reginfo", RULE)?;
    let version = attr(&root, "version")?
        .parse::<u32>()
        .map_err(|_| DecodeError::new(root.offset, RULE, "an unsigned integer version"))?;
    let state = attr(&root, "state")?;
    let mut registrations = Vec::new();
    for r in root.children_named(NS, "registration") {
        let mut contacts = Vec::new();
        for c in r.children_named(NS, "contact") {
            let expires = match c.attr("expires") {
                None => None,
                Some(v) => Some(v.parse::<u32>().map_err(|_| {
                    DecodeError::new(c.offset, RULE, "an unsigned integer expires attribute")
                })?),
            };
            contacts.push(Contact {
                id: attr(c, "id")?,
                state: attr(c, "state")?,
                event: attr(c, "event")?,
                expires,
                uri: c
                    .child_text(NS, "uri")
                    .ok_or_else(|| DecodeError::new(c.offset, RULE, "a <uri> in <contact>"))?,
            });
        }
        registrations.push(Registration {
            aor: attr(r, "aor")?,
            id: attr(r, "id")?,
            state: attr(r, "state")?,
            contacts,
        });
    }
    Ok(Reginfo {
        version,
        state,
        registrations,
    })
}
