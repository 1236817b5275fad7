//! Just enough codec knowledge to forward: is this RTP payload the first packet of a keyframe?
//!
//! A subscriber can only start (or switch layer) on a keyframe; starting anywhere else shows
//! grey smears until the next one. Parsing follows RFC 7741 (VP8) and RFC 6184 (H.264).
//! Malformed payloads answer `false`, never panic: payloads come from untrusted browsers.

/// Video codecs the SFU forwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoCodec {
    /// VP8, the preferred codec.
    Vp8,
    /// H.264, negotiated for clients that prefer it.
    H264,
}

/// Whether `payload` starts a keyframe of `codec`.
pub fn is_keyframe_start(codec: VideoCodec, payload: &[u8]) -> bool {
    match codec {
        VideoCodec::Vp8 => vp8_keyframe_start(payload),
        VideoCodec::H264 => h264_keyframe_start(payload),
    }
}

/// See [`crate::vp8::parse`]: the descriptor, then the VP8 payload header's keyframe bit.
fn vp8_keyframe_start(p: &[u8]) -> bool {
    crate::vp8::parse(p).is_some_and(|d| d.keyframe)
}

const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_STAP_A: u8 = 24;
const NAL_FU_A: u8 = 28;

/// An IDR slice or the SPS that precedes it, alone, in a STAP-A aggregate, or as the first
/// fragment of an FU-A.
fn h264_keyframe_start(p: &[u8]) -> bool {
    let Some(&b0) = p.first() else { return false };
    match b0 & 0x1F {
        NAL_IDR | NAL_SPS => true,
        NAL_STAP_A => {
            let mut i = 1;
            while i + 2 < p.len() {
                let size = u16::from_be_bytes([p[i], p[i + 1]]) as usize;
                let Some(&nal) = p.get(i + 2) else {
                    return false;
                };
                if matches!(nal & 0x1F, NAL_IDR | NAL_SPS) {
                    return true;
                }
                i += 2 + size;
            }
            false
        }
        NAL_FU_A => p
            .get(1)
            .is_some_and(|h| h & 0x80 != 0 && matches!(h & 0x1F, NAL_IDR | NAL_SPS)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vp8_keyframe_with_extended_descriptor_is_detected() {
        // X=1 S=1 PID=0 | I=1 | M=1 picture id 15 bits | payload header, keyframe bit 0.
        let p = [0x90, 0x80, 0x80 | 0x12, 0x34, 0x10, 0x02, 0x00];
        assert!(is_keyframe_start(VideoCodec::Vp8, &p));
    }

    #[test]
    fn vp8_delta_frame_and_continuation_are_not_keyframes() {
        let delta = [0x90, 0x80, 0x12, 0x11];
        assert!(!is_keyframe_start(VideoCodec::Vp8, &delta));
        let continuation = [0x80, 0x80, 0x12, 0x10];
        assert!(!is_keyframe_start(VideoCodec::Vp8, &continuation));
        let other_partition = [0x11, 0x10];
        assert!(!is_keyframe_start(VideoCodec::Vp8, &other_partition));
    }

    #[test]
    fn vp8_short_descriptor_keyframe() {
        assert!(is_keyframe_start(VideoCodec::Vp8, &[0x10, 0x50]));
    }

    #[test]
    fn truncated_payloads_are_not_keyframes() {
        for p in [&[][..], &[0x90], &[0x90, 0x80], &[0x90, 0x80, 0x80]] {
            assert!(!is_keyframe_start(VideoCodec::Vp8, p));
        }
        for p in [&[][..], &[0x1C], &[0x18, 0x00]] {
            assert!(!is_keyframe_start(VideoCodec::H264, p));
        }
    }

    #[test]
    fn h264_idr_sps_stap_and_fu_a() {
        assert!(is_keyframe_start(VideoCodec::H264, &[0x65, 0x88]));
        assert!(is_keyframe_start(VideoCodec::H264, &[0x67, 0x42]));
        assert!(!is_keyframe_start(VideoCodec::H264, &[0x41, 0x9a]));
        // STAP-A holding SPS (2 bytes) then PPS.
        let stap = [0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce];
        assert!(is_keyframe_start(VideoCodec::H264, &stap));
        let stap_no_idr = [0x78, 0x00, 0x02, 0x41, 0x00];
        assert!(!is_keyframe_start(VideoCodec::H264, &stap_no_idr));
        // FU-A start of IDR, and a middle fragment.
        assert!(is_keyframe_start(VideoCodec::H264, &[0x7C, 0x85, 0x00]));
        assert!(!is_keyframe_start(VideoCodec::H264, &[0x7C, 0x05, 0x00]));
    }
}
