//! Layer selection for one subscriber: share its bandwidth estimate among the video slots it
//! receives, by priority, and pick for each slot the highest simulcast layer that fits, or
//! pause it when not even the lowest layer does (audio is never selected away: its share is
//! reserved first).
//!
//! Hysteresis, so a subscriber never flaps between layers:
//! - **down fast**: when the current choice has needed more than the estimate for
//!   [`SelectorConfig::down_hold`] (at once when it needs more than twice the estimate or the
//!   link loses packets), the
//!   lowest-priority slots go down first until it fits; the short hold rides out the dips a
//!   delay-based estimate shows when a PC is merely busy;
//! - **pause after a moment, on evidence**: a slot is paused (video off, audio on) only when
//!   not even its lowest layer has fitted for [`SelectorConfig::pause_hold`] *and* the link
//!   loses at least [`SelectorConfig::pause_min_loss`] of what is sent. A delay-based estimate
//!   alone also dips when the receiving PC is busy (an old hall PC decoding a grid); that is no
//!   reason to blank a picture, while a link that truly cannot carry the lowest layer loses
//!   packets;
//! - **up slowly**: a higher choice is taken only after some upgrade has fitted with
//!   [`SelectorConfig::up_headroom`] to spare for [`SelectorConfig::up_hold`] without a break.
//!
//! Recovery needs the estimator to look for capacity the subscriber is not using yet:
//! [`Selector::probe_bps`] is the rate of the next step up, for the estimator to pad towards.
//!
//! Pure: the estimate, the layer bitrates and the time come in as arguments.

use std::time::{Duration, Instant};

use crate::id::Layer;

/// Tuning of the selector.
#[derive(Debug, Clone, Copy)]
pub struct SelectorConfig {
    /// Bandwidth kept for audio before any video is chosen, bit/s.
    pub audio_reserve_bps: u64,
    /// A higher choice must fit with this factor to spare (1.2 = 20% headroom).
    pub up_headroom: f64,
    /// ... continuously for this long before it is taken.
    pub up_hold: Duration,
    /// How long the choice must overshoot the estimate before layers go down.
    pub down_hold: Duration,
    /// How long not even the lowest layer must fit before a slot is paused.
    pub pause_hold: Duration,
    /// Loss (fraction of packets sent to the subscriber) needed before a slot is paused.
    pub pause_min_loss: f64,
}

impl Default for SelectorConfig {
    fn default() -> Self {
        SelectorConfig {
            audio_reserve_bps: 64_000,
            up_headroom: 1.2,
            up_hold: Duration::from_secs(3),
            down_hold: Duration::from_millis(750),
            pause_hold: Duration::from_millis(1500),
            pause_min_loss: 0.02,
        }
    }
}

/// What one video slot could receive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Demand {
    /// Lower is more important: 0 the program speaker, 1 a presentation, 2 a grid tile.
    pub priority: u8,
    /// Highest layer wanted (what the routing asked for).
    pub max: Layer,
    /// Measured bitrate of each layer the source sends now (`None`: not sent), bit/s.
    pub layer_bps: [Option<u64>; 3],
}

impl Demand {
    fn cost(&self, choice: Option<Layer>) -> u64 {
        choice.and_then(|l| self.layer_bps[l.index()]).unwrap_or(0)
    }

    /// Layers this slot may use, lowest first.
    fn usable(&self) -> impl Iterator<Item = Layer> + '_ {
        Layer::ALL
            .into_iter()
            .filter(move |l| *l <= self.max && self.layer_bps[l.index()].is_some())
    }
}

/// Selector state of one subscriber: the current choice per slot and the pending upgrade.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    config: SelectorConfig,
    current: Vec<Option<Layer>>,
    /// Slots paused for bandwidth (as opposed to slots whose source sends nothing yet).
    paused: Vec<bool>,
    /// Since when some better allocation has fitted without a break.
    up_since: Option<Instant>,
    /// Since when the lowest layers have not fitted without a break.
    over_since: Option<Instant>,
    /// Since when the current choice has overshot the estimate without a break.
    down_since: Option<Instant>,
}

impl Selector {
    /// A selector with nothing chosen yet.
    pub fn new(config: SelectorConfig) -> Self {
        Selector {
            config,
            current: Vec::new(),
            paused: Vec::new(),
            up_since: None,
            over_since: None,
            down_since: None,
        }
    }

