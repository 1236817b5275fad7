//! The recorder's tap on the packet path: a recorded publisher's packet of its best layer is
//! copied into the recorder's bounded queue (never waiting), and a keyframe is asked for
//! when recording starts and when the recorded layer sent none for 4 s, so every segment
//! starts on a keyframe soon (Galène's disk writer asks after the same 4 s).

use std::time::{Duration, Instant};

use str0m::rtp::RtpPacket;
use tracing::debug;

use super::core::Core;
use super::ingest::UpTrack;
use crate::forward::PacketMeta;
use crate::keyframe::Need;
use crate::record::{RecPacket, RecTap};
use crate::{Layer, LayerSet, PeerId};

/// A recorded video layer that sent no keyframe this long is asked for one.
pub const KEYFRAME_EVERY: Duration = Duration::from_secs(4);

/// One packet as the tap reads it.
pub(super) struct Copied<'a> {
    /// The packet.
    pub pkt: &'a RtpPacket,
    /// What ingest read of it.
    pub meta: &'a PacketMeta,
    /// Its payload is Opus in RED (RFC 2198): only the primary block is Opus to write
    /// (Chromium sends RED whenever the answer has it).
    pub red: bool,
    /// The layers its publisher sends now.
    pub active: LayerSet,
}

/// Copies one packet to the recorder if it is of the layer recorded (the best one being
/// sent); true when the publisher should be asked for a keyframe.
pub(super) fn copy(
    tap: &RecTap,
    peer: PeerId,
    track: &mut UpTrack,
    copied: Copied<'_>,
    now: Instant,
) -> bool {
    let Copied {
        pkt,
        meta,
        red,
        active,
    } = copied;
    if let Some(layer) = meta.layer {
        let best = Layer::ALL.iter().rev().find(|l| active.contains(**l));
        if best != Some(&layer) {
            return false;
        }
    }
    let payload = if red {
        match crate::red::primary(&pkt.payload) {
            Ok((_, primary)) => primary.to_vec(),
            Err(_) => return false,
        }
    } else {
        pkt.payload.to_vec()
    };
    tap.offer(RecPacket {
        peer,
        kind: track.kind,
        clock_rate: meta.clock_rate,
        seq: meta.seq,
        ts: meta.ts,
        marker: pkt.header.marker,
        payload,
    });
    if track.kind.is_audio() {
        return false;
    }
    if meta.switch_point {
        track.rec_keyframe_at = Some(now);
        return false;
    }
    let due = track
        .rec_keyframe_at
        .is_none_or(|at| now.duration_since(at) >= KEYFRAME_EVERY);
    if due {
        track.rec_keyframe_at = Some(now);
    }
    due
}

impl Core {
    /// Starts (`Some`) or stops copying `peer`'s packets to the recorder; a peer not yet
    /// offered gets it with its first offer.
    pub(super) fn set_recording(&mut self, peer: PeerId, tap: Option<RecTap>, now: Instant) {
        let Some(&idx) = self.by_id.get(&peer) else {
            match tap {
                Some(t) => self.rec_pending.insert(peer, t),
                None => self.rec_pending.remove(&peer),
            };
            return;
        };
        self.rec_pending.remove(&peer);
        let Some(p) = self.peers[idx].as_mut() else {
            return;
        };
        let starting = tap.is_some() && p.recording.is_none();
        p.recording = tap;
        debug!(%peer, recording = p.recording.is_some(), "recording changed");
        if !starting {
            return;
        }
        let video: Vec<(usize, Option<Layer>)> = (0..p.tracks.len())
            .filter(|t| !p.tracks[*t].kind.is_audio())
            .map(|t| {
                let camera = p.tracks[t].kind == crate::TrackKind::Camera;
                (t, camera.then_some(Layer::High))
            })
            .collect();
        for (t, layer) in video {
            if let Some(p) = self.peers[idx].as_mut() {
                p.tracks[t].rec_keyframe_at = Some(now);
            }
            self.keyframe(idx, t, layer, Need::FirstPicture, now);
        }
    }
}
