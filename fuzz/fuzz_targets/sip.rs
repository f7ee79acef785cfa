//! Fuzz target: the SIP decoder (datagram and stream framing) and the re-encoding round trip (the property is `cpmconf_codec::fuzzing::sip`, which the corpus
//! replay test shares).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cpmconf_codec::fuzzing::sip(data));
