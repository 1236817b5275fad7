//! What a simulated site measures on each stream it receives: packets, loss and duplicates from
//! RTP sequence numbers, interarrival jitter (RFC 3550 A.8), the layer and source the synthetic
//! marker names, end-to-end latency, and payloads that do not parse.
//!
//! Pure: the caller passes arrival times; nothing here reads a clock or touches a socket.

use std::collections::HashMap;

use hdrhistogram::Histogram;

use crate::payload::{self, Layer, Marker, Stream};

/// How many recent sequence numbers are remembered to tell duplicates from late packets.
const WINDOW: u64 = 1024;

/// Sequence number bookkeeping of one RTP stream.
#[derive(Debug, Clone, Default)]
pub struct SeqTracker {
    base: Option<u64>,
    max: u64,
    received: u64,
    duplicates: u64,
    seen: [u64; (WINDOW / 64) as usize],
}

impl SeqTracker {
    /// The 16-bit `seq` extended to the 64-bit value closest to the highest seen so far.
    fn extend(&self, seq: u16) -> u64 {
        let cand = (self.max & !0xFFFF) | u64::from(seq);
        [cand.wrapping_sub(0x1_0000), cand, cand + 0x1_0000]
            .into_iter()
            .filter(|c| *c < u64::MAX / 2)
            .min_by_key(|c| c.abs_diff(self.max))
            .unwrap_or(cand)
    }

    fn bit(&mut self, ext: u64) -> (&mut u64, u64) {
        let i = ext % WINDOW;
        (&mut self.seen[(i / 64) as usize], 1 << (i % 64))
    }

    /// Records one arrival; false for a duplicate (a retransmission or probe padding that
    /// repeats a packet already received).
    pub fn push(&mut self, seq: u16) -> bool {
        let Some(base) = self.base else {
            // Start far from zero so the first wrap backwards stays positive.
            let ext = 0x1_0000_0000 + u64::from(seq);
            self.base = Some(ext);
            self.max = ext;
            self.received = 1;
            let (w, b) = self.bit(ext);
            *w |= b;
            return true;
        };
        let ext = self.extend(seq);
        if ext > self.max {
            if ext - self.max >= WINDOW {
                self.seen = Default::default();
            } else {
                // Forget what these window positions held one lap ago, `ext` included.
                for e in self.max + 1..=ext {
                    let (w, b) = self.bit(e);
                    *w &= !b;
                }
            }
            self.max = ext;
        } else if self.max - ext >= WINDOW {
            // Too old to tell; count it as a late arrival.
            self.received += 1;
            return true;
        }
        if ext < base {
            self.base = Some(ext);
        }
        let (w, b) = self.bit(ext);
        if *w & b != 0 {
            self.duplicates += 1;
            false
        } else {
            *w |= b;
            self.received += 1;
            true
        }
    }

    /// Packets the sender numbered between the first and the last seen.
    pub fn expected(&self) -> u64 {
        self.base.map_or(0, |b| self.max - b + 1)
    }

    /// Distinct packets received.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Packets never received.
    pub fn lost(&self) -> u64 {
        self.expected().saturating_sub(self.received)
    }

    /// Packets received more than once.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }
}

/// RFC 3550 interarrival jitter, in RTP clock units.
#[derive(Debug, Clone, Default)]
pub struct Jitter {
    last_transit: Option<i64>,
    jitter: f64,
}

