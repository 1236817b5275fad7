//! Per-track ingest: one published track reads each of its packets once (codec facts,
//! policing, layer bookkeeping) and hands its subscribers' down-tracks what they need to
//! decide, as Galène's up-track reader owns the list of its writers.
//!
//! Pure: time comes in as `now`; nothing here touches str0m's `Rtc` or a socket, so the
//! engine core and the `rtp_forward` fuzz target read packets through the same code.

use std::time::{Duration, Instant};

use str0m::media::Mid;
use str0m::rtp::{Vp8Descriptor, Vp8Patch};

use crate::codec::VideoCodec;
use crate::forward::PacketMeta;
use crate::id::{Layer, LayerSet, TrackKind};
use crate::keyframe::KeyframeThrottle;
use crate::police::TrackPolicers;
use crate::rate::{LayerMeter, LayerRates};
use crate::rewrite::Rewritten;

/// Bitrate assumed for a layer that has just started, before its meter has a second of data.
const NOMINAL_BPS: [u64; 3] = [150_000, 500_000, 1_500_000];

/// A layer counts as being sent if a packet of it arrived this recently.
const LAYER_ACTIVE_FOR: Duration = Duration::from_millis(1_000);

/// A subscriber slot, addressed by peer index and slot index in the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotRef {
    /// Index of the subscribing peer.
    pub peer: usize,
    /// Index of its receive slot.
    pub slot: usize,
}

/// Payload type facts needed per packet, cached from the codec config.
#[derive(Debug, Clone, Copy)]
pub struct PtInfo {
    /// The video codec (`None`: audio).
    pub video: Option<VideoCodec>,
    /// RTP clock rate, Hz.
    pub clock_rate: u32,
    /// The payload type is Opus wrapped in RED (RFC 2198, see [`crate::red`]).
    pub red: bool,
}

/// The parts of one received RTP packet ingest reads (str0m has decrypted and parsed it).
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// Simulcast layer from the stream's rid (`None`: unlayered).
    pub layer: Option<Layer>,
    /// Facts of its payload type (`None`: a payload type the peer did not negotiate).
    pub info: Option<PtInfo>,
    /// Extended sequence number.
    pub seq: u64,
    /// RTP timestamp.
    pub ts: u32,
    /// RTP header length, for the policer's byte count.
    pub header_len: usize,
    /// The payload.
    pub payload: &'a [u8],
}

/// A packet read and admitted: what every subscriber's down-track decides on.
#[derive(Debug, Clone)]
pub struct Ingested {
    /// What the forwarding decision needs.
    pub meta: PacketMeta,
    /// Layers the track is sending now (this packet's included).
    pub active: LayerSet,
    /// str0m's parse of the VP8 descriptor when it carries numbers each slot rewrites.
    pub patchable: Option<Vp8Descriptor>,
}

/// Why a packet goes to no subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// Empty payload: the publisher probing its uplink.
    Padding,
    /// Not what its payload type says (an unparsable VP8 descriptor).
    Malformed,
    /// Over the track's budget (see [`crate::police`]).
    OverBudget,
    /// A payload type the peer did not negotiate.
    UnknownPayloadType,
}

/// A track a peer publishes: its reader state and the slots it feeds.
#[derive(Debug)]
pub struct UpTrack {
    /// What the track carries.
    pub kind: TrackKind,
    /// Its mid in the publisher's session.
    pub mid: Mid,
    /// When each layer (index 0 for unlayered) last delivered a packet.
    seen: [Option<Instant>; 3],
    /// Keyframe requests sent towards this track.
    pub throttle: KeyframeThrottle,
    /// Slots currently fed by this track: its writers.
    pub subscribers: Vec<SlotRef>,
    /// Bytes per layer (index 0 for unlayered) and temporal layer, for what each layer
    /// costs at each frame rate.
    meters: [LayerMeter; 3],
    /// Whether any packet carried a simulcast rid.
    layered: bool,
    /// Layer bitrates as of the last selection tick (`None`: not sent).
    pub rates: [Option<LayerRates>; 3],
    /// Highest layer last reported wanted (outer `None`: never reported).
    pub wanted_reported: Option<Option<Layer>>,
    /// What this track may send (see [`crate::police`]).
    police: TrackPolicers,
    /// While recorded: when its recorded layer last sent a keyframe or was asked for one.
    pub rec_keyframe_at: Option<Instant>,
}

