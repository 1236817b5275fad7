//! Identifiers and small value types shared by the whole media plane.
//!
//! The signaling side speaks only these types; nothing outside `engine` sees str0m's.

use std::fmt;

/// One WebRTC peer connection: a site's browser. Chosen by the caller (signaling), unique
/// for the life of the [`crate::Sfu`]. A site that reconnects gets a new `PeerId`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub u64);

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}", self.0)
    }
}

/// What a published track carries. A publisher has at most one track of each kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackKind {
    /// Microphone audio (Opus).
    Audio,
    /// Camera video, usually with three simulcast layers.
    Camera,
    /// A shared screen or window.
    Screen,
    /// The `index`-th track a relay link from another node carries into this one (see
    /// [`crate::relay`]): one link carries many publishers' tracks, so the kind alone does not
    /// name one. Unlayered here: the origin sends one layer across, the highest this node's
    /// subscribers want.
    Relayed {
        /// Position among the link's tracks, in the order of its offer.
        index: u8,
        /// Whether it carries audio.
        audio: bool,
    },
}

impl TrackKind {
    /// Whether this track is audio (no layers; every packet is a switch point).
    pub fn is_audio(self) -> bool {
        matches!(
            self,
            TrackKind::Audio | TrackKind::Relayed { audio: true, .. }
        )
    }
}

/// One simulcast encoding of a camera. Ordered: `Low < Mid < High`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    /// rid `q`: quarter resolution, ~150 kbit/s. What grids and weak links get.
    Low = 0,
    /// rid `h`: half resolution, ~500 kbit/s.
    Mid = 1,
    /// rid `f`: full resolution, ~1.5 Mbit/s. What the program speaker is sent at.
    High = 2,
}

impl Layer {
    /// All layers, lowest first.
    pub const ALL: [Layer; 3] = [Layer::Low, Layer::Mid, Layer::High];

    /// The RTP stream id the web client gives this layer.
    pub fn rid(self) -> &'static str {
        match self {
            Layer::Low => "q",
            Layer::Mid => "h",
            Layer::High => "f",
        }
    }

    /// The layer for a rid; `None` for a rid we did not ask for.
    pub fn from_rid(rid: &str) -> Option<Layer> {
        match rid {
            "q" => Some(Layer::Low),
            "h" => Some(Layer::Mid),
            "f" => Some(Layer::High),
            _ => None,
        }
    }

    /// Index into per-layer arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Lower-case name used in the protocol and metrics labels.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Low => "low",
            Layer::Mid => "mid",
            Layer::High => "high",
        }
    }
}

/// Highest temporal layer the SFU tells apart: T2 (Chromium encodes simulcast VP8 as L1T3).
/// A TID above it counts as T2, so forwarding up to `MAX_TEMPORAL` forwards every frame.
pub const MAX_TEMPORAL: u8 = 2;

/// The set of layers a publisher is currently sending, as a bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LayerSet(u8);

impl LayerSet {
    /// No layer active.
    pub const EMPTY: LayerSet = LayerSet(0);

    /// Every layer active.
    pub const FULL: LayerSet = LayerSet(0b111);

    /// Adds a layer.
    pub fn insert(&mut self, layer: Layer) {
        self.0 |= 1 << layer.index();
    }

    /// Whether `layer` is in the set.
    pub fn contains(self, layer: Layer) -> bool {
        self.0 & (1 << layer.index()) != 0
    }

    /// The best layer to send someone who wants `target`: the highest active layer at or
    /// below it, else the lowest active layer above it (something beats nothing).
    pub fn best_for(self, target: Layer) -> Option<Layer> {
        let below = Layer::ALL
            .iter()
            .rev()
            .copied()
            .find(|l| *l <= target && self.contains(*l));
        below.or_else(|| Layer::ALL.iter().copied().find(|l| self.contains(*l)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_layer_prefers_target_then_lower_then_higher() {
        let mut set = LayerSet::EMPTY;
        assert_eq!(set.best_for(Layer::High), None);
        set.insert(Layer::Low);
        set.insert(Layer::Mid);
        assert_eq!(set.best_for(Layer::High), Some(Layer::Mid));
        assert_eq!(set.best_for(Layer::Mid), Some(Layer::Mid));
        assert_eq!(set.best_for(Layer::Low), Some(Layer::Low));
        let mut only_high = LayerSet::EMPTY;
        only_high.insert(Layer::High);
        assert_eq!(only_high.best_for(Layer::Low), Some(Layer::High));
    }

    #[test]
    fn rid_round_trips() {
        for l in Layer::ALL {
            assert_eq!(Layer::from_rid(l.rid()), Some(l));
        }
        assert_eq!(Layer::from_rid("x"), None);
    }
}
