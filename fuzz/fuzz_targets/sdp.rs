//! Fuzz target: SDP with the MSRP and RFC 5547 attributes, and the re-encoding round trip.
#![no_main]

use cpmconf_codec::sdp::SessionDescription;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = SessionDescription::parse(data) {
        assert_eq!(d.value.to_bytes(), data);
    }
});
