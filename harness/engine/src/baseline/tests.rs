//! Crafted exchanges for every baseline rule: each rule fails once on a deviant message and
//! passes once on the conformant one.

use std::net::SocketAddr;
use std::time::SystemTime;

use cpmconf_capture::{Trace, TraceEntry, TraceFrame, Transport};
use cpmconf_codec::sip::{self, Challenge, Credentials};
use rstest::rstest;

use super::*;

const CLIENT: &str = "127.0.0.1:5070";
const CORE: &str = "127.0.0.1:5060";
const PASSWORD: &str = "secret";

/// One message of a crafted exchange: `true` when the client sent it.
type Step = (bool, String);

fn trace(steps: &[Step]) -> Trace {
    let client: SocketAddr = CLIENT.parse().unwrap();
    let core: SocketAddr = CORE.parse().unwrap();
    let entries = steps
        .iter()
        .enumerate()
        .map(|(index, (from_client, text))| {
            let d = sip::Message::parse(text.as_bytes())
                .unwrap_or_else(|e| panic!("crafted message does not decode: {e}\n{text}"));
            let (src, dst) = if *from_client {
                (client, core)
            } else {
                (core, client)
            };
            TraceEntry {
                index,
                time: SystemTime::UNIX_EPOCH,
                transport: Transport::Udp,
                src,
                dst,
                frame: TraceFrame::Sip(d),
            }
        })
        .collect();
    Trace {
        entries,
        start: None,
        problems: Vec::new(),
        ends: Vec::new(),
    }
}

/// The whole trace's report; judged a part at a time as well (as `cpmconf check` and a run's
/// monitors judge), which must give the same.
fn judge(steps: &[Step]) -> BaselineReport {
    let client: SocketAddr = CLIENT.parse().unwrap();
    let t = trace(steps);
    let is_client = |e: &TraceEntry| e.src == client;
    let cfg = BaselineConfig {
        password: Some(PASSWORD.into()),
        registered: Vec::new(),
    };
    let whole = check(&t, &is_client, &cfg);
    let parted = judge_in_parts(&t, &is_client, &cfg);
    assert_eq!(whole.checked, parted.checked, "checked, whole and in parts");
    let key = |r: &BaselineReport| {
        let mut v: Vec<String> = r.findings.iter().map(|f| format!("{f:?}")).collect();
        v.sort();
        v
    };
    assert_eq!(key(&whole), key(&parted), "findings, whole and in parts");
    whole
}

/// [`check`] as a long capture is judged: [`check_part`] on each part ([`crate::parts`]), given
/// what the REGISTER part registered, and one [`Digest`] over the whole trace in order.
fn judge_in_parts(
    t: &Trace,
    is_client: &dyn Fn(&TraceEntry) -> bool,
    cfg: &BaselineConfig,
) -> BaselineReport {
    let cfg = BaselineConfig {
        password: cfg.password.clone(),
        registered: registered_contacts(t, is_client),
    };
    let mut parts = crate::parts::Parts::default();
    let mut digest = Digest::new(cfg.password.clone());
    for e in &t.entries {
        if Digest::wants(e) {
            digest.push(e, is_client(e));
        }
        assert!(parts.push(e.clone()).is_empty());
    }
    let mut out = BaselineReport::default();
    for entries in parts.finish() {
        let part = Trace {
            entries,
            start: None,
            problems: Vec::new(),
            ends: Vec::new(),
        };
        out.merge(check_part(&part, is_client, &cfg));
    }
    out.merge(digest.finish());
    out
}

/// [`auth_counts`]`(1, ..)`, then a MESSAGE in another dialog (Call-ID) with credentials for the
/// REGISTER's nonce: count `nc`, realm `realm`.
fn auth_in_another_dialog(nc: u32, realm: &str) -> Vec<Step> {
    let mut v = auth_counts(1, &[], false);
    let mut c = Challenge::new("cpm.test", "n0nce", "MD5");
    c.realm = realm.into();
    let cr = Credentials::answer(
        &c,
        "alice",
        PASSWORD,
        "MESSAGE",
        "sip:bob@cpm.test",
        "cn",
        nc,
    )
    .unwrap();
    let m = request(
        "MESSAGE",
        1,
        ("m", ""),
        &format!("Authorization: {cr}\r\n"),
        "",
    )
    .replace("Call-ID: c1", "Call-ID: c2");
    v.push((true, m));
    v
}

