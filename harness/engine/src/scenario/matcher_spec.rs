//! Value matchers written in scenarios: a plain string (equal after `${var}` substitution), or one
//! of `{present: true}`, `{absent: true}`, `{regex: ...}`, `{contains: ...}`, `{equals: ...}`,
//! `{not: ...}`, `{new: true}`.

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// How one observed value is judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Matcher {
    /// Equal to this text (after substitution); numbers and booleans are compared as text.
    Equals(String),
    /// A keyed form.
    Spec(MatcherSpec),
}

/// The keyed form of a matcher; exactly one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatcherSpec {
    /// `{present: true}`: the value exists (any content).
    Present(bool),
    /// `{absent: true}`: the value does not exist.
    Absent(bool),
    /// `{regex: ...}`: the whole value matches the regular expression (anchored).
    Regex(String),
    /// `{contains: ...}`: the value contains this text.
    Contains(String),
    /// `{equals: ...}`: same as the plain form.
    Equals(String),
    /// `{not: ...}`: no occurrence equals this text (after substitution); an absent value
    /// passes (`Expires: {not: "0"}`: a refresh, not an unsubscription, whether or not the header
    /// is there).
    Not(String),
    /// `{new: true}`: a newly generated identifier: present, a token (no white space), and none
    /// of the values the scenario already knows (its `given` values, the runner's values, every
    /// header of every message saved so far).
    New(bool),
}

impl Matcher {
    /// The text templates the matcher holds (for `${var}` validation).
    pub fn templates(&self) -> Vec<&str> {
        match self {
            Matcher::Equals(s)
            | Matcher::Spec(MatcherSpec::Contains(s))
            | Matcher::Spec(MatcherSpec::Not(s))
            | Matcher::Spec(MatcherSpec::Equals(s)) => vec![s.as_str()],
            Matcher::Spec(MatcherSpec::Regex(_))
            | Matcher::Spec(MatcherSpec::Present(_))
            | Matcher::Spec(MatcherSpec::Absent(_))
            | Matcher::Spec(MatcherSpec::New(_)) => Vec::new(),
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Matcher::Equals(s) | Matcher::Spec(MatcherSpec::Equals(s)) => write!(f, "{s:?}"),
            Matcher::Spec(MatcherSpec::Present(true)) => f.write_str("(present)"),
            Matcher::Spec(MatcherSpec::Present(false)) => f.write_str("(absent)"),
            Matcher::Spec(MatcherSpec::Absent(true)) => f.write_str("(absent)"),
            Matcher::Spec(MatcherSpec::Absent(false)) => f.write_str("(present)"),
            Matcher::Spec(MatcherSpec::Regex(r)) => write!(f, "matching /{r}/"),
            Matcher::Spec(MatcherSpec::Contains(s)) => write!(f, "containing {s:?}"),
            Matcher::Spec(MatcherSpec::Not(s)) => write!(f, "anything but {s:?} (or absent)"),
            Matcher::Spec(MatcherSpec::New(true)) => {
                f.write_str("a newly generated value (none the scenario had seen)")
            }
            Matcher::Spec(MatcherSpec::New(false)) => f.write_str("(any value)"),
        }
    }
}

struct MatcherVisitor;

