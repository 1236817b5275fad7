//! The media engine: a clock-free core and the thread that drives it.
//!
//! - [`core`]: every peer and the forwarding between them, driven like str0m's `Rtc` by
//!   inputs with `now` passed in (datagram, command, timeout) and polled for outputs
//!   (datagrams, events, next timeout); its facets are `control.rs` (offers, subscriptions,
//!   removal), `events.rs` (what each peer's `Rtc` reports), `fanout.rs` (the packet path)
//!   and `layers.rs` (the selection tick);
//! - [`ingest`]: a published track reads each of its packets once (Galène's up-track
//!   reader); each subscriber's [`crate::forward::DownTrack`] then decides on it;
//! - `peer.rs`: one browser's `Rtc`, its up-tracks and its receive slots (attach/detach);
//! - `driver.rs`: the media thread: socket, ICE-TCP, `ppoll`, `sendmmsg` and the clock;
//! - sharding (`media.shards` above 1): one core and driver per shard, all on one UDP port;
//!   `dispatch.rs` reads the port and hands each datagram to its shard's `inbox.rs` queue,
//!   as [`steer`] decides from the shard tag in the ICE ufrag.
//!
//! All state is owned by the media thread; the only shared things are the metrics counters,
//! flushed from a local tally a few times a second.

mod batch;
mod control;
pub mod core;
mod dispatch;
mod driver;
mod events;
mod fanout;
mod inbox;
pub mod ingest;
mod layers;
mod peer;
mod record_tap;
mod recv;
mod relay;
mod socket;
pub mod steer;

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::AtomicBool;
use std::sync::{mpsc, Arc};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use str0m::Candidate;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;
use tracing::info;

pub use self::core::{Core, CoreConfig, Output, Received, Transmit, SELECT_EVERY};
pub use layers::SILENCE_TIMEOUT;

use crate::metrics::{SfuMetrics, ThreadCpu};
use crate::tcp::TcpMedia;
use crate::Subscription;
use crate::{CandidateError, OfferError, PeerId, PeerLayout, SfuConfig, SfuEvent, StartError};
use batch::SendBatch;
use dispatch::Dispatcher;
use driver::Driver;
use inbox::{Datagrams, Inbox};
use recv::RecvBatch;
use steer::Steering;

/// Requests from the [`crate::Sfu`] handle.
#[derive(Debug)]
pub(crate) enum Command {
    Offer {
        peer: PeerId,
        sdp: String,
        profile: crate::offer_check::Profile,
        reply: oneshot::Sender<Result<PeerLayout, OfferError>>,
    },
    Candidate {
        peer: PeerId,
        candidate: String,
        reply: oneshot::Sender<Result<(), CandidateError>>,
    },
    Subscribe {
        subscriber: PeerId,
        subscriptions: Vec<Subscription>,
    },
    Remove {
        peer: PeerId,
    },
    /// The receiving end of a relay link: make its offer.
    RelayOffer {
        link: PeerId,
        spec: crate::RelaySpec,
        reply: oneshot::Sender<Result<String, crate::RelayError>>,
    },
    /// The receiving end of a relay link: the origin's answer.
    RelayAnswer {
        link: PeerId,
        sdp: String,
        reply: oneshot::Sender<Result<Vec<crate::TrackKind>, crate::RelayError>>,
    },
    /// The origin end of a relay link: another node's offer.
    RelayAccept {
        link: PeerId,
        sdp: String,
        reply: oneshot::Sender<Result<PeerLayout, OfferError>>,
    },
    /// Copy `peer`'s packets to the recorder (`None`: stop).
    Record {
        peer: PeerId,
        tap: Option<crate::record::RecTap>,
    },
    /// Answered at once: the thread is alive and reading its queue.
    Ping {
        reply: oneshot::Sender<()>,
    },
    Shutdown,
}

/// The running engine: one command queue and thread per shard, and the dispatcher's.
pub(crate) struct Spawned {
    pub commands: Vec<mpsc::Sender<Command>>,
    pub local_addr: SocketAddr,
    pub tcp_addr: Option<SocketAddr>,
    pub threads: Vec<JoinHandle<()>>,
    /// Set to stop the dispatcher (several shards only).
    pub stop_dispatch: Option<Arc<AtomicBool>>,
}

