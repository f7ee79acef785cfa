//! The golden projection of a trace: in canonical order (see `canonical`), direction and role,
//! start line, the significant headers (feature tags decoded), an SDP summary, MSRP report
//! headers, CPIM headers and XML bodies reduced to their elements; volatile values become stable
//! symbols, numbered in that order.

pub mod canonical;
pub mod snap;
pub mod symbols;

use cpmconf_codec::sip::{feature_tag::FeatureSet, icsi};
use cpmconf_codec::{cpim, multipart, sdp, sip, xml};

pub use snap::{
    bless, compare, golden_path, unified_diff, write_pending, Comparison, SnapError, Snapshot,
};
pub use symbols::Symbols;

use crate::observed::Observed;

/// One decoded message of the trace, with the roles it went between.
pub type Frame<'a> = Observed<'a>;

/// One message for the projection.
#[derive(Debug, Clone)]
pub struct GoldenInput<'a> {
    /// Sending role (`client`, `cf`, `pf`, `core`, ...).
    pub from_role: String,
    /// Receiving role.
    pub to_role: String,
    /// The message.
    pub frame: Frame<'a>,
}

/// SIP headers shown verbatim (volatile ones as symbols), in this order.
const SIGNIFICANT: &[(&str, Option<&str>)] = &[
    ("Conversation-ID", Some("conversation-id")),
    ("Contribution-ID", Some("contribution-id")),
    ("InReplyTo-Contribution-ID", Some("contribution-id")),
    ("P-Preferred-Service", None),
    ("Privacy", None),
    ("Reason", None),
    ("Require", None),
    ("Referred-By", None),
    ("Event", None),
];

/// XML elements and attributes whose values are volatile.
const VOLATILE_XML: &[(&str, &str)] = &[
    ("message-id", "message-id"),
    ("datetime", "date"),
    ("lastactive", "date"),
    // reginfo: the seconds left of a registration count down with the time taken so far.
    ("expires", "expires"),
];

/// Projects a trace to its golden text. Same messages, same bytes, whatever the order between
/// senders in `inputs`: they are put in canonical order first (`canonical::canonical`), and
/// symbols are numbered only then.
pub fn project(inputs: &[GoldenInput<'_>]) -> String {
    let ordered = canonical::canonical(inputs);
    let mut sym = Symbols::new();
    let mut out = String::new();
    for (i, inp) in ordered.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let lines = match inp.frame {
            Observed::Sip(m) => sip_lines(m, &mut sym),
            Observed::Msrp(m) => msrp_lines(m, &mut sym),
        };
        let mut it = lines.into_iter();
        let head = it.next().unwrap_or_default();
        out.push_str(&format!("{} -> {}: {head}\n", inp.from_role, inp.to_role));
        for l in it {
            out.push_str("  ");
            out.push_str(&l);
            out.push('\n');
        }
    }
    out
}

fn icsi_names(sets: &[FeatureSet]) -> Vec<String> {
    let mut v = Vec::new();
    for s in sets {
        for i in s.icsi_refs() {
            v.push(icsi::short_name(&i).map(str::to_string).unwrap_or(i));
        }
        v.extend(s.iari_refs().into_iter().map(|i| format!("iari {i}")));
        if s.is_focus() {
            v.push("isfocus".into());
        }
        if s.require() {
            v.push("require".into());
        }
        if s.explicit() {
            v.push("explicit".into());
        }
    }
    v
}

fn sip_lines(m: &sip::Message, sym: &mut Symbols) -> Vec<String> {
    let mut l = Vec::new();
    l.push(match (m.method(), m.request_uri(), m.status()) {
        (Some(meth), Some(uri), _) => format!("{meth} {}", sym.addresses(uri)),
        (_, _, Some(code)) => match m.cseq_method() {
            Some(meth) => format!("{} ({meth})", code.0),
            None => code.0.to_string(),
        },
        _ => m.summary(),
    });
    if let Some(c) = m.call_id() {
        l.push(format!("Call-ID: {}", sym.symbol("call-id", c)));
    }
    match m.accept_contacts() {
        Ok(sets) if !sets.is_empty() => {
            l.push(format!("Accept-Contact: {}", icsi_names(&sets).join(", ")))
        }
        Ok(_) => {}
        Err(_) => l.push("Accept-Contact: (undecodable)".into()),
    }
    if m.headers.contains("Contact") {
        match m.contact_features() {
            Ok(sets) => {
                let names = icsi_names(&sets);
                let inst: Vec<String> = sets.iter().filter_map(|s| s.sip_instance()).collect();
                let mut parts = names;
                parts.extend(
                    inst.into_iter()
                        .map(|i| format!("+sip.instance={}", sym.symbol("instance", &i))),
                );
                l.push(format!(
                    "Contact: {}",
                    if parts.is_empty() {
                        "(no feature tags)".to_string()
                    } else {
                        parts.join(", ")
                    }
                ));
            }
            Err(_) => l.push("Contact: (undecodable)".into()),
        }
    }
    for (name, volatile) in SIGNIFICANT {
        for h in m.headers.get_all(name) {
            let v = match volatile {
                Some(kind) => sym.symbol(kind, h.value),
                None => sym.addresses(h.value),
            };
            l.push(format!("{name}: {v}"));
        }
    }
    if let Some(ct) = m.header("Content-Type") {
        l.push(format!("Content-Type: {}", essence(ct)));
    }
    for ua in m.headers.get_all("User-Agent") {
        // wire-facts 3: only the CPM product token is significant.
        let token = ua
            .value
            .split_whitespace()
            .find(|t| t.starts_with("CPM-"))
            .unwrap_or("(no CPM token)");
        l.push(format!("User-Agent: {token}"));
    }
    l.extend(body_lines(m.header("Content-Type"), &m.body, sym));
    l
}

