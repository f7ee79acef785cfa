//! A small namespace-resolved element tree built with quick-xml, shared by the typed XML bodies.
//!
//! Each element keeps its namespace URN (resolved from whatever prefix or default namespace the
//! document used), its local name, its attributes (also resolved), its children and its text, and
//! the byte offset of its start tag so that typed decoders can report where a rule is broken.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use quick_xml::XmlVersion;

use crate::DecodeError;

/// Deepest element nesting accepted; deeper input is a [`DecodeError`] (bounded recursion).
pub const MAX_DEPTH: usize = 64;
/// Most elements accepted in one document.
pub const MAX_ELEMENTS: usize = 100_000;

/// One attribute with its namespace resolved (`None` for an unprefixed attribute).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// Namespace URN of a prefixed attribute.
    pub ns: Option<String>,
    /// Local name.
    pub name: String,
    /// Unescaped value.
    pub value: String,
}

/// One element with its namespace resolved.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// Namespace URN (`None` when unbound).
    pub ns: Option<String>,
    /// Local name (prefix removed).
    pub name: String,
    /// Attributes in document order (namespace declarations excluded).
    pub attrs: Vec<Attr>,
    /// Child elements in order.
    pub children: Vec<Element>,
    /// Concatenated text and CDATA directly inside the element, trimmed.
    pub text: String,
    /// Byte offset of the start tag.
    pub offset: usize,
}

impl Element {
    /// `true` when the element is `name` in namespace `ns`.
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.name == name && self.ns.as_deref() == Some(ns)
    }

    /// The first child `name` in namespace `ns`.
    pub fn child(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    /// Every child `name` in namespace `ns`.
    pub fn children_named<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(ns, name))
    }

    /// Text of the first child `name` in namespace `ns`.
    pub fn child_text(&self, ns: &str, name: &str) -> Option<String> {
        self.child(ns, name).map(|c| c.text.clone())
    }

    /// Value of the unprefixed attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_none() && a.name == name)
            .map(|a| a.value.as_str())
    }

    /// Value of the attribute `name` in namespace `ns`.
    pub fn attr_ns(&self, ns: &str, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.as_deref() == Some(ns) && a.name == name)
            .map(|a| a.value.as_str())
    }
}

fn resolved(r: ResolveResult<'_>) -> Result<Option<String>, String> {
    match r {
        ResolveResult::Bound(ns) => Ok(Some(ns.as_ref().to_owned())),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(p) => Err(p),
    }
}

fn open(
    reader: &NsReader<&[u8]>,
    e: &quick_xml::events::BytesStart<'_>,
    offset: usize,
    rule: &'static str,
) -> Result<Element, DecodeError> {
    let (rr, _) = reader.resolver().resolve_element(e.name());
    let ns = resolved(rr).map_err(|p| {
        DecodeError::new(
            offset,
            rule,
            format!("a declared namespace prefix, not `{p}`"),
        )
    })?;
    let name = e.local_name().as_ref().to_owned();
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| {
            DecodeError::new(offset, rule, format!("a well-formed attribute ({err})"))
        })?;
        let key = a.key;
        if key.as_ref() == "xmlns" || key.as_ref().starts_with("xmlns:") {
            continue;
        }
        let (arr, local) = reader.resolver().resolve_attribute(key);
        let ans = resolved(arr).map_err(|p| {
            DecodeError::new(
                offset,
                rule,
                format!("a declared attribute prefix, not `{p}`"),
            )
        })?;
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|err| DecodeError::new(offset, rule, format!("an attribute value ({err})")))?
            .into_owned();
        attrs.push(Attr {
            ns: ans,
            name: local.as_ref().to_owned(),
            value,
        });
    }
    Ok(Element {
        ns,
        name,
        attrs,
        children: Vec::new(),
        text: String::new(),
        offset,
    })
}

