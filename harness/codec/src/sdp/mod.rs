//! SDP (RFC 4566) with the MSRP (RFC 4975, 6135, 6714) and file-transfer (RFC 5547) attributes.

pub mod file;
pub mod line;
pub mod media;
pub mod offer;
pub mod session;

pub use file::{FileDate, FileRange, FileSelector};
pub use line::Line;
pub use media::{Direction, MediaDescription, MediaLine, Setup};
pub use offer::{chat_answer, chat_offer, file_answer, file_offer, FileAttributes, MsrpMedia};
pub use session::{Connection, Origin, SessionDescription};
