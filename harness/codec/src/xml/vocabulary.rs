//! What a [`select`](super::select) path may name: the elements and attributes of the five
//! documents this codec reads, from their schemas, so that a scenario's misspelt path is refused
//! before a run instead of silently matching nothing (an `expect_none` that can never match
//! passes whatever the client sends).

/// One document: its root, each element's children by the element's local name (a name that
/// appears in several places may have several rows), and the attributes its elements may carry.
struct Document {
    root: &'static str,
    where_defined: &'static str,
    children: &'static [(&'static str, &'static [&'static str])],
    attributes: &'static [&'static str],
}

const STATUS: &[&str] = &["status"];

/// RFC 5438 9 (the `status` values of all three notifications together).
const IMDN: Document = Document {
    root: "imdn",
    where_defined: "RFC 5438",
    children: &[
        (
            "imdn",
            &[
                "message-id",
                "datetime",
                "recipient-uri",
                "original-recipient-uri",
                "subject",
                "delivery-notification",
                "display-notification",
                "processing-notification",
            ],
        ),
        ("delivery-notification", STATUS),
        ("display-notification", STATUS),
        ("processing-notification", STATUS),
        (
            "status",
            &[
                "delivered",
                "failed",
                "forbidden",
                "error",
                "displayed",
                "processed",
                "stored",
            ],
        ),
    ],
    attributes: &[],
};

/// RFC 3994 4.
const IS_COMPOSING: Document = Document {
    root: "isComposing",
    where_defined: "RFC 3994",
    children: &[(
        "isComposing",
        &["state", "lastactive", "contenttype", "refresh"],
    )],
    attributes: &[],
};

const ENTRIES: &[&str] = &["entry"];

/// The children of a conference (RFC 4575 5.1), the root's and those of a sidebar by value.
const CONFERENCE_TYPE: &[&str] = &[
    "conference-description",
    "host-info",
    "conference-state",
    "users",
    "sidebars-by-ref",
    "sidebars-by-val",
];
const WHEN: &[&str] = &["when", "reason", "by"];

/// RFC 4575 5 (an `entry` takes the children of every list it appears in).
const CONFERENCE_INFO: Document = Document {
    root: "conference-info",
    where_defined: "RFC 4575",
    children: &[
        ("conference-info", CONFERENCE_TYPE),
        (
            "conference-description",
            &[
                "display-text",
                "subject",
                "free-text",
                "keywords",
                "conf-uris",
                "service-uris",
                "maximum-user-count",
                "available-media",
            ],
        ),
        ("host-info", &["display-text", "web-page", "uris"]),
        ("conference-state", &["user-count", "active", "locked"]),
        ("conf-uris", ENTRIES),
        ("service-uris", ENTRIES),
        ("uris", ENTRIES),
        ("available-media", ENTRIES),
        ("associated-aors", ENTRIES),
        ("roles", ENTRIES),
        ("sidebars-by-ref", ENTRIES),
        ("sidebars-by-val", ENTRIES),
        // An entry of a URI list or of available-media.
        (
            "entry",
            &[
                "uri",
                "display-text",
                "purpose",
                "modified",
                "type",
                "status",
                "label",
            ],
        ),
        // An entry of sidebars-by-val is a whole conference.
        ("entry", CONFERENCE_TYPE),
        ("modified", WHEN),
        ("users", &["user"]),
        (
            "user",
            &[
                "display-text",
                "associated-aors",
                "roles",
                "languages",
                "cascaded-focus",
                "endpoint",
            ],
        ),
        (
            "endpoint",
            &[
                "display-text",
                "referred",
                "status",
                "joining-method",
                "joining-info",
                "disconnection-method",
                "disconnection-info",
                "media",
                "call-info",
            ],
        ),
        ("referred", WHEN),
        ("joining-info", WHEN),
        ("disconnection-info", WHEN),
        (
            "media",
            &["display-text", "type", "label", "src-id", "status"],
        ),
        ("call-info", &["sip"]),
        ("sip", &["display-text", "call-id", "from-tag", "to-tag"]),
    ],
    attributes: &["entity", "state", "version", "id", "label"],
};

const LIST_CHILDREN: &[&str] = &["display-name", "list", "external", "entry", "entry-ref"];

/// RFC 4826 3.2, with RFC 5364's copy control attributes.
const RESOURCE_LISTS: Document = Document {
    root: "resource-lists",
    where_defined: "RFC 4826 and RFC 5364",
    children: &[
        ("resource-lists", &["list"]),
        ("list", LIST_CHILDREN),
        ("entry", &["display-name"]),
        ("entry-ref", &["display-name"]),
        ("external", &["display-name"]),
    ],
    attributes: &[
        "name",
        "uri",
        "ref",
        "anchor",
        "lang",
        "copyControl",
        "anonymize",
        "count",
    ],
};

/// RFC 3680 5.4, with RFC 5628's GRUU elements.
const REGINFO: Document = Document {
    root: "reginfo",
    where_defined: "RFC 3680 and RFC 5628",
    children: &[
        ("reginfo", &["registration"]),
        ("registration", &["contact"]),
        (
            "contact",
            &[
                "uri",
                "display-name",
                "unknown-param",
                "pub-gruu",
                "temp-gruu",
            ],
        ),
    ],
    attributes: &[
        "version",
        "state",
        "aor",
        "id",
        "event",
        "duration-registered",
        "expires",
        "retry-after",
        "q",
        "callid",
        "cseq",
        "name",
        "uri",
        "first-cseq",
        "lang",
    ],
};

