//! The suite against clients it did not grow up with, through the real adapter path: pyua (the
//! stdlib Python client in examples/adapters/pyua.py) in its conformant mode, and PJSIP's pjsua2
//! (examples/adapters/pjsua2_adapter.py), a plain SIP UA whose verdicts are asserted one by one;
//! `cpmconf check` of each of their pcaps gives the live verdicts.

mod support;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use cpmconf_engine::ut::{AdapterProcess, Command as UtCommand, RunSettings};
use rstest::rstest;
use support::{assert_rest_not_applicable, python, repo, run, Profile};

/// The scenarios a Pager-only client runs (every other one needs more than `pager`).
const PAGER: &[&str] = &[
    "deferred-standalone-message-dispatch",
    "pager-mode-received",
    "pager-mode-sent",
    "register-with-digest",
];

#[rstest]
#[case::udp("pyua")]
#[case::tcp("pyua-tcp")]
fn pyua_passes_every_pager_scenario(#[case] profile: &str) {
    let p = Profile::fixture(profile).env("PYUA_DEVIATIONS", "");
    let r = run(&p, PAGER, &[]);
    assert_eq!(r.out.status.code(), Some(0), "{}", r.text());
    for id in PAGER {
        let s = r.scenario(id);
        assert_eq!(s["verdict"], "pass", "{id}: {s:#}");
        assert!(
            r.verdicts(id).values().all(|v| v == "pass"),
            "{id}: {:?}",
            r.verdicts(id)
        );
        // One judge: the pcap, checked offline, gives the same verdicts.
        assert_eq!(r.check_differences(id), Vec::<String>::new());
    }
}

#[test]
fn pyua_runs_the_whole_suite_pager_scenarios_pass_the_rest_not_applicable() {
    let p = Profile::fixture("pyua").env("PYUA_DEVIATIONS", "");
    let r = run(&p, &[], &[]);
    assert_eq!(r.out.status.code(), Some(0), "{}", r.text());
    let ran = assert_rest_not_applicable(&r, &["pager"]);
    assert_eq!(ran, PAGER, "{}", r.text());
    // One judge: each pcap of this other SIP stack, checked offline, gives the live verdicts.
    for id in PAGER {
        assert_eq!(r.check_differences(id), Vec::<String>::new());
    }
    for id in PAGER {
        assert_eq!(r.scenario(id)["verdict"], "pass", "{id}: {}", r.text());
    }
}

/// The adapter itself: `hello` claims only what pyua implements, commands it does not
/// implement are `ok: false` (not a crash, not silence), `sync` is answered.
#[tokio::test]
async fn pyua_declares_only_pager_and_refuses_what_it_does_not_implement() {
    let step = Duration::from_secs(10);
    let p = Profile::fixture("pyua").env("PYUA_DEVIATIONS", "");
    let mut a = AdapterProcess::spawn(&p.0.adapter, step).await.unwrap();
    let hello = a
        .hello("cpmconf test", RunSettings::default(), step)
        .await
        .unwrap();
    assert_eq!(hello.name, "pyua");
    assert_eq!(hello.capabilities, vec!["pager".to_owned()]);
    for cmd in [
        r#"{"start_chat":{"to":"sip:bob@test"}}"#,
        r#"{"send_large":{"to":"sip:bob@test","size":2000}}"#,
        r#"{"go_offline":null}"#,
    ] {
        let v: serde_json::Value = serde_json::from_str(cmd).unwrap();
        let (name, args) = v.as_object().unwrap().iter().next().unwrap();
        let c = UtCommand::from_parts(name, args.clone()).unwrap();
        let r = a.command(c, step).await.unwrap();
        assert!(!r.ok, "{name}: {r:?}");
    }
    assert!(a.command(UtCommand::Sync, step).await.unwrap().ok);
    a.shutdown(step).await.unwrap();
}

#[test]
fn pyua_rejects_an_unknown_deviation_by_name() {
    let out = Command::new(python())
        .current_dir(repo())
        .arg("examples/adapters/pyua.py")
        .env("PYUA_DEVIATIONS", "no-such-thing")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no-such-thing") && err.contains("cpim-to-wrong-host"),
        "{err}"
    );
}

