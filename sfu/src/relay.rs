//! Relay links between two nodes of one meeting: each upstream track crosses once.
//!
//! A link is one str0m peer connection (ICE, DTLS-SRTP) between the media engines of two
//! nodes, so keyframe requests (PLI), NACK/RTX and TWCC bandwidth estimation work across it
//! with the code every browser already gets:
//!
//! - on the **origin** (the node where the publishers are) the link is a subscriber peer
//!   whose receive slots are the tracks the other node wants: [`crate::Sfu::relay_accept`]
//!   answers its offer, and `set_subscriptions` on its slots chooses what crosses at which
//!   layer (the origin's selector picks the best layer up to it that the link's estimate
//!   carries: dynacast across nodes);
//! - on the **receiving** node the link is a publisher peer whose tracks
//!   ([`crate::TrackKind::Relayed`]) feed local slots like a browser's:
//!   [`crate::Sfu::relay_offer`] makes the offer (this side runs full ICE, the origin is
//!   ICE-lite like for browsers), [`crate::Sfu::relay_answer`] applies the origin's answer.
//!
//! Lifecycle: offered → answered → connected (ICE + DTLS) → tracks flow; `remove_peer` on
//! either side closes it. A link only exists by a call of signaling, which authenticates the
//! other node first: nothing here accepts an unsolicited link.
//!
//! Relay links need `media.shards = 1` on the receiving node: the origin's STUN answers carry
//! no ufrag to steer by (see `engine/steer.rs`).

use prometheus::{Histogram, HistogramOpts, IntCounterVec, IntGauge, Opts, Registry};

/// How many tracks a new link can carry. Slots are fixed at the offer (as a browser's), so a
/// change of what crosses never needs SDP renegotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelaySpec {
    /// Audio tracks (microphones) the link can carry at once.
    pub audio: u8,
    /// Video tracks (cameras, screens) the link can carry at once.
    pub video: u8,
}

/// Why a relay link could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// A link with this id exists already (offer) or not at all (answer).
    #[error("relay link {0} is not in the expected state")]
    State(crate::PeerId),
    /// The other node's answer does not parse or does not match the offer.
    #[error("relay answer refused: {0}")]
    Answer(String),
    /// The link would carry no track, or more than an offer may hold.
    #[error("a relay link carries 1 to {max} tracks, not {asked}")]
    Size {
        /// Tracks asked for.
        asked: usize,
        /// Most one link carries.
        max: usize,
    },
    /// This node runs several media shards: the origin's answers to the link's ICE checks
    /// carry no ufrag the dispatcher could steer by (see `engine/steer.rs`).
    #[error("the receiving end of a relay link needs media.shards = 1")]
    Sharded,
    /// The media plane has stopped.
    #[error("media plane is not running")]
    Stopped,
}

/// Most tracks one link carries each way (its offer holds them twice, to receive and to
/// send, within an offer's m-line limit).
pub const MAX_RELAY_TRACKS: usize = 60;

/// The `diemcau_relay_*` series: what crosses between nodes, seen from this node.
#[derive(Clone, Debug)]
pub struct RelayMetrics {
    /// Relay links this node holds, at either end.
    pub links: IntGauge,
    /// Tracks crossing this node's links now (a track relayed in with a local subscriber,
    /// or a relayed-out slot with a source).
    pub tracks: IntGauge,
    /// RTP packets crossing links, by `direction`: `in` (arrived from an origin), `out`
    /// (sent to another node).
    pub packets: IntCounterVec,
    /// Latency a hop adds: from a relayed packet's arrival on this node to its copies
    /// leaving for local sites, plus half the link's round trip (the wire), seconds.
    pub added_latency: Histogram,
}

impl RelayMetrics {
    /// Creates the series and registers them.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let m = RelayMetrics {
            links: IntGauge::new(
                "diemcau_relay_links",
                "Relay links between nodes held by this node, at either end",
            )?,
            tracks: IntGauge::new(
                "diemcau_relay_tracks",
                "Tracks crossing this node's relay links now",
            )?,
            packets: IntCounterVec::new(
                Opts::new(
                    "diemcau_relay_packets_total",
                    "RTP packets crossing relay links, by direction (in, out)",
                ),
                &["direction"],
            )?,
            added_latency: Histogram::with_opts(
                HistogramOpts::new(
                    "diemcau_relay_added_latency_seconds",
                    "Latency one relay hop adds: arrival to local forward, plus half the link's round trip",
                )
                .buckets(vec![
                    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05,
                    0.1,
                ]),
            )?,
        };
        registry.register(Box::new(m.links.clone()))?;
        registry.register(Box::new(m.tracks.clone()))?;
        registry.register(Box::new(m.packets.clone()))?;
        registry.register(Box::new(m.added_latency.clone()))?;
        Ok(m)
    }
}
