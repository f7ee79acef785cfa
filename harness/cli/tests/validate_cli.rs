//! `cpmconf validate` and `cpmconf schema`: the suite's scenarios are valid; a misspelt key is
//! reported with its line and column and exit 1.

use std::path::Path;
use std::process::Command;

fn cpmconf(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cpmconf"))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_suite_validates() {
    let out = cpmconf(&["validate"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn a_misspelt_key_gives_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.yaml");
    std::fs::write(
        &f,
        "id: bad\nclause: \"7\"\ntitle: t\nsteps:\n  - expect:\n      sip: MESSAGE\n      hedaers: { Subject: x }\n",
    )
    .unwrap();
    let out = cpmconf(&["validate", f.to_str().unwrap()]);
    let t = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("bad.yaml:7:7: error: "), "{t}");
    assert!(t.contains("unknown field `hedaers`"), "{t}");
}

#[test]
fn schema_is_json_schema() {
    let out = cpmconf(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["$schema"].as_str().unwrap_or("").contains("json-schema"),
        "{v}"
    );
}
