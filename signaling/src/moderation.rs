//! The chair's rules of a meeting, as a pure state machine: phase (lobby → open → ended),
//! lock, floor holders, raised hands, server-side mute and video stop, spotlight, presenter,
//! removed sites, co-chairs, and whom the hall listens to.
//!
//! [`Moderation::apply`] takes who acts, what they ask and the time, and either changes the
//! state and says what changed, or refuses with the precise error. It never touches sockets
//! or the SFU; `meeting` carries out the consequences (messages and re-routing), and
//! `route` turns the state into what each participant receives.
//!
//! Permissions: the chair and co-chairs moderate; only the chair grants the co-chair right
//! and chooses whom the hall hears; sites raise and lower their own hands; the chair, a
//! co-chair or a floor holder may present.

use std::collections::{BTreeSet, HashSet};

use crate::protocol::{ErrorCode, Hand, Phase, Refusal, Role};

/// Default and bounds of floor holders at once.
pub const DEFAULT_FLOOR_LIMIT: u16 = 2;
/// Most floor holders a meeting may allow.
pub const MAX_FLOOR_LIMIT: u16 = 4;

/// Who acts.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// Site id.
    pub site: &'a str,
    /// Role from its token.
    pub role: Role,
}

/// What the meeting knows about its sites, for checking actions.
pub trait Sites {
    /// Role of an expected site, `None` if the meeting has no such site.
    fn role_of(&self, site: &str) -> Option<Role>;
    /// Whether the site is connected with media now.
    fn is_connected(&self, site: &str) -> bool;
    /// Whether the site ever joined (a locked meeting still lets it reconnect).
    fn ever_joined(&self, site: &str) -> bool;
}

/// A moderation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Ask for the floor.
    RaiseHand,
    /// Withdraw a hand (`None`: one's own).
    LowerHand(Option<String>),
    /// Give a site the floor.
    Grant(String),
    /// Take it back.
    Revoke(String),
    /// Mute (true) or allow (false) a site's audio at the SFU.
    Mute(String, bool),
    /// Stop (true) or allow (false) a site's camera at the SFU.
    StopVideo(String, bool),
    /// Spotlight a site's camera (no audio), or clear.
    Spotlight(Option<String>),
    /// Whether the hall hears a site.
    Listen(String, bool),
    /// Remove a site; its link is refused until readmitted.
    Remove(String),
    /// Let a removed site back.
    Readmit(String),
    /// Lock or unlock.
    Lock(bool),
    /// End the lobby.
    Open,
    /// End the meeting.
    End,
    /// Grant or revoke the co-chair right.
    Cochair(String, bool),
    /// Start or stop presenting one's screen.
    Present(bool),
}

/// What an accepted action changed, so the meeting tells the right people.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changed {
    /// Holders, hands, spotlight or presenter changed.
    pub floor: bool,
    /// Phase or lock changed.
    pub meeting: bool,
    /// Sites whose roster entry (muted, video stopped, co-chair) changed.
    pub sites: Vec<String>,
    /// A site removed now: disconnect it.
    pub removed: Option<String>,
    /// What the media routing depends on changed.
    pub routing: bool,
}

impl Changed {
    /// Nothing changed (the action asked for the state that already was).
    pub fn is_empty(&self) -> bool {
        *self == Changed::default()
    }
}

/// The rules state of one meeting (kept in the data directory across restarts).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Moderation {
    /// Lobby, open or ended.
    pub phase: Phase,
    /// Whether sites that never joined are refused.
    pub locked: bool,
    /// Most floor holders at once.
    pub floor_limit: u16,
    /// Floor holders in grant order.
    pub holders: Vec<String>,
    /// Raised hands, oldest first.
    pub hands: Vec<Hand>,
    /// Muted at the SFU.
    pub muted: BTreeSet<String>,
    /// Camera stopped at the SFU.
    pub video_stopped: BTreeSet<String>,
    /// Camera on the program without audio.
    pub spotlight: Option<String>,
    /// Whose screen is on the program.
    pub presenter: Option<String>,
    /// Refused at join until readmitted.
    pub removed: HashSet<String>,
    /// Sites with the co-chair right.
    pub cochairs: BTreeSet<String>,
    /// Sites the hall does not listen to.
    pub not_heard_by_chair: BTreeSet<String>,
}

fn refuse(code: ErrorCode, msg: impl Into<String>) -> Refusal {
    Refusal::new(code, msg)
}

