//! Meetings: the expected sites, who is connected now, the chair's rules, the roll call, and
//! what each participant receives.
//!
//! Lifecycle of a meeting: created through the API with its expected sites → lobby (sites
//! join and wait; the hall sees them arrive) → open (the program runs) → ended by the chair
//! (every link stops working) or by expiry of its tokens. A site may join and leave any number
//! of times; a rejoin replaces its older connection.
//!
//! The shape (decide, then do):
//! - [`State`] is the whole meeting as data, and [`State::apply`] takes one [`Input`] and the
//!   time and returns the input's answer and the [`Effect`]s it asks for (messages to members,
//!   SFU commands, a snapshot to keep, metric series to drop). It does no I/O, reads no clock
//!   and draws no random numbers, so it runs in unit tests without a server. Its facets, one
//!   file each: [`membership`] (join, resume, leave, expire), [`chair`] (the consequences of
//!   the chair's actions, the grid, the admin's edit), [`operator`], [`linecheck`], [`chat`],
//!   [`link`] (what the SFU and the browser say about a member's link), [`reroute`] (routing's
//!   translation to SFU and wire types), [`view`] (what members are shown) and `record` (the
//!   snapshot kept on disk, and the state rebuilt from it).
//! - [`Meeting`] ([`handle`]) is what the server holds: a lock around the state, the clock, the
//!   sessions' queues, the files; its [`executor`] carries the effects out after the state's
//!   lock is released.
//!
//! Who connects as what: the meeting alone decides which media connection (`PeerId`) is which
//! site's; the node's index of connections (`AppState::peers`) is written only by the
//! executor, from [`Effect::PeerAdded`] and [`Effect::RemovePeer`].

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use sfu::{PeerId, TrackKind};

use crate::moderation::{Moderation, Sites};
use crate::protocol::{CheckReport, ErrorCode, Presence, ReceiveSlots, Refusal, Role};
use crate::rollcall::RollCall;
use crate::route::{Assignment, GridPage};

pub mod chair;
pub mod chat;
pub mod effect;
pub mod executor;
pub mod floorlog;
pub mod handle;
pub mod ingest;
pub mod linecheck;
pub mod link;
pub mod membership;
pub mod operator;
mod record;
pub mod recording;
mod registry;
pub mod reroute;
pub mod view;

#[cfg(test)]
mod tests;

pub use crate::outbox::Outbound;
pub use crate::site::ExpectedSite;
pub use effect::{Effect, Record};
pub use executor::Node;
pub use handle::Meeting;
pub use membership::{Departure, Joined};
pub use registry::Meetings;

/// Default tiles on the hall's grid page.
pub const DEFAULT_GRID_PAGE: u16 = 16;
/// Most tiles on the hall's grid page (the hall PC decodes at most this many videos).
pub const MAX_GRID_PAGE: u16 = 25;

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

impl MeetingOptions {
    /// How many slots a participant of `role` must offer.
    pub fn receive_slots(self, role: Role) -> ReceiveSlots {
        match role {
            Role::Chair => ReceiveSlots {
                video: self.grid_slots + 1,
                audio: self.grid_slots,
            },
            // Chair camera, presentation, spotlight, and the floor holders.
            Role::Site | Role::Operator => ReceiveSlots {
                video: 3 + self.floor_limit,
                audio: 1 + self.floor_limit,
            },
        }
    }

