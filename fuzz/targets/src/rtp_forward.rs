//! RTP packets from a publisher, through everything the SFU reads in their bytes itself
//! (str0m decrypts and parses the RTP header; the payload is ours to read): the engine's
//! own per-track ingest (`sfu::engine::ingest::UpTrack::read`: the VP8 payload descriptor,
//! keyframe detection, policing, the active layers, str0m's descriptor parse for the
//! PictureID/TL0PICIDX patch), then the forwarding decision and numbering rewrite
//! (`sfu::forward::DownTrack`, `sfu::rewrite`) of two subscriber slots and the patch each
//! slot's copy carries (`sfu::engine::ingest::vp8_patch`), with control changes (source,
//! target layer, temporal layer, pause) in between. The same packets also travel through
//! ICE-TCP framing (`sfu::tcp`).
//!
//! Input: a sequence of records. A record starting with a byte below 0xF0 is a packet: that
//! byte's low nibble is the time since the previous record (4 ms steps), then a 16-bit
//! big-endian length and that many bytes of RTP packet (12-byte header, CSRCs, header
//! extension, payload, padding). Payload type 96 is VP8, 102 H.264 (both 90 kHz): the camera
//! track, read by two video slots; 111 is Opus (48 kHz): the microphone, read by an audio
//! slot; others are unknown (dropped, as the engine drops them). The SSRC's low two bits give
//! the camera's simulcast layer (0: none, 1: low, 2: mid, 3: high), as str0m's rid mapping
//! would; each layer is one sequence number space, as each rid is one RTP stream. Records
//! from 0xF0 are control changes (see `control`).
//!
//! Properties:
//! - nothing panics (overflow checks are on in fuzz builds);
//! - our VP8 descriptor parse agrees with str0m's wherever str0m accepts the payload, and
//!   keyframe detection agrees with the parse;
//! - a forwarded packet's PictureID fits the width the packet carries, so str0m's patch
//!   builds (else the packet would go out with the publisher's numbering);
//! - a slot never sends two different packets under one sequence number, and its numbers
//!   stay below 2^48 (the SRTP packet index);
//! - RFC 4571 framing gives back exactly the datagrams framed, however the stream is cut.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sfu::codec::{is_keyframe_start, VideoCodec};
use sfu::engine::ingest::{vp8_patch, Packet, PtInfo, UpTrack};
use sfu::forward::DownTrack;
use sfu::tcp::{frame_into, Deframer};
use sfu::{Layer, LayerSet, TrackKind};
use str0m::rtp::{RtpHeader, SeqNo, Vp8Descriptor};

const PT_VP8: u8 = 96;
const PT_H264: u8 = 102;
const PT_OPUS: u8 = 111;

/// The part of an RTP packet the engine hands the decision code.
struct Rtp<'a> {
    header_len: usize,
    pt: u8,
    seq: u16,
    ts: u32,
    ssrc: u32,
    payload: &'a [u8],
}

/// Splits an RTP packet as RFC 3550 lays it out; `None` where str0m would refuse it.
fn parse_rtp(b: &[u8]) -> Option<Rtp<'_>> {
    if b.len() < 12 || b[0] >> 6 != 2 {
        return None;
    }
    let cc = usize::from(b[0] & 0x0F);
    let mut start = 12 + 4 * cc;
    if b[0] & 0x10 != 0 {
        let ext = b.get(start..start + 4)?;
        start += 4 + 4 * usize::from(u16::from_be_bytes([ext[2], ext[3]]));
    }
    let mut end = b.len();
    if b[0] & 0x20 != 0 {
        let pad = usize::from(*b.last()?);
        end = end.checked_sub(pad)?;
    }
    if start > end {
        return None;
    }
    Some(Rtp {
        header_len: start,
        pt: b[1] & 0x7F,
        seq: u16::from_be_bytes([b[2], b[3]]),
        ts: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        ssrc: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
        payload: &b[start..end],
    })
}

