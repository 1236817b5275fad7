//! The media thread: one UDP socket, every peer, and the forwarding between them.
//!
//! The loop, until `Shutdown`:
//! 1. apply commands from signaling (offers, candidates, subscriptions, removals);
//! 2. read one datagram (2 ms timeout), hand it to the peer that owns its 5-tuple (or, for a
//!    new address, the peer whose ICE credentials it carries), then drain that peer's output:
//!    RTP packets are forwarded at once to every slot the track feeds;
//! 3. drain every peer that was written to, and give due timeouts to str0m.
//!
//! All state here is owned by the thread; the only shared things are the metrics counters,
//! flushed from a local tally a few times a second.

mod batch;
mod peer;

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use str0m::media::MediaKind;
use str0m::net::{Protocol, Receive};
use str0m::rtp::{RtpPacket, Vp8Descriptor};
use str0m::{Candidate, Event, IceConnectionState, Input, Output};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;
use tracing::{debug, info, warn};

use crate::codec::VideoCodec;
use crate::forward::PacketMeta;
use crate::metrics::{SfuMetrics, Tally};
use crate::select::Choice;
use crate::tcp::TcpMedia;
use crate::{CandidateError, OfferError, PeerId, PeerLayout, SfuConfig, SfuEvent, StartError};
use crate::{Layer, MAX_TEMPORAL};
use crate::{Subscription, TrackKind};
use batch::SendBatch;
use peer::{Peer, SlotRef};

/// Longest the loop waits for a datagram before it looks at commands again (timers wake it
/// sooner: it waits for exactly the earliest one).
const COMMAND_POLL: Duration = Duration::from_millis(5);
/// A connected peer that sends nothing at all for this long is gone (its network was cut):
/// a joined browser sends RTCP and transport feedback at least every second or so, and ICE
/// consent checks every 4-6 s even with nothing else to say. str0m alone, as an ICE-lite
/// agent, waits 15 s after the last consent check, i.e. 15-20 s after the cut.
pub const SILENCE_TIMEOUT: Duration = Duration::from_secs(8);
/// Datagrams read in one go before timers are looked at again.
const RECV_BATCH: usize = 64;
/// How often the local tally is added to the shared metrics.
const FLUSH_EVERY: Duration = Duration::from_millis(250);
/// How often each subscriber's layers are chosen again.
const SELECT_EVERY: Duration = Duration::from_millis(250);

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
    size_buffers(&socket);
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
    let mut engine = Engine {
        socket,
        announce,
        candidates,
        tcp,
        tcp_announce,
        tcp_frames: Vec::new(),
        out: SendBatch::default(),
        peers: Vec::new(),
        by_id: HashMap::new(),
        by_addr: HashMap::new(),
        commands: rx,
        events,
        metrics,
        tally: Tally::default(),
        scratch: Vec::new(),
        dirty: Vec::new(),
        earliest_timeout: Instant::now(),
    };
    let handle = thread::Builder::new()
        .name("diemcau-media".into())
        .spawn(move || engine.run())
        .map_err(StartError::Thread)?;
    info!(%local_addr, %announce, "media plane listening");
    Ok((tx, local_addr, tcp_addr, handle))
}

/// Waits until one of `fds` is ready or `timeout` passes; each entry's `revents` says which.
/// `ppoll` sleeps on a high-resolution timer, so a wait of 1.2 ms lasts about 1.2 ms.
fn wait(fds: &mut [libc::pollfd], timeout: Duration) {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: `fds` is a valid slice of pollfds, `ts` a valid timespec, no signal mask.
    let n = unsafe {
        libc::ppoll(
            fds.as_mut_ptr(),
            fds.len() as libc::nfds_t,
            &ts,
            std::ptr::null(),
        )
    };
    if n < 0 {
        // EINTR or an error: nothing is known to be ready; the loop goes round again.
        for f in fds.iter_mut() {
            f.revents = 0;
        }
    }
}

/// What the media socket's kernel buffers are asked to hold. One thread reads every site's
/// packets: with the 208 KiB default the kernel dropped packets whenever that thread was off
/// the CPU for 30-60 ms (100 simulated sites on 2 cores lost 21-35%; with 4 MiB, none).
const SOCKET_BUFFER_BYTES: usize = 4 << 20;

