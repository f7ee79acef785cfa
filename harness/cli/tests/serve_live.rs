//! `cpmconf serve` as a real process: SIPp's fixtures/sipp/register_digest.xml registers against
//! its digest challenge (MD5 offered first by default), and malformed input gets a `finding:`
//! line, a 400 where RFC 3261 asks for one, and a count in the summary. Needs `sipp` (Debian
//! `sip-tester`; CI installs it).

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A port free for both UDP and TCP on 127.0.0.1.
fn free_port() -> u16 {
    for _ in 0..50 {
        let Ok(udp) = UdpSocket::bind("127.0.0.1:0") else {
            continue;
        };
        let Ok(addr) = udp.local_addr() else { continue };
        if std::net::TcpListener::bind(addr).is_ok() {
            return addr.port();
        }
    }
    panic!("no free port on 127.0.0.1")
}

/// A running `cpmconf serve` and its stdout lines.
struct Serve {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    port: u16,
}

impl Serve {
    fn start(extra: &[&str]) -> Serve {
        let port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_cpmconf"))
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    return;
                }
            }
        });
        let mut s = Serve {
            child,
            lines,
            seen: Vec::new(),
            port,
        };
        s.wait_line(|l| l.contains("SIP core on"));
        s
    }

    /// Waits (10 s at most) for a stdout line matching `pred`.
    fn wait_line(&mut self, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        if let Some(l) = self.seen.iter().find(|l| pred(l)) {
            return l.clone();
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if pred(&l) {
                        return l;
                    }
                }
                Err(_) => panic!(
                    "no such line within 10 s; output:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// SIGTERM, then the exit status (10 s at most).
    fn stop(&mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("serve did not stop within 10 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        // A failed test must not leave the server running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sipp() -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("sipp"))
        .chain([PathBuf::from("/usr/bin/sipp")])
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("sipp not found: install the Debian package `sip-tester` (CI does)")
        })
}

#[test]
fn sipp_register_digest_works_against_serve() {
    let serve = Serve::start(&["--auth", "digest", "--summary-interval", "0"]);
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(sipp())
        .arg(format!("127.0.0.1:{}", serve.port))
        .arg("-sf")
        .arg(repo().join("fixtures/sipp/register_digest.xml"))
        .args(["-m", "1", "-timeout", "10s", "-timeout_error", "-nostdin"])
        .args([
            "-i",
            "127.0.0.1",
            "-p",
            &free_port().to_string(),
            "-s",
            "alice",
        ])
        .args(["-au", "alice", "-ap", "alice", "-t", "u1"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let mut serve = serve;
    let status = serve.stop();
    assert!(
        out.status.success(),
        "sipp exited with {:?}\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(status.success(), "{status:?}");
}

fn message(port: u16, max_forwards: bool, content_length: usize) -> Vec<u8> {
    let mf = if max_forwards {
        "Max-Forwards: 70\r\n"
    } else {
        ""
    };
    format!(
        "MESSAGE sip:bob@cpm.test SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKmal{content_length}\r\n\
         From: <sip:alice@cpm.test>;tag=a1\r\n\
         To: <sip:bob@cpm.test>\r\n\
         Call-ID: malformed-{content_length}@test\r\n\
         CSeq: 1 MESSAGE\r\n{mf}\
         Content-Type: text/plain\r\n\
         Content-Length: {content_length}\r\n\r\nhello"
    )
    .into_bytes()
}

#[test]
fn malformed_input_gets_a_finding_line_a_400_and_a_count() {
    let mut serve = Serve::start(&["--summary-interval", "1"]);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let core = format!("127.0.0.1:{}", serve.port);
    // RFC 3261 8.1.1: Max-Forwards is mandatory; the core answering as UAS says 400.
    let port = sock.local_addr().unwrap().port();
    sock.send_to(&message(port, false, 5), &core).unwrap();
    let mut buf = [0u8; 4096];
    let (n, _) = sock.recv_from(&mut buf).unwrap();
    let resp = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(
        resp.starts_with("SIP/2.0 400 Missing Max-Forwards\r\n"),
        "{resp}"
    );
    // RFC 3261 18.3: a datagram shorter than its Content-Length is an error; it is reported.
    sock.send_to(&message(port, true, 50), &core).unwrap();
    let l = serve.wait_line(|l| l.starts_with("finding:") && l.contains("Max-Forwards"));
    assert!(l.contains("MESSAGE sip:bob@cpm.test"), "{l}");
    let l = serve.wait_line(|l| l.starts_with("finding:") && l.contains("content-length"));
    assert!(l.contains("dropped"), "{l}");
    serve.wait_line(|l| l.contains("summary:") && l.contains("2 malformed"));
    assert!(serve.stop().success());
}
