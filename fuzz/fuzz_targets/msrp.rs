//! Fuzz target: the MSRP parser, its accessors and the incremental decoder (the property is `cpmconf_codec::fuzzing::msrp`, which the corpus
//! replay test shares).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cpmconf_codec::fuzzing::msrp(data));
