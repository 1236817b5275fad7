//! Line check, chat, operators.

use super::*;

#[test]
fn a_site_writes_only_to_the_chair_and_the_chair_to_one_site_privately() {
    let mut st = everyone(false);
    for to in ["all", "s2"] {
        let chat = Chat {
            from: "s1".into(),
            to: to.into(),
            text: "x".into(),
        };
        assert_eq!(st.apply(chat, T0).unwrap_err().code, ErrorCode::Forbidden);
    }
    let chat = Chat {
        from: "chair".into(),
        to: "s2".into(),
        text: "Mời\u{7} điểm 2".into(),
    };
    let ((), effects) = st.apply(chat, T0).unwrap();
    assert!(matches!(
        sent_to(&effects, session("s2")).as_slice(),
        [ServerMessage::Chat { text, at_ms: T0, .. }] if text == "Mời điểm 2"
    ));
    assert!(sent_to(&effects, session("s1")).is_empty());
    assert!(sent_to(&effects, session("s3")).is_empty());
    assert!(!sent_to(&effects, session("operator")).is_empty());
}

#[test]
fn the_line_check_needs_an_offer_and_shows_its_result_to_the_site_and_the_watchers() {
    let mut st = meeting(false);
    connect(&mut st, "chair");
    connect(&mut st, "operator");
    st.apply(join_input("s1"), T0).unwrap();
    let check = Check {
        site: "s1".into(),
        session: session("s1"),
        on: true,
    };
    assert_eq!(st.apply(check, T0).unwrap_err().code, ErrorCode::NoOffer);
    let report = CheckReport {
        verdict: CheckVerdict::Video,
        camera: true,
        mic: true,
        rtt_ms: Some(40.0),
        loss_pct: Some(0.0),
        send_kbps: Some(900.0),
        recv_kbps: Some(880.0),
    };
    let stale = CheckResult {
        site: "s1".into(),
        session: 77,
        report: report.clone(),
    };
    assert_eq!(st.apply(stale, T0).unwrap_err().code, ErrorCode::NotJoined);
    let result = CheckResult {
        site: "s1".into(),
        session: session("s1"),
        report,
    };
    let ((), effects) = st.apply(result, T0).unwrap();
    for s in ["s1", "chair", "operator"] {
        assert!(matches!(
            sent_to(&effects, session(s)).as_slice(),
            [ServerMessage::CheckResult { site_id, at_ms: T0, .. }] if site_id == "s1"
        ));
    }
    // A watcher who joins later sees it in its welcome.
    connect(&mut st, "s2");
    let (joined, _) = st
        .apply(
            Join {
                session: 50,
                peer: PeerId(500),
                ..join_input("chair")
            },
            T0,
        )
        .unwrap();
    assert!(joined
        .messages
        .iter()
        .any(|m| matches!(m, ServerMessage::CheckResult { site_id, .. } if site_id == "s1")));
}

#[test]
fn an_operator_forces_a_site_to_audio_only_and_only_operators_may() {
    let mut st = everyone(false);
    act(&mut st, "chair", Action::Open).unwrap();
    let forced = AudioOnly {
        actor: "chair".into(),
        target: "s1".into(),
        on: true,
    };
    assert_eq!(st.apply(forced, T0).unwrap_err().code, ErrorCode::Forbidden);
    let forced = AudioOnly {
        actor: "operator".into(),
        target: "s1".into(),
        on: true,
    };
    let ((), effects) = st.apply(forced, T0).unwrap();
    assert_eq!(
        receives(&effects, "s1").unwrap(),
        [(peer("chair"), TrackKind::Audio)]
    );
    assert!(matches!(
        site_state_of(&sent_to(&effects, session("chair")), "s1"),
        Some(ServerMessage::SiteState {
            audio_only_forced: true,
            ..
        })
    ));
    let notice = Notice {
        actor: "operator".into(),
        target: "s2".into(),
        text: "Kiểm tra loa".into(),
    };
    let ((), effects) = st.apply(notice, T0).unwrap();
    assert_eq!(sent_to(&effects, session("s2")).len(), 1);
    let (stats, effects) = st.apply(Stats, T0).unwrap();
    assert!(matches!(stats, Some(ServerMessage::Stats { ref sites, .. }) if sites.len() == 5));
    assert_eq!(sent_to(&effects, session("operator")).len(), 1);
    assert!(sent_to(&effects, session("chair")).is_empty());
}
