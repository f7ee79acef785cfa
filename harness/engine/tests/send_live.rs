//! `send` steps against the real simulated network and the in-process reference client on
//! 127.0.0.1: CANCEL of a pending INVITE with a Reason, typed file-transfer offers, and an
//! any-order group that the empty connection-opening MSRP SEND must not satisfy.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cpmconf_engine::runner::{run_scenario, RunOptions, ScenarioReport};
use cpmconf_engine::scenario::{load_file, LoadedScenario};
use cpmconf_engine::ut::ClientProfile;
use cpmconf_engine::{Catalogue, Verdict};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn profile() -> ClientProfile {
    let p = repo().join("fixtures/clients/reference.yaml");
    let text = std::fs::read_to_string(&p).unwrap();
    ClientProfile::from_yaml(&text, "reference").unwrap()
}

async fn run(scenario: LoadedScenario) -> ScenarioReport {
    let dir = tempfile::tempdir().unwrap();
    let opts = RunOptions {
        golden_root: Some(dir.path().join("golden")),
        seed: 7,
        ..RunOptions::new(
            profile(),
            vec![scenario.clone()],
            dir.path().join("report"),
            repo().join("fixtures"),
        )
    };
    let cat = Catalogue::embedded().unwrap();
    tokio::time::timeout(
        Duration::from_secs(60),
        run_scenario(&cat, &opts, &scenario, std::time::Instant::now()),
    )
    .await
    .expect("the scenario ends within its deadlines")
}

fn inline(yaml: &str) -> LoadedScenario {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.yaml");
    std::fs::write(&p, yaml).unwrap();
    load_file(&p).unwrap_or_else(|d| panic!("{d}"))
}

fn verdict(r: &ScenarioReport, id: &str) -> Verdict {
    r.result
        .requirements
        .iter()
        .find(|x| x.id == id)
        .map(|x| x.verdict)
        .unwrap_or_else(|| panic!("no verdict for {id}: {:#?}", r.result))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_of_a_pending_invite_gets_200_and_the_invite_487() {
    let p = repo().join("scenarios/7.3.4.4/cancel-pending-invitation.yaml");
    let r = run(load_file(&p).unwrap_or_else(|d| panic!("{d}"))).await;
    assert_eq!(r.result.verdict, Verdict::Pass, "{:#?}", r.result);
    for id in [
        "7.3.4.4/cancel-per-rfc3261",
        "7.3.4.4/terminate-session",
        "7.3.4.4/indicate-completed-elsewhere",
    ] {
        assert_eq!(verdict(&r, id), Verdict::Pass, "{id}");
    }
    let g = r.golden.unwrap_or_default();
    assert!(g.contains("CANCEL"), "{g}");
    assert!(g.contains("Reason: SIP;cause=200"), "{g}");
    assert!(g.contains("487"), "{g}");
}

const CANCEL_WITHOUT_PROVISIONAL: &str = r#"
id: cancel-too-early
clause: "7.3.4.4"
title: t
steps:
  - send: { as: bob, sip: INVITE, feature_tags: { accept-contact: [cpm.session] }, sdp: { offer: chat }, save: invite }
  - expect: { status: 200, answers: invite }
  - send: { as: bob, sip: CANCEL, in_dialog: invite }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_of_an_answered_invite_is_an_error_naming_rfc3261() {
    let r = run(inline(CANCEL_WITHOUT_PROVISIONAL)).await;
    assert_eq!(r.result.verdict, Verdict::Error, "{:#?}", r.result);
    // The stack refuses the CANCEL at the step that sends it, naming RFC 3261 9.1.
    assert_eq!(
        r.result.message.as_deref(),
        Some(
            "step 3: simulated network: SIP stack: invalid use: CANCEL needs a provisional and \
             no final response yet (RFC 3261 9.1)"
        ),
        "{:#?}",
        r.result
    );
}

fn file_push(answer_checks: &str, direction: &str) -> String {
    format!(
        r#"
id: typed-file-push
clause: "7.4.2"
title: t
requires: [file-transfer]
given: {{ ftid: $token }}
steps:
  - send:
      as: bob
      sip: INVITE
      feature_tags: {{ accept-contact: [cpm.filetransfer] }}
      sdp:
        offer: file
        direction: {direction}
        file-selector: {{ name: "a.jpg", type: image/jpeg, size: 50000, hash: "sha-1:72:24:5F:E8:65:3D:DA:F3:71:36:2F:86:D4:71:91:3E:E4:A2:CE:2E" }}
        file-transfer-id: "${{ftid}}"
      save: push
  - expect:
      status: 200
      answers: push
      sdp: {{ {answer_checks} }}
      verifies: [7.4.2/accept-200-ok-file-identities]
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typed_file_push_offer_is_answered_with_its_file_identities() {
    let ok = file_push(
        r#"direction: recvonly, file-selector: { contains: 'name:"a.jpg" type:image/jpeg size:50000' }, file-transfer-id: "${ftid}""#,
        "sendonly",
    );
    let r = run(inline(&ok)).await;
    assert_eq!(r.result.verdict, Verdict::Pass, "{:#?}", r.result);
    // The same answer does not name another transfer id: the offer carried the given one.
    let other = file_push(r#"file-transfer-id: "not-the-offered-id""#, "sendonly");
    let r = run(inline(&other)).await;
    assert_eq!(
        verdict(&r, "7.4.2/accept-200-ok-file-identities"),
        Verdict::Fail,
        "{:#?}",
        r.result
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_offer_neither_push_nor_pull_is_an_error() {
    let r = run(inline(&file_push("direction: sendonly", "inactive"))).await;
    assert_eq!(r.result.verdict, Verdict::Error, "{:#?}", r.result);
    assert_eq!(
        r.result.message.as_deref(),
        Some(
            "step 1: `sdp: { offer: file }` is a push (direction: sendonly) or a pull or resume \
             request (direction: recvonly) (RFC 5547 8.1)"
        ),
        "{:#?}",
        r.result
    );
}

const GROUP_AFTER_CONNECT: &str = r#"
id: group-skips-empty-send
clause: "7.3.9.1"
title: t
requires: [chat]
steps:
  - send: { as: bob, sip: INVITE, feature_tags: { accept-contact: [cpm.session] }, sdp: { offer: chat }, save: invite }
  - expect: { status: 200, answers: invite, sdp: { setup: active } }
  - do: { send_chat: { text: "hello bob" } }
  - parallel:
      - expect: { msrp: SEND, cpim: { Content: "hello bob" }, verifies: [7.3.9.1/msrp-rfc4975-rfc6714] }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_empty_opening_send_does_not_take_a_group_item_with_cpim_conditions() {
    // The client answers setup:active, so its first MSRP request is the empty SEND of RFC 4975
    // 7.1.1 (Byte-Range 1-0/0); the group item must be met by the chat message after it.
    let r = run(inline(GROUP_AFTER_CONNECT)).await;
    assert_eq!(r.result.verdict, Verdict::Pass, "{:#?}", r.result);
    let g = r.golden.unwrap_or_default();
    assert!(g.contains("Byte-Range: 1-0/0"), "{g}");
}
