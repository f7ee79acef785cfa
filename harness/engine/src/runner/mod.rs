//! The live runner: per scenario a fresh capture tap (pcap written as traffic happens), a fresh
//! simulated network and a fresh client under test; the steps driven against them with a deadline
//! on every wait; verdicts, golden comparison, wire log; scenarios run in parallel.

pub mod client;
pub mod context;
pub mod diagnose;
pub mod monitor;
pub mod options;
pub mod scenario_run;
pub mod send;
pub mod suite;

pub use options::{default_jobs, now_stamp, random_seed, Interrupt, RunOptions, Timing};
pub use scenario_run::{run_scenario, ScenarioReport};
pub use suite::{run_suite, RunSummary};
