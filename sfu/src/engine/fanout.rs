//! The core's packet path: a publisher's packet is read once by its track
//! ([`super::ingest::UpTrack::read`]), then each slot the track feeds decides on it
//! ([`crate::forward::DownTrack::decide`]) and its peer writes the copy.

use std::time::Instant;

use str0m::rtp::RtpPacket;
use tracing::{debug, warn};

use super::core::Core;
use super::ingest::{Dropped, Packet};
use crate::keyframe::Need;
use crate::SfuEvent;

impl Core {
    /// Forwards one RTP packet of publisher `pidx` to every connected slot its track feeds.
    pub(super) fn forward(&mut self, pidx: usize, pkt: RtpPacket, now: Instant) {
        let Some(publisher) = self.peers[pidx].as_mut() else {
            return;
        };
        let Some(inc) = publisher.classify(pkt.header.ssrc) else {
            return;
        };
        // A link carries both ways: either end's tracks are relayed in from the other node.
        let relayed_in = publisher.relay.is_some();
        let wire = publisher.rtt.map_or(std::time::Duration::ZERO, |r| r / 2);
        let info = publisher.pt_info(pkt.header.payload_type);
        let track = &mut publisher.tracks[inc.track];
        let read = track.read(
            &Packet {
                layer: inc.layer,
                info,
                seq: *pkt.seq_no,
                ts: pkt.header.timestamp,
                header_len: pkt.header.header_len,
                payload: &pkt.payload,
            },
            now,
        );
        let ingested = match read {
            Ok(i) => i,
            Err(Dropped::Malformed) => {
                self.tally.malformed += 1;
                publisher.link.malformed += 1;
                return;
            }
            Err(Dropped::OverBudget) => {
                self.tally.over_budget += 1;
                publisher.link.policed += 1;
                if publisher.link.policed.is_power_of_two() {
                    warn!(peer = %publisher.id, kind = ?track.kind, layer = ?inc.layer, dropped = publisher.link.policed, "publisher over its budget: excess media dropped");
                }
                return;
            }
            Err(Dropped::Padding | Dropped::UnknownPayloadType) => return,
        };
        // Media only: the origin's pacer pads the link to probe it, and that crosses nothing.
        if relayed_in {
            self.tally.relay_in += 1;
        }
        let inc_is_audio = track.kind.is_audio();
        if inc_is_audio {
            publisher
                .link
                .on_audio_packet(pkt.header.ext_vals.audio_level);
        }
        let meta = &ingested.meta;
        let red = info.is_some_and(|i| i.red);
        let rec_keyframe = publisher.recording.as_ref().is_some_and(|tap| {
            let copied = super::record_tap::Copied {
                pkt: &pkt,
                meta,
                red,
                active: ingested.active,
            };
            super::record_tap::copy(tap, publisher.id, track, copied, now)
        });
        self.scratch.clear();
        self.scratch.extend_from_slice(&track.subscribers);
        let mut keyframe_for: Option<Option<crate::Layer>> = None;
        for i in 0..self.scratch.len() {
            let r = self.scratch[i];
            let Some(sub) = self.peers[r.peer].as_mut().filter(|p| p.connected) else {
                continue;
            };
            let verdict = sub.slots[r.slot].down.decide(meta, ingested.active, now);
            if let Some(out) = verdict.out {
                if meta.switch_point && !inc_is_audio {
                    debug!(subscriber = %sub.id, layer = ?meta.layer, "video keyframe forwarded");
                }
                if sub.write(r.slot, &pkt, out, ingested.patchable.as_ref()) {
                    self.tally.forwarded += 1;
                    if sub.relay.is_some() {
                        self.tally.relay_out += 1;
                    }
                    if relayed_in {
                        self.relayed_wire = Some(wire);
                    }
                    if !sub.first_media_sent {
                        sub.first_media_sent = true;
                        let id = sub.id;
                        self.emit(SfuEvent::FirstMedia(id));
                    }
                    self.dirty.push(r.peer);
                }
            }
            if verdict.keyframe.is_some() {
                keyframe_for = verdict.keyframe;
            }
        }
        if let Some(layer) = keyframe_for {
            self.keyframe(pidx, inc.track, layer, Need::Repeat, now);
        }
        if rec_keyframe {
            self.keyframe(pidx, inc.track, inc.layer, Need::Repeat, now);
        }
    }
}
