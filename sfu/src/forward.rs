//! The forwarding decision for one receive slot: forward this packet or not, at which layer,
//! with which outgoing sequence number and timestamp, and whether a keyframe is needed.
//!
//! Deciding is separate from doing: [`DownTrack::decide`] is pure and the engine only carries
//! out the [`Verdict`]. Lifecycle of a `DownTrack`:
//!
//! 1. created idle for a slot (no source);
//! 2. [`DownTrack::set_source`] when the routing gives the slot a source: nothing is
//!    forwarded until a packet that can start a picture (a keyframe, or any audio packet)
//!    arrives on the wanted layer; until then each packet asks for a keyframe;
//! 3. forwarding: packets of the current layer are rewritten and sent; when a better layer
//!    becomes wanted (target changed, or the publisher started/stopped a layer), the current
//!    layer keeps flowing until the wanted layer's keyframe arrives, then it switches without
//!    a gap;
//! 4. [`DownTrack::set_source`] again on a new source, or [`DownTrack::clear`] back to idle.

use std::time::Instant;

use crate::id::{Layer, LayerSet};
use crate::rewrite::{Rewriter, Rewritten};

/// What the decision needs to know about one incoming packet.
#[derive(Debug, Clone, Copy)]
pub struct PacketMeta {
    /// Simulcast layer, `None` for audio and unlayered video.
    pub layer: Option<Layer>,
    /// Extended incoming sequence number.
    pub seq: u64,
    /// Incoming RTP timestamp.
    pub ts: u32,
    /// Whether a subscriber may start on this packet (keyframe start; always true for audio).
    pub switch_point: bool,
    /// RTP clock rate of the codec, Hz.
    pub clock_rate: u32,
}

/// What to do with one packet for one slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// Send the packet with this sequence number and timestamp; `None` drops it.
    pub out: Option<Rewritten>,
    /// Ask the publisher for a keyframe on this layer (`Some(None)` for unlayered video).
    pub keyframe: Option<Option<Layer>>,
}

impl Verdict {
    const DROP: Verdict = Verdict {
        out: None,
        keyframe: None,
    };
}

/// Forwarding state of one receive slot. Owned by the media thread.
#[derive(Debug, Clone)]
pub struct DownTrack {
    /// Layer the routing asked for.
    target: Layer,
    /// Layer being forwarded now: `None` when nothing is, `Some(None)` for unlayered media.
    current: Option<Option<Layer>>,
    /// Continuity across sources and layers.
    rewriter: Rewriter,
    /// The subscriber's link cannot carry even the lowest layer: forward nothing, ask for
    /// nothing, until resumed by [`DownTrack::set_source`].
    paused: bool,
}

impl DownTrack {
    /// An idle slot.
    pub fn new() -> Self {
        DownTrack {
            target: Layer::High,
            current: None,
            rewriter: Rewriter::new(),
            paused: false,
        }
    }

    /// Points the slot at a new source (or the same source again) wanting `target`.
    /// Forwarding restarts at the next switch point; numbering continues.
    pub fn set_source(&mut self, target: Layer) {
        self.target = target;
        self.current = None;
        self.paused = false;
        self.rewriter.end_segment();
    }

    /// Stops forwarding video to a link too weak for it; numbering continues on resume.
    pub fn pause(&mut self) {
        self.paused = true;
        self.current = None;
        self.rewriter.end_segment();
    }

    /// Whether the slot is paused for bandwidth.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Changes the wanted layer of the current source; switches at the next keyframe.
    pub fn set_target(&mut self, target: Layer) {
        self.target = target;
    }

    /// Stops forwarding (the slot becomes idle).
    pub fn clear(&mut self) {
        self.current = None;
        self.rewriter.end_segment();
    }

    /// The layer being forwarded now, if any.
    pub fn current_layer(&self) -> Option<Option<Layer>> {
        self.current
    }

    /// The layer asked for.
    pub fn target(&self) -> Layer {
        self.target
    }

    /// Decides what to do with `pkt` from this slot's source, given the layers the source
    /// is sending now (`active`, including the packet's own).
    pub fn decide(&mut self, pkt: &PacketMeta, active: LayerSet, now: Instant) -> Verdict {
        if self.paused {
            return Verdict::DROP;
        }
        let want = match pkt.layer {
            None => None,
            Some(_) => active.best_for(self.target),
        };
        match self.current {
            Some(cur) if cur == pkt.layer => {
                let out = self.rewriter.rewrite(pkt.seq, pkt.ts, now);
                // Still on a layer we would rather leave: keep asking for the better one.
                let keyframe = (pkt.layer.is_some() && want != cur).then_some(want);
                Verdict { out, keyframe }
            }
            _ if pkt.layer == want || pkt.layer.is_none() => {
                if pkt.switch_point {
                    self.current = Some(pkt.layer);
                    let out = self.rewriter.start(pkt.seq, pkt.ts, pkt.clock_rate, now);
                    Verdict {
                        out: Some(out),
                        keyframe: None,
                    }
                } else if self.current.is_none() || pkt.layer.is_some() {
                    Verdict {
                        out: None,
                        keyframe: Some(pkt.layer),
                    }
                } else {
                    Verdict::DROP
                }
            }
            _ => Verdict::DROP,
        }
    }
}

impl Default for DownTrack {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const VIDEO_HZ: u32 = 90_000;