fn essence(ct: &str) -> String {
    ct.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn body_lines(ct: Option<&str>, body: &[u8], sym: &mut Symbols) -> Vec<String> {
    let Some(ct) = ct else { return Vec::new() };
    let e = essence(ct);
    if body.is_empty() {
        return Vec::new();
    }
    if e == "application/sdp" {
        return sdp_lines(body, sym);
    }
    if e == "message/cpim" {
        return cpim_lines(body, sym);
    }
    if e.starts_with("multipart/") {
        return match multipart::Multipart::parse_with_type(ct, body) {
            Ok(mp) => mp
                .value
                .parts
                .iter()
                .flat_map(|p| {
                    let pct = p.header("Content-Type").unwrap_or("text/plain").to_string();
                    let mut v = vec![format!("part {}", essence(&pct))];
                    v.extend(
                        body_lines(Some(&pct), &p.body, sym)
                            .into_iter()
                            .map(|x| format!("  {x}")),
                    );
                    v
                })
                .collect(),
            Err(e) => vec![format!("multipart: undecodable ({e})")],
        };
    }
    if e.ends_with("+xml") || e.ends_with("/xml") {
        return xml_lines(body, sym);
    }
    if e.starts_with("text/") {
        return vec![format!("text: {:?}", String::from_utf8_lossy(body))];
    }
    vec![format!("body: {} bytes", body.len())]
}

fn sdp_lines(body: &[u8], sym: &mut Symbols) -> Vec<String> {
    let sd = match sdp::SessionDescription::parse(body) {
        Ok(d) => d.value,
        Err(e) => return vec![format!("sdp: undecodable ({e})")],
    };
    let mut out = Vec::new();
    for media in &sd.media {
        let Ok(ml) = media.media_line() else {
            out.push("sdp: m= undecodable".into());
            continue;
        };
        let mut parts = vec![format!("sdp: m={} {}", ml.media, ml.proto)];
        parts.push(format!(
            "direction={}",
            sd.effective_direction(media).as_str()
        ));
        if let Some(s) = media.attr("setup") {
            parts.push(format!("setup={s}"));
        }
        let at = media.accept_types();
        if !at.is_empty() {
            parts.push(format!("accept-types={}", at.join(" ")));
        }
        let awt = media.accept_wrapped_types();
        if !awt.is_empty() {
            parts.push(format!("accept-wrapped-types={}", awt.join(" ")));
        }
        if let Some(fs) = media.attr("file-selector") {
            parts.push(format!("file-selector={}", sym.addresses(fs)));
        }
        if let Some(fr) = media.attr("file-range") {
            parts.push(format!("file-range={fr}"));
        }
        if let Some(id) = media.file_transfer_id() {
            parts.push(format!(
                "file-transfer-id={}",
                sym.symbol("file-transfer-id", id)
            ));
        }
        if let Some(d) = media.file_disposition() {
            parts.push(format!("file-disposition={d}"));
        }
        if let Some(p) = media.attr("path") {
            parts.push(format!("path={}", sym.addresses(p)));
        }
        out.push(parts.join("; "));
    }
    out
}

fn cpim_lines(body: &[u8], sym: &mut Symbols) -> Vec<String> {
    let msg = match cpim::parse(body) {
        Ok(d) => d.value,
        Err(e) => return vec![format!("cpim: undecodable ({e})")],
    };
    let mut out = Vec::new();
    for r in msg.resolved() {
        if r.field.name.eq_ignore_ascii_case("NS") {
            continue;
        }
        let (name, value) = match r.ns {
            Some(ns) if ns == cpim::NS_CPIM => {
                let v = if r.name.eq_ignore_ascii_case("DateTime") {
                    sym.symbol("date", &r.field.value)
                } else {
                    sym.addresses(&r.field.value)
                };
                (r.name.to_string(), v)
            }
            Some(ns) if ns == cpim::NS_IMDN => {
                let v = if r.name.eq_ignore_ascii_case("Message-ID") {
                    sym.symbol("message-id", &r.field.value)
                } else {
                    r.field.value.clone()
                };
                (format!("imdn.{}", r.name), v)
            }
            Some(ns) => (format!("<{ns}>.{}", r.name), r.field.value.clone()),
            None => (r.field.name.clone(), r.field.value.clone()),
        };
        out.push(format!("cpim {name}: {value}"));
    }
    let ct = msg.content_type().unwrap_or("text/plain").to_string();
    out.push(format!("cpim Content-Type: {}", essence(&ct)));
    out.extend(
        body_lines(Some(&ct), &msg.body, sym)
            .into_iter()
            .map(|l| format!("cpim {l}")),
    );
    out
}

fn xml_lines(body: &[u8], sym: &mut Symbols) -> Vec<String> {
    match xml::tree::parse(body, "golden/xml") {
        Ok(root) => {
            let mut out = Vec::new();
            walk_xml(&root, &root.name, sym, &mut out);
            out
        }
        Err(e) => vec![format!("xml: undecodable ({e})")],
    }
}

fn walk_xml(el: &xml::tree::Element, path: &str, sym: &mut Symbols, out: &mut Vec<String>) {
    let volatile = |name: &str| {
        VOLATILE_XML
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, k)| *k)
    };
    for a in &el.attrs {
        let v = match volatile(&a.name) {
            Some(k) => sym.symbol(k, &a.value),
            None => sym.addresses(&a.value),
        };
        out.push(format!("xml {path}/@{} = {v}", a.name));
    }
    if !el.text.is_empty() {
        let v = match volatile(&el.name) {
            Some(k) => sym.symbol(k, &el.text),
            None => sym.addresses(&el.text),
        };
        out.push(format!("xml {path} = {v}"));
    } else if el.children.is_empty() && el.attrs.is_empty() {
        out.push(format!("xml {path}"));
    }
    for c in &el.children {
        walk_xml(c, &format!("{path}/{}", c.name), sym, out);
    }
}

