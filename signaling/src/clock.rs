//! The time the join-rate limiter reads.
//!
//! A token bucket's verdict depends on how much time passed between joins, so a test that
//! reads the wall clock can be served or refused depending on how fast the machine ran the
//! joins. The limiter reads this clock instead: it follows `Instant::now()` unless a test
//! froze it, after which it moves only when the test advances it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The wall clock, or a frozen instant that only [`Clock::advance`] moves.
#[derive(Debug, Default)]
pub struct Clock {
    frozen: Mutex<Option<Instant>>,
}

impl Clock {
    /// The current instant: the wall clock's, or the frozen one.
    pub fn now(&self) -> Instant {
        let frozen = self.frozen.lock().unwrap_or_else(|e| e.into_inner());
        frozen.unwrap_or_else(Instant::now)
    }

    /// Stops the clock at the present instant (tests only: the service never freezes it).
    pub fn freeze(&self) {
        let mut frozen = self.frozen.lock().unwrap_or_else(|e| e.into_inner());
        frozen.get_or_insert_with(Instant::now);
    }

    /// Moves a frozen clock forward by `by`; a running clock is left as it is.
    pub fn advance(&self, by: Duration) {
        let mut frozen = self.frozen.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = frozen.as_mut() {
            *at += by;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frozen_clock_moves_only_when_advanced() {
        let clock = Clock::default();
        clock.freeze();
        let t0 = clock.now();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(clock.now(), t0);
        clock.advance(Duration::from_secs(1));
        assert_eq!(clock.now(), t0 + Duration::from_secs(1));
    }
}
