//! Numbering rewrite for one outgoing stream (one receive slot): RTP sequence number and
//! timestamp, and for VP8 the PictureID and TL0PICIDX of the payload descriptor.
//!
//! A subscriber sees one continuous stream per slot even when the slot's source changes
//! (another site takes the floor), the simulcast layer changes (each layer numbers its
//! packets, frames and pictures on its own), or frames of dropped temporal layers are left
//! out. The rewriter keeps, per *segment* (a run of packets from one source layer), an offset
//! for each number; a packet left out of a segment ([`Rewriter::skip`]) moves the sequence
//! offset back by one and, once per picture, the PictureID offset, so the receiver sees
//! neither a missing packet to NACK nor a missing picture to wait for.
//!
//! Invariants:
//! - Output sequence numbers never repeat across segments: a new segment starts right after
//!   the highest number already sent. Within a segment they keep the gaps of upstream loss
//!   (the receiver NACKs those; the retransmission maps to the same number) and close the
//!   gaps of skipped packets.
//! - Output timestamps move forward across a switch by the wall-clock time that passed, so
//!   the receiver's jitter buffer sees a plausible pause, never a jump back.
//! - PictureID and TL0PICIDX go up by one across a switch (the new segment starts at a
//!   keyframe, a new base-layer picture), as a receiver's VP8 reference finder requires.
//!   TL0PICIDX needs no shift within a segment: base-layer frames are never skipped.
//! - Packets older than the first packet of the current segment are refused: they belong to
//!   the part of the source we did not forward. So are late packets older than the skips
//!   the rewriter still remembers ([`SHIFTS`]): their number is no longer known.
//! - A late copy of a skipped packet (a duplicate, an upstream retransmission, one whose
//!   temporal layer is forwarded by the time it arrives) is refused: the packet after it
//!   already went out under its number.
//! - Packets more than [`MAX_AHEAD`] ahead of the newest are refused: no real stream jumps
//!   that far (str0m extends a 16-bit number to within half its range of the newest), but
//!   str0m extends a number just below the 16-bit wrap that arrives after a stream began
//!   low (a reordered packet from before the first, or a hostile one) to nearly 2^64.
//!   Forwarded, it would wrap the outgoing numbers past the 48-bit SRTP index and break the
//!   slot for every later source.
//!
//! A packet of a skipped layer lost upstream is never seen, so its gap cannot be closed;
//! the receiver asks for it a few times in vain, and its pictures still decode.
//!
//! Pure: time comes in as an argument.

use std::time::Instant;

use crate::vp8::PictureId;

/// First outgoing sequence number. Below 2^16 so the receiver's SRTP rollover counter starts
/// at zero, as it assumes.
const FIRST_SEQ: u64 = 1000;

/// How many runs of skipped packets are remembered for mapping late packets (upstream
/// retransmissions): with every other frame skipped at 30 fps, about two seconds.
pub const SHIFTS: usize = 32;

/// PictureID arithmetic is done on 15 bits; 7-bit fields take the low bits.
const PICTURE_MOD: u16 = 0x8000;

/// Furthest an incoming sequence number may be ahead of the newest one seen: half the 16-bit
/// space, beyond which a jump forward cannot be told from one back.
pub const MAX_AHEAD: u64 = 1 << 15;

/// The numbers of an incoming packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Numbering {
    /// Extended sequence number.
    pub seq: u64,
    /// RTP timestamp.
    pub ts: u32,
    /// VP8 PictureID, if the payload carries one.
    pub picture_id: Option<PictureId>,
    /// VP8 TL0PICIDX, if the payload carries one.
    pub tl0_pic_idx: Option<u8>,
}

impl Numbering {
    /// A packet with only RTP numbers (audio, H.264, synthetic video).
    pub fn rtp(seq: u64, ts: u32) -> Self {
        Numbering {
            seq,
            ts,
            picture_id: None,
            tl0_pic_idx: None,
        }
    }
}

/// Where an outgoing packet lands after rewriting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewritten {
    /// Extended outgoing sequence number.
    pub seq: u64,
    /// Outgoing RTP timestamp.
    pub ts: u32,
    /// Outgoing PictureID, in the width the packet carries (`None`: the packet has none).
    pub picture_id: Option<u16>,
    /// Outgoing TL0PICIDX (`None`: the packet has none).
    pub tl0_pic_idx: Option<u8>,
}

