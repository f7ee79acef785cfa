//! Deferred group delivery bookkeeping (7.3.12 c): once the deferred messages stop arriving and
//! the user has nothing to send, the client leaves the delivery session.

use crate::core::{Core, TimerKind};
use crate::state::SessionKind;

impl Core {
    /// (Re)starts the idle timer of a deferred session after MSRP traffic.
    pub fn rearm_deferred_idle(&mut self, handle: &str) {
        let Some(s) = self.sessions.get(handle) else {
            return;
        };
        if !(s.deferred && s.kind == SessionKind::IncomingGroup) {
            return;
        }
        self.deferred_generation += 1;
        let generation = self.deferred_generation;
        // Fault 7.3.12/terminate-after-delivery: leave as soon as a deferred message was
        // delivered (its IMDN out), without waiting for the Participant Information (7.3.12 c i orders the BYE
        // after both).
        let delivered = self
            .received
            .values()
            .any(|r| r.session.as_deref() == Some(handle));
        let idle = if delivered && self.faults.has("7.3.12/terminate-after-delivery") {
            std::time::Duration::ZERO
        } else {
            self.cfg.timers.deferred_idle
        };
        self.arm(
            idle,
            TimerKind::DeferredIdle {
                handle: handle.to_owned(),
                generation,
            },
        );
    }

    /// 7.3.12 c i: terminate the delivery session once Participant Information arrived and the
    /// IMDNs were sent, if the user has nothing to send.
    pub fn on_deferred_idle(&mut self, handle: &str, generation: u64) {
        if generation != self.deferred_generation {
            return;
        }
        let Some(s) = self.sessions.get(handle) else {
            return;
        };
        if !(s.deferred && s.kind == SessionKind::IncomingGroup) || s.user_chatted {
            return;
        }
        // 7.3.12/terminate-after-delivery: with the fault, leave without waiting for it.
        if self.policy.wait_participant_info_before_leaving
            && !s.participant_info_seen
            && !self.faults.has("7.3.12/terminate-after-delivery")
        {
            return;
        }
        self.end_session(handle, Some("deferred delivery done".into()), false, true);
    }
}
