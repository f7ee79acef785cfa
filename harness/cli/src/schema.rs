//! `cpmconf schema`: prints the JSON Schema of scenario files (derived from the typed model).

use std::process::ExitCode;

/// `cpmconf schema`.
pub fn run() -> ExitCode {
    println!("{}", cpmconf_engine::schema::scenario_schema_string());
    ExitCode::SUCCESS
}
