//! Validation of scenario files beyond their structure: requirement ids known to the catalogue,
//! variables and saved messages defined before use, generators and commands well formed.

use std::collections::BTreeSet;
use std::path::Path;

use cpmconf_ut::command::Command;

use crate::catalogue::Catalogue;
use crate::diagnostic::{locate, Diagnostic};
use crate::scenario::load::{load_file, LoadedScenario};
use crate::scenario::model::{Expect, Given, GroupItem, Scenario, Send, Step, WaitFor};
use crate::scenario::vars::{given_names, references, GENERATORS};

/// Roots of `${...}` references the runner provides (client identity, simulated roles, run data),
/// besides `given` variables and saved messages.
pub const BUILTIN_ROOTS: &[&str] = &["client", "sim", "run"];

/// Saved-message names every scenario may use without a `save`.
pub const BUILTIN_SAVED: &[&str] = &["last_sent", "last_received"];

/// Keys of `xml: { conference-info: {...} }` the runner builds an RFC 4575 document from.
pub const CONFERENCE_INFO_KEYS: &[&str] = &["entity", "state", "version", "users"];

/// Keys of one user of `xml: { conference-info: { users: [...] } }`.
pub const CONFERENCE_USER_KEYS: &[&str] = &["entity", "state", "display-text", "status"];

/// Upper-tester commands a scenario may give in `do:` (the run's own `hello`, `configure`,
/// `register` on setup and `shutdown` are the runner's, but remain valid).
pub const SCENARIO_COMMANDS: &[&str] = cpmconf_ut::command::COMMAND_NAMES;

/// Validates scenario files; returns every diagnostic (empty when all are valid).
pub fn validate_files(paths: &[&Path], catalogue: &Catalogue) -> Vec<Diagnostic> {
    let loaded: Vec<Result<LoadedScenario, Diagnostic>> =
        paths.iter().map(|p| load_file(p)).collect();
    validate_in_order(&loaded, catalogue)
}

/// A suite assembled for a run: the scenarios found, loaded and validated, and every
/// diagnostic on the way (a file that does not parse, a scenario that does not validate).
#[derive(Debug, Clone)]
pub struct Suite {
    /// The scenarios that loaded, in file order (including any with validation errors: look at
    /// [`Suite::errors`] before running them).
    pub scenarios: Vec<LoadedScenario>,
    /// Every diagnostic, errors and warnings.
    pub diagnostics: Vec<Diagnostic>,
}

impl Suite {
    /// Every scenario file under `dir`, loaded and validated. An error when `dir` is not a
    /// directory or holds no scenario file.
    pub fn load_dir(dir: &Path, catalogue: &Catalogue) -> Result<Suite, String> {
        let (scenarios, diags) = crate::scenario::load_dir(dir)?;
        Ok(Suite::validated(scenarios, diags, catalogue))
    }

    /// Scenario texts (file name, YAML), such as the ones built into a binary, loaded and
    /// validated.
    pub fn load_texts(files: &[(&str, &str)], catalogue: &Catalogue) -> Suite {
        let (scenarios, diags) = crate::scenario::load_texts(files);
        Suite::validated(scenarios, diags, catalogue)
    }

    fn validated(
        scenarios: Vec<LoadedScenario>,
        mut diagnostics: Vec<Diagnostic>,
        catalogue: &Catalogue,
    ) -> Suite {
        diagnostics.extend(validate_all(&scenarios, catalogue));
        Suite {
            scenarios,
            diagnostics,
        }
    }

    /// How many diagnostics are errors (a run refuses the suite when any is).
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    /// The scenarios, when no diagnostic is an error; else every error, one per line.
    pub fn valid(self) -> Result<Vec<LoadedScenario>, String> {
        if self.errors() == 0 {
            return Ok(self.scenarios);
        }
        Err(self
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("\n"))
    }
}

/// Validates a set of loaded scenarios: each one, and that no two share an id.
pub fn validate_all(loaded: &[LoadedScenario], catalogue: &Catalogue) -> Vec<Diagnostic> {
    let loaded: Vec<Result<LoadedScenario, Diagnostic>> = loaded.iter().cloned().map(Ok).collect();
    validate_in_order(&loaded, catalogue)
}

/// Diagnostics of files in order: a load failure as it is, else the scenario's own problems
/// and an id already used by an earlier file.
fn validate_in_order(
    loaded: &[Result<LoadedScenario, Diagnostic>],
    catalogue: &Catalogue,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut ids: Vec<(&str, &str)> = Vec::new();
    for l in loaded {
        let l = match l {
            Ok(l) => l,
            Err(d) => {
                out.push(d.clone());
                continue;
            }
        };
        if let Some((_, other)) = ids.iter().find(|(id, _)| *id == l.scenario.id) {
            out.push(Diagnostic::at_token(
                &l.file,
                &l.source,
                &l.scenario.id,
                1,
                format!("scenario id {:?} is already used by {other}", l.scenario.id),
            ));
        }
        ids.push((&l.scenario.id, &l.file));
        out.extend(validate(l, catalogue));
    }
    out
}

/// Validates one loaded scenario against the catalogue.
pub fn validate(loaded: &LoadedScenario, catalogue: &Catalogue) -> Vec<Diagnostic> {
    let mut v = Validator {
        file: &loaded.file,
        source: &loaded.source,
        catalogue,
        defined: given_names(&loaded.scenario.given).into_iter().collect(),
        saved: BUILTIN_SAVED.iter().map(|s| s.to_string()).collect(),
        line: 1,
        out: Vec::new(),
        positive: false,
        roles: roles_named(&loaded.scenario, &loaded.source),
    };
    v.scenario(&loaded.scenario);
    v.out
}

