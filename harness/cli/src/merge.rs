//! `cpmconf merge`: merges the reports of `--partition hash:K/N` shards into one report and gate.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use cpmconf_engine::report::merge_reports;

/// Arguments of `cpmconf merge`.
#[derive(Args, Debug, Clone)]
pub struct MergeArgs {
    /// The shard report directories (each holding the results.json of one
    /// `cpmconf run --partition hash:K/N`), every K of 1..=N exactly once.
    #[arg(value_name = "DIR", required = true)]
    pub dirs: Vec<PathBuf>,
    /// Directory of the merged report (created if needed).
    #[arg(long, value_name = "OUT")]
    pub report: PathBuf,
}

/// `cpmconf merge`.
pub fn run(a: &MergeArgs) -> ExitCode {
    match merge_reports(&a.dirs, &a.report) {
        Ok(m) => {
            println!(
                "cpmconf merge: {} shard(s), {} scenario(s); gate {} ({} scenario(s) failing, {} advisory finding(s))",
                m.shards,
                m.scenarios,
                if m.gate.passed { "PASSED" } else { "FAILED" },
                m.gate.failing,
                m.gate.advisory
            );
            println!("report: {}", a.report.display());
            if m.gate.passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("cpmconf merge: {e}");
            ExitCode::from(2)
        }
    }
}
