//! Whether a subscriber that receives less than its sources offer is held back by its *line*,
//! the only thing worth an alarm ("Đường truyền yếu") in front of commune staff.
//!
//! [`crate::select::reception`] says what the subscriber receives; it cannot say why. A
//! reduced reception has three causes, and only one is the line:
//! - **the first ramp**: every slot starts at its lowest layer and climbs one step per
//!   `up_hold` as the estimate grows from its initial value, so on a perfect loopback line a
//!   site is `reduced` for its first 5-10 s (with five sites every tile of the hall's grid
//!   was marked weak 8-10 s after the meeting opened);
//! - **the SFU's own caution**: the selector's hysteresis after a new source, a delay-based
//!   estimate that dips while the receiving PC is busy;
//! - **the line**: it loses packets, its round trip stands above its own, it was proven
//!   overfull (the congestion cap), or its estimate has stayed below what the lowest layers
//!   need for a while.
//!
//! [`LineAlarm::judge`] reports the reception as it is when the line is the cause, and
//! [`Reported::Held`] otherwise. Pure: the evidence and the time come in as arguments.

use std::time::{Duration, Instant};

use crate::id::{Layer, MAX_TEMPORAL};
use crate::select::{Demand, Reception};

/// Loss on the way down that is evidence of a weak line. The browser's own mark stops
/// saying "good" above 2% (`web-client/js/quality.js`), the selector needs the same loss
/// before it pauses a picture, and a healthy line (loopback, a LAN) loses nothing: at 2%
/// the alarm and the site's own mark start to agree.
pub const LINE_LOSS: f64 = 0.02;
/// The first ramp: the line is not judged for this long after video was first offered, unless
/// the video reached every slot's best layer and stayed there for [`RAMP_FULL_HOLD`]. On busy
/// loopback the ramp to the high layer took 8-10 s with five sites; a line that cannot
/// carry the lowest layers shows its loss or its short estimate soon after.
pub const FIRST_RAMP: Duration = Duration::from_secs(15);
/// How long the video must have been at every slot's best to end the first ramp early. Not
/// at once: for the first second only a source's lowest layer is measured, so the lowest
/// layer *is* the best and the reception reads full before the ramp has begun (seen in the
/// server log of every loopback run).
pub const RAMP_FULL_HOLD: Duration = Duration::from_secs(5);
/// A round trip standing above the link's own counts as evidence only once it has stood this
/// long without a break (three or four stats in a row). On loopback with busy PCs single
/// readings of 166 and 218 ms against a base of 2-30 ms came between normal ones; a queue
/// that a weak line builds stands from report to report.
pub const QUEUE_HOLD: Duration = Duration::from_secs(3);
/// The congestion cap counts as evidence once it has lasted this long: it lives
/// [`crate::downlink::CONGESTION_HOLD`] (3 s) after one proof, and a proof can be one round-trip
/// spike in a second whose receiver report went missing; a cap that outlives it was proven
/// again.
pub const CAP_HOLD: Duration = Duration::from_secs(4);
/// An estimate below what the lowest layers need counts as evidence only once it has stayed
/// there this long: the delay-based estimate also falls when the PCs are busy. Measured on
/// loopback (a perfect line) with four Chromium pages and a build sharing two cores: 84-140
/// kbit/s for over 5 s against 214 kbit/s for the lowest layer and audio. A line that truly
/// cannot carry the lowest layer also loses packets, which counts at once.
pub const SHORT_HOLD: Duration = Duration::from_secs(15);
/// A weak line stays reported this long after its last evidence: the loss of a line with 3%
/// random loss reads under 2% in some one-second intervals, and the mark must not flicker.
pub const EVIDENCE_KEEP: Duration = Duration::from_secs(5);

/// What the link to the subscriber shows at one selection tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evidence {
    /// Share of the packets sent to the subscriber that were lost (latest stats).
    pub loss: f64,
    /// The round trip stands above the link's own ([`crate::downlink::CONGESTED_QUEUE`]).
    pub queue_standing: bool,
    /// The link was proven overfull lately (the congestion cap holds).
    pub capped: bool,
    /// The estimator's bandwidth estimate, bit/s.
    pub estimate_bps: u64,
    /// What every slot offered video needs at its lowest layer, plus audio, bit/s (0: no
    /// video offered).
    pub lowest_bps: u64,
}

