//! Named faults for mutation testing: each breaks exactly one wire-observable SHALL / SHALL NOT
//! requirement of the catalogue and is named by that requirement's id. The suite must fail a
//! client running with a fault, citing that requirement.

use std::collections::BTreeSet;

/// One fault of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultInfo {
    /// The requirement id it breaks (`7.3.1.5/contribution-id`).
    pub id: &'static str,
    /// What the client does wrong with the fault on.
    pub breaks: &'static str,
}

/// A fault id that is not in the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown fault {0:?} (`cpmconf faults` lists them)")]
pub struct UnknownFault(pub String);

/// The faults switched on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultSet {
    on: BTreeSet<&'static str>,
}

impl FaultSet {
    /// No fault: the conformant reference client.
    pub fn none() -> FaultSet {
        FaultSet::default()
    }

    /// The faults named in `ids`; an id not in [`all_faults`] is an error.
    pub fn parse<I, S>(ids: I) -> Result<FaultSet, UnknownFault>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut on = BTreeSet::new();
        for id in ids {
            let id = id.as_ref().trim();
            let info = all_faults()
                .iter()
                .find(|f| f.id == id)
                .ok_or_else(|| UnknownFault(id.to_owned()))?;
            on.insert(info.id);
        }
        Ok(FaultSet { on })
    }

    /// Whether fault `id` is on.
    pub fn has(&self, id: &str) -> bool {
        self.on.contains(id)
    }
}

/// Every fault, in catalogue order.
pub fn all_faults() -> &'static [FaultInfo] {
    FAULTS
}

/// The fault table as text, one `id  description` line each (what `--list-faults` prints).
pub fn faults_table() -> String {
    let width = FAULTS.iter().map(|f| f.id.len()).max().unwrap_or(0);
    FAULTS
        .iter()
        .map(|f| format!("{:width$}  {}\n", f.id, f.breaks))
        .collect()
}

