//! Capture errors: a file that cannot be read as a capture (fatal), and a frame that cannot be
//! decoded (reported, reading goes on).

use std::path::PathBuf;

/// A capture file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is empty, or its first bytes are neither a pcap nor a pcapng header (the text
    /// says what they were against the magic numbers expected).
    #[error("not a pcap or pcapng file: {0}")]
    NotACapture(String),
    /// The capture's link layer is one this reader does not decode.
    #[error(
        "link type {link} is not supported (supported: Ethernet 1 incl. VLAN, raw IP 101/228/229, \
         Linux cooked 113 and 276, BSD loopback 0 and 108)"
    )]
    UnsupportedLinkType {
        /// The LINKTYPE_ number.
        link: u32,
    },
    /// The file ends inside a record.
    #[error(
        "capture truncated at byte {offset}: frame {frame} is incomplete ({remaining} bytes left)"
    )]
    Truncated {
        /// The 1-based number of the incomplete frame (or block, for pcapng).
        frame: u64,
        /// Byte offset in the file where the incomplete record starts.
        offset: usize,
        /// How many bytes remained.
        remaining: usize,
    },
    /// A record whose fields are invalid.
    #[error("frame {frame} at byte {offset}: {problem}")]
    Format {
        /// The 1-based frame (or block) number.
        frame: u64,
        /// Byte offset in the file where the record starts.
        offset: usize,
        /// What is wrong.
        problem: String,
    },
}

/// A frame that could not be decoded, or a TCP stream that could not be reassembled. Reading
/// goes on; these are listed in the result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("frame {frame}: {problem}")]
pub struct FrameProblem {
    /// The 1-based frame number.
    pub frame: u64,
    /// What is wrong.
    pub problem: String,
}
