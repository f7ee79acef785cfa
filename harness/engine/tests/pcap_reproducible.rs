//! Same seed, same client: the pcap of a scenario carries the same SIP and MSRP payloads on each
//! flow (sender to receiver, by transport), apart from ports and timestamps (and the lengths a
//! timestamp's digits change); another seed gives other identifiers. Independent transactions run
//! concurrently (a reg-event NOTIFY beside the scripted INVITE, the MSRP SEND beside the ACK), so
//! the order in which they interleave is not compared: each flow's payloads are compared sorted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cpmconf_capture::{read_capture, WireEventKind};
use cpmconf_engine::runner::{run_scenario, RunOptions};
use cpmconf_engine::scenario::load_file;
use cpmconf_engine::ut::ClientProfile;
use cpmconf_engine::{Catalogue, Verdict};

/// A chat: registration, INVITE with SDP, MSRP SEND and reports, BYE.
const SCENARIO: &str = "7.3.4.3/bye-closes-chat";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the scenario with `seed`; the payloads of its pcap per flow, each with every port written
/// `PORT` and every timestamp `TIME` (and, where a timestamp was, the lengths `LEN`); sorted.
async fn payloads(seed: u64) -> Vec<Vec<String>> {
    let cat = Catalogue::embedded().expect("catalogue");
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(repo().join("fixtures/clients/reference.yaml"))
        .expect("reference profile");
    let loaded = load_file(&repo().join("scenarios").join(format!("{SCENARIO}.yaml")))
        .unwrap_or_else(|d| panic!("{d}"));
    let id = loaded.scenario.id.clone();
    let opts = RunOptions {
        seed,
        ..RunOptions::new(
            ClientProfile::from_yaml(&text, "reference profile").expect("profile"),
            vec![loaded.clone()],
            dir.path().join("report"),
            repo().join("fixtures"),
        )
    };
    let run = run_scenario(&cat, &opts, &loaded, std::time::Instant::now());
    let report = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the scenario ends within its deadlines");
    assert_eq!(report.result.verdict, Verdict::Pass, "{:#?}", report.result);
    let cap = read_capture(dir.path().join(format!("report/pcap/{id}.pcap"))).expect("pcap");
    let mut ports: Vec<String> = cap
        .events
        .iter()
        .flat_map(|e| [e.src.port(), e.dst.port()])
        .map(|p| p.to_string())
        .collect();
    ports.sort_unstable();
    ports.dedup();
    // The ports of the capture, and those only named (a listening MSRP port no one connects to).
    let port = regex::Regex::new(&format!(
        r"\b({})\b|(127\.0\.0\.1:|m=message )\d+",
        ports.join("|")
    ))
    .expect("regex");
    let time = regex::Regex::new(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)|(?m)^Date: .*$",
    )
    .expect("regex");
    let len = regex::Regex::new(r"(?m)^(Content-Length: |Byte-Range: )[0-9/*-]+").expect("regex");
    let mut flows: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in &cap.events {
        if let WireEventKind::Data(b) = &e.kind {
            let p = String::from_utf8_lossy(b);
            let ported = port.replace_all(&p, "PORT");
            let mut masked = time.replace_all(&ported, "TIME").into_owned();
            if masked.contains("TIME") {
                masked = len.replace_all(&masked, "${1}LEN").into_owned();
            }
            let flow = format!("{:?} {} -> {}", e.transport, e.src, e.dst);
            flows.entry(flow).or_default().push(masked);
        }
    }
    let mut flows: Vec<Vec<String>> = flows.into_values().collect();
    for f in &mut flows {
        f.sort();
    }
    flows.sort();
    flows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_seed_same_payloads_other_seed_other_ids() {
    let a = payloads(11).await;
    let b = payloads(11).await;
    let all = |v: &[Vec<String>]| v.concat();
    assert!(
        all(&a).iter().any(|p| p.starts_with("INVITE ")),
        "SIP in the pcap"
    );
    assert!(
        all(&a).iter().any(|p| p.starts_with("MSRP ")),
        "MSRP in the pcap"
    );
    assert_eq!(a.len(), b.len(), "as many flows");
    for (i, (x, y)) in all(&a).iter().zip(&all(&b)).enumerate() {
        assert_eq!(x, y, "payload {i} differs between two runs with seed 11");
    }
    assert_eq!(a, b);
    let c = payloads(12).await;
    let first_invite = |v: &[Vec<String>]| all(v).into_iter().find(|p| p.starts_with("INVITE "));
    assert_ne!(
        first_invite(&a),
        first_invite(&c),
        "another seed gives other branches, tags and Call-IDs"
    );
}
