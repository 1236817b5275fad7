//! Throttling of keyframe requests (PLI) toward a publisher.
//!
//! Every subscriber that starts or switches a layer needs a keyframe, and browsers send PLI
//! on their own when they lose packets. A publisher that gets a PLI from each of a hundred
//! subscribers would send a hundred keyframes. The throttle lets one request per layer through
//! per interval; the keyframe it produces serves everyone waiting.
//!
//! Pure: time comes in as an argument.

use std::time::{Duration, Instant};

/// Minimum spacing of keyframe requests to one publisher layer.
pub const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(500);

/// Request throttle for one publisher track, per layer (index 0 for unlayered tracks).
#[derive(Debug, Clone, Default)]
pub struct KeyframeThrottle {
    last: [Option<Instant>; 3],
}

impl KeyframeThrottle {
    /// A throttle that has let nothing through.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a request for `layer_index` may go out at `now`; records it when it may.
    pub fn allow(&mut self, layer_index: usize, now: Instant) -> bool {
        let slot = &mut self.last[layer_index.min(2)];
        match *slot {
            Some(t) if now.saturating_duration_since(t) < KEYFRAME_REQUEST_INTERVAL => false,
            _ => {
                *slot = Some(now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_one_request_per_layer_per_interval() {
        let t0 = Instant::now();
        let mut k = KeyframeThrottle::new();
        assert!(k.allow(0, t0));
        assert!(!k.allow(0, t0 + Duration::from_millis(100)));
        assert!(!k.allow(0, t0 + Duration::from_millis(499)));
        assert!(k.allow(0, t0 + Duration::from_millis(500)));
    }

    #[test]
    fn layers_are_throttled_independently() {
        let t0 = Instant::now();
        let mut k = KeyframeThrottle::new();
        assert!(k.allow(0, t0));
        assert!(k.allow(2, t0));
        assert!(!k.allow(2, t0 + Duration::from_millis(10)));
    }

    #[test]
    fn a_hundred_requests_in_a_burst_become_one() {
        let t0 = Instant::now();
        let mut k = KeyframeThrottle::new();
        let passed = (0..100)
            .filter(|i| k.allow(1, t0 + Duration::from_millis(*i)))
            .count();
        assert_eq!(passed, 1);
    }
}
