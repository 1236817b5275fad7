//! Meetings: the expected sites, who is connected now, the chair's rules, the roll call, and
//! what each participant receives.
//!
//! Lifecycle of a meeting: created through the API with its expected sites → lobby (sites
//! join and wait; the hall sees them arrive) → open (the program runs) → ended by the chair
//! (every link stops working) or by expiry of its tokens. A site may join and leave any number
//! of times; a rejoin replaces its older connection.
//!
//! Every operation takes the meeting's lock, updates state, pushes messages into the members'
//! unbounded queues and commands into the SFU's queue, and returns. Nothing awaits under the
//! lock, so a `std::sync::Mutex` is the right, cheaper choice.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use crate::outbox::Outbox;
use dashmap::DashMap;
use sfu::{PeerId, Sfu, Source, Subscription, TrackKind};

use crate::moderation::{Action, Actor, Moderation, Sites};
use crate::protocol::{
    CheckReport, ErrorCode, MeetingInfo, Phase, Presence, ReceiveSlots, Refusal, Role,
    ServerMessage, SiteRef, SiteStats, SiteStatus, SlotInfo, StatsTotals,
};
use crate::rollcall::{Attendance, Expected, RollCall};
use crate::route::{self, Assignment, GridPage, Participant};
use crate::store::{MeetingStore, Snapshot};
use crate::token::unix_now_ms;

/// Default tiles on the hall's grid page.
pub const DEFAULT_GRID_PAGE: u16 = 16;
/// Most tiles on the hall's grid page (the hall PC decodes at most this many videos).
pub const MAX_GRID_PAGE: u16 = 25;

/// What a session's outgoing queue carries.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// Send this message.
    Message(ServerMessage),
    /// Send this message, then close the socket.
    Close(ServerMessage),
}

/// A site the meeting expects (fixed at creation).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ExpectedSite {
    /// Id within the meeting (`chair`, `operator`, `s1`…).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
}

/// Settings fixed when a meeting is created.
#[derive(Debug, Clone, Copy)]
pub struct MeetingOptions {
    /// Most floor holders at once.
    pub floor_limit: u16,
    /// Most tiles on the hall's grid page (the chair's video slots are one more, for the
    /// presentation).
    pub grid_slots: u16,
}

impl Default for MeetingOptions {
    fn default() -> Self {
        MeetingOptions {
            floor_limit: crate::moderation::DEFAULT_FLOOR_LIMIT,
            grid_slots: DEFAULT_GRID_PAGE,
        }
    }
}

/// A connected site.
#[derive(Debug)]
struct Member {
    /// Which socket holds this site now (a rejoin replaces it).
    session: u64,
    peer: PeerId,
    tx: Outbox,
    /// What a new socket presents to take this connection over (`join.resume`).
    resume: String,
    /// Set once its offer is accepted.
    layout: Option<Layout>,
    mic: Option<bool>,
    camera: Option<bool>,
    /// What its link lets it receive, as the SFU last said.
    reception: Option<&'static str>,
    /// Browser and connection, as the browser says (`client_info`).
    client: ClientInfo,
    /// Latest link figures from the SFU.
    live: Option<sfu::PeerReport>,
}

/// What a browser says about itself (`client_info`); shown to operators, never trusted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientInfo {
    /// Browser name and version.
    pub browser: Option<String>,
    /// Local candidate type of the selected pair.
    pub candidate: Option<String>,
    /// Transport of the selected pair.
    pub transport: Option<String>,
}

impl ClientInfo {
    /// `relay` through TURN, else the transport (`udp`, `tcp`), else `unknown`: the metrics
    /// label and the operator column.
    pub fn transport_label(&self) -> &'static str {
        match (self.candidate.as_deref(), self.transport.as_deref()) {
            (Some("relay"), _) => "relay",
            (_, Some("udp")) => "udp",
            (_, Some("tcp")) => "tcp",
            _ => "unknown",
        }
    }
}

#[derive(Debug, Clone)]
struct Layout {
    published: Vec<TrackKind>,
    video_slots: Vec<String>,
    audio_slots: Vec<String>,
}

#[derive(Debug)]
struct State {
    rules: Moderation,
    members: HashMap<String, Member>,
    presence: HashMap<String, Presence>,
    /// Last routing sent per site, to send only changes.
    routed: HashMap<String, Vec<Assignment>>,
    grid_page: u32,
    grid_page_size: u16,
    last_grid: Option<GridPage>,
    rollcall: RollCall,
    /// Participants running the line check now (lobby only).
    checking: HashSet<String>,
    /// Latest line check result per site, with when it came (Unix ms).
    checks: HashMap<String, (u64, CheckReport)>,
    /// Sites the operators switched to audio only.
    audio_only: HashSet<String>,
    /// The one valid link of each site, by token id (see [`Meeting::link_is_current`]).
    links: std::collections::BTreeMap<String, String>,
    /// When it was ended, Unix milliseconds (the retention period counts from here).
    ended_ms: Option<u64>,
}

/// One meeting.
#[derive(Debug)]
pub struct Meeting {
    /// Meeting id.
    pub id: String,
    /// Title (the admin may edit it: [`Meeting::edit`]).
    title: RwLock<String>,
    /// Token expiry, Unix seconds.
    pub expires_at: u64,
    /// Expected sites in roster order: chair, sites, operator. Replaced whole by
    /// [`Meeting::edit`]; readers take the `Arc` and let go of the lock at once, so the lock
    /// is never held while the state's is taken.
    sites: RwLock<Arc<Vec<ExpectedSite>>>,
    /// Settings fixed at creation.
    pub options: MeetingOptions,
    state: Mutex<State>,
    /// The files that keep it across restarts (none without a data directory).
    store: Option<MeetingStore>,
}