/// Checks our descriptor parse and keyframe detection against str0m's parse.
fn check_vp8(payload: &[u8]) -> (Option<sfu::vp8::Descriptor>, Option<Vp8Descriptor>) {
    let ours = sfu::vp8::parse(payload);
    let theirs = Vp8Descriptor::parse(payload).ok();
    if let Some(t) = &theirs {
        let o = ours.unwrap_or_else(|| panic!("str0m parses {payload:02x?}, we do not"));
        assert_eq!(
            o.picture_id.map(|p| p.value),
            t.picture_id(),
            "PictureID of {payload:02x?}"
        );
        assert_eq!(
            o.tl0_pic_idx,
            t.tl0_pic_idx(),
            "TL0PICIDX of {payload:02x?}"
        );
        assert_eq!(
            o.keyframe,
            t.starts_keyframe(payload),
            "keyframe of {payload:02x?}"
        );
    }
    assert_eq!(
        is_keyframe_start(VideoCodec::Vp8, payload),
        ours.is_some_and(|d| d.keyframe),
        "keyframe detection disagrees with the parse of {payload:02x?}"
    );
    (ours, theirs)
}

/// Whether to print each decision (`RTP_TRACE=1`, for reading a crash).
fn trace() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("RTP_TRACE").is_some())
}

/// A subscriber slot and what it has sent.
struct Slot {
    down: DownTrack,
    /// Outgoing sequence number -> the (stream, extended sequence number) sent under it.
    sent: HashMap<u64, (u32, u64)>,
}

impl Slot {
    fn new(target: Layer) -> Self {
        let mut down = DownTrack::new();
        down.set_source(target);
        Slot {
            down,
            sent: HashMap::new(),
        }
    }
}

struct Harness {
    now: Instant,
    /// The publisher's camera and microphone, read as the engine reads them.
    camera: UpTrack,
    microphone: UpTrack,
    /// Two camera slots (wanting high and low at first), then the microphone slot.
    slots: [Slot; 3],
    /// Highest extended sequence number per stream, as str0m's receive register keeps it.
    max_seq: HashMap<u32, SeqNo>,
    /// Layers a control record set (else the camera's own active layers).
    active: LayerSet,
    active_forced: bool,
}

impl Harness {
    /// 0xF0 + slot bit: set source with a target layer; 0xF2: set target; 0xF4: temporal
    /// target; 0xF6: pause; 0xF8: clear; 0xFA: the publisher's active layers; 0xFC: a pause
    /// in time. Each takes one argument byte, whose top bit picks the microphone slot for
    /// the slot changes.
    fn control(&mut self, op: u8, arg: u8) {
        let slot = &mut self.slots[if arg & 0x80 != 0 {
            2
        } else {
            usize::from(op & 1)
        }];
        let layer = Layer::ALL[usize::from(arg % 3)];
        match op & 0xFE {
            0xF0 => slot.down.set_source(layer),
            0xF2 => slot.down.set_target(layer),
            0xF4 => slot.down.set_temporal_target(arg),
            0xF6 => slot.down.pause(),
            0xF8 => slot.down.clear(),
            0xFA => {
                self.active = LayerSet::EMPTY;
                for l in Layer::ALL {
                    if arg & (1 << l.index()) != 0 {
                        self.active.insert(l);
                    }
                }
                self.active_forced = true;
            }
            _ => self.now += Duration::from_millis(u64::from(arg) * 10),
        }
    }

