//! Build script: the embedded requirement catalogue (scenarios/requirements.yaml, named here
//! only) is handed to the crate as `CPMCONF_CATALOGUE_YAML` (its path, for `include_str!`) and
//! converted to JSON once, at build time, so that every command reads it with serde_json
//! instead of parsing YAML at each start (`Catalogue::embedded`; a test asserts both give the
//! same catalogue).

use std::path::PathBuf;

fn main() {
    let manifest =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let src = manifest.join("../../scenarios/requirements.yaml");
    println!("cargo:rerun-if-changed={}", src.display());
    println!("cargo:rustc-env=CPMCONF_CATALOGUE_YAML={}", src.display());
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
