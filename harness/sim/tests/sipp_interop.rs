//! SIPp (Debian `sip-tester`) as an independent peer of the sim core: REGISTER over UDP and
//! TCP with and without the digest challenge, a CPM pager MESSAGE, and an INVITE with an MSRP
//! offer whose answer is checked with the codec's SDP parser. Scenarios are under
//! fixtures/sipp/. Without sipp these tests fail and say how to install it.

mod support;

use cpmconf_capture::{Tap, WireEventKind};
use cpmconf_codec::sdp::{SessionDescription, Setup};
use cpmconf_codec::sip::{icsi, Message, Method};
use cpmconf_sim::{Auth, NetConfig, Network, ObservedKind};
use rstest::rstest;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

fn sipp() -> PathBuf {
    let candidates = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("sipp"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    candidates
        .into_iter()
        .chain([PathBuf::from("/usr/bin/sipp")])
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("sipp not found on PATH or at /usr/bin/sipp: install the Debian package `sip-tester` (CI does)")
        })
}

fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/sipp")
        .join(name)
}

/// A port free for both UDP and TCP on 127.0.0.1 (SIPp binds its own).
fn free_port() -> u16 {
    for _ in 0..50 {
        let Ok(udp) = std::net::UdpSocket::bind("127.0.0.1:0") else {
            continue;
        };
        let Ok(addr) = udp.local_addr() else { continue };
        if std::net::TcpListener::bind(addr).is_ok() {
            return addr.port();
        }
    }
    panic!("no free port on 127.0.0.1")
}

async fn run_sipp(file: &str, core: SocketAddr, tcp: bool, extra: &[&str]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port().to_string();
    let mut cmd = tokio::process::Command::new(sipp());
    cmd.arg(core.to_string())
        .arg("-sf")
        .arg(scenario(file))
        .args(["-m", "1", "-timeout", "10s", "-timeout_error", "-nostdin"])
        .args(["-i", "127.0.0.1", "-p", &port, "-s", "alice"])
        .args(["-t", if tcp { "t1" } else { "u1" }])
        .args(extra)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().expect("spawn sipp");
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("sipp ends within 30 s")
        .expect("sipp output");
    assert!(
        out.status.success(),
        "sipp {file} exited with {:?}\nstderr:\n{}\nstdout tail:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

async fn network(auth: Auth, tap: Option<Tap>) -> Network {
    let mut cfg = NetConfig::new();
    cfg.auth = auth;
    cfg.tap = tap;
    Network::start(cfg).await.expect("start network")
}

#[rstest]
#[case::udp(false, false)]
#[case::tcp(true, false)]
#[case::udp_digest(false, true)]
#[case::tcp_digest(true, true)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_registers(#[case] tcp: bool, #[case] digest: bool) {
    let auth = if digest {
        Auth::digest_md5("cpm.test")
    } else {
        Auth::None
    };
    let net = network(auth, None).await;
    if digest {
        run_sipp(
            "register_digest.xml",
            net.core_addr(),
            tcp,
            &["-au", "alice", "-ap", "alice"],
        )
        .await;
    } else {
        run_sipp("register.xml", net.core_addr(), tcp, &[]).await;
    }
    assert_eq!(net.registered_contacts("sip:alice@cpm.test").len(), 1);
}

#[rstest]
#[case::udp(false)]
#[case::tcp(true)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_pager_message_is_answered(#[case] tcp: bool) {
    let net = network(Auth::None, None).await;
    run_sipp("pager_message.xml", net.core_addr(), tcp, &[]).await;
    let o = net
        .next_observed_within(support::WAIT)
        .await
        .expect("observed MESSAGE");
    assert_eq!(o.role, "bob");
    let ObservedKind::SipRequest { msg, .. } = o.kind else {
        panic!("expected a request, got {:?}", o.kind)
    };
    assert_eq!(msg.method(), Some(&Method::Message));
    assert!(msg.accept_contacts().expect("accept-contact")[0].has_icsi(icsi::CPM_MSG));
    assert_eq!(msg.header("Content-Type"), Some("message/cpim"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_invite_gets_valid_msrp_answer() {
    let tap = Tap::new();
    let net = network(Auth::None, Some(tap.clone())).await;
    run_sipp("invite_msrp.xml", net.core_addr(), false, &[]).await;
    // The sim's 200 to the INVITE, as captured.
    let core = net.core_addr();
    let ok = tap
        .events()
        .into_iter()
        .filter(|e| e.src == core)
        .filter_map(|e| match e.kind {
            WireEventKind::Data(bytes) => Message::parse(&bytes).ok().map(|d| d.value),
            _ => None,
        })
        .find(|m| m.status().is_some_and(|s| s.0 == 200) && m.cseq_method() == Some(Method::Invite))
        .expect("captured 200 to INVITE");
    let answer = SessionDescription::parse(&ok.body)
        .expect("answer parses")
        .value;
    let m = answer.msrp_media().expect("m=message");
    // RFC 6135: an active offer is answered passive; the path names bob's MSRP endpoint.
    assert_eq!(m.setup(), Some(Setup::Passive));
    let path = m.path().expect("a=path").expect("valid path");
    let first = path.first().expect("one uri");
    let addr: SocketAddr = format!("{}:{}", first.host, first.effective_port())
        .parse()
        .expect("address");
    assert_eq!(net.role_of_addr(addr).as_deref(), Some("bob"));
    assert!(m.accept_types().contains(&"message/cpim"));
}
