//! XML bodies: IMDN, isComposing, conference-info, resource-lists, reginfo.
//!
//! Each body has its own file with a typed value, `parse(&[u8]) -> Result<T, DecodeError>` and
//! `to_xml()`. Namespaces are resolved properly: any prefix bound to the right URN, or the default
//! namespace, is accepted. [`select`] extracts values by a simple path for scenario matchers.

pub mod conference_info;
pub mod imdn;
pub mod iscomposing;
pub mod reginfo;
pub mod resource_lists;
pub mod tree;
pub mod vocabulary;

use crate::DecodeError;
use tree::Element;
pub use vocabulary::{check_path, PathProblem};

const RULE_SELECT: &str = "xml/select";

/// Extracts values from an XML document by a simple path, for scenario matchers.
///
/// The path is a `/`-separated list of element local names (namespace-agnostic; prefixes in the
/// document are ignored), starting with the root element's name:
///
/// - `imdn/message-id` → the text of every `<message-id>` child of the root `<imdn>`;
/// - `imdn/delivery-notification/status/*` → the local names of every child of `<status>`
///   (e.g. `["delivered"]`);
/// - `conference-info/users/user/@entity` → the `entity` attribute of every user (a last step
///   `@name` selects an attribute by local name);
/// - a step `*` in the middle matches any element name;
/// - a path of only the root name (`isComposing`) gives the root's own text.
///
/// Every match is returned in document order; no match gives an empty vector. Malformed XML is a
/// [`DecodeError`] (rule `xml/select`). [`check_path`] says whether a path can match anything in
/// the documents this module reads.
pub fn select(bytes: &[u8], path: &str) -> Result<Vec<String>, DecodeError> {
    let root = tree::parse(bytes, RULE_SELECT)?;
    let steps: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let Some((first, rest)) = steps.split_first() else {
        return Ok(Vec::new());
    };
    if *first != "*" && *first != root.name {
        return Ok(Vec::new());
    }
    if rest.is_empty() {
        return Ok(vec![root.text.clone()]);
    }
    let mut out = Vec::new();
    walk(&root, rest, &mut out);
    Ok(out)
}

fn walk(el: &Element, steps: &[&str], out: &mut Vec<String>) {
    let Some((step, rest)) = steps.split_first() else {
        return;
    };
    if let Some(attr) = step.strip_prefix('@') {
        if rest.is_empty() {
            out.extend(
                el.attrs
                    .iter()
                    .filter(|a| a.name == attr)
                    .map(|a| a.value.clone()),
            );
        }
        return;
    }
    for child in &el.children {
        if *step != "*" && child.name != *step {
            continue;
        }
        if rest.is_empty() {
            if *step == "*" {
                out.push(child.name.clone());
            } else {
                out.push(child.text.clone());
            }
        } else {
            walk(child, rest, out);
        }
    }
}
