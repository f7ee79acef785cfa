//! The report of a real run (the in-process reference client, one passing scenario and one
//! failing through a named fault) read the way people and CI systems read it: index.html opened
//! in headless Chromium (rendered, one arrow per captured message, the failing message drawn
//! highlighted and linked to its finding, every link resolving), junit.xml read back by the PyPI
//! `junitparser` package, and results.json pointing at the capture.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use support::{chromium_run, copy_dir, cpmconf, junitparser_read, repo, text};

const FAULT: &str = "7.3.1.5/accept-contact-icsi";
const PASSING: &str = "pager-mode-sent";
const FAILING: &str = "rejoin-uses-stored-identity";

/// The report directory of the run (made once for every test of this file).
fn report() -> &'static Path {
    static RUN: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, dir) = RUN.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let golden = tmp.path().join("golden");
        copy_dir(&repo().join("golden"), &golden);
        let dir = tmp.path().join("report");
        let o = cpmconf(&[
            "run",
            "--quiet",
            "--seed",
            "11",
            "--scenario",
            PASSING,
            "--scenario",
            FAILING,
            "--fault",
            FAULT,
            "--report",
            dir.to_str().unwrap(),
            "--golden",
            golden.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        (tmp, dir)
    });
    dir
}

fn results() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(report().join("results.json")).unwrap()).unwrap()
}

/// `(scenario, trace entry)` of every failed requirement's message, from results.json.
fn failing_messages() -> BTreeSet<(String, u64)> {
    let mut out = BTreeSet::new();
    for s in results()["scenarios"].as_array().unwrap() {
        for r in s["requirements"].as_array().unwrap() {
            if r["verdict"] == "fail" {
                let e = r["trace_entry"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("no trace entry for a failure: {r:#}"));
                out.insert((s["id"].as_str().unwrap().to_string(), e));
            }
        }
    }
    out
}

