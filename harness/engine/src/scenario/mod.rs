//! Scenarios: the typed model, its loader (the only place that touches YAML) and `${...}`
//! variables.

pub mod duration;
pub mod load;
pub mod matcher_spec;
pub mod model;
mod step_de;
pub mod vars;

pub use duration::DurationSpec;
pub use load::{load_dir, load_file, load_texts, parse_scenario, scenario_files, LoadedScenario};
pub use matcher_spec::{Matcher, MatcherSpec, StatusSpec};
pub use model::{
    BodySend, ByteRangeExpect, Command, CpimSend, Expect, FeatureTags, Given, GroupItem, MediaKind,
    MsrpStart, NumberSpec, Scenario, SdpExpect, SdpSend, Send, Setup, Step, WaitFor,
    LANGUAGE_VERSION,
};
pub use vars::{Bindings, Reference, TemplateError};
