//! Addresses of record: a To, From, Request-URI or resource-list value reduced to its address
//! (RFC 3261 10.3), parsed once and compared by [`Uri::same_address`].

use cpmconf_codec::sip::{AddrText, NameAddr, Uri};
use std::fmt;

/// An address of record. A value whose URI does not parse is kept as written (the URI text of
/// the name-addr) and matches only the same text, as the registrar has always keyed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Aor {
    /// The URI without parameters and headers, host lower-cased.
    Uri(Uri),
    /// The URI text of a value whose URI does not parse.
    Text(String),
}

impl Aor {
    /// Reads a URI or name-addr value ([`NameAddr::parse_lenient`]).
    pub fn parse(s: &str) -> Aor {
        match NameAddr::parse_lenient(s) {
            Ok(n) => Aor::of(&n.uri),
            Err(_) => Aor::Text(AddrText::read(s).uri.to_owned()),
        }
    }

    /// The address of a parsed URI.
    pub fn of(uri: &Uri) -> Aor {
        let mut u = uri.address();
        u.host = u.host.to_ascii_lowercase();
        Aor::Uri(u)
    }

    /// `true` when both name the same address ([`Uri::same_address`]; text only equal text).
    pub fn matches(&self, other: &Aor) -> bool {
        match (self, other) {
            (Aor::Uri(a), Aor::Uri(b)) => a.same_address(b),
            (Aor::Text(a), Aor::Text(b)) => a == b,
            _ => false,
        }
    }
}

/// `sip:user@host[:port]` (no parameters), or the text as written.
impl fmt::Display for Aor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Aor::Uri(u) => write!(f, "{u}"),
            Aor::Text(t) => f.write_str(t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::host_case_and_uri_params(
        "sip:Bob@EXAMPLE.com",
        "sip:Bob@example.com;transport=tcp",
        true
    )]
    #[case::name_addr_and_header_params("\"B\" <sip:bob@x.test>;tag=1", "sip:bob@X.test", true)]
    #[case::escaped_user("sip:%62ob@x.test", "sip:bob@x.test", true)]
    #[case::user_case_matters("sip:bob@x.test", "sip:Bob@x.test", false)]
    #[case::port_matters("sip:bob@x.test:5070", "sip:bob@x.test", false)]
    #[case::scheme_matters("sips:bob@x.test", "sip:bob@x.test", false)]
    #[case::unparsable_matches_same_text("<not a uri>", "not a uri", true)]
    #[case::unparsable_never_matches_a_uri("sip:bob@x.test:99999", "sip:bob@x.test", false)]
    fn matching(#[case] a: &str, #[case] b: &str, #[case] same: bool) {
        assert_eq!(Aor::parse(a).matches(&Aor::parse(b)), same, "{a} / {b}");
        assert_eq!(Aor::parse(b).matches(&Aor::parse(a)), same, "{b} / {a}");
    }

    #[rstest]
    #[case("<sip:Bob@EXAMPLE.com;transport=tcp>;tag=1", "sip:Bob@example.com")]
    #[case("sip:bob@x.test:5070;lr", "sip:bob@x.test:5070")]
    #[case("<not a uri>;tag=1", "not a uri")]
    fn display(#[case] v: &str, #[case] shown: &str) {
        assert_eq!(Aor::parse(v).to_string(), shown);
    }
}
