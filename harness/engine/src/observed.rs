//! What the matcher and the golden projection look at: a decoded SIP or MSRP message, borrowed or
//! saved, and the run-time environment that resolves `${...}` references against variables and
//! saved messages.

use std::collections::BTreeMap;

use cpmconf_codec::{msrp, sip};

use crate::scenario::vars::Bindings;

/// A decoded message seen on the wire.
#[derive(Debug, Clone, Copy)]
pub enum Observed<'a> {
    /// A SIP request or response.
    Sip(&'a sip::Message),
    /// An MSRP request or response (one chunk).
    Msrp(&'a msrp::Message),
}

/// An owned message kept under a `save:` name.
#[derive(Debug, Clone, PartialEq)]
pub enum SavedMessage {
    /// A SIP message.
    Sip(sip::Message),
    /// An MSRP message.
    Msrp(msrp::Message),
}

impl SavedMessage {
    /// A borrowed view.
    pub fn view(&self) -> Observed<'_> {
        match self {
            SavedMessage::Sip(m) => Observed::Sip(m),
            SavedMessage::Msrp(m) => Observed::Msrp(m),
        }
    }
}

impl<'a> Observed<'a> {
    /// An owned copy for `save:`.
    pub fn to_saved(&self) -> SavedMessage {
        match self {
            Observed::Sip(m) => SavedMessage::Sip((*m).clone()),
            Observed::Msrp(m) => SavedMessage::Msrp((*m).clone()),
        }
    }

    /// Every value of a header (SIP: list elements are not split; MSRP: every field).
    pub fn header_values(&self, name: &str) -> Vec<&'a str> {
        match self {
            Observed::Sip(m) => m
                .headers
                .iter()
                .filter(|h| h.is(name))
                .map(|h| h.value)
                .collect(),
            Observed::Msrp(m) => m
                .headers
                .iter()
                .filter(|f| f.is(name))
                .map(|f| f.value.as_str())
                .collect(),
        }
    }

    /// The body bytes.
    pub fn body(&self) -> &'a [u8] {
        match self {
            Observed::Sip(m) => &m.body,
            Observed::Msrp(m) => &m.body,
        }
    }

    /// The Content-Type, if any.
    pub fn content_type(&self) -> Option<&'a str> {
        match self {
            Observed::Sip(m) => m.header("Content-Type"),
            Observed::Msrp(m) => m.content_type(),
        }
    }

    /// One-line summary (`INVITE sip:g1@cf.test`, `MSRP SEND`).
    pub fn summary(&self) -> String {
        match self {
            Observed::Sip(m) => m.summary(),
            Observed::Msrp(m) => format!("MSRP {}", m.summary()),
        }
    }

    /// The start line and header lines, for quoting in a failure (at most 40 lines).
    pub fn quote(&self) -> Vec<String> {
        let mut out = Vec::new();
        match self {
            Observed::Sip(m) => {
                let text = m.to_bytes();
                let text = String::from_utf8_lossy(&text);
                for line in text.split("\r\n").flat_map(|l| l.split('\n')) {
                    if line.is_empty() {
                        break;
                    }
                    out.push(line.to_string());
                }
            }
            Observed::Msrp(m) => {
                out.push(m.start_line().trim_end().to_string());
                out.extend(m.headers.iter().map(|f| format!("{}: {}", f.name, f.value)));
            }
        }
        out.truncate(40);
        out
    }
}

/// The run-time environment of a scenario: variable bindings and saved messages.
#[derive(Debug, Clone, Default)]
pub struct MatchEnv {
    /// `given` values and runner-provided values (`client.uri`, ...).
    pub bindings: Bindings,
    /// Messages saved by `save:`, plus `last_sent` / `last_received` kept by the runner.
    pub saved: BTreeMap<String, SavedMessage>,
    /// For `resumes: <saved chunk>`: what the simulated role received and acknowledged on that
    /// chunk's MSRP session, by save name (the runner fills it before judging).
    pub transfers: BTreeMap<String, cpmconf_sim::media::TransferProgress>,
}

impl MatchEnv {
    /// Every value the scenario knows so far, with where it comes from: the bindings
    /// (`${given}` and runner values) and each header of each saved message. A newly generated
    /// identifier (`{new: true}`) must be none of them.
    pub fn known_values(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .bindings
            .iter()
            .map(|(k, v)| (format!("the value of ${{{k}}}"), v.to_string()))
            .collect();
        for (name, m) in &self.saved {
            let headers: Vec<(String, String)> = match m {
                SavedMessage::Sip(s) => s
                    .headers
                    .iter()
                    .map(|h| (h.name.to_string(), h.value.to_string()))
                    .collect(),
                SavedMessage::Msrp(_) => Vec::new(),
            };
            for (h, v) in headers {
                out.push((format!("the {h} of the message saved as {name}"), v));
            }
        }
        out
    }

