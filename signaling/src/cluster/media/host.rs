//! The two ends of a hosted connection over NATS: the origin asks ([`offer`],
//! [`add_candidate`]) and takes the hosting node's events ([`serve_events`]); the hosting
//! node answers on its own SFU ([`serve_commands`]).
//!
//! What comes from another node is untrusted as a browser's is: commands are parsed with
//! unknown fields refused, names checked, an offer held to `limits.sdp_bytes`, and an event
//! only counts for a connection the sending node hosts.

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use sfu::{CandidateError, OfferError, PeerId, PeerLayout, SfuEvent};

use super::crossing::Job;
use super::plan::{At, Located, Slot};
use super::wire::{self, Command, Event, Reply, What, WireSlot};
use super::{Host, Hosted};
use crate::cluster::{records, Cluster};
use crate::state::AppState;

/// How long the origin waits for the hosting node's answer.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// The origin's session of a tunneled site: has `host` answer the site's offer on its SFU.
/// `peer` is the site's connection as the origin names it.
pub async fn offer(
    state: &AppState,
    host: &Host,
    meeting: &str,
    site: &str,
    peer: PeerId,
    sdp: String,
) -> Result<PeerLayout, OfferError> {
    let cluster = state.cluster.get().ok_or(OfferError::Stopped)?;
    cluster.media.remote.insert(peer, host.clone());
    let command = Command::Offer {
        origin: cluster.node_id.clone(),
        meeting: meeting.to_owned(),
        site: site.to_owned(),
        peer: peer.0,
        sdp,
    };
    match request(cluster, &host.node, &command).await {
        Some(Reply::Answer {
            sdp,
            published,
            video_slots,
            audio_slots,
        }) => Ok(PeerLayout {
            answer_sdp: sdp,
            published: published.iter().filter_map(|t| wire::track_of(t)).collect(),
            video_slots,
            audio_slots,
        }),
        Some(Reply::Refused {
            bad: true,
            parse,
            message,
        }) => Err(if parse {
            OfferError::Parse(message)
        } else {
            OfferError::Refused(message)
        }),
        _ => Err(OfferError::Stopped),
    }
}

/// As [`offer`], for a trickled candidate.
pub async fn add_candidate(
    state: &AppState,
    host: &Host,
    peer: PeerId,
    candidate: String,
) -> Result<(), CandidateError> {
    let cluster = state.cluster.get().ok_or(CandidateError::Stopped)?;
    let command = Command::Candidate {
        origin: cluster.node_id.clone(),
        peer: peer.0,
        candidate,
    };
    match request(cluster, &host.node, &command).await {
        Some(Reply::Done) => Ok(()),
        Some(Reply::Refused {
            bad: true, message, ..
        }) => Err(CandidateError::Parse(message)),
        _ => Err(CandidateError::Stopped),
    }
}

/// One request to `node`'s command subject; `None`: no (readable) answer in time.
async fn request(cluster: &Cluster, node: &str, command: &Command) -> Option<Reply> {
    let body = serde_json::to_vec(command).ok()?;
    let asked = cluster
        .client
        .request(wire::command_subject(node), body.into());
    let reply = tokio::time::timeout(REPLY_TIMEOUT, asked)
        .await
        .ok()?
        .ok()?;
    serde_json::from_slice(&reply.payload).ok()
}

/// Serves this node's command subject (as the hosting node) until the task is aborted.
pub(super) async fn serve_commands(
    cluster: Arc<Cluster>,
    state: &Arc<AppState>,
) -> Result<tokio::task::JoinHandle<()>, async_nats::SubscribeError> {
    let mut sub = cluster
        .client
        .subscribe(wire::command_subject(&cluster.node_id))
        .await?;
    let state: Weak<AppState> = Arc::downgrade(state);
    Ok(tokio::spawn(async move {
        while let Some(msg) = sub.next().await {
            let Some(state) = state.upgrade() else { break };
            let reply = match serde_json::from_slice::<Command>(&msg.payload) {
                Ok(command) => command_in(&cluster, &state, command).await,
                Err(_) => Some(refused(false, "malformed media command")),
            };
            if let (Some(to), Some(reply)) = (msg.reply, reply) {
                if let Ok(body) = serde_json::to_vec(&reply) {
                    let _ = cluster.client.publish(to, body.into()).await;
                }
            }
        }
    }))
}

