//! Media feature tags in Contact and Accept-Contact (RFC 3840 9, RFC 3841 10), with the 3GPP
//! `+g.3gpp.icsi-ref` / `+g.3gpp.iari-ref` coding of TS 24.229 7.2A.8.

use super::message::Message;
use super::params::{Param, Params};
use super::uri::{percent_decode, percent_encode};
use crate::DecodeError;

/// The ICSI feature tag name (3GPP TS 24.229 7.2A.8.2).
pub const ICSI_REF: &str = "+g.3gpp.icsi-ref";
/// The IARI feature tag name (3GPP TS 24.229 7.2A.9.2).
pub const IARI_REF: &str = "+g.3gpp.iari-ref";
/// The instance identifier tag (RFC 5626 4.1).
pub const SIP_INSTANCE: &str = "+sip.instance";

/// The feature parameters of one Accept-Contact element or one Contact address.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FeatureSet {
    /// All parameters in order (feature tags and others such as `require`, `explicit`, `q`).
    pub params: Params,
}

/// Splits a feature tag value into its list items: the content of a quoted string split at
/// commas, each item trimmed and percent-decoded.
fn list_items(p: &Param) -> Vec<String> {
    match &p.value {
        None => Vec::new(),
        Some(v) => v
            .split(',')
            .map(|s| percent_decode(s.trim()))
            .filter(|s| !s.is_empty())
            .collect(),
    }
}

impl FeatureSet {
    /// Wraps parameters (for example a Contact's [`super::NameAddr::params`]).
    pub fn from_params(params: &Params) -> FeatureSet {
        FeatureSet {
            params: params.clone(),
        }
    }

    /// Parses one Accept-Contact element `*;param;param` (RFC 3841 10: ac-value = "*" *(SEMI
    /// ac-params)). Offsets are relative to `s`.
    pub fn parse_accept_contact(s: &str) -> Result<FeatureSet, DecodeError> {
        let lead = s.len() - s.trim_start().len();
        let t = s.trim_start();
        if !t.starts_with('*') {
            return Err(DecodeError::new(
                lead,
                "rfc3841/10 accept-contact",
                "'*' at the start of an Accept-Contact value",
            ));
        }
        let params = Params::parse(&t[1..]).map_err(|e| e.shifted(lead + 1))?;
        Ok(FeatureSet { params })
    }

    /// The decoded values of every occurrence of a list-valued tag.
    fn values(&self, tag: &str) -> Vec<String> {
        self.params
            .iter()
            .filter(|p| p.name.eq_ignore_ascii_case(tag))
            .flat_map(list_items)
            .collect()
    }

    /// The ICSIs of `+g.3gpp.icsi-ref`, percent-decoded (`urn:urn-7:...`).
    pub fn icsi_refs(&self) -> Vec<String> {
        self.values(ICSI_REF)
    }

    /// The IARIs of `+g.3gpp.iari-ref`, percent-decoded.
    pub fn iari_refs(&self) -> Vec<String> {
        self.values(IARI_REF)
    }

    /// `true` when `icsi` (decoded form) is among the ICSIs.
    pub fn has_icsi(&self, icsi: &str) -> bool {
        self.icsi_refs().iter().any(|i| i == icsi)
    }

    /// The `+sip.instance` value without quotes and angle brackets (`urn:uuid:...`).
    pub fn sip_instance(&self) -> Option<String> {
        let v = self.params.get(SIP_INSTANCE)?;
        let v = v.trim();
        let v = v
            .strip_prefix('<')
            .and_then(|x| x.strip_suffix('>'))
            .unwrap_or(v);
        Some(v.to_owned())
    }

    /// `true` when the `isfocus` feature tag is present (RFC 3840 9: conference focus).
    pub fn is_focus(&self) -> bool {
        self.has("isfocus")
    }

    /// `true` when a parameter with this name is present (case-insensitive).
    pub fn has(&self, tag: &str) -> bool {
        self.params.has(tag)
    }

