//! Decode throughput of the SIP and MSRP codecs on a realistic CPM corpus, with rsip (a
//! published Rust SIP parser) decoding the same SIP corpus in the same run for comparison.
//!
//! Run: `cargo bench -p cpmconf-codec --bench decode` (glibc's allocator), with
//! `--features bench-mimalloc` on mimalloc (the `cpmconf` binary's). Throughput is reported in bytes/s by
//! criterion; messages/s is the corpus message count divided by the time per iteration (one
//! iteration decodes the whole corpus once; the counts are printed at the start of the run).
//!
//! Fairness: both SIP parsers get the same byte slices and build an owned message (start line,
//! every header with name and value, body). What each does beyond that differs: rsip keeps
//! header values as untyped strings and checks nothing further; cpmconf also checks the start
//! line, Content-Length and CSeq, the mandatory headers, records findings with offsets, and keeps
//! what it needs for byte-exact re-encoding. Neither parses header values into typed structures.

use cpmconf_codec::{msrp, sip, Limits};

/// `--features bench-mimalloc`: both parsers on the allocator the `cpmconf` binary ships with.
#[cfg(feature = "bench-mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use criterion::{criterion_group, Criterion, Throughput};
use std::hint::black_box;

const SIP_CORPUS: &[&[u8]] = &[
    include_bytes!("../../../fixtures/corpus/sip-register.sip"),
    include_bytes!("../../../fixtures/corpus/sip-invite.sip"),
    include_bytes!("../../../fixtures/corpus/sip-200-invite.sip"),
    include_bytes!("../../../fixtures/corpus/sip-message-cpim.sip"),
    include_bytes!("../../../fixtures/corpus/sip-notify-conference.sip"),
    include_bytes!("../../../fixtures/corpus/sip-bye-reason.sip"),
];

const MSRP_CORPUS: &[&[u8]] = &[
    include_bytes!("../../../fixtures/corpus/msrp-send-chat.msrp"),
    include_bytes!("../../../fixtures/corpus/msrp-200.msrp"),
    include_bytes!("../../../fixtures/corpus/msrp-send-file-chunk.msrp"),
    include_bytes!("../../../fixtures/corpus/msrp-report.msrp"),
];

fn total(corpus: &[&[u8]]) -> u64 {
    corpus.iter().map(|m| m.len() as u64).sum()
}

fn bench_sip(c: &mut Criterion) {
    eprintln!(
        "corpus: {} SIP messages ({} bytes), {} MSRP frames ({} bytes) per iteration",
        SIP_CORPUS.len(),
        total(SIP_CORPUS),
        MSRP_CORPUS.len(),
        total(MSRP_CORPUS)
    );
    // Both parsers must accept every corpus message before anything is timed.
    for m in SIP_CORPUS {
        let ours = sip::Message::parse(m).expect("corpus decodes");
        assert_eq!(ours.value.to_bytes(), *m, "byte-exact round trip");
        rsip::SipMessage::try_from(*m).expect("rsip decodes the corpus");
    }
    let mut g = c.benchmark_group("sip");
    g.throughput(Throughput::Bytes(total(SIP_CORPUS)));
    g.bench_function("cpmconf", |b| {
        b.iter(|| {
            for m in SIP_CORPUS {
                let d = sip::Message::parse(black_box(m)).expect("corpus decodes");
                black_box(d);
            }
        })
    });
    g.bench_function("rsip", |b| {
        b.iter(|| {
            for m in SIP_CORPUS {
                let d = rsip::SipMessage::try_from(black_box(*m)).expect("corpus decodes");
                black_box(d);
            }
        })
    });
    g.finish();
}