/// The roles a scenario names: see [`Validator::roles`]. `None` when the scenario writes an
/// address whose user part is not known before the run (`sip:${peer}@...`, a `tel:` URI): then
/// any role may be the one the client reaches, and roles are not checked.
fn roles_named(s: &crate::scenario::Scenario, source: &str) -> Option<BTreeSet<String>> {
    let mut roles: BTreeSet<String> = ["client", "core", "registrar", "cf", "pf"]
        .into_iter()
        .map(String::from)
        .collect();
    for step in &s.steps {
        if let Step::Send(send) = step {
            roles.insert(send.role.clone());
        }
    }
    if source.contains("tel:") {
        return None;
    }
    // RFC 3261 25.1: a user part is unreserved, escaped and user-unreserved characters.
    let user_char = |c: char| c.is_ascii_alphanumeric() || "-_.!~*'()%&=+$,;?/".contains(c);
    let starts = source
        .match_indices("sip:")
        .map(|(i, _)| i + 4)
        .chain(source.match_indices("sips:").map(|(i, _)| i + 5));
    for at in starts {
        let rest = &source[at..];
        if rest.starts_with("${") {
            return None;
        }
        let user: String = rest.chars().take_while(|c| user_char(*c)).collect();
        if rest[user.len()..].starts_with("${") {
            return None;
        }
        if rest[user.len()..].starts_with('@') && !user.is_empty() {
            roles.insert(user);
        }
    }
    Some(roles)
}

struct Validator<'a> {
    file: &'a str,
    source: &'a str,
    catalogue: &'a Catalogue,
    defined: BTreeSet<String>,
    saved: BTreeSet<String>,
    /// Line of the step being checked, so a repeated token is found in the right place.
    line: usize,
    out: Vec<Diagnostic>,
    /// An earlier step observes the client act (an `expect` or `wait_for`).
    positive: bool,
    /// The roles an expectation may name: the sim's services, the client, every role a `send`
    /// step sends as, and every user whose address (`sip:user@`, `sips:user@`) the scenario
    /// writes; `None`: not checked (an address written with a variable user part).
    roles: Option<BTreeSet<String>>,
}

