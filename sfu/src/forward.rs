//! The forwarding decision for one receive slot: forward this packet or not, at which layer,
//! with which outgoing numbers (sequence, timestamp, VP8 PictureID and TL0PICIDX), and
//! whether a keyframe is needed.
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
//!    a gap; while a *lower* layer is awaited (the subscriber's link is short), the current
//!    layer flows at its base frame rate only, so the wait does not keep the link overfull;
//! 4. [`DownTrack::set_source`] again on a new source, or [`DownTrack::clear`] back to idle.
//!
//! Temporal layers (VP8 with a TID): of the forwarded spatial layer, only frames up to the
//! temporal target go out ([`DownTrack::set_temporal_target`]); the packets of the others
//! are skipped in the numbering, so the subscriber sees no gap. The temporal layer in force
//! follows the target down at the next frame start (frames of lower layers never reference
//! higher ones), and up one layer at a time at a layer sync frame (Y: it references only the
//! base layer) of the next layer, or at once at a keyframe. A base-layer frame is no such
//! point: in libwebrtc's three-layer pattern a T1 frame references the T1 frame of the
//! previous base-layer period. Packets without a TID (audio, H.264) always go out.

use std::time::Instant;

use crate::id::{Layer, LayerSet, MAX_TEMPORAL};
use crate::rewrite::{Numbering, Rewriter, Rewritten};
use crate::select::Choice;
use crate::vp8;

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
    /// The VP8 payload descriptor (`None`: audio, H.264, or not parsable).
    pub vp8: Option<vp8::Descriptor>,
}

impl PacketMeta {
    #[inline]
    fn numbering(&self) -> Numbering {
        Numbering {
            seq: self.seq,
            ts: self.ts,
            picture_id: self.vp8.and_then(|d| d.picture_id),
            tl0_pic_idx: self.vp8.and_then(|d| d.tl0_pic_idx),
        }
    }
}

/// What to do with one packet for one slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// Send the packet with these numbers; `None` drops it.
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
    /// Highest temporal layer the selector allows.
    temporal_target: u8,
    /// Highest temporal layer forwarded now; moves towards the target at frame boundaries
    /// the decoder can follow (see the module doc).
    temporal: u8,
    /// What is forwarded overruns the subscriber's link ([`DownTrack::set_shed_going_down`]).
    shed_going_down: bool,
    /// Waiting to go down on an overrun link, the current layer is shed whole from a frame
    /// start: nothing more of it queues ahead of the lower layer's keyframe.
    shedding: bool,
}

impl DownTrack {
    /// An idle slot.
    pub fn new() -> Self {
        DownTrack {
            target: Layer::High,
            current: None,
            rewriter: Rewriter::new(),
            paused: false,
            temporal_target: MAX_TEMPORAL,
            temporal: MAX_TEMPORAL,
            shed_going_down: false,
            shedding: false,
        }
    }

