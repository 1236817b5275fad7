//! Bitrate of a packet stream over a sliding window, for telling the layer selector what
//! each simulcast layer costs right now, at each of its frame rates (temporal layers).
//!
//! Pure: bytes and time come in as arguments. The window is split into buckets so an old
//! burst leaves the figure after one window, without storing every packet.

use std::time::{Duration, Instant};

use crate::id::MAX_TEMPORAL;

/// Temporal layers told apart: T0, T1, T2 (a higher TID counts as T2).
const TEMPORAL: usize = MAX_TEMPORAL as usize + 1;

/// What one simulcast layer costs at each frame rate it offers, bit/s: the cumulative rates
/// of its temporal layers (T0, T0+T1, T0+T1+T2). A layer without temporal layers (H.264, VP8
/// without TID) offers one rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerRates {
    cumulative: [u64; TEMPORAL],
    /// How many temporal layers the layer has (1 to 3).
    count: u8,
}

impl LayerRates {
    /// A layer with one frame rate costing `bps`.
    pub const fn full(bps: u64) -> Self {
        LayerRates {
            cumulative: [bps; TEMPORAL],
            count: 1,
        }
    }

    /// A layer with temporal layers, from its cumulative rates lowest first (T0, T0+T1,
    /// ...; one to three of them, extra ones ignored). `None` for an empty slice.
    pub fn cumulative(rates: &[u64]) -> Option<Self> {
        let count = rates.len().min(TEMPORAL);
        let last = *rates.get(count.checked_sub(1)?)?;
        let mut cumulative = [last; TEMPORAL];
        cumulative[..count].copy_from_slice(&rates[..count]);
        Some(LayerRates {
            cumulative,
            count: count as u8,
        })
    }

    /// The rate when forwarding temporal layers up to `temporal` (every one from the
    /// layer's highest on).
    pub fn at(self, temporal: u8) -> u64 {
        self.cumulative[usize::from(temporal.min(self.count - 1))]
    }

    /// The rate at the full frame rate.
    pub fn full_bps(self) -> u64 {
        self.cumulative[usize::from(self.count - 1)]
    }

    /// How many temporal layers the layer has.
    pub fn temporal_layers(self) -> u8 {
        self.count
    }

    /// The temporal choices this layer offers, lowest frame rate first: each of its temporal
    /// layers below the highest, then [`MAX_TEMPORAL`] for the full frame rate (so a choice
    /// of the full rate stays the full rate when the layer count changes).
    pub fn steps(self) -> impl Iterator<Item = u8> {
        (0..self.count - 1).chain(std::iter::once(MAX_TEMPORAL))
    }
}

impl From<u64> for LayerRates {
    fn from(bps: u64) -> Self {
        LayerRates::full(bps)
    }
}

/// Rate of one simulcast layer, metered per temporal layer.
#[derive(Debug, Clone, Default)]
pub struct LayerMeter {
    per_temporal: [RateMeter; TEMPORAL],
}

impl LayerMeter {
    /// Counts `bytes` of a packet of temporal layer `tid` (`None`: the stream has none)
    /// arriving at `now`.
    pub fn add(&mut self, tid: Option<u8>, bytes: usize, now: Instant) {
        let i = usize::from(tid.unwrap_or(0).min(MAX_TEMPORAL));
        self.per_temporal[i].add(bytes, now);
    }

    /// What the layer costs over the window ending at `now`; `None` when nothing came. Its
    /// temporal layers are those up to the highest that sent anything in the window.
    pub fn rates(&mut self, now: Instant) -> Option<LayerRates> {
        let mut per = [0u64; TEMPORAL];
        for (bps, meter) in per.iter_mut().zip(&mut self.per_temporal) {
            *bps = meter.bps(now);
        }
        let count = per.iter().rposition(|b| *b > 0)? + 1;
        let mut sum = 0;
        let mut cumulative = [0u64; TEMPORAL];
        for (c, bps) in cumulative.iter_mut().zip(per).take(count) {
            sum += bps;
            *c = sum;
        }
        LayerRates::cumulative(&cumulative[..count])
    }
}

const BUCKETS: usize = 4;

/// Rate meter over the last [`RateMeter::WINDOW`].
#[derive(Debug, Clone, Default)]
pub struct RateMeter {
    bytes: [u64; BUCKETS],
    /// Start of the newest bucket.
    head: Option<Instant>,
    /// First byte ever counted, so a young stream is not averaged over time it did not exist.
    first: Option<Instant>,
    idx: usize,
}

impl RateMeter {
    /// Length of the window (at most one bucket more).
    pub const WINDOW: Duration = Duration::from_millis(1000);
    const BUCKET: Duration = Duration::from_millis(250);

