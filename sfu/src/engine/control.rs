//! The core's control facet: what signaling asks of it between packets (offers, trickled
//! candidates, subscriptions, removal) and the table of peers those change.

use std::time::Instant;

use str0m::media::MediaKind;
use str0m::Candidate;
use tracing::{debug, info, warn};

use super::core::Core;
use super::ingest::SlotRef;
use super::peer::{Peer, RelayEnd};
use crate::keyframe::Need;
use crate::offer_check::Profile;
use crate::{CandidateError, OfferError, PeerId, PeerLayout, SfuEvent, Subscription};

impl Core {
    /// Accepts an SDP offer from `id`: creates the peer on its first offer, renegotiates on
    /// later ones. Returns the answer and what the offer set up.
    pub fn offer(&mut self, id: PeerId, sdp: &str, now: Instant) -> Result<PeerLayout, OfferError> {
        self.offer_as(id, sdp, Profile::Site, now)
    }

    /// As [`Core::offer`], for an offer from `profile` (a site, a WHIP publisher, a WHEP
    /// player): the layout the offer must have differs, the rest is the same.
    pub fn offer_as(
        &mut self,
        id: PeerId,
        sdp: &str,
        profile: Profile,
        now: Instant,
    ) -> Result<PeerLayout, OfferError> {
        self.offer_from(id, sdp, profile, now, None)
    }

