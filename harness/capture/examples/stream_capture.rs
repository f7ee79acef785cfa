//! Decodes a capture and prints how many SIP/MSRP entries and problems it holds, streaming
//! (default) or whole in memory (`--whole`), for measuring time and peak memory.
//!
//! Usage: `cargo run --release -p cpmconf-capture --example stream_capture -- FILE [--whole]`,
//! e.g. under `/usr/bin/time -v` next to `tshark -r FILE -Y sip`.

use cpmconf_capture::{Trace, TraceItem, TraceStream};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: stream_capture FILE [--whole]")?;
    if args.next().as_deref() == Some("--whole") {
        let trace = Trace::from_pcap(&path)?;
        println!(
            "whole: {} entries ({} SIP, {} MSRP), {} problems",
            trace.entries.len(),
            trace.sip_messages().count(),
            trace.msrp_messages().count(),
            trace.problems.len()
        );
        return Ok(());
    }
    let mut stream = TraceStream::open(&path)?;
    let (mut entries, mut sip, mut msrp, mut problems, mut retained) = (0u64, 0u64, 0u64, 0u64, 0);
    while let Some(item) = stream.next() {
        match item? {
            TraceItem::Entry(e) => {
                entries += 1;
                sip += u64::from(e.sip().is_some());
                msrp += u64::from(e.msrp().is_some());
            }
            TraceItem::Problem(_) => problems += 1,
            TraceItem::End(_) => {}
        }
        retained = retained.max(stream.stats().retained_bytes());
    }
    println!(
        "streamed: {entries} entries ({sip} SIP, {msrp} MSRP), {problems} problems, at most \
         {retained} bytes of open state"
    );
    Ok(())
}
