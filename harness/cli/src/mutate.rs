//! `cpmconf mutate`: the suite's mutation score against the built-in reference client, one run
//! per named fault (`cpmconf_engine::mutate`), as a table with the score line or as JSON.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use cpmconf_engine::mutate::{mutate, select_faults, MutateOptions, DEFAULT_SEED};
use cpmconf_engine::runner::{now_stamp, Timing};
use cpmconf_engine::ut::ClientProfile;
use cpmconf_engine::Catalogue;

/// Arguments of `cpmconf mutate`.
#[derive(Args, Debug)]
pub struct MutateArgs {
    /// Print `{"faults":[{"fault","requirement","caught_by":[scenario ids],"caught",
    /// "verifying_scenarios":[ids],"blamed":[requirement ids]}]}` instead of the table (the score
    /// line goes to standard error).
    #[arg(long)]
    json: bool,
    /// Only this fault (repeatable; `cpmconf faults` lists them). Default: every fault.
    #[arg(long = "fault", value_name = "ID")]
    fault: Vec<String>,
    /// Runs at the same time (the baseline and one per fault), each running up to two scenarios
    /// at once. Default: 8 per core, at most 64 (as `run --jobs`: the runs mostly wait).
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// Seed of every run (replay a miss with `cpmconf run --strict --seed N --fault ID`).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// Multiply every deadline and SIP timer by F (e.g. 3 on a loaded machine).
    #[arg(long, value_name = "F", default_value_t = 1.0)]
    time_scale: f64,
    /// Scenario directory, every *.yaml under it. Default: scenarios/ of the checkout the
    /// current directory is in, else the scenarios built into the binary.
    #[arg(long, value_name = "DIR")]
    scenarios: Option<PathBuf>,
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("cpmconf mutate: {msg}");
    ExitCode::from(2)
}

/// `cpmconf mutate`: 0 every selected fault caught, 1 a fault escaped or the conformant client
/// fails a scenario that was run, 2 the measurement could not run (unknown fault, bad
/// arguments, invalid scenarios).
pub fn run(a: &MutateArgs) -> ExitCode {
    let faults = match select_faults(&a.fault) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let jobs = a.jobs.unwrap_or_else(cpmconf_engine::runner::default_jobs);
    if jobs == 0 {
        return fail("--jobs must be at least 1");
    }
    if !(a.time_scale.is_finite() && a.time_scale > 0.0) {
        return fail("--time-scale must be a positive number");
    }
    let catalogue = match Catalogue::embedded() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let profile = match ClientProfile::from_yaml(
        crate::embedded::REFERENCE_PROFILE,
        crate::embedded::REFERENCE_PROFILE_ORIGIN,
    ) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let checkout = crate::run::checkout();
    let dir = a
        .scenarios
        .clone()
        .or_else(|| checkout.as_ref().map(|c| c.join("scenarios")));
    let scenarios = match crate::run::load_valid_scenarios(dir.as_deref(), &catalogue) {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let (_, stamp) = now_stamp();
    let work_dir =
        std::env::temp_dir().join(format!("cpmconf-mutate-{stamp}-{}", std::process::id()));
    let opts = MutateOptions {
        seed: a.seed,
        timing: Timing::new(a.time_scale, &profile),
        runs: jobs,
        ..MutateOptions::new(
            profile,
            checkout
                .unwrap_or_else(|| PathBuf::from("."))
                .join("fixtures"),
            work_dir.clone(),
        )
    };
    eprintln!(
        "cpmconf mutate: {} fault(s) against {} scenario(s), seed {}, {} run(s) at once",
        faults.len(),
        scenarios.len(),
        a.seed,
        jobs
    );
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(format!("tokio runtime: {e}")),
    };
    let report = rt.block_on(mutate(&catalogue, &scenarios, &faults, &opts));
    // Only kept reports (escaped faults, a failing baseline) are left; an empty directory goes.
    let _ = std::fs::remove_dir(&work_dir);
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report.to_json()).unwrap_or_default()
        );
        eprintln!("{}", report.score_line());
        for p in &report.problems {
            eprintln!("problem: {p}");
        }
    } else {
        print!("{}", report.table());
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