impl Moderation {
    /// A meeting in the lobby, unlocked, with `floor_limit` holders allowed.
    pub fn new(floor_limit: u16) -> Self {
        Moderation {
            phase: Phase::Lobby,
            locked: false,
            floor_limit: floor_limit.clamp(1, MAX_FLOOR_LIMIT),
            holders: Vec::new(),
            hands: Vec::new(),
            muted: BTreeSet::new(),
            video_stopped: BTreeSet::new(),
            spotlight: None,
            presenter: None,
            removed: HashSet::new(),
            cochairs: BTreeSet::new(),
            not_heard_by_chair: BTreeSet::new(),
        }
    }

    /// Whether `site` holds the floor.
    pub fn holds_floor(&self, site: &str) -> bool {
        self.holders.iter().any(|h| h == site)
    }

    /// Whether `actor` may moderate (chair or co-chair).
    pub fn is_moderator(&self, actor: Actor<'_>) -> bool {
        actor.role == Role::Chair || self.cochairs.contains(actor.site)
    }

    /// Whether `site` (with `role`) may join now.
    pub fn admit(&self, site: &str, sites: &dyn Sites) -> Result<(), Refusal> {
        if self.phase == Phase::Ended {
            return Err(refuse(ErrorCode::UnknownMeeting, "the meeting has ended"));
        }
        if self.removed.contains(site) {
            return Err(refuse(
                ErrorCode::SiteRemoved,
                "the chair has removed this site from the meeting",
            ));
        }
        let chair = sites.role_of(site) == Some(Role::Chair);
        if self.locked && !chair && !sites.ever_joined(site) {
            return Err(refuse(
                ErrorCode::Locked,
                "the meeting is locked: no new sites may join",
            ));
        }
        Ok(())
    }

