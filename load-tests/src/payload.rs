//! The synthetic media format: what a simulated site puts inside its RTP payloads, and how a
//! receiver reads it back.
//!
//! Video payloads are real VP8 RTP payloads as far as an SFU looks (RFC 7741): a payload
//! descriptor with a 15-bit picture id, and on the first packet of a frame the VP8 frame tag
//! (keyframe bit, show-frame bit) plus, for keyframes, the start code and the frame size. Audio
//! payloads start with an Opus TOC byte (20 ms, full band). Right after those headers every
//! packet carries a [`Marker`]: which site sent it, which stream and layer, and when, so a
//! receiver measures loss, layer and end-to-end latency without decoding anything. The rest is
//! filler up to a realistic size.
//!
//! Parsing never panics: a payload that does not follow this format is a [`PayloadError`],
//! counted by the receiver as a decode error.

use thiserror::Error;

/// First bytes of every marker; a payload without them was not made by a simulated site.
pub const MAGIC: [u8; 2] = [0xD1, 0xE3];

/// Size of a [`Marker`] on the wire.
pub const MARKER_LEN: usize = 16;

/// Size of the VP8 payload descriptor we write: X, I with a 15-bit picture id.
pub const VP8_DESCRIPTOR_LEN: usize = 4;

/// VP8 frame tag (3 bytes), plus start code and size (7 bytes) on keyframes.
pub const VP8_KEY_HEADER_LEN: usize = 10;
/// VP8 frame tag of an interframe.
pub const VP8_DELTA_HEADER_LEN: usize = 3;

/// Opus TOC byte: config 31 (CELT full band, 20 ms), mono, one frame.
pub const OPUS_TOC: u8 = 0xF8;

/// A simulcast layer, named by the rid the web client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// rid `q`: quarter size, ~150 kbit/s.
    Low,
    /// rid `h`: half size, ~500 kbit/s.
    Mid,
    /// rid `f`: full size, ~1.5 Mbit/s.
    High,
}

impl Layer {
    /// Every layer, lowest first.
    pub const ALL: [Layer; 3] = [Layer::Low, Layer::Mid, Layer::High];

    /// The simulcast rid.
    pub fn rid(self) -> &'static str {
        match self {
            Layer::Low => "q",
            Layer::Mid => "h",
            Layer::High => "f",
        }
    }

    /// Index, 0 for the lowest.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The protocol's name (`low`, `mid`, `high`).
    pub fn name(self) -> &'static str {
        match self {
            Layer::Low => "low",
            Layer::Mid => "mid",
            Layer::High => "high",
        }
    }

    /// From the protocol's name; `none` and anything else is `None`.
    pub fn from_name(name: &str) -> Option<Layer> {
        match name {
            "low" => Some(Layer::Low),
            "mid" => Some(Layer::Mid),
            "high" => Some(Layer::High),
            _ => None,
        }
    }

    /// Picture size a browser sends on this layer (720p camera).
    pub fn size(self) -> (u16, u16) {
        match self {
            Layer::Low => (320, 180),
            Layer::Mid => (640, 360),
            Layer::High => (1280, 720),
        }
    }
}

/// Which of a site's streams a packet belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// Microphone.
    Audio,
    /// Camera, one simulcast layer.
    Camera(Layer),
}

impl Stream {
    fn code(self) -> u8 {
        match self {
            Stream::Audio => 0,
            Stream::Camera(l) => 1 + l as u8,
        }
    }

    fn from_code(c: u8) -> Option<Stream> {
        Some(match c {
            0 => Stream::Audio,
            1 => Stream::Camera(Layer::Low),
            2 => Stream::Camera(Layer::Mid),
            3 => Stream::Camera(Layer::High),
            _ => return None,
        })
    }
}

/// What every synthetic packet says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    /// Index of the sending site in the scenario (0 is the chair).
    pub source: u16,
    /// The stream.
    pub stream: Stream,
    /// The packet starts a keyframe.
    pub keyframe: bool,
    /// Frame counter of the stream (wrapping).
    pub frame: u16,
    /// When the sender handed it to its peer connection, [`crate::clock::micros`].
    pub sent_us: u64,
}

impl Marker {
    /// Writes the marker into the first [`MARKER_LEN`] bytes of `out`.
    pub fn write(&self, out: &mut [u8]) {
        out[..2].copy_from_slice(&MAGIC);
        out[2..4].copy_from_slice(&self.source.to_be_bytes());
        out[4] = self.stream.code();
        out[5] = u8::from(self.keyframe);
        out[6..8].copy_from_slice(&self.frame.to_be_bytes());
        out[8..16].copy_from_slice(&self.sent_us.to_be_bytes());
    }

