//! pyua (examples/adapters/pyua.py) switched into one deliberate deviation at a time, through
//! the real adapter path: each deviation gets its expected verdict, on its requirement, in its
//! outcome class (issue 8, "Must show"). These expectations are the engine's target; they are
//! not relaxed to what the engine does today.

mod support;

use rstest::rstest;
use support::{run, Profile};

/// Every requirement of a scenario not listed explicitly.
const REST: &str = "*";
const UA: &str = "7/user-agent-header";

/// What pyua claims with `decline-invites` (it declines every INVITE all the same).
const SESSION_CAPS: &[&str] = &[
    "pager",
    "chat",
    "group-chat",
    "deferred-group",
    "file-transfer",
    "file-resume",
];

struct Expected {
    /// Scenario id -> its verdict.
    scenarios: &'static [(&'static str, &'static str)],
    /// (scenario, requirement or REST, verdict).
    requirements: &'static [(&'static str, &'static str, &'static str)],
    /// (scenario, text the verdict's messages or findings must name; case-insensitive).
    evidence: &'static [(&'static str, &'static str)],
    /// Exit status of `cpmconf run`, where the outcome class fixes it.
    exit: Option<i32>,
    /// (scenario, protocol baseline rule, verdict).
    protocol: &'static [(&'static str, &'static str, &'static str)],
}

