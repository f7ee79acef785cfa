//! The canonical order of a trace for the golden projection: messages grouped into flows (a SIP
//! Call-ID; an MSRP session, both directions), each flow ordered causally from the messages'
//! own numbers (CSeq, transaction ids, Byte-Range), flows ordered by their content, so the
//! projection does not depend on which of two concurrent senders the capture recorded first.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::{msrp_lines, sip_lines, GoldenInput, Symbols};
use crate::observed::Observed;

/// One flow: its messages in canonical order.
type Flow<'a> = Vec<GoldenInput<'a>>;

/// Reorders `inputs` (capture order) canonically and drops what only timing decides: `100
/// Trying` (RFC 3261 17.2.1) and retransmissions (a second copy of a request, of a response code
/// or of an ACK in one SIP transaction, RFC 3261 17.1.1.2 / 17.2.1; an MSRP request with a
/// transaction id already seen, RFC 4975 7.1).
///
/// Order, independent of the capture order between senders:
/// - a SIP flow (one Call-ID) lists its transactions by CSeq number, then method (REGISTER,
///   INVITE, SUBSCRIBE, MESSAGE/OPTIONS/REFER/PUBLISH, CANCEL, NOTIFY, UPDATE/INFO/PRACK, BYE),
///   then the requesting role; inside a transaction the request, provisional and final
///   responses by code, then the ACK;
/// - an MSRP flow (one session, both directions) lists the requests of each sender (the
///   client's first, then by role) in the order that sender wrote them (chunks of one message by
///   Byte-Range), each followed by its responses;
/// - REGISTER flows come first, then the other SIP flows by their content with volatile values
///   blanked (roles, start lines, headers), each followed by the MSRP sessions its SDP
///   negotiated; MSRP sessions no SIP flow negotiated come last, by content.
pub fn canonical<'a>(inputs: &[GoldenInput<'a>]) -> Vec<GoldenInput<'a>> {
    let mut sip: BTreeMap<String, Vec<(usize, GoldenInput<'a>)>> = BTreeMap::new();
    let mut msrp: BTreeMap<(String, String), Vec<(usize, GoldenInput<'a>)>> = BTreeMap::new();
    for (i, inp) in inputs.iter().enumerate() {
        match inp.frame {
            Observed::Sip(m) => {
                if m.status().is_some_and(|c| c.0 == 100) {
                    continue;
                }
                let key = m.call_id().unwrap_or("").to_string();
                sip.entry(key).or_default().push((i, inp.clone()));
            }
            Observed::Msrp(m) => {
                let a = session_uri(m.header("To-Path").unwrap_or(""));
                let b = session_uri(m.header("From-Path").unwrap_or(""));
                let key = if a <= b { (a, b) } else { (b, a) };
                msrp.entry(key).or_default().push((i, inp.clone()));
            }
        }
    }
    let mut sip_flows: Vec<(u8, String, Flow<'a>, usize)> = sip
        .into_values()
        .map(|v| {
            let first = v.first().map_or(usize::MAX, |(i, _)| *i);
            let flow = sip_flow(v);
            let register = flow.iter().any(|i| match i.frame {
                Observed::Sip(m) => m.cseq_method().is_some_and(|x| x.to_string() == "REGISTER"),
                Observed::Msrp(_) => false,
            });
            (u8::from(!register), shape(&flow), flow, first)
        })
        .collect();
    // Equal content: the flows are interchangeable but for their volatile values; the capture
    // order decides between them (the only case where it still matters).
    sip_flows.sort_by(|a, b| (a.0, &a.1, a.3).cmp(&(b.0, &b.1, b.3)));
    let mut msrp_flows: Vec<(String, String, String, Flow<'a>, usize)> = msrp
        .into_iter()
        .map(|((a, b), v)| {
            let first = v.first().map_or(usize::MAX, |(i, _)| *i);
            let flow = msrp_flow(v);
            (a, b, shape(&flow), flow, first)
        })
        .collect();
    msrp_flows.sort_by(|x, y| (&x.2, x.4).cmp(&(&y.2, y.4)));
    let mut out = Vec::with_capacity(inputs.len());
    for (_, _, flow, _) in sip_flows {
        let uris = sdp_session_uris(&flow);
        out.extend(flow);
        let mut k = 0;
        while k < msrp_flows.len() {
            let hit = msrp_flows
                .get(k)
                .is_some_and(|f| uris.contains(&f.0) || uris.contains(&f.1));
            if hit {
                out.extend(msrp_flows.remove(k).3);
            } else {
                k += 1;
            }
        }
    }
    for f in msrp_flows {
        out.extend(f.3);
    }
    out
}

/// `msrp://host:port/session` of the first URI of a path (or SDP) value, empty when none.
fn session_uri(path: &str) -> String {
    msrp_uri_regex()
        .and_then(|re| re.find(path))
        .map(|m| m.as_str().to_string())
        .unwrap_or_default()
}

/// Every MSRP URI a SIP flow's bodies mention (SDP `a=path`, also inside multipart bodies).
fn sdp_session_uris(flow: &[GoldenInput<'_>]) -> Vec<String> {
    let Some(re) = msrp_uri_regex() else {
        return Vec::new();
    };
    let mut v = Vec::new();
    for i in flow {
        if let Observed::Sip(m) = i.frame {
            let body = String::from_utf8_lossy(&m.body);
            v.extend(re.find_iter(&body).map(|x| x.as_str().to_string()));
        }
    }
    v
}

fn msrp_uri_regex() -> Option<&'static regex::Regex> {
    static RE: OnceLock<Option<regex::Regex>> = OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"msrps?://[^/\s]+/[^;\s/]+").ok())
        .as_ref()
}

/// The projected text of a flow with every symbol blanked (`<call-id:3>` -> `<call-id>`): what a
/// flow says, whatever its generated values and wherever it stands.
fn shape(flow: &[GoldenInput<'_>]) -> String {
    let mut sym = Symbols::new();
    let mut text = String::new();
    for i in flow {
        text.push_str(&i.from_role);
        text.push_str(" -> ");
        text.push_str(&i.to_role);
        text.push('\n');
        let lines = match i.frame {
            Observed::Sip(m) => sip_lines(m, &mut sym),
            Observed::Msrp(m) => msrp_lines(m, &mut sym),
        };
        for l in lines {
            text.push_str(&l);
            text.push('\n');
        }
    }
    match symbol_regex() {
        Some(re) => re.replace_all(&text, "<$1>").into_owned(),
        None => text,
    }
}

fn symbol_regex() -> Option<&'static regex::Regex> {
    static RE: OnceLock<Option<regex::Regex>> = OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"<([a-z-]+):\d+>").ok())
        .as_ref()
}

