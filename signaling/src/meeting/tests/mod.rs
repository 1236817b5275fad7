//! The meeting as a state machine, without a server: inputs in, effects and state out.
//! No socket, no runtime, no clock: the time is a number the test moves. The helpers are
//! here; the behaviours, by facet, in the files beside.

use sfu::{PeerId, TrackKind};

mod chair;
mod members;
mod membership;
mod recording;

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
    let slots = st.options.receive_slots(role);
    Layout {
        published: vec![TrackKind::Audio, TrackKind::Camera, TrackKind::Screen],
        video_slots: (0..slots.video).map(|i| format!("v{i}")).collect(),
        audio_slots: (0..slots.audio).map(|i| format!("a{i}")).collect(),
        node: None,
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
