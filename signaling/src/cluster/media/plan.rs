//! What crosses between nodes for one meeting, decided from what this node's subscribers
//! receive (pure: no I/O).
//!
//! Each local subscriber's slots name their sources by where they are published: here (a
//! peer of this node's SFU) or on another node (by its relay URL). [`wants`] is the union,
//! per node, of the remote sources any local subscriber receives, each once at the highest
//! layer any of them needs: exactly what `relay::want` makes cross. [`resolve`] turns one
//! subscriber's slots into SFU subscriptions, a remote source becoming the relayed track the
//! link carries it on.

use std::collections::{BTreeMap, HashMap};

use sfu::{Layer, PeerId, Source, Subscription, TrackKind};

use crate::relay::Want;

/// Where a source is published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum At {
    /// On this node: its peer here.
    Here(PeerId),
    /// On another node, reached at this relay URL.
    There(String),
}

/// A source named by its site, as the meeting's routing chose it, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The publishing site's id in the meeting.
    pub site: String,
    /// Its track: `Audio`, `Camera` or `Screen`.
    pub track: TrackKind,
    /// Highest layer this subscriber wants.
    pub layer: Layer,
    /// Share of a tight link (as [`sfu::Source::priority`]).
    pub priority: u8,
    /// Where it is published.
    pub at: At,
}

/// One receive slot of a subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// The slot's mid.
    pub slot: String,
    /// What it carries; `None`: idle.
    pub source: Option<Located>,
}

/// The sources to relay in, per node: each (site, track) once, at the highest layer any
/// subscriber wants, in a stable order (by site, then audio, camera, screen).
pub fn wants<'a>(
    subscribers: impl IntoIterator<Item = &'a Vec<Slot>>,
) -> BTreeMap<String, Vec<Want>> {
    let mut by_node: BTreeMap<String, BTreeMap<(String, u8), Want>> = BTreeMap::new();
    for slots in subscribers {
        for s in slots.iter().filter_map(|s| s.source.as_ref()) {
            let At::There(node) = &s.at else { continue };
            let Some(rank) = rank(s.track) else { continue };
            let layer = if s.track.is_audio() {
                Layer::High
            } else {
                s.layer
            };
            by_node
                .entry(node.clone())
                .or_default()
                .entry((s.site.clone(), rank))
                .and_modify(|w| w.layer = w.layer.max(layer))
                .or_insert(Want {
                    site: s.site.clone(),
                    track: s.track,
                    layer,
                });
        }
    }
    by_node
        .into_iter()
        .map(|(node, w)| (node, w.into_values().collect()))
        .collect()
}

/// Only a publisher's own tracks cross; a track that is itself relayed in is not sent on.
fn rank(t: TrackKind) -> Option<u8> {
    match t {
        TrackKind::Audio => Some(0),
        TrackKind::Camera => Some(1),
        TrackKind::Screen => Some(2),
        TrackKind::Relayed { .. } => None,
    }
}