    /// Applies `action` by `actor` at `now_ms`.
    pub fn apply(
        &mut self,
        actor: Actor<'_>,
        action: Action,
        sites: &dyn Sites,
        now_ms: u64,
    ) -> Result<Changed, Refusal> {
        if self.phase == Phase::Ended {
            return Err(refuse(ErrorCode::Conflict, "the meeting has ended"));
        }
        let mut changed = Changed::default();
        match action {
            Action::RaiseHand => {
                if actor.role != Role::Site {
                    return Err(refuse(ErrorCode::Forbidden, "only sites raise their hand"));
                }
                if self.holds_floor(actor.site) {
                    return Err(refuse(ErrorCode::Conflict, "you already have the floor"));
                }
                if !self.hands.iter().any(|h| h.site_id == actor.site) {
                    self.hands.push(Hand {
                        site_id: actor.site.to_owned(),
                        since_ms: now_ms,
                    });
                    changed.floor = true;
                    changed.routing = true;
                }
            }
            Action::LowerHand(target) => {
                let target = target.unwrap_or_else(|| actor.site.to_owned());
                if target != actor.site {
                    self.moderator(actor)?;
                    known_site(sites, &target)?;
                }
                let before = self.hands.len();
                self.hands.retain(|h| h.site_id != target);
                changed.floor = self.hands.len() != before;
                changed.routing = changed.floor;
            }
            Action::Grant(site) => {
                self.moderator(actor)?;
                self.target_site(sites, &site)?;
                if !sites.is_connected(&site) {
                    return Err(refuse(ErrorCode::Conflict, "that site is not connected"));
                }
                if !self.holds_floor(&site) {
                    if self.holders.len() >= usize::from(self.floor_limit) {
                        return Err(refuse(
                            ErrorCode::FloorFull,
                            format!(
                                "{} sites already have the floor (the limit); revoke one first",
                                self.floor_limit
                            ),
                        ));
                    }
                    self.holders.push(site.clone());
                    self.hands.retain(|h| h.site_id != site);
                    changed.floor = true;
                    changed.routing = true;
                }
            }
            Action::Revoke(site) => {
                self.moderator(actor)?;
                known_site(sites, &site)?;
                if !self.holds_floor(&site) {
                    return Err(refuse(
                        ErrorCode::Conflict,
                        "that site does not have the floor",
                    ));
                }
                self.holders.retain(|h| *h != site);
                if self.presenter.as_deref() == Some(site.as_str()) {
                    self.presenter = None;
                }
                changed.floor = true;
                changed.routing = true;
            }
            Action::Mute(site, on) => {
                self.moderator(actor)?;
                self.target_site(sites, &site)?;
                if set_flag(&mut self.muted, &site, on) {
                    changed.sites.push(site);
                    changed.routing = true;
                }
            }
            Action::StopVideo(site, on) => {
                self.moderator(actor)?;
                self.target_site(sites, &site)?;
                if set_flag(&mut self.video_stopped, &site, on) {
                    changed.sites.push(site);
                    changed.routing = true;
                }
            }
            Action::Spotlight(site) => {
                self.moderator(actor)?;
                if let Some(s) = &site {
                    self.target_site(sites, s)?;
                    if !sites.is_connected(s) {
                        return Err(refuse(ErrorCode::Conflict, "that site is not connected"));
                    }
                }
                if self.spotlight != site {
                    self.spotlight = site;
                    changed.floor = true;
                    changed.routing = true;
                }
            }
            Action::Listen(site, on) => {
                if actor.role != Role::Chair {
                    return Err(refuse(
                        ErrorCode::Forbidden,
                        "only the chair chooses whom the hall hears",
                    ));
                }
                self.target_site(sites, &site)?;
                if set_flag(&mut self.not_heard_by_chair, &site, !on) {
                    changed.routing = true;
                    changed.sites.push(site);
                }
            }
            Action::Remove(site) => {
                self.moderator(actor)?;
                self.target_site(sites, &site)?;
                if self.removed.insert(site.clone()) {
                    self.holders.retain(|h| *h != site);
                    self.hands.retain(|h| h.site_id != site);
                    if self.spotlight.as_deref() == Some(site.as_str()) {
                        self.spotlight = None;
                    }
                    if self.presenter.as_deref() == Some(site.as_str()) {
                        self.presenter = None;
                    }
                    self.cochairs.remove(&site);
                    changed.floor = true;
                    changed.routing = true;
                    changed.sites.push(site.clone());
                    changed.removed = Some(site);
                }
            }
            Action::Readmit(site) => {
                self.moderator(actor)?;
                known_site(sites, &site)?;
                if !self.removed.remove(&site) {
                    return Err(refuse(ErrorCode::Conflict, "that site was not removed"));
                }
                changed.sites.push(site);
            }
            Action::Lock(on) => {
                self.moderator(actor)?;
                if self.locked != on {
                    self.locked = on;
                    changed.meeting = true;
                }
            }
            Action::Open => {
                self.moderator(actor)?;
                if self.phase == Phase::Lobby {
                    self.phase = Phase::Open;
                    changed.meeting = true;
                    changed.routing = true;
                }
            }
            Action::End => {
                self.moderator(actor)?;
                self.phase = Phase::Ended;
                changed.meeting = true;
                changed.routing = true;
            }
            Action::Cochair(site, on) => {
                if actor.role != Role::Chair {
                    return Err(refuse(
                        ErrorCode::Forbidden,
                        "only the chair grants the co-chair right",
                    ));
                }
                self.target_site(sites, &site)?;
                if set_flag(&mut self.cochairs, &site, on) {
                    changed.sites.push(site);
                }
            }
            Action::Present(on) => {
                let allowed = self.is_moderator(actor) || self.holds_floor(actor.site);
                if on && !allowed {
                    return Err(refuse(
                        ErrorCode::Forbidden,
                        "only the chair or a site with the floor may present",
                    ));
                }
                let was = self.presenter.clone();
                if on {
                    self.presenter = Some(actor.site.to_owned());
                } else if self.presenter.as_deref() == Some(actor.site) {
                    self.presenter = None;
                }
                if self.presenter != was {
                    changed.floor = true;
                    changed.routing = true;
                }
            }
        }
        Ok(changed)
    }

    fn moderator(&self, actor: Actor<'_>) -> Result<(), Refusal> {
        if self.is_moderator(actor) {
            Ok(())
        } else {
            Err(refuse(
                ErrorCode::Forbidden,
                "only the chair or a co-chair may do this",
            ))
        }
    }

    /// The target must be an expected site with the `site` role, not removed.
    fn target_site(&self, sites: &dyn Sites, site: &str) -> Result<(), Refusal> {
        match known_site(sites, site)? {
            Role::Site => {}
            _ => {
                return Err(refuse(
                    ErrorCode::Conflict,
                    "this applies to sites, not to the chair or operators",
                ))
            }
        }
        if self.removed.contains(site) {
            return Err(refuse(ErrorCode::Conflict, "that site has been removed"));
        }
        Ok(())
    }
}

fn known_site(sites: &dyn Sites, site: &str) -> Result<Role, Refusal> {
    sites.role_of(site).ok_or_else(|| {
        refuse(
            ErrorCode::UnknownSite,
            format!(
                "this meeting has no site \"{}\"",
                site.chars().take(40).collect::<String>()
            ),
        )
    })
}