impl Jitter {
    /// Records a packet with RTP timestamp `ts` arriving at `arrival` (same clock units).
    pub fn push(&mut self, ts: u32, arrival: u64) {
        let transit = (arrival as i64).wrapping_sub(i64::from(ts));
        if let Some(last) = self.last_transit {
            // RTP timestamps wrap at 32 bits: fold the difference into that range.
            let d = (transit.wrapping_sub(last) as i32).unsigned_abs() as f64;
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.last_transit = Some(transit);
    }

    /// Current estimate, clock units.
    pub fn value(&self) -> f64 {
        self.jitter
    }
}

/// Everything measured on one received stream (one receive slot).
#[derive(Debug, Clone)]
pub struct StreamMeter {
    /// Audio (48 kHz) or video (90 kHz) slot.
    pub audio: bool,
    /// Sequence numbers.
    pub seq: SeqTracker,
    jitter: Jitter,
    /// Payloads that did not parse.
    pub decode_errors: u64,
    /// First packet's arrival, [`crate::clock::micros`].
    pub first_at_us: Option<u64>,
    /// First keyframe start's arrival.
    pub first_keyframe_at_us: Option<u64>,
    /// Packets per camera layer received.
    pub layers: [u64; 3],
    /// Layer of the last video packet.
    pub last_layer: Option<Layer>,
    /// Source site of the last packet.
    pub last_source: Option<u16>,
    /// Keyframe starts received.
    pub keyframes: u64,
}

impl StreamMeter {
    /// A meter for an audio or a video slot.
    pub fn new(audio: bool) -> Self {
        StreamMeter {
            audio,
            seq: SeqTracker::default(),
            jitter: Jitter::default(),
            decode_errors: 0,
            first_at_us: None,
            first_keyframe_at_us: None,
            layers: [0; 3],
            last_layer: None,
            last_source: None,
            keyframes: 0,
        }
    }

    fn clock_rate(&self) -> u64 {
        if self.audio {
            48_000
        } else {
            90_000
        }
    }

    /// Records one RTP packet that arrived at `now_us`. Returns its marker when it is new and
    /// parsed (duplicates are only counted).
    pub fn push(&mut self, seq: u16, ts: u32, payload: &[u8], now_us: u64) -> Option<Marker> {
        if !self.push_header(seq, ts, now_us) {
            return None;
        }
        self.push_payload(payload, now_us)
    }

    /// The half of [`StreamMeter::push`] the RTP header alone can tell (SRTP leaves the header
    /// in the clear): sequence, jitter, first arrival. False for a duplicate.
    pub fn push_header(&mut self, seq: u16, ts: u32, now_us: u64) -> bool {
        if !self.seq.push(seq) {
            return false;
        }
        self.jitter.push(ts, now_us * self.clock_rate() / 1_000_000);
        self.first_at_us.get_or_insert(now_us);
        true
    }

    /// The other half: what the decrypted payload says (layer, source, keyframe), for a
    /// packet already counted by [`StreamMeter::push_header`] or for a sample of the stream.
    pub fn push_payload(&mut self, payload: &[u8], now_us: u64) -> Option<Marker> {
        let marker = if self.audio {
            payload::parse_audio(payload)
        } else {
            payload::parse_video(payload).map(|v| {
                if v.keyframe {
                    self.keyframes += 1;
                    self.first_keyframe_at_us.get_or_insert(now_us);
                }
                v.marker
            })
        };
        match marker {
            Ok(m) => {
                if let Stream::Camera(layer) = m.stream {
                    self.layers[layer.index()] += 1;
                    self.last_layer = Some(layer);
                }
                self.last_source = Some(m.source);
                Some(m)
            }
            Err(_) => {
                self.decode_errors += 1;
                None
            }
        }
    }

    /// Takes what `sample` (a meter fed only [`StreamMeter::push_payload`] with a sample of
    /// this stream) learnt from payloads; the counts of packets stay this meter's own.
    pub fn absorb_payload(&mut self, sample: &StreamMeter) {
        self.decode_errors += sample.decode_errors;
        self.first_keyframe_at_us = match (self.first_keyframe_at_us, sample.first_keyframe_at_us) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        for (mine, theirs) in self.layers.iter_mut().zip(sample.layers) {
            *mine += theirs;
        }
        self.last_layer = sample.last_layer.or(self.last_layer);
        self.last_source = sample.last_source.or(self.last_source);
        self.keyframes += sample.keyframes;
    }

