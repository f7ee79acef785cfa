//! Merging the reports of the shards of a partitioned run (`--partition hash:K/N`, one per CI job)
//! into one report: the shards are checked to be the N parts of one run (same seed, client,
//! strictness and selection, every K once, no scenario twice), then their event streams are
//! replayed into the JSON, JUnit and HTML reporters and their pcaps and wire logs copied, so the
//! merged report and its gate are those of the unsharded run.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::json::{Results, Selection};
use super::{HtmlReporter, JsonReporter, JunitReporter, Reporter, RunEvent, RunEventKind};
use crate::select::Partition;
use crate::verdict::{gate, Gate, ScenarioResult};

/// Why shards could not be merged; each names the shard directories concerned.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no shard report given")]
    NoShards,
    /// A shard's results.json could not be read or parsed.
    #[error("{path}: {message}")]
    Unreadable {
        /// The results.json.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The shards are not of one run: they differ in `what`.
    #[error("shards differ in {what}: {}", list(.values))]
    Mismatch {
        /// `seed`, `client`, `strict`, `scenario selection`, `number of shards`.
        what: &'static str,
        /// Each shard directory with its value.
        values: Vec<(String, String)>,
    },
    /// Two shards cover the same part or the same scenario.
    #[error("shards overlap: {what} is in {}", .dirs.join(" and "))]
    Overlap {
        /// `hash:K/N` or `scenario ID`.
        what: String,
        /// The shard directories holding it.
        dirs: Vec<String>,
    },
    /// Parts of the partition are missing.
    #[error("shard(s) missing: {} (given: {})", .missing.join(", "), list(.given))]
    Missing {
        /// The partitions no shard covers.
        missing: Vec<String>,
        /// Each shard directory with its partition.
        given: Vec<(String, String)>,
    },
    /// A shard ran a scenario outside its part, or the shards do not add up to the selection.
    #[error("{dir}: {message}")]
    Inconsistent {
        /// The shard directory (or the output).
        dir: String,
        /// What does not add up.
        message: String,
    },
    /// Writing the merged report failed.
    #[error("failed to write {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

fn list(values: &[(String, String)]) -> String {
    values
        .iter()
        .map(|(d, v)| format!("{d}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a merge produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    /// The gate of the whole run.
    pub gate: Gate,
    /// Scenarios in the merged report.
    pub scenarios: usize,
    /// Shards merged.
    pub shards: usize,
}

/// One shard read from disk.
struct Shard {
    dir: PathBuf,
    name: String,
    results: Results,
    selection: Selection,
    partition: Partition,
}

impl fmt::Debug for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

fn read_shard(dir: &Path) -> Result<Shard, MergeError> {
    let path = dir.join("results.json");
    let p = path.display().to_string();
    let unreadable = |message: String| MergeError::Unreadable {
        path: p.clone(),
        message,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| unreadable(e.to_string()))?;
    let results: Results = serde_json::from_str(&text)
        .map_err(|e| unreadable(format!("not a cpmconf results.json: {e}")))?;
    let selection = results.selection.clone().ok_or_else(|| {
        unreadable("records no selection: written by a cpmconf run older than merge support".into())
    })?;
    let spec = selection.partition.as_deref().unwrap_or("hash:1/1");
    let partition = Partition::parse(spec).map_err(unreadable)?;
    if results.gate.is_none() {
        return Err(unreadable("has no gate: the run did not finish".into()));
    }
    Ok(Shard {
        name: dir.display().to_string(),
        dir: dir.to_path_buf(),
        results,
        selection,
        partition,
    })
}

/// Fails unless `f` gives the same value for every shard.
fn same(
    shards: &[Shard],
    what: &'static str,
    f: impl Fn(&Shard) -> String,
) -> Result<String, MergeError> {
    let values: Vec<(String, String)> = shards.iter().map(|s| (s.name.clone(), f(s))).collect();
    let first = values.first().map(|v| v.1.clone()).unwrap_or_default();
    if values.iter().any(|v| v.1 != first) {
        return Err(MergeError::Mismatch { what, values });
    }
    Ok(first)
}

/// Checks that the shards are the N parts of one run.
fn check(shards: &[Shard]) -> Result<(), MergeError> {
    same(shards, "seed", |s| format!("{:?}", s.results.seed))?;
    same(shards, "client", |s| {
        s.results.client.clone().unwrap_or_default()
    })?;
    same(shards, "strict", |s| s.results.strict.to_string())?;
    same(shards, "scenario selection", |s| {
        format!(
            "{} scenarios, digest {}",
            s.selection.total, s.selection.digest
        )
    })?;
    let n = same(shards, "number of shards", |s| s.partition.n.to_string())?;
    let n: u32 = n.parse().unwrap_or(1);
    let mut by_k: BTreeMap<u32, Vec<&Shard>> = BTreeMap::new();
    for s in shards {
        by_k.entry(s.partition.k).or_default().push(s);
    }
    for (k, ss) in &by_k {
        if ss.len() > 1 {
            return Err(MergeError::Overlap {
                what: format!("hash:{k}/{n}"),
                dirs: ss.iter().map(|s| s.name.clone()).collect(),
            });
        }
    }
    let missing: Vec<String> = (1..=n)
        .filter(|k| !by_k.contains_key(k))
        .map(|k| format!("hash:{k}/{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing {
            missing,
            given: shards
                .iter()
                .map(|s| (s.name.clone(), format!("hash:{}/{}", s.partition.k, n)))
                .collect(),
        });
    }
    let mut owner: BTreeMap<&str, &Shard> = BTreeMap::new();
    for s in shards {
        let mut ran: Vec<&str> = s.results.scenarios.iter().map(|r| r.id.as_str()).collect();
        ran.sort_unstable();
        let recorded: Vec<&str> = s.selection.scenarios.iter().map(String::as_str).collect();
        if ran != recorded {
            return Err(MergeError::Inconsistent {
                dir: s.name.clone(),
                message: "the scenario results differ from the recorded selection".into(),
            });
        }
        for id in ran {
            if n > 1 && !s.partition.contains(id) {
                return Err(MergeError::Inconsistent {
                    dir: s.name.clone(),
                    message: format!(
                        "scenario {id} is not in partition hash:{}/{n}",
                        s.partition.k
                    ),
                });
            }
            if let Some(other) = owner.insert(id, s) {
                return Err(MergeError::Overlap {
                    what: format!("scenario {id}"),
                    dirs: vec![other.name.clone(), s.name.clone()],
                });
            }
        }
    }
    let total = shards.first().map_or(0, |s| s.selection.total);
    if owner.len() != total {
        return Err(MergeError::Inconsistent {
            dir: shards
                .iter()
                .map(|s| s.name.clone())
                .collect::<Vec<_>>()
                .join(", "),
            message: format!(
                "the shards ran {} scenario(s) of the {total} selected",
                owner.len()
            ),
        });
    }
    Ok(())
}

/// Copies the files of `sub` (`pcap`, `wire`) of a shard into the merged report.
fn copy_dir(from: &Path, to: &Path) -> Result<(), MergeError> {
    let Ok(entries) = std::fs::read_dir(from) else {
        return Ok(());
    };
    let werr = |p: &Path, source| MergeError::Write {
        path: p.display().to_string(),
        source,
    };
    std::fs::create_dir_all(to).map_err(|e| werr(to, e))?;
    for e in entries.flatten() {
        let src = e.path();
        if !src.is_file() {
            continue;
        }
        let dst = to.join(e.file_name());
        let same_file = matches!(
            (std::fs::canonicalize(&src), std::fs::canonicalize(&dst)),
            (Ok(a), Ok(b)) if a == b
        );
        if !same_file {
            std::fs::copy(&src, &dst).map_err(|e| werr(&dst, e))?;
        }
    }
    Ok(())
}

/// Merges the shard reports in `dirs` into `out` (results.json, junit.xml, index.html, pcap/,
/// wire/) and returns the gate of the whole run: the gate over every scenario, failed also when
/// any shard's gate failed for a reason outside the verdicts (a golden regression).
pub fn merge_reports(dirs: &[PathBuf], out: &Path) -> Result<Merged, MergeError> {
    if dirs.is_empty() {
        return Err(MergeError::NoShards);
    }
    let mut shards = dirs
        .iter()
        .map(|d| read_shard(d))
        .collect::<Result<Vec<_>, _>>()?;
    check(&shards)?;
    shards.sort_by_key(|s| s.partition.k);
    let first = &shards[0];
    let strict = first.results.strict;
    let seed = first.results.seed.unwrap_or(0);
    let client = first.results.client.clone().unwrap_or_default();
    let started_at = shards
        .iter()
        .filter_map(|s| s.results.started_at.clone())
        .min()
        .unwrap_or_default();
    let results: Vec<ScenarioResult> = shards
        .iter()
        .flat_map(|s| s.results.scenarios.iter().cloned())
        .collect();
    let mut g = gate(&results, strict);
    for sg in shards.iter().filter_map(|s| s.results.gate) {
        g.golden_diffs += sg.golden_diffs;
        g.golden_missing += sg.golden_missing;
    }
    if shards
        .iter()
        .any(|s| s.results.gate.is_some_and(|sg| !sg.passed))
    {
        g.passed = false;
    }
    let ids: Vec<&str> = results.iter().map(|r| r.id.as_str()).collect();
    let selection = Selection::new(&ids, None, &ids);
    if selection.digest != first.selection.digest {
        return Err(MergeError::Inconsistent {
            dir: out.display().to_string(),
            message: "the merged scenarios are not the selection the shards recorded".into(),
        });
    }
    let mut events: Vec<RunEvent> = vec![RunEvent {
        elapsed_ms: 0,
        kind: RunEventKind::RunStarted {
            seed,
            client: client.clone(),
            strict,
            started_at,
            scenarios: results.len(),
        },
    }];
    let mut end = 0;
    for s in &shards {
        for e in &s.results.events {
            if !matches!(
                e.kind,
                RunEventKind::RunStarted { .. } | RunEventKind::RunFinished { .. }
            ) {
                end = end.max(e.elapsed_ms);
                events.push(e.clone());
            }
        }
    }
    events.push(RunEvent {
        elapsed_ms: end,
        kind: RunEventKind::RunFinished { gate: g },
    });
    let werr = |p: &Path, source| MergeError::Write {
        path: p.display().to_string(),
        source,
    };
    std::fs::create_dir_all(out).map_err(|e| werr(out, e))?;
    for s in &shards {
        copy_dir(&s.dir.join("pcap"), &out.join("pcap"))?;
        copy_dir(&s.dir.join("wire"), &out.join("wire"))?;
    }
    let mut json = JsonReporter::new(Vec::new()).with_selection(selection);
    let mut junit = JunitReporter::new(Vec::new());
    let mut html = HtmlReporter::new(Vec::new());
    for r in [
        &mut json as &mut dyn Reporter,
        &mut junit as &mut dyn Reporter,
        &mut html as &mut dyn Reporter,
    ] {
        for e in &events {
            r.event(e).map_err(|e| werr(out, e))?;
        }
        r.finish().map_err(|e| werr(out, e))?;
    }
    for (name, bytes) in [
        ("results.json", json.into_inner()),
        ("junit.xml", junit.into_inner()),
        ("index.html", html.into_inner()),
    ] {
        let path = out.join(name);
        std::fs::write(&path, bytes).map_err(|e| werr(&path, e))?;
    }
    Ok(Merged {
        gate: g,
        scenarios: results.len(),
        shards: shards.len(),
    })
}
