//! One browser's peer connection inside the media thread: its str0m `Rtc`, the tracks it
//! publishes (up tracks) and the slots it receives on (down slots).
//!
//! Lifecycle: created on the first offer; tracks and slots are added by each accepted offer
//! (mids never change meaning); removed when the connection dies or signaling removes it.
//! Owned by the engine; nothing else holds a reference.

use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, KeyframeRequestKind, MediaKind, Mid, Pt};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite, Ssrc, Vp8Descriptor};
use str0m::{Candidate, Rtc};

use super::ingest::{vp8_patch, PtInfo, UpTrack};
use crate::codec::VideoCodec;
use crate::downlink::Downlink;
use crate::forward::DownTrack;
use crate::id::{Layer, PeerId, TrackKind, MAX_TEMPORAL};
use crate::rewrite::Rewritten;
use crate::select::{Demand, SelectorConfig};
use crate::OfferError;

/// Bandwidth estimate a subscriber starts from, before its first TWCC feedback.
pub(crate) const INITIAL_ESTIMATE_BPS: u64 = 1_500_000;

/// Most m-lines an offer may carry: a publisher's three tracks plus generous receive slots.
const MAX_MEDIA_LINES: usize = 128;

/// A receive slot.
#[derive(Debug)]
pub(crate) struct Slot {
    pub mid: Mid,
    pub kind: MediaKind,
    /// Source as (publisher peer index, track index).
    pub source: Option<(usize, usize)>,
    pub down: DownTrack,
    /// Publisher payload type → how it goes out on this slot (same codec).
    pub pt_map: Vec<(Pt, PtRoute)>,
    /// Highest layer the routing wants here.
    pub max: Layer,
    /// Share of a tight link (see [`crate::Source::priority`]).
    pub priority: u8,
}

/// How packets of one publisher payload type go out on a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PtRoute {
    /// The payload as is, on this payload type.
    Same(Pt),
    /// Opus in RED to a subscriber that negotiated RED too: RED on payload type `to`, its
    /// block headers naming the subscriber's Opus payload type instead of the publisher's.
    Red { to: Pt, opus_from: Pt, opus_to: Pt },
    /// Opus in RED to a subscriber without RED: the primary block alone, as Opus on `to`
    /// (see [`crate::red`]).
    Unwrap { to: Pt, opus_from: Pt },
}

/// Classification of an incoming packet's SSRC.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Incoming {
    pub track: usize,
    pub layer: Option<Layer>,
}

/// Which end of a relay link between two nodes a peer is (see [`crate::relay`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RelayEnd {
    /// This node is the origin: the peer is the other node, subscribing on its slots.
    Origin,
    /// This node receives: the peer is the origin, publishing the tracks it relays.
    Receiver,
}

#[derive(Debug)]
pub(crate) struct Peer {
    pub id: PeerId,
    /// `Some` for a relay link to another node rather than a browser.
    pub relay: Option<RelayEnd>,
    /// The link's last measured round trip (a relay link's wire share of a hop's latency).
    pub rtt: Option<Duration>,
    /// The receiving end's offer and its mids, until the origin's answer comes.
    pending: Option<(SdpPendingOffer, Vec<Mid>)>,
    pub rtc: Rtc,
    pub tracks: Vec<UpTrack>,
    pub slots: Vec<Slot>,
    /// SSRC → track/layer, filled on first sight of each SSRC.
    ssrcs: Vec<(Ssrc, Option<Incoming>)>,
    pts: Vec<(Pt, Option<PtInfo>)>,
    /// Estimate, loss and layer choice of the link towards this peer (its video slots).
    pub downlink: Downlink,
    /// Reception last reported to signaling.
    pub reception: Option<crate::alarm::Reported>,
    /// Link figures gathered for the next report.
    pub link: crate::link::LinkStats,
    /// The first media packet was forwarded to it (reported once).
    pub first_media_sent: bool,
    /// When str0m next wants a timeout input.
    pub next_timeout: Instant,
    /// Has output waiting to be polled (it was written to or received input).
    pub dirty: bool,
    pub connected: bool,
    /// When a datagram from it last arrived.
    pub last_rx: Instant,
    /// RTX payload types negotiated with it, to count retransmissions sent.
    pub rtx_pts: crate::rtx::RtxPts,
    /// Where copies of its packets go while its tracks are in the recorded program.
    pub recording: Option<crate::record::RecTap>,
}

