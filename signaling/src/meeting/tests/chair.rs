//! The consequences of the chair's (and the admin's) decisions.

use super::*;

#[test]
fn the_lobby_sends_sites_nothing_and_opening_it_starts_the_program_and_ends_line_checks() {
    let mut st = everyone(false);
    assert_eq!(
        st.routed["s1"]
            .iter()
            .filter(|a| a.source.is_some())
            .count(),
        0
    );
    let check = Check {
        site: "s1".into(),
        session: session("s1"),
        on: true,
    };
    let ((), effects) = st.apply(check, T0).unwrap();
    assert_eq!(
        receives(&effects, "s1").unwrap(),
        [
            (peer("s1"), TrackKind::Camera),
            (peer("s1"), TrackKind::Audio)
        ],
        "the line check loops its own media back"
    );
    assert!(matches!(
        sent_to(&effects, session("s1")).as_slice(),
        [
            ServerMessage::Slots { .. },
            ServerMessage::Check { on: true }
        ]
    ));
    let effects = act(&mut st, "chair", Action::Open).unwrap();
    assert_eq!(st.rules().phase, Phase::Open);
    let to_s1 = sent_to(&effects, session("s1"));
    assert!(to_s1.contains(&&ServerMessage::Check { on: false }));
    assert!(to_s1.iter().any(|m| matches!(
        m,
        ServerMessage::MeetingState {
            phase: Phase::Open,
            ..
        }
    )));
    let program = receives(&effects, "s2").unwrap();
    assert_eq!(
        program,
        [
            (peer("chair"), TrackKind::Camera),
            (peer("chair"), TrackKind::Audio)
        ]
    );
    assert_eq!(
        receives(&effects, "s1").unwrap(),
        program,
        "no more loopback"
    );
    let again = Check {
        site: "s1".into(),
        session: session("s1"),
        on: true,
    };
    assert_eq!(
        st.apply(again, T0).unwrap_err().code,
        ErrorCode::Conflict,
        "the line check is for the lobby"
    );
}

#[test]
fn a_raised_hand_reaches_everyone_and_a_granted_site_is_heard_and_seen_by_the_others() {
    let mut st = everyone(false);
    act(&mut st, "chair", Action::Open).unwrap();
    let effects = act(&mut st, "s1", Action::RaiseHand).unwrap();
    for s in ["chair", "s2", "operator"] {
        assert!(
            sent_to(&effects, session(s)).iter().any(|m| matches!(
                m,
                ServerMessage::Floor { hands, .. } if hands.iter().any(|h| h.site_id == "s1")
            )),
            "{s} sees the hand"
        );
    }
    let effects = act(&mut st, "chair", Action::Grant("s1".into())).unwrap();
    assert_eq!(st.rules().holders, ["s1"]);
    assert!(st.rules().hands.is_empty(), "the hand is answered");
    for s in ["s2", "s3", "operator"] {
        let got = receives(&effects, s).unwrap();
        assert!(
            got.contains(&(peer("s1"), TrackKind::Audio)),
            "{s} hears s1"
        );
        assert!(
            got.contains(&(peer("s1"), TrackKind::Camera)),
            "{s} sees s1"
        );
    }
    assert!(
        receives(&effects, "s1").is_none(),
        "the holder's own routing does not change: it is not sent itself"
    );
    assert!(st.routed["s1"]
        .iter()
        .filter_map(|a| a.source.as_ref())
        .all(|r| r.site == "chair"));
    let effects = act(&mut st, "chair", Action::Revoke("s1".into())).unwrap();
    assert!(!receives(&effects, "s2")
        .unwrap()
        .contains(&(peer("s1"), TrackKind::Audio)));
}

#[test]
fn a_muted_site_is_heard_by_nobody_and_the_watchers_and_the_site_are_told() {
    let mut st = everyone(false);
    act(&mut st, "chair", Action::Open).unwrap();
    act(&mut st, "chair", Action::Grant("s1".into())).unwrap();
    let effects = act(&mut st, "chair", Action::Mute("s1".into(), true)).unwrap();
    for s in ["chair", "s2", "s3", "operator"] {
        assert!(
            !receives(&effects, s)
                .unwrap()
                .contains(&(peer("s1"), TrackKind::Audio)),
            "{s} must not hear muted s1"
        );
    }
    for s in ["chair", "operator", "s1"] {
        assert!(
            matches!(
                site_state_of(&sent_to(&effects, session(s)), "s1"),
                Some(ServerMessage::SiteState { muted: true, .. })
            ),
            "{s} is told"
        );
    }
    assert!(site_state_of(&sent_to(&effects, session("s2")), "s1").is_none());
}

