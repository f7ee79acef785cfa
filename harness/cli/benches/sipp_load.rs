//! Load benchmark: the same SIPp UAC MESSAGE load (20,000 CPM pager MESSAGEs, as fast as SIPp
//! sends with at most 200 transactions outstanding), over UDP and over TCP, against
//! `cpmconf serve` and, in the same run, against a SIPp UAS that answers MESSAGE with 200.
//! Criterion reports messages per second for both; every SIPp run must end with exit status 0
//! (no failed transaction), else the benchmark stops with SIPp's own report. The paired,
//! interleaved comparison with peak memory is `scripts/serve_vs_sipp.sh` (docs/BENCHMARKS.md).
//!
//! Run: `cargo bench -p cpmconf --bench sipp_load` (needs `sipp`, Debian package sip-tester).

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Messages per SIPp run.
const MESSAGES: u64 = 20_000;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free UDP port on 127.0.0.1")
}

/// Waits until something at `addr` answers an OPTIONS over UDP (deadline 10 s).
fn wait_ready(addr: SocketAddr) {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("probe socket");
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("read timeout");
    let local = sock.local_addr().expect("probe address");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut n = 0;
    while Instant::now() < deadline {
        n += 1;
        let probe = format!(
            "OPTIONS sip:probe@cpm.test SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKprobe{n}\r\nMax-Forwards: 70\r\nFrom: <sip:probe@cpm.test>;tag=p\r\nTo: <sip:probe@cpm.test>\r\nCall-ID: probe-{n}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        );
        let _ = sock.send_to(probe.as_bytes(), addr);
        let mut buf = [0u8; 2048];
        if sock.recv_from(&mut buf).is_ok() {
            return;
        }
    }
    panic!("nothing answered OPTIONS at {addr} within 10 s");
}

fn sipp(args: &[&str]) -> Command {
    let mut cmd = Command::new("sipp");
    cmd.args(args)
        .args(["-nostdin", "-i", "127.0.0.1"])
        .stdin(Stdio::null());
    cmd
}

/// One SIPp UAC run of MESSAGES pager messages to `target`; returns the elapsed time.
fn uac_run(target: SocketAddr, transport: &str) -> Duration {
    let port = free_port().to_string();
    let scenario = fixtures().join("sipp/pager_message.xml");
    let dir = std::env::temp_dir();
    let start = Instant::now();
    let out = sipp(&[
        &target.to_string(),
        "-sf",
        scenario.to_str().expect("UTF-8 path"),
        "-m",
        &MESSAGES.to_string(),
        "-r",
        "100000",
        "-l",
        "200",
        "-buff_size",
        "4194304",
        "-t",
        transport,
        "-p",
        &port,
        "-s",
        "alice",
        "-timeout",
        "60s",
        "-timeout_error",
    ])
    .current_dir(dir)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .output()
    .expect("sipp runs (install the Debian package sip-tester)");
    let elapsed = start.elapsed();
    assert!(
        out.status.success(),
        "SIPp reported failed transactions (exit {:?}) against {target}:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .join("\n")
    );
    elapsed
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn bench_load(c: &mut Criterion) {
    let serve_addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let _serve = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_cpmconf"))
            .args(["serve", "--listen", &serve_addr.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cpmconf serve starts"),
    );
    wait_ready(serve_addr);

    let uas_scenario = fixtures().join("sipp-bench/uas_message.xml");
    let mut g = c.benchmark_group("sipp_message_load");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .throughput(Throughput::Elements(MESSAGES))
        .measurement_time(Duration::from_secs(20));
    for transport in ["u1", "t1"] {
        let uas_addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let _uas = KillOnDrop(
            sipp(&[
                "-sf",
                uas_scenario.to_str().expect("UTF-8 path"),
                "-p",
                &uas_addr.port().to_string(),
                "-t",
                transport,
            ])
            .current_dir(std::env::temp_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sipp UAS starts"),
        );
        // The SIPp UAS answers only MESSAGE; wait until it holds its port.
        let deadline = Instant::now() + Duration::from_secs(10);
        let free = |a: SocketAddr| match transport {
            "t1" => std::net::TcpListener::bind(a).is_ok(),
            _ => std::net::UdpSocket::bind(a).is_ok(),
        };
        while free(uas_addr) {
            assert!(
                Instant::now() < deadline,
                "SIPp UAS did not bind {uas_addr}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        g.bench_function(format!("cpmconf-serve/{transport}"), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| uac_run(serve_addr, transport)).sum())
        });
        g.bench_function(format!("sipp-uas/{transport}"), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| uac_run(uas_addr, transport)).sum())
        });
    }
    g.finish();
}

criterion_group!(benches, bench_load);
criterion_main!(benches);