    /// As [`Core::offer_as`]; a peer it creates is the `relay` end of a link (`None`: a
    /// browser or a hall's encoder or player).
    pub(super) fn offer_from(
        &mut self,
        id: PeerId,
        sdp: &str,
        profile: Profile,
        now: Instant,
        relay: Option<RelayEnd>,
    ) -> Result<PeerLayout, OfferError> {
        self.now = now;
        let (idx, created) = match self.by_id.get(&id) {
            Some(&idx) => (idx, false),
            None => {
                let creds = self.ice_tag.map(super::steer::local_credentials);
                let mut peer = Peer::new(id, now, creds);
                peer.relay = relay;
                if relay.is_some() {
                    self.metrics.relay.links.inc();
                }
                peer.recording = self.rec_pending.remove(&id);
                (self.insert_peer(peer), true)
            }
        };
        let candidates = &self.config.candidates;
        let shard = self.ice_tag;
        let peer = self.peers[idx].as_mut().expect("index from by_id is live");
        // str0m 0.25 asserts on some payload type layouts a hostile offer can carry ("Pt
        // locked multiple times", found by fuzz/ sdp_offer); unwound here, that costs the
        // offering peer its connection instead of every meeting its media thread.
        let accepted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            peer.accept_offer(sdp, candidates, shard, profile)
        }));
        let answer = match accepted {
            Ok(Ok(a)) => a,
            Ok(Err(e)) => {
                if created {
                    self.remove(idx, false);
                }
                return Err(e);
            }
            Err(_) => {
                warn!(peer = %id, "offer made the WebRTC stack panic; peer removed");
                self.remove(idx, !created);
                return Err(OfferError::Refused(
                    "the offer's payload types cannot be negotiated".into(),
                ));
            }
        };
        let layout = PeerLayout {
            answer_sdp: answer,
            published: peer.tracks.iter().map(|t| t.kind).collect(),
            video_slots: slot_mids(peer, MediaKind::Video),
            audio_slots: slot_mids(peer, MediaKind::Audio),
        };
        self.mark_dirty(idx);
        self.poll_dirty();
        Ok(layout)
    }

    /// Puts a new peer in the first free index; returns the index.
    pub(super) fn insert_peer(&mut self, peer: Peer) -> usize {
        let idx = self
            .peers
            .iter()
            .position(Option::is_none)
            .unwrap_or_else(|| {
                self.peers.push(None);
                self.peers.len() - 1
            });
        self.by_id.insert(peer.id, idx);
        self.peers[idx] = Some(peer);
        self.metrics.peers.inc();
        self.shard_peers.inc();
        idx
    }

    /// Adds a trickled remote ICE candidate (`a=` prefix optional) to peer `id`.
    pub fn candidate(&mut self, id: PeerId, line: &str) -> Result<(), CandidateError> {
        let line = line.trim();
        let line = line.strip_prefix("a=").unwrap_or(line);
        let c =
            Candidate::from_sdp_string(line).map_err(|e| CandidateError::Parse(e.to_string()))?;
        if let Some(p) = self.by_id.get(&id).and_then(|&i| self.peers[i].as_mut()) {
            p.add_candidate(c);
        }
        Ok(())
    }

    /// Re-points `subscriber`'s listed slots: detaches each from its old track, attaches it
    /// to the new one and asks the new source for a keyframe. Slots not listed keep theirs.
    pub fn subscribe(&mut self, subscriber: PeerId, subs: Vec<Subscription>, now: Instant) {
        self.now = now;
        let Some(&sidx) = self.by_id.get(&subscriber) else {
            return;
        };
        for sub in subs {
            let Some(slot) = self.peers[sidx]
                .as_ref()
                .and_then(|p| p.slot_index(&sub.slot))
            else {
                debug!(%subscriber, slot = %sub.slot, "subscription for unknown slot");
                continue;
            };
            let new_source = sub.source.and_then(|src| {
                let pidx = *self.by_id.get(&src.peer)?;
                let tidx = self.peers[pidx]
                    .as_ref()?
                    .tracks
                    .iter()
                    .position(|t| t.kind == src.track)?;
                Some((pidx, tidx, src.layer))
            });
            let priority = sub.source.map_or(2, |src| src.priority);
            let slot_ref = SlotRef { peer: sidx, slot };
            let old = self.peers[sidx].as_ref().and_then(|p| p.slots[slot].source);
            if old == new_source.map(|(p, t, _)| (p, t)) {
                if let (Some((_, _, layer)), Some(p)) = (new_source, self.peers[sidx].as_mut()) {
                    p.set_wanted(slot, layer, priority);
                }
                continue;
            }
            if let Some((op, ot)) = old {
                if let Some(publisher) = self.peers[op].as_mut() {
                    publisher.tracks[ot].subscribers.retain(|r| *r != slot_ref);
                }
            }
            let Some((pidx, tidx, layer)) = new_source else {
                if let Some(s) = self.peers[sidx].as_mut() {
                    s.detach(slot);
                }
                continue;
            };
            let (pt_map, kind_ok) = {
                let (Some(s), Some(p)) = (self.peers[sidx].as_ref(), self.peers[pidx].as_ref())
                else {
                    continue;
                };
                let slot_is_audio = s.slots[slot].kind == MediaKind::Audio;
                (
                    s.pt_map_for(slot, p),
                    slot_is_audio == p.tracks[tidx].kind.is_audio(),
                )
            };
            let s = self.peers[sidx].as_mut().expect("checked above");
            if !kind_ok {
                warn!(%subscriber, slot = %sub.slot, "source kind does not match slot kind");
                s.detach(slot);
                continue;
            }
            s.attach(slot, (pidx, tidx), pt_map, layer, priority);
            let subscriber_connected = s.connected;
            let publisher = self.peers[pidx].as_mut().expect("checked above");
            publisher.tracks[tidx].subscribers.push(slot_ref);
            // An unconnected subscriber asks when it connects (see on_connected): a keyframe
            // now would be spent before it can be received.
            if subscriber_connected && !publisher.tracks[tidx].kind.is_audio() {
                let l = publisher.tracks[tidx]
                    .active(now)
                    .best_for(crate::Layer::Low);
                self.keyframe(pidx, tidx, l, Need::FirstPicture, now);
            }
        }
    }

    /// Closes a peer's connection and drops its state; its subscribers' slots go idle.
    pub fn remove_peer(&mut self, peer: PeerId) {
        if let Some(&idx) = self.by_id.get(&peer) {
            self.remove(idx, false);
        }
    }

    /// Drops a peer: detaches its slots from their sources and idles the slots it fed;
    /// `notify` tells signaling (the connection died rather than being removed).
    pub(super) fn remove(&mut self, idx: usize, notify: bool) {
        let Some(peer) = self.peers[idx].take() else {
            return;
        };
        self.by_id.remove(&peer.id);
        self.by_addr.retain(|_, i| *i != idx);
        self.metrics.peers.dec();
        self.shard_peers.dec();
        if peer.connected {
            self.metrics.peers_connected.dec();
        }
        if peer.relay.is_some() {
            self.metrics.relay.links.dec();
        }
        for (s, slot) in peer.slots.iter().enumerate() {
            if let Some((pidx, tidx)) = slot.source {
                if let Some(p) = self.peers[pidx].as_mut() {
                    p.tracks[tidx]
                        .subscribers
                        .retain(|r| *r != SlotRef { peer: idx, slot: s });
                }
            }
        }
        for track in &peer.tracks {
            for r in &track.subscribers {
                if let Some(sub) = self.peers[r.peer].as_mut() {
                    sub.detach(r.slot);
                }
            }
        }
        info!(peer = %peer.id, "peer removed");
        if notify {
            self.emit(SfuEvent::Disconnected(peer.id));
        }
    }
}

fn slot_mids(peer: &Peer, kind: MediaKind) -> Vec<String> {
    peer.slots
        .iter()
        .filter(|s| s.kind == kind)
        .map(|s| s.mid.to_string())
        .collect()
}
