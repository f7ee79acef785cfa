//! Protocol tests: serde round trips of every command and event, line classification, and the
//! committed JSON Schema being current.

use cpmconf_ut::*;
use rstest::rstest;
use serde_json::{json, Value};

fn hello() -> Command {
    Command::Hello(Hello {
        protocol: 1,
        harness: "cpmconf 0.1.0".into(),
        settings: RunSettings {
            seed: 7,
            time_scale: 2.0,
            clock: 1.0,
            scenario: Some("SC-7-01".into()),
        },
    })
}

fn configure() -> Command {
    Command::Configure(Configure {
        proxy: "127.0.0.1:5060".into(),
        transport: Transport::Tcp,
        identity: Identity {
            public_user_identity: "sip:alice@test".into(),
            private_user_identity: Some("alice".into()),
            password: "secret".into(),
            domain: "test".into(),
            instance_id: "urn:gsma:imei:A-1".into(),
        },
        provisioned: Provisioned {
            pager_limit: Some(1300),
            file_size_limit: Some(1_048_576),
            deferred_mgmt_uri: Some("sip:deferred@pf.test".into()),
            conference_factory_uri: Some("sip:conf-factory@cf.test".into()),
            other: [("x".to_owned(), "y".to_owned())].into(),
        },
        readings: Readings {
            device_id_in_cpim_from: Some(CpimFromDevice::Gruu),
        },
    })
}

#[rstest]
#[case::hello(hello(), "hello")]
#[case::configure(configure(), "configure")]
#[case::register(Command::Register, "register")]
#[case::unregister(Command::Unregister, "unregister")]
#[case::send_pager(Command::SendPager(SendPager { to: "sip:b@test".into(), text: "hi".into(), content_type: Some("text/plain".into()), imdn: Some(vec![Disposition::PositiveDelivery, Disposition::Display]) }), "send_pager")]
#[case::send_large(Command::SendLarge(SendLarge { to: "sip:b@test".into(), size: Some(20_000), text: None }), "send_large")]
#[case::start_chat(Command::StartChat(StartChat { to: "sip:b@test".into(), text: Some("hello".into()) }), "start_chat")]
#[case::start_adhoc_group(Command::StartAdhocGroup(StartAdhocGroup { participants: vec!["sip:b@test".into(), "sip:c@test".into()], subject: Some("s".into()), text: None }), "start_adhoc_group")]
#[case::start_group(Command::StartGroup(StartGroup { group_uri: "sip:g1@cf.test".into(), conversation_id: Some("X1".into()), in_reply_to: Some("K9".into()), anonymous: true, text: None }), "start_group")]
#[case::rejoin_group(Command::RejoinGroup(RejoinGroup { group_uri: "sip:g1@cf.test".into(), session_identity: Some("sip:conf-f2@cf.test".into()), conversation_id: "X2".into(), contribution_id: "K2".into(), adhoc: false, text: Some("back again".into()) }), "rejoin_group")]
#[case::rejoin_adhoc_group(Command::RejoinGroup(RejoinGroup { group_uri: "sip:conf-f7@cf.test".into(), session_identity: None, conversation_id: "X3".into(), contribution_id: "K3".into(), adhoc: true, text: None }), "rejoin_group")]
#[case::send_chat(Command::SendChat(SendChat { session: Some("s1".into()), text: "hi".into(), imdn: None, to: None }), "send_chat")]
#[case::send_composing(Command::SendComposing(SendComposing { session: None, state: ComposingState::Active, to: None }), "send_composing")]
#[case::send_file(Command::SendFile(SendFile { to: "sip:b@test".into(), name: "a.jpg".into(), content_type: "image/jpeg".into(), size: None, path: Some("fixtures/files/a.jpg".into()), sha256: Some("00ff".into()) }), "send_file")]
#[case::resume_file(Command::ResumeFile(ResumeFile { transfer_id: Some("t1".into()) }), "resume_file")]
#[case::accept_invitation(Command::AcceptInvitation(AcceptInvitation { session: Some("s2".into()) }), "accept_invitation")]
#[case::decline_invitation(Command::DeclineInvitation(DeclineInvitation { session: Some("s2".into()), code: Some(486) }), "decline_invitation")]
#[case::mark_displayed(Command::MarkDisplayed(MarkDisplayed { message_id: "m1".into() }), "mark_displayed")]
#[case::leave(Command::Leave(Leave { session: Some("s1".into()) }), "leave")]
#[case::set_policy(Command::SetPolicy(Policy { auto_accept_sessions: Some(false), auto_accept_deferred: Some(true), accept_files: Some(true), file_size_limit: Some(10), decline_deferred_with_480: Some(false), resume_supported: Some(true), anonymous: None }), "set_policy")]
#[case::go_offline(Command::GoOffline, "go_offline")]
#[case::go_online(Command::GoOnline, "go_online")]
#[case::sync(Command::Sync, "sync")]
#[case::shutdown(Command::Shutdown, "shutdown")]
fn command_round_trips(#[case] command: Command, #[case] name: &str) {
    assert_eq!(command.name(), name);
    let req = Request { id: 42, command };
    let line = req.to_line();
    assert!(line.ends_with('\n') && !line.trim_end().contains('\n'));
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["id"], json!(42));
    assert_eq!(v["cmd"], json!(name));
    assert_eq!(Request::from_line(line.trim_end()).unwrap(), req);
    // The scenario form `do: { name: { args } }` builds the same command.
    assert_eq!(
        Command::from_parts(name, req.command.args()).unwrap(),
        req.command
    );
}

