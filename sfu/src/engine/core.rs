//! The clock-free media core: every peer and the forwarding between them, as str0m's `Rtc`
//! is driven. Inputs are a received datagram ([`Core::handle_receive`]), a command from
//! signaling ([`Core::handle_command`]) and the passing of time ([`Core::handle_timeout`]),
//! each with `now` given; outputs come from [`Core::poll_output`]: datagrams to send, events
//! for signaling, and when to be woken next.
//!
//! The core never reads the clock, touches a socket or sleeps: the I/O driver
//! (`driver.rs`) does that, and tests drive it on a virtual clock with in-memory datagrams.
//! The rest of its methods live in facets: `control.rs` (offers, subscriptions, removal),
//! `events.rs` (what each peer's `Rtc` reports), `fanout.rs` (the packet path), `layers.rs`
//! (the selection tick).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Input, Output as RtcOutput};
use tracing::{debug, warn};

use super::ingest::SlotRef;
use super::peer::Peer;
use super::Command;
use crate::keyframe::Need;
use crate::metrics::{SfuMetrics, Tally};
use crate::select::Choice;
use crate::{PeerId, SfuEvent};

/// How often the local tally is added to the shared metrics.
const FLUSH_EVERY: Duration = Duration::from_millis(250);
/// How often each subscriber's layers are chosen again.
pub const SELECT_EVERY: Duration = Duration::from_millis(250);
/// Longest the core sleeps when no peer asks for a timeout sooner.
const IDLE_TIMEOUT: Duration = Duration::from_millis(100);

/// A datagram for the driver to send.
#[derive(Debug)]
pub struct Transmit {
    /// UDP, or one of the ICE-TCP connections.
    pub proto: Protocol,
    /// The local address it leaves from (as announced).
    pub source: SocketAddr,
    /// Where it goes.
    pub destination: SocketAddr,
    /// Its bytes.
    pub contents: Vec<u8>,
}

/// What the core has for its driver, in the order to handle it.
#[derive(Debug)]
pub enum Output {
    /// Send this.
    Transmit(Transmit),
    /// Tell signaling this.
    Event(SfuEvent),
    /// Nothing more: call [`Core::handle_timeout`] at this time at the latest.
    Timeout(Instant),
}

/// Where the core's peers reach it.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// The UDP address browsers send to; str0m matches it against the host candidate, so
    /// it stands as the destination of every UDP datagram whatever the socket is bound to.
    pub announce: SocketAddr,
    /// The address the ICE-TCP candidate announces, when ICE-TCP is on.
    pub tcp_announce: Option<SocketAddr>,
    /// Host candidates offered to every peer: UDP, and passive TCP when ICE-TCP is on.
    pub candidates: Vec<Candidate>,
}

/// What [`Core::handle_receive`] did with a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// A peer took it (an ICE-TCP connection stays open only while this holds).
    pub accepted: bool,
    /// It carried media that was forwarded to at least one slot.
    pub forwarded: bool,
}

/// Every peer, by stable index, and the forwarding between them.
pub struct Core {
    pub(super) config: CoreConfig,
    /// Peers by index; `None` marks a free index. Indices are stable while a peer lives.
    pub(super) peers: Vec<Option<Peer>>,
    pub(super) by_id: HashMap<PeerId, usize>,
    /// 5-tuple cache: (over TCP, remote address) → peer index.
    pub(super) by_addr: HashMap<(bool, SocketAddr), usize>,
    pub(super) metrics: SfuMetrics,
    pub(super) tally: Tally,
    /// Reused buffer for a track's subscriber list during fan-out.
    pub(super) scratch: Vec<SlotRef>,
    /// Peers written to since they were last polled.
    pub(super) dirty: Vec<usize>,
    /// Subscribers whose new estimate no longer fits the video chosen for them: their layers
    /// are chosen again before the next output, not at the next tick (see
    /// [`crate::downlink::Downlink::on_estimate`]).
    pub(super) reselect: Vec<usize>,
    /// Earliest timeout any peer asked for.
    earliest_timeout: Instant,
    next_flush: Instant,
    next_select: Instant,
    selections: u64,
    /// The time of the latest input.
    pub(super) now: Instant,
    transmits: VecDeque<Transmit>,
    events: VecDeque<SfuEvent>,
    /// Its shard's peer count ([`SfuMetrics::shard_peers`]).
    pub(super) shard_peers: prometheus::IntGauge,
    /// The shard whose tag new peers' ufrags carry (`None`: one shard, str0m's own ufrags).
    pub(super) ice_tag: Option<usize>,
    /// Relay tracks last added to the shared gauge (see `relay.rs`).
    pub(super) relay_tracks: i64,
    /// Half the link's round trip when the datagram being handled was relayed media that
    /// was forwarded: the wire's share of the hop's added latency.
    pub(super) relayed_wire: Option<Duration>,
    /// Recorder taps for peers not offered yet (see `record_tap.rs`).
    pub(super) rec_pending: HashMap<PeerId, crate::record::RecTap>,
}

