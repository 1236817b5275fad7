//! Layer selection for one subscriber: share its bandwidth estimate among the video slots it
//! receives, by priority, and pick for each slot the best [`Choice`] that fits, or pause it
//! when not even the cheapest does (audio is never selected away: its share is reserved
//! first).
//!
//! A choice is a simulcast layer at one of its frame rates (temporal layers, where the codec
//! gives them). The choices of a slot run in (spatial, temporal) order: q at T0, T1, T2, then
//! h at T1, T2, then f at T1, T2 — bitrate order whenever a layer's reduced frame rate costs
//! more than the layer below at full rate, as with libwebrtc's rate allocation. So a link
//! that cannot carry the lowest layer at full frame rate first gets it at lower frame rates
//! before its video pauses, and a link between two layers gets the higher one at half frame
//! rate. Above the lowest layer no choice goes below half the frame rate: in Chromium, with
//! the fake camera, f at T0 (5 fps) cost about what h cost at its full 20 fps, and a meeting
//! is better served by the smooth picture; a quarter of the frame rate is the last step
//! before pausing only. A layer without temporal layers offers one choice, its full rate. A
//! new slot starts at its lowest layer at full frame rate.
//!
//! Hysteresis, so a subscriber never flaps between layers:
//! - **down fast**: when the current choice has needed more than the estimate for
//!   [`SelectorConfig::down_hold`] (at once when it needs more than twice the estimate or the
//!   link loses packets), the
//!   lowest-priority slots go down first until it fits; the short hold rides out the dips a
//!   delay-based estimate shows when a PC is merely busy;
//! - **pause after a moment, on evidence**: a slot is paused (video off, audio on) only when
//!   not even its cheapest choice has fitted for [`SelectorConfig::pause_hold`] *and* the link
//!   loses at least [`SelectorConfig::pause_min_loss`] of what is sent; the subscriber's last
//!   picture is blanked only when, in addition, the budget stays well short of it
//!   ([`SelectorConfig::pause_fit`]) or the link is proven overfull with it
//!   ([`Selector::set_overfull`]) for that long. A delay-based estimate
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

use crate::id::{Layer, MAX_TEMPORAL};
use crate::rate::LayerRates;

/// What one slot receives: a simulcast layer, forwarded up to a temporal layer.
/// Ordered layer first, then temporal layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Choice {
    /// The simulcast layer.
    pub layer: Layer,
    /// Highest temporal layer forwarded; [`MAX_TEMPORAL`] is the full frame rate.
    pub temporal: u8,
}

impl Choice {
    /// `layer` at its full frame rate.
    pub const fn full(layer: Layer) -> Self {
        Choice {
            layer,
            temporal: MAX_TEMPORAL,
        }
    }
}

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
    /// ... and the budget must be below this share of what the lowest layers cost: a link a
    /// little short of the lowest layer (a conservative estimate, random loss on a 300 kbit/s
    /// line) keeps a picture; one far short of it (60 kbit/s) pauses.
    pub pause_fit: f64,
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
            pause_fit: 0.5,
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
    /// Measured bitrate of each layer the source sends now, at each of its frame rates
    /// (`None`: not sent).
    pub layer_bps: [Option<LayerRates>; 3],
}

impl Demand {
    /// What `choice` costs, bit/s (nothing for none).
    pub fn cost(&self, choice: Option<Choice>) -> u64 {
        choice
            .and_then(|c| self.layer_bps[c.layer.index()].map(|r| r.at(c.temporal)))
            .unwrap_or(0)
    }

    /// Layers this slot may use, lowest first, with their rates.
    fn layers(&self) -> impl Iterator<Item = (Layer, LayerRates)> + '_ {
        Layer::ALL
            .into_iter()
            .filter(move |l| *l <= self.max)
            .filter_map(move |l| Some((l, self.layer_bps[l.index()]?)))
    }

    /// Choices this slot may use, lowest first: every frame rate of the lowest layer, at
    /// least half the frame rate of the others (each temporal layer doubles the rate).
    fn usable(&self) -> impl Iterator<Item = Choice> + '_ {
        let lowest = self.layers().next().map(|(l, _)| l);
        self.layers().flat_map(move |(layer, rates)| {
            rates
                .steps()
                .filter(move |t| Some(layer) == lowest || t + 2 >= rates.temporal_layers())
                .map(move |temporal| Choice { layer, temporal })
        })
    }

    /// Where the slot starts: its lowest layer at full frame rate.
    fn first(&self) -> Option<Choice> {
        self.layers().next().map(|(l, _)| Choice::full(l))
    }

    /// `choice` kept valid for the layers sent now: the same if still usable (the full
    /// frame rate staying the full rate when the layer's temporal layers change), else the
    /// best usable choice below it, else the lowest.
    fn settle(&self, choice: Choice) -> Option<Choice> {
        let choice = match self.layers().find(|(l, _)| *l == choice.layer) {
            Some((_, rates)) if choice.temporal + 1 >= rates.temporal_layers() => {
                Choice::full(choice.layer)
            }
            _ => choice,
        };
        if self.usable().any(|u| u == choice) {
            return Some(choice);
        }
        self.usable()
            .filter(|u| *u <= choice)
            .last()
            .or_else(|| self.usable().next())
    }
}