    /// The options within their bounds.
    fn clamped(self) -> Self {
        MeetingOptions {
            floor_limit: self
                .floor_limit
                .clamp(1, crate::moderation::MAX_FLOOR_LIMIT),
            grid_slots: self.grid_slots.clamp(1, MAX_GRID_PAGE),
        }
    }
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

/// A connected site.
#[derive(Debug)]
struct Member {
    /// Which socket holds this site now (a rejoin or resume moves it).
    session: u64,
    /// Its media connection (the one record of which connection is whose).
    peer: PeerId,
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

/// The media layout of a member's accepted offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Tracks it publishes.
    pub published: Vec<TrackKind>,
    /// Its video receive slots (mids).
    pub video_slots: Vec<String>,
    /// Its audio receive slots (mids).
    pub audio_slots: Vec<String>,
    /// The node whose SFU holds the connection (a cluster only; `None` alone).
    pub node: Option<String>,
}

impl From<&sfu::PeerLayout> for Layout {
    fn from(l: &sfu::PeerLayout) -> Self {
        Layout {
            published: l.published.clone(),
            video_slots: l.video_slots.clone(),
            audio_slots: l.audio_slots.clone(),
            node: None,
        }
    }
}

/// One meeting, as data: everything it knows, and the effects its last changes asked for.
#[derive(Debug)]
pub struct State {
    id: String,
    title: String,
    expires_at: u64,
    /// Expected sites in roster order: chair, sites, operator.
    sites: Vec<ExpectedSite>,
    options: MeetingOptions,
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
    /// The one valid link of each site, by token id (see [`State::link_is_current`]).
    links: BTreeMap<String, String>,
    /// When it was ended, Unix milliseconds (the retention period counts from here).
    ended_ms: Option<u64>,
    /// Whether it is kept on disk (a data directory): without, no snapshot is built.
    kept: bool,
    /// The hall's own equipment: WHIP publications and WHEP players (never kept on disk: a
    /// restart ends their connections anyway).
    equipment: ingest::Equipment,
    /// The last [`chat::HISTORY`] messages, for pages that join later.
    chat: VecDeque<chat::Line>,
    /// Who held the floor when (see [`floorlog`]).
    floor_log: Vec<floorlog::Span>,
    /// Recorded since when, while it is (see [`recording`]; a restart does not resume it).
    recording: Option<recording::On>,
    /// The connections being recorded now, with their files' label.
    recorded: BTreeMap<PeerId, String>,
    /// Effects of the input being applied, handed out by [`State::apply`].
    effects: Vec<Effect>,
    /// The input changed what is kept on disk: `Some(durable)`.
    persist: Option<bool>,
}

/// One thing that happens to a meeting: a member's message, an SFU event, an admin request,
/// a timer. Each input is a type of its own with its answer ([`Input::Reply`]), declared in
/// the facet it belongs to.
pub trait Input {
    /// What the caller learns besides the effects.
    type Reply;
    /// Changes `meeting` at `now_ms` (Unix milliseconds), pushing effects on it; a refusal
    /// leaves it untouched.
    fn apply(self, meeting: &mut State, now_ms: u64) -> Result<Self::Reply, Refusal>;
}

impl State {
    /// A new meeting in the lobby with nobody connected; `kept` when it is kept on disk.
    pub fn new(
        id: String,
        title: String,
        expires_at: u64,
        sites: Vec<ExpectedSite>,
        options: MeetingOptions,
        kept: bool,
    ) -> Self {
        let options = options.clamped();
        State {
            id,
            title,
            expires_at,
            sites,
            options,
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
            links: BTreeMap::new(),
            ended_ms: None,
            kept,
            equipment: ingest::Equipment::default(),
            chat: VecDeque::new(),
            floor_log: Vec::new(),
            recording: None,
            recorded: BTreeMap::new(),
            effects: Vec::new(),
            persist: None,
        }
    }

    /// Applies `input` at `now_ms`: its answer and the effects to carry out, in order. A
    /// refused input changes nothing and asks for nothing.
    pub fn apply<I: Input>(
        &mut self,
        input: I,
        now_ms: u64,
    ) -> Result<(I::Reply, Vec<Effect>), Refusal> {
        let holders = self.rules.holders.clone();
        let result = input.apply(self, now_ms);
        if result.is_ok() && holders != self.rules.holders {
            floorlog::track(&mut self.floor_log, &holders, &self.rules.holders, now_ms);
        }
        if result.is_ok() {
            recording::follow(self);
        }
        let persist = self.persist.take();
        let mut effects = std::mem::take(&mut self.effects);
        let reply = result?;
        if let Some(durable) = persist.filter(|_| self.kept) {
            let persist = Effect::Persist {
                record: Box::new(self.record(now_ms)),
                durable,
            };
            // An acknowledged change is written (or its write is waited for) before anyone
            // is told of it; a queued one after.
            if durable {
                effects.insert(0, persist);
            } else {
                effects.push(persist);
            }
        }
        Ok((reply, effects))
    }

    /// Meeting id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// Expected sites in roster order.
    pub fn sites(&self) -> &[ExpectedSite] {
        &self.sites
    }