/// A SIP message: start line, the dialog headers, `extra` header lines (CRLF-terminated) and a body.
fn sip_msg(start: &str, cseq: &str, tags: (&str, &str), extra: &str, body: &str) -> String {
    let from_tag = if tags.0.is_empty() {
        String::new()
    } else {
        format!(";tag={}", tags.0)
    };
    let to_tag = if tags.1.is_empty() {
        String::new()
    } else {
        format!(";tag={}", tags.1)
    };
    format!(
        "{start} SIP/2.0\r\nCall-ID: c1\r\nCSeq: {cseq}\r\nFrom: <sip:alice@cpm.test>{from_tag}\r\nTo: <sip:bob@cpm.test>{to_tag}\r\nMax-Forwards: 70\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn request(method: &str, cseq: u32, tags: (&str, &str), extra: &str, body: &str) -> String {
    let start = format!("{method} sip:bob@cpm.test");
    let via = format!("Via: SIP/2.0/UDP {CLIENT};branch=z9hG4bK{method}{cseq}\r\n");
    sip_msg(
        &start,
        &format!("{cseq} {method}"),
        tags,
        &format!("{via}{extra}"),
        body,
    )
}

fn response(code: u16, cseq: &str, tags: (&str, &str), vias: &str, extra: &str) -> String {
    let s = sip_msg("", cseq, tags, &format!("{vias}{extra}"), "");
    format!("SIP/2.0 {code} X{}", &s[" SIP/2.0".len()..])
}

fn sdp(c: &str, path_host: &str, direction: &str) -> String {
    format!("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 {c}\r\nt=0 0\r\nm=message 7000 TCP/MSRP *\r\na=path:msrp://{path_host}:7000/s1;tcp\r\na=accept-types:message/cpim\r\na={direction}\r\n")
}

const SDP_CT: &str = "Content-Type: application/sdp\r\n";

fn invite_via() -> String {
    format!("Via: SIP/2.0/UDP {CLIENT};branch=z9hG4bKINVITE1\r\n")
}

// --- exchanges, each in a conformant and a deviant form ---

fn ack(ok: bool) -> Vec<Step> {
    let mut v = vec![
        (
            true,
            request(
                "INVITE",
                1,
                ("a", ""),
                &format!("Contact: <sip:alice@{CLIENT}>\r\n"),
                "",
            ),
        ),
        (
            false,
            response(488, "1 INVITE", ("a", "b"), &invite_via(), ""),
        ),
    ];
    if ok {
        v.push((true, request("ACK", 1, ("a", "b"), "", "")));
    }
    v
}

fn offer(host: &str, path: &str) -> Vec<Step> {
    vec![(
        true,
        request(
            "MESSAGE",
            1,
            ("a", ""),
            SDP_CT,
            &sdp(host, path, "recvonly"),
        ),
    )]
}

fn to_tags(second: &str) -> Vec<Step> {
    let vias = "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKn1\r\n";
    let vias2 = "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKn2\r\n";
    let req = |n: u32, via: &str| {
        sip_msg(
            "NOTIFY sip:alice@cpm.test",
            &format!("{n} NOTIFY"),
            ("s", "t1"),
            via,
            "",
        )
    };
    vec![
        (false, req(1, vias)),
        (true, response(200, "1 NOTIFY", ("s", "t1"), vias, "")),
        (false, req(2, vias2)),
        (true, response(200, "2 NOTIFY", ("s", second), vias2, "")),
    ]
}

fn vias(copied: bool) -> Vec<Step> {
    let two = "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKp1\r\nVia: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bKu1\r\n";
    let one = "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKp1\r\n";
    vec![
        (
            false,
            sip_msg(
                "MESSAGE sip:alice@cpm.test",
                "7 MESSAGE",
                ("r", ""),
                two,
                "",
            ),
        ),
        (
            true,
            response(
                200,
                "7 MESSAGE",
                ("r", "l"),
                if copied { two } else { one },
                "",
            ),
        ),
    ]
}

/// REGISTER, 401 with an MD5 challenge, REGISTER with credentials built by `answer`.
fn auth(
    challenge_alg: &str,
    label: Option<&str>,
    hash: &str,
    realm: &str,
    password: &str,
) -> Vec<Step> {
    let c = Challenge::new("cpm.test", "n0nce", challenge_alg);
    let uri = "sip:cpm.test";
    let mut hashed = c.clone();
    hashed.realm = realm.into();
    hashed.algorithm = Some(hash.into());
    let mut cr = Credentials::answer(&hashed, "alice", password, "REGISTER", uri, "cn", 1).unwrap();
    cr.algorithm = label.map(str::to_owned);
    let reg = |n: u32, extra: &str| {
        request(
            "REGISTER",
            n,
            ("a", ""),
            &format!("Contact: <sip:alice@{CLIENT}>\r\n{extra}"),
            "",
        )
        .replace("REGISTER sip:bob@cpm.test", "REGISTER sip:cpm.test")
    };
    let via = |n: u32| format!("Via: SIP/2.0/UDP {CLIENT};branch=z9hG4bKREGISTER{n}\r\n");
    vec![
        (true, reg(1, "")),
        (
            false,
            response(
                401,
                "1 REGISTER",
                ("a", "r"),
                &via(1),
                &format!("WWW-Authenticate: {c}\r\n"),
            ),
        ),
        (true, reg(2, &format!("Authorization: {cr}\r\n"))),
    ]
}

/// [`auth`] (nonce count 1) followed by `more`: REGISTER refreshes with the same nonce and these
/// counts (the last one a retransmission of the one before when `retransmit`).
fn auth_counts(first: u32, more: &[u32], retransmit: bool) -> Vec<Step> {
    let mut v = auth("MD5", Some("MD5"), "MD5", "cpm.test", PASSWORD);
    let c = Challenge::new("cpm.test", "n0nce", "MD5");
    let count = |nc: u32| {
        Credentials::answer(&c, "alice", PASSWORD, "REGISTER", "sip:cpm.test", "cn", nc).unwrap()
    };
    if first != 1 {
        let old = format!("Authorization: {}", count(1));
        v[2].1 = v[2]
            .1
            .replace(&old, &format!("Authorization: {}", count(first)));
    }
    for (i, nc) in more.iter().enumerate() {
        let n = if retransmit && i + 1 == more.len() {
            i + 2
        } else {
            i + 3
        } as u32;
        let req = request(
            "REGISTER",
            n,
            ("a", ""),
            &format!(
                "Contact: <sip:alice@{CLIENT}>\r\nAuthorization: {}\r\n",
                count(*nc)
            ),
            "",
        )
        .replace("REGISTER sip:bob@cpm.test", "REGISTER sip:cpm.test");
        v.push((true, req));
    }
    v
}

fn contact(invite_contact: &str) -> Vec<Step> {
    let via = format!("Via: SIP/2.0/UDP {CLIENT};branch=z9hG4bKREGISTER1\r\n");
    vec![
        (
            true,
            request(
                "REGISTER",
                1,
                ("a", ""),
                &format!("Contact: <sip:alice@{CLIENT}>;expires=600\r\n"),
                "",
            ),
        ),
        (
            false,
            response(
                200,
                "1 REGISTER",
                ("a", "r"),
                &via,
                &format!("Contact: <sip:alice@{CLIENT}>;expires=600\r\n"),
            ),
        ),
        (
            true,
            request(
                "INVITE",
                2,
                ("i", ""),
                &format!("Contact: <{invite_contact}>\r\n"),
                "",
            ),
        ),
    ]
}

/// The peer's MESSAGE (From tag `r`, To tag `req_to`) and the client's 200 with tags `back`.
fn echo(req_to: &str, back: (&str, &str)) -> Vec<Step> {
    let via = "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKe1\r\n";
    vec![
        (
            false,
            sip_msg(
                "MESSAGE sip:alice@cpm.test",
                "7 MESSAGE",
                ("r", req_to),
                via,
                "",
            ),
        ),
        (true, response(200, "7 MESSAGE", back, via, "")),
    ]
}

/// [`echo`] whose response writes the From with a display name and the To URI in another
/// (RFC 3261 19.1.4-equal) form: the same parties.
fn echo_other_spelling() -> Vec<Step> {
    let mut v = echo("", ("r", "l"));
    v[1].1 = v[1]
        .1
        .replace(
            "From: <sip:alice@cpm.test>",
            "From: \"Alice\" <sip:alice@CPM.test>",
        )
        .replace("To: <sip:bob@cpm.test>", "To: sip:bob@cpm.test");
    v
}

fn codec(body_eol: &str) -> Vec<Step> {
    let body = sdp("127.0.0.1", "127.0.0.1", "sendrecv").replace("\r\n", body_eol);
    vec![(true, request("MESSAGE", 1, ("a", ""), SDP_CT, &body))]
}

#[rstest]
#[case::ack_non_2xx(ACK_NON_2XX, ack(true), ack(false))]
#[case::sdp_unspecified(
    SDP_UNSPECIFIED_ADDRESS,
    offer("127.0.0.1", "127.0.0.1"),
    offer("0.0.0.0", "127.0.0.1")
)]
#[case::msrp_path_unspecified(
    MSRP_PATH_UNSPECIFIED,
    offer("127.0.0.1", "127.0.0.1"),
    offer("127.0.0.1", "0.0.0.0")
)]
#[case::to_tag_changed(TO_TAG_CHANGED, to_tags("t1"), to_tags("t2"))]
#[case::via_copied(VIA_COPIED, vias(true), vias(false))]
#[case::from_tag_copied(FROM_TO_COPIED, echo("", ("r", "l")), echo("", ("x", "l")))]
#[case::to_tag_kept(FROM_TO_COPIED, echo("l", ("r", "l")), echo("l", ("r", "m")))]
#[case::auth_algorithm(
    AUTH_ALGORITHM,
    auth("MD5", Some("MD5"), "MD5", "cpm.test", PASSWORD),
    auth("MD5", Some("SHA-256"), "SHA-256", "cpm.test", PASSWORD)
)]
#[case::auth_label_not_the_hash(
    AUTH_RESPONSE,
    auth("SHA-256", Some("SHA-256"), "SHA-256", "cpm.test", PASSWORD),
    auth("SHA-256", Some("SHA-256"), "MD5", "cpm.test", PASSWORD)
)]
#[case::auth_wrong_password(
    AUTH_RESPONSE,
    auth("MD5", None, "MD5", "cpm.test", PASSWORD),
    auth("MD5", None, "MD5", "cpm.test", "guess")
)]
#[case::auth_realm(
    AUTH_REALM,
    auth("MD5", Some("MD5"), "MD5", "cpm.test", PASSWORD),
    auth("MD5", Some("MD5"), "MD5", "other.test", PASSWORD)
)]
#[case::nonce_count_first(NONCE_COUNT, auth_counts(1, &[], false), auth_counts(0, &[], false))]
#[case::nonce_count_replayed(NONCE_COUNT, auth_counts(1, &[2], false), auth_counts(1, &[1], false))]
#[case::nonce_count_replayed_later(NONCE_COUNT, auth_counts(1, &[3, 2], false), auth_counts(1, &[3, 3], false))]
// A client may reuse the REGISTER's nonce on requests of other dialogs: the count and the
// credentials are judged across dialogs, also when a capture is judged a dialog at a time.
#[case::nonce_count_replayed_in_another_dialog(
    NONCE_COUNT,
    auth_in_another_dialog(2, "cpm.test"),
    auth_in_another_dialog(1, "cpm.test")
)]
#[case::realm_in_another_dialog(
    AUTH_REALM,
    auth_in_another_dialog(2, "cpm.test"),
    auth_in_another_dialog(2, "other.test")
)]
#[case::contact_registered(
    CONTACT_REGISTERED,
    contact("sip:alice@127.0.0.1:5070"),
    contact("sip:alice@cpm.test")
)]
#[case::codec_bare_lf_in_sdp("rfc4566/5-crlf", codec("\r\n"), codec("\n"))]
fn each_rule_passes_and_fails(
    #[case] rule: &str,
    #[case] conformant: Vec<Step>,
    #[case] deviant: Vec<Step>,
) {
    let good = judge(&conformant);
    assert!(
        good.checked.contains_key(rule) || rule.starts_with("rfc4566"),
        "the rule had nothing to check: {good:?}"
    );
    let good_hits: Vec<_> = good.findings.iter().filter(|f| f.rule == rule).collect();
    assert!(
        good_hits.is_empty(),
        "conformant exchange broke {rule}: {good_hits:#?}"
    );
    let bad = judge(&deviant);
    let hits: Vec<_> = bad.findings.iter().filter(|f| f.rule == rule).collect();
    assert_eq!(hits.len(), 1, "deviant exchange: {:#?}", bad.findings);
    let f = hits[0];
    let last_client = deviant
        .iter()
        .enumerate()
        .filter(|(_, (c, _))| *c)
        .map(|(i, _)| i)
        .last()
        .unwrap();
    // The finding points at the offending message (the unacknowledged response for the ACK rule).
    let want = if rule == ACK_NON_2XX { 1 } else { last_client };
    assert_eq!(f.entry, want, "{f:#?}");
    assert!(f.what.contains(&format!("trace entry {want}")), "{f:#?}");
}