    /// The `require` flag of an Accept-Contact element (RFC 3841 10).
    pub fn require(&self) -> bool {
        self.has("require")
    }

    /// The `explicit` flag of an Accept-Contact element (RFC 3841 10).
    pub fn explicit(&self) -> bool {
        self.has("explicit")
    }
}

fn keep_in_tag(b: u8) -> bool {
    b != b':' && b != b'"' && b != b',' && b != b'%' && b > b' ' && b < 0x7f
}

/// `+g.3gpp.icsi-ref="urn%3Aurn-7%3A..."` with each ICSI percent-encoded (':' as `%3A`, 3GPP TS
/// 24.229 7.2A.8.2) and several ICSIs joined by commas inside one quoted string.
pub fn icsi_ref_param(icsis: &[&str]) -> String {
    tag_param(ICSI_REF, icsis)
}

/// `+g.3gpp.iari-ref="..."`, coded like [`icsi_ref_param`].
pub fn iari_ref_param(iaris: &[&str]) -> String {
    tag_param(IARI_REF, iaris)
}

fn tag_param(name: &str, values: &[&str]) -> String {
    let list: Vec<String> = values
        .iter()
        .map(|v| percent_encode(v, keep_in_tag))
        .collect();
    format!("{name}=\"{}\"", list.join(","))
}

impl Message {
    /// The Accept-Contact elements (RFC 3841), with offsets into the message.
    pub fn accept_contacts(&self) -> Result<Vec<FeatureSet>, DecodeError> {
        self.headers
            .parse_elements("Accept-Contact", FeatureSet::parse_accept_contact)
    }

    /// The feature sets of the Contact addresses.
    pub fn contact_features(&self) -> Result<Vec<FeatureSet>, DecodeError> {
        Ok(self
            .contacts()?
            .iter()
            .map(|c| FeatureSet::from_params(&c.params))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::icsi;
    use super::*;
    use crate::sip::NameAddr;

    #[test]
    fn accept_contact_with_two_icsis() {
        let f = FeatureSet::parse_accept_contact(
            "*;+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.session,urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.filetransfer\";require;explicit",
        )
        .unwrap();
        assert_eq!(
            f.icsi_refs(),
            vec![icsi::CPM_SESSION, icsi::CPM_FILETRANSFER]
        );
        assert!(f.require() && f.explicit() && !f.is_focus());
        assert!(f.has_icsi(icsi::CPM_SESSION));
        assert!(!f.has_icsi(icsi::CPM_MSG));
    }

    #[test]
    fn contact_instance_and_focus() {
        let c = NameAddr::parse(
            "<sip:g1@cf.test>;isfocus;+sip.instance=\"<urn:uuid:1-2>\";+g.3gpp.iari-ref=\"urn%3Aurn-7%3Ax\"",
        )
        .unwrap();
        let f = FeatureSet::from_params(&c.params);
        assert!(f.is_focus());
        assert_eq!(f.sip_instance().as_deref(), Some("urn:uuid:1-2"));
        assert_eq!(f.iari_refs(), vec!["urn:urn-7:x"]);
    }

    #[test]
    fn encoder_matches_ts_24_229() {
        assert_eq!(
            icsi_ref_param(&[icsi::CPM_SESSION]),
            "+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.session\""
        );
        let p = format!("*;{}", icsi_ref_param(&[icsi::CPM_MSG, icsi::CPM_LARGEMSG]));
        let f = FeatureSet::parse_accept_contact(&p).unwrap();
        assert_eq!(f.icsi_refs(), vec![icsi::CPM_MSG, icsi::CPM_LARGEMSG]);
        assert_eq!(
            icsi::from_short_name("cpm.largemsg"),
            Some(icsi::CPM_LARGEMSG)
        );
    }

    #[test]
    fn accept_contact_needs_star() {
        let e = FeatureSet::parse_accept_contact("  sip:x").unwrap_err();
        assert_eq!(e.offset, 2);
    }
}
