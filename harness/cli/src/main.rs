//! `cpmconf`: the command-line front end of the conformance suite and SIP/MSRP simulator.

mod decode;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

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
    /// Decode SIP or MSRP messages from files and list every finding.
    ///
    /// Each FILE holds one SIP or MSRP message (auto-detected: MSRP starts with `MSRP `); `-` reads
    /// standard input. Exit status: 0 well-formed with no finding, 1 decoded with findings,
    /// 2 could not be decoded (the message names the byte offset) or could not be read.
    Decode(decode::DecodeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Decode(args) => decode::run(&args),
    }
}
