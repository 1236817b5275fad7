//! The VP8 payload descriptor (RFC 7741 section 4.2): what the SFU needs to drop temporal
//! layers and keep the stream it forwards decodable.
//!
//! ```text
//!       +-+-+-+-+-+-+-+-+
//!       |X|R|N|S|R| PID | required
//!       +-+-+-+-+-+-+-+-+
//!  X:   |I|L|T|K| RSV   |
//!       +-+-+-+-+-+-+-+-+
//!  I:   |M| PictureID   | 7 bits, or 15 with the next octet when M is set
//!       +-+-+-+-+-+-+-+-+
//!  L:   |   TL0PICIDX   |
//!       +-+-+-+-+-+-+-+-+
//!  T/K: |TID|Y| KEYIDX  |
//!       +-+-+-+-+-+-+-+-+
//! ```
//!
//! Every packet of a frame carries the same descriptor fields (libwebrtc writes them all on
//! each packet), so a packet whose frame start was lost upstream still says its layer.
//!
//! Pure; malformed or truncated payloads parse as `None`, never panic: payloads come from
//! untrusted browsers.

/// A VP8 PictureID as carried: 7 or 15 bits wide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PictureId {
    /// The value, below 2^7 or 2^15.
    pub value: u16,
    /// Whether the field is 15 bits wide (M bit set). libwebrtc always sends 15 bits.
    pub long: bool,
}

impl PictureId {
    /// The number of values of this width (128 or 32768).
    pub fn modulus(self) -> u16 {
        if self.long {
            0x8000
        } else {
            0x80
        }
    }
}

/// The fields of one packet's VP8 payload descriptor the forwarding needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Descriptor {
    /// First packet of a frame (S set on partition 0).
    pub frame_start: bool,
    /// First packet of a keyframe (frame start whose VP8 payload header has P = 0).
    pub keyframe: bool,
    /// PictureID, when the sender numbers its pictures (I).
    pub picture_id: Option<PictureId>,
    /// Running index of base-layer (TL0) frames (L).
    pub tl0_pic_idx: Option<u8>,
    /// Temporal layer of the frame (T); `None` when the stream has no temporal layers.
    pub tid: Option<u8>,
    /// Layer sync (Y): the frame references only the base layer, so forwarding of its
    /// temporal layer can start here.
    pub layer_sync: bool,
}

const X: u8 = 0x80;
const S: u8 = 0x10;
const PID: u8 = 0x07;
const I: u8 = 0x80;
const L: u8 = 0x40;
const T: u8 = 0x20;
const K: u8 = 0x10;
const M: u8 = 0x80;
const Y: u8 = 0x20;

