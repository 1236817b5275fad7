//! The core's event facet: what each peer's `Rtc` reports when polled (media, connection,
//! stats, estimates, keyframe requests) and what the core makes of it.

use std::time::Instant;

use str0m::media::MediaKind;
use str0m::{Event, IceConnectionState};
use tracing::{debug, info};

use super::core::Core;
use crate::keyframe::Need;
use crate::SfuEvent;

impl Core {
    pub(super) fn on_event(&mut self, idx: usize, event: Event) {
        let now = self.now;
        match event {
            Event::RtpPacket(pkt) => self.forward(idx, pkt, now),
            Event::Connected => self.on_connected(idx, now),
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                if let Some(p) = self.peers[idx].as_mut() {
                    info!(peer = %p.id, "ice disconnected");
                    p.rtc.disconnect();
                }
            }
            Event::PeerStats(stats) => {
                let Some(p) = self.peers[idx].as_mut() else {
                    return;
                };
                p.downlink
                    .on_loss(stats.egress_loss_fraction.map(f64::from));
                p.downlink.on_rtt(stats.rtt, now);
                p.rtt = stats.rtt.or(p.rtt);
                debug!(
                    peer = %p.id,
                    loss = ?stats.egress_loss_fraction,
                    rtt = ?stats.rtt,
                    estimate = p.downlink.estimate_bps(),
                    "downlink stats"
                );
                let estimate = p.connected.then_some(p.downlink.estimate_bps());
                let layer = p.video_layer();
                let report = p.link.report(p.id, &stats, now, estimate, layer);
                self.emit(SfuEvent::Stats(report));
            }
            Event::MediaIngressStats(stats) => {
                let Some(p) = self.peers[idx].as_mut() else {
                    return;
                };
                // A receiving relay end sends no media to measure its round trip on; str0m
                // reports it on what it receives.
                p.rtt = stats.rtt.or(p.rtt);
                let audio = p
                    .tracks
                    .iter()
                    .any(|t| t.mid == stats.mid && t.kind.is_audio());
                p.link
                    .on_ingress(&stats, if audio { 48_000 } else { 90_000 });
            }
            Event::MediaEgressStats(stats) => {
                let Some(p) = self.peers[idx].as_mut() else {
                    return;
                };
                let audio = p
                    .slots
                    .iter()
                    .any(|s| s.mid == stats.mid && s.kind == MediaKind::Audio);
                p.link
                    .on_egress(&stats, if audio { 48_000 } else { 90_000 });
            }
            Event::EgressBitrateEstimate(str0m::bwe::BweKind::Twcc { estimate, .. }) => {
                if let Some(p) = self.peers[idx].as_mut() {
                    if p.downlink.on_estimate(estimate.as_u64(), now) && p.connected {
                        debug!(peer = %p.id, estimate = estimate.as_u64(), "estimate under the chosen video: layers chosen at once");
                        self.reselect.push(idx);
                    }
                }
            }
            Event::KeyframeRequest(req) => {
                let Some(p) = self.peers[idx].as_ref() else {
                    return;
                };
                let Some(slot) = p.slots.iter().find(|s| s.mid == req.mid) else {
                    return;
                };
                let Some((pidx, tidx)) = slot.source else {
                    return;
                };
                let layer = slot.down.current_layer().flatten();
                self.keyframe(pidx, tidx, layer, Need::Repeat, now);
            }
            _ => {}
        }
    }

    /// ICE and DTLS are up. Slots were not fed before (packets written earlier could not be
    /// encrypted), so each video slot restarts at a fresh keyframe now.
    fn on_connected(&mut self, idx: usize, now: Instant) {
        let Some(p) = self.peers[idx].as_mut() else {
            return;
        };
        if p.connected {
            return;
        }
        p.connected = true;
        let id = p.id;
        self.metrics.peers_connected.inc();
        info!(peer = %id, "media connected");
        let mut wanted = Vec::new();
        for slot in &mut p.slots {
            if let Some((pidx, tidx)) = slot.source {
                let target = slot.down.target();
                slot.down.set_source(target);
                if slot.kind == MediaKind::Video {
                    wanted.push((pidx, tidx, target));
                }
            }
        }
        self.emit(SfuEvent::Connected(id));
        for (pidx, tidx, target) in wanted {
            let layer = self.peers[pidx]
                .as_ref()
                .and_then(|p| p.tracks[tidx].active(now).best_for(target));
            self.keyframe(pidx, tidx, layer, Need::FirstPicture, now);
        }
    }
}
