//! Joining, resuming, leaving: the one leave, and the node told once.

use super::*;

#[test]
fn a_join_answers_joined_then_the_meeting_state_and_floor_and_routes_only_afterwards() {
    let mut st = meeting(false);
    let (joined, effects) = st.apply(join_input("s1"), T0).unwrap();
    assert!(!joined.resumed);
    assert_eq!(joined.peer, peer("s1"));
    let kinds: Vec<&str> = joined
        .messages
        .iter()
        .map(|m| match m {
            ServerMessage::Joined { .. } => "joined",
            ServerMessage::MeetingState { .. } => "meeting_state",
            ServerMessage::Floor { .. } => "floor",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["joined", "meeting_state", "floor"]);
    // The node learns whose connection it is; nothing is routed before `joined` is out.
    assert!(matches!(
        effects.as_slice(),
        [Effect::PeerAdded { peer: p, site }] if *p == peer("s1") && site == "s1"
    ));
    assert!(st.is_connected("s1"));
    assert_eq!(
        st.roster()[1].state,
        Presence::Waiting,
        "present from its offer"
    );
}

#[test]
fn a_site_is_present_from_its_accepted_offer_and_the_hall_sees_it_arrive() {
    let mut st = meeting(true);
    connect(&mut st, "chair");
    let effects = connect(&mut st, "s1");
    assert_eq!(st.roster()[1].state, Presence::Joined);
    let to_chair = sent_to(&effects, session("chair"));
    assert!(matches!(
        site_state_of(&to_chair, "s1"),
        Some(ServerMessage::SiteState { site, .. }) if site.state == Presence::Joined
    ));
    // The hall's grid shows it at once, lobby or not.
    let hall = receives(&effects, "chair").expect("the hall is re-routed");
    assert!(hall.contains(&(peer("s1"), TrackKind::Camera)));
    assert!(hall.contains(&(peer("s1"), TrackKind::Audio)));
    assert!(to_chair
        .iter()
        .any(|m| matches!(m, ServerMessage::Grid { sites, .. } if sites == &["s1"])));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Persist { durable: false, .. })),
        "the roll call's join is kept"
    );
    assert_eq!(st.attendance(T0).sites[1].joins, 1);
}

#[test]
fn a_site_that_leaves_is_removed_from_the_sfu_once_and_the_roll_call_records_it() {
    let mut st = everyone(false);
    let depart = Depart {
        site: "s1".into(),
        session: session("s1"),
        peer: peer("s1"),
        detach: false,
    };
    let (departure, effects) = st.apply(depart, T0 + 60_000).unwrap();
    assert_eq!(departure, Departure::Gone);
    assert_eq!(removed_peers(&effects), [peer("s1")]);
    assert!(effects.iter().any(
        |e| matches!(e, Effect::ForgetSiteMetrics { site, role: Role::Site } if site == "s1")
    ));
    assert!(!st.is_connected("s1"));
    assert_eq!(st.roster()[1].state, Presence::Left);
    let row = &st.attendance(T0 + 120_000).sites[1];
    assert_eq!(
        (row.present_seconds, row.last_left_ms),
        (60, Some(T0 + 60_000))
    );
    for watcher in ["chair", "operator"] {
        assert!(
            site_state_of(&sent_to(&effects, session(watcher)), "s1").is_some(),
            "{watcher} sees s1 leave"
        );
    }
    assert!(
        site_state_of(&sent_to(&effects, session("s2")), "s1").is_none(),
        "other sites do not see the roster"
    );
    assert!(
        !receives(&effects, "chair")
            .unwrap()
            .iter()
            .any(|(p, _)| *p == peer("s1")),
        "the hall no longer receives it"
    );
}

#[test]
fn a_dropped_socket_keeps_its_place_until_the_resume_grace_is_over() {
    let mut st = everyone(false);
    let depart = Depart {
        site: "s1".into(),
        session: session("s1"),
        peer: peer("s1"),
        detach: true,
    };
    let (departure, effects) = st.apply(depart, T0).unwrap();
    assert_eq!(departure, Departure::Detached);
    assert!(effects.is_empty(), "nothing happens while it may resume");
    assert!(st.is_connected("s1"));
    let expire = Expire {
        site: "s1".into(),
        session: session("s1"),
        peer: peer("s1"),
    };
    let (unused, effects) = st.apply(expire, T0 + 30_000).unwrap();
    assert!(unused);
    assert_eq!(removed_peers(&effects), [peer("s1")]);
    assert!(!st.is_connected("s1"));
}

