//! Role labels of a captured trace: which simulated role (or the client) sent and received each
//! message, for the golden projection and the wire log.

use std::net::SocketAddr;

use cpmconf_capture::{TraceEntry, TraceFrame};
use cpmconf_codec::msrp;
use cpmconf_sim::Network;

/// The label of every party that is not a simulated role.
pub const CLIENT: &str = "client";

/// Labels addresses and messages with the roles of one network.
pub struct Labeler<'n> {
    net: &'n Network,
}

impl<'n> Labeler<'n> {
    /// Labels for `net`.
    pub fn new(net: &'n Network) -> Self {
        Labeler { net }
    }

    /// The role of a simulated socket; the core's SIP traffic is attributed to the role that
    /// owns the Call-ID (`registrar`, `cf`, `bob`, ...).
    fn sim_role(&self, addr: SocketAddr, call_id: Option<&str>) -> Option<String> {
        let role = self.net.role_of_addr(addr)?;
        if role == "core" {
            if let Some(r) = call_id.and_then(|c| self.net.role_of_call_id(c)) {
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
        self.net.role_of_addr(addr)
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
                self.net
                    .role_of_addr(e.src)
                    .or_else(|| self.path_role(&d.value, "From-Path"))
                    .unwrap_or_else(|| CLIENT.into()),
                self.net
                    .role_of_addr(e.dst)
                    .or_else(|| self.path_role(&d.value, "To-Path"))
                    .unwrap_or_else(|| CLIENT.into()),
            ),
            TraceFrame::Undecodable { .. } => (
                self.net
                    .role_of_addr(e.src)
                    .unwrap_or_else(|| CLIENT.into()),
                self.net
                    .role_of_addr(e.dst)
                    .unwrap_or_else(|| CLIENT.into()),
            ),
        }
    }

    /// The name of an address for the wire log: its simulated role, else [`CLIENT`].
    pub fn name(&self, addr: SocketAddr) -> Option<String> {
        Some(self.net.role_of_addr(addr).unwrap_or_else(|| CLIENT.into()))
    }
}
