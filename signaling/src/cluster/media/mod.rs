//! A tunneled site's media goes through the node it connected to (its *hosting* node),
//! while the meeting's decisions stay at the origin.
//!
//! - **Offer**: the origin's session of a tunneled site (`session.rs`, run by
//!   [`super::origin`]) checks the offer as for any site, then asks the hosting node
//!   ([`wire::Command::Offer`], request/reply) to answer it on its own SFU; the site's peer
//!   lives there. Candidates go the same way.
//! - **Routing**: the origin's effects still name every connection by its peer id on the
//!   origin. [`Media::subscribe`] (the origin's `Node::subscribe`) locates each source
//!   (here, or on the hosting node of a tunneled site, by its relay URL): a subscriber here
//!   gets its slots through the [`crossing`] worker, which relays in what it needs from the
//!   other nodes (`relay::want`, [`plan`]); a subscriber hosted elsewhere gets the located
//!   slots sent to its hosting node ([`wire::Command::Subscribe`]), whose worker does the
//!   same there. So every node relays in exactly the union of what its subscribers watch,
//!   each track once, from the node where it is published; a site's own media crosses to
//!   another node only when someone there watches it.
//! - **Events**: the hosting node passes a hosted site's connection loss, wanted camera
//!   layers and reception to the origin ([`wire::Event`]), which applies them as if its own
//!   SFU had said them.
//!
//! Only with `[relay]` configured on the nodes; without it a tunneled site's offer is
//! answered by the origin's SFU as before. The peers a hosting node holds are on media
//! shard 0 (the relay's receiving end needs `media.shards = 1` anyway).

pub(crate) mod crossing;
mod host;
pub mod plan;
pub mod wire;

pub use host::{add_candidate, offer};

use dashmap::DashMap;
use sfu::{PeerId, SfuEvent, Source, Subscription};
use tokio::sync::mpsc;

use self::crossing::Job;
use self::plan::{At, Located, Slot};
use self::wire::{WireSlot, WireSource};
use crate::state::AppState;

/// The node hosting a tunneled site's media, as its origin knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// Its node name (its command subject).
    pub node: String,
    /// Its relay URL (where its published tracks are relayed from).
    pub relay_url: String,
}

/// A connection this node hosts for another node's meeting.
#[derive(Debug, Clone)]
pub struct Hosted {
    /// The origin node.
    pub origin: String,
    /// The meeting.
    pub meeting: String,
    /// The site.
    pub site: String,
    /// Its peer id on the origin.
    pub peer: u64,
}

/// This node's share of the cluster's media: both roles, since a node is the origin of its
/// meetings and the hosting node of other nodes' sites.
#[derive(Debug)]
pub struct Media {
    node: String,
    /// Origin: peers of this node's meetings whose connection another node hosts.
    remote: DashMap<PeerId, Host>,
    /// Hosting node: local peer → whose it is.
    hosted: DashMap<PeerId, Hosted>,
    /// Hosting node: (origin node, peer there) → local peer.
    by_origin: DashMap<(String, u64), PeerId>,
    jobs: mpsc::UnboundedSender<Job>,
}

impl Media {
    pub(super) fn new(node: &str, jobs: mpsc::UnboundedSender<Job>) -> Media {
        Media {
            node: node.to_owned(),
            remote: DashMap::new(),
            hosted: DashMap::new(),
            by_origin: DashMap::new(),
            jobs,
        }
    }

    /// The connections this node hosts for other nodes' meetings.
    pub fn hosted(&self) -> Vec<Hosted> {
        self.hosted.iter().map(|e| e.value().clone()).collect()
    }

    /// The node hosting `peer`'s connection, when it is not this one.
    pub fn host_of(&self, peer: PeerId) -> Option<Host> {
        self.remote.get(&peer).map(|h| h.value().clone())
    }

    /// The local connection of `site` in `meeting` hosted here (the newest if several).
    pub fn hosted_peer(&self, meeting: &str, site: &str) -> Option<PeerId> {
        self.hosted
            .iter()
            .filter(|e| e.value().meeting == meeting && e.value().site == site)
            .map(|e| *e.key())
            .max()
    }

    /// Whether this node hosts a site of `meeting` (it may then be asked for a relay link).
    pub fn hosts_meeting(&self, meeting: &str) -> bool {
        self.hosted.iter().any(|e| e.value().meeting == meeting)
    }

    fn queue(&self, job: Job) {
        // The worker ends only with the node.
        let _ = self.jobs.send(job);
    }

