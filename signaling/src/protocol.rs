//! The WebSocket wire protocol, version 1, specified in `signaling/PROTOCOL.md`.
//!
//! Defined once here and reused by the server, the tests and the load generator. This module
//! depends on serde only (no axum, no tokio). Parsing is two-step so every refusal gets its
//! precise [`ErrorCode`]: first "is it a JSON object with a string `type`", then "is it a
//! well-formed message of that type".

use serde::{Deserialize, Serialize};

/// The protocol version this server speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest text frame handled; larger ones get [`ErrorCode::TooLarge`].
pub const MAX_FRAME_BYTES: usize = 256 * 1024;

/// Longest operator notice, in characters.
pub const MAX_NOTICE_CHARS: usize = 500;
/// Longest `client_info` string, in characters.
pub const MAX_INFO_CHARS: usize = 64;

/// Longest chat text, in characters.
pub const MAX_CHAT_CHARS: usize = 1000;

/// A participant's role, bound into its invite token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the meeting (the provincial hall).
    Chair,
    /// A participating location (district, commune, ward).
    Site,
    /// Technical staff: watch, publish nothing.
    Operator,
}

impl Role {
    /// The wire name (`chair`, `site`, `operator`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Chair => "chair",
            Role::Site => "site",
            Role::Operator => "operator",
        }
    }
}

