//! `cpmconf`: the command-line front end of the conformance suite and SIP/MSRP simulator.

mod check;
mod coverage;
mod decode;
mod embedded;
mod faults;
mod merge;
mod mutate;
mod refclient;
mod run;
mod schema;
mod serve;
mod validate;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// mimalloc instead of glibc's allocator: the codec and the simulator allocate many small,
/// short-lived values per message, and under `serve`'s load glibc's malloc, free and
/// consolidation took about 28 % of the time (docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Conformance test suite and SIP/MSRP simulator for OMA CPM messaging clients.
///
/// A scripted SIP/IP core plus CPM Participating and Controlling Functions run YAML scenarios
/// against a client under test; every byte is captured as pcap, each requirement of the CR gets
/// a verdict, and the normalised traffic is compared with golden snapshots.
#[derive(Parser, Debug)]
#[command(name = "cpmconf", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run scenarios against a client and write the report.
    ///
    /// Each scenario gets a fresh simulated network and a fresh client; every byte is written to
    /// pcap/<scenario>.pcap as it happens, a readable wire log to wire/<scenario>.log, all
    /// verdicts to results.json and junit.xml. Exit status: 0 the gate passes, 1 it fails
    /// (a SHALL failed, an error, an inconclusive scenario, an unexpected pass of a known failure
    /// or a golden difference), 2 the harness could not run, 130 interrupted (SIGINT or SIGTERM:
    /// no further scenario starts, running ones end as `error: interrupted`, the report of
    /// everything finished is written; a second signal aborts at once).
    Run(Box<run::RunArgs>),
    /// Check scenario files: structure, requirement ids, variables defined before use.
    ///
    /// Also everything a run would otherwise find only by matching nothing: `do:` commands and
    /// their arguments, `wait_for` events and their fields (the upper-tester protocol's), the
    /// methods, roles, CPIM keys, XML paths (against the documents' schemas) and feature tags
    /// an `expect` names, and `evidence` keys; a header name neither SIP nor MSRP registers is a
    /// warning. A misspelt one would leave an `expect` waiting in vain, an `expect_none` passing
    /// whatever the client sends, or a correct client failed for the scenario's typo.
    ///
    /// Exit status: 0 all valid (warnings allowed), 1 any problem (each printed as
    /// file:line:column), 2 nothing to check.
    Validate(validate::ValidateArgs),
    /// Which scenarios verify each requirement of the catalogue.
    ///
    /// Without --json: the markdown tables of docs/coverage.md (one per clause) after the line
    /// `wire SHALL/SHALL NOT verified: N/M`. A scenario counts for a requirement when one of its
    /// steps lists it in `verifies`. Reads the scenarios of the checkout the current directory
    /// is in, else those built into the binary. Exit status 0, 2 when they cannot be read.
    Coverage(coverage::CoverageArgs),
    /// Mutation score: run the suite once per named fault of the reference client.
    ///
    /// For each fault (`cpmconf faults`; its id is the requirement it breaks) the scenarios
    /// verifying that requirement run against the built-in reference client with the fault on,
    /// after one baseline run without faults; every run is judged strict (SHOULD failures count).
    /// A fault is caught when the gate fails and a `fail` verdict cites its id in a scenario the
    /// conformant client passes; `caught_by` lists those scenarios, `blame` every requirement
    /// that failed. Prints the score line and a table (fault | caught by | blame), or JSON with
    /// --json. Takes about a minute for every fault on two cores (six runs at once, debug
    /// build), a few seconds for one --fault. Reports of escaped faults
    /// are kept in the temporary directory named in their row. Exit status: 0 every selected
    /// fault caught, 1 a fault escaped (or the conformant client fails a scenario that was
    /// run), 2 the measurement could not run (an unknown fault id: `cpmconf faults` lists them;
    /// invalid scenarios).
    Mutate(mutate::MutateArgs),
    /// Print the JSON Schema of scenario files.
    Schema,
    /// List the reference client's named faults (id first, then what it breaks).
    Faults,
    /// Decode SIP or MSRP messages from files, and their bodies, and list every finding.
    ///
    /// Each FILE holds one SIP or MSRP message (auto-detected: MSRP starts with `MSRP `); `-` reads
    /// standard input. Bodies are decoded by Content-Type (SDP, CPIM and what it wraps,
    /// multipart, IMDN, isComposing, conference-info, resource-lists, reginfo); their findings
    /// name offsets into the file. Exit status: 0 decoded with no finding or only `info` notes
    /// (a legal folded header), 1 decoded with a warning or error finding (in the message or a
    /// body), 2 could not be decoded (the message names the byte offset) or could not be read.
    Decode(decode::DecodeArgs),
    /// Judge a capture made anywhere (pcap or pcapng): against scenarios, or by the per-message
    /// rules.
    ///
    /// Scenario mode (`--scenario ID`, or by default for a capture written by `cpmconf run`, whose
    /// sidecar `<capture>.meta.json` names its scenario, who is who and the run's timeline): the
    /// scenario's steps judged from the capture by the same judge as `run`, with the whole-trace
    /// rules, giving the live run's verdicts. A capture made elsewhere needs `--roles FILE` (which
    /// address is which simulated role); its stimuli are found in the capture instead of sent,
    /// and what a capture cannot show (the client's upper-tester events, when a `do` step
    /// happened, anything past the capture's end) makes the steps that need it inconclusive,
    /// never failed.
    ///
    /// Lint mode (`--lint`, `--client` alone, or a capture with neither a sidecar nor
    /// --scenario): the protocol
    /// baseline (RFC rules: well-formed messages and bodies, Via copied into responses, ACK of
    /// non-2xx, To tags, digest credentials, registered Contact, no unspecified receive
    /// address) and the global monitors (7/user-agent-header) over every message the client
    /// under test sent. Both modes stream the capture: memory does not grow with its length
    /// (scenario mode holds what the scenario's steps reach). Same verdicts and report files
    /// as `run`. Exit status: 0
    /// everything passes, 1 the gate fails (a verdict failed; in scenario mode also a
    /// requirement left inconclusive, as in `run`), 2 the capture cannot be judged (unreadable, not a
    /// capture, truncated, no SIP from the client, no single party that registers when --client
    /// is not given, an unknown scenario, no role map for a scenario).
    Check(check::CheckArgs),
    /// Run the simulated network as a standalone server for live testing of real clients.
    Serve(serve::ServeArgs),
    /// Run the reference client as a JSON-lines upper-tester adapter on stdin/stdout.
    Refclient(refclient::RefclientArgs),
    /// Merge the reports of the shards of a partitioned run into one report and gate.
    ///
    /// Each DIR is the report of one `cpmconf run --partition hash:K/N` (same seed, client,
    /// strictness and selection). Writes results.json, junit.xml, index.html, pcap/ and wire/ to
    /// OUT as the unsharded run would. Exit status: 0 the gate passes, 1 it fails, 2 the shards
    /// cannot be merged (overlapping, missing or mismatched shards, named in the message).
    Merge(merge::MergeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Validate(args) => validate::run(&args),
        Command::Coverage(args) => coverage::run(&args),
        Command::Mutate(args) => mutate::run(&args),
        Command::Schema => schema::run(),
        Command::Faults => faults::run(),
        Command::Decode(args) => decode::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Refclient(args) => refclient::main_entry(&args),
        Command::Merge(args) => merge::run(&args),
    }
}
