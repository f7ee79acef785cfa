//! Driver tests against fake adapters (Python scripts), a TCP peer and the in-memory channel.

use std::path::PathBuf;
use std::time::Duration;

use cpmconf_ut::*;
use serde_json::json;

const STEP: Duration = Duration::from_secs(10);
/// Outer bound on every test: a hang is a failure, not a stuck CI job.
const TEST_BOUND: Duration = Duration::from_secs(30);

fn fake(script: &str) -> AdapterSpec {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(script);
    AdapterSpec::Process {
        command: vec!["python3".into(), path.display().to_string()],
        env: Default::default(),
        cwd: None,
    }
}

async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(TEST_BOUND, f)
        .await
        .expect("test exceeded its time bound")
}

#[tokio::test]
async fn good_adapter_hello_register_and_events() {
    bounded(async {
        let mut a = AdapterProcess::spawn(&fake("good_adapter.py"), STEP).await.unwrap();
        let hello = a.hello("cpmconf test", RunSettings::default(), STEP).await.unwrap();
        assert_eq!(hello.name, "fake");
        assert_eq!(hello.protocol, PROTOCOL_VERSION);
        assert_eq!(hello.capabilities, vec!["pager".to_owned()]);

        let r = a.command(Command::Register, STEP).await.unwrap();
        assert!(r.ok);
        // The unknown event that arrived before the response was queued, not lost.
        assert_eq!(a.queued_events().len(), 1);
        let ev = a.wait_event(&|e| matches!(e, Event::Registered(_)), STEP).await.unwrap();
        assert_eq!(ev, Event::Registered(Registered { expires: Some(600) }));
        let other = a.next_event(STEP).await.unwrap();
        assert_eq!(other, Event::Other { name: "future_thing".into(), data: json!({"x": 1}) });

        let send = Command::SendPager(SendPager { to: "sip:b@test".into(), text: "hi".into(), content_type: None, imdn: None });
        let r = a.command(send, STEP).await.unwrap();
        let m: MessageResult = r.result_as("send_pager").unwrap();
        assert_eq!(m.message_id.as_deref(), Some("m1"));
        let ev = a.next_event(STEP).await.unwrap();
        assert!(matches!(ev, Event::ImdnReceived(ImdnReceived { ref status, .. }) if status == "delivered"));

        let refused = a.command(Command::GoOffline, STEP).await.unwrap();
        assert!(matches!(refused.result_as::<serde_json::Value>("go_offline"), Err(UtError::Rejected { .. })));

        a.shutdown(STEP).await.unwrap();
    })
    .await
}

#[tokio::test]
async fn crashing_adapter_reports_status_and_stderr() {
    bounded(async {
        let mut a = AdapterProcess::spawn(&fake("crash_adapter.py"), STEP)
            .await
            .unwrap();
        let err = a
            .hello("cpmconf test", RunSettings::default(), STEP)
            .await
            .unwrap_err();
        match err {
            UtError::Crashed {
                status,
                stderr_tail,
            } => {
                assert_eq!(status, Some(3));
                assert!(
                    stderr_tail.contains("cannot open device /dev/fake0"),
                    "{stderr_tail}"
                );
            }
            other => panic!("expected Crashed, got {other:?}"),
        }
    })
    .await
}

#[tokio::test]
async fn garbage_line_is_reported_with_the_line() {
    bounded(async {
        let mut a = AdapterProcess::spawn(&fake("garbage_adapter.py"), STEP)
            .await
            .unwrap();
        let err = a
            .hello("cpmconf test", RunSettings::default(), STEP)
            .await
            .unwrap_err();
        match err {
            UtError::Garbage {
                line, stderr_tail, ..
            } => {
                assert_eq!(line, "Loading configuration... done");
                assert!(stderr_tail.contains("about to misbehave"), "{stderr_tail}");
            }
            other => panic!("expected Garbage, got {other:?}"),
        }
    })
    .await
}

#[tokio::test]
async fn silent_adapter_times_out_in_bounded_time() {
    bounded(async {
        let mut a = AdapterProcess::spawn(&fake("silent_adapter.py"), STEP)
            .await
            .unwrap();
        let allowed = Duration::from_millis(300);
        let started = std::time::Instant::now();
        let err = a.command(Command::Sync, allowed).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        match err {
            UtError::Timeout { what, after, .. } => {
                assert_eq!(after, allowed);
                assert!(what.contains("sync"), "{what}");
            }
            other => panic!("expected Timeout, got {other:?}"),
        }
        let err = a.next_event(allowed).await.unwrap_err();
        assert!(matches!(err, UtError::Timeout { .. }), "{err:?}");
        // Shutdown gets no answer either: the driver kills the process within its bound.
        let err = a.shutdown(allowed).await.unwrap_err();
        assert!(matches!(err, UtError::Timeout { .. }), "{err:?}");
    })
    .await
}

#[tokio::test]
async fn missing_program_is_an_io_error() {
    let spec = AdapterSpec::Process {
        command: vec!["/nonexistent/cpmconf-adapter".into()],
        env: Default::default(),
        cwd: None,
    };
    let err = AdapterProcess::spawn(&spec, STEP).await.unwrap_err();
    assert!(matches!(err, UtError::Io(_)), "{err:?}");
    let err = AdapterProcess::spawn(&AdapterSpec::InProcess, STEP)
        .await
        .unwrap_err();
    assert!(matches!(err, UtError::Unsupported(_)), "{err:?}");
}

