//! The receiving end: the one link per (meeting, origin) this node holds, opened on the
//! first want and reused by every later one.

use std::future::Future;

use sfu::{Layer, PeerId, RelaySpec, Source, TrackKind};

use super::{Crossing, LinkAnswer, LinkOffer, LinkTracks, RelayError, TRACKS_PER_KIND};
use crate::state::AppState;

/// One of the origin's tracks this node's sites need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Want {
    /// The publishing site, by its id in the meeting.
    pub site: String,
    /// Its track: `Audio`, `Camera` or `Screen`.
    pub track: TrackKind,
    /// The highest layer any local subscriber of it needs: only that crosses.
    pub layer: Layer,
}

/// Carries the link's two requests to the origin (HTTP in [`super::http`]; NATS later).
pub trait Transport: Send + Sync {
    /// Asks `origin` for a link.
    fn open(
        &self,
        origin: &str,
        offer: LinkOffer,
    ) -> impl Future<Output = Result<LinkAnswer, RelayError>> + Send;
    /// Tells `origin` what crosses the link.
    fn select(
        &self,
        origin: &str,
        tracks: LinkTracks,
    ) -> impl Future<Output = Result<(), RelayError>> + Send;
}

/// A link this node holds to an origin.
#[derive(Debug)]
pub(crate) struct Held {
    /// The link's peer here.
    pub(super) peer: PeerId,
    /// The origin's answer: its link id and slots.
    answer: LinkAnswer,
    /// The link's tracks here, audio first (as offered).
    tracks: Vec<TrackKind>,
    /// The mids of its sections that send to the other node: audio, video (as offered).
    pub(super) send: (Vec<String>, Vec<String>),
}

/// Opens (or reuses) this node's link to `origin` for `meeting` and makes exactly `wants`
/// cross it (each once, at its layer). Returns, for each want in order, the local source
/// the node's sites subscribe to (a relayed track of the link).
pub async fn want(
    state: &AppState,
    transport: &impl Transport,
    meeting: &str,
    origin: &str,
    wants: &[Want],
) -> Result<Vec<Source>, RelayError> {
    let settings = state
        .settings
        .relay
        .as_ref()
        .ok_or(RelayError::Unauthorized)?;
    let audio = wants.iter().filter(|w| w.track.is_audio()).count();
    if audio > usize::from(TRACKS_PER_KIND) || wants.len() - audio > usize::from(TRACKS_PER_KIND) {
        return Err(RelayError::TooManyTracks);
    }
    let mut held = state.relay_links.held.lock().await;
    let key = (meeting.to_owned(), origin.to_owned());
    if !held.contains_key(&key) {
        let link = open(state, transport, meeting, origin, &settings.advertise_url).await?;
        held.insert(key.clone(), link);
    }
    let link = held.get(&key).expect("inserted above");
    let (mut a, mut v) = (0, 0);
    let mut crossings = Vec::new();
    let mut sources = Vec::new();
    for w in wants {
        let (slot, local) = if w.track.is_audio() {
            a += 1;
            (&link.answer.audio_slots[a - 1], link.tracks[a - 1])
        } else {
            v += 1;
            let first_video = link.answer.audio_slots.len();
            (
                &link.answer.video_slots[v - 1],
                link.tracks[first_video + v - 1],
            )
        };
        crossings.push(Crossing {
            slot: slot.clone(),
            site: Some(w.site.clone()),
            track: track_name(w.track).into(),
            layer: w.layer.name().into(),
        });
        sources.push(Source {
            peer: link.peer,
            track: local,
            layer: Layer::High,
            priority: 0,
        });
    }
    // Slots no longer wanted go idle: nothing crosses for nobody.
    let idle = |slots: &[String], used: usize, track: &str| {
        slots[used..]
            .iter()
            .map(|s| Crossing {
                slot: s.clone(),
                site: None,
                track: track.into(),
                layer: Layer::Low.name().into(),
            })
            .collect::<Vec<_>>()
    };
    crossings.extend(idle(&link.answer.audio_slots, a, "audio"));
    crossings.extend(idle(&link.answer.video_slots, v, "camera"));
    let tracks = LinkTracks {
        link: link.answer.link,
        meeting: meeting.to_owned(),
        tracks: crossings,
    };
    transport.select(origin, tracks).await?;
    Ok(sources)
}

/// This node's link to `origin` for `meeting`, opened if there is none (nothing is selected
/// to cross it): its peer here and the mids of its sending sections (audio, video).
pub(super) async fn ensure(
    state: &AppState,
    transport: &impl Transport,
    meeting: &str,
    origin: &str,
) -> Result<(PeerId, (Vec<String>, Vec<String>)), RelayError> {
    let settings = state
        .settings
        .relay
        .as_ref()
        .ok_or(RelayError::Unauthorized)?;
    let mut held = state.relay_links.held.lock().await;
    let key = (meeting.to_owned(), origin.to_owned());
    if !held.contains_key(&key) {
        let link = open(state, transport, meeting, origin, &settings.advertise_url).await?;
        held.insert(key.clone(), link);
    }
    let link = held.get(&key).expect("inserted above");
    Ok((link.peer, link.send.clone()))
}

/// Opens a link: the offer here, the answer from the origin, applied here.
async fn open(
    state: &AppState,
    transport: &impl Transport,
    meeting: &str,
    origin: &str,
    node: &str,
) -> Result<Held, RelayError> {
    let peer = PeerId(state.next_id());
    let spec = RelaySpec {
        audio: TRACKS_PER_KIND,
        video: TRACKS_PER_KIND,
    };
    let sdp = state
        .sfu
        .relay_offer(peer, spec)
        .await
        .map_err(|e| RelayError::Refused(e.to_string()))?;
    let offer_sdp = sdp.clone();
    let offer = LinkOffer {
        meeting: meeting.to_owned(),
        node: node.to_owned(),
        sdp,
    };
    let answer = match transport.open(origin, offer).await {
        Ok(a) => a,
        Err(e) => {
            state.sfu.remove_peer(peer);
            return Err(e);
        }
    };
    let shaped = answer.audio_slots.len() == usize::from(spec.audio)
        && answer.video_slots.len() == usize::from(spec.video);
    let tracks = if shaped {
        state.sfu.relay_answer(peer, answer.sdp.clone()).await
    } else {
        Err(sfu::RelayError::Answer(
            "the answer's slots do not match the offer".into(),
        ))
    };
    match tracks {
        Ok(tracks) if tracks.len() == usize::from(spec.audio) + usize::from(spec.video) => {
            tracing::info!(%meeting, link = %peer, "relay link opened");
            Ok(Held {
                peer,
                answer,
                tracks,
                send: super::reverse::send_slots(&offer_sdp),
            })
        }
        Ok(_) => {
            state.sfu.remove_peer(peer);
            Err(RelayError::Refused(
                "the answer's sections do not match the offer".into(),
            ))
        }
        Err(e) => {
            state.sfu.remove_peer(peer);
            Err(RelayError::Refused(e.to_string()))
        }
    }
}

pub(super) fn track_name(t: TrackKind) -> &'static str {
    match t {
        TrackKind::Screen => "screen",
        t if t.is_audio() => "audio",
        _ => "camera",
    }
}
