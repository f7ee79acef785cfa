//! Capture sidecar metadata: the scenario id and role map of a capture written by `cpmconf run`,
//! kept in `X.pcap.meta.json` next to `X.pcap`, so the capture can be checked later with no flags.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The sidecar format this build writes; [`read_sidecar`] rejects a newer one.
pub const FORMAT_VERSION: u32 = 1;

/// One address and the role it played (e.g. `client`, `core`, `peer`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleEntry {
    /// The address.
    pub addr: SocketAddr,
    /// The role's name as the scenario uses it.
    pub role: String,
}

/// What a run knew about a capture that the capture itself does not say.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CaptureMeta {
    /// The scenario id the capture was recorded for.
    pub scenario: String,
    /// The addresses of the client under test (SIP, MSRP, ...).
    pub client: Vec<SocketAddr>,
    /// Every other known address and its role.
    pub roles: Vec<RoleEntry>,
    /// The run's seed, when it had one.
    pub seed: Option<u64>,
    /// The sidecar format ([`FORMAT_VERSION`] when written by this build).
    pub format_version: u32,
}

/// Why a sidecar could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// The file could not be read or written.
    #[error("cannot access capture metadata {path}: {source}")]
    Io {
        /// The sidecar file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The file is not a valid sidecar.
    #[error("capture metadata {path} is malformed: {problem}")]
    Malformed {
        /// The sidecar file.
        path: PathBuf,
        /// What is wrong (with line and column for JSON errors).
        problem: String,
    },
}

/// The sidecar of a capture: its full file name plus `.meta.json` (`X.pcap` ->
/// `X.pcap.meta.json`), so captures that differ only by extension keep separate sidecars.
pub fn sidecar_path(capture: impl AsRef<Path>) -> PathBuf {
    let mut name = capture.as_ref().as_os_str().to_owned();
    name.push(".meta.json");
    PathBuf::from(name)
}

/// Writes `meta` next to `capture` (pretty JSON, trailing newline); returns the sidecar path.
pub fn write_sidecar(capture: impl AsRef<Path>, meta: &CaptureMeta) -> Result<PathBuf, MetaError> {
    let path = sidecar_path(capture);
    let mut text = serde_json::to_string_pretty(meta).map_err(|e| MetaError::Malformed {
        path: path.clone(),
        problem: e.to_string(),
    })?;
    text.push('\n');
    std::fs::write(&path, text).map_err(|source| MetaError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// Reads the sidecar of `capture`: `Ok(None)` when there is none, an error when it exists but
/// cannot be read, is not valid JSON of this shape, or has a newer format version.
pub fn read_sidecar(capture: impl AsRef<Path>) -> Result<Option<CaptureMeta>, MetaError> {
    let path = sidecar_path(capture);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(MetaError::Io { path, source }),
    };
    let meta: CaptureMeta = serde_json::from_str(&text).map_err(|e| MetaError::Malformed {
        path: path.clone(),
        problem: e.to_string(),
    })?;
    if meta.format_version > FORMAT_VERSION || meta.format_version == 0 {
        return Err(MetaError::Malformed {
            path,
            problem: format!(
                "format_version {} is not supported (this build reads 1 to {FORMAT_VERSION})",
                meta.format_version
            ),
        });
    }
    Ok(Some(meta))
}