    /// The expected site with this id.
    pub fn site(&self, id: &str) -> Option<&ExpectedSite> {
        self.sites.iter().find(|s| s.id == id)
    }

    /// The chair's rules now.
    pub fn rules(&self) -> &Moderation {
        &self.rules
    }

    /// Whether the chair (or the admin) ended it.
    pub fn is_ended(&self) -> bool {
        self.rules.phase == crate::protocol::Phase::Ended
    }

    /// Whether `site_id` has a connection now.
    pub fn is_connected(&self, site_id: &str) -> bool {
        self.members.contains_key(site_id)
    }

    /// Number of connected sites.
    pub fn connected(&self) -> usize {
        self.members.len()
    }

    /// `site_id`'s media connection, if it has one.
    pub fn peer_of(&self, site_id: &str) -> Option<PeerId> {
        self.members.get(site_id).map(|m| m.peer)
    }

    /// Who held the floor when, oldest first.
    pub fn floor_log(&self) -> &[floorlog::Span] {
        &self.floor_log
    }

    /// When it was ended (Unix ms), if it was.
    pub fn ended_ms(&self) -> Option<u64> {
        self.ended_ms
    }

    /// Whether a link with token id `jti` still admits `site`. A site without a recorded
    /// link (a meeting stored before links were tracked) accepts every link signed for it.
    pub fn link_is_current(&self, site: &str, jti: &str) -> bool {
        self.links
            .get(site)
            .is_none_or(|current| same_secret(current, jti))
    }

    /// The transport label of `site_id` now (see [`ClientInfo::transport_label`]).
    pub fn transport_of(&self, site_id: &str) -> &'static str {
        self.members
            .get(site_id)
            .map_or("unknown", |m| m.client.transport_label())
    }

    /// Queues `message` for `site`'s socket, if it is connected.
    fn send_to(&mut self, site: &str, message: crate::protocol::ServerMessage) {
        if let Some(m) = self.members.get(site) {
            let session = m.session;
            self.effects.push(Effect::Send { session, message });
        }
    }

    /// Queues `message` for every member for whom `reads` holds.
    fn send_where(
        &mut self,
        message: &crate::protocol::ServerMessage,
        reads: impl Fn(&State, &str) -> bool,
    ) {
        let mut to: Vec<u64> = self
            .members
            .iter()
            .filter(|(id, _)| reads(self, id))
            .map(|(_, m)| m.session)
            .collect();
        to.sort_unstable();
        for session in to {
            self.effects.push(Effect::Send {
                session,
                message: message.clone(),
            });
        }
    }

    /// Queues `message` for every member.
    fn broadcast(&mut self, message: &crate::protocol::ServerMessage) {
        self.send_where(message, |_, _| true);
    }

    /// The change is to be kept on disk (queued, or `durable` before the caller answers).
    fn keep(&mut self, durable: bool) {
        self.persist = Some(self.persist.unwrap_or(false) || durable);
    }

    /// Chair, co-chairs and operators see the whole roster and every site's state.
    fn is_watcher(&self, site_id: &str) -> bool {
        self.rules.cochairs.contains(site_id)
            || self
                .site(site_id)
                .is_some_and(|s| matches!(s.role, Role::Chair | Role::Operator))
    }

    /// The member `site` if socket `session` holds it.
    fn held_by(&self, site: &str, session: u64) -> Option<&Member> {
        self.members.get(site).filter(|m| m.session == session)
    }
}

impl Sites for State {
    fn role_of(&self, site: &str) -> Option<Role> {
        self.site(site).map(|s| s.role)
    }
    fn is_connected(&self, site: &str) -> bool {
        self.members.get(site).is_some_and(|m| m.layout.is_some())
    }
    fn ever_joined(&self, site: &str) -> bool {
        self.presence
            .get(site)
            .is_some_and(|p| *p != Presence::Waiting)
    }
}

fn site_removed() -> Refusal {
    Refusal::new(
        ErrorCode::SiteRemoved,
        "this site is no longer part of the meeting",
    )
}

fn not_joined() -> Refusal {
    Refusal::new(
        ErrorCode::NotJoined,
        "this connection no longer holds the site",
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
