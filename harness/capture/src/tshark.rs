//! The tshark check: runs Wireshark's `tshark` over a capture and lists, per frame, the protocol
//! it decoded, the SIP/MSRP start line, malformed flags, expert warnings and bad checksums, so a
//! test or a report can prove that captures open cleanly in Wireshark.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Expert-info severity at or above which a frame counts as a problem (Wireshark's PI_WARN).
const PI_WARN: u32 = 0x0060_0000;

/// Field aggregator inside one column (ASCII unit separator: never in SIP/MSRP start lines).
const AGGREGATOR: &str = "\u{1f}";

/// Arguments that make tshark decode SIP and MSRP on any port and validate checksums. The
/// heuristics run before the port tables, so a port the OS handed out that Wireshark registers to
/// another protocol (UDP 37008 is TZSP) still shows SIP and MSRP.
const DISSECTOR_ARGS: &[&str] = &[
    "-2",
    "-o",
    "udp.try_heuristic_first:TRUE",
    "-o",
    "tcp.try_heuristic_first:TRUE",
    "--enable-heuristic",
    "sip_udp",
    "--enable-heuristic",
    "sip_tcp",
    "--enable-heuristic",
    "msrp_tcp",
    "-o",
    "tcp.desegment_tcp_streams:TRUE",
    "-o",
    "tcp.check_checksum:TRUE",
    "-o",
    "udp.check_checksum:TRUE",
    "-o",
    "ip.check_checksum:TRUE",
];

const FIELDS: &[&str] = &[
    "frame.number",
    "_ws.col.Protocol",
    "_ws.malformed",
    "_ws.expert.severity",
    "_ws.expert.message",
    "sip.Request-Line",
    "sip.Status-Line",
    "msrp.request.line",
    "msrp.response.line",
    "ip.checksum.status",
    "tcp.checksum.status",
    "udp.checksum.status",
    "tcp.reassembled_in",
];

/// Why tshark could not check a capture.
#[derive(Debug, thiserror::Error)]
pub enum TsharkError {
    /// The tshark binary could not be started.
    #[error("tshark could not be run ({program}): {source}; install Wireshark's tshark (Debian: apt-get install tshark)")]
    NotInstalled {
        /// The program tried.
        program: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// tshark ran but failed.
    #[error("tshark failed on {path} ({status}): {stderr}")]
    Failed {
        /// The capture.
        path: PathBuf,
        /// Its exit status.
        status: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// tshark's output could not be read.
    #[error("unexpected tshark output line {line}: {text:?}")]
    Output {
        /// 1-based output line.
        line: usize,
        /// The line.
        text: String,
    },
}

/// One expert-info item of a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpertInfo {
    /// Wireshark's severity value (0x00200000 chat, 0x00400000 note, 0x00600000 warn,
    /// 0x00800000 error).
    pub severity: u32,
    /// The message.
    pub message: String,
}

/// What tshark made of one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsharkFrame {
    /// 1-based frame number.
    pub number: u64,
    /// The protocol column (`SIP`, `SIP/SDP`, `MSRP`, `TCP`, ...).
    pub protocol: String,
    /// The SIP request or status lines decoded in this frame.
    pub sip: Vec<String>,
    /// The MSRP request or response lines decoded in this frame.
    pub msrp: Vec<String>,
    /// tshark flagged the frame as malformed.
    pub malformed: bool,
    /// A checksum (IP, TCP or UDP) was validated and found bad.
    pub bad_checksum: bool,
    /// Expert info of the frame.
    pub expert: Vec<ExpertInfo>,
    /// For a TCP segment that is part of a larger PDU: the frame where the PDU was reassembled.
    pub reassembled_in: Option<u64>,
}

impl TsharkFrame {
    /// Malformed, a bad checksum, or expert info of severity warning or error.
    pub fn has_problem(&self) -> bool {
        self.malformed || self.bad_checksum || self.expert.iter().any(|e| e.severity >= PI_WARN)
    }
}