#[tokio::test]
async fn tcp_mode_speaks_the_same_lines() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    bounded(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let peer = tokio::spawn(async move {
            let (sock, _) = listener.accept().await.unwrap();
            let (r, mut w) = sock.into_split();
            let mut lines = BufReader::new(r).lines();
            let line = lines.next_line().await.unwrap().unwrap();
            let req = Request::from_line(&line).unwrap();
            assert_eq!(req.command.name(), "hello");
            let resp = AdapterMessage::Response(Response::ok(
                req.id,
                json!({"name": "dev", "version": "1", "protocol": 1}),
            ));
            w.write_all(resp.to_line().as_bytes()).await.unwrap();
            let ev = AdapterMessage::Event(Event::SessionEnded(SessionEnded {
                session: "s1".into(),
                reason: None,
                completed_elsewhere: true,
            }));
            w.write_all(ev.to_line().as_bytes()).await.unwrap();
            // Closing the connection ends the adapter.
        });
        let mut a = Adapter::connect_tcp(&addr, STEP).await.unwrap();
        let hello = a
            .hello("cpmconf test", RunSettings::default(), STEP)
            .await
            .unwrap();
        assert_eq!(hello.name, "dev");
        let ev = a.next_event(STEP).await.unwrap();
        assert!(matches!(
            ev,
            Event::SessionEnded(SessionEnded {
                completed_elsewhere: true,
                ..
            })
        ));
        peer.await.unwrap();
        let err = a.next_event(STEP).await.unwrap_err();
        assert!(
            matches!(err, UtError::Crashed { status: None, .. }),
            "{err:?}"
        );
    })
    .await
}

#[tokio::test]
async fn wrong_protocol_version_is_refused() {
    bounded(async {
        let (mut harness, mut client) = channel_pair();
        let client_task = tokio::spawn(async move {
            let req = client.recv().await.unwrap();
            client
                .respond(Response::ok(
                    req.id,
                    json!({"name": "old", "version": "0", "protocol": 99}),
                ))
                .await
                .unwrap();
            client
        });
        let err = harness
            .hello("cpmconf test", RunSettings::default(), STEP)
            .await
            .unwrap_err();
        assert!(
            matches!(err, UtError::Protocol(ref m) if m.contains("99")),
            "{err:?}"
        );
        drop(client_task.await.unwrap());
    })
    .await
}

#[tokio::test]
async fn channel_pair_through_the_trait() {
    bounded(async {
        let (harness, mut client) = channel_pair();
        let client_task = tokio::spawn(async move {
            while let Some(req) = client.recv().await {
                match req.command {
                    Command::Register => {
                        client
                            .respond(Response::ok(req.id, serde_json::Value::Null))
                            .await
                            .unwrap();
                        client
                            .events()
                            .send(Event::Registered(Registered::default()))
                            .await
                            .unwrap();
                    }
                    Command::Sync => client
                        .respond(Response::ok(req.id, serde_json::Value::Null))
                        .await
                        .unwrap(),
                    Command::Shutdown => {
                        client
                            .respond(Response::ok(req.id, serde_json::Value::Null))
                            .await
                            .unwrap();
                        return;
                    }
                    other => client
                        .respond(Response::err(req.id, format!("no {}", other.name())))
                        .await
                        .unwrap(),
                }
            }
        });
        let mut ut: Box<dyn UpperTester> = Box::new(harness);
        assert!(ut.command(Command::Register, STEP).await.unwrap().ok);
        assert!(ut.command(Command::Sync, STEP).await.unwrap().ok);
        let ev = ut
            .wait_event(&|e| e.name() == "registered", STEP)
            .await
            .unwrap();
        assert_eq!(ev, Event::Registered(Registered::default()));
        let r = ut.command(Command::GoOnline, STEP).await.unwrap();
        assert_eq!(r.error.as_deref(), Some("no go_online"));
        ut.shutdown(STEP).await.unwrap();
        client_task.await.unwrap();
        // The client end is gone: the harness sees the adapter exit.
        let err = ut.next_event(STEP).await.unwrap_err();
        assert!(
            matches!(err, UtError::Crashed { status: None, .. }),
            "{err:?}"
        );
    })
    .await
}

#[tokio::test]
async fn response_to_an_unsent_id_is_a_protocol_error_and_late_ones_are_dropped() {
    bounded(async {
        let (mut harness, mut client) = channel_pair();
        let client_task = tokio::spawn(async move {
            // First request: never answered (the harness times out).
            let first = client.recv().await.unwrap();
            // Second request: answer the first one late, then a bogus id.
            let second = client.recv().await.unwrap();
            client
                .respond(Response::ok(first.id, serde_json::Value::Null))
                .await
                .unwrap();
            client
                .respond(Response::ok(second.id + 100, serde_json::Value::Null))
                .await
                .unwrap();
            client
        });
        let err = harness
            .command(Command::Sync, Duration::from_millis(100))
            .await
            .unwrap_err();
        assert!(matches!(err, UtError::Timeout { .. }), "{err:?}");
        let err = harness.command(Command::Sync, STEP).await.unwrap_err();
        assert!(
            matches!(err, UtError::Protocol(ref m) if m.contains("never sent")),
            "{err:?}"
        );
        drop(client_task.await.unwrap());
    })
    .await
}
