//! A one-way network path on a virtual clock: random loss, then a bottleneck with a
//! capacity and a tail-drop queue, then a fixed propagation delay.
//!
//! Deterministic: the loss comes from a seeded xorshift generator and time only from the
//! `now` passed in. Packets leave in the order they were sent.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Bytes a datagram costs on the wire beyond its UDP payload (IPv4 and UDP headers).
const WIRE_OVERHEAD: usize = 28;

/// How a link behaves.
#[derive(Debug, Clone, Copy)]
pub struct LinkConfig {
    /// Bottleneck rate, bit/s (`u64::MAX`: no bottleneck).
    pub capacity_bps: u64,
    /// Propagation delay added after the bottleneck.
    pub delay: Duration,
    /// Most bytes the bottleneck queue holds; a datagram that does not fit is dropped.
    pub queue_bytes: usize,
    /// Share of datagrams lost at random before the bottleneck.
    pub loss: f64,
}

impl LinkConfig {
    /// A link of `capacity_bps` with a 20 ms delay, a queue of 250 ms at that rate (at least
    /// 3 kB, two full-size datagrams), and random `loss`.
    pub fn shaped(capacity_bps: u64, loss: f64) -> Self {
        LinkConfig {
            capacity_bps,
            delay: Duration::from_millis(20),
            queue_bytes: ((capacity_bps / 8 / 4) as usize).max(3_000),
            loss,
        }
    }

    /// A link with only a 20 ms delay: no bottleneck, no loss.
    pub fn clear() -> Self {
        LinkConfig {
            capacity_bps: u64::MAX,
            delay: Duration::from_millis(20),
            queue_bytes: usize::MAX,
            loss: 0.0,
        }
    }
}

/// xorshift64*: tiny, seeded, and the same on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a non-zero `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Counters of what a link did.
#[derive(Debug, Clone, Copy, Default)]
pub struct LinkStats {
    /// Datagrams handed to the link.
    pub sent: u64,
    /// Lost at random.
    pub lost: u64,
    /// Dropped because the queue was full.
    pub tail_dropped: u64,
}

/// One direction of the path.
#[derive(Debug)]
pub struct Link<T> {
    config: LinkConfig,
    rng: Rng,
    /// When the bottleneck will have sent everything queued so far.
    busy_until: Instant,
    /// Datagrams on their way, with their arrival time (non-decreasing).
    in_flight: VecDeque<(Instant, T)>,
    /// What the link did so far.
    pub stats: LinkStats,
}

impl<T> Link<T> {
    /// An idle link starting at `now`.
    pub fn new(config: LinkConfig, seed: u64, now: Instant) -> Self {
        Link {
            config,
            rng: Rng::new(seed),
            busy_until: now,
            in_flight: VecDeque::new(),
            stats: LinkStats::default(),
        }
    }

    /// Changes the link's behaviour from now on; what is already queued keeps its timing.
    pub fn set_config(&mut self, config: LinkConfig) {
        self.config = config;
    }

    /// Hands a datagram of `len` payload bytes to the link at `now`.
    pub fn send(&mut self, now: Instant, len: usize, item: T) {
        self.stats.sent += 1;
        if self.config.loss > 0.0 && self.rng.next_f64() < self.config.loss {
            self.stats.lost += 1;
            return;
        }
        let bytes = (len + WIRE_OVERHEAD) as u64;
        let start = self.busy_until.max(now);
        let departure = if self.config.capacity_bps == u64::MAX {
            start
        } else {
            let backlog = self.busy_until.saturating_duration_since(now);
            let queued = (backlog.as_secs_f64() * self.config.capacity_bps as f64 / 8.0) as u64;
            if queued + bytes > self.config.queue_bytes as u64 {
                self.stats.tail_dropped += 1;
                return;
            }
            start + Duration::from_nanos(bytes * 8 * 1_000_000_000 / self.config.capacity_bps)
        };
        self.busy_until = departure;
        self.in_flight
            .push_back((departure + self.config.delay, item));
    }

    /// When the next datagram arrives, if one is on its way.
    pub fn next_arrival(&self) -> Option<Instant> {
        self.in_flight.front().map(|(t, _)| *t)
    }

    /// The next datagram that has arrived by `now`.
    pub fn pop_arrived(&mut self, now: Instant) -> Option<T> {
        if self.next_arrival()? <= now {
            self.in_flight.pop_front().map(|(_, item)| item)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bottleneck_spaces_datagrams_by_their_size_and_adds_the_delay() {
        let t0 = Instant::now();
        // 1 Mbit/s: 1222 + 28 bytes take 10 ms.
        let mut link = Link::new(LinkConfig::shaped(1_000_000, 0.0), 1, t0);
        link.send(t0, 1222, 1);
        link.send(t0, 1222, 2);
        assert_eq!(link.next_arrival(), Some(t0 + Duration::from_millis(30)));
        assert_eq!(link.pop_arrived(t0 + Duration::from_millis(29)), None);
        assert_eq!(link.pop_arrived(t0 + Duration::from_millis(30)), Some(1));
        assert_eq!(link.next_arrival(), Some(t0 + Duration::from_millis(40)));
    }

    #[test]
    fn a_full_queue_drops_the_newcomer() {
        let t0 = Instant::now();
        // 3 kB queue at 96 kbit/s: two 1250-byte datagrams fit, the third does not.
        let mut link = Link::new(LinkConfig::shaped(96_000, 0.0), 1, t0);
        for i in 0..3 {
            link.send(t0, 1222, i);
        }
        assert_eq!(link.stats.tail_dropped, 1);
    }

    #[test]
    fn random_loss_is_close_to_the_configured_share_and_repeatable() {
        let t0 = Instant::now();
        let run = || {
            let mut link = Link::new(
                LinkConfig {
                    loss: 0.03,
                    ..LinkConfig::clear()
                },
                7,
                t0,
            );
            for i in 0..100_000 {
                link.send(t0, 100, i);
            }
            link.stats.lost
        };
        let lost = run();
        assert!((2_700..3_300).contains(&lost), "{lost}");
        assert_eq!(run(), lost);
    }
}
