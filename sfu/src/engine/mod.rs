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
//! - `driver.rs`: the media thread: socket, ICE-TCP, `ppoll`, `sendmmsg` and the clock.
//!
//! All state is owned by the media thread; the only shared things are the metrics counters,
//! flushed from a local tally a few times a second.

mod batch;
mod control;
pub mod core;
mod driver;
mod events;
mod fanout;
pub mod ingest;
mod layers;
mod peer;
mod recv;

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Instant;

use str0m::Candidate;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;
use tracing::info;

pub use self::core::{Core, CoreConfig, Output, Received, Transmit, SELECT_EVERY};
pub use layers::SILENCE_TIMEOUT;

use crate::metrics::SfuMetrics;
use crate::tcp::TcpMedia;
use crate::Subscription;
use crate::{CandidateError, OfferError, PeerId, PeerLayout, SfuConfig, SfuEvent, StartError};
use batch::SendBatch;
use driver::Driver;
use recv::RecvBatch;

/// Requests from the [`crate::Sfu`] handle.
#[derive(Debug)]
pub(crate) enum Command {
    Offer {
        peer: PeerId,
        sdp: String,
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
    /// Answered at once: the thread is alive and reading its queue.
    Ping {
        reply: oneshot::Sender<()>,
    },
    Shutdown,
}

type Spawned = (
    mpsc::Sender<Command>,
    SocketAddr,
    Option<SocketAddr>,
    JoinHandle<()>,
);

/// Binds the socket and starts the media thread.
pub(crate) fn spawn(
    config: SfuConfig,
    metrics: SfuMetrics,
    events: UnboundedSender<SfuEvent>,
) -> Result<Spawned, StartError> {
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
    driver::size_buffers(&socket);
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
    let (tcp, tcp_announce) = match tcp {
        Some((t, a)) => (Some(t), Some(a)),
        None => (None, None),
    };
    let (tx, rx) = mpsc::channel();
    let config = CoreConfig {
        announce,
        tcp_announce,
        candidates,
    };
    let mut driver = Driver {
        socket,
        tcp,
        core: Core::new(config, metrics, Instant::now()),
        commands: rx,
        events,
        out: SendBatch::default(),
        inbox: RecvBatch::default(),
        tcp_frames: Vec::new(),
    };
    let handle = thread::Builder::new()
        .name("diemcau-media".into())
        .spawn(move || driver.run())
        .map_err(StartError::Thread)?;
    info!(%local_addr, %announce, "media plane listening");
    Ok((tx, local_addr, tcp_addr, handle))
}
