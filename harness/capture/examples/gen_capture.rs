//! Writes a synthetic capture of SIP MESSAGE transactions over UDP and TCP, for benchmarks.
//!
//! Usage: `cargo run --release -p cpmconf-capture --example gen_capture -- OUT.pcap [TRANSACTIONS]`
//! (default 50000 transactions = 100,000 SIP messages). Compare e.g.
//! `/usr/bin/time -v cpmconf check OUT.pcap` with `/usr/bin/time -v tshark -r OUT.pcap -Y sip`.

use std::io::BufWriter;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .ok_or("usage: gen_capture OUT.pcap [TRANSACTIONS]")?;
    let n: u64 = match args.next() {
        Some(s) => s.parse()?,
        None => 50_000,
    };
    let file = BufWriter::new(std::fs::File::create(&out)?);
    let s = cpmconf_capture::generate::write_message_capture(file, n)?;
    eprintln!(
        "{out}: {} SIP messages ({} over TCP on {} connections), {} frames",
        s.sip_messages, s.tcp_messages, s.tcp_connections, s.frames
    );
    Ok(())
}
