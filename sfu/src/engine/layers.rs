//! The core's selection tick, a few times a second: silent peers are dropped, every
//! published layer is measured, each subscriber's layers are chosen from its bandwidth
//! estimate ([`crate::downlink`] decides) and carried out by its down-tracks, and
//! publishers hear which camera layers anyone still receives.

use std::time::{Duration, Instant};

use str0m::media::MediaKind;
use tracing::{debug, info};

use super::core::Core;
use super::peer;
use crate::SfuEvent;

/// A connected peer that sends nothing at all for this long is gone (its network was cut):
/// a joined browser sends RTCP and transport feedback at least every second or so, and ICE
/// consent checks every 4-6 s even with nothing else to say. str0m alone, as an ICE-lite
/// agent, waits 15 s after the last consent check, i.e. 15-20 s after the cut.
pub const SILENCE_TIMEOUT: Duration = Duration::from_secs(8);

impl Core {
    /// Measures every published layer, then chooses each subscriber's layers and tells its
    /// estimator what to probe for.
    pub(super) fn select_layers(&mut self, now: Instant) {
        self.drop_silent(now);
        for p in self.peers.iter_mut().flatten() {
            for t in &mut p.tracks {
                t.measure(now);
            }
        }
        self.report_wanted_layers();
        let mut paused = 0;
        for sidx in 0..self.peers.len() {
            paused += self.select_for(sidx, now);
        }
        self.metrics.paused_slots.set(paused);
    }

    /// Chooses subscriber `sidx`'s layers at `now` and carries the choice out; returns how
    /// many of its video slots are paused. Runs at every tick for every subscriber, and at
    /// once for one whose estimate fell sharply.
    pub(super) fn select_for(&mut self, sidx: usize, now: Instant) -> i64 {
        let mut paused = 0;
        // One demand per slot, so the selector's memory stays attached to its slot;
        // audio and idle slots have no usable layer.
        let demands: Vec<crate::select::Demand> =
            {
                let Some(sub) = self.peers[sidx].as_ref().filter(|p| p.connected) else {
                    return 0;
                };
                sub.slots
                    .iter()
                    .map(|s| {
                        let track = s.source.filter(|_| s.kind == MediaKind::Video).and_then(
                            |(pidx, tidx)| self.peers[pidx].as_ref().map(|p| &p.tracks[tidx]),
                        );
                        track.map_or(peer::IDLE, |t| peer::demand(s, t))
                    })
                    .collect()
            };
        let Some(sub) = self.peers[sidx].as_mut() else {
            return 0;
        };
        let (oldest, bytes) = sub.video_backlog(now);
        sub.downlink.on_backlog(oldest, bytes);
        let update = sub.downlink.update(&demands, now);
        // A standing queue or a sharp fall of the estimate: slots going down shed
        // their old layer until the lower one's keyframe.
        let shedding = sub.downlink.shedding(now);
        for s in &mut sub.slots {
            s.down.set_shed_going_down(shedding);
        }
        let reception = update.reported;
        let mut reception_changed = None;
        if sub.reception != Some(reception) {
            debug!(
                subscriber = %sub.id,
                reception = ?reception,
                selected = ?update.reception,
                estimate = sub.downlink.estimate_bps(),
                "reception"
            );
            sub.reception = Some(reception);
            reception_changed = Some(sub.id);
        }
        for (slot, choice) in update.choices.into_iter().enumerate() {
            let s = &mut sub.slots[slot];
            if s.kind != MediaKind::Video || s.source.is_none() {
                continue;
            }
            if let Some(before) = s.down.apply_choice(choice) {
                debug!(
                    subscriber = %sub.id,
                    slot = %s.mid,
                    estimate = sub.downlink.estimate_bps(),
                    backlog_ms = oldest.as_millis() as u64,
                    backlog_bytes = bytes,
                    before = ?before.map(|c| c.layer),
                    before_temporal = ?before.map(|c| c.temporal),
                    layer = ?choice.map(|c| c.layer),
                    temporal = ?choice.map(|c| c.temporal),
                    "layer choice"
                );
                self.tally.layer_switches += 1;
            }
            if choice.is_none() {
                paused += 1;
            }
        }
        if let Some(bps) = update.restart_bps {
            // The estimator stalled short of the next step up on a clean link (crate::stall).
            info!(subscriber = %sub.id, estimate = bps, "estimator stalled on a recovered link: restarted");
            sub.rtc.bwe().reset(str0m::bwe::Bitrate::bps(bps));
        }
        // Pad towards the next step up, probe towards the desired rate (see Downlink). A
        // desired rate of 0 stops every kind of str0m probe (each is capped at twice it, and
        // none goes under 5 kbit/s): audio first on a starved line.
        let desired = if update.probing {
            update.desired_bps
        } else {
            0
        };
        sub.rtc.bwe().set_bitrate(
            str0m::bwe::Bitrate::bps(update.probe_bps),
            str0m::bwe::Bitrate::bps(desired),
        );
        sub.dirty = true;
        self.dirty.push(sidx);
        if let Some(peer) = reception_changed {
            self.emit(SfuEvent::Reception { peer, reception });
        }
        paused
    }

    /// Disconnects connected peers that have sent nothing for [`SILENCE_TIMEOUT`]; the next
    /// poll removes them and tells signaling.
    fn drop_silent(&mut self, now: Instant) {
        for idx in 0..self.peers.len() {
            let Some(p) = self.peers[idx].as_mut() else {
                continue;
            };
            if p.connected && now.saturating_duration_since(p.last_rx) >= SILENCE_TIMEOUT {
                info!(peer = %p.id, "nothing received for {} s: peer gone", SILENCE_TIMEOUT.as_secs());
                p.rtc.disconnect();
                self.poll(idx);
            }
        }
    }

    /// Tells signaling when the highest camera layer any connected subscriber may receive
    /// from a publisher changes, so the publisher stops encoding layers nobody receives.
    fn report_wanted_layers(&mut self) {
        let mut changes = Vec::new();
        for (pidx, p) in self.peers.iter().enumerate() {
            let Some(p) = p.as_ref().filter(|p| p.connected) else {
                continue;
            };
            for (tidx, track) in p.tracks.iter().enumerate() {
                if track.kind != crate::TrackKind::Camera {
                    continue;
                }
                let max = track
                    .subscribers
                    .iter()
                    .filter_map(|r| {
                        self.peers[r.peer]
                            .as_ref()
                            .filter(|s| s.connected)
                            .map(|s| s.slots[r.slot].max)
                    })
                    .max();
                if track.wanted_reported != Some(max) {
                    changes.push((pidx, tidx, p.id, max));
                }
            }
        }
        for (pidx, tidx, peer, max) in changes {
            if let Some(p) = self.peers[pidx].as_mut() {
                p.tracks[tidx].wanted_reported = Some(max);
            }
            self.emit(SfuEvent::CameraLayersWanted { peer, max });
        }
    }
}
