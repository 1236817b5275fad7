//! The meeting as a state machine, without a server: inputs in, effects and state out.
//! No socket, no runtime, no clock: the time is a number the test moves.

use sfu::{PeerId, TrackKind};

use super::chair::{Act, Edit, End, Grid};
use super::chat::Chat;
use super::linecheck::{Check, CheckResult};
use super::membership::{Depart, Expire, Join, MediaLost, Reissue, RouteJoined, SetLayout};
use super::operator::{AudioOnly, Notice, Stats};
use super::{Departure, Effect, ExpectedSite, Layout, MeetingOptions, State};
use crate::moderation::Action;
use crate::protocol::{
    CheckReport, CheckVerdict, ErrorCode, Phase, Presence, Refusal, Role, ServerMessage,
};

const T0: u64 = 1_800_000_000_000;

fn site(id: &str, role: Role) -> ExpectedSite {
    ExpectedSite {
        id: id.into(),
        name: format!("Điểm {id}"),
        role,
    }
}

/// A meeting of the chair, three sites and an operator; `kept` on disk or not.
fn meeting(kept: bool) -> State {
    let sites = vec![
        site("chair", Role::Chair),
        site("s1", Role::Site),
        site("s2", Role::Site),
        site("s3", Role::Site),
        site("operator", Role::Operator),
    ];
    State::new(
        "m1".into(),
        "Họp giao ban".into(),
        T0 / 1000 + 86_400,
        sites,
        MeetingOptions::default(),
        kept,
    )
}

/// Each site's socket and connection in these tests: chair 1, s1 2, s2 3, s3 4, operator 5.
fn session(site: &str) -> u64 {
    match site {
        "chair" => 1,
        "s1" => 2,
        "s2" => 3,
        "s3" => 4,
        "operator" => 5,
        other => panic!("no session for {other}"),
    }
}

fn peer(site: &str) -> PeerId {
    PeerId(100 + session(site))
}

fn join_input(site: &str) -> Join {
    Join {
        site: site.into(),
        link: format!("jti-{site}"),
        session: session(site),
        peer: peer(site),
        resume: None,
        secret: format!("secret-{site}"),
    }
}

fn layout(st: &State, site: &str) -> Layout {
    let role = st.site(site).unwrap().role;
    let slots = st.receive_slots(role);
    Layout {
        published: vec![TrackKind::Audio, TrackKind::Camera, TrackKind::Screen],
        video_slots: (0..slots.video).map(|i| format!("v{i}")).collect(),
        audio_slots: (0..slots.audio).map(|i| format!("a{i}")).collect(),
    }
}

/// Joins `site` and has its offer accepted; returns the effects of the offer.
fn connect(st: &mut State, site: &str) -> Vec<Effect> {
    st.apply(join_input(site), T0).expect("joins");
    st.apply(RouteJoined, T0).unwrap();
    let set = SetLayout {
        site: site.into(),
        session: session(site),
        layout: layout(st, site),
    };
    let (held, effects) = st.apply(set, T0).unwrap();
    assert!(held);
    effects
}

fn everyone(kept: bool) -> State {
    let mut st = meeting(kept);
    for s in ["chair", "s1", "s2", "s3", "operator"] {
        connect(&mut st, s);
    }
    st
}

fn act(st: &mut State, actor: &str, action: Action) -> Result<Vec<Effect>, Refusal> {
    let act = Act {
        actor: actor.into(),
        action,
    };
    st.apply(act, T0).map(|((), e)| e)
}

/// What socket `session` is sent, in order (a closing message included).
fn sent_to(effects: &[Effect], to: u64) -> Vec<&ServerMessage> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { session, message } | Effect::Close { session, message }
                if *session == to =>
            {
                Some(message)
            }
            _ => None,
        })
        .collect()
}

fn closed(effects: &[Effect]) -> Vec<(u64, &ServerMessage)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Close { session, message } => Some((*session, message)),
            _ => None,
        })
        .collect()
}

fn removed_peers(effects: &[Effect]) -> Vec<PeerId> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::RemovePeer(p) => Some(*p),
            _ => None,
        })
        .collect()
}

/// The (source peer, track) pairs of `to`'s last subscriptions in `effects`.
fn receives(effects: &[Effect], to: &str) -> Option<Vec<(PeerId, TrackKind)>> {
    effects.iter().rev().find_map(|e| match e {
        Effect::Subscribe {
            peer: p,
            subscriptions,
        } if *p == peer(to) => Some(
            subscriptions
                .iter()
                .filter_map(|s| s.source.as_ref().map(|src| (src.peer, src.track)))
                .collect(),
        ),
        _ => None,
    })
}

fn site_state_of<'a>(messages: &[&'a ServerMessage], id: &str) -> Option<&'a ServerMessage> {
    messages
        .iter()
        .copied()
        .find(|m| matches!(m, ServerMessage::SiteState { site, .. } if site.id == id))
}

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