/// Asks for [`SOCKET_BUFFER_BYTES`] of receive and send buffer; the kernel caps it at
/// `net.core.rmem_max` / `wmem_max`, so a smaller result is logged with the fix.
fn size_buffers(socket: &UdpSocket) {
    let sock = socket2::SockRef::from(socket);
    let _ = sock.set_recv_buffer_size(SOCKET_BUFFER_BYTES);
    let _ = sock.set_send_buffer_size(SOCKET_BUFFER_BYTES);
    let rx = sock.recv_buffer_size().unwrap_or(0);
    let tx = sock.send_buffer_size().unwrap_or(0);
    // Linux reports twice the size asked for (bookkeeping included).
    if rx < SOCKET_BUFFER_BYTES {
        warn!(
            rx,
            tx,
            "media socket buffers are smaller than asked for; raise net.core.rmem_max and net.core.wmem_max to {} (sysctl) so bursts are not dropped",
            SOCKET_BUFFER_BYTES
        );
    } else {
        info!(rx, tx, "media socket buffers");
    }
}

struct Engine {
    socket: UdpSocket,
    /// The address browsers send to; str0m matches it against the host candidate, so it
    /// stands as the destination of every datagram even when the socket is bound to 0.0.0.0
    /// or sits behind 1:1 NAT.
    announce: SocketAddr,
    /// Host candidates offered to every peer: UDP, and passive TCP when ICE-TCP is on.
    candidates: Vec<Candidate>,
    /// The ICE-TCP listener and its connections, when on.
    tcp: Option<TcpMedia>,
    /// The address the TCP candidate announces (destination of TCP datagrams).
    tcp_announce: Option<SocketAddr>,
    /// Frames read from TCP connections in one pass, reused.
    tcp_frames: Vec<(SocketAddr, Vec<u8>)>,
    /// UDP datagrams waiting for the next `sendmmsg`.
    out: SendBatch,
    /// Peers by index; `None` marks a free index. Indices are stable while a peer lives.
    peers: Vec<Option<Peer>>,
    by_id: HashMap<PeerId, usize>,
    /// 5-tuple cache: (over TCP, remote address) → peer index.
    by_addr: HashMap<(bool, SocketAddr), usize>,
    commands: Receiver<Command>,
    events: UnboundedSender<SfuEvent>,
    metrics: SfuMetrics,
    tally: Tally,
    /// Reused buffer for a track's subscriber list during fan-out.
    scratch: Vec<SlotRef>,
    /// Peers written to since they were last polled.
    dirty: Vec<usize>,
    /// Earliest timeout any peer asked for.
    earliest_timeout: Instant,
}