/// What a successful join hands the session, in sending order.
#[derive(Debug)]
pub struct Joined {
    /// `joined`, then `meeting_state`, then `floor`.
    pub messages: Vec<ServerMessage>,
    /// The site's connection: the new one, or the resumed one.
    pub peer: PeerId,
    /// Whether an existing connection was resumed.
    pub resumed: bool,
}

/// What became of a connection whose socket closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Departure {
    /// Another socket holds the same peer (resumed): nothing to clean up.
    Resumed,
    /// Kept for [`crate::protocol::RESUME_GRACE`]; call [`Meeting::expire`] after it.
    Detached,
    /// The site left (or had been replaced): its peer is to be removed.
    Gone,
}

/// Whether the link with token id `jti` is `site`'s current one. A site without a recorded
/// link (a meeting stored before links were tracked) accepts every link signed for it.
fn link_is_current(st: &State, site: &str, jti: &str) -> bool {
    st.links
        .get(site)
        .is_none_or(|current| same_secret(current, jti))
}

fn revoked() -> Refusal {
    Refusal::new(
        ErrorCode::LinkRevoked,
        "this invitation link was revoked and replaced; ask the organiser for the new link",
    )
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

struct View<'a> {
    meeting: &'a Meeting,
    st: &'a State,
}

impl Sites for View<'_> {
    fn role_of(&self, site: &str) -> Option<Role> {
        self.meeting.site(site).map(|s| s.role)
    }
    fn is_connected(&self, site: &str) -> bool {
        self.st
            .members
            .get(site)
            .is_some_and(|m| m.layout.is_some())
    }
    fn ever_joined(&self, site: &str) -> bool {
        self.st
            .presence
            .get(site)
            .is_some_and(|p| *p != Presence::Waiting)
    }
}

impl Meeting {
    /// A new meeting in the lobby with nobody connected. With `store`, every change of its
    /// rules and roll call is kept on disk (see [`crate::store`]).
    pub fn new(
        id: String,
        title: String,
        expires_at: u64,
        sites: Vec<ExpectedSite>,
        options: MeetingOptions,
        store: Option<MeetingStore>,
    ) -> Self {
        let options = MeetingOptions {
            floor_limit: options
                .floor_limit
                .clamp(1, crate::moderation::MAX_FLOOR_LIMIT),
            grid_slots: options.grid_slots.clamp(1, MAX_GRID_PAGE),
        };
        Meeting {
            id,
            title: RwLock::new(title),
            expires_at,
            sites: RwLock::new(Arc::new(sites)),
            options,
            state: Mutex::new(State {
                rules: Moderation::new(options.floor_limit),
                members: HashMap::new(),
                presence: HashMap::new(),
                routed: HashMap::new(),
                grid_page: 0,
                grid_page_size: options.grid_slots,
                last_grid: None,
                rollcall: RollCall::new(),
                checking: HashSet::new(),
                checks: HashMap::new(),
                audio_only: HashSet::new(),
                links: Default::default(),
                ended_ms: None,
            }),
            store,
        }
    }

    /// Rebuilds a meeting from its snapshot after a restart (see [`crate::store`]). Sites
    /// that were present when the server went away left at `left_ms` (when it was last seen
    /// alive, [`crate::store::crash_leave_ms`]); nobody is connected.
    pub fn restore(snapshot: Snapshot, left_ms: u64, store: Option<MeetingStore>) -> Self {
        let options = MeetingOptions {
            floor_limit: snapshot.floor_limit,
            grid_slots: snapshot.grid_slots,
        };
        let mut m = Meeting::new(
            snapshot.id,
            snapshot.title,
            snapshot.expires_at,
            snapshot.sites,
            options,
            store,
        );
        let st = m.state.get_mut().unwrap_or_else(|e| e.into_inner());
        st.rules = snapshot.rules;
        // The shared screen went with the presenter's connection; the page shares it again.
        st.rules.presenter = None;
        st.rollcall = snapshot.rollcall;
        st.grid_page = snapshot.grid_page;
        st.grid_page_size = snapshot.grid_page_size.clamp(1, MAX_GRID_PAGE);
        st.audio_only = snapshot.audio_only.into_iter().collect();
        st.links = snapshot.links;
        st.ended_ms = snapshot.ended_ms;
        for site in m.sites.get_mut().unwrap_or_else(|e| e.into_inner()).iter() {
            if st.rollcall.is_present(&site.id) {
                st.rollcall.left(&site.id, left_ms);
            }
            if st.rollcall.ever_joined(&site.id) {
                st.presence.insert(site.id.clone(), Presence::Left);
            }
        }
        m
    }

    /// What a restart rebuilds this meeting from.
    fn snapshot(&self, st: &State) -> Snapshot {
        Snapshot {
            version: crate::store::SNAPSHOT_VERSION,
            id: self.id.clone(),
            title: self.title(),
            expires_at: self.expires_at,
            floor_limit: self.options.floor_limit,
            grid_slots: self.options.grid_slots,
            sites: self.sites().to_vec(),
            rules: st.rules.clone(),
            rollcall: st.rollcall.clone(),
            grid_page: st.grid_page,
            grid_page_size: st.grid_page_size,
            audio_only: st.audio_only.iter().cloned().collect(),
            saved_ms: unix_now_ms(),
            links: st.links.clone(),
            ended_ms: st.ended_ms,
        }
    }

    /// Writes the meeting's files durably before returning: for what is acknowledged (its
    /// creation, a reissued link, its end) and at shutdown.
    pub fn save_now(&self) -> std::io::Result<()> {
        let st = self.lock();
        self.save_locked(&st)
    }

