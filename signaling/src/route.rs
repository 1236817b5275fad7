//! Who receives what: the meeting's routing rule, as pure functions of the participants and
//! the chair's rules ([`Moderation`]). The SFU enforces the result: media not routed here is
//! never forwarded, whatever a site's own microphone or camera does.
//!
//! - **Lobby**: sites and operators receive nothing; the hall (chair) already sees its grid.
//! - **Program** (every site, co-chair and operator once the meeting is open): the chair's
//!   camera and audio, the presenter's screen, the spotlighted camera (no audio), and the floor
//!   holders' cameras and audio. Nobody receives their own media.
//! - **Hall** (the chair): the presenter's screen in its first video slot, then its grid page
//!   of site cameras (pinned first: floor holders at the mid layer, then raised hands; the rest
//!   at the low layer), and the audio of floor holders and of the sites on its page.
//! - A muted site's audio and a stopped site's camera go to nobody; a site the hall stopped
//!   listening to is not sent to the hall.
//! - **Line check** (lobby): a site checking its line receives its own camera and microphone
//!   back, and nothing else.
//! - **Audio only** (forced by the operators): whatever the rest says, no video reaches the
//!   site; it keeps its audio.
//!
//! [`receives`] is the whole rule; the meeting asks it and nothing else.

use std::collections::HashSet;

use sfu::{Layer, PeerId, TrackKind};

use crate::moderation::Moderation;
use crate::protocol::{Phase, Role, SlotKind};

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
    /// Share of a tight link: 0 first (speakers, the hall's presentation), 2 last (grid tiles).
    pub priority: u8,
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

/// The hall's grid page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridPage {
    /// Page shown (clamped to the pages that exist).
    pub page: u32,
    /// Number of pages.
    pub pages: u32,
    /// Tiles per page.
    pub page_size: u16,
    /// Sites on the page: pinned (floor holders, then hands), then the page's share of the rest.
    pub sites: Vec<String>,
}

/// The grid page `page` of `page_size` tiles over the connected sites, in roster order.
pub fn grid_page(
    participants: &[Participant<'_>],
    rules: &Moderation,
    page: u32,
    page_size: u16,
) -> GridPage {
    let connected: Vec<&str> = participants
        .iter()
        .filter(|p| p.role == Role::Site)
        .map(|p| p.site)
        .collect();
    let mut pinned: Vec<&str> = Vec::new();
    let holders = rules.holders.iter().map(String::as_str);
    let hands = rules.hands.iter().map(|h| h.site_id.as_str());
    for s in holders.chain(hands) {
        if connected.contains(&s) && !pinned.contains(&s) && pinned.len() < usize::from(page_size) {
            pinned.push(s);
        }
    }
    let rest: Vec<&str> = connected
        .iter()
        .copied()
        .filter(|s| !pinned.contains(s))
        .collect();
    let room = usize::from(page_size).saturating_sub(pinned.len());
    let pages = if room == 0 || rest.is_empty() {
        1
    } else {
        rest.len().div_ceil(room)
    } as u32;
    let page = page.min(pages - 1);
    let start = page as usize * room;
    let mut sites: Vec<String> = pinned.iter().map(|s| s.to_string()).collect();
    sites.extend(rest.iter().skip(start).take(room).map(|s| s.to_string()));
    GridPage {
        page,
        pages,
        page_size,
        sites,
    }
}

/// What the line check and the operators change for single subscribers, on top of the
/// chair's rules.
#[derive(Debug, Clone, Copy)]
pub struct Overrides<'a> {
    /// Sites running the line check now.
    pub checking: &'a HashSet<String>,
    /// Sites the operators forced to audio only.
    pub audio_only: &'a HashSet<String>,
}

/// One publication of the hall's own equipment (WHIP).
#[derive(Debug, Clone, Copy)]
pub struct Ingested<'a> {
    /// Its peer connection in the SFU.
    pub peer: PeerId,
    /// What it publishes (its one video is a `Camera` track, whatever it shows).
    pub publishes: &'a [TrackKind],
}

