//! diemcau media plane: a selective forwarding unit (SFU) on str0m.
//!
//! Every site's browser holds one WebRTC peer connection to the SFU, all on one UDP port.
//! A peer *publishes* tracks (microphone, camera with three simulcast layers, screen) and
//! *receives* on a fixed set of slots (`recvonly` transceivers). The caller (signaling)
//! decides which source goes to which slot at which layer with [`Sfu::set_subscriptions`];
//! the SFU carries that out packet by packet, rewriting SSRC, sequence numbers and timestamps
//! so each slot is one continuous stream whatever its source.
//!
//! Threads: one media thread owns the UDP socket and every peer's state; the handle sends it
//! commands between packets. Nothing on the packet path takes a lock. With several shards
//! ([`Sfu::start_sharded`]) each shard's thread owns its peers, and a dispatcher thread reads
//! the one port and hands each datagram to its shard.
//!
//! Pure decision code lives in small leaves: [`forward`] (forward or drop, layer switch),
//! [`rewrite`] (sequence/timestamp/picture numbering continuity), [`keyframe`] (PLI
//! throttling), [`codec`] (keyframe detection), [`vp8`] (the VP8 payload descriptor: temporal
//! layers), [`select`] and [`downlink`] (spatial and temporal layers from the bandwidth
//! estimate), [`stall`] (when str0m's estimator stalled on a recovered link and is
//! restarted). Only `engine` touches str0m: its [`engine::Core`] is clock-free (inputs with
//! `now` passed in, outputs polled, as str0m's `Rtc`), and a thin driver thread owns the
//! sockets and the clock.

#![warn(missing_docs)]

pub mod alarm;
pub mod answer;
pub mod codec;
pub mod downlink;
pub mod dtls_role;
pub mod engine;
pub mod forward;
pub mod id;
pub mod keyframe;
pub mod link;
mod metrics;
pub mod offer_check;
pub mod police;
pub mod priority;
pub mod rate;
pub mod record;
pub mod red;
pub mod relay;
pub mod rewrite;
pub mod rtx;
pub mod select;
pub mod socket_drops;
pub mod stall;
pub mod tcp;
pub mod vp8;

use std::net::{IpAddr, SocketAddr};
use std::sync::mpsc;
use std::thread::JoinHandle;

pub use id::{Layer, LayerSet, PeerId, TrackKind, MAX_TEMPORAL};
pub use link::PeerReport;
pub use metrics::SfuMetrics;
pub use relay::{RelayError, RelaySpec};

use engine::Command;

/// How to start the media plane.
#[derive(Debug, Clone)]
pub struct SfuConfig {
    /// UDP address to bind: every peer's media goes through this one port.
    pub bind: SocketAddr,
    /// Address announced to browsers as the host candidate, when it differs from the bound
    /// one (the SFU behind 1:1 NAT, or bound to 0.0.0.0).
    pub announce_ip: Option<IpAddr>,
    /// TCP address for ICE-TCP (RFC 4571 framing), offered to browsers as a passive TCP host
    /// candidate next to the UDP one, for sites whose firewall drops UDP. `None`: off.
    pub tcp_bind: Option<SocketAddr>,
    /// Nice steps above the process the media threads ask for ([`priority`]; 0: none,
    /// at most 39). The server's configuration sets 10 (`media.priority_boost`).
    pub priority_boost: u32,
}

impl Default for SfuConfig {
    fn default() -> Self {
        SfuConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 40000)),
            announce_ip: None,
            tcp_bind: None,
            priority_boost: 0,
        }
    }
}

/// What a peer's offer set up, returned with the answer.
#[derive(Debug, Clone)]
pub struct PeerLayout {
    /// SDP answer to hand back to the browser.
    pub answer_sdp: String,
    /// Tracks the peer publishes, in offer order.
    pub published: Vec<TrackKind>,
    /// Receive slots for video, by mid, in offer order.
    pub video_slots: Vec<String>,
    /// Receive slots for audio, by mid, in offer order.
    pub audio_slots: Vec<String>,
}

