//! Every repository path and every `cpmconf <subcommand>` named in README.md and docs/*.md
//! exists: paths in the repository, subcommands in `cpmconf --help`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn docs() -> Vec<PathBuf> {
    let mut v = vec![repo().join("README.md")];
    for e in std::fs::read_dir(repo().join("docs")).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "md") {
            v.push(e.path());
        }
    }
    v.sort();
    v
}

/// The backticked spans of a Markdown text.
fn code_spans(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// Top-level folders whose paths the docs name.
const ROOTS: &[&str] = &[
    "harness/",
    "docs/",
    "fixtures/",
    "scenarios/",
    "fuzz/",
    ".ci/",
];

#[test]
fn every_path_named_in_the_docs_exists() {
    let mut missing = Vec::new();
    for doc in docs() {
        let text = std::fs::read_to_string(&doc).unwrap();
        for span in code_spans(&text) {
            for word in span.split_whitespace() {
                let word = word.trim_end_matches([',', ')', ':', ';']);
                if !ROOTS.iter().any(|r| word.starts_with(r)) {
                    continue;
                }
                // Placeholders and patterns name no single file.
                if word.contains(['<', '*', '{', '$']) || word.contains("...") {
                    continue;
                }
                if !repo().join(word).exists() {
                    missing.push(format!("{}: {word}", doc.display()));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "paths named in the docs that do not exist:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_cpmconf_subcommand_named_in_the_docs_exists() {
    let help = Command::new(env!("CARGO_BIN_EXE_cpmconf"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout).to_string();
    let known: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(known.contains(&"run"), "{help}");
    let mut unknown = Vec::new();
    for doc in docs() {
        let text = std::fs::read_to_string(&doc).unwrap();
        for span in code_spans(&text) {
            let words: Vec<&str> = span.split_whitespace().collect();
            for pair in words.windows(2) {
                let (cmd, sub) = (pair[0], pair[1]);
                if cmd == "cpmconf" && !sub.starts_with('-') && !sub.starts_with('<') {
                    if !known.contains(&sub) {
                        unknown.push(format!("{}: cpmconf {sub}", doc.display()));
                    }
                }
            }
            // `cargo run --release -- <sub>` stands for `cpmconf <sub>`.
            if let Some(rest) = span.split("-- ").nth(1) {
                if span.starts_with("cargo run") {
                    if let Some(sub) = rest.split_whitespace().next() {
                        if !sub.starts_with('-') && !known.contains(&sub) {
                            unknown.push(format!("{}: cargo run -- {sub}", doc.display()));
                        }
                    }
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "subcommands named in the docs that do not exist:\n{}",
        unknown.join("\n")
    );
}
