//! isComposing bodies (RFC 3994 section 4, `application/im-iscomposing+xml`).

use super::tree::{self, esc, push_opt};
use crate::DecodeError;

/// The isComposing XML namespace (RFC 3994 section 4).
pub const NS: &str = "urn:ietf:params:xml:ns:im-iscomposing";
/// Rule cited by every isComposing body error.
pub const RULE: &str = "rfc3994/iscomposing-xml";

/// The composing state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// The user is composing.
    Active,
    /// The user is not composing.
    Idle,
}

impl State {
    /// The text of `<state>`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Active => "active",
            State::Idle => "idle",
        }
    }
}

/// An isComposing body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IsComposing {
    /// `<state>`.
    pub state: State,
    /// `<lastactive>` (a dateTime).
    pub lastactive: Option<String>,
    /// `<contenttype>`.
    pub contenttype: Option<String>,
    /// `<refresh>` in seconds.
    pub refresh: Option<u32>,
}

impl IsComposing {
    /// A body with only the state.
    pub fn new(state: State) -> IsComposing {
        IsComposing {
            state,
            lastactive: None,
            contenttype: None,
            refresh: None,
        }
    }

    /// Decodes a body; see [`parse`].
    pub fn parse(bytes: &[u8]) -> Result<IsComposing, DecodeError> {
        parse(bytes)
    }

    /// Encodes the body with the isComposing namespace as default namespace.
    pub fn to_xml(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n");
        out.push_str(&format!("<isComposing xmlns=\"{NS}\">"));
        out.push_str(&format!("<state>{}</state>", self.state.as_str()));
        push_opt(&mut out, "lastactive", &self.lastactive);
        push_opt(&mut out, "contenttype", &self.contenttype);
        if let Some(r) = self.refresh {
            out.push_str(&format!("<refresh>{}</refresh>", esc(&r.to_string())));
        }
        out.push_str("</isComposing>\r\n");
        out
    }
}

/// Decodes an isComposing body: root `<isComposing>`, mandatory `<state>` of `active` or `idle`,
/// optional `<lastactive>`, `<contenttype>`, `<refresh>` (a positive integer).
pub fn parse(bytes: &[u8]) -> Result<IsComposing, DecodeError> {
    let root = tree::parse(bytes, RULE)?;
    tree::expect_root(&root, NS, "isComposing", RULE)?;
    // RFC 3994 section 4: <state> is mandatory, "active" or "idle".
    let state_el = root
        .child(NS, "state")
        .ok_or_else(|| DecodeError::new(root.offset, RULE, "a <state> element"))?;
    let state = match state_el.text.as_str() {
        "active" => State::Active,
        "idle" => State::Idle,
        _ => {
            return Err(DecodeError::new(
                state_el.offset,
                RULE,
                "state `active` or `idle`",
            ))
        }
    };
    let refresh = match root.child(NS, "refresh") {
        None => None,
        Some(el) => Some(
            el.text
                .parse::<u32>()
                .ok()
                .filter(|v| *v > 0)
                .ok_or_else(|| {
                    DecodeError::new(el.offset, RULE, "a positive integer in <refresh>")
                })?,
        ),
    };
    Ok(IsComposing {
        state,
        lastactive: root.child_text(NS, "lastactive"),
        contenttype: root.child_text(NS, "contenttype"),
        refresh,
    })
}
