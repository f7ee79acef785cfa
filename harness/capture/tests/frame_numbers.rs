//! The pcap frame numbers the reports cite point at the frame that carries the end of each
//! message in the file the pcap writer wrote, as Wireshark numbers frames (from 1).

mod support;

use cpmconf_capture::pcap_writer::PcapSink;
use cpmconf_capture::{pcap_frame_numbers, trace_frame_numbers, Tap, Trace, WireEventKind};
use pcap_file::pcap::PcapReader;
use rstest::rstest;
use support::{record_sample, Endpoints, SAMPLE_MESSAGES};

/// Every frame of a pcap file, in order.
fn frames(path: &std::path::Path) -> Vec<Vec<u8>> {
    let mut r = PcapReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = Vec::new();
    while let Some(p) = r.next_packet() {
        out.push(p.unwrap().data.into_owned());
    }
    out
}

#[rstest]
#[case::ipv4(false)]
#[case::ipv6(true)]
fn frame_numbers_point_at_the_frame_ending_each_write(#[case] v6: bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.pcap");
    let tap = Tap::new();
    tap.add_sink(Box::new(PcapSink::create(&path).unwrap()));
    record_sample(&tap, Endpoints::new(v6));
    tap.finish();
    let written = frames(&path);
    let events = tap.events();
    let numbers = pcap_frame_numbers(&events);
    assert_eq!(numbers.len(), events.len());
    let mut data_events = 0;
    for (e, n) in events.iter().zip(&numbers) {
        match &e.kind {
            WireEventKind::Data(bytes) => {
                data_events += 1;
                let n = n.unwrap_or_else(|| panic!("no frame for {e:?}"));
                let frame = &written[(n - 1) as usize];
                // The frame ends with the last bytes of the write (at most one segment's worth).
                let tail = &bytes[bytes.len().saturating_sub(64)..];
                assert!(
                    frame.ends_with(tail),
                    "frame {n} does not end the write {e:?}"
                );
            }
            _ => assert_eq!(*n, None, "{e:?}"),
        }
    }
    assert_eq!(data_events, SAMPLE_MESSAGES);
    // Each message of the trace points at the frame that ends it.
    let trace = Trace::from_events(&events);
    let per_entry = trace_frame_numbers(&trace, &events);
    assert_eq!(per_entry.len(), SAMPLE_MESSAGES);
    let mut last = 0;
    for (entry, n) in trace.entries.iter().zip(&per_entry) {
        let n = n.unwrap_or_else(|| panic!("no frame for entry {}", entry.index));
        assert!(n > last, "frame numbers follow capture order");
        last = n;
        let bytes = match (entry.sip(), entry.msrp()) {
            (Some(m), _) => m.to_bytes(),
            (_, Some(m)) => m.to_bytes(),
            _ => panic!("undecodable entry {}", entry.index),
        };
        let tail = &bytes[bytes.len().saturating_sub(64)..];
        assert!(
            written[(n - 1) as usize].ends_with(tail),
            "entry {}",
            entry.index
        );
    }
    // The last numbered frame exists and is not the last frame (the closes follow it).
    assert!((last as usize) < written.len());
}