    fn save_locked(&self, st: &State) -> std::io::Result<()> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        store.save_now(self.snapshot(st), self.report(st))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain maps behind: still consistent enough
        // to serve the other sites, so recover instead of taking the meeting down.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The expected site with this id.
    pub fn site(&self, id: &str) -> Option<ExpectedSite> {
        self.sites().iter().find(|s| s.id == id).cloned()
    }

    /// Expected sites in roster order.
    pub fn sites(&self) -> Arc<Vec<ExpectedSite>> {
        self.sites.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The title.
    pub fn title(&self) -> String {
        self.title.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether the chair ended it.
    pub fn is_ended(&self) -> bool {
        self.lock().rules.phase == Phase::Ended
    }

    /// Whether `site` holds the co-chair right now.
    pub fn is_cochair(&self, site: &str) -> bool {
        self.lock().rules.cochairs.contains(site)
    }

    /// Roster with presence, for the API.
    pub fn roster(&self) -> Vec<SiteStatus> {
        let st = self.lock();
        self.sites().iter().map(|s| status(s, &st)).collect()
    }

    /// Whether `site_id` has a connection now.
    pub fn is_connected(&self, site_id: &str) -> bool {
        self.lock().members.contains_key(site_id)
    }

    /// Number of connected sites.
    pub fn connected(&self) -> usize {
        self.lock().members.len()
    }

    /// The roll call now.
    pub fn attendance(&self) -> Attendance {
        let st = self.lock();
        self.report(&st)
    }

    fn info(&self) -> MeetingInfo {
        MeetingInfo {
            id: self.id.clone(),
            title: self.title(),
        }
    }

    fn report(&self, st: &State) -> Attendance {
        let sites = self.sites();
        let expected: Vec<Expected<'_>> = sites
            .iter()
            .map(|s| Expected {
                id: &s.id,
                name: &s.name,
                role: s.role,
                presence: st.presence.get(&s.id).copied().unwrap_or(Presence::Waiting),
            })
            .collect();
        st.rollcall.report(self.info(), &expected, unix_now_ms())
    }

    fn persist(&self, st: &State) {
        if let Some(store) = &self.store {
            store.save(self.snapshot(st), self.report(st));
        }
    }

    /// How many slots a participant of `role` must offer.
    pub fn receive_slots(&self, role: Role) -> ReceiveSlots {
        match role {
            Role::Chair => ReceiveSlots {
                video: self.options.grid_slots + 1,
                audio: self.options.grid_slots,
            },
            // Chair camera, presentation, spotlight, and the floor holders.
            Role::Site | Role::Operator => ReceiveSlots {
                video: 3 + self.options.floor_limit,
                audio: 1 + self.options.floor_limit,
            },
        }
    }

    /// Admits `site_id` on socket `session`. With `resume` equal to the secret of the site's
    /// current connection (its socket dropped, or is dying), the new socket takes that
    /// connection over: same peer, layout and routing, nothing in the roll call. Otherwise
    /// `peer` is its new connection and an older one is told `replaced` and closed.
    /// `link` is the token id (`jti`) of the link it joined with: a revoked link is refused.
    #[allow(clippy::too_many_arguments)]
    pub fn join(
        &self,
        site_id: &str,
        link: &str,
        session: u64,
        peer: PeerId,
        tx: Outbox,
        resume: Option<&str>,
        sfu: &Sfu,
    ) -> Result<Joined, Refusal> {
        let site = self
            .site(site_id)
            .ok_or_else(|| {
                Refusal::new(
                    ErrorCode::SiteRemoved,
                    "this site is no longer part of the meeting",
                )
            })?
            .clone();
        let mut st = self.lock();
        if !link_is_current(&st, &site.id, link) {
            return Err(revoked());
        }
        st.rules.admit(
            &site.id,
            &View {
                meeting: self,
                st: &st,
            },
        )?;
        let secret = uuid::Uuid::new_v4().simple().to_string();
        let resumable = st
            .members
            .get(&site.id)
            .zip(resume)
            .is_some_and(|(m, given)| m.layout.is_some() && same_secret(&m.resume, given));
        let (peer, resumed) = if resumable {
            let m = st.members.get_mut(&site.id).expect("checked above");
            // The old socket, if it still lives, hears nothing more and closes.
            let _ = m.tx.send(Outbound::Close(
                Refusal::new(
                    ErrorCode::Replaced,
                    "this connection was resumed on a new socket",
                )
                .to_message(),
            ));
            m.session = session;
            m.tx = tx;
            m.resume = secret.clone();
            (m.peer, true)
        } else {
            let old = st.members.insert(
                site.id.clone(),
                Member {
                    session,
                    peer,
                    tx,
                    resume: secret.clone(),
                    layout: None,
                    mic: None,
                    camera: None,
                    reception: None,
                    client: ClientInfo::default(),
                    live: None,
                },
            );
            st.checking.remove(&site.id);
            if let Some(old) = old {
                let _ = old.tx.send(Outbound::Close(
                    Refusal::new(
                        ErrorCode::Replaced,
                        "this site joined from another window or computer",
                    )
                    .to_message(),
                ));
                sfu.remove_peer(old.peer);
                st.routed.remove(&site.id);
            }
            (peer, false)
        };
        let joined = ServerMessage::Joined {
            v: crate::protocol::PROTOCOL_VERSION,
            meeting: self.info(),
            you: SiteRef {
                id: site.id.clone(),
                name: site.name.clone(),
                role: site.role,
            },
            sites: own_entry_joined(self.visible_roster(&site, &st), &site.id),
            receive: self.receive_slots(site.role),
            ice_servers: Vec::new(),
            resume: secret,
            resumed,
        };
        let mut messages = vec![joined, meeting_state(&st.rules), floor(&st.rules)];
        // The chair's marks (mute, removal...) on every site this participant may see.
        let watcher = self.is_watcher(&site.id, &st);
        for s in self.sites().iter() {
            if (watcher || s.id == site.id) && self.has_marks(&s.id, &st) {
                messages.push(self.site_state(s, &st));
            }
            if watcher || s.id == site.id {
                if let Some((at_ms, report)) = st.checks.get(&s.id) {
                    messages.push(ServerMessage::CheckResult {
                        site_id: s.id.clone(),
                        at_ms: *at_ms,
                        report: report.clone(),
                    });
                }
            }
        }
        // Routing (and the chair's `grid`) waits for `route_joined`: `joined` goes out first.
        Ok(Joined {
            messages,
            peer,
            resumed,
        })
    }

    /// Records `jti` as the one valid link of `site_id` (a link signed for it at creation).
    pub fn set_link(&self, site_id: &str, jti: &str) {
        self.lock().links.insert(site_id.to_owned(), jti.to_owned());
    }

    /// Whether a link with token id `jti` still admits `site_id`.
    pub fn link_is_current(&self, site_id: &str, jti: &str) -> bool {
        link_is_current(&self.lock(), site_id, jti)
    }

    /// Revokes every earlier link of `site_id` and makes `jti` its one valid link; a session
    /// joined with an earlier link is ended with `link_revoked`. Durable before it returns
    /// (the caller acknowledges it); the revocation holds in memory even if the write fails.
    pub fn reissue(&self, site_id: &str, jti: &str, sfu: &Sfu) -> std::io::Result<()> {
        let mut st = self.lock();
        st.links.insert(site_id.to_owned(), jti.to_owned());
        if let Some(m) = st.members.remove(site_id) {
            let _ = m.tx.send(Outbound::Close(revoked().to_message()));
            sfu.remove_peer(m.peer);
            self.mark_left(&mut st, site_id);
            self.reroute(&mut st, sfu);
        }
        self.save_locked(&st)
    }

    /// The admin's edit: a new title, sites added (before the operator, in roster order) and
    /// sites removed (ids of `site` role, checked by the caller). A removed site that ever
    /// joined stays in the roster and the roll call, marked removed as by the chair's
    /// `remove_site`; one that never joined leaves the roster. A removed site's session is
    /// closed with `site_removed` and its link refused. Durable before it returns.
    pub fn edit(
        &self,
        title: Option<String>,
        added: Vec<ExpectedSite>,
        removed: &[String],
        sfu: &Sfu,
    ) -> std::io::Result<()> {
        // As the chair's `remove_site`: off the floor, hands and spotlight, disconnected.
        let chair = self.sites().iter().find(|s| s.role == Role::Chair).cloned();
        if let Some(chair) = chair {
            for id in removed {
                // Refused only as `conflict` for a site removed already: nothing to do.
                let _ = self.act(&chair.id, Action::Remove(id.clone()), sfu);
            }
        }
        let mut st = self.lock();
        if let Some(t) = title {
            *self.title.write().unwrap_or_else(|e| e.into_inner()) = t;
        }
        let mut sites = self.sites().to_vec();
        for id in removed {
            if st.rollcall.ever_joined(id) {
                continue;
            }
            sites.retain(|s| &s.id != id);
            st.links.remove(id);
            st.rules.removed.remove(id);
        }
        let operator_at = sites
            .iter()
            .position(|s| s.role == Role::Operator)
            .unwrap_or(sites.len());
        sites.splice(operator_at..operator_at, added);
        *self.sites.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(sites);
        self.reroute(&mut st, sfu);
        self.save_locked(&st)
    }

    /// When it was ended (Unix ms), if it was.
    pub fn ended_ms(&self) -> Option<u64> {
        self.lock().ended_ms
    }

    /// Ends it (if not yet) and deletes its snapshot, so a restart does not bring it back;
    /// its roll call stays on disk.
    pub fn retire(&self, sfu: &Sfu) -> std::io::Result<()> {
        self.end(sfu);
        self.store
            .as_ref()
            .map_or(Ok(()), MeetingStore::remove_snapshot)
    }

    /// Routes the meeting after a new member's `joined` went out, so that whatever routing
    /// sends it (the chair's `grid`, `slots`) comes after `joined`, as the protocol says.
    pub fn route_joined(&self, sfu: &Sfu) {
        let mut st = self.lock();
        self.reroute(&mut st, sfu);
    }

    /// Sends `site_id` its current slots again (after a resumed join, once `joined` went out).
    pub fn resend_slots(&self, site_id: &str, sfu: &Sfu) {
        let mut st = self.lock();
        st.routed.remove(site_id);
        self.reroute(&mut st, sfu);
    }

    /// Records the media layout of `site_id`'s accepted offer and re-routes. Returns
    /// false if that session no longer holds the site.
    pub fn set_layout(
        &self,
        site_id: &str,
        session: u64,
        layout: &sfu::PeerLayout,
        sfu: &Sfu,
    ) -> bool {
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
            st.rollcall.joined(site_id, unix_now_ms());
            if let Some(site) = self.site(site_id) {
                self.broadcast_state(&st, &site);
            }
            self.persist(&st);
        }
        self.reroute(&mut st, sfu);
        true
    }

    /// Records a site's own device state and shows it to the chair and operators.
    pub fn set_media_state(&self, site_id: &str, session: u64, mic: bool, camera: bool) {
        let mut st = self.lock();
        let Some(m) = st.members.get_mut(site_id).filter(|m| m.session == session) else {
            return;
        };
        m.mic = Some(mic);
        m.camera = Some(camera);
        if let Some(site) = self.site(site_id) {
            self.broadcast_state(&st, &site);
        }
    }

    /// Sends `msg` to `site_id` if `peer` is still its connection.
    pub fn notify(&self, site_id: &str, peer: PeerId, msg: ServerMessage) {
        let st = self.lock();
        if let Some(m) = st.members.get(site_id).filter(|m| m.peer == peer) {
            let _ = m.tx.send(Outbound::Message(msg));
        }
    }

    /// The SFU's word on what `site_id`'s link lets it receive; the chair, operators and the
    /// site itself are told when it changes.
    pub fn set_reception(&self, site_id: &str, peer: PeerId, reception: &'static str) {
        let mut st = self.lock();
        let Some(m) = st.members.get_mut(site_id).filter(|m| m.peer == peer) else {
            return;
        };
        if m.reception == Some(reception) {
            return;
        }
        m.reception = Some(reception);
        if let Some(site) = self.site(site_id) {
            self.broadcast_state(&st, &site);
        }
    }

    /// The socket `session` of `site_id` (connection `peer`) closed. With `detach` (the
    /// socket dropped without `leave`), a site whose media is up keeps its place for the
    /// resume grace; otherwise it leaves, unless a newer connection replaced or resumed it.
    pub fn depart(
        &self,
        site_id: &str,
        session: u64,
        peer: PeerId,
        detach: bool,
        sfu: &Sfu,
    ) -> Departure {
        let mut st = self.lock();
        let Some(m) = st.members.get(site_id) else {
            return Departure::Gone;
        };
        if m.session != session {
            return if m.peer == peer {
                Departure::Resumed
            } else {
                Departure::Gone
            };
        }
        if detach && m.layout.is_some() {
            return Departure::Detached;
        }
        if let Some(m) = st.members.remove(site_id) {
            sfu.remove_peer(m.peer);
        }
        self.mark_left(&mut st, site_id);
        self.reroute(&mut st, sfu);
        Departure::Gone
    }

    /// The resume grace of socket `session` is over: if no socket took the site back, it
    /// leaves. Returns whether `peer` is no longer in use (to be cleaned up).
    pub fn expire(&self, site_id: &str, session: u64, peer: PeerId, sfu: &Sfu) -> bool {
        let mut st = self.lock();
        match st.members.get(site_id) {
            Some(m) if m.session == session => {
                st.members.remove(site_id);
                sfu.remove_peer(peer);
                self.mark_left(&mut st, site_id);
                self.reroute(&mut st, sfu);
                true
            }
            Some(m) => m.peer != peer,
            None => true,
        }
    }

    fn mark_left(&self, st: &mut State, site_id: &str) {
        st.routed.remove(site_id);
        st.checking.remove(site_id);
        if st.presence.get(site_id) == Some(&Presence::Joined) {
            st.presence.insert(site_id.to_owned(), Presence::Left);
            st.rollcall.left(site_id, unix_now_ms());
            if let Some(site) = self.site(site_id) {
                self.broadcast_state(st, &site);
            }
            self.persist(st);
        }
    }

    /// The site's media connection died (ICE consent lost: its network was cut, its PC
    /// slept, its router rebooted). The site has left: the roll call and everyone else see it
    /// at once, not when its socket times out a minute later. Its socket, if it still works,
    /// is told to join again at once (`reconnect`) and closed; a site whose link is down
    /// rejoins by itself when its own pings go unanswered and the link is back.
    pub fn media_lost(&self, site_id: &str, peer: PeerId, sfu: &Sfu) {
        let mut st = self.lock();
        if st.members.get(site_id).is_none_or(|m| m.peer != peer) {
            return;
        }
        if let Some(m) = st.members.remove(site_id) {
            let _ = m.tx.send(Outbound::Close(ServerMessage::Reconnect));
            sfu.remove_peer(m.peer);
        }
        self.mark_left(&mut st, site_id);
        self.reroute(&mut st, sfu);
    }

    /// A moderation action by `actor_site`.
    pub fn act(&self, actor_site: &str, action: Action, sfu: &Sfu) -> Result<(), Refusal> {
        let role = self.site(actor_site).map(|s| s.role).ok_or_else(|| {
            Refusal::new(
                ErrorCode::SiteRemoved,
                "this site is no longer part of the meeting",
            )
        })?;
        let mut st = self.lock();
        let ending = action == Action::End;
        // Decide on a copy: a refused action leaves the rules untouched.
        let mut rules = st.rules.clone();
        let changed = rules.apply(
            Actor {
                site: actor_site,
                role,
            },
            action,
            &View {
                meeting: self,
                st: &st,
            },
            unix_now_ms(),
        )?;
        st.rules = rules;
        if ending {
            self.end_locked(&mut st, sfu);
            // The chair is told `ended`: on disk before, as every acknowledged change.
            if let Err(e) = self.save_locked(&st) {
                tracing::error!(meeting = %self.id, "cannot store the end of the meeting: {e}");
            }
            return Ok(());
        }
        if changed.meeting {
            self.broadcast(&st, &meeting_state(&st.rules));
        }
        // The line check is for the lobby: opening the meeting ends every check.
        let ended_checks = st.rules.phase != Phase::Lobby && !st.checking.is_empty();
        if ended_checks {
            for id in std::mem::take(&mut st.checking) {
                if let Some(m) = st.members.get(&id) {
                    let _ =
                        m.tx.send(Outbound::Message(ServerMessage::Check { on: false }));
                }
            }
        }
        if changed.floor {
            self.broadcast(&st, &floor(&st.rules));
        }
        for id in &changed.sites {
            if let Some(site) = self.site(id) {
                self.broadcast_state(&st, &site);
            }
        }
        if let Some(removed) = &changed.removed {
            if let Some(m) = st.members.remove(removed) {
                let _ = m.tx.send(Outbound::Close(ServerMessage::Ended {
                    reason: "removed_by_chair".into(),
                }));
                sfu.remove_peer(m.peer);
            }
            self.mark_left(&mut st, removed);
        }
        if changed.routing || ended_checks {
            self.reroute(&mut st, sfu);
        }
        self.persist(&st);
        Ok(())
    }

    /// Starts or stops `site_id`'s line check (socket `session`): while it runs, the site
    /// receives its own camera and microphone back through the SFU. Lobby only.
    pub fn check(&self, site_id: &str, session: u64, on: bool, sfu: &Sfu) -> Result<(), Refusal> {
        let mut st = self.lock();
        let Some(m) = st.members.get(site_id).filter(|m| m.session == session) else {
            return Err(Refusal::new(
                ErrorCode::NotJoined,
                "this connection no longer holds the site",
            ));
        };
        if m.layout.is_none() {
            return Err(Refusal::new(
                ErrorCode::NoOffer,
                "send an offer before the line check",
            ));
        }
        if on && st.rules.phase != Phase::Lobby {
            return Err(Refusal::new(
                ErrorCode::Conflict,
                "the line check runs in the lobby, before the meeting opens",
            ));
        }
        let tx = m.tx.clone();
        let changed = if on {
            st.checking.insert(site_id.to_owned())
        } else {
            st.checking.remove(site_id)
        };
        if changed {
            self.reroute(&mut st, sfu);
        }
        let _ = tx.send(Outbound::Message(ServerMessage::Check { on }));
        Ok(())
    }

    /// Records `site_id`'s line check result and shows it to the site, the chair, co-chairs
    /// and operators. Returns the verdict's label for the metrics.
    pub fn check_result(
        &self,
        site_id: &str,
        session: u64,
        report: CheckReport,
    ) -> Result<(), Refusal> {
        let mut st = self.lock();
        if st.members.get(site_id).is_none_or(|m| m.session != session) {
            return Err(Refusal::new(
                ErrorCode::NotJoined,
                "this connection no longer holds the site",
            ));
        }
        let at_ms = unix_now_ms();
        st.checks
            .insert(site_id.to_owned(), (at_ms, report.clone()));
        let msg = ServerMessage::CheckResult {
            site_id: site_id.to_owned(),
            at_ms,
            report,
        };
        for (id, m) in &st.members {
            if id == site_id || self.is_watcher(id, &st) {
                let _ = m.tx.send(Outbound::Message(msg.clone()));
            }
        }
        Ok(())
    }

    /// Records what `site_id`'s browser says about itself. Returns the transport label
    /// before and after, when it changed.
    pub fn client_info(
        &self,
        site_id: &str,
        session: u64,
        info: ClientInfo,
    ) -> Option<(&'static str, &'static str)> {
        let mut st = self.lock();
        let m = st
            .members
            .get_mut(site_id)
            .filter(|m| m.session == session)?;
        let before = m.client.transport_label();
        m.client = info;
        let after = m.client.transport_label();
        (before != after).then_some((before, after))
    }

    /// The transport label of `site_id` now (see [`ClientInfo::transport_label`]).
    pub fn transport_of(&self, site_id: &str) -> &'static str {
        self.lock()
            .members
            .get(site_id)
            .map_or("unknown", |m| m.client.transport_label())
    }

