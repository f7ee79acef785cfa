//! URI lists (RFC 4826 section 3, `application/resource-lists+xml`) with the copyControl
//! extension of RFC 5366 section 4 (`cp:copyControl`, `cp:anonymize`).

use super::tree::{self, esc, Element};
use crate::DecodeError;

/// The resource-lists XML namespace (RFC 4826 section 3.2).
pub const NS: &str = "urn:ietf:params:xml:ns:resource-lists";
/// The copyControl XML namespace (RFC 5366 section 4).
pub const NS_COPY_CONTROL: &str = "urn:ietf:params:xml:ns:copycontrol";
/// Rule cited by every resource-lists body error.
pub const RULE: &str = "rfc4826/resource-lists-xml";

/// The `cp:copyControl` attribute (RFC 5366 section 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CopyControl {
    /// A primary recipient.
    To,
    /// A carbon copy recipient.
    Cc,
    /// A blind carbon copy recipient.
    Bcc,
}

impl CopyControl {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            CopyControl::To => "to",
            CopyControl::Cc => "cc",
            CopyControl::Bcc => "bcc",
        }
    }
}

/// One `<entry>`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    /// `uri` attribute.
    pub uri: String,
    /// `<display-name>`.
    pub display_name: Option<String>,
    /// `cp:copyControl`.
    pub copy_control: Option<CopyControl>,
    /// `cp:anonymize`.
    pub anonymize: Option<bool>,
}

impl Entry {
    /// An entry with only a URI.
    pub fn new(uri: impl Into<String>) -> Entry {
        Entry {
            uri: uri.into(),
            display_name: None,
            copy_control: None,
            anonymize: None,
        }
    }
}

/// One `<list>` (nested lists are flattened into `entries` in document order, with their
/// `name` kept only for the top-level list).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct List {
    /// `name` attribute.
    pub name: Option<String>,
    /// `<display-name>` of the list.
    pub display_name: Option<String>,
    /// The entries.
    pub entries: Vec<Entry>,
}

/// A resource-lists document.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ResourceLists {
    /// The top-level lists.
    pub lists: Vec<List>,
}

impl ResourceLists {
    /// One unnamed list holding `entries`.
    pub fn single(entries: Vec<Entry>) -> ResourceLists {
        ResourceLists {
            lists: vec![List {
                name: None,
                display_name: None,
                entries,
            }],
        }
    }

    /// Decodes a document; see [`parse`].
    pub fn parse(bytes: &[u8]) -> Result<ResourceLists, DecodeError> {
        parse(bytes)
    }

    /// Every entry of every list, in order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.lists.iter().flat_map(|l| l.entries.iter())
    }

    /// Encodes the document: resource-lists as default namespace, copyControl bound to `cp`.
    pub fn to_xml(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n");
        out.push_str(&format!(
            "<resource-lists xmlns=\"{NS}\" xmlns:cp=\"{NS_COPY_CONTROL}\">"
        ));
        for l in &self.lists {
            out.push_str("<list");
            if let Some(n) = &l.name {
                out.push_str(&format!(" name=\"{}\"", esc(n)));
            }
            out.push('>');
            if let Some(d) = &l.display_name {
                out.push_str(&format!("<display-name>{}</display-name>", esc(d)));
            }
            for e in &l.entries {
                out.push_str(&format!("<entry uri=\"{}\"", esc(&e.uri)));
                if let Some(c) = e.copy_control {
                    out.push_str(&format!(" cp:copyControl=\"{}\"", c.as_str()));
                }
                if let Some(a) = e.anonymize {
                    out.push_str(&format!(" cp:anonymize=\"{a}\""));
                }
                match &e.display_name {
                    Some(d) => {
                        out.push_str(&format!(">{}</entry>", tag("display-name", d)));
                    }
                    None => out.push_str("/>"),
                }
            }
            out.push_str("</list>");
        }
        out.push_str("</resource-lists>\r\n");
        out
    }
}

fn tag(name: &str, text: &str) -> String {
    format!("<{name}>{}</{name}>", esc(text))
}

fn entries(list: &Element, out: &mut Vec<Entry>) -> Result<(), DecodeError> {
    for c in &list.children {
        if c.is(NS, "entry") {
            // RFC 4826 3.2: the uri attribute of an entry is mandatory.
            let uri = c
                .attr("uri")
                .ok_or_else(|| DecodeError::new(c.offset, RULE, "a uri attribute on <entry>"))?;
            let copy_control = match c.attr_ns(NS_COPY_CONTROL, "copyControl") {
                None => None,
                Some("to") => Some(CopyControl::To),
                Some("cc") => Some(CopyControl::Cc),
                Some("bcc") => Some(CopyControl::Bcc),
                Some(_) => {
                    return Err(DecodeError::new(
                        c.offset,
                        "rfc5366/4 copycontrol",
                        "copyControl `to`, `cc` or `bcc`",
                    ))
                }
            };
            let anonymize = match c.attr_ns(NS_COPY_CONTROL, "anonymize") {
                None => None,
                Some("true" | "1") => Some(true),
                Some("false" | "0") => Some(false),
                Some(_) => {
                    return Err(DecodeError::new(
                        c.offset,
                        "rfc5366/4 copycontrol",
                        "anonymize as an xs:boolean",
                    ))
                }
            };
            out.push(Entry {
                uri: uri.to_owned(),
                display_name: c.child_text(NS, "display-name"),
                copy_control,
                anonymize,
            });
        } else if c.is(NS, "list") {
            entries(c, out)?;
        }
    }
    Ok(())
}

/// Decodes a resource-lists document: root `<resource-lists>`, `<list>` elements with `<entry
/// uri=...>` (copyControl attributes resolved by namespace, whatever their prefix).
pub fn parse(bytes: &[u8]) -> Result<ResourceLists, DecodeError> {
    let root = tree::parse(bytes, RULE)?;
    tree::expect_root(&root, NS, "resource-lists", RULE)?;
    let mut lists = Vec::new();
    for l in root.children_named(NS, "list") {
        let mut es = Vec::new();
        entries(l, &mut es)?;
        lists.push(List {
            name: l.attr("name").map(str::to_owned),
            display_name: l.child_text(NS, "display-name"),
            entries: es,
        });
    }
    Ok(ResourceLists { lists })
}
