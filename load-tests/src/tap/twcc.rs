//! Transport-wide congestion control feedback built from what a tap saw: every packet's
//! transport-wide sequence number (a header extension, in the clear under SRTP) and its
//! arrival time. A light site's peer connection sees only a sample, so it cannot give this
//! feedback itself; without it the SFU has no estimate for the site and never sends it the
//! top layer. The tap sees every packet, so its feedback is as honest as a browser's.
//!
//! Pure: sequence numbers and microseconds in, `TransportLayerCc` out (draft-holmer-rmcat-
//! transport-wide-cc-extensions-01 section 3.1); the tap records, the site's task sends.

use std::collections::BTreeMap;

use rtc::rtcp::transport_feedbacks::transport_layer_cc::{
    PacketStatusChunk, RecvDelta, RunLengthChunk, StatusChunkTypeTcc, StatusVectorChunk,
    SymbolSizeTypeTcc, SymbolTypeTcc, TransportLayerCc,
};

/// The header extension's URI, as both ends name it in the SDP.
pub const URI: &str = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";

/// Receive deltas are in multiples of this, µs.
const TICK_US: i64 = 250;
/// The reference time is in multiples of this, µs.
const REFERENCE_US: u64 = 64_000;
/// Most packets one feedback covers (lost ones included): a gap beyond this (the site was
/// starved for seconds) is reported from its end, the rest counted lost by the sender anyway.
const MAX_STATUS: i64 = 4_096;
/// Longest run-length chunk (13 bits).
const MAX_RUN: usize = 8_191;

/// The transport-wide sequence number of an RTP datagram whose header carries extension
/// `id` (RFC 8285: one-byte or two-byte form); `None` for anything else.
pub fn transport_seq(b: &[u8], id: u8) -> Option<u16> {
    if b.len() < 12 || b[0] & 0x10 == 0 {
        return None;
    }
    let start = 12 + 4 * usize::from(b[0] & 0x0f);
    let head = b.get(start..start + 4)?;
    let profile = u16::from_be_bytes([head[0], head[1]]);
    let words = usize::from(u16::from_be_bytes([head[2], head[3]]));
    let mut ext = b.get(start + 4..start + 4 + 4 * words)?;
    let two_byte = profile & 0xfff0 == 0x1000;
    if profile != 0xBEDE && !two_byte {
        return None;
    }
    while let Some(&first) = ext.first() {
        let (eid, len, skip) = if two_byte {
            if first == 0 {
                ext = &ext[1..];
                continue;
            }
            (first, usize::from(*ext.get(1)?), 2)
        } else {
            match first >> 4 {
                0 => {
                    ext = &ext[1..];
                    continue;
                }
                15 => return None,
                eid => (eid, usize::from(first & 0x0f) + 1, 1),
            }
        };
        let data = ext.get(skip..skip + len)?;
        if eid == id {
            return (len == 2).then(|| u16::from_be_bytes([data[0], data[1]]));
        }
        ext = &ext[skip + len..];
    }
    None
}

/// What the tap saw of one transport since the last feedback, and how to report it.
#[derive(Debug, Default)]
pub struct Arrivals {
    /// Highest sequence number seen, unwrapped.
    highest: Option<i64>,
    /// Arrival time (µs) of every packet not yet reported, by unwrapped sequence number.
    pending: BTreeMap<i64, u64>,
    /// First sequence number the next feedback covers.
    next: Option<i64>,
    /// Feedback packets built so far (wraps at 256, as the count field).
    count: u8,
}

impl Arrivals {
    /// Records that packet `seq` arrived at `at_us`. A packet already reported (as lost:
    /// it came after the feedback that covered it) and a duplicate are ignored, as libwebrtc
    /// does.
    pub fn record(&mut self, seq: u16, at_us: u64) {
        let seq = match self.highest {
            None => i64::from(seq),
            Some(h) => h + i64::from(seq.wrapping_sub(h as u16) as i16),
        };
        self.highest = Some(self.highest.map_or(seq, |h| h.max(seq)));
        if self.next.is_some_and(|n| seq < n) {
            return;
        }
        self.pending.entry(seq).or_insert(at_us);
    }

