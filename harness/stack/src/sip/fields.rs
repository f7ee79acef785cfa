//! Header helpers the stack needs: Via access through the codec's typed [`Via`], and lenient
//! readers of tags and name-addr URIs (they accept values the strict typed parser rejects, so a
//! peer's odd From still lets the stack answer).

use cpmconf_codec::sip::{Message, Via};
use std::net::{IpAddr, SocketAddr};

/// Splits `value` at `;` outside double quotes and angle brackets: the first piece is the main
/// part, the rest are parameters (trimmed).
pub fn split_params(value: &str) -> (&str, Vec<&str>) {
    let mut parts = Vec::new();
    let mut quoted = false;
    let mut angle = false;
    let mut start = 0;
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes.get(i) {
            Some(b'"') => quoted = !quoted,
            Some(b'\\') if quoted => i += 1,
            Some(b'<') if !quoted => angle = true,
            Some(b'>') if !quoted => angle = false,
            Some(b';') if !quoted && !angle => {
                parts.push(value.get(start..i).unwrap_or("").trim());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(value.get(start..).unwrap_or("").trim());
    let main = parts.first().copied().unwrap_or("");
    let params = parts.into_iter().skip(1).collect();
    (main, params)
}

/// The value of parameter `name` (case-insensitive): `Some("")` for a flag without a value.
pub fn param<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    let (_, params) = split_params(value);
    params.into_iter().find_map(|p| {
        let (k, v) = match p.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (p, ""),
        };
        k.eq_ignore_ascii_case(name).then_some(v)
    })
}

/// `value` without parameter `name`.
pub fn without_param(value: &str, name: &str) -> String {
    let (main, params) = split_params(value);
    let mut out = main.to_owned();
    for p in params {
        let k = p.split_once('=').map(|(k, _)| k.trim()).unwrap_or(p);
        if !k.eq_ignore_ascii_case(name) {
            out.push(';');
            out.push_str(p);
        }
    }
    out
}

/// The tag parameter of a From or To value (RFC 3261 19.3).
pub fn tag(value: &str) -> Option<&str> {
    param(value, "tag").filter(|t| !t.is_empty())
}

/// The URI of a name-addr or addr-spec (`"Bob" <sip:bob@x>;tag=1` -> `sip:bob@x`).
pub fn uri_of(value: &str) -> &str {
    // The first `<` outside a quoted display name opens the URI; the first `>` after it closes
    // it (a URI holds no `>`; header parameters after it, such as a quoted
    // `+sip.instance="<urn:...>"`, may).
    let mut in_quote = false;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quote => escaped = true,
            '"' => in_quote = !in_quote,
            '<' if !in_quote => {
                let rest = &value[i + 1..];
                return match rest.find('>') {
                    Some(b) => rest[..b].trim(),
                    None => rest.trim(),
                };
            }
            _ => {}
        }
    }
    split_params(value).0
}

/// The first (topmost) Via value of a message.
pub fn top_via(msg: &Message) -> Option<&str> {
    msg.headers.elements("Via").first().map(|(_, v)| *v)
}

/// The branch of the top Via (RFC 3261 8.1.1.7), read with the codec's typed [`Via`]; `None`
/// when the top Via is absent, malformed or has no branch.
pub fn top_branch(msg: &Message) -> Option<String> {
    msg.top_via()
        .ok()?
        .branch()
        .filter(|b| !b.is_empty())
        .map(str::to_owned)
}

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
    let Some(idx) = msg.headers.0.iter().position(|h| h.is("Via")) else {
        return;
    };
    let Some(h) = msg.headers.0.get(idx) else {
        return;
    };
    let rest: Vec<String> = h
        .elements()
        .into_iter()
        .skip(1)
        .map(|(_, v)| v.to_owned())
        .collect();
    let name = h.name.clone();
    let mut value = new_value.to_owned();
    for r in rest {
        value.push_str(", ");
        value.push_str(&r);
    }
    if let Some(slot) = msg.headers.0.get_mut(idx) {
        *slot = cpmconf_codec::sip::Header::new(name, value);
    }
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
    let pos = msg.headers.0.iter().position(|h| h.is("Via"));
    msg.headers.remove("Via");
    let at = pos.unwrap_or(0).min(msg.headers.0.len());
    for (i, v) in vias.into_iter().enumerate() {
        msg.headers
            .0
            .insert(at + i, cpmconf_codec::sip::Header::new("Via", v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("\"A;b\" <sip:a@x;lr>;tag=12", Some("12"), "sip:a@x;lr")]
    #[case("sip:a@x;tag=9", Some("9"), "sip:a@x")]
    #[case("<sip:a@x>", None, "sip:a@x")]
    #[case(
        "<sip:a@127.0.0.1:5;transport=udp>;+sip.instance=\"<urn:gsma:imei:A-1>\"",
        None,
        "sip:a@127.0.0.1:5;transport=udp"
    )]
    #[case("\"a <b>\" <sip:c@d>;tag=1", Some("1"), "sip:c@d")]
    fn tags_and_uris(#[case] v: &str, #[case] t: Option<&str>, #[case] u: &str) {
        assert_eq!(tag(v), t);
        assert_eq!(uri_of(v), u);
    }

    #[test]
    fn params_and_removal() {
        let v = "SIP/2.0/UDP h:1;branch=z9hG4bKx;rport";
        assert_eq!(param(v, "rport"), Some(""));
        assert_eq!(param(v, "branch"), Some("z9hG4bKx"));
        assert_eq!(without_param(v, "rport"), "SIP/2.0/UDP h:1;branch=z9hG4bKx");
    }
}
