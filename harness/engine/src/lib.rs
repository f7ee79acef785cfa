//! The conformance engine: requirement catalogue, scenario model and loader, validation, matcher,
//! verdicts, golden projection and reports. The runner that drives the simulated network and the
//! client plugs into these types: it loads scenarios ([`scenario::load_file`]), builds a
//! [`observed::MatchEnv`] per scenario, judges messages with [`matcher::is_candidate`] /
//! [`matcher::check`], records step outcomes in an [`assess::Assessor`], emits
//! [`report::RunEvent`]s to reporters and compares the [`golden::project`]ion with `golden/`.
#![deny(missing_docs)]

pub mod assess;
pub mod baseline;
pub mod catalogue;
pub mod check;
pub mod diagnostic;
pub mod golden;
pub mod group;
pub mod judge;
pub mod lint;
pub mod matcher;
pub mod mutate;
pub mod observed;
pub mod parts;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod schema;
pub mod select;
pub mod validate;
pub mod verdict;

pub use assess::{Assessor, StepOutcome};
pub use catalogue::{Catalogue, Requirement, Strength, Weight};
pub use cpmconf_client as client;
pub use cpmconf_ut as ut;
pub use diagnostic::Diagnostic;
pub use matcher::{check, is_candidate, MatchError, MatchOutcome};
pub use observed::{MatchEnv, Observed, SavedMessage};
pub use verdict::{gate, Finding, Gate, KnownFailures, RequirementResult, ScenarioResult, Verdict};
