//! The stateless proxy (RFC 3261 16.11) between two registered UAs: a request to a registered
//! user is forwarded to its contact over the flow it registered from, with the core's Via
//! and Record-Route; responses go back by the next Via.

use crate::network::{Flow, Inner};
use crate::registrar;
use cpmconf_codec::sip::{Message, Method, NameAddr, Uri};
use cpmconf_stack::sip::{fields, ServerTx, Transport};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Prefix of the branches the proxy writes; responses with it on the top Via are ours.
const PROXY_BRANCH: &str = "z9hG4bKpx";

fn is_ours(inner: &Inner, uri: &str) -> bool {
    NameAddr::parse_lenient(uri).is_ok_and(|NameAddr { uri: u, .. }| {
        u.host.trim_matches(['[', ']']).parse::<IpAddr>().ok() == Some(inner.addr.ip())
            && u.port.unwrap_or(5060) == inner.addr.port()
    })
}

fn flow_of_uri(uri: &str) -> Option<Flow> {
    let u = NameAddr::parse_lenient(uri).ok()?.uri;
    let ip = u.host.trim_matches(['[', ']']).parse::<IpAddr>().ok()?;
    let transport = match u.param("transport") {
        Some(t) if t.eq_ignore_ascii_case("tcp") => Transport::Tcp,
        _ => Transport::Udp,
    };
    Some(Flow {
        addr: SocketAddr::new(ip, u.port.unwrap_or(5060)),
        transport,
    })
}

/// The flow of the binding whose contact URI is `uri`, if any.
fn flow_of_contact(inner: &Inner, uri: &str) -> Option<Flow> {
    inner.state().registrar.flow_of_contact(uri)
}

/// Forwards a request (RFC 3261 16.6 steps, stateless).
pub(crate) async fn forward_request(inner: &Arc<Inner>, tx: ServerTx) {
    let mut req = tx.request.clone();
    let method = req.method().cloned().unwrap_or(Method::Ack);
    if let Some(cid) = req.call_id() {
        let tag = req.from_tag().unwrap_or_default();
        inner.state().routing.set_proxied(cid, &tag);
    }
    // 16.4: a top Route naming us is removed.
    if let Some(first) = req
        .headers
        .elements("Route")
        .first()
        .map(|(_, v)| v.to_string())
    {
        if is_ours(inner, &first) {
            remove_first_element(&mut req, "Route");
        }
    }
    let ruri = req.request_uri().unwrap_or_default().to_owned();
    let to_domain = Uri::parse(&ruri).is_ok_and(|u| u.host.eq_ignore_ascii_case(&inner.cfg.domain));
    let target = if let Some(route) = req
        .headers
        .elements("Route")
        .first()
        .map(|(_, v)| v.to_string())
    {
        flow_of_uri(&route)
    } else if to_domain {
        // 16.5: the Request-URI becomes the registered contact.
        registrar::lookup(inner, &ruri).map(|b| {
            req.set_request_uri(b.uri.clone());
            b.flow
        })
    } else {
        flow_of_contact(inner, &ruri).or_else(|| flow_of_uri(&ruri))
    };
    let Some(flow) = target else {
        return;
    };
    // 16.6 step 3: Max-Forwards decremented; 483 when it reaches zero.
    let mf = req
        .header("Max-Forwards")
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(70);
    if mf == 0 {
        let resp =
            cpmconf_stack::sip::response_to(&req, cpmconf_codec::sip::StatusCode(483), Some("px"));
        let _ = tx.respond(resp).await;
        return;
    }
    req.headers.set("Max-Forwards", (mf - 1).to_string());
    // 16.6 step 4: Record-Route on dialog-creating requests, so in-dialog requests come back.
    if matches!(method, Method::Invite | Method::Subscribe | Method::Refer) {
        req.headers.push_front(
            "Record-Route",
            format!("<sip:{};lr>", fields::host_port(inner.addr)),
        );
    }
    // 16.11: the branch of a stateless proxy is a function of the incoming one, so
    // retransmissions get the same branch.
    let incoming = req.top_branch().unwrap_or_else(|| "none".to_owned());
    let suffix: String = incoming
        .trim_start_matches("z9hG4bK")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let mut via = inner.via(flow.transport, &format!("{PROXY_BRANCH}{suffix}"));
    via.params.remove("rport");
    req.headers.push_front("Via", via.to_string());
    let _ = inner
        .ep
        .send_stateless(&req, flow.addr, flow.transport)
        .await;
}

fn remove_first_element(msg: &mut Message, name: &str) {
    let rest: Vec<String> = msg
        .headers
        .elements(name)
        .into_iter()
        .skip(1)
        .map(|(_, v)| v.to_owned())
        .collect();
    msg.headers.remove(name);
    for r in rest {
        msg.headers.push(name, r);
    }
}

/// Forwards a response to a proxied request back by its second Via (RFC 3261 16.7, 18.2.2).
pub(crate) async fn forward_response(inner: &Arc<Inner>, mut resp: Message) {
    let Some(top) = resp.top_branch() else {
        return;
    };
    if !top.starts_with(PROXY_BRANCH) {
        return;
    }
    fields::remove_top_via(&mut resp);
    let Ok(via) = resp.top_via() else {
        return;
    };
    // RFC 3261 18.2.2 / RFC 3581 4: received and rport when present, else sent-by.
    let host = via
        .received()
        .map(str::to_owned)
        .unwrap_or_else(|| via.host.trim_matches(['[', ']']).to_owned());
    let port = via.rport().flatten().or(via.port).unwrap_or(5060);
    let Ok(ip) = host.parse::<IpAddr>() else {
        return;
    };
    let transport = if via.transport.eq_ignore_ascii_case("TCP") {
        Transport::Tcp
    } else {
        Transport::Udp
    };
    let _ = inner
        .ep
        .send_stateless(&resp, SocketAddr::new(ip, port), transport)
        .await;
}
