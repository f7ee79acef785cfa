//! What the client remembers: sessions (chat, group, large message, file transfer, deferred),
//! received messages awaiting a display notification, and files for resume.

use std::sync::Arc;

use cpmconf_codec::msrp::MsrpUri;
use cpmconf_codec::sdp::Direction;
use cpmconf_codec::sip::Message;
use cpmconf_stack::sip::{Dialog, ServerTx};
use tokio::sync::{mpsc, oneshot};

use crate::media::MediaCmd;

/// What a session is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionKind {
    /// 1-1 chat.
    Chat,
    /// Ad-hoc group through the conference factory (7.3.1.2).
    AdhocGroup,
    /// Pre-defined group (7.3.1.3).
    PredefinedGroup,
    /// Re-join of a long-lived group (7.3.1.5).
    Rejoin,
    /// A group session the network invited us into (7.3.2 / 7.3.12).
    IncomingGroup,
    /// Deferred 1-1 delivery from the CPMDeferredMgmtURI (7.3.11).
    Deferred1to1,
    /// Large message mode, sending.
    LargeOut,
    /// Large message mode, receiving.
    LargeIn,
    /// File transfer, sending (or resuming as original sender).
    FileOut,
    /// File transfer, receiving (or resuming as original receiver).
    FileIn,
}

impl SessionKind {
    /// A group session.
    pub fn is_group(self) -> bool {
        matches!(
            self,
            SessionKind::AdhocGroup
                | SessionKind::PredefinedGroup
                | SessionKind::Rejoin
                | SessionKind::IncomingGroup
        )
    }
}

/// A chat message waiting for the media plane.
#[derive(Debug, Clone)]
pub(crate) struct PendingOut {
    pub content_type: String,
    pub body: Vec<u8>,
}

/// The conference subscription of a group session.
#[derive(Debug)]
pub(crate) struct ConfSubscription {
    pub call_id: String,
    pub dialog: Option<Dialog>,
    pub active: bool,
    /// The initial SUBSCRIBE (to build the dialog from its 200).
    pub request: Option<Message>,
}

/// One session.
pub(crate) struct Session {
    /// The handle the user knows (kept for debugging output).
    #[allow(dead_code)]
    pub handle: String,
    pub kind: SessionKind,
    pub outgoing: bool,
    /// The peer (1-1) or the address the INVITE went to / came from.
    pub peer: String,
    /// Pre-defined group address (CPIM To of 7.3.9.1 c) or the re-join target.
    pub group_uri: Option<String>,
    /// CPM Group Session Identity (the focus Contact of the 200 / of the incoming INVITE).
    pub identity: Option<String>,
    pub conversation_id: String,
    pub contribution_id: String,
    /// Our INVITE as built (before the stack completed it).
    pub invite: Option<Message>,
    /// Asks the INVITE's transaction task to CANCEL.
    pub cancel: Option<oneshot::Sender<()>>,
    /// The pending incoming INVITE.
    pub incoming: Option<Arc<ServerTx>>,
    pub dialog: Option<Dialog>,
    pub local_path: Vec<MsrpUri>,
    pub media: Option<mpsc::UnboundedSender<MediaCmd>>,
    pub pending_out: Vec<PendingOut>,
    /// Direction the peer offered (incoming) or answered (outgoing).
    pub remote_direction: Direction,
    /// Deferred delivery (7.3.11 / 7.3.12).
    pub deferred: bool,
    pub conf: Option<ConfSubscription>,
    /// The user sent something into this session (7.3.1.5.1 d / 7.3.12 d).
    pub user_chatted: bool,
    /// Participant Information arrived over MSRP (7.3.12 b i).
    pub participant_info_seen: bool,
    /// File transfer record.
    pub transfer: Option<String>,
    pub established: bool,
    /// Our re-join INVITE lost the race to an incoming one (7.3.1.5.1): ACK+BYE a late 200.
    pub superseded: bool,
    /// +sip.instance of the peer's Contact (6.1.1 / 6.1.2).
    pub remote_instance: Option<String>,
    /// Outgoing file: the MSRP Message-ID and how many chunk responses complete it.
    pub file_msg: Option<(String, usize)>,
    pub responses_seen: usize,
    /// Text to send once the session is up.
    pub first_text: Option<String>,
    /// Participants of an ad-hoc invitation (for the resource list).
    pub participants: Vec<String>,
    /// This session came from an incoming INVITE that won the re-join race (7.3.1.5.1).
    pub via_race: bool,
    /// Large message mode: the CPIM message to send once MSRP is up.
    pub large_body: Option<Vec<u8>>,
    /// File transfer: the 1-based first byte of this session's transfer (resume).
    pub resume_start: u64,
}

impl Session {
    /// A blank session.
    pub fn new(handle: String, kind: SessionKind, peer: String) -> Session {
        Session {
            handle,
            kind,
            outgoing: true,
            peer,
            group_uri: None,
            identity: None,
            conversation_id: String::new(),
            contribution_id: String::new(),
            invite: None,
            cancel: None,
            incoming: None,
            dialog: None,
            local_path: Vec::new(),
            media: None,
            pending_out: Vec::new(),
            remote_direction: Direction::SendRecv,
            deferred: false,
            conf: None,
            user_chatted: false,
            participant_info_seen: false,
            transfer: None,
            established: false,
            superseded: false,
            remote_instance: None,
            file_msg: None,
            responses_seen: 0,
            first_text: None,
            participants: Vec::new(),
            via_race: false,
            large_body: None,
            resume_start: 1,
        }
    }
}

/// A received message, for display notifications.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    /// CPIM From URI (the originator).
    pub from: String,
    /// Session it arrived in (None: SIP MESSAGE).
    pub session: Option<String>,
    /// `display` was requested.
    pub display_requested: bool,
    /// Already notified.
    pub display_sent: bool,
}

/// A file sent or received, for resume (7.4.5).
#[derive(Debug, Clone)]
pub(crate) struct FileRecord {
    pub transfer_id: String,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    /// The content (whole for a sent file; received bytes so far for an incoming one).
    pub content: Vec<u8>,
    /// Bytes transferred so far (7.4.5 track-transferred-bytes).
    pub bytes_done: u64,
    /// We were the original sender.
    pub we_sent: bool,
    /// The other side.
    pub peer: String,
    /// The other side's device (+sip.instance), when it was given.
    pub peer_instance: Option<String>,
    /// The file-transfer-id attribute of the original offer.
    pub sdp_transfer_id: String,
    pub completed: bool,
}