#[test]
fn a_resume_with_the_secret_keeps_the_connection_and_closes_the_old_socket() {
    let mut st = everyone(false);
    let resume = Join {
        session: 42,
        peer: PeerId(999),
        resume: Some("secret-s1".into()),
        secret: "secret-s1-2".into(),
        ..join_input("s1")
    };
    let (joined, effects) = st.apply(resume, T0).unwrap();
    assert!(joined.resumed);
    assert_eq!(joined.peer, peer("s1"), "the same media connection");
    assert!(removed_peers(&effects).is_empty());
    assert!(!effects
        .iter()
        .any(|e| matches!(e, Effect::PeerAdded { .. })));
    assert!(matches!(
        closed(&effects).as_slice(),
        [(
            2,
            ServerMessage::Error {
                code: ErrorCode::Replaced,
                ..
            }
        )]
    ));
    // The old socket no longer speaks for the site; its close changes nothing.
    let late = Depart {
        site: "s1".into(),
        session: session("s1"),
        peer: peer("s1"),
        detach: false,
    };
    let (departure, effects) = st.apply(late, T0).unwrap();
    assert_eq!(departure, Departure::Resumed);
    assert!(effects.is_empty());
    assert_eq!(st.attendance(T0).sites[1].joins, 1, "a resume is no rejoin");
}

#[test]
fn a_join_with_a_wrong_secret_replaces_the_connection() {
    let mut st = everyone(false);
    let rejoin = Join {
        session: 42,
        peer: PeerId(999),
        resume: Some("not-the-secret".into()),
        ..join_input("s1")
    };
    let (joined, effects) = st.apply(rejoin, T0).unwrap();
    assert!(!joined.resumed);
    assert_eq!(joined.peer, PeerId(999));
    assert_eq!(removed_peers(&effects), [peer("s1")]);
    assert!(matches!(
        closed(&effects).as_slice(),
        [(
            2,
            ServerMessage::Error {
                code: ErrorCode::Replaced,
                ..
            }
        )]
    ));
    assert!(effects.iter().any(
        |e| matches!(e, Effect::PeerAdded { peer, site } if *peer == PeerId(999) && site == "s1")
    ));
    assert_eq!(st.peer_of("s1"), Some(PeerId(999)));
}

#[test]
fn a_revoked_link_is_refused_and_its_session_closed() {
    let mut st = everyone(true);
    let reissue = Reissue {
        site: "s1".into(),
        jti: "jti-new".into(),
    };
    let ((), effects) = st.apply(reissue, T0).unwrap();
    assert!(matches!(
        closed(&effects).as_slice(),
        [(
            2,
            ServerMessage::Error {
                code: ErrorCode::LinkRevoked,
                ..
            }
        )]
    ));
    assert_eq!(removed_peers(&effects), [peer("s1")]);
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::Persist { durable: true, .. })));
    assert_eq!(
        st.apply(join_input("s1"), T0).unwrap_err().code,
        ErrorCode::LinkRevoked
    );
    st.apply(
        Join {
            link: "jti-new".into(),
            ..join_input("s1")
        },
        T0,
    )
    .expect("the new link joins");
}

#[test]
fn a_site_whose_media_died_is_told_to_reconnect_and_has_left() {
    let mut st = everyone(false);
    let stale = MediaLost {
        site: "s1".into(),
        peer: PeerId(7),
    };
    let ((), effects) = st.apply(stale, T0).unwrap();
    assert!(
        effects.is_empty(),
        "an old connection's death changes nothing"
    );
    let lost = MediaLost {
        site: "s1".into(),
        peer: peer("s1"),
    };
    let ((), effects) = st.apply(lost, T0).unwrap();
    assert!(matches!(
        closed(&effects).as_slice(),
        [(2, ServerMessage::Reconnect)]
    ));
    assert_eq!(removed_peers(&effects), [peer("s1")]);
    assert_eq!(st.roster()[1].state, Presence::Left);
}
