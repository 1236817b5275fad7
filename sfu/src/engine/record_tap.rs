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

/// Copies one packet to the recorder if it is of the layer recorded (the best one being
/// sent); true when the publisher should be asked for a keyframe.
pub(super) fn copy(
    tap: &RecTap,
    peer: PeerId,
    track: &mut UpTrack,
    pkt: &RtpPacket,
    meta: &PacketMeta,
    active: LayerSet,
    now: Instant,
) -> bool {
    if let Some(layer) = meta.layer {
        let best = Layer::ALL.iter().rev().find(|l| active.contains(**l));
        if best != Some(&layer) {
            return false;
        }
    }
    tap.offer(RecPacket {
        peer,
        kind: track.kind,
        clock_rate: meta.clock_rate,
        seq: meta.seq,
        ts: meta.ts,
        marker: pkt.header.marker,
        payload: pkt.payload.to_vec(),
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