    /// Forgets what slot `i` had: its source changed, so it starts again at its lowest layer
    /// (a fast first picture) and climbs from there.
    pub fn reset_slot(&mut self, i: usize) {
        if let Some(c) = self.current.get_mut(i) {
            *c = None;
        }
        if let Some(p) = self.paused.get_mut(i) {
            *p = false;
        }
    }

    /// The choice per slot (`None` = paused or nothing to send), for `demands` in slot
    /// order (keep one entry per slot, idle ones with no usable layer), given the
    /// subscriber's estimate `estimate_bps` at `now`.
    /// `loss` is the latest fraction of packets to the subscriber that were lost.
    pub fn select(&mut self, estimate_bps: u64, loss: f64, demands: &[Demand], now: Instant) -> Vec<Option<Layer>> {
        if self.current.len() != demands.len() {
            // Slots changed: start from the lowest layers, then climb with the usual hold.
            self.current = demands.iter().map(|d| d.usable().next()).collect();
            self.paused = vec![false; demands.len()];
            self.up_since = None;
        }
        let budget = estimate_bps.saturating_sub(self.config.audio_reserve_bps);
        // Layers may have stopped or started being sent: keep each choice valid, and give a
        // slot whose source just started sending its lowest layer.
        for ((c, d), paused) in self.current.iter_mut().zip(demands).zip(&self.paused) {
            match *c {
                Some(l) if !d.usable().any(|u| u == l) => {
                    *c = d.usable().filter(|u| *u <= l).last().or_else(|| d.usable().next());
                }
                None if !paused => *c = d.usable().next(),
                _ => {}
            }
        }
        let cost = |alloc: &[Option<Layer>]| alloc.iter().zip(demands).map(|(c, d)| d.cost(*c)).sum::<u64>();

        let need = cost(&self.current);
        if need > budget {
            let since = *self.down_since.get_or_insert(now);
            // Loss or a large overshoot is evidence enough: no waiting then.
            let evident = need > budget.saturating_mul(2) || loss >= self.config.pause_min_loss;
            if !evident && now.saturating_duration_since(since) < self.config.down_hold {
                self.up_since = None;
                return self.current.clone();
            }
            let mut down = fit_down(&self.current, demands, budget);
            let pauses = down.iter().zip(&self.current).any(|(d, c)| d.is_none() && c.is_some());
            if pauses {
                let since = *self.over_since.get_or_insert(now);
                let proven = loss >= self.config.pause_min_loss;
                if !proven || now.saturating_duration_since(since) < self.config.pause_hold {
                    // Not (yet) proven: keep a picture at the lowest layer.
                    for ((d, c), dem) in down.iter_mut().zip(&self.current).zip(demands) {
                        if d.is_none() && c.is_some() {
                            *d = dem.usable().next();
                        }
                    }
                }
            } else {
                self.over_since = None;
            }
            for ((p, d), c) in self.paused.iter_mut().zip(&down).zip(&self.current) {
                if d.is_none() && c.is_some() {
                    *p = true;
                }
            }
            self.current = down;
            self.up_since = None;
            return self.current.clone();
        }
        self.over_since = None;
        self.down_since = None;
        let best = fill_up(demands, (budget as f64 / self.config.up_headroom) as u64);
        if cost(&best) <= cost(&self.current) {
            self.up_since = None;
            return self.current.clone();
        }
        let since = *self.up_since.get_or_insert(now);
        if now.saturating_duration_since(since) >= self.config.up_hold {
            for ((p, b), c) in self.paused.iter_mut().zip(&best).zip(&self.current) {
                if b.is_some() || c.is_some() {
                    *p = false;
                }
            }
            self.current = best;
            self.up_since = None;
        }
        self.current.clone()
    }

    /// The rate of the current choice plus its next step up (a paused slot resuming at its
    /// lowest layer, else the most important slot moving up one layer), with headroom: what
    /// the estimator should sustain, padding if need be, to find out whether the step fits.
    pub fn probe_bps(&self, demands: &[Demand]) -> u64 {
        if self.current.len() != demands.len() {
            return 0;
        }
        let cost = |alloc: &[Option<Layer>]| alloc.iter().zip(demands).map(|(c, d)| d.cost(*c)).sum::<u64>();
        let mut order: Vec<usize> = (0..demands.len()).collect();
        order.sort_by_key(|&i| (demands[i].priority, i));
        let step = order.iter().find_map(|&i| {
            let next = match self.current[i] {
                None => demands[i].usable().next(),
                Some(l) => demands[i].usable().find(|u| *u > l),
            }?;
            let mut alloc = self.current.clone();
            alloc[i] = Some(next);
            Some(alloc)
        });
        let target = step.map_or_else(|| cost(&self.current), |a| cost(&a));
        ((target as f64 * self.config.up_headroom) as u64) + self.config.audio_reserve_bps
    }

