//! One monotonic clock for the whole load generator, so a timestamp written by one simulated
//! site can be compared with the arrival time at another (both live in this process).

use std::sync::OnceLock;
use std::time::Instant;

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// The instant all [`micros`] values count from (fixed at first use).
pub fn epoch() -> Instant {
    *EPOCH.get_or_init(Instant::now)
}

/// Microseconds since [`epoch`].
pub fn micros() -> u64 {
    epoch().elapsed().as_micros() as u64
}

/// Microseconds since [`epoch`] at `t` (0 for instants before it).
pub fn micros_at(t: Instant) -> u64 {
    t.saturating_duration_since(epoch()).as_micros() as u64
}
