//! A synthetic encoder: turns "a 20 ms audio frame is due" or "a camera frame of layer q is
//! due" into ready RTP packets of realistic size, in the format of [`crate::payload`].
//!
//! Pure and cheap: no clock (the caller passes the send time written into each marker), no
//! codec, and the payload bytes come from one shared filler buffer, so a packet costs one
//! allocation and a copy. Frame sizes follow a fixed pseudo-random sequence around each
//! layer's mean, keyframes are [`KEYFRAME_FACTOR`] times larger.

use std::sync::LazyLock;

use bytes::{BufMut, Bytes, BytesMut};
use rtc::rtp;

use crate::payload::{self, Layer, Marker, Stream};

/// Camera frames per second on every layer.
pub const FPS: u32 = 25;
/// RTP timestamp step of one camera frame (90 kHz clock).
pub const VIDEO_TS_STEP: u32 = 90_000 / FPS;
/// RTP timestamp step of one 20 ms Opus frame (48 kHz clock).
pub const AUDIO_TS_STEP: u32 = 960;
/// Largest RTP payload we send (a browser keeps packets under ~1200 bytes on the wire).
pub const MAX_PAYLOAD: usize = 1100;
/// Keyframe size relative to the layer's mean frame.
pub const KEYFRAME_FACTOR: usize = 4;

/// Target bitrate of each layer, bit/s (PROTOCOL.md "Media layout").
pub const LAYER_BPS: [u32; 3] = [150_000, 500_000, 1_500_000];
/// Mean Opus frame, bytes (~36 kbit/s, a voice at Chromium's default).
pub const AUDIO_MEAN_BYTES: usize = 90;

static FILLER: LazyLock<Vec<u8>> = LazyLock::new(|| {
    // xorshift: incompressible-looking bytes, the same every run.
    let mut x: u32 = 0x9E37_79B9;
    (0..MAX_PAYLOAD)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
});

/// The `n`th value of a fixed sequence in 0.8..1.2: frame size variation.
fn wobble(n: u32) -> f64 {
    let h = n.wrapping_mul(2_654_435_761).rotate_left(13) % 1000;
    0.8 + 0.4 * f64::from(h) / 1000.0
}

/// Mean camera frame of `layer`, bytes.
pub fn mean_frame_bytes(layer: Layer) -> usize {
    (LAYER_BPS[layer.index()] / 8 / FPS) as usize
}

/// Header fields the negotiation fixed for one outgoing RTP stream.
#[derive(Debug, Clone)]
pub struct StreamIds {
    /// SSRC of the stream.
    pub ssrc: u32,
    /// Negotiated payload type.
    pub payload_type: u8,
    /// Header extensions put on every packet (`sdes:mid`, `sdes:rtp-stream-id`), ids negotiated.
    pub extensions: Vec<rtp::header::Extension>,
}

/// One outgoing RTP stream's counters.
#[derive(Debug, Clone)]
struct RtpState {
    ids: StreamIds,
    seq: u16,
    ts: u32,
    frame: u16,
}

impl RtpState {
    fn new(ids: StreamIds, seed: u32) -> Self {
        RtpState {
            ids,
            seq: seed as u16,
            ts: seed.wrapping_mul(7919),
            frame: 0,
        }
    }

    fn header(&mut self, marker: bool) -> rtp::header::Header {
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        rtp::header::Header {
            version: 2,
            marker,
            payload_type: self.ids.payload_type,
            sequence_number: seq,
            timestamp: self.ts,
            ssrc: self.ids.ssrc,
            extension: !self.ids.extensions.is_empty(),
            extension_profile: rtp::header::EXTENSION_PROFILE_ONE_BYTE,
            extensions: self.ids.extensions.clone(),
            ..Default::default()
        }
    }
}

/// The synthetic audio encoder of one site.
#[derive(Debug, Clone)]
pub struct AudioSynth {
    source: u16,
    rtp: RtpState,
}

