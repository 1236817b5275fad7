//! The other way over a link: a media port pair carries one str0m connection (peers are
//! found by the sender's address), so the link between two nodes for a meeting carries
//! both ways. The node whose relay URL sorts first opens it ([`opens`]) and receives over it
//! with `want`; the other node receives over the same link by asking the opener what to send
//! ([`receive`] here, [`send`] there): the opener points its link's sending sections at its
//! local tracks, and they arrive at the asker as the tracks of the link it accepted.

use sfu::{Layer, PeerId, Source, Subscription, TrackKind};

use super::http::HttpTransport;
use super::receiver::ensure;
use super::{authorized, Crossing, LinkSend, RelayError, Sent, Want, TRACKS_PER_KIND};
use crate::state::AppState;

/// Whether the node at `mine` opens the link with the node at `other` (both relay URLs):
/// the one that sorts first, so both ends agree without asking.
pub fn opens(mine: &str, other: &str) -> bool {
    mine < other
}

/// The mids of an opening end's offer's sending sections, audio then video, in offer order.
pub fn send_slots(offer: &str) -> (Vec<String>, Vec<String>) {
    let (mut audio, mut video) = (Vec::new(), Vec::new());
    for section in offer.split("\r\nm=").skip(1) {
        let lines: Vec<&str> = section.lines().collect();
        let sends = lines.iter().any(|l| l.trim() == "a=sendonly");
        let mid = lines.iter().find_map(|l| l.trim().strip_prefix("a=mid:"));
        match (sends, mid) {
            (true, Some(mid)) if section.starts_with("audio") => audio.push(mid.to_owned()),
            (true, Some(mid)) if section.starts_with("video") => video.push(mid.to_owned()),
            _ => {}
        }
    }
    (audio, video)
}

/// At the opener: points the sending sections of its link with `request.node` at the
/// tracks asked for (opening the link first if there is none), idles the others.
pub async fn send(
    state: &AppState,
    transport: &HttpTransport,
    request: LinkSend,
    bearer: Option<&str>,
) -> Result<(), RelayError> {
    if !authorized(state.settings.relay.as_ref(), bearer) {
        return Err(RelayError::Unauthorized);
    }
    let audio = request.tracks.iter().filter(|t| t.track == "audio").count();
    if audio > usize::from(TRACKS_PER_KIND)
        || request.tracks.len() - audio > usize::from(TRACKS_PER_KIND)
    {
        return Err(RelayError::TooManyTracks);
    }
    let (link, (audio_mids, video_mids)) =
        ensure(state, transport, &request.meeting, &request.node).await?;
    let (mut a, mut v) = (0, 0);
    let mut subscriptions = Vec::new();
    for t in &request.tracks {
        let slot = if t.track == "audio" {
            a += 1;
            audio_mids.get(a - 1)
        } else {
            v += 1;
            video_mids.get(v - 1)
        };
        let Some(slot) = slot else {
            return Err(RelayError::TooManyTracks);
        };
        let crossing = Crossing {
            slot: slot.clone(),
            site: Some(t.site.clone()),
            track: t.track.clone(),
            layer: t.layer.clone(),
        };
        subscriptions.push(Subscription {
            slot: slot.clone(),
            source: super::origin::source(state, &request.meeting, &crossing)?,
        });
    }
    let idle = |mids: &[String], used: usize| {
        mids.iter()
            .skip(used)
            .map(|m| Subscription {
                slot: m.clone(),
                source: None,
            })
            .collect::<Vec<_>>()
    };
    subscriptions.extend(idle(&audio_mids, a));
    subscriptions.extend(idle(&video_mids, v));
    state.sfu.set_subscriptions(link, subscriptions);
    Ok(())
}

/// At the other end: asks the opener at `node` to send `wants` over the link it opened to
/// this node (it opens one if needed); returns, for each want in order, the local source
/// (a track of that link here).
pub async fn receive(
    state: &AppState,
    transport: &HttpTransport,
    meeting: &str,
    node: &str,
    wants: &[Want],
) -> Result<Vec<Source>, RelayError> {
    let settings = state
        .settings
        .relay
        .as_ref()
        .ok_or(RelayError::Unauthorized)?;
    let request = LinkSend {
        meeting: meeting.to_owned(),
        node: settings.advertise_url.clone(),
        tracks: wants
            .iter()
            .map(|w| Sent {
                site: w.site.clone(),
                track: super::receiver::track_name(w.track).into(),
                layer: w.layer.name().into(),
            })
            .collect(),
    };
    transport.send(node, &request).await?;
    let link = state
        .relay_links
        .accepted
        .iter()
        .find(|e| e.value().0 == meeting && e.value().1 == node)
        .map(|e| *e.key())
        .ok_or(RelayError::UnknownLink)?;
    Ok(sources(link, wants))
}

/// The tracks of accepted link `link` that carry `wants`: its receiving sections come after
/// the ones it sends on, audio then video, [`TRACKS_PER_KIND`] each.
fn sources(link: PeerId, wants: &[Want]) -> Vec<Source> {
    let (mut a, mut v) = (0u8, 0u8);
    wants
        .iter()
        .map(|w| {
            let track = if w.track.is_audio() {
                a += 1;
                TrackKind::Relayed {
                    index: a - 1,
                    audio: true,
                }
            } else {
                v += 1;
                TrackKind::Relayed {
                    index: TRACKS_PER_KIND + v - 1,
                    audio: false,
                }
            };
            Source {
                peer: link,
                track,
                layer: Layer::High,
                priority: 0,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sending_sections_are_found_by_direction_and_kind_in_offer_order() {
        let offer = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
            m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=recvonly\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=recvonly\r\n\
            m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:2\r\na=sendonly\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:3\r\na=sendonly\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:4\r\na=sendonly\r\n";
        let (audio, video) = send_slots(offer);
        assert_eq!(audio, ["2"]);
        assert_eq!(video, ["3", "4"]);
    }

    #[test]
    fn exactly_one_end_of_a_pair_opens_its_link() {
        let (a, b) = ("http://10.0.0.1:8080", "http://10.0.0.2:8080");
        assert!(opens(a, b) != opens(b, a));
        assert!(!opens(a, a), "never a link to itself");
    }

    #[test]
    fn wanted_tracks_arrive_on_the_accepted_links_receiving_sections() {
        let want = |track| Want {
            site: "s1".into(),
            track,
            layer: Layer::High,
        };
        let got = sources(
            PeerId(9),
            &[
                want(TrackKind::Audio),
                want(TrackKind::Camera),
                want(TrackKind::Screen),
            ],
        );
        let tracks: Vec<TrackKind> = got.iter().map(|s| s.track).collect();
        assert_eq!(
            tracks,
            [
                TrackKind::Relayed {
                    index: 0,
                    audio: true
                },
                TrackKind::Relayed {
                    index: TRACKS_PER_KIND,
                    audio: false
                },
                TrackKind::Relayed {
                    index: TRACKS_PER_KIND + 1,
                    audio: false
                },
            ]
        );
        assert!(got.iter().all(|s| s.peer == PeerId(9)));
    }
}
