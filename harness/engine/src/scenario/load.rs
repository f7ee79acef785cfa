//! The scenario loader: YAML text -> typed [`Scenario`], structure errors with their position.
//! This is the only module that knows the scenario files are YAML.

use std::path::Path;

use super::model::Scenario;
use crate::diagnostic::Diagnostic;

/// A parsed scenario with the text it came from (kept for semantic diagnostics).
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    /// The file name as given.
    pub file: String,
    /// The source text.
    pub source: String,
    /// The typed scenario.
    pub scenario: Scenario,
}

/// Parses scenario text; `file` names it in diagnostics.
pub fn parse_scenario(source: &str, file: &str) -> Result<LoadedScenario, Diagnostic> {
    match serde_yaml::from_str::<Scenario>(source) {
        Ok(scenario) => Ok(LoadedScenario {
            file: file.to_string(),
            source: source.to_string(),
            scenario,
        }),
        Err(e) => {
            let (line, column) = e
                .location()
                .map(|l| (l.line(), l.column()))
                .unwrap_or((1, 1));
            Err(Diagnostic::new(
                file,
                line,
                column,
                clean_message(&e.to_string()),
            ))
        }
    }
}

/// Reads and parses a scenario file.
pub fn load_file(path: &Path) -> Result<LoadedScenario, Diagnostic> {
    let file = path.display().to_string();
    let source = std::fs::read_to_string(path)
        .map_err(|e| Diagnostic::new(&file, 1, 1, format!("failed to read the file: {e}")))?;
    parse_scenario(&source, &file)
}

/// Every `*.yaml` / `*.yml` scenario file under `dir`, recursively, sorted; the requirement
/// catalogue (`requirements.yaml`) is not a scenario. An unreadable directory contributes nothing.
pub fn scenario_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml")
                && p.file_name().is_some_and(|n| n != "requirements.yaml")
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// serde_yaml appends " at line L column C" to its messages; the diagnostic carries the position
/// already.
fn clean_message(m: &str) -> String {
    match m.find(" at line ") {
        Some(i) => m.get(..i).unwrap_or(m).to_string(),
        None => m.to_string(),
    }
}

/// Every scenario file under `dir`, loaded: the scenarios that parse, and a diagnostic
/// (file:line:column and what was expected) for each file that does not. An error when `dir` is
/// not a directory or holds no scenario file.
pub fn load_dir(dir: &Path) -> Result<(Vec<LoadedScenario>, Vec<Diagnostic>), String> {
    if !dir.is_dir() {
        return Err(format!(
            "the scenario directory {} does not exist",
            dir.display()
        ));
    }
    let files = scenario_files(dir);
    if files.is_empty() {
        return Err(format!("no scenario file (*.yaml) under {}", dir.display()));
    }
    let mut loaded = Vec::new();
    let mut diags = Vec::new();
    for f in files {
        match load_file(&f) {
            Ok(l) => loaded.push(l),
            Err(d) => diags.push(d),
        }
    }
    Ok((loaded, diags))
}

/// Scenario texts given as (file name, YAML), such as the ones built into a binary: the
/// scenarios that parse, and a diagnostic for each that does not.
pub fn load_texts(files: &[(&str, &str)]) -> (Vec<LoadedScenario>, Vec<Diagnostic>) {
    let mut loaded = Vec::new();
    let mut diags = Vec::new();
    for (file, text) in files {
        match parse_scenario(text, file) {
            Ok(l) => loaded.push(l),
            Err(d) => diags.push(d),
        }
    }
    (loaded, diags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::model::Step;

    const GOOD: &str = r#"
id: rejoin
clause: "7.3.1.5.1"
title: t
covers: [7.3.1.5.1/use-incoming-invite]
given:
  group: { uri: "sip:g1@cf.test", conversation: $uuid }
steps:
  - do: { rejoin_group: { uri: "${group.uri}" } }
  - expect:
      sip: INVITE
      request_uri: "${group.uri}"
      headers:
        Conversation-ID: "${group.conversation}"
        Privacy: { absent: true }
      status: 2xx
      within: 5s
      save: own
  - parallel:
      - expect: { msrp: SEND, cpim: { To: "${group.uri}" } }
      - expect: { msrp: 200 }
"#;

    #[test]
    fn parses_the_sketch_form() {
        let l = parse_scenario(GOOD, "g.yaml").unwrap();
        assert_eq!(l.scenario.steps.len(), 3);
        let Some(Step::Expect(e)) = l.scenario.steps.get(1) else {
            panic!(
                "second step is not an expect: {:?}",
                l.scenario.steps.get(1)
            );
        };
        assert_eq!(e.from, "client");
        assert_eq!(e.headers.len(), 2);
    }

    #[rstest::rstest]
    #[case(
        "id: x\nclause: '7'\ntitle: t\nsteps: []\nbogus: 1\n",
        5,
        "unknown field `bogus`"
    )]
    #[case(
        "id: x\nclause: '7'\ntitle: t\nsteps:\n  - expect:\n      sip: INVITE\n      hedaers: {}\n",
        7,
        "unknown field `hedaers`"
    )]
    #[case(
        "id: x\nclause: '7'\ntitle: t\nsteps:\n  - expect:\n      headers: { A: { regx: a } }\n",
        6,
        "unknown field `regx`"
    )]
    #[case(
        "id: x\nclause: '7'\ntitle: t\nsteps:\n  - expect:\n      within: soon\n",
        6,
        "duration"
    )]
    #[case(
        "id: x\nclause: '7'\ntitle: t\nsteps:\n  - wait: {}\n",
        5,
        "unknown variant `wait`"
    )]
    fn structure_errors_carry_positions(#[case] src: &str, #[case] line: usize, #[case] msg: &str) {
        let d = parse_scenario(src, "bad.yaml").unwrap_err();
        assert_eq!(d.line, line, "{d}");
        assert!(d.message.contains(msg), "{d}");
        assert!(
            d.to_string().starts_with(&format!("bad.yaml:{line}:")),
            "{d}"
        );
    }
}