/// Where a slot's media comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// The publishing peer.
    pub peer: PeerId,
    /// Which of its tracks.
    pub track: TrackKind,
    /// Highest layer wanted (ignored for audio). The layer selector sends the best layer up
    /// to this one that the subscriber's bandwidth carries.
    pub layer: Layer,
    /// Share of a tight link: 0 goes first (the program speaker), then 1 (presentation,
    /// floor holders in the hall's grid), then 2 (grid tiles).
    pub priority: u8,
}

/// What one receive slot carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The slot's mid, as in [`PeerLayout`].
    pub slot: String,
    /// Its source, `None` to leave it idle.
    pub source: Option<Source>,
}

/// Things the media plane tells signaling.
// `Stats` is much larger than the other variants; boxing it would cost an allocation per
// report for no gain: events are a few per peer per second, never per packet.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum SfuEvent {
    /// ICE and DTLS are up: media flows.
    Connected(PeerId),
    /// The peer's connection is gone (ICE timeout, DTLS close) and its state was dropped.
    Disconnected(PeerId),
    /// Link figures of a connected peer, every [`STATS_INTERVAL`].
    Stats(PeerReport),
    /// The first media packet was forwarded to this peer (its join is complete).
    FirstMedia(PeerId),
    /// What this subscriber's link lets it receive changed (full, held back not by its
    /// line, reduced or audio only by its line: see [`alarm`]).
    Reception {
        /// The subscriber.
        peer: PeerId,
        /// Its reception now, with its cause.
        reception: alarm::Reported,
    },
    /// The highest camera layer anyone receives from this publisher changed (`None`: nobody
    /// receives its camera). Layers above it are wasted uplink: the browser may stop encoding
    /// them; the lowest layer stays on so a new subscriber gets a picture at once.
    CameraLayersWanted {
        /// The publisher.
        peer: PeerId,
        /// Highest layer wanted.
        max: Option<Layer>,
    },
}

/// How often [`SfuEvent::Stats`] comes for each connected peer.
pub const STATS_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Why an offer was refused.
#[derive(Debug, thiserror::Error)]
pub enum OfferError {
    /// The SDP does not parse.
    #[error("offer is not valid SDP: {0}")]
    Parse(String),
    /// The SDP parses but cannot be accepted (no usable codec, bad layout).
    #[error("offer refused: {0}")]
    Refused(String),
    /// The media plane has stopped.
    #[error("media plane is not running")]
    Stopped,
}

/// Why a trickled candidate was refused.
#[derive(Debug, thiserror::Error)]
pub enum CandidateError {
    /// Not an ICE candidate line.
    #[error("not a valid ICE candidate: {0}")]
    Parse(String),
    /// The media plane has stopped.
    #[error("media plane is not running")]
    Stopped,
}

/// Why the media plane did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The UDP port could not be bound.
    #[error("cannot bind UDP {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// Bound to every interface (0.0.0.0) with no address to tell browsers.
    #[error("the media port is bound to {bind} (every interface): set the address sites reach with --announce-ip")]
    NoAnnounceAddress {
        /// The bound address.
        bind: SocketAddr,
    },
    /// The media thread could not be spawned.
    #[error("cannot start media thread: {0}")]
    Thread(std::io::Error),
    /// The metrics could not be registered.
    #[error("cannot register metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// A shard count out of range.
    #[error("media shards must be 1 to {max}, not {shards}")]
    Shards {
        /// Asked for.
        shards: usize,
        /// Most allowed.
        max: usize,
    },
    /// ICE-TCP with several shards: its connections are not steered between shards.
    #[error("ICE-TCP needs one media shard: its connections are not steered between shards; set media.shards to 1 or turn ice_tcp off")]
    TcpWithShards,
}

