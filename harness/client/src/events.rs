//! Where the client's upper-tester events go: the in-memory channel of `cpmconf_ut` or a plain
//! channel read by the JSON-lines adapter.

use cpmconf_ut::{Event, EventSender};
use tokio::sync::mpsc;

/// An event destination.
#[derive(Debug, Clone)]
pub(crate) enum EventSink {
    /// The client end of an in-memory upper tester.
    Ut(EventSender),
    /// A plain channel.
    Chan(mpsc::UnboundedSender<Event>),
}

impl EventSink {
    /// Sends without waiting; a vanished harness is ignored.
    pub fn send(&self, event: Event) {
        match self {
            EventSink::Ut(s) => {
                let _ = s.try_send(event);
            }
            EventSink::Chan(c) => {
                let _ = c.send(event);
            }
        }
    }
}
