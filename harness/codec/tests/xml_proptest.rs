//! Property tests for the XML bodies: typed value -> to_xml -> parse gives the same value;
//! arbitrary bytes never panic any parser.

use cpmconf_codec::xml::conference_info::{
    ConferenceInfo, Description, ElementState, Endpoint, ExecutionInfo, User,
};
use cpmconf_codec::xml::imdn::{Imdn, NotificationKind, Status};
use cpmconf_codec::xml::iscomposing::{IsComposing, State};
use cpmconf_codec::xml::reginfo::{Contact, Reginfo, Registration};
use cpmconf_codec::xml::resource_lists::{CopyControl, Entry, List, ResourceLists};
use cpmconf_codec::xml::{self, conference_info, imdn, iscomposing, reginfo, resource_lists};
use proptest::prelude::*;

/// Text that survives XML trimming: no outer whitespace, markup characters included.
fn text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9:@.<>&\"'_;=/-]([A-Za-z0-9:@.<>&\"' _;=/-]{0,16}[A-Za-z0-9:@.<>&\"'_;=/-])?"
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(text())
}

fn imdn_value() -> impl Strategy<Value = Imdn> {
    let kind_status = prop_oneof![
        Just((NotificationKind::Delivery, Status::Delivered)),
        Just((NotificationKind::Delivery, Status::Failed)),
        Just((NotificationKind::Delivery, Status::Forbidden)),
        Just((NotificationKind::Delivery, Status::Error)),
        Just((NotificationKind::Display, Status::Displayed)),
        Just((NotificationKind::Display, Status::Error)),
        Just((NotificationKind::Processing, Status::Processed)),
        Just((NotificationKind::Processing, Status::Stored)),
        Just((NotificationKind::Processing, Status::Forbidden)),
    ];
    (
        text(),
        text(),
        opt_text(),
        opt_text(),
        opt_text(),
        kind_status,
    )
        .prop_map(
            |(
                message_id,
                datetime,
                recipient_uri,
                original_recipient_uri,
                subject,
                (kind, status),
            )| {
                Imdn {
                    message_id,
                    datetime,
                    recipient_uri,
                    original_recipient_uri,
                    subject,
                    kind,
                    status,
                }
            },
        )
}

fn state() -> impl Strategy<Value = ElementState> {
    prop_oneof![
        Just(ElementState::Full),
        Just(ElementState::Partial),
        Just(ElementState::Deleted)
    ]
}

fn info() -> impl Strategy<Value = Option<ExecutionInfo>> {
    proptest::option::of(
        (opt_text(), opt_text(), opt_text()).prop_map(|(when, reason, by)| ExecutionInfo {
            when,
            reason,
            by,
        }),
    )
}

fn endpoint() -> impl Strategy<Value = Endpoint> {
    (
        opt_text(),
        proptest::option::of(state()),
        opt_text(),
        opt_text(),
        opt_text(),
        info(),
        opt_text(),
        info(),
    )
        .prop_map(
            |(
                entity,
                state,
                display_text,
                status,
                joining_method,
                joining_info,
                disconnection_method,
                disconnection_info,
            )| Endpoint {
                entity,
                state,
                display_text,
                status,
                joining_method,
                joining_info,
                disconnection_method,
                disconnection_info,
            },
        )
}

fn user() -> impl Strategy<Value = User> {
    (
        opt_text(),
        proptest::option::of(state()),
        opt_text(),
        proptest::collection::vec(text(), 0..3),
        proptest::collection::vec(endpoint(), 0..3),
    )
        .prop_map(|(entity, state, display_text, roles, endpoints)| User {
            entity,
            state,
            display_text,
            roles,
            endpoints,
        })
}

fn conference() -> impl Strategy<Value = ConferenceInfo> {
    (
        text(),
        state(),
        proptest::option::of(any::<u32>()),
        proptest::option::of(
            (
                opt_text(),
                opt_text(),
                opt_text(),
                proptest::option::of(any::<u32>()),
            )
                .prop_map(|(display_text, subject, free_text, maximum_user_count)| {
                    Description {
                        display_text,
                        subject,
                        free_text,
                        maximum_user_count,
                    }
                }),
        ),
        proptest::option::of(any::<u32>()),
        proptest::collection::vec(user(), 0..4),
    )
        .prop_map(
            |(entity, state, version, description, user_count, users)| ConferenceInfo {
                entity,
                state,
                version,
                description,
                user_count,
                users,
            },
        )
}