    /// Whether what is forwarded overruns the subscriber's link: the pacer's queue towards
    /// it stands ([`crate::downlink::BACKLOG_STANDING`]) or its estimate just fell sharply
    /// ([`crate::downlink::SHARP_FALL_SHED`]). While it does and a lower layer is awaited,
    /// the current layer is not forwarded at all (not even its base frame rate): what is
    /// already queued drains, and the lower layer's keyframe does not wait behind more.
    pub fn set_shed_going_down(&mut self, shed: bool) {
        self.shed_going_down = shed;
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

    /// Changes the highest temporal layer to forward (at most [`MAX_TEMPORAL`], which
    /// forwards every frame); takes effect at the next frame the decoder can follow.
    pub fn set_temporal_target(&mut self, temporal: u8) {
        self.temporal_target = temporal.min(MAX_TEMPORAL);
    }

    /// The highest temporal layer asked for.
    pub fn temporal_target(&self) -> u8 {
        self.temporal_target
    }

    /// The highest temporal layer forwarded now.
    pub fn current_temporal(&self) -> u8 {
        self.temporal
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

    /// Carries out the layer selector's choice for this slot (`None`: pause for bandwidth):
    /// the selector decides, the down-track switches. Returns what the slot was doing before
    /// when the choice changes it (`Some(None)`: it was paused).
    pub fn apply_choice(&mut self, choice: Option<Choice>) -> Option<Option<Choice>> {
        let before = (!self.paused).then_some(Choice {
            layer: self.target,
            temporal: self.temporal_target,
        });
        match choice {
            None if !self.paused => self.pause(),
            None => {}
            Some(c) => {
                self.set_temporal_target(c.temporal);
                if self.paused {
                    self.set_source(c.layer);
                } else if c.layer != self.target {
                    self.set_target(c.layer);
                }
            }
        }
        (before != choice).then_some(before)
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
                // Still on a layer we would rather leave: keep asking for the better one.
                let keyframe = (pkt.layer.is_some() && want != cur).then_some(want);
                // Waiting to go down (the link is short): until the lower layer's keyframe,
                // only the base frame rate of this layer goes out, so the wait does not
                // keep the link overfull.
                let going_down = matches!((want, cur), (Some(w), Some(c)) if w < c);
                // Shedding starts and ends at a frame start, so no partial picture goes out.
                let frame_start = pkt.vp8.is_none_or(|d| d.frame_start);
                if frame_start {
                    self.shedding = going_down && self.shed_going_down;
                }
                let cap = if going_down { 0 } else { self.temporal_target };
                let out = if self.shedding || self.above_temporal(pkt, cap) {
                    self.rewriter.skip(&pkt.numbering());
                    None
                } else {
                    self.rewriter.rewrite(&pkt.numbering(), now)
                };
                Verdict { out, keyframe }
            }
            _ if pkt.layer == want || pkt.layer.is_none() => {
                if pkt.switch_point {
                    self.current = Some(pkt.layer);
                    self.shedding = false;
                    // A keyframe references nothing before it: every layer can start here.
                    self.temporal = self.temporal_target;
                    let out = self.rewriter.start(&pkt.numbering(), pkt.clock_rate, now);
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

    /// Whether `pkt`, of the layer being forwarded, belongs to a temporal layer above the
    /// one in force; moves the one in force towards `target` at a frame start.
    #[inline]
    fn above_temporal(&mut self, pkt: &PacketMeta, target: u8) -> bool {
        let Some(d) = pkt.vp8 else { return false };
        let Some(tid) = d.tid else { return false };
        let tid = tid.min(MAX_TEMPORAL);
        if d.frame_start {
            if target < self.temporal {
                self.temporal = target;
            } else if target > self.temporal {
                if d.keyframe {
                    self.temporal = target;
                } else if d.layer_sync && tid == self.temporal + 1 {
                    self.temporal = tid;
                }
            }
        }
        tid > self.temporal
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
            vp8: None,
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
        let start = d
            .decide(&video(Layer::Low, 11, true), all, now)
            .out
            .unwrap();
        assert_eq!(d.current_layer(), Some(Some(Layer::Low)));
        let v = d.decide(&video(Layer::Low, 12, false), all, now);
        assert_eq!(v.keyframe, None);
        assert_eq!(v.out.unwrap().seq, start.seq + 1);
    }

    #[test]
    fn a_layer_choice_switches_at_the_chosen_layers_keyframe_and_reports_what_it_changed() {
        let now = Instant::now();
        let all = set(&Layer::ALL);
        let mut d = DownTrack::new();
        d.set_source(Layer::Low);
        d.decide(&video(Layer::Low, 1, true), all, now);
        let low = Choice::full(Layer::Low);
        assert_eq!(
            d.apply_choice(Some(low)),
            None,
            "the same choice changes nothing"
        );
        let mid = Choice::full(Layer::Mid);
        assert_eq!(d.apply_choice(Some(mid)), Some(Some(low)));
        // Low flows until mid's keyframe, then only mid.
        assert!(d
            .decide(&video(Layer::Low, 2, false), all, now)
            .out
            .is_some());
        assert!(d
            .decide(&video(Layer::Mid, 100, true), all, now)
            .out
            .is_some());
        assert!(d
            .decide(&video(Layer::Low, 3, false), all, now)
            .out
            .is_none());
        // Paused: nothing; resumed on a choice, from that layer's next keyframe.
        assert_eq!(d.apply_choice(None), Some(Some(mid)));
        assert!(d.is_paused());
        assert!(d
            .decide(&video(Layer::Mid, 101, true), all, now)
            .out
            .is_none());
        assert_eq!(d.apply_choice(None), None);
        assert_eq!(d.apply_choice(Some(low)), Some(None));
        assert!(d
            .decide(&video(Layer::Low, 4, false), all, now)
            .out
            .is_none());
        assert!(d
            .decide(&video(Layer::Low, 5, true), all, now)
            .out
            .is_some());
        // A lower frame rate is carried out as the temporal target.
        let half = Choice {
            layer: Layer::Low,
            temporal: 1,
        };
        assert_eq!(d.apply_choice(Some(half)), Some(Some(low)));
        assert_eq!(d.temporal_target(), 1);
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
        assert_eq!(
            d.decide(&video(Layer::Low, 1, true), ramp, now),
            Verdict::DROP
        );
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
        assert_eq!(
            d.decide(&video(Layer::Mid, 102, true), all, later),
            Verdict::DROP
        );
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
            vp8: None,
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
        assert_eq!(
            d.decide(&video(Layer::Low, 2, true), all, now),
            Verdict::DROP
        );
        assert_eq!(
            d.decide(&video(Layer::Low, 3, false), all, now),
            Verdict::DROP
        );
        d.set_source(Layer::Low);
        assert_eq!(
            d.decide(&video(Layer::Low, 4, false), all, now).keyframe,
            Some(Some(Layer::Low))
        );
        let resumed = d.decide(&video(Layer::Low, 5, true), all, now).out.unwrap();
        assert_eq!(
            resumed.seq,
            first.seq + 1,
            "numbering continues over the pause"
        );
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

    /// A Chromium-like VP8 source: libwebrtc's three-layer pattern (TIDs 0 2 1 2 0 2 1 2,
    /// layer sync on the first T2 and the first T1 of each 8 frames), two packets a frame.
    struct Vp8Source {
        layer: Layer,
        seq: u64,
        frame: u16,
    }

    const PATTERN: [(u8, bool); 8] = [
        (0, false),
        (2, true),
        (1, true),
        (2, false),
        (0, false),
        (2, false),
        (1, false),
        (2, false),
    ];

    impl Vp8Source {
        fn new(layer: Layer, seq: u64) -> Self {
            Vp8Source {
                layer,
                seq,
                frame: 0,
            }
        }

        /// The next frame's packets; the first frame is a keyframe.
        fn frame(&mut self) -> [PacketMeta; 2] {
            let (tid, sync) = PATTERN[usize::from(self.frame) % 8];
            let key = self.frame == 0;
            let tl0 = (self.frame / 4) as u8;
            let pic = self.frame;
            self.frame += 1;
            [true, false].map(|start| {
                self.seq += 1;
                PacketMeta {
                    layer: Some(self.layer),
                    seq: self.seq,
                    ts: u32::from(pic) * 3_000,
                    switch_point: key && start,
                    clock_rate: VIDEO_HZ,
                    vp8: Some(vp8::Descriptor {
                        frame_start: start,
                        keyframe: key && start,
                        picture_id: Some(vp8::PictureId {
                            value: pic,
                            long: true,
                        }),
                        tl0_pic_idx: Some(tl0),
                        tid: Some(if key { 0 } else { tid }),
                        layer_sync: key || sync,
                    }),
                }
            })
        }
    }

    /// What one frame's packets became: (TID, outgoing numbers) of those sent.
    fn run(d: &mut DownTrack, src: &mut Vp8Source, frames: usize) -> Vec<(u8, Rewritten)> {
        let now = Instant::now();
        let all = set(&Layer::ALL);
        let mut sent = Vec::new();
        for _ in 0..frames {
            for p in src.frame() {
                if let Some(out) = d.decide(&p, all, now).out {
                    sent.push((p.vp8.unwrap().tid.unwrap(), out));
                }
            }
        }
        sent
    }

    fn assert_continuous(sent: &[(u8, Rewritten)]) {
        for w in sent.windows(2) {
            let (a, b) = (w[0].1, w[1].1);
            assert_eq!(b.seq, a.seq + 1, "sequence gap: {w:?}");
            let (pa, pb) = (a.picture_id.unwrap(), b.picture_id.unwrap());
            assert!(pb == pa || pb == pa + 1, "picture gap: {w:?}");
            let (ta, tb) = (a.tl0_pic_idx.unwrap(), b.tl0_pic_idx.unwrap());
            assert!(tb == ta || tb == ta + 1, "TL0PICIDX gap: {w:?}");
        }
    }

    #[test]
    fn dropped_temporal_layers_leave_no_gap_in_sequence_picture_id_or_tl0picidx() {
        for (target, frames_out) in [(0, 8), (1, 16), (2, 32)] {
            let mut d = DownTrack::new();
            d.set_source(Layer::Low);
            d.set_temporal_target(target);
            let mut src = Vp8Source::new(Layer::Low, 100);
            let sent = run(&mut d, &mut src, 32);
            assert_eq!(
                sent.len(),
                2 * frames_out,
                "T{target}: packets of {frames_out} frames"
            );
            assert!(sent.iter().all(|(tid, _)| *tid <= target));
            assert_continuous(&sent);
        }
    }

    #[test]
    fn going_down_waits_for_the_next_frame_start() {
        let now = Instant::now();
        let all = set(&Layer::ALL);
        let mut d = DownTrack::new();
        d.set_source(Layer::Low);
        let mut src = Vp8Source::new(Layer::Low, 100);
        run(&mut d, &mut src, 1);
        let [start, rest] = src.frame(); // T2
        assert!(d.decide(&start, all, now).out.is_some());
        d.set_temporal_target(0);
        assert!(
            d.decide(&rest, all, now).out.is_some(),
            "the frame begun is finished"
        );
        let sent = run(&mut d, &mut src, 14);
        assert!(sent.iter().all(|(tid, _)| *tid == 0), "{sent:?}");
        assert_eq!(d.current_temporal(), 0);
    }

    #[test]
    fn going_up_waits_for_layer_sync_frames_one_layer_at_a_time() {
        let mut d = DownTrack::new();
        d.set_source(Layer::Low);
        d.set_temporal_target(0);
        let mut src = Vp8Source::new(Layer::Low, 100);
        run(&mut d, &mut src, 4); // keyframe, 2, 1, 2: only T0 goes.
        d.set_temporal_target(2);
        // Frames 4..: T0, then T2 (no sync), T1 (no sync), T2; next period T0, T2 sync, T1 sync, ...
        let after: Vec<_> = (4..24)
            .map(|_| run(&mut d, &mut src, 1).first().map(|(t, _)| *t))
            .collect();
        let tids = |r: std::ops::Range<usize>| after[r].to_vec();
        assert_eq!(
            tids(0..4),
            [Some(0), None, None, None],
            "no sync frame yet: T1 and T2 wait"
        );
        assert_eq!(
            tids(4..8),
            [Some(0), None, Some(1), None],
            "the T2 sync comes before T1 is on"
        );
        assert_eq!(
            tids(8..12),
            [Some(0), None, Some(1), None],
            "T1 on; T2 waits for its sync"
        );
        assert_eq!(
            tids(12..16),
            [Some(0), Some(2), Some(1), Some(2)],
            "all on from the T2 sync"
        );
        assert_eq!(d.current_temporal(), 2);
    }

    #[test]
    fn going_up_numbering_stays_continuous() {
        let mut d = DownTrack::new();
        d.set_source(Layer::Low);
        d.set_temporal_target(0);
        let mut src = Vp8Source::new(Layer::Low, 100);
        let mut sent = run(&mut d, &mut src, 9);
        d.set_temporal_target(2);
        sent.extend(run(&mut d, &mut src, 24));
        d.set_temporal_target(1);
        sent.extend(run(&mut d, &mut src, 16));
        assert_continuous(&sent);
    }

    #[test]
    fn a_keyframe_lifts_every_temporal_layer_at_once() {
        let mut d = DownTrack::new();
        d.set_source(Layer::Low);
        d.set_temporal_target(0);
        let mut src = Vp8Source::new(Layer::Low, 100);
        run(&mut d, &mut src, 5);
        d.set_temporal_target(2);
        src.frame = 0; // the publisher answers a PLI: a keyframe, the pattern restarts
        let sent = run(&mut d, &mut src, 4);
        let tids: Vec<u8> = sent.iter().step_by(2).map(|(t, _)| *t).collect();
        assert_eq!(tids, [0, 2, 1, 2]);
    }

    #[test]
    fn a_switch_of_spatial_layer_keeps_picture_numbering_continuous() {
        let mut d = DownTrack::new();
        d.set_source(Layer::Low);
        d.set_temporal_target(1);
        let mut low = Vp8Source::new(Layer::Low, 100);
        let mut sent = run(&mut d, &mut low, 10);
        d.set_target(Layer::Mid);
        // The mid layer numbers its packets and pictures on its own; its keyframe switches.
        let mut mid = Vp8Source::new(Layer::Mid, 60_000);
        sent.extend(run(&mut d, &mut mid, 12));
        assert_eq!(d.current_layer(), Some(Some(Layer::Mid)));
        assert_continuous(&sent);
    }

    #[test]
    fn waiting_for_a_lower_layer_forwards_only_the_base_frame_rate_then_switches_at_full_rate() {
        let mut d = DownTrack::new();
        d.set_source(Layer::Mid);
        let mut mid = Vp8Source::new(Layer::Mid, 100);
        let mut sent = run(&mut d, &mut mid, 8);
        assert_eq!(sent.len(), 16, "every frame of mid at full rate");
        d.set_target(Layer::Low);
        // The low layer's keyframe is some frames away: meanwhile mid goes at T0 only.
        let waiting = run(&mut d, &mut mid, 8);
        assert_eq!(waiting.len(), 4, "two T0 frames of eight: {waiting:?}");
        assert!(waiting.iter().all(|(tid, _)| *tid == 0));
        sent.extend(waiting);
        let mut low = Vp8Source::new(Layer::Low, 50_000);
        let switched = run(&mut d, &mut low, 8);
        assert_eq!(d.current_layer(), Some(Some(Layer::Low)));
        assert_eq!(switched.len(), 16, "low at the full frame rate asked for");
        sent.extend(switched);
        assert_continuous(&sent);
    }

    #[test]
    fn waiting_for_a_lower_layer_on_a_backlogged_link_sheds_the_old_layer_whole() {
        let now = Instant::now();
        let all = set(&Layer::ALL);
        let mut d = DownTrack::new();
        d.set_source(Layer::Mid);
        let mut mid = Vp8Source::new(Layer::Mid, 100);
        let mut sent = run(&mut d, &mut mid, 8);
        // The pacer's queue stands and the selector wants low; a frame is half sent.
        let [start, rest] = mid.frame();
        let tid = start.vp8.unwrap().tid.unwrap();
        sent.push((tid, d.decide(&start, all, now).out.unwrap()));
        d.set_target(Layer::Low);
        d.set_shed_going_down(true);
        let finished = d.decide(&rest, all, now).out;
        assert!(finished.is_some(), "the frame begun is finished");
        sent.push((tid, finished.unwrap()));
        let waiting = run(&mut d, &mut mid, 8);
        assert!(
            waiting.is_empty(),
            "nothing more of mid queues: {waiting:?}"
        );
        let mut low = Vp8Source::new(Layer::Low, 50_000);
        let switched = run(&mut d, &mut low, 8);
        assert_eq!(d.current_layer(), Some(Some(Layer::Low)));
        assert_eq!(
            switched.len(),
            16,
            "low at its full frame rate from its keyframe"
        );
        sent.extend(switched);
        assert_continuous(&sent);
    }

    #[test]
    fn a_backlog_that_clears_before_the_lower_keyframe_resumes_the_base_frame_rate() {
        let mut d = DownTrack::new();
        d.set_source(Layer::Mid);
        let mut mid = Vp8Source::new(Layer::Mid, 100);
        run(&mut d, &mut mid, 8);
        d.set_target(Layer::Low);
        d.set_shed_going_down(true);
        assert!(run(&mut d, &mut mid, 4).is_empty());
        d.set_shed_going_down(false);
        let waiting = run(&mut d, &mut mid, 8);
        assert_eq!(waiting.len(), 4, "two T0 frames of eight: {waiting:?}");
    }

    #[test]
    fn a_backlog_sheds_nothing_while_no_lower_layer_is_awaited() {
        let mut d = DownTrack::new();
        d.set_source(Layer::Mid);
        d.set_shed_going_down(true);
        let mut mid = Vp8Source::new(Layer::Mid, 100);
        assert_eq!(run(&mut d, &mut mid, 8).len(), 16);
    }

    #[test]
    fn waiting_for_a_higher_layer_keeps_the_full_frame_rate() {
        let mut d = DownTrack::new();
        d.set_source(Layer::Low);
        let mut low = Vp8Source::new(Layer::Low, 100);
        run(&mut d, &mut low, 8);
        d.set_target(Layer::Mid);
        assert_eq!(run(&mut d, &mut low, 8).len(), 16);
    }

    #[test]
    fn a_retransmission_lost_upstream_fills_its_gap_after_skips() {
        let now = Instant::now();
        let all = set(&Layer::ALL);
        let mut d = DownTrack::new();
        d.set_source(Layer::Low);
        d.set_temporal_target(0);
        let mut src = Vp8Source::new(Layer::Low, 100);
        let key = src.frame();
        let first = d.decide(&key[0], all, now).out.unwrap();
        // The keyframe's second packet is lost upstream; T2, T1, T2 are skipped; T0 goes.
        run(&mut d, &mut src, 3);
        let next_t0 = run(&mut d, &mut src, 1);
        assert_eq!(
            next_t0[0].1.seq,
            first.seq + 2,
            "the lost packet's number stays free"
        );
        let late = d.decide(&key[1], all, now).out.unwrap();
        assert_eq!(late.seq, first.seq + 1);
        assert_eq!(late.picture_id, first.picture_id);
    }

    #[test]
    fn packets_without_a_temporal_layer_ignore_the_temporal_target() {
        let now = Instant::now();
        let all = set(&Layer::ALL);
        let mut d = DownTrack::new();
        d.set_source(Layer::Low);
        d.set_temporal_target(0);
        d.decide(&video(Layer::Low, 1, true), all, now).out.unwrap();
        for seq in 2..10 {
            assert!(d
                .decide(&video(Layer::Low, seq, false), all, now)
                .out
                .is_some());
        }
    }
}