/// Carries out one command; the reply for those that have one.
async fn command_in(cluster: &Cluster, state: &AppState, command: Command) -> Option<Reply> {
    let media = &cluster.media;
    match command {
        Command::Offer {
            origin,
            meeting,
            site,
            peer,
            sdp,
        } => {
            if !records::valid_node_id(&origin) || !records::valid_meeting_id(&meeting) {
                return Some(refused(false, "a node or meeting name that is not valid"));
            }
            // The origin held the offer to its own limit; this node holds it to its own.
            if sdp.len() > state.settings.limits.sdp_bytes {
                return Some(refused(
                    true,
                    &format!(
                        "{} bytes, at most {} allowed here",
                        sdp.len(),
                        state.settings.limits.sdp_bytes
                    ),
                ));
            }
            let key = (origin.clone(), peer);
            let known = media.by_origin.get(&key).map(|p| *p.value());
            let local = known.unwrap_or_else(|| PeerId(state.next_id()));
            media.by_origin.insert(key.clone(), local);
            let first = !media.hosted.contains_key(&local);
            media.hosted.insert(
                local,
                Hosted {
                    origin,
                    meeting,
                    site,
                    peer,
                },
            );
            let answered = state.sfu.offer_in(0, local, sdp).await;
            if answered.is_err() && first {
                // Refused before any connection existed: nothing stays hosted.
                media.hosted.remove(&local);
                if known.is_none() {
                    media.by_origin.remove(&key);
                }
            }
            match answered {
                Ok(layout) => {
                    // Slots set before the connection existed reach it now.
                    media.queue(Job::Refresh(local));
                    Some(Reply::Answer {
                        sdp: layout.answer_sdp,
                        published: layout
                            .published
                            .iter()
                            .map(|t| wire::track_name(*t).to_owned())
                            .collect(),
                        video_slots: layout.video_slots,
                        audio_slots: layout.audio_slots,
                    })
                }
                Err(OfferError::Stopped) => Some(refused(false, "media plane is not running")),
                Err(OfferError::Parse(why)) => Some(Reply::Refused {
                    bad: true,
                    parse: true,
                    message: why,
                }),
                Err(OfferError::Refused(why)) => Some(refused(true, &why)),
            }
        }
        Command::Candidate {
            origin,
            peer,
            candidate,
        } => {
            let Some(local) = media.by_origin.get(&(origin, peer)).map(|p| *p.value()) else {
                return Some(refused(true, "send an offer before candidates"));
            };
            match state.sfu.add_candidate(local, candidate).await {
                Ok(()) => Some(Reply::Done),
                Err(CandidateError::Stopped) => Some(refused(false, "media plane is not running")),
                Err(CandidateError::Parse(why)) => Some(Reply::Refused {
                    bad: true,
                    parse: true,
                    message: why,
                }),
            }
        }
        Command::Subscribe {
            origin,
            meeting,
            peer,
            origin_url,
            slots,
        } => {
            let local = *media
                .by_origin
                .entry((origin, peer))
                .or_insert_with(|| PeerId(state.next_id()));
            let here = state
                .settings
                .relay
                .as_ref()
                .map(|r| r.advertise_url.as_str());
            let slots = slots
                .into_iter()
                .map(|s| located(media, &meeting, here, s))
                .collect();
            media.queue(Job::Set {
                meeting,
                peer: local,
                origin: super::valid_relay_url(&origin_url).then_some(origin_url),
                slots,
            });
            None
        }
        Command::Remove { origin, peer } => {
            if let Some((_, local)) = media.by_origin.remove(&(origin, peer)) {
                media.hosted.remove(&local);
                state.sfu.remove_peer(local);
                media.queue(Job::Drop(local));
            }
            None
        }
    }
}

/// A slot as the origin sent it, its source found here (a site hosted here) or on its node.
fn located(media: &super::Media, meeting: &str, here: Option<&str>, s: WireSlot) -> Slot {
    let source = s.source.and_then(|w| {
        let at = if Some(w.node.as_str()) == here {
            At::Here(media.hosted_peer(meeting, &w.site)?)
        } else if super::valid_relay_url(&w.node) {
            At::There(w.node)
        } else {
            return None;
        };
        Some(Located {
            track: wire::track_of(&w.track)?,
            layer: wire::layer_of(&w.layer)?,
            site: w.site,
            priority: w.priority,
            at,
        })
    });
    Slot {
        slot: s.slot,
        source,
    }
}

fn refused(bad: bool, message: &str) -> Reply {
    Reply::Refused {
        bad,
        parse: false,
        message: message.to_owned(),
    }
}

/// Serves this node's event subject (as an origin): a hosting node's event about one of
/// this node's connections is handled as the local SFU's would be.
pub(super) async fn serve_events(
    cluster: Arc<Cluster>,
    state: &Arc<AppState>,
) -> Result<tokio::task::JoinHandle<()>, async_nats::SubscribeError> {
    let mut sub = cluster
        .client
        .subscribe(wire::event_subject(&cluster.node_id))
        .await?;
    let state: Weak<AppState> = Arc::downgrade(state);
    Ok(tokio::spawn(async move {
        while let Some(msg) = sub.next().await {
            let Some(state) = state.upgrade() else { break };
            let Ok(event) = serde_json::from_slice::<Event>(&msg.payload) else {
                continue;
            };
            let peer = PeerId(event.peer);
            // Only the node hosting a connection speaks for it.
            if cluster.media.host_of(peer).map(|h| h.node) != Some(event.node) {
                continue;
            }
            let event = match event.what {
                What::Lost => SfuEvent::Disconnected(peer),
                What::Layers { max } => SfuEvent::CameraLayersWanted {
                    peer,
                    max: max.as_deref().and_then(wire::layer_of),
                },
                What::Reception { reception } => match wire::reception_of(&reception) {
                    Some(reception) => SfuEvent::Reception { peer, reception },
                    None => continue,
                },
            };
            crate::sfu_events::handle(&state, event).await;
        }
    }))
}
