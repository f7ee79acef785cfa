//! The properties the fuzz targets (`fuzz/fuzz_targets/`) check, one function per decoder entry
//! point, shared with the test that replays the kept corpora (`tests/fuzz_corpus.rs`): any
//! input, no panic; an unmodified decoded value re-encodes to exactly its input; stream framing
//! always makes progress. Each function panics exactly when a property fails.

use crate::{cpim, msrp, multipart::Multipart, sdp::SessionDescription, sip, xml, Limits, Status};

/// The targets, by name (the fuzz target and the corpus directory of each).
pub const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("sip", sip),
    ("msrp", msrp),
    ("sdp", sdp),
    ("cpim", cpim),
    ("xml", xml),
    ("multipart", multipart),
];

/// `sip::Message::parse_with` (a decoded message re-encodes to its input) and
/// `decode_stream` over the whole input (each message consumes 1..=len bytes).
pub fn sip(data: &[u8]) {
    let limits = Limits::default();
    if let Ok(d) = sip::Message::parse_with(data, &limits) {
        assert_eq!(d.value.to_bytes(), data);
    }
    let mut rest = data;
    while let Ok(Status::Complete { consumed, .. }) = sip::Message::decode_stream(rest, &limits) {
        assert!(consumed > 0 && consumed <= rest.len());
        rest = rest.get(consumed..).unwrap_or_default();
    }
}

/// `msrp::Message::parse` (round trip, the accessors) and the incremental `msrp::Decoder` fed
/// in two pieces split at a point the input chooses (its first byte).
pub fn msrp(data: &[u8]) {
    if let Ok(d) = msrp::Message::parse(data) {
        assert_eq!(d.value.to_bytes(), data);
        let _ = d.value.to_path();
        let _ = d.value.from_path();
        let _ = d.value.byte_range();
        let _ = d.value.status();
    }
    let split = data
        .first()
        .map(|&b| b as usize % (data.len() + 1))
        .unwrap_or(0);
    let (a, b) = data.split_at(split);
    let mut dec = msrp::Decoder::new(Limits::default());
    dec.push(a);
    while let Ok(Some(_)) = dec.next() {}
    dec.push(b);
    while let Ok(Some(_)) = dec.next() {}
}

/// `sdp::SessionDescription::parse`, round trip.
pub fn sdp(data: &[u8]) {
    if let Ok(d) = SessionDescription::parse(data) {
        assert_eq!(d.value.to_bytes(), data);
    }
}

/// `cpim::parse` (round trip) and the namespace-resolved accessors.
pub fn cpim(data: &[u8]) {
    if let Ok(d) = cpim::parse(data) {
        assert_eq!(d.value.to_bytes(), data);
        let _ = d.value.imdn_message_id();
        let _ = d.value.disposition_notification();
        let _ = d.value.from();
        let _ = d.value.to();
    }
}

/// The IMDN, isComposing, conference-info, resource-lists and reginfo parsers and
/// `xml::select` on the same bytes.
pub fn xml(data: &[u8]) {
    let _ = xml::imdn::parse(data);
    let _ = xml::iscomposing::parse(data);
    let _ = xml::conference_info::parse(data);
    let _ = xml::resource_lists::parse(data);
    let _ = xml::reginfo::parse(data);
    let _ = xml::select(data, "*/*/@entity");
}

/// `multipart::Multipart::parse` with boundary `b0undary`, round trip.
pub fn multipart(data: &[u8]) {
    if let Ok(d) = Multipart::parse(data, "b0undary", &Limits::default()) {
        assert_eq!(d.value.to_bytes(), data);
    }
}