    /// Checks that `actor` is an operator and `target` a connected site; returns its queue.
    fn operator_target(&self, st: &State, actor: &str, target: &str) -> Result<Outbox, Refusal> {
        if self.site(actor).map(|s| s.role) != Some(Role::Operator) {
            return Err(Refusal::new(ErrorCode::Forbidden, "only operators do this"));
        }
        if self.site(target).is_none() {
            return Err(Refusal::new(
                ErrorCode::UnknownSite,
                "this meeting has no such site",
            ));
        }
        st.members
            .get(target)
            .map(|m| m.tx.clone())
            .ok_or_else(|| Refusal::new(ErrorCode::Conflict, "this site is not connected"))
    }

    /// Operator: shows `text` to `target` until it is dismissed.
    pub fn operator_notice(&self, actor: &str, target: &str, text: &str) -> Result<(), Refusal> {
        let st = self.lock();
        let tx = self.operator_target(&st, actor, target)?;
        let text: String = text
            .chars()
            .filter(|c| !c.is_control() || *c == '\n')
            .collect();
        let _ = tx.send(Outbound::Message(ServerMessage::Notice {
            from: "operator".into(),
            text,
        }));
        Ok(())
    }

    /// Operator: asks `target` to drop its connection and join again.
    pub fn operator_reconnect(&self, actor: &str, target: &str) -> Result<(), Refusal> {
        let st = self.lock();
        let tx = self.operator_target(&st, actor, target)?;
        let _ = tx.send(Outbound::Message(ServerMessage::Reconnect));
        Ok(())
    }

