//! Transaction matching keys (RFC 3261 17.1.3 for responses, 17.2.3 for requests).

use cpmconf_codec::sip::{Message, Method};

/// The key of a transaction: the top Via branch and the method (ACK maps to INVITE on the
/// server side, since it belongs to the INVITE's transaction for non-2xx).
///
/// The sent-by of 17.2.3 is added for server transactions by [`crate::sip::router::ServerKey`];
/// RFC 2543 requests without the magic cookie are matched by branch as written (or fail to
/// match when they have none).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TransactionKey {
    /// Top Via branch.
    pub branch: String,
    /// CSeq method (responses) or request method; ACK stored as INVITE for server matching.
    pub method: Method,
}

impl TransactionKey {
    /// RFC 3261 17.1.3: the key a response matches a client transaction with (top Via branch and
    /// CSeq method).
    pub fn for_response(resp: &Message) -> Option<TransactionKey> {
        Some(TransactionKey {
            branch: resp.top_branch()?,
            method: resp.cseq_method()?,
        })
    }

    /// The key of a request this side sends (its own client transaction).
    pub fn for_client_request(req: &Message) -> Option<TransactionKey> {
        Some(TransactionKey {
            branch: req.top_branch()?,
            method: req.method()?.clone(),
        })
    }

    /// RFC 3261 17.2.3: the server transaction a received request belongs to; an ACK matches the
    /// INVITE transaction with the same branch.
    pub fn for_server_request(req: &Message) -> Option<TransactionKey> {
        Self::for_server_request_branch(req, &req.top_branch()?)
    }

    /// [`TransactionKey::for_server_request`] with the top Via's branch already at hand (one
    /// parse of the Via per received request); `None` for an empty branch.
    pub fn for_server_request_branch(req: &Message, branch: &str) -> Option<TransactionKey> {
        let method = match req.method()? {
            Method::Ack => Method::Invite,
            m => m.clone(),
        };
        (!branch.is_empty()).then(|| TransactionKey {
            branch: branch.to_owned(),
            method,
        })
    }
}
