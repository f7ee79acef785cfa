//! The requirement catalogue (`scenarios/requirements.yaml`): one entry per normative statement of
//! the CR, with its strength, which decides how a failure weighs on the gate.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The catalogue shipped with the suite, embedded at build time.
pub const DEFAULT_CATALOGUE: &str = include_str!(env!("CPMCONF_CATALOGUE_YAML"));

/// [`DEFAULT_CATALOGUE`] as JSON, converted by the build script (empty if it is not YAML).
const EMBEDDED_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/requirements.json"));

/// Normative strength of a requirement (the CR keyword; MUST is catalogued as SHALL).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
pub enum Strength {
    /// SHALL / MUST: a failure fails the gate.
    #[serde(rename = "SHALL")]
    Shall,
    /// SHALL NOT: a failure fails the gate.
    #[serde(rename = "SHALL NOT")]
    ShallNot,
    /// SHOULD: advisory; fails the gate only with `--strict`.
    #[serde(rename = "SHOULD")]
    Should,
    /// SHOULD NOT: advisory; fails the gate only with `--strict`.
    #[serde(rename = "SHOULD NOT")]
    ShouldNot,
    /// MAY: informational, never fails the gate.
    #[serde(rename = "MAY")]
    May,
}

impl Strength {
    /// The keyword as the CR spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Strength::Shall => "SHALL",
            Strength::ShallNot => "SHALL NOT",
            Strength::Should => "SHOULD",
            Strength::ShouldNot => "SHOULD NOT",
            Strength::May => "MAY",
        }
    }

    /// How a failure of a requirement of this strength weighs on the gate.
    pub fn weight(self, strict: bool) -> Weight {
        match self {
            Strength::Shall | Strength::ShallNot => Weight::Gate,
            Strength::Should | Strength::ShouldNot if strict => Weight::Gate,
            Strength::Should | Strength::ShouldNot => Weight::Advisory,
            Strength::May => Weight::Informational,
        }
    }
}

impl fmt::Display for Strength {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a failed requirement does to the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Weight {
    /// Fails the gate.
    Gate,
    /// Reported, does not fail the gate.
    Advisory,
    /// Reported for information only.
    Informational,
}

/// Where a requirement can be observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Observable {
    /// On the wire (SIP / MSRP traffic).
    Wire,
    /// Through the upper tester (what the client shows its user).
    UpperTester,
    /// Not observable from outside the client (catalogued for completeness).
    NotObservable,
}

/// One normative statement of the CR.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// Stable id, `<clause>/<slug>`.
    pub id: String,
    /// The CR clause, e.g. `7.3.1.5.1`.
    pub clause: String,
    /// The CR change number that introduced the clause.
    pub change: u32,
    /// Normative strength.
    pub strength: Strength,
    /// The triggering situation.
    pub when: String,
    /// What the client must do.
    pub requirement: String,
    /// Where it can be observed.
    pub observable: Observable,
    /// How a test checks it.
    pub check: String,
    /// The test purpose ("Ensure that the IUT ...").
    pub test_purpose: String,
    /// Editorial notes.
    #[serde(default)]
    pub notes: String,
    /// A SHALL the gate weighs as a SHOULD until confirmed (e.g. a normative keyword inside a
    /// NOTE of the CR): its failure is advisory unless `--strict`.
    #[serde(default)]
    pub advisory: bool,
}

/// Errors loading a catalogue.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// The file could not be read.
    #[error("failed to read catalogue {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The YAML does not match the catalogue format.
    #[error("{origin}:{line}:{column}: error: {message}")]
    Parse {
        /// File name (or `<embedded>`).
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What was wrong.
        message: String,
    },
    /// Two entries share an id.
    #[error("{origin}: error: requirement id {id} is defined twice")]
    Duplicate {
        /// File name.
        origin: String,
        /// The id.
        id: String,
    },
}

/// The requirement catalogue, in file order, indexed by id.
#[derive(Debug, Clone)]
pub struct Catalogue {
    entries: Vec<Requirement>,
    index: BTreeMap<String, usize>,
}

impl Catalogue {
    /// The embedded default catalogue: [`DEFAULT_CATALOGUE`], read from the JSON the build
    /// converted it to (1.1 M instructions instead of 23.5 M for parsing its YAML at each
    /// start); the YAML text itself when that JSON does not give a catalogue, so that an error
    /// names its line.
    pub fn embedded() -> Result<Catalogue, CatalogueError> {
        const ORIGIN: &str = "<embedded requirements.yaml>";
        match serde_json::from_str::<Vec<Requirement>>(EMBEDDED_JSON) {
            Ok(entries) => Catalogue::from_entries(entries, ORIGIN),
            Err(_) => Catalogue::parse(DEFAULT_CATALOGUE, ORIGIN),
        }
    }

