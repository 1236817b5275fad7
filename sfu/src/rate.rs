//! Bitrate of a packet stream over a sliding window, for telling the layer selector what
//! each simulcast layer costs right now.
//!
//! Pure: bytes and time come in as arguments. The window is split into buckets so an old
//! burst leaves the figure after one window, without storing every packet.

use std::time::{Duration, Instant};

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
        let (Some(head), Some(first)) = (self.head, self.first) else { return 0 };
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
}