#[test]
fn a_removed_site_is_closed_and_refused_until_readmitted() {
    let mut st = everyone(false);
    let effects = act(&mut st, "chair", Action::Remove("s2".into())).unwrap();
    assert!(matches!(
        closed(&effects).as_slice(),
        [(3, ServerMessage::Ended { reason })] if reason == "removed_by_chair"
    ));
    assert_eq!(removed_peers(&effects), [peer("s2")]);
    assert!(!st.is_connected("s2"));
    let again = st.apply(join_input("s2"), T0).unwrap_err();
    assert_eq!(again.code, ErrorCode::SiteRemoved);
    act(&mut st, "chair", Action::Readmit("s2".into())).unwrap();
    st.apply(join_input("s2"), T0).expect("readmitted");
}

#[test]
fn a_locked_meeting_refuses_sites_that_never_joined_but_lets_the_others_back() {
    let mut st = meeting(false);
    connect(&mut st, "chair");
    connect(&mut st, "s1");
    let depart = Depart {
        site: "s1".into(),
        session: session("s1"),
        peer: peer("s1"),
        detach: false,
    };
    st.apply(depart, T0).unwrap();
    act(&mut st, "chair", Action::Lock(true)).unwrap();
    assert_eq!(
        st.apply(join_input("s2"), T0).unwrap_err().code,
        ErrorCode::Locked
    );
    assert!(!st.is_connected("s2"), "a refusal changes nothing");
    st.apply(join_input("s1"), T0).expect("s1 was here before");
}

#[test]
fn ending_closes_every_socket_and_connection_once_and_keeps_the_end_on_disk_first() {
    let mut st = everyone(true);
    let effects = act(&mut st, "chair", Action::End).unwrap();
    let mut sessions: Vec<u64> = closed(&effects).iter().map(|(s, _)| *s).collect();
    sessions.sort_unstable();
    assert_eq!(sessions, [1, 2, 3, 4, 5]);
    assert!(closed(&effects)
        .iter()
        .all(|(_, m)| matches!(m, ServerMessage::Ended { reason } if reason == "ended_by_chair")));
    let mut peers = removed_peers(&effects);
    peers.sort_unstable_by_key(|p| p.0);
    assert_eq!(peers, [101, 102, 103, 104, 105].map(PeerId));
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::Send { .. })),
        "nobody is told anything but `ended`"
    );
    let persists: Vec<bool> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Persist { durable, record } => {
                assert_eq!(record.snapshot.rules.phase, Phase::Ended);
                assert_eq!(record.snapshot.ended_ms, Some(T0));
                Some(*durable)
            }
            _ => None,
        })
        .collect();
    assert_eq!(persists, [true], "one durable write");
    assert_eq!(st.connected(), 0);
    assert!(st.roster()[1..4].iter().all(|s| s.state == Presence::Left));
    assert_eq!(
        st.apply(join_input("s1"), T0).unwrap_err().code,
        ErrorCode::UnknownMeeting
    );
    assert_eq!(
        act(&mut st, "chair", Action::Open).unwrap_err().code,
        ErrorCode::Conflict
    );
}

#[test]
fn a_chair_decision_is_written_before_anyone_is_told_of_it() {
    // Told = acknowledged: a kill after the chair saw its lock must not lose the lock.
    for action in [
        Action::Lock(true),
        Action::Grant("s1".into()),
        Action::Mute("s2".into(), true),
    ] {
        let mut st = everyone(true);
        let effects = act(&mut st, "chair", action.clone()).unwrap();
        assert!(
            matches!(effects.first(), Some(Effect::Persist { durable: true, .. })),
            "{action:?}: the durable write comes first"
        );
        assert!(
            effects.iter().any(|e| matches!(e, Effect::Send { .. })),
            "{action:?}: somebody is told"
        );
        assert_eq!(
            effects
                .iter()
                .filter(|e| matches!(e, Effect::Persist { .. }))
                .count(),
            1,
            "{action:?}: one write"
        );
    }
}