impl AudioSynth {
    /// An encoder for site `source` sending on `ids`.
    pub fn new(source: u16, ids: StreamIds) -> Self {
        AudioSynth {
            source,
            rtp: RtpState::new(ids, u32::from(source) * 31 + 7),
        }
    }

    /// The next 20 ms frame as one packet, stamped `sent_us`.
    pub fn frame(&mut self, sent_us: u64) -> rtp::packet::Packet {
        let n = u32::from(self.rtp.frame);
        let len = (AUDIO_MEAN_BYTES as f64 * wobble(n ^ u32::from(self.source))) as usize;
        let mut b = BytesMut::with_capacity(len);
        b.put_u8(payload::OPUS_TOC);
        put_marker(
            &mut b,
            Marker {
                source: self.source,
                stream: Stream::Audio,
                keyframe: false,
                frame: self.rtp.frame,
                sent_us,
            },
        );
        fill(&mut b, len);
        let packet = rtp::packet::Packet {
            header: self.rtp.header(n == 0),
            payload: b.freeze(),
        };
        self.rtp.ts = self.rtp.ts.wrapping_add(AUDIO_TS_STEP);
        self.rtp.frame = self.rtp.frame.wrapping_add(1);
        packet
    }
}

/// The synthetic VP8 encoder of one layer of a site's camera.
#[derive(Debug, Clone)]
pub struct VideoSynth {
    source: u16,
    layer: Layer,
    rtp: RtpState,
    picture_id: u16,
    keyframe_every: u32,
    since_keyframe: u32,
    keyframe_due: bool,
}

impl VideoSynth {
    /// An encoder for `layer` of site `source`, with a keyframe every `keyframe_every` frames
    /// (0: only on request).
    pub fn new(source: u16, layer: Layer, ids: StreamIds, keyframe_every: u32) -> Self {
        let seed = u32::from(source) * 131 + layer.index() as u32 * 17;
        VideoSynth {
            source,
            layer,
            rtp: RtpState::new(ids, seed),
            picture_id: seed as u16 & 0x7FFF,
            keyframe_every,
            since_keyframe: 0,
            keyframe_due: true,
        }
    }

    /// The next frame will be a keyframe (a PLI arrived, or the layer restarts).
    pub fn request_keyframe(&mut self) {
        self.keyframe_due = true;
    }

    /// Skips a frame time without sending (layer switched off): timestamps keep running.
    pub fn skip(&mut self) {
        self.rtp.ts = self.rtp.ts.wrapping_add(VIDEO_TS_STEP);
        self.keyframe_due = true;
    }

    /// The packets of the next frame, stamped `sent_us`, appended to `out`.
    pub fn frame(&mut self, sent_us: u64, out: &mut Vec<rtp::packet::Packet>) {
        let keyframe = self.keyframe_due
            || (self.keyframe_every > 0 && self.since_keyframe >= self.keyframe_every);
        self.keyframe_due = false;
        self.since_keyframe = if keyframe { 1 } else { self.since_keyframe + 1 };
        let mean = mean_frame_bytes(self.layer);
        let frame_no = u32::from(self.rtp.frame);
        let mut left = (mean as f64 * wobble(frame_no ^ u32::from(self.source) << 3)) as usize;
        if keyframe {
            left *= KEYFRAME_FACTOR;
        }
        let (vp8_header, vp8_len) =
            payload::vp8_frame_header(keyframe, self.layer.size(), (left / 4) as u32);
        let mut first = true;
        while left > 0 {
            let room = MAX_PAYLOAD - payload::VP8_DESCRIPTOR_LEN;
            let body = left.min(room);
            left -= body;
            let mut b = BytesMut::with_capacity(payload::VP8_DESCRIPTOR_LEN + body);
            b.put_slice(&payload::vp8_descriptor(first, self.picture_id));
            if first {
                b.put_slice(&vp8_header[..vp8_len]);
            }
            let stream = Stream::Camera(self.layer);
            put_marker(
                &mut b,
                Marker {
                    source: self.source,
                    stream,
                    keyframe: keyframe && first,
                    frame: self.rtp.frame,
                    sent_us,
                },
            );
            fill(&mut b, payload::VP8_DESCRIPTOR_LEN + body);
            out.push(rtp::packet::Packet {
                header: self.rtp.header(left == 0),
                payload: b.freeze(),
            });
            first = false;
        }
        self.rtp.ts = self.rtp.ts.wrapping_add(VIDEO_TS_STEP);
        self.rtp.frame = self.rtp.frame.wrapping_add(1);
        self.picture_id = (self.picture_id + 1) & 0x7FFF;
    }
}