impl Engine {
    fn run(&mut self) {
        let mut buf = vec![0u8; 2048];
        let mut fds: Vec<libc::pollfd> = Vec::with_capacity(4);
        let mut next_flush = Instant::now() + FLUSH_EVERY;
        let mut next_select = Instant::now() + SELECT_EVERY;
        loop {
            if !self.apply_commands() {
                break;
            }
            let now = Instant::now();
            let wake = self
                .earliest_timeout
                .min(next_flush)
                .min(next_select)
                .min(now + COMMAND_POLL);
            // Nothing waits in the batch while the thread sleeps.
            self.flush_out();
            fds.clear();
            fds.push(libc::pollfd {
                fd: self.socket.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
            if let Some(tcp) = self.tcp.as_mut() {
                tcp.poll_fds(&mut fds);
            }
            wait(&mut fds, wake.saturating_duration_since(now));
            if let Some(tcp) = self.tcp.as_mut() {
                let mut frames = std::mem::take(&mut self.tcp_frames);
                tcp.service(&fds[1..], Instant::now(), &mut frames);
                for (source, data) in frames.drain(..) {
                    // Only what a peer accepts keeps an ICE-TCP connection open.
                    if self.on_datagram(&data, source, true) {
                        if let Some(tcp) = self.tcp.as_mut() {
                            tcp.mark_active(source, Instant::now());
                        }
                    }
                    self.poll_dirty();
                }
                self.tcp_frames = frames;
            }
            if fds[0].revents != 0 {
                for _ in 0..RECV_BATCH {
                    match self.socket.recv_from(&mut buf) {
                        Ok((n, source)) => {
                            let arrived = Instant::now();
                            let forwarded = self.tally.forwarded;
                            self.on_datagram(&buf[..n], source, false);
                            if self.tally.forwarded != forwarded {
                                self.poll_dirty();
                                if let Some(h) = &self.tally.latency {
                                    h.observe(arrived.elapsed().as_secs_f64());
                                }
                            }
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) => {
                            debug!("udp recv error: {e}");
                            break;
                        }
                    }
                }
            }
            self.poll_dirty();
            let now = Instant::now();
            if now >= self.earliest_timeout {
                self.drive_timeouts(now);
            }
            if now >= next_flush {
                self.tally.flush(&self.metrics);
                next_flush = now + FLUSH_EVERY;
            }
            if now >= next_select {
                self.select_layers(now);
                next_select = now + SELECT_EVERY;
            }
        }
        for idx in 0..self.peers.len() {
            if let Some(p) = self.peers[idx].as_mut() {
                p.rtc.disconnect();
            }
        }
        self.flush_out();
        self.tally.flush(&self.metrics);
        info!("media plane stopped");
    }

    /// Returns false on shutdown.
    fn apply_commands(&mut self) -> bool {
        loop {
            match self.commands.try_recv() {
                Ok(Command::Offer { peer, sdp, reply }) => {
                    let _ = reply.send(self.offer(peer, &sdp));
                }
                Ok(Command::Candidate {
                    peer,
                    candidate,
                    reply,
                }) => {
                    let _ = reply.send(self.candidate(peer, &candidate));
                }
                Ok(Command::Subscribe {
                    subscriber,
                    subscriptions,
                }) => self.subscribe(subscriber, subscriptions),
                Ok(Command::Remove { peer }) => {
                    if let Some(&idx) = self.by_id.get(&peer) {
                        self.remove(idx, false);
                    }
                }
                Ok(Command::Ping { reply }) => {
                    let _ = reply.send(());
                }
                Ok(Command::Shutdown) | Err(TryRecvError::Disconnected) => return false,
                Err(TryRecvError::Empty) => return true,
            }
        }
    }

    fn offer(&mut self, id: PeerId, sdp: &str) -> Result<PeerLayout, OfferError> {
        let now = Instant::now();
        let (idx, created) = match self.by_id.get(&id) {
            Some(&idx) => (idx, false),
            None => {
                let idx = self
                    .peers
                    .iter()
                    .position(Option::is_none)
                    .unwrap_or_else(|| {
                        self.peers.push(None);
                        self.peers.len() - 1
                    });
                self.peers[idx] = Some(Peer::new(id, now));
                self.by_id.insert(id, idx);
                self.metrics.peers.inc();
                (idx, true)
            }
        };
        let peer = self.peers[idx].as_mut().expect("index from by_id is live");
        // str0m 0.25 asserts on some payload type layouts a hostile offer can carry ("Pt
        // locked multiple times", found by fuzz/ sdp_offer); unwound here, that costs the
        // offering peer its connection instead of every meeting its media thread.
        let accepted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            peer.accept_offer(sdp, &self.candidates)
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

    fn candidate(&mut self, id: PeerId, line: &str) -> Result<(), CandidateError> {
        let line = line.trim();
        let line = line.strip_prefix("a=").unwrap_or(line);
        let c =
            Candidate::from_sdp_string(line).map_err(|e| CandidateError::Parse(e.to_string()))?;
        if let Some(p) = self.by_id.get(&id).and_then(|&i| self.peers[i].as_mut()) {
            p.add_candidate(c);
        }
        Ok(())
    }

    /// Control plane: re-points slots. Detaches each slot from its old track, attaches it
    /// to the new one, maps payload types and asks the new source for a keyframe.
    fn subscribe(&mut self, subscriber: PeerId, subs: Vec<Subscription>) {
        let Some(&sidx) = self.by_id.get(&subscriber) else {
            return;
        };
        let now = Instant::now();
        for sub in subs {
            let Some(slot) = self.peers[sidx]
                .as_ref()
                .and_then(|p| p.slots.iter().position(|s| s.mid.to_string() == sub.slot))
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
            let slot_ref = SlotRef { peer: sidx, slot };
            let old = self.peers[sidx].as_ref().and_then(|p| p.slots[slot].source);
            if old == new_source.map(|(p, t, _)| (p, t)) {
                if let (Some((_, _, layer)), Some(p)) = (new_source, self.peers[sidx].as_mut()) {
                    p.slots[slot].max = layer;
                    p.slots[slot].priority = sub.source.map_or(2, |src| src.priority);
                }
                continue;
            }
            if let Some((op, ot)) = old {
                if let Some(publisher) = self.peers[op].as_mut() {
                    publisher.tracks[ot].subscribers.retain(|r| *r != slot_ref);
                }
            }
            match new_source {
                Some((pidx, tidx, layer)) => {
                    let (pt_map, kind_ok) = {
                        let (Some(s), Some(p)) =
                            (self.peers[sidx].as_ref(), self.peers[pidx].as_ref())
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
                        s.slots[slot].source = None;
                        s.slots[slot].down.clear();
                        continue;
                    }
                    s.slots[slot].source = Some((pidx, tidx));
                    s.slots[slot].pt_map = pt_map;
                    s.slots[slot].max = layer;
                    s.slots[slot].priority = sub.source.map_or(2, |src| src.priority);
                    // Start low (fast first picture, safe on any link); the selector climbs.
                    s.slots[slot].down.set_source(Layer::Low);
                    s.slots[slot].down.set_temporal_target(MAX_TEMPORAL);
                    s.downlink.reset_slot(slot);
                    let subscriber_connected = s.connected;
                    let publisher = self.peers[pidx].as_mut().expect("checked above");
                    publisher.tracks[tidx].subscribers.push(slot_ref);
                    // An unconnected subscriber asks when it connects (see on_connected):
                    // a keyframe now would be spent before it can be received.
                    if subscriber_connected && !publisher.tracks[tidx].kind.is_audio() {
                        let active = publisher.tracks[tidx].active(now);
                        let l = active.best_for(Layer::Low);
                        self.keyframe(pidx, tidx, l, now);
                    }
                }
                _ => {
                    let s = self.peers[sidx].as_mut().expect("checked above");
                    s.slots[slot].source = None;
                    s.slots[slot].down.clear();
                }
            }
        }
    }

    fn keyframe(&mut self, pidx: usize, tidx: usize, layer: Option<crate::Layer>, now: Instant) {
        let Some(p) = self.peers[pidx].as_mut() else {
            return;
        };
        if p.tracks[tidx]
            .throttle
            .allow(layer.map_or(0, |l| l.index()), now)
            && p.request_keyframe(tidx, layer)
        {
            debug!(publisher = %p.id, track = ?p.tracks[tidx].kind, ?layer, "keyframe requested");
            self.tally.keyframe_requests += 1;
            self.mark_dirty(pidx);
        }
    }

    /// One datagram from `source`, over UDP or (`tcp`) one of the ICE-TCP connections.
    /// Hands a datagram to the peer it belongs to; true when that peer accepted it.
    fn on_datagram(&mut self, data: &[u8], source: SocketAddr, tcp: bool) -> bool {
        self.tally.rx_packets += 1;
        self.tally.rx_bytes += data.len() as u64;
        let Ok(contents) = data.try_into() else {
            self.tally.unmatched += 1;
            return false;
        };
        let now = Instant::now();
        let input = Input::Receive(
            now,
            Receive {
                proto: if tcp { Protocol::Tcp } else { Protocol::Udp },
                source,
                destination: if tcp {
                    self.tcp_announce.unwrap_or(self.announce)
                } else {
                    self.announce
                },
                contents,
            },
        );
        let idx = match self.by_addr.get(&(tcp, source)) {
            Some(&i) => Some(i),
            None => {
                let found = self
                    .peers
                    .iter()
                    .position(|p| p.as_ref().is_some_and(|p| p.rtc.accepts(&input)));
                if let Some(i) = found {
                    self.by_addr.insert((tcp, source), i);
                }
                found
            }
        };
        let Some(idx) = idx else {
            self.tally.unmatched += 1;
            return false;
        };
        let Some(peer) = self.peers[idx].as_mut() else {
            return false;
        };
        peer.last_rx = now;
        let accepted = match peer.rtc.handle_input(input) {
            Ok(()) => true,
            Err(e) => {
                self.tally.refused += 1;
                debug!(peer = %peer.id, "input refused: {e}");
                false
            }
        };
        self.poll(idx);
        accepted
    }

    /// Sends the UDP datagrams gathered so far.
    fn flush_out(&mut self) {
        let done = self.out.flush(&self.socket);
        self.tally.send_errors += done.failed;
    }

    fn mark_dirty(&mut self, idx: usize) {
        if let Some(p) = self.peers[idx].as_mut() {
            if !p.dirty {
                p.dirty = true;
            }
        }
        self.dirty.push(idx);
    }

    fn poll_dirty(&mut self) {
        while let Some(idx) = self.dirty.pop() {
            if self.peers[idx].as_ref().is_some_and(|p| p.dirty) {
                self.poll(idx);
            }
        }
    }

    fn drive_timeouts(&mut self, now: Instant) {
        let mut earliest = now + Duration::from_millis(100);
        for idx in 0..self.peers.len() {
            let due = match self.peers[idx].as_mut() {
                Some(p) if p.next_timeout <= now => {
                    if let Err(e) = p.rtc.handle_input(Input::Timeout(now)) {
                        debug!(peer = %p.id, "timeout input refused: {e}");
                    }
                    true
                }
                _ => false,
            };
            if due {
                self.poll(idx);
            }
            if let Some(p) = self.peers[idx].as_ref() {
                earliest = earliest.min(p.next_timeout);
            }
        }
        self.earliest_timeout = earliest;
    }

    /// Drains a peer's output: sends datagrams, handles events, records its next timeout.
    fn poll(&mut self, idx: usize) {
        loop {
            let Some(peer) = self.peers[idx].as_mut() else {
                return;
            };
            peer.dirty = false;
            if !peer.rtc.is_alive() {
                self.remove(idx, true);
                return;
            }
            match peer.rtc.poll_output() {
                Ok(Output::Transmit(t)) => {
                    self.tally.tx_packets += 1;
                    self.tally.tx_bytes += t.contents.len() as u64;
                    if t.proto == Protocol::Tcp {
                        let sent = self
                            .tcp
                            .as_mut()
                            .is_some_and(|tcp| tcp.send(t.destination, &t.contents));
                        if !sent {
                            self.tally.send_errors += 1;
                        }
                    } else if self.out.push(t.destination, t.contents.into()) {
                        self.flush_out();
                    }
                }
                Ok(Output::Timeout(t)) => {
                    peer.next_timeout = t;
                    self.earliest_timeout = self.earliest_timeout.min(t);
                    return;
                }
                Ok(Output::Event(e)) => self.on_event(idx, e),
                Err(e) => {
                    warn!(peer = %peer.id, "peer failed: {e}");
                    self.remove(idx, true);
                    return;
                }
            }
        }
    }

    fn on_event(&mut self, idx: usize, event: Event) {
        match event {
            Event::RtpPacket(pkt) => self.forward(idx, pkt),
            Event::Connected => self.on_connected(idx),
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                if let Some(p) = self.peers[idx].as_mut() {
                    info!(peer = %p.id, "ice disconnected");
                    p.rtc.disconnect();
                }
            }
            Event::PeerStats(stats) => {
                let Some(p) = self.peers[idx].as_mut() else {
                    return;
                };
                p.downlink
                    .on_loss(stats.egress_loss_fraction.map(f64::from));
                p.downlink.on_rtt(stats.rtt, Instant::now());
                debug!(
                    peer = %p.id,
                    loss = ?stats.egress_loss_fraction,
                    rtt = ?stats.rtt,
                    estimate = p.downlink.estimate_bps(),
                    "downlink stats"
                );
                let estimate = p.connected.then_some(p.downlink.estimate_bps());
                let layer = p.video_layer();
                let report = p.link.report(p.id, &stats, Instant::now(), estimate, layer);
                let _ = self.events.send(SfuEvent::Stats(report));
            }
            Event::MediaIngressStats(stats) => {
                let Some(p) = self.peers[idx].as_mut() else {
                    return;
                };
                let audio = p
                    .tracks
                    .iter()
                    .any(|t| t.mid == stats.mid && t.kind.is_audio());
                p.link
                    .on_ingress(&stats, if audio { 48_000 } else { 90_000 });
            }
            Event::MediaEgressStats(stats) => {
                let Some(p) = self.peers[idx].as_mut() else {
                    return;
                };
                let audio = p
                    .slots
                    .iter()
                    .any(|s| s.mid == stats.mid && s.kind == MediaKind::Audio);
                p.link
                    .on_egress(&stats, if audio { 48_000 } else { 90_000 });
            }
            Event::EgressBitrateEstimate(str0m::bwe::BweKind::Twcc { estimate, .. }) => {
                if let Some(p) = self.peers[idx].as_mut() {
                    p.downlink.on_estimate(estimate.as_u64());
                }
            }
            Event::KeyframeRequest(req) => {
                let now = Instant::now();
                let Some(p) = self.peers[idx].as_ref() else {
                    return;
                };
                let Some(slot) = p.slots.iter().find(|s| s.mid == req.mid) else {
                    return;
                };
                let Some((pidx, tidx)) = slot.source else {
                    return;
                };
                let layer = slot.down.current_layer().flatten();
                self.keyframe(pidx, tidx, layer, now);
            }
            _ => {}
        }
    }

    /// ICE and DTLS are up. Slots were not fed before (packets written earlier could not be
    /// encrypted), so each video slot restarts at a fresh keyframe now.
    fn on_connected(&mut self, idx: usize) {
        let now = Instant::now();
        let Some(p) = self.peers[idx].as_mut() else {
            return;
        };
        if p.connected {
            return;
        }
        p.connected = true;
        self.metrics.peers_connected.inc();
        let _ = self.events.send(SfuEvent::Connected(p.id));
        info!(peer = %p.id, "media connected");
        let mut wanted = Vec::new();
        for slot in &mut p.slots {
            if let Some((pidx, tidx)) = slot.source {
                let target = slot.down.target();
                slot.down.set_source(target);
                if slot.kind == MediaKind::Video {
                    wanted.push((pidx, tidx, target));
                }
            }
        }
        for (pidx, tidx, target) in wanted {
            let layer = self.peers[pidx]
                .as_ref()
                .and_then(|p| p.tracks[tidx].active(now).best_for(target));
            self.keyframe(pidx, tidx, layer, now);
        }
    }

    /// The packet path: classify, then decide and write for every slot the track feeds.
    fn forward(&mut self, pidx: usize, pkt: RtpPacket) {
        let now = Instant::now();
        let Some(publisher) = self.peers[pidx].as_mut() else {
            return;
        };
        let Some(inc) = publisher.classify(pkt.header.ssrc) else {
            return;
        };
        let info = publisher.pt_info(pkt.header.payload_type);
        let track = &mut publisher.tracks[inc.track];
        if pkt.payload.is_empty() {
            return; // padding (the publisher probing its uplink): nothing to forward
        }
        let is_vp8 =
            matches!(info.and_then(|i| i.video), Some(VideoCodec::Vp8)) && !track.kind.is_audio();
        let vp8 = if is_vp8 {
            crate::vp8::parse(&pkt.payload)
        } else {
            None
        };
        if is_vp8 && vp8.is_none() {
            self.tally.malformed += 1;
            publisher.link.malformed += 1;
            return;
        }
        if !track
            .police
            .admit(inc.layer, pkt.payload.len() + pkt.header.header_len, now)
        {
            self.tally.over_budget += 1;
            publisher.link.policed += 1;
            if publisher.link.policed.is_power_of_two() {
                warn!(peer = %publisher.id, kind = ?track.kind, layer = ?inc.layer, dropped = publisher.link.policed, "publisher over its budget: excess media dropped");
            }
            return;
        }
        track.mark_seen(inc.layer, vp8.and_then(|d| d.tid), pkt.payload.len(), now);
        let Some(info) = info else { return };
        let track = &publisher.tracks[inc.track];
        let switch_point = match (track.kind, info.video) {
            (TrackKind::Audio, _) => true,
            (_, Some(VideoCodec::Vp8)) => vp8.is_some_and(|d| d.keyframe),
            (_, Some(codec)) => crate::codec::is_keyframe_start(codec, &pkt.payload),
            (_, None) => false,
        };
        let meta = PacketMeta {
            layer: inc.layer,
            seq: *pkt.seq_no,
            ts: pkt.header.timestamp,
            switch_point,
            clock_rate: info.clock_rate,
            vp8,
        };
        // str0m's parse of the same descriptor: each slot's PictureID/TL0PICIDX go out as a
        // patch on the shared payload (see Peer::write).
        let patchable = vp8
            .filter(|d| d.picture_id.is_some() || d.tl0_pic_idx.is_some())
            .and_then(|_| Vp8Descriptor::parse(&pkt.payload).ok());
        let active = track.active(now);
        let inc_is_audio = track.kind.is_audio();
        if inc_is_audio {
            publisher
                .link
                .on_audio_packet(pkt.header.ext_vals.audio_level);
        }
        self.scratch.clear();
        self.scratch.extend_from_slice(&track.subscribers);
        let mut keyframe_for: Option<Option<crate::Layer>> = None;
        for i in 0..self.scratch.len() {
            let r = self.scratch[i];
            let Some(sub) = self.peers[r.peer].as_mut().filter(|p| p.connected) else {
                continue;
            };
            let verdict = sub.slots[r.slot].down.decide(&meta, active, now);
            if let Some(out) = verdict.out {
                if meta.switch_point && !inc_is_audio {
                    debug!(subscriber = %sub.id, layer = ?meta.layer, "video keyframe forwarded");
                }
                if sub.write(r.slot, &pkt, out, patchable.as_ref()) {
                    self.tally.forwarded += 1;
                    if !sub.first_media_sent {
                        sub.first_media_sent = true;
                        let _ = self.events.send(SfuEvent::FirstMedia(sub.id));
                    }
                    if !sub.dirty {
                        sub.dirty = true;
                    }
                    self.dirty.push(r.peer);
                }
            }
            if verdict.keyframe.is_some() {
                keyframe_for = verdict.keyframe;
            }
        }
        if let Some(layer) = keyframe_for {
            self.keyframe(pidx, inc.track, layer, now);
        }
    }

    /// Control plane, a few times a second: measures every published layer, then chooses
    /// each subscriber's layers from its bandwidth estimate and tells its estimator what to
    /// probe for.
    fn select_layers(&mut self, now: Instant) {
        self.drop_silent(now);
        for p in self.peers.iter_mut().flatten() {
            for t in &mut p.tracks {
                t.measure(now);
            }
        }
        self.report_wanted_layers();
        let mut paused = 0;
        for sidx in 0..self.peers.len() {
            // One demand per slot, so the selector's memory stays attached to its slot;
            // audio and idle slots have no usable layer.
            let demands: Vec<crate::select::Demand> = {
                let Some(sub) = self.peers[sidx].as_ref().filter(|p| p.connected) else {
                    continue;
                };
                sub.slots
                    .iter()
                    .map(|s| {
                        let track = s.source.filter(|_| s.kind == MediaKind::Video).and_then(
                            |(pidx, tidx)| self.peers[pidx].as_ref().map(|p| &p.tracks[tidx]),
                        );
                        track.map_or(peer::IDLE, |t| peer::demand(s, t))
                    })
                    .collect()
            };
            let Some(sub) = self.peers[sidx].as_mut() else {
                continue;
            };
            let (oldest, bytes) = sub.video_backlog(now);
            sub.downlink.on_backlog(oldest, bytes);
            let update = sub.downlink.update(&demands, now);
            let backlogged = sub.downlink.backlogged();
            for s in &mut sub.slots {
                s.down.set_backlogged(backlogged);
            }
            let reception = update.reception;
            if sub.reception != Some(reception) {
                sub.reception = Some(reception);
                let _ = self.events.send(SfuEvent::Reception {
                    peer: sub.id,
                    reception,
                });
            }
            for (slot, choice) in update.choices.into_iter().enumerate() {
                if sub.slots[slot].kind != MediaKind::Video || sub.slots[slot].source.is_none() {
                    continue;
                }
                let s = &mut sub.slots[slot];
                let before = (!s.down.is_paused()).then(|| Choice {
                    layer: s.down.target(),
                    temporal: s.down.temporal_target(),
                });
                if before != choice {
                    debug!(
                        subscriber = %sub.id,
                        slot = %s.mid,
                        estimate = sub.downlink.estimate_bps(),
                        backlog_ms = oldest.as_millis() as u64,
                        backlog_bytes = bytes,
                        before = ?before.map(|c| c.layer),
                        before_temporal = ?before.map(|c| c.temporal),
                        layer = ?choice.map(|c| c.layer),
                        temporal = ?choice.map(|c| c.temporal),
                        "layer choice"
                    );
                    self.tally.layer_switches += 1;
                }
                if choice.is_none() {
                    paused += 1;
                }
                let down = &mut s.down;
                match choice {
                    None if !down.is_paused() => down.pause(),
                    None => {}
                    Some(c) => {
                        down.set_temporal_target(c.temporal);
                        if down.is_paused() {
                            down.set_source(c.layer);
                        } else if c.layer != down.target() {
                            down.set_target(c.layer);
                        }
                    }
                }
            }
            // Pad towards the next step up, probe towards the desired rate (see Downlink).
            sub.rtc.bwe().set_bitrate(
                str0m::bwe::Bitrate::bps(update.probe_bps),
                str0m::bwe::Bitrate::bps(update.desired_bps),
            );
            sub.dirty = true;
            self.dirty.push(sidx);
        }
        self.metrics.paused_slots.set(paused);
    }

    /// Disconnects connected peers that have sent nothing for [`SILENCE_TIMEOUT`]; the next
    /// poll removes them and tells signaling.
    fn drop_silent(&mut self, now: Instant) {
        for idx in 0..self.peers.len() {
            let Some(p) = self.peers[idx].as_mut() else {
                continue;
            };
            if p.connected && now.saturating_duration_since(p.last_rx) >= SILENCE_TIMEOUT {
                info!(peer = %p.id, "nothing received for {} s: peer gone", SILENCE_TIMEOUT.as_secs());
                p.rtc.disconnect();
                self.poll(idx);
            }
        }
    }

    /// Tells signaling when the highest camera layer any connected subscriber may receive
    /// from a publisher changes, so the publisher stops encoding layers nobody receives.
    fn report_wanted_layers(&mut self) {
        let mut changes = Vec::new();
        for (pidx, p) in self.peers.iter().enumerate() {
            let Some(p) = p.as_ref().filter(|p| p.connected) else {
                continue;
            };
            for (tidx, track) in p.tracks.iter().enumerate() {
                if track.kind != crate::TrackKind::Camera {
                    continue;
                }
                let max = track
                    .subscribers
                    .iter()
                    .filter_map(|r| {
                        self.peers[r.peer]
                            .as_ref()
                            .filter(|s| s.connected)
                            .map(|s| s.slots[r.slot].max)
                    })
                    .max();
                if track.wanted_reported != Some(max) {
                    changes.push((pidx, tidx, p.id, max));
                }
            }
        }
        for (pidx, tidx, peer, max) in changes {
            if let Some(p) = self.peers[pidx].as_mut() {
                p.tracks[tidx].wanted_reported = Some(max);
            }
            let _ = self.events.send(SfuEvent::CameraLayersWanted { peer, max });
        }
    }

    /// Drops a peer: detaches its slots from their sources and idles the slots it fed.
    fn remove(&mut self, idx: usize, notify: bool) {
        let Some(peer) = self.peers[idx].take() else {
            return;
        };
        self.by_id.remove(&peer.id);
        self.by_addr.retain(|_, i| *i != idx);
        self.metrics.peers.dec();
        if peer.connected {
            self.metrics.peers_connected.dec();
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
                    sub.slots[r.slot].source = None;
                    sub.slots[r.slot].down.clear();
                }
            }
        }
        info!(peer = %peer.id, "peer removed");
        if notify {
            let _ = self.events.send(SfuEvent::Disconnected(peer.id));
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