#[rstest]
#[case::unknown_name("teleport", json!({}))]
#[case::missing_arg("send_pager", json!({"to": "sip:b@test"}))]
#[case::wrong_type("decline_invitation", json!({"session": "s", "code": "busy"}))]
fn bad_scenario_commands_are_rejected(#[case] name: &str, #[case] args: Value) {
    assert!(Command::from_parts(name, args).is_err());
}

#[test]
fn unit_command_accepts_empty_args() {
    assert_eq!(
        Command::from_parts("register", json!({})).unwrap(),
        Command::Register
    );
    assert_eq!(
        Command::from_parts("sync", Value::Null).unwrap(),
        Command::Sync
    );
}

#[test]
fn argumentless_command_has_no_args_member() {
    let line = Request {
        id: 3,
        command: Command::Register,
    }
    .to_line();
    assert_eq!(line, "{\"id\":3,\"cmd\":\"register\"}\n");
}

#[test]
fn unknown_command_fields_are_rejected() {
    let err = Request::from_line(r#"{"id":1,"cmd":"leave","args":{"session":"s","bogus":1}}"#)
        .unwrap_err();
    assert!(err.to_string().contains("bogus"), "{err}");
}

/// One sample of every event with its wire name (and one unknown event).
fn event_samples() -> Vec<(Event, &'static str)> {
    vec![
        (
            Event::Registered(Registered {
                expires: Some(3600),
            }),
            "registered",
        ),
        (
            Event::Unregistered(Unregistered {
                reason: Some("user".into()),
            }),
            "unregistered",
        ),
        (
            Event::MessageReceived(MessageReceived {
                from: "sip:b@test".into(),
                text: "hello".into(),
                content_type: "text/plain".into(),
                conversation_id: Some("X".into()),
                contribution_id: Some("K".into()),
                message_id: Some("m".into()),
                session: None,
                deferred: true,
            }),
            "message_received",
        ),
        (
            Event::SessionInvited(SessionInvited {
                session: "s1".into(),
                from: "sip:b@test".into(),
                kind: SessionKind::Group,
                deferred: false,
            }),
            "session_invited",
        ),
        (
            Event::SessionStarted(SessionStarted {
                session: "s1".into(),
                peer: Some("sip:conf-f1@cf.test".into()),
            }),
            "session_started",
        ),
        (
            Event::SessionEnded(SessionEnded {
                session: "s1".into(),
                reason: Some("SIP;cause=200".into()),
                completed_elsewhere: true,
            }),
            "session_ended",
        ),
        (
            Event::FileReceived(FileReceived {
                name: "a.jpg".into(),
                size: 10,
                sha256: "ab".into(),
                transfer_id: Some("t".into()),
                from: None,
            }),
            "file_received",
        ),
        (
            Event::FileTransferEnded(FileTransferEnded {
                transfer_id: "t".into(),
                completed: false,
                bytes: Some(5),
                reason: Some("bye".into()),
            }),
            "file_transfer_ended",
        ),
        (
            Event::ImdnReceived(ImdnReceived {
                message_id: "m".into(),
                status: "displayed".into(),
                from: Some("sip:c@test".into()),
            }),
            "imdn_received",
        ),
        (
            Event::ComposingReceived(ComposingReceived {
                from: "sip:b@test".into(),
                state: ComposingState::Idle,
                session: Some("s1".into()),
            }),
            "composing_received",
        ),
        (
            Event::Error(ErrorEvent {
                message: "boom".into(),
            }),
            "error",
        ),
        (
            Event::Other {
                name: "battery_low".into(),
                data: json!({"level": 3}),
            },
            "battery_low",
        ),
    ]
}

#[test]
fn events_round_trip() {
    for (event, name) in event_samples() {
        assert_eq!(event.name(), name);
        let line = AdapterMessage::Event(event.clone()).to_line();
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["event"], json!(name));
        assert_eq!(
            AdapterMessage::from_line(line.trim_end()).unwrap(),
            AdapterMessage::Event(event),
            "{name}"
        );
    }
}

