//! The scenarios and the reference client profile built into the binary: the defaults of
//! `cpmconf run` and `cpmconf validate`, so an installed `cpmconf` works outside a checkout.

include!(concat!(env!("OUT_DIR"), "/embedded_scenarios.rs"));

/// The built-in reference client's profile (`fixtures/clients/reference.yaml`).
pub const REFERENCE_PROFILE: &str = include_str!("../../../fixtures/clients/reference.yaml");

/// Where the embedded reference profile came from, for messages.
pub const REFERENCE_PROFILE_ORIGIN: &str = "<built-in fixtures/clients/reference.yaml>";