/// Handle to the running media plane. Cheap to share behind an `Arc`; dropping the last
/// handle does not stop the thread: call [`Sfu::shutdown`].
#[derive(Debug)]
pub struct Sfu {
    /// One queue per shard.
    commands: Vec<mpsc::Sender<Command>>,
    /// The shard of each peer placed by [`Sfu::offer_in`] (absent: shard 0). Written per
    /// offer and removal, read per command: never on the packet path.
    placed: std::sync::Mutex<std::collections::HashMap<PeerId, usize>>,
    shard_peers: Vec<prometheus::IntGauge>,
    local_addr: SocketAddr,
    tcp_addr: Option<SocketAddr>,
    threads: std::sync::Mutex<Vec<JoinHandle<()>>>,
    stop_dispatch: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl Sfu {
    /// Binds the UDP port and starts the media thread. Events go to the returned receiver.
    pub fn start(
        config: SfuConfig,
        registry: &prometheus::Registry,
    ) -> Result<(Sfu, tokio::sync::mpsc::UnboundedReceiver<SfuEvent>), StartError> {
        Sfu::start_sharded(config, 1, registry)
    }

    /// As [`Sfu::start`], with `shards` media threads on the one UDP port (see
    /// `engine/dispatch.rs`); a peer's shard is chosen by [`Sfu::offer_in`].
    pub fn start_sharded(
        config: SfuConfig,
        shards: usize,
        registry: &prometheus::Registry,
    ) -> Result<(Sfu, tokio::sync::mpsc::UnboundedReceiver<SfuEvent>), StartError> {
        let metrics = SfuMetrics::register(registry)?;
        let shard_peers = (0..shards)
            .map(|s| metrics.shard_peers.with_label_values(&[&s.to_string()]))
            .collect();
        let (events_tx, events_rx) = tokio::sync::mpsc::unbounded_channel();
        let spawned = engine::spawn(config, shards, metrics, events_tx)?;
        // Read from the kernel at scrape time: nothing on the packet path.
        registry.register(Box::new(socket_drops::SocketDrops::new(
            spawned.local_addr.port(),
        )?))?;
        let sfu = Sfu {
            commands: spawned.commands,
            placed: std::sync::Mutex::new(std::collections::HashMap::new()),
            shard_peers,
            local_addr: spawned.local_addr,
            tcp_addr: spawned.tcp_addr,
            threads: std::sync::Mutex::new(spawned.threads),
            stop_dispatch: spawned.stop_dispatch,
        };
        Ok((sfu, events_rx))
    }

    /// Media shards (threads that each serve their own peers).
    pub fn shards(&self) -> usize {
        self.commands.len()
    }

    /// Peers each shard holds now, by shard: the load new meetings are placed by.
    pub fn shard_peers(&self) -> Vec<usize> {
        self.shard_peers
            .iter()
            .map(|g| usize::try_from(g.get()).unwrap_or(0))
            .collect()
    }

    /// The bound UDP address (useful with port 0 in tests).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Datagrams the kernel dropped at the media socket because its receive buffer was full,
    /// since it was bound (`None` where `/proc/net/udp` does not show it). Reads two small
    /// files: call it about once a second, not per packet.
    pub fn socket_drops(&self) -> Option<u64> {
        socket_drops::read_drops(self.local_addr.port())
    }

    /// The bound ICE-TCP address, when ICE-TCP is on.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp_addr
    }

    /// Accepts an SDP offer from `peer`: creates the peer on its first offer, renegotiates
    /// on later ones. Returns the answer and what the offer set up.
    pub async fn offer(&self, peer: PeerId, sdp: String) -> Result<PeerLayout, OfferError> {
        self.offer_in(0, peer, sdp).await
    }

    /// As [`Sfu::offer`], placing a new peer on `shard` (taken modulo the shard count). A
    /// peer stays on the shard of its first offer; peers that forward to each other (one
    /// meeting) must share a shard.
    pub async fn offer_in(
        &self,
        shard: usize,
        peer: PeerId,
        sdp: String,
    ) -> Result<PeerLayout, OfferError> {
        self.offer_as(shard, peer, sdp, offer_check::Profile::Site)
            .await
    }

    /// As [`Sfu::offer_in`], for an offer from `profile`: a WHIP publisher or a WHEP player
    /// has a layout of its own ([`offer_check::Profile`]).
    pub async fn offer_as(
        &self,
        shard: usize,
        peer: PeerId,
        sdp: String,
        profile: offer_check::Profile,
    ) -> Result<PeerLayout, OfferError> {
        let shard = *self
            .placed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(peer)
            .or_insert(shard % self.commands.len());
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.send_to(
            shard,
            Command::Offer {
                peer,
                sdp,
                profile,
                reply,
            },
        )
        .map_err(|_| OfferError::Stopped)?;
        rx.await.map_err(|_| OfferError::Stopped)?
    }