    /// Reads a marker from the start of `b`.
    pub fn read(b: &[u8]) -> Result<Marker, PayloadError> {
        let b = b.get(..MARKER_LEN).ok_or(PayloadError::Truncated)?;
        if b[..2] != MAGIC {
            return Err(PayloadError::NoMarker);
        }
        Ok(Marker {
            source: u16::from_be_bytes([b[2], b[3]]),
            stream: Stream::from_code(b[4]).ok_or(PayloadError::BadStream(b[4]))?,
            keyframe: b[5] != 0,
            frame: u16::from_be_bytes([b[6], b[7]]),
            sent_us: u64::from_be_bytes(b[8..16].try_into().expect("8 bytes")),
        })
    }
}

/// Why a received payload could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PayloadError {
    /// Shorter than its headers say.
    #[error("payload truncated")]
    Truncated,
    /// The marker's magic bytes are not where they should be.
    #[error("no marker where expected")]
    NoMarker,
    /// Unknown stream code.
    #[error("unknown stream code {0}")]
    BadStream(u8),
    /// The VP8 keyframe header lacks its start code.
    #[error("VP8 keyframe without start code")]
    BadKeyframe,
    /// The audio payload does not start with our Opus TOC byte.
    #[error("unexpected Opus TOC byte {0:#04x}")]
    BadToc(u8),
}

/// The VP8 payload descriptor: X=1, S on the first packet of a frame, partition 0, I=1 with
/// a 15-bit picture id.
pub fn vp8_descriptor(start: bool, picture_id: u16) -> [u8; VP8_DESCRIPTOR_LEN] {
    let pid = picture_id & 0x7FFF;
    [
        0x80 | if start { 0x10 } else { 0 },
        0x80,
        0x80 | (pid >> 8) as u8,
        pid as u8,
    ]
}

/// The VP8 frame header at the start of a frame: the 3-byte frame tag (RFC 6386 9.1) and, for
/// keyframes, start code and size. Returns the bytes and how many of them are used.
pub fn vp8_frame_header(
    keyframe: bool,
    size: (u16, u16),
    first_partition: u32,
) -> ([u8; VP8_KEY_HEADER_LEN], usize) {
    // Bit 0: 0 = keyframe; bits 1-3 version 0; bit 4 show_frame; bits 5-23 partition size.
    let tag = u32::from(!keyframe) | (1 << 4) | ((first_partition & 0x7_FFFF) << 5);
    let mut h = [0u8; VP8_KEY_HEADER_LEN];
    h[..3].copy_from_slice(&tag.to_le_bytes()[..3]);
    if !keyframe {
        return (h, VP8_DELTA_HEADER_LEN);
    }
    h[3..6].copy_from_slice(&[0x9D, 0x01, 0x2A]);
    h[6..8].copy_from_slice(&(size.0 & 0x3FFF).to_le_bytes());
    h[8..10].copy_from_slice(&(size.1 & 0x3FFF).to_le_bytes());
    (h, VP8_KEY_HEADER_LEN)
}

/// What a received VP8 packet says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vp8Packet {
    /// First packet of a frame.
    pub start: bool,
    /// First packet of a keyframe.
    pub keyframe: bool,
    /// Picture size, from a keyframe header.
    pub size: Option<(u16, u16)>,
    /// The synthetic marker.
    pub marker: Marker,
}