impl Validator<'_> {
    /// Places the diagnostic at the first of `tokens` found (most specific first).
    fn err_first(&mut self, tokens: &[&str], message: String) {
        let token = tokens
            .iter()
            .find(|t| locate(self.source, t, 1).is_some())
            .copied()
            .unwrap_or("");
        self.err(token, message);
    }

    fn err(&mut self, token: &str, message: String) {
        let d = Diagnostic::at_token(self.file, self.source, token, self.line, message);
        self.out.push(d);
    }

    fn warn(&mut self, token: &str, message: String) {
        let d = Diagnostic::at_token(self.file, self.source, token, self.line, message);
        self.out.push(d.as_warning());
    }

    /// `evidence` names requirements the step verifies and conditions the step has; a step that
    /// verifies several requirements says for each what it rests on.
    fn evidence(
        &mut self,
        verifies: &[String],
        evidence: &std::collections::BTreeMap<String, Vec<String>>,
        conditions: &[String],
    ) {
        for (id, keys) in evidence {
            if !verifies.contains(id) {
                self.err(
                    id,
                    format!("`evidence` names {id:?}, which the step does not verify: expected one of {}", verifies.join(", ")),
                );
            }
            for k in keys {
                let known = conditions.iter().any(|c| {
                    c == k || c.starts_with(&format!("{k}.")) || k.starts_with(&format!("{c}."))
                });
                if !known {
                    self.err(
                        k,
                        format!(
                            "`evidence` of {id} names the condition {k:?}, which the step does not have: expected one of {}",
                            conditions.join(", ")
                        ),
                    );
                }
            }
        }
        if verifies.len() > 1 {
            let missing: Vec<&str> = verifies
                .iter()
                .filter(|id| !evidence.contains_key(*id))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                self.warn(
                    "verifies:",
                    format!(
                        "the step verifies {} requirements but `evidence` does not say which conditions {} rest(s) on: a failed condition will count against each of them",
                        verifies.len(),
                        missing.join(", ")
                    ),
                );
            }
        }
    }

    fn scenario(&mut self, s: &Scenario) {
        if let Some(v) = s.version {
            if v != crate::scenario::LANGUAGE_VERSION {
                self.err(
                    "version",
                    format!("language version {v} is not supported: expected 1"),
                );
            }
        }
        if s.id.trim().is_empty() {
            self.err(
                "id:",
                "empty scenario id: expected a stable identifier".into(),
            );
        }
        for id in &s.covers {
            self.requirement(id, "covers");
        }
        self.given(&s.given, "");
        self.line = locate(self.source, "steps:", 1).map(|p| p.0).unwrap_or(1);
        for (i, step) in s.steps.iter().enumerate() {
            self.step(step, i + 1);
        }
    }

    fn requirement(&mut self, id: &str, key: &str) {
        if !self.catalogue.contains(id) {
            self.err(
                id,
                format!(
                    "unknown requirement id {id:?} in `{key}`: expected an id of the catalogue"
                ),
            );
        }
    }

    fn given(&mut self, given: &std::collections::BTreeMap<String, Given>, prefix: &str) {
        for (k, v) in given {
            match v {
                Given::Text(t)
                    if t.starts_with('$')
                        && !t.starts_with("${")
                        && !GENERATORS.contains(&t.as_str()) =>
                {
                    self.err(
                        t,
                        format!(
                            "unknown generator {t:?} for `{prefix}{k}`: expected one of {}",
                            GENERATORS.join(", ")
                        ),
                    );
                }
                Given::Text(t) if t.contains("${") => {
                    self.err(t, format!("`given` values are literals: `{prefix}{k}` may not reference other variables"));
                }
                Given::Map(m) => self.given(m, &format!("{prefix}{k}.")),
                _ => {}
            }
        }
    }

    fn template(&mut self, t: &str) {
        match references(t) {
            Err(e) => self.err(t, format!("{e} in {t:?}")),
            Ok(refs) => {
                for r in refs {
                    let root = r.root().to_string();
                    let ok = self.defined.contains(&r.path)
                        || BUILTIN_ROOTS.contains(&root.as_str())
                        || (self.saved.contains(&root) && r.path.len() > root.len());
                    if !ok {
                        let hint = if self
                            .defined
                            .iter()
                            .any(|d| d.starts_with(&format!("{}.", r.path)))
                        {
                            " (it is a map: name one of its keys)".to_string()
                        } else if self.saved.contains(&root) {
                            " (a saved message: name a part, e.g. `.header.Call-ID`)".to_string()
                        } else {
                            String::new()
                        };
                        self.err(
                            &format!("${{{}", r.path),
                            format!(
                                "undefined reference `${{{}}}`{hint}: expected a `given` variable, a message saved by an earlier step, or a builtin root ({})",
                                r.path,
                                BUILTIN_ROOTS.join(", ")
                            ),
                        );
                    }
                }
            }
        }
    }

    fn saved_ref(&mut self, name: &str, key: &str) {
        if !self.saved.contains(name) {
            let specific = format!("{key}: {name}");
            self.err_first(
                &[specific.as_str(), name],
                format!("`{key}: {name}` names no message saved by an earlier step: expected a `save:` name or one of {}", BUILTIN_SAVED.join(", ")),
            );
        }
    }

    fn save(&mut self, name: &str) {
        if self.defined.contains(name)
            || BUILTIN_ROOTS.contains(&name)
            || BUILTIN_SAVED.contains(&name)
        {
            self.err(name, format!("`save: {name}` reuses the name of a variable or builtin: expected a fresh name"));
        }
        self.saved.insert(name.to_string());
    }

    fn step(&mut self, step: &Step, n: usize) {
        let key = match step {
            Step::Do(_) => "do:",
            Step::Send(_) => "send:",
            Step::Expect(_) => "expect:",
            Step::ExpectNone(_) => "expect_none:",
            Step::Parallel(_) => "parallel:",
            Step::AnyOrder(_) => "any_order:",
            Step::WaitFor(_) => "wait_for:",
        };
        if let Some((l, _)) = locate(self.source, key, self.line) {
            self.line = l;
        }
        match step {
            Step::Do(c) => match c.single() {
                None => self.err(
                    "do:",
                    format!(
                        "step {n}: `do` holds {} commands: expected exactly one `name: {{args}}`",
                        c.0.len()
                    ),
                ),
                Some((name, args)) => {
                    let (name, args) = (name.to_string(), args.clone());
                    self.json_templates(&args);
                    self.command(&name, &args);
                }
            },
            Step::Send(s) => self.send(s),
            Step::Expect(e) => {
                self.expect(e, false);
                self.positive = true;
            }
            Step::ExpectNone(e) => {
                if !self.positive {
                    self.warn(
                        "expect_none:",
                        format!("step {n}: `expect_none` with no earlier `expect` or `wait_for`: nothing shows that the situation this SHALL NOT is about ever arose, so it would be judged inconclusive"),
                    );
                }
                self.expect(e, true);
            }
            Step::Parallel(items) | Step::AnyOrder(items) => {
                if items.is_empty() {
                    self.err(
                        key,
                        format!("step {n}: empty group: expected at least one item"),
                    );
                }
                // Names saved inside a group are usable after it, not by its siblings.
                let mut saves = Vec::new();
                for item in items {
                    match item {
                        GroupItem::Expect(e) => {
                            self.expect_body(e, false);
                            if !e.inconclusive_on.is_empty() {
                                self.err(
                                    "inconclusive_on:",
                                    "`inconclusive_on` is not for a group's items (it ends the scenario)".into(),
                                );
                            }
                            saves.extend(e.save.clone());
                        }
                        GroupItem::ExpectNone(e) => self.expect_body(e, true),
                        GroupItem::WaitFor(w) => self.wait_for(w),
                    }
                }
                for s in saves {
                    self.save(&s);
                }
                let has_positive = items.iter().any(|i| !matches!(i, GroupItem::ExpectNone(_)));
                if !has_positive && !self.positive {
                    self.warn(
                        key,
                        format!("step {n}: a group of `expect_none` items with no earlier `expect` or `wait_for`: nothing shows that their situation ever arose"),
                    );
                }
                self.positive |= has_positive;
            }
            Step::WaitFor(w) => {
                self.wait_for(w);
                self.positive = true;
            }
        }
    }

    /// A `do:` command against the upper-tester command set (`harness/ut`): its name and its
    /// arguments' names and types, as the adapter driver will build it. A `${...}` string stands
    /// for a string: the runner substitutes text, so it cannot fill a number or a boolean.
    fn command(&mut self, name: &str, args: &serde_json::Value) {
        let Err(e) = Command::from_parts(name, args.clone()) else {
            return;
        };
        let msg = e.to_string();
        // serde names the offending token in backticks: `unknown variant `x``, `unknown field `y``.
        let token = msg
            .split('`')
            .nth(1)
            .filter(|t| msg.starts_with("unknown ") && !t.is_empty())
            .map(str::to_string);
        let message = if msg.starts_with("unknown variant") {
            format!(
                "unknown upper-tester command `{name}`: expected one of {}",
                SCENARIO_COMMANDS.join(", ")
            )
        } else {
            format!("`do: {{ {name}: ... }}`: {msg} (docs/upper-tester.md)")
        };
        match token {
            Some(t) if !msg.starts_with("unknown variant") => {
                self.err_first(&[&format!("{t}:"), &t, name], message)
            }
            _ => self.err_first(&[&format!("{name}:"), name], message),
        }
    }

    /// `xml:` document kinds and keys the runner builds (`conference-info` only).
    fn xml_keys(
        &mut self,
        x: &std::collections::BTreeMap<
            String,
            std::collections::BTreeMap<String, serde_json::Value>,
        >,
    ) {
        for (kind, fields) in x {
            if kind != "conference-info" {
                self.err_first(
                    &[&format!("{kind}:"), kind],
                    format!("`xml: {{ {kind}: ... }}` is not built by the runner: expected `conference-info` (write other documents with `body: {{ content-type, text }}`)"),
                );
                continue;
            }
            for k in fields.keys() {
                if !CONFERENCE_INFO_KEYS.contains(&k.as_str()) {
                    self.err_first(
                        &[&format!("{k}:"), k],
                        format!(
                            "conference-info: unknown key `{k}`: expected one of {}",
                            CONFERENCE_INFO_KEYS.join(", ")
                        ),
                    );
                }
            }
            match fields.get("users") {
                None => {}
                Some(serde_json::Value::Array(users)) => {
                    for u in users {
                        let Some(u) = u.as_object() else {
                            self.err_first(
                                &["users:"],
                                "conference-info `users` is a list of maps".into(),
                            );
                            continue;
                        };
                        for k in u.keys() {
                            if !CONFERENCE_USER_KEYS.contains(&k.as_str()) {
                                self.err_first(
                                    &[&format!("{k}:"), k],
                                    format!("conference-info user: unknown key `{k}`: expected one of {}", CONFERENCE_USER_KEYS.join(", ")),
                                );
                            }
                        }
                    }
                }
                Some(_) => self.err_first(
                    &["users:"],
                    "conference-info `users` is a list of maps".into(),
                ),
            }
        }
    }

    fn json_templates(&mut self, v: &serde_json::Value) {
        match v {
            serde_json::Value::String(s) => self.template(s),
            serde_json::Value::Array(a) => a.iter().for_each(|x| self.json_templates(x)),
            serde_json::Value::Object(o) => o.values().for_each(|x| self.json_templates(x)),
            _ => {}
        }
    }

    fn send(&mut self, s: &Send) {
        let kinds = [s.sip.is_some(), s.status.is_some(), s.msrp.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if kinds != 1 {
            self.err(
                "send:",
                "`send` needs exactly one of `sip: METHOD`, `status: CODE`, `msrp: ...`".into(),
            );
        }
        if matches!(s.msrp, Some(crate::scenario::MsrpStart::Status(_))) && s.answers.is_none() {
            self.err(
                "msrp:",
                "`send` of an MSRP status needs `answers:` naming the saved chunk it answers"
                    .into(),
            );
        }
        if s.status.is_some() && s.answers.is_none() {
            self.err(
                "status:",
                "`send` of a `status` needs `answers:` naming the request it answers".into(),
            );
        }
        if let Some(st) = s.status {
            if !(100..=699).contains(&st) {
                self.err("status:", format!("status {st} is outside 100..=699"));
            }
        }
        if s.keep_on_cancel && !s.status.is_some_and(|st| (100..=199).contains(&st)) {
            self.err(
                "keep_on_cancel:",
                "`keep_on_cancel` goes with a provisional `status` (1xx) to an INVITE".into(),
            );
        }
        let msrp_send = s.msrp.as_ref().is_some_and(|m| m.is_method("SEND"));
        for (key, set) in [
            ("chunk_size:", s.chunk_size),
            ("stop_after_chunks:", s.stop_after_chunks),
            ("from_byte:", s.from_byte),
        ] {
            match set {
                Some(_) if !msrp_send => self.err(
                    key,
                    format!("`{}` goes with `msrp: SEND`", key.trim_end_matches(':')),
                ),
                Some(0) => self.err(
                    key,
                    format!("`{}` must be at least 1", key.trim_end_matches(':')),
                ),
                _ => {}
            }
        }
        if s.again && !s.status.is_some_and(|st| (200..=299).contains(&st)) {
            self.err(
                "again:",
                "`again` goes with a 2xx `status` to an INVITE that an earlier step answered with it"
                    .into(),
            );
        }
        for (key, name) in [("answers", &s.answers), ("in_dialog", &s.in_dialog)] {
            if let Some(name) = name {
                self.saved_ref(name, key);
            }
        }
        let mut texts: Vec<&str> = Vec::new();
        texts.extend(s.request_uri.as_deref());
        texts.extend(s.contact.as_deref());
        texts.extend(s.headers.values().map(String::as_str));
        if let Some(c) = &s.cpim {
            texts.extend(c.from.as_deref());
            texts.extend(c.to.as_deref());
            texts.extend(c.text.as_deref());
            texts.extend(c.headers.values().map(String::as_str));
        }
        if let Some(b) = &s.body {
            texts.extend(b.text.as_deref());
        }
        if let Some(sdp) = &s.sdp {
            if sdp.offer.is_some() == sdp.answer.is_some() {
                self.err(
                    "sdp:",
                    "`sdp` needs exactly one of `offer:` or `answer:`".into(),
                );
            }
            texts.extend(sdp.file_selector.as_deref());
        }
        let texts: Vec<String> = texts.into_iter().map(str::to_string).collect();
        for t in &texts {
            self.template(t);
        }
        if let Some(x) = &s.xml {
            let v = serde_json::to_value(x).unwrap_or(serde_json::Value::Null);
            self.json_templates(&v);
            self.xml_keys(x);
        }
        if let Some(name) = &s.save {
            self.save(name);
        }
    }

    fn expect(&mut self, e: &Expect, none: bool) {
        self.expect_body(e, none);
        if let Some(s) = &e.save {
            self.save(s);
        }
    }

    fn expect_body(&mut self, e: &Expect, none: bool) {
        let kinds = [e.sip.is_some(), e.status.is_some(), e.msrp.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if kinds > 1 {
            self.err(
                "expect",
                "an expectation names at most one of `sip`, `status`, `msrp`".into(),
            );
        }
        if e.within.is_some() && e.timer.is_some() {
            self.err(
                "timer:",
                "`within` (wall time) and `timer` (protocol time, on the client's clock) are alternatives: write one".into(),
            );
        }
        if none && e.save.is_some() {
            self.err(
                "save:",
                "`expect_none` cannot `save`: nothing is matched".into(),
            );
        }
        if !e.inconclusive_on.is_empty() {
            if e.status.is_none() || e.answers.is_none() || none {
                self.err(
                    "inconclusive_on:",
                    "`inconclusive_on` goes with `expect: { status, answers }` (final statuses the client may answer instead)".into(),
                );
            }
            if let Some(c) = e
                .inconclusive_on
                .iter()
                .find(|c| !(300..700).contains(*c) || e.status.is_some_and(|w| w.accepts(**c)))
            {
                self.err(
                    "inconclusive_on:",
                    format!("`inconclusive_on: {c}`: expected final statuses 300-699 other than the awaited `status`"),
                );
            }
        }
        if e.last_chunk && !e.msrp.as_ref().is_some_and(|m| m.is_method("SEND")) {
            self.err(
                "last_chunk:",
                "`last_chunk` goes with `msrp: SEND` (the chunk that completes a message)".into(),
            );
        }
        for id in &e.verifies {
            self.requirement(id, "verifies");
        }
        self.evidence(&e.verifies, &e.evidence, &expect_conditions(e));
        // A misspelt CPIM key or XML path matches nothing: the `expect` waits in vain and an
        // `expect_none` passes whatever the client sends.
        // A feature tag is a CPM ICSI's short name or a URN: any other word is taken as a URN of
        // its own, which no client carries, so a typo would fail a correct client.
        if let Some(ft) = &e.feature_tags {
            for v in [&ft.accept_contact, &ft.contact]
                .into_iter()
                .flatten()
                .flatten()
            {
                if !v.contains(':') && cpmconf_codec::sip::icsi::from_short_name(v).is_none() {
                    self.err_first(
                        &[v.as_str(), "feature_tags:"],
                        format!("feature tag `{v}` is not a CPM ICSI (cpm.session, cpm.msg, cpm.largemsg, cpm.deferred, cpm.filetransfer) nor a URN: no client carries it"),
                    );
                }
            }
        }
        // A misspelt method or role matches nothing either.
        if let Some(m) = &e.sip {
            if let cpmconf_codec::sip::Method::Extension(_) =
                cpmconf_codec::sip::Method::from_token(&m.to_ascii_uppercase())
            {
                self.err_first(
                    &[&format!("sip: {m}"), "sip:"],
                    format!("`sip: {m}` is not a SIP method (INVITE, ACK, BYE, CANCEL, REGISTER, OPTIONS, MESSAGE, SUBSCRIBE, NOTIFY, REFER, UPDATE, PRACK, INFO, PUBLISH): the client's requests are matched by method, so it matches nothing"),
                );
            }
        }
        if let Some(crate::scenario::MsrpStart::Method(m)) = &e.msrp {
            let known = m.eq_ignore_ascii_case("CLOSE")
                || m.eq_ignore_ascii_case(crate::matcher::MSRP_OPEN)
                || !matches!(
                    cpmconf_codec::msrp::Method::from_token(&m.to_ascii_uppercase()),
                    cpmconf_codec::msrp::Method::Extension(_)
                );
            if !known {
                self.err_first(
                    &[&format!("msrp: {m}"), "msrp:"],
                    format!("`msrp: {m}` is not an MSRP method (SEND, REPORT, AUTH, NICKNAME) nor `OPEN` or `CLOSE` (the client's first message on a new connection, its close): it matches nothing"),
                );
            }
        }
        for (key, role) in [("to", e.to.as_deref()), ("from", Some(e.from.as_str()))] {
            let Some(role) = role else { continue };
            if role.contains("${") || self.roles.as_ref().is_none_or(|r| r.contains(role)) {
                continue;
            }
            self.err_first(
                &[&format!("{key}: {role}"), &format!("{key}:")],
                format!("`{key}: {role}`: no role `{role}` in this scenario: not one of client, core, registrar, cf, pf, no `send` step sends as it and no address `sip:{role}@...` (or `sips:`) is written, so no message is {} it and the expectation matches nothing", if key == "to" { "sent to" } else { "sent by" }),
            );
        }
        // Header names are open (extensions are kept verbatim), so an unregistered one is a
        // warning, not a refusal.
        for name in e.headers.keys() {
            if !cpmconf_codec::sip::header::is_registered_name(name)
                && !cpmconf_codec::msrp::header::is_registered_name(name)
            {
                self.warn(
                    &format!("{name}:"),
                    format!("`headers: {{ {name}: ... }}`: `{name}` is neither a registered SIP header (IANA, with OMA CPM's) nor an MSRP one (RFC 4975): if misspelt it matches nothing, and an `expect_none` with it passes whatever the client sends"),
                );
            }
        }
        for key in e.cpim.iter().flat_map(|m| m.keys()) {
            if let Err(p) = crate::matcher::check_cpim_key(key) {
                self.err_first(
                    &[&format!("{key}:"), key, "cpim:"],
                    format!("`cpim: {{ {key}: ... }}`: {p}"),
                );
            }
        }
        for path in e.xml.iter().flat_map(|m| m.keys()) {
            if let Err(p) = cpmconf_codec::xml::check_path(path) {
                self.err_first(
                    &[&format!("{path}:"), path, "xml:"],
                    format!("`xml: {{ {path}: ... }}`: {p}"),
                );
            }
        }
        // An address compared by `contains` passes a wrong identity that contains the text
        // (`sip:bob@test` in `sip:bob@test.example`): a plain value compares as a URI.
        let mut address_contains: Vec<String> = Vec::new();
        let is_contains = |m: &crate::scenario::Matcher| {
            matches!(
                m,
                crate::scenario::Matcher::Spec(crate::scenario::MatcherSpec::Contains(_))
            )
        };
        if e.request_uri.as_ref().is_some_and(is_contains) {
            address_contains.push("request_uri".into());
        }
        for (name, m) in &e.headers {
            if crate::matcher::is_address_header(name) && is_contains(m) {
                address_contains.push(format!("headers.{name}"));
            }
        }
        for (key, m) in e.cpim.iter().flatten() {
            if crate::matcher::is_address_cpim_key(key) && is_contains(m) {
                address_contains.push(format!("cpim.{key}"));
            }
        }
        for (path, m) in e.xml.iter().flatten() {
            if crate::matcher::is_address_xml_path(path) && is_contains(m) {
                address_contains.push(format!("xml.{path}"));
            }
        }
        for f in address_contains {
            self.warn(
                "contains",
                format!("`{f}` is an address compared with `contains`: a wrong identity containing the text passes; write the address plainly to compare it as a URI (RFC 3261 19.1.4)"),
            );
        }
        for (key, name) in [
            ("answers", &e.answers),
            ("in_dialog", &e.in_dialog),
            ("resumes", &e.resumes),
            ("cpim_from_device", &e.cpim_from_device),
        ] {
            if let Some(name) = name {
                self.saved_ref(name, key);
            }
        }
        let mut texts: Vec<String> = Vec::new();
        if let Some(b) = &e.byte_range {
            for n in [&b.start, &b.total].into_iter().flatten() {
                if let crate::scenario::NumberSpec::Text(t) = n {
                    texts.push(t.clone());
                }
            }
        }
        let mut push = |m: &crate::scenario::Matcher| {
            texts.extend(m.templates().into_iter().map(str::to_string))
        };
        e.request_uri.iter().for_each(&mut push);
        e.headers.values().for_each(&mut push);
        e.body.iter().for_each(&mut push);
        e.cpim.iter().flat_map(|m| m.values()).for_each(&mut push);
        e.xml.iter().flat_map(|m| m.values()).for_each(&mut push);
        if let Some(sdp) = &e.sdp {
            [
                &sdp.proto,
                &sdp.setup,
                &sdp.file_selector,
                &sdp.file_range,
                &sdp.file_transfer_id,
                &sdp.file_disposition,
                &sdp.path,
            ]
            .into_iter()
            .flatten()
            .for_each(&mut push);
            if let Some(d) = &sdp.direction {
                if !["sendrecv", "sendonly", "recvonly", "inactive"].contains(&d.as_str()) {
                    self.err(d, format!("sdp direction {d:?}: expected sendrecv, sendonly, recvonly or inactive"));
                }
            }
        }
        for t in &texts {
            self.template(t);
        }
    }

    fn wait_for(&mut self, w: &WaitFor) {
        for id in &w.verifies {
            self.requirement(id, "verifies");
        }
        // A misspelt event never comes (the step is not reached); a misspelt field is absent
        // in every event, which would fail a client for the scenario's typo.
        match cpmconf_ut::event_fields(&w.event) {
            None => self.err_first(
                &[&format!("event: {}", w.event), "event:"],
                format!(
                    "`event: {}` is not an event of the upper-tester protocol: expected one of {} (docs/upper-tester.md)",
                    w.event,
                    cpmconf_ut::KNOWN_EVENTS.join(", ")
                ),
            ),
            Some(known) => {
                for name in w.fields.keys() {
                    if !known.contains(name) {
                        self.err_first(
                            &[&format!("{name}:"), "fields:"],
                            format!(
                                "event `{}` has no field `{name}`: expected one of {} (docs/upper-tester.md)",
                                w.event,
                                known.join(", ")
                            ),
                        );
                    }
                }
            }
        }
        let conditions: Vec<String> = std::iter::once("fields".to_string())
            .chain(w.fields.keys().map(|k| format!("fields.{k}")))
            .collect();
        self.evidence(&w.verifies, &w.evidence, &conditions);
        for (name, m) in &w.fields {
            if crate::matcher::is_address_event_field(name)
                && matches!(
                    m,
                    crate::scenario::Matcher::Spec(crate::scenario::MatcherSpec::Contains(_))
                )
            {
                self.warn(
                    "contains",
                    format!("event field `{name}` is an address compared with `contains`: write it plainly to compare it as a URI"),
                );
            }
        }
        let texts: Vec<String> = w
            .fields
            .values()
            .flat_map(|m| m.templates())
            .map(str::to_string)
            .collect();
        for t in &texts {
            self.template(t);
        }
    }
}

/// The condition keys an expectation has (what `evidence` may name).
fn expect_conditions(e: &Expect) -> Vec<String> {
    let mut c = vec![crate::matcher::START_KEY.to_string()];
    if e.status.is_some_and(|s| s.is_failure()) {
        c.push(crate::matcher::STATUS_KEY.into());
    }
    if e.request_uri.is_some() {
        c.push("request_uri".into());
    }
    c.extend(e.headers.keys().map(|k| format!("headers.{k}")));
    if let Some(ft) = &e.feature_tags {
        if ft.accept_contact.is_some() {
            c.push("feature_tags.accept-contact".into());
        }
        if ft.contact.is_some() {
            c.push("feature_tags.contact".into());
        }
    }
    if let Some(s) = &e.sdp {
        let fields = [
            ("proto", s.proto.is_some()),
            ("direction", s.direction.is_some()),
            ("setup", s.setup.is_some()),
            ("accept-types", s.accept_types.is_some()),
            ("accept-wrapped-types", s.accept_wrapped_types.is_some()),
            ("file-selector", s.file_selector.is_some()),
            ("file-range", s.file_range.is_some()),
            ("file-transfer-id", s.file_transfer_id.is_some()),
            ("file-disposition", s.file_disposition.is_some()),
            ("path", s.path.is_some()),
        ];
        c.extend(
            fields
                .iter()
                .filter(|f| f.1)
                .map(|f| format!("sdp.{}", f.0)),
        );
    }
    c.extend(e.cpim.iter().flatten().map(|(k, _)| format!("cpim.{k}")));
    c.extend(e.xml.iter().flatten().map(|(k, _)| format!("xml.{k}")));
    if e.body.is_some() {
        c.push("body".into());
    }
    if let Some(b) = &e.byte_range {
        c.push("byte_range".into());
        for (key, set) in [
            ("start", b.start.is_some()),
            ("total", b.total.is_some()),
            ("partial", b.partial.is_some()),
            ("aborted", b.aborted.is_some()),
        ] {
            if set {
                c.push(format!("byte_range.{key}"));
            }
        }
    }
    if e.resumes.is_some() {
        c.push("resumes".into());
    }
    if e.cpim_from_device.is_some() {
        c.push("cpim_from_device".into());
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse_scenario;
    use rstest::rstest;

    fn run(src: &str) -> Vec<String> {
        let cat = Catalogue::embedded().unwrap();
        let l = parse_scenario(src, "s.yaml").unwrap();
        validate(&l, &cat)
            .into_iter()
            .map(|d| d.to_string())
            .collect()
    }

    const HEAD: &str = "id: x\nclause: '7'\ntitle: t\ncovers: [7/send-pager-mode]\ngiven:\n  g: { uri: 'sip:g@cf.test', conv: $uuid }\nsteps:\n";

    #[test]
    fn a_valid_scenario_has_no_diagnostics() {
        let src = format!(
            "{HEAD}  - do: {{ send_pager: {{ to: '${{g.uri}}', text: hi }} }}\n  - expect:\n      sip: MESSAGE\n      headers: {{ Conversation-ID: '${{g.conv}}' }}\n      verifies: [7/send-pager-mode]\n      save: m\n  - send: {{ as: core, status: 200, answers: m, headers: {{ Call-ID: '${{m.header.Call-ID}}' }} }}\n"
        );
        assert_eq!(run(&src), Vec::<String>::new());
    }

    #[rstest]
    #[case(
        "  - expect: { sip: MESSAGE, verifies: [7/nope] }\n",
        "s.yaml:8:",
        "unknown requirement id \"7/nope\""
    )]
    #[case(
        "  - expect: { sip: MESSAGE, request_uri: '${g.nope}' }\n",
        "s.yaml:8:",
        "undefined reference `${g.nope}`"
    )]
    #[case(
        "  - expect: { sip: MESSAGE, request_uri: '${g}' }\n",
        "s.yaml:8:",
        "it is a map"
    )]
    #[case(
        "  - send: { as: cf, status: 200, answers: inv }\n",
        "s.yaml:8:",
        "names no message saved"
    )]
    #[case(
        "  - expect: { sip: MESSAGE, request_uri: '${m.header.To}' }\n  - expect: { sip: INVITE, save: m }\n",
        "s.yaml:8:",
        "undefined reference `${m.header.To}`"
    )]
    #[case("  - do: { a: {}, b: {} }\n", "s.yaml:8:", "holds 2 commands")]
    #[case(
        "  - expect: { sip: INVITE, save: m }\n  - send: { as: cf, status: 200, answers: m, keep_on_cancel: true }\n",
        "s.yaml:9:",
        "`keep_on_cancel` goes with a provisional `status`"
    )]
    #[case(
        "  - expect: { sip: INVITE, save: m }\n  - send: { as: cf, status: 486, answers: m, again: true }\n",
        "s.yaml:9:",
        "`again` goes with a 2xx `status`"
    )]
    #[case(
        "  - expect: { sip: MESSAGE, inconclusive_on: [488] }\n",
        "s.yaml:8:",
        "`inconclusive_on` goes with `expect: { status, answers }`"
    )]
    #[case(
        "  - send: { as: bob, sip: INVITE, save: i }\n  - expect: { status: 200, answers: i, inconclusive_on: [200] }\n",
        "s.yaml:9:",
        "`inconclusive_on: 200`: expected final statuses 300-699 other than the awaited `status`"
    )]
    #[case(
        "  - send: { as: bob, sip: INVITE, save: i }\n  - parallel:\n      - expect: { status: 200, answers: i, inconclusive_on: [488] }\n",
        "s.yaml:",
        "`inconclusive_on` is not for a group's items"
    )]
    #[case(
        "  - expect: { sip: MESSAGE, last_chunk: true }\n",
        "s.yaml:8:",
        "`last_chunk` goes with `msrp: SEND`"
    )]
    #[case(
        "  - expect: { sip: INVITE, save: m }\n  - send: { as: cf, status: 200, answers: m, chunk_size: 16 }\n",
        "s.yaml:9:",
        "`chunk_size` goes with `msrp: SEND`"
    )]
    #[case(
        "  - expect: { sip: INVITE, save: m }\n  - send: { as: bob, msrp: SEND, in_dialog: m, body: { content-type: text/plain, text: x }, from_byte: 0 }\n",
        "s.yaml:9:",
        "`from_byte` must be at least 1"
    )]
    #[case(
        "  - expect: { sip: INVITE, save: m }\n  - send: { as: bob, msrp: SEND, in_dialog: m, body: { content-type: text/plain, text: x }, stop_after_chunks: 0 }\n",
        "s.yaml:9:",
        "`stop_after_chunks` must be at least 1"
    )]
    #[case(
        "  - send: { as: cf, sip: INVITE, status: 200, answers: last_sent }\n",
        "s.yaml:8:",
        "exactly one of"
    )]
    #[case(
        "  - expect: { sip: SUBSCRIBE, within: 4s, timer: 4s }\n",
        "s.yaml:8:",
        "`within` (wall time) and `timer` (protocol time, on the client's clock) are alternatives"
    )]
    fn semantic_errors(#[case] steps: &str, #[case] at: &str, #[case] msg: &str) {
        let got = run(&format!("{HEAD}{steps}"));
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].starts_with(at) && got[0].contains(msg), "{got:?}");
    }

    /// `do:` commands and `xml:` keys are checked against what the upper tester and the runner
    /// know, at the offending token, with the valid names listed.
    #[rstest]
    #[case(
        "  - do: { send_chatt: { text: hi } }\n",
        "s.yaml:8:11:",
        "unknown upper-tester command `send_chatt`: expected one of hello, configure"
    )]
    #[case(
        "  - do: { send_chat: { txet: hi } }\n",
        "s.yaml:8:24:",
        "unknown field `txet`, expected one of `session`, `text`, `imdn`"
    )]
    #[case(
        "  - do: { send_file: { to: 'sip:b@test', name: a, content_type: t, size: big } }\n",
        "s.yaml:8:11:",
        "invalid type: string \"big\", expected u64"
    )]
    #[case("  - do: { send_chat: {} }\n", "s.yaml:8:11:", "missing field `text`")]
    #[case(
        "  - do: { unregister: { now: true } }\n",
        "s.yaml:8:11:",
        "`do: { unregister: ... }`"
    )]
    #[case("  - send: { as: cf, sip: NOTIFY, xml: { conference-info: { entity: 'sip:g@cf.test', userz: [] } } }\n", "s.yaml:8:", "conference-info: unknown key `userz`: expected one of entity, state, version, users")]
    #[case("  - send: { as: cf, sip: NOTIFY, xml: { conference-info: { entity: 'sip:g@cf.test', users: [{ entity: 'sip:b@test', statuz: connected }] } } }\n", "s.yaml:8:", "conference-info user: unknown key `statuz`: expected one of entity, state, display-text, status")]
    #[case(
        "  - expect: { msrp: SEND, xml: { imdn/mesage-id: x } }\n",
        "s.yaml:8:34:",
        "`xml: { imdn/mesage-id: ... }`: `mesage-id` is not a child of `imdn` in the `imdn` document (RFC 5438): expected one of message-id,"
    )]
    #[case(
        "  - wait_for: { event: file_recieved }\n",
        "s.yaml:8:",
        "`event: file_recieved` is not an event of the upper-tester protocol: expected one of registered,"
    )]
    #[case(
        "  - wait_for: { event: file_received, fields: { sha265: x } }\n",
        "s.yaml:8:",
        "event `file_received` has no field `sha265`: expected one of"
    )]
    #[case(
        "  - expect: { sip: INVITE, feature_tags: { accept-contact: [cpm.session], contact: [cpm.filetransfr] } }\n",
        "s.yaml:8:",
        "feature tag `cpm.filetransfr` is not a CPM ICSI"
    )]
    #[case(
        "  - expect: { sip: SUBSCRIBBE }\n",
        "s.yaml:8:",
        "`sip: SUBSCRIBBE` is not a SIP method"
    )]
    #[case(
        "  - expect: { msrp: SNED }\n",
        "s.yaml:8:",
        "`msrp: SNED` is not an MSRP method"
    )]
    #[case(
        "  - expect: { sip: MESSAGE, to: cff }\n",
        "s.yaml:8:",
        "`to: cff`: no role `cff` in this scenario"
    )]
    #[case(
        "  - expect: { sip: MESSAGE, cpim: { Frm: x } }\n",
        "s.yaml:8:",
        "`cpim: { Frm: ... }`: `Frm` is not a CPIM message header (RFC 3862 3.3)"
    )]
    #[case(
        "  - expect: { sip: MESSAGE, cpim: { imdn.Mesage-ID: x } }\n",
        "s.yaml:8:",
        "`Mesage-ID` is not an IMDN header (RFC 5438 6)"
    )]
    #[case(
        "  - expect: { sip: MESSAGE, cpim: { maap.Foo: x } }\n",
        "s.yaml:8:",
        "unknown namespace prefix `maap`"
    )]
    #[case(
        "  - expect: { sip: MESSAGE, xml: { isComposing/stat: active } }\n",
        "s.yaml:8:",
        "`stat` is not a child of `isComposing`"
    )]
    #[case(
        "  - send: { as: cf, sip: NOTIFY, xml: { imdn: { message-id: x } } }\n",
        "s.yaml:8:",
        "`xml: { imdn: ... }` is not built by the runner"
    )]
    fn commands_and_xml_keys(#[case] steps: &str, #[case] at: &str, #[case] msg: &str) {
        let got = run(&format!("{HEAD}{steps}"));
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].starts_with(at) && got[0].contains(msg), "{got:?}");
        assert!(got[0].contains(": error: "), "{got:?}");
    }

    #[rstest]
    #[case("  - do: { send_chat: { text: '${g.uri}' } }\n")]
    #[case("  - do: { go_offline: {} }\n")]
    #[case("  - do: { unregister: }\n")]
    #[case("  - send: { as: cf, sip: NOTIFY, xml: { conference-info: { entity: 'sip:g@cf.test', state: full, version: 2, users: [{ entity: 'sip:b@test', state: full, display-text: B, status: connected }] } } }\n")]
    #[case("  - expect: { msrp: SEND, xml: { imdn/message-id: x, imdn/delivery-notification/status/*: delivered } }\n")]
    #[case("  - expect: { sip: INVITE, xml: { resource-lists/list/entry/@uri: 'sip:b@test' } }\n")]
    #[case("  - expect: { sip: MESSAGE, cpim: { From: x, to: y, Content: z, content-type: text/plain, imdn.message-id: m, imdn.Disposition-Notification: d } }\n")]
    #[case("  - expect: { sip: message, to: cf }\n")]
    #[case("  - expect: { msrp: close, to: registrar }\n")]
    #[case("  - expect: { msrp: OPEN }\n")]
    #[case("  - expect: { sip: INVITE, feature_tags: { accept-contact: [session, cpm.deferred], contact: ['urn:urn-7:3gpp-service.ims.icsi.mmtel'] } }\n")]
    #[case("  - wait_for: { event: file_received, fields: { size: '32', sha256: x, name: n } }\n")]
    #[case("  - do: { send_pager: { to: 'sip:carol@test', text: x } }\n  - expect: { sip: MESSAGE, to: carol }\n")]
    #[case("  - send: { as: dave, sip: MESSAGE }\n  - expect: { status: 200, to: dave }\n")]
    #[case("  - do: { send_pager: { to: 'sip:+15551234@test;user=phone', text: x } }\n  - expect: { sip: MESSAGE, to: '+15551234' }\n")]
    #[case("  - do: { send_pager: { to: 'sips:carol@test', text: x } }\n  - expect: { sip: MESSAGE, to: carol }\n")]
    #[case("  - do: { send_pager: { to: 'sip:${client.user}@test', text: x } }\n  - expect: { sip: MESSAGE, to: erin }\n")]
    fn valid_commands_and_xml(#[case] steps: &str) {
        assert_eq!(run(&format!("{HEAD}{steps}")), Vec::<String>::new());
    }

    #[rstest]
    #[case::misspelt("Acept-Contact", 1)]
    #[case::registered_any_case("accept-contact", 0)]
    #[case::compact("o", 0)]
    #[case::cpm("Contribution-ID", 0)]
    #[case::msrp("Byte-Range", 0)]
    fn unregistered_header_names_are_warned(#[case] name: &str, #[case] warnings: usize) {
        let got = run(&format!(
            "{HEAD}  - expect: {{ sip: INVITE, headers: {{ {name}: x }} }}\n"
        ));
        assert_eq!(got.len(), warnings, "{got:?}");
        for g in &got {
            assert!(
                g.starts_with("s.yaml:8:") && g.contains(": warning: ") && g.contains(name),
                "{got:?}"
            );
        }
    }

    #[test]
    fn unknown_generator_and_cover() {
        let src = "id: x\nclause: '7'\ntitle: t\ncovers: [7/zzz]\ngiven: { a: $uid }\nsteps: []\n";
        let got = run(src);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].starts_with("s.yaml:4:10:"), "{got:?}");
        assert!(
            got[1].starts_with("s.yaml:5:13:") && got[1].contains("unknown generator"),
            "{got:?}"
        );
    }
}