impl Peer {
    /// A peer with ICE credentials `creds` (`None`: str0m's random ones).
    pub fn new(id: PeerId, now: Instant, creds: Option<str0m::IceCreds>) -> Peer {
        let mut builder = Rtc::builder();
        if let Some(creds) = creds {
            builder = builder.set_local_ice_credentials(creds);
        }
        let rtc = builder
            .set_rtp_mode(true)
            .set_ice_lite(true)
            .clear_codecs()
            // RED (RFC 2198) is answered to browsers that offer it, and only to them.
            .enable_opus(true, true)
            .enable_vp8(true)
            .enable_h264(true)
            .set_stats_interval(Some(crate::STATS_INTERVAL))
            .enable_bwe(Some(str0m::bwe::Bitrate::bps(INITIAL_ESTIMATE_BPS)))
            .build(now);
        Peer::with_rtc(id, rtc, now)
    }

    /// The opening end of a relay link: a full ICE agent (the other node answers as
    /// ICE-lite, as for browsers) that offers `spec`'s tracks to receive, then as many to
    /// send: one link carries both ways, since two links between the same two media ports
    /// could not be told apart (peers are found by the sender's address). Returns the peer
    /// and its offer.
    pub fn relay_receiver(
        id: PeerId,
        now: Instant,
        spec: crate::RelaySpec,
        local: &[Candidate],
    ) -> Result<(Peer, String), crate::RelayError> {
        let rtc = Rtc::builder()
            .set_rtp_mode(true)
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .enable_h264(true)
            .set_stats_interval(Some(crate::STATS_INTERVAL))
            // What it sends the other node is paced and estimated as for a browser.
            .enable_bwe(Some(str0m::bwe::Bitrate::bps(INITIAL_ESTIMATE_BPS)))
            .build(now);
        let mut peer = Peer::with_rtc(id, rtc, now);
        peer.relay = Some(RelayEnd::Receiver);
        for c in local {
            peer.rtc.add_local_candidate(c.clone());
        }
        let mut api = peer.rtc.sdp_api();
        let mut mids = Vec::new();
        for _ in 0..spec.audio {
            mids.push(api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None));
        }
        for _ in 0..spec.video {
            mids.push(api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None));
        }
        for _ in 0..spec.audio {
            mids.push(api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None));
        }
        for _ in 0..spec.video {
            mids.push(api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None));
        }
        let (offer, pending) = api.apply().ok_or(crate::RelayError::Size {
            asked: 0,
            max: crate::relay::MAX_RELAY_TRACKS,
        })?;
        peer.pending = Some((pending, mids));
        Ok((peer, offer.to_sdp_string()))
    }

    /// Applies the origin's answer to this receiving end's offer; its tracks exist from now.
    pub fn accept_relay_answer(&mut self, sdp: &str) -> Result<(), crate::RelayError> {
        let (pending, mids) = self
            .pending
            .take()
            .ok_or(crate::RelayError::State(self.id))?;
        let answer = SdpAnswer::from_sdp_string(sdp).map_err(|e| {
            tracing::debug!(error = %e, "relay answer does not parse");
            crate::RelayError::Answer("the answer is not valid SDP".into())
        })?;
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|e| {
                crate::RelayError::Answer(crate::offer_check::stack_refusal(&e.to_string()))
            })?;
        for mid in mids {
            self.learn_media(mid);
        }
        Ok(())
    }

    fn with_rtc(id: PeerId, rtc: Rtc, now: Instant) -> Peer {
        Peer {
            id,
            relay: None,
            rtt: None,
            pending: None,
            rtc,
            tracks: Vec::new(),
            slots: Vec::new(),
            ssrcs: Vec::new(),
            pts: Vec::new(),
            downlink: Downlink::new(INITIAL_ESTIMATE_BPS, SelectorConfig::default()),
            reception: None,
            link: crate::link::LinkStats::default(),
            first_media_sent: false,
            next_timeout: now,
            dirty: true,
            connected: false,
            last_rx: now,
            rtx_pts: crate::rtx::RtxPts::default(),
            recording: None,
        }
    }

    /// Best video layer this peer receives now: `None` without any video source, `Some(None)`
    /// when every video it should receive is paused.
    pub fn video_layer(&self) -> Option<Option<crate::Layer>> {
        let video = self
            .slots
            .iter()
            .filter(|s| s.kind == MediaKind::Video && s.source.is_some());
        let mut any_paused = false;
        let mut best: Option<crate::Layer> = None;
        for s in video {
            if s.down.is_paused() {
                any_paused = true;
            } else if let Some(Some(l)) = s.down.current_layer() {
                best = best.max(Some(l));
            }
        }
        match best {
            Some(l) => Some(Some(l)),
            None if any_paused => Some(None),
            None => None,
        }
    }

    /// Accepts an offer and records the tracks and slots it adds. Returns the answer SDP.
    /// With `shard`, the answer's ICE credentials carry that shard's tag (see `steer.rs`).
    pub fn accept_offer(
        &mut self,
        sdp: &str,
        local: &[Candidate],
        shard: Option<usize>,
        profile: crate::offer_check::Profile,
    ) -> Result<String, OfferError> {
        let m_lines = sdp.lines().filter(|l| l.starts_with("m=")).count();
        if m_lines > MAX_MEDIA_LINES {
            return Err(OfferError::Refused(format!(
                "offer has {m_lines} media lines, at most {MAX_MEDIA_LINES} allowed"
            )));
        }
        // A relay link's offer comes from another node of ours, authenticated by signaling,
        // and holds receive slots only: the layout rules for browsers do not apply to it.
        if self.relay.is_none() {
            crate::offer_check::check_offer_as(sdp, profile)
                .map_err(|p| OfferError::Parse(p.to_string()))?;
        }
        // str0m's parse error text is parser internals (it carries a process address): it is
        // logged, never sent; the structural check above names what most offers get wrong.
        // The SFU starts the DTLS handshake (see crate::dtls_role).
        let sdp = crate::dtls_role::answer_active(sdp);
        let offer = SdpOffer::from_sdp_string(&sdp).map_err(|e| {
            tracing::debug!(error = %e, "offer passed the structural check but str0m refused it");
            OfferError::Parse("a line's value does not parse (attribute syntax)".into())
        })?;
        let lines: Vec<Mid> = offer.media_lines.iter().map(|m| m.mid()).collect();
        if lines.is_empty() {
            return Err(OfferError::Refused("offer has no media".into()));
        }
        if lines.len() > MAX_MEDIA_LINES {
            return Err(OfferError::Refused(format!(
                "offer has {} media lines, at most {MAX_MEDIA_LINES} allowed",
                lines.len()
            )));
        }
        for c in local {
            self.rtc.add_local_candidate(c.clone());
        }
        let answer =
            self.rtc.sdp_api().accept_offer(offer).map_err(|e| {
                OfferError::Refused(crate::offer_check::stack_refusal(&e.to_string()))
            })?;
        for mid in lines {
            self.learn_media(mid);
        }
        self.pts.clear();
        self.rtx_pts = crate::rtx::RtxPts::of(
            self.rtc
                .codec_config()
                .params()
                .iter()
                .filter_map(|p| p.resend()),
        );
        let mut answer = answer.to_sdp_string();
        if let Some(shard) = shard {
            answer = self.keep_shard_tag(answer, shard);
        }
        Ok(crate::answer::candidates_in_every_section(&answer))
    }

    /// An offer that restarts ICE (the web client does on a lost connection) makes str0m
    /// answer with fresh random credentials, which would lose the shard's tag and leave the
    /// browser's checks steered to no shard or the wrong one: tagged ones replace them, in
    /// the ICE agent and in the answer.
    fn keep_shard_tag(&mut self, answer: String, shard: usize) -> String {
        let current = self.rtc.direct_api().local_ice_credentials();
        if super::steer::shard_of_ufrag(&current.ufrag) == Some(shard) {
            return answer;
        }
        let tagged = super::steer::local_credentials(shard);
        let answer = answer
            .replace(
                &format!("a=ice-ufrag:{}", current.ufrag),
                &format!("a=ice-ufrag:{}", tagged.ufrag),
            )
            .replace(
                &format!("a=ice-pwd:{}", current.pass),
                &format!("a=ice-pwd:{}", tagged.pass),
            );
        self.rtc.direct_api().set_local_ice_credentials(tagged);
        answer
    }

    fn learn_media(&mut self, mid: Mid) {
        let known =
            self.tracks.iter().any(|t| t.mid == mid) || self.slots.iter().any(|s| s.mid == mid);
        let Some(media) = self.rtc.media(mid) else {
            return;
        };
        if known {
            return;
        }
        let kind = media.kind();
        match media.direction() {
            Direction::RecvOnly if self.relay.is_some() => {
                let index = u8::try_from(self.tracks.len()).unwrap_or(u8::MAX);
                let kind = TrackKind::Relayed {
                    index,
                    audio: kind == MediaKind::Audio,
                };
                self.tracks.push(UpTrack::new(kind, mid));
            }
            Direction::RecvOnly | Direction::SendRecv => {
                let videos = self.tracks.iter().filter(|t| !t.kind.is_audio()).count();
                let track_kind = match (kind, videos) {
                    (MediaKind::Audio, _) => TrackKind::Audio,
                    (MediaKind::Video, 0) => TrackKind::Camera,
                    (MediaKind::Video, _) => TrackKind::Screen,
                };
                if self.tracks.iter().any(|t| t.kind == track_kind) {
                    return; // one track per kind; extra transceivers are ignored
                }
                self.tracks.push(UpTrack::new(track_kind, mid));
            }
            Direction::SendOnly => self.slots.push(Slot {
                mid,
                kind,
                source: None,
                down: DownTrack::new(),
                pt_map: Vec::new(),
                max: Layer::High,
                priority: 2,
            }),
            Direction::Inactive => {}
        }
    }

    /// Points `slot` at a publisher's track: `source` is (publisher index, track index),
    /// `pt_map` its payload types in this session. Video starts low (fast first picture,
    /// safe on any link) at the full frame rate; the selector climbs from there.
    pub fn attach(
        &mut self,
        slot: usize,
        source: (usize, usize),
        pt_map: Vec<(Pt, PtRoute)>,
        max: Layer,
        priority: u8,
    ) {
        let s = &mut self.slots[slot];
        s.source = Some(source);
        s.pt_map = pt_map;
        s.max = max;
        s.priority = priority;
        s.down.set_source(Layer::Low);
        s.down.set_temporal_target(MAX_TEMPORAL);
        self.downlink.reset_slot(slot);
    }

    /// Leaves `slot` idle: nothing is forwarded to it until the next [`Peer::attach`].
    pub fn detach(&mut self, slot: usize) {
        let s = &mut self.slots[slot];
        s.source = None;
        s.down.clear();
    }

    /// Changes what `slot` wants of the source it keeps.
    pub fn set_wanted(&mut self, slot: usize, max: Layer, priority: u8) {
        self.slots[slot].max = max;
        self.slots[slot].priority = priority;
    }

    /// The index of the slot negotiated as `mid`.
    pub fn slot_index(&self, mid: &str) -> Option<usize> {
        self.slots.iter().position(|s| s.mid.to_string() == mid)
    }

    pub fn add_candidate(&mut self, c: Candidate) {
        self.rtc.add_remote_candidate(c);
    }

    /// Which track and layer an incoming packet belongs to. `None` for SSRCs of no track.
    pub fn classify(&mut self, ssrc: Ssrc) -> Option<Incoming> {
        match self.ssrcs.iter().find(|(s, _)| *s == ssrc) {
            Some((_, c)) => *c,
            None => {
                let c = self.lookup_ssrc(ssrc);
                self.ssrcs.push((ssrc, c));
                c
            }
        }
    }

    fn lookup_ssrc(&mut self, ssrc: Ssrc) -> Option<Incoming> {
        let mut api = self.rtc.direct_api();
        let stream = api.stream_rx(&ssrc)?;
        let (mid, rid) = (stream.mid(), stream.rid());
        let track = self.tracks.iter().position(|t| t.mid == mid)?;
        let layer = rid.and_then(|r| Layer::from_rid(&r));
        Some(Incoming { track, layer })
    }

    /// Codec facts for a payload type of this peer.
    pub fn pt_info(&mut self, pt: Pt) -> Option<PtInfo> {
        if let Some((_, info)) = self.pts.iter().find(|(p, _)| *p == pt) {
            return *info;
        }
        let info = self
            .rtc
            .codec_config()
            .find(|p| p.pt() == pt || p.red() == Some(pt));
        let info = info.map(|p| {
            let spec = p.spec();
            PtInfo {
                video: match spec.codec {
                    Codec::Vp8 => Some(VideoCodec::Vp8),
                    Codec::H264 => Some(VideoCodec::H264),
                    _ => None,
                },
                clock_rate: spec.clock_rate.get(),
                red: p.pt() != pt,
            }
        });
        self.pts.push((pt, info));
        info
    }

    /// How each publisher payload type goes out on `slot`, for every codec both sides have;
    /// a publisher's RED goes out as RED, or unwrapped for a subscriber without it.
    pub fn pt_map_for(&self, slot: usize, publisher: &Peer) -> Vec<(Pt, PtRoute)> {
        let Some(media) = self.rtc.media(self.slots[slot].mid) else {
            return Vec::new();
        };
        let usable = media.remote_pts();
        let mut map = Vec::new();
        for p in publisher.rtc.codec_config().params() {
            let Some(mine) = self.rtc.codec_config().match_params(*p) else {
                continue;
            };
            if !usable.contains(&mine.pt()) {
                continue;
            }
            map.push((p.pt(), PtRoute::Same(mine.pt())));
            if let Some(red) = p.red() {
                let (opus_from, opus_to) = (p.pt(), mine.pt());
                map.push((
                    red,
                    match mine.red() {
                        Some(to) => PtRoute::Red {
                            to,
                            opus_from,
                            opus_to,
                        },
                        None => PtRoute::Unwrap {
                            to: opus_to,
                            opus_from,
                        },
                    },
                ));
            }
        }
        map
    }

    /// Writes one forwarded packet into a slot, with its VP8 PictureID and TL0PICIDX
    /// rewritten when `vp8` (str0m's parse of the payload) is given. Returns false when it
    /// could not be sent (no codec in common, slot not negotiated yet).
    pub fn write(
        &mut self,
        slot: usize,
        pkt: &RtpPacket,
        out: Rewritten,
        vp8: Option<&Vp8Descriptor>,
    ) -> bool {
        let s = &self.slots[slot];
        let Some(&(_, route)) = s
            .pt_map
            .iter()
            .find(|(src, _)| *src == pkt.header.payload_type)
        else {
            return false;
        };
        let Some((pt, payload)) = routed(route, &pkt.payload) else {
            return false;
        };
        let is_video = s.kind == MediaKind::Video;
        let mid = s.mid;
        let src = &pkt.header.ext_vals;
        let ext = ExtensionValues {
            audio_level: src.audio_level,
            voice_activity: src.voice_activity,
            video_orientation: src.video_orientation,
            ..Default::default()
        };
        let mut api = self.rtc.direct_api();
        let Some(tx) = api.stream_tx_by_mid(mid, None) else {
            return false;
        };
        let mut write = RtpWrite::new(pt, out.seq.into(), out.ts, pkt.timestamp, payload)
            .marker(pkt.header.marker)
            .nackable(is_video)
            .ext_vals(ext);
        // The payload stays shared across the fan-out: str0m patches the descriptor bytes as
        // it serializes this slot's copy (resends included).
        if let Some(patch) = vp8.and_then(|d| vp8_patch(d, &out)) {
            write = write.vp8_patch(patch);
        }
        tx.write_rtp(write);
        self.dirty = true;
        true
    }

    /// str0m's pacer queue of this peer's video slots: how long its oldest packet has waited
    /// (the longest over the slots) and the bytes it holds. Sampled at str0m's last pacer
    /// update; read a few times a second by the selection tick, never per packet.
    pub fn video_backlog(&mut self, now: Instant) -> (Duration, usize) {
        let (mut oldest, mut bytes) = (Duration::ZERO, 0);
        let mut api = self.rtc.direct_api();
        for slot in self.slots.iter().filter(|s| s.kind == MediaKind::Video) {
            let Some(q) = api
                .stream_tx_by_mid(slot.mid, None)
                .and_then(|tx| tx.queue_info())
            else {
                continue;
            };
            bytes += q.byte_size();
            if let Some(t) = q.first_unsent() {
                oldest = oldest.max(now.saturating_duration_since(t));
            }
        }
        (oldest, bytes)
    }

    /// Sends a PLI for a layer of a published track.
    pub fn request_keyframe(&mut self, track: usize, layer: Option<Layer>) -> bool {
        let mid = self.tracks[track].mid;
        // An unlayered stream (a screen, a relayed track) has no rid to ask by.
        let rid = if self.tracks[track].layered() {
            layer.map(|l| l.rid().into())
        } else {
            None
        };
        let mut api = self.rtc.direct_api();
        match api.stream_rx_by_mid(mid, rid) {
            Some(rx) => {
                rx.request_keyframe(KeyframeRequestKind::Pli);
                self.dirty = true;
                true
            }
            None => false,
        }
    }
}