    /// Loads a catalogue file.
    pub fn load(path: &Path) -> Result<Catalogue, CatalogueError> {
        let text = std::fs::read_to_string(path).map_err(|source| CatalogueError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Catalogue::parse(&text, &path.display().to_string())
    }

    /// Parses catalogue text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Catalogue, CatalogueError> {
        let entries: Vec<Requirement> = serde_yaml::from_str(text).map_err(|e| {
            let (line, column) = e
                .location()
                .map(|l| (l.line(), l.column()))
                .unwrap_or((1, 1));
            CatalogueError::Parse {
                origin: origin.to_string(),
                line,
                column,
                message: e.to_string(),
            }
        })?;
        Catalogue::from_entries(entries, origin)
    }

    /// Builds a catalogue from entries (tests, merged catalogues).
    pub fn from_entries(
        entries: Vec<Requirement>,
        origin: &str,
    ) -> Result<Catalogue, CatalogueError> {
        let mut index = BTreeMap::new();
        for (i, r) in entries.iter().enumerate() {
            if index.insert(r.id.clone(), i).is_some() {
                return Err(CatalogueError::Duplicate {
                    origin: origin.to_string(),
                    id: r.id.clone(),
                });
            }
        }
        Ok(Catalogue { entries, index })
    }

    /// The requirement with this id.
    pub fn get(&self, id: &str) -> Option<&Requirement> {
        self.index.get(id).and_then(|&i| self.entries.get(i))
    }

    /// `true` if the id is catalogued.
    pub fn contains(&self, id: &str) -> bool {
        self.index.contains_key(id)
    }

    /// Every requirement of a clause and its sub-clauses (`"7.3.1"` matches `7.3.1` and
    /// `7.3.1.5.1`, not `7.3.10`).
    pub fn by_clause<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a Requirement> + 'a {
        self.entries
            .iter()
            .filter(move |r| clause_within(&r.clause, prefix))
    }

    /// Every requirement, in file order.
    pub fn iter(&self) -> std::slice::Iter<'_, Requirement> {
        self.entries.iter()
    }

    /// Number of requirements.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// `true` if `clause` equals `prefix` or is a sub-clause of it.
pub fn clause_within(clause: &str, prefix: &str) -> bool {
    clause == prefix
        || (clause.starts_with(prefix) && clause.as_bytes().get(prefix.len()) == Some(&b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn the_embedded_json_is_the_yaml_catalogue() {
        let yaml = Catalogue::parse(DEFAULT_CATALOGUE, "yaml").unwrap();
        let json: Vec<Requirement> = serde_json::from_str(EMBEDDED_JSON).expect("the build's JSON");
        assert_eq!(json, yaml.entries);
        assert_eq!(Catalogue::embedded().unwrap().entries, yaml.entries);
    }

    #[test]
    fn embedded_catalogue_loads_every_entry() {
        let c = Catalogue::embedded().unwrap();
        assert_eq!(c.len(), 144);
        assert!(c.iter().any(|r| r.strength == Strength::ShallNot));
        assert_eq!(
            c.get("7/send-pager-mode").map(|r| r.strength),
            Some(Strength::Shall)
        );
        assert!(c.get("7/no-such").is_none());
    }

    #[rstest]
    #[case("7.3.1", "7.3.1.5.1", true)]
    #[case("7.3.1", "7.3.1", true)]
    #[case("7.3.1", "7.3.10", false)]
    #[case("7", "7.3", true)]
    #[case("7.3", "7", false)]
    fn clause_prefix(#[case] prefix: &str, #[case] clause: &str, #[case] within: bool) {
        assert_eq!(clause_within(clause, prefix), within);
    }

    #[rstest]
    #[case(Strength::Shall, false, Weight::Gate)]
    #[case(Strength::ShallNot, false, Weight::Gate)]
    #[case(Strength::Should, false, Weight::Advisory)]
    #[case(Strength::Should, true, Weight::Gate)]
    #[case(Strength::May, true, Weight::Informational)]
    fn weights(#[case] s: Strength, #[case] strict: bool, #[case] w: Weight) {
        assert_eq!(s.weight(strict), w);
    }

    #[test]
    fn unknown_field_is_refused_with_a_position() {
        let text = "- id: a/b\n  clause: '7'\n  change: 1\n  strength: SHALL\n  bogus: 1\n";
        let err = Catalogue::parse(text, "x.yaml").unwrap_err().to_string();
        assert!(err.starts_with("x.yaml:5:"), "{err}");
    }
}