/// Fails (never skips) when the interpreter has no pjsua2, saying how to install it.
fn require_pjsua2() {
    let py = python();
    let ok = Command::new(&py)
        .args(["-c", "import pjsua2"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "the pjsua2 module is not importable with `{py}`. Install it:\n  \
         python3 -m venv /opt/cpmconf-venv && /opt/cpmconf-venv/bin/pip install pjsua2-python\n  \
         export CPMCONF_PYTHON=/opt/cpmconf-venv/bin/python\n(.ci/run does both)"
    );
}

/// pjsua2 is a plain SIP UA: it registers, sends and receives SIP MESSAGE, and knows nothing
/// of CPM. Against the whole suite it must get exactly these failures, each for its reason; no
/// `error` (its protocol stream stays clean although pjlib prints to stdout), and every other
/// scenario not applicable, naming the capabilities it lacks.
#[test]
fn pjsua2_gets_the_verdicts_of_a_plain_sip_ua() {
    require_pjsua2();
    let r = run(&Profile::fixture("pjsua2"), &[], &[]);
    assert_eq!(r.out.status.code(), Some(1), "{}", r.text());
    let ran = assert_rest_not_applicable(&r, &["pager"]);
    assert_eq!(ran, PAGER, "{}", r.text());
    // One judge: each pcap of this other SIP stack, checked offline, gives the live verdicts.
    for id in PAGER {
        assert_eq!(r.check_differences(id), Vec::<String>::new());
    }

    // No CPM release token: it sends no User-Agent at all.
    let ua = "7/user-agent-header";
    let expected: BTreeMap<&str, Vec<&str>> = BTreeMap::from([
        ("register-with-digest", vec![ua]),
        // text/plain, no Accept-Contact ICSI, no CPIM.
        ("pager-mode-sent", vec!["7/send-pager-mode", ua]),
        // It hands the user the CPIM wrapper as the text.
        ("pager-mode-received", vec!["7/dispatch-message-msg", ua]),
        (
            "deferred-standalone-message-dispatch",
            vec![
                "7/dispatch-message-deferred",
                "7/handle-deferred-standalone",
                ua,
            ],
        ),
    ]);
    for (id, failing) in &expected {
        let verdicts = r.verdicts(id);
        assert_eq!(r.scenario(id)["verdict"], "fail", "{id}: {verdicts:?}");
        for (req, v) in &verdicts {
            let want = if failing.contains(&req.as_str()) {
                "fail"
            } else {
                "pass"
            };
            assert_eq!(v, want, "{id} {req}: {}", r.evidence(id));
        }
        for req in failing {
            assert!(verdicts.contains_key(*req), "{id}: no verdict for {req}");
        }
    }

    let why = |id: &str, req: &str| r.requirement(id, req)["findings"].to_string();
    let ua_why = why("register-with-digest", ua);
    assert!(ua_why.contains("User-Agent"), "{ua_why}");
    let sent = why("pager-mode-sent", "7/send-pager-mode");
    assert!(
        sent.contains("text/plain") && sent.contains("icsi-ref"),
        "{sent}"
    );
    for (id, req, text) in [
        ("pager-mode-received", "7/dispatch-message-msg", "hello"),
        (
            "deferred-standalone-message-dispatch",
            "7/dispatch-message-deferred",
            "while you were out",
        ),
    ] {
        let f = why(id, req);
        // The text shown is the whole CPIM wrapper, headers and all.
        assert!(
            f.contains(text) && f.contains("From: <sip:bob@test>"),
            "{id}: {f}"
        );
    }
    assert!(
        r.scenarios().iter().all(|s| s["verdict"] != "error"),
        "{}",
        r.text()
    );
}

/// Same seed, same client, same golden projection: a foreign client's traffic normalises to the
/// same snapshot in two runs (the runs write them as pending `.snap.new` files).
#[rstest]
#[case::pyua("pyua")]
#[case::pjsua2("pjsua2")]
fn same_seed_same_projection(#[case] profile: &str) {
    if profile == "pjsua2" {
        require_pjsua2();
    }
    let p = Profile::fixture(profile).env("PYUA_DEVIATIONS", "");
    let snaps = |r: &support::Run| -> BTreeMap<String, String> {
        let dir = r.dir.path().join("golden").join(profile);
        std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", dir.display(), r.text()))
            .flatten()
            .map(|e| {
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read_to_string(e.path()).unwrap(),
                )
            })
            .collect()
    };
    let first = snaps(&run(&p, PAGER, &[]));
    let second = snaps(&run(&p, PAGER, &[]));
    assert_eq!(first.len(), PAGER.len(), "{:?}", first.keys());
    for (name, a) in &first {
        assert_eq!(Some(a), second.get(name), "{name} differs between two runs");
    }
}
