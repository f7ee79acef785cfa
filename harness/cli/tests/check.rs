//! `cpmconf check` on captures: the pcaps of a live run judged offline give the live run's
//! verdicts (scenario mode, from the sidecar) and its per-message verdicts (lint mode: the
//! protocol baseline and 7/user-agent-header), for the reference client and with a fault; a
//! capture without a sidecar is judged against a scenario with --roles; bad captures and bad
//! arguments exit 2 saying what is wrong.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rstest::rstest;
use serde_json::Value;
use support::{cpmconf, repo, text};

const UA: &str = "7/user-agent-header";

/// One live run of the whole suite with `fault` (or none), its report folder kept.
fn live(fault: Option<&str>) -> PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    let report = dir.join("report");
    let golden = dir.join("golden");
    let mut args = vec![
        "run",
        "--quiet",
        "--seed",
        "3",
        "--jobs",
        "8",
        "--report",
        report.to_str().unwrap(),
        "--golden",
        golden.to_str().unwrap(),
    ];
    if let Some(f) = fault {
        args.extend(["--fault", f]);
    }
    let o = cpmconf(&args);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
    report
}

fn runs() -> &'static BTreeMap<&'static str, PathBuf> {
    static RUNS: OnceLock<BTreeMap<&'static str, PathBuf>> = OnceLock::new();
    RUNS.get_or_init(|| BTreeMap::from([("reference", live(None)), (UA, live(Some(UA)))]))
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// What the per-message rules said about one scenario: the User-Agent verdict and, per protocol
/// rule, verdict, messages checked and offending entries.
fn per_message(s: &Value) -> (Option<String>, Vec<(String, String, u64, Value)>) {
    let ua = s["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == UA)
        .map(|r| r["verdict"].as_str().unwrap().to_string());
    let proto = s["protocol"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["rule"].as_str().unwrap().to_string(),
                p["verdict"].as_str().unwrap().to_string(),
                p["checked"].as_u64().unwrap(),
                p["entries"].clone(),
            )
        })
        .collect();
    (ua, proto)
}

/// What a scenario's verdicts say, for comparing a live run with a check of its capture.
fn verdicts(s: &Value) -> Vec<(String, String, Value, Value)> {
    s["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["verdict"].as_str().unwrap().to_string(),
                r["findings"].clone(),
                r["message"].clone(),
            )
        })
        .collect()
}

#[rstest]
#[case::reference("reference", false)]
#[case::user_agent_fault(UA, false)]
#[case::reference_lint("reference", true)]
#[case::user_agent_fault_lint(UA, true)]
fn checking_the_pcaps_of_a_live_run_gives_its_verdicts(#[case] run: &str, #[case] lint: bool) {
    let report = &runs()[run];
    let results = json(&report.join("results.json"));
    let scenarios = results["scenarios"].as_array().unwrap();
    assert!(scenarios.len() > 40, "the whole suite ran");
    let mut ua_failures = 0;
    for s in scenarios {
        let id = s["id"].as_str().unwrap();
        let pcap = report.join("pcap").join(format!("{id}.pcap"));
        let profile = repo().join("fixtures/clients/reference.yaml");
        let mut args = vec!["check", "--json", "--profile", profile.to_str().unwrap()];
        if lint {
            args.push("--lint");
        }
        args.push(pcap.to_str().unwrap());
        let o = cpmconf(&args);
        let checked: Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{id}: {e}: {}", text(&o)));
        let offline = &checked["scenarios"][0];
        let (live_ua, live_proto) = per_message(s);
        let (off_ua, off_proto) = per_message(offline);
        assert_eq!(off_ua, live_ua, "{id}: the User-Agent verdict");
        assert_eq!(off_proto, live_proto, "{id}: the protocol baseline");
        let failed = if lint {
            live_ua.as_deref() == Some("fail") || live_proto.iter().any(|(_, v, _, _)| v == "fail")
        } else {
            // Scenario mode: the scenario itself, every requirement with its findings.
            assert_eq!(offline["id"], s["id"]);
            assert_eq!(verdicts(offline), verdicts(s), "{id}: the verdicts");
            assert_eq!(offline["verdict"], s["verdict"], "{id}");
            s["verdict"] == "fail"
        };
        assert_eq!(
            o.status.code(),
            Some(i32::from(failed)),
            "{id}: {}",
            text(&o)
        );
        ua_failures += usize::from(live_ua.as_deref() == Some("fail"));
    }
    // The fault run is only evidence when the fault was seen.
    if run == UA {
        assert!(ua_failures > 10, "{ua_failures} scenario(s) failed {UA}");
    } else {
        assert_eq!(ua_failures, 0);
    }
}