#[test]
fn the_admins_end_and_edit_go_through_the_same_leave() {
    let mut st = everyone(false);
    let edit = Edit {
        title: Some("Họp mới".into()),
        added: vec![site("s4", Role::Site)],
        removed: vec!["s3".into()],
    };
    let ((), effects) = st.apply(edit, T0).unwrap();
    assert_eq!(removed_peers(&effects), [peer("s3")]);
    assert!(matches!(
        closed(&effects).as_slice(),
        [(4, ServerMessage::Ended { reason })] if reason == "removed_by_chair"
    ));
    assert_eq!(st.title(), "Họp mới");
    let ids: Vec<&str> = st.sites().iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        ["chair", "s1", "s2", "s3", "s4", "operator"],
        "s3 joined once: kept"
    );
    let ((), effects) = st.apply(End, T0).unwrap();
    assert_eq!(removed_peers(&effects).len(), 4);
    assert_eq!(st.ended_ms(), Some(T0));
}

#[test]
fn a_cochair_moderates_and_reads_what_sites_write_to_the_chair() {
    let mut st = everyone(false);
    assert_eq!(
        act(&mut st, "s1", Action::Mute("s2".into(), true))
            .unwrap_err()
            .code,
        ErrorCode::Forbidden
    );
    let effects = act(&mut st, "chair", Action::Cochair("s1".into(), true)).unwrap();
    assert!(matches!(
        site_state_of(&sent_to(&effects, session("s1")), "s1"),
        Some(ServerMessage::SiteState { cochair: true, .. })
    ));
    act(&mut st, "s1", Action::Mute("s2".into(), true)).expect("a co-chair moderates");
    assert!(st.rules().muted.contains("s2"));
    let chat = Chat {
        from: "s2".into(),
        to: "chair".into(),
        text: "Xin phát biểu".into(),
    };
    let ((), effects) = st.apply(chat, T0).unwrap();
    for (s, reads) in [
        ("chair", true),
        ("s1", true),
        ("operator", true),
        ("s2", true),
        ("s3", false),
    ] {
        assert_eq!(
            !sent_to(&effects, session(s)).is_empty(),
            reads,
            "{s} reads the message: {reads}"
        );
    }
}

#[test]
fn a_floor_holders_screen_reaches_every_site_and_the_hall() {
    let mut st = everyone(false);
    act(&mut st, "chair", Action::Open).unwrap();
    assert_eq!(
        act(&mut st, "s1", Action::Present(true)).unwrap_err().code,
        ErrorCode::Forbidden,
        "a site presents only with the floor"
    );
    act(&mut st, "chair", Action::Grant("s1".into())).unwrap();
    let effects = act(&mut st, "s1", Action::Present(true)).unwrap();
    for s in ["chair", "s2", "s3", "operator"] {
        assert!(
            receives(&effects, s)
                .unwrap()
                .contains(&(peer("s1"), TrackKind::Screen)),
            "{s} receives the screen"
        );
    }
    assert!(sent_to(&effects, session("s2"))
        .iter()
        .any(|m| matches!(m, ServerMessage::Floor { presenter: Some(p), .. } if p == "s1")));
}

#[test]
fn the_chair_pages_the_grid_and_nobody_else_may() {
    let mut st = everyone(false);
    let grid = Grid {
        actor: "s1".into(),
        page: 1,
        page_size: None,
    };
    assert_eq!(st.apply(grid, T0).unwrap_err().code, ErrorCode::Forbidden);
    let grid = Grid {
        actor: "chair".into(),
        page: 1,
        page_size: Some(2),
    };
    let ((), effects) = st.apply(grid, T0).unwrap();
    assert!(matches!(
        sent_to(&effects, session("chair")).as_slice(),
        [ServerMessage::Grid { page: 1, pages: 2, sites, .. }, ServerMessage::Slots { .. }]
            if sites == &["s3"]
    ));
    let hall = receives(&effects, "chair").unwrap();
    assert!(hall.contains(&(peer("s3"), TrackKind::Camera)));
    assert!(!hall.contains(&(peer("s1"), TrackKind::Camera)));
    let too_big = Grid {
        actor: "chair".into(),
        page: 0,
        page_size: Some(99),
    };
    assert_eq!(
        st.apply(too_big, T0).unwrap_err().code,
        ErrorCode::BadMessage
    );
}

#[test]
fn a_refused_action_changes_nothing_and_asks_for_nothing() {
    let mut st = everyone(true);
    let before = format!("{:?}", st.rules());
    for (actor, action) in [
        ("s1", Action::Grant("s2".into())),
        ("chair", Action::RaiseHand),
        ("s1", Action::Open),
        ("chair", Action::Mute("nobody".into(), true)),
    ] {
        assert!(act(&mut st, actor, action).is_err());
    }
    assert_eq!(format!("{:?}", st.rules()), before);
    assert!(st.effects.is_empty() && st.persist.is_none());
}