impl Core {
    /// A core with no peers, started at `now`.
    pub fn new(config: CoreConfig, metrics: SfuMetrics, now: Instant) -> Core {
        Core {
            config,
            peers: Vec::new(),
            by_id: HashMap::new(),
            by_addr: HashMap::new(),
            tally: Tally::default(),
            scratch: Vec::new(),
            dirty: Vec::new(),
            reselect: Vec::new(),
            earliest_timeout: now,
            next_flush: now + FLUSH_EVERY,
            next_select: now + SELECT_EVERY,
            selections: 0,
            now,
            transmits: VecDeque::new(),
            shard_peers: metrics.shard_peers.with_label_values(&["0"]),
            metrics,
            events: VecDeque::new(),
            ice_tag: None,
            relay_tracks: 0,
            relayed_wire: None,
            rec_pending: HashMap::new(),
        }
    }

    /// Makes this the core of shard `shard`; with `tagged`, its peers' ICE ufrags start with
    /// the shard's tag so the dispatcher of the shared port can steer to it
    /// (see `steer.rs`).
    pub fn into_shard(mut self, shard: usize, tagged: bool) -> Core {
        self.shard_peers = self
            .metrics
            .shard_peers
            .with_label_values(&[&shard.to_string()]);
        self.ice_tag = tagged.then_some(shard);
        self
    }

    /// Applies one command from the [`crate::Sfu`] handle; false on shutdown.
    pub(crate) fn handle_command(&mut self, command: Command, now: Instant) -> bool {
        self.now = now;
        match command {
            Command::Offer {
                peer,
                sdp,
                profile,
                reply,
            } => {
                let _ = reply.send(self.offer_as(peer, &sdp, profile, now));
            }
            Command::Candidate {
                peer,
                candidate,
                reply,
            } => {
                let _ = reply.send(self.candidate(peer, &candidate));
            }
            Command::Subscribe {
                subscriber,
                subscriptions,
            } => self.subscribe(subscriber, subscriptions, now),
            Command::Remove { peer } => self.remove_peer(peer),
            Command::RelayOffer { link, spec, reply } => {
                let _ = reply.send(self.relay_offer(link, spec, now));
            }
            Command::RelayAnswer { link, sdp, reply } => {
                let _ = reply.send(self.relay_answer(link, &sdp, now));
            }
            Command::RelayAccept { link, sdp, reply } => {
                let _ = reply.send(self.relay_accept(link, &sdp, now));
            }
            Command::Record { peer, tap } => self.set_recording(peer, tap, now),
            Command::Ping { reply } => {
                let _ = reply.send(());
            }
            Command::Shutdown => return false,
        }
        true
    }

    /// One datagram from `source`, over UDP or one of the ICE-TCP connections, handed to
    /// the peer that owns its 5-tuple (or, for a new address, the peer whose ICE
    /// credentials it carries). Media in it is forwarded at once.
    pub fn handle_receive(
        &mut self,
        now: Instant,
        proto: Protocol,
        source: SocketAddr,
        data: &[u8],
    ) -> Received {
        self.now = now;
        self.relayed_wire = None;
        let forwarded = self.tally.forwarded;
        let accepted = self.on_datagram(data, source, proto == Protocol::Tcp, now);
        Received {
            accepted,
            forwarded: self.tally.forwarded != forwarded,
        }
    }

