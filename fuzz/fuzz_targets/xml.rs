//! Fuzz target: every XML body parser (IMDN, isComposing, conference-info, resource-lists,
//! reginfo) and the path selector on the same bytes.
#![no_main]

use cpmconf_codec::xml;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = xml::imdn::parse(data);
    let _ = xml::iscomposing::parse(data);
    let _ = xml::conference_info::parse(data);
    let _ = xml::resource_lists::parse(data);
    let _ = xml::reginfo::parse(data);
    let _ = xml::select(data, "*/*/@entity");
});