/// One subscriber's SFU subscriptions: a local source as it is, a remote one as the relayed
/// track `relayed` (what `relay::want` returned for `wanted`, position by position) gives
/// it; a remote source not (yet) relayed leaves its slot idle.
pub fn resolve(
    slots: &[Slot],
    wanted: &BTreeMap<String, Vec<Want>>,
    relayed: &HashMap<String, Vec<Source>>,
) -> Vec<Subscription> {
    slots
        .iter()
        .map(|s| Subscription {
            slot: s.slot.clone(),
            source: s.source.as_ref().and_then(|l| match &l.at {
                At::Here(peer) => Some(Source {
                    peer: *peer,
                    track: l.track,
                    layer: l.layer,
                    priority: l.priority,
                }),
                At::There(node) => {
                    let i = wanted
                        .get(node)?
                        .iter()
                        .position(|w| w.site == l.site && w.track == l.track)?;
                    let relayed = relayed.get(node)?.get(i)?;
                    Some(Source {
                        priority: l.priority,
                        ..*relayed
                    })
                }
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn there(site: &str, track: TrackKind, layer: Layer, node: &str) -> Option<Located> {
        Some(Located {
            site: site.into(),
            track,
            layer,
            priority: 0,
            at: At::There(node.into()),
        })
    }

    fn slot(mid: &str, source: Option<Located>) -> Slot {
        Slot {
            slot: mid.into(),
            source,
        }
    }

    #[test]
    fn a_track_many_subscribers_watch_crosses_once_at_the_highest_layer_wanted() {
        let a = vec![
            slot(
                "1",
                there("chair", TrackKind::Camera, Layer::Low, "http://a"),
            ),
            slot(
                "2",
                there("chair", TrackKind::Audio, Layer::Low, "http://a"),
            ),
        ];
        let b = vec![slot(
            "1",
            there("chair", TrackKind::Camera, Layer::High, "http://a"),
        )];
        let c = vec![slot(
            "1",
            there("chair", TrackKind::Camera, Layer::Mid, "http://a"),
        )];
        let w = wants([&a, &b, &c]);
        assert_eq!(w.len(), 1);
        let from_a = &w["http://a"];
        assert_eq!(from_a.len(), 2, "{from_a:?}");
        assert_eq!(from_a[0].track, TrackKind::Audio);
        assert_eq!(from_a[1].track, TrackKind::Camera);
        assert_eq!(from_a[1].layer, Layer::High);
    }

    #[test]
    fn local_sources_cross_nothing_and_each_node_gets_its_own_list() {
        let here = Some(Located {
            site: "s1".into(),
            track: TrackKind::Camera,
            layer: Layer::High,
            priority: 0,
            at: At::Here(PeerId(7)),
        });
        let a = vec![
            slot("1", here),
            slot("2", there("s2", TrackKind::Audio, Layer::High, "http://c")),
            slot(
                "3",
                there("chair", TrackKind::Audio, Layer::High, "http://a"),
            ),
            slot("4", None),
        ];
        let w = wants([&a]);
        assert_eq!(w.keys().collect::<Vec<_>>(), ["http://a", "http://c"]);
        assert_eq!(w["http://c"][0].site, "s2");
    }

    #[test]
    fn a_remote_source_becomes_the_relayed_track_and_one_not_relayed_stays_idle() {
        let slots = vec![
            slot(
                "v0",
                there("chair", TrackKind::Camera, Layer::High, "http://a"),
            ),
            slot(
                "a0",
                there("chair", TrackKind::Audio, Layer::High, "http://a"),
            ),
            slot("a1", there("s3", TrackKind::Audio, Layer::High, "http://c")),
            slot(
                "v1",
                Some(Located {
                    site: "s1".into(),
                    track: TrackKind::Camera,
                    layer: Layer::Mid,
                    priority: 2,
                    at: At::Here(PeerId(9)),
                }),
            ),
        ];
        let wanted = wants([&slots]);
        let link = PeerId(100);
        let relayed_track = |index, audio| Source {
            peer: link,
            track: TrackKind::Relayed { index, audio },
            layer: Layer::High,
            priority: 0,
        };
        // The link to A carries the chair's audio (wanted first) then its camera; the link
        // to C failed: nothing relayed from there.
        let relayed: HashMap<String, Vec<Source>> = [(
            "http://a".to_owned(),
            vec![relayed_track(0, true), relayed_track(8, false)],
        )]
        .into();
        let subs = resolve(&slots, &wanted, &relayed);
        assert_eq!(subs[0].source.unwrap().track, relayed_track(8, false).track);
        assert_eq!(subs[1].source.unwrap().track, relayed_track(0, true).track);
        assert_eq!(subs[2].source, None, "C's track is not relayed");
        let local = subs[3].source.unwrap();
        assert_eq!(
            (local.peer, local.layer, local.priority),
            (PeerId(9), Layer::Mid, 2)
        );
    }
}