/// Declares [`ClientMessage`] from lines `"wire_name" => Variant { fields }`, so each wire
/// name is written once: it becomes serde's tag, [`ClientMessage::kind`] and
/// [`CLIENT_TYPES`] alike (three hand-kept copies drifted before).
macro_rules! client_messages {
    ($(
        $(#[$meta:meta])*
        $wire:literal => $variant:ident $({ $($fields:tt)* })? $(( $($tuple:tt)* ))?
    ),* $(,)?) => {
        /// Messages from the browser.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "type")]
        pub enum ClientMessage {
            $(
                $(#[$meta])*
                #[serde(rename = $wire)]
                $variant $({ $($fields)* })? $(( $($tuple)* ))?,
            )*
        }

        /// Every client message type, for telling "unknown type" from "malformed known type".
        pub const CLIENT_TYPES: &[&str] = &[$($wire),*];

        impl ClientMessage {
            /// The wire `type`, also a metrics label.
            pub fn kind(&self) -> &'static str {
                match self {
                    $(ClientMessage::$variant { .. } => $wire,)*
                }
            }
        }
    };
}

client_messages! {
    /// First message: present the invite token.
    "join" => Join {
        /// Protocol version the client speaks.
        v: u32,
        /// Invite token from the link.
        token: String,
        /// `joined.resume` of this site's previous connection: within
        /// `limits.resume_seconds` ([`RESUME_GRACE`] by default) of losing its socket the site takes its session back (same peer
        /// connection, no leave in the roll call). Unknown or stale: an ordinary join.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<String>,
    },
    /// SDP offer laid out as PROTOCOL.md "Media layout" says.
    "offer" => Offer {
        /// The SDP text.
        sdp: String,
    },
    /// A trickled ICE candidate (`""` ends gathering).
    "candidate" => Candidate {
        /// The `candidate:` line.
        candidate: String,
        /// The m-line it belongs to.
        #[serde(default)]
        sdp_mid: Option<String>,
    },
    /// The site's own device state.
    "media_state" => MediaState {
        /// Microphone switched on locally.
        mic: bool,
        /// Camera switched on locally.
        camera: bool,
    },
    /// Keep-alive; answered by `pong`.
    "ping" => Ping {
        /// Echoed back; it is also this request's `id` (see [`Request`]).
        #[serde(default)]
        id: u64,
    },
    /// Chair or co-chair: end the meeting for everyone.
    "end_meeting" => EndMeeting,
    /// Leave the meeting.
    "leave" => Leave,
    /// A site asks for the floor.
    "raise_hand" => RaiseHand,
    /// Withdraw a raised hand: one's own, or (chair) any site's.
    "lower_hand" => LowerHand {
        /// Whose hand; one's own when absent.
        #[serde(default)]
        site_id: Option<String>,
    },
    /// Chair: give a site the floor (it is heard and seen by everyone).
    "grant_floor" => GrantFloor {
        /// The site.
        site_id: String,
    },
    /// Chair: take the floor back.
    "revoke_floor" => RevokeFloor {
        /// The site.
        site_id: String,
    },
    /// Chair: mute or allow a site's microphone at the SFU.
    "mute" => Mute {
        /// The site.
        site_id: String,
        /// True mutes; false allows the site to be heard again (it still decides its mic).
        muted: bool,
    },
    /// Chair: stop or allow a site's camera at the SFU.
    "stop_video" => StopVideo {
        /// The site.
        site_id: String,
        /// True stops; false allows.
        stopped: bool,
    },
    /// Chair: put a site's camera on the program without its audio (`null` clears).
    "spotlight" => Spotlight {
        /// The site, or none.
        site_id: Option<String>,
    },
    /// Chair only: hear a site in the hall or not (affects only what the chair hears).
    "listen" => Listen {
        /// The site.
        site_id: String,
        /// Whether the chair hears it.
        on: bool,
    },
    /// Chair: remove a site; its link stops working until readmitted.
    "remove_site" => RemoveSite {
        /// The site.
        site_id: String,
    },
    /// Chair: let a removed site back in.
    "readmit_site" => ReadmitSite {
        /// The site.
        site_id: String,
    },
    /// Chair: lock or unlock the meeting (locked: no site that never joined may join).
    "lock" => Lock {
        /// Lock state wanted.
        locked: bool,
    },
    /// Chair: open the meeting (the lobby ends, the program starts for all).
    "open_meeting" => OpenMeeting,
    /// Chair only: grant or revoke the co-chair right to a site.
    "cochair" => Cochair {
        /// The site.
        site_id: String,
        /// Grant or revoke.
        on: bool,
    },
    /// Start or stop presenting the shared screen (chair, co-chair or a floor holder).
    "present" => Present {
        /// Start or stop.
        on: bool,
    },
    /// A text message. Sites write to `chair` (chair, co-chairs and operators read it);
    /// the chair, co-chairs and operators write to `all` or to one site id.
    "chat" => Chat {
        /// `chair`, `all`, or a site id.
        to: String,
        /// Plain text, at most [`MAX_CHAT_CHARS`] characters.
        text: String,
    },
    /// Chair: which page of the grid the hall shows, and how many tiles a page has.
    "grid" => Grid {
        /// Page index, from 0.
        page: u32,
        /// Tiles per page (at most the chair's video slots less one).
        #[serde(default)]
        page_size: Option<u16>,
    },
    /// Start or stop the pre-meeting line check: while on (lobby only), the participant
    /// receives its own camera and microphone back through the SFU.
    "check" => Check {
        /// Start or stop.
        on: bool,
    },
    /// The outcome of a line check, for the chair and operators.
    "check_result" => CheckResult(CheckReport),
    /// The browser and the connection it uses, for operators.
    "client_info" => ClientInfo {
        /// Browser name and version.
        #[serde(default)]
        browser: Option<String>,
        /// Local ICE candidate type of the selected pair (`host`, `srflx`, `prflx`, `relay`).
        #[serde(default)]
        candidate: Option<String>,
        /// Transport of the selected pair (`udp`, `tcp`).
        #[serde(default)]
        transport: Option<String>,
    },
    /// Operator: show a message to one site.
    "notice" => Notice {
        /// The site.
        site_id: String,
        /// Plain text, at most [`MAX_NOTICE_CHARS`] characters.
        text: String,
    },
    /// Operator: ask a site to drop its connection and join again.
    "reconnect" => Reconnect {
        /// The site.
        site_id: String,
    },
    /// Chair: revoke a site's link (it leaked) and get a new one for it (`link`).
    "reissue_link" => ReissueLink {
        /// The site (role `site`).
        site_id: String,
    },
    /// Chair or co-chair: start (`on: true`) or stop recording the program.
    "recording" => Recording {
        /// Start or stop.
        on: bool,
    },
    /// Operator: stop (or resume) sending any video to a site.
    "force_audio_only" => ForceAudioOnly {
        /// The site.
        site_id: String,
        /// True sends audio only.
        on: bool,
    },
}

/// What a line check found. Figures are `None` when they could not be measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    /// The plain verdict.
    pub verdict: CheckVerdict,
    /// The camera gives a picture.
    pub camera: bool,
    /// The microphone picks up sound.
    pub mic: bool,
    /// Round-trip time to the SFU, milliseconds.
    pub rtt_ms: Option<f64>,
    /// Packets of the loopback lost, percent.
    pub loss_pct: Option<f64>,
    /// What the browser could send, kbit/s.
    pub send_kbps: Option<f64>,
    /// What came back, kbit/s.
    pub recv_kbps: Option<f64>,
}

/// Line check verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckVerdict {
    /// Good for video.
    Video,
    /// Audio only recommended.
    AudioOnly,
    /// The media connection could not be made.
    NoConnection,
}

impl CheckVerdict {
    /// The wire name, also a metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckVerdict::Video => "video",
            CheckVerdict::AudioOnly => "audio_only",
            CheckVerdict::NoConnection => "no_connection",
        }
    }
}