const FAULTS: &[FaultInfo] = &[
    FaultInfo {
        id: "7/send-pager-mode",
        breaks: "sends a pager-mode message as a cpm.largemsg INVITE instead of a SIP MESSAGE",
    },
    FaultInfo {
        id: "7/send-large-message-mode",
        breaks: "sends a large-mode message as a SIP MESSAGE instead of a cpm.largemsg MSRP session",
    },
    FaultInfo {
        id: "7/initiate-file-transfer",
        breaks: "offers a new file transfer with the cpm.session ICSI instead of cpm.filetransfer",
    },
    FaultInfo {
        id: "7/dispatch-message-msg",
        breaks: "answers a MESSAGE carrying cpm.msg with 488 instead of handling it as pager mode",
    },
    FaultInfo {
        id: "7/dispatch-message-deferred",
        breaks: "answers a MESSAGE carrying cpm.deferred with 488 instead of handling it as pager mode",
    },
    FaultInfo {
        id: "7/dispatch-invite-largemsg",
        breaks: "answers a cpm.largemsg INVITE with 488 instead of receiving the large message",
    },
    FaultInfo {
        id: "7/dispatch-invite-deferred-largemsg",
        breaks: "answers a cpm.deferred large-message INVITE with 488",
    },
    FaultInfo {
        id: "7/dispatch-invite-session",
        breaks: "answers a cpm.session INVITE with 488 instead of handling the session invitation",
    },
    FaultInfo {
        id: "7/dispatch-invite-deferred-session",
        breaks: "answers a cpm.deferred session INVITE with 488",
    },
    FaultInfo {
        id: "7/dispatch-invite-filetransfer",
        breaks: "answers a cpm.filetransfer INVITE with 488 instead of handling the file transfer",
    },
    FaultInfo {
        id: "7/user-agent-header",
        breaks: "leaves User-Agent out of every request (and of the 200 to session INVITEs)",
    },
    FaultInfo {
        id: "7.3.1.3/initial-invite-rfc3261",
        breaks: "sends the pre-defined group INVITE without a From tag (RFC 3261 8.1.1.3)",
    },
    FaultInfo {
        id: "7.3.1.3/request-uri-predefined-group",
        breaks: "addresses the pre-defined group INVITE to the conference factory instead of the group",
    },
    FaultInfo {
        id: "7.3.1.3/accept-contact-icsi",
        breaks: "leaves Accept-Contact (cpm.session) out of the pre-defined group INVITE",
    },
    FaultInfo {
        id: "7.3.1.3/p-preferred-service",
        breaks: "leaves P-Preferred-Service out of the pre-defined group INVITE",
    },
    FaultInfo {
        id: "7.3.1.3/contact-icsi",
        breaks: "leaves the cpm.session ICSI out of the Contact of the pre-defined group INVITE",
    },
    FaultInfo {
        id: "7.3.1.3/privacy-id",
        breaks: "leaves Privacy: id out of an anonymous pre-defined group INVITE",
    },
    FaultInfo {
        id: "7.3.1.3/conversation-id-new",
        breaks: "leaves Conversation-ID out of a pre-defined group INVITE that starts a conversation",
    },
    FaultInfo {
        id: "7.3.1.3/conversation-id-existing",
        breaks: "generates a new Conversation-ID instead of reusing the existing conversation's",
    },
    FaultInfo {
        id: "7.3.1.3/contribution-id-new",
        breaks: "leaves Contribution-ID out of the pre-defined group INVITE",
    },
    FaultInfo {
        id: "7.3.1.3/inreplyto-contribution-id",
        breaks: "leaves InReplyTo-Contribution-ID out of a reply pre-defined group INVITE",
    },
    FaultInfo {
        id: "7.3.1.3/sdp-offer",
        breaks: "sends the pre-defined group INVITE without an SDP offer",
    },
    FaultInfo {
        id: "7.3.1.3/ack-200-ok",
        breaks: "does not ACK the 200 to the pre-defined group INVITE",
    },
    FaultInfo {
        id: "7.3.1.3/store-group-session-identity",
        breaks: "ignores the 200's Contact (later requests go to the group URI instead of the session identity)",
    },
    FaultInfo {
        id: "7.3.1.3/initiate-media-plane",
        breaks: "does not open the MSRP connection after the 200 to the pre-defined group INVITE",
    },
    FaultInfo {
        id: "7.3.1.3/subscribe-conference-event",
        breaks: "does not SUBSCRIBE to the conference event package after joining a pre-defined group",
    },
    FaultInfo {
        id: "7.3.1.3/maintain-conference-subscription",
        breaks: "never refreshes the conference subscription of a pre-defined group session",
    },
    FaultInfo {
        id: "7.3.1.5/rejoin-invite-rfc3261",
        breaks: "sends the re-join INVITE without a From tag (RFC 3261 8.1.1.3)",
    },
    FaultInfo {
        id: "7.3.1.5/request-uri-group-session",
        breaks: "sends the re-join INVITE to a Request-URI other than the stored session identity",
    },
    FaultInfo {
        id: "7.3.1.5/accept-contact-icsi",
        breaks: "leaves Accept-Contact (cpm.session) out of the re-join INVITE",
    },
    FaultInfo {
        id: "7.3.1.5/contact-icsi",
        breaks: "leaves the cpm.session ICSI out of the Contact of the re-join INVITE",
    },
    FaultInfo {
        id: "7.3.1.5/p-preferred-service",
        breaks: "leaves P-Preferred-Service out of the re-join INVITE",
    },
    FaultInfo {
        id: "7.3.1.5/originator-address-device-id",
        breaks: "leaves +sip.instance (device id) out of the re-join INVITE's Contact",
    },
    FaultInfo {
        id: "7.3.1.5/user-agent-header",
        breaks: "leaves User-Agent out of the re-join INVITE only",
    },
    FaultInfo {
        id: "7.3.1.5/privacy-id",
        breaks: "leaves Privacy: id out of an anonymous re-join INVITE",
    },
    FaultInfo {
        id: "7.3.1.5/conversation-id",
        breaks: "leaves Conversation-ID out of the re-join INVITE",
    },
    FaultInfo {
        id: "7.3.1.5/contribution-id",
        breaks: "leaves Contribution-ID out of the re-join INVITE",
    },
    FaultInfo {
        id: "7.3.1.5/sdp-offer",
        breaks: "sends the re-join INVITE without an SDP offer",
    },
    FaultInfo {
        id: "7.3.1.5/ack-200-ok",
        breaks: "does not ACK the 200 to the re-join INVITE",
    },
    FaultInfo {
        id: "7.3.1.5/store-group-session-identity",
        breaks: "ignores the re-join 200's Contact as Group Session Identity",
    },
    FaultInfo {
        id: "7.3.1.5/initiate-media-plane",
        breaks: "does not open the MSRP connection after the 200 to the re-join INVITE",
    },
    FaultInfo {
        id: "7.3.1.5/fallback-resource-list",
        breaks: "leaves the resource-list body out of the ad-hoc fallback INVITE after 404/403",
    },
    FaultInfo {
        id: "7.3.1.5/fallback-conversation-id",
        breaks: "leaves Conversation-ID out of the ad-hoc fallback INVITE after 404/403",
    },
    FaultInfo {
        id: "7.3.1.5/fallback-contribution-id",
        breaks: "puts a new Contribution-ID into the ad-hoc fallback INVITE after 404/403",
    },
    FaultInfo {
        id: "7.3.1.5.1/use-incoming-invite",
        breaks: "rejects (486) an incoming INVITE for the same group session during its own re-join",
    },
    FaultInfo {
        id: "7.3.1.5.1/imdn-delivery-via-msrp",
        breaks: "sends delivery IMDNs of a race-established session by SIP MESSAGE instead of MSRP",
    },
    FaultInfo {
        id: "7.3.1.5.1/imdn-display-via-msrp",
        breaks: "sends display IMDNs of a race-established session by SIP MESSAGE instead of MSRP",
    },
    FaultInfo {
        id: "7.3.1.5.1/no-subscribe-without-chat",
        breaks: "subscribes to the conference at once in a race-established session the user has not written in",
    },
    FaultInfo {
        id: "7.3.1.5.1/send-chat-via-msrp",
        breaks: "sends chat messages of a race-established session by SIP MESSAGE instead of MSRP",
    },
    FaultInfo {
        id: "7.3.1.5.1/subscribe-when-chatting",
        breaks: "does not subscribe to the conference when the user chats after a re-join",
    },
    FaultInfo {
        id: "7.3.1.5.1/maintain-subscription",
        breaks: "never refreshes the conference subscription after a re-join",
    },
    FaultInfo {
        id: "7.3.4.3/generate-200-ok",
        breaks: "answers a BYE with 486 instead of 200",
    },
    FaultInfo {
        id: "7.3.4.3/send-200-ok",
        breaks: "sends no response at all to a BYE",
    },
    FaultInfo {
        id: "7.3.4.3/release-media",
        breaks: "keeps the MSRP connection open after a BYE",
    },
    FaultInfo {
        id: "7.3.4.3/terminate-session",
        breaks: "keeps the session, its dialog (a second BYE gets 200, not 481) and its conference subscription after a BYE",
    },
    FaultInfo {
        id: "7.3.9.1/cpim-to-private-chat",
        breaks: "sets the CPIM To of 1-1 chat messages and of private messages in a group to sip:anonymous@anonymous.invalid",
    },
    FaultInfo {
        id: "7.3.9.1/cpim-to-private-iscomposing",
        breaks: "sets the CPIM To of the isComposing of a private message in a group to the group's address, not the participant's",
    },
    FaultInfo {
        id: "7.3.9.1/cpim-to-imdn-in-group",
        breaks: "sets the CPIM To of IMDNs in a group session to the session identity, not the sender",
    },
    FaultInfo {
        id: "7.3.9.1/cpim-to-adhoc-group",
        breaks: "sets the CPIM To in an ad-hoc group to a participant instead of the session's Controlling Function",
    },
    FaultInfo {
        id: "7.3.9.1/cpim-to-predefined-group",
        breaks: "sets the CPIM To in a pre-defined group to the session identity instead of the group address",
    },
    FaultInfo {
        id: "7.3.9.1/request-delivery-report",
        breaks: "leaves positive-delivery out of imdn.Disposition-Notification of chat messages",
    },
    FaultInfo {
        id: "7.3.9.1/iscomposing-via-msrp",
        breaks: "sends isComposing by SIP MESSAGE instead of MSRP",
    },
    FaultInfo {
        id: "7.3.9.1/iscomposing-no-cpim-1-1",
        breaks: "wraps isComposing in CPIM in a 1-1 session",
    },
    FaultInfo {
        id: "7.3.12/support-deferred-group-delivery",
        breaks: "rejects (488) deferred group delivery INVITEs",
    },
    FaultInfo {
        id: "7.3.12/check-sdp-direction",
        breaks: "answers a sendonly deferred group offer with sendrecv instead of recvonly",
    },
    FaultInfo {
        id: "7.3.12/sendrecv-receive-deferred",
        breaks: "accepts a sendrecv deferred group delivery session but never opens its MSRP connection",
    },
    FaultInfo {
        id: "7.3.12/sendrecv-send-delivery-notifications",
        breaks: "sends no delivery IMDN in a sendrecv deferred group session",
    },
    FaultInfo {
        id: "7.3.12/sendrecv-send-new-chat",
        breaks: "re-joins with a new INVITE instead of chatting in the sendrecv deferred group session",
    },
    FaultInfo {
        id: "7.3.12/sendonly-no-imdn",
        breaks: "sends IMDNs into a sendonly deferred group session",
    },
    FaultInfo {
        id: "7.3.12/sendonly-no-chat",
        breaks: "sends the user's chat messages into a sendonly deferred group session",
    },
    FaultInfo {
        id: "7.3.12/imdn-delivery-via-msrp",
        breaks: "sends no delivery IMDN over MSRP in a sendrecv deferred group session",
    },
    FaultInfo {
        id: "7.3.12/imdn-display-via-msrp",
        breaks: "sends no display IMDN over MSRP in a sendrecv deferred group session",
    },
    FaultInfo {
        id: "7.3.12/terminate-after-delivery",
        breaks: "leaves a deferred group delivery session as soon as its delivery IMDN is sent, before the Participant Information",
    },
    FaultInfo {
        id: "7.3.12/no-subscribe-without-chat",
        breaks: "subscribes to the conference at once in a deferred group session",
    },
    FaultInfo {
        id: "7.3.12/send-chat-via-msrp",
        breaks: "sends chat messages of a deferred group session by SIP MESSAGE instead of MSRP",
    },
    FaultInfo {
        id: "7.3.12/subscribe-when-chatting",
        breaks: "does not subscribe to the conference when the user chats in a deferred group session",
    },
    FaultInfo {
        id: "7.3.12/maintain-subscription",
        breaks: "never refreshes the conference subscription of a deferred group session",
    },
    FaultInfo {
        id: "7.3.12/no-rejoin-without-message",
        breaks: "re-joins the group session it left as soon as it is registered again, with nothing to send",
    },
    FaultInfo {
        id: "7.3.11/accept-200-ok",
        breaks: "answers an accepted deferred 1-1 INVITE with 486 instead of 200",
    },
    FaultInfo {
        id: "7.3.11/decline-480",
        breaks: "declines a deferred 1-1 INVITE with 486 instead of 480",
    },
    FaultInfo {
        id: "7.3.11/sendrecv-receive-deferred",
        breaks: "accepts a sendrecv deferred 1-1 session but never opens its MSRP connection",
    },
    FaultInfo {
        id: "7.3.11/sendrecv-send-imdn",
        breaks: "sends IMDNs for deferred 1-1 messages by SIP MESSAGE instead of in the session",
    },
    FaultInfo {
        id: "7.3.11/no-user-messages-in-deferred-session",
        breaks: "sends the user's reply into the deferred 1-1 delivery session",
    },
    FaultInfo {
        id: "7.3.11/imdn-via-sip-message-after-session",
        breaks: "drops display IMDNs due after the deferred session ended instead of sending a SIP MESSAGE",
    },
    FaultInfo {
        id: "7.3.11/reply-new-1-1-session",
        breaks: "sends a reply to a deferred message as a pager MESSAGE instead of a new 1-1 session",
    },
    FaultInfo {
        id: "7.4.2/validate-file-size",
        breaks: "accepts a file larger than the provisioned limit",
    },
    FaultInfo {
        id: "7.4.2/accept-200-ok-file-identities",
        breaks: "leaves a=file-selector out of the SDP answer accepting a file",
    },
    FaultInfo {
        id: "7.4.2/decline-603",
        breaks: "declines a file with 486 instead of 603",
    },
    FaultInfo {
        id: "7.4.2/media-plane-receive",
        breaks: "accepts a file but never opens the MSRP connection",
    },
    FaultInfo {
        id: "7.4.2/check-delivery-notification-request",
        breaks: "sends a delivery IMDN for every received file, asked for or not (never checks the request)",
    },
    FaultInfo {
        id: "7.4.2/delivery-notification-sip-message",
        breaks: "sends the file's delivery IMDN over MSRP instead of SIP MESSAGE",
    },
    FaultInfo {
        id: "7.4.3/sender-bye-on-completion",
        breaks: "does not send BYE after the last chunk of a sent file",
    },
    FaultInfo {
        id: "7.4.3/abort-bye-sender",
        breaks: "aborts a sending transfer by closing MSRP without a BYE",
    },
    FaultInfo {
        id: "7.4.3/abort-bye-receiver",
        breaks: "aborts a receiving transfer by closing MSRP without a BYE",
    },
    FaultInfo {
        id: "7.4.5/track-transferred-bytes",
        breaks: "does not count transferred bytes (a resume asks for the whole file)",
    },
    FaultInfo {
        id: "7.4.5.1/receiver-device-id",
        breaks: "leaves the original sender's +sip.instance out of the receiver's resume INVITE",
    },
    FaultInfo {
        id: "7.4.5.1/sender-device-id",
        breaks: "leaves the recipient's +sip.instance out of the sender's resume INVITE",
    },
    FaultInfo {
        id: "7.4.5.1/sdp-file-attributes",
        breaks: "leaves a=file-selector and a=file-range out of the resume offer",
    },
    FaultInfo {
        id: "7.4.5.1/recvonly-original-receiver",
        breaks: "marks the original receiver's resume offer sendonly instead of recvonly",
    },
    FaultInfo {
        id: "7.4.5.1/sendonly-original-sender",
        breaks: "marks the original sender's resume offer recvonly instead of sendonly",
    },
    FaultInfo {
        id: "7.4.5.1/media-plane-byte-range",
        breaks: "resends the whole file (Byte-Range from 1) after a resume",
    },
    FaultInfo {
        id: "7.4.5.1/terminate-on-completion",
        breaks: "does not BYE the resumed transfer once it completes",
    },
    FaultInfo {
        id: "7.4.5.2/sender-200-ok-file",
        breaks: "declines (603) a resume of a file it still has, which the CR answers 200 (a 488 would be a file it no longer knows, ii)",
    },
    FaultInfo {
        id: "7.4.5.2/sender-cpim-from-device-id",
        breaks: "serving a resume, names another device in the CPIM From of the resumed file (gr of a foreign instance)",
    },
    FaultInfo {
        id: "7.4.5.2/recipient-follow-7-4-2",
        breaks: "answers a resume offer as a new transfer (no a=file-range) and takes the file from byte 1",
    },
    FaultInfo {
        id: "7.4.5.2/recipient-imdn-sip-message",
        breaks: "sends the resumed file's delivery IMDN over MSRP instead of SIP MESSAGE",
    },
    FaultInfo {
        id: "7.4.5.2/488-resume-unsupported",
        breaks: "accepts a resume request although resume is not supported",
    },
    FaultInfo {
        id: "7.4.5.2/488-unknown-file",
        breaks: "accepts (200) a resume of a file it does not know",
    },
    FaultInfo {
        id: "5.4.4/process-read-report",
        breaks: "answers a MESSAGE carrying a display (read) report with 415 instead of processing it",
    },
    FaultInfo {
        id: "5.5/iscomposing-no-imdn-request",
        breaks: "requests a delivery IMDN for isComposing notifications",
    },
    FaultInfo {
        id: "5.5/iscomposing-cpim-from-group",
        breaks: "sends isComposing in a group session without the CPIM wrapper (no From)",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Every source file of the crate, for the wiring check.
    const SOURCES: &[&str] = &[
        include_str!("chat.rs"),
        include_str!("client.rs"),
        include_str!("deferred.rs"),
        include_str!("file_transfer.rs"),
        include_str!("group.rs"),
        include_str!("imdn.rs"),
        include_str!("incoming.rs"),
        include_str!("large_message.rs"),
        include_str!("outgoing.rs"),
        include_str!("pager.rs"),
        include_str!("registration.rs"),
        include_str!("session_end.rs"),
        include_str!("session_setup.rs"),
    ];

    #[test]
    fn every_fault_is_wired_to_code() {
        for f in all_faults() {
            let site = format!("has(\"{}\")", f.id);
            assert!(
                SOURCES.iter().any(|s| s.contains(&site)),
                "fault {} has no `faults.has(..)` site",
                f.id
            );
        }
    }

    #[test]
    fn every_fault_site_names_a_listed_fault() {
        for src in SOURCES {
            for (i, _) in src.match_indices("has(\"") {
                let rest = &src[i + 5..];
                let id = rest.split('"').next().unwrap_or("");
                assert!(
                    all_faults().iter().any(|f| f.id == id),
                    "`has(\"{id}\")` names no fault of the table"
                );
            }
        }
    }

    #[test]
    fn ids_are_unique_and_parse() {
        let mut seen = BTreeSet::new();
        for f in all_faults() {
            assert!(seen.insert(f.id), "duplicate fault {}", f.id);
        }
        let set = FaultSet::parse(["7.3.1.5/contribution-id"]).unwrap();
        assert!(set.has("7.3.1.5/contribution-id"));
        assert!(!set.has("7/user-agent-header"));
        assert_eq!(
            FaultSet::parse(["no/such-fault"]),
            Err(UnknownFault("no/such-fault".into()))
        );
    }
}
