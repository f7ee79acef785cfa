//! Build script: embeds every scenario file of the repository's `scenarios/` folder in the
//! binary (the default of `cpmconf run` and `cpmconf validate`, so an installed binary needs no
//! checkout).

use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml")
            && p.file_name().is_some_and(|n| n != "requirements.yaml")
        {
            out.push(p);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let repo = manifest.join("../..");
    let scenarios = repo.join("scenarios");
    println!("cargo:rerun-if-changed={}", scenarios.display());
    let mut files = Vec::new();
    walk(&scenarios, &mut files);
    files.sort();
    let mut code = String::from(
        "/// Every scenario file of `scenarios/` at build time: (path from the repository root, text).\n\
         pub static SCENARIOS: &[(&str, &str)] = &[\n",
    );
    for f in &files {
        let rel = f
            .strip_prefix(&repo)
            .expect("under the repository")
            .to_string_lossy()
            .replace('\\', "/");
        let abs = std::fs::canonicalize(f).expect("the file exists");
        code.push_str(&format!(
            "    ({rel:?}, include_str!({:?})),\n",
            abs.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    std::fs::write(out.join("embedded_scenarios.rs"), code).expect("OUT_DIR is writable");
}