    /// The bitrate the subscriber would use with every slot at its best layer: what the
    /// bandwidth estimator should probe towards.
    pub fn desired_bps(&self, demands: &[Demand]) -> u64 {
        self.config.audio_reserve_bps
            + demands
                .iter()
                .map(|d| d.usable().last().map_or(0, |l| d.cost(Some(l))))
                .sum::<u64>()
    }
}

/// What a subscriber's link lets it receive, for telling the chair who is degraded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reception {
    /// Every slot gets the best layer its source offers (up to what routing wants).
    Full,
    /// Some slot gets a lower layer than its source offers.
    Reduced,
    /// Video is paused everywhere: audio only.
    AudioOnly,
}

impl Reception {
    /// The wire name: `full`, `reduced`, `audio_only`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reception::Full => "full",
            Reception::Reduced => "reduced",
            Reception::AudioOnly => "audio_only",
        }
    }
}

/// Classifies `choices` (as returned by [`Selector::select`]) against `demands`. Slots whose
/// source offers no layer do not count; with none left the reception is full.
pub fn reception(choices: &[Option<Layer>], demands: &[Demand]) -> Reception {
    let offered: Vec<(Option<Layer>, Layer)> = choices
        .iter()
        .zip(demands)
        .filter_map(|(c, d)| d.usable().last().map(|best| (*c, best)))
        .collect();
    if offered.is_empty() {
        Reception::Full
    } else if offered.iter().all(|(c, _)| c.is_none()) {
        Reception::AudioOnly
    } else if offered.iter().any(|(c, best)| c.is_none_or(|c| c < *best)) {
        Reception::Reduced
    } else {
        Reception::Full
    }
}

/// Lowers `current` until it fits `budget`: the least important slot first, one layer at a
/// time, pausing it below its lowest layer.
fn fit_down(current: &[Option<Layer>], demands: &[Demand], budget: u64) -> Vec<Option<Layer>> {
    let mut alloc = current.to_vec();
    let mut order: Vec<usize> = (0..demands.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse((demands[i].priority, i)));
    let total = |a: &[Option<Layer>]| a.iter().zip(demands).map(|(c, d)| d.cost(*c)).sum::<u64>();
    while total(&alloc) > budget {
        let Some(&i) = order.iter().find(|&&i| alloc[i].is_some()) else { break };
        alloc[i] = demands[i].usable().filter(|l| Some(*l) < alloc[i]).last();
    }
    alloc
}

