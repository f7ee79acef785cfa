//! `cpmconf validate`: checks scenario files (structure, requirement ids known to the catalogue,
//! variables and saved messages defined before use) and prints `file:line:column: error: ...`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use cpmconf_engine::validate::{validate_all, validate_files};
use cpmconf_engine::Catalogue;

/// Arguments of `cpmconf validate`.
#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Scenario files, or folders whose scenario files (every .yaml under them but
    /// requirements.yaml) are checked (default: every scenario under scenarios/ of the checkout
    /// the current directory is in, else the scenarios built into the binary).
    #[arg(value_name = "FILE|DIR")]
    files: Vec<PathBuf>,
}

/// `cpmconf validate`: exit 0 when every file is valid, 1 on any problem, 2 when nothing could
/// be checked.
pub fn run(a: &ValidateArgs) -> ExitCode {
    let catalogue = match Catalogue::embedded() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cpmconf validate: {e}");
            return ExitCode::from(2);
        }
    };
    let (count, diags) = if a.files.is_empty() {
        let dir = crate::run::checkout().map(|c| c.join("scenarios"));
        match crate::run::load_scenarios(dir.as_deref()) {
            Ok((loaded, mut diags)) => {
                let count = loaded.len() + diags.len();
                diags.extend(validate_all(&loaded, &catalogue));
                (count, diags)
            }
            Err(e) => {
                eprintln!("cpmconf validate: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        // A folder stands for its scenario files, as `run --scenarios DIR` reads them.
        let files: Vec<PathBuf> = a
            .files
            .iter()
            .flat_map(|f| {
                if f.is_dir() {
                    cpmconf_engine::scenario::scenario_files(f)
                } else {
                    vec![f.clone()]
                }
            })
            .collect();
        if files.is_empty() {
            eprintln!("cpmconf validate: no scenario file under the folder(s) given");
            return ExitCode::from(2);
        }
        let paths: Vec<&std::path::Path> = files.iter().map(PathBuf::as_path).collect();
        (files.len(), validate_files(&paths, &catalogue))
    };
    for d in &diags {
        println!("{d}");
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    if errors == 0 {
        println!(
            "{} scenario file(s) valid{}",
            count,
            if warnings > 0 {
                format!(", {warnings} warning(s)")
            } else {
                String::new()
            }
        );
        ExitCode::SUCCESS
    } else {
        println!(
            "{errors} problem(s) and {warnings} warning(s) in {} file(s)",
            count
        );
        ExitCode::from(1)
    }
}