/// Parses a whole document into its root element. `rule` is cited in every error; the offset is
/// quick-xml's buffer position where reading failed.
pub fn parse(buf: &[u8], rule: &'static str) -> Result<Element, DecodeError> {
    let mut reader = NsReader::from_reader(buf);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let before = reader.buffer_position() as usize;
        let ev = match reader.read_event() {
            Ok(ev) => ev,
            Err(e) => {
                return Err(DecodeError::new(
                    reader.buffer_position() as usize,
                    rule,
                    format!("well-formed XML ({e})"),
                ))
            }
        };
        let pos = reader.buffer_position() as usize;
        match ev {
            Event::Start(e) | Event::Empty(e) if root.is_some() => {
                let _ = e;
                return Err(DecodeError::new(before, rule, "a single root element"));
            }
            Event::Start(ref e) => {
                count += 1;
                if stack.len() >= MAX_DEPTH || count > MAX_ELEMENTS {
                    return Err(DecodeError::new(
                        before,
                        "limits/xml-depth",
                        format!("at most {MAX_DEPTH} nested and {MAX_ELEMENTS} elements"),
                    ));
                }
                let el = open(&reader, e, before, rule)?;
                stack.push(el);
            }
            Event::Empty(ref e) => {
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(DecodeError::new(
                        before,
                        "limits/xml-depth",
                        format!("at most {MAX_ELEMENTS} elements"),
                    ));
                }
                let el = open(&reader, e, before, rule)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let Some(mut el) = stack.pop() else {
                    return Err(DecodeError::new(
                        before,
                        rule,
                        "a start tag before an end tag",
                    ));
                };
                el.text = el.text.trim().to_owned();
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            // quick-xml hands text and each entity or character reference as separate events.
            ev @ (Event::Text(_) | Event::GeneralRef(_)) => {
                let text = match ev {
                    Event::GeneralRef(r) => resolve_reference(&r).map_err(|e| {
                        DecodeError::new(before, rule, format!("well-formed text ({e})"))
                    })?,
                    Event::Text(t) => t.xml10_content().into_owned(),
                    _ => String::new(),
                };
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&text),
                    None => {
                        if !text.trim().is_empty() {
                            return Err(DecodeError::new(
                                before,
                                rule,
                                "markup, not text, outside the root element",
                            ));
                        }
                    }
                }
            }
            Event::CData(c) => {
                let text = c.xml10_content().into_owned();
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&text),
                    None => {
                        return Err(DecodeError::new(
                            before,
                            rule,
                            "markup, not CDATA, outside the root element",
                        ))
                    }
                }
            }
            Event::Eof => {
                if !stack.is_empty() {
                    return Err(DecodeError::new(
                        pos,
                        rule,
                        "the end tag of every open element",
                    ));
                }
                return root.ok_or_else(|| DecodeError::new(pos, rule, "a root element"));
            }
            _ => {}
        }
    }
}

/// The text an entity or character reference in element content stands for: the five predefined
/// entities and numeric character references (no DTD entities: the CPM bodies declare none).
fn resolve_reference(r: &quick_xml::events::BytesRef<'_>) -> Result<String, String> {
    match r.resolve_char_ref().map_err(|e| e.to_string())? {
        Some(c) => Ok(c.to_string()),
        None => quick_xml::escape::resolve_predefined_entity(r)
            .map(str::to_owned)
            .ok_or_else(|| format!("unknown entity `&{};`", &**r)),
    }
}

/// Escapes text or an attribute value for writing.
pub fn esc(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

/// Appends `<name>text</name>` when `value` is set.
pub fn push_opt(out: &mut String, name: &str, value: &Option<String>) {
    if let Some(v) = value {
        out.push_str(&format!("<{name}>{}</{name}>", esc(v)));
    }
}

/// The document's root must be `name` in `ns`; otherwise an error at its offset.
pub fn expect_root(
    root: &Element,
    ns: &str,
    name: &str,
    rule: &'static str,
) -> Result<(), DecodeError> {
    if root.is(ns, name) {
        Ok(())
    } else {
        Err(DecodeError::new(
            root.offset,
            rule,
            format!("root element <{name}> in namespace {ns}"),
        ))
    }
}
