//! What the tap reads of a datagram without keys: RFC 7983 demultiplexing and the RTP fixed
//! header, which SRTP leaves in the clear; and which packets go on to be decrypted.
//!
//! Pure: bytes in, decisions out.

/// One packet in this many per stream is decrypted and checked once the stream is proven.
pub const SAMPLE_EVERY: u16 = 16;

/// The clear-text fields of an RTP header (RFC 3550 5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    /// Payload type.
    pub payload_type: u8,
    /// Sequence number.
    pub seq: u16,
    /// Media timestamp.
    pub timestamp: u32,
    /// Stream.
    pub ssrc: u32,
}

/// What a datagram on a WebRTC 5-tuple is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datagram {
    /// SRTP media: its header can be read.
    Rtp(RtpHeader),
    /// STUN, DTLS, SRTCP, or anything unparsable: for the peer connection.
    Other,
}

/// Classifies a datagram: RTP/RTCP start with version 2 (first byte 128..=191, RFC 7983);
/// RTCP packet types 192..=223 occupy RTP payload types 64..=95 (RFC 5761 4).
pub fn classify(b: &[u8]) -> Datagram {
    if b.len() < 12 || !(128..=191).contains(&b[0]) {
        return Datagram::Other;
    }
    let payload_type = b[1] & 0x7f;
    if (64..=95).contains(&payload_type) {
        return Datagram::Other;
    }
    Datagram::Rtp(RtpHeader {
        payload_type,
        seq: u16::from_be_bytes([b[2], b[3]]),
        timestamp: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        ssrc: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
    })
}

/// Whether a media packet goes on to the decrypting peer connection: every packet of a
/// stream until its payload has been proven once (the first keyframe for video, so the time
/// to the first picture is measured on the decrypted packet), then one in [`SAMPLE_EVERY`].
pub fn sampled(seq: u16, proven: bool) -> bool {
    !proven || seq.is_multiple_of(SAMPLE_EVERY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rtp(pt: u8, seq: u16, ts: u32, ssrc: u32) -> Vec<u8> {
        let mut b = vec![0x80, pt];
        b.extend_from_slice(&seq.to_be_bytes());
        b.extend_from_slice(&ts.to_be_bytes());
        b.extend_from_slice(&ssrc.to_be_bytes());
        b.extend_from_slice(&[0xAA; 20]);
        b
    }

    #[test]
    fn an_rtp_header_is_read_in_the_clear() {
        let b = rtp(0x80 | 96, 0xBEEF, 0x0102_0304, 0xCAFE_F00D);
        assert_eq!(
            classify(&b),
            Datagram::Rtp(RtpHeader {
                payload_type: 96,
                seq: 0xBEEF,
                timestamp: 0x0102_0304,
                ssrc: 0xCAFE_F00D,
            })
        );
    }

    #[test]
    fn rtcp_stun_dtls_and_runts_go_to_the_peer() {
        // SRTCP receiver report (PT 201), sender report (200).
        assert_eq!(classify(&rtp(201, 1, 2, 3)), Datagram::Other);
        assert_eq!(classify(&rtp(200, 1, 2, 3)), Datagram::Other);
        // STUN binding request (first byte 0), DTLS handshake (22).
        let mut stun = rtp(96, 1, 2, 3);
        stun[0] = 0x00;
        assert_eq!(classify(&stun), Datagram::Other);
        let mut dtls = rtp(96, 1, 2, 3);
        dtls[0] = 22;
        assert_eq!(classify(&dtls), Datagram::Other);
        assert_eq!(classify(&[0x80, 96, 0, 1]), Datagram::Other);
    }

    #[test]
    fn a_stream_is_decrypted_whole_until_proven_then_one_in_sixteen() {
        assert!((0..100u16).all(|s| sampled(s, false)));
        let n = (0..=u16::MAX).filter(|s| sampled(*s, true)).count();
        assert_eq!(n, 65_536 / usize::from(SAMPLE_EVERY));
        assert!(sampled(32, true) && !sampled(33, true));
    }
}