    /// Time has passed: gives due timeouts to str0m, flushes the tally to the metrics and
    /// chooses layers when their time has come.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        self.poll_dirty();
        if now >= self.earliest_timeout {
            self.drive_timeouts(now);
        }
        if now >= self.next_flush {
            self.tally.flush(&self.metrics);
            self.next_flush = now + FLUSH_EVERY;
        }
        if now >= self.next_select {
            self.count_relay_tracks();
            self.select_layers(now);
            self.selections += 1;
            self.next_select = now + SELECT_EVERY;
        }
    }

    /// The next thing for the driver: a datagram, an event, or when to call
    /// [`Core::handle_timeout`].
    pub fn poll_output(&mut self) -> Output {
        if let Some(t) = self.transmits.pop_front() {
            return Output::Transmit(t);
        }
        while let Some(idx) = self.reselect.pop() {
            self.select_for(idx, self.now);
        }
        if !self.dirty.is_empty() {
            self.poll_dirty();
            if let Some(t) = self.transmits.pop_front() {
                return Output::Transmit(t);
            }
        }
        if let Some(e) = self.events.pop_front() {
            return Output::Event(e);
        }
        Output::Timeout(
            self.earliest_timeout
                .min(self.next_flush)
                .min(self.next_select),
        )
    }

    /// Records how long a forwarded datagram took from arrival to its copies' sending (the
    /// datagram last handed to [`Core::handle_receive`]); relayed media also counts as a
    /// relay hop's added latency, with half its link's round trip.
    pub fn observe_latency(&self, took: Duration) {
        if let Some(h) = &self.tally.latency {
            h.observe(took.as_secs_f64());
        }
        if let (Some(wire), Some(h)) = (self.relayed_wire, &self.tally.relay_latency) {
            h.observe((took + wire).as_secs_f64());
        }
    }

    /// Counts datagrams the driver could not send.
    pub fn count_send_errors(&mut self, n: u64) {
        self.tally.send_errors += n;
    }

    /// Closes every peer's connection and adds the tally to the metrics a last time.
    pub fn close(&mut self) {
        for p in self.peers.iter_mut().flatten() {
            p.rtc.disconnect();
        }
        self.tally.flush(&self.metrics);
    }

    /// Peers alive now.
    pub fn peer_count(&self) -> usize {
        self.by_id.len()
    }

    /// Selection ticks run so far (see [`SELECT_EVERY`]).
    pub fn selections(&self) -> u64 {
        self.selections
    }

    /// What `peer`'s slot `mid` carries out now: `None` for no such peer or slot,
    /// `Some(None)` while it is paused for bandwidth, else the layer and frame rate chosen.
    pub fn slot_choice(&self, peer: PeerId, mid: &str) -> Option<Option<Choice>> {
        let p = self.peers[*self.by_id.get(&peer)?].as_ref()?;
        let down = &p.slots[p.slot_index(mid)?].down;
        Some((!down.is_paused()).then_some(Choice {
            layer: down.target(),
            temporal: down.temporal_target(),
        }))
    }

    /// `peer`'s bandwidth estimate as the layer selection uses it, bit/s.
    pub fn estimate_bps(&self, peer: PeerId) -> Option<u64> {
        let p = self.peers[*self.by_id.get(&peer)?].as_ref()?;
        Some(p.downlink.estimate_bps())
    }

    pub(super) fn emit(&mut self, event: SfuEvent) {
        self.events.push_back(event);
    }

    /// Returns whether the owning peer accepted the datagram.
    fn on_datagram(&mut self, data: &[u8], source: SocketAddr, tcp: bool, now: Instant) -> bool {
        self.tally.rx_packets += 1;
        self.tally.rx_bytes += data.len() as u64;
        let Ok(contents) = data.try_into() else {
            self.tally.unmatched += 1;
            return false;
        };
        let input = Input::Receive(
            now,
            Receive {
                proto: if tcp { Protocol::Tcp } else { Protocol::Udp },
                source,
                destination: self.local_addr(tcp),
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

    fn local_addr(&self, tcp: bool) -> SocketAddr {
        if tcp {
            self.config.tcp_announce.unwrap_or(self.config.announce)
        } else {
            self.config.announce
        }
    }

    pub(super) fn mark_dirty(&mut self, idx: usize) {
        if let Some(p) = self.peers[idx].as_mut() {
            p.dirty = true;
        }
        self.dirty.push(idx);
    }

    pub(super) fn poll_dirty(&mut self) {
        while let Some(idx) = self.dirty.pop() {
            if self.peers[idx].as_ref().is_some_and(|p| p.dirty) {
                self.poll(idx);
            }
        }
    }

    fn drive_timeouts(&mut self, now: Instant) {
        let mut earliest = now + IDLE_TIMEOUT;
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

    /// Drains a peer's output: queues datagrams, handles events, records its next timeout.
    ///
    /// str0m's pacer lets one packet out per `handle_timeout` and then asks for a timeout
    /// *now*; that is left to the next `handle_timeout` of the core. Answering it here at
    /// once was tried (issue 15, `RESULTS.md`): it saved no loop wake (the driver gives the
    /// time after every read anyway) and moved the work into the forwarding span.
    pub(super) fn poll(&mut self, idx: usize) {
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
                Ok(RtcOutput::Transmit(t)) => {
                    self.tally.tx_packets += 1;
                    self.tally.tx_bytes += t.contents.len() as u64;
                    if peer.rtx_pts.is_retransmission(&t.contents) {
                        self.tally.rtx_packets += 1;
                    }
                    self.transmits.push_back(Transmit {
                        proto: t.proto,
                        source: t.source,
                        destination: t.destination,
                        contents: t.contents.into(),
                    });
                }
                Ok(RtcOutput::Timeout(t)) => {
                    peer.next_timeout = t;
                    self.earliest_timeout = self.earliest_timeout.min(t);
                    return;
                }
                Ok(RtcOutput::Event(e)) => self.on_event(idx, e),
                Err(e) => {
                    warn!(peer = %peer.id, "peer failed: {e}");
                    self.remove(idx, true);
                    return;
                }
            }
        }
    }

    /// Asks a publisher's track for a keyframe of `layer`, unless one was asked for lately
    /// (lately depends on `need`: see [`crate::keyframe`]).
    pub(super) fn keyframe(
        &mut self,
        pidx: usize,
        tidx: usize,
        layer: Option<crate::Layer>,
        need: Need,
        now: Instant,
    ) {
        let Some(p) = self.peers[pidx].as_mut() else {
            return;
        };
        if p.tracks[tidx]
            .throttle
            .allow(layer.map_or(0, |l| l.index()), need, now)
            && p.request_keyframe(tidx, layer)
        {
            debug!(publisher = %p.id, track = ?p.tracks[tidx].kind, ?layer, ?need, "keyframe requested");
            self.tally.keyframe_requests += 1;
            self.mark_dirty(pidx);
        }
    }
}