    fn video(layer: Layer, seq: u64, key: bool) -> PacketMeta {
        PacketMeta {
            layer: Some(layer),
            seq,
            ts: seq as u32 * 3_000,
            switch_point: key,
            clock_rate: VIDEO_HZ,
        }
    }

    fn set(layers: &[Layer]) -> LayerSet {
        let mut s = LayerSet::EMPTY;
        layers.iter().for_each(|l| s.insert(*l));
        s
    }

    #[test]
    fn waits_for_a_keyframe_before_forwarding_and_asks_for_one() {
        let now = Instant::now();
        let mut d = DownTrack::new();
        d.set_source(Layer::Low);
        let all = set(&Layer::ALL);
        let v = d.decide(&video(Layer::Low, 10, false), all, now);
        assert_eq!(v.out, None);
        assert_eq!(v.keyframe, Some(Some(Layer::Low)));
        let start = d.decide(&video(Layer::Low, 11, true), all, now).out.unwrap();
        assert_eq!(d.current_layer(), Some(Some(Layer::Low)));
        let v = d.decide(&video(Layer::Low, 12, false), all, now);
        assert_eq!(v.keyframe, None);
        assert_eq!(v.out.unwrap().seq, start.seq + 1);
    }

    #[test]
    fn other_layers_are_never_forwarded() {
        let now = Instant::now();
        let mut d = DownTrack::new();
        d.set_source(Layer::Low);
        let all = set(&Layer::ALL);
        d.decide(&video(Layer::Low, 1, true), all, now);
        for layer in [Layer::Mid, Layer::High] {
            let v = d.decide(&video(layer, 500, true), all, now);
            assert_eq!(v, Verdict::DROP);
        }
    }

    #[test]
    fn falls_back_to_best_available_layer_then_moves_up_on_keyframe() {
        let now = Instant::now();
        let mut d = DownTrack::new();
        d.set_source(Layer::High);
        // Publisher ramping up: only q and h so far.
        let ramp = set(&[Layer::Low, Layer::Mid]);
        assert_eq!(d.decide(&video(Layer::Low, 1, true), ramp, now), Verdict::DROP);
        let v = d.decide(&video(Layer::Mid, 100, true), ramp, now);
        let first = v.out.unwrap();
        // f appears: keep forwarding h, asking for an f keyframe.
        let all = set(&Layer::ALL);
        let v = d.decide(&video(Layer::High, 900, false), all, now);
        assert_eq!(v.out, None);
        assert_eq!(v.keyframe, Some(Some(Layer::High)));
        let v = d.decide(&video(Layer::Mid, 101, false), all, now);
        assert_eq!(v.out.unwrap().seq, first.seq + 1);
        assert_eq!(v.keyframe, Some(Some(Layer::High)));
        // The f keyframe arrives: switch, numbering continues without a gap.
        let later = now + Duration::from_millis(40);
        let v = d.decide(&video(Layer::High, 901, true), all, later);
        assert_eq!(v.out.unwrap().seq, first.seq + 2);
        assert_eq!(d.current_layer(), Some(Some(Layer::High)));
        assert_eq!(d.decide(&video(Layer::Mid, 102, true), all, later), Verdict::DROP);
    }

    #[test]
    fn audio_starts_on_any_packet_and_continues_across_sources() {
        let now = Instant::now();
        let mut d = DownTrack::new();
        d.set_source(Layer::High);
        let audio = |seq: u64| PacketMeta {
            layer: None,
            seq,
            ts: seq as u32 * 960,
            switch_point: true,
            clock_rate: 48_000,
        };
        let a = d.decide(&audio(7_000), LayerSet::EMPTY, now).out.unwrap();
        let b = d.decide(&audio(7_001), LayerSet::EMPTY, now).out.unwrap();
        assert_eq!(b.seq, a.seq + 1);
        // Another site takes the slot.
        d.set_source(Layer::High);
        let c = d
            .decide(&audio(33), LayerSet::EMPTY, now + Duration::from_millis(20))
            .out
            .unwrap();
        assert_eq!(c.seq, b.seq + 1);
        assert_eq!(c.ts, b.ts + 960);
    }

    #[test]
    fn paused_slot_forwards_and_asks_nothing_until_resumed() {
        let now = Instant::now();
        let mut d = DownTrack::new();
        d.set_source(Layer::Low);
        let all = set(&Layer::ALL);
        let first = d.decide(&video(Layer::Low, 1, true), all, now).out.unwrap();
        d.pause();
        assert_eq!(d.decide(&video(Layer::Low, 2, true), all, now), Verdict::DROP);
        assert_eq!(d.decide(&video(Layer::Low, 3, false), all, now), Verdict::DROP);
        d.set_source(Layer::Low);
        assert_eq!(d.decide(&video(Layer::Low, 4, false), all, now).keyframe, Some(Some(Layer::Low)));
        let resumed = d.decide(&video(Layer::Low, 5, true), all, now).out.unwrap();
        assert_eq!(resumed.seq, first.seq + 1, "numbering continues over the pause");
    }

    #[test]
    fn cleared_slot_waits_for_a_new_switch_point() {
        let now = Instant::now();
        let mut d = DownTrack::new();
        d.set_source(Layer::Low);
        let all = set(&Layer::ALL);
        d.decide(&video(Layer::Low, 1, true), all, now);
        d.clear();
        let v = d.decide(&video(Layer::Low, 2, false), all, now);
        assert_eq!(v.out, None);
        assert_eq!(v.keyframe, Some(Some(Layer::Low)));
    }
}