#[test]
fn every_known_event_has_a_round_trip_sample() {
    // Keeps the samples complete when an event is added: every known name has one sample, and
    // the only other sample is the unknown event.
    let names: std::collections::BTreeSet<&str> = event_samples().iter().map(|(_, n)| *n).collect();
    let known: std::collections::BTreeSet<&str> = KNOWN_EVENTS.iter().copied().collect();
    let extra: Vec<&&str> = names.difference(&known).collect();
    let missing: Vec<&&str> = known.difference(&names).collect();
    assert!(missing.is_empty(), "events without a sample: {missing:?}");
    assert_eq!(extra, vec![&"battery_low"], "samples of no known event");
}

#[rstest]
#[case::ok(r#"{"id":7,"ok":true,"result":{"session":"s1"}}"#, Response::ok(7, json!({"session": "s1"})))]
#[case::err(
    r#"{"id":7,"ok":false,"error":"no such session"}"#,
    Response::err(7, "no such session")
)]
#[case::bare(r#"{"id":8,"ok":true}"#, Response::ok(8, Value::Null))]
fn responses_decode(#[case] line: &str, #[case] expected: Response) {
    let m = AdapterMessage::from_line(line).unwrap();
    assert_eq!(m, AdapterMessage::Response(expected.clone()));
    assert_eq!(
        AdapterMessage::from_line(m.to_line().trim_end()).unwrap(),
        AdapterMessage::Response(expected)
    );
}

#[test]
fn event_without_data_is_accepted() {
    let m = AdapterMessage::from_line(r#"{"event":"registered"}"#).unwrap();
    assert_eq!(
        m,
        AdapterMessage::Event(Event::Registered(Registered::default()))
    );
}

#[rstest]
#[case::not_json("hello world")]
#[case::array("[1,2]")]
#[case::neither(r#"{"foo":1}"#)]
#[case::known_event_bad_data(r#"{"event":"session_ended","data":{"reason":"x"}}"#)]
#[case::response_without_ok(r#"{"id":1}"#)]
fn invalid_lines_are_rejected(#[case] line: &str) {
    assert!(AdapterMessage::from_line(line).is_err(), "{line}");
}

#[test]
fn schema_lists_every_command_and_event() {
    let schema = serde_json::to_string(&protocol_schema()).unwrap();
    for name in KNOWN_EVENTS {
        assert!(
            schema.contains(&format!("\"{name}\"")),
            "event {name} missing from schema"
        );
    }
    for name in [
        "hello",
        "send_pager",
        "rejoin_group",
        "set_policy",
        "sync",
        "shutdown",
    ] {
        assert!(
            schema.contains(&format!("\"{name}\"")),
            "command {name} missing from schema"
        );
    }
}

/// The committed schema of the adapter protocol.
fn schema_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/upper-tester.schema.json")
}

/// The command that rewrites the committed schema.
const REGENERATE: &str =
    "cargo test -p cpmconf-ut --test protocol -- --ignored regenerate_committed_schema";

/// docs/upper-tester.schema.json must equal `protocol_schema()`. This test only compares;
/// regenerating is the separate, ignored test below.
#[test]
fn committed_schema_is_current() {
    let path = schema_path();
    // Compared as JSON values, so key order (serde_json `preserve_order`) does not matter.
    let committed: Option<Value> = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    assert!(
        committed.as_ref() == Some(&protocol_schema()),
        "{} is out of date; regenerate with: {REGENERATE}",
        path.display()
    );
}

/// Rewrites docs/upper-tester.schema.json from `protocol_schema()` (run explicitly, see
/// `REGENERATE`; CI never runs it).
#[test]
#[ignore = "writes docs/upper-tester.schema.json; run explicitly to regenerate it"]
fn regenerate_committed_schema() {
    let mut fresh = serde_json::to_string_pretty(&protocol_schema()).unwrap();
    fresh.push('\n');
    std::fs::write(schema_path(), fresh).unwrap();
}
