//! What a conformant CPM network and originating client put on every request, filled into the
//! sim's out-of-dialog requests where the scenario did not set it: Conversation-ID and
//! Contribution-ID (CPM Appendix C) on INVITE and MESSAGE, Accept-Contact with the service's
//! ICSI (wire-facts 1), P-Asserted-Identity from the network side (RFC 3325 9.1), and an IMDN
//! Message-ID in every CPIM message (RFC 5438 6.3). Derived values come from the Call-ID (or
//! the CPIM content) by hashing, so they are reproducible per seed and draw nothing from the
//! id generator.

use cpmconf_codec::sip::{Message, Method};
use sha2::{Digest, Sha256};

use crate::spec::{Body, OfferKind};

/// `len` lower-case hex digits of SHA-256 over `salt` and `input`.
pub fn derived_id(salt: &str, input: &[u8], len: usize) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update([0]);
    h.update(input);
    let hex = hex::encode(h.finalize());
    hex.get(..len.min(hex.len())).unwrap_or_default().to_owned()
}

/// The ICSI of an out-of-dialog INVITE or MESSAGE with this body (wire-facts 1).
fn icsi(method: &Method, body: &Body) -> Option<&'static str> {
    Some(match (method, body) {
        (Method::Message, _) => "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.msg",
        (Method::Invite, Body::Sdp(o)) => match o.kind {
            OfferKind::Chat | OfferKind::Group => "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.session",
            OfferKind::LargeMsg => "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.largemsg",
            OfferKind::File(_) => "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.filetransfer",
        },
        (Method::Invite, Body::Raw { bytes, .. }) => {
            if String::from_utf8_lossy(bytes).contains("a=file-selector") {
                "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.filetransfer"
            } else {
                "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.session"
            }
        }
        _ => return None,
    })
}

/// `true` when the request asks for its originator to be withheld (RFC 3323 `Privacy: id`, or
/// an anonymous From): the network then passes no P-Asserted-Identity to the UE.
fn anonymous(m: &Message) -> bool {
    let privacy = m
        .headers
        .value("Privacy")
        .is_some_and(|p| p.split(';').any(|t| t.trim().eq_ignore_ascii_case("id")));
    let from = m
        .headers
        .value("From")
        .unwrap_or_default()
        .to_ascii_lowercase();
    privacy || from.contains("anonymous")
}

/// Fills in what a scenario left out of an out-of-dialog request: Conversation-ID and
/// Contribution-ID (INVITE, MESSAGE), Accept-Contact with the ICSI of its body (INVITE,
/// MESSAGE), and P-Asserted-Identity naming the From URI (unless anonymous).
pub fn complete_request(m: &mut Message, body: &Body) {
    let Some(method) = m.method().cloned() else {
        return;
    };
    let call_id = m.call_id().unwrap_or_default().to_owned();
    if matches!(method, Method::Invite | Method::Message) {
        if !m.headers.contains("Conversation-ID") {
            let v = derived_id("conversation", call_id.as_bytes(), 32);
            m.headers.push("Conversation-ID", v);
        }
        if !m.headers.contains("Contribution-ID") {
            let v = derived_id("contribution", call_id.as_bytes(), 32);
            m.headers.push("Contribution-ID", v);
        }
        if !m.headers.contains("Accept-Contact") {
            if let Some(icsi) = icsi(&method, body) {
                m.headers.push(
                    "Accept-Contact",
                    format!("*;+g.3gpp.icsi-ref=\"{}\"", icsi.replace(':', "%3A")),
                );
            }
        }
    }
    if !m.headers.contains("P-Asserted-Identity") && !anonymous(m) {
        let from = m.from().ok().map(|na| format!("<{}>", na.uri));
        if let Some(pai) = from {
            m.headers.push("P-Asserted-Identity", pai);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::SdpOffer;
    use rstest::rstest;

    fn request(method: Method, extra: &[(&str, &str)]) -> Message {
        let mut m = Message::request(method.clone(), "sip:alice@127.0.0.1:5070");
        m.headers.push("From", "<sip:bob@test>;tag=t1");
        m.headers.push("To", "<sip:alice@test>");
        m.headers.push("Call-ID", "c1@sim");
        m.headers.push("CSeq", format!("1 {}", method.as_str()));
        for (n, v) in extra {
            m.headers.push(*n, *v);
        }
        m
    }

    #[rstest]
    #[case::pager(Method::Message, Body::None, &[], "cpm.msg", true)]
    #[case::chat(Method::Invite, Body::Sdp(SdpOffer::chat()), &[], "cpm.session", true)]
    #[case::large(Method::Invite, Body::Sdp(SdpOffer { kind: OfferKind::LargeMsg, direction: cpmconf_codec::sdp::Direction::SendOnly }), &[], "cpm.largemsg", true)]
    #[case::anonymous(Method::Invite, Body::Sdp(SdpOffer::chat()), &[("Privacy", "id")], "cpm.session", false)]
    fn out_of_dialog_requests_get_cpm_headers(
        #[case] method: Method,
        #[case] body: Body,
        #[case] extra: &[(&str, &str)],
        #[case] icsi: &str,
        #[case] pai: bool,
    ) {
        let mut m = request(method, extra);
        complete_request(&mut m, &body);
        assert_eq!(m.headers.value("Conversation-ID").map(str::len), Some(32));
        assert_ne!(
            m.headers.value("Conversation-ID"),
            m.headers.value("Contribution-ID")
        );
        assert!(
            m.headers
                .value("Accept-Contact")
                .is_some_and(|a| a.contains(icsi)),
            "{:?}",
            m.headers.value("Accept-Contact")
        );
        assert_eq!(
            m.headers.value("P-Asserted-Identity"),
            pai.then_some("<sip:bob@test>")
        );
    }

    #[test]
    fn values_the_scenario_set_are_kept() {
        let mut m = request(
            Method::Invite,
            &[
                ("Conversation-ID", "conv"),
                ("Accept-Contact", "*;+g.oma.x"),
            ],
        );
        complete_request(&mut m, &Body::Sdp(SdpOffer::chat()));
        assert_eq!(m.headers.value("Conversation-ID"), Some("conv"));
        assert_eq!(m.headers.value("Accept-Contact"), Some("*;+g.oma.x"));
        assert_eq!(m.headers.get_all("Accept-Contact").count(), 1);
    }
}
