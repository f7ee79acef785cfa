//! Fuzz target: multipart/mixed bodies with per-part headers, and the re-encoding round trip.
#![no_main]

use cpmconf_codec::{multipart::Multipart, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = Multipart::parse(data, "b0undary", &Limits::default()) {
        assert_eq!(d.value.to_bytes(), data);
    }
});