    /// Operator: stops (or resumes) every video towards `target`; enforced by routing.
    pub fn force_audio_only(
        &self,
        actor: &str,
        target: &str,
        on: bool,
        sfu: &Sfu,
    ) -> Result<(), Refusal> {
        let mut st = self.lock();
        self.operator_target(&st, actor, target)?;
        let changed = if on {
            st.audio_only.insert(target.to_owned())
        } else {
            st.audio_only.remove(target)
        };
        if changed {
            if let Some(site) = self.site(target) {
                self.broadcast_state(&st, &site);
            }
            self.reroute(&mut st, sfu);
            self.persist(&st);
        }
        Ok(())
    }

    /// The SFU's latest link figures of `site_id` (connection `peer`).
    /// Returns the site's transport label and browser while `peer` is still its connection.
    pub fn link_report(
        &self,
        site_id: &str,
        peer: PeerId,
        report: sfu::PeerReport,
    ) -> Option<(&'static str, String)> {
        let mut st = self.lock();
        let (loss, rtt) = (report.ingress_loss_pct, report.rtt_ms);
        let m = st.members.get_mut(site_id).filter(|m| m.peer == peer)?;
        m.live = Some(report);
        let out = (
            m.client.transport_label(),
            m.client.browser.clone().unwrap_or_default(),
        );
        st.rollcall.quality(site_id, loss, rtt);
        Some(out)
    }