/// One site's live link figures in a [`ServerMessage::Stats`] message. "up" is what the
/// site sends to the SFU, "down" what the SFU sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteStats {
    /// The site.
    pub site_id: String,
    /// Bitrate from the site, kbit/s.
    pub up_kbps: f64,
    /// Bitrate to the site, kbit/s.
    pub down_kbps: f64,
    /// Loss of what the site sends, percent.
    pub up_loss_pct: Option<f64>,
    /// Loss of what the SFU sends it, percent.
    pub down_loss_pct: Option<f64>,
    /// Round-trip time, milliseconds.
    pub rtt_ms: Option<f64>,
    /// Jitter of what it receives (worst stream), milliseconds.
    pub jitter_ms: Option<f64>,
    /// Best video layer it receives now: `high`, `mid`, `low`, `paused`; `None` without video.
    pub layer: Option<String>,
    /// The SFU's bandwidth estimate towards it, kbit/s.
    pub estimate_kbps: Option<f64>,
    /// Loudest level of its microphone in the last second, 0 to 1.
    pub audio_level: Option<f64>,
    /// `udp`, `tcp` or `relay` (through TURN), as its browser reports.
    pub transport: Option<String>,
    /// Local candidate type its browser reports.
    pub candidate: Option<String>,
    /// Browser name and version.
    pub browser: Option<String>,
    /// NACKs it sent about what it receives (total since it connected).
    pub nacks: u64,
    /// Keyframe requests (PLI/FIR) it sent (total since it connected).
    pub plis: u64,
    /// Media packets it sent that the SFU dropped instead of forwarding: beyond its budget
    /// (several times what its layers announce) or malformed (total since it connected).
    #[serde(default)]
    pub dropped: u64,
    /// An operator forced it to audio only.
    pub audio_only_forced: bool,
    /// The node whose SFU holds its media connection (a cluster only; absent alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

/// Meeting-wide figures in a [`ServerMessage::Stats`] message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsTotals {
    /// Expected participants.
    pub expected: u32,
    /// Participants with media connected.
    pub joined: u32,
    /// Sum of the sites' upstream bitrates, kbit/s.
    pub up_kbps: f64,
    /// Sum of the sites' downstream bitrates, kbit/s.
    pub down_kbps: f64,
    /// WHEP players watching the program now (absent: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub viewers: u32,
    /// Since when each of them watches, Unix milliseconds, oldest first (the operators'
    /// list; absent: none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub viewers_since_ms: Vec<u64>,
    /// WHIP publications live now: `chair-camera`, `presentation` (absent: none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feeds: Vec<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Meeting identity as shown to participants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeetingInfo {
    /// Meeting id.
    pub id: String,
    /// Title shown on every page.
    pub title: String,
}

/// Who a participant is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteRef {
    /// Site id within the meeting.
    pub id: String,
    /// Display name ("UBND xã Tả Van").
    pub name: String,
    /// Role in the meeting.
    pub role: Role,
}

/// Presence of an expected site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// Expected, has not joined yet.
    Waiting,
    /// Connected now.
    Joined,
    /// Was connected, is not now.
    Left,
}

impl Presence {
    /// The wire name (`waiting`, `joined`, `left`).
    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Waiting => "waiting",
            Presence::Joined => "joined",
            Presence::Left => "left",
        }
    }
}

/// A roster entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteStatus {
    /// Site id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Presence now.
    pub state: Presence,
}

/// How many receive slots the client must offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiveSlots {
    /// `recvonly` video transceivers.
    pub video: u16,
    /// `recvonly` audio transceivers.
    pub audio: u16,
}

/// An ICE server the browser may use (TURN for firewalled sites).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IceServer {
    /// `turn:` / `stun:` URLs.
    pub urls: Vec<String>,
    /// TURN user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// Media kind of a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlotKind {
    /// Audio slot.
    Audio,
    /// Video slot.
    Video,
}

/// What one receive slot carries now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotInfo {
    /// The transceiver's mid.
    pub mid: String,
    /// Audio or video.
    pub kind: SlotKind,
    /// Site whose media it carries; `None` when idle.
    pub site_id: Option<String>,
    /// That site's display name.
    pub name: Option<String>,
    /// Wanted layer for video (`low`/`mid`/`high`).
    pub layer: Option<String>,
    /// Which of the source's tracks: `camera`, `screen` or `audio`.
    #[serde(default)]
    pub track: Option<String>,
}

/// Phase of a meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Sites may join and wait; no program yet.
    Lobby,
    /// The chair opened it: the program runs.
    Open,
    /// Over.
    Ended,
}

/// A raised hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hand {
    /// Whose.
    pub site_id: String,
    /// When it went up, Unix milliseconds.
    pub since_ms: u64,
}

/// How long a site whose socket dropped (without `leave`) keeps its place by default
/// (`limits.resume_seconds`): its peer connection stays up and a `join` with `resume` takes
/// it back.
pub const RESUME_GRACE: std::time::Duration = std::time::Duration::from_secs(20);

fn yes() -> bool {
    true
}

