//! Property tests for CPIM: built messages round-trip through bytes; decoded input (near-valid:
//! corpus messages with a few byte edits, most of which still parse) re-encodes byte-exactly;
//! arbitrary bytes never panic.

mod support;

use cpmconf_codec::cpim::{self, Message, NameAddr};
use proptest::prelude::*;

/// Near-valid CPIM: one of the fixtures/cpim messages with 1 to 3 byte edits.
fn near_valid() -> impl Strategy<Value = Vec<u8>> {
    support::edited(
        support::corpus(
            "cpim",
            &[
                "rfc3862_5_1.cpim",
                "rfc5438_request.cpim",
                "rfc5438_delivery_notification.cpim",
                "alias_foo.cpim",
            ],
        ),
        3,
    )
}

/// A decoded message re-encodes to its input, and its accessors answer without panicking.
fn reencodes(bytes: &[u8]) -> Result<bool, TestCaseError> {
    let Ok(d) = cpim::parse(bytes) else {
        return Ok(false);
    };
    let again = d.value.to_bytes();
    prop_assert!(
        again == bytes,
        "re-encoded {:?}\nfrom input {:?}",
        String::from_utf8_lossy(&again),
        String::from_utf8_lossy(bytes)
    );
    let _ = d.value.from();
    let _ = d.value.to_all();
    let _ = d.value.disposition_notification();
    let _ = d.value.resolved();
    Ok(true)
}

/// The property below is worth something only if most near-valid inputs parse: a fixed sample of
/// 2000 (deterministic runner) must parse at least half the time, and every one that parses
/// re-encodes exactly.
#[test]
fn most_near_valid_messages_parse_and_reencode_exactly() {
    let n = 2000;
    let parsed = support::accepted(near_valid(), n, |b| match reencodes(b) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    });
    println!("{parsed}/{n} near-valid CPIM messages parse");
    assert!(
        parsed * 2 >= n,
        "only {parsed}/{n} near-valid messages parse"
    );
    assert!(
        parsed < n,
        "every edited message parses: the edits never break anything"
    );
}

fn name_addr() -> impl Strategy<Value = NameAddr> {
    (
        proptest::option::of("[A-Za-z][A-Za-z0-9 ,\"]{0,10}[A-Za-z0-9]"),
        "(sip|im|tel):[a-z0-9]{1,8}@[a-z]{1,8}\\.test",
    )
        .prop_map(|(display, uri)| NameAddr { display, uri })
}

fn message() -> impl Strategy<Value = Message> {
    (
        name_addr(),
        proptest::collection::vec(name_addr(), 1..3),
        proptest::option::of("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"),
        proptest::option::of("[A-Za-z0-9]{1,16}"),
        proptest::sample::subsequence(
            vec![
                "positive-delivery",
                "negative-delivery",
                "display",
                "processing",
            ],
            0..4,
        ),
        proptest::option::of("[a-z]{1,8}/[a-z+.-]{1,12}"),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(from, to, dt, id, disp, ct, body)| {
            let mut b = Message::builder().from(&from);
            for t in &to {
                b = b.to(t);
            }
            if let Some(dt) = &dt {
                b = b.datetime(dt);
            }
            if let Some(id) = &id {
                b = b.imdn_message_id(id);
            }
            if !disp.is_empty() {
                b = b.disposition_notification(&disp);
            }
            if let Some(ct) = &ct {
                b = b.content_type(ct);
            }
            b.body(body).build()
        })
}

proptest! {
    #[test]
    fn built_message_round_trips(msg in message()) {
        let bytes = msg.to_bytes();
        let decoded = cpim::parse(&bytes).expect("a built message decodes");
        let mut value = decoded.value;
        prop_assert_eq!(value.to_bytes(), bytes);
        value.canonicalize();
        prop_assert_eq!(&value, &msg);
        prop_assert_eq!(value.from(), msg.from());
        prop_assert_eq!(value.to_all(), msg.to_all());
        prop_assert_eq!(value.imdn_message_id(), msg.imdn_message_id());
        prop_assert_eq!(value.disposition_notification(), msg.disposition_notification());
    }

    #[test]
    fn near_valid_input_reencodes_exactly(bytes in near_valid()) {
        reencodes(&bytes)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        reencodes(&bytes)?;
    }

    #[test]
    fn header_shaped_text_never_panics(
        lines in proptest::collection::vec("[A-Za-z.]{0,6}(: ?)?[ -~]{0,12}", 0..8),
        sep in "(\r\n|\n)",
    ) {
        let text = lines.join(&sep) + &sep + &sep + "Content-Type: x/y" + &sep + &sep + "body";
        if let Ok(d) = cpim::parse(text.as_bytes()) {
            prop_assert_eq!(d.value.to_bytes(), text.as_bytes());
            let _ = d.value.resolved();
        }
    }
}