/// A count above the expected one passes (the nonce may have been used where the capture does
/// not see), so does one below a count already seen but not used before, and a retransmission
/// repeats its count without being a replay.
#[rstest]
#[case::skipped_ahead(auth_counts(5, &[9], false))]
#[case::retransmitted(auth_counts(1, &[2, 2], true))]
// Built in one order, sent in another (RFC 7616 3.4: only a count seen twice is a replay).
#[case::out_of_order(auth_counts(1, &[3, 2], false))]
fn nonce_counts_that_are_not_replays_pass(#[case] steps: Vec<Step>) {
    let r = judge(&steps);
    assert!(r.checked.contains_key(NONCE_COUNT), "{r:?}");
    let hits: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.rule == NONCE_COUNT)
        .collect();
    assert!(hits.is_empty(), "{hits:#?}");
}

#[test]
fn bare_lf_is_a_should_and_a_missing_mandatory_header_a_must() {
    let r = judge(&codec("\n"));
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == "rfc4566/5-crlf")
        .unwrap();
    assert_eq!(f.strength, RuleStrength::Should);
    let mut v = codec("\r\n");
    v[0].1 = v[0].1.replace("CSeq: 1 MESSAGE\r\n", "");
    let r = judge(&v);
    assert!(
        r.findings
            .iter()
            .any(|f| f.strength == RuleStrength::Must && f.rule.starts_with("rfc3261/8.1.1")),
        "{:#?}",
        r.findings
    );
}

