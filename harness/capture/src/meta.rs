//! Capture sidecar metadata: the scenario id and role map of a capture written by `cpmconf run`,
//! kept in `X.pcap.meta.json` next to `X.pcap`, so the capture can be checked later with no flags.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The sidecar format this build writes; [`read_sidecar`] rejects a newer one.
pub const FORMAT_VERSION: u32 = 2;

/// One address and the role it played (e.g. `client`, `core`, `peer`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleEntry {
    /// The address.
    pub addr: SocketAddr,
    /// The role's name as the scenario uses it.
    pub role: String,
}

/// One SIP Call-ID and the role it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallIdEntry {
    /// The Call-ID.
    pub call_id: String,
    /// The role's name.
    pub role: String,
}

/// Who is who in a capture, as plain values: the role of each simulated address and of each
/// SIP Call-ID. Exported by the simulated network after a run, read back from a sidecar, or
/// given by hand (`cpmconf check --roles`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleMap {
    /// The role of each address (every address not in it is the client's side).
    pub addrs: std::collections::HashMap<SocketAddr, String>,
    /// The role of each Call-ID, for messages of an address shared by roles.
    pub call_ids: std::collections::HashMap<String, String>,
}

impl RoleMap {
    /// The role of an address; an IPv4 address and its IPv4-mapped IPv6 form (`::ffff:a.b.c.d`,
    /// what a dual-stack socket reports) are the same endpoint.
    pub fn role_of_addr(&self, addr: SocketAddr) -> Option<String> {
        if let Some(r) = self.addrs.get(&addr) {
            return Some(r.clone());
        }
        let other = match addr.ip() {
            std::net::IpAddr::V4(v4) => std::net::IpAddr::V6(v4.to_ipv6_mapped()),
            std::net::IpAddr::V6(v6) => std::net::IpAddr::V4(v6.to_ipv4_mapped()?),
        };
        self.addrs
            .get(&SocketAddr::new(other, addr.port()))
            .cloned()
    }

    /// The role of a Call-ID.
    pub fn role_of_call_id(&self, call_id: &str) -> Option<String> {
        self.call_ids.get(call_id).cloned()
    }
}

impl CaptureMeta {
    /// The role map the sidecar records.
    pub fn role_map(&self) -> RoleMap {
        RoleMap {
            addrs: self
                .roles
                .iter()
                .map(|r| (r.addr, r.role.clone()))
                .collect(),
            call_ids: self
                .call_ids
                .iter()
                .map(|c| (c.call_id.clone(), c.role.clone()))
                .collect(),
        }
    }
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
    /// Which role each SIP Call-ID belongs to (the simulated core is one address for every
    /// role; its messages are told apart by Call-ID). Format 2.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub call_ids: Vec<CallIdEntry>,
    /// The judge's inputs a capture does not hold (format owned by the engine: upper-tester
    /// events, `sync` answers, when waits ended), so the capture replays the live verdicts.
    /// Format 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge: Option<serde_json::Value>,
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
