//! Meetings: the expected sites, who is connected now, and what each one receives.
//!
//! Lifecycle of a meeting: created through the API with its expected sites → sites join and
//! leave any number of times (a rejoin replaces the older connection) → ended by the chair
//! (every link stops working) or by expiry of its tokens.
//!
//! Concurrency: a meeting's mutable state sits behind a `std::sync::Mutex`; it is never held
//! across an `.await` (every operation only updates maps and pushes to unbounded channels or
//! the SFU's command queue), so a blocking mutex is the right, cheaper choice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use dashmap::DashMap;
use sfu::{PeerId, Sfu, Source, Subscription, TrackKind};
use tokio::sync::mpsc::UnboundedSender;

use crate::protocol::{
    ErrorCode, MeetingInfo, Presence, ReceiveSlots, Refusal, Role, ServerMessage, SiteRef, SiteStatus, SlotInfo,
};
use crate::route::{self, Assignment, Participant};

/// Receive slots of a site or operator: the chair plus room for floor holders.
pub const SITE_RECEIVE_SLOTS: u16 = 4;
/// Most grid tiles the chair receives at once.
pub const CHAIR_GRID_SLOTS: u16 = 25;

/// What a session's outgoing queue carries.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// Send this message.
    Message(ServerMessage),
    /// Send this message, then close the socket.
    Close(ServerMessage),
}

/// A site the meeting expects (fixed at creation).
#[derive(Debug, Clone)]
pub struct ExpectedSite {
    /// Id within the meeting (`chair`, `operator`, `s1`…).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
}

/// A connected site.
#[derive(Debug)]
struct Member {
    /// Which socket holds this site now (a rejoin replaces it).
    session: u64,
    peer: PeerId,
    tx: UnboundedSender<Outbound>,
    /// Set once its offer is accepted.
    layout: Option<Layout>,
    mic: Option<bool>,
    camera: Option<bool>,
}

#[derive(Debug, Clone)]
struct Layout {
    published: Vec<TrackKind>,
    video_slots: Vec<String>,
    audio_slots: Vec<String>,
}

#[derive(Debug, Default)]
struct State {
    ended: bool,
    members: HashMap<String, Member>,
    presence: HashMap<String, Presence>,
    /// Last routing sent per site, to send only changes.
    routed: HashMap<String, Vec<Assignment>>,
}

/// One meeting.
#[derive(Debug)]
pub struct Meeting {
    /// Meeting id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Token expiry, Unix seconds.
    pub expires_at: u64,
    /// Expected sites in roster order: chair, sites, operator.
    pub sites: Vec<ExpectedSite>,
    state: Mutex<State>,
}

/// What a successful join hands the session.
#[derive(Debug)]
pub struct Joined {
    /// The `joined` message to send.
    pub message: ServerMessage,
}