    /// Jitter, milliseconds.
    pub fn jitter_ms(&self) -> f64 {
        self.jitter.value() * 1000.0 / self.clock_rate() as f64
    }
}

/// Per-site totals over all its received streams, with the latency histograms.
#[derive(Debug, Clone)]
pub struct Reception {
    /// End-to-end latency of audio packets, microseconds.
    pub audio_latency: Histogram<u64>,
    /// End-to-end latency of video packets, microseconds.
    pub video_latency: Histogram<u64>,
    /// Packets received per source site: (audio, video).
    pub by_source: HashMap<u16, (u64, u64)>,
}

impl Default for Reception {
    fn default() -> Self {
        Reception {
            audio_latency: latency_histogram(),
            video_latency: latency_histogram(),
            by_source: HashMap::new(),
        }
    }
}

/// A histogram for latencies from 1 µs to 60 s with 3 significant digits.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds")
}

impl Reception {
    /// Records a parsed packet arriving at `now_us`: its latency and its source.
    pub fn record(&mut self, m: &Marker, now_us: u64) {
        let latency = now_us.saturating_sub(m.sent_us).max(1);
        let h = if m.stream == Stream::Audio {
            &mut self.audio_latency
        } else {
            &mut self.video_latency
        };
        h.saturating_record(latency);
        self.count(m);
    }

    /// Counts a parsed packet by source only (outside the latency window).
    pub fn count(&mut self, m: &Marker) {
        let audio = m.stream == Stream::Audio;
        let e = self.by_source.entry(m.source).or_default();
        if audio {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_stream_has_no_loss() {
        let mut t = SeqTracker::default();
        for s in 65_000u16..=65_535 {
            t.push(s);
        }
        for s in 0u16..100 {
            t.push(s);
        }
        assert_eq!(t.expected(), 636);
        assert_eq!(t.received(), 636);
        assert_eq!(t.lost(), 0);
    }

    #[test]
    fn gaps_count_as_loss_until_filled_and_duplicates_are_separate() {
        let mut t = SeqTracker::default();
        for s in [10u16, 11, 14, 15] {
            t.push(s);
        }
        assert_eq!(t.lost(), 2);
        assert!(t.push(12)); // a retransmission fills the gap
        assert!(!t.push(12)); // and a second copy is a duplicate
        assert_eq!(t.lost(), 1);
        assert_eq!(t.duplicates(), 1);
    }

    #[test]
    fn a_long_clean_stream_is_all_received() {
        let mut t = SeqTracker::default();
        for i in 0..5000u32 {
            assert!(t.push((i % 65_536) as u16));
        }
        assert_eq!((t.received(), t.lost(), t.duplicates()), (5000, 0, 0));
    }

    #[test]
    fn reordering_across_the_wrap_is_not_loss() {
        let mut t = SeqTracker::default();
        for s in [65_534u16, 0, 65_535, 1, 2] {
            t.push(s);
        }
        assert_eq!((t.expected(), t.lost()), (5, 0));
    }

    #[test]
    fn a_long_gap_clears_the_window() {
        let mut t = SeqTracker::default();
        t.push(0);
        t.push(5000);
        assert_eq!(t.lost(), 4999);
        t.push(5000);
        assert_eq!(t.duplicates(), 1);
    }

    #[test]
    fn steady_arrivals_have_no_jitter_and_late_ones_do() {
        let mut j = Jitter::default();
        for i in 0..100u32 {
            j.push(i * 960, 1_000_000 + u64::from(i) * 960);
        }
        assert!(j.value() < 1e-9);
        j.push(100 * 960, 1_000_000 + 100 * 960 + 4800);
        assert!((j.value() - 300.0).abs() < 1e-9, "{}", j.value());
    }

    #[test]
    fn duplicates_are_neither_parsed_nor_timed() {
        let mut m = StreamMeter::new(true);
        m.push(1, 0, &[1, 2, 3], 10);
        assert!(m.push(1, 0, &[1, 2, 3], 20).is_none());
        assert_eq!((m.decode_errors, m.seq.duplicates()), (1, 1));
    }

    #[test]
    fn garbage_payload_is_a_decode_error() {
        let mut m = StreamMeter::new(true);
        assert!(m.push(1, 0, &[1, 2, 3], 10).is_none());
        assert_eq!(m.decode_errors, 1);
        assert_eq!(m.first_at_us, Some(10));
    }
}
