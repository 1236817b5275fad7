//! What the two ends of a relay link say to each other, whatever carries it (HTTP here,
//! NATS request/reply later): serde types only.

use serde::{Deserialize, Serialize};

/// The receiving node asks the origin for a link (`POST /internal/v1/relay`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkOffer {
    /// The meeting, by its id on the origin.
    pub meeting: String,
    /// The asking node (its advertised URL): one link per meeting and node.
    pub node: String,
    /// The link's SDP offer: receive-only audio sections, then video ones.
    pub sdp: String,
}

/// The origin's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkAnswer {
    /// The link's id on the origin, for [`LinkTracks`].
    pub link: u64,
    /// The SDP answer.
    pub sdp: String,
    /// The origin's slots for the link's audio sections, in offer order.
    pub audio_slots: Vec<String>,
    /// The origin's slots for its video sections, in offer order.
    pub video_slots: Vec<String>,
}

/// What crosses a link now (`POST /internal/v1/relay/tracks`); slots not listed keep
/// theirs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkTracks {
    /// The link, as [`LinkAnswer::link`].
    pub link: u64,
    /// The meeting it was opened for.
    pub meeting: String,
    /// One entry per slot.
    pub tracks: Vec<Crossing>,
}

/// One slot of a link: which site's track crosses it, up to which layer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Crossing {
    /// The origin's slot (from [`LinkAnswer`]).
    pub slot: String,
    /// The publishing site, by its id in the meeting; `None` leaves the slot idle.
    pub site: Option<String>,
    /// `audio`, `camera` or `screen`.
    pub track: String,
    /// Highest camera layer wanted: `low`, `mid` or `high`.
    pub layer: String,
}

/// The node that did not open a pair's link asks the one that did for what it sends the
/// other way (`POST /internal/v1/relay/send`): one link carries both ways.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSend {
    /// The meeting.
    pub meeting: String,
    /// The asking node (its advertised URL): the link's other end.
    pub node: String,
    /// What it wants, in order: audio first, then video, each at most
    /// `relay::TRACKS_PER_KIND`.
    pub tracks: Vec<Sent>,
}

/// One track [`LinkSend`] asks for.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sent {
    /// The publishing site, by its id in the meeting.
    pub site: String,
    /// `audio`, `camera` or `screen`.
    pub track: String,
    /// Highest camera layer wanted: `low`, `mid` or `high`.
    pub layer: String,
}
