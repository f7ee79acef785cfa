//! Selecting scenarios for a run: stable hash partitions (`--partition hash:K/N`) and filters by
//! id, clause prefix, covered requirement or tag.

use sha2::{Digest, Sha256};

use crate::catalogue::clause_within;
use crate::scenario::Scenario;

/// A partition `hash:K/N` (1-based K).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// This shard, 1..=N.
    pub k: u32,
    /// Number of shards.
    pub n: u32,
}

impl Partition {
    /// Parses `hash:K/N`.
    pub fn parse(s: &str) -> Result<Partition, String> {
        let err = || format!("partition {s:?}: expected hash:K/N with 1 <= K <= N");
        let body = s.strip_prefix("hash:").ok_or_else(err)?;
        let (k, n) = body.split_once('/').ok_or_else(err)?;
        let k: u32 = k.parse().map_err(|_| err())?;
        let n: u32 = n.parse().map_err(|_| err())?;
        if k == 0 || n == 0 || k > n {
            return Err(err());
        }
        Ok(Partition { k, n })
    }

    /// `true` if the scenario id falls in this shard (stable across runs and machines).
    pub fn contains(&self, scenario_id: &str) -> bool {
        let d = Sha256::digest(scenario_id.as_bytes());
        let mut b = [0u8; 8];
        b.copy_from_slice(d.get(..8).unwrap_or(&[0; 8]));
        u64::from_be_bytes(b) % u64::from(self.n) == u64::from(self.k - 1)
    }
}

/// A run's selection: each kind of filter is a list of alternatives (empty: no filter), and a
/// scenario is selected when it passes every kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Scenario ids.
    pub scenarios: Vec<String>,
    /// Clauses: `7.3` exactly, `7.3.*` the subtree.
    pub clauses: Vec<String>,
    /// Requirement ids the scenario covers or verifies.
    pub requirements: Vec<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// A hash partition.
    pub part: Option<Partition>,
}

impl Filter {
    /// Whether the filter selects `s`.
    pub fn selects(&self, s: &Scenario) -> bool {
        (self.scenarios.is_empty() || self.scenarios.contains(&s.id))
            && (self.clauses.is_empty()
                || self.clauses.iter().any(|c| clause_matches(&s.clause, c)))
            && (self.requirements.is_empty() || {
                let v = s.covers_or_verifies();
                self.requirements.iter().any(|r| v.contains(r))
            })
            && (self.tags.is_empty() || self.tags.iter().any(|t| s.tags.contains(t)))
            && self.part.is_none_or(|p| p.contains(&s.id))
    }
}

/// Whether `clause` is selected by a `--clause` value: `7.3` exactly, `7.3.*` the subtree.
pub fn clause_matches(clause: &str, pattern: &str) -> bool {
    match pattern.strip_suffix(".*") {
        Some(prefix) => clause_within(clause, prefix),
        None => clause == pattern,
    }
}

/// `true` if the scenario matches a filter term: its id, a clause prefix (`7.3.1`), a covered or
/// verified requirement id, or `tag:<name>`.
pub fn matches(s: &Scenario, term: &str) -> bool {
    if let Some(tag) = term.strip_prefix("tag:") {
        return s.tags.iter().any(|t| t == tag);
    }
    s.id == term || clause_within(&s.clause, term) || s.covers.iter().any(|c| c == term)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("hash:1/2", Some((1, 2)))]
    #[case("hash:3/2", None)]
    #[case("hash:0/2", None)]
    #[case("mod:1/2", None)]
    fn parse(#[case] s: &str, #[case] want: Option<(u32, u32)>) {
        assert_eq!(Partition::parse(s).ok().map(|p| (p.k, p.n)), want);
    }

    #[rstest]
    #[case("7", "7", true)]
    #[case("7.3", "7", false)]
    #[case("7.3", "7.*", true)]
    #[case("7", "7.*", true)]
    #[case("7.3.1.5.1", "7.3.1.5", false)]
    #[case("7.3.1.5.1", "7.3.1.5.*", true)]
    #[case("7.3.11", "7.3.1.*", false)]
    fn clause_selection_is_exact_unless_a_subtree_is_asked(
        #[case] clause: &str,
        #[case] pattern: &str,
        #[case] selected: bool,
    ) {
        assert_eq!(clause_matches(clause, pattern), selected);
    }

    #[test]
    fn shards_cover_every_id_exactly_once() {
        let ids: Vec<String> = (0..50).map(|i| format!("sc-{i}")).collect();
        for id in &ids {
            let hits = (1..=3)
                .filter(|k| Partition { k: *k, n: 3 }.contains(id))
                .count();
            assert_eq!(hits, 1, "{id}");
        }
        let first = ids
            .iter()
            .filter(|i| Partition { k: 1, n: 3 }.contains(i))
            .count();
        assert!(first > 5 && first < 30, "{first}");
    }
}
