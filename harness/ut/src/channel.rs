//! In-memory upper-tester transport: the in-process reference client receives typed
//! `Request`s and answers with typed `Response`s and `Event`s, no JSON involved.

use tokio::sync::mpsc;

use crate::driver::{Adapter, Inbound};
use crate::event::Event;
use crate::protocol::{AdapterMessage, Request, Response};

/// Capacity of each direction of a [`channel_pair`].
pub const CHANNEL_CAPACITY: usize = 1024;

/// The client's end of an in-memory upper tester.
#[derive(Debug)]
pub struct ClientEnd {
    requests: mpsc::Receiver<Request>,
    replies: mpsc::Sender<Inbound>,
}

/// Cloneable sender of events for the client's tasks (returned by [`ClientEnd::events`]).
#[derive(Debug, Clone)]
pub struct EventSender {
    replies: mpsc::Sender<Inbound>,
}

/// The harness was dropped: nobody is listening any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the harness end of the upper tester is gone")]
pub struct HarnessGone;

/// Builds an in-memory upper tester: the harness end is an ordinary [`Adapter`] (so the engine
/// drives every client the same way); the client end receives requests and answers them.
/// Dropping the client end looks to the harness like an adapter exit (`Crashed { status: None }`).
pub fn channel_pair() -> (Adapter, ClientEnd) {
    let (req_tx, req_rx) = mpsc::channel(CHANNEL_CAPACITY);
    let (rep_tx, rep_rx) = mpsc::channel(CHANNEL_CAPACITY);
    (
        Adapter::from_channel(req_tx, rep_rx),
        ClientEnd {
            requests: req_rx,
            replies: rep_tx,
        },
    )
}

impl ClientEnd {
    /// The next request; `None` once the harness end is dropped.
    pub async fn recv(&mut self) -> Option<Request> {
        self.requests.recv().await
    }

    /// Answers a request.
    pub async fn respond(&self, response: Response) -> Result<(), HarnessGone> {
        self.replies
            .send(Inbound::Message(AdapterMessage::Response(response)))
            .await
            .map_err(|_| HarnessGone)
    }

    /// Emits an event.
    pub async fn event(&self, event: Event) -> Result<(), HarnessGone> {
        self.replies
            .send(Inbound::Message(AdapterMessage::Event(event)))
            .await
            .map_err(|_| HarnessGone)
    }

    /// A sender for events from other tasks of the client.
    pub fn events(&self) -> EventSender {
        EventSender {
            replies: self.replies.clone(),
        }
    }
}

impl EventSender {
    /// Emits an event.
    pub async fn send(&self, event: Event) -> Result<(), HarnessGone> {
        self.replies
            .send(Inbound::Message(AdapterMessage::Event(event)))
            .await
            .map_err(|_| HarnessGone)
    }

    /// Emits an event without waiting (fails when the channel is full or closed).
    pub fn try_send(&self, event: Event) -> Result<(), HarnessGone> {
        self.replies
            .try_send(Inbound::Message(AdapterMessage::Event(event)))
            .map_err(|_| HarnessGone)
    }
}