    /// Feedback for every packet from the first not yet reported to the highest seen (the
    /// missing ones as not received); `None` when nothing arrived since the last one.
    pub fn feedback(&mut self, sender_ssrc: u32, media_ssrc: u32) -> Option<TransportLayerCc> {
        let (&last, _) = self.pending.last_key_value()?;
        let (&first, _) = self.pending.first_key_value()?;
        let base = self.next.unwrap_or(first).max(last - MAX_STATUS + 1);
        let first_at = self.pending.range(base..).next().map(|(_, t)| *t)?;
        let reference = first_at / REFERENCE_US;
        let mut at = (reference * REFERENCE_US) as i64;
        let mut symbols = Vec::new();
        let mut recv_deltas = Vec::new();
        let mut end = base;
        for seq in base..=last {
            let Some(&t) = self.pending.get(&seq) else {
                symbols.push(SymbolTypeTcc::PacketNotReceived);
                end = seq;
                continue;
            };
            let ticks = (t as i64 - at).div_euclid(TICK_US);
            let symbol = match ticks {
                0..=255 => SymbolTypeTcc::PacketReceivedSmallDelta,
                t if i16::try_from(t).is_ok() => SymbolTypeTcc::PacketReceivedLargeDelta,
                // More than 8 s from the packet before: the next feedback starts here.
                _ => break,
            };
            at += ticks * TICK_US;
            symbols.push(symbol);
            recv_deltas.push(RecvDelta {
                type_tcc_packet: symbol,
                delta: ticks * TICK_US,
            });
            end = seq;
        }
        // A trailing run of losses says nothing the next feedback would not: stop at the
        // last packet received.
        while symbols.last() == Some(&SymbolTypeTcc::PacketNotReceived) {
            symbols.pop();
            end -= 1;
        }
        self.pending = self.pending.split_off(&(end + 1));
        self.next = Some(end + 1);
        let fb_pkt_count = self.count;
        self.count = self.count.wrapping_add(1);
        Some(TransportLayerCc {
            sender_ssrc,
            media_ssrc,
            base_sequence_number: base as u16,
            packet_status_count: symbols.len() as u16,
            reference_time: (reference & 0x00ff_ffff) as u32,
            fb_pkt_count,
            packet_chunks: chunks(&symbols),
            recv_deltas,
        })
    }
}