#[test]
fn scenario_mode_says_how_it_judged_and_writes_a_report() {
    let report = &runs()["reference"];
    let out = tempfile::tempdir().unwrap();
    let pcap = report.join("pcap/bye-closes-chat.pcap");
    let o = cpmconf(&[
        "check",
        pcap.to_str().unwrap(),
        "--report",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("bye-closes-chat: judged by replaying the run's timeline"),
        "{t}"
    );
    for f in [
        "results.json",
        "junit.xml",
        "index.html",
        "pcap/bye-closes-chat.pcap",
        "wire/bye-closes-chat.pcap.log",
    ] {
        assert!(out.path().join(f).is_file(), "{f} missing: {t}");
    }
    // The wire log names the simulated roles from the sidecar's role map.
    let log = std::fs::read_to_string(out.path().join("wire/bye-closes-chat.pcap.log")).unwrap();
    assert!(
        log.contains("-> core (") && log.contains("client ("),
        "{log}"
    );
    // Without the timeline: judged as a capture made elsewhere; the upper-tester step of this
    // scenario cannot be judged, and nothing is failed (inconclusive fails the gate, as in
    // `run`: no result is not a pass).
    let o = cpmconf(&["check", "--no-timeline", "--json", pcap.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        verdicts(&v["scenarios"][0])
            .iter()
            .all(|(_, verdict, _, _)| verdict == "pass" || verdict == "inconclusive"),
        "{v}"
    );
    assert_eq!(v["scenarios"][0]["verdict"], "inconclusive", "{}", text(&o));
    assert!(
        v["scenarios"][0]["message"]
            .as_str()
            .unwrap()
            .contains("upper-tester events, which a capture does not hold"),
        "{v}"
    );
}

#[test]
fn a_capture_without_a_sidecar_is_judged_with_a_roles_file() {
    let report = &runs()["reference"];
    let dir = tempfile::tempdir().unwrap();
    let id = "predefined-group-new-conversation";
    let src = report.join(format!("pcap/{id}.pcap"));
    let pcap = dir.path().join("device.pcap");
    std::fs::copy(&src, &pcap).unwrap();
    // Without a sidecar a scenario needs to know who is who.
    let o = cpmconf(&["check", "--scenario", id, pcap.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--roles FILE"), "{}", text(&o));
    // The roles, as someone at an interop event would write them.
    let meta: Value = json(&report.join(format!("pcap/{id}.pcap.meta.json")));
    let mut roles = String::from("roles:\n");
    for r in meta["roles"].as_array().unwrap() {
        roles.push_str(&format!(
            "  \"{}\": {}\n",
            r["addr"].as_str().unwrap(),
            r["role"].as_str().unwrap()
        ));
    }
    if let Some(c) = meta["call_ids"].as_array() {
        roles.push_str("call_ids:\n");
        for r in c {
            roles.push_str(&format!(
                "  \"{}\": {}\n",
                r["call_id"].as_str().unwrap(),
                r["role"].as_str().unwrap()
            ));
        }
    }
    let file = dir.path().join("roles.yaml");
    std::fs::write(&file, &roles).unwrap();
    let o = cpmconf(&[
        "check",
        "--json",
        "--scenario",
        id,
        "--roles",
        file.to_str().unwrap(),
        "--seed",
        &meta["seed"].to_string(),
        pcap.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let live = json(&report.join("results.json"));
    let live = live["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap()
        .clone();
    // Every step of this scenario is on the wire: judged in full, as live.
    assert_eq!(
        verdicts(&v["scenarios"][0]),
        verdicts(&live),
        "{}",
        text(&o)
    );
    assert_eq!(v["scenarios"][0]["verdict"], "pass");
    // --client narrows who the client is: every other address the roles do not name is a third
    // party. Naming the client's own address changes nothing; naming another leaves no client.
    // (The client's IP alone: its MSRP connections use other ports than its SIP one.)
    let client: std::net::SocketAddr = meta["client"][0].as_str().unwrap().parse().unwrap();
    let client = client.ip().to_string();
    for (who, code) in [(client.as_str(), 0), ("192.0.2.1", 2)] {
        let o = cpmconf(&[
            "check",
            "--json",
            "--scenario",
            id,
            "--roles",
            file.to_str().unwrap(),
            "--client",
            who,
            "--seed",
            &meta["seed"].to_string(),
            pcap.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(code), "--client {who}: {}", text(&o));
        if code == 2 {
            assert!(
                text(&o).contains("no SIP message from the client"),
                "{}",
                text(&o)
            );
        }
    }
    // A roles file that is not one says where and what was expected.
    std::fs::write(&file, "roles:\n  not-an-address: core\n").unwrap();
    let o = cpmconf(&[
        "check",
        "--scenario",
        id,
        "--roles",
        file.to_str().unwrap(),
        pcap.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("`not-an-address` is not an address"),
        "{}",
        text(&o)
    );
    std::fs::write(&file, "rolez: {}\n").unwrap();
    let o = cpmconf(&[
        "check",
        "--scenario",
        id,
        "--roles",
        file.to_str().unwrap(),
        pcap.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("roles.yaml:1:1"), "{}", text(&o));
    // An unknown scenario is named.
    let o = cpmconf(&[
        "check",
        "--scenario",
        "no-such-scenario",
        src.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("unknown scenario no-such-scenario"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_report_folder_has_every_file_and_the_capture() {
    let report = &runs()["reference"];
    let out = tempfile::tempdir().unwrap();
    let pcap = report.join("pcap/bye-closes-chat.pcap");
    let o = cpmconf(&[
        "check",
        "--lint",
        pcap.to_str().unwrap(),
        "--report",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let t = text(&o);
    // `cpmconf run` wrote who the client is beside the capture.
    assert!(t.contains("from the capture's sidecar"), "{t}");
    for f in [
        "results.json",
        "junit.xml",
        "index.html",
        "pcap/bye-closes-chat.pcap",
        "wire/bye-closes-chat.pcap.log",
    ] {
        assert!(out.path().join(f).is_file(), "{f} missing: {t}");
    }
    let html = std::fs::read_to_string(out.path().join("index.html")).unwrap();
    assert!(html.contains("href=\"pcap/bye-closes-chat.pcap\""));
    // The report shows the capture's ladder (lint mode draws it only for an output that shows
    // it): one arrow per message.
    let results = json(&out.path().join("results.json"));
    assert_eq!(ladder_arrows(&results), Some(messages(&pcap)), "{t}");
    let o = cpmconf(&["check", "--lint", "--json", pcap.to_str().unwrap()]);
    let printed: Value = serde_json::from_slice(&o.stdout).expect(&text(&o));
    assert_eq!(ladder_arrows(&printed), Some(messages(&pcap)));
    let log = std::fs::read_to_string(out.path().join("wire/bye-closes-chat.pcap.log")).unwrap();
    assert!(
        log.contains("client"),
        "the client is named in the wire log"
    );
}

/// The number of arrows of the ladder in results.json's events, if it has one.
fn ladder_arrows(results: &Value) -> Option<usize> {
    results["events"]
        .as_array()?
        .iter()
        .find(|e| e["event"] == "trace-captured")
        .and_then(|e| e["ladder"]["arrows"].as_array())
        .map(Vec::len)
}

/// How many messages (SIP and MSRP) the capture holds.
fn messages(pcap: &Path) -> usize {
    cpmconf_capture::Trace::from_pcap(pcap)
        .expect("a capture")
        .entries
        .len()
}

#[test]
fn without_a_sidecar_the_client_is_the_party_that_registers() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("copy.pcap");
    std::fs::copy(runs()["reference"].join("pcap/bye-closes-chat.pcap"), &pcap).unwrap();
    let o = cpmconf(&["check", pcap.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("the party that sent REGISTER"),
        "{}",
        text(&o)
    );
    // A malformed sidecar is a clear error, not a guess.
    std::fs::write(dir.path().join("copy.pcap.meta.json"), "{ not json").unwrap();
    let o = cpmconf(&["check", pcap.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("meta.json"), "{}", text(&o));
}

#[test]
fn naming_another_party_as_the_client_judges_that_party() {
    // The simulated network's messages carry its own product token, not the client's: judged as
    // the client, the network fails 7/user-agent-header.
    let report = &runs()["reference"];
    let pcap = report.join("pcap/bye-closes-chat.pcap");
    let o = cpmconf(&["check", "--client", "127.0.0.1", pcap.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("CPM-serv/OMA2.0"), "{}", text(&o));
}

/// Bytes of a real capture, cut or replaced.
fn bad(kind: &str) -> Vec<u8> {
    let pcap = std::fs::read(runs()["reference"].join("pcap/bye-closes-chat.pcap")).unwrap();
    match kind {
        "empty" => Vec::new(),
        "text" => b"INVITE sip:bob@example.net SIP/2.0\r\n\r\n".to_vec(),
        "truncated" => pcap[..pcap.len() - 7].to_vec(),
        "header-only" => pcap[..24].to_vec(),
        _ => unreachable!(),
    }
}

#[rstest]
#[case::empty("empty", "not a pcap or pcapng file")]
#[case::text("text", "not a pcap or pcapng file")]
#[case::truncated("truncated", "truncated")]
#[case::no_sip("header-only", "no SIP message")]
#[case::bad_client("bad-client", "expected IP or IP:PORT")]
#[case::missing("missing", "No such file")]
fn a_capture_that_cannot_be_judged_exits_2_saying_why(#[case] kind: &str, #[case] says: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.pcap");
    let mut args = vec!["check"];
    match kind {
        "missing" => {}
        "bad-client" => {
            std::fs::write(&path, bad("header-only")).unwrap();
            args.extend(["--client", "not-an-address"]);
        }
        k => std::fs::write(&path, bad(k)).unwrap(),
    }
    args.push(path.to_str().unwrap());
    let o = cpmconf(&args);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains(says), "{kind}: {}", text(&o));
}

// A long capture made elsewhere, judged against a scenario: the report stays readable and
// bounded whatever the capture's length. The ladder shows the first LADDER_LIMIT messages (and
// the summary says so), and the other parties' rule breaks are listed five per rule with one
// counting the rest; every one of the capture's messages is still judged by the rules (the
// well-formed rule counts them all).
#[test]
fn a_long_foreign_capture_gives_a_bounded_report_in_scenario_mode() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("long.pcap");
    let transactions = 1500u64;
    let sum = cpmconf_capture::generate::write_message_capture(
        std::fs::File::create(&pcap).unwrap(),
        transactions,
    )
    .unwrap();
    let (client, core) = cpmconf_capture::generate::endpoints();
    let roles = dir.path().join("roles.yaml");
    std::fs::write(&roles, format!("roles:\n  \"{core}\": core\n")).unwrap();
    let ip = client.ip().to_string();
    let args = [
        "check",
        "--scenario",
        "pager-mode-received",
        "--roles",
        roles.to_str().unwrap(),
        "--client",
        &ip,
        pcap.to_str().unwrap(),
    ];
    let o = cpmconf(&args);
    let limit = cpmconf_engine::lint::LADDER_LIMIT;
    assert!(
        text(&o).contains(&format!(
            "{} message(s) (the report's ladder shows the first {limit})",
            sum.sip_messages
        )),
        "{}",
        text(&o)
    );
    let o = cpmconf(&[&args[..], &["--json"]].concat());
    let v: Value = serde_json::from_slice(&o.stdout).expect(&text(&o));
    let ladder = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "trace-captured")
        .expect("a ladder");
    assert_eq!(ladder["ladder"]["arrows"].as_array().unwrap().len(), limit);
    let stimuli = v["scenarios"][0]["stimuli"].as_array().unwrap();
    let mut per_rule: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for f in stimuli {
        per_rule
            .entry(f["rule"].as_str().unwrap())
            .or_default()
            .push(f);
    }
    assert!(!per_rule.is_empty(), "the generated core breaks CPM rules");
    for (rule, fs) in &per_rule {
        // The generated core answers every MESSAGE without a Server header: one finding each.
        assert!(fs.len() <= 6, "{rule}: {}", fs.len());
        if *rule == "cpm/appendix-d-product-token" {
            let last = fs.last().unwrap()["what"].as_str().unwrap();
            assert!(last.contains(" more message(s) break this rule"), "{last}");
        }
    }
    let well_formed = v["scenarios"][0]["protocol"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "codec/well-formed")
        .expect("the well-formed rule");
    assert_eq!(well_formed["checked"], sum.sip_messages / 2);
}