#[cfg(test)]
mod file_tests {
    use super::*;

    #[test]
    fn files_duplicate_ids_and_structure_errors() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.yaml");
        let b = dir.path().join("b.yaml");
        let c = dir.path().join("c.yaml");
        std::fs::write(&a, "id: same\nclause: '7'\ntitle: t\nsteps: []\n").unwrap();
        std::fs::write(&b, "id: same\nclause: '7'\ntitle: t\nsteps: []\n").unwrap();
        std::fs::write(&c, "id: c\nclause: '7'\ntitle: t\nstep: []\n").unwrap();
        let cat = Catalogue::embedded().unwrap();
        let d: Vec<String> = validate_files(&[a.as_path(), b.as_path(), c.as_path()], &cat)
            .iter()
            .map(|d| d.to_string())
            .collect();
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(
            d[0].contains("b.yaml:1:5: error: scenario id \"same\" is already used"),
            "{d:?}"
        );
        assert!(
            d[1].contains("c.yaml:4:1: error: unknown field `step`"),
            "{d:?}"
        );
    }

    #[test]
    fn group_saves_are_not_visible_to_siblings() {
        let src = "id: x\nclause: '7'\ntitle: t\nsteps:\n  - parallel:\n      - expect: { sip: INVITE, save: inv }\n      - expect: { status: 200, answers: inv }\n  - expect: { sip: BYE, in_dialog: inv }\n";
        let l = crate::scenario::parse_scenario(src, "g.yaml").unwrap();
        let d: Vec<String> = validate(&l, &Catalogue::embedded().unwrap())
            .iter()
            .map(|d| d.to_string())
            .collect();
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(
            d[0].starts_with("g.yaml:7:") && d[0].contains("`answers: inv`"),
            "{d:?}"
        );
    }
}