#[rstest]
// URIs compare as URIs (RFC 3261 19.1.4), not as substrings: sip:bob@test.example is not
// sip:bob@test.
#[case::cpim_to_wrong_host("cpim-to-wrong-host", &["pager"], Expected {
    scenarios: &[("pager-mode-sent", "fail")],
    requirements: &[("pager-mode-sent", "7/send-pager-mode", "fail"), ("pager-mode-sent", UA, "pass")],
    evidence: &[("pager-mode-sent", "sip:bob@test.example")],
    exit: Some(1),
    protocol: &[],
})]
// A client that claims sessions and declines every INVITE never reaches the situation the
// scenarios judge: inconclusive (not pass, not error), and the step ends on the 488 (quoted)
// instead of waiting out its deadline.
#[case::decline_invites("decline-invites", SESSION_CAPS, Expected {
    scenarios: &[
        ("resume-unknown-file-488", "inconclusive"),
        ("resume-offer-unknown-file-488", "inconclusive"),
        ("resume-as-recipient-after-partial", "inconclusive"),
        ("deferred-group-idle-bye-no-subscribe", "inconclusive"),
        ("bye-closes-chat", "inconclusive"),
    ],
    requirements: &[
        ("resume-unknown-file-488", UA, "pass"),
        ("resume-unknown-file-488", REST, "inconclusive"),
        // Its 488 to the offer of an unknown file earns nothing: it refused the push before.
        ("resume-offer-unknown-file-488", UA, "pass"),
        ("resume-offer-unknown-file-488", REST, "inconclusive"),
        ("resume-as-recipient-after-partial", UA, "pass"),
        ("resume-as-recipient-after-partial", REST, "inconclusive"),
        ("deferred-group-idle-bye-no-subscribe", UA, "pass"),
        ("deferred-group-idle-bye-no-subscribe", REST, "inconclusive"),
        ("bye-closes-chat", UA, "pass"),
        ("bye-closes-chat", REST, "inconclusive"),
    ],
    evidence: &[
        // resume-unknown-file-488 first awaits a file push and a known resume: pyua refuses
        // `send_file`, so the verdict names that command.
        ("resume-unknown-file-488", "send_file"),
        ("resume-offer-unknown-file-488", "488"),
        ("resume-as-recipient-after-partial", "488"),
        ("deferred-group-idle-bye-no-subscribe", "488"),
        ("bye-closes-chat", "488"),
    ],
    exit: None,
    protocol: &[],
})]
// An adapter that never answers `sync` broke the harness contract: error, naming `sync`.
#[case::no_sync_answer("no-sync-answer", &["pager"], Expected {
    scenarios: &[("pager-mode-sent", "error")],
    requirements: &[],
    evidence: &[("pager-mode-sent", "sync")],
    exit: None,
    protocol: &[],
})]
#[case::no_user_agent("no-user-agent", &["pager"], Expected {
    scenarios: &[("pager-mode-sent", "fail")],
    requirements: &[("pager-mode-sent", UA, "fail"), ("pager-mode-sent", "7/send-pager-mode", "pass")],
    evidence: &[("pager-mode-sent", "User-Agent")],
    exit: Some(1),
    protocol: &[],
})]
// Content-Transfer-Encoding is decoded before the CPIM content is compared: a correct message.
#[case::base64_cpim("base64-cpim", &["pager"], Expected {
    scenarios: &[("pager-mode-sent", "pass")],
    requirements: &[("pager-mode-sent", REST, "pass")],
    evidence: &[],
    exit: Some(0),
    protocol: &[],
})]
// Media types ignore case (RFC 2045 5.1) and a charset may be added: `Message/CPIM` passes the
// scenario's `contains: message/cpim`, a correct message.
#[case::media_type_case("media-type-case", &["pager"], Expected {
    scenarios: &[("pager-mode-sent", "pass")],
    requirements: &[("pager-mode-sent", REST, "pass")],
    evidence: &[],
    exit: Some(0),
    protocol: &[],
})]
// The ICSI in Accept-Contact must be percent-encoded (3GPP TS 24.229 7.2A.8.2); the raw text
// is checked, not only the decoded feature tag.
#[case::unencoded_icsi("unencoded-icsi", &["pager"], Expected {
    scenarios: &[("pager-mode-sent", "fail")],
    requirements: &[("pager-mode-sent", "7/send-pager-mode", "fail"), ("pager-mode-sent", UA, "pass")],
    evidence: &[("pager-mode-sent", "icsi")],
    exit: Some(1),
    protocol: &[],
})]
// A client that answers a read report with a delivery notification of its own (no named fault
// of the reference client does this: its 5.4.4 fault refuses the report) fails 5.4.4 on the
// SHALL NOT half of read-report-received, after accepting the report.
#[case::imdn_answers_imdn("imdn-answers-imdn", &["pager", "imdn"], Expected {
    scenarios: &[("read-report-received", "fail")],
    requirements: &[("read-report-received", "5.4.4/process-read-report", "fail"), ("read-report-received", UA, "pass")],
    evidence: &[("read-report-received", "MESSAGE")],
    exit: Some(1),
    protocol: &[],
})]
// A response whose From tag is not the request's breaks RFC 3261 8.2.6.2 (no named fault of the
// reference client does this): the protocol baseline fails it, while the requirement the
// scenario judges (the MESSAGE was dispatched and shown) still passes, so the one finding is not
// blamed on a CR requirement.
#[case::from_tag_changed("from-tag-changed", &["pager"], Expected {
    scenarios: &[("pager-mode-received", "fail")],
    requirements: &[("pager-mode-received", REST, "pass")],
    evidence: &[],
    exit: Some(1),
    protocol: &[
        ("pager-mode-received", "rfc3261/8.2.6.2-from-to-copied", "fail"),
        ("pager-mode-received", "rfc3261/8.2.6.2-via-copied", "pass"),
    ],
})]
fn each_deviation_gets_its_verdict(
    #[case] deviation: &str,
    #[case] capabilities: &[&str],
    #[case] want: Expected,
) {
    let profile = Profile::fixture("pyua")
        .env("PYUA_DEVIATIONS", deviation)
        .capabilities(capabilities);
    assert_verdicts(profile, &format!("deviation {deviation}"), want);
}