/// The offsets in force before a run of skipped packets, for packets that arrive late.
#[derive(Debug, Clone, Copy, Default)]
struct Shift {
    /// Last incoming sequence number of the run. Inclusive: one past it does not exist at the
    /// top of the 64-bit range, which str0m's extension reaches on hostile input; a saturated
    /// end once made the late copy of a packet skipped there look forwarded.
    last: u64,
    seq_offset: u64,
    picture_offset: u16,
}

/// What late packets need: the runs of skipped packets of the segment, and how far back
/// numbers are known.
#[derive(Debug, Clone, Default)]
struct History {
    /// Oldest first; `len` of them are in use.
    shifts: [Shift; SHIFTS],
    len: usize,
    /// Late packets below this are refused: the segment's first packet, or the end of the
    /// oldest run forgotten.
    floor: u64,
}

/// Rewrite state for one outgoing stream.
///
/// Kept small: a fan-out walks the state of hundreds of slots per packet. What only skips
/// and late packets need lives behind a box.
#[derive(Debug, Clone, Default)]
pub struct Rewriter {
    /// Added (wrapping) to an incoming extended sequence number to get the outgoing one.
    seq_offset: u64,
    /// Highest incoming sequence number of the segment seen, forwarded or skipped.
    max_in_seq: u64,
    /// Highest outgoing extended sequence number so far; 0 before any packet went out
    /// (numbering starts at [`FIRST_SEQ`]).
    max_out_seq: u64,
    /// Timestamp and send time of the packet with `max_out_seq`, to carry time over a switch.
    last_out: Option<(u32, Instant)>,
    history: Box<History>,
    /// Added (wrapping) to an incoming timestamp to get the outgoing one.
    ts_offset: u32,
    /// Added (modulo [`PICTURE_MOD`]) to an incoming PictureID.
    picture_offset: u16,
    /// Added (wrapping) to an incoming TL0PICIDX.
    tl0_offset: u8,
    /// Whether a segment is open.
    in_segment: bool,
    /// Newest incoming PictureID forwarded or skipped, so a skipped picture of several
    /// packets shifts the offset once. Plus `picture_offset` it is the newest PictureID sent
    /// (a skip moved the offset back by one), which the next segment continues from; kept
    /// over segments without PictureIDs.
    max_in_picture: Option<PictureId>,
    /// TL0PICIDX of the newest packet out that had one.
    last_out_tl0: Option<u8>,
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

    /// Starts a new segment with packet `pkt`, arriving at `now`, on a clock of
    /// `clock_rate` Hz. Returns where that packet goes out.
    pub fn start(&mut self, pkt: &Numbering, clock_rate: u32, now: Instant) -> Rewritten {
        let out_seq = if self.max_out_seq == 0 {
            FIRST_SEQ
        } else {
            self.max_out_seq + 1
        };
        let out_ts = match self.last_out {
            None => pkt.ts,
            Some((last_ts, last_at)) => {
                let elapsed = now.saturating_duration_since(last_at);
                let ticks = (elapsed.as_secs_f64() * clock_rate as f64) as u64;
                // At least one tick: two frames must never share a timestamp.
                last_ts.wrapping_add(ticks.clamp(1, u32::MAX as u64 / 2) as u32)
            }
        };
        self.seq_offset = out_seq.wrapping_sub(pkt.seq);
        self.ts_offset = out_ts.wrapping_sub(pkt.ts);
        if let Some(p) = pkt.picture_id {
            let out = self.max_in_picture.map_or(p.value, |m| {
                (m.value + self.picture_offset + 1) % PICTURE_MOD
            });
            self.picture_offset = out.wrapping_sub(p.value) % PICTURE_MOD;
            self.max_in_picture = Some(p);
        }
        if let Some(t) = pkt.tl0_pic_idx {
            let out = self.last_out_tl0.map_or(t, |l| l.wrapping_add(1));
            self.tl0_offset = out.wrapping_sub(t);
        }
        self.max_in_seq = pkt.seq;
        self.history.len = 0;
        self.history.floor = pkt.seq;
        self.in_segment = true;
        let out = self.map(pkt, self.seq_offset, self.picture_offset);
        self.note_sent(&out, now);
        out
    }

