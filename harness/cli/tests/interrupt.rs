//! SIGINT and SIGTERM sent to a real `cpmconf run` process: exit 130, and results.json and
//! junit.xml list every scenario that finished plus the running one as `error: interrupted`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rstest::rstest;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The captures in `dir` (one per started scenario); the `.pcap.meta.json` sidecar written beside
/// each finished one is not counted.
fn count_pcaps(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |rd| {
        rd.flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "pcap"))
            .count()
    })
}

fn scenario_count() -> usize {
    fn walk(d: &Path, n: &mut usize) {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, n);
            } else if p.extension().is_some_and(|x| x == "yaml")
                && p.file_name().is_some_and(|f| f != "requirements.yaml")
            {
                *n += 1;
            }
        }
    }
    let mut n = 0;
    walk(&repo().join("scenarios"), &mut n);
    n
}

/// Waits for the child with a deadline; kills it and panics when it does not end.
fn wait_with_deadline(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("cpmconf run did not end within {limit:?} of the signal");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[rstest]
#[case::sigint("INT", false)]
#[case::sigterm("TERM", false)]
#[case::sigint_when_started_with_sigint_ignored("INT", true)]
fn a_signal_ends_the_run_with_a_report_of_what_finished(
    #[case] signal: &str,
    #[case] ignore_sigint: bool,
) {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report");
    let golden = dir.path().join("golden");
    std::fs::create_dir_all(&golden).unwrap();
    let bin = env!("CARGO_BIN_EXE_cpmconf");
    let mut cmd = if ignore_sigint {
        // A shell that ignores SIGINT before exec, as for a background job of a script: the
        // binary inherits the ignored disposition and must install its handler anyway.
        let mut c = Command::new("sh");
        c.arg("-c").arg("trap '' INT; exec \"$0\" \"$@\"").arg(bin);
        c
    } else {
        Command::new(bin)
    };
    let mut child = cmd
        .current_dir(repo())
        .args(["run", "--quiet", "--jobs", "1", "--seed", "7", "--report"])
        .arg(&report)
        .arg("--golden")
        .arg(&golden)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Signal once the second scenario has begun (its pcap exists): one finished, one running.
    let deadline = Instant::now() + Duration::from_secs(120);
    while count_pcaps(&report.join("pcap")) < 2 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it was signalled"
        );
        assert!(Instant::now() < deadline, "no scenario started in time");
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(killed.success());
    let status = wait_with_deadline(&mut child, Duration::from_secs(30));
    assert_eq!(status.code(), Some(130), "{status:?}");

    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report.join("results.json")).unwrap()).unwrap();
    let scenarios = results["scenarios"].as_array().unwrap();
    assert!(!scenarios.is_empty(), "{results}");
    assert!(
        scenarios.len() < scenario_count(),
        "an interrupted run must not start every scenario: {}",
        scenarios.len()
    );
    let interrupted: Vec<_> = scenarios
        .iter()
        .filter(|s| s["verdict"] == "error" && s["message"] == "interrupted")
        .collect();
    assert_eq!(interrupted.len(), 1, "{results}");
    assert_eq!(results["gate"]["passed"], false, "{results}");
    let junit = std::fs::read_to_string(report.join("junit.xml")).unwrap();
    let id = interrupted[0]["id"].as_str().unwrap();
    assert!(
        junit.contains(id) && junit.contains("interrupted"),
        "{junit}"
    );
    // Only the final files remain: no temporary file of the atomic writes.
    let leftovers: Vec<_> = std::fs::read_dir(&report)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