/// pyua letting invitations ring (`PYUA_INVITES=ring`): a client the suite did not grow up with
/// gets the CANCEL scenarios' verdicts, in 1-1 and in a group, both when it answers as RFC 3261
/// 9.2 says and when it leaves the cancelled INVITE pending (no named fault of the reference
/// client does this).
#[rstest]
#[case::follows_rfc3261("", Expected {
    scenarios: &[("cancel-pending-invitation", "pass"), ("cancel-pending-group-invitation", "pass")],
    requirements: &[("cancel-pending-invitation", REST, "pass"), ("cancel-pending-group-invitation", REST, "pass")],
    evidence: &[],
    exit: Some(0),
    protocol: &[],
})]
#[case::cancel_no_487("cancel-no-487", Expected {
    scenarios: &[("cancel-pending-invitation", "fail"), ("cancel-pending-group-invitation", "fail")],
    requirements: &[
        ("cancel-pending-invitation", "7.3.4.4/cancel-per-rfc3261", "fail"),
        ("cancel-pending-invitation", "7.3.4.4/terminate-session", "fail"),
        ("cancel-pending-group-invitation", "7.3.4.4/cancel-per-rfc3261", "fail"),
        ("cancel-pending-group-invitation", "7.3.4.4/terminate-session", "fail"),
        ("cancel-pending-group-invitation", UA, "pass"),
    ],
    evidence: &[("cancel-pending-invitation", "487"), ("cancel-pending-group-invitation", "487")],
    exit: Some(1),
    protocol: &[],
})]
// The cancelled INVITE ended with another final failure: the session is not set up (7.3.4.4
// terminate-session holds), the code is not RFC 3261 9.2's (cancel-per-rfc3261 fails alone).
#[case::cancel_486("cancel-486", Expected {
    scenarios: &[("cancel-pending-invitation", "fail"), ("cancel-pending-group-invitation", "fail")],
    requirements: &[
        ("cancel-pending-invitation", "7.3.4.4/cancel-per-rfc3261", "fail"),
        ("cancel-pending-invitation", "7.3.4.4/terminate-session", "pass"),
        ("cancel-pending-group-invitation", "7.3.4.4/cancel-per-rfc3261", "fail"),
        ("cancel-pending-group-invitation", "7.3.4.4/terminate-session", "pass"),
    ],
    evidence: &[("cancel-pending-invitation", "486"), ("cancel-pending-group-invitation", "486")],
    exit: Some(1),
    protocol: &[],
})]
fn a_ringing_client_gets_the_cancel_verdicts(#[case] deviation: &str, #[case] want: Expected) {
    let profile = Profile::fixture("pyua")
        .env("PYUA_INVITES", "ring")
        .env("PYUA_DEVIATIONS", deviation)
        .capabilities(&["pager", "chat", "group-chat"]);
    assert_verdicts(profile, &format!("ringing, deviation {deviation:?}"), want);
}