fn msrp_lines(m: &cpmconf_codec::msrp::Message, sym: &mut Symbols) -> Vec<String> {
    let mut l = Vec::new();
    l.push(match (m.method(), m.code()) {
        (Some(meth), _) => format!("MSRP {meth}"),
        (None, Some(code)) => format!("MSRP {code}"),
        _ => "MSRP ?".into(),
    });
    for name in ["To-Path", "From-Path"] {
        if let Some(v) = m.header(name) {
            l.push(format!("{name}: {}", sym.addresses(v)));
        }
    }
    if let Some(id) = m.message_id() {
        l.push(format!("Message-ID: {}", sym.symbol("msrp-message-id", id)));
    }
    // A CPIM message's length depends on the generated ids and the date inside it: its
    // Byte-Range total (and an end that is the total) is shown by shape only (`<whole>`), so a
    // whole message is `1-<whole>/<whole>` and chunks keep their boundaries but the last.
    let range = m.byte_range().and_then(Result::ok);
    let cpim = m
        .content_type()
        .is_some_and(|ct| essence(ct) == "message/cpim");
    let last_of_cpim = cpim && range.is_some_and(|r| r.total.is_some() && r.end == r.total);
    for name in ["Byte-Range", "Success-Report", "Failure-Report", "Status"] {
        if let Some(v) = m.header(name) {
            match range {
                Some(r) if name == "Byte-Range" && cpim && r.total.is_some() => {
                    let end = match r.end {
                        Some(e) if Some(e) != r.total => e.to_string(),
                        Some(_) => "<whole>".to_string(),
                        None => "*".to_string(),
                    };
                    l.push(format!("{name}: {}-{end}/<whole>", r.start));
                }
                _ => l.push(format!("{name}: {v}")),
            }
        }
    }
    if let Some(ct) = m.content_type() {
        l.push(format!("Content-Type: {}", essence(ct)));
        // Only a complete message body is decoded; a chunk shows its size.
        let complete = range.is_none_or(|r| {
            r.start == 1 && r.total.is_some() && (r.end == r.total || r.end.is_none())
        });
        if complete {
            l.extend(body_lines(Some(ct), &m.body, sym));
        } else if last_of_cpim {
            l.push("chunk: the rest".to_string());
        } else {
            l.push(format!("chunk: {} bytes", m.body.len()));
        }
    }
    l
}

#[cfg(test)]
mod tests;