/// tshark's view of a whole capture.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TsharkSummary {
    /// Every frame, in order.
    pub frames: Vec<TsharkFrame>,
}

impl TsharkSummary {
    /// The frames with a problem ([`TsharkFrame::has_problem`]).
    pub fn problem_frames(&self) -> Vec<&TsharkFrame> {
        self.frames.iter().filter(|f| f.has_problem()).collect()
    }

    /// Every SIP start line tshark decoded, in frame order.
    pub fn sip_lines(&self) -> Vec<&str> {
        self.frames
            .iter()
            .flat_map(|f| f.sip.iter().map(String::as_str))
            .collect()
    }

    /// Every MSRP start line tshark decoded, in frame order.
    pub fn msrp_lines(&self) -> Vec<&str> {
        self.frames
            .iter()
            .flat_map(|f| f.msrp.iter().map(String::as_str))
            .collect()
    }
}

/// Runs `tshark` (from `$TSHARK` or `PATH`) over `path`.
pub fn check_pcap(path: impl AsRef<Path>) -> Result<TsharkSummary, TsharkError> {
    check_pcap_with(path, &[])
}

/// [`check_pcap`] with extra tshark arguments (e.g. `-d`, `tcp.port==5060,sip`).
pub fn check_pcap_with(
    path: impl AsRef<Path>,
    extra_args: &[&str],
) -> Result<TsharkSummary, TsharkError> {
    let path = path.as_ref();
    let program = std::env::var_os("TSHARK")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("tshark"));
    let mut cmd = Command::new(&program);
    cmd.arg("-r")
        .arg(path)
        .args(DISSECTOR_ARGS)
        .args(extra_args);
    cmd.args(["-T", "fields", "-E", "separator=/t", "-E"])
        .arg(format!("aggregator={AGGREGATOR}"));
    for f in FIELDS {
        cmd.args(["-e", f]);
    }
    let output = cmd.output().map_err(|source| TsharkError::NotInstalled {
        program: program.clone(),
        source,
    })?;
    if !output.status.success() {
        return Err(TsharkError::Failed {
            path: path.to_path_buf(),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    parse_fields(&String::from_utf8_lossy(&output.stdout))
}

fn list(col: &str) -> Vec<String> {
    col.split(AGGREGATOR)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
        .collect()
}

/// Parses the tab-separated field output of [`check_pcap_with`]'s tshark command.
pub fn parse_fields(text: &str) -> Result<TsharkSummary, TsharkError> {
    let mut frames = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = || TsharkError::Output {
            line: i + 1,
            text: line.to_string(),
        };
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < FIELDS.len() {
            return Err(bad());
        }
        let col = |n: usize| cols.get(n).copied().unwrap_or_default();
        let number = col(0).parse::<u64>().map_err(|_| bad())?;
        let severities = list(col(3));
        let messages = list(col(4));
        let expert = severities
            .iter()
            .enumerate()
            .map(|(k, s)| ExpertInfo {
                severity: s.parse::<u32>().unwrap_or(0),
                message: messages.get(k).cloned().unwrap_or_default(),
            })
            .collect();
        let mut sip = list(col(5));
        sip.extend(list(col(6)));
        let mut msrp = list(col(7));
        msrp.extend(list(col(8)));
        // Wireshark's proto_checksum_status: 0 bad, 1 good, 2 unverified, 3 not present.
        let bad_checksum = (9..=11).any(|n| list(col(n)).iter().any(|s| s == "0"));
        frames.push(TsharkFrame {
            number,
            protocol: col(1).to_string(),
            sip,
            msrp,
            malformed: !col(2).is_empty(),
            bad_checksum,
            expert,
            reassembled_in: list(col(12)).first().and_then(|s| s.parse().ok()),
        });
    }
    Ok(TsharkSummary { frames })
}