    fn packet(&mut self, rtp: Rtp<'_>) {
        let info = |video, clock_rate| {
            Some(PtInfo {
                video,
                clock_rate,
                red: false,
            })
        };
        let info = match rtp.pt {
            PT_VP8 => info(Some(VideoCodec::Vp8), 90_000),
            PT_H264 => info(Some(VideoCodec::H264), 90_000),
            PT_OPUS => info(None, 48_000),
            _ => {
                // Unknown payload type: the engine reads nothing of it but the VP8
                // descriptor of a video track; still, no payload may crash the parsers.
                check_vp8(rtp.payload);
                let _ = is_keyframe_start(VideoCodec::H264, rtp.payload);
                // A RED payload (issue 18): its primary and a payload-type rewrite.
                let _ = sfu::red::primary(rtp.payload);
                let _ = sfu::red::rewrite_pt(rtp.payload, 111, 96);
                None
            }
        };
        let audio = rtp.pt == PT_OPUS;
        let layer = match (audio, rtp.ssrc & 3) {
            (true, _) | (_, 0) => None,
            (_, n) => Some(Layer::ALL[n as usize - 1]),
        };
        // One RTP stream per camera layer, one for the microphone.
        let stream = if audio { 4 } else { rtp.ssrc & 3 };
        let header = RtpHeader {
            sequence_number: rtp.seq,
            ..Default::default()
        };
        let prev = self.max_seq.get(&stream).copied();
        let seq = header.sequence_number(prev);
        if prev.is_none_or(|p| seq > p) {
            self.max_seq.insert(stream, seq);
        }
        let vp8 = match rtp.pt {
            PT_VP8 => check_vp8(rtp.payload).0,
            _ => None,
        };
        let track = if audio {
            &mut self.microphone
        } else {
            &mut self.camera
        };
        let read = track.read(
            &Packet {
                layer,
                info,
                seq: *seq,
                ts: rtp.ts,
                header_len: rtp.header_len,
                payload: rtp.payload,
            },
            self.now,
        );
        let Ok(ingested) = read else {
            return;
        };
        let meta = &ingested.meta;
        assert_eq!(meta.vp8, vp8, "ingest read another descriptor");
        let active = if self.active_forced {
            self.active
        } else {
            ingested.active
        };
        let slots = if audio {
            &mut self.slots[2..]
        } else {
            &mut self.slots[..2]
        };
        for (n, slot) in slots.iter_mut().enumerate() {
            let verdict = slot.down.decide(meta, active, self.now);
            if trace() {
                eprintln!(
                    "slot {n} stream {stream} seq {} {:?} vp8 {:?} -> {:?}",
                    *seq, meta.layer, vp8, verdict
                );
            }
            let Some(out) = verdict.out else { continue };
            assert!(
                out.seq < 1 << 48,
                "outgoing sequence number {} past the SRTP index",
                out.seq
            );
            let this = (stream, *seq);
            if let Some(before) = slot.sent.insert(out.seq, this) {
                assert_eq!(
                    before, this,
                    "two packets sent as sequence number {}",
                    out.seq
                );
            }
            if let (Some(p), Some(d)) = (out.picture_id, vp8.and_then(|d| d.picture_id)) {
                assert!(
                    p < d.modulus(),
                    "PictureID {p} does not fit {} bits",
                    if d.long { 15 } else { 7 }
                );
            }
            if let Some(d) = &ingested.patchable {
                // The patch the engine's write puts on this slot's copy (`None`: nothing
                // to rewrite, or refused).
                let rewrites = out.picture_id.is_some() || out.tl0_pic_idx.is_some();
                assert!(
                    !rewrites || vp8_patch(d, &out).is_some(),
                    "patch {out:?} refused"
                );
            }
        }
    }
}

/// One input; panics where it breaks a property above.
pub fn run(data: &[u8]) {
    let mut h = Harness {
        now: Instant::now(),
        camera: UpTrack::new(TrackKind::Camera, "1".into()),
        microphone: UpTrack::new(TrackKind::Audio, "0".into()),
        slots: [
            Slot::new(Layer::High),
            Slot::new(Layer::Low),
            Slot::new(Layer::High),
        ],
        max_seq: HashMap::new(),
        active: LayerSet::EMPTY,
        active_forced: false,
    };
    let mut datagrams: Vec<&[u8]> = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let op = data[i];
        if op >= 0xF0 {
            let arg = data.get(i + 1).copied().unwrap_or(0);
            h.control(op, arg);
            i += 2;
            continue;
        }
        h.now += Duration::from_millis(u64::from(op & 0x0F) * 4);
        let Some(len) = data.get(i + 1..i + 3) else {
            break;
        };
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let start = i + 3;
        let end = (start + len).min(data.len());
        let bytes = &data[start..end];
        datagrams.push(bytes);
        if let Some(rtp) = parse_rtp(bytes) {
            h.packet(rtp);
        }
        i = end;
    }

    // ICE-TCP: the same datagrams framed, then read back cut at arbitrary points.
    let mut stream = Vec::new();
    for d in &datagrams {
        assert!(frame_into(&mut stream, d));
    }
    let mut deframer = Deframer::default();
    let mut got = Vec::new();
    let mut at = 0;
    let mut cut = 1 + data.first().map_or(0, |b| usize::from(*b));
    while at < stream.len() {
        let end = (at + cut).min(stream.len());
        deframer.push(&stream[at..end]);
        while let Some(f) = deframer.next_frame() {
            got.push(f);
        }
        at = end;
        cut = cut * 7 % 97 + 1;
    }
    let want: Vec<&[u8]> = datagrams
        .iter()
        .copied()
        .filter(|d| !d.is_empty())
        .collect();
    assert_eq!(got.len(), want.len(), "frames lost or invented");
    assert!(got.iter().zip(&want).all(|(g, w)| g.as_slice() == *w));
    // Raw bytes as a TCP stream: any frames, never a panic.
    let mut raw = Deframer::default();
    raw.push(data);
    while raw.next_frame().is_some() {}
}
