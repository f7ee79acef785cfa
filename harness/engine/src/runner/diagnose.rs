//! Root causes read from the wire: when a precondition the runner sets up (registration) is not
//! reached, the trace says why, so the report names it instead of only "not reached".

use cpmconf_capture::Trace;
use cpmconf_codec::sip::{Challenge, Credentials, Message};

use crate::judge::labels::{Labeler, CLIENT};

/// Why the client's registration did not succeed, from the trace: the final response to its last
/// credentialed REGISTER, and its Authorization checked against the challenge and the
/// provisioned password (algorithm label, realm, nonce, response recomputed). `None` when the
/// trace holds no REGISTER exchange to explain.
pub fn registration(trace: &Trace, labels: &Labeler, password: &str) -> Option<String> {
    let mut registers: Vec<&Message> = Vec::new();
    let mut responses: Vec<&Message> = Vec::new();
    for e in &trace.entries {
        let Some(m) = e.sip() else { continue };
        let from_client = labels.roles(e).0 == CLIENT;
        match (m.method(), m.status()) {
            (Some(meth), _) if from_client && meth.as_str() == "REGISTER" => registers.push(m),
            (None, Some(_)) if !from_client && cseq_method(m) == Some("REGISTER") => {
                responses.push(m)
            }
            _ => {}
        }
    }
    if registers.is_empty() {
        return Some("the client sent no REGISTER".into());
    }
    let answer_to = |req: &Message| -> Option<&Message> {
        responses
            .iter()
            .rev()
            .find(|r| {
                r.call_id() == req.call_id()
                    && r.header("CSeq") == req.header("CSeq")
                    && r.status().is_some_and(|c| c.0 >= 200)
            })
            .copied()
    };
    let Some(last) = registers
        .iter()
        .rev()
        .find(|r| r.header("Authorization").is_some())
        .copied()
    else {
        let last = registers.last().copied()?;
        return Some(match answer_to(last) {
            Some(r) => format!(
                "the client's REGISTER (no Authorization) was answered {}, and it sent no credentialed REGISTER",
                status_text(r)
            ),
            None => "the client's REGISTER got no final response".into(),
        });
    };
    let mut why = match answer_to(last) {
        Some(r) => format!("the credentialed REGISTER was answered {}", status_text(r)),
        None => "the credentialed REGISTER got no final response".into(),
    };
    // The challenge it answered: the last 401/407 of the same Call-ID before it.
    let challenge = responses
        .iter()
        .filter(|r| r.call_id() == last.call_id())
        .filter_map(|r| {
            r.header("WWW-Authenticate")
                .or(r.header("Proxy-Authenticate"))
        })
        .filter_map(|h| Challenge::parse(h).ok())
        .next_back();
    let Some(creds) = last
        .header("Authorization")
        .and_then(|h| Credentials::parse(h).ok())
    else {
        why.push_str("; its Authorization header cannot be decoded");
        return Some(why);
    };
    let mut problems: Vec<String> = Vec::new();
    if let Some(ch) = &challenge {
        let offered = ch.algorithm.as_deref().unwrap_or("MD5");
        let used = creds.algorithm.as_deref().unwrap_or("MD5");
        if !offered.eq_ignore_ascii_case(used) {
            problems.push(format!(
                "Authorization algorithm {used} answers a challenge for {offered}"
            ));
        }
        if ch.realm != creds.realm {
            problems.push(format!(
                "realm {:?} where the challenge said {:?}",
                creds.realm, ch.realm
            ));
        }
        if ch.nonce != creds.nonce {
            problems.push(format!(
                "nonce {:?} is not the challenge's {:?}",
                creds.nonce, ch.nonce
            ));
        }
    }
    if !creds.verify(password, "REGISTER", &last.body) {
        let labelled = creds.algorithm.clone().unwrap_or_else(|| "MD5".into());
        let other = ["MD5", "SHA-256"]
            .into_iter()
            .filter(|a| !a.eq_ignore_ascii_case(&labelled))
            .find(|a| {
                let mut c = creds.clone();
                c.algorithm = Some((*a).to_string());
                c.verify(password, "REGISTER", &last.body)
            });
        problems.push(match other {
            Some(a) => format!(
                "the response was computed with {a} although the Authorization says algorithm={labelled}"
            ),
            None => format!(
                "the response does not match the provisioned password with algorithm={labelled} (recomputed)"
            ),
        });
    }
    if problems.is_empty() {
        why.push_str("; the Authorization fits the challenge and the provisioned password");
    } else {
        why.push_str("; ");
        why.push_str(&problems.join("; "));
    }
    Some(why)
}

fn cseq_method(m: &Message) -> Option<&str> {
    m.header("CSeq").and_then(|c| c.split_whitespace().nth(1))
}

fn status_text(m: &Message) -> String {
    m.summary()
}