fn put_marker(b: &mut BytesMut, m: Marker) {
    let mut buf = [0u8; payload::MARKER_LEN];
    m.write(&mut buf);
    b.put_slice(&buf);
}

/// Pads `b` with filler up to `len` bytes (never shortens it).
fn fill(b: &mut BytesMut, len: usize) {
    let need = len.saturating_sub(b.len()).min(FILLER.len());
    b.put_slice(&FILLER[..need]);
}

/// An extension value shared by every packet of a stream (cheap to clone).
pub fn extension(id: u8, value: &str) -> rtp::header::Extension {
    rtp::header::Extension {
        id,
        payload: Bytes::copy_from_slice(value.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> StreamIds {
        StreamIds {
            ssrc: 42,
            payload_type: 96,
            extensions: vec![extension(4, "1"), extension(10, "q")],
        }
    }

    #[test]
    fn first_frame_is_a_keyframe_then_deltas_until_the_period() {
        let mut v = VideoSynth::new(3, Layer::Low, ids(), 5);
        let mut kinds = Vec::new();
        for i in 0..11 {
            let mut out = Vec::new();
            v.frame(i, &mut out);
            let p = payload::parse_video(&out[0].payload).unwrap();
            kinds.push(p.keyframe);
            assert!(
                out.last().unwrap().header.marker,
                "marker bit ends the frame"
            );
            assert!(out.iter().all(|p| p.payload.len() <= MAX_PAYLOAD));
        }
        assert_eq!(
            kinds,
            [true, false, false, false, false, true, false, false, false, false, true]
        );
    }

    #[test]
    fn a_requested_keyframe_comes_next() {
        let mut v = VideoSynth::new(3, Layer::High, ids(), 0);
        let mut out = Vec::new();
        v.frame(0, &mut out);
        out.clear();
        v.frame(1, &mut out);
        assert!(!payload::parse_video(&out[0].payload).unwrap().keyframe);
        v.request_keyframe();
        out.clear();
        v.frame(2, &mut out);
        assert!(payload::parse_video(&out[0].payload).unwrap().keyframe);
        assert!(out.len() > 20, "a 720p keyframe spans many packets");
    }

    #[test]
    fn layer_bitrates_are_near_their_targets() {
        for layer in Layer::ALL {
            let mut v = VideoSynth::new(1, layer, ids(), 0);
            let mut out = Vec::new();
            v.frame(0, &mut out); // the first keyframe
            out.clear();
            for i in 0..FPS * 10 {
                v.frame(u64::from(i), &mut out);
            }
            let bits: usize = out.iter().map(|p| p.payload.len() * 8).sum();
            let bps = bits as f64 / 10.0;
            let target = f64::from(LAYER_BPS[layer.index()]);
            assert!(
                (bps / target - 1.0).abs() < 0.1,
                "{layer:?}: {bps} vs {target}"
            );
        }
    }

    #[test]
    fn packets_carry_sequence_and_timestamp_continuity() {
        let mut a = AudioSynth::new(7, ids());
        let p1 = a.frame(5);
        let p2 = a.frame(6);
        assert_eq!(
            p2.header.sequence_number,
            p1.header.sequence_number.wrapping_add(1)
        );
        assert_eq!(
            p2.header.timestamp,
            p1.header.timestamp.wrapping_add(AUDIO_TS_STEP)
        );
        assert_eq!(payload::parse_audio(&p2.payload).unwrap().sent_us, 6);
        assert_eq!(p1.header.extensions.len(), 2);
    }
}
