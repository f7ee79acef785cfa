//! Fuzz target: CPIM with NS resolution, and the re-encoding round trip.
#![no_main]

use cpmconf_codec::cpim;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = cpim::parse(data) {
        assert_eq!(d.value.to_bytes(), data);
        let _ = d.value.imdn_message_id();
        let _ = d.value.disposition_notification();
        let _ = d.value.from();
        let _ = d.value.to();
    }
});