/// RFC 3261 8.1.1.5: the CSeq orders the requests of one sender; between the two senders of a
/// dialog the method decides (the dialog-creating request first, the BYE last).
fn method_rank(method: &str) -> u8 {
    match method {
        "REGISTER" => 0,
        "INVITE" | "ACK" => 1,
        "SUBSCRIBE" => 2,
        "MESSAGE" | "OPTIONS" | "REFER" | "PUBLISH" => 3,
        "CANCEL" => 4,
        "NOTIFY" => 5,
        "UPDATE" | "INFO" | "PRACK" => 6,
        "BYE" => 7,
        _ => 8,
    }
}

/// One SIP Call-ID in transaction order, retransmissions dropped.
fn sip_flow<'a>(msgs: Vec<(usize, GoldenInput<'a>)>) -> Flow<'a> {
    // (cseq, method rank, method, requester, phase, code) -> first copy.
    type Key = (u32, u8, String, String, u8, u16);
    let mut by_key: BTreeMap<Key, (usize, GoldenInput<'a>)> = BTreeMap::new();
    for (i, inp) in msgs {
        let Observed::Sip(m) = inp.frame else {
            continue;
        };
        let n = m.cseq_number().unwrap_or(0);
        let mut method = m.cseq_method().map(|x| x.to_string()).unwrap_or_default();
        let (phase, code, requester) = match (m.method(), m.status()) {
            (Some(meth), _) if meth.to_string() == "ACK" => (3, 0, inp.from_role.clone()),
            (Some(_), _) => (0, 0, inp.from_role.clone()),
            (_, Some(c)) if c.0 < 200 => (1, c.0, inp.to_role.clone()),
            (_, Some(c)) => (2, c.0, inp.to_role.clone()),
            _ => (4, 0, inp.from_role.clone()),
        };
        // The ACK belongs to its INVITE (RFC 3261 17.1.1.3, 13.2.2.4).
        if method == "ACK" {
            method = "INVITE".into();
        }
        let key = (n, method_rank(&method), method, requester, phase, code);
        // A retransmission keeps the first copy's place: it says nothing new.
        by_key.entry(key).or_insert((i, inp));
    }
    by_key.into_values().map(|(_, inp)| inp).collect()
}

