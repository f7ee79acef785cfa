//! Build script: the embedded requirement catalogue (scenarios/requirements.yaml) converted to
//! JSON once, at build time, so that every command reads it with serde_json instead of parsing
//! YAML at each start (`Catalogue::embedded`; a test asserts both give the same catalogue).

use std::path::PathBuf;

fn main() {
    let src = PathBuf::from("../../scenarios/requirements.yaml");
    println!("cargo:rerun-if-changed={}", src.display());
    let text = std::fs::read_to_string(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    // A catalogue that is not YAML is reported where it is read (`Catalogue::embedded`, from the
    // YAML text, with its line and column): here it becomes an empty JSON document.
    let json = match serde_yaml::from_str::<serde_json::Value>(&text) {
        Ok(v) => serde_json::to_string(&v).expect("JSON from a YAML value"),
        Err(_) => String::new(),
    };
    let out =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("requirements.json");
    std::fs::write(&out, json).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
}
