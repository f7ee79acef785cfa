//! The capture tap: every socket of the simulated network and of the reference client reports
//! what it sends and receives here, with time and both addresses.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// Transport of a wire event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// A UDP datagram.
    Udp,
    /// A TCP connection.
    Tcp,
}

/// What happened on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireEventKind {
    /// A TCP connection from `src` to `dst` was established (SYN, SYN-ACK, ACK in the pcap).
    TcpOpen,
    /// Bytes sent from `src` to `dst` (one UDP datagram, or a write on a TCP stream).
    Data(Vec<u8>),
    /// `src` closed its side of the TCP connection to `dst` (FIN in the pcap).
    TcpClose,
}

/// One observation: when, which transport, from where to where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireEvent {
    /// Wall-clock time of the observation.
    pub time: SystemTime,
    /// UDP or TCP.
    pub transport: Transport,
    /// The sender.
    pub src: SocketAddr,
    /// The receiver.
    pub dst: SocketAddr,
    /// What was observed.
    pub kind: WireEventKind,
}

/// A sink for wire events (the pcap writer implements it).
pub trait WireSink: Send {
    /// Called once per event, in order.
    fn on_event(&mut self, event: &WireEvent);
    /// Called when the capture ends; must leave any file whole.
    fn finish(&mut self) {}
}

struct Inner {
    events: Vec<WireEvent>,
    /// Whether events are kept in memory (for a live Trace) or only passed to the sinks.
    keep: bool,
    sinks: Vec<Box<dyn WireSink>>,
    finished: bool,
}

/// A cheap-to-clone handle that every socket reports to. Each event is kept in memory (for the
/// live Trace) and passed to every sink as it happens. Only the sending side of a connection
/// records an event, so each byte appears once.
#[derive(Clone)]
pub struct Tap {
    inner: Arc<Mutex<Inner>>,
}

impl Default for Tap {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Tap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tap").finish_non_exhaustive()
    }
}

impl Tap {
    /// A tap that only keeps events in memory.
    pub fn new() -> Self {
        Tap {
            inner: Arc::new(Mutex::new(Inner {
                events: Vec::new(),
                keep: true,
                sinks: Vec::new(),
                finished: false,
            })),
        }
    }

    /// A tap that keeps nothing in memory and only feeds its sinks (pcap, log): for
    /// long-running use such as `cpmconf serve`, whose memory must not grow with the traffic.
    /// [`Tap::events`] of such a tap is empty.
    pub fn streaming() -> Self {
        let tap = Self::new();
        tap.lock().keep = false;
        tap
    }

    /// Adds a sink that sees every later event.
    pub fn add_sink(&self, sink: Box<dyn WireSink>) {
        self.lock().sinks.push(sink);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic in one holder must not lose the capture for everyone else.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records one event.
    pub fn record(
        &self,
        transport: Transport,
        src: SocketAddr,
        dst: SocketAddr,
        kind: WireEventKind,
    ) {
        let event = WireEvent {
            time: SystemTime::now(),
            transport,
            src,
            dst,
            kind,
        };
        let mut inner = self.lock();
        if inner.finished {
            return;
        }
        for sink in inner.sinks.iter_mut() {
            sink.on_event(&event);
        }
        if inner.keep {
            inner.events.push(event);
        }
    }

    /// Records a UDP datagram.
    pub fn udp(&self, src: SocketAddr, dst: SocketAddr, bytes: &[u8]) {
        self.record(
            Transport::Udp,
            src,
            dst,
            WireEventKind::Data(bytes.to_vec()),
        );
    }

    /// Records a new TCP connection from `src` (the connecting side) to `dst`.
    pub fn tcp_open(&self, src: SocketAddr, dst: SocketAddr) {
        self.record(Transport::Tcp, src, dst, WireEventKind::TcpOpen);
    }

    /// Records bytes written on a TCP connection from `src` to `dst`.
    pub fn tcp_data(&self, src: SocketAddr, dst: SocketAddr, bytes: &[u8]) {
        self.record(
            Transport::Tcp,
            src,
            dst,
            WireEventKind::Data(bytes.to_vec()),
        );
    }

    /// Records that `src` closed its side of the connection to `dst`.
    pub fn tcp_close(&self, src: SocketAddr, dst: SocketAddr) {
        self.record(Transport::Tcp, src, dst, WireEventKind::TcpClose);
    }

    /// A copy of every event so far.
    pub fn events(&self) -> Vec<WireEvent> {
        self.lock().events.clone()
    }

    /// Ends the capture: every sink finishes (files are completed); later events are ignored.
    pub fn finish(&self) {
        let mut inner = self.lock();
        if inner.finished {
            return;
        }
        inner.finished = true;
        for sink in inner.sinks.iter_mut() {
            sink.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Count(std::sync::Arc<std::sync::atomic::AtomicUsize>);

    impl WireSink for Count {
        fn on_event(&mut self, _: &WireEvent) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[test]
    fn streaming_tap_feeds_sinks_and_keeps_nothing() {
        let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let a: SocketAddr = "127.0.0.1:1".parse().expect("addr");
        let b: SocketAddr = "127.0.0.1:2".parse().expect("addr");
        for (tap, kept) in [(Tap::new(), 3), (Tap::streaming(), 0)] {
            tap.add_sink(Box::new(Count(seen.clone())));
            tap.udp(a, b, b"x");
            tap.udp(b, a, b"y");
            tap.udp(a, b, b"z");
            assert_eq!(tap.events().len(), kept);
        }
        assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 6);
    }
}