fn is_request(inp: &GoldenInput<'_>) -> bool {
    match inp.frame {
        Observed::Sip(m) => m.method().is_some(),
        Observed::Msrp(m) => m.method().is_some(),
    }
}

/// One MSRP session: per sender (the client first), its requests in the order it wrote them,
/// chunks of one message by Byte-Range, each request followed by its responses.
fn msrp_flow<'a>(msgs: Vec<(usize, GoldenInput<'a>)>) -> Flow<'a> {
    let (requests, mut responses): (Vec<_>, Vec<_>) =
        msgs.into_iter().partition(|(_, i)| is_request(i));
    let tid = |i: &GoldenInput<'_>| match i.frame {
        Observed::Msrp(m) => m.tid.clone(),
        Observed::Sip(_) => String::new(),
    };
    // Per sender: the first appearance of each Message-ID keeps the sender's write order; the
    // chunks of one message sort by their first byte (RFC 4975 7.1.1).
    let mut first_of: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut seen_tids: Vec<(String, String)> = Vec::new();
    let mut keyed = Vec::new();
    for (i, r) in requests {
        let t = (r.from_role.clone(), tid(&r));
        // RFC 4975 7.1: a request is never retransmitted with the same transaction id.
        if seen_tids.contains(&t) {
            continue;
        }
        seen_tids.push(t);
        let (mid, start) = match r.frame {
            Observed::Msrp(m) => (
                m.message_id().unwrap_or("").to_string(),
                m.byte_range().and_then(Result::ok).map_or(0, |b| b.start),
            ),
            Observed::Sip(_) => (String::new(), 0),
        };
        let order = *first_of.entry((r.from_role.clone(), mid)).or_insert(i);
        let client_last = u8::from(r.from_role != "client");
        keyed.push(((client_last, r.from_role.clone(), order, start, i), r));
    }
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::new();
    for (_, r) in keyed {
        let t = tid(&r);
        let from = r.from_role.clone();
        out.push(r);
        let mut mine: Vec<(usize, GoldenInput<'a>)> = Vec::new();
        let mut j = 0;
        while j < responses.len() {
            if responses
                .get(j)
                .is_some_and(|(_, x)| tid(x) == t && x.to_role == from)
            {
                mine.push(responses.remove(j));
            } else {
                j += 1;
            }
        }
        mine.sort_by_key(|(i, x)| (code_of(x), *i));
        mine.dedup_by_key(|(_, x)| code_of(x));
        out.extend(mine.into_iter().map(|(_, x)| x));
    }
    out.extend(responses.into_iter().map(|(_, x)| x));
    out
}

fn code_of(inp: &GoldenInput<'_>) -> u16 {
    match inp.frame {
        Observed::Msrp(m) => m.code().unwrap_or(0),
        Observed::Sip(m) => m.status().map_or(0, |c| c.0),
    }
}
