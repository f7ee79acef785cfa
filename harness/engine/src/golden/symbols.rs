//! Stable symbols for volatile values: each distinct value gets `<kind:n>`, numbered by first
//! appearance per kind; a value keeps its first symbol wherever it reappears, so a reused id shows.

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The symbol table of one projection.
#[derive(Debug, Clone, Default)]
pub struct Symbols {
    by_value: BTreeMap<String, String>,
    counters: BTreeMap<String, usize>,
}

impl Symbols {
    /// An empty table.
    pub fn new() -> Self {
        Symbols::default()
    }

    /// The symbol of `value`, allocating `<kind:n>` on first sight. The kind only names the first
    /// appearance: the same value met later under another kind keeps its first symbol.
    pub fn symbol(&mut self, kind: &str, value: &str) -> String {
        if let Some(s) = self.by_value.get(value) {
            return s.clone();
        }
        let n = self.counters.entry(kind.to_string()).or_insert(0);
        *n += 1;
        let s = format!("<{kind}:{n}>");
        self.by_value.insert(value.to_string(), s.clone());
        s
    }

    /// Replaces loopback `host:port` pairs and MSRP session ids inside a text with symbols:
    /// `msrp://127.0.0.1:7394/s1;tcp` -> `msrp://127.0.0.1:<port:1>/<msrp-session:1>;tcp`.
    pub fn addresses(&mut self, text: &str) -> String {
        let (Some(port_re), Some(msrp_re)) = (port_regex(), msrp_regex()) else {
            return text.to_string();
        };
        let with_sessions = msrp_re.replace_all(text, |c: &regex::Captures<'_>| {
            let head = c.get(1).map_or("", |m| m.as_str());
            let sess = c.get(2).map_or("", |m| m.as_str());
            // A session id is scoped by its endpoint (RFC 4975 6: the URI's authority and
            // session id together name it): two endpoints' short ids may collide by chance.
            format!(
                "{head}{}",
                self.symbol("msrp-session", &format!("msrp-session:{head}{sess}"))
            )
        });
        port_re
            .replace_all(&with_sessions, |c: &regex::Captures<'_>| {
                let host = c.get(1).map_or("", |m| m.as_str());
                let port = c.get(2).map_or("", |m| m.as_str());
                format!("{host}:{}", self.symbol("port", &format!("port:{port}")))
            })
            .into_owned()
    }
}

fn port_regex() -> Option<&'static regex::Regex> {
    static RE: OnceLock<Option<regex::Regex>> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"(\b\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]|\blocalhost):(\d{1,5})\b")
            .ok()
    })
    .as_ref()
}

fn msrp_regex() -> Option<&'static regex::Regex> {
    static RE: OnceLock<Option<regex::Regex>> = OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"(msrps?://[^/\s]+/)([^;\s/]+)").ok())
        .as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_value_one_symbol() {
        let mut s = Symbols::new();
        assert_eq!(s.symbol("call-id", "x@h"), "<call-id:1>");
        assert_eq!(s.symbol("call-id", "y@h"), "<call-id:2>");
        assert_eq!(s.symbol("conversation-id", "c1"), "<conversation-id:1>");
        assert_eq!(s.symbol("contribution-id", "c1"), "<conversation-id:1>");
        assert_eq!(s.symbol("call-id", "x@h"), "<call-id:1>");
    }

    #[test]
    fn session_ids_of_two_endpoints_never_share_a_symbol() {
        let mut s = Symbols::new();
        assert_eq!(
            s.addresses("msrp://127.0.0.1:7394/s1;tcp msrp://127.0.0.1:7000/s1;tcp"),
            "msrp://127.0.0.1:<port:1>/<msrp-session:1>;tcp msrp://127.0.0.1:<port:2>/<msrp-session:2>;tcp"
        );
    }

    #[test]
    fn addresses_become_symbols() {
        let mut s = Symbols::new();
        assert_eq!(
            s.addresses("msrp://127.0.0.1:7394/s1;tcp sip:a@127.0.0.1:5060 [::1]:7394"),
            "msrp://127.0.0.1:<port:1>/<msrp-session:1>;tcp sip:a@127.0.0.1:<port:2> [::1]:<port:1>"
        );
    }
}