#[test]
fn messages_of_the_peer_are_not_judged() {
    let mut v = codec("\n");
    v[0].0 = false;
    assert!(judge(&v).findings.is_empty());
}

#[test]
fn the_label_mismatch_names_the_hash_actually_used() {
    let r = judge(&auth(
        "SHA-256",
        Some("SHA-256"),
        "MD5",
        "cpm.test",
        PASSWORD,
    ));
    let f = r.findings.iter().find(|f| f.rule == AUTH_RESPONSE).unwrap();
    assert!(f.seen.contains("the MD5 digest"), "{f:#?}");
}

/// The REGISTER transaction tags each response anew, and a rejected INVITE creates no dialog.
fn register_twice() -> Vec<Step> {
    let via = |n: u32| format!("Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKr{n}\r\n");
    let reg = |n: u32| {
        sip_msg(
            "REGISTER sip:alice@cpm.test",
            &format!("{n} REGISTER"),
            ("f", ""),
            &via(n),
            "",
        )
    };
    vec![
        (false, reg(1)),
        (true, response(401, "1 REGISTER", ("f", "t1"), &via(1), "")),
        (false, reg(2)),
        (true, response(200, "2 REGISTER", ("f", "t2"), &via(2), "")),
    ]
}

/// The response's top Via carries the received and rport the transport stamped on the request.
fn via_stamped() -> Vec<Step> {
    let sent = "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKp1;rport\r\n";
    let back = "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKp1;rport=5060;received=127.0.0.1\r\n";
    vec![
        (
            false,
            sip_msg(
                "MESSAGE sip:alice@cpm.test",
                "7 MESSAGE",
                ("r", ""),
                sent,
                "",
            ),
        ),
        (true, response(200, "7 MESSAGE", ("r", "l"), back, "")),
    ]
}