/// The reception to report, with its cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reported {
    /// Every slot gets the best its source offers.
    Full,
    /// Less than the sources offer, but not because of the line: the first ramp or the
    /// SFU's own caution. No alarm.
    Held,
    /// Less than the sources offer because of the line.
    Reduced,
    /// Video paused everywhere because of the line.
    AudioOnly,
}

impl Reported {
    /// Its name: `full`, `held`, `reduced` or `audio_only`. On the wire (signaling's
    /// `site_state`) held is `reception: full` with `reduced_by_design: true`, so a client
    /// that knows only the first three raises no alarm for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Reported::Full => "full",
            Reported::Held => "held",
            Reported::Reduced => "reduced",
            Reported::AudioOnly => "audio_only",
        }
    }

    /// Whether less than offered is received, not because of the line.
    pub fn by_design(self) -> bool {
        self == Reported::Held
    }
}

/// What the slots offered video need at their lowest layer and full frame rate, plus
/// `audio_bps`; 0 when no slot is offered video.
pub fn lowest_bps(demands: &[Demand], audio_bps: u64) -> u64 {
    let video: u64 = demands
        .iter()
        .filter_map(|d| {
            Layer::ALL
                .into_iter()
                .filter(|l| *l <= d.max)
                .find_map(|l| d.layer_bps[l.index()])
                .map(|r| r.at(MAX_TEMPORAL))
        })
        .sum();
    if video == 0 {
        0
    } else {
        video + audio_bps
    }
}

/// One subscriber's alarm state: the first ramp and the last evidence of a weak line.
#[derive(Debug, Clone, Default)]
pub struct LineAlarm {
    /// When video was first offered to the subscriber.
    offered_at: Option<Instant>,
    /// The first ramp is over (video held every slot's best, or [`FIRST_RAMP`] passed).
    ramp_over: bool,
    /// Since when every slot has had its best, during the first ramp.
    full_since: Option<Instant>,
    /// Since when the round trip has stood above the link's own.
    queue_since: Option<Instant>,
    /// Since when the congestion cap has held.
    cap_since: Option<Instant>,
    /// Since when the estimate has stayed below what the lowest layers need.
    short_since: Option<Instant>,
    /// When the line last showed evidence of being weak.
    evidence_at: Option<Instant>,
}