    /// The `stats` message for operators, or `None` when no operator is connected.
    pub fn operator_stats(&self) -> Option<ServerMessage> {
        let st = self.lock();
        let operators: Vec<&Member> = st
            .members
            .iter()
            .filter(|(id, _)| self.site(id).is_some_and(|s| s.role == Role::Operator))
            .map(|(_, m)| m)
            .collect();
        if operators.is_empty() {
            return None;
        }
        let kbps = |bps: u64| (bps as f64 / 100.0).round() / 10.0;
        let mut sites = Vec::new();
        for s in self.sites().iter() {
            let Some(m) = st.members.get(&s.id).filter(|m| m.layout.is_some()) else {
                continue;
            };
            let r = m.live.as_ref();
            sites.push(SiteStats {
                site_id: s.id.clone(),
                up_kbps: r.map_or(0.0, |r| kbps(r.rx_bps)),
                down_kbps: r.map_or(0.0, |r| kbps(r.tx_bps)),
                up_loss_pct: r.and_then(|r| r.ingress_loss_pct),
                down_loss_pct: r.and_then(|r| r.egress_loss_pct),
                rtt_ms: r.and_then(|r| r.rtt_ms),
                jitter_ms: r.and_then(|r| r.down_jitter_ms),
                layer: r
                    .and_then(|r| r.video_layer)
                    .map(|l| l.map_or("paused", |l| l.name()).to_owned()),
                estimate_kbps: r.and_then(|r| r.estimate_bps).map(kbps),
                audio_level: r.and_then(|r| r.audio_level),
                transport: Some(m.client.transport_label())
                    .filter(|t| *t != "unknown")
                    .map(str::to_owned),
                candidate: m.client.candidate.clone(),
                browser: m.client.browser.clone(),
                nacks: r.map_or(0, |r| r.nacks_from_peer),
                plis: r.map_or(0, |r| r.keyframe_requests_from_peer),
                dropped: r.map_or(0, |r| r.policed_packets + r.malformed_packets),
                audio_only_forced: st.audio_only.contains(&s.id),
            });
        }
        let totals = StatsTotals {
            expected: self.sites().len() as u32,
            joined: sites.len() as u32,
            up_kbps: (sites.iter().map(|s| s.up_kbps).sum::<f64>() * 10.0).round() / 10.0,
            down_kbps: (sites.iter().map(|s| s.down_kbps).sum::<f64>() * 10.0).round() / 10.0,
        };
        let msg = ServerMessage::Stats {
            at_ms: unix_now_ms(),
            totals,
            sites,
        };
        for m in operators {
            let _ = m.tx.send(Outbound::Message(msg.clone()));
        }
        Some(msg)
    }

