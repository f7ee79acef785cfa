//! docs/fidelity.md and docs/boundaries.md cannot drift: every fidelity row's CR line maps to its
//! requirement id in the catalogue's line index, and every scenario either table names exists and
//! has a step verifying the row's id; a boundary row that cites a named fault names one of the
//! reference client.

use std::path::{Path, PathBuf};

use cpmconf_engine::client::all_faults;
use cpmconf_engine::scenario::Scenario;
use cpmconf_engine::validate::Suite;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn scenarios() -> Vec<Scenario> {
    let cat = cpmconf_engine::Catalogue::embedded().unwrap();
    Suite::load_dir(&root().join("scenarios"), &cat)
        .and_then(Suite::valid)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|l| l.scenario)
        .collect()
}

#[test]
fn every_row_of_the_boundary_table_names_scenarios_that_verify_it() {
    let doc = std::fs::read_to_string(root().join("docs/boundaries.md")).unwrap();
    let scenarios = scenarios();
    let mut rows = 0;
    let mut problems = Vec::new();
    for line in doc
        .lines()
        .filter(|l| l.starts_with("| ") && l.as_bytes().get(2).is_some_and(u8::is_ascii_digit))
    {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (id, named, shown) = (cells[1], cells[6], cells[7]);
        rows += 1;
        let ids: Vec<&str> = named.split('`').skip(1).step_by(2).collect();
        if ids.is_empty() {
            problems.push(format!("{id}: no scenario named"));
        }
        for sid in ids {
            match scenarios.iter().find(|s| s.id == sid) {
                None => problems.push(format!("{id}: no scenario {sid}")),
                Some(s) if !s.verifies().iter().any(|v| v == id) => {
                    problems.push(format!("{id}: no step of {sid} verifies it"))
                }
                Some(_) => {}
            }
        }
        if shown.contains("named fault") && !all_faults().iter().any(|f| f.id == id) {
            problems.push(format!(
                "{id}: the reference client has no such named fault"
            ));
        }
    }
    assert!(rows >= 15, "only {rows} rows found in docs/boundaries.md");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_row_of_the_fidelity_table_matches_the_catalogue_and_the_scenarios() {
    let doc = std::fs::read_to_string(root().join("docs/fidelity.md")).unwrap();
    let catalogue = std::fs::read_to_string(root().join("scenarios/requirements.yaml")).unwrap();
    let scenarios = scenarios();
    let mut rows = 0;
    let mut problems = Vec::new();
    for line in doc.lines().filter(|l| l.starts_with("| L")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (cr, id, scenario) = (cells[1], cells[2], cells[3]);
        rows += 1;
        // The catalogue's line index: `#   L175  SHALL  -> 7.3.12/terminate-after-delivery`.
        let mapped = catalogue.lines().any(|l| {
            let l = l.trim_start_matches('#').trim();
            l.split_whitespace().next() == Some(cr)
                && l.split("->")
                    .nth(1)
                    .is_some_and(|ids| ids.split(',').any(|x| x.trim() == id))
        });
        if !mapped {
            problems.push(format!("{cr} does not map to {id} in the catalogue"));
        }
        if scenario == "(monitor)" {
            // Judged on every scenario by a global monitor, not by a step.
            if id != cpmconf_engine::runner::monitor::USER_AGENT_REQUIREMENT {
                problems.push(format!("{id}: no monitor judges it"));
            }
            continue;
        }
        match scenarios.iter().find(|s| s.id == scenario) {
            None => problems.push(format!("{id}: no scenario {scenario}")),
            Some(s) if !s.verifies().iter().any(|v| v == id) => {
                problems.push(format!("{id}: no step of {scenario} verifies it"))
            }
            Some(_) => {}
        }
    }
    assert!(rows >= 10, "only {rows} rows found in docs/fidelity.md");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
