//! The origin's end: answers another node's link offer and points the link's slots at the
//! meeting's tracks. Every call checks the cluster secret before anything else.

use sfu::{Layer, PeerId, Source, Subscription, TrackKind};

use super::{authorized, Crossing, LinkAnswer, LinkOffer, LinkTracks, RelayError};
use crate::state::AppState;

/// Answers `offer` from another node (bearer `bearer`): one link per meeting and node, so a
/// node that offers again (it restarted, or lost the link) replaces its old link.
pub async fn accept(
    state: &AppState,
    offer: LinkOffer,
    bearer: Option<&str>,
) -> Result<LinkAnswer, RelayError> {
    if !authorized(state.settings.relay.as_ref(), bearer) {
        return Err(RelayError::Unauthorized);
    }
    if offer.sdp.len() > state.settings.limits.sdp_bytes {
        return Err(RelayError::BadRequest(format!(
            "the offer has {} bytes, at most {} allowed",
            offer.sdp.len(),
            state.settings.limits.sdp_bytes
        )));
    }
    // A meeting held here, or one whose sites this node hosts for its origin (their
    // connections are on shard 0: see `cluster::media`).
    let shard = match state.meetings.get(&offer.meeting) {
        Some(meeting) => crate::shards::of_meeting(state, &meeting),
        None if hosted(state, &offer.meeting) => 0,
        None => return Err(RelayError::UnknownMeeting),
    };
    let old: Vec<PeerId> = state
        .relay_links
        .accepted
        .iter()
        .filter(|e| e.value().0 == offer.meeting && e.value().1 == offer.node)
        .map(|e| *e.key())
        .collect();
    for link in old {
        state.relay_links.accepted.remove(&link);
        state.sfu.remove_peer(link);
    }
    let link = PeerId(state.next_id());
    let layout = state
        .sfu
        .relay_accept(shard, link, offer.sdp)
        .await
        .map_err(|e| match e {
            sfu::OfferError::Stopped => RelayError::Stopped,
            e => RelayError::Refused(e.to_string()),
        })?;
    state
        .relay_links
        .accepted
        .insert(link, (offer.meeting, offer.node));
    Ok(LinkAnswer {
        link: link.0,
        sdp: layout.answer_sdp,
        audio_slots: layout.audio_slots,
        video_slots: layout.video_slots,
    })
}

/// Points link `tracks.link`'s slots at the meeting's tracks (bearer `bearer`). A site that
/// is not connected here (yet) leaves its slot idle.
pub fn select(
    state: &AppState,
    tracks: LinkTracks,
    bearer: Option<&str>,
) -> Result<(), RelayError> {
    if !authorized(state.settings.relay.as_ref(), bearer) {
        return Err(RelayError::Unauthorized);
    }
    let link = PeerId(tracks.link);
    match state.relay_links.accepted.get(&link) {
        Some(e) if e.value().0 == tracks.meeting => {}
        _ => return Err(RelayError::UnknownLink),
    }
    let mut subscriptions = Vec::with_capacity(tracks.tracks.len());
    for c in &tracks.tracks {
        subscriptions.push(Subscription {
            slot: c.slot.clone(),
            source: source(state, &tracks.meeting, c)?,
        });
    }
    state.sfu.set_subscriptions(link, subscriptions);
    Ok(())
}

/// Whether this node hosts sites of `meeting` for another node (cluster only).
fn hosted(state: &AppState, meeting: &str) -> bool {
    state
        .cluster
        .get()
        .is_some_and(|c| c.media.hosts_meeting(meeting))
}

/// The source a crossing names: the site's peer in this meeting, if it is connected.
pub(super) fn source(
    state: &AppState,
    meeting: &str,
    c: &Crossing,
) -> Result<Option<Source>, RelayError> {
    let track = match c.track.as_str() {
        "audio" => TrackKind::Audio,
        "camera" => TrackKind::Camera,
        "screen" => TrackKind::Screen,
        other => {
            return Err(RelayError::BadRequest(format!(
                "track {other:?} is not audio, camera or screen"
            )))
        }
    };
    let layer = Layer::ALL
        .into_iter()
        .find(|l| l.name() == c.layer)
        .ok_or_else(|| {
            RelayError::BadRequest(format!("layer {:?} is not low, mid or high", c.layer))
        })?;
    let Some(site) = &c.site else {
        return Ok(None);
    };
    let peer = state
        .peers
        .iter()
        .find(|e| e.value().0.id == meeting && &e.value().1 == site)
        .map(|e| *e.key())
        .or_else(|| {
            let cluster = state.cluster.get()?;
            cluster.media.hosted_peer(meeting, site)
        });
    Ok(peer.map(|peer| Source {
        peer,
        track,
        layer,
        priority: 0,
    }))
}