/// Reads a VP8 RTP payload made by [`crate::synth`] (any valid descriptor form is accepted).
pub fn parse_video(p: &[u8]) -> Result<Vp8Packet, PayloadError> {
    let b0 = *p.first().ok_or(PayloadError::Truncated)?;
    let start = b0 & 0x10 != 0 && b0 & 0x07 == 0;
    let mut i = 1;
    if b0 & 0x80 != 0 {
        let x = *p.get(i).ok_or(PayloadError::Truncated)?;
        i += 1;
        if x & 0x80 != 0 {
            let pid = *p.get(i).ok_or(PayloadError::Truncated)?;
            i += if pid & 0x80 != 0 { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            i += 1;
        }
        if x & 0x30 != 0 {
            i += 1;
        }
    }
    let mut keyframe = false;
    let mut size = None;
    if start {
        let tag = *p.get(i).ok_or(PayloadError::Truncated)?;
        keyframe = tag & 0x01 == 0;
        if keyframe {
            let h = p
                .get(i..i + VP8_KEY_HEADER_LEN)
                .ok_or(PayloadError::Truncated)?;
            if h[3..6] != [0x9D, 0x01, 0x2A] {
                return Err(PayloadError::BadKeyframe);
            }
            size = Some((
                u16::from_le_bytes([h[6], h[7]]) & 0x3FFF,
                u16::from_le_bytes([h[8], h[9]]) & 0x3FFF,
            ));
            i += VP8_KEY_HEADER_LEN;
        } else {
            i += VP8_DELTA_HEADER_LEN;
        }
    }
    let marker = Marker::read(p.get(i..).ok_or(PayloadError::Truncated)?)?;
    Ok(Vp8Packet {
        start,
        keyframe,
        size,
        marker,
    })
}

/// Reads an Opus payload made by [`crate::synth`].
pub fn parse_audio(p: &[u8]) -> Result<Marker, PayloadError> {
    let toc = *p.first().ok_or(PayloadError::Truncated)?;
    if toc != OPUS_TOC {
        return Err(PayloadError::BadToc(toc));
    }
    Marker::read(&p[1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(stream: Stream, keyframe: bool) -> Marker {
        Marker {
            source: 417,
            stream,
            keyframe,
            frame: 65_000,
            sent_us: 123_456_789_012,
        }
    }

    fn video_payload(keyframe: bool, start: bool, layer: Layer) -> Vec<u8> {
        let mut p = vp8_descriptor(start, 0x1234).to_vec();
        if start {
            let (h, n) = vp8_frame_header(keyframe, layer.size(), 700);
            p.extend_from_slice(&h[..n]);
        }
        let mut m = [0u8; MARKER_LEN];
        marker(Stream::Camera(layer), keyframe && start).write(&mut m);
        p.extend_from_slice(&m);
        p.extend_from_slice(&[0u8; 100]);
        p
    }

    #[test]
    fn marker_round_trips() {
        for s in [
            Stream::Audio,
            Stream::Camera(Layer::Low),
            Stream::Camera(Layer::High),
        ] {
            let m = marker(s, true);
            let mut b = [0u8; MARKER_LEN];
            m.write(&mut b);
            assert_eq!(Marker::read(&b), Ok(m));
        }
    }

    #[test]
    fn keyframe_start_is_read_with_its_size() {
        let p = parse_video(&video_payload(true, true, Layer::Mid)).unwrap();
        assert!(p.start && p.keyframe);
        assert_eq!(p.size, Some((640, 360)));
        assert_eq!(p.marker.stream, Stream::Camera(Layer::Mid));
    }

    #[test]
    fn delta_frames_and_continuations_are_not_keyframes() {
        let delta = parse_video(&video_payload(false, true, Layer::High)).unwrap();
        assert!(delta.start && !delta.keyframe);
        let cont = parse_video(&video_payload(true, false, Layer::High)).unwrap();
        assert!(!cont.start && !cont.keyframe);
        assert_eq!(cont.marker.sent_us, 123_456_789_012);
    }

    #[test]
    fn foreign_and_truncated_payloads_are_errors_not_panics() {
        assert_eq!(parse_video(&[]), Err(PayloadError::Truncated));
        assert_eq!(parse_video(&[0x90, 0x80]), Err(PayloadError::Truncated));
        assert_eq!(
            parse_video(&[0x10, 0x01, 0, 0, 0xAA, 0xBB]),
            Err(PayloadError::Truncated)
        );
        let mut p = video_payload(false, false, Layer::Low);
        p[VP8_DESCRIPTOR_LEN] = 0;
        assert_eq!(parse_video(&p), Err(PayloadError::NoMarker));
        assert_eq!(parse_audio(&[0x78, 0xD1]), Err(PayloadError::BadToc(0x78)));
        assert_eq!(
            parse_audio(&[OPUS_TOC, 0xD1, 0xE3]),
            Err(PayloadError::Truncated)
        );
    }

    #[test]
    fn audio_payload_round_trips() {
        let mut p = vec![OPUS_TOC];
        let mut m = [0u8; MARKER_LEN];
        marker(Stream::Audio, false).write(&mut m);
        p.extend_from_slice(&m);
        assert_eq!(parse_audio(&p).unwrap().source, 417);
    }

    /// The SFU's own keyframe check (sfu::codec) must see our keyframes, and only them.
    #[test]
    fn the_sfu_detects_our_keyframes() {
        use sfu::codec::{is_keyframe_start, VideoCodec};
        assert!(is_keyframe_start(
            VideoCodec::Vp8,
            &video_payload(true, true, Layer::Low)
        ));
        assert!(!is_keyframe_start(
            VideoCodec::Vp8,
            &video_payload(false, true, Layer::Low)
        ));
        assert!(!is_keyframe_start(
            VideoCodec::Vp8,
            &video_payload(true, false, Layer::Low)
        ));
    }
}
