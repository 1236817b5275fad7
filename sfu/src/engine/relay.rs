//! The core's relay facet: the two ends of a link to another node (see [`crate::relay`]).
//! A link is a peer like a browser's, marked with its end, so the packet path, keyframe
//! throttling, NACK/RTX and the bandwidth estimate treat it as they treat any peer.

use std::time::Instant;

use str0m::net::Protocol;
use tracing::info;

use super::core::Core;
use super::peer::{Peer, RelayEnd};
use crate::relay::MAX_RELAY_TRACKS;
use crate::{OfferError, PeerId, PeerLayout, RelayError, RelaySpec, TrackKind};

impl Core {
    /// Creates the receiving end of a link as peer `id` and returns its offer for the origin.
    pub fn relay_offer(
        &mut self,
        id: PeerId,
        spec: RelaySpec,
        now: Instant,
    ) -> Result<String, RelayError> {
        self.now = now;
        let asked = usize::from(spec.audio) + usize::from(spec.video);
        if asked == 0 || asked > MAX_RELAY_TRACKS {
            return Err(RelayError::Size {
                asked,
                max: MAX_RELAY_TRACKS,
            });
        }
        if self.by_id.contains_key(&id) {
            return Err(RelayError::State(id));
        }
        if self.ice_tag.is_some() {
            return Err(RelayError::Sharded);
        }
        // A full ICE agent pairs each local candidate with the origin's: UDP only (the
        // origin's node runs ICE-TCP for browsers behind firewalls, not for its peers).
        let local: Vec<_> = self
            .config
            .candidates
            .iter()
            .filter(|c| c.proto() == Protocol::Udp)
            .cloned()
            .collect();
        let (peer, offer) = Peer::relay_receiver(id, now, spec, &local)?;
        let idx = self.insert_peer(peer);
        self.metrics.relay.links.inc();
        info!(link = %id, audio = spec.audio, video = spec.video, "relay link offered");
        self.mark_dirty(idx);
        self.poll_dirty();
        Ok(offer)
    }

    /// Applies the origin's answer to the link `id` offered; returns the tracks it will
    /// carry, in offer order (audio first), to subscribe local slots to.
    pub fn relay_answer(
        &mut self,
        id: PeerId,
        sdp: &str,
        now: Instant,
    ) -> Result<Vec<TrackKind>, RelayError> {
        self.now = now;
        let idx = *self.by_id.get(&id).ok_or(RelayError::State(id))?;
        let peer = self.peers[idx].as_mut().ok_or(RelayError::State(id))?;
        if peer.relay != Some(RelayEnd::Receiver) {
            return Err(RelayError::State(id));
        }
        peer.accept_relay_answer(sdp)?;
        let tracks = peer.tracks.iter().map(|t| t.kind).collect();
        self.mark_dirty(idx);
        self.poll_dirty();
        Ok(tracks)
    }

    /// Accepts another node's link offer as peer `id`: a subscriber whose slots carry what
    /// that node's sites want (chosen with [`Core::subscribe`], as a browser's).
    pub fn relay_accept(
        &mut self,
        id: PeerId,
        sdp: &str,
        now: Instant,
    ) -> Result<PeerLayout, OfferError> {
        if self
            .by_id
            .get(&id)
            .and_then(|&i| self.peers[i].as_ref())
            .is_some_and(|p| p.relay != Some(RelayEnd::Origin))
        {
            return Err(OfferError::Refused("the link id names another peer".into()));
        }
        self.offer_from(
            id,
            sdp,
            crate::offer_check::Profile::Site,
            now,
            Some(RelayEnd::Origin),
        )
    }

    /// Tracks crossing this core's links now: relayed in with a local subscriber, or a
    /// relayed-out slot with a source, at either end. Added to the shared gauge as a change, so shards sum.
    pub(super) fn count_relay_tracks(&mut self) {
        let mut n = 0i64;
        // A link carries both ways: tracks relayed in with a local subscriber, and slots
        // sending a local track out, at either end.
        for p in self.peers.iter().flatten().filter(|p| p.relay.is_some()) {
            n += p
                .tracks
                .iter()
                .filter(|t| !t.subscribers.is_empty())
                .count() as i64;
            n += p.slots.iter().filter(|s| s.source.is_some()).count() as i64;
        }
        self.metrics.relay.tracks.add(n - self.relay_tracks);
        self.relay_tracks = n;
    }
}
