//! The IMS communication service identifiers (ICSI) of OMA CPM (wire-facts section 1).

/// CPM session (chat, 1-1 and group).
pub const CPM_SESSION: &str = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.session";
/// Pager mode standalone message.
pub const CPM_MSG: &str = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.msg";
/// Large message mode.
pub const CPM_LARGEMSG: &str = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.largemsg";
/// Deferred delivery.
pub const CPM_DEFERRED: &str = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.deferred";
/// File transfer over MSRP.
pub const CPM_FILETRANSFER: &str = "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.filetransfer";

/// All five CPM ICSIs.
pub const ALL: [&str; 5] = [
    CPM_SESSION,
    CPM_MSG,
    CPM_LARGEMSG,
    CPM_DEFERRED,
    CPM_FILETRANSFER,
];

/// The short name used in scenarios (`cpm.session`) for a CPM ICSI, or `None` for another URN.
pub fn short_name(icsi: &str) -> Option<&'static str> {
    match icsi {
        CPM_SESSION => Some("cpm.session"),
        CPM_MSG => Some("cpm.msg"),
        CPM_LARGEMSG => Some("cpm.largemsg"),
        CPM_DEFERRED => Some("cpm.deferred"),
        CPM_FILETRANSFER => Some("cpm.filetransfer"),
        _ => None,
    }
}

/// The ICSI for a short name (`cpm.session` or `session`), or `None`.
pub fn from_short_name(name: &str) -> Option<&'static str> {
    let n = name.strip_prefix("cpm.").unwrap_or(name);
    ALL.iter()
        .copied()
        .find(|i| i.rsplit('.').next() == Some(n))
}
