//! What members and the admin are shown of a meeting: roster entries, a site's state, the
//! meeting's phase and floor, the roll call. Pure reads of [`State`], plus
//! [`State::broadcast_state`], which queues a site's entry for those who see it.

use crate::moderation::Moderation;
use crate::protocol::{MeetingInfo, Presence, Role, ServerMessage, SiteStatus};
use crate::rollcall::{Attendance, Expected};

use super::{ExpectedSite, State};

impl State {
    /// Roster with presence, for the API.
    pub fn roster(&self) -> Vec<SiteStatus> {
        self.sites.iter().map(|s| self.status(s)).collect()
    }

    /// The roll call as of `now_ms`.
    pub fn attendance(&self, now_ms: u64) -> Attendance {
        let expected: Vec<Expected<'_>> = self
            .sites
            .iter()
            .map(|s| Expected {
                id: &s.id,
                name: &s.name,
                role: s.role,
                presence: self.presence_of(&s.id),
            })
            .collect();
        self.rollcall.report(self.info(), &expected, now_ms)
    }

    pub(super) fn info(&self) -> MeetingInfo {
        MeetingInfo {
            id: self.id.clone(),
            title: self.title.clone(),
        }
    }

    fn presence_of(&self, site: &str) -> Presence {
        self.presence
            .get(site)
            .copied()
            .unwrap_or(Presence::Waiting)
    }

    pub(super) fn status(&self, s: &ExpectedSite) -> SiteStatus {
        SiteStatus {
            id: s.id.clone(),
            name: s.name.clone(),
            role: s.role,
            state: self.presence_of(&s.id),
        }
    }

    /// The roster `me` may see: everything for the chair, co-chairs' chair and operators;
    /// itself and the chair for a site.
    pub(super) fn visible_roster(&self, me: &ExpectedSite) -> Vec<SiteStatus> {
        self.sites
            .iter()
            .filter(|s| me.role != Role::Site || s.id == me.id || s.role == Role::Chair)
            .map(|s| self.status(s))
            .collect()
    }

    pub(super) fn site_state(&self, site: &ExpectedSite) -> ServerMessage {
        let member = self.members.get(&site.id);
        let r = &self.rules;
        ServerMessage::SiteState {
            site: self.status(site),
            mic: member.and_then(|m| m.mic),
            camera: member.and_then(|m| m.camera),
            muted: r.muted.contains(&site.id),
            video_stopped: r.video_stopped.contains(&site.id),
            cochair: r.cochairs.contains(&site.id),
            removed: r.removed.contains(&site.id),
            heard: !r.not_heard_by_chair.contains(&site.id),
            reception: member
                .and_then(|m| m.reception)
                .map(|r| if r == "held" { "full" } else { r }.to_owned()),
            reduced_by_design: member.and_then(|m| m.reception) == Some("held"),
            audio_only_forced: self.audio_only.contains(&site.id),
        }
    }

    /// Whether a site's entry has anything the roster alone does not show.
    pub(super) fn has_marks(&self, id: &str) -> bool {
        let r = &self.rules;
        r.muted.contains(id)
            || r.video_stopped.contains(id)
            || r.cochairs.contains(id)
            || r.removed.contains(id)
            || r.not_heard_by_chair.contains(id)
            || self.audio_only.contains(id)
    }

    /// Tells the watchers and the site itself that `site_id`'s entry changed.
    pub(super) fn broadcast_state(&mut self, site_id: &str) {
        let Some(site) = self.site(site_id) else {
            return;
        };
        let msg = self.site_state(site);
        self.send_where(&msg, |st, id| id == site_id || st.is_watcher(id));
    }
}

/// The meeting's phase and lock.
pub(super) fn meeting_state(rules: &Moderation) -> ServerMessage {
    ServerMessage::MeetingState {
        phase: rules.phase,
        locked: rules.locked,
        floor_limit: rules.floor_limit,
    }
}

/// Floor holders, hands, spotlight and presenter.
pub(super) fn floor(rules: &Moderation) -> ServerMessage {
    ServerMessage::Floor {
        holders: rules.holders.clone(),
        hands: rules.hands.clone(),
        spotlight: rules.spotlight.clone(),
        presenter: rules.presenter.clone(),
    }
}

/// A participant's own roster entry in its `joined`: it is connected, even though the roll
/// call counts it present only from its first answered offer.
pub(super) fn own_entry_joined(mut sites: Vec<SiteStatus>, own: &str) -> Vec<SiteStatus> {
    for s in sites.iter_mut().filter(|s| s.id == own) {
        s.state = Presence::Joined;
    }
    sites
}