/// Messages to the browser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Join accepted.
    Joined {
        /// Protocol version.
        v: u32,
        /// The meeting.
        meeting: MeetingInfo,
        /// The joining participant.
        you: SiteRef,
        /// Roster visible to this participant.
        sites: Vec<SiteStatus>,
        /// Receive slots to offer.
        receive: ReceiveSlots,
        /// ICE servers to configure.
        ice_servers: Vec<IceServer>,
        /// Secret that lets this connection's successor resume it (`join.resume`).
        #[serde(default)]
        resume: String,
        /// True when `join.resume` was honoured: the site's peer connection, slots and
        /// state carry on; it keeps its media (an ICE restart offer if its link changed).
        #[serde(default)]
        resumed: bool,
        /// The `id` of the `join` it answers, when that had one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
    },
    /// SDP answer.
    Answer {
        /// The SDP text.
        sdp: String,
        /// The `id` of the `offer` it answers, when that had one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
    },
    /// What each receive slot carries.
    Slots {
        /// Every slot of this participant.
        slots: Vec<SlotInfo>,
    },
    /// A roster entry changed.
    SiteState {
        /// The entry.
        site: SiteStatus,
        /// Microphone state, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mic: Option<bool>,
        /// Camera state, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        camera: Option<bool>,
        /// Muted by the chair at the SFU.
        #[serde(default)]
        muted: bool,
        /// Camera stopped by the chair at the SFU.
        #[serde(default)]
        video_stopped: bool,
        /// Holds the co-chair right.
        #[serde(default)]
        cochair: bool,
        /// Removed by the chair (its link is refused until readmitted).
        #[serde(default)]
        removed: bool,
        /// Whether the hall hears it (the chair's `listen`).
        #[serde(default = "yes")]
        heard: bool,
        /// What its link lets it receive: `full`, `reduced` (a lower layer than offered) or
        /// `audio_only` (video paused); absent until known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reception: Option<String>,
        /// It receives less than its sources offer, not because of its line (the first
        /// ramp after joining, the SFU's own caution): `reception` then says `full`, and no
        /// weak-line alarm is due. Left out when false.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        reduced_by_design: bool,
        /// The operators switched it to audio only: the SFU sends it no video.
        #[serde(default)]
        audio_only_forced: bool,
    },
    /// The meeting's phase and lock.
    MeetingState {
        /// Lobby, open or ended.
        phase: Phase,
        /// No new sites may join.
        locked: bool,
        /// Most floor holders at once.
        floor_limit: u16,
    },
    /// Floor, hands, spotlight and presenter, whenever one changes.
    Floor {
        /// Sites holding the floor, in grant order.
        holders: Vec<String>,
        /// Raised hands, oldest first.
        hands: Vec<Hand>,
        /// Site whose camera is spotlighted, if any.
        spotlight: Option<String>,
        /// Site whose screen is on the program, if any.
        presenter: Option<String>,
    },
    /// A text message.
    Chat {
        /// Who wrote it.
        from: SiteRef,
        /// `chair`, `all` or the receiving site's id.
        to: String,
        /// The text (plain; render as text, never as HTML).
        text: String,
        /// When the server received it, Unix milliseconds.
        at_ms: u64,
    },
    /// The highest camera layer anyone receives from this site: encode up to it, keep the
    /// lowest layer on. Sent when it changes.
    Layers {
        /// `none`, `low`, `mid` or `high`.
        camera: String,
    },
    /// The chair's grid page (to the chair only).
    Grid {
        /// Page shown, from 0.
        page: u32,
        /// Number of pages.
        pages: u32,
        /// Tiles per page.
        page_size: u16,
        /// Sites on this page (pinned first: floor holders, then raised hands).
        sites: Vec<String>,
    },
    /// Answer to `ping`.
    Pong {
        /// The ping's id.
        id: u64,
    },
    /// The last message was refused.
    Error {
        /// Machine-readable reason.
        code: ErrorCode,
        /// Human-readable detail (no internals).
        message: String,
        /// The `id` of the refused request, when it had a valid one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
    },
    /// Whether this participant's line check runs (its first slots carry its own media).
    Check {
        /// Running.
        on: bool,
    },
    /// A site's line check result (to the site, the chair, co-chairs and operators).
    CheckResult {
        /// The site.
        site_id: String,
        /// When the server received it, Unix milliseconds.
        at_ms: u64,
        /// What it found.
        #[serde(flatten)]
        report: CheckReport,
    },
    /// Live link figures of every connected participant, about once a second (operators).
    Stats {
        /// When, Unix milliseconds.
        at_ms: u64,
        /// Meeting totals.
        totals: StatsTotals,
        /// One entry per participant with media connected.
        sites: Vec<SiteStats>,
    },
    /// This node's own figures, about once a second (operators): why a site may be refused
    /// or its media lost although every link looks fine.
    Node {
        /// When, Unix milliseconds.
        at_ms: u64,
        /// Connected sites on the node, every meeting together.
        sites: u32,
        /// `limits.sites_per_node`: the join after this many is refused (`node_full`).
        sites_per_node: u32,
        /// Joins refused for capacity since the server started.
        refused_capacity: u64,
        /// Datagrams the kernel dropped at the media socket since it was bound (its receive
        /// buffer was full: the media thread fell behind); absent where the system does not
        /// tell.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        socket_drops: Option<u64>,
    },
    /// A message from the operators, shown until dismissed.
    Notice {
        /// `operator`.
        from: String,
        /// Plain text.
        text: String,
    },
    /// The operators ask this site to drop its connection and join again at once.
    Reconnect,
    /// To the chair, after `reissue_link`: the site's new link (the old one is revoked).
    Link {
        /// The site.
        site_id: String,
        /// Its new invite link.
        link: String,
        /// The `id` of the `reissue_link` it answers, when that had one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
    },
    /// The meeting is over.
    Ended {
        /// Why (`ended_by_chair`).
        reason: String,
    },
    /// The server is shutting down: it accepts no new join and closes this connection within
    /// `seconds` (sooner once every site has left). The client reconnects by itself.
    Draining {
        /// Drain time the server allows, from when it began.
        seconds: u64,
    },
    /// Whether the meeting is being recorded: after `joined` while it is, and to everyone
    /// whenever it starts or stops (the law requires telling every participant).
    Recording {
        /// Recording now.
        on: bool,
        /// Since when, Unix ms (while `on`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since_ms: Option<u64>,
        /// Why it stopped (`stopped`, `quota_reached`, `failed`, `ended`), with `on: false`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// `quota`: the meeting's recordings passed 90 % of their disk quota (to the chair,
        /// co-chairs and operators).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        warning: Option<String>,
    },
}

