//! Builders for MSRP chat and file-transfer SDP offers and answers (RFC 4975 section 8, RFC 6135,
//! RFC 5547 section 8, wire-facts section 5).

use super::file::{FileDate, FileRange, FileSelector};
use super::media::{Direction, MediaDescription, MediaLine, Setup};
use super::session::{Connection, Origin, SessionDescription};
use crate::msrp::uri::path_to_string;
use crate::msrp::MsrpUri;

/// The MSRP media parameters of one side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsrpMedia {
    /// Address for `c=`.
    pub address: String,
    /// Port for `m=` (9 when the side is active, RFC 6135, is common).
    pub port: u16,
    /// `a=path`.
    pub path: Vec<MsrpUri>,
    /// `a=setup`; the builders set it for offers and answers.
    pub setup: Setup,
    /// `a=accept-types`.
    pub accept_types: Vec<String>,
    /// `a=accept-wrapped-types` (omitted when empty).
    pub accept_wrapped_types: Vec<String>,
    /// A direction attribute to write, if any.
    pub direction: Option<Direction>,
    /// `a=max-size`.
    pub max_size: Option<u64>,
    /// `a=msrp-cema` (RFC 6714).
    pub cema: bool,
}

impl MsrpMedia {
    /// One-to-one chat media (wire-facts 5): accept-types message/cpim and isComposing, wrapped
    /// text/plain and IMDN, sendrecv, setup actpass.
    pub fn chat(address: &str, port: u16, path: Vec<MsrpUri>) -> MsrpMedia {
        MsrpMedia {
            address: address.to_owned(),
            port,
            path,
            setup: Setup::ActPass,
            accept_types: vec![
                "message/cpim".into(),
                "application/im-iscomposing+xml".into(),
            ],
            accept_wrapped_types: vec!["text/plain".into(), "message/imdn+xml".into()],
            direction: Some(Direction::SendRecv),
            max_size: None,
            cema: false,
        }
    }

    /// The proto for the path's scheme: `TCP/TLS/MSRP` for msrps, else `TCP/MSRP`.
    fn proto(&self) -> &'static str {
        if self.path.first().is_some_and(|u| u.secure) {
            "TCP/TLS/MSRP"
        } else {
            "TCP/MSRP"
        }
    }

    /// The `m=message` media description.
    pub fn to_media(&self) -> MediaDescription {
        let ml = MediaLine {
            media: "message".into(),
            port: self.port,
            port_count: None,
            proto: self.proto().into(),
            formats: vec!["*".into()],
        };
        let mut m = MediaDescription::new(&ml)
            .with_line('c', Connection::value_for(&self.address))
            .with_attr("path", Some(&path_to_string(&self.path)))
            .with_attr("setup", Some(self.setup.as_str()))
            .with_attr("accept-types", Some(&self.accept_types.join(" ")));
        if !self.accept_wrapped_types.is_empty() {
            m = m.with_attr(
                "accept-wrapped-types",
                Some(&self.accept_wrapped_types.join(" ")),
            );
        }
        if let Some(d) = self.direction {
            m = m.with_attr(d.as_str(), None);
        }
        if let Some(s) = self.max_size {
            m = m.with_attr("max-size", Some(&s.to_string()));
        }
        if self.cema {
            m = m.with_attr("msrp-cema", None);
        }
        m
    }
}

/// The RFC 5547 attributes of a file transfer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileAttributes {
    /// `a=file-selector`.
    pub selector: FileSelector,
    /// `a=file-transfer-id`.
    pub transfer_id: String,
    /// `a=file-disposition`.
    pub disposition: Option<String>,
    /// `a=file-date`.
    pub date: Option<FileDate>,
    /// `a=file-icon`.
    pub icon: Option<String>,
    /// `a=file-range` (resume).
    pub range: Option<FileRange>,
}

impl FileAttributes {
    fn add_to(&self, mut m: MediaDescription) -> MediaDescription {
        m = m
            .with_attr("file-selector", Some(&self.selector.to_string()))
            .with_attr("file-transfer-id", Some(&self.transfer_id));
        if let Some(d) = &self.disposition {
            m = m.with_attr("file-disposition", Some(d));
        }
        if let Some(d) = &self.date {
            m = m.with_attr("file-date", Some(&d.to_string()));
        }
        if let Some(i) = &self.icon {
            m = m.with_attr("file-icon", Some(i));
        }
        if let Some(r) = &self.range {
            m = m.with_attr("file-range", Some(&r.to_string()));
        }
        m
    }
}

/// The setup an answerer picks for an offered setup (RFC 6135 / RFC 4145 4.1): active for
/// actpass or passive, passive for active.
pub fn answer_setup(offered: Option<Setup>) -> Setup {
    match offered {
        Some(Setup::Active) => Setup::Passive,
        _ => Setup::Active,
    }
}

fn session(origin: &Origin, media: MediaDescription) -> SessionDescription {
    SessionDescription::new(origin, "-").with_media(media)
}

/// A chat offer: `media` with setup actpass.
pub fn chat_offer(origin: &Origin, media: &MsrpMedia) -> SessionDescription {
    let mut m = media.clone();
    m.setup = Setup::ActPass;
    session(origin, m.to_media())
}

/// A chat answer to `offer`: `media` with the setup picked by [`answer_setup`].
pub fn chat_answer(
    origin: &Origin,
    offer: &SessionDescription,
    media: &MsrpMedia,
) -> SessionDescription {
    let mut m = media.clone();
    m.setup = answer_setup(offer.msrp_media().and_then(|x| x.setup()));
    session(origin, m.to_media())
}

/// A file-transfer offer (RFC 5547 8.1): `media` with setup actpass and the file attributes;
/// sendonly (a push) unless `media` says recvonly (a pull, or a resume request of the original
/// receiver, RFC 5547 8.1 and 9).
pub fn file_offer(origin: &Origin, media: &MsrpMedia, file: &FileAttributes) -> SessionDescription {
    let mut m = media.clone();
    m.setup = Setup::ActPass;
    m.direction = Some(match media.direction {
        Some(Direction::RecvOnly) => Direction::RecvOnly,
        _ => Direction::SendOnly,
    });
    session(origin, file.add_to(m.to_media()))
}

/// A file-transfer answer (RFC 5547 8.2): the reverse direction of the offer, setup by
/// [`answer_setup`], the offer's file-selector and file-transfer-id echoed, and `range`
/// as `a=file-range` when resuming.
pub fn file_answer(
    origin: &Origin,
    offer: &SessionDescription,
    media: &MsrpMedia,
    range: Option<FileRange>,
) -> SessionDescription {
    let om = offer.msrp_media();
    let mut m = media.clone();
    m.setup = answer_setup(om.and_then(|x| x.setup()));
    m.direction = Some(
        om.map(|x| offer.effective_direction(x).reversed())
            .unwrap_or(Direction::RecvOnly),
    );
    let mut md = m.to_media();
    if let Some(om) = om {
        if let Some(sel) = om.attr("file-selector") {
            md = md.with_attr("file-selector", Some(sel));
        }
        if let Some(id) = om.file_transfer_id() {
            md = md.with_attr("file-transfer-id", Some(id));
        }
    }
    if let Some(r) = range {
        md = md.with_attr("file-range", Some(&r.to_string()));
    }
    session(origin, md)
}
