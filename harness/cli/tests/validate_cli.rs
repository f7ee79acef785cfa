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

// A folder stands for its scenario files (as `run --scenarios DIR` reads them): a problem in a
// file under it is reported with that file's position; a folder with none is exit 2.
#[test]
fn a_folder_validates_the_scenarios_under_it() {
    let out = cpmconf(&["validate", "scenarios/7.4.5.2"]);
    let t = String::from_utf8_lossy(&out.stdout);
    let files =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/7.4.5.2"))
            .unwrap()
            .count();
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains(&format!("{files} scenario file(s) valid")),
        "{t}"
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(
        dir.path().join("sub").join("bad.yaml"),
        "id: bad\nclause: \"7\"\ntitle: t\nsteps:\n  - expect:\n      sip: MESSAGE\n      hedaers: { Subject: x }\n",
    )
    .unwrap();
    let out = cpmconf(&["validate", dir.path().to_str().unwrap()]);
    let t = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("bad.yaml:7:7: error: "), "{t}");

    let empty = tempfile::tempdir().unwrap();
    let out = cpmconf(&["validate", empty.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no scenario file"));
}
