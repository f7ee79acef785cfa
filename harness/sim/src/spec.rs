//! What the scenario engine asks the sim to send: request and response specifications, bodies
//! (SDP offers for chat, group, large message and file transfer; CPIM; raw), and the ids
//! returned for later reference.

use cpmconf_codec::cpim;
use cpmconf_codec::sdp::{Direction, FileAttributes};
use cpmconf_codec::sip::Method;
use cpmconf_codec::xml::imdn::{Imdn, NotificationKind, Status as ImdnStatus};
use cpmconf_codec::xml::iscomposing::{IsComposing, State as ComposingState};

/// An isComposing body (RFC 3994), sent bare in a 1-1 session or wrapped in CPIM in a group.
pub fn is_composing(active: bool) -> Vec<u8> {
    let state = if active {
        ComposingState::Active
    } else {
        ComposingState::Idle
    };
    let mut c = IsComposing::new(state);
    c.contenttype = Some("text/plain".into());
    c.refresh = active.then_some(60);
    c.to_xml().into_bytes()
}

/// Id of a request the sim sent; its responses carry it in
/// [`crate::ObservedKind::SipResponse::to_request`].
pub type RequestId = u64;
/// Id of a dialog the sim holds (as UAS or UAC).
pub type DialogHandle = u64;
/// Id of an MSRP session of the sim.
pub type SessionId = u64;

/// What kind of MSRP SDP offer to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferKind {
    /// 1-1 chat: accept-types message/cpim and isComposing, wrapped text/plain and IMDN.
    Chat,
    /// Group chat: accept-types message/cpim, wrapped text/plain, isComposing and IMDN.
    Group,
    /// Large message mode: accept-types message/cpim (sender side is sendonly).
    LargeMsg,
    /// File transfer (RFC 5547) with these attributes.
    File(Box<FileAttributes>),
}

/// An MSRP SDP offer the sim writes with its role's own MSRP endpoint in `a=path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdpOffer {
    /// Offer kind.
    pub kind: OfferKind,
    /// Direction attribute.
    pub direction: Direction,
}

impl SdpOffer {
    /// A sendrecv chat offer.
    pub fn chat() -> SdpOffer {
        SdpOffer {
            kind: OfferKind::Chat,
            direction: Direction::SendRecv,
        }
    }
}

/// The DateTime of every CPIM message the sim writes unless a scenario sets one.
pub const DATETIME: &str = "2026-11-27T10:00:00.000Z";

/// A CPIM message to build (RFC 3862, IMDN headers of RFC 5438).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpimSpec {
    /// CPIM From URI.
    pub from: String,
    /// CPIM To URI.
    pub to: String,
    /// `imdn.Message-ID` (derived from the content when `None`).
    pub message_id: Option<String>,
    /// `imdn.Disposition-Notification` values (omitted when empty).
    pub dispositions: Vec<String>,
    /// DateTime ([`DATETIME`] when `None`).
    pub datetime: Option<String>,
    /// Inner Content-Type.
    pub content_type: String,
    /// Inner Content-Disposition (`notification` for an IMDN).
    pub content_disposition: Option<String>,
    /// Inner content.
    pub body: Vec<u8>,
}

impl CpimSpec {
    /// A text/plain chat message.
    pub fn text(from: &str, to: &str, text: &str) -> CpimSpec {
        CpimSpec {
            from: from.into(),
            to: to.into(),
            message_id: None,
            dispositions: Vec::new(),
            datetime: Some(DATETIME.into()),
            content_type: "text/plain;charset=UTF-8".into(),
            content_disposition: None,
            body: text.as_bytes().to_vec(),
        }
    }

    /// An IMDN (RFC 5438) for `message_id` from `from` to `to`, as CPIM with
    /// `Content-Disposition: notification` (wire-facts 6).
    pub fn imdn(
        from: &str,
        to: &str,
        message_id: &str,
        kind: NotificationKind,
        status: ImdnStatus,
    ) -> CpimSpec {
        let imdn = Imdn::new(message_id, "2026-11-27T10:00:01.000Z", kind, status);
        CpimSpec {
            from: from.into(),
            to: to.into(),
            message_id: Some(format!("imdn-{message_id}")),
            dispositions: Vec::new(),
            datetime: Some("2026-11-27T10:00:01.000Z".into()),
            content_type: "message/imdn+xml".into(),
            content_disposition: Some("notification".into()),
            body: imdn.to_xml().into_bytes(),
        }
    }