impl UpTrack {
    /// A track nobody receives yet.
    pub fn new(kind: TrackKind, mid: Mid) -> UpTrack {
        UpTrack {
            kind,
            mid,
            seen: [None; 3],
            throttle: KeyframeThrottle::new(),
            subscribers: Vec::new(),
            meters: Default::default(),
            layered: false,
            rates: [None; 3],
            wanted_reported: None,
            police: TrackPolicers::new(kind),
            rec_keyframe_at: None,
        }
    }

    /// Reads one packet of this track: parses what the decision needs, polices it and
    /// counts it. The packet then goes to every slot in [`UpTrack::subscribers`].
    pub fn read(&mut self, pkt: &Packet<'_>, now: Instant) -> Result<Ingested, Dropped> {
        if pkt.payload.is_empty() {
            return Err(Dropped::Padding);
        }
        let is_vp8 = matches!(pkt.info.and_then(|i| i.video), Some(VideoCodec::Vp8))
            && !self.kind.is_audio();
        let vp8 = if is_vp8 {
            crate::vp8::parse(pkt.payload)
        } else {
            None
        };
        if is_vp8 && vp8.is_none() {
            return Err(Dropped::Malformed);
        }
        if !self
            .police
            .admit(pkt.layer, pkt.payload.len() + pkt.header_len, now)
        {
            return Err(Dropped::OverBudget);
        }
        self.mark_seen(pkt.layer, vp8.and_then(|d| d.tid), pkt.payload.len(), now);
        let Some(info) = pkt.info else {
            return Err(Dropped::UnknownPayloadType);
        };
        // A RED payload whose blocks do not add up has no primary to forward or unwrap.
        if info.red && crate::red::layout(pkt.payload).is_err() {
            return Err(Dropped::Malformed);
        }
        let switch_point = match (self.kind, info.video) {
            (k, _) if k.is_audio() => true,
            (_, Some(VideoCodec::Vp8)) => vp8.is_some_and(|d| d.keyframe),
            (_, Some(codec)) => crate::codec::is_keyframe_start(codec, pkt.payload),
            (_, None) => false,
        };
        let meta = PacketMeta {
            layer: pkt.layer,
            seq: pkt.seq,
            ts: pkt.ts,
            switch_point,
            clock_rate: info.clock_rate,
            vp8,
        };
        // str0m's parse of the same descriptor: each slot's PictureID/TL0PICIDX go out as a
        // patch on the shared payload (see [`vp8_patch`]).
        let patchable = vp8
            .filter(|d| d.picture_id.is_some() || d.tl0_pic_idx.is_some())
            .and_then(|_| Vp8Descriptor::parse(pkt.payload).ok());
        Ok(Ingested {
            meta,
            active: self.active(now),
            patchable,
        })
    }

    /// Counts a packet of `layer` and temporal layer `tid` (`None`: the codec gives none).
    fn mark_seen(&mut self, layer: Option<Layer>, tid: Option<u8>, bytes: usize, now: Instant) {
        let i = layer.map_or(0, Layer::index);
        self.seen[i] = Some(now);
        self.meters[i].add(tid, bytes, now);
        self.layered |= layer.is_some();
    }

    /// Refreshes [`UpTrack::rates`]: measured bitrate of each layer being sent.
    pub fn measure(&mut self, now: Instant) {
        let active = self.active(now);
        for layer in Layer::ALL {
            let i = layer.index();
            let sent = if self.layered {
                active.contains(layer)
            } else {
                i == 0
                    && self.seen[0]
                        .is_some_and(|t| now.saturating_duration_since(t) < LAYER_ACTIVE_FOR)
            };
            let measured = self.meters[i].rates(now);
            self.rates[i] = sent.then(|| measured.unwrap_or(LayerRates::full(NOMINAL_BPS[i])));
        }
    }

    /// Whether the track sends simulcast layers.
    pub fn layered(&self) -> bool {
        self.layered
    }

    /// Layers sent within the last second.
    pub fn active(&self, now: Instant) -> LayerSet {
        let mut set = LayerSet::EMPTY;
        for layer in Layer::ALL {
            if self.seen[layer.index()]
                .is_some_and(|t| now.saturating_duration_since(t) < LAYER_ACTIVE_FOR)
            {
                set.insert(layer);
            }
        }
        set
    }
}

