//! `${...}` references in scenario text and the variable bindings of a run: `given` values
//! flattened to dotted names, with `$uuid` / `$token` drawn from the run's seeded generator.

use std::collections::BTreeMap;

use rand::Rng;

use super::model::Given;

/// One `${...}` reference found in a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The text between `${` and `}`, e.g. `group.uri` or `own_invite.header.Call-ID`.
    pub path: String,
    /// Byte offset of `${` in the template.
    pub offset: usize,
}

impl Reference {
    /// The first dotted segment: a `given` variable, a saved message, or a builtin root.
    pub fn root(&self) -> &str {
        self.path.split('.').next().unwrap_or("")
    }
}

/// Errors in templates and substitution.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `${` without a closing `}`.
    #[error("unterminated reference at byte {offset}: expected `}}` after `${{`")]
    Unterminated {
        /// Offset of `${`.
        offset: usize,
    },
    /// `${}`.
    #[error("empty reference `${{}}` at byte {offset}")]
    Empty {
        /// Offset of `${`.
        offset: usize,
    },
    /// The reference names nothing known at run time.
    #[error("undefined reference `${{{path}}}`")]
    Undefined {
        /// The path.
        path: String,
    },
}

/// Every `${...}` reference of a template, in order. `$${` is a literal `${`.
pub fn references(template: &str) -> Result<Vec<Reference>, TemplateError> {
    let mut out = Vec::new();
    scan(template, |r| {
        out.push(r);
        Ok(String::new())
    })?;
    Ok(out)
}

/// Substitutes every `${...}` with `resolve(path)`.
pub fn interpolate(
    template: &str,
    resolve: &dyn Fn(&str) -> Option<String>,
) -> Result<String, TemplateError> {
    scan(template, |r| {
        resolve(&r.path).ok_or(TemplateError::Undefined { path: r.path })
    })
}

