//! Fuzz target: the SIP decoder (datagram and stream framing) and the re-encoding round trip.
#![no_main]

use cpmconf_codec::{sip::Message, Limits, Status};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(d) = Message::parse_with(data, &limits) {
        // An unmodified decoded message re-encodes to exactly its input.
        assert_eq!(d.value.to_bytes(), data);
    }
    let mut rest = data;
    while let Ok(Status::Complete { consumed, .. }) = Message::decode_stream(rest, &limits) {
        assert!(consumed > 0 && consumed <= rest.len());
        rest = &rest[consumed..];
    }
});
