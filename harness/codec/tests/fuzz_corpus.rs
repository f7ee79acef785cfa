//! Replays the kept fuzzing corpora (`fuzz/corpus/<target>/`, minimised with `cargo fuzz cmin`
//! after the runs recorded in docs/fuzzing.md) through the same property each fuzz target
//! checks (`cpmconf_codec::fuzzing`), so every input the fuzzers found interesting stays a
//! regression test without nightly or libFuzzer.

use std::path::{Path, PathBuf};

use rstest::rstest;

fn corpus(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

#[rstest]
#[case::sip("sip")]
#[case::msrp("msrp")]
#[case::sdp("sdp")]
#[case::cpim("cpim")]
#[case::xml("xml")]
#[case::multipart("multipart")]
fn kept_corpus_replays_without_a_finding(#[case] target: &str) {
    let (_, check) = cpmconf_codec::fuzzing::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .expect("a fuzzing target of that name");
    let dir = corpus(target);
    let mut n = 0;
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    entries.sort();
    for p in entries {
        let data = std::fs::read(&p).expect("a corpus file");
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(
            outcome.is_ok(),
            "{target}: {} fails its property",
            p.display()
        );
        n += 1;
    }
    // A corpus of a handful of inputs means the minimised corpus was not kept.
    assert!(n >= 20, "{target}: only {n} inputs in {}", dir.display());
}

/// Every fuzz target under `fuzz/fuzz_targets/` has its property here and a kept corpus.
#[test]
fn every_fuzz_target_has_a_property_and_a_corpus() {
    let targets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/fuzz_targets");
    let mut names: Vec<String> = std::fs::read_dir(&targets)
        .expect("fuzz/fuzz_targets")
        .flatten()
        .filter_map(|e| {
            e.path()
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    let mut known: Vec<String> = cpmconf_codec::fuzzing::TARGETS
        .iter()
        .map(|(n, _)| (*n).to_owned())
        .collect();
    known.sort();
    assert_eq!(names, known);
    for n in &names {
        assert!(corpus(n).is_dir(), "no kept corpus for {n}");
    }
}
