//! The sim's routing memory: which role owns a Call-ID, a local tag or a socket address, and
//! which exchanges the stateless proxy forwarded. The core's classifier reads it; the roles
//! record into it through these methods.

use crate::role::Role;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

/// What routes later requests and labels captures.
#[derive(Debug, Default)]
pub(crate) struct Routing {
    /// The role that sent or received the request with each Call-ID (labelling only).
    call_roles: HashMap<String, Role>,
    /// The role behind each local tag of the sim, by (Call-ID, tag): the tag a role answered
    /// an out-of-dialog request with, or the From tag of a request it sent. An in-dialog
    /// request (To tag present) goes to the role owning its (Call-ID, To tag).
    tag_roles: HashMap<(String, String), Role>,
    /// The role of each socket of the sim (the core's SIP port, MSRP endpoints, connections).
    addr_roles: HashMap<SocketAddr, Role>,
    /// Requests and dialogs the proxy forwarded, by (Call-ID, the initiator's From tag): later
    /// requests carrying that tag as From or To tag are forwarded too.
    proxied: HashSet<(String, String)>,
}

impl Routing {
    /// `role` sent a request with this Call-ID (replacing an earlier owner).
    pub fn set_call_role(&mut self, call_id: &str, role: &Role) {
        self.call_roles.insert(call_id.to_owned(), role.clone());
    }

    /// `role` received a request with this Call-ID (an earlier owner stays).
    pub fn note_call_role(&mut self, call_id: &str, role: &Role) {
        self.call_roles
            .entry(call_id.to_owned())
            .or_insert_with(|| role.clone());
    }

    /// The role of a Call-ID.
    pub fn call_role(&self, call_id: &str) -> Option<&Role> {
        self.call_roles.get(call_id)
    }

    /// `role` owns local tag `tag` of the call.
    pub fn set_tag_role(&mut self, call_id: &str, tag: &str, role: &Role) {
        self.tag_roles
            .insert((call_id.to_owned(), tag.to_owned()), role.clone());
    }

    /// The role owning a local tag of the call.
    pub fn tag_role(&self, call_id: &str, tag: &str) -> Option<&Role> {
        self.tag_roles.get(&(call_id.to_owned(), tag.to_owned()))
    }

    /// `role` owns the socket with this address.
    pub fn set_addr_role(&mut self, addr: SocketAddr, role: &Role) {
        self.addr_roles.insert(addr, role.clone());
    }

    /// The role of a socket address.
    pub fn addr_role(&self, addr: SocketAddr) -> Option<&Role> {
        self.addr_roles.get(&addr)
    }

    /// The proxy forwarded the exchange started by `from_tag` in this call.
    pub fn set_proxied(&mut self, call_id: &str, from_tag: &str) {
        self.proxied
            .insert((call_id.to_owned(), from_tag.to_owned()));
    }

    /// `true` when requests of this call carrying `tag` belong to a forwarded exchange.
    pub fn is_proxied(&self, call_id: &str, tag: &str) -> bool {
        self.proxied.contains(&(call_id.to_owned(), tag.to_owned()))
    }

    /// Every address and Call-ID with its role, as plain values.
    pub fn role_map(&self) -> cpmconf_capture::RoleMap {
        cpmconf_capture::RoleMap {
            addrs: self
                .addr_roles
                .iter()
                .map(|(a, r)| (*a, r.to_string()))
                .collect(),
            call_ids: self
                .call_roles
                .iter()
                .map(|(c, r)| (c.clone(), r.to_string()))
                .collect(),
        }
    }

    /// How many Call-ID and tag entries are kept (they grow with every call routed).
    #[cfg(test)]
    pub fn per_call_entries(&self) -> (usize, usize) {
        (self.call_roles.len(), self.tag_roles.len())
    }
}