impl LineAlarm {
    /// Judges `reception` at `now` with the link's `evidence`.
    pub fn judge(&mut self, reception: Reception, evidence: &Evidence, now: Instant) -> Reported {
        let offered = evidence.lowest_bps > 0;
        if offered && !self.ramp_over {
            let at = *self.offered_at.get_or_insert(now);
            self.full_since =
                (reception == Reception::Full).then(|| self.full_since.unwrap_or(now));
            let held_full = self
                .full_since
                .is_some_and(|t| now.saturating_duration_since(t) >= RAMP_FULL_HOLD);
            self.ramp_over = held_full || now.saturating_duration_since(at) >= FIRST_RAMP;
        }
        self.queue_since = evidence
            .queue_standing
            .then(|| self.queue_since.unwrap_or(now));
        let queue_held = self
            .queue_since
            .is_some_and(|t| now.saturating_duration_since(t) >= QUEUE_HOLD);
        self.cap_since = evidence.capped.then(|| self.cap_since.unwrap_or(now));
        let cap_held = self
            .cap_since
            .is_some_and(|t| now.saturating_duration_since(t) >= CAP_HOLD);
        let short = offered && evidence.estimate_bps < evidence.lowest_bps;
        if !short {
            self.short_since = None;
        } else if self.short_since.is_none() {
            self.short_since = Some(now);
        }
        let held_short = self
            .short_since
            .is_some_and(|t| now.saturating_duration_since(t) >= SHORT_HOLD);
        if evidence.loss >= LINE_LOSS || queue_held || cap_held || held_short {
            self.evidence_at = Some(now);
        }
        let line = self.ramp_over
            && self
                .evidence_at
                .is_some_and(|t| now.saturating_duration_since(t) < EVIDENCE_KEEP);
        match reception {
            Reception::Full => Reported::Full,
            _ if !line => Reported::Held,
            Reception::Reduced => Reported::Reduced,
            Reception::AudioOnly => Reported::AudioOnly,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate::LayerRates;

    fn clean(estimate_bps: u64) -> Evidence {
        Evidence {
            loss: 0.0,
            queue_standing: false,
            capped: false,
            estimate_bps,
            lowest_bps: 214_000,
        }
    }

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    /// An alarm whose first ramp ended at 5 s: full from `t0` on.
    fn past_ramp(t0: Instant) -> LineAlarm {
        let mut a = LineAlarm::default();
        for ms in (0..=5_000).step_by(250) {
            assert_eq!(
                a.judge(Reception::Full, &clean(2_000_000), at(t0, ms)),
                Reported::Full
            );
        }
        a
    }

    #[test]
    fn the_first_ramp_is_never_an_alarm_even_with_loss() {
        let t0 = Instant::now();
        let mut a = LineAlarm::default();
        let lossy = Evidence {
            loss: 0.05,
            ..clean(300_000)
        };
        for ms in (0..15_000).step_by(250) {
            assert_eq!(
                a.judge(Reception::Reduced, &lossy, at(t0, ms)),
                Reported::Held,
                "at {ms} ms"
            );
        }
        assert_eq!(
            a.judge(Reception::Reduced, &lossy, at(t0, 15_000)),
            Reported::Reduced,
            "past the first ramp the loss counts"
        );
    }

    #[test]
    fn full_for_a_moment_at_the_start_does_not_end_the_ramp() {
        let t0 = Instant::now();
        let mut a = LineAlarm::default();
        let lossy = Evidence {
            loss: 0.05,
            ..clean(300_000)
        };
        // Only the lowest layer measured yet: it is the best, the reception reads full.
        a.judge(Reception::Full, &clean(1_500_000), t0);
        assert_eq!(
            a.judge(Reception::Reduced, &lossy, at(t0, 1_000)),
            Reported::Held
        );
        assert_eq!(
            past_ramp(t0).judge(Reception::Reduced, &lossy, at(t0, 5_250)),
            Reported::Reduced,
            "full held for 5 s ends it"
        );
    }

    #[test]
    fn a_clean_line_climbing_after_its_ramp_is_held_not_reduced() {
        let t0 = Instant::now();
        let mut a = past_ramp(t0);
        // A new source: its slot starts low and climbs; the line shows nothing.
        for ms in (5_250..30_000).step_by(250) {
            assert_eq!(
                a.judge(Reception::Reduced, &clean(600_000), at(t0, ms)),
                Reported::Held
            );
        }
    }

    #[test]
    fn loss_marks_the_line_at_once_after_the_ramp() {
        let t0 = Instant::now();
        let lossy = Evidence {
            loss: LINE_LOSS,
            ..clean(1_000_000)
        };
        let mut a = past_ramp(t0);
        assert_eq!(
            a.judge(Reception::Reduced, &lossy, at(t0, 6_000)),
            Reported::Reduced
        );
        assert_eq!(
            a.judge(Reception::AudioOnly, &lossy, at(t0, 6_250)),
            Reported::AudioOnly
        );
        let light = Evidence {
            loss: 0.019,
            ..clean(1_000_000)
        };
        assert_eq!(
            past_ramp(t0).judge(Reception::Reduced, &light, at(t0, 6_000)),
            Reported::Held,
            "loss under the threshold is no evidence"
        );
    }

    #[test]
    fn a_round_trip_spike_is_no_evidence_a_standing_one_is() {
        let t0 = Instant::now();
        let mut a = past_ramp(t0);
        let spike = Evidence {
            queue_standing: true,
            ..clean(1_000_000)
        };
        for ms in (6_000..8_000).step_by(250) {
            assert_eq!(
                a.judge(Reception::Reduced, &spike, at(t0, ms)),
                Reported::Held
            );
        }
        assert_eq!(
            a.judge(Reception::Reduced, &clean(1_000_000), at(t0, 8_000)),
            Reported::Held,
            "back to normal: the hold restarts"
        );
        for ms in (8_250..11_250).step_by(250) {
            assert_eq!(
                a.judge(Reception::Reduced, &spike, at(t0, ms)),
                Reported::Held
            );
        }
        assert_eq!(
            a.judge(Reception::Reduced, &spike, at(t0, 11_250)),
            Reported::Reduced
        );
    }

    #[test]
    fn a_cap_that_outlives_one_proof_marks_the_line() {
        let t0 = Instant::now();
        let mut a = past_ramp(t0);
        let capped = Evidence {
            capped: true,
            ..clean(1_000_000)
        };
        // One proof: the cap lives 3 s and goes.
        for ms in (6_000..9_000).step_by(250) {
            assert_eq!(
                a.judge(Reception::Reduced, &capped, at(t0, ms)),
                Reported::Held
            );
        }
        a.judge(Reception::Reduced, &clean(1_000_000), at(t0, 9_000));
        // Proven again and again: it holds past 4 s.
        for ms in (9_250..13_250).step_by(250) {
            assert_eq!(
                a.judge(Reception::Reduced, &capped, at(t0, ms)),
                Reported::Held
            );
        }
        assert_eq!(
            a.judge(Reception::Reduced, &capped, at(t0, 13_250)),
            Reported::Reduced
        );
    }

    #[test]
    fn an_estimate_below_the_lowest_layers_counts_only_once_held() {
        let t0 = Instant::now();
        let mut a = past_ramp(t0);
        for ms in (6_000..21_000).step_by(250) {
            assert_eq!(
                a.judge(Reception::Reduced, &clean(200_000), at(t0, ms)),
                Reported::Held,
                "at {ms} ms"
            );
        }
        assert_eq!(
            a.judge(Reception::Reduced, &clean(200_000), at(t0, 21_000)),
            Reported::Reduced
        );
        // A dip that recovers restarts the hold.
        let mut b = past_ramp(t0);
        b.judge(Reception::Reduced, &clean(200_000), at(t0, 6_000));
        b.judge(Reception::Reduced, &clean(300_000), at(t0, 15_000));
        assert_eq!(
            b.judge(Reception::Reduced, &clean(200_000), at(t0, 22_000)),
            Reported::Held
        );
    }

    #[test]
    fn the_mark_stays_for_a_while_after_the_last_evidence_then_goes() {
        let t0 = Instant::now();
        let mut a = past_ramp(t0);
        let lossy = Evidence {
            loss: 0.03,
            ..clean(1_000_000)
        };
        assert_eq!(
            a.judge(Reception::Reduced, &lossy, at(t0, 6_000)),
            Reported::Reduced
        );
        assert_eq!(
            a.judge(Reception::Reduced, &clean(1_000_000), at(t0, 10_900)),
            Reported::Reduced,
            "an interval that reads clean does not clear it"
        );
        assert_eq!(
            a.judge(Reception::Reduced, &clean(1_000_000), at(t0, 11_000)),
            Reported::Held
        );
    }

    #[test]
    fn the_ramp_waits_for_video_to_be_offered() {
        let t0 = Instant::now();
        let mut a = LineAlarm::default();
        let none = Evidence {
            lowest_bps: 0,
            ..clean(300_000)
        };
        // Nothing to receive for a minute: reported full, the ramp not started.
        assert_eq!(a.judge(Reception::Full, &none, t0), Reported::Full);
        let lossy = Evidence {
            loss: 0.05,
            ..clean(300_000)
        };
        assert_eq!(
            a.judge(Reception::Reduced, &lossy, at(t0, 60_000)),
            Reported::Held,
            "video just offered: its ramp begins"
        );
    }

    #[test]
    fn lowest_counts_each_offered_slot_at_its_lowest_layer_with_audio() {
        let sim = [
            Some(LayerRates::full(150_000)),
            Some(LayerRates::full(500_000)),
            Some(LayerRates::full(1_500_000)),
        ];
        let tile = Demand {
            priority: 2,
            max: Layer::High,
            layer_bps: sim,
        };
        let only_high = Demand {
            priority: 0,
            max: Layer::High,
            layer_bps: [None, None, Some(LayerRates::full(1_500_000))],
        };
        let idle = Demand {
            priority: 2,
            max: Layer::High,
            layer_bps: [None; 3],
        };
        assert_eq!(
            lowest_bps(&[tile, only_high, idle], 64_000),
            150_000 + 1_500_000 + 64_000
        );
        assert_eq!(lowest_bps(&[idle], 64_000), 0);
    }
}