/// What the hall's own equipment publishes (WHIP): it stands in for the chair's browser,
/// under the chair's name and the chair's rules (muted, video stopped), so the program's
/// rules do not change with where the picture comes from.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ingests<'a> {
    /// The chair's site id: the label of what comes in, and whose rules apply.
    pub chair: &'a str,
    /// Stands in for the chair's camera (and its microphone, when it carries audio).
    pub camera: Option<Ingested<'a>>,
    /// Stands in for the chair's screen, when no site presents.
    pub presentation: Option<Ingested<'a>>,
}

/// Every slot of `subscriber`, the whole rule: the line check's loopback for a site checking
/// its line, else the program or the hall ([`route`]); then the operators' audio only.
pub fn receives(
    participants: &[Participant<'_>],
    rules: &Moderation,
    overrides: Overrides<'_>,
    grid: &GridPage,
    subscriber: &Participant<'_>,
) -> Vec<Assignment> {
    receives_with(
        participants,
        rules,
        overrides,
        Ingests::default(),
        grid,
        subscriber,
    )
}

/// As [`receives`], with what the hall's equipment publishes standing in for the chair's.
pub fn receives_with(
    participants: &[Participant<'_>],
    rules: &Moderation,
    overrides: Overrides<'_>,
    ingests: Ingests<'_>,
    grid: &GridPage,
    subscriber: &Participant<'_>,
) -> Vec<Assignment> {
    let assignments = if overrides.checking.contains(subscriber.site) {
        loopback(subscriber)
    } else {
        route_with(participants, rules, ingests, grid, subscriber)
    };
    if overrides.audio_only.contains(subscriber.site) {
        audio_only(assignments)
    } else {
        assignments
    }
}

/// Every slot of `subscriber` by the chair's rules alone. `participants` is in roster order;
/// `grid` is the hall's page (used when the subscriber is the chair).
#[cfg(test)]
fn route(
    participants: &[Participant<'_>],
    rules: &Moderation,
    grid: &GridPage,
    subscriber: &Participant<'_>,
) -> Vec<Assignment> {
    route_with(participants, rules, Ingests::default(), grid, subscriber)
}

/// [`route`] with the hall's equipment standing in for the chair's browser.
fn route_with(
    participants: &[Participant<'_>],
    rules: &Moderation,
    ingests: Ingests<'_>,
    grid: &GridPage,
    subscriber: &Participant<'_>,
) -> Vec<Assignment> {
    let find = |site: &str| {
        participants
            .iter()
            .find(|p| p.site == site && p.peer != subscriber.peer)
    };
    let source =
        |p: &Participant<'_>, track: TrackKind, layer: Layer, priority: u8| -> Option<Routed> {
            let allowed = match track {
                TrackKind::Audio => !rules.muted.contains(p.site),
                TrackKind::Camera => !rules.video_stopped.contains(p.site),
                TrackKind::Screen => true,
                // The origin node applied its site's rules before it relayed the track.
                TrackKind::Relayed { .. } => true,
            };
            (allowed && p.publishes.contains(&track)).then(|| Routed {
                site: p.site.to_owned(),
                peer: p.peer,
                track,
                layer,
                priority,
            })
        };
    let chair = participants
        .iter()
        .find(|p| p.role == Role::Chair && p.peer != subscriber.peer);
    let presenter = rules.presenter.as_deref().and_then(find);
    let ingested = |i: Option<Ingested<'_>>, track: TrackKind, layer: Layer, priority: u8| {
        let i = i.filter(|i| i.peer != subscriber.peer)?;
        let allowed = match track {
            TrackKind::Audio => !rules.muted.contains(ingests.chair),
            _ => !rules.video_stopped.contains(ingests.chair),
        };
        (allowed && i.publishes.contains(&track)).then(|| Routed {
            site: ingests.chair.to_owned(),
            peer: i.peer,
            track,
            layer,
            priority,
        })
    };
    // The presentation: a site presenting, else the hall's presentation feed.
    let presentation = |priority: u8| {
        let feed = rules
            .presenter
            .as_deref()
            .is_none_or(|p| p == ingests.chair)
            .then_some(ingests.presentation)
            .flatten();
        match feed {
            Some(_) => ingested(feed, TrackKind::Camera, Layer::High, priority),
            None => presenter.and_then(|p| source(p, TrackKind::Screen, Layer::High, priority)),
        }
    };
    // The chair's camera and microphone: the hall's camera feed when it publishes them.
    let chair_track = |track: TrackKind| match ingests.camera {
        Some(i) if i.publishes.contains(&track) => ingested(Some(i), track, Layer::High, 0),
        _ => chair.and_then(|c| source(c, track, Layer::High, 0)),
    };
    let mut videos: Vec<Option<Routed>> = Vec::new();
    let mut audios: Vec<Option<Routed>> = Vec::new();
    match subscriber.role {
        Role::Chair => {
            // First video slot: the presentation, so the grid keeps its slots.
            videos.push(presentation(0));
            for site in &grid.sites {
                let Some(p) = find(site) else { continue };
                let (layer, priority) = if rules.holds_floor(site) {
                    (Layer::Mid, 1)
                } else {
                    (Layer::Low, 2)
                };
                videos.push(source(p, TrackKind::Camera, layer, priority));
            }
            let heard = rules.holders.iter().chain(grid.sites.iter());
            let mut seen: Vec<&str> = Vec::new();
            for site in heard {
                if seen.contains(&site.as_str()) || rules.not_heard_by_chair.contains(site) {
                    continue;
                }
                seen.push(site);
                if let Some(p) = find(site) {
                    audios.push(source(p, TrackKind::Audio, Layer::Low, 0));
                }
            }
        }
        Role::Site | Role::Operator => {
            if rules.phase != Phase::Open {
                return idle(subscriber);
            }
            videos.push(chair_track(TrackKind::Camera));
            audios.push(chair_track(TrackKind::Audio));
            videos.push(presentation(1));
            let speaker_layer = if rules.holders.len() > 1 {
                Layer::Mid
            } else {
                Layer::High
            };
            for h in &rules.holders {
                if let Some(p) = find(h) {
                    videos.push(source(p, TrackKind::Camera, speaker_layer, 0));
                    audios.push(source(p, TrackKind::Audio, Layer::High, 0));
                }
            }
            if let Some(s) = rules.spotlight.as_deref().filter(|s| !rules.holds_floor(s)) {
                if let Some(p) = find(s) {
                    videos.push(source(p, TrackKind::Camera, Layer::High, 1));
                }
            }
        }
    }
    let mut out = fill(subscriber.video_slots, SlotKind::Video, videos);
    out.extend(fill(subscriber.audio_slots, SlotKind::Audio, audios));
    out
}

/// What a watch-only player (WHEP) receives in its slots: the program every site receives,
/// floor holders first (a player often takes one video and one audio: it shows and plays the
/// speaker, and the chair when nobody holds the floor). Nobody receives a player's media: it
/// publishes none, and it is on no grid and in no roll call (it is no participant).
pub fn viewer_program(
    participants: &[Participant<'_>],
    rules: &Moderation,
    ingests: Ingests<'_>,
    peer: PeerId,
    video_slots: &[String],
    audio_slots: &[String],
) -> Vec<Assignment> {
    // Every program source in the sites' order: a site's view with room for all of them.
    let room = |prefix: &str| -> Vec<String> {
        (0..participants.len() * 2 + 4)
            .map(|i| format!("{prefix}{i}"))
            .collect()
    };
    let (v, a) = (room("v"), room("a"));
    let wide = Participant {
        site: "",
        role: Role::Site,
        peer,
        publishes: &[],
        video_slots: &v,
        audio_slots: &a,
    };
    let grid = GridPage {
        page: 0,
        pages: 1,
        page_size: 0,
        sites: Vec::new(),
    };
    let all = route_with(participants, rules, ingests, &grid, &wide);
    let floor_first = |kind: SlotKind| {
        let mut sources: Vec<Routed> = all
            .iter()
            .filter(|x| x.kind == kind)
            .filter_map(|x| x.source.clone())
            .collect();
        // Stable: the holders keep their order, the rest theirs.
        sources.sort_by_key(|r| !(rules.holds_floor(&r.site) && r.track != TrackKind::Screen));
        sources.into_iter().map(Some).collect()
    };
    let mut out = fill(video_slots, SlotKind::Video, floor_first(SlotKind::Video));
    out.extend(fill(
        audio_slots,
        SlotKind::Audio,
        floor_first(SlotKind::Audio),
    ));
    out
}

/// Puts the sources into the slots in order, skipping sources that are absent, so a muted or
/// camera-less participant never leaves a hole before later ones.
fn fill(slots: &[String], kind: SlotKind, sources: Vec<Option<Routed>>) -> Vec<Assignment> {
    let mut sources = sources.into_iter().flatten();
    slots
        .iter()
        .map(|slot| Assignment {
            slot: slot.clone(),
            kind,
            source: sources.next(),
        })
        .collect()
}

/// The line check: `subscriber` receives its own camera (first video slot, high layer, so
/// the selector finds what its link carries) and its own microphone (first audio slot), and
/// nothing else.
fn loopback(subscriber: &Participant<'_>) -> Vec<Assignment> {
    let own = |track: TrackKind, layer: Layer| {
        subscriber.publishes.contains(&track).then(|| Routed {
            site: subscriber.site.to_owned(),
            peer: subscriber.peer,
            track,
            layer,
            priority: 0,
        })
    };
    let mut out = fill(
        subscriber.video_slots,
        SlotKind::Video,
        vec![own(TrackKind::Camera, Layer::High)],
    );
    out.extend(fill(
        subscriber.audio_slots,
        SlotKind::Audio,
        vec![own(TrackKind::Audio, Layer::High)],
    ));
    out
}

/// Drops every video source from `assignments`: the operators forced this subscriber to
/// audio only.
fn audio_only(mut assignments: Vec<Assignment>) -> Vec<Assignment> {
    for a in &mut assignments {
        if a.kind == SlotKind::Video {
            a.source = None;
        }
    }
    assignments
}

fn idle(subscriber: &Participant<'_>) -> Vec<Assignment> {
    let mut out = fill(subscriber.video_slots, SlotKind::Video, Vec::new());
    out.extend(fill(subscriber.audio_slots, SlotKind::Audio, Vec::new()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Hand;

    const AV: &[TrackKind] = &[TrackKind::Audio, TrackKind::Camera];
    const AVS: &[TrackKind] = &[TrackKind::Audio, TrackKind::Camera, TrackKind::Screen];

    struct Slots {
        v: Vec<String>,
        a: Vec<String>,
    }

    fn slots(v: usize, a: usize) -> Slots {
        Slots {
            v: (0..v).map(|i| format!("v{i}")).collect(),
            a: (0..a).map(|i| format!("a{i}")).collect(),
        }
    }

    fn p<'a>(
        site: &'a str,
        role: Role,
        peer: u64,
        s: &'a Slots,
        publishes: &'a [TrackKind],
    ) -> Participant<'a> {
        Participant {
            site,
            role,
            peer: PeerId(peer),
            publishes,
            video_slots: &s.v,
            audio_slots: &s.a,
        }
    }

    fn open() -> Moderation {
        let mut m = Moderation::new(2);
        m.phase = Phase::Open;
        m
    }

    fn got(a: &[Assignment], kind: SlotKind) -> Vec<(String, TrackKind, Layer)> {
        a.iter()
            .filter(|x| x.kind == kind)
            .filter_map(|x| {
                x.source
                    .as_ref()
                    .map(|s| (s.site.clone(), s.track, s.layer))
            })
            .collect()
    }

    fn sites_of(a: &[Assignment], kind: SlotKind) -> Vec<String> {
        got(a, kind).into_iter().map(|(s, _, _)| s).collect()
    }

    struct Meeting {
        hall: Slots,
        site: Slots,
    }

    fn meeting() -> Meeting {
        Meeting {
            hall: slots(5, 4),
            site: slots(5, 3),
        }
    }

    fn everyone(m: &Meeting) -> Vec<Participant<'_>> {
        vec![
            p("chair", Role::Chair, 1, &m.hall, AVS),
            p("s1", Role::Site, 2, &m.site, AVS),
            p("s2", Role::Site, 3, &m.site, AVS),
            p("s3", Role::Site, 4, &m.site, AVS),
            p("operator", Role::Operator, 9, &m.site, &[]),
        ]
    }

    fn page(all: &[Participant<'_>], rules: &Moderation) -> GridPage {
        grid_page(all, rules, 0, 4)
    }

    #[test]
    fn before_any_grant_sites_hear_only_the_chair_and_the_hall_hears_every_site_on_its_page() {
        let m = meeting();
        let all = everyone(&m);
        let rules = open();
        let grid = page(&all, &rules);
        for sub in &all[1..4] {
            let r = route(&all, &rules, &grid, sub);
            assert_eq!(
                sites_of(&r, SlotKind::Audio),
                ["chair"],
                "{} hears only the chair",
                sub.site
            );
            assert_eq!(
                got(&r, SlotKind::Video),
                [("chair".to_owned(), TrackKind::Camera, Layer::High)]
            );
        }
        let hall = route(&all, &rules, &grid, &all[0]);
        assert_eq!(sites_of(&hall, SlotKind::Audio), ["s1", "s2", "s3"]);
        assert!(got(&hall, SlotKind::Video)
            .iter()
            .all(|(_, t, l)| *t == TrackKind::Camera && *l == Layer::Low));
    }

    #[test]
    fn a_floor_holder_is_heard_and_seen_by_everyone_but_itself() {
        let m = meeting();
        let all = everyone(&m);
        let mut rules = open();
        rules.holders.push("s2".into());
        let grid = page(&all, &rules);
        for sub in [&all[1], &all[3], &all[4]] {
            let r = route(&all, &rules, &grid, sub);
            assert_eq!(
                sites_of(&r, SlotKind::Audio),
                ["chair", "s2"],
                "{}",
                sub.site
            );
            assert!(got(&r, SlotKind::Video).contains(&(
                "s2".into(),
                TrackKind::Camera,
                Layer::High
            )));
        }
        let holder = route(&all, &rules, &grid, &all[2]);
        assert_eq!(sites_of(&holder, SlotKind::Audio), ["chair"]);
        let hall = route(&all, &rules, &grid, &all[0]);
        assert_eq!(grid.sites[0], "s2", "floor holder pinned first");
        assert!(got(&hall, SlotKind::Video).contains(&(
            "s2".into(),
            TrackKind::Camera,
            Layer::Mid
        )));
    }

    #[test]
    fn muted_and_stopped_sites_go_to_nobody_even_with_the_floor() {
        let m = meeting();
        let all = everyone(&m);
        let mut rules = open();
        rules.holders.push("s2".into());
        rules.muted.insert("s2".into());
        rules.video_stopped.insert("s3".into());
        let grid = page(&all, &rules);
        for sub in &all {
            let r = route(&all, &rules, &grid, sub);
            assert!(
                !sites_of(&r, SlotKind::Audio).contains(&"s2".to_owned()),
                "{} must not hear muted s2",
                sub.site
            );
            assert!(
                !sites_of(&r, SlotKind::Video).contains(&"s3".to_owned()),
                "{} must not see stopped s3",
                sub.site
            );
        }
    }

    #[test]
    fn the_lobby_sends_sites_nothing_but_the_hall_sees_arrivals() {
        let m = meeting();
        let all = everyone(&m);
        let rules = Moderation::new(2);
        let grid = page(&all, &rules);
        for sub in &all[1..] {
            assert!(
                route(&all, &rules, &grid, sub)
                    .iter()
                    .all(|a| a.source.is_none()),
                "{}",
                sub.site
            );
        }
        assert_eq!(
            sites_of(&route(&all, &rules, &grid, &all[0]), SlotKind::Video),
            ["s1", "s2", "s3"]
        );
    }

    #[test]
    fn presentation_reaches_every_site_and_the_hall() {
        let m = meeting();
        let all = everyone(&m);
        let mut rules = open();
        rules.holders.push("s1".into());
        rules.presenter = Some("s1".into());
        let grid = page(&all, &rules);
        for sub in [&all[0], &all[2], &all[3], &all[4]] {
            let r = route(&all, &rules, &grid, sub);
            assert!(
                got(&r, SlotKind::Video).contains(&("s1".into(), TrackKind::Screen, Layer::High)),
                "{}",
                sub.site
            );
        }
        let own = route(&all, &rules, &grid, &all[1]);
        assert!(
            !sites_of(&own, SlotKind::Video).contains(&"s1".to_owned()),
            "a presenter is not sent its own screen"
        );
        rules.presenter = Some("chair".into());
        let r = route(&all, &rules, &grid, &all[2]);
        assert!(got(&r, SlotKind::Video).contains(&(
            "chair".into(),
            TrackKind::Screen,
            Layer::High
        )));
    }

    #[test]
    fn spotlight_shows_video_without_audio() {
        let m = meeting();
        let all = everyone(&m);
        let mut rules = open();
        rules.spotlight = Some("s3".into());
        let grid = page(&all, &rules);
        let r = route(&all, &rules, &grid, &all[1]);
        assert!(sites_of(&r, SlotKind::Video).contains(&"s3".to_owned()));
        assert!(!sites_of(&r, SlotKind::Audio).contains(&"s3".to_owned()));
    }

    #[test]
    fn the_hall_can_stop_hearing_one_site() {
        let m = meeting();
        let all = everyone(&m);
        let mut rules = open();
        rules.not_heard_by_chair.insert("s1".into());
        let grid = page(&all, &rules);
        assert_eq!(
            sites_of(&route(&all, &rules, &grid, &all[0]), SlotKind::Audio),
            ["s2", "s3"]
        );
    }

    #[test]
    fn grid_pages_pin_floor_and_hands_then_page_through_the_rest() {
        let hall = slots(5, 4);
        let site = slots(5, 3);
        let names: Vec<String> = (1..=10).map(|i| format!("s{i}")).collect();
        let mut all = vec![p("chair", Role::Chair, 1, &hall, AV)];
        all.extend(
            names
                .iter()
                .enumerate()
                .map(|(i, n)| p(n, Role::Site, 10 + i as u64, &site, AV)),
        );
        let mut rules = open();
        rules.holders.push("s7".into());
        rules.hands.push(Hand {
            site_id: "s9".into(),
            since_ms: 1,
        });
        let g0 = grid_page(&all, &rules, 0, 4);
        assert_eq!(g0.sites, ["s7", "s9", "s1", "s2"]);
        assert_eq!(g0.pages, 4);
        let g3 = grid_page(&all, &rules, 3, 4);
        assert_eq!(g3.sites, ["s7", "s9", "s8", "s10"]);
        assert_eq!(grid_page(&all, &rules, 99, 4).page, 3, "page is clamped");
        // Only the page's sites are sent to the hall, never the others.
        let r = route(&all, &rules, &g0, &all[0]);
        assert_eq!(sites_of(&r, SlotKind::Video), ["s7", "s9", "s1", "s2"]);
        assert!(!sites_of(&r, SlotKind::Audio).contains(&"s5".to_owned()));
    }

    #[test]
    fn a_small_meeting_fits_on_one_page() {
        let m = meeting();
        let all = everyone(&m);
        let g = grid_page(&all, &open(), 0, 16);
        assert_eq!((g.page, g.pages, g.sites.len()), (0, 1, 3));
    }

    #[test]
    fn the_line_check_sends_a_site_its_own_camera_and_microphone_only() {
        let v = vec!["0".to_owned(), "1".to_owned()];
        let a = vec!["2".to_owned(), "3".to_owned()];
        let me = Participant {
            site: "s1",
            role: Role::Site,
            peer: PeerId(7),
            publishes: AV,
            video_slots: &v,
            audio_slots: &a,
        };
        let r = loopback(&me);
        assert_eq!(
            got(&r, SlotKind::Video),
            [("s1".to_owned(), TrackKind::Camera, Layer::High)]
        );
        assert_eq!(
            got(&r, SlotKind::Audio),
            [("s1".to_owned(), TrackKind::Audio, Layer::High)]
        );
        assert!(r
            .iter()
            .filter_map(|x| x.source.as_ref())
            .all(|s| s.peer == PeerId(7)));
        assert_eq!(r.len(), 4, "every slot is listed, the rest idle");
        let silent = Participant {
            publishes: &[],
            ..me
        };
        assert!(
            loopback(&silent).iter().all(|x| x.source.is_none()),
            "nothing published, nothing looped"
        );
    }

    #[test]
    fn audio_only_keeps_the_audio_and_idles_every_video_slot() {
        let v = vec!["0".to_owned()];
        let a = vec!["1".to_owned()];
        let me = Participant {
            site: "s1",
            role: Role::Site,
            peer: PeerId(7),
            publishes: AV,
            video_slots: &v,
            audio_slots: &a,
        };
        let r = audio_only(loopback(&me));
        assert!(got(&r, SlotKind::Video).is_empty());
        assert_eq!(got(&r, SlotKind::Audio).len(), 1);
    }

    #[test]
    fn the_whole_rule_loops_a_checking_site_back_and_strips_video_from_a_forced_one() {
        let m = meeting();
        let all = everyone(&m);
        let rules = open();
        let grid = page(&all, &rules);
        let checking: HashSet<String> = ["s1".to_owned()].into();
        let audio_only: HashSet<String> = ["s1".to_owned(), "s2".to_owned()].into();
        let none = HashSet::new();
        let plain = Overrides {
            checking: &none,
            audio_only: &none,
        };
        let both = Overrides {
            checking: &checking,
            audio_only: &audio_only,
        };
        // Checking and forced audio only: its own microphone back, no video at all.
        let s1 = receives(&all, &rules, both, &grid, &all[1]);
        assert_eq!(
            got(&s1, SlotKind::Audio),
            [("s1".to_owned(), TrackKind::Audio, Layer::High)]
        );
        assert!(got(&s1, SlotKind::Video).is_empty());
        // Forced audio only: the program's audio, no video.
        let s2 = receives(&all, &rules, both, &grid, &all[2]);
        assert_eq!(sites_of(&s2, SlotKind::Audio), ["chair"]);
        assert!(got(&s2, SlotKind::Video).is_empty());
        // Neither: exactly the chair's rules.
        let s3 = receives(&all, &rules, both, &grid, &all[3]);
        assert_eq!(s3, route(&all, &rules, &grid, &all[3]));
        assert_eq!(
            receives(&all, &rules, plain, &grid, &all[1]),
            route(&all, &rules, &grid, &all[1])
        );
    }

    fn peers_of(a: &[Assignment], kind: SlotKind) -> Vec<u64> {
        a.iter()
            .filter(|x| x.kind == kind)
            .filter_map(|x| x.source.as_ref().map(|s| s.peer.0))
            .collect()
    }

    #[test]
    fn the_halls_camera_feed_stands_in_for_the_chairs_camera_under_the_chairs_rules() {
        let m = meeting();
        let all = everyone(&m);
        let mut rules = open();
        let grid = page(&all, &rules);
        let feed = Ingests {
            chair: "chair",
            camera: Some(Ingested {
                peer: PeerId(77),
                publishes: AV,
            }),
            presentation: None,
        };
        let none = HashSet::new();
        let plain = Overrides {
            checking: &none,
            audio_only: &none,
        };
        let s1 = receives_with(&all, &rules, plain, feed, &grid, &all[1]);
        assert_eq!(peers_of(&s1, SlotKind::Video), [77]);
        assert_eq!(peers_of(&s1, SlotKind::Audio), [77]);
        assert_eq!(
            sites_of(&s1, SlotKind::Video),
            ["chair"],
            "labelled the chair"
        );
        // The chair's mute and video stop hold for the feed.
        rules.muted.insert("chair".into());
        rules.video_stopped.insert("chair".into());
        let s1 = receives_with(&all, &rules, plain, feed, &grid, &all[1]);
        assert!(peers_of(&s1, SlotKind::Video).is_empty());
        assert!(peers_of(&s1, SlotKind::Audio).is_empty());
        // A video-only feed leaves the chair's browser microphone in the program.
        let video_only = Ingests {
            camera: Some(Ingested {
                peer: PeerId(77),
                publishes: &[TrackKind::Camera],
            }),
            ..feed
        };
        let rules = open();
        let s2 = receives_with(&all, &rules, plain, video_only, &grid, &all[2]);
        assert_eq!(peers_of(&s2, SlotKind::Video), [77]);
        assert_eq!(peers_of(&s2, SlotKind::Audio), [1]);
    }

    #[test]
    fn the_halls_presentation_feed_fills_the_presentation_unless_a_site_presents() {
        let m = meeting();
        let all = everyone(&m);
        let mut rules = open();
        let grid = page(&all, &rules);
        let feed = Ingests {
            chair: "chair",
            camera: None,
            presentation: Some(Ingested {
                peer: PeerId(78),
                publishes: &[TrackKind::Camera],
            }),
        };
        let none = HashSet::new();
        let plain = Overrides {
            checking: &none,
            audio_only: &none,
        };
        let s1 = receives_with(&all, &rules, plain, feed, &grid, &all[1]);
        assert_eq!(peers_of(&s1, SlotKind::Video), [1, 78]);
        let hall = receives_with(&all, &rules, plain, feed, &grid, &all[0]);
        assert_eq!(
            peers_of(&hall, SlotKind::Video)[0],
            78,
            "the hall's first slot"
        );
        rules.presenter = Some("s2".into());
        let s1 = receives_with(&all, &rules, plain, feed, &grid, &all[1]);
        assert_eq!(peers_of(&s1, SlotKind::Video), [1, 3]);
    }

    #[test]
    fn a_player_gets_the_floor_holder_first_then_the_chair_and_nothing_in_the_lobby() {
        let m = meeting();
        let all = everyone(&m);
        let mut rules = open();
        let (v, a) = (vec!["0".to_owned()], vec!["1".to_owned()]);
        let player = |rules: &Moderation| {
            viewer_program(&all, rules, Ingests::default(), PeerId(50), &v, &a)
        };
        let r = player(&rules);
        assert_eq!(peers_of(&r, SlotKind::Video), [1]);
        assert_eq!(peers_of(&r, SlotKind::Audio), [1]);
        rules.holders.push("s2".into());
        let r = player(&rules);
        assert_eq!(peers_of(&r, SlotKind::Video), [3], "the speaker's camera");
        assert_eq!(peers_of(&r, SlotKind::Audio), [3], "the speaker's voice");
        let two = viewer_program(
            &all,
            &rules,
            Ingests::default(),
            PeerId(50),
            &v,
            &["1".to_owned(), "2".to_owned()],
        );
        assert_eq!(peers_of(&two, SlotKind::Audio), [3, 1]);
        rules.phase = Phase::Lobby;
        assert!(player(&rules).iter().all(|x| x.source.is_none()));
    }
}
