//! Fuzz target: the CPIM parser, its accessors and the re-encoding round trip (the property is `cpmconf_codec::fuzzing::cpim`, which the corpus
//! replay test shares).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cpmconf_codec::fuzzing::cpim(data));