/// Why a client message was refused. See PROTOCOL.md "Errors".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON.
    BadJson,
    /// Not an object with a string type, or a known type with bad fields.
    BadMessage,
    /// Unknown `type`.
    UnknownType,
    /// Frame over [`MAX_FRAME_BYTES`].
    TooLarge,
    /// `join.v` not supported.
    UnsupportedVersion,
    /// Needs a successful join first.
    NotJoined,
    /// Second join on one socket.
    AlreadyJoined,
    /// Token does not verify.
    InvalidToken,
    /// Token past expiry.
    TokenExpired,
    /// Meeting not held here or ended.
    UnknownMeeting,
    /// Site no longer expected in the meeting.
    SiteRemoved,
    /// Role lacks the permission.
    Forbidden,
    /// Offer not acceptable.
    BadSdp,
    /// Candidate before offer.
    NoOffer,
    /// Same site joined elsewhere; this socket closes.
    Replaced,
    /// The meeting is locked against new sites.
    Locked,
    /// The floor already has its limit of holders.
    FloorFull,
    /// The action names a site this meeting does not have.
    UnknownSite,
    /// The action does not fit the current state (e.g. granting the floor to an absent site).
    Conflict,
    /// Server failure (details in the log only).
    Internal,
    /// The server is shutting down and accepts no join; the socket closes.
    Draining,
    /// More messages per second than one connection may send, or more joins per second
    /// from one address; this one was dropped.
    RateLimited,
    /// The server carries its limit of connected sites (`limits.sites_per_node`).
    NodeFull,
    /// The invitation link was revoked and a new one issued for the site; a session joined
    /// with it is ended with this code.
    LinkRevoked,
    /// The socket sent no `join` within `limits.join_timeout_seconds` of opening; it closes.
    JoinTimeout,
    /// In a cluster: the meeting's origin node cannot be reached (NATS down, or the origin
    /// died and another node is taking over); the socket closes and the client rejoins.
    ClusterUnavailable,
    /// `recording` with `on: true` while the meeting is recorded already.
    AlreadyRecording,
    /// `recording` with `on: false` while nothing is recorded.
    NotRecording,
    /// This server keeps no files (no data directory): it cannot record.
    RecordingUnavailable,
}

impl ErrorCode {
    /// The wire name, also used as a metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadJson => "bad_json",
            ErrorCode::BadMessage => "bad_message",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::NotJoined => "not_joined",
            ErrorCode::AlreadyJoined => "already_joined",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::UnknownMeeting => "unknown_meeting",
            ErrorCode::SiteRemoved => "site_removed",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::BadSdp => "bad_sdp",
            ErrorCode::NoOffer => "no_offer",
            ErrorCode::Replaced => "replaced",
            ErrorCode::Locked => "locked",
            ErrorCode::FloorFull => "floor_full",
            ErrorCode::UnknownSite => "unknown_site",
            ErrorCode::Conflict => "conflict",
            ErrorCode::Internal => "internal",
            ErrorCode::Draining => "draining",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::NodeFull => "node_full",
            ErrorCode::LinkRevoked => "link_revoked",
            ErrorCode::JoinTimeout => "join_timeout",
            ErrorCode::ClusterUnavailable => "cluster_unavailable",
            ErrorCode::AlreadyRecording => "already_recording",
            ErrorCode::NotRecording => "not_recording",
            ErrorCode::RecordingUnavailable => "recording_unavailable",
        }
    }
}

/// A refusal: code plus a message safe to show the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Machine-readable reason.
    pub code: ErrorCode,
    /// Detail for the sender.
    pub message: String,
}

impl Refusal {
    /// Builds a refusal.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
        }
    }

    /// The `error` message carrying this refusal.
    pub fn to_message(&self) -> ServerMessage {
        self.answering(None)
    }

    /// The `error` message refusing the request with this `id`.
    pub fn answering(&self, id: Option<u64>) -> ServerMessage {
        ServerMessage::Error {
            code: self.code,
            message: self.message.clone(),
            id,
        }
    }
}

/// Largest request `id`: 2^53 - 1, the largest whole number a browser's JavaScript holds
/// exactly (an id it cannot hold could not be matched to its request).
pub const MAX_REQUEST_ID: u64 = (1 << 53) - 1;

