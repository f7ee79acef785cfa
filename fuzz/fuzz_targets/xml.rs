//! Fuzz target: every XML body parser and `xml::select` (the property is `cpmconf_codec::fuzzing::xml`, which the corpus
//! replay test shares).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cpmconf_codec::fuzzing::xml(data));
