//! `cpmconf merge`: the four shards of a `--partition hash:K/4` run merged give the verdicts,
//! counts, gate and exit status of the unsharded run, with one results.json, junit.xml and
//! index.html; overlapping, missing and mismatched shards are refused with exit 2, naming them.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rstest::rstest;
use support::{copy_dir, cpmconf, junitparser_read, repo, text};

const FAULT: &str = "7.3.1.5/accept-contact-icsi";
/// The 7.3.1.5 and 7.3.4 subtrees (`selected()` scenarios): each of the four shards gets at least one.
const SELECTION: &[&str] = &["--clause", "7.3.1.5.*", "--clause", "7.3.4.*"];
/// How many scenarios the selection holds: the files under scenarios/7.3.1.5, 7.3.1.5.1,
/// 7.3.4.3 and 7.3.4.4, counted on disk (the runs must agree with the tree, not a constant).
fn selected() -> usize {
    ["7.3.1.5", "7.3.1.5.1", "7.3.4.3", "7.3.4.4"]
        .iter()
        .map(|d| {
            std::fs::read_dir(repo().join("scenarios").join(d))
                .unwrap()
                .filter(|e| {
                    e.as_ref()
                        .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "yaml"))
                })
                .count()
        })
        .sum()
}

struct Runs {
    tmp: tempfile::TempDir,
    whole: PathBuf,
    whole_status: Option<i32>,
    shards: Vec<PathBuf>,
    /// A shard of another selection (`--clause 7.3.4.3 --partition hash:3/4`).
    other: PathBuf,
}

fn run(tmp: &Path, name: &str, extra: &[&str]) -> (PathBuf, Option<i32>) {
    let dir = tmp.join(name);
    let golden = tmp.join("golden");
    let mut args = vec!["run", "--quiet", "--seed", "5", "--fault", FAULT];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[
        "--report",
        dir.to_str().unwrap(),
        "--golden",
        golden.to_str().unwrap(),
    ]);
    let o = cpmconf(&args);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{name}: {}",
        text(&o)
    );
    (dir, o.status.code())
}

fn runs() -> &'static Runs {
    static RUNS: OnceLock<Runs> = OnceLock::new();
    RUNS.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        copy_dir(&repo().join("golden"), &tmp.path().join("golden"));
        let (whole, whole_status) = run(tmp.path(), "whole", SELECTION);
        let shards = (1..=4)
            .map(|k| {
                let p = format!("hash:{k}/4");
                let mut a = SELECTION.to_vec();
                a.extend_from_slice(&["--partition", &p]);
                run(tmp.path(), &format!("shard{k}"), &a).0
            })
            .collect();
        let (other, _) = run(
            tmp.path(),
            "other",
            &["--clause", "7.3.4.3", "--partition", "hash:3/4"],
        );
        Runs {
            tmp,
            whole,
            whole_status,
            shards,
            other,
        }
    })
}

fn json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap()
}

/// scenario -> (verdict, [(requirement, verdict)]).
fn verdicts(v: &serde_json::Value) -> BTreeMap<String, (String, Vec<(String, String)>)> {
    v["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let reqs = s["requirements"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r["id"].as_str().unwrap().into(),
                        r["verdict"].as_str().unwrap().into(),
                    )
                })
                .collect();
            (
                s["id"].as_str().unwrap().into(),
                (s["verdict"].as_str().unwrap().into(), reqs),
            )
        })
        .collect()
}

fn merge(dirs: &[&Path], out: &Path) -> std::process::Output {
    let mut args: Vec<&str> = vec!["merge"];
    args.extend(dirs.iter().map(|d| d.to_str().unwrap()));
    args.extend(["--report", out.to_str().unwrap()]);
    cpmconf(&args)
}

