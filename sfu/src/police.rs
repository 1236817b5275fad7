//! Ingress policing: what one publisher may put through the SFU.
//!
//! Every track (and every simulcast layer of it) has a budget: a token bucket refilled at
//! [`OVER_NOMINAL`] times the rate the layout announces for it (the web client's
//! `maxBitrate` per encoding; Opus at most 510 kbit/s), one second deep so keyframes and a
//! shared screen's bursts pass. A publisher sending far more — a broken or hostile client,
//! 10× its layer — has the excess dropped before any subscriber sees it, counted and
//! reported; its subscribers' links and the SFU's CPU are not spent on it. Packets that
//! cannot be what their payload type says (a VP8 packet without a valid payload descriptor)
//! are dropped the same way.

use std::time::Instant;

use crate::{Layer, TrackKind};

/// How far above its announced rate a track may go.
pub const OVER_NOMINAL: u64 = 3;

/// Announced bit rate of each camera layer (the client's `maxBitrate`: q, h, f).
pub const LAYER_BPS: [u64; 3] = [150_000, 500_000, 1_500_000];

/// Announced bit rate of audio: Opus's own ceiling.
pub const AUDIO_BPS: u64 = 510_000;

/// Announced bit rate of a video track without simulcast (a screen, a camera in a browser
/// that sends one encoding): the top layer's.
pub const SINGLE_VIDEO_BPS: u64 = 1_500_000;

/// The announced rate of `kind`'s `layer` (`None`: not simulcast), bit/s.
pub fn announced_bps(kind: TrackKind, layer: Option<Layer>) -> u64 {
    match (kind, layer) {
        (k, _) if k.is_audio() => AUDIO_BPS,
        (_, Some(l)) => LAYER_BPS[l.index()],
        (_, None) => SINGLE_VIDEO_BPS,
    }
}

/// A token bucket in bytes.
#[derive(Debug, Clone)]
pub struct Policer {
    rate_bytes: f64,
    depth: f64,
    tokens: f64,
    last: Option<Instant>,
}

impl Policer {
    /// A bucket for a stream announced at `bps`, full.
    pub fn new(bps: u64) -> Self {
        let rate_bytes = (bps * OVER_NOMINAL) as f64 / 8.0;
        Policer {
            rate_bytes,
            depth: rate_bytes,
            tokens: rate_bytes,
            last: None,
        }
    }

    /// Whether a packet of `bytes` fits the budget at `now` (and takes its share if so).
    pub fn admit(&mut self, bytes: usize, now: Instant) -> bool {
        if let Some(last) = self.last {
            let secs = now.saturating_duration_since(last).as_secs_f64();
            self.tokens = (self.tokens + secs * self.rate_bytes).min(self.depth);
        }
        self.last = Some(now);
        let need = bytes as f64;
        if self.tokens >= need {
            self.tokens -= need;
            true
        } else {
            false
        }
    }
}

/// The policers of one track: one per simulcast layer (index 0 also serves an unlayered
/// track).
#[derive(Debug, Clone)]
pub struct TrackPolicers {
    kind: TrackKind,
    layers: [Option<Policer>; 3],
}

impl TrackPolicers {
    /// Policers for a track of `kind`, created on first use.
    pub fn new(kind: TrackKind) -> Self {
        TrackPolicers {
            kind,
            layers: [None, None, None],
        }
    }

    /// Whether a packet of `bytes` on `layer` is within the track's budget.
    pub fn admit(&mut self, layer: Option<Layer>, bytes: usize, now: Instant) -> bool {
        let kind = self.kind;
        let p = self.layers[layer.map_or(0, Layer::index)]
            .get_or_insert_with(|| Policer::new(announced_bps(kind, layer)));
        p.admit(bytes, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Sends `bps` in 1200-byte packets for `secs` seconds; returns (sent, admitted) bytes.
    fn run(
        p: &mut TrackPolicers,
        layer: Option<Layer>,
        bps: u64,
        secs: u64,
        t0: Instant,
    ) -> (u64, u64) {
        let packet = 1200usize;
        let per_sec = bps / 8 / packet as u64;
        let (mut sent, mut admitted) = (0, 0);
        for i in 0..per_sec * secs {
            let now = t0 + Duration::from_micros(i * 1_000_000 / per_sec);
            sent += packet as u64;
            if p.admit(layer, packet, now) {
                admitted += packet as u64;
            }
        }
        (sent, admitted)
    }

    #[test]
    fn a_publisher_within_its_layer_budget_loses_nothing_even_with_keyframe_bursts() {
        let t0 = Instant::now();
        let mut p = TrackPolicers::new(TrackKind::Camera);
        // 25 fps at 1.5 Mbit/s with a keyframe of 4× a frame every second, sent in one go.
        let frame = (1_500_000 / 8 / 25) as usize;
        let mut dropped = 0;
        for f in 0..25 * 20u64 {
            let now = t0 + Duration::from_millis(f * 40);
            let bytes = if f % 25 == 0 { frame * 4 } else { frame };
            for _ in 0..bytes.div_ceil(1200) {
                if !p.admit(Some(Layer::High), 1200, now) {
                    dropped += 1;
                }
            }
        }
        assert_eq!(dropped, 0);
        // Opus at its ceiling passes too.
        let mut a = TrackPolicers::new(TrackKind::Audio);
        let (sent, admitted) = run(&mut a, None, 510_000, 10, t0);
        assert_eq!(sent, admitted);
    }

    #[test]
    fn ten_times_the_announced_rate_is_cut_to_the_budget() {
        let t0 = Instant::now();
        for (kind, layer) in [
            (TrackKind::Camera, Some(Layer::Low)),
            (TrackKind::Camera, Some(Layer::High)),
            (TrackKind::Screen, None),
            (TrackKind::Audio, None),
        ] {
            let mut p = TrackPolicers::new(kind);
            let announced = announced_bps(kind, layer);
            let (sent, admitted) = run(&mut p, layer, announced * 10, 10, t0);
            let admitted_bps = admitted * 8 / 10;
            let budget = announced * OVER_NOMINAL;
            // Over 10 s: the budget, plus the one-second bucket it started with.
            assert!(
                admitted_bps <= budget + budget / 10 + 10_000,
                "{kind:?} {layer:?}: {admitted_bps} bit/s admitted of {}",
                sent * 8 / 10
            );
            assert!(
                admitted_bps >= budget * 9 / 10,
                "{kind:?} {layer:?}: the budget itself passes ({admitted_bps})"
            );
        }
    }

    #[test]
    fn layers_have_separate_budgets() {
        let t0 = Instant::now();
        let mut p = TrackPolicers::new(TrackKind::Camera);
        // The low layer flooding does not eat the high layer's budget.
        run(&mut p, Some(Layer::Low), 20_000_000, 2, t0);
        let later = t0 + Duration::from_secs(2);
        let (sent, admitted) = run(&mut p, Some(Layer::High), 1_500_000, 2, later);
        assert_eq!(sent, admitted);
    }
}
