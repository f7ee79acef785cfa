//! Transaction timers (RFC 3261 Table 4, RFC 6026 L and M): settings T1/T2/T4, an enum naming
//! each timer, and a table of deadlines indexed by that enum.

use std::time::{Duration, Instant};

/// Base timer values (RFC 3261 17.1.1.1 and Table 4). Callers scale them (a test uses T1 = 10ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// RTT estimate, default 500ms.
    pub t1: Duration,
    /// Longest retransmit interval for non-INVITE requests and INVITE responses, default 4s.
    pub t2: Duration,
    /// Longest time a message stays in the network, default 5s.
    pub t4: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl Timers {
    /// Every value multiplied by `factor` (the run's global deadline scale).
    pub fn scaled(self, factor: f64) -> Timers {
        let f = if factor.is_finite() && factor > 0.0 {
            factor
        } else {
            1.0
        };
        Timers {
            t1: self.t1.mul_f64(f),
            t2: self.t2.mul_f64(f),
            t4: self.t4.mul_f64(f),
        }
    }

    /// 64*T1: the transaction timeout (Timers B, F, H, J, L, M) and, scaled, Timer D (32s at the
    /// default T1).
    pub fn timeout(&self) -> Duration {
        self.t1 * 64
    }

    /// The 200ms after which an INVITE server transaction sends 100 Trying itself
    /// (RFC 3261 17.2.1), scaled with T1 (2/5 of T1).
    pub fn trying(&self) -> Duration {
        self.t1 * 2 / 5
    }
}

/// One transaction timer (RFC 3261 Table 4; L and M from RFC 6026; `Trying` for 17.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimerKind {
    /// INVITE request retransmit (UDP), starts at T1, doubles.
    A,
    /// INVITE transaction timeout, 64*T1.
    B,
    /// Wait time for response retransmits after a non-2xx final (UDP), 64*T1 (>= 32s default).
    D,
    /// Non-INVITE request retransmit (UDP), T1 doubling up to T2.
    E,
    /// Non-INVITE transaction timeout, 64*T1.
    F,
    /// INVITE response retransmit (UDP), T1 doubling up to T2.
    G,
    /// Wait time for ACK receipt, 64*T1.
    H,
    /// Wait time for ACK retransmits (UDP), T4.
    I,
    /// Wait time for non-INVITE request retransmits (UDP), 64*T1.
    J,
    /// Wait time for response retransmits (UDP), T4.
    K,
    /// RFC 6026: server INVITE Accepted state lifetime, 64*T1.
    L,
    /// RFC 6026: client INVITE Accepted state lifetime, 64*T1.
    M,
    /// RFC 3261 17.2.1: send 100 Trying if the TU has not answered within 200ms.
    Trying,
}

impl TimerKind {
    /// Every timer, in table order.
    pub const ALL: [TimerKind; 13] = [
        TimerKind::A,
        TimerKind::B,
        TimerKind::D,
        TimerKind::E,
        TimerKind::F,
        TimerKind::G,
        TimerKind::H,
        TimerKind::I,
        TimerKind::J,
        TimerKind::K,
        TimerKind::L,
        TimerKind::M,
        TimerKind::Trying,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// Deadlines of the running timers, one slot per [`TimerKind`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimerTable {
    slots: [Option<Instant>; 13],
}

impl TimerTable {
    /// Starts (or restarts) `kind` to fire at `at`.
    pub fn set(&mut self, kind: TimerKind, at: Instant) {
        if let Some(s) = self.slots.get_mut(kind.index()) {
            *s = Some(at);
        }
    }

    /// Stops `kind`.
    pub fn stop(&mut self, kind: TimerKind) {
        if let Some(s) = self.slots.get_mut(kind.index()) {
            *s = None;
        }
    }

    /// Stops every timer.
    pub fn stop_all(&mut self) {
        self.slots = [None; 13];
    }

    /// The deadline of `kind`, if running.
    pub fn get(&self, kind: TimerKind) -> Option<Instant> {
        self.slots.get(kind.index()).copied().flatten()
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<Instant> {
        self.slots.iter().flatten().min().copied()
    }

    /// Removes and returns the earliest timer that is due at `now`.
    pub fn pop_expired(&mut self, now: Instant) -> Option<TimerKind> {
        let kind = TimerKind::ALL
            .into_iter()
            .filter(|k| self.get(*k).is_some_and(|t| t <= now))
            .min_by_key(|k| self.get(*k))?;
        self.stop(kind);
        Some(kind)
    }
}
