//! Global monitors: checks that hold for every message of a scenario, whatever its steps.

use std::sync::OnceLock;

use cpmconf_capture::{Trace, TraceEntry};

use crate::assess::StepOutcome;
use crate::verdict::Finding;

/// The requirement the User-Agent monitor proves.
pub const USER_AGENT_REQUIREMENT: &str = "7/user-agent-header";

fn product_token() -> Option<&'static regex::Regex> {
    static RE: OnceLock<Option<regex::Regex>> = OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"(^|\s)CPM-client/OMA\d+\.\d+(\s|$)").ok())
        .as_ref()
}

/// 7/user-agent-header (clause 7, L47: "The CPM Client SHALL include a User-Agent header field
/// to indicate the OMA CPM release version of the CPM Client as specified in Appendix D"): the
/// SIP requests the client sent carry a User-Agent with the CPM product token
/// `CPM-client/OMA<major>.<minor>`. `None` when the client sent no SIP request.
///
/// The sentence does not say which requests. The default reading is every request the client's
/// UA core originates; an ACK for a non-2xx final response (built by the INVITE client
/// transaction from the INVITE, RFC 3261 17.1.1.3) and a CANCEL (built from the INVITE with the
/// header fields RFC 3261 9.1 lists) are not required to carry one. With `strict` (the run's
/// `--strict`), they are too.
pub fn user_agent(
    trace: &Trace,
    is_client: &dyn Fn(&TraceEntry) -> bool,
    strict: bool,
) -> Option<StepOutcome> {
    let re = product_token()?;
    let mut requests = 0;
    // The Via branches of the client's INVITEs: an ACK with one of them belongs to the INVITE
    // transaction (non-2xx); the ACK of a 2xx is a new transaction with a new branch.
    let branch = |m: &cpmconf_codec::sip::Message| -> Option<String> {
        m.header("Via")
            .and_then(|v| v.split(';').find_map(|p| p.trim().strip_prefix("branch=")))
            .map(str::to_string)
    };
    let invite_branches: Vec<String> = trace
        .entries
        .iter()
        .filter(|e| is_client(e))
        .filter_map(|e| e.sip())
        .filter(|m| m.method().is_some_and(|x| x.as_str() == "INVITE"))
        .filter_map(branch)
        .collect();
    for e in &trace.entries {
        let Some(m) = e.sip() else { continue };
        let Some(method) = m.method() else { continue };
        if !is_client(e) {
            continue;
        }
        let transaction_layer = match method.as_str() {
            "CANCEL" => true,
            "ACK" => branch(m).is_some_and(|b| invite_branches.contains(&b)),
            _ => false,
        };
        if transaction_layer && !strict {
            continue;
        }
        requests += 1;
        let ua: Vec<&str> = m
            .headers
            .iter()
            .filter(|h| h.is("User-Agent"))
            .map(|h| h.value.as_str())
            .collect();
        if !ua.iter().any(|v| re.is_match(v)) {
            return Some(StepOutcome::Failed {
                findings: vec![Finding {
                    key: None,
                    what: format!(
                        "header User-Agent of {} (trace entry {})",
                        m.summary(),
                        e.index
                    ),
                    expected: "a product token CPM-client/OMA<major>.<minor>".into(),
                    seen: if ua.is_empty() {
                        "(absent)".into()
                    } else {
                        format!("{:?}", ua.join(", "))
                    },
                }],
                quote: crate::observed::Observed::Sip(m).quote(),
            });
        }
    }
    (requests > 0).then_some(StepOutcome::Passed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpmconf_capture::Tap;
    use std::net::SocketAddr;

    const CLIENT_ADDR: &str = "127.0.0.1:5070";
    const CORE: &str = "127.0.0.1:5060";

    fn req(method: &str, branch: &str, ua: bool) -> String {
        let ua = if ua {
            "User-Agent: CPM-client/OMA2.0 test/1\r\n"
        } else {
            ""
        };
        format!(
            "{method} sip:bob@test SIP/2.0\r\nVia: SIP/2.0/UDP {CLIENT_ADDR};branch={branch}\r\n\
From: <sip:alice@test>;tag=a\r\nTo: <sip:bob@test>\r\nCall-ID: c1\r\nCSeq: 1 {method}\r\n\
Max-Forwards: 70\r\n{ua}Content-Length: 0\r\n\r\n"
        )
    }

    /// The client's INVITE with a User-Agent, then `requests` from the client.
    fn trace(requests: &[String]) -> Trace {
        let tap = Tap::new();
        let (c, n): (SocketAddr, SocketAddr) =
            (CLIENT_ADDR.parse().unwrap(), CORE.parse().unwrap());
        tap.udp(c, n, req("INVITE", "z9hG4bKinv", true).as_bytes());
        tap.udp(n, c, b"SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKinv\r\nFrom: <sip:alice@test>;tag=a\r\nTo: <sip:bob@test>;tag=b\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
        for r in requests {
            tap.udp(c, n, r.as_bytes());
        }
        Trace::from_events(&tap.events())
    }

    fn judge(t: &Trace, strict: bool) -> Option<StepOutcome> {
        let client: SocketAddr = CLIENT_ADDR.parse().unwrap();
        user_agent(t, &|e| e.src == client, strict)
    }

    #[test]
    fn transaction_layer_requests_need_a_user_agent_only_in_the_strict_reading() {
        let t = trace(&[
            req("ACK", "z9hG4bKinv", false),
            req("CANCEL", "z9hG4bKinv", false),
        ]);
        assert_eq!(judge(&t, false), Some(StepOutcome::Passed));
        match judge(&t, true) {
            Some(StepOutcome::Failed { findings, .. }) => {
                assert!(findings[0].what.contains("ACK"), "{findings:?}")
            }
            other => panic!("strict reading: expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn every_request_of_the_ua_core_needs_one_in_both_readings() {
        // An ACK with a new branch acknowledges a 2xx: the UA core builds it.
        for extra in [
            req("ACK", "z9hG4bKnew", false),
            req("MESSAGE", "z9hG4bKm", false),
        ] {
            let t = trace(std::slice::from_ref(&extra));
            for strict in [false, true] {
                assert!(
                    matches!(judge(&t, strict), Some(StepOutcome::Failed { .. })),
                    "{extra} strict={strict}"
                );
            }
        }
        assert_eq!(judge(&trace(&[]), false), Some(StepOutcome::Passed));
    }
}
