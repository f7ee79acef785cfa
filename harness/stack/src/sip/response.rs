//! Building a response to a request (RFC 3261 8.2.6.2).

use cpmconf_codec::sip::{Message, StatusCode};

/// A response to `req` with `code`: Via (all values, in order), From, Call-ID and CSeq copied;
/// To copied, with `;tag=to_tag` added when it has no tag yet (8.2.6.2); Content-Length 0.
/// A 100 Trying also copies Timestamp (8.2.6.1).
pub fn response_to(req: &Message, code: StatusCode, to_tag: Option<&str>) -> Message {
    let mut resp = Message::response(code);
    for via in req.headers.get_all("Via") {
        resp.headers.push("Via", via.value);
    }
    if let Some(from) = req.header("From") {
        resp.headers.push("From", from);
    }
    if let Some(to) = req.header("To") {
        let to = match to_tag {
            Some(tag) if req.to_tag().is_none() => format!("{to};tag={tag}"),
            _ => to.to_owned(),
        };
        resp.headers.push("To", to);
    }
    for name in ["Call-ID", "CSeq"] {
        if let Some(v) = req.header(name) {
            resp.headers.push(name, v);
        }
    }
    if code == StatusCode::TRYING {
        if let Some(ts) = req.header("Timestamp") {
            resp.headers.push("Timestamp", ts);
        }
    }
    resp.headers.push("Content-Length", "0");
    resp
}