#[test]
fn four_shards_merge_into_the_unsharded_report() {
    let r = runs();
    let out = r.tmp.path().join("merged-ok");
    let shards: Vec<&Path> = r.shards.iter().map(PathBuf::as_path).collect();
    let o = merge(&shards, &out);
    // Same exit status as the unsharded run (the fault fails the gate).
    assert_eq!(r.whole_status, Some(1));
    assert_eq!(o.status.code(), r.whole_status, "{}", text(&o));
    let (whole, merged) = (json(&r.whole), json(&out));
    assert_eq!(verdicts(&merged), verdicts(&whole));
    assert_eq!(verdicts(&merged).len(), selected());
    assert!(verdicts(&merged).values().any(|v| v.0 == "fail"));
    assert_eq!(merged["gate"], whole["gate"]);
    assert_eq!(merged["seed"], whole["seed"]);
    assert_eq!(merged["client"], whole["client"]);
    assert_eq!(merged["selection"]["total"], selected());
    assert_eq!(merged["selection"]["digest"], whole["selection"]["digest"]);
    assert!(merged["selection"].get("partition").is_none());
    // Each shard recorded its part and the whole selection.
    for (k, s) in r.shards.iter().enumerate() {
        let v = json(s);
        assert_eq!(v["selection"]["partition"], format!("hash:{}/4", k + 1));
        assert_eq!(v["selection"]["total"], selected());
    }
    // JUnit: the same counts as the unsharded run's, read by a JUnit consumer.
    let (jw, jm) = (
        junitparser_read(&r.whole.join("junit.xml")),
        junitparser_read(&out.join("junit.xml")),
    );
    for k in ["tests", "failures", "errors"] {
        assert_eq!(jm[k], jw[k], "{k}");
    }
    // One test case per scenario, besides the protocol baseline suite (one per RFC rule).
    let scenario_cases = jm["cases"]
        .as_object()
        .unwrap()
        .values()
        .filter(|c| c["suite"] != "protocol baseline")
        .count();
    assert_eq!(scenario_cases, selected());
    // index.html: every scenario, its capture copied beside it.
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    for id in verdicts(&merged).keys() {
        assert!(html.contains(&format!("id=\"s-{id}\"")), "{id}");
        assert!(out.join(format!("pcap/{id}.pcap")).is_file(), "{id}");
        assert!(out.join(format!("wire/{id}.log")).is_file(), "{id}");
    }
    assert!(html.contains("<g class=\"arrow failing\""));
}

/// A copy of shard `k` whose results.json is changed by `edit`.
fn edited(k: usize, name: &str, edit: impl Fn(&mut serde_json::Value)) -> PathBuf {
    let r = runs();
    let dir = r.tmp.path().join(name);
    copy_dir(&r.shards[k - 1], &dir);
    let mut v = json(&dir);
    edit(&mut v);
    std::fs::write(dir.join("results.json"), serde_json::to_string(&v).unwrap()).unwrap();
    dir
}

#[rstest]
#[case::overlapping_shards("overlap")]
#[case::missing_shard("missing")]
#[case::different_seed("seed")]
#[case::different_client("client")]
#[case::different_scenario_set("selection")]
#[case::report_without_selection("old")]
fn shards_that_are_not_one_run_are_refused(#[case] case: &str) {
    let r = runs();
    let s = |k: usize| r.shards[k - 1].clone();
    let (dirs, named, says): (Vec<PathBuf>, Vec<PathBuf>, &str) = match case {
        "overlap" => {
            let copy = r.tmp.path().join("shard1-again");
            copy_dir(&s(1), &copy);
            (
                vec![s(1), copy.clone(), s(2), s(3), s(4)],
                vec![s(1), copy],
                "overlap: hash:1/4",
            )
        }
        "missing" => (
            vec![s(1), s(2), s(3)],
            vec![s(1), s(2), s(3)],
            "missing: hash:4/4",
        ),
        "seed" => {
            let d = edited(2, "shard2-seed", |v| v["seed"] = 6.into());
            (
                vec![s(1), d.clone(), s(3), s(4)],
                vec![s(1), d],
                "differ in seed",
            )
        }
        "client" => {
            let d = edited(3, "shard3-client", |v| v["client"] = "my-client".into());
            (
                vec![s(1), s(2), d.clone(), s(4)],
                vec![d],
                "differ in client",
            )
        }
        "selection" => (
            vec![s(1), s(2), r.other.clone(), s(4)],
            vec![s(1), r.other.clone()],
            "differ in scenario selection",
        ),
        "old" => {
            let d = edited(4, "shard4-old", |v| {
                v.as_object_mut().unwrap().remove("selection");
            });
            (
                vec![s(1), s(2), s(3), d.clone()],
                vec![d],
                "records no selection",
            )
        }
        other => unreachable!("{other}"),
    };
    let out = r.tmp.path().join(format!("merged-{case}"));
    let refs: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
    let o = merge(&refs, &out);
    let msg = text(&o);
    assert_eq!(o.status.code(), Some(2), "{msg}");
    assert!(msg.contains(says), "{msg}");
    for d in named {
        assert!(
            msg.contains(d.to_str().unwrap()),
            "{} not named: {msg}",
            d.display()
        );
    }
    assert!(
        !out.join("results.json").exists(),
        "nothing is written for refused shards"
    );
}
