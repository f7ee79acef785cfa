//! The Python adapter sketch in docs/upper-tester.md really works as an adapter.

use std::path::Path;
use std::time::Duration;

use cpmconf_ut::*;

const STEP: Duration = Duration::from_secs(10);

fn sketch() -> String {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/upper-tester.md"),
    )
    .unwrap();
    let start = doc
        .find("```python\n")
        .expect("python block in docs/upper-tester.md")
        + "```python\n".len();
    let len = doc[start..].find("```").unwrap();
    doc[start..start + len].to_owned()
}

#[tokio::test]
async fn documented_python_adapter_sketch_runs() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("adapter.py");
    std::fs::write(&script, sketch()).unwrap();
    let spec = AdapterSpec::Process {
        command: vec!["python3".into(), script.display().to_string()],
        env: Default::default(),
        cwd: None,
    };
    tokio::time::timeout(Duration::from_secs(30), async {
        let mut a = AdapterProcess::spawn(&spec, STEP).await.unwrap();
        let hello = a.hello("cpmconf test", RunSettings::default(), STEP).await.unwrap();
        assert_eq!(hello.name, "my-client");
        let profile = ClientProfile::from_yaml("name: t\nadapter: { kind: in_process }\nidentity: { user: a, domain: test, password: p, instance_id: i }\n", "t").unwrap();
        assert!(a.command(Command::Configure(profile.configure("127.0.0.1:5060")), STEP).await.unwrap().ok);
        assert!(a.command(Command::Register, STEP).await.unwrap().ok);
        assert_eq!(a.next_event(STEP).await.unwrap(), Event::Registered(Registered::default()));
        let r = a.command(Command::Sync, STEP).await.unwrap();
        assert!(!r.ok);
        a.shutdown(STEP).await.unwrap();
    })
    .await
    .unwrap();
}
