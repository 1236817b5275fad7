//! Who receives what: the meeting's routing rule, as one pure function.
//!
//! Rule of this version (fixed program; floor control changes it later):
//! - every site and operator receives the chair's camera at the high layer and the chair's
//!   audio, in its first video and audio slot;
//! - the chair receives every site's camera at the low layer (its grid) and every site's
//!   audio, one site per slot in roster order; sites beyond the slots are not sent;
//! - a site receives no other site's media; operators publish nothing.
//!
//! The SFU enforces the result: media not routed here is never forwarded.

use sfu::{Layer, PeerId, TrackKind};

use crate::protocol::{Role, SlotKind};

/// A participant whose media connection is negotiated.
#[derive(Debug, Clone)]
pub struct Participant<'a> {
    /// Site id.
    pub site: &'a str,
    /// Role.
    pub role: Role,
    /// Its peer connection in the SFU.
    pub peer: PeerId,
    /// Tracks it publishes.
    pub publishes: &'a [TrackKind],
    /// Its video receive slots (mids).
    pub video_slots: &'a [String],
    /// Its audio receive slots (mids).
    pub audio_slots: &'a [String],
}

/// The source routed into one slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    /// Site whose media it is.
    pub site: String,
    /// Its peer.
    pub peer: PeerId,
    /// Which track.
    pub track: TrackKind,
    /// Wanted layer.
    pub layer: Layer,
}

/// One slot of one subscriber and what it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// Slot mid.
    pub slot: String,
    /// Audio or video.
    pub kind: SlotKind,
    /// Source, `None` for an idle slot.
    pub source: Option<Routed>,
}