/// Inserts (`on`) or removes `site`; true if that changed the set.
fn set_flag(set: &mut BTreeSet<String>, site: &str, on: bool) -> bool {
    if on {
        set.insert(site.to_owned())
    } else {
        set.remove(site)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Fake {
        roles: HashMap<String, Role>,
        connected: HashSet<String>,
        joined_before: HashSet<String>,
    }

    impl Sites for Fake {
        fn role_of(&self, site: &str) -> Option<Role> {
            self.roles.get(site).copied()
        }
        fn is_connected(&self, site: &str) -> bool {
            self.connected.contains(site)
        }
        fn ever_joined(&self, site: &str) -> bool {
            self.joined_before.contains(site)
        }
    }

    fn sites() -> Fake {
        let mut roles = HashMap::new();
        roles.insert("chair".to_owned(), Role::Chair);
        roles.insert("operator".to_owned(), Role::Operator);
        for s in ["s1", "s2", "s3", "s4"] {
            roles.insert(s.to_owned(), Role::Site);
        }
        Fake {
            connected: ["chair", "s1", "s2", "s3"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            joined_before: ["chair", "s1", "s2", "s3"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            roles,
        }
    }

    const CHAIR: Actor<'static> = Actor {
        site: "chair",
        role: Role::Chair,
    };
    fn site(s: &'static str) -> Actor<'static> {
        Actor {
            site: s,
            role: Role::Site,
        }
    }
    const OPERATOR: Actor<'static> = Actor {
        site: "operator",
        role: Role::Operator,
    };

    fn code(r: Result<Changed, Refusal>) -> ErrorCode {
        r.expect_err("refused").code
    }

    #[test]
    fn hands_queue_in_order_and_grant_moves_a_site_from_hands_to_floor() {
        let f = sites();
        let mut m = Moderation::new(2);
        m.apply(site("s2"), Action::RaiseHand, &f, 100).unwrap();
        m.apply(site("s1"), Action::RaiseHand, &f, 200).unwrap();
        assert!(
            m.apply(site("s2"), Action::RaiseHand, &f, 300)
                .unwrap()
                .is_empty(),
            "raising twice keeps the first time"
        );
        assert_eq!(
            m.hands
                .iter()
                .map(|h| (h.site_id.as_str(), h.since_ms))
                .collect::<Vec<_>>(),
            [("s2", 100), ("s1", 200)]
        );
        let c = m.apply(CHAIR, Action::Grant("s2".into()), &f, 400).unwrap();
        assert!(c.floor && c.routing);
        assert_eq!(m.holders, ["s2"]);
        assert_eq!(m.hands.len(), 1);
        assert_eq!(
            code(m.apply(site("s2"), Action::RaiseHand, &f, 500)),
            ErrorCode::Conflict
        );
        m.apply(CHAIR, Action::Revoke("s2".into()), &f, 600)
            .unwrap();
        assert!(m.holders.is_empty());
        assert_eq!(
            code(m.apply(CHAIR, Action::Revoke("s2".into()), &f, 700)),
            ErrorCode::Conflict
        );
    }

    #[test]
    fn a_site_cannot_grant_revoke_mute_or_open() {
        let f = sites();
        let mut m = Moderation::new(2);
        for action in [
            Action::Grant("s2".into()),
            Action::Revoke("s2".into()),
            Action::Mute("s2".into(), true),
            Action::StopVideo("s2".into(), true),
            Action::Spotlight(Some("s2".into())),
            Action::Remove("s2".into()),
            Action::Lock(true),
            Action::Open,
            Action::End,
            Action::LowerHand(Some("s2".into())),
            Action::Listen("s2".into(), false),
            Action::Cochair("s1".into(), true),
        ] {
            assert_eq!(
                code(m.apply(site("s1"), action.clone(), &f, 0)),
                ErrorCode::Forbidden,
                "{action:?}"
            );
        }
        assert_eq!(
            code(m.apply(OPERATOR, Action::Grant("s2".into()), &f, 0)),
            ErrorCode::Forbidden
        );
        assert_eq!(
            code(m.apply(OPERATOR, Action::RaiseHand, &f, 0)),
            ErrorCode::Forbidden
        );
        assert_eq!(
            code(m.apply(CHAIR, Action::RaiseHand, &f, 0)),
            ErrorCode::Forbidden
        );
    }

    #[test]
    fn the_floor_limit_is_enforced() {
        let f = sites();
        let mut m = Moderation::new(2);
        m.apply(CHAIR, Action::Grant("s1".into()), &f, 0).unwrap();
        m.apply(CHAIR, Action::Grant("s2".into()), &f, 0).unwrap();
        assert_eq!(
            code(m.apply(CHAIR, Action::Grant("s3".into()), &f, 0)),
            ErrorCode::FloorFull
        );
        assert!(
            m.apply(CHAIR, Action::Grant("s2".into()), &f, 0)
                .unwrap()
                .is_empty(),
            "granting a holder again changes nothing"
        );
        let mut one = Moderation::new(1);
        one.apply(CHAIR, Action::Grant("s1".into()), &f, 0).unwrap();
        assert_eq!(
            code(one.apply(CHAIR, Action::Grant("s2".into()), &f, 0)),
            ErrorCode::FloorFull
        );
        assert_eq!(Moderation::new(99).floor_limit, MAX_FLOOR_LIMIT);
    }

    #[test]
    fn grants_need_a_connected_known_site() {
        let f = sites();
        let mut m = Moderation::new(2);
        assert_eq!(
            code(m.apply(CHAIR, Action::Grant("s4".into()), &f, 0)),
            ErrorCode::Conflict,
            "s4 is not connected"
        );
        assert_eq!(
            code(m.apply(CHAIR, Action::Grant("nobody".into()), &f, 0)),
            ErrorCode::UnknownSite
        );
        assert_eq!(
            code(m.apply(CHAIR, Action::Grant("chair".into()), &f, 0)),
            ErrorCode::Conflict
        );
        assert_eq!(
            code(m.apply(CHAIR, Action::Mute("operator".into(), true), &f, 0)),
            ErrorCode::Conflict
        );
    }

    #[test]
    fn removed_site_is_refused_until_readmitted_and_loses_floor_and_hand() {
        let f = sites();
        let mut m = Moderation::new(2);
        m.apply(CHAIR, Action::Grant("s1".into()), &f, 0).unwrap();
        m.apply(site("s2"), Action::RaiseHand, &f, 0).unwrap();
        m.apply(CHAIR, Action::Cochair("s1".into(), true), &f, 0)
            .unwrap();
        let c = m.apply(CHAIR, Action::Remove("s1".into()), &f, 0).unwrap();
        assert_eq!(c.removed.as_deref(), Some("s1"));
        assert!(m.holders.is_empty() && !m.cochairs.contains("s1"));
        assert_eq!(m.admit("s1", &f).unwrap_err().code, ErrorCode::SiteRemoved);
        m.apply(CHAIR, Action::Remove("s2".into()), &f, 0).unwrap();
        assert!(m.hands.is_empty());
        assert_eq!(
            code(m.apply(CHAIR, Action::Grant("s2".into()), &f, 0)),
            ErrorCode::Conflict
        );
        m.apply(CHAIR, Action::Readmit("s1".into()), &f, 0).unwrap();
        assert!(m.admit("s1", &f).is_ok());
        assert_eq!(
            code(m.apply(CHAIR, Action::Readmit("s1".into()), &f, 0)),
            ErrorCode::Conflict
        );
    }

    #[test]
    fn locked_meeting_refuses_new_sites_but_lets_known_ones_reconnect() {
        let f = sites();
        let mut m = Moderation::new(2);
        assert!(m.admit("s4", &f).is_ok());
        m.apply(CHAIR, Action::Lock(true), &f, 0).unwrap();
        assert_eq!(m.admit("s4", &f).unwrap_err().code, ErrorCode::Locked);
        assert!(
            m.admit("s1", &f).is_ok(),
            "s1 was in before: it may reconnect"
        );
        assert!(m.admit("chair", &f).is_ok());
        m.apply(CHAIR, Action::Lock(false), &f, 0).unwrap();
        assert!(m.admit("s4", &f).is_ok());
    }

    #[test]
    fn lobby_opens_once_and_ending_closes_everything() {
        let f = sites();
        let mut m = Moderation::new(2);
        assert_eq!(m.phase, Phase::Lobby);
        assert!(m.apply(CHAIR, Action::Open, &f, 0).unwrap().meeting);
        assert!(m.apply(CHAIR, Action::Open, &f, 0).unwrap().is_empty());
        m.apply(CHAIR, Action::End, &f, 0).unwrap();
        assert_eq!(
            m.admit("s1", &f).unwrap_err().code,
            ErrorCode::UnknownMeeting
        );
        assert_eq!(
            code(m.apply(site("s1"), Action::RaiseHand, &f, 0)),
            ErrorCode::Conflict
        );
    }

    #[test]
    fn mute_and_video_stop_toggle_and_report_the_site() {
        let f = sites();
        let mut m = Moderation::new(2);
        let c = m
            .apply(CHAIR, Action::Mute("s3".into(), true), &f, 0)
            .unwrap();
        assert_eq!(c.sites, ["s3"]);
        assert!(m.muted.contains("s3"));
        assert!(m
            .apply(CHAIR, Action::Mute("s3".into(), true), &f, 0)
            .unwrap()
            .is_empty());
        m.apply(CHAIR, Action::Mute("s3".into(), false), &f, 0)
            .unwrap();
        assert!(!m.muted.contains("s3"));
        m.apply(CHAIR, Action::StopVideo("s3".into(), true), &f, 0)
            .unwrap();
        assert!(m.video_stopped.contains("s3"));
    }

    #[test]
    fn co_chair_moderates_but_cannot_make_co_chairs_or_choose_what_the_hall_hears() {
        let f = sites();
        let mut m = Moderation::new(2);
        m.apply(CHAIR, Action::Cochair("s1".into(), true), &f, 0)
            .unwrap();
        m.apply(site("s1"), Action::Grant("s2".into()), &f, 0)
            .unwrap();
        m.apply(site("s1"), Action::Mute("s3".into(), true), &f, 0)
            .unwrap();
        assert_eq!(
            code(m.apply(site("s1"), Action::Cochair("s3".into(), true), &f, 0)),
            ErrorCode::Forbidden
        );
        assert_eq!(
            code(m.apply(site("s1"), Action::Listen("s3".into(), false), &f, 0)),
            ErrorCode::Forbidden
        );
        m.apply(CHAIR, Action::Cochair("s1".into(), false), &f, 0)
            .unwrap();
        assert_eq!(
            code(m.apply(site("s1"), Action::Revoke("s2".into()), &f, 0)),
            ErrorCode::Forbidden
        );
    }

    #[test]
    fn presenting_needs_chair_or_floor_and_revoking_the_floor_ends_it() {
        let f = sites();
        let mut m = Moderation::new(2);
        assert_eq!(
            code(m.apply(site("s2"), Action::Present(true), &f, 0)),
            ErrorCode::Forbidden
        );
        m.apply(CHAIR, Action::Grant("s2".into()), &f, 0).unwrap();
        m.apply(site("s2"), Action::Present(true), &f, 0).unwrap();
        assert_eq!(m.presenter.as_deref(), Some("s2"));
        m.apply(CHAIR, Action::Present(true), &f, 0).unwrap();
        assert_eq!(
            m.presenter.as_deref(),
            Some("chair"),
            "the newest presenter wins"
        );
        assert!(
            m.apply(site("s2"), Action::Present(false), &f, 0)
                .unwrap()
                .is_empty(),
            "s2 no longer presents"
        );
        m.apply(site("s2"), Action::Present(true), &f, 0).unwrap();
        m.apply(CHAIR, Action::Revoke("s2".into()), &f, 0).unwrap();
        assert_eq!(m.presenter, None);
    }

    #[test]
    fn listen_affects_only_what_the_chair_hears() {
        let f = sites();
        let mut m = Moderation::new(2);
        assert!(
            m.apply(CHAIR, Action::Listen("s2".into(), false), &f, 0)
                .unwrap()
                .routing
        );
        assert!(m.not_heard_by_chair.contains("s2"));
        assert!(!m.muted.contains("s2"));
        m.apply(CHAIR, Action::Listen("s2".into(), true), &f, 0)
            .unwrap();
        assert!(m.not_heard_by_chair.is_empty());
    }

    #[test]
    fn chair_lowers_any_hand_and_a_site_only_its_own() {
        let f = sites();
        let mut m = Moderation::new(2);
        m.apply(site("s1"), Action::RaiseHand, &f, 0).unwrap();
        m.apply(site("s2"), Action::RaiseHand, &f, 0).unwrap();
        m.apply(site("s1"), Action::LowerHand(None), &f, 0).unwrap();
        assert_eq!(m.hands.len(), 1);
        assert_eq!(
            code(m.apply(site("s3"), Action::LowerHand(Some("s2".into())), &f, 0)),
            ErrorCode::Forbidden
        );
        m.apply(CHAIR, Action::LowerHand(Some("s2".into())), &f, 0)
            .unwrap();
        assert!(m.hands.is_empty());
    }
}
