//! Property tests for CPIM: built messages round-trip through bytes; decoded input re-encodes
//! byte-exactly; arbitrary bytes never panic.

use cpmconf_codec::cpim::{self, Message, NameAddr};
use proptest::prelude::*;

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
    fn arbitrary_bytes_never_panic_and_decoded_input_reencodes_exactly(
        bytes in proptest::collection::vec(any::<u8>(), 0..512)
    ) {
        if let Ok(d) = cpim::parse(&bytes) {
            prop_assert_eq!(d.value.to_bytes(), bytes);
            let _ = d.value.from();
            let _ = d.value.disposition_notification();
        }
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
