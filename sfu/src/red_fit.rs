//! Whether a subscriber's line carries Opus RED, or gets the plain Opus inside it (the
//! primary block, [`crate::red::primary`]).
//!
//! Why: RED sends every Opus frame twice, so on a line that has room it turns a lost packet
//! into no lost audio; on a line that has not (a commune's 60 kbit/s), the second copy is what
//! overflows the line's queue, and the queue then drops far more audio than the line itself
//! (measured: 42-45% of the chair's audio packets lost with RED at 60 kbit/s + 3% loss, against
//! 19-24% without; `load-tests/RESULTS.md`, issue 18). So RED goes to a subscriber only while
//! its bandwidth estimate covers RED's cost with room to spare.
//!
//! The cost is taken from what the subscriber's audio sources send (their RED payloads, as
//! the SFU measures them, headers not included): [`WIRE_FACTOR`] turns payload into what the
//! line carries (RTP header and extensions, SRTP tag, UDP/IP, and RTCP beside), and
//! [`MARGIN_BPS`] is room for str0m's padding and the subscriber's feedback. Once off, RED
//! comes back only above the cost by [`BACK_ON`], so an estimate that wavers around the
//! threshold does not flip the format every tick.
//!
//! Pure: rates in, a verdict out.

/// Payload bit/s to line bit/s: at 60 ms packets Opus in RED carries ~25% of headers, at 20 ms
/// ~50%; the larger share is assumed, as a client may answer another ptime.
pub const WIRE_FACTOR: (u64, u64) = (3, 2);

/// Room on top of RED's cost, bit/s: str0m's padding and probes are kept under the estimate,
/// and the subscriber's own RTCP rides the same line.
pub const MARGIN_BPS: u64 = 20_000;

/// How far above the cost the estimate must be for RED to come back once off (×5/4).
pub const BACK_ON: (u64, u64) = (5, 4);

/// What RED to a subscriber costs its line, bit/s, when its RED sources send
/// `red_payload_bps` of payload.
pub fn cost_bps(red_payload_bps: u64) -> u64 {
    red_payload_bps.saturating_mul(WIRE_FACTOR.0) / WIRE_FACTOR.1 + MARGIN_BPS
}

/// Whether a subscriber gets RED now: `on` is what it got so far, `estimate_bps` its line's
/// bandwidth estimate, `red_payload_bps` what its RED sources send now (0: none is sending,
/// then nothing changes).
pub fn keep_red(on: bool, estimate_bps: u64, red_payload_bps: u64) -> bool {
    if red_payload_bps == 0 {
        return on;
    }
    let cost = cost_bps(red_payload_bps);
    if on {
        estimate_bps >= cost
    } else {
        estimate_bps.saturating_mul(BACK_ON.1) >= cost.saturating_mul(BACK_ON.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chair's Opus in RED at 24 kbit/s: ~48 kbit/s of RED payload.
    const CHAIR_RED: u64 = 48_000;

    #[test]
    fn a_starved_line_gets_plain_opus_and_a_healthy_one_keeps_red() {
        // 60 kbit/s line: the estimate sits near it, under RED's ~92 kbit/s.
        assert_eq!(cost_bps(CHAIR_RED), 92_000);
        assert!(!keep_red(true, 60_000, CHAIR_RED));
        // 300 kbit/s line, or a good one.
        assert!(keep_red(true, 280_000, CHAIR_RED));
        assert!(keep_red(true, 1_500_000, CHAIR_RED));
        // Just at the cost: kept.
        assert!(keep_red(true, 92_000, CHAIR_RED));
    }

    #[test]
    fn red_comes_back_only_clear_of_the_threshold() {
        assert!(
            !keep_red(false, 92_000, CHAIR_RED),
            "at the cost: stays off"
        );
        assert!(!keep_red(false, 114_999, CHAIR_RED));
        assert!(
            keep_red(false, 115_000, CHAIR_RED),
            "5/4 of the cost: back on"
        );
    }

    #[test]
    fn nothing_measured_changes_nothing() {
        assert!(keep_red(true, 10_000, 0));
        assert!(!keep_red(false, 10_000_000, 0));
    }

    #[test]
    fn a_louder_source_needs_a_wider_line() {
        // Chromium's default 32 kbit/s Opus in RED: 64 kbit/s of payload.
        assert!(keep_red(true, 100_000, CHAIR_RED));
        assert!(!keep_red(true, 100_000, 64_000));
        assert_eq!(cost_bps(u64::MAX), u64::MAX / 2 + MARGIN_BPS);
    }
}
