//! Store-and-forward by the Participating Function (CR 7.3.11, 7.3.12; wire-facts 7): the
//! deferred INVITE from CPMDeferredMgmtURI with the original sender in Referred-By, the stored
//! messages pushed over MSRP once the session is up, and stored IMDNs in a SIP MESSAGE.

use crate::media::Push;
use crate::network::Network;
use crate::role::Role;
use crate::spec::{Body, CpimSpec, OfferKind, RequestSpec, SdpOffer, SentRequest};
use crate::SimError;
use cpmconf_codec::sdp::Direction;
use cpmconf_codec::sip::{icsi, icsi_ref_param, Method};

/// One stored chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// CPIM From (the original sender).
    pub from: String,
    /// `imdn.Message-ID`.
    pub message_id: String,
    /// Text.
    pub text: String,
    /// Disposition-Notification values (e.g. `positive-delivery`, `display`).
    pub dispositions: Vec<String>,
}

/// A deferred delivery session towards the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeferredDelivery {
    /// The client's AOR.
    pub to: String,
    /// The original sender (Referred-By); for a group, the group session identity.
    pub original_sender: String,
    /// `a=sendrecv` or `a=sendonly` (wire-facts 7).
    pub direction: Direction,
    /// Add the cpm.deferred ICSI to Accept-Contact next to cpm.session.
    pub deferred_tag: bool,
    /// Conversation-ID, if any.
    pub conversation_id: Option<String>,
    /// Contribution-ID, if any.
    pub contribution_id: Option<String>,
    /// Messages pushed once the MSRP session is up, in order.
    pub messages: Vec<StoredMessage>,
    /// Raw MSRP bodies pushed after the messages (e.g. IMDNs, participant information), with
    /// their content types.
    pub extra: Vec<Push>,
}

impl DeferredDelivery {
    /// A sendrecv delivery of `messages` to `to`, originally from `sender`.
    pub fn new(to: &str, sender: &str, messages: Vec<StoredMessage>) -> DeferredDelivery {
        DeferredDelivery {
            to: to.into(),
            original_sender: sender.into(),
            direction: Direction::SendRecv,
            deferred_tag: false,
            conversation_id: None,
            contribution_id: None,
            messages,
            extra: Vec::new(),
        }
    }
}

fn pushes(d: &DeferredDelivery, cpim_to: &str) -> Vec<Push> {
    let mut out: Vec<Push> = d
        .messages
        .iter()
        .map(|m| {
            let mut c = CpimSpec::text(&m.from, cpim_to, &m.text);
            c.message_id = Some(m.message_id.clone());
            c.dispositions = m.dispositions.clone();
            Push {
                content_type: "message/cpim".into(),
                body: c.to_bytes(),
            }
        })
        .collect();
    out.extend(d.extra.iter().cloned());
    out
}

fn invite(
    net: &Network,
    d: &DeferredDelivery,
    contact: Option<String>,
    group: bool,
) -> RequestSpec {
    let mut icsis = vec![icsi::CPM_SESSION];
    if d.deferred_tag {
        icsis.push(icsi::CPM_DEFERRED);
    }
    let mut spec = RequestSpec::to_aor(Method::Invite, &d.to)
        .header("Accept-Contact", &format!("*;{}", icsi_ref_param(&icsis)))
        .header("P-Asserted-Service", icsi::CPM_SESSION)
        .header("Referred-By", &format!("<{}>", d.original_sender));
    if let Some(c) = &d.conversation_id {
        spec = spec.header("Conversation-ID", c);
    }
    if let Some(c) = &d.contribution_id {
        spec = spec.header("Contribution-ID", c);
    }
    spec.from = Some(net.config().deferred_mgmt_uri.clone());
    spec.contact = contact;
    spec.body = Body::Sdp(SdpOffer {
        kind: if group {
            OfferKind::Group
        } else {
            OfferKind::Chat
        },
        direction: d.direction,
    });
    spec
}

impl Network {
    /// CR 7.3.11: a deferred 1-1 session from the PF (From = CPMDeferredMgmtURI, Referred-By =
    /// the original sender, cpm.session ICSI); the stored messages are pushed over MSRP once
    /// the session is up.
    pub async fn deliver_deferred_1to1(
        &self,
        d: DeferredDelivery,
    ) -> Result<SentRequest, SimError> {
        let p = pushes(&d, &d.to);
        let spec = invite(self, &d, None, false);
        self.send_request_then_push(Role::Pf.as_str(), spec, p)
            .await
    }

    /// CR 7.3.12 / 7.3.1.5.1: a deferred group session: the INVITE carries the group session
    /// identity `focus` as `Contact: <focus>;isfocus`, Conversation-ID and Contribution-ID;
    /// the stored messages (CPIM To = the group) follow over MSRP.
    pub async fn deliver_deferred_group(
        &self,
        d: DeferredDelivery,
        focus: &str,
    ) -> Result<SentRequest, SimError> {
        let p = pushes(&d, focus);
        let spec = invite(self, &d, Some(format!("<{focus}>;isfocus")), true);
        self.send_request_then_push(Role::Pf.as_str(), spec, p)
            .await
    }

    /// A stored IMDN (or deferred standalone message) via SIP MESSAGE from the PF with the
    /// cpm.deferred ICSI in Accept-Contact (wire-facts 7).
    pub async fn deliver_deferred_message(
        &self,
        to: &str,
        original_sender: &str,
        cpim: CpimSpec,
    ) -> Result<SentRequest, SimError> {
        let mut spec = RequestSpec::to_aor(Method::Message, to)
            .header(
                "Accept-Contact",
                &format!("*;{}", icsi_ref_param(&[icsi::CPM_DEFERRED])),
            )
            .header("Referred-By", &format!("<{original_sender}>"))
            .body(Body::Cpim(cpim));
        spec.from = Some(self.config().deferred_mgmt_uri.clone());
        self.send_request(Role::Pf.as_str(), spec).await
    }
}