fn bench_msrp(c: &mut Criterion) {
    // The corpus as one TCP stream, fed in 1400-byte segments to the incremental decoder.
    let stream: Vec<u8> = MSRP_CORPUS.iter().flat_map(|m| m.iter().copied()).collect();
    let mut g = c.benchmark_group("msrp");
    g.throughput(Throughput::Bytes(stream.len() as u64));
    g.bench_function("cpmconf-stream", |b| {
        b.iter(|| {
            let mut dec = msrp::Decoder::new(Limits::default());
            let mut frames = 0;
            for seg in stream.chunks(1400) {
                dec.push(black_box(seg));
                while let Some(f) = dec.next().expect("corpus decodes") {
                    black_box(&f);
                    frames += 1;
                }
            }
            assert_eq!(frames, MSRP_CORPUS.len());
        })
    });
    g.finish();
}

/// One pass of `which` (`sip-cpmconf`, `sip-rsip` or `msrp`) over its corpus.
fn pass(which: &str, stream: &[u8]) {
    match which {
        "sip-cpmconf" => {
            for m in SIP_CORPUS {
                black_box(sip::Message::parse(black_box(m)).expect("corpus decodes"));
            }
        }
        "sip-rsip" => {
            for m in SIP_CORPUS {
                black_box(rsip::SipMessage::try_from(black_box(*m)).expect("corpus decodes"));
            }
        }
        _ => {
            let mut dec = msrp::Decoder::new(Limits::default());
            for seg in stream.chunks(1400) {
                dec.push(black_box(seg));
                while let Some(f) = dec.next().expect("corpus decodes") {
                    black_box(&f);
                }
            }
        }
    }
}

criterion_group!(benches, bench_sip, bench_msrp);

/// Paired samples of the two SIP parsers: each sample times `passes` passes of cpmconf and then
/// as many of rsip, back to back, so both see the same machine (a shared VM's speed drifts over
/// the seconds between criterion's separate benchmarks). Prints each pair and the median and
/// range of the rsip / cpmconf ratios.
fn paired(pairs: usize, passes: usize) {
    let time = |which: &str| {
        let t = std::time::Instant::now();
        for _ in 0..passes {
            pass(which, &[]);
        }
        t.elapsed().as_secs_f64() * 1e6 / passes as f64
    };
    // Warm up both.
    time("sip-cpmconf");
    time("sip-rsip");
    let mut ratios = Vec::with_capacity(pairs);
    for i in 0..pairs {
        let (ours, theirs) = (time("sip-cpmconf"), time("sip-rsip"));
        println!(
            "pair {i}: cpmconf {ours:.3} us/pass, rsip {theirs:.3} us/pass, rsip/cpmconf {:.2}",
            theirs / ours
        );
        ratios.push(theirs / ours);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "rsip / cpmconf over {pairs} pairs of {passes} passes: median {:.2} (min {:.2}, max {:.2})",
        ratios[pairs / 2],
        ratios[0],
        ratios[pairs - 1]
    );
}

/// `DECODE_PASSES=<which>:<n>` runs n passes of one decoder and exits, without criterion: a
/// fixed workload for `valgrind --tool=callgrind` or `perf stat` (instructions per pass are
/// stable on a shared machine where wall-clock time is not). `DECODE_PAIRED=<pairs>:<passes>`
/// runs [`paired`] samples of the two SIP parsers. Otherwise the criterion benches run.
fn main() {
    if let Ok(spec) = std::env::var("DECODE_PAIRED") {
        let (pairs, passes) = spec.split_once(':').unwrap_or((spec.as_str(), "20000"));
        paired(
            pairs.parse().unwrap_or(21).max(1),
            passes.parse().unwrap_or(20000).max(1),
        );
        return;
    }
    if let Ok(spec) = std::env::var("DECODE_PASSES") {
        let (which, n) = spec.split_once(':').unwrap_or((spec.as_str(), "1000"));
        let n: usize = n.parse().unwrap_or(1000);
        let stream: Vec<u8> = MSRP_CORPUS.iter().flat_map(|m| m.iter().copied()).collect();
        for _ in 0..n {
            pass(which, &stream);
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