/// Packs symbols into chunks: a run of 14 or more identical symbols as one run-length chunk,
/// otherwise 14 one-bit symbols (no large delta among them) or 7 two-bit ones; the last
/// vector is padded with "not received" (the status count says where the list ends).
fn chunks(symbols: &[SymbolTypeTcc]) -> Vec<PacketStatusChunk> {
    let mut out = Vec::new();
    let mut rest = symbols;
    while let Some(&first) = rest.first() {
        let run = rest
            .iter()
            .take(MAX_RUN)
            .take_while(|s| **s == first)
            .count();
        if run >= 14 || run == rest.len() {
            out.push(PacketStatusChunk::RunLengthChunk(RunLengthChunk {
                type_tcc: StatusChunkTypeTcc::RunLengthChunk,
                packet_status_symbol: first,
                run_length: run as u16,
            }));
            rest = &rest[run..];
            continue;
        }
        let one_bit = rest
            .iter()
            .take(14)
            .all(|s| *s != SymbolTypeTcc::PacketReceivedLargeDelta);
        let (size, n) = if one_bit {
            (SymbolSizeTypeTcc::OneBit, 14)
        } else {
            (SymbolSizeTypeTcc::TwoBit, 7)
        };
        let n = n.min(rest.len());
        out.push(PacketStatusChunk::StatusVectorChunk(StatusVectorChunk {
            type_tcc: StatusChunkTypeTcc::StatusVectorChunk,
            symbol_size: size,
            symbol_list: rest[..n].to_vec(),
        }));
        rest = &rest[n..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::rtcp::packet::Packet;
    use rtc::shared::marshal::{Marshal, Unmarshal};
    use SymbolTypeTcc::{
        PacketNotReceived as Lost, PacketReceivedLargeDelta as Large,
        PacketReceivedSmallDelta as Small,
    };

    /// The statuses a feedback reports, in sequence order, read back from its chunks.
    fn statuses(fb: &TransportLayerCc) -> Vec<SymbolTypeTcc> {
        let mut out = Vec::new();
        for c in &fb.packet_chunks {
            match c {
                PacketStatusChunk::RunLengthChunk(r) => out.extend(std::iter::repeat_n(
                    r.packet_status_symbol,
                    r.run_length.into(),
                )),
                PacketStatusChunk::StatusVectorChunk(v) => out.extend(&v.symbol_list),
            }
        }
        out.truncate(fb.packet_status_count.into());
        out
    }

    /// Arrival times (µs) the feedback reports, received packets only.
    fn arrivals(fb: &TransportLayerCc) -> Vec<i64> {
        let mut t = i64::from(fb.reference_time) * 64_000;
        fb.recv_deltas
            .iter()
            .map(|d| {
                t += d.delta;
                t
            })
            .collect()
    }

    /// Marshals and parses back: what the SFU reads is what we built.
    fn wire(fb: &TransportLayerCc) -> TransportLayerCc {
        let bytes = fb.marshal().unwrap();
        assert_eq!(bytes.len() % 4, 0);
        let mut b = &bytes[..];
        let back = TransportLayerCc::unmarshal(&mut b).unwrap();
        assert_eq!(back.header(), fb.header());
        back
    }

    const T0: u64 = 10 * 64_000 + 1_000;

    #[test]
    fn a_clean_run_is_one_run_length_chunk_of_small_deltas() {
        let mut a = Arrivals::default();
        for i in 0..20u16 {
            a.record(100 + i, T0 + u64::from(i) * 1_000);
        }
        let fb = wire(&a.feedback(1, 2).unwrap());
        assert_eq!(fb.base_sequence_number, 100);
        assert_eq!(fb.packet_status_count, 20);
        assert_eq!(fb.reference_time, 10);
        assert_eq!(statuses(&fb), vec![Small; 20]);
        assert_eq!(fb.packet_chunks.len(), 1);
        let want: Vec<i64> = (0..20).map(|i| T0 as i64 + i * 1_000).collect();
        assert_eq!(arrivals(&fb), want);
        assert!(a.feedback(1, 2).is_none(), "nothing new: no feedback");
    }

    #[test]
    fn losses_are_reported_not_received_and_the_next_feedback_starts_after() {
        let mut a = Arrivals::default();
        for seq in [1u16, 2, 5, 6] {
            a.record(seq, T0 + u64::from(seq) * 500);
        }
        let fb = wire(&a.feedback(1, 2).unwrap());
        assert_eq!(fb.base_sequence_number, 1);
        assert_eq!(statuses(&fb), vec![Small, Small, Lost, Lost, Small, Small]);
        assert_eq!(arrivals(&fb).len(), 4);
        assert_eq!(arrivals(&fb)[2], T0 as i64 + 2_500);
        // 3 arrives late, after its feedback: ignored. 7 missing, 8 arrives.
        a.record(3, T0 + 4_000);
        a.record(8, T0 + 4_500);
        let fb = wire(&a.feedback(1, 2).unwrap());
        assert_eq!(fb.base_sequence_number, 7);
        assert_eq!(statuses(&fb), vec![Lost, Small]);
        assert_eq!(fb.fb_pkt_count, 1);
    }

    #[test]
    fn reordered_arrivals_give_a_negative_large_delta() {
        let mut a = Arrivals::default();
        a.record(10, T0);
        a.record(12, T0 + 2_000);
        a.record(11, T0 + 3_000);
        let fb = wire(&a.feedback(1, 2).unwrap());
        assert_eq!(statuses(&fb), vec![Small, Small, Large]);
        assert_eq!(
            arrivals(&fb),
            vec![T0 as i64, T0 as i64 + 3_000, T0 as i64 + 2_000]
        );
        assert_eq!(fb.recv_deltas[2].delta, -1_000);
    }

    #[test]
    fn a_gap_over_64_ms_is_a_large_delta_and_mixed_statuses_use_two_bit_vectors() {
        let mut a = Arrivals::default();
        a.record(0, T0);
        a.record(2, T0 + 100_000);
        a.record(3, T0 + 100_250);
        let fb = wire(&a.feedback(1, 2).unwrap());
        assert_eq!(statuses(&fb), vec![Small, Lost, Large, Small]);
        assert!(matches!(
            &fb.packet_chunks[0],
            PacketStatusChunk::StatusVectorChunk(v) if v.symbol_size == SymbolSizeTypeTcc::TwoBit
        ));
        assert_eq!(arrivals(&fb)[1], T0 as i64 + 100_000);
    }

    #[test]
    fn sequence_numbers_wrap_without_a_gap() {
        let mut a = Arrivals::default();
        for (i, seq) in [65_534u16, 65_535, 0, 1].into_iter().enumerate() {
            a.record(seq, T0 + i as u64 * 1_000);
        }
        let fb = wire(&a.feedback(1, 2).unwrap());
        assert_eq!(fb.base_sequence_number, 65_534);
        assert_eq!(statuses(&fb), vec![Small; 4]);
    }

    #[test]
    fn long_mixed_sequences_survive_the_wire() {
        let mut a = Arrivals::default();
        // 0..190, every 7th lost, every 50th 70 ms late.
        let mut want = Vec::new();
        let mut t = T0;
        for seq in 0..190u16 {
            t += if seq % 50 == 49 { 70_000 } else { 400 };
            if seq % 7 == 3 {
                want.push(Lost);
                continue;
            }
            want.push(if seq % 50 == 49 { Large } else { Small });
            a.record(seq, t);
        }
        let fb = a.feedback(9, 9).unwrap();
        let back = wire(&fb);
        assert_eq!(statuses(&back), want);
        assert_eq!(arrivals(&back), arrivals(&fb));
        assert_eq!(
            back.recv_deltas.len(),
            want.iter().filter(|s| **s != Lost).count()
        );
    }

    fn rtp_with_extension(ext: &[u8], profile: u16) -> Vec<u8> {
        let mut b = vec![0x90, 96, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        b.extend_from_slice(&profile.to_be_bytes());
        b.extend_from_slice(&((ext.len() / 4) as u16).to_be_bytes());
        b.extend_from_slice(ext);
        b.extend_from_slice(&[0xAA; 10]);
        b
    }

    #[test]
    fn the_sequence_number_is_read_from_one_and_two_byte_extensions() {
        // mid (id 1, "0"), padding, transport-cc (id 3) = 0x1234.
        let one = rtp_with_extension(&[0x10, b'0', 0, 0x31, 0x12, 0x34, 0, 0], 0xBEDE);
        assert_eq!(transport_seq(&one, 3), Some(0x1234));
        assert_eq!(transport_seq(&one, 5), None);
        let two = rtp_with_extension(&[1, 1, b'0', 3, 2, 0xAB, 0xCD, 0], 0x1000);
        assert_eq!(transport_seq(&two, 3), Some(0xABCD));
        // No extension bit; a header cut short.
        let mut plain = one.clone();
        plain[0] = 0x80;
        assert_eq!(transport_seq(&plain, 3), None);
        assert_eq!(transport_seq(&one[..18], 3), None);
    }
}