/// One client message with its optional `id`, which the `error` refusing it (and the
/// answer `answer`, `link` or `pong`, where there is one) echoes so that the client knows
/// which of its requests it concerns.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The request's `id`, a whole number from 0 to [`MAX_REQUEST_ID`].
    pub id: Option<u64>,
    /// The message.
    pub message: ClientMessage,
}

/// A refused frame: the refusal, and the `id` of the request when it carried a valid one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The request's `id`, if readable.
    pub id: Option<u64>,
    /// Why.
    pub refusal: Refusal,
}

impl Rejected {
    /// The `error` message for the sender.
    pub fn to_message(&self) -> ServerMessage {
        self.refusal.answering(self.id)
    }
}

/// Reads a request's `id`: absent is `None`; anything but a whole number from 0 to
/// [`MAX_REQUEST_ID`] is refused with what is wrong with it.
fn request_id(obj: &serde_json::Map<String, serde_json::Value>) -> Result<Option<u64>, Refusal> {
    let Some(v) = obj.get("id") else {
        return Ok(None);
    };
    match v.as_u64() {
        Some(n) if n <= MAX_REQUEST_ID => Ok(Some(n)),
        Some(_) => Err(Refusal::new(
            ErrorCode::BadMessage,
            format!("field id: at most {MAX_REQUEST_ID} allowed"),
        )),
        None if v.is_number() => Err(Refusal::new(
            ErrorCode::BadMessage,
            format!("field id: must be a whole number from 0 to {MAX_REQUEST_ID}"),
        )),
        None => Err(Refusal::new(
            ErrorCode::BadMessage,
            format!(
                "field id: must be a number (a whole number from 0 to {MAX_REQUEST_ID}), not {}",
                json_kind(v)
            ),
        )),
    }
}

/// What a JSON value is, for error messages (never the value itself).
fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Parses one text frame from a browser, with the precise refusal when it is not a valid
/// client message. Checks size, JSON, shape, type, fields, and the join version.
pub fn parse_client_message(text: &str) -> Result<ClientMessage, Refusal> {
    parse_request(text)
        .map(|r| r.message)
        .map_err(|r| r.refusal)
}

/// Parses one text frame from a browser into a [`Request`], or the precise refusal (with
/// the request's `id` once that is read) when it is not a valid client message. Checks
/// size, JSON, shape, `id`, type, fields, and the join version.
pub fn parse_request(text: &str) -> Result<Request, Rejected> {
    let unnamed = |refusal| Rejected { id: None, refusal };
    if text.len() > MAX_FRAME_BYTES {
        return Err(unnamed(Refusal::new(
            ErrorCode::TooLarge,
            format!(
                "message is {} bytes, at most {MAX_FRAME_BYTES} allowed",
                text.len()
            ),
        )));
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        unnamed(Refusal::new(
            ErrorCode::BadJson,
            format!("not valid JSON: {e}"),
        ))
    })?;
    let Some(obj) = value.as_object() else {
        return Err(unnamed(Refusal::new(
            ErrorCode::BadMessage,
            "message must be a JSON object",
        )));
    };
    let id = request_id(obj).map_err(unnamed)?;
    match message_of(value) {
        Ok(message) => Ok(Request { id, message }),
        Err(refusal) => Err(Rejected { id, refusal }),
    }
}