/// Parses the descriptor at the start of an RTP payload. `None` when the payload ends
/// inside the descriptor or carries no VP8 data after it.
#[inline]
pub fn parse(p: &[u8]) -> Option<Descriptor> {
    let b0 = *p.first()?;
    let mut d = Descriptor {
        frame_start: b0 & S != 0 && b0 & PID == 0,
        keyframe: false,
        picture_id: None,
        tl0_pic_idx: None,
        tid: None,
        layer_sync: false,
    };
    let mut i = 1;
    if b0 & X != 0 {
        let x = *p.get(i)?;
        i += 1;
        if x & I != 0 {
            let hi = *p.get(i)?;
            i += 1;
            d.picture_id = Some(if hi & M != 0 {
                let lo = *p.get(i)?;
                i += 1;
                PictureId {
                    value: u16::from(hi & 0x7F) << 8 | u16::from(lo),
                    long: true,
                }
            } else {
                PictureId {
                    value: u16::from(hi),
                    long: false,
                }
            });
        }
        if x & L != 0 {
            d.tl0_pic_idx = Some(*p.get(i)?);
            i += 1;
        }
        if x & (T | K) != 0 {
            let tyk = *p.get(i)?;
            i += 1;
            if x & T != 0 {
                d.tid = Some(tyk >> 6);
                d.layer_sync = tyk & Y != 0;
            }
        }
    }
    // The VP8 payload header's lowest bit (P) is 0 on a keyframe; only partition 0's start
    // carries that header.
    let header = *p.get(i)?;
    d.keyframe = d.frame_start && header & 0x01 == 0;
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    // First packets of frames as Chromium 156 sends simulcast VP8 (L1T3), captured at the
    // SFU: X and S (and N on T2 frames, which nothing references); I, L, T; a 15-bit
    // PictureID; TL0PICIDX; TID/Y; then the VP8 payload header.
    const T1_SYNC: [u8; 10] = [0x90, 0xE0, 0xB9, 0xF1, 0xF6, 0x60, 0xB1, 0x0A, 0x00, 0x16];
    const T2: [u8; 10] = [0xB0, 0xE0, 0xB9, 0xF8, 0xF8, 0x80, 0x91, 0x0B, 0x00, 0x26];
    const KEYFRAME: [u8; 10] = [0x90, 0xE0, 0xB9, 0xFF, 0xFA, 0x20, 0xF0, 0x25, 0x00, 0x9D];
    const T0: [u8; 10] = [0x90, 0xE0, 0xBA, 0x06, 0xFC, 0x00, 0xB1, 0x14, 0x00, 0xE4];

    #[test]
    fn chromium_temporal_descriptors_parse_every_field() {
        let d = parse(&T1_SYNC).unwrap();
        assert_eq!(
            d,
            Descriptor {
                frame_start: true,
                keyframe: false,
                picture_id: Some(PictureId {
                    value: 14833,
                    long: true
                }),
                tl0_pic_idx: Some(246),
                tid: Some(1),
                layer_sync: true,
            }
        );
        let d = parse(&T2).unwrap();
        assert_eq!(
            (d.tid, d.layer_sync, d.tl0_pic_idx),
            (Some(2), false, Some(248))
        );
        assert_eq!(d.picture_id.map(|p| p.value), Some(14840));
        let d = parse(&T0).unwrap();
        assert_eq!((d.tid, d.layer_sync, d.keyframe), (Some(0), false, false));
        assert_eq!(d.picture_id.map(|p| p.value), Some(14854));
    }

    #[test]
    fn keyframe_is_tid_0_with_layer_sync() {
        let d = parse(&KEYFRAME).unwrap();
        assert!(d.keyframe && d.frame_start);
        assert_eq!(
            (d.tid, d.layer_sync, d.tl0_pic_idx),
            (Some(0), true, Some(250))
        );
        assert_eq!(
            d.picture_id,
            Some(PictureId {
                value: 14847,
                long: true
            })
        );
    }

    #[test]
    fn continuation_packet_keeps_the_frame_fields_but_starts_nothing() {
        // S = 0: a middle packet of the T1 frame above.
        let mut p = T1_SYNC;
        p[0] = 0x80;
        let d = parse(&p).unwrap();
        assert!(!d.frame_start && !d.keyframe);
        assert_eq!((d.tid, d.layer_sync), (Some(1), true));
        // S on a later partition is no frame start either.
        p[0] = 0x91;
        assert!(!parse(&p).unwrap().frame_start);
    }

    #[test]
    fn seven_bit_picture_id_and_no_temporal_fields() {
        let p = [0x90, 0x80, 0x7F, 0x31];
        let d = parse(&p).unwrap();
        assert_eq!(
            d.picture_id,
            Some(PictureId {
                value: 0x7F,
                long: false
            })
        );
        assert_eq!((d.tid, d.tl0_pic_idx, d.layer_sync), (None, None, false));
        assert_eq!(d.picture_id.unwrap().modulus(), 128);
    }

    #[test]
    fn keyidx_without_tid_is_no_temporal_layer() {
        // K only: the T/K octet is present but TID means nothing.
        let p = [0x90, 0x10, 0xE5, 0x31];
        let d = parse(&p).unwrap();
        assert_eq!((d.tid, d.layer_sync), (None, false));
    }

    #[test]
    fn minimal_descriptor_has_no_extension() {
        let d = parse(&[0x10, 0x50]).unwrap();
        assert!(d.frame_start && d.keyframe);
        assert_eq!(d.picture_id, None);
    }

    #[test]
    fn truncated_descriptors_are_refused() {
        // The descriptor is 6 bytes; without a byte of VP8 data after it there is no packet.
        for n in 0..=6 {
            assert_eq!(parse(&T1_SYNC[..n]), None, "{n} bytes");
        }
        assert!(parse(&T1_SYNC[..7]).is_some());
    }
}