fn scan(
    template: &str,
    mut on_ref: impl FnMut(Reference) -> Result<String, TemplateError>,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    let mut base = 0usize;
    while let Some(i) = rest.find('$') {
        out.push_str(rest.get(..i).unwrap_or(""));
        let after = rest.get(i..).unwrap_or("");
        if after.starts_with("$${") {
            out.push_str("${");
            rest = after.get(3..).unwrap_or("");
            base += i + 3;
        } else if after.starts_with("${") {
            let offset = base + i;
            let body = after.get(2..).unwrap_or("");
            let Some(close) = body.find('}') else {
                return Err(TemplateError::Unterminated { offset });
            };
            let path = body.get(..close).unwrap_or("").trim();
            if path.is_empty() {
                return Err(TemplateError::Empty { offset });
            }
            out.push_str(&on_ref(Reference {
                path: path.to_string(),
                offset,
            })?);
            rest = body.get(close + 1..).unwrap_or("");
            base += i + 2 + close + 1;
        } else {
            out.push('$');
            rest = after.get(1..).unwrap_or("");
            base += i + 1;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Generators a `given` string may name.
pub const GENERATORS: &[&str] = &["$uuid", "$token"];

/// Flat variable bindings of one scenario run: `group.uri` -> `sip:g1@cf.test`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bindings {
    values: BTreeMap<String, String>,
}

impl Bindings {
    /// Binds every `given` value, drawing generated ones from `rng` in key order (deterministic
    /// for a seed). Unknown `$` generators are refused by validation and bound literally here.
    pub fn from_given(given: &BTreeMap<String, Given>, rng: &mut dyn Rng) -> Bindings {
        let mut b = Bindings::default();
        for (k, v) in given {
            b.bind(k, v, rng);
        }
        b
    }

    fn bind(&mut self, name: &str, v: &Given, rng: &mut dyn Rng) {
        match v {
            Given::Text(s) if s == "$uuid" => {
                self.values.insert(name.to_string(), uuid_v4(rng));
            }
            Given::Text(s) if s == "$token" => {
                let mut b = [0u8; 16];
                rng.fill_bytes(&mut b);
                self.values.insert(name.to_string(), hex::encode(b));
            }
            Given::Text(s) => {
                self.values.insert(name.to_string(), s.clone());
            }
            Given::Integer(i) => {
                self.values.insert(name.to_string(), i.to_string());
            }
            Given::Bool(x) => {
                self.values.insert(name.to_string(), x.to_string());
            }
            Given::Map(m) => {
                for (k, inner) in m {
                    self.bind(&format!("{name}.{k}"), inner, rng);
                }
            }
        }
    }

    /// Sets a binding (runner-provided values such as `client.uri`).
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.values.insert(name.into(), value.into());
    }

    /// The value bound to a dotted name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Every binding, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Substitutes `${name}` references from these bindings only.
    pub fn interpolate(&self, template: &str) -> Result<String, TemplateError> {
        interpolate(template, &|p| self.get(p).map(str::to_string))
    }
}

/// Every dotted leaf name a `given` map defines (`group.uri`, `group.conversation`).
pub fn given_names(given: &BTreeMap<String, Given>) -> Vec<String> {
    fn walk(prefix: &str, v: &Given, out: &mut Vec<String>) {
        match v {
            Given::Map(m) => {
                for (k, inner) in m {
                    walk(&format!("{prefix}.{k}"), inner, out);
                }
            }
            _ => out.push(prefix.to_string()),
        }
    }
    let mut out = Vec::new();
    for (k, v) in given {
        walk(k, v, &mut out);
    }
    out
}

/// A random (version 4, RFC 9562) UUID in lower-case text form.
pub fn uuid_v4(rng: &mut dyn Rng) -> String {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        h.get(0..8).unwrap_or(""),
        h.get(8..12).unwrap_or(""),
        h.get(12..16).unwrap_or(""),
        h.get(16..20).unwrap_or(""),
        h.get(20..32).unwrap_or("")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::ChaCha20Rng;
    use rand::SeedableRng;
    use rstest::rstest;

    #[rstest]
    #[case("plain", &[])]
    #[case("${a}", &["a"])]
    #[case("x ${group.uri};isfocus ${b.header.Call-ID}", &["group.uri", "b.header.Call-ID"])]
    #[case("cost $5 and $${literal}", &[])]
    fn finds_references(#[case] t: &str, #[case] paths: &[&str]) {
        let got: Vec<String> = references(t).unwrap().into_iter().map(|r| r.path).collect();
        assert_eq!(got, paths);
    }

    #[test]
    fn unterminated_is_an_error() {
        assert_eq!(
            references("ab ${x").unwrap_err(),
            TemplateError::Unterminated { offset: 3 }
        );
    }

    #[test]
    fn generated_values_follow_the_seed() {
        let given: BTreeMap<String, Given> = serde_yaml::from_str(
            "group: { uri: 'sip:g1@cf.test', conversation: $uuid }\nt: $token\nn: 3\n",
        )
        .unwrap();
        let a = Bindings::from_given(&given, &mut ChaCha20Rng::seed_from_u64(7));
        let b = Bindings::from_given(&given, &mut ChaCha20Rng::seed_from_u64(7));
        let c = Bindings::from_given(&given, &mut ChaCha20Rng::seed_from_u64(8));
        assert_eq!(a, b);
        assert_ne!(a.get("group.conversation"), c.get("group.conversation"));
        let conv = a.get("group.conversation").unwrap();
        assert_eq!(conv.len(), 36);
        assert_eq!(conv.as_bytes()[14], b'4');
        assert_eq!(a.get("t").map(str::len), Some(32));
        assert_eq!(a.get("n"), Some("3"));
        assert_eq!(a.interpolate("<${group.uri}>").unwrap(), "<sip:g1@cf.test>");
        assert!(a.interpolate("${nope}").is_err());
    }
}