/// The PictureID/TL0PICIDX rewrite of `out` for a payload str0m parsed as `d`; `None` when
/// there is nothing to rewrite or the fields disagree with str0m's parse (then the packet goes
/// out as it came).
pub fn vp8_patch(d: &Vp8Descriptor, out: &Rewritten) -> Option<Vp8Patch> {
    if out.picture_id.is_none() && out.tl0_pic_idx.is_none() {
        return None;
    }
    let mut patch = d.patch();
    if let Some(p) = out.picture_id {
        patch = patch.picture_id(p);
    }
    if let Some(t) = out.tl0_pic_idx {
        patch = patch.tl0_pic_idx(t);
    }
    patch.build().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPUS: PtInfo = PtInfo {
        video: None,
        clock_rate: 48_000,
        red: false,
    };

    fn packet(payload: &[u8], info: Option<PtInfo>) -> Packet<'_> {
        Packet {
            layer: None,
            info,
            seq: 1,
            ts: 0,
            header_len: 12,
            payload,
        }
    }

    #[test]
    fn an_audio_packet_is_a_switch_point_at_its_clock_rate() {
        let mut t = UpTrack::new(TrackKind::Audio, "0".into());
        let got = t.read(&packet(&[1, 2, 3], Some(OPUS)), Instant::now());
        let got = got.expect("admitted");
        assert!(got.meta.switch_point);
        assert_eq!(got.meta.clock_rate, 48_000);
        assert!(got.patchable.is_none());
    }

    #[test]
    fn padding_and_unknown_payload_types_reach_no_subscriber() {
        let mut t = UpTrack::new(TrackKind::Audio, "0".into());
        let now = Instant::now();
        assert_eq!(
            t.read(&packet(&[], Some(OPUS)), now).unwrap_err(),
            Dropped::Padding
        );
        assert_eq!(
            t.read(&packet(&[1], None), now).unwrap_err(),
            Dropped::UnknownPayloadType
        );
    }

    #[test]
    fn a_red_payload_whose_blocks_do_not_add_up_is_malformed_and_a_whole_one_passes() {
        let mut t = UpTrack::new(TrackKind::Audio, "0".into());
        let red = PtInfo { red: true, ..OPUS };
        // One redundant block said to be 200 bytes long, in a 9-byte payload.
        let bad = [0xEF, 0x0F, 0x00, 0xC8, 111, 1, 2, 3, 4];
        let got = t.read(&packet(&bad, Some(red)), Instant::now());
        assert_eq!(got.unwrap_err(), Dropped::Malformed);
        // The same with a 2-byte redundant block: the rest is the primary.
        let good = [0xEF, 0x0F, 0x00, 0x02, 111, 1, 2, 3, 4];
        assert!(t.read(&packet(&good, Some(red)), Instant::now()).is_ok());
    }

    #[test]
    fn a_vp8_payload_without_a_descriptor_is_malformed() {
        let mut t = UpTrack::new(TrackKind::Camera, "1".into());
        let vp8 = PtInfo {
            video: Some(VideoCodec::Vp8),
            clock_rate: 90_000,
            red: false,
        };
        // X bit set, extension byte missing.
        let got = t.read(&packet(&[0x80], Some(vp8)), Instant::now());
        assert_eq!(got.unwrap_err(), Dropped::Malformed);
    }

    #[test]
    fn a_layer_is_active_for_a_second_after_its_last_packet() {
        let mut t = UpTrack::new(TrackKind::Camera, "1".into());
        let h264 = PtInfo {
            video: Some(VideoCodec::H264),
            clock_rate: 90_000,
            red: false,
        };
        let now = Instant::now();
        let mut p = packet(&[0x41, 0], Some(h264));
        p.layer = Some(Layer::Mid);
        let got = t.read(&p, now).expect("admitted");
        assert!(got.active.contains(Layer::Mid));
        assert!(!got.active.contains(Layer::High));
        assert!(t.layered());
        assert!(t
            .active(now + Duration::from_millis(999))
            .contains(Layer::Mid));
        assert!(!t.active(now + LAYER_ACTIVE_FOR).contains(Layer::Mid));
    }
}
