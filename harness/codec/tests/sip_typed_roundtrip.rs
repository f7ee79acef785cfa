//! Generated typed SIP values (URIs, name-addrs, Via, CSeq, media types, feature tags) survive
//! Display -> parse unchanged.

use cpmconf_codec::sip::{
    icsi_ref_param, CSeq, FeatureSet, MediaType, Method, NameAddr, Params, Scheme, Uri, Via,
};
use proptest::prelude::*;

fn arb_uri() -> impl Strategy<Value = Uri> {
    (
        prop_oneof![Just(Scheme::Sip), Just(Scheme::Sips)],
        proptest::option::of("[a-zA-Z0-9_.!~*'()%+-]{1,10}"),
        prop_oneof![
            "[a-z][a-z0-9-]{0,8}(\\.[a-z]{1,5}){0,2}".prop_map(|s| s),
            Just("127.0.0.1".to_owned()),
            Just("[::1]".to_owned()),
        ],
        proptest::option::of(any::<u16>()),
        prop::collection::vec(
            (
                "[a-z][a-z0-9-]{0,6}",
                proptest::option::of("[a-zA-Z0-9.%-]{1,8}"),
            ),
            0..3,
        ),
        prop::collection::vec(("[A-Za-z][A-Za-z-]{0,6}", "[a-zA-Z0-9%.]{0,8}"), 0..2),
    )
        .prop_map(|(scheme, user, host, port, params, headers)| Uri {
            scheme,
            user,
            password: None,
            host,
            port,
            params,
            headers,
            opaque: None,
        })
}

fn arb_params() -> impl Strategy<Value = Params> {
    prop::collection::vec(
        ("[a-z+][a-z0-9.-]{0,8}", proptest::option::of("[ -~]{0,12}")),
        0..4,
    )
    .prop_map(|ps| {
        let mut p = Params::new();
        for (n, v) in ps {
            if !p.has(&n) {
                p.set(&n, v.as_deref());
            }
        }
        p
    })
}

proptest! {
    #[test]
    fn uri_display_parse(u in arb_uri()) {
        let back = Uri::parse(&u.to_string()).unwrap();
        prop_assert_eq!(&back, &u);
        prop_assert!(back.same_address(&u));
    }

    #[test]
    fn name_addr_display_parse(
        display in proptest::option::of("[ -~]{0,16}"),
        uri in arb_uri(),
        params in arb_params(),
    ) {
        let na = NameAddr { display, uri, params };
        let back = NameAddr::parse(&na.to_string()).unwrap();
        prop_assert_eq!(back, na);
    }

    #[test]
    fn via_display_parse(
        transport in "(UDP|TCP|TLS|SCTP)",
        host in "[a-z]{1,8}\\.test",
        port in proptest::option::of(any::<u16>()),
        branch in "z9hG4bK[a-zA-Z0-9]{1,10}",
        rport in any::<bool>(),
    ) {
        let mut v = Via::new(&transport, &host, port, &branch);
        if rport {
            v.params.set("rport", None);
        }
        let back = Via::parse(&v.to_string()).unwrap();
        prop_assert_eq!(back.branch(), Some(branch.as_str()));
        prop_assert_eq!(back.rport(), if rport { Some(None) } else { None });
        prop_assert_eq!(back, v);
    }

    #[test]
    fn cseq_and_media_type(seq in any::<u32>(), m in "[A-Z]{1,9}", params in arb_params()) {
        let c = CSeq { seq, method: Method::from_token(&m) };
        prop_assert_eq!(CSeq::parse(&c.to_string()).unwrap(), c);
        let mut mt = MediaType::new("application", "x-test+xml");
        mt.params = params;
        prop_assert_eq!(MediaType::parse(&mt.to_string()).unwrap(), mt);
    }

    #[test]
    fn icsi_lists_round_trip(icsis in prop::collection::vec("urn:urn-7:[a-z0-9.:-]{1,30}", 1..4)) {
        let refs: Vec<&str> = icsis.iter().map(String::as_str).collect();
        let f = FeatureSet::parse_accept_contact(&format!("*;{}", icsi_ref_param(&refs))).unwrap();
        prop_assert_eq!(f.icsi_refs(), icsis);
    }
}
