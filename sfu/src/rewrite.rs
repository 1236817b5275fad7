//! Sequence number and timestamp rewriting for one outgoing stream (one receive slot).
//!
//! A subscriber sees one continuous RTP stream per slot even when the slot's source changes
//! (another site takes the floor) or the simulcast layer changes (each layer has its own
//! sequence and timestamp space). The rewriter keeps, per *segment* (a run of packets from one
//! source layer), an offset for the extended sequence number and one for the 32-bit timestamp.
//!
//! Invariants:
//! - Output sequence numbers never repeat across segments: a new segment starts right after
//!   the highest number already sent.
//! - Output timestamps move forward across a switch by the wall-clock time that passed, so
//!   the receiver's jitter buffer sees a plausible pause, never a jump back.
//! - Packets older than the first packet of the current segment are refused: they belong to
//!   the part of the source we did not forward.
//!
//! Pure: time comes in as an argument.

use std::time::Instant;

/// First outgoing sequence number. Below 2^16 so the receiver's SRTP rollover counter starts
/// at zero, as it assumes.
const FIRST_SEQ: u64 = 1000;

/// Rewrite state for one outgoing stream.
#[derive(Debug, Clone, Default)]
pub struct Rewriter {
    /// Added (wrapping) to an incoming extended sequence number to get the outgoing one.
    seq_offset: u64,
    /// Added (wrapping) to an incoming timestamp to get the outgoing one.
    ts_offset: u32,
    /// First incoming extended sequence number of the current segment.
    segment_start: u64,
    /// Highest outgoing extended sequence number so far, if any packet went out.
    max_out_seq: Option<u64>,
    /// Timestamp and send time of the packet with `max_out_seq`, to carry time over a switch.
    last_out: Option<(u32, Instant)>,
    /// Whether a segment is open.
    in_segment: bool,
}

/// Where an outgoing packet lands after rewriting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewritten {
    /// Extended outgoing sequence number.
    pub seq: u64,
    /// Outgoing RTP timestamp.
    pub ts: u32,
}

impl Rewriter {
    /// A rewriter that has sent nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a segment is open (a source layer is being forwarded).
    pub fn in_segment(&self) -> bool {
        self.in_segment
    }

    /// Closes the current segment: the next packet must come through [`Rewriter::start`].
    pub fn end_segment(&mut self) {
        self.in_segment = false;
    }

    /// Starts a new segment whose first packet has extended sequence number `seq` and
    /// timestamp `ts`, arriving at `now`, on a clock of `clock_rate` Hz. Returns where that
    /// packet goes out.
    pub fn start(&mut self, seq: u64, ts: u32, clock_rate: u32, now: Instant) -> Rewritten {
        let out_seq = self.max_out_seq.map_or(FIRST_SEQ, |m| m + 1);
        let out_ts = match self.last_out {
            None => ts,
            Some((last_ts, last_at)) => {
                let elapsed = now.saturating_duration_since(last_at);
                let ticks = (elapsed.as_secs_f64() * clock_rate as f64) as u64;
                // At least one tick: two frames must never share a timestamp.
                last_ts.wrapping_add(ticks.clamp(1, u32::MAX as u64 / 2) as u32)
            }
        };
        self.seq_offset = out_seq.wrapping_sub(seq);
        self.ts_offset = out_ts.wrapping_sub(ts);
        self.segment_start = seq;
        self.in_segment = true;
        self.note_sent(out_seq, out_ts, now);
        Rewritten {
            seq: out_seq,
            ts: out_ts,
        }
    }

    /// Rewrites a packet of the open segment. `None` when no segment is open or the packet
    /// is older than the segment's first packet.
    pub fn rewrite(&mut self, seq: u64, ts: u32, now: Instant) -> Option<Rewritten> {
        if !self.in_segment || seq < self.segment_start {
            return None;
        }
        let out = Rewritten {
            seq: seq.wrapping_add(self.seq_offset),
            ts: ts.wrapping_add(self.ts_offset),
        };
        self.note_sent(out.seq, out.ts, now);
        Some(out)
    }

