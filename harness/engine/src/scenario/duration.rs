//! Durations written in scenarios (`500ms`, `5s`, `2m`): step deadlines and `expect_none` windows.

use std::fmt;
use std::time::Duration;

use schemars::JsonSchema;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration as written (`500ms`, `5s`, `1.5s`, `2m`); scaled by the run's time factor when used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, JsonSchema)]
#[schemars(with = "String")]
pub struct DurationSpec(pub Duration);

impl DurationSpec {
    /// Parses `<number><unit>` with unit `ms`, `s` or `m`.
    pub fn parse(s: &str) -> Result<DurationSpec, String> {
        let s = s.trim();
        let (num, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
            Some(i) => (s.get(..i).unwrap_or(""), s.get(i..).unwrap_or("")),
            None => (s, ""),
        };
        let n: f64 = num
            .parse()
            .map_err(|_| format!("duration {s:?}: expected a number followed by ms, s or m"))?;
        let secs = match unit {
            "ms" => n / 1000.0,
            "s" => n,
            "m" => n * 60.0,
            _ => {
                return Err(format!(
                    "duration {s:?}: expected a unit ms, s or m after the number"
                ))
            }
        };
        if !secs.is_finite() || !(0.0..=86_400.0).contains(&secs) {
            return Err(format!("duration {s:?}: expected at most one day"));
        }
        Ok(DurationSpec(Duration::from_secs_f64(secs)))
    }

    /// The duration multiplied by the run's time factor.
    pub fn scaled(self, timing: crate::runner::Timing) -> Duration {
        timing.scaled(self.0)
    }
}

impl fmt::Display for DurationSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms % 1000 == 0 {
            write!(f, "{}s", ms / 1000)
        } else {
            write!(f, "{ms}ms")
        }
    }
}

impl Serialize for DurationSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = DurationSpec;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration such as 500ms, 5s or 2m")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationSpec, E> {
        DurationSpec::parse(v).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for DurationSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<DurationSpec, D::Error> {
        d.deserialize_str(DurationVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("500ms", Some(500))]
    #[case("5s", Some(5000))]
    #[case("1.5s", Some(1500))]
    #[case("2m", Some(120_000))]
    #[case("5", None)]
    #[case("fast", None)]
    #[case("5h", None)]
    fn parses(#[case] text: &str, #[case] ms: Option<u128>) {
        assert_eq!(DurationSpec::parse(text).ok().map(|d| d.0.as_millis()), ms);
    }
}