/// Selector state of one subscriber: the current choice per slot and the pending upgrade.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    config: SelectorConfig,
    current: Vec<Option<Choice>>,
    /// Slots paused for bandwidth (as opposed to slots whose source sends nothing yet).
    paused: Vec<bool>,
    /// Since when some better allocation has fitted without a break.
    up_since: Option<Instant>,
    /// Since when the lowest layers have not fitted without a break.
    over_since: Option<Instant>,
    /// Since when the current choice has overshot the estimate without a break.
    down_since: Option<Instant>,
    /// The link is proven overfull now (loss with a standing queue, see
    /// [`crate::downlink`]): a slot already at its cheapest choice does not fit it.
    overfull: bool,
    /// The pacer's queue towards the subscriber (see [`crate::downlink`]).
    backlog: Backlog,
}

/// The pacer's queue towards a subscriber, as evidence for the selector.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Backlog {
    /// Nothing has waited long.
    #[default]
    Clear,
    /// Something waits: with an estimate the choice does not fit, evidence enough to go
    /// down without the hold (the queue is the cost of waiting).
    Growing,
    /// The queue stands: what is chosen is more than goes out. Down at once, no step up.
    Standing,
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
            overfull: false,
            backlog: Backlog::Clear,
        }
    }

    /// Whether the link is proven overfull now (see the `overfull` field); counts like a
    /// budget far short of the cheapest choice towards pausing the last picture.
    pub fn set_overfull(&mut self, overfull: bool) {
        self.overfull = overfull;
    }

    /// The pacer's queue towards the subscriber now: a growing one is evidence, like loss,
    /// that a choice over the estimate does not fit (down without the hold); a standing one
    /// also means no moment to climb.
    pub fn set_backlog(&mut self, backlog: Backlog) {
        self.backlog = backlog;
    }

    /// Forgets what slot `i` had: its source changed, so it starts again at its lowest layer
    /// at full frame rate (a fast first picture) and climbs from there.
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
    pub fn select(
        &mut self,
        estimate_bps: u64,
        loss: f64,
        demands: &[Demand],
        now: Instant,
    ) -> Vec<Option<Choice>> {
        if self.current.len() != demands.len() {
            // Slots changed: start from the lowest layers, then climb with the usual hold.
            self.current = demands.iter().map(Demand::first).collect();
            self.paused = vec![false; demands.len()];
            self.up_since = None;
        }
        let budget = estimate_bps.saturating_sub(self.config.audio_reserve_bps);
        // Layers may have stopped or started being sent: keep each choice valid, and give a
        // slot whose source just started sending its lowest layer.
        for ((c, d), paused) in self.current.iter_mut().zip(demands).zip(&self.paused) {
            match *c {
                Some(l) => *c = d.settle(l),
                None if !paused => *c = d.first(),
                None => {}
            }
        }
        let cost = |alloc: &[Option<Choice>]| {
            alloc
                .iter()
                .zip(demands)
                .map(|(c, d)| d.cost(*c))
                .sum::<u64>()
        };

        let need = cost(&self.current);
        if need > budget {
            let since = *self.down_since.get_or_insert(now);
            // Loss or a large overshoot is evidence enough: no waiting then.
            let evident = need > budget.saturating_mul(2)
                || loss >= self.config.pause_min_loss
                || self.backlog >= Backlog::Growing;
            // Ride out a dip on the same layers (coming back needs no keyframe), at a lower
            // frame rate where the layer has one that fits: what is sent meanwhile would
            // otherwise queue in the pacer at the full rate. Not remembered: once the dip
            // passes the full rate returns at the next layer sync, no climb. A dip that even
            // the base frame rate does not fit is no dip to ride out: what the hold would
            // queue meanwhile is what the lower layer's keyframe then waits behind. (Without
            // temporal layers nothing can be eased: the hold rides the dip at the full rate.)
            let eased = ease_frame_rate(&self.current, demands, budget);
            let too_deep = eased != self.current && cost(&eased) > budget;
            if !evident && !too_deep && now.saturating_duration_since(since) < self.config.down_hold
            {
                self.up_since = None;
                return eased;
            }
            let mut down = fit_down(&self.current, demands, budget);
            let pauses = down
                .iter()
                .zip(&self.current)
                .any(|(d, c)| d.is_none() && c.is_some());
            if pauses {
                let mut lowest = down.clone();
                for ((l, c), dem) in lowest.iter_mut().zip(&self.current).zip(demands) {
                    if l.is_none() && c.is_some() {
                        *l = dem.usable().next();
                    }
                }
                // The hold counts only while the budget stays far short: a deep dip of the
                // estimate during a loss burst on a usable line does not add up to a pause.
                // Pausing lower-priority tiles to save the rest needs only the loss evidence;
                // blanking the last picture also needs the budget to be far short.
                let last_picture = down.iter().all(Option::is_none);
                let far_short = !last_picture
                    || self.overfull
                    || (budget as f64) < cost(&lowest) as f64 * self.config.pause_fit;
                let since = if far_short {
                    *self.over_since.get_or_insert(now)
                } else {
                    self.over_since = None;
                    now
                };
                let proven = far_short && loss >= self.config.pause_min_loss;
                if !proven || now.saturating_duration_since(since) < self.config.pause_hold {
                    // Not (yet) proven: keep a picture at the cheapest choice.
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
        if self.backlog == Backlog::Standing {
            // What was chosen is still queueing: climbing now would only add to the queue.
            self.up_since = None;
            return self.current.clone();
        }
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
    /// cheapest choice, else the most important slot moving up to the next choice at full
    /// frame rate), with headroom: what the estimator should sustain, padding if need be, to
    /// find out whether the step fits. Probing skips the intermediate frame rates: the
    /// estimate grows no faster than what is sent, and steps of a temporal layer would make
    /// the climb back to a good picture slower than steps of a whole layer.
    pub fn probe_bps(&self, demands: &[Demand]) -> u64 {
        if self.current.len() != demands.len() {
            return 0;
        }
        let cost = |alloc: &[Option<Choice>]| {
            alloc
                .iter()
                .zip(demands)
                .map(|(c, d)| d.cost(*c))
                .sum::<u64>()
        };
        let mut order: Vec<usize> = (0..demands.len()).collect();
        order.sort_by_key(|&i| (demands[i].priority, i));
        let step = order.iter().find_map(|&i| {
            let next = match self.current[i] {
                None => demands[i].usable().next(),
                Some(c) => demands[i]
                    .usable()
                    .find(|u| *u > c && u.temporal == MAX_TEMPORAL),
            }?;
            let mut alloc = self.current.clone();
            alloc[i] = Some(next);
            Some(alloc)
        });
        let target = step.map_or_else(|| cost(&self.current), |a| cost(&a));
        ((target as f64 * self.config.up_headroom) as u64) + self.config.audio_reserve_bps
    }

    /// The video bitrate of the current choices, bit/s (`None` before the first selection
    /// for these slots).
    pub fn video_bps(&self, demands: &[Demand]) -> Option<u64> {
        (self.current.len() == demands.len()).then(|| {
            self.current
                .iter()
                .zip(demands)
                .map(|(c, d)| d.cost(*c))
                .sum()
        })
    }

    /// What the slots receiving video now would cost at their lowest layer and full frame
    /// rate, bit/s.
    pub fn lowest_full_bps(&self, demands: &[Demand]) -> u64 {
        self.current_cost_at(demands, Demand::first)
    }

    /// What the slots being forwarded now cost at their cheapest choice (the lowest layer at
    /// its lowest frame rate), bit/s: the least that keeps every picture.
    pub fn cheapest_bps(&self, demands: &[Demand]) -> u64 {
        self.current_cost_at(demands, |d| d.usable().next())
    }

    /// What the slots receiving video now would cost at the choice `pick` makes for each.
    fn current_cost_at(&self, demands: &[Demand], pick: impl Fn(&Demand) -> Option<Choice>) -> u64 {
        self.current
            .iter()
            .zip(demands)
            .filter(|(c, _)| c.is_some())
            .map(|(_, d)| d.cost(pick(d)))
            .sum()
    }

    /// Bandwidth kept for audio before any video is chosen, bit/s.
    pub fn audio_reserve_bps(&self) -> u64 {
        self.config.audio_reserve_bps
    }

    /// The bitrate the subscriber would use with every slot at its best layer and full frame
    /// rate: what the bandwidth estimator should probe towards.
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
    /// Every slot gets the best layer its source offers (up to what routing wants), at full
    /// frame rate.
    Full,
    /// Some slot gets a lower layer or frame rate than its source offers.
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
pub fn reception(choices: &[Option<Choice>], demands: &[Demand]) -> Reception {
    let offered: Vec<(Option<Choice>, Choice)> = choices
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

/// Lowers `current` until it fits `budget`: the least important slot first, one choice at a
/// time, pausing it below its cheapest.
fn fit_down(current: &[Option<Choice>], demands: &[Demand], budget: u64) -> Vec<Option<Choice>> {
    let mut alloc = current.to_vec();
    let mut order: Vec<usize> = (0..demands.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse((demands[i].priority, i)));
    let total = |a: &[Option<Choice>]| a.iter().zip(demands).map(|(c, d)| d.cost(*c)).sum::<u64>();
    while total(&alloc) > budget {
        let Some(&i) = order.iter().find(|&&i| alloc[i].is_some()) else {
            break;
        };
        alloc[i] = demands[i].usable().filter(|l| Some(*l) < alloc[i]).last();
    }
    alloc
}

/// `current` with frame rates lowered within each slot's layer, least important slot first,
/// until it fits `budget` or every slot forwards its layer's base frame rate.
fn ease_frame_rate(
    current: &[Option<Choice>],
    demands: &[Demand],
    budget: u64,
) -> Vec<Option<Choice>> {
    let mut alloc = current.to_vec();
    let mut order: Vec<usize> = (0..demands.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse((demands[i].priority, i)));
    let total = |a: &[Option<Choice>]| a.iter().zip(demands).map(|(c, d)| d.cost(*c)).sum::<u64>();
    for &i in &order {
        let Some(c) = alloc[i] else { continue };
        let Some(rates) = demands[i].layer_bps[c.layer.index()] else {
            continue;
        };
        for temporal in (0..c.temporal.min(rates.temporal_layers().saturating_sub(1))).rev() {
            if total(&alloc) <= budget {
                return alloc;
            }
            alloc[i] = Some(Choice {
                layer: c.layer,
                temporal,
            });
        }
    }
    alloc
}

/// The best allocation within `budget`: every slot its cheapest choice in priority order
/// while it fits, then upgrades in priority order.
fn fill_up(demands: &[Demand], budget: u64) -> Vec<Option<Choice>> {
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
            // A layer that has just started can measure below the one under it: no extra cost.
            .filter(|l| *l > cur && demands[i].cost(Some(*l)).saturating_sub(have) <= left)
            .last()
        {
            left -= demands[i].cost(Some(up)).saturating_sub(have);
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

    const SIMULCAST: [Option<LayerRates>; 3] = [
        Some(LayerRates::full(150_000)),
        Some(LayerRates::full(500_000)),
        Some(LayerRates::full(1_500_000)),
    ];

    /// `layer` at full frame rate, as `select` returns it.
    fn full(layer: Layer) -> Option<Choice> {
        Some(Choice::full(layer))
    }

    #[test]
    fn an_upper_layer_measured_cheaper_than_the_current_one_is_taken_without_panic() {
        // A publisher's `h` has just come back: its meter reads less than `q` does.
        let d = Demand {
            priority: 0,
            max: Layer::High,
            layer_bps: [
                Some(LayerRates::full(150_000)),
                Some(LayerRates::full(90_000)),
                None,
            ],
        };
        assert_eq!(fill_up(&[d], 200_000), vec![full(Layer::Mid)]);
    }

    fn speaker() -> Demand {
        Demand {
            priority: 0,
            max: Layer::High,
            layer_bps: SIMULCAST,
        }
    }

    fn tile() -> Demand {
        Demand {
            priority: 2,
            max: Layer::Low,
            layer_bps: SIMULCAST,
        }
    }

    fn run(
        s: &mut Selector,
        est: u64,
        d: &[Demand],
        t0: Instant,
        secs: u64,
    ) -> Vec<Option<Choice>> {
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
        assert_eq!(s.select(5_000_000, LOSSY, &d, t0), vec![full(Layer::Low)]);
        assert_eq!(
            s.select(5_000_000, LOSSY, &d, t0 + Duration::from_secs(1)),
            vec![full(Layer::Low)],
            "held"
        );
        assert_eq!(run(&mut s, 5_000_000, &d, t0, 4), vec![full(Layer::High)]);
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
        assert_eq!(
            seen,
            vec![full(Layer::Low), full(Layer::Mid)],
            "one climb, then steady"
        );
    }

    #[test]
    fn drops_at_once_when_the_estimate_falls_and_pauses_video_below_the_lowest_layer() {
        let t0 = Instant::now();
        let mut s = Selector::new(SelectorConfig::default());
        let d = [speaker()];
        run(&mut s, 5_000_000, &d, t0, 5);
        let t1 = t0 + Duration::from_secs(6);
        assert_eq!(
            s.select(300_000, LOSSY, &d, t1),
            vec![full(Layer::Low)],
            "down in one step"
        );
        assert_eq!(
            s.select(60_000, LOSSY, &d, t1),
            vec![full(Layer::Low)],
            "a dip does not blank the picture"
        );
        assert_eq!(
            s.select(60_000, LOSSY, &d, t1 + Duration::from_millis(1000)),
            vec![full(Layer::Low)]
        );
        assert_eq!(
            s.select(60_000, LOSSY, &d, t1 + Duration::from_millis(1600)),
            vec![None],
            "paused: audio keeps its share"
        );
    }

    #[test]
    fn a_short_dip_of_the_estimate_does_not_switch_down_but_a_lasting_one_does() {
        let t0 = Instant::now();
        let mut s = Selector::new(SelectorConfig::default());
        let d = [speaker()];
        run(&mut s, 5_000_000, &d, t0, 5);
        let t1 = t0 + Duration::from_secs(6);
        // 1.3 Mbit/s without loss: high (1.5M) no longer fits, but not by twice.
        assert_eq!(s.select(1_300_000, 0.0, &d, t1), vec![full(Layer::High)]);
        assert_eq!(
            s.select(5_000_000, 0.0, &d, t1 + Duration::from_millis(500)),
            vec![full(Layer::High)],
            "dip over"
        );
        assert_eq!(
            s.select(1_300_000, 0.0, &d, t1 + Duration::from_millis(750)),
            vec![full(Layer::High)]
        );
        assert_eq!(
            s.select(1_300_000, 0.0, &d, t1 + Duration::from_millis(1600)),
            vec![full(Layer::Mid)],
            "lasting: down"
        );
        // With loss there is no waiting.
        run(&mut s, 5_000_000, &d, t1 + Duration::from_secs(2), 5);
        assert_eq!(
            s.select(1_300_000, LOSSY, &d, t1 + Duration::from_secs(8)),
            vec![full(Layer::Mid)]
        );
    }

    #[test]
    fn a_low_estimate_without_loss_keeps_the_lowest_layer() {
        let t0 = Instant::now();
        let mut s = Selector::new(SelectorConfig::default());
        let d = [speaker()];
        for ms in (0..10_000).step_by(250) {
            assert_eq!(
                s.select(60_000, 0.0, &d, t0 + Duration::from_millis(ms)),
                vec![full(Layer::Low)]
            );
        }
        assert_eq!(
            s.select(60_000, LOSSY, &d, t0 + Duration::from_millis(10_250)),
            vec![None],
            "the hold already ran"
        );
    }

    #[test]
    fn a_lossy_link_a_little_short_of_the_lowest_layer_keeps_a_picture() {
        let t0 = Instant::now();
        let mut s = Selector::new(SelectorConfig::default());
        let d = [speaker()];
        // 300 kbit/s line with 3% random loss: str0m's estimate settles around 200 kbit/s,
        // below low + audio (214k) but not far below it.
        let lossy = 0.03;
        for ms in (0..20_000).step_by(250) {
            assert_eq!(
                s.select(200_000, lossy, &d, t0 + Duration::from_millis(ms)),
                vec![full(Layer::Low)],
                "{ms} ms"
            );
        }
        // Far short of it (a 60 kbit/s line) the video pauses after the hold.
        let t1 = t0 + Duration::from_secs(21);
        assert_eq!(s.select(60_000, lossy, &d, t1), vec![full(Layer::Low)]);
        assert_eq!(
            s.select(60_000, lossy, &d, t1 + Duration::from_millis(1600)),
            vec![None]
        );
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
        assert_eq!(last, vec![full(Layer::High)]);
    }

    #[test]
    fn probing_asks_for_the_next_step_up() {
        let t0 = Instant::now();
        let mut s = Selector::new(SelectorConfig::default());
        let d = [speaker(), tile()];
        run(&mut s, 120_000, &d, t0, 3);
        assert_eq!(
            s.select(120_000, LOSSY, &d, t0 + Duration::from_secs(4)),
            vec![None, None]
        );
        // Next step: the speaker back at its lowest layer, with headroom, plus audio.
        assert_eq!(s.probe_bps(&d), (150_000.0 * 1.2) as u64 + 64_000);
    }

    #[test]
    fn recovers_up_after_the_link_comes_back() {
        let t0 = Instant::now();
        let mut s = Selector::new(SelectorConfig::default());
        let d = [speaker()];
        run(&mut s, 60_000, &d, t0, 2);
        assert_eq!(
            s.select(60_000, LOSSY, &d, t0 + Duration::from_secs(3)),
            vec![None]
        );
        assert_eq!(
            s.select(5_000_000, LOSSY, &d, t0 + Duration::from_millis(3100)),
            vec![None],
            "resuming waits for the hold"
        );
        let back = run(&mut s, 5_000_000, &d, t0 + Duration::from_secs(3), 8);
        assert_eq!(back, vec![full(Layer::High)]);
    }

    #[test]
    fn the_speaker_is_served_before_grid_tiles() {
        let t0 = Instant::now();
        let mut s = Selector::new(SelectorConfig::default());
        let d = [tile(), speaker(), tile()];
        // 1.1 Mbit/s: speaker mid (500k) + both tiles low (300k) = 800k, plus 64k audio and 20% headroom.
        let c = run(&mut s, 1_100_000, &d, t0, 6);
        assert_eq!(
            c,
            vec![full(Layer::Low), full(Layer::Mid), full(Layer::Low)]
        );
        // Squeeze: the tiles go first, the speaker keeps its picture.
        s.select(400_000, LOSSY, &d, t0 + Duration::from_secs(7));
        s.select(400_000, LOSSY, &d, t0 + Duration::from_secs(8));
        let c = s.select(400_000, LOSSY, &d, t0 + Duration::from_secs(9));
        assert_eq!(c[1], full(Layer::Low));
        assert!(
            c[1].is_some() && (c[0].is_none() || c[2].is_none()),
            "{c:?}"
        );
    }

    #[test]
    fn a_slot_with_a_new_source_starts_at_once_even_while_others_are_paused() {
        let t0 = Instant::now();
        let mut s = Selector::new(SelectorConfig::default());
        let idle = Demand {
            priority: 2,
            max: Layer::Low,
            layer_bps: [None; 3],
        };
        run(&mut s, 100_000, &[speaker(), idle], t0, 3);
        let t1 = t0 + Duration::from_secs(4);
        assert_eq!(
            s.select(100_000, LOSSY, &[speaker(), idle], t1),
            vec![None, None]
        );
        s.reset_slot(1);
        assert_eq!(
            s.select(5_000_000, LOSSY, &[speaker(), tile()], t1),
            vec![None, full(Layer::Low)]
        );
    }

    #[test]
    fn reception_says_full_reduced_or_audio_only() {
        let idle = Demand {
            priority: 2,
            max: Layer::Low,
            layer_bps: [None; 3],
        };
        let d = [speaker(), tile(), idle];
        assert_eq!(
            reception(&[full(Layer::High), full(Layer::Low), None], &d),
            Reception::Full
        );
        assert_eq!(
            reception(&[full(Layer::Mid), full(Layer::Low), None], &d),
            Reception::Reduced
        );
        assert_eq!(
            reception(&[full(Layer::High), None, None], &d),
            Reception::Reduced
        );
        assert_eq!(reception(&[None, None, None], &d), Reception::AudioOnly);
        assert_eq!(
            reception(&[None], &[idle]),
            Reception::Full,
            "nothing offered is nothing missed"
        );
        let capped = [Demand {
            priority: 0,
            max: Layer::High,
            layer_bps: [Some(LayerRates::full(150_000)), None, None],
        }];
        assert_eq!(
            reception(&[full(Layer::Low)], &capped),
            Reception::Full,
            "the source offers only q"
        );
    }

    #[test]
    fn layers_the_publisher_stopped_sending_are_not_chosen() {
        let t0 = Instant::now();
        let mut s = Selector::new(SelectorConfig::default());
        let d = [Demand {
            priority: 0,
            max: Layer::High,
            layer_bps: [
                Some(LayerRates::full(150_000)),
                Some(LayerRates::full(500_000)),
                None,
            ],
        }];
        assert_eq!(run(&mut s, 10_000_000, &d, t0, 5), vec![full(Layer::Mid)]);
        assert_eq!(s.desired_bps(&d), 564_000);
    }

    /// Chromium-like L1T3 simulcast: cumulative T0, T0+T1, T0+T1+T2 per layer.
    fn temporal_speaker() -> Demand {
        let r = |c: [u64; 3]| LayerRates::cumulative(&c);
        Demand {
            priority: 0,
            max: Layer::High,
            layer_bps: [
                r([60_000, 90_000, 150_000]),
                r([200_000, 300_000, 500_000]),
                r([600_000, 900_000, 1_500_000]),
            ],
        }
    }

    fn at(layer: Layer, temporal: u8) -> Option<Choice> {
        Some(Choice { layer, temporal })
    }

    #[test]
    fn a_link_short_of_the_lowest_layer_drops_its_frame_rate_before_pausing() {
        let t0 = Instant::now();
        let mut s = Selector::new(SelectorConfig::default());
        let d = [temporal_speaker()];
        assert_eq!(run(&mut s, 5_000_000, &d, t0, 5), vec![full(Layer::High)]);
        let t1 = t0 + Duration::from_secs(6);
        // 200 kbit/s: 136k after audio, short of q at 30 fps (150k): q at T0+T1 (90k).
        assert_eq!(
            s.select(200_000, LOSSY, &d, t1),
            vec![at(Layer::Low, 1)],
            "down in one step"
        );
        // 130 kbit/s: 66k, q at T0 only (60k).
        assert_eq!(s.select(130_000, LOSSY, &d, t1), vec![at(Layer::Low, 0)]);
        // 60 kbit/s: nothing fits; the lowest frame rate stays until the pause is proven.
        assert_eq!(s.select(60_000, LOSSY, &d, t1), vec![at(Layer::Low, 0)]);
        assert_eq!(
            s.select(60_000, LOSSY, &d, t1 + Duration::from_millis(1000)),
            vec![at(Layer::Low, 0)]
        );
        assert_eq!(
            s.select(60_000, LOSSY, &d, t1 + Duration::from_millis(1600)),
            vec![None]
        );
    }

    #[test]
    fn between_two_layers_the_higher_one_comes_at_a_lower_frame_rate() {
        let t0 = Instant::now();
        let mut s = Selector::new(SelectorConfig::default());
        let d = [temporal_speaker()];
        assert_eq!(
            s.select(544_000, LOSSY, &d, t0),
            vec![full(Layer::Low)],
            "a new slot starts at full frame rate"
        );
        // 544k: 480k after audio, 400k with headroom: h at T0+T1 (300k), not h at 30 fps (500k).
        assert_eq!(run(&mut s, 544_000, &d, t0, 4), vec![at(Layer::Mid, 1)]);
        assert_eq!(
            reception(
                &s.select(544_000, LOSSY, &d, t0 + Duration::from_secs(5)),
                &d
            ),
            Reception::Reduced
        );
        // The next step up is h at 30 fps.
        assert_eq!(s.probe_bps(&d), (500_000.0 * 1.2) as u64 + 64_000);
    }

    #[test]
    fn a_paused_slot_resumes_at_the_lowest_frame_rate_then_climbs() {
        let t0 = Instant::now();
        let mut s = Selector::new(SelectorConfig::default());
        let d = [temporal_speaker()];
        run(&mut s, 60_000, &d, t0, 3);
        assert_eq!(
            s.select(60_000, LOSSY, &d, t0 + Duration::from_secs(4)),
            vec![None]
        );
        assert_eq!(
            s.probe_bps(&d),
            (60_000.0 * 1.2) as u64 + 64_000,
            "probe for q at T0"
        );
        // 150 kbit/s: 86k after audio, 71k with headroom: q at T0.
        let c = run(&mut s, 150_000, &d, t0 + Duration::from_secs(5), 4);
        assert_eq!(c, vec![at(Layer::Low, 0)]);
        assert_eq!(
            s.probe_bps(&d),
            (150_000.0 * 1.2) as u64 + 64_000,
            "probe for q at full rate, not T1"
        );
        assert_eq!(
            run(&mut s, 5_000_000, &d, t0 + Duration::from_secs(10), 4),
            vec![full(Layer::High)]
        );
    }

    #[test]
    fn streams_without_temporal_layers_only_ever_get_full_frame_rate() {
        let t0 = Instant::now();
        let mut s = Selector::new(SelectorConfig::default());
        let d = [speaker(), tile()];
        for (i, est) in [5_000_000, 700_000, 250_000, 120_000, 60_000, 2_000_000]
            .into_iter()
            .enumerate()
        {
            let c = run(&mut s, est, &d, t0 + Duration::from_secs(10 * i as u64), 9);
            assert!(
                c.iter().flatten().all(|c| c.temporal == MAX_TEMPORAL),
                "{est}: {c:?}"
            );
        }
    }

    #[test]
    fn full_frame_rate_stays_full_when_a_layer_shows_its_temporal_layers() {
        let t0 = Instant::now();
        let mut s = Selector::new(SelectorConfig::default());
        // A layer that just started reads one nominal rate; a second later its three.
        let young = [Demand {
            priority: 0,
            max: Layer::Low,
            layer_bps: [Some(LayerRates::full(150_000)), None, None],
        }];
        assert_eq!(s.select(5_000_000, 0.0, &young, t0), vec![full(Layer::Low)]);
        let measured = [Demand {
            max: Layer::Low,
            ..temporal_speaker()
        }];
        assert_eq!(
            s.select(5_000_000, 0.0, &measured, t0 + Duration::from_secs(1)),
            vec![full(Layer::Low)]
        );
    }

    #[test]
    fn above_the_lowest_layer_the_frame_rate_stays_at_least_half() {
        let t0 = Instant::now();
        let mut s = Selector::new(SelectorConfig::default());
        let d = [temporal_speaker()];
        // 900 kbit/s: 836k after audio, 696k with headroom. f at T0 (600k) would fit; the
        // choice is h at full rate (500k) instead.
        assert_eq!(run(&mut s, 900_000, &d, t0, 4), vec![full(Layer::Mid)]);
        let offered: Vec<Choice> = d[0].usable().collect();
        assert_eq!(
            offered.len(),
            7,
            "q at T0, T1, T2; h and f at T1, T2: {offered:?}"
        );
        // Without q, h is the lowest layer and offers every frame rate.
        let no_q = Demand {
            layer_bps: [None, d[0].layer_bps[1], d[0].layer_bps[2]],
            ..d[0]
        };
        assert_eq!(no_q.usable().next(), at(Layer::Mid, 0));
    }

    #[test]
    fn a_dip_in_the_hold_lowers_the_frame_rate_of_the_same_layer_and_the_full_rate_returns_with_it()
    {
        let t0 = Instant::now();
        let mut s = Selector::new(SelectorConfig::default());
        let d = [temporal_speaker()];
        assert_eq!(run(&mut s, 5_000_000, &d, t0, 5), vec![full(Layer::High)]);
        let t1 = t0 + Duration::from_secs(6);
        // 1.1 Mbit/s without loss (1.036 left for video): high at full rate (1.5M) no longer
        // fits, not by twice. In the hold: high at 900 kbit/s (T0+T1), no keyframe needed.
        assert_eq!(s.select(1_100_000, 0.0, &d, t1), vec![at(Layer::High, 1)]);
        // Deeper (850 kbit/s, still not twice short): the base frame rate of high (600k).
        assert_eq!(
            s.select(850_000, 0.0, &d, t1 + Duration::from_millis(200)),
            vec![at(Layer::High, 0)]
        );
        // The dip passes within the hold: the full rate again, with no climb to wait for.
        assert_eq!(
            s.select(5_000_000, 0.0, &d, t1 + Duration::from_millis(400)),
            vec![full(Layer::High)],
            "dip over"
        );
        // A lasting one goes down after the hold as before (and is remembered: coming back
        // up takes the climb's hold).
        s.select(1_100_000, 0.0, &d, t1 + Duration::from_millis(600));
        assert_eq!(
            s.select(1_100_000, 0.0, &d, t1 + Duration::from_millis(1_500)),
            vec![at(Layer::High, 1)],
            "lasting: down"
        );
        assert_eq!(
            s.select(5_000_000, 0.0, &d, t1 + Duration::from_millis(1_600)),
            vec![at(Layer::High, 1)],
            "remembered"
        );
    }

    #[test]
    fn a_dip_that_even_the_base_frame_rate_does_not_fit_goes_down_without_the_hold() {
        let t0 = Instant::now();
        let mut s = Selector::new(SelectorConfig::default());
        // A high layer whose base frame rate is most of its rate.
        let r = |c: [u64; 3]| LayerRates::cumulative(&c);
        let d = [Demand {
            priority: 0,
            max: Layer::High,
            layer_bps: [
                r([100_000, 120_000, 150_000]),
                r([300_000, 400_000, 500_000]),
                r([900_000, 1_200_000, 1_500_000]),
            ],
        }];
        assert_eq!(run(&mut s, 5_000_000, &d, t0, 5), vec![full(Layer::High)]);
        // 864 kbit/s, no loss: 800 left for video. High (1.5M) is short by less than twice,
        // but its base frame rate (900k) does not fit either: no hold, down at once.
        let c = s.select(864_000, 0.0, &d, t0 + Duration::from_secs(6))[0].unwrap();
        assert!(c.layer < Layer::High, "{c:?}");
    }
}