    /// Counts `bytes` arriving at `now`.
    pub fn add(&mut self, bytes: usize, now: Instant) {
        self.first.get_or_insert(now);
        self.roll(now);
        self.bytes[self.idx] += bytes as u64;
    }

    /// Bits per second over the window ending at `now`.
    pub fn bps(&mut self, now: Instant) -> u64 {
        self.roll(now);
        let (Some(head), Some(first)) = (self.head, self.first) else {
            return 0;
        };
        // The older buckets are full; the newest one has run for `now - head`.
        let span = (Self::BUCKET * (BUCKETS as u32 - 1) + now.saturating_duration_since(head))
            .min(now.saturating_duration_since(first))
            .max(Self::BUCKET);
        self.bytes.iter().sum::<u64>() * 8 * 1_000_000 / span.as_micros() as u64
    }

    fn roll(&mut self, now: Instant) {
        let Some(head) = self.head else {
            self.head = Some(now);
            return;
        };
        let elapsed = now.saturating_duration_since(head);
        let steps = (elapsed.as_millis() / Self::BUCKET.as_millis()) as usize;
        if steps == 0 {
            return;
        }
        for _ in 0..steps.min(BUCKETS) {
            self.idx = (self.idx + 1) % BUCKETS;
            self.bytes[self.idx] = 0;
        }
        self.head = Some(head + Self::BUCKET * steps as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_stream_reads_its_rate() {
        let t0 = Instant::now();
        let mut m = RateMeter::default();
        // 50 packets/s of 1250 bytes = 500 kbit/s, for 3 s.
        for i in 0..150u64 {
            m.add(1250, t0 + Duration::from_millis(i * 20));
        }
        let bps = m.bps(t0 + Duration::from_millis(3000));
        assert!((450_000..=550_000).contains(&bps), "{bps}");
    }

    #[test]
    fn a_stopped_stream_reads_zero_after_a_window() {
        let t0 = Instant::now();
        let mut m = RateMeter::default();
        m.add(10_000, t0);
        assert!(m.bps(t0 + Duration::from_millis(100)) > 0);
        assert_eq!(m.bps(t0 + Duration::from_millis(1300)), 0);
        assert_eq!(m.bps(t0 + Duration::from_secs(3600)), 0);
    }

    #[test]
    fn a_layer_is_metered_per_temporal_layer_and_read_cumulatively() {
        let t0 = Instant::now();
        let mut m = LayerMeter::default();
        // 30 frames/s in the L1T3 pattern 0 2 1 2: T0 frames of 1000 bytes, T1 of 500, T2 of 250.
        for f in 0..90u64 {
            let tid = [0u8, 2, 1, 2][(f % 4) as usize];
            let bytes = [1000, 500, 250][usize::from(tid)];
            m.add(Some(tid), bytes, t0 + Duration::from_millis(f * 1000 / 30));
        }
        let r = m.rates(t0 + Duration::from_millis(3000)).unwrap();
        assert_eq!(r.temporal_layers(), 3);
        let (t0_bps, t1_bps, full) = (r.at(0), r.at(1), r.at(2));
        // 7.5 T0 frames/s of 8000 bits = 60k; plus 7.5 T1 frames of 4000 bits = 90k; plus 15 T2 of 2000 bits = 120k.
        assert!((54_000..=66_000).contains(&t0_bps), "{t0_bps}");
        assert!((81_000..=99_000).contains(&t1_bps), "{t1_bps}");
        assert!((108_000..=132_000).contains(&full), "{full}");
        assert_eq!(r.full_bps(), full);
        assert_eq!(r.steps().collect::<Vec<_>>(), [0, 1, 2]);
    }

    #[test]
    fn a_layer_without_temporal_layers_has_one_rate() {
        let t0 = Instant::now();
        let mut m = LayerMeter::default();
        assert_eq!(m.rates(t0), None);
        for i in 0..50u64 {
            m.add(None, 1250, t0 + Duration::from_millis(i * 20));
        }
        let r = m.rates(t0 + Duration::from_millis(1000)).unwrap();
        assert_eq!(r.temporal_layers(), 1);
        assert_eq!(
            r.steps().collect::<Vec<_>>(),
            [MAX_TEMPORAL],
            "one choice: the full rate"
        );
        assert_eq!(r.at(0), r.full_bps());
    }

    #[test]
    fn two_temporal_layers_offer_t0_and_the_full_rate() {
        let r = LayerRates::cumulative(&[100, 300]).unwrap();
        assert_eq!(r.steps().collect::<Vec<_>>(), [0, MAX_TEMPORAL]);
        assert_eq!((r.at(0), r.at(1), r.at(MAX_TEMPORAL)), (100, 300, 300));
        assert_eq!(LayerRates::cumulative(&[]), None);
        assert_eq!(LayerRates::from(5), LayerRates::full(5));
    }
}
