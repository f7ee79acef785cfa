//! Progress of a `parallel` / `any_order` group: messages and events arrive in any order, each
//! satisfies at most one pending item, and the group is done when every `expect` / `wait_for`
//! item is decided.

use crate::matcher::{check, check_event, is_candidate, refuses, MatchError, MatchOutcome};
use crate::observed::{MatchEnv, Observed};
use crate::scenario::GroupItem;

/// How an item of the group was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemState {
    /// Waiting (for `expect_none`: no violation so far).
    Pending,
    /// An `expect` / `wait_for` met by a message or event.
    Met(MatchOutcome),
    /// A `wait_for` whose event failed conditions, or an `expect` whose first candidate failed
    /// conditions (the expectation still takes a later message that fully meets it; until then
    /// this outcome is what the report shows as expected against seen).
    Failed(MatchOutcome),
    /// An `expect_none` that saw a forbidden message.
    Violated(MatchOutcome),
    /// An `expect: { status, answers }` whose transaction the client ended with another final
    /// status (the quote is that response): decided, it can no longer be met. Its one finding,
    /// if any, is a decline with another code ([`crate::matcher::declined_otherwise`]).
    Refused(MatchOutcome),
}

/// Which item a message or event was assigned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignment {
    /// Taken by item `i` (0-based) of the group.
    Item(usize),
    /// No pending item wanted it (the runner leaves it for later steps).
    Unclaimed,
}

/// The progress of one group.
#[derive(Debug, Clone)]
pub struct GroupProgress<'s> {
    items: &'s [GroupItem],
    states: Vec<ItemState>,
}

/// `true` while an `expect` item can still take a message: pending, or only a near miss so far.
fn open_expect(st: Option<&ItemState>) -> bool {
    matches!(st, Some(ItemState::Pending | ItemState::Failed(_)))
}

impl<'s> GroupProgress<'s> {
    /// Starts a group.
    pub fn new(items: &'s [GroupItem]) -> Self {
        GroupProgress {
            items,
            states: vec![ItemState::Pending; items.len()],
        }
    }

    /// Offers a message: `expect_none` items see every message; an open `expect` item takes it
    /// only when the message fully meets it.
    pub fn offer_message(
        &mut self,
        from_role: &str,
        to_role: &str,
        obs: Observed<'_>,
        env: &MatchEnv,
    ) -> Result<Assignment, MatchError> {
        for (i, item) in self.items.iter().enumerate() {
            if let (GroupItem::ExpectNone(e), Some(ItemState::Pending)) = (item, self.states.get(i))
            {
                if e.from == from_role
                    && e.to.as_deref().is_none_or(|t| t == to_role)
                    && is_candidate(e, obs, env)?
                {
                    let out = check(e, obs, env)?;
                    if out.matched() {
                        if let Some(s) = self.states.get_mut(i) {
                            *s = ItemState::Violated(out);
                        }
                    }
                }
            }
        }
        // A message is taken only by an item it fully meets (so the empty MSRP SEND that opens a
        // connection cannot take an item with `cpim` conditions, RFC 4975 7.1.1). A candidate
        // that meets no item stays unclaimed for later steps; it is recorded as the near miss
        // of the first open item that takes it as a candidate, shown if nothing better comes.
        let mut near_miss: Option<(usize, MatchOutcome)> = None;
        for (i, item) in self.items.iter().enumerate() {
            let GroupItem::Expect(e) = item else { continue };
            if !open_expect(self.states.get(i)) {
                continue;
            }
            if e.from != from_role || e.to.as_deref().is_some_and(|t| t != to_role) {
                continue;
            }
            if !is_candidate(e, obs, env)? {
                if refuses(e, obs, env)? {
                    if let Some(s) = self.states.get_mut(i) {
                        // Declined with another code: its status and the other conditions.
                        *s = ItemState::Refused(MatchOutcome {
                            findings: crate::matcher::declined_otherwise(e, obs, env)?
                                .unwrap_or_default(),
                            quote: obs.quote(),
                        });
                    }
                    return Ok(Assignment::Item(i));
                }
                continue;
            }
            let out = check(e, obs, env)?;
            if out.matched() {
                if let Some(s) = self.states.get_mut(i) {
                    *s = ItemState::Met(out);
                }
                return Ok(Assignment::Item(i));
            }
            if near_miss.is_none() && matches!(self.states.get(i), Some(ItemState::Pending)) {
                near_miss = Some((i, out));
            }
        }
        if let Some((i, out)) = near_miss {
            if let Some(s) = self.states.get_mut(i) {
                *s = ItemState::Failed(out);
            }
        }
        Ok(Assignment::Unclaimed)
    }

