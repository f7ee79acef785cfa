//! `cpmconf faults`: the named faults of the reference client, one line each: the requirement id
//! it breaks, then what the client does wrong.

use std::process::ExitCode;

/// `cpmconf faults`.
pub fn run() -> ExitCode {
    let faults = cpmconf_engine::client::all_faults();
    let width = faults.iter().map(|f| f.id.len()).max().unwrap_or(0);
    for f in faults {
        println!("{:width$}  {}", f.id, f.breaks);
    }
    ExitCode::SUCCESS
}
