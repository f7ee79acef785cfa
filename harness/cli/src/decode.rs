//! `cpmconf decode`: decode SIP or MSRP messages from files and print structure and findings.

use clap::Args;
use cpmconf_codec::{msrp, sip, DecodeError, Finding, Limits};
use std::io::{Read, Write};
use std::process::ExitCode;

/// Arguments of `cpmconf decode`.
#[derive(Args, Debug)]
pub struct DecodeArgs {
    /// Print one JSON document per file instead of text.
    #[arg(long)]
    json: bool,
    /// Files to decode; `-` is standard input.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<String>,
}

/// What one file held.
enum Outcome {
    Sip(sip::Message, Vec<Finding>),
    Msrp(msrp::Message, Vec<Finding>),
    Error(DecodeError),
}

fn decode_bytes(bytes: &[u8]) -> Outcome {
    let limits = Limits::default();
    if bytes.starts_with(b"MSRP ") {
        match msrp::Message::parse_with(bytes, &limits) {
            Ok(d) => Outcome::Msrp(d.value, d.findings),
            Err(e) => Outcome::Error(e),
        }
    } else {
        match sip::Message::parse_with(bytes, &limits) {
            Ok(d) => Outcome::Sip(d.value, d.findings),
            Err(e) => Outcome::Error(e),
        }
    }
}

fn read_input(name: &str) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    if name == "-" {
        std::io::stdin().read_to_end(&mut buf)?;
    } else {
        buf = std::fs::read(name)?;
    }
    Ok(buf)
}

/// Runs the subcommand; the exit status is the worst outcome over all files.
pub fn run(args: &DecodeArgs) -> ExitCode {
    let mut worst = 0u8;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for name in &args.files {
        let bytes = match read_input(name) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("cpmconf decode: cannot read {name}: {e}");
                worst = 2;
                continue;
            }
        };
        let outcome = decode_bytes(&bytes);
        let code = match &outcome {
            Outcome::Sip(_, f) | Outcome::Msrp(_, f) => u8::from(!f.is_empty()),
            Outcome::Error(_) => 2,
        };
        worst = worst.max(code);
        let written = if args.json {
            write_json(&mut out, name, &outcome)
        } else {
            write_text(&mut out, name, &bytes, &outcome)
        };
        if let Err(e) = written {
            eprintln!("cpmconf decode: cannot write output: {e}");
            return ExitCode::from(2);
        }
    }
    ExitCode::from(worst)
}

fn write_json(out: &mut impl Write, name: &str, outcome: &Outcome) -> std::io::Result<()> {
    let value = match outcome {
        Outcome::Sip(m, f) => serde_json::json!({
            "file": name, "protocol": "sip", "status": if f.is_empty() { "ok" } else { "findings" },
            "message": m, "findings": f,
        }),
        Outcome::Msrp(m, f) => serde_json::json!({
            "file": name, "protocol": "msrp", "status": if f.is_empty() { "ok" } else { "findings" },
            "message": m, "findings": f,
        }),
        Outcome::Error(e) => serde_json::json!({
            "file": name, "status": "error", "error": e,
        }),
    };
    let text = serde_json::to_string_pretty(&value).map_err(std::io::Error::other)?;
    writeln!(out, "{text}")
}

/// The line and column (1-based) of a byte offset, for error messages.
fn line_col(bytes: &[u8], offset: usize) -> (usize, usize) {
    let upto = &bytes[..offset.min(bytes.len())];
    let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = upto.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, col)
}

fn write_findings(
    out: &mut impl Write,
    name: &str,
    bytes: &[u8],
    f: &[Finding],
) -> std::io::Result<()> {
    if f.is_empty() {
        return writeln!(out, "findings: none");
    }
    writeln!(out, "findings: {}", f.len())?;
    for x in f {
        let (l, c) = line_col(bytes, x.offset);
        writeln!(out, "  {name}:{l}:{c}: {x}")?;
    }
    Ok(())
}

fn write_text(
    out: &mut impl Write,
    name: &str,
    bytes: &[u8],
    outcome: &Outcome,
) -> std::io::Result<()> {
    match outcome {
        Outcome::Sip(m, f) => {
            writeln!(
                out,
                "{name}: SIP {}",
                if m.is_request() {
                    "request"
                } else {
                    "response"
                }
            )?;
            writeln!(out, "start: {}", m.summary())?;
            for h in m.headers.iter() {
                writeln!(out, "  {}: {}", h.long_name(), h.value)?;
            }
            writeln!(out, "body: {} bytes", m.body.len())?;
            write_findings(out, name, bytes, f)
        }
        Outcome::Msrp(m, f) => {
            writeln!(out, "{name}: MSRP {}", m.summary())?;
            for f in m.headers.iter() {
                writeln!(out, "  {}: {}", f.name, f.value)?;
            }
            writeln!(out, "body: {} bytes", m.body.len())?;
            write_findings(out, name, bytes, f)
        }
        Outcome::Error(e) => {
            let (l, c) = line_col(bytes, e.offset);
            writeln!(out, "{name}:{l}:{c}: cannot decode: {e}")
        }
    }
}