impl<'de> Visitor<'de> for MatcherVisitor {
    type Value = Matcher;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a string, or a map with one of `present: true`, `absent: true`, `regex: ...`, `contains: ...`, `equals: ...`, `not: ...`, `new: true`",
        )
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Matcher, E> {
        Ok(Matcher::Equals(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Matcher, E> {
        Ok(Matcher::Equals(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Matcher, E> {
        Ok(Matcher::Equals(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Matcher, E> {
        Ok(Matcher::Equals(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Matcher, E> {
        Ok(Matcher::Equals(v.to_string()))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Matcher, E> {
        Ok(Matcher::Equals(v.to_string()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Matcher, A::Error> {
        let Some(key) = map.next_key::<String>()? else {
            return Err(de::Error::custom(
                "empty matcher map: expected one of `present`, `absent`, `regex`, `contains`, `equals`, `not`, `new`",
            ));
        };
        let spec = match key.as_str() {
            "present" => MatcherSpec::Present(map.next_value()?),
            "absent" => MatcherSpec::Absent(map.next_value()?),
            "regex" => {
                let r: String = map.next_value()?;
                // `${...}` references are substituted (escaped) before the regex is compiled at
                // run time; here each stands for a literal.
                let probe = super::vars::interpolate(&r, &|_| Some("x".to_string()))
                    .unwrap_or_else(|_| r.clone());
                if let Err(e) = regex::Regex::new(&probe) {
                    return Err(de::Error::custom(format!("invalid regex {r:?}: {e}")));
                }
                MatcherSpec::Regex(r)
            }
            "contains" => MatcherSpec::Contains(map.next_value()?),
            "equals" => MatcherSpec::Equals(map.next_value()?),
            "not" => MatcherSpec::Not(map.next_value()?),
            "new" => MatcherSpec::New(map.next_value()?),
            other => {
                return Err(de::Error::unknown_field(
                    other,
                    &[
                        "present", "absent", "regex", "contains", "equals", "not", "new",
                    ],
                ))
            }
        };
        if let Some(extra) = map.next_key::<String>()? {
            return Err(de::Error::custom(format!(
                "a matcher holds exactly one key; `{extra}` follows `{key}`"
            )));
        }
        Ok(Matcher::Spec(spec))
    }
}

impl<'de> Deserialize<'de> for Matcher {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Matcher, D::Error> {
        d.deserialize_any(MatcherVisitor)
    }
}

/// A SIP status to expect: an exact code (`200`) or a class (`2xx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum StatusSpec {
    /// Exactly this code.
    Code(u16),
    /// Any code of this class (the hundreds digit: 2 for `2xx`).
    Class(#[schemars(with = "String")] StatusClass),
}

/// A status class such as `2xx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusClass(pub u16);

impl Serialize for StatusClass {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}xx", self.0))
    }
}

impl StatusSpec {
    /// `true` when every code the spec accepts is a final failure (300-699): the step awaits
    /// the client declining, and another such code is the same act with another status.
    pub fn is_failure(self) -> bool {
        match self {
            StatusSpec::Code(c) => (300..700).contains(&c),
            StatusSpec::Class(StatusClass(k)) => (3..7).contains(&k),
        }
    }

    /// `true` if `code` satisfies the spec.
    pub fn accepts(self, code: u16) -> bool {
        match self {
            StatusSpec::Code(c) => c == code,
            StatusSpec::Class(StatusClass(k)) => code / 100 == k,
        }
    }
}

impl fmt::Display for StatusSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusSpec::Code(c) => write!(f, "{c}"),
            StatusSpec::Class(StatusClass(k)) => write!(f, "{k}xx"),
        }
    }
}

struct StatusVisitor;

impl Visitor<'_> for StatusVisitor {
    type Value = StatusSpec;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a status code 100..=699 or a class such as `2xx`")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<StatusSpec, E> {
        match u16::try_from(v) {
            Ok(c) if (100..=699).contains(&c) => Ok(StatusSpec::Code(c)),
            _ => Err(E::custom(format!("status {v} is outside 100..=699"))),
        }
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<StatusSpec, E> {
        match u64::try_from(v) {
            Ok(u) => self.visit_u64(u),
            Err(_) => Err(E::custom(format!("status {v} is outside 100..=699"))),
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<StatusSpec, E> {
        let b = v.as_bytes();
        match b {
            [d @ b'1'..=b'6', b'x' | b'X', b'x' | b'X'] => {
                Ok(StatusSpec::Class(StatusClass(u16::from(*d - b'0'))))
            }
            _ => match v.parse::<u64>() {
                Ok(n) => self.visit_u64(n),
                Err(_) => Err(E::custom(format!(
                    "status {v:?}: expected a code such as 200 or a class such as 2xx"
                ))),
            },
        }
    }
}

impl<'de> Deserialize<'de> for StatusSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<StatusSpec, D::Error> {
        d.deserialize_any(StatusVisitor)
    }
}