#[rstest]
// `applies`: whether the rule judged the exchange (REGISTER makes no dialog, so the To tags of
// its responses are not judged at all).
#[case::register_tags_each_response(TO_TAG_CHANGED, register_twice(), false)]
#[case::received_and_rport_added(VIA_COPIED, via_stamped(), true)]
#[case::display_name_and_uri_spelling(FROM_TO_COPIED, echo_other_spelling(), true)]
fn legitimate_variations_pass(#[case] rule: &str, #[case] steps: Vec<Step>, #[case] applies: bool) {
    let r = judge(&steps);
    assert_eq!(r.checked.contains_key(rule), applies, "{r:?}");
    assert!(
        !r.findings.iter().any(|f| f.rule == rule),
        "{:#?}",
        r.findings
    );
}

/// A pager MESSAGE from the network with a CPIM body, as a conformant CPM network sends it, with
/// `drop` removed (a header line prefix, or a CPIM header line).
fn network_pager(drop: &str) -> Vec<Step> {
    let cpim = "From: <sip:bob@cpm.test>\r\nTo: <sip:alice@cpm.test>\r\nNS: imdn <urn:ietf:params:imdn>\r\nimdn.Message-ID: m1\r\nDateTime: 2026-11-27T10:00:00.000Z\r\n\r\nContent-Type: text/plain\r\n\r\nhi";
    let extra = "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKs1\r\nUser-Agent: CPM-serv/OMA2.0 sim\r\nConversation-ID: c0nv\r\nContribution-ID: c0ntr\r\nAccept-Contact: *;+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.msg\"\r\nP-Asserted-Identity: <sip:bob@cpm.test>\r\nContent-Type: message/cpim\r\n";
    let keep = |text: &str| {
        text.split_inclusive("\r\n")
            .filter(|l| drop.is_empty() || !l.starts_with(drop))
            .collect::<String>()
    };
    let body = keep(cpim);
    vec![(
        false,
        sip_msg(
            "MESSAGE sip:alice@cpm.test",
            "1 MESSAGE",
            ("b", ""),
            &keep(extra),
            &body,
        ),
    )]
}