/// pyua receiving files (`PYUA_INVITES=files`: its own SDP answer, MSRP connection and chunk
/// placement, written apart from the reference client) gets the file verdicts: it keeps the
/// bytes of an interrupted push and rebuilds the file from a resumed part sent in chunks,
/// answers 488 to a resume of a file it does not hold, and sends a requested delivery
/// notification by SIP MESSAGE. Two bugs written the way implementers
/// write them: taking a resumed file as complete at its first chunk, and knowing a file for a
/// resume by its size alone. A policy it cannot follow (letting the user choose) is refused,
/// which is inconclusive, not a fail (shown beside the first bug).
#[rstest]
#[case::follows_the_cr("", Expected {
    scenarios: &[
        ("resume-as-recipient-after-partial", "pass"),
        ("resume-offer-unknown-file-488", "pass"),
        ("file-push-accepted-file-identities", "pass"),
        ("file-push-declined-603", "pass"),
        ("file-received-delivery-notification", "pass"),
        ("file-received-no-notification-requested", "pass"),
        ("resume-as-recipient", "pass"),
        ("read-report-received", "pass"),
    ],
    requirements: &[
        ("resume-as-recipient-after-partial", REST, "pass"),
        ("resume-offer-unknown-file-488", REST, "pass"),
        ("file-received-delivery-notification", REST, "pass"),
        ("resume-as-recipient", REST, "pass"),
    ],
    evidence: &[],
    exit: Some(0),
    protocol: &[],
})]
#[case::file_complete_early("file-complete-early", Expected {
    scenarios: &[
        ("resume-as-recipient-after-partial", "fail"),
        ("resume-offer-unknown-file-488", "pass"),
        ("file-push-user-chooses", "inconclusive"),
    ],
    requirements: &[
        ("resume-as-recipient-after-partial", "7.4.5.2/recipient-follow-7-4-2", "fail"),
        ("resume-as-recipient-after-partial", "7.4.5/track-transferred-bytes", "fail"),
        ("resume-as-recipient-after-partial", UA, "pass"),
        ("file-push-user-chooses", "7.4.2/user-input-push", "inconclusive"),
    ],
    evidence: &[
        ("resume-as-recipient-after-partial", "24"),
        ("file-push-user-chooses", "auto_accept_sessions"),
    ],
    exit: Some(1),
    protocol: &[],
})]
#[case::resume_by_size("resume-by-size", Expected {
    scenarios: &[
        ("resume-as-recipient-after-partial", "pass"),
        ("resume-offer-unknown-file-488", "fail"),
    ],
    requirements: &[
        ("resume-offer-unknown-file-488", "7.4.5.2/488-unknown-file", "fail"),
        ("resume-offer-unknown-file-488", UA, "pass"),
    ],
    evidence: &[("resume-offer-unknown-file-488", "200")],
    exit: Some(1),
    protocol: &[],
})]
// Item 6 of 7.4.2 has two SHALLs: a notification over MSRP is against "via SIP MESSAGE" only
// (the client did check the request), and one sent unasked is against the check only.
#[case::imdn_over_msrp("imdn-over-msrp", Expected {
    scenarios: &[
        ("file-received-delivery-notification", "fail"),
        ("file-received-no-notification-requested", "pass"),
        ("resume-as-recipient", "fail"),
    ],
    requirements: &[
        ("file-received-delivery-notification", "7.4.2/delivery-notification-sip-message", "fail"),
        ("file-received-delivery-notification", "7.4.2/check-delivery-notification-request", "inconclusive"),
        ("file-received-delivery-notification", "7.4.2/media-plane-receive", "pass"),
        ("file-received-delivery-notification", UA, "pass"),
        ("resume-as-recipient", "7.4.5.2/recipient-imdn-sip-message", "fail"),
        ("resume-as-recipient", "7.4.5.2/recipient-follow-7-4-2", "pass"),
        ("resume-as-recipient", UA, "pass"),
    ],
    evidence: &[("file-received-delivery-notification", "MESSAGE")],
    exit: Some(1),
    protocol: &[],
})]
#[case::imdn_unrequested("imdn-unrequested", Expected {
    scenarios: &[
        ("file-received-delivery-notification", "pass"),
        ("file-received-no-notification-requested", "fail"),
    ],
    requirements: &[
        ("file-received-no-notification-requested", "7.4.2/check-delivery-notification-request", "fail"),
        ("file-received-no-notification-requested", "7.4.2/media-plane-receive", "pass"),
        ("file-received-no-notification-requested", UA, "pass"),
    ],
    evidence: &[("file-received-no-notification-requested", "MESSAGE sip:bob@test")],
    exit: Some(1),
    protocol: &[],
})]
fn a_file_receiving_client_gets_the_resume_verdicts(
    #[case] deviation: &str,
    #[case] want: Expected,
) {
    let profile = Profile::fixture("pyua")
        .env("PYUA_INVITES", "files")
        .env("PYUA_DEVIATIONS", deviation)
        .capabilities(&["pager", "file-transfer", "file-resume", "imdn"]);
    assert_verdicts(
        profile,
        &format!("receiving files, deviation {deviation:?}"),
        want,
    );
}