    /// Rewrites a packet of the open segment. `None` when no segment is open, or the packet
    /// is older than the segment's first packet or than the skips remembered, or more than
    /// [`MAX_AHEAD`] ahead of the newest, or a late copy of a packet that was skipped.
    #[inline]
    pub fn rewrite(&mut self, pkt: &Numbering, now: Instant) -> Option<Rewritten> {
        if !self.in_segment {
            return None;
        }
        let out = if pkt.seq > self.max_in_seq {
            if pkt.seq - self.max_in_seq > MAX_AHEAD {
                return None;
            }
            self.max_in_seq = pkt.seq;
            self.note_picture(pkt.picture_id);
            self.map(pkt, self.seq_offset, self.picture_offset)
        } else {
            // Late (reordered, or retransmitted upstream): the offsets of its time.
            let h = &self.history;
            if pkt.seq < h.floor {
                return None;
            }
            match h.shifts[..h.len].iter().position(|s| s.last >= pkt.seq) {
                Some(i) => {
                    let s = h.shifts[i];
                    // The run ending at `s.last` is as long as the offset moved over it.
                    let after = if i + 1 < h.len {
                        h.shifts[i + 1].seq_offset
                    } else {
                        self.seq_offset
                    };
                    if s.last - pkt.seq < s.seq_offset.wrapping_sub(after) {
                        // A copy of a packet left out: its number went to the packet after it.
                        return None;
                    }
                    self.map(pkt, s.seq_offset, s.picture_offset)
                }
                None => self.map(pkt, self.seq_offset, self.picture_offset),
            }
        };
        self.note_sent(&out, now);
        Some(out)
    }

    /// Leaves out a packet of the open segment (a dropped temporal layer): the packets after
    /// it close the gap. Late packets change nothing: numbers already sent cannot move.
    pub fn skip(&mut self, pkt: &Numbering) {
        if !self.in_segment || pkt.seq <= self.max_in_seq || pkt.seq - self.max_in_seq > MAX_AHEAD {
            return;
        }
        let h = &mut *self.history;
        // (`pkt.seq - 1`: above `max_in_seq`, so at least 1.)
        if h.len > 0 && h.shifts[h.len - 1].last == pkt.seq - 1 {
            // The run goes on.
            h.shifts[h.len - 1].last = pkt.seq;
        } else {
            if h.len == SHIFTS {
                // Never saturates: a newer run (this one) lies above the forgotten one.
                h.floor = h.shifts[0].last.saturating_add(1);
                h.shifts.copy_within(1.., 0);
                h.len -= 1;
            }
            h.shifts[h.len] = Shift {
                last: pkt.seq,
                seq_offset: self.seq_offset,
                picture_offset: self.picture_offset,
            };
            h.len += 1;
        }
        self.max_in_seq = pkt.seq;
        self.seq_offset = self.seq_offset.wrapping_sub(1);
        if self.note_picture(pkt.picture_id) {
            self.picture_offset = (self.picture_offset + PICTURE_MOD - 1) % PICTURE_MOD;
        }
    }

    /// Records `picture` as seen; true when it is a newer picture than any before.
    #[inline]
    fn note_picture(&mut self, picture: Option<PictureId>) -> bool {
        let Some(p) = picture else { return false };
        let newer = self.max_in_picture.is_none_or(|m| {
            let ahead = p.value.wrapping_sub(m.value) % p.modulus();
            m.long != p.long || (ahead != 0 && ahead < p.modulus() / 2)
        });
        if newer {
            self.max_in_picture = Some(p);
        }
        newer
    }

    #[inline]
    fn map(&self, pkt: &Numbering, seq_offset: u64, picture_offset: u16) -> Rewritten {
        Rewritten {
            seq: pkt.seq.wrapping_add(seq_offset),
            ts: pkt.ts.wrapping_add(self.ts_offset),
            picture_id: pkt
                .picture_id
                .map(|p| p.value.wrapping_add(picture_offset) % p.modulus()),
            tl0_pic_idx: pkt.tl0_pic_idx.map(|t| t.wrapping_add(self.tl0_offset)),
        }
    }

