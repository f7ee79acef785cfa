//! CPIM From/To/cc values (RFC 3862 section 3.3 `[Formal-name] "<" URI ">"`).

use std::fmt;

/// An optional display name and a URI in angle brackets.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NameAddr {
    /// The display name, unquoted (`None` when absent).
    pub display: Option<String>,
    /// The URI between `<` and `>`.
    pub uri: String,
}

impl NameAddr {
    /// A value with only a URI.
    pub fn uri(uri: impl Into<String>) -> NameAddr {
        NameAddr {
            display: None,
            uri: uri.into(),
        }
    }

    /// A value with a display name and a URI.
    pub fn named(display: impl Into<String>, uri: impl Into<String>) -> NameAddr {
        NameAddr {
            display: Some(display.into()),
            uri: uri.into(),
        }
    }

    /// Parses `Display Name <uri>`, `"Quoted \"Name\"" <uri>` or `<uri>`; `None` when there is
    /// no `<uri>` part or text follows the `>`.
    pub fn parse(value: &str) -> Option<NameAddr> {
        let v = value.trim();
        let (display, rest) = if let Some(q) = v.strip_prefix('"') {
            let mut name = String::new();
            let mut chars = q.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            name.push(n);
                        }
                    }
                    '"' => {
                        end = Some(i);
                        break;
                    }
                    c => name.push(c),
                }
            }
            let end = end?;
            (Some(name), q.get(end + 1..)?.trim_start())
        } else {
            let lt = v.find('<')?;
            let d = v.get(..lt)?.trim();
            (
                if d.is_empty() {
                    None
                } else {
                    Some(d.to_owned())
                },
                v.get(lt..)?,
            )
        };
        let inner = rest.strip_prefix('<')?;
        let gt = inner.find('>')?;
        if !inner.get(gt + 1..)?.trim().is_empty() {
            return None;
        }
        Some(NameAddr {
            display,
            uri: inner.get(..gt)?.to_owned(),
        })
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.display {
            None => write!(f, "<{}>", self.uri),
            Some(d) => {
                let plain = !d.is_empty()
                    && d.chars()
                        .all(|c| c.is_ascii_alphanumeric() || " -.!%*_+`'~".contains(c))
                    && !d.starts_with(' ')
                    && !d.ends_with(' ');
                if plain {
                    write!(f, "{d} <{}>", self.uri)
                } else {
                    let q = d.replace('\\', "\\\\").replace('"', "\\\"");
                    write!(f, "\"{q}\" <{}>", self.uri)
                }
            }
        }
    }
}
