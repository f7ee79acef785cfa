//! Decode throughput of the SIP and MSRP codecs on a realistic CPM corpus, with rsip (a
//! published Rust SIP parser) decoding the same SIP corpus in the same run for comparison.
//!
//! Run: `cargo bench -p cpmconf-codec --bench decode`. Throughput is reported in bytes/s by
//! criterion; messages/s is the corpus message count divided by the time per iteration.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use cpmconf_codec::{msrp, sip, Limits};

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

criterion_group!(benches, bench_sip, bench_msrp);
criterion_main!(benches);
