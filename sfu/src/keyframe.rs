//! Throttling of keyframe requests (PLI) toward a publisher.
//!
//! Every subscriber that starts or switches a layer needs a keyframe, and browsers send PLI
//! on their own when they lose packets. A publisher that gets a PLI from each of a hundred
//! subscribers would send a hundred keyframes. The throttle lets one request per layer through
//! per interval; the keyframe it produces serves everyone waiting.
//!
//! Two intervals, because two kinds of request differ in what a delay costs:
//! - a subscriber's **first picture** (its media just connected, or its slot just got a new
//!   source) shows nothing until the keyframe comes, so it goes out at once unless a request
//!   for that layer went out in the last [`FIRST_PICTURE_WINDOW`]; a burst of joins then
//!   costs one keyframe per window (the keyframe asked for serves all who join before it
//!   arrives), not one per join. One refused in the window is remembered, and the first
//!   repeat after the window lets it out (a waiting subscriber repeats on every packet);
//! - a **repeat** (a layer switch, a browser's own PLI, a subscriber still waiting) goes out
//!   at most once per [`KEYFRAME_REQUEST_INTERVAL`].
//!
//! Before the first kind existed, a subscriber joining within 500 ms of another waited for
//! the 500 ms throttle: join → first picture was ~400 ms p50 against ~90 ms for Janus.
//!
//! Pure: time comes in as an argument.

use std::time::{Duration, Instant};

/// Minimum spacing of repeated keyframe requests to one publisher layer.
pub const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(500);

/// Minimum spacing of keyframe requests to one publisher layer when a subscriber waits for
/// its first picture: short enough that a join is not kept waiting, long enough that a burst
/// of joins is one keyframe per window.
pub const FIRST_PICTURE_WINDOW: Duration = Duration::from_millis(100);

/// Why a keyframe is wanted; decides which spacing applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// A subscriber's first picture from this source (media connected, or a new route).
    FirstPicture,
    /// Anything else: a layer switch, a subscriber's own PLI, a subscriber still waiting.
    Repeat,
}

/// Request throttle for one publisher track, per layer (index 0 for unlayered tracks).
#[derive(Debug, Clone, Default)]
pub struct KeyframeThrottle {
    last: [Option<Instant>; 3],
    /// A first-picture request was refused inside the window and is still owed.
    owed: [bool; 3],
}

impl KeyframeThrottle {
    /// A throttle that has let nothing through.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a request for `layer_index` wanted for `need` may go out at `now`; records
    /// it when it may.
    pub fn allow(&mut self, layer_index: usize, need: Need, now: Instant) -> bool {
        let i = layer_index.min(2);
        let since = self.last[i].map(|t| now.saturating_duration_since(t));
        let spacing = if need == Need::FirstPicture || self.owed[i] {
            FIRST_PICTURE_WINDOW
        } else {
            KEYFRAME_REQUEST_INTERVAL
        };
        if since.is_some_and(|s| s < spacing) {
            if need == Need::FirstPicture {
                self.owed[i] = true;
            }
            return false;
        }
        self.last[i] = Some(now);
        self.owed[i] = false;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn at_most_one_request_per_layer_per_interval() {
        let t0 = Instant::now();
        let mut k = KeyframeThrottle::new();
        assert!(k.allow(0, Need::Repeat, t0));
        assert!(!k.allow(0, Need::Repeat, t0 + ms(100)));
        assert!(!k.allow(0, Need::Repeat, t0 + ms(499)));
        assert!(k.allow(0, Need::Repeat, t0 + ms(500)));
    }

    #[test]
    fn layers_are_throttled_independently() {
        let t0 = Instant::now();
        let mut k = KeyframeThrottle::new();
        assert!(k.allow(0, Need::Repeat, t0));
        assert!(k.allow(2, Need::Repeat, t0));
        assert!(!k.allow(2, Need::Repeat, t0 + ms(10)));
    }

    #[test]
    fn a_hundred_requests_in_a_burst_become_one() {
        let t0 = Instant::now();
        let mut k = KeyframeThrottle::new();
        let passed = (0..100)
            .filter(|i| k.allow(1, Need::Repeat, t0 + ms(*i)))
            .count();
        assert_eq!(passed, 1);
    }

    #[test]
    fn a_first_picture_goes_out_at_once_after_the_short_window_not_the_repeat_interval() {
        let t0 = Instant::now();
        let mut k = KeyframeThrottle::new();
        assert!(k.allow(1, Need::Repeat, t0));
        // 150 ms later a repeat would wait for 500 ms, a new subscriber does not.
        assert!(!k.allow(1, Need::Repeat, t0 + ms(150)));
        assert!(k.allow(1, Need::FirstPicture, t0 + ms(150)));
    }

    #[test]
    fn a_burst_of_joins_is_one_request_per_short_window() {
        let t0 = Instant::now();
        let mut k = KeyframeThrottle::new();
        // 100 joins over one second, one every 10 ms: one request per 100 ms window.
        let passed: Vec<u64> = (0..100)
            .map(|i| i * 10)
            .filter(|t| k.allow(0, Need::FirstPicture, t0 + ms(*t)))
            .collect();
        assert_eq!(passed, vec![0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
    }

    #[test]
    fn a_first_picture_refused_in_the_window_is_owed_to_the_next_repeat_after_it() {
        let t0 = Instant::now();
        let mut k = KeyframeThrottle::new();
        assert!(k.allow(2, Need::FirstPicture, t0));
        assert!(!k.allow(2, Need::FirstPicture, t0 + ms(40)));
        // The waiting subscriber repeats on every packet: held until the window ends...
        assert!(!k.allow(2, Need::Repeat, t0 + ms(99)));
        // ...then let out at once, not 500 ms after the last request.
        assert!(k.allow(2, Need::Repeat, t0 + ms(100)));
        // Paid: repeats are back on the long interval.
        assert!(!k.allow(2, Need::Repeat, t0 + ms(250)));
        assert!(k.allow(2, Need::Repeat, t0 + ms(600)));
    }

    #[test]
    fn an_owed_first_picture_does_not_shorten_another_layers_interval() {
        let t0 = Instant::now();
        let mut k = KeyframeThrottle::new();
        assert!(k.allow(0, Need::FirstPicture, t0));
        assert!(!k.allow(0, Need::FirstPicture, t0 + ms(10)));
        assert!(k.allow(1, Need::Repeat, t0));
        assert!(!k.allow(1, Need::Repeat, t0 + ms(150)));
    }
}