/// pyua sending files (`PYUA_INVITES=files`, `send_file`, in 512-byte chunks: its own offer,
/// passive MSRP side, chunking and BYE): the BYE after the last chunk passes, also when it goes
/// before the chunks' 200s (a reading 7.4.3 allows: the file is complete once sent); a BYE after
/// the first chunk, the rest never sent, never reaches the situation (a transfer complete) and
/// is inconclusive, not a pass. As original sender it serves a resume of the file it sent and
/// answers 488 to one of a file that differs in name or size. The user's abort (`leave`) is a
/// BYE on either side, the sender sending no more (paced four chunks ahead, `PYUA_WINDOW`).
#[rstest]
#[case::follows_the_cr("", Expected {
    scenarios: &[
        ("sender-bye-on-completion", "pass"),
        ("resume-unknown-file-488", "pass"),
        ("resume-changed-file-488", "pass"),
        ("resume-known-file-200", "inconclusive"),
        ("sender-abort-bye", "pass"),
        ("receiver-abort-bye", "pass"),
    ],
    requirements: &[
        ("sender-bye-on-completion", REST, "pass"),
        ("sender-abort-bye", REST, "pass"),
        ("receiver-abort-bye", REST, "pass"),
        ("resume-unknown-file-488", REST, "pass"),
        ("resume-changed-file-488", REST, "pass"),
        ("resume-known-file-200", "7.4.5.2/sender-200-ok-file", "pass"),
        ("resume-known-file-200", "7.4.5.2/responder-procedure", "pass"),
        // It sends the rest of the file unwrapped: there is no CPIM From to judge.
        ("resume-known-file-200", "7.4.5.2/sender-cpim-from-device-id", "inconclusive"),
    ],
    evidence: &[("resume-known-file-200", "application/octet-stream")],
    exit: Some(1),
    protocol: &[],
})]
#[case::bye_before_last_200("bye-before-last-200", Expected {
    scenarios: &[("sender-bye-on-completion", "pass")],
    requirements: &[("sender-bye-on-completion", REST, "pass")],
    evidence: &[],
    exit: Some(0),
    protocol: &[],
})]
#[case::bye_early("bye-early", Expected {
    scenarios: &[("sender-bye-on-completion", "inconclusive")],
    requirements: &[
        ("sender-bye-on-completion", "7.4.3/sender-bye-on-completion", "inconclusive"),
        ("sender-bye-on-completion", "7/initiate-file-transfer", "pass"),
    ],
    evidence: &[("sender-bye-on-completion", "MSRP SEND")],
    exit: Some(1),
    protocol: &[],
})]
// 7.4.3 item 2 (L232): the user's abort is a BYE on either side, and the sender stops sending.
#[case::abort_without_bye("abort-without-bye", Expected {
    scenarios: &[("sender-abort-bye", "fail"), ("receiver-abort-bye", "fail")],
    requirements: &[
        ("sender-abort-bye", "7.4.3/abort-bye-sender", "fail"),
        ("receiver-abort-bye", "7.4.3/abort-bye-receiver", "fail"),
        ("sender-abort-bye", UA, "pass"),
    ],
    evidence: &[("sender-abort-bye", "BYE"), ("receiver-abort-bye", "BYE")],
    exit: Some(1),
    protocol: &[],
})]
#[case::abort_keeps_sending("abort-keeps-sending", Expected {
    scenarios: &[("sender-abort-bye", "fail"), ("receiver-abort-bye", "pass")],
    requirements: &[("sender-abort-bye", "7.4.3/abort-bye-sender", "fail")],
    evidence: &[("sender-abort-bye", "SEND")],
    exit: Some(1),
    protocol: &[],
})]
// A chunk sent after its own BYE is on the wire too: the role reads what comes after it closed
// (until the client closes, or 500 ms), so the "sending stops" check sees it.
#[case::chunk_after_bye("chunk-after-bye", Expected {
    scenarios: &[("sender-abort-bye", "fail")],
    requirements: &[("sender-abort-bye", "7.4.3/abort-bye-sender", "fail")],
    evidence: &[("sender-abort-bye", "SEND")],
    exit: Some(1),
    protocol: &[],
})]
fn a_file_sending_client_gets_the_sender_verdicts(#[case] deviation: &str, #[case] want: Expected) {
    let profile = Profile::fixture("pyua")
        .env("PYUA_INVITES", "files")
        .env("PYUA_CHUNK", "512")
        .env("PYUA_DEVIATIONS", deviation)
        .capabilities(&["pager", "file-transfer", "file-resume", "imdn"]);
    assert_verdicts(
        profile,
        &format!("sending files, deviation {deviation:?}"),
        want,
    );
}

