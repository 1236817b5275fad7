//! Telling retransmissions (RTX, RFC 4588) apart among the datagrams the SFU sends, so
//! `diemcau_sfu_rtx_packets_sent_total` shows that NACKs were answered.
//!
//! str0m counts resent packets but does not report them, so the count is taken on the wire:
//! the RTP header of an SRTP packet is in the clear, and an RTX packet carries the RTX
//! payload type negotiated for its codec (`a=rtpmap:<pt> rtx/90000`). Padding-only packets
//! on the RTX stream (str0m's bandwidth probes, the RTP padding bit set) are not counted;
//! str0m may also probe by resending a recent packet, which looks like a NACK's answer and
//! is counted (the metric's help says so).
//!
//! Pure: bytes in, a decision out.

use str0m::media::Pt;

/// The RTX payload types negotiated on one peer connection (0–127, a bit each).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RtxPts(u128);

impl RtxPts {
    /// The set of `pts` (each codec's `resend()` payload type).
    pub fn of(pts: impl IntoIterator<Item = Pt>) -> Self {
        RtxPts(
            pts.into_iter()
                .map(|pt| *pt)
                .filter(|&pt| pt < 128)
                .fold(0, |bits, pt| bits | (1u128 << pt)),
        )
    }

    fn contains(self, pt: u8) -> bool {
        pt < 128 && self.0 & (1u128 << pt) != 0
    }

    /// Whether `datagram` is an RTP packet on one of these RTX payload types that carries a
    /// payload (a retransmitted packet, not padding).
    pub fn is_retransmission(self, datagram: &[u8]) -> bool {
        let [b0, b1, ..] = *datagram else {
            return false;
        };
        // RTP version 2 (STUN starts 0–3, DTLS 20–63); the fixed header is 12 bytes.
        if b0 >> 6 != 2 || datagram.len() < 12 {
            return false;
        }
        let pt = b1 & 0x7f;
        // RTCP on the same port has packet types 192–223, i.e. 64–95 without the marker bit.
        if (64..=95).contains(&pt) {
            return false;
        }
        let padding = b0 & 0x20 != 0;
        !padding && self.contains(pt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An RTP header with `pt`, the marker and padding bits as given, and a payload.
    fn rtp(pt: u8, marker: bool, padding: bool) -> Vec<u8> {
        let mut p = vec![
            0x80 | if padding { 0x20 } else { 0 },
            pt | if marker { 0x80 } else { 0 },
        ];
        p.extend_from_slice(&[0, 1, 0, 0, 0, 2, 0, 0, 0, 3]);
        p.extend_from_slice(&[0xAB; 40]);
        p
    }

    fn set() -> RtxPts {
        RtxPts::of([Pt::from(97), Pt::from(103)])
    }

    #[test]
    fn a_packet_on_an_rtx_payload_type_is_a_retransmission() {
        assert!(set().is_retransmission(&rtp(97, false, false)));
        assert!(set().is_retransmission(&rtp(103, true, false)));
    }

    #[test]
    fn a_packet_on_a_media_payload_type_is_not() {
        assert!(!set().is_retransmission(&rtp(96, false, false)));
        assert!(!set().is_retransmission(&rtp(111, true, false)));
        assert!(!RtxPts::default().is_retransmission(&rtp(97, false, false)));
    }

    #[test]
    fn padding_only_probes_on_the_rtx_stream_are_not_counted() {
        assert!(!set().is_retransmission(&rtp(97, false, true)));
    }

    #[test]
    fn rtcp_stun_dtls_and_short_datagrams_are_not_retransmissions() {
        // RTCP receiver report (PT 201 = 0x80 | 73): the low seven bits fall in 64–95.
        let rtx_with_rtcp_bits = RtxPts::of([Pt::from(73)]);
        let mut rr = vec![0x81, 201];
        rr.extend_from_slice(&[0; 30]);
        assert!(!rtx_with_rtcp_bits.is_retransmission(&rr));
        let mut stun = vec![0x00, 0x01];
        stun.extend_from_slice(&[0; 30]);
        assert!(!set().is_retransmission(&stun));
        let mut dtls = vec![23, 0xfe];
        dtls.extend_from_slice(&[0; 30]);
        assert!(!set().is_retransmission(&dtls));
        assert!(!set().is_retransmission(&rtp(97, false, false)[..11]));
        assert!(!set().is_retransmission(&[]));
    }
}
