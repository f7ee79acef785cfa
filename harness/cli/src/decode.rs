//! `cpmconf decode`: decode SIP or MSRP messages from files, and their bodies by Content-Type,
//! and print structure and findings.

use clap::Args;
use cpmconf_codec::body::{self, Inspection};
use cpmconf_codec::{msrp, sip, DecodeError, Finding, Limits, Severity};
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

/// What one file held: the message, its findings and those of its bodies (offsets into the
/// file), and the bodies inspected.
enum Outcome {
    Sip(sip::Message, Vec<Finding>, Inspection),
    Msrp(msrp::Message, Vec<Finding>, Inspection),
    Error(DecodeError),
}

/// The message's findings followed by its bodies', in offset order.
fn with_bodies(mut findings: Vec<Finding>, bodies: &Inspection) -> Vec<Finding> {
    findings.extend(bodies.findings.iter().cloned());
    findings.sort_by_key(|f| f.offset);
    findings
}

fn decode_bytes(bytes: &[u8]) -> Outcome {
    let limits = Limits::default();
    if bytes.starts_with(b"MSRP ") {
        match msrp::Message::parse_with(bytes, &limits) {
            Ok(d) => {
                let m = d.value;
                let bodies = body::inspect_msrp(&m, &limits);
                Outcome::Msrp(m, with_bodies(d.findings, &bodies), bodies)
            }
            Err(e) => Outcome::Error(e),
        }
    } else {
        match sip::Message::parse_with(bytes, &limits) {
            Ok(d) => {
                let m = d.value;
                let bodies = body::inspect_sip(&m, &limits);
                Outcome::Sip(m, with_bodies(d.findings, &bodies), bodies)
            }
            Err(e) => Outcome::Error(e),
        }
    }
}

/// 1 when a finding is a warning or an error; `info` notes (a legal folded header) are not.
fn findings_code(f: &[Finding]) -> u8 {
    u8::from(f.iter().any(|x| x.severity >= Severity::Warning))
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
            Outcome::Sip(_, f, _) | Outcome::Msrp(_, f, _) => findings_code(f),
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
        Outcome::Sip(m, f, b) => serde_json::json!({
            "file": name, "protocol": "sip", "status": status(f),
            "message": m, "bodies": b.parts, "findings": f,
        }),
        Outcome::Msrp(m, f, b) => serde_json::json!({
            "file": name, "protocol": "msrp", "status": status(f),
            "message": m, "bodies": b.parts, "findings": f,
        }),
        Outcome::Error(e) => serde_json::json!({
            "file": name, "status": "error", "error": e,
        }),
    };
    let text = serde_json::to_string_pretty(&value).map_err(std::io::Error::other)?;
    writeln!(out, "{text}")
}

/// `ok`, `notes` (info findings only) or `findings` (a warning or an error).
fn status(f: &[Finding]) -> &'static str {
    match (f.is_empty(), findings_code(f)) {
        (true, _) => "ok",
        (false, 0) => "notes",
        _ => "findings",
    }
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

fn write_bodies(
    out: &mut impl Write,
    name: &str,
    bytes: &[u8],
    b: &Inspection,
) -> std::io::Result<()> {
    for p in &b.parts {
        let (l, c) = line_col(bytes, p.offset);
        writeln!(
            out,
            "  {name}:{l}:{c}: {} ({} bytes, {})",
            p.path, p.len, p.status
        )?;
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
        Outcome::Sip(m, f, b) => {
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
            write_bodies(out, name, bytes, b)?;
            write_findings(out, name, bytes, f)
        }
        Outcome::Msrp(m, f, b) => {
            writeln!(out, "{name}: MSRP {}", m.summary())?;
            for f in m.headers.iter() {
                writeln!(out, "  {}: {}", f.name, f.value)?;
            }
            writeln!(out, "body: {} bytes", m.body.len())?;
            write_bodies(out, name, bytes, b)?;
            write_findings(out, name, bytes, f)
        }
        Outcome::Error(e) => {
            let (l, c) = line_col(bytes, e.offset);
            writeln!(out, "{name}:{l}:{c}: cannot decode: {e}")
        }
    }
}
