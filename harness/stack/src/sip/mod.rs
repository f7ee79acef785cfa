//! SIP stack (RFC 3261): sans-IO transactions and dialogs, a tokio UDP/TCP transport, and the
//! [`SipEndpoint`] that the simulated network and the reference client use.
pub mod dialog;
pub mod endpoint;
pub mod error;
pub mod fields;
pub mod framing;
pub mod response;
pub mod router;
pub mod transaction;
pub mod transport;
pub use cpmconf_capture::Transport;
pub use dialog::{Dialog, DialogError, DialogId, DialogState};
pub use endpoint::{ClientTx, EndpointConfig, Retained, ServerTx, SipEndpoint};
pub use error::{StackError, StackEvent};
pub use response::response_to;
pub use transaction::{TimerKind, Timers};