    #[inline]
    fn note_sent(&mut self, out: &Rewritten, now: Instant) {
        if out.seq > self.max_out_seq {
            self.max_out_seq = out.seq;
            self.last_out = Some((out.ts, now));
            if out.tl0_pic_idx.is_some() {
                self.last_out_tl0 = out.tl0_pic_idx;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn n(seq: u64, ts: u32) -> Numbering {
        Numbering::rtp(seq, ts)
    }

    #[test]
    fn first_segment_starts_below_rollover_and_keeps_spacing() {
        let t0 = Instant::now();
        let mut r = Rewriter::new();
        let first = r.start(&n(70_000, 5_000), 90_000, t0);
        assert_eq!(first.seq, FIRST_SEQ);
        assert_eq!(first.ts, 5_000);
        let next = r.rewrite(&n(70_001, 8_000), t0).unwrap();
        assert_eq!((next.seq, next.ts), (FIRST_SEQ + 1, 8_000));
        assert_eq!((next.picture_id, next.tl0_pic_idx), (None, None));
        // Loss upstream keeps its gap so the receiver can NACK it.
        let after_gap = r.rewrite(&n(70_005, 8_000), t0).unwrap();
        assert_eq!(after_gap.seq, FIRST_SEQ + 5);
    }

    #[test]
    fn sequence_and_timestamp_continue_across_a_source_switch() {
        let t0 = Instant::now();
        let mut r = Rewriter::new();
        r.start(&n(100, 1_000), 90_000, t0);
        for i in 1..10u64 {
            r.rewrite(&n(100 + i, 1_000 + 3_000 * i as u32), t0)
                .unwrap();
        }
        // New source: unrelated sequence and timestamp space, 100 ms later.
        let t1 = t0 + Duration::from_millis(100);
        let switched = r.start(&n(50_000, 4_000_000_000), 90_000, t1);
        assert_eq!(switched.seq, FIRST_SEQ + 10);
        assert_eq!(switched.ts, 1_000 + 3_000 * 9 + 9_000);
        let next = r.rewrite(&n(50_001, 4_000_003_000), t1).unwrap();
        assert_eq!(next.seq, FIRST_SEQ + 11);
        assert_eq!(next.ts, switched.ts + 3_000);
    }

    #[test]
    fn timestamp_wraps_around_without_breaking_continuity() {
        let t0 = Instant::now();
        let mut r = Rewriter::new();
        let a = r.start(&n(10, u32::MAX - 1_000), 48_000, t0);
        let b = r
            .rewrite(&n(11, (u32::MAX - 1_000).wrapping_add(960)), t0)
            .unwrap();
        assert_eq!(b.ts.wrapping_sub(a.ts), 960);
        let c = r
            .rewrite(&n(12, (u32::MAX - 1_000).wrapping_add(1_920)), t0)
            .unwrap();
        assert_eq!(c.ts, 919);
        assert_eq!(c.seq, a.seq + 2);
    }

    #[test]
    fn extended_sequence_crosses_16_bit_wrap_in_order() {
        let t0 = Instant::now();
        let mut r = Rewriter::new();
        let a = r.start(&n(65_534, 0), 90_000, t0);
        let b = r.rewrite(&n(65_535, 0), t0).unwrap();
        let c = r.rewrite(&n(65_536, 0), t0).unwrap();
        assert_eq!((b.seq, c.seq), (a.seq + 1, a.seq + 2));
    }

    #[test]
    fn packets_older_than_the_segment_are_refused() {
        let t0 = Instant::now();
        let mut r = Rewriter::new();
        r.start(&n(500, 0), 90_000, t0);
        assert_eq!(r.rewrite(&n(499, 0), t0), None);
        // Reordered packets within the segment still map with the same offset.
        r.rewrite(&n(503, 0), t0).unwrap();
        assert_eq!(r.rewrite(&n(502, 0), t0).unwrap().seq, FIRST_SEQ + 2);
    }

    #[test]
    fn switch_after_reordering_never_reuses_a_sequence_number() {
        let t0 = Instant::now();
        let mut r = Rewriter::new();
        r.start(&n(10, 0), 90_000, t0);
        r.rewrite(&n(14, 0), t0).unwrap();
        r.rewrite(&n(12, 0), t0).unwrap();
        let s = r.start(&n(9_000, 0), 90_000, t0);
        assert_eq!(s.seq, FIRST_SEQ + 5);
    }

    #[test]
    fn a_packet_extended_to_near_2_pow_64_is_refused_and_numbering_stays_in_the_srtp_index() {
        // str0m extends seq 65535 arriving after a stream that began at 30319 to
        // (2^48 - 1) * 2^16 + 65535 = u64::MAX (found by fuzz/ rtp_forward).
        let t0 = Instant::now();
        let mut r = Rewriter::new();
        let a = r.start(&n(30_319, 0), 90_000, t0);
        assert_eq!(r.rewrite(&n(u64::MAX, 0), t0), None);
        r.skip(&n(u64::MAX - 1, 0));
        let b = r.rewrite(&n(30_320, 3_000), t0).unwrap();
        assert_eq!(b.seq, a.seq + 1, "the stray packet moved nothing");
        // The next source continues right after, far below 2^48.
        let c = r.start(&n(7, 0), 90_000, t0);
        assert_eq!(c.seq, b.seq + 1);
        // A jump of up to half the 16-bit space is still loss to NACK.
        let d = r.rewrite(&n(7 + MAX_AHEAD, 0), t0).unwrap();
        assert_eq!(d.seq, c.seq + MAX_AHEAD);
    }

    #[test]
    fn a_late_copy_of_a_skipped_packet_never_takes_the_number_of_the_packet_after_it() {
        // Found by fuzz/ rtp_forward: a T1 packet skipped while only T0 was forwarded came
        // again once T1 was (a duplicate, or a retransmission) and went out under the number
        // of the packet after it.
        let t0 = Instant::now();
        let mut r = Rewriter::new();
        let a = r.start(&vp8(10, 100, 7), 90_000, t0);
        r.skip(&vp8(11, 101, 7));
        r.skip(&vp8(12, 101, 7));
        let b = r.rewrite(&vp8(13, 102, 7), t0).unwrap();
        assert_eq!(b.seq, a.seq + 1);
        for late in [11, 12] {
            assert_eq!(
                r.rewrite(&vp8(late, 101, 7), t0),
                None,
                "copy of skipped {late}"
            );
        }
        // Two runs: the older one is measured against the newer one's offset.
        r.skip(&vp8(14, 103, 7));
        let c = r.rewrite(&vp8(15, 104, 7), t0).unwrap();
        assert_eq!(c.seq, b.seq + 1);
        for late in [11, 12, 14] {
            assert_eq!(
                r.rewrite(&vp8(late, 101, 7), t0),
                None,
                "copy of skipped {late}"
            );
        }
        // Packets forwarded before keep their numbers.
        assert_eq!(r.rewrite(&vp8(13, 102, 7), t0).unwrap().seq, b.seq);
        assert_eq!(r.rewrite(&vp8(10, 100, 7), t0).unwrap().seq, a.seq);
    }

    #[test]
    fn a_late_copy_of_a_packet_skipped_at_the_top_of_the_sequence_space_is_refused() {
        // Found by fuzz/ rtp_forward (corpus duplicate-seq-19f6a913): a segment that began at
        // a number str0m extended to near 2^64 skipped its packet at 2^64 - 1; the run's end
        // (one past it) saturated onto that packet, so its late copy looked forwarded and
        // went out under the number of the packet before it.
        let t0 = Instant::now();
        let mut r = Rewriter::new();
        let top = u64::MAX;
        let a = r.start(&n(top - 2, 0), 90_000, t0);
        let b = r.rewrite(&n(top - 1, 0), t0).unwrap();
        assert_eq!(b.seq, a.seq + 1);
        r.skip(&n(top, 3000));
        assert_eq!(
            r.rewrite(&n(top, 3000), t0),
            None,
            "copy of skipped 2^64 - 1"
        );
        // Forwarded packets keep their numbers.
        assert_eq!(r.rewrite(&n(top - 1, 0), t0), Some(b));
    }

    #[test]
    fn per_packet_state_stays_small() {
        assert!(
            std::mem::size_of::<Rewriter>() <= 72,
            "{}",
            std::mem::size_of::<Rewriter>()
        );
    }

    #[test]
    fn closed_segment_forwards_nothing() {
        let t0 = Instant::now();
        let mut r = Rewriter::new();
        r.start(&n(1, 0), 90_000, t0);
        r.end_segment();
        assert_eq!(r.rewrite(&n(2, 0), t0), None);
        assert!(!r.in_segment());
    }

    /// A VP8 packet of picture `pic` (15 bits) in base-layer group `tl0`, 3000 ticks a picture.
    fn vp8(seq: u64, pic: u16, tl0: u8) -> Numbering {
        Numbering {
            seq,
            ts: u32::from(pic) * 3_000,
            picture_id: Some(PictureId {
                value: pic,
                long: true,
            }),
            tl0_pic_idx: Some(tl0),
        }
    }

    #[test]
    fn skipped_packets_leave_no_gap_in_sequence_or_pictures() {
        let t0 = Instant::now();
        let mut r = Rewriter::new();
        // Pictures of two packets each: 100 (T0) forwarded, 101 (T2) skipped, 102 (T1) forwarded.
        let a = r.start(&vp8(10, 100, 7), 90_000, t0);
        r.rewrite(&vp8(11, 100, 7), t0).unwrap();
        r.skip(&vp8(12, 101, 7));
        r.skip(&vp8(13, 101, 7));
        let c = r.rewrite(&vp8(14, 102, 7), t0).unwrap();
        let d = r.rewrite(&vp8(15, 102, 7), t0).unwrap();
        assert_eq!(
            (c.seq, d.seq),
            (a.seq + 2, a.seq + 3),
            "no hole where 12 and 13 were"
        );
        assert_eq!(
            c.picture_id,
            Some(a.picture_id.unwrap() + 1),
            "picture 101 left no hole"
        );
        assert_eq!(d.picture_id, c.picture_id, "one picture, one id");
        assert_eq!(c.tl0_pic_idx, a.tl0_pic_idx);
        assert_eq!(c.ts, 102 * 3_000, "timestamps keep their spacing");
    }

    #[test]
    fn upstream_loss_keeps_its_gap_and_its_retransmission_lands_in_it() {
        let t0 = Instant::now();
        let mut r = Rewriter::new();
        let a = r.start(&vp8(10, 100, 7), 90_000, t0);
        // 11 (picture 100) is lost upstream; 12 (picture 101) is skipped.
        r.skip(&vp8(12, 101, 7));
        let c = r.rewrite(&vp8(13, 102, 7), t0).unwrap();
        assert_eq!(
            c.seq,
            a.seq + 2,
            "the gap of 11 stays for the receiver to NACK"
        );
        assert_eq!(c.picture_id, Some(a.picture_id.unwrap() + 1));
        // The retransmission of 11 arrives after the skip: it takes the numbers of its time.
        let late = r.rewrite(&vp8(11, 100, 7), t0).unwrap();
        assert_eq!(late.seq, a.seq + 1);
        assert_eq!(late.picture_id, a.picture_id);
        // A late copy of a skipped packet changes nothing.
        r.skip(&vp8(12, 101, 7));
        assert_eq!(r.rewrite(&vp8(14, 102, 7), t0).unwrap().seq, a.seq + 3);
    }

    #[test]
    fn late_packets_older_than_the_remembered_skips_are_refused() {
        let t0 = Instant::now();
        let mut r = Rewriter::new();
        r.start(&vp8(0, 0, 0), 90_000, t0);
        // Picture p at seq 2p; odd pictures are skipped; seq 1 (picture 0) is lost upstream.
        for pic in 1..=(2 * SHIFTS as u16 + 2) {
            let seq = 2 * u64::from(pic);
            if pic % 2 == 1 {
                r.skip(&vp8(seq, pic, 0));
            } else {
                r.rewrite(&vp8(seq, pic, 0), t0).unwrap();
            }
        }
        assert_eq!(
            r.rewrite(&vp8(1, 0, 0), t0),
            None,
            "its offset is forgotten"
        );
        // A recent one still maps.
        let recent = 2 * (2 * SHIFTS as u64) + 1;
        assert!(r.rewrite(&vp8(recent, 2 * SHIFTS as u16, 0), t0).is_some());
    }

    #[test]
    fn picture_id_and_tl0_continue_by_one_across_a_switch() {
        let t0 = Instant::now();
        let mut r = Rewriter::new();
        r.start(&vp8(10, 0x7FFE, 255), 90_000, t0);
        let last = r.rewrite(&vp8(11, 0x7FFF, 255), t0).unwrap();
        assert_eq!(last.picture_id, Some(0x7FFF));
        // Another layer's keyframe, numbered in its own space.
        let first = r.start(
            &vp8(5_000, 1_234, 40),
            90_000,
            t0 + Duration::from_millis(33),
        );
        assert_eq!(first.picture_id, Some(0), "15-bit wrap");
        assert_eq!(first.tl0_pic_idx, Some(0), "8-bit wrap");
        let next = r.rewrite(&vp8(5_001, 1_235, 41), t0).unwrap();
        assert_eq!((next.picture_id, next.tl0_pic_idx), (Some(1), Some(1)));
    }

    #[test]
    fn seven_bit_picture_ids_stay_continuous_over_their_wrap() {
        let t0 = Instant::now();
        let mut r = Rewriter::new();
        let short = |seq: u64, pic: u16| Numbering {
            seq,
            ts: 0,
            picture_id: Some(PictureId {
                value: pic,
                long: false,
            }),
            tl0_pic_idx: None,
        };
        r.start(&short(1, 126), 90_000, t0);
        r.skip(&short(2, 127));
        assert_eq!(r.rewrite(&short(3, 0), t0).unwrap().picture_id, Some(127));
        assert_eq!(r.rewrite(&short(4, 1), t0).unwrap().picture_id, Some(0));
    }
}