    /// Offers an upper-tester event to the first pending `wait_for` item of that name.
    pub fn offer_event(
        &mut self,
        event: &str,
        fields: &serde_json::Value,
        env: &MatchEnv,
    ) -> Result<Assignment, MatchError> {
        for (i, item) in self.items.iter().enumerate() {
            let GroupItem::WaitFor(w) = item else {
                continue;
            };
            if !matches!(self.states.get(i), Some(ItemState::Pending)) {
                continue;
            }
            if let Some(out) = check_event(w, event, fields, env)? {
                let state = if out.matched() {
                    ItemState::Met(out)
                } else {
                    ItemState::Failed(out)
                };
                if let Some(s) = self.states.get_mut(i) {
                    *s = state;
                }
                return Ok(Assignment::Item(i));
            }
        }
        Ok(Assignment::Unclaimed)
    }

    /// `true` when every `expect` item is met and every `wait_for` item decided (`expect_none`
    /// items stay pending until the group's window closes; an `expect` with only a near miss
    /// waits for the deadline).
    pub fn is_complete(&self) -> bool {
        self.items
            .iter()
            .zip(&self.states)
            .all(|(item, st)| match item {
                GroupItem::ExpectNone(_) => true,
                GroupItem::Expect(_) => matches!(st, ItemState::Met(_) | ItemState::Refused(_)),
                GroupItem::WaitFor(_) => !matches!(st, ItemState::Pending),
            })
    }