/// pyua resuming a transfer (`resume_file` in files mode, CR 7.4.5.1): as the original
/// receiver, a=recvonly, the same file-selector, the range from the first byte it lacks, the
/// sender's device in Accept-Contact when the push named one, BYE once complete; as the
/// original sender, a=sendonly from the first byte not acknowledged, the recipient's device
/// from its 200, the rest with its Byte-Range. Three bugs written the way implementers write
/// them, each against its own requirement.
#[rstest]
#[case::follows_the_cr("", Expected {
    scenarios: &[
        ("resume-as-original-receiver", "pass"),
        ("resume-as-original-receiver-after-partial", "pass"),
        ("resume-sender-after-partial-ack", "pass"),
    ],
    requirements: &[
        ("resume-as-original-receiver", REST, "pass"),
        ("resume-as-original-receiver-after-partial", REST, "pass"),
        ("resume-sender-after-partial-ack", REST, "pass"),
    ],
    evidence: &[],
    exit: Some(0),
    protocol: &[],
})]
#[case::resume_from_start("resume-from-start", Expected {
    scenarios: &[
        ("resume-as-original-receiver-after-partial", "fail"),
        ("resume-sender-after-partial-ack", "fail"),
    ],
    requirements: &[
        ("resume-as-original-receiver-after-partial", "7.4.5/track-transferred-bytes", "fail"),
        ("resume-as-original-receiver-after-partial", "7.4.5.1/sdp-file-attributes", "fail"),
        ("resume-as-original-receiver-after-partial", UA, "pass"),
        ("resume-sender-after-partial-ack", "7.4.5/track-transferred-bytes", "fail"),
        // Its chunks start where its own offer said: the Byte-Range is right for that.
        ("resume-sender-after-partial-ack", "7.4.5.1/media-plane-byte-range", "pass"),
        ("resume-sender-after-partial-ack", "7.4.5.1/sender-device-id", "pass"),
    ],
    evidence: &[("resume-as-original-receiver-after-partial", "1-32")],
    exit: Some(1),
    protocol: &[],
})]
#[case::resume_no_device_id("resume-no-device-id", Expected {
    scenarios: &[
        ("resume-as-original-receiver", "fail"),
        ("resume-as-original-receiver-after-partial", "pass"),
        ("resume-sender-after-partial-ack", "fail"),
    ],
    requirements: &[
        ("resume-sender-after-partial-ack", "7.4.5.1/sender-device-id", "fail"),
        ("resume-sender-after-partial-ack", "7.4.5/track-transferred-bytes", "pass"),
        ("resume-sender-after-partial-ack", "7.4.5.1/media-plane-byte-range", "pass"),
        ("resume-as-original-receiver", "7.4.5.1/receiver-device-id", "fail"),
        ("resume-as-original-receiver", "7.4.5.1/follow-7-4-1", "pass"),
        ("resume-as-original-receiver", "7.4.5.1/recvonly-original-receiver", "pass"),
        ("resume-as-original-receiver", "7.4.5.1/sdp-file-attributes", "pass"),
        ("resume-as-original-receiver", "7.4.5.1/terminate-on-completion", "pass"),
    ],
    evidence: &[("resume-as-original-receiver", "Accept-Contact")],
    exit: Some(1),
    protocol: &[],
})]
#[case::no_bye_after_resume("no-bye-after-resume", Expected {
    scenarios: &[("resume-as-original-receiver-after-partial", "fail")],
    requirements: &[
        ("resume-as-original-receiver-after-partial", "7.4.5.1/terminate-on-completion", "fail"),
        ("resume-as-original-receiver-after-partial", "7.4.5/track-transferred-bytes", "pass"),
        ("resume-as-original-receiver-after-partial", "7.4.5.1/sdp-file-attributes", "pass"),
    ],
    evidence: &[("resume-as-original-receiver-after-partial", "BYE")],
    exit: Some(1),
    protocol: &[],
})]
fn a_resuming_receiver_gets_the_7_4_5_1_verdicts(#[case] deviation: &str, #[case] want: Expected) {
    let profile = Profile::fixture("pyua")
        .env("PYUA_INVITES", "files")
        .env("PYUA_DEVIATIONS", deviation)
        .capabilities(&["pager", "file-transfer", "file-resume", "imdn"]);
    assert_verdicts(profile, &format!("resuming, deviation {deviation:?}"), want);
}

