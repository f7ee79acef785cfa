//! Via writers the stack needs (a new top Via, replacing or removing the top one) and host
//! formatting for sent-by and URIs. Reading header values is the codec's ([`Via`],
//! [`cpmconf_codec::sip::AddrText`], [`Message::top_branch`]).

use cpmconf_codec::sip::{Message, Via};
use std::net::{IpAddr, SocketAddr};

/// `host:port` for a Via sent-by or a URI, with brackets around IPv6 addresses.
pub fn host_port(addr: SocketAddr) -> String {
    format!("{}:{}", host(addr.ip()), addr.port())
}

/// A host for a Via sent-by or a URI: an IPv6 address in brackets (RFC 3261 25.1).
pub fn host(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    }
}

/// A new top Via for a request this side sends: `branch` (fresh, from the party's
/// [`IdGen`](crate::ids::IdGen)) and a bare `rport` (RFC 3581 3).
pub fn new_via(transport: &str, local: SocketAddr, branch: &str) -> Via {
    let mut via = Via::new(transport, &host(local.ip()), Some(local.port()), branch);
    via.params.set("rport", None);
    via
}

/// Replaces the first Via element of `msg` with `new_value`, keeping the other elements.
pub fn replace_top_via(msg: &mut Message, new_value: &str) {
    let Some(idx) = msg.headers.position("Via") else {
        return;
    };
    let Some(h) = msg.headers.at(idx) else {
        return;
    };
    let name = h.name.to_owned();
    let mut value = new_value.to_owned();
    for (_, r) in h.elements().into_iter().skip(1) {
        value.push_str(", ");
        value.push_str(r);
    }
    msg.headers.replace(idx, name, value);
}

/// Every Via element of `msg` except the first.
pub fn remove_top_via(msg: &mut Message) {
    let vias: Vec<String> = msg
        .headers
        .elements("Via")
        .into_iter()
        .skip(1)
        .map(|(_, v)| v.to_owned())
        .collect();
    let pos = msg.headers.position("Via");
    msg.headers.remove("Via");
    let at = pos.unwrap_or(0).min(msg.headers.len());
    for (i, v) in vias.into_iter().enumerate() {
        msg.headers.insert(at + i, "Via", v);
    }
}