    /// The origin's `Node::subscribe`: `false` leaves it to the local SFU (no relay here, or
    /// a connection no meeting knows).
    pub fn subscribe(
        &self,
        state: &AppState,
        peer: PeerId,
        subscriptions: &[Subscription],
    ) -> bool {
        let Some(relay) = &state.settings.relay else {
            return false;
        };
        let Some(meeting) = state.peers.get(&peer).map(|e| e.value().0.id.clone()) else {
            return false;
        };
        let locate = |s: &Source| -> Option<Located> {
            let site = state.peers.get(&s.peer).map(|e| e.value().1.clone());
            let at = match self.remote.get(&s.peer) {
                Some(h) => At::There(h.relay_url.clone()),
                None => At::Here(s.peer),
            };
            if matches!(at, At::There(_)) && site.is_none() {
                return None;
            }
            Some(Located {
                site: site.unwrap_or_default(),
                track: s.track,
                layer: s.layer,
                priority: s.priority,
                at,
            })
        };
        let slots: Vec<Slot> = subscriptions
            .iter()
            .map(|s| Slot {
                slot: s.slot.clone(),
                source: s.source.as_ref().and_then(&locate),
            })
            .collect();
        let hosted_at = self.remote.get(&peer).map(|h| h.node.clone());
        match hosted_at {
            None => self.queue(Job::Set {
                meeting,
                peer,
                origin: None,
                slots,
            }),
            Some(node) => {
                let slots = slots
                    .into_iter()
                    .map(|s| WireSlot {
                        slot: s.slot,
                        source: s.source.map(|l| WireSource {
                            site: l.site,
                            node: match l.at {
                                At::There(url) => url,
                                At::Here(_) => relay.advertise_url.clone(),
                            },
                            track: wire::track_name(l.track).into(),
                            layer: l.layer.name().into(),
                            priority: l.priority,
                        }),
                    })
                    .collect();
                let command = wire::Command::Subscribe {
                    origin: self.node.clone(),
                    meeting,
                    peer: peer.0,
                    origin_url: relay.advertise_url.clone(),
                    slots,
                };
                self.publish(wire::command_subject(&node), &command);
            }
        }
        true
    }

    /// The origin's `Node::remove_peer`: a hosted connection is closed on its node; a local
    /// subscriber stops wanting what it relayed in.
    pub fn removed(&self, peer: PeerId) {
        match self.remote.remove(&peer) {
            Some((_, host)) => {
                let command = wire::Command::Remove {
                    origin: self.node.clone(),
                    peer: peer.0,
                };
                self.publish(wire::command_subject(&host.node), &command);
            }
            None => self.queue(Job::Drop(peer)),
        }
    }

    fn publish(&self, subject: String, message: &impl serde::Serialize) {
        if let Ok(body) = serde_json::to_vec(message) {
            self.queue(Job::Publish { subject, body });
        }
    }

    /// The hosting node's SFU event loop: an event about a hosted connection goes to its
    /// origin (`true`: it was one; nothing else is done with it here).
    pub fn forward_event(&self, event: &SfuEvent) -> bool {
        let peer = match event {
            SfuEvent::Connected(p) | SfuEvent::Disconnected(p) | SfuEvent::FirstMedia(p) => *p,
            SfuEvent::Stats(r) => r.peer,
            SfuEvent::Reception { peer, .. } | SfuEvent::CameraLayersWanted { peer, .. } => *peer,
        };
        let Some(hosted) = self.hosted.get(&peer).map(|h| h.value().clone()) else {
            return false;
        };
        let what = match event {
            SfuEvent::Disconnected(_) => {
                self.forget_hosted(peer);
                wire::What::Lost
            }
            SfuEvent::CameraLayersWanted { max, .. } => wire::What::Layers {
                max: max.map(|l| l.name().to_owned()),
            },
            SfuEvent::Reception { reception, .. } => wire::What::Reception {
                reception: reception.as_str().to_owned(),
            },
            // Link figures and first media stay here (the operator page does not show a
            // hosted site's line yet).
            _ => return true,
        };
        let event = wire::Event {
            node: self.node.clone(),
            peer: hosted.peer,
            what,
        };
        self.publish(wire::event_subject(&hosted.origin), &event);
        true
    }

    fn forget_hosted(&self, local: PeerId) {
        if let Some((_, h)) = self.hosted.remove(&local) {
            self.by_origin.remove(&(h.origin, h.peer));
        }
        self.queue(Job::Drop(local));
    }
}

/// Whether another node's relay URL may be used: `http(s)://` and short. It is where this
/// node will present the cluster secret, so anything else is not followed.
pub fn valid_relay_url(url: &str) -> bool {
    url.len() <= 256
        && (url.starts_with("http://") || url.starts_with("https://"))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Starts the media subjects of `cluster`'s node: commands (as a hosting node) and events
/// (as an origin).
pub(super) async fn serve(
    cluster: &std::sync::Arc<super::Cluster>,
    state: &std::sync::Arc<AppState>,
) -> Result<Vec<tokio::task::JoinHandle<()>>, async_nats::SubscribeError> {
    Ok(vec![
        host::serve_commands(cluster.clone(), state).await?,
        host::serve_events(cluster.clone(), state).await?,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_http_or_https_relay_url_is_followed() {
        assert!(valid_relay_url("http://10.0.0.5:8080"));
        assert!(valid_relay_url("https://hue.hop.gov.vn"));
        let long = format!("http://{}", "a".repeat(300));
        for bad in [
            "",
            "file:///etc/passwd",
            "nats://a:4222",
            "http://a b",
            "http://a\n",
            long.as_str(),
        ] {
            assert!(!valid_relay_url(bad), "{bad:?}");
        }
    }
}