fn stimulus_of(steps: &[Step]) -> Vec<ProtocolFinding> {
    let client: SocketAddr = CLIENT.parse().unwrap();
    stimulus(&trace(steps), &|e: &TraceEntry| e.src != client)
}

#[rstest]
#[case::conversation_id(STIMULUS_CONVERSATION_ID, "Conversation-ID")]
#[case::contribution_id(STIMULUS_CONTRIBUTION_ID, "Contribution-ID")]
#[case::accept_contact(STIMULUS_ACCEPT_CONTACT, "Accept-Contact")]
#[case::p_asserted_identity(STIMULUS_PAI, "P-Asserted-Identity")]
#[case::user_agent(STIMULUS_PRODUCT_TOKEN, "User-Agent")]
#[case::cpim_message_id(STIMULUS_CPIM_IDS, "imdn.Message-ID")]
#[case::cpim_datetime(STIMULUS_CPIM_IDS, "DateTime")]
fn each_stimulus_rule_passes_and_fails(#[case] rule: &str, #[case] drop: &str) {
    let good = stimulus_of(&network_pager(""));
    assert!(good.is_empty(), "{good:#?}");
    let bad = stimulus_of(&network_pager(drop));
    let hits: Vec<_> = bad.iter().filter(|f| f.rule == rule).collect();
    assert_eq!(hits.len(), 1, "{bad:#?}");
    assert_eq!(bad.len(), 1, "only {rule} breaks: {bad:#?}");
}

// The rules join a request with its response and ACK by transaction (Call-ID and CSeq number),
// not by where they lie in the trace: over many interleaved transactions (the requests first,
// the responses in reverse order, then the ACKs) exactly the 486 left unacknowledged and the
// one whose only ACK went out before it are findings, each at its response.
#[test]
fn transactions_are_joined_by_key_across_an_interleaved_trace() {
    const N: u32 = 300;
    let via = |k: u32| format!("Via: SIP/2.0/UDP {CLIENT};branch=z9hG4bKINVITE{k}\r\n");
    let mut steps: Vec<Step> = (1..=N)
        .map(|k| (true, request("INVITE", k, ("a", ""), "", "")))
        .collect();
    steps.push((true, request("ACK", 200, ("a", "b"), "", "")));
    for k in (1..=N).rev() {
        steps.push((
            false,
            response(486, &format!("{k} INVITE"), ("a", "b"), &via(k), ""),
        ));
    }
    for k in (1..=N).filter(|k| *k != 150 && *k != 200) {
        steps.push((true, request("ACK", k, ("a", "b"), "", "")));
    }
    let r = judge(&steps);
    assert_eq!(r.checked.get(ACK_NON_2XX), Some(&(N as usize)));
    let response_at = |k: u32| (N + 1 + (N - k)) as usize;
    let mut unacked: Vec<usize> = r
        .findings
        .iter()
        .filter(|f| f.rule == ACK_NON_2XX)
        .map(|f| f.entry)
        .collect();
    unacked.sort();
    assert_eq!(
        unacked,
        [response_at(200), response_at(150)],
        "{:#?}",
        r.findings
    );
    assert!(
        r.findings.iter().all(|f| f.rule == ACK_NON_2XX),
        "{:#?}",
        r.findings
    );
}