/// Binds the socket and starts the media threads: with `shards` 1, one thread that reads and
/// serves the port (as before sharding); with more, one per shard plus the dispatcher.
pub(crate) fn spawn(
    config: SfuConfig,
    shards: usize,
    metrics: SfuMetrics,
    events: UnboundedSender<SfuEvent>,
) -> Result<Spawned, StartError> {
    if shards == 0 || shards > steer::MAX_SHARDS {
        return Err(StartError::Shards {
            shards,
            max: steer::MAX_SHARDS,
        });
    }
    if shards > 1 && config.tcp_bind.is_some() {
        return Err(StartError::TcpWithShards);
    }
    // Ignore the error: another Sfu in this process (tests) installed it already.
    str0m::crypto::from_feature_flags().install_process_default();
    let socket = UdpSocket::bind(config.bind).map_err(|source| StartError::Bind {
        addr: config.bind,
        source,
    })?;
    let local_addr = socket.local_addr().map_err(|source| StartError::Bind {
        addr: config.bind,
        source,
    })?;
    // Non-blocking: the loop waits in `ppoll` for a datagram or its next timer. A blocking
    // read with a timeout (SO_RCVTIMEO) rounds up to the kernel tick: measured 8 ms for 2 ms
    // here, which stretched the pacer's probe clusters and starved the bandwidth estimate.
    socket.set_nonblocking(true).map_err(StartError::Thread)?;
    socket::size_buffers(&socket);
    let socket = Arc::new(socket);
    let announce = SocketAddr::new(
        config.announce_ip.unwrap_or(local_addr.ip()),
        local_addr.port(),
    );
    if announce.ip().is_unspecified() {
        return Err(StartError::NoAnnounceAddress { bind: local_addr });
    }
    let candidate = Candidate::host(announce, "udp").map_err(|e| StartError::Bind {
        addr: announce,
        source: std::io::Error::new(ErrorKind::InvalidInput, e.to_string()),
    })?;
    let mut candidates = vec![candidate];
    let tcp = match config.tcp_bind {
        None => None,
        Some(bind) => {
            let tcp =
                TcpMedia::bind(bind).map_err(|source| StartError::Bind { addr: bind, source })?;
            let tcp_announce = SocketAddr::new(announce.ip(), tcp.local_addr().port());
            let c = Candidate::builder()
                .tcp()
                .host(tcp_announce)
                .tcptype(str0m::net::TcpType::Passive)
                .build()
                .map_err(|e| StartError::Bind {
                    addr: tcp_announce,
                    source: std::io::Error::new(ErrorKind::InvalidInput, e.to_string()),
                })?;
            candidates.push(c);
            info!(local_addr = %tcp.local_addr(), announce = %tcp_announce, "ice-tcp listening");
            Some((tcp, tcp_announce))
        }
    };
    let tcp_addr = tcp.as_ref().map(|(t, _)| t.local_addr());
    let (mut tcp, tcp_announce) = match tcp {
        Some((t, a)) => (Some(t), Some(a)),
        None => (None, None),
    };
    let boost = config.priority_boost;
    let config = CoreConfig {
        announce,
        tcp_announce,
        candidates,
    };
    let sharded = shards > 1;
    let mut commands = Vec::with_capacity(shards);
    let mut threads = Vec::with_capacity(shards + 1);
    let mut inboxes = Vec::with_capacity(shards);
    for shard in 0..shards {
        let (tx, rx) = mpsc::channel();
        let inbox = if sharded {
            let inbox = Arc::new(Inbox::new().map_err(StartError::Thread)?);
            inboxes.push(inbox.clone());
            Some(inbox)
        } else {
            None
        };
        let core =
            Core::new(config.clone(), metrics.clone(), Instant::now()).into_shard(shard, sharded);
        let socket = socket.clone();
        let tcp = tcp.take();
        let events = events.clone();
        let metrics = metrics.clone();
        // One shard keeps the thread's old name (dashboards and the load tests' thread
        // table know it); several are numbered within the 15 bytes a thread name has.
        let name = if sharded {
            format!("diemcau-media-{shard}")
        } else {
            "diemcau-media".into()
        };
        let handle = thread::Builder::new()
            .name(name)
            .spawn(move || {
                crate::priority::boost_this_thread("media", boost);
                let cpu = ThreadCpu::new(&metrics, &shard.to_string());
                let mut driver = Driver {
                    socket,
                    inbox,
                    arrived: Datagrams::default(),
                    cpu,
                    tcp,
                    core,
                    commands: rx,
                    events,
                    out: SendBatch::default(),
                    udp_batch: RecvBatch::default(),
                    tcp_frames: Vec::new(),
                };
                driver.run()
            })
            .map_err(StartError::Thread)?;
        commands.push(tx);
        threads.push(handle);
    }
    let stop_dispatch = if sharded {
        let stop = Arc::new(AtomicBool::new(false));
        let mut dispatcher = Dispatcher {
            socket,
            inboxes,
            stop: stop.clone(),
            metrics,
            steering: Steering::new(shards),
            batch: RecvBatch::default(),
            pending: (0..shards).map(|_| Datagrams::default()).collect(),
            dropped: (0, 0, 0),
        };
        let handle = thread::Builder::new()
            // 15 bytes at most: "diemcau-dispatch" showed as "diemcau-dispatc".
            .name("diemcau-udp-rx".into())
            .spawn(move || dispatcher.run())
            .map_err(StartError::Thread)?;
        threads.push(handle);
        Some(stop)
    } else {
        None
    };
    info!(%local_addr, %announce, shards, "media plane listening");
    Ok(Spawned {
        commands,
        local_addr,
        tcp_addr,
        threads,
        stop_dispatch,
    })
}
