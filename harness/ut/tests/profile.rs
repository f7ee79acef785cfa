//! Client profile tests: the committed profiles load, and errors name file:line:column.

use std::path::{Path, PathBuf};

use cpmconf_ut::*;
use rstest::rstest;

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/clients")
}

#[rstest]
#[case::reference("reference.yaml", "reference")]
#[case::subprocess("reference-subprocess.yaml", "reference-subprocess")]
#[case::example("example-adapter.yaml", "example-client")]
fn committed_profiles_load(#[case] file: &str, #[case] name: &str) {
    let p = ClientProfile::load(&clients_dir().join(file)).unwrap();
    assert_eq!(p.name, name);
    assert_eq!(p.public_user_identity(), "sip:alice@test");
    assert!(p.has_capability("pager"));
    assert_eq!(
        p.provisioned.deferred_mgmt_uri.as_deref(),
        Some("sip:deferred@pf.test")
    );
}

#[test]
fn reference_profiles_declare_every_capability() {
    for file in ["reference.yaml", "reference-subprocess.yaml"] {
        let p = ClientProfile::load(&clients_dir().join(file)).unwrap();
        assert_eq!(p.capabilities, Capability::ALL.to_vec(), "{file}");
    }
    let p = ClientProfile::load(&clients_dir().join("reference.yaml")).unwrap();
    assert_eq!(p.adapter, AdapterSpec::InProcess);
    let p = ClientProfile::load(&clients_dir().join("reference-subprocess.yaml")).unwrap();
    assert!(
        matches!(p.adapter, AdapterSpec::Process { ref command, .. } if command == &["cpmconf", "refclient"])
    );
}

#[test]
fn relative_cwd_is_resolved_against_the_profile() {
    let p = ClientProfile::load(&clients_dir().join("example-adapter.yaml")).unwrap();
    match p.adapter {
        AdapterSpec::Process { cwd: Some(cwd), .. } => {
            assert!(cwd.starts_with(clients_dir()), "{}", cwd.display())
        }
        other => panic!("unexpected adapter {other:?}"),
    }
}

#[test]
fn configure_command_from_profile() {
    let p = ClientProfile::load(&clients_dir().join("reference.yaml")).unwrap();
    let c = p.configure("127.0.0.1:5060");
    assert_eq!(c.identity.public_user_identity, "sip:alice@test");
    assert_eq!(c.identity.instance_id, "urn:gsma:imei:A-1");
    assert_eq!(c.provisioned.pager_limit, Some(1300));
    assert_eq!(c.transport, Transport::Udp);
}

const GOOD: &str = "name: x\nadapter:\n  kind: tcp\n  addr: \"127.0.0.1:7010\"\nidentity:\n  user: a\n  domain: test\n  password: p\n  instance_id: i\n";

#[rstest]
#[case::unknown_top_level_key("name: x\ncolour: red\n", 2, "colour")]
#[case::unknown_capability("name: x\nadapter: { kind: in_process }\nidentity: { user: a, domain: t, password: p, instance_id: i }\ncapabilities:\n  - pager\n  - telepathy\n", 6, "telepathy")]
#[case::bad_transport("name: x\nadapter: { kind: in_process }\nidentity: { user: a, domain: t, password: p, instance_id: i }\ntransport: sctp\n", 4, "sctp")]
#[case::unknown_identity_key(
    "name: x\nadapter: { kind: in_process }\nidentity:\n  user: a\n  domian: t\n",
    5,
    "domian"
)]
#[case::unknown_adapter_key("name: x\nadapter:\n  kind: process\n  comand: [a]\n", 4, "comand")]
#[case::unknown_adapter_kind("name: x\nadapter:\n  kind: serial\n", 3, "serial")]
#[case::wrong_type("name: x\nadapter: { kind: in_process }\nidentity: { user: a, domain: t, password: p, instance_id: i }\nprovisioned:\n  pager_limit: lots\n", 5, "")]
#[case::empty_command("name: x\nadapter:\n  kind: process\n  command: []\nidentity: { user: a, domain: t, password: p, instance_id: i }\n", 4, "command")]
fn load_errors_name_line_and_column(#[case] yaml: &str, #[case] line: usize, #[case] needle: &str) {
    let err = ClientProfile::from_yaml(yaml, "bad.yaml").unwrap_err();
    match &err {
        ProfileError::Invalid {
            path,
            line: l,
            column,
            message,
        } => {
            assert_eq!(path, "bad.yaml");
            assert_eq!(*l, line, "{err}");
            assert!(*column >= 1, "{err}");
            assert!(message.contains(needle), "{err}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert!(
        err.to_string().starts_with(&format!("bad.yaml:{line}:")),
        "{err}"
    );
}

#[test]
fn good_inline_profile_loads() {
    let p = ClientProfile::from_yaml(GOOD, "good.yaml").unwrap();
    assert_eq!(
        p.adapter,
        AdapterSpec::Tcp {
            addr: "127.0.0.1:7010".into()
        }
    );
    assert!(p.capabilities.is_empty());
}

#[test]
fn load_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("client.yaml");
    std::fs::write(&path, "name: x\nbogus: 1\n").unwrap();
    let err = ClientProfile::load(&path).unwrap_err().to_string();
    assert!(err.starts_with(&format!("{}:2:", path.display())), "{err}");
    let err = ClientProfile::load(&dir.path().join("missing.yaml")).unwrap_err();
    assert!(matches!(err, ProfileError::Read { .. }));
}

#[rstest]
#[case::absent("", &[])]
#[case::listed(
    "protocol_waivers: [rfc3261/8.2.6.2-via-copied, rfc4566/5-crlf]\n",
    &["rfc3261/8.2.6.2-via-copied", "rfc4566/5-crlf"]
)]
fn protocol_waivers_are_read_from_the_profile(#[case] extra: &str, #[case] want: &[&str]) {
    let text = format!(
        "name: w\nadapter: {{ kind: in_process }}\nidentity: {{ user: alice, domain: test, password: p, instance_id: \"urn:gsma:imei:A-1\" }}\n{extra}"
    );
    let p = ClientProfile::from_yaml(&text, "w.yaml").unwrap();
    assert_eq!(p.protocol_waivers, want);
}

/// `clock:` is how long one protocol second lasts on the client: the reference profiles run
/// fast, a profile without it runs in real time, and a value outside (0, 1] is refused with
/// the line and column of the key.
#[rstest::rstest]
#[case::reference("reference.yaml", 0.1)]
#[case::subprocess("reference-subprocess.yaml", 0.1)]
#[case::external("pjsua2.yaml", 1.0)]
fn clock_of_the_profiles(#[case] file: &str, #[case] clock: f64) {
    let p = ClientProfile::load(&clients_dir().join(file)).unwrap();
    assert_eq!(p.clock, clock, "{file}");
}

#[rstest::rstest]
#[case::zero("0")]
#[case::negative("-0.5")]
#[case::slower_than_real_time("2")]
fn clock_outside_zero_to_one_is_refused(#[case] value: &str) {
    let text = format!(
        "name: x\nadapter: {{ kind: in_process }}\nidentity: {{ user: a, domain: test, password: p, instance_id: i }}\nclock: {value}\n"
    );
    let e = ClientProfile::from_yaml(&text, "p.yaml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("p.yaml:4:1"), "{e}");
    assert!(
        e.contains("clock must be a number above 0 and at most 1"),
        "{e}"
    );
}