    /// The chair shows grid page `page` with `page_size` tiles.
    pub fn set_grid(
        &self,
        actor_site: &str,
        page: u32,
        page_size: Option<u16>,
        sfu: &Sfu,
    ) -> Result<(), Refusal> {
        if self.site(actor_site).map(|s| s.role) != Some(Role::Chair) {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                "only the chair pages through the grid",
            ));
        }
        let mut st = self.lock();
        if let Some(size) = page_size {
            if size == 0 || size > self.options.grid_slots {
                return Err(Refusal::new(
                    ErrorCode::BadMessage,
                    format!("page_size must be 1 to {}", self.options.grid_slots),
                ));
            }
            st.grid_page_size = size;
        }
        st.grid_page = page;
        self.reroute(&mut st, sfu);
        self.persist(&st);
        Ok(())
    }

    /// A text message from `from_site` to `to` (`chair`, `all`, or a site id).
    pub fn chat(&self, from_site: &str, to: &str, text: &str) -> Result<(), Refusal> {
        let from = self.site(from_site).ok_or_else(|| {
            Refusal::new(
                ErrorCode::SiteRemoved,
                "this site is no longer part of the meeting",
            )
        })?;
        let st = self.lock();
        let moderator = from.role != Role::Site || st.rules.cochairs.contains(from_site);
        let to_site = match to {
            "chair" => None,
            "all" if moderator => None,
            "all" => {
                return Err(Refusal::new(
                    ErrorCode::Forbidden,
                    "sites write to the chair, not to everyone",
                ))
            }
            id if moderator => {
                self.site(id).ok_or_else(|| {
                    Refusal::new(ErrorCode::UnknownSite, "this meeting has no such site")
                })?;
                Some(id)
            }
            _ => {
                return Err(Refusal::new(
                    ErrorCode::Forbidden,
                    "sites write to the chair, not to other sites",
                ))
            }
        };
        let text: String = text
            .chars()
            .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
            .collect();
        let msg = ServerMessage::Chat {
            from: SiteRef {
                id: from.id.clone(),
                name: from.name.clone(),
                role: from.role,
            },
            to: to.to_owned(),
            text,
            at_ms: unix_now_ms(),
        };
        for (id, m) in &st.members {
            let reads = id == from_site
                || to == "all"
                || to_site == Some(id.as_str())
                || self.is_watcher(id, &st);
            if reads {
                let _ = m.tx.send(Outbound::Message(msg.clone()));
            }
        }
        Ok(())
    }

    /// Ends the meeting for everyone.
    pub fn end(&self, sfu: &Sfu) {
        let mut st = self.lock();
        st.rules.phase = Phase::Ended;
        self.end_locked(&mut st, sfu);
    }

    fn end_locked(&self, st: &mut State, sfu: &Sfu) {
        let now = unix_now_ms();
        st.ended_ms.get_or_insert(now);
        let members: Vec<(String, Member)> = st.members.drain().collect();
        for (id, m) in members {
            let _ = m.tx.send(Outbound::Close(ServerMessage::Ended {
                reason: "ended_by_chair".into(),
            }));
            sfu.remove_peer(m.peer);
            if st.presence.get(&id) == Some(&Presence::Joined) {
                st.presence.insert(id.clone(), Presence::Left);
                st.rollcall.left(&id, now);
            }
        }
        st.routed.clear();
        self.persist(st);
    }

    fn visible_roster(&self, me: &ExpectedSite, st: &State) -> Vec<SiteStatus> {
        self.sites()
            .iter()
            .filter(|s| me.role != Role::Site || s.id == me.id || s.role == Role::Chair)
            .map(|s| status(s, st))
            .collect()
    }

    /// Chair, co-chairs and operators see the whole roster and every site's state.
    fn is_watcher(&self, site_id: &str, st: &State) -> bool {
        st.rules.cochairs.contains(site_id)
            || self
                .site(site_id)
                .is_some_and(|s| matches!(s.role, Role::Chair | Role::Operator))
    }

    fn site_state(&self, site: &ExpectedSite, st: &State) -> ServerMessage {
        let member = st.members.get(&site.id);
        ServerMessage::SiteState {
            site: status(site, st),
            mic: member.and_then(|m| m.mic),
            camera: member.and_then(|m| m.camera),
            muted: st.rules.muted.contains(&site.id),
            video_stopped: st.rules.video_stopped.contains(&site.id),
            cochair: st.rules.cochairs.contains(&site.id),
            removed: st.rules.removed.contains(&site.id),
            heard: !st.rules.not_heard_by_chair.contains(&site.id),
            reception: member.and_then(|m| m.reception).map(str::to_owned),
            audio_only_forced: st.audio_only.contains(&site.id),
        }
    }

    /// Whether a site's entry has anything the roster alone does not show.
    fn has_marks(&self, id: &str, st: &State) -> bool {
        let r = &st.rules;
        r.muted.contains(id)
            || r.video_stopped.contains(id)
            || r.cochairs.contains(id)
            || r.removed.contains(id)
            || r.not_heard_by_chair.contains(id)
            || st.audio_only.contains(id)
    }

    /// Tells the watchers and the site itself that `site`'s entry changed.
    fn broadcast_state(&self, st: &State, site: &ExpectedSite) {
        let msg = self.site_state(site, st);
        for (id, m) in &st.members {
            if *id == site.id || self.is_watcher(id, st) {
                let _ = m.tx.send(Outbound::Message(msg.clone()));
            }
        }
    }

    fn broadcast(&self, st: &State, msg: &ServerMessage) {
        for m in st.members.values() {
            let _ = m.tx.send(Outbound::Message(msg.clone()));
        }
    }

    /// Recomputes every negotiated member's slots; sends changes to the SFU and the member.
    fn reroute(&self, st: &mut State, sfu: &Sfu) {
        let sites = self.sites();
        let participants: Vec<Participant<'_>> = sites
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
        let grid = route::grid_page(&participants, &st.rules, st.grid_page, st.grid_page_size);
        let mut changed = Vec::new();
        for p in &participants {
            let assignments = if st.checking.contains(p.site) {
                route::loopback(p)
            } else {
                route::route(&participants, &st.rules, &grid, p)
            };
            let assignments = if st.audio_only.contains(p.site) {
                route::audio_only(assignments)
            } else {
                assignments
            };
            if st.routed.get(p.site) != Some(&assignments) {
                changed.push((p.site.to_owned(), p.peer, assignments));
            }
        }
        drop(participants);
        if st.last_grid.as_ref() != Some(&grid) {
            let msg = ServerMessage::Grid {
                page: grid.page,
                pages: grid.pages,
                page_size: grid.page_size,
                sites: grid.sites.clone(),
            };
            for (id, m) in &st.members {
                if self.site(id).is_some_and(|s| s.role == Role::Chair) {
                    let _ = m.tx.send(Outbound::Message(msg.clone()));
                }
            }
            st.last_grid = Some(grid);
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
                        priority: r.priority,
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
            if let Some(m) = st.members.get(&site) {
                let _ = m.tx.send(Outbound::Message(ServerMessage::Slots { slots }));
            }
            st.routed.insert(site, assignments);
        }
    }
}