    /// The state of every item, in group order.
    pub fn states(&self) -> &[ItemState] {
        &self.states
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpmconf_codec::{msrp, sip};

    fn items() -> Vec<GroupItem> {
        serde_yaml::from_str(
            "- expect: { msrp: SEND }\n- expect: { sip: SUBSCRIBE, headers: { Event: conference } }\n- expect_none: { sip: BYE }\n",
        )
        .unwrap()
    }

    #[test]
    fn any_order_and_one_message_one_item() {
        let items = items();
        let mut g = GroupProgress::new(&items);
        let env = MatchEnv::default();
        let sub = sip::Message::parse(b"SUBSCRIBE sip:g1@cf.test SIP/2.0\r\nCall-ID: s\r\nCSeq: 1 SUBSCRIBE\r\nEvent: conference\r\nContent-Length: 0\r\n\r\n").unwrap().value;
        let send = msrp::Message::parse(b"MSRP t1 SEND\r\nTo-Path: msrp://127.0.0.1:1/a;tcp\r\nFrom-Path: msrp://127.0.0.1:2/b;tcp\r\nMessage-ID: m\r\n-------t1$\r\n").unwrap().value;
        assert_eq!(
            g.offer_message("client", "cf", Observed::Sip(&sub), &env)
                .unwrap(),
            Assignment::Item(1)
        );
        assert!(!g.is_complete());
        assert_eq!(
            g.offer_message("client", "cf", Observed::Sip(&sub), &env)
                .unwrap(),
            Assignment::Unclaimed
        );
        assert_eq!(
            g.offer_message("cf", "client", Observed::Msrp(&send), &env)
                .unwrap(),
            Assignment::Unclaimed
        );
        assert_eq!(
            g.offer_message("client", "cf", Observed::Msrp(&send), &env)
                .unwrap(),
            Assignment::Item(0)
        );
        assert!(g.is_complete());
        assert!(matches!(g.states()[2], ItemState::Pending));
        let bye = sip::Message::parse(
            b"BYE sip:g1@cf.test SIP/2.0\r\nCall-ID: s\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap()
        .value;
        g.offer_message("client", "cf", Observed::Sip(&bye), &env)
            .unwrap();
        assert!(matches!(g.states()[2], ItemState::Violated(_)));
    }
    #[test]
    fn a_message_goes_to_the_item_it_fully_meets_before_the_first_candidate() {
        let items: Vec<GroupItem> = serde_yaml::from_str(
            "- expect: { sip: MESSAGE, request_uri: \"sip:carol@test\" }\n- expect: { sip: MESSAGE, request_uri: \"sip:bob@test\" }\n",
        )
        .unwrap();
        let mut g = GroupProgress::new(&items);
        let env = MatchEnv::default();
        let to_bob = sip::Message::parse(b"MESSAGE sip:bob@test SIP/2.0\r\nCall-ID: m\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n").unwrap().value;
        assert_eq!(
            g.offer_message("client", "bob", Observed::Sip(&to_bob), &env)
                .unwrap(),
            Assignment::Item(1)
        );
        assert!(matches!(g.states()[1], ItemState::Met(_)));
        // With no item left that it meets, a candidate is left for later steps; it is the near
        // miss of the first open item, which a later message can still meet.
        assert_eq!(
            g.offer_message("client", "bob", Observed::Sip(&to_bob), &env)
                .unwrap(),
            Assignment::Unclaimed
        );
        assert!(matches!(g.states()[0], ItemState::Failed(_)));
        assert!(!g.is_complete());
        let to_carol = sip::Message::parse(b"MESSAGE sip:carol@test SIP/2.0\r\nCall-ID: n\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n").unwrap().value;
        assert_eq!(
            g.offer_message("client", "carol", Observed::Sip(&to_carol), &env)
                .unwrap(),
            Assignment::Item(0)
        );
        assert!(g.is_complete());
    }

    #[test]
    fn the_empty_binding_send_cannot_take_an_item_with_cpim_conditions() {
        let items: Vec<GroupItem> = serde_yaml::from_str(
            "- expect: { msrp: SEND, cpim: { Content: hi } }\n- expect: { sip: SUBSCRIBE }\n",
        )
        .unwrap();
        let mut g = GroupProgress::new(&items);
        let env = MatchEnv::default();
        // RFC 4975 7.1.1: the active endpoint's first SEND, Byte-Range 1-0/0, no body.
        let empty = msrp::Message::parse(b"MSRP t0 SEND\r\nTo-Path: msrp://127.0.0.1:1/a;tcp\r\nFrom-Path: msrp://127.0.0.1:2/b;tcp\r\nMessage-ID: m0\r\nByte-Range: 1-0/0\r\n-------t0$\r\n").unwrap().value;
        assert_eq!(
            g.offer_message("client", "bob", Observed::Msrp(&empty), &env)
                .unwrap(),
            Assignment::Unclaimed
        );
        assert!(matches!(g.states()[0], ItemState::Pending));
        let cpim = "From: <sip:alice@test>\r\nTo: <sip:bob@test>\r\n\r\nContent-Type: text/plain\r\n\r\nhi";
        let raw = format!("MSRP t1 SEND\r\nTo-Path: msrp://127.0.0.1:1/a;tcp\r\nFrom-Path: msrp://127.0.0.1:2/b;tcp\r\nMessage-ID: m1\r\nByte-Range: 1-{n}/{n}\r\nContent-Type: message/cpim\r\n\r\n{cpim}\r\n-------t1$\r\n", n = cpim.len());
        let full = msrp::Message::parse(raw.as_bytes()).unwrap().value;
        assert_eq!(
            g.offer_message("client", "bob", Observed::Msrp(&full), &env)
                .unwrap(),
            Assignment::Item(0)
        );
        assert!(matches!(g.states()[0], ItemState::Met(_)));
    }
}