    fn note_sent(&mut self, seq: u64, ts: u32, now: Instant) {
        if self.max_out_seq.is_none_or(|m| seq > m) {
            self.max_out_seq = Some(seq);
            self.last_out = Some((ts, now));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn first_segment_starts_below_rollover_and_keeps_spacing() {
        let t0 = Instant::now();
        let mut r = Rewriter::new();
        let first = r.start(70_000, 5_000, 90_000, t0);
        assert_eq!(first.seq, FIRST_SEQ);
        assert_eq!(first.ts, 5_000);
        let next = r.rewrite(70_001, 8_000, t0).unwrap();
        assert_eq!(next, Rewritten { seq: FIRST_SEQ + 1, ts: 8_000 });
        // Loss upstream keeps its gap so the receiver can NACK it.
        let after_gap = r.rewrite(70_005, 8_000, t0).unwrap();
        assert_eq!(after_gap.seq, FIRST_SEQ + 5);
    }

    #[test]
    fn sequence_and_timestamp_continue_across_a_source_switch() {
        let t0 = Instant::now();
        let mut r = Rewriter::new();
        r.start(100, 1_000, 90_000, t0);
        for i in 1..10u64 {
            r.rewrite(100 + i, 1_000 + 3_000 * i as u32, t0).unwrap();
        }
        // New source: unrelated sequence and timestamp space, 100 ms later.
        let t1 = t0 + Duration::from_millis(100);
        let switched = r.start(50_000, 4_000_000_000, 90_000, t1);
        assert_eq!(switched.seq, FIRST_SEQ + 10);
        assert_eq!(switched.ts, 1_000 + 3_000 * 9 + 9_000);
        let next = r.rewrite(50_001, 4_000_003_000, t1).unwrap();
        assert_eq!(next.seq, FIRST_SEQ + 11);
        assert_eq!(next.ts, switched.ts + 3_000);
    }

    #[test]
    fn timestamp_wraps_around_without_breaking_continuity() {
        let t0 = Instant::now();
        let mut r = Rewriter::new();
        let a = r.start(10, u32::MAX - 1_000, 48_000, t0);
        let b = r.rewrite(11, (u32::MAX - 1_000).wrapping_add(960), t0).unwrap();
        assert_eq!(b.ts.wrapping_sub(a.ts), 960);
        let c = r.rewrite(12, (u32::MAX - 1_000).wrapping_add(1_920), t0).unwrap();
        assert_eq!(c.ts, 919);
        assert_eq!(c.seq, a.seq + 2);
    }

    #[test]
    fn extended_sequence_crosses_16_bit_wrap_in_order() {
        let t0 = Instant::now();
        let mut r = Rewriter::new();
        let a = r.start(65_534, 0, 90_000, t0);
        let b = r.rewrite(65_535, 0, t0).unwrap();
        let c = r.rewrite(65_536, 0, t0).unwrap();
        assert_eq!((b.seq, c.seq), (a.seq + 1, a.seq + 2));
    }

    #[test]
    fn packets_older_than_the_segment_are_refused() {
        let t0 = Instant::now();
        let mut r = Rewriter::new();
        r.start(500, 0, 90_000, t0);
        assert_eq!(r.rewrite(499, 0, t0), None);
        // Reordered packets within the segment still map with the same offset.
        r.rewrite(503, 0, t0).unwrap();
        assert_eq!(r.rewrite(502, 0, t0).unwrap().seq, FIRST_SEQ + 2);
    }

    #[test]
    fn switch_after_reordering_never_reuses_a_sequence_number() {
        let t0 = Instant::now();
        let mut r = Rewriter::new();
        r.start(10, 0, 90_000, t0);
        r.rewrite(14, 0, t0).unwrap();
        r.rewrite(12, 0, t0).unwrap();
        let s = r.start(9_000, 0, 90_000, t0);
        assert_eq!(s.seq, FIRST_SEQ + 5);
    }

    #[test]
    fn closed_segment_forwards_nothing() {
        let t0 = Instant::now();
        let mut r = Rewriter::new();
        r.start(1, 0, 90_000, t0);
        r.end_segment();
        assert_eq!(r.rewrite(2, 0, t0), None);
        assert!(!r.in_segment());
    }
}