const DOCUMENTS: [&Document; 5] = [
    &IMDN,
    &IS_COMPOSING,
    &CONFERENCE_INFO,
    &RESOURCE_LISTS,
    &REGINFO,
];

/// Why a path names nothing any of the known documents can hold: the step at fault and what
/// was expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathProblem(pub String);

impl std::fmt::Display for PathProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a [`select`](super::select) path against the schema of the document its first step
/// names. A `*` step stands for any element (past one, the path is not checked further, as what
/// it matches is not known); `@name` may only be the last step.
pub fn check_path(path: &str) -> Result<(), PathProblem> {
    let steps: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let Some((first, rest)) = steps.split_first() else {
        return Err(PathProblem("an empty path".into()));
    };
    if let Some(i) = steps[..steps.len() - 1]
        .iter()
        .position(|s| s.starts_with('@'))
    {
        return Err(PathProblem(format!(
            "`{}` is an attribute: it can only be the last step",
            steps[i]
        )));
    }
    if *first == "*" {
        return Ok(());
    }
    let Some(doc) = DOCUMENTS.iter().find(|d| d.root == *first) else {
        let roots: Vec<&str> = DOCUMENTS.iter().map(|d| d.root).collect();
        return Err(PathProblem(format!(
            "`{first}` is not the root of a document the matcher knows: expected one of {} (or `*`)",
            roots.join(", ")
        )));
    };
    let mut parent = *first;
    for step in rest {
        if *step == "*" {
            return Ok(());
        }
        if let Some(attr) = step.strip_prefix('@') {
            if doc.attributes.contains(&attr) {
                return Ok(());
            }
            return Err(PathProblem(format!(
                "`@{attr}` is not an attribute in the `{}` document ({}): expected one of {}",
                doc.root,
                doc.where_defined,
                if doc.attributes.is_empty() {
                    "none".to_string()
                } else {
                    doc.attributes
                        .iter()
                        .map(|a| format!("@{a}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            )));
        }
        // An element may have several rows (the same name in several places): any counts.
        let children: Vec<&str> = doc
            .children
            .iter()
            .filter(|(p, _)| *p == parent)
            .flat_map(|(_, c)| c.iter().copied())
            .collect();
        if !children.contains(step) {
            return Err(PathProblem(format!(
                "`{step}` is not a child of `{parent}` in the `{}` document ({}): expected {} (or `*` for an element outside the schema)",
                doc.root,
                doc.where_defined,
                if children.is_empty() {
                    format!("no element under `{parent}`, only its text or an attribute")
                } else {
                    format!("one of {}", children.join(", "))
                }
            )));
        }
        parent = step;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::imdn_id("imdn/message-id")]
    #[case::imdn_status("imdn/delivery-notification/status/delivered")]
    #[case::imdn_status_any("imdn/display-notification/status/*")]
    #[case::root_text("isComposing")]
    #[case::composing("isComposing/state")]
    #[case::conference_user("conference-info/users/user/@entity")]
    #[case::conference_endpoint("conference-info/users/user/endpoint/status")]
    #[case::conference_version("conference-info/@version")]
    #[case::media_label("conference-info/conference-description/available-media/entry/@label")]
    #[case::sidebar_by_val("conference-info/sidebars-by-val/entry/users/user/@entity")]
    #[case::lists("resource-lists/list/entry/@uri")]
    #[case::copy_control("resource-lists/list/entry/@copyControl")]
    #[case::reginfo("reginfo/registration/contact/uri")]
    #[case::gruu("reginfo/registration/contact/pub-gruu/@uri")]
    #[case::any_root("*/whatever/@x")]
    #[case::wildcard_then_anything("imdn/*/x-extension")]
    fn paths_the_schemas_allow(#[case] path: &str) {
        assert_eq!(check_path(path), Ok(()));
    }

    #[rstest]
    #[case::misspelt_child("imdn/mesage-id", "`mesage-id` is not a child of `imdn`")]
    #[case::wrong_parent("imdn/status/delivered", "`status` is not a child of `imdn`")]
    #[case::misspelt_status(
        "imdn/delivery-notification/status/deliverd",
        "`deliverd` is not a child of `status`"
    )]
    #[case::leaf_has_no_children("isComposing/state/x", "no element under `state`")]
    #[case::unknown_root("imdnn/message-id", "`imdnn` is not the root")]
    #[case::attribute_midway("resource-lists/@x/list", "only be the last step")]
    #[case::unknown_attribute("resource-lists/list/entry/@url", "`@url` is not an attribute")]
    #[case::case_matters("iscomposing/state", "`iscomposing` is not the root")]
    #[case::empty("/", "an empty path")]
    fn paths_no_document_holds(#[case] path: &str, #[case] says: &str) {
        let e = check_path(path).expect_err(path);
        assert!(e.0.contains(says), "{path}: {e}");
    }
}
