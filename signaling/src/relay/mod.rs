//! Media relay links between the nodes of a cluster: one link per meeting and node pair,
//! and each upstream track a node's sites need crosses it once (see `sfu::relay` for the
//! link itself, a str0m peer between the two media engines).
//!
//! Two calls, transport-agnostic (the HTTP carriage is in [`http`]; the cluster's control
//! plane may carry the same types over NATS request/reply):
//! - on the receiving node, [`want`]: opens (or reuses) the one link to the origin node for
//!   a meeting and sets which of the origin's tracks cross it, at which layer; returns the
//!   local sources the node's sites subscribe to;
//! - on the origin, [`accept`] answers a link's offer and [`select`] points its slots at
//!   the meeting's tracks. Both check the cluster secret first: without the right one,
//!   nothing else is looked at (never an open relay).
//!
//! Lifecycle of a link: opened by the first [`want`] of a (meeting, origin) pair (or by the
//! other end's request for the other way, [`reverse`]), reused by every later one, closed
//! with `Sfu::remove_peer` on either node. It carries both ways: see [`reverse`].

pub mod http;
mod origin;
mod receiver;
pub mod reverse;
mod wire;

pub use origin::{accept, select};
pub use receiver::{want, Want};
pub use wire::{Crossing, LinkAnswer, LinkOffer, LinkSend, LinkTracks, Sent};

use std::collections::HashMap;

use dashmap::DashMap;
use sfu::PeerId;

/// What this node's relay links need from the configuration (`[relay]`). `Debug` hides the
/// secret.
#[derive(Clone)]
pub struct RelaySettings {
    /// The cluster's shared secret, presented as a bearer credential by both ends.
    pub secret: String,
    /// This node's name for the others: the base URL they reach its HTTP API at.
    pub advertise_url: String,
}

impl std::fmt::Debug for RelaySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelaySettings")
            .field("secret", &"<redacted>")
            .field("advertise_url", &self.advertise_url)
            .finish()
    }
}

/// Most tracks of each kind one link carries: the program (chair, floor holders, a screen)
/// with room to spare. Slots are fixed when the link opens, so what crosses changes without
/// renegotiation.
pub const TRACKS_PER_KIND: u8 = 8;

/// The links this node holds, at both ends. Control plane only: read per request, never
/// per packet.
#[derive(Debug, Default)]
pub struct Links {
    /// Origin end: the link's peer → (meeting, the node at the other end).
    pub(crate) accepted: DashMap<PeerId, (String, String)>,
    /// Receiving end: (meeting, origin URL) → the link. An async lock, held across the
    /// request that opens a link, so two wants for one pair open one link.
    pub(crate) held: tokio::sync::Mutex<HashMap<(String, String), receiver::Held>>,
}

impl Links {
    /// Links other nodes hold to this one (this node is their origin).
    pub fn accepted_count(&self) -> usize {
        self.accepted.len()
    }

    /// The peers of the links other nodes hold to this one.
    pub fn accepted_links(&self) -> Vec<PeerId> {
        self.accepted.iter().map(|e| *e.key()).collect()
    }

    /// Forgets a link whose connection died (the media plane dropped its peer), at either
    /// end: the next [`want`] of its pair opens a new one. `false`: `peer` is no link.
    pub async fn forget(&self, peer: PeerId) -> bool {
        if self.accepted.remove(&peer).is_some() {
            return true;
        }
        let mut held = self.held.lock().await;
        let before = held.len();
        held.retain(|_, link| link.peer != peer);
        held.len() != before
    }
}

/// Why a relay call failed. Each variant's text is what the other node (or the caller) is
/// told: never an address, a secret or a stack's internals.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// Missing or wrong cluster secret, or relay links are off on this node.
    #[error("unauthorized")]
    Unauthorized,
    /// No such meeting on this node.
    #[error("no such meeting on this node")]
    UnknownMeeting,
    /// No such link (closed, or opened for another meeting).
    #[error("no such relay link")]
    UnknownLink,
    /// The request does not hold what it must.
    #[error("bad relay request: {0}")]
    BadRequest(String),
    /// The media plane refused the link's offer or answer.
    #[error("relay link refused: {0}")]
    Refused(String),
    /// More tracks wanted than a link carries.
    #[error(
        "a relay link carries at most {TRACKS_PER_KIND} audio and {TRACKS_PER_KIND} video tracks"
    )]
    TooManyTracks,
    /// The origin node could not be reached or answered with an error.
    #[error("origin node: {0}")]
    Origin(String),
    /// The media plane has stopped.
    #[error("media plane is not running")]
    Stopped,
}

/// Whether `bearer` is the configured secret (constant time); `false` when relay is off.
pub(crate) fn authorized(settings: Option<&RelaySettings>, bearer: Option<&str>) -> bool {
    use subtle::ConstantTimeEq;
    match (settings, bearer) {
        (Some(s), Some(b)) => bool::from(s.secret.as_bytes().ct_eq(b.as_bytes())),
        _ => false,
    }
}
