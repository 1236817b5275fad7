//! Recording the program: who may start it is the dispatch table's business; here, what it
//! records (the chair, floor holders, the presenter), that it follows the floor, and that
//! the end of the meeting closes everything.

use super::*;
use crate::meeting::recording::{Start, Stop};

/// The (peer, label) of every recording started (`Some`) or stopped (`None`) in `effects`.
fn recorded(effects: &[Effect]) -> Vec<(PeerId, Option<String>)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Record { peer, label } => Some((*peer, label.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn recording_starts_with_the_chair_follows_the_floor_and_tells_everyone() {
    let mut st = everyone(true);
    act(&mut st, "chair", Action::Open).unwrap();
    let ((), effects) = st.apply(Start, T0).unwrap();
    assert_eq!(recorded(&effects), [(peer("chair"), Some("chair".into()))]);
    for s in ["chair", "s1", "s2", "s3", "operator"] {
        assert!(
            sent_to(&effects, session(s)).iter().any(|m| matches!(
                m,
                ServerMessage::Recording {
                    on: true,
                    since_ms: Some(T0),
                    ..
                }
            )),
            "{s} is told"
        );
    }
    let refused = st.apply(Start, T0).unwrap_err();
    assert_eq!(refused.code, ErrorCode::AlreadyRecording);

    let effects = act(&mut st, "chair", Action::Grant("s1".into())).unwrap();
    assert_eq!(recorded(&effects), [(peer("s1"), Some("s1".into()))]);
    // The floor moves: s1 stops, s2 starts; the chair goes on untouched.
    act(&mut st, "chair", Action::Revoke("s1".into())).unwrap();
    let effects = act(&mut st, "chair", Action::Grant("s2".into())).unwrap();
    assert_eq!(recorded(&effects), [(peer("s2"), Some("s2".into()))]);
    let effects = act(&mut st, "chair", Action::Revoke("s2".into())).unwrap();
    assert_eq!(recorded(&effects), [(peer("s2"), None)]);
    // Nothing about the program changed: nothing to record anew.
    let effects = act(&mut st, "chair", Action::Lock(true)).unwrap();
    assert!(recorded(&effects).is_empty());

    let ((), effects) = st.apply(Stop { reason: "stopped" }, T0).unwrap();
    assert_eq!(recorded(&effects), [(peer("chair"), None)]);
    assert!(sent_to(&effects, session("s3")).iter().any(|m| matches!(
        m,
        ServerMessage::Recording { on: false, reason: Some(r), .. } if r == "stopped"
    )));
    let refused = st.apply(Stop { reason: "stopped" }, T0).unwrap_err();
    assert_eq!(refused.code, ErrorCode::NotRecording);
}

#[test]
fn a_site_joining_a_recorded_meeting_is_told_right_after_joined() {
    let mut st = meeting(true);
    connect(&mut st, "chair");
    st.apply(Start, T0).unwrap();
    let (joined, _) = st.apply(join_input("s1"), T0 + 5).unwrap();
    assert!(matches!(joined.messages[0], ServerMessage::Joined { .. }));
    assert!(joined.messages.iter().any(|m| matches!(
        m,
        ServerMessage::Recording {
            on: true,
            since_ms: Some(T0),
            ..
        }
    )));
}

#[test]
fn the_end_of_the_meeting_stops_the_recording_and_closes_every_file() {
    let mut st = everyone(true);
    act(&mut st, "chair", Action::Open).unwrap();
    act(&mut st, "chair", Action::Grant("s1".into())).unwrap();
    let ((), effects) = st.apply(Start, T0).unwrap();
    let mut started: Vec<PeerId> = recorded(&effects).into_iter().map(|(p, _)| p).collect();
    started.sort();
    assert_eq!(started, [peer("chair"), peer("s1")]);
    let effects = act(&mut st, "chair", Action::End).unwrap();
    let mut stopped: Vec<(PeerId, Option<String>)> = recorded(&effects);
    stopped.sort();
    assert_eq!(stopped, [(peer("chair"), None), (peer("s1"), None)]);
    assert!(st.recording().is_none());
    assert_eq!(
        st.apply(Start, T0).unwrap_err().code,
        ErrorCode::RecordingUnavailable
    );
}

#[test]
fn a_server_without_files_cannot_record() {
    let mut st = everyone(false);
    let refused = st.apply(Start, T0).unwrap_err();
    assert_eq!(refused.code, ErrorCode::RecordingUnavailable);
    assert!(st.recording().is_none());
}
