//! Role labels of a captured trace: which simulated role (or the client) sent and received each
//! message, for the golden projection and the wire log.

use std::net::SocketAddr;

use cpmconf_capture::{Trace, TraceEntry, TraceFrame};
use cpmconf_codec::msrp;
use cpmconf_sim::Network;

use crate::golden::GoldenInput;
use crate::observed::Observed;

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

    /// The golden-projection inputs of a trace (undecodable entries are left to the wire log),
    /// per flow: the messages of one SIP Call-ID, or the MSRP requests from one role to another
    /// with their responses, stay in capture order (responses after their requests); flows are ordered by their first message's roles and start line
    /// (then by first appearance), so exchanges that run concurrently (the reg-event
    /// subscription beside a scenario's own traffic) cannot reorder the projection.
    pub fn golden_inputs<'t>(&self, trace: &'t Trace) -> Vec<GoldenInput<'t>> {
        let mut flows: Vec<(String, Vec<GoldenInput<'t>>)> = Vec::new();
        let mut keys: Vec<String> = Vec::new();
        for e in &trace.entries {
            let (frame, flow) = match &e.frame {
                // 100 Trying is hop-by-hop and sent only when the answer takes longer than
                // 200 ms (RFC 3261 17.2.1): timing, not behaviour; it stays in the wire log.
                TraceFrame::Sip(d) if d.value.status().is_some_and(|c| c.0 == 100) => continue,
                TraceFrame::Sip(d) => (
                    Observed::Sip(&d.value),
                    format!("sip {}", d.value.call_id().unwrap_or("")),
                ),
                TraceFrame::Msrp(d) => (Observed::Msrp(&d.value), String::new()),
                TraceFrame::Undecodable { .. } => continue,
            };
            let (from_role, to_role) = self.roles(e);
            // MSRP: one flow per direction of the requests (a response joins its request's
            // flow): each direction is written by one sender, in order.
            let flow = if flow.is_empty() {
                if is_request(&frame) {
                    format!("msrp {from_role} -> {to_role}")
                } else {
                    format!("msrp {to_role} -> {from_role}")
                }
            } else {
                flow
            };
            let input = GoldenInput {
                from_role,
                to_role,
                frame,
            };
            match keys.iter().position(|k| *k == flow) {
                Some(i) => {
                    if let Some((_, v)) = flows.get_mut(i) {
                        v.push(input);
                    }
                }
                None => {
                    keys.push(flow);
                    flows.push((String::new(), vec![input]));
                }
            }
        }
        for (key, v) in flows.iter_mut() {
            *key = flow_order_key(v);
            if v.first()
                .is_some_and(|i| matches!(i.frame, Observed::Sip(_)))
            {
                v.sort_by_key(|i| sip_order_key(&i.frame));
            } else {
                causal_order(v);
            }
        }
        // A stable sort keeps first-appearance order among flows with equal keys.
        flows.sort_by(|a, b| a.0.cmp(&b.0));
        flows.into_iter().flat_map(|(_, v)| v).collect()
    }

    /// The name of an address for the wire log.
    pub fn name(&self, addr: SocketAddr) -> Option<String> {
        self.net.role_of_addr(addr)
    }
}

/// Where a SIP message stands in its Call-ID, from its CSeq alone: the capture order of two
/// senders cannot be trusted (each side records what it sends after sending it, from whichever
/// task sent it), the CSeq can. Requests that create a dialog or stand alone come before the
/// in-dialog requests of the same number; a request before its provisional responses, those
/// before the final one, and an ACK last.
fn sip_order_key(o: &Observed<'_>) -> (u32, u8, u8) {
    let Observed::Sip(m) = o else {
        return (0, 0, 0);
    };
    let n = m.cseq_number().unwrap_or(0);
    let method = m.cseq_method().map(|x| x.to_string()).unwrap_or_default();
    let rank = match method.as_str() {
        "REGISTER" => 0,
        "INVITE" | "ACK" => 1,
        "SUBSCRIBE" => 2,
        "MESSAGE" | "OPTIONS" | "REFER" | "PUBLISH" => 3,
        "CANCEL" => 4,
        "NOTIFY" => 5,
        "UPDATE" | "INFO" | "PRACK" => 6,
        "BYE" => 7,
        _ => 8,
    };
    let phase = match (m.method(), m.status()) {
        (Some(meth), _) if meth.to_string() == "ACK" => 3,
        (Some(_), _) => 0,
        (_, Some(code)) if code.0 < 200 => 1,
        _ => 2,
    };
    (n, rank, phase)
}

fn is_request(o: &Observed<'_>) -> bool {
    match o {
        Observed::Sip(m) => m.method().is_some(),
        Observed::Msrp(m) => m.method().is_some(),
    }
}

/// Orders the MSRP requests of one direction as captured (one sender writes them in order),
/// each followed by its responses: the capture order of a response against the sender's next
/// request is a race between two endpoints.
fn causal_order(v: &mut Vec<GoldenInput<'_>>) {
    let all: Vec<GoldenInput<'_>> = std::mem::take(v);
    let tid = |i: &GoldenInput<'_>| match i.frame {
        Observed::Msrp(m) => m.tid.clone(),
        Observed::Sip(_) => String::new(),
    };
    let (requests, mut responses): (Vec<_>, Vec<_>) =
        all.into_iter().partition(|i| is_request(&i.frame));
    for r in requests {
        let t = tid(&r);
        v.push(r);
        let mut j = 0;
        while j < responses.len() {
            if responses.get(j).is_some_and(|x| tid(x) == t) {
                v.push(responses.remove(j));
            } else {
                j += 1;
            }
        }
    }
    v.extend(responses);
}

/// The order key of a flow: sender and receiver roles and method of its first request (the
/// first message when it has none), with no volatile value in it.
fn flow_order_key(flow: &[GoldenInput<'_>]) -> String {
    let Some(first) = flow
        .iter()
        .find(|i| is_request(&i.frame))
        .or_else(|| flow.first())
    else {
        return String::new();
    };
    let start = match first.frame {
        Observed::Sip(m) => match (m.method(), m.status()) {
            (Some(meth), _) => meth.to_string(),
            (_, Some(code)) => code.0.to_string(),
            _ => String::new(),
        },
        Observed::Msrp(m) => m
            .method()
            .map(|x| x.to_string())
            .or_else(|| m.code().map(|c| c.to_string()))
            .unwrap_or_default(),
    };
    // Registration first: it opens every scenario.
    let rank = if start == "REGISTER" { 0 } else { 1 };
    format!("{rank} {} {} {start}", first.from_role, first.to_role)
}