fn lists() -> impl Strategy<Value = ResourceLists> {
    let cc = proptest::option::of(prop_oneof![
        Just(CopyControl::To),
        Just(CopyControl::Cc),
        Just(CopyControl::Bcc)
    ]);
    let entry = (text(), opt_text(), cc, proptest::option::of(any::<bool>())).prop_map(
        |(uri, display_name, copy_control, anonymize)| Entry {
            uri,
            display_name,
            copy_control,
            anonymize,
        },
    );
    let list = (
        opt_text(),
        opt_text(),
        proptest::collection::vec(entry, 0..5),
    )
        .prop_map(|(name, display_name, entries)| List {
            name,
            display_name,
            entries,
        });
    proptest::collection::vec(list, 0..3).prop_map(|lists| ResourceLists { lists })
}

fn reginfo_value() -> impl Strategy<Value = Reginfo> {
    let contact = (
        text(),
        text(),
        text(),
        proptest::option::of(any::<u32>()),
        text(),
    )
        .prop_map(|(id, state, event, expires, uri)| Contact {
            id,
            state,
            event,
            expires,
            uri,
        });
    let reg = (
        text(),
        text(),
        text(),
        proptest::collection::vec(contact, 0..3),
    )
        .prop_map(|(aor, id, state, contacts)| Registration {
            aor,
            id,
            state,
            contacts,
        });
    (any::<u32>(), text(), proptest::collection::vec(reg, 0..3)).prop_map(
        |(version, state, registrations)| Reginfo {
            version,
            state,
            registrations,
        },
    )
}

proptest! {
    #[test]
    fn imdn_round_trips(v in imdn_value()) {
        prop_assert_eq!(imdn::parse(v.to_xml().as_bytes()), Ok(v));
    }

    #[test]
    fn iscomposing_round_trips(
        active in any::<bool>(), lastactive in opt_text(), contenttype in opt_text(),
        refresh in proptest::option::of(1u32..),
    ) {
        let v = IsComposing {
            state: if active { State::Active } else { State::Idle },
            lastactive, contenttype, refresh,
        };
        prop_assert_eq!(iscomposing::parse(v.to_xml().as_bytes()), Ok(v));
    }

    #[test]
    fn conference_info_round_trips(v in conference()) {
        prop_assert_eq!(conference_info::parse(v.to_xml().as_bytes()), Ok(v));
    }

    #[test]
    fn resource_lists_round_trip(v in lists()) {
        prop_assert_eq!(resource_lists::parse(v.to_xml().as_bytes()), Ok(v));
    }

    #[test]
    fn reginfo_round_trips(v in reginfo_value()) {
        prop_assert_eq!(reginfo::parse(v.to_xml().as_bytes()), Ok(v));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = imdn::parse(&bytes);
        let _ = iscomposing::parse(&bytes);
        let _ = conference_info::parse(&bytes);
        let _ = resource_lists::parse(&bytes);
        let _ = reginfo::parse(&bytes);
        let _ = xml::select(&bytes, "a/*/@b");
    }

    #[test]
    fn markup_shaped_text_never_panics(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\">".to_owned()),
                Just("</imdn>".to_owned()),
                Just("<a:x xmlns:a=\"urn:ietf:params:xml:ns:imdn\" a:y='1'>".to_owned()),
                Just("</a:x>".to_owned()),
                Just("<status><delivered/></status>".to_owned()),
                Just("<![CDATA[x]]>".to_owned()),
                Just("&amp;&bogus;".to_owned()),
                "[<>/=\"a-z: ]{0,8}",
            ],
            0..12,
        )
    ) {
        let text = parts.concat();
        let _ = imdn::parse(text.as_bytes());
        let _ = conference_info::parse(text.as_bytes());
        let _ = xml::select(text.as_bytes(), "imdn/*");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash(depth in 60usize..5000) {
        let text = "<a>".repeat(depth) + &"</a>".repeat(depth);
        let r = xml::select(text.as_bytes(), "a");
        prop_assert_eq!(r.is_ok(), depth <= xml::tree::MAX_DEPTH);
    }
}
