//! Role labels of a captured trace: which simulated role (or the client) sent and received each
//! message, for the judge, the golden projection and the wire log. Read from a plain
//! [`RoleMap`]: the simulated network's after a live run, a capture's sidecar, or `--roles`.

use std::net::SocketAddr;

use cpmconf_capture::RoleMap;
use cpmconf_capture::{TraceEntry, TraceFrame};
use cpmconf_codec::msrp;

/// The label of every party that is not a simulated role.
pub const CLIENT: &str = "client";

/// Labels addresses and messages with the roles of one role map.
#[derive(Debug, Clone, Default)]
pub struct Labeler {
    map: RoleMap,
}

impl Labeler {
    /// Labels from `map`.
    pub fn new(map: RoleMap) -> Self {
        Labeler { map }
    }

    /// The role of a simulated socket; the core's SIP traffic is attributed to the role that
    /// owns the Call-ID (`registrar`, `cf`, `bob`, ...).
    fn sim_role(&self, addr: SocketAddr, call_id: Option<&str>) -> Option<String> {
        let role = self.map.role_of_addr(addr)?;
        if role == "core" {
            if let Some(r) = call_id.and_then(|c| self.map.role_of_call_id(c)) {
                return Some(r);
            }
        }
        Some(role)
    }

    /// The role named by the first URI of an MSRP path header (a simulated endpoint), if any.
    fn path_role(&self, m: &msrp::Message, header: &str) -> Option<String> {
        let v = m.headers.iter().find(|f| f.is(header))?.value.as_str();
        let first = v.split_whitespace().next()?;
        let rest = first.split_once("://")?.1;
        let authority = rest.split(['/', ';']).next()?;
        let addr: SocketAddr = authority.parse().ok()?;
        self.map.role_of_addr(addr)
    }

    /// The role map it reads.
    pub fn map(&self) -> &RoleMap {
        &self.map
    }

    /// (sender, receiver) of a trace entry.
    pub fn roles(&self, e: &TraceEntry) -> (String, String) {
        match &e.frame {
            TraceFrame::Sip(d) => {
                let cid = d.value.call_id();
                (
                    self.sim_role(e.src, cid).unwrap_or_else(|| CLIENT.into()),
                    self.sim_role(e.dst, cid).unwrap_or_else(|| CLIENT.into()),
                )
            }
            TraceFrame::Msrp(d) => (
                self.map
                    .role_of_addr(e.src)
                    .or_else(|| self.path_role(&d.value, "From-Path"))
                    .unwrap_or_else(|| CLIENT.into()),
                self.map
                    .role_of_addr(e.dst)
                    .or_else(|| self.path_role(&d.value, "To-Path"))
                    .unwrap_or_else(|| CLIENT.into()),
            ),
            TraceFrame::Undecodable { .. } => (
                self.map
                    .role_of_addr(e.src)
                    .unwrap_or_else(|| CLIENT.into()),
                self.map
                    .role_of_addr(e.dst)
                    .unwrap_or_else(|| CLIENT.into()),
            ),
        }
    }

    /// The name of an address for the wire log: its simulated role, else [`CLIENT`].
    pub fn name(&self, addr: SocketAddr) -> Option<String> {
        Some(self.map.role_of_addr(addr).unwrap_or_else(|| CLIENT.into()))
    }
}