fn assert_verdicts(profile: Profile, label: &str, want: Expected) {
    let ids: Vec<&str> = want.scenarios.iter().map(|(id, _)| *id).collect();
    let r = run(&profile, &ids, &[]);
    let mut problems = Vec::new();
    for (id, verdict) in want.scenarios {
        let seen = r.scenario(id)["verdict"].as_str().unwrap_or("").to_owned();
        if seen != *verdict {
            problems.push(format!("{id}: scenario verdict {seen}, expected {verdict}"));
        }
    }
    for id in &ids {
        let verdicts = r.verdicts(id);
        let named: Vec<&str> = want
            .requirements
            .iter()
            .filter(|(s, req, _)| s == id && *req != REST)
            .map(|(_, req, _)| *req)
            .collect();
        for (_, req, v) in want.requirements.iter().filter(|(s, _, _)| s == id) {
            if *req == REST {
                for (other, seen) in verdicts
                    .iter()
                    .filter(|(k, _)| !named.contains(&k.as_str()))
                {
                    if seen != v {
                        problems.push(format!("{id} {other}: {seen}, expected {v}"));
                    }
                }
            } else {
                match verdicts.get(*req) {
                    Some(seen) if seen == v => {}
                    Some(seen) => problems.push(format!("{id} {req}: {seen}, expected {v}")),
                    None => problems.push(format!("{id} {req}: no verdict, expected {v}")),
                }
            }
        }
    }
    for (id, rule, verdict) in want.protocol {
        let seen = r.scenario(id)["protocol"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["rule"] == *rule)
            .map(|p| p["verdict"].as_str().unwrap_or("").to_owned());
        if seen.as_deref() != Some(*verdict) {
            problems.push(format!("{id} {rule}: {seen:?}, expected {verdict}"));
        }
    }
    for (id, text) in want.evidence {
        if !r.evidence(id).to_lowercase().contains(&text.to_lowercase()) {
            problems.push(format!("{id}: the verdict does not name {text:?}"));
        }
    }
    // The pcap of each scenario, checked offline, gives the same verdicts as the live run.
    for id in &ids {
        problems.extend(r.check_differences(id));
    }
    if let Some(code) = want.exit {
        if r.out.status.code() != Some(code) {
            problems.push(format!(
                "exit status {:?}, expected {code}",
                r.out.status.code()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{label}:\n  {}\n--- evidence ---\n{}\n--- run ---\n{}",
        problems.join("\n  "),
        ids.iter()
            .map(|id| format!("{id}: {}", r.evidence(id)))
            .collect::<Vec<_>>()
            .join("\n"),
        r.text()
    );
}

/// The whole suite against a client that claims sessions, declines every INVITE and refuses
/// every session command: nothing it never did is a pass, and nothing it did is an `error`
/// (an `ok: false` to a declared capability's command is `inconclusive`, naming the command).
#[test]
fn a_client_declining_every_session_earns_no_session_pass_and_no_error() {
    let profile = Profile::fixture("pyua")
        .env("PYUA_DEVIATIONS", "decline-invites")
        .capabilities(SESSION_CAPS);
    let r = run(&profile, &[], &[]);
    let requires = support::scenario_requires();
    let mut problems = Vec::new();
    for s in r.scenarios() {
        let id = s["id"].as_str().unwrap_or("");
        let verdict = s["verdict"].as_str().unwrap_or("");
        if verdict == "error" {
            problems.push(format!("{id}: error: {}", s["message"]));
        }
        let needs_session = requires
            .get(id)
            .is_some_and(|caps| caps.iter().any(|c| c != "pager"));
        if needs_session && verdict != "not-applicable" {
            for (req, v) in r.verdicts(id) {
                if req != UA && v == "pass" {
                    problems.push(format!("{id} {req}: pass without a session"));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{}\n--- run ---\n{}",
        problems.join("\n"),
        r.text()
    );
}