/// The best allocation within `budget`: every slot its lowest layer in priority order while
/// it fits, then upgrades in priority order.
fn fill_up(demands: &[Demand], budget: u64) -> Vec<Option<Layer>> {
    let mut order: Vec<usize> = (0..demands.len()).collect();
    order.sort_by_key(|&i| (demands[i].priority, i));
    let mut alloc = vec![None; demands.len()];
    let mut left = budget;
    for &i in &order {
        if let Some(low) = demands[i].usable().next() {
            let c = demands[i].cost(Some(low));
            if c <= left {
                alloc[i] = Some(low);
                left -= c;
            }
        }
    }
    for &i in &order {
        let Some(cur) = alloc[i] else { continue };
        let have = demands[i].cost(Some(cur));
        if let Some(up) = demands[i]
            .usable()
            .filter(|l| *l > cur && demands[i].cost(Some(*l)) - have <= left)
            .last()
        {
            left -= demands[i].cost(Some(up)) - have;
            alloc[i] = Some(up);
        }
    }
    alloc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A link losing packets: the selector may pause.
    const LOSSY: f64 = 0.2;

    const SIMULCAST: [Option<u64>; 3] = [Some(150_000), Some(500_000), Some(1_500_000)];

    fn speaker() -> Demand {
        Demand { priority: 0, max: Layer::High, layer_bps: SIMULCAST }
    }

    fn tile() -> Demand {
        Demand { priority: 2, max: Layer::Low, layer_bps: SIMULCAST }
    }

    fn run(s: &mut Selector, est: u64, d: &[Demand], t0: Instant, secs: u64) -> Vec<Option<Layer>> {
        let mut last = Vec::new();
        for ms in (0..=secs * 1000).step_by(100) {
            last = s.select(est, LOSSY, d, t0 + Duration::from_millis(ms));
        }
        last
    }

    #[test]
    fn climbs_to_the_highest_layer_that_fits_after_the_hold() {
        let t0 = Instant::now();
        let mut s = Selector::new(SelectorConfig::default());
        let d = [speaker()];
        assert_eq!(s.select(5_000_000, LOSSY, &d, t0), vec![Some(Layer::Low)]);
        assert_eq!(s.select(5_000_000, LOSSY, &d, t0 + Duration::from_secs(1)), vec![Some(Layer::Low)], "held");
        assert_eq!(run(&mut s, 5_000_000, &d, t0, 4), vec![Some(Layer::High)]);
    }

    #[test]
    fn steady_estimate_never_flaps() {
        let t0 = Instant::now();
        let mut s = Selector::new(SelectorConfig::default());
        let d = [speaker()];
        // 700 kbit/s: mid fits (500k + 64k audio, with 20% headroom), high never does.
        let mut seen = Vec::new();
        for ms in (0..60_000).step_by(100) {
            let c = s.select(700_000, LOSSY, &d, t0 + Duration::from_millis(ms))[0];
            if seen.last() != Some(&c) {
                seen.push(c);
            }
        }
        assert_eq!(seen, vec![Some(Layer::Low), Some(Layer::Mid)], "one climb, then steady");
    }

    #[test]
    fn drops_at_once_when_the_estimate_falls_and_pauses_video_below_the_lowest_layer() {
        let t0 = Instant::now();
        let mut s = Selector::new(SelectorConfig::default());
        let d = [speaker()];
        run(&mut s, 5_000_000, &d, t0, 5);
        let t1 = t0 + Duration::from_secs(6);
        assert_eq!(s.select(300_000, LOSSY, &d, t1), vec![Some(Layer::Low)], "down in one step");
        assert_eq!(s.select(60_000, LOSSY, &d, t1), vec![Some(Layer::Low)], "a dip does not blank the picture");
        assert_eq!(s.select(60_000, LOSSY, &d, t1 + Duration::from_millis(1000)), vec![Some(Layer::Low)]);
        assert_eq!(s.select(60_000, LOSSY, &d, t1 + Duration::from_millis(1600)), vec![None], "paused: audio keeps its share");
    }

    #[test]
    fn a_short_dip_of_the_estimate_does_not_switch_down_but_a_lasting_one_does() {
        let t0 = Instant::now();
        let mut s = Selector::new(SelectorConfig::default());
        let d = [speaker()];
        run(&mut s, 5_000_000, &d, t0, 5);
        let t1 = t0 + Duration::from_secs(6);
        // 1.3 Mbit/s without loss: high (1.5M) no longer fits, but not by twice.
        assert_eq!(s.select(1_300_000, 0.0, &d, t1), vec![Some(Layer::High)]);
        assert_eq!(s.select(5_000_000, 0.0, &d, t1 + Duration::from_millis(500)), vec![Some(Layer::High)], "dip over");
        assert_eq!(s.select(1_300_000, 0.0, &d, t1 + Duration::from_millis(750)), vec![Some(Layer::High)]);
        assert_eq!(s.select(1_300_000, 0.0, &d, t1 + Duration::from_millis(1600)), vec![Some(Layer::Mid)], "lasting: down");
        // With loss there is no waiting.
        run(&mut s, 5_000_000, &d, t1 + Duration::from_secs(2), 5);
        assert_eq!(s.select(1_300_000, LOSSY, &d, t1 + Duration::from_secs(8)), vec![Some(Layer::Mid)]);
    }

    #[test]
    fn a_low_estimate_without_loss_keeps_the_lowest_layer() {
        let t0 = Instant::now();
        let mut s = Selector::new(SelectorConfig::default());
        let d = [speaker()];
        for ms in (0..10_000).step_by(250) {
            assert_eq!(s.select(60_000, 0.0, &d, t0 + Duration::from_millis(ms)), vec![Some(Layer::Low)]);
        }
        assert_eq!(s.select(60_000, LOSSY, &d, t0 + Duration::from_millis(10_250)), vec![None], "the hold already ran");
    }

    #[test]
    fn an_estimate_that_keeps_moving_still_lets_the_choice_climb() {
        let t0 = Instant::now();
        let mut s = Selector::new(SelectorConfig::default());
        let d = [speaker()];
        let mut last = Vec::new();
        for i in 0..80u64 {
            // Wobbles between 2.0 and 2.6 Mbit/s: high always fits, the best changes never.
            let est = if i % 2 == 0 { 2_000_000 } else { 2_600_000 };
            last = s.select(est, LOSSY, &d, t0 + Duration::from_millis(i * 100));
        }
        assert_eq!(last, vec![Some(Layer::High)]);
    }

    #[test]
    fn probing_asks_for_the_next_step_up() {
        let t0 = Instant::now();
        let mut s = Selector::new(SelectorConfig::default());
        let d = [speaker(), tile()];
        run(&mut s, 120_000, &d, t0, 3);
        assert_eq!(s.select(120_000, LOSSY, &d, t0 + Duration::from_secs(4)), vec![None, None]);
        // Next step: the speaker back at its lowest layer, with headroom, plus audio.
        assert_eq!(s.probe_bps(&d), (150_000.0 * 1.2) as u64 + 64_000);
    }

    #[test]
    fn recovers_up_after_the_link_comes_back() {
        let t0 = Instant::now();
        let mut s = Selector::new(SelectorConfig::default());
        let d = [speaker()];
        run(&mut s, 60_000, &d, t0, 2);
        assert_eq!(s.select(60_000, LOSSY, &d, t0 + Duration::from_secs(3)), vec![None]);
        assert_eq!(s.select(5_000_000, LOSSY, &d, t0 + Duration::from_millis(3100)), vec![None], "resuming waits for the hold");
        let back = run(&mut s, 5_000_000, &d, t0 + Duration::from_secs(3), 8);
        assert_eq!(back, vec![Some(Layer::High)]);
    }

    #[test]
    fn the_speaker_is_served_before_grid_tiles() {
        let t0 = Instant::now();
        let mut s = Selector::new(SelectorConfig::default());
        let d = [tile(), speaker(), tile()];
        // 1.1 Mbit/s: speaker mid (500k) + both tiles low (300k) = 800k, plus 64k audio and 20% headroom.
        let c = run(&mut s, 1_100_000, &d, t0, 6);
        assert_eq!(c, vec![Some(Layer::Low), Some(Layer::Mid), Some(Layer::Low)]);
        // Squeeze: the tiles go first, the speaker keeps its picture.
        s.select(400_000, LOSSY, &d, t0 + Duration::from_secs(7));
        s.select(400_000, LOSSY, &d, t0 + Duration::from_secs(8));
        let c = s.select(400_000, LOSSY, &d, t0 + Duration::from_secs(9));
        assert_eq!(c[1], Some(Layer::Low));
        assert!(c[1].is_some() && (c[0].is_none() || c[2].is_none()), "{c:?}");
    }

    #[test]
    fn a_slot_with_a_new_source_starts_at_once_even_while_others_are_paused() {
        let t0 = Instant::now();
        let mut s = Selector::new(SelectorConfig::default());
        let idle = Demand { priority: 2, max: Layer::Low, layer_bps: [None; 3] };
        run(&mut s, 100_000, &[speaker(), idle], t0, 3);
        let t1 = t0 + Duration::from_secs(4);
        assert_eq!(s.select(100_000, LOSSY, &[speaker(), idle], t1), vec![None, None]);
        s.reset_slot(1);
        assert_eq!(s.select(5_000_000, LOSSY, &[speaker(), tile()], t1), vec![None, Some(Layer::Low)]);
    }

    #[test]
    fn reception_says_full_reduced_or_audio_only() {
        let idle = Demand { priority: 2, max: Layer::Low, layer_bps: [None; 3] };
        let d = [speaker(), tile(), idle];
        assert_eq!(reception(&[Some(Layer::High), Some(Layer::Low), None], &d), Reception::Full);
        assert_eq!(reception(&[Some(Layer::Mid), Some(Layer::Low), None], &d), Reception::Reduced);
        assert_eq!(reception(&[Some(Layer::High), None, None], &d), Reception::Reduced);
        assert_eq!(reception(&[None, None, None], &d), Reception::AudioOnly);
        assert_eq!(reception(&[None], &[idle]), Reception::Full, "nothing offered is nothing missed");
        let capped = [Demand { priority: 0, max: Layer::High, layer_bps: [Some(150_000), None, None] }];
        assert_eq!(reception(&[Some(Layer::Low)], &capped), Reception::Full, "the source offers only q");
    }

    #[test]
    fn layers_the_publisher_stopped_sending_are_not_chosen() {
        let t0 = Instant::now();
        let mut s = Selector::new(SelectorConfig::default());
        let d = [Demand { priority: 0, max: Layer::High, layer_bps: [Some(150_000), Some(500_000), None] }];
        assert_eq!(run(&mut s, 10_000_000, &d, t0, 5), vec![Some(Layer::Mid)]);
        assert_eq!(s.desired_bps(&d), 564_000);
    }
}