    /// Adds a trickled remote ICE candidate.
    pub async fn add_candidate(
        &self,
        peer: PeerId,
        candidate: String,
    ) -> Result<(), CandidateError> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.send(
            peer,
            Command::Candidate {
                peer,
                candidate,
                reply,
            },
        )
        .map_err(|_| CandidateError::Stopped)?;
        rx.await.map_err(|_| CandidateError::Stopped)?
    }

    /// A round trip through the media thread's command queue: `true` once the thread has
    /// answered, `false` when it has stopped. For readiness checks.
    pub async fn ping(&self) -> bool {
        for shard in 0..self.commands.len() {
            let (reply, rx) = tokio::sync::oneshot::channel();
            if self.send_to(shard, Command::Ping { reply }).is_err() || rx.await.is_err() {
                return false;
            }
        }
        true
    }

    /// Replaces what `subscriber`'s listed slots carry. Slots not listed keep their source.
    /// Takes effect between packets; video starts at the next keyframe (requested).
    pub fn set_subscriptions(&self, subscriber: PeerId, subscriptions: Vec<Subscription>) {
        let _ = self.send(
            subscriber,
            Command::Subscribe {
                subscriber,
                subscriptions,
            },
        );
    }

    /// The receiving end of a relay link to another node (see [`relay`]): creates peer
    /// `link` able to carry `spec`'s tracks and returns its offer for the origin node.
    pub async fn relay_offer(&self, link: PeerId, spec: RelaySpec) -> Result<String, RelayError> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.send(link, Command::RelayOffer { link, spec, reply })
            .map_err(|_| RelayError::Stopped)?;
        rx.await.map_err(|_| RelayError::Stopped)?
    }

    /// Applies the origin's answer to link `link`; returns its tracks in offer order (audio
    /// first). Local slots subscribe to them as `Source { peer: link, track, .. }`.
    pub async fn relay_answer(
        &self,
        link: PeerId,
        sdp: String,
    ) -> Result<Vec<TrackKind>, RelayError> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.send(link, Command::RelayAnswer { link, sdp, reply })
            .map_err(|_| RelayError::Stopped)?;
        rx.await.map_err(|_| RelayError::Stopped)?
    }

    /// The origin end of a relay link: accepts another node's offer as peer `link` on
    /// `shard` (the meeting's). Its slots (`video_slots`, `audio_slots`) are then chosen with
    /// [`Sfu::set_subscriptions`], as a browser's: each slot is one track crossing, at the
    /// best layer up to the wanted one that the link's estimate carries.
    pub async fn relay_accept(
        &self,
        shard: usize,
        link: PeerId,
        sdp: String,
    ) -> Result<PeerLayout, OfferError> {
        let shard = *self
            .placed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(link)
            .or_insert(shard % self.commands.len());
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.send_to(shard, Command::RelayAccept { link, sdp, reply })
            .map_err(|_| OfferError::Stopped)?;
        rx.await.map_err(|_| OfferError::Stopped)?
    }

    /// Closes a peer's connection and drops its state; its subscribers' slots go idle.
    pub fn remove_peer(&self, peer: PeerId) {
        let _ = self.send(peer, Command::Remove { peer });
        self.placed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&peer);
    }

    /// Copies `peer`'s packets (its best video layer, its audio) to a recorder while `tap`
    /// is `Some`; a peer not offered yet starts with its first offer.
    pub fn set_recording(&self, peer: PeerId, tap: Option<record::RecTap>) {
        let _ = self.send(peer, Command::Record { peer, tap });
    }

    /// Stops the media threads and waits for them.
    pub fn shutdown(&self) {
        for shard in 0..self.commands.len() {
            let _ = self.send_to(shard, Command::Shutdown);
        }
        if let Some(stop) = &self.stop_dispatch {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        for h in threads {
            let _ = h.join();
        }
    }

    /// Sends to the shard that holds `peer`.
    fn send(&self, peer: PeerId, c: Command) -> Result<(), mpsc::SendError<Command>> {
        let shard = self
            .placed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&peer)
            .copied()
            .unwrap_or(0);
        self.send_to(shard, c)
    }

    fn send_to(&self, shard: usize, c: Command) -> Result<(), mpsc::SendError<Command>> {
        self.commands[shard].send(c)
    }
}
