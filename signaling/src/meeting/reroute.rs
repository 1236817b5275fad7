//! Re-routing: asks [`crate::route::receives`] (the whole rule) what every negotiated member
//! receives, and turns what changed since it was last sent into effects: the SFU's
//! subscriptions ([`Effect::Subscribe`]) and the member's `slots` message; the hall's `grid`
//! when its page changed.

use sfu::{Source, Subscription, TrackKind};

use crate::protocol::{Role, ServerMessage, SlotInfo};
use crate::route::{self, Overrides, Participant};

use super::{Effect, State};

impl State {
    /// Recomputes every negotiated member's slots; queues the changes for the SFU and the
    /// member.
    pub(super) fn reroute(&mut self) {
        let participants: Vec<Participant<'_>> = self
            .sites
            .iter()
            .filter_map(|s| {
                let m = self.members.get(&s.id)?;
                let l = m.layout.as_ref()?;
                Some(Participant {
                    site: &s.id,
                    role: s.role,
                    peer: m.peer,
                    publishes: &l.published,
                    video_slots: &l.video_slots,
                    audio_slots: &l.audio_slots,
                })
            })
            .collect();
        let grid = route::grid_page(
            &participants,
            &self.rules,
            self.grid_page,
            self.grid_page_size,
        );
        let overrides = Overrides {
            checking: &self.checking,
            audio_only: &self.audio_only,
        };
        let ingests = self.ingests();
        let mut changed = Vec::new();
        for p in &participants {
            let assignments =
                route::receives_with(&participants, &self.rules, overrides, ingests, &grid, p);
            if self.routed.get(p.site) != Some(&assignments) {
                changed.push((p.site.to_owned(), p.peer, assignments));
            }
        }
        // Players: no `slots` message (no socket), so they are kept apart from members.
        let mut players = Vec::new();
        for v in self.equipment.viewers.values() {
            let assignments = route::viewer_program(
                &participants,
                &self.rules,
                ingests,
                v.peer,
                &v.video_slots,
                &v.audio_slots,
            );
            let key = super::ingest::index_name(true, &v.resource);
            if self.routed.get(&key) != Some(&assignments) {
                players.push((key, v.peer, assignments));
            }
        }
        drop(participants);
        for (key, peer, assignments) in players {
            let subscriptions = subscriptions_of(&assignments);
            self.effects.push(Effect::Subscribe {
                peer,
                subscriptions,
            });
            self.routed.insert(key, assignments);
        }
        if self.last_grid.as_ref() != Some(&grid) {
            let msg = ServerMessage::Grid {
                page: grid.page,
                pages: grid.pages,
                page_size: grid.page_size,
                sites: grid.sites.clone(),
            };
            self.send_where(&msg, |st, id| {
                st.site(id).is_some_and(|s| s.role == Role::Chair)
            });
            self.last_grid = Some(grid);
        }
        for (site, peer, assignments) in changed {
            let subscriptions = subscriptions_of(&assignments);
            self.effects.push(Effect::Subscribe {
                peer,
                subscriptions,
            });
            let slots = assignments
                .iter()
                .map(|a| SlotInfo {
                    mid: a.slot.clone(),
                    kind: a.kind,
                    site_id: a.source.as_ref().map(|r| r.site.clone()),
                    name: a
                        .source
                        .as_ref()
                        .and_then(|r| self.site(&r.site))
                        .map(|s| s.name.clone()),
                    layer: a
                        .source
                        .as_ref()
                        .filter(|r| r.track != TrackKind::Audio)
                        .map(|r| r.layer.name().to_owned()),
                    track: a.source.as_ref().map(|r| track_name(r.track).to_owned()),
                })
                .collect();
            self.send_to(&site, ServerMessage::Slots { slots });
            self.routed.insert(site, assignments);
        }
    }
}

/// The SFU's subscriptions for a subscriber's assignments.
fn subscriptions_of(assignments: &[route::Assignment]) -> Vec<Subscription> {
    assignments
        .iter()
        .map(|a| Subscription {
            slot: a.slot.clone(),
            source: a.source.as_ref().map(|r| Source {
                peer: r.peer,
                track: r.track,
                layer: r.layer,
                priority: r.priority,
            }),
        })
        .collect()
}

fn track_name(t: TrackKind) -> &'static str {
    match t {
        TrackKind::Audio => "audio",
        TrackKind::Camera => "camera",
        TrackKind::Screen => "screen",
        // A track relayed from another node is labelled by what it carries (its source
        // site's microphone or camera: the origin relays the program).
        TrackKind::Relayed { audio: true, .. } => "audio",
        TrackKind::Relayed { audio: false, .. } => "camera",
    }
}