impl Meeting {
    /// A new meeting with nobody connected.
    pub fn new(id: String, title: String, expires_at: u64, sites: Vec<ExpectedSite>) -> Self {
        Meeting {
            id,
            title,
            expires_at,
            sites,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain maps behind: still consistent enough
        // to serve the other sites, so recover instead of taking the meeting down.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The expected site with this id.
    pub fn site(&self, id: &str) -> Option<&ExpectedSite> {
        self.sites.iter().find(|s| s.id == id)
    }

    /// Whether the chair ended it.
    pub fn is_ended(&self) -> bool {
        self.lock().ended
    }

    /// Roster with presence, for the API.
    pub fn roster(&self) -> Vec<SiteStatus> {
        let st = self.lock();
        self.sites.iter().map(|s| status(s, &st)).collect()
    }

    /// Number of connected sites.
    pub fn connected(&self) -> usize {
        self.lock().members.len()
    }

    /// Admits `site_id` on socket `session`. An older connection of the same site is told
    /// `replaced` and closed.
    pub fn join(
        &self,
        site_id: &str,
        session: u64,
        peer: PeerId,
        tx: UnboundedSender<Outbound>,
        sfu: &Sfu,
    ) -> Result<Joined, Refusal> {
        let site = self
            .site(site_id)
            .ok_or_else(|| Refusal::new(ErrorCode::SiteRemoved, "this site is no longer part of the meeting"))?
            .clone();
        let mut st = self.lock();
        if st.ended {
            return Err(Refusal::new(ErrorCode::UnknownMeeting, "the meeting has ended"));
        }
        let old = st.members.insert(
            site.id.clone(),
            Member {
                session,
                peer,
                tx,
                layout: None,
                mic: None,
                camera: None,
            },
        );
        if let Some(old) = old {
            let _ = old.tx.send(Outbound::Close(
                Refusal::new(ErrorCode::Replaced, "this site joined from another window or computer").to_message(),
            ));
            sfu.remove_peer(old.peer);
            st.routed.remove(&site.id);
        }
        let sites = self.visible_roster(&site, &st);
        let receive = match site.role {
            Role::Chair => {
                let n = self.sites.iter().filter(|s| s.role == Role::Site).count() as u16;
                let n = n.clamp(1, CHAIR_GRID_SLOTS);
                ReceiveSlots { video: n, audio: n }
            }
            Role::Site | Role::Operator => ReceiveSlots {
                video: SITE_RECEIVE_SLOTS,
                audio: SITE_RECEIVE_SLOTS,
            },
        };
        self.reroute(&mut st, sfu);
        Ok(Joined {
            message: ServerMessage::Joined {
                v: crate::protocol::PROTOCOL_VERSION,
                meeting: MeetingInfo {
                    id: self.id.clone(),
                    title: self.title.clone(),
                },
                you: SiteRef {
                    id: site.id.clone(),
                    name: site.name.clone(),
                    role: site.role,
                },
                sites,
                receive,
                ice_servers: Vec::new(),
            },
        })
    }

    /// Records the media layout of `site_id`'s accepted offer and re-routes. Returns
    /// false if that session no longer holds the site.
    pub fn set_layout(&self, site_id: &str, session: u64, layout: &sfu::PeerLayout, sfu: &Sfu) -> bool {
        let mut st = self.lock();
        let Some(m) = st.members.get_mut(site_id).filter(|m| m.session == session) else {
            return false;
        };
        m.layout = Some(Layout {
            published: layout.published.clone(),
            video_slots: layout.video_slots.clone(),
            audio_slots: layout.audio_slots.clone(),
        });
        st.routed.remove(site_id);
        // Present from the moment its media is negotiated, not from opening the link: a
        // site still on the join page is not in the meeting yet.
        if st.presence.insert(site_id.to_owned(), Presence::Joined) != Some(Presence::Joined) {
            if let Some(site) = self.site(site_id) {
                self.broadcast_state(&st, site);
            }
        }
        self.reroute(&mut st, sfu);
        true
    }

    /// Records a site's own device state and shows it to the chair and operators.
    pub fn set_media_state(&self, site_id: &str, session: u64, mic: bool, camera: bool) {
        let mut st = self.lock();
        let Some(m) = st.members.get_mut(site_id).filter(|m| m.session == session) else { return };
        m.mic = Some(mic);
        m.camera = Some(camera);
        if let Some(site) = self.site(site_id) {
            self.broadcast_state(&st, site);
        }
    }

    /// The socket `session` of `site_id` closed: the site leaves unless a newer connection
    /// already replaced it.
    pub fn leave(&self, site_id: &str, session: u64, sfu: &Sfu) {
        let mut st = self.lock();
        if !st.members.get(site_id).is_some_and(|m| m.session == session) {
            return;
        }
        if let Some(m) = st.members.remove(site_id) {
            sfu.remove_peer(m.peer);
        }
        st.routed.remove(site_id);
        if st.presence.get(site_id) == Some(&Presence::Joined) {
            st.presence.insert(site_id.to_owned(), Presence::Left);
            if let Some(site) = self.site(site_id) {
                self.broadcast_state(&st, site);
            }
        }
        self.reroute(&mut st, sfu);
    }

    /// The site's media connection died (ICE timeout): drop it from routing until it
    /// offers again.
    pub fn media_lost(&self, site_id: &str, peer: PeerId, sfu: &Sfu) {
        let mut st = self.lock();
        let Some(m) = st.members.get_mut(site_id).filter(|m| m.peer == peer) else { return };
        m.layout = None;
        st.routed.remove(site_id);
        self.reroute(&mut st, sfu);
    }

    /// Ends the meeting for everyone.
    pub fn end(&self, sfu: &Sfu) {
        let mut st = self.lock();
        st.ended = true;
        for (_, m) in st.members.drain() {
            let _ = m.tx.send(Outbound::Close(ServerMessage::Ended {
                reason: "ended_by_chair".into(),
            }));
            sfu.remove_peer(m.peer);
        }
        st.routed.clear();
    }

    fn visible_roster(&self, me: &ExpectedSite, st: &State) -> Vec<SiteStatus> {
        self.sites
            .iter()
            .filter(|s| me.role != Role::Site || s.id == me.id || s.role == Role::Chair)
            .map(|s| status(s, st))
            .collect()
    }

    /// Tells the chair and operators that `site`'s entry changed.
    fn broadcast_state(&self, st: &State, site: &ExpectedSite) {
        let member = st.members.get(&site.id);
        let msg = ServerMessage::SiteState {
            site: status(site, st),
            mic: member.and_then(|m| m.mic),
            camera: member.and_then(|m| m.camera),
        };
        for (id, m) in &st.members {
            let watcher = self.site(id).is_some_and(|s| matches!(s.role, Role::Chair | Role::Operator));
            if watcher && *id != site.id {
                let _ = m.tx.send(Outbound::Message(msg.clone()));
            }
        }
    }

    /// Recomputes every negotiated member's slots; sends changes to the SFU and the member.
    fn reroute(&self, st: &mut State, sfu: &Sfu) {
        let participants: Vec<Participant<'_>> = self
            .sites
            .iter()
            .filter_map(|s| {
                let m = st.members.get(&s.id)?;
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
        let mut changed = Vec::new();
        for p in &participants {
            let assignments = route::route(&participants, p);
            if st.routed.get(p.site) != Some(&assignments) {
                changed.push((p.site.to_owned(), p.peer, assignments));
            }
        }
        for (site, peer, assignments) in changed {
            let subscriptions = assignments
                .iter()
                .map(|a| Subscription {
                    slot: a.slot.clone(),
                    source: a.source.as_ref().map(|r| Source {
                        peer: r.peer,
                        track: r.track,
                        layer: r.layer,
                    }),
                })
                .collect();
            sfu.set_subscriptions(peer, subscriptions);
            let slots = assignments
                .iter()
                .map(|a| SlotInfo {
                    mid: a.slot.clone(),
                    kind: a.kind,
                    site_id: a.source.as_ref().map(|r| r.site.clone()),
                    name: a.source.as_ref().and_then(|r| self.site(&r.site)).map(|s| s.name.clone()),
                    layer: a
                        .source
                        .as_ref()
                        .filter(|r| r.track != TrackKind::Audio)
                        .map(|r| r.layer.name().to_owned()),
                })
                .collect();
            if let Some(m) = st.members.get(&site) {
                let _ = m.tx.send(Outbound::Message(ServerMessage::Slots { slots }));
            }
            st.routed.insert(site, assignments);
        }
    }
}

fn status(s: &ExpectedSite, st: &State) -> SiteStatus {
    SiteStatus {
        id: s.id.clone(),
        name: s.name.clone(),
        role: s.role,
        state: st.presence.get(&s.id).copied().unwrap_or(Presence::Waiting),
    }
}

/// All meetings this server holds, by id. A control-plane registry: consulted on join and
/// API calls, never per packet.
#[derive(Debug, Default)]
pub struct Meetings {
    map: DashMap<String, Arc<Meeting>>,
}

impl Meetings {
    /// Adds a meeting.
    pub fn insert(&self, m: Meeting) -> Arc<Meeting> {
        let m = Arc::new(m);
        self.map.insert(m.id.clone(), m.clone());
        m
    }

    /// The meeting with this id.
    pub fn get(&self, id: &str) -> Option<Arc<Meeting>> {
        self.map.get(id).map(|m| m.clone())
    }

    /// Every meeting.
    pub fn all(&self) -> Vec<Arc<Meeting>> {
        self.map.iter().map(|m| m.clone()).collect()
    }

    /// Meetings not ended.
    pub fn active(&self) -> usize {
        self.map.iter().filter(|m| !m.is_ended()).count()
    }
}
