//! Limits are tested from both sides with the profile's own provisioned values: a client
//! provisioned with another file-size limit than the reference profile's gets the same verdicts
//! (issue 10, boundaries; issue 15 item 2: the limit is never hard-coded).

mod support;

use rstest::rstest;
use support::{run, Profile};

const BOTH_SIDES: [&str; 2] = [
    "file-at-size-limit-accepted",
    "file-over-size-limit-declined",
];

#[rstest]
#[case::reference_profile(None)]
#[case::two_mib(Some(2_097_152))]
#[case::one_byte(Some(1))]
fn the_file_size_boundary_follows_the_provisioned_limit(#[case] limit: Option<u64>) {
    let mut profile = Profile::fixture("reference");
    if let Some(l) = limit {
        profile.0.provisioned.file_size_limit = Some(l);
    }
    let r = run(&profile, &BOTH_SIDES, &[]);
    for id in BOTH_SIDES {
        assert_eq!(r.scenario(id)["verdict"], "pass", "{id}: {}", r.text());
        assert_eq!(
            r.verdicts(id)
                .get("7.4.2/validate-file-size")
                .map(String::as_str),
            Some("pass"),
            "{id}: {}",
            r.text()
        );
    }
}

/// A client whose profile provisions no file-size limit: the scenarios built on the limit
/// cannot be set up for it, and are not judged (`inconclusive`, the step says why), never
/// filed as a harness error or a failure of the client.
#[test]
fn without_a_provisioned_limit_the_boundary_is_not_judged() {
    let mut profile = Profile::fixture("reference");
    profile.0.provisioned.file_size_limit = None;
    let r = run(&profile, &BOTH_SIDES, &[]);
    for id in BOTH_SIDES {
        assert_eq!(
            r.scenario(id)["verdict"],
            "inconclusive",
            "{id}: {}",
            r.text()
        );
        let why = r.scenario(id).to_string();
        assert!(
            why.contains("the client profile provisions no such value"),
            "{id}: {why}"
        );
    }
}