    /// Resolves a `${...}` path: a binding, or a part of a saved message:
    /// `<name>.header.<Header-Name>`, `<name>.request_uri`, `<name>.status`, `<name>.method`,
    /// `<name>.body`, `<name>.msrp.tid`, `<name>.cpim.<key>` (a CPIM header of its message/cpim
    /// body, `imdn.Message-ID` with its prefix, or `Content`), `<name>.sdp.<attribute>` (of the first MSRP media of a
    /// SIP message's SDP, e.g. `.sdp.file-selector`), `<name>.sdp.file-range.start` and
    /// `<name>.sdp.file-range.stop` (numbers; `*` for an open stop).
    pub fn resolve(&self, path: &str) -> Option<String> {
        if let Some(v) = self.bindings.get(path) {
            return Some(v.to_string());
        }
        let (root, rest) = path.split_once('.')?;
        let saved = self.saved.get(root)?;
        let obs = saved.view();
        match rest.split_once('.') {
            Some(("header", name)) => obs.header_values(name).first().map(|s| s.to_string()),
            Some(("cpim", key)) => crate::matcher::cpim_value(obs, key),
            Some(("sdp", attr)) => match saved {
                SavedMessage::Sip(m) => sdp_value(m, attr),
                SavedMessage::Msrp(_) => None,
            },
            Some(("msrp", "tid")) => match saved {
                SavedMessage::Msrp(m) => Some(m.tid.clone()),
                SavedMessage::Sip(_) => None,
            },
            None => match (rest, saved) {
                ("request_uri", SavedMessage::Sip(m)) => m.request_uri().map(str::to_string),
                ("status", SavedMessage::Sip(m)) => m.status().map(|c| c.0.to_string()),
                ("status", SavedMessage::Msrp(m)) => m.code().map(|c| c.to_string()),
                ("method", SavedMessage::Sip(m)) => m.method().map(|x| x.to_string()),
                ("method", SavedMessage::Msrp(m)) => m.method().map(|x| x.to_string()),
                ("body", _) => Some(String::from_utf8_lossy(obs.body()).into_owned()),
                _ => None,
            },
            _ => None,
        }
    }

    /// Substitutes every `${...}` of a template.
    pub fn interpolate(&self, template: &str) -> Result<String, crate::scenario::TemplateError> {
        crate::scenario::vars::interpolate(template, &|p| self.resolve(p))
    }
}

/// `attr` of the first MSRP media of `m`'s SDP (body or multipart part); `file-range.start` and
/// `file-range.stop` are the numbers of a=file-range (RFC 5547 10).
fn sdp_value(m: &sip::Message, attr: &str) -> Option<String> {
    let body = m.body_part("application/sdp")?.ok()?;
    let sd = cpmconf_codec::sdp::SessionDescription::parse(&body)
        .ok()?
        .value;
    let media = sd.msrp_media()?;
    match attr {
        "file-range.start" | "file-range.stop" => {
            let r = media.file_range()?.ok()?;
            Some(if attr.ends_with("start") {
                r.start.to_string()
            } else {
                r.stop.map_or_else(|| "*".to_string(), |s| s.to_string())
            })
        }
        a => media.attr(a).map(str::to_string),
    }
}

/// The seed of one scenario, derived from the run seed and the scenario id, so adding or
/// reordering scenarios does not change the values another scenario generates.
pub fn scenario_seed(run_seed: u64, scenario_id: &str) -> u64 {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(run_seed.to_be_bytes());
    h.update(scenario_id.as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(d.get(..8).unwrap_or(&[0; 8]));
    u64::from_be_bytes(b)
}

impl MatchEnv {
    /// The environment at the start of a scenario: `given` bound from the scenario's seed
    /// ([`scenario_seed`]), no saved messages. The runner adds `client.*` / `sim.*` / `run.*`.
    pub fn for_scenario(scenario: &crate::scenario::Scenario, run_seed: u64) -> MatchEnv {
        use rand::SeedableRng;
        let mut rng = rand::rngs::ChaCha20Rng::seed_from_u64(scenario_seed(run_seed, &scenario.id));
        let mut bindings = Bindings::from_given(&scenario.given, &mut rng);
        bindings.set("run.seed", run_seed.to_string());
        MatchEnv {
            bindings,
            saved: BTreeMap::new(),
            transfers: BTreeMap::new(),
        }
    }

    /// Substitutes every string inside a JSON value (upper-tester command arguments).
    pub fn interpolate_json(
        &self,
        v: &serde_json::Value,
    ) -> Result<serde_json::Value, crate::scenario::TemplateError> {
        use serde_json::Value;
        Ok(match v {
            Value::String(s) => Value::String(self.interpolate(s)?),
            Value::Array(a) => Value::Array(
                a.iter()
                    .map(|x| self.interpolate_json(x))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(o) => {
                let mut out = serde_json::Map::new();
                for (k, x) in o {
                    out.insert(k.clone(), self.interpolate_json(x)?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }

    /// Keeps a message under a name (`save:`, `last_sent`, `last_received`).
    pub fn save(&mut self, name: impl Into<String>, msg: Observed<'_>) {
        self.saved.insert(name.into(), msg.to_saved());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse_scenario;

    #[test]
    fn scenario_env_is_deterministic_per_seed_and_id() {
        let s = parse_scenario(
            "id: a\nclause: '7'\ntitle: t\ngiven: { c: $uuid }\nsteps: []\n",
            "a.yaml",
        )
        .unwrap()
        .scenario;
        let e1 = MatchEnv::for_scenario(&s, 1);
        let e2 = MatchEnv::for_scenario(&s, 1);
        let e3 = MatchEnv::for_scenario(&s, 2);
        assert_eq!(e1.bindings, e2.bindings);
        assert_ne!(e1.bindings.get("c"), e3.bindings.get("c"));
        assert_ne!(scenario_seed(1, "a"), scenario_seed(1, "b"));
        let v = serde_json::json!({ "to": ["${c}"], "n": 1 });
        let out = e1.interpolate_json(&v).unwrap();
        assert_eq!(out["to"][0].as_str(), e1.bindings.get("c"));
        assert!(e1.interpolate_json(&serde_json::json!("${zz}")).is_err());
    }
}