/// Every slot of `subscriber`, filled by the rule above. `participants` is in roster order.
pub fn route(participants: &[Participant<'_>], subscriber: &Participant<'_>) -> Vec<Assignment> {
    let from = |p: &Participant<'_>, track: TrackKind, layer: Layer| {
        p.publishes.contains(&track).then(|| Routed {
            site: p.site.to_owned(),
            peer: p.peer,
            track,
            layer,
        })
    };
    let (videos, audios): (Vec<Option<Routed>>, Vec<Option<Routed>>) = match subscriber.role {
        Role::Chair => participants
            .iter()
            .filter(|p| p.role == Role::Site && p.peer != subscriber.peer)
            .map(|p| (from(p, TrackKind::Camera, Layer::Low), from(p, TrackKind::Audio, Layer::Low)))
            .unzip(),
        Role::Site | Role::Operator => participants
            .iter()
            .filter(|p| p.role == Role::Chair && p.peer != subscriber.peer)
            .take(1)
            .map(|p| (from(p, TrackKind::Camera, Layer::High), from(p, TrackKind::Audio, Layer::High)))
            .unzip(),
    };
    let fill = |slots: &[String], kind: SlotKind, sources: Vec<Option<Routed>>| {
        let mut sources = sources.into_iter();
        slots
            .iter()
            .map(|slot| Assignment {
                slot: slot.clone(),
                kind,
                source: sources.next().flatten(),
            })
            .collect::<Vec<_>>()
    };
    let mut out = fill(subscriber.video_slots, SlotKind::Video, videos);
    out.extend(fill(subscriber.audio_slots, SlotKind::Audio, audios));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const AV: &[TrackKind] = &[TrackKind::Audio, TrackKind::Camera];

    fn slots(prefix: &str, n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{prefix}{i}")).collect()
    }

    struct Fixture {
        v: Vec<String>,
        a: Vec<String>,
    }

    fn participant<'a>(site: &'a str, role: Role, peer: u64, f: &'a Fixture, publishes: &'a [TrackKind]) -> Participant<'a> {
        Participant {
            site,
            role,
            peer: PeerId(peer),
            publishes,
            video_slots: &f.v,
            audio_slots: &f.a,
        }
    }

    fn sources(a: &[Assignment], kind: SlotKind) -> Vec<Option<(String, Layer)>> {
        a.iter()
            .filter(|x| x.kind == kind)
            .map(|x| x.source.as_ref().map(|s| (s.site.clone(), s.layer)))
            .collect()
    }

    #[test]
    fn chair_receives_every_site_at_low_layer_in_roster_order() {
        let f = Fixture { v: slots("v", 3), a: slots("a", 3) };
        let chair = participant("chair", Role::Chair, 1, &f, AV);
        let s1 = participant("s1", Role::Site, 2, &f, AV);
        let s2 = participant("s2", Role::Site, 3, &f, AV);
        let all = [chair.clone(), s1, s2];
        let r = route(&all, &chair);
        assert_eq!(
            sources(&r, SlotKind::Video),
            vec![Some(("s1".into(), Layer::Low)), Some(("s2".into(), Layer::Low)), None]
        );
        assert_eq!(sources(&r, SlotKind::Audio).iter().flatten().count(), 2);
    }

    #[test]
    fn site_receives_only_the_chair_at_high_layer() {
        let f = Fixture { v: slots("v", 3), a: slots("a", 3) };
        let chair = participant("chair", Role::Chair, 1, &f, AV);
        let s1 = participant("s1", Role::Site, 2, &f, AV);
        let s2 = participant("s2", Role::Site, 3, &f, AV);
        let all = [chair, s1.clone(), s2];
        let r = route(&all, &s1);
        assert_eq!(sources(&r, SlotKind::Video), vec![Some(("chair".into(), Layer::High)), None, None]);
        assert_eq!(sources(&r, SlotKind::Audio), vec![Some(("chair".into(), Layer::High)), None, None]);
        assert!(r.iter().flat_map(|x| &x.source).all(|s| s.site == "chair"), "no site hears another site");
    }

    #[test]
    fn before_the_chair_joins_sites_receive_nothing() {
        let f = Fixture { v: slots("v", 2), a: slots("a", 2) };
        let s1 = participant("s1", Role::Site, 2, &f, AV);
        let s2 = participant("s2", Role::Site, 3, &f, AV);
        let all = [s1.clone(), s2];
        assert!(route(&all, &s1).iter().all(|x| x.source.is_none()));
    }

    #[test]
    fn operators_are_not_routed_to_the_chair_and_receive_the_program() {
        let f = Fixture { v: slots("v", 2), a: slots("a", 2) };
        let chair = participant("chair", Role::Chair, 1, &f, AV);
        let op = participant("operator", Role::Operator, 9, &f, &[]);
        let all = [chair.clone(), op.clone()];
        assert!(route(&all, &chair).iter().all(|x| x.source.is_none()));
        assert_eq!(sources(&route(&all, &op), SlotKind::Video)[0], Some(("chair".into(), Layer::High)));
    }

    #[test]
    fn a_site_without_camera_takes_a_slot_with_audio_only() {
        let f = Fixture { v: slots("v", 2), a: slots("a", 2) };
        let chair = participant("chair", Role::Chair, 1, &f, AV);
        let mic_only = participant("s1", Role::Site, 2, &f, &[TrackKind::Audio]);
        let all = [chair.clone(), mic_only];
        let r = route(&all, &chair);
        assert_eq!(sources(&r, SlotKind::Video), vec![None, None]);
        assert_eq!(sources(&r, SlotKind::Audio)[0], Some(("s1".into(), Layer::Low)));
    }

    #[test]
    fn more_sites_than_slots_fill_every_slot_and_drop_the_rest() {
        let f = Fixture { v: slots("v", 2), a: slots("a", 2) };
        let chair = participant("chair", Role::Chair, 1, &f, AV);
        let names: Vec<String> = (0..5).map(|i| format!("s{i}")).collect();
        let mut all = vec![chair.clone()];
        all.extend(names.iter().enumerate().map(|(i, n)| participant(n, Role::Site, 10 + i as u64, &f, AV)));
        let r = route(&all, &chair);
        assert_eq!(r.len(), 4);
        assert!(r.iter().all(|x| x.source.is_some()));
    }
}