    /// The encoded CPIM message. As an originating client writes it (RFC 5438 6.3), it always
    /// carries an `imdn.Message-ID` and a DateTime: when the spec names none, the id is derived
    /// from the content and the DateTime is the suite's fixed instant.
    pub fn to_bytes(&self) -> Vec<u8> {
        let datetime = self.datetime.as_deref().unwrap_or(DATETIME);
        let message_id = match &self.message_id {
            Some(id) => id.clone(),
            None => crate::stimulus::derived_id(
                "imdn",
                [
                    &self.from,
                    &self.to,
                    datetime,
                    &String::from_utf8_lossy(&self.body),
                ]
                .join("\n")
                .as_bytes(),
                16,
            ),
        };
        let b = cpim::Builder::new()
            .from(&cpim::NameAddr::uri(self.from.clone()))
            .to(&cpim::NameAddr::uri(self.to.clone()));
        let mut b = b.datetime(datetime).imdn_message_id(&message_id);
        if !self.dispositions.is_empty() {
            let d: Vec<&str> = self.dispositions.iter().map(String::as_str).collect();
            b = b.disposition_notification(&d);
        }
        b = b.content_type(&self.content_type);
        if let Some(cd) = &self.content_disposition {
            b = b.content_header("Content-Disposition", cd);
        }
        b.body(self.body.clone()).build().to_bytes()
    }
}

/// A request or response body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Body {
    /// No body.
    #[default]
    None,
    /// An MSRP SDP offer (requests) or answer (responses: the offer's kind and direction are
    /// derived from the request, this value's direction is ignored).
    Sdp(SdpOffer),
    /// `message/cpim`.
    Cpim(CpimSpec),
    /// Anything else, as given.
    Raw {
        /// Content-Type.
        content_type: String,
        /// Bytes.
        bytes: Vec<u8>,
    },
}

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A registered user (AOR, e.g. `sip:alice@cpm.test`): Request-URI is its contact, the
    /// request goes over the flow it registered from.
    Aor(String),
    /// Within a dialog the sim holds.
    Dialog(DialogHandle),
}

/// A request the engine makes a role send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSpec {
    /// Method.
    pub method: Method,
    /// Target.
    pub target: Target,
    /// From URI (out of dialog); `None`: the role's identity.
    pub from: Option<String>,
    /// Extra header fields, in order (Accept-Contact, Conversation-ID, Reason, Event, ...).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Body,
    /// Contact value, e.g. `<sip:conf-f2@cf.test>;isfocus`; `None`: the role's default.
    pub contact: Option<String>,
}

impl RequestSpec {
    /// An out-of-dialog request to `aor` with no headers and no body.
    pub fn to_aor(method: Method, aor: &str) -> RequestSpec {
        RequestSpec {
            method,
            target: Target::Aor(aor.into()),
            from: None,
            headers: Vec::new(),
            body: Body::None,
            contact: None,
        }
    }

    /// An in-dialog request.
    pub fn in_dialog(method: Method, dialog: DialogHandle) -> RequestSpec {
        RequestSpec {
            method,
            target: Target::Dialog(dialog),
            from: None,
            headers: Vec::new(),
            body: Body::None,
            contact: None,
        }
    }

    /// Adds a header (builder style).
    pub fn header(mut self, name: &str, value: &str) -> RequestSpec {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body (builder style).
    pub fn body(mut self, body: Body) -> RequestSpec {
        self.body = body;
        self
    }
}

/// How the sim answers a request the engine holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResponseSpec {
    /// Extra header fields.
    pub headers: Vec<(String, String)>,
    /// Body; [`Body::Sdp`] answers the request's MSRP offer with the role's endpoint and sets
    /// up the MSRP session.
    pub body: Body,
    /// Contact value (2xx to INVITE/SUBSCRIBE); `None`: the role's default.
    pub contact: Option<String>,
    /// Reason phrase; `None`: the code's usual one.
    pub reason: Option<String>,
}

/// What [`crate::Network::send_request`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentRequest {
    /// Id of the request; responses name it.
    pub id: RequestId,
    /// Its Call-ID.
    pub call_id: String,
    /// Its method.
    pub method: Method,
    /// The request as sent (Via, Max-Forwards, Content-Length filled in).
    pub request: cpmconf_codec::sip::Message,
}
