//! Global monitors: checks that hold for every message of a scenario, whatever its steps.

use std::sync::OnceLock;

use cpmconf_capture::Trace;

use crate::assess::StepOutcome;
use crate::verdict::Finding;

use super::labels::{Labeler, CLIENT};

/// The requirement the User-Agent monitor proves.
pub const USER_AGENT_REQUIREMENT: &str = "7/user-agent-header";

fn product_token() -> Option<&'static regex::Regex> {
    static RE: OnceLock<Option<regex::Regex>> = OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"(^|\s)CPM-client/OMA\d+\.\d+(\s|$)").ok())
        .as_ref()
}

/// 7/user-agent-header (clause 7, Appendix D): every SIP request the client sent carries a
/// User-Agent with the CPM product token `CPM-client/OMA<major>.<minor>`. `None` when the client
/// sent no SIP request.
pub fn user_agent(trace: &Trace, labels: &Labeler<'_>) -> Option<StepOutcome> {
    let re = product_token()?;
    let mut requests = 0;
    for e in &trace.entries {
        let Some(m) = e.sip() else { continue };
        if m.method().is_none() || labels.roles(e).0 != CLIENT {
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