/// Every value of `attr="..."` in `html`.
fn attr_values<'h>(html: &'h str, attr: &str) -> Vec<&'h str> {
    let pat = format!(" {attr}=\"");
    html.match_indices(&pat)
        .filter_map(|(i, _)| {
            let rest = &html[i + pat.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

#[test]
fn results_json_points_each_failure_at_its_message_in_the_capture() {
    let r = results();
    for s in r["scenarios"].as_array().unwrap() {
        let id = s["id"].as_str().unwrap();
        assert_eq!(s["pcap"], format!("pcap/{id}.pcap"));
        assert_eq!(s["wire_log"], format!("wire/{id}.log"));
    }
    let failing = failing_messages();
    assert!(!failing.is_empty());
    for s in r["scenarios"].as_array().unwrap() {
        for q in s["requirements"].as_array().unwrap() {
            let (Some(e), Some(f)) = (q["trace_entry"].as_u64(), q["pcap_frame"].as_u64()) else {
                continue;
            };
            // The wire log's block #e is the quoted message; tshark sees the same message in
            // frame f of the pcap.
            let id = s["id"].as_str().unwrap();
            let log = std::fs::read_to_string(report().join(format!("wire/{id}.log"))).unwrap();
            let block = log
                .split("=== #")
                .find(|b| b.starts_with(&format!("{e} ")))
                .unwrap_or_else(|| panic!("no block #{e} in the wire log"));
            let first = q["quote"][0].as_str().unwrap();
            assert!(
                block.contains(first),
                "#{e} is not the quoted {first}: {block}"
            );
            let o = std::process::Command::new("tshark")
                .args(["-r"])
                .arg(report().join(format!("pcap/{id}.pcap")))
                .args([
                    "-o",
                    "udp.try_heuristic_first:TRUE",
                    "-o",
                    "tcp.try_heuristic_first:TRUE",
                    "-Y",
                    &format!("frame.number=={f}"),
                    "-T",
                    "fields",
                    "-e",
                    "sip.Request-Line",
                ])
                .output()
                .expect("tshark (apt-get install tshark) reads the pcap");
            let line = String::from_utf8_lossy(&o.stdout);
            assert_eq!(line.trim(), first, "frame {f} of {id}.pcap");
        }
    }
}

#[test]
fn html_report_renders_in_chromium_with_one_arrow_per_message() {
    let dir = report();
    let profile = tempfile::tempdir().unwrap();
    let url = format!(
        "file://{}",
        dir.join("index.html").canonicalize().unwrap().display()
    );
    let dom =
        String::from_utf8(chromium_run(&url, &["--dump-dom".to_string()], profile.path()).stdout)
            .unwrap();
    // Not blank: the title, the summary and both scenarios are in the rendered document.
    assert!(dom.contains("<h1>cpmconf report: reference"), "{dom}");
    assert!(dom.contains("Summary by clause"));
    // One arrow per message of each scenario's trace (the wire log's blocks).
    for id in [PASSING, FAILING] {
        let start = dom
            .find(&format!("<section class=\"scenario\" id=\"s-{id}\""))
            .unwrap_or_else(|| panic!("no section for {id}"));
        let section = &dom[start..];
        let section = &section[..section.find("</section>").unwrap()];
        let log = std::fs::read_to_string(dir.join(format!("wire/{id}.log"))).unwrap();
        let messages = log.lines().filter(|l| l.starts_with("=== #")).count();
        assert!(messages > 3, "{id}: {messages} messages");
        assert_eq!(
            section.matches("<g class=\"arrow").count(),
            messages,
            "{id}"
        );
    }
    // The failing messages, and only they, are drawn highlighted, each linked to its finding.
    let mut drawn = BTreeSet::new();
    for (i, _) in dom.match_indices("<g class=\"arrow failing\" id=\"m-") {
        let rest = &dom[i + "<g class=\"arrow failing\" id=\"m-".len()..];
        let id = &rest[..rest.find('"').unwrap()];
        let (scenario, entry) = id.rsplit_once('-').unwrap();
        drawn.insert((scenario.to_string(), entry.parse::<u64>().unwrap()));
        let before = &dom[..i];
        let link = &before[before.rfind("<a href=\"").unwrap()..];
        assert!(
            link.starts_with(&format!("<a href=\"#f-{scenario}-")),
            "{link}"
        );
    }
    assert_eq!(drawn, failing_messages());
    // Every link resolves: fragments to an element of the page, files to a file beside it.
    let ids: BTreeSet<&str> = attr_values(&dom, "id").into_iter().collect();
    let hrefs = attr_values(&dom, "href");
    assert!(hrefs.len() > 10);
    for h in hrefs {
        match h.strip_prefix('#') {
            Some(frag) => assert!(ids.contains(frag), "dangling link {h}"),
            None => {
                assert!(!h.contains("://") && !h.contains(".."), "external link {h}");
                assert!(
                    dir.join(h).is_file(),
                    "link {h} names no file of the report"
                );
            }
        }
    }
    // Nothing is loaded from elsewhere.
    assert!(attr_values(&dom, "src").is_empty());
    // A link to a message opens its full text (the page's script ran in the browser).
    let (scenario, entry) = failing_messages().into_iter().next().unwrap();
    let dom = String::from_utf8(
        chromium_run(
            &format!("{url}#t-{scenario}-{entry}"),
            &["--dump-dom".to_string()],
            profile.path(),
        )
        .stdout,
    )
    .unwrap();
    let at = dom.find(&format!("id=\"t-{scenario}-{entry}\"")).unwrap();
    let start = dom[..at].rfind('<').unwrap();
    let tag = &dom[start..at + dom[at..].find('>').unwrap()];
    assert!(tag.contains(" open=\"\""), "{tag}");
}

#[test]
fn screenshot_shows_the_failing_arrow_in_red() {
    let dir = report();
    let profile = tempfile::tempdir().unwrap();
    let shot = profile.path().join("shot.png");
    let url = format!(
        "file://{}",
        dir.join("index.html").canonicalize().unwrap().display()
    );
    chromium_run(
        &url,
        &[
            "--window-size=1200,6000".to_string(),
            format!("--screenshot={}", shot.display()),
        ],
        profile.path(),
    );
    let decoder = png::Decoder::new(std::fs::File::open(&shot).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = info.color_type.samples();
    assert!(step >= 3, "{:?}", info.color_type);
    let pixels = &buf[..info.buffer_size()];
    let count = |rgb: [u8; 3]| pixels.chunks(step).filter(|p| p[..3] == rgb).count();
    // The failing arrow's stroke (#d00) is painted; the page is not blank white.
    assert!(
        count([0xdd, 0, 0]) > 300,
        "no highlighted arrow in the screenshot"
    );
    let white = count([0xff, 0xff, 0xff]);
    assert!(white < pixels.len() / step, "blank page");
    assert!(
        count([0x33, 0x44, 0x55]) > 300,
        "no ordinary arrow in the screenshot"
    );
}

#[test]
fn junit_reads_back_in_junitparser_with_the_run_counts() {
    let j = junitparser_read(&report().join("junit.xml"));
    // Two scenarios (one failing), plus one test case per protocol baseline rule in a suite of
    // its own, all passing for the reference client.
    let cases = j["cases"].as_object().unwrap();
    let (protocol, scenarios): (Vec<_>, Vec<_>) = cases
        .values()
        .partition(|c| c["suite"] == "protocol baseline");
    assert_eq!(scenarios.len(), 2, "{j:#}");
    assert!(
        protocol.len() >= 5 && protocol.iter().all(|c| c["result"] == "passed"),
        "{j:#}"
    );
    assert_eq!(
        (
            j["tests"].as_u64(),
            j["failures"].as_u64(),
            j["errors"].as_u64()
        ),
        (Some(cases.len() as u64), Some(1), Some(0)),
        "{j:#}"
    );
    let fail = &j["cases"][FAILING];
    assert_eq!(fail["result"], "failure");
    assert_eq!(fail["type"], "fail");
    let out = fail["system_out"].as_str().unwrap();
    assert!(out.contains(&format!("pcap: pcap/{FAILING}.pcap")), "{out}");
    assert!(
        out.contains(&format!("wire log: wire/{FAILING}.log")),
        "{out}"
    );
    assert!(out.contains("7.3.1.5/accept-contact-icsi"), "{out}");
    let props = fail["properties"].as_array().unwrap();
    assert!(
        props.contains(&serde_json::json!(["seed", "11"])),
        "{props:?}"
    );
    assert!(
        props.contains(&serde_json::json!([
            "requirement",
            "7.3.1.5/accept-contact-icsi"
        ])),
        "{props:?}"
    );
    assert_eq!(j["cases"][PASSING]["result"], "passed");
    assert!(j["cases"][PASSING]["system_out"]
        .as_str()
        .unwrap()
        .contains(&format!("pcap/{PASSING}.pcap")));
}