/// The client message a JSON value holds: type, fields, the join version and the bounds
/// serde cannot express.
fn message_of(value: serde_json::Value) -> Result<ClientMessage, Refusal> {
    let Some(obj) = value.as_object() else {
        return Err(Refusal::new(
            ErrorCode::BadMessage,
            "message must be a JSON object",
        ));
    };
    let Some(kind) = obj.get("type").and_then(|t| t.as_str()) else {
        return Err(Refusal::new(
            ErrorCode::BadMessage,
            "message needs a string field \"type\"",
        ));
    };
    if !CLIENT_TYPES.contains(&kind) {
        let shown: String = kind.chars().take(40).collect();
        return Err(Refusal::new(
            ErrorCode::UnknownType,
            format!("unknown message type \"{shown}\""),
        ));
    }
    let kind = kind.to_owned();
    let msg: ClientMessage = serde_path_to_error::deserialize(value).map_err(|e| {
        let at = e.path().to_string();
        Refusal::new(
            ErrorCode::BadMessage,
            format!("bad \"{kind}\" message: field {at}: {}", e.into_inner()),
        )
    })?;
    match &msg {
        ClientMessage::Join { v, .. } if *v != PROTOCOL_VERSION => {
            return Err(Refusal::new(
                ErrorCode::UnsupportedVersion,
                format!(
                    "protocol version {v} is not supported; this server speaks {PROTOCOL_VERSION}"
                ),
            ));
        }
        ClientMessage::CheckResult(r) => {
            let figures = [
                ("rtt_ms", r.rtt_ms),
                ("loss_pct", r.loss_pct),
                ("send_kbps", r.send_kbps),
                ("recv_kbps", r.recv_kbps),
            ];
            for (name, v) in figures {
                if v.is_some_and(|v| !v.is_finite() || !(0.0..=1e9).contains(&v)) {
                    return Err(Refusal::new(ErrorCode::BadMessage, format!("bad \"check_result\" message: field {name}: must be a number from 0 to 1e9")));
                }
            }
            if r.loss_pct.is_some_and(|v| v > 100.0) {
                return Err(Refusal::new(
                    ErrorCode::BadMessage,
                    "bad \"check_result\" message: field loss_pct: must be at most 100",
                ));
            }
        }
        ClientMessage::ClientInfo {
            browser,
            candidate,
            transport,
        } => {
            for (name, v) in [
                ("browser", browser),
                ("candidate", candidate),
                ("transport", transport),
            ] {
                if v.as_ref()
                    .is_some_and(|v| v.chars().count() > MAX_INFO_CHARS)
                {
                    return Err(Refusal::new(
                        ErrorCode::TooLarge,
                        format!("client_info {name} is longer than {MAX_INFO_CHARS} characters"),
                    ));
                }
            }
        }
        ClientMessage::Notice { text, .. } => {
            let n = text.chars().count();
            if text.trim().is_empty() {
                return Err(Refusal::new(ErrorCode::BadMessage, "notice text is empty"));
            }
            if n > MAX_NOTICE_CHARS {
                return Err(Refusal::new(
                    ErrorCode::TooLarge,
                    format!("notice text is {n} characters, at most {MAX_NOTICE_CHARS} allowed"),
                ));
            }
        }
        ClientMessage::Chat { text, .. } => {
            let n = text.chars().count();
            if text.trim().is_empty() {
                return Err(Refusal::new(ErrorCode::BadMessage, "chat text is empty"));
            }
            if n > MAX_CHAT_CHARS {
                return Err(Refusal::new(
                    ErrorCode::TooLarge,
                    format!("chat text is {n} characters, at most {MAX_CHAT_CHARS} allowed"),
                ));
            }
        }
        _ => {}
    }
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    /// The signaling crate's folder. This file is also compiled into `fuzz/targets` (a
    /// `#[path]` module, whose manifest is elsewhere), so look upwards for it.
    fn signaling_dir() -> PathBuf {
        let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        here.ancestors()
            .flat_map(|a| [a.to_path_buf(), a.join("signaling")])
            .find(|d| d.join("PROTOCOL.md").is_file())
            .unwrap_or(here)
    }

    fn fixtures(dir: &str) -> Vec<(String, String)> {
        let root = signaling_dir().join("fixtures/protocol").join(dir);
        let mut out: Vec<_> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read_to_string(&p).unwrap())
            })
            .collect();
        out.sort();
        assert!(!out.is_empty(), "no fixtures in {}", root.display());
        out
    }

    #[test]
    fn every_client_fixture_parses_and_round_trips() {
        for (name, text) in fixtures("client") {
            let msg = parse_client_message(&text).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            let back: serde_json::Value = serde_json::to_value(&msg).unwrap();
            let orig: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(back, orig, "{name} does not round-trip");
            assert_eq!(
                back["type"],
                name.trim_end_matches(".json"),
                "{name}: file names its type"
            );
        }
    }

    #[test]
    fn every_server_fixture_parses_and_round_trips() {
        for (name, text) in fixtures("server") {
            let msg: ServerMessage =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            let back = serde_json::to_value(&msg).unwrap();
            let orig: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(back, orig, "{name} does not round-trip");
        }
    }

    /// PROTOCOL.md's own examples: every ```json block parses as a client or a server
    /// message, and every type its tables list has its example file (client/ or server/).
    #[test]
    fn every_example_in_the_spec_parses_and_every_listed_type_has_an_example() {
        let spec = std::fs::read_to_string(signaling_dir().join("PROTOCOL.md")).unwrap();
        let blocks: Vec<&str> = spec
            .split("```json\n")
            .skip(1)
            .map(|b| b.split("```").next().unwrap())
            .collect();
        assert!(!blocks.is_empty(), "PROTOCOL.md has json examples");
        for b in &blocks {
            let client = parse_client_message(b).is_ok();
            let server = serde_json::from_str::<ServerMessage>(b).is_ok();
            assert!(client || server, "PROTOCOL.md example does not parse: {b}");
        }
        // Table rows: "| `type` | ..." under "## Client → server" and "## Server → client".
        let section = |title: &str| {
            let start = spec.find(title).unwrap();
            let rest = &spec[start + title.len()..];
            rest[..rest.find("\n## ").unwrap_or(rest.len())].to_owned()
        };
        for (title, dir) in [
            ("## Client → server", "client"),
            ("## Server → client", "server"),
        ] {
            let names: Vec<String> = fixtures(dir).into_iter().map(|(n, _)| n).collect();
            let types: Vec<String> = section(title)
                .lines()
                .filter_map(|l| l.strip_prefix("| `"))
                .filter_map(|l| l.split_once('`').map(|(t, _)| t.to_owned()))
                .collect();
            assert!(types.len() > 10, "{title}: {types:?}");
            for t in types {
                assert!(
                    names.contains(&format!("{t}.json")),
                    "{title}: `{t}` has no example {dir}/{t}.json"
                );
            }
        }
    }

    #[test]
    fn every_invalid_fixture_gets_its_documented_error_code() {
        let all = fixtures("invalid");
        let expected: BTreeMap<String, String> =
            serde_json::from_str(&all.iter().find(|(n, _)| n == "expected.json").unwrap().1)
                .unwrap();
        let cases: Vec<_> = all.iter().filter(|(n, _)| n != "expected.json").collect();
        assert_eq!(
            cases.len(),
            expected.len(),
            "every invalid fixture has an expected code"
        );
        for (name, text) in cases {
            let err = parse_client_message(text).expect_err(name);
            assert_eq!(err.code.as_str(), expected[name], "{name}: {}", err.message);
        }
    }

    #[test]
    fn oversized_frame_is_refused_before_parsing() {
        let big = format!(
            "{{\"type\":\"offer\",\"sdp\":\"{}\"}}",
            "a".repeat(MAX_FRAME_BYTES)
        );
        assert_eq!(
            parse_client_message(&big).unwrap_err().code,
            ErrorCode::TooLarge
        );
    }

    #[test]
    fn error_code_wire_names_match_serde() {
        for code in [
            ErrorCode::BadJson,
            ErrorCode::NotJoined,
            ErrorCode::TokenExpired,
            ErrorCode::FloorFull,
            ErrorCode::UnknownSite,
            ErrorCode::Internal,
            ErrorCode::Draining,
            ErrorCode::RateLimited,
            ErrorCode::NodeFull,
            ErrorCode::LinkRevoked,
            ErrorCode::JoinTimeout,
            ErrorCode::ClusterUnavailable,
            ErrorCode::AlreadyRecording,
            ErrorCode::NotRecording,
            ErrorCode::RecordingUnavailable,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }

    #[test]
    fn each_wire_name_is_its_serde_tag_its_kind_and_listed_once() {
        let mut seen = std::collections::BTreeSet::new();
        for t in CLIENT_TYPES {
            assert!(seen.insert(*t), "{t} listed twice");
        }
        for (name, text) in fixtures("client") {
            let msg = parse_client_message(&text).unwrap();
            assert_eq!(msg.kind(), name.trim_end_matches(".json"));
            assert_eq!(serde_json::to_value(&msg).unwrap()["type"], msg.kind());
        }
        assert_eq!(seen.len(), fixtures("client").len(), "one fixture per type");
    }

    #[test]
    fn a_request_keeps_its_id_and_so_does_its_refusal() {
        let r = parse_request(r#"{"type":"raise_hand","id":12}"#).unwrap();
        assert_eq!((r.id, r.message), (Some(12), ClientMessage::RaiseHand));
        let r = parse_request(r#"{"type":"raise_hand"}"#).unwrap();
        assert_eq!(r.id, None);
        let e = parse_request(r#"{"type":"chat","to":"all","text":" ","id":5}"#).unwrap_err();
        assert_eq!((e.id, e.refusal.code), (Some(5), ErrorCode::BadMessage));
        let wire = serde_json::to_value(e.to_message()).unwrap();
        assert_eq!(wire["id"], 5);
        let e = parse_request(r#"{"type":"join","v":2,"token":"t","id":6}"#).unwrap_err();
        assert_eq!(
            (e.id, e.refusal.code),
            (Some(6), ErrorCode::UnsupportedVersion)
        );
        // Without an id the error has no "id" field at all (the fixture's shape).
        let wire = serde_json::to_value(Refusal::new(ErrorCode::Forbidden, "no").to_message());
        assert!(wire.unwrap().get("id").is_none());
    }

    #[test]
    fn an_id_past_what_javascript_holds_exactly_is_refused_without_echo() {
        let ok = format!(r#"{{"type":"leave","id":{MAX_REQUEST_ID}}}"#);
        assert_eq!(parse_request(&ok).unwrap().id, Some(MAX_REQUEST_ID));
        let big = format!(r#"{{"type":"leave","id":{}}}"#, MAX_REQUEST_ID + 1);
        let e = parse_request(&big).unwrap_err();
        assert_eq!((e.id, e.refusal.code), (None, ErrorCode::BadMessage));
        assert_eq!(
            e.refusal.message,
            "field id: at most 9007199254740991 allowed"
        );
        let e = parse_request(r#"{"type":"leave","id":"x"}"#).unwrap_err();
        assert!(
            e.refusal.message.ends_with("not a string"),
            "{}",
            e.refusal.message
        );
        // A ping's id is the request id: the same bound applies.
        let e = parse_request(r#"{"type":"ping","id":1e20}"#).unwrap_err();
        assert_eq!(e.refusal.code, ErrorCode::BadMessage);
    }

    #[test]
    fn unknown_fields_are_ignored_for_forward_compatibility() {
        let msg = parse_client_message(r#"{"type":"ping","id":3,"extra":true}"#).unwrap();
        assert_eq!(msg, ClientMessage::Ping { id: 3 });
    }
}