fn track_name(t: TrackKind) -> &'static str {
    match t {
        TrackKind::Audio => "audio",
        TrackKind::Camera => "camera",
        TrackKind::Screen => "screen",
    }
}

fn meeting_state(rules: &Moderation) -> ServerMessage {
    ServerMessage::MeetingState {
        phase: rules.phase,
        locked: rules.locked,
        floor_limit: rules.floor_limit,
    }
}

fn floor(rules: &Moderation) -> ServerMessage {
    ServerMessage::Floor {
        holders: rules.holders.clone(),
        hands: rules.hands.clone(),
        spotlight: rules.spotlight.clone(),
        presenter: rules.presenter.clone(),
    }
}

/// A participant's own roster entry in its `joined`: it is connected, even though the roll
/// call counts it present only from its first answered offer.
fn own_entry_joined(mut sites: Vec<SiteStatus>, own: &str) -> Vec<SiteStatus> {
    for s in sites.iter_mut().filter(|s| s.id == own) {
        s.state = Presence::Joined;
    }
    sites
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

    /// Takes the meeting with this id out of the registry.
    pub fn remove(&self, id: &str) -> Option<Arc<Meeting>> {
        self.map.remove(id).map(|(_, m)| m)
    }

    /// Meetings not ended.
    pub fn active(&self) -> usize {
        self.map.iter().filter(|m| !m.is_ended()).count()
    }
}
