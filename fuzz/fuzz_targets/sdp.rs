//! Fuzz target: the SDP parser and the re-encoding round trip (the property is `cpmconf_codec::fuzzing::sdp`, which the corpus
//! replay test shares).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cpmconf_codec::fuzzing::sdp(data));
