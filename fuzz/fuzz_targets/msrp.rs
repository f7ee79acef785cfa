//! Fuzz target: the incremental MSRP decoder fed in two arbitrary splits, one-frame parsing, and
//! the re-encoding round trip.
#![no_main]

use cpmconf_codec::{msrp, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = msrp::Message::parse(data) {
        assert_eq!(d.value.to_bytes(), data);
        let _ = d.value.to_path();
        let _ = d.value.from_path();
        let _ = d.value.byte_range();
        let _ = d.value.status();
    }
    let split = data.first().map(|&b| b as usize % (data.len() + 1)).unwrap_or(0);
    let mut dec = msrp::Decoder::new(Limits::default());
    dec.push(&data[..split]);
    while let Ok(Some(_)) = dec.next() {}
    dec.push(&data[split..]);
    while let Ok(Some(_)) = dec.next() {}
});
