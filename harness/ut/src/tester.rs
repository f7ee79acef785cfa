//! The `UpperTester` trait: what the engine calls, whatever carries the commands.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::command::Command;
use crate::error::UtError;
use crate::event::Event;
use crate::protocol::Response;

/// A boxed future returned by [`UpperTester`] methods (keeps the trait object-safe).
pub type UtFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, UtError>> + Send + 'a>>;

/// A predicate over events, for [`UpperTester::wait_event`].
pub type EventPredicate<'a> = &'a (dyn Fn(&Event) -> bool + Send + Sync);

/// Drives a client under test. Implemented by [`crate::Adapter`] (process, TCP or in-memory
/// channel); other implementations (a manual mode) can plug in too.
pub trait UpperTester: Send {
    /// Sends a command and waits up to `timeout` for its response; events arriving meanwhile
    /// are queued for [`UpperTester::next_event`].
    fn command(&mut self, cmd: Command, timeout: Duration) -> UtFuture<'_, Response>;

    /// The oldest queued event, or the next one to arrive within `timeout`.
    fn next_event(&mut self, timeout: Duration) -> UtFuture<'_, Event>;

    /// The first event (queued or arriving within `timeout`) matching `pred`; events that do
    /// not match stay queued in order.
    fn wait_event<'a>(
        &'a mut self,
        pred: EventPredicate<'a>,
        timeout: Duration,
    ) -> UtFuture<'a, Event>;

    /// Asks the client to stop and waits up to `timeout` for it; kills a process that lingers.
    fn shutdown(&mut self, timeout: Duration) -> UtFuture<'_, ()>;
}