/// The payload type and payload `route` sends `payload` with: `None` for a RED payload with
/// no Opus primary to take out (ingest dropped malformed ones already).
fn routed(route: PtRoute, payload: &Arc<[u8]>) -> Option<(Pt, Arc<[u8]>)> {
    match route {
        PtRoute::Same(pt) => Some((pt, payload.clone())),
        PtRoute::Red {
            to,
            opus_from,
            opus_to,
        } if opus_from == opus_to => Some((to, payload.clone())),
        PtRoute::Red {
            to,
            opus_from,
            opus_to,
        } => crate::red::rewrite_pt(payload, *opus_from, *opus_to)
            .ok()
            .map(|p| (to, p.into())),
        PtRoute::Unwrap { to, opus_from } => match crate::red::primary(payload) {
            Ok((pt, primary)) if pt == *opus_from => Some((to, primary.into())),
            _ => None,
        },
    }
}

/// The demand of a slot with nothing to receive.
pub(crate) const IDLE: Demand = Demand {
    priority: u8::MAX,
    max: Layer::Low,
    layer_bps: [None; 3],
};

/// What a video slot could receive, from its publisher's current layer rates.
pub(crate) fn demand(slot: &Slot, track: &UpTrack) -> Demand {
    // An unlayered source (screen, or a browser without simulcast) has one "layer": index 0.
    let max = if track.layered() {
        slot.max
    } else {
        Layer::Low
    };
    Demand {
        priority: slot.priority,
        max,
        layer_bps: track.rates,
    }
}
