//! The engine core on a virtual clock: str0m clients stand for browsers and reach the real
//! [`Core`] through in-memory datagrams, with no socket, thread or wall clock. Each client
//! offers over SDP as a browser does, connects (ICE-lite, DTLS), publishes and receives.
//! The core and the clients are set up by `harness`, as for the estimator's `sim`.
//!
//! Payloads are marked so a subscriber can tell what it got: audio starts with [`AUDIO`];
//! video is VP8 (a one-byte payload descriptor, then the VP8 header whose lowest bit is 0 on
//! a keyframe), then the simulcast layer's number (1 low, 2 mid, 3 high), padded to the
//! layer's frame size so the bandwidth estimate grows as it would with real video.

mod harness;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use harness::{pt_of, RIDS};
use sfu::engine::{Core, Output, Received, SILENCE_TIMEOUT};
use sfu::{Layer, PeerId, PeerLayout, SfuEvent, Source, Subscription, TrackKind};
use str0m::change::SdpPendingOffer;
use str0m::format::Codec;
use str0m::media::{Mid, Pt};
use str0m::net::Protocol;
use str0m::rtp::RtpWrite;
use str0m::{Event, Input, Output as RtcOutput, Rtc};

/// First payload byte of every audio packet.
const AUDIO: u8 = 0xA0;
/// Bytes of one frame of each simulcast layer (30 frames a second: 72, 216, 264 kbit/s).
const FRAME_BYTES: [usize; 3] = [300, 900, 1_100];
/// Smallest step of the virtual clock when something is due now again.
const MIN_STEP: Duration = Duration::from_millis(1);

/// A browser: its peer connection, what it negotiated and what it received.
struct Client {
    id: PeerId,
    rtc: Rtc,
    addr: SocketAddr,
    wake: Instant,
    /// Its datagrams are lost on the way to the core (its network is cut).
    cut: bool,
    layout: PeerLayout,
    audio_mid: Option<Mid>,
    video_mid: Option<Mid>,
    /// First payload bytes of each media packet received: audio, or VP8 layer marks.
    received: Vec<u8>,
    /// Datagrams the core sent it.
    datagrams: usize,
    /// When each keyframe request (PLI) from the core reached it.
    keyframe_requests: Vec<Instant>,
    seq: u64,
    /// Every media packet received, payload type and payload (kept only when asked for).
    packets: Option<Vec<(Pt, Vec<u8>)>>,
}

/// The core and its clients on one virtual clock.
struct Net {
    core: Core,
    core_wake: Instant,
    now: Instant,
    clients: Vec<Client>,
    events: Vec<SfuEvent>,
}

impl Net {
    fn new() -> Net {
        let now = Instant::now();
        Net {
            core: harness::core(now),
            core_wake: now,
            now,
            clients: Vec::new(),
            events: Vec::new(),
        }
    }

    /// A browser that publishes a microphone and (when `camera`) a simulcast camera, and
    /// receives on one audio and one video slot. Returns its index.
    fn join(&mut self, camera: bool) -> usize {
        self.join_with(camera, false)
    }

    /// As [`Net::join`], offering Opus in RED when `red`; the client keeps every packet it
    /// receives.
    fn join_with(&mut self, camera: bool, red: bool) -> usize {
        let n = self.clients.len();
        let id = PeerId(n as u64 + 1);
        let addr = SocketAddr::from((Ipv4Addr::new(10, 0, 1, n as u8 + 1), 50_000));
        let mut rtc = if red {
            browser_offering_red(addr, self.now)
        } else {
            harness::browser(addr, self.now)
        };
        let mut api = rtc.sdp_api();
        let audio_mid = harness::add_microphone(&mut api);
        let video_mid = camera.then(|| harness::add_camera(&mut api));
        harness::add_receiving_slots(&mut api);
        let offer: (_, SdpPendingOffer) = api.apply().expect("an offer");
        let layout = harness::negotiate(&mut self.core, id, &mut rtc, offer, self.now);
        self.clients.push(Client {
            id,
            rtc,
            addr,
            wake: self.now,
            cut: false,
            layout,
            audio_mid: Some(audio_mid),
            video_mid,
            received: Vec::new(),
            datagrams: 0,
            keyframe_requests: Vec::new(),
            seq: 1,
            packets: None,
        });
        n
    }

    /// Runs until every client is connected through the core.
    fn connect_all(&mut self) {
        let want = self.clients.len();
        let deadline = self.now + Duration::from_secs(10);
        while self.count(|e| matches!(e, SfuEvent::Connected(_))) < want {
            assert!(
                self.now < deadline,
                "clients did not connect: {:?}",
                self.events
            );
            self.step();
        }
    }

    fn count(&self, f: impl Fn(&SfuEvent) -> bool) -> usize {
        self.events.iter().filter(|e| f(e)).count()
    }

    /// Points `subscriber`'s slot of `kind` at `publisher`'s track.
    fn subscribe(&mut self, subscriber: usize, publisher: usize, track: TrackKind, layer: Layer) {
        let layout = &self.clients[subscriber].layout;
        let slot = if track.is_audio() {
            layout.audio_slots[0].clone()
        } else {
            layout.video_slots[0].clone()
        };
        let source = Source {
            peer: self.clients[publisher].id,
            track,
            layer,
            priority: 0,
        };
        let sub = Subscription {
            slot,
            source: Some(source),
        };
        let id = self.clients[subscriber].id;
        self.core.subscribe(id, vec![sub], self.now);
        self.pump();
    }

    /// Runs `d` of virtual time; `each_tick` is called every 20 ms with the net.
    fn run(&mut self, d: Duration, mut each_tick: impl FnMut(&mut Net)) {
        let end = self.now + d;
        let mut next_tick = self.now;
        while self.now < end {
            if self.now >= next_tick {
                each_tick(self);
                next_tick += Duration::from_millis(20);
            }
            self.step();
        }
    }

    /// Advances the clock to the next thing due and does it.
    fn step(&mut self) {
        let next = self
            .clients
            .iter()
            .map(|c| c.wake)
            .fold(self.core_wake, Instant::min);
        self.now = next.max(self.now + MIN_STEP);
        let now = self.now;
        self.core.handle_timeout(now);
        for c in &mut self.clients {
            if c.wake <= now {
                c.rtc.handle_input(Input::Timeout(now)).expect("timeout");
            }
        }
        self.pump();
    }

    /// Moves datagrams between the core and the clients until nothing is left to move.
    fn pump(&mut self) {
        let now = self.now;
        loop {
            let mut moved = false;
            loop {
                match self.core.poll_output() {
                    Output::Transmit(t) => {
                        moved = true;
                        let Some(c) = self.clients.iter_mut().find(|c| c.addr == t.destination)
                        else {
                            continue;
                        };
                        c.datagrams += 1;
                        let input =
                            harness::datagram_input(now, t.source, t.destination, &t.contents)
                                .expect("datagram");
                        c.rtc.handle_input(input).expect("client input");
                    }
                    Output::Event(e) => self.events.push(e),
                    Output::Timeout(t) => {
                        self.core_wake = t;
                        break;
                    }
                }
            }
            for c in &mut self.clients {
                loop {
                    match c.rtc.poll_output().expect("client output") {
                        RtcOutput::Transmit(t) => {
                            moved = true;
                            if !c.cut {
                                let data: Vec<u8> = t.contents.into();
                                self.core
                                    .handle_receive(now, Protocol::Udp, t.source, &data);
                            }
                        }
                        RtcOutput::Event(Event::RtpPacket(p)) => {
                            if let Some(kept) = c.packets.as_mut() {
                                kept.push((p.header.payload_type, p.payload.to_vec()));
                            }
                            let mark = match p.payload.first() {
                                Some(&AUDIO) => AUDIO,
                                _ => p.payload.get(2).copied().unwrap_or(0),
                            };
                            c.received.push(mark);
                        }
                        RtcOutput::Event(Event::KeyframeRequest(_)) => {
                            c.keyframe_requests.push(now);
                        }
                        RtcOutput::Event(_) => {}
                        RtcOutput::Timeout(t) => {
                            c.wake = t;
                            break;
                        }
                    }
                }
            }
            if !moved {
                return;
            }
        }
    }

    /// Client `n` sends one audio packet.
    fn send_audio(&mut self, n: usize) {
        let now = self.now;
        let c = &mut self.clients[n];
        let (Some(mid), Some(pt)) = (c.audio_mid, pt_of(&c.rtc, Codec::Opus)) else {
            panic!("no audio to send on");
        };
        let write = RtpWrite::new(pt, c.seq.into(), (c.seq * 960) as u32, now, vec![AUDIO, 1]);
        c.seq += 1;
        let mut api = c.rtc.direct_api();
        api.stream_tx_by_mid(mid, None)
            .expect("audio stream")
            .write_rtp(write);
        self.pump();
    }

    /// Client `n` sends one RTP packet on its microphone: `payload` on payload type `pt`.
    fn send_audio_as(&mut self, n: usize, pt: Pt, payload: Vec<u8>) {
        let now = self.now;
        let c = &mut self.clients[n];
        let mid = c.audio_mid.expect("a microphone");
        let write = RtpWrite::new(pt, c.seq.into(), (c.seq * 960) as u32, now, payload);
        c.seq += 1;
        let mut api = c.rtc.direct_api();
        api.stream_tx_by_mid(mid, None)
            .expect("audio stream")
            .write_rtp(write);
        self.pump();
    }

    /// Client `n` sends one frame on each simulcast layer, a keyframe when `key`.
    fn send_frame(&mut self, n: usize, key: bool) {
        let now = self.now;
        let c = &mut self.clients[n];
        let (Some(mid), Some(pt)) = (c.video_mid, pt_of(&c.rtc, Codec::Vp8)) else {
            panic!("no camera to send on");
        };
        let seq = c.seq;
        c.seq += 1;
        for (i, rid) in RIDS.iter().enumerate() {
            let mut payload = vec![0u8; FRAME_BYTES[i]];
            payload[..3].copy_from_slice(&[0x10, if key { 0x00 } else { 0x01 }, i as u8 + 1]);
            let write =
                RtpWrite::new(pt, seq.into(), (seq * 3000) as u32, now, payload).marker(true);
            let mut api = c.rtc.direct_api();
            api.stream_tx_by_mid(mid, Some((*rid).into()))
                .expect("layer stream")
                .write_rtp(write);
        }
        self.pump();
    }
}

#[test]
fn audio_from_a_publisher_reaches_its_subscriber() {
    let mut net = Net::new();
    let publisher = net.join(false);
    let subscriber = net.join(false);
    net.connect_all();
    net.subscribe(subscriber, publisher, TrackKind::Audio, Layer::High);
    net.run(Duration::from_secs(1), |net| net.send_audio(publisher));
    let got = &net.clients[subscriber].received;
    assert!(got.len() >= 40, "{} of 50 audio packets arrived", got.len());
    assert!(got.iter().all(|m| *m == AUDIO));
    assert!(
        net.clients[publisher].received.is_empty(),
        "nobody feeds the publisher"
    );
    let first = SfuEvent::FirstMedia(net.clients[subscriber].id);
    assert_eq!(net.count(|e| *e == first), 1);
}

#[test]
fn a_removed_subscriber_is_sent_nothing_more() {
    let mut net = Net::new();
    let publisher = net.join(false);
    let subscriber = net.join(false);
    net.connect_all();
    net.subscribe(subscriber, publisher, TrackKind::Audio, Layer::High);
    net.run(Duration::from_millis(500), |net| net.send_audio(publisher));
    assert!(!net.clients[subscriber].received.is_empty());
    let id = net.clients[subscriber].id;
    net.core.remove_peer(id);
    assert_eq!(net.core.peer_count(), 1);
    let (before, heard) = (
        net.clients[subscriber].datagrams,
        net.clients[subscriber].received.len(),
    );
    net.run(Duration::from_secs(2), |net| net.send_audio(publisher));
    assert_eq!(net.clients[subscriber].datagrams, before);
    assert_eq!(net.clients[subscriber].received.len(), heard);
    // Removed on signaling's word: signaling is not told back.
    assert_eq!(net.count(|e| *e == SfuEvent::Disconnected(id)), 0);
}

#[test]
fn a_removed_publisher_leaves_its_subscribers_slot_idle() {
    let mut net = Net::new();
    let publisher = net.join(false);
    let subscriber = net.join(false);
    net.connect_all();
    net.subscribe(subscriber, publisher, TrackKind::Audio, Layer::High);
    net.run(Duration::from_millis(500), |net| net.send_audio(publisher));
    let heard = net.clients[subscriber].received.len();
    assert!(heard > 0);
    net.core.remove_peer(net.clients[publisher].id);
    // The publisher's browser goes on sending: its datagrams belong to no peer now.
    net.run(Duration::from_secs(1), |net| net.send_audio(publisher));
    assert_eq!(net.clients[subscriber].received.len(), heard);
    assert_eq!(net.core.peer_count(), 1);
}

#[test]
fn a_cut_peer_is_dropped_after_the_silence_timeout_of_virtual_time() {
    let wall = Instant::now();
    let mut net = Net::new();
    let quiet = net.join(false);
    let other = net.join(false);
    net.connect_all();
    let id = net.clients[quiet].id;
    net.clients[quiet].cut = true;
    let cut_at = net.now;
    let gone = SfuEvent::Disconnected(id);
    while net.count(|e| *e == gone) == 0 {
        assert!(
            net.now - cut_at < SILENCE_TIMEOUT + Duration::from_secs(2),
            "the cut peer was never dropped"
        );
        net.step();
    }
    let after = net.now - cut_at;
    assert!(after >= SILENCE_TIMEOUT, "dropped after {after:?}");
    assert_eq!(net.core.peer_count(), 1);
    let other = SfuEvent::Disconnected(net.clients[other].id);
    assert_eq!(
        net.count(|e| *e == other),
        0,
        "the peer still talking stays"
    );
    assert!(
        wall.elapsed() < SILENCE_TIMEOUT,
        "virtual time, not wall time: took {:?}",
        wall.elapsed()
    );
}

#[test]
fn a_layer_choice_switches_which_simulcast_layer_is_forwarded() {
    let mut net = Net::new();
    let publisher = net.join(true);
    let subscriber = net.join(false);
    net.connect_all();
    net.subscribe(subscriber, publisher, TrackKind::Camera, Layer::Low);
    let mut frame = 0u32;
    let mut send = move |net: &mut Net| {
        net.send_frame(publisher, frame.is_multiple_of(10));
        frame += 1;
    };
    net.run(Duration::from_secs(2), &mut send);
    let got = net.clients[subscriber].received.clone();
    // The first keyframes may come on whichever layer arrives first (the best one the
    // publisher is known to send); once low arrives, only low is forwarded.
    let from_low: Vec<u8> = got.iter().copied().skip_while(|m| *m != 1).collect();
    assert!(
        from_low.len() >= 30,
        "{} low-layer packets arrived",
        from_low.len()
    );
    assert!(
        from_low.iter().all(|m| *m == 1),
        "only the low layer: {got:?}"
    );
    // Wanting more: the selector climbs to mid once the estimate has carried it for its
    // up-hold (3 s; 3.5 or 7.3 s here, as str0m's first or second probe finds the room),
    // the down-track switches at the next mid keyframe, and high (not wanted) never comes.
    net.subscribe(subscriber, publisher, TrackKind::Camera, Layer::Mid);
    let asked = net.now;
    let from = got.len();
    let on_mid = |net: &Net| {
        let after = &net.clients[subscriber].received[from..];
        let tail = &after[after.len().saturating_sub(10)..];
        !tail.is_empty() && tail.iter().all(|m| *m == 2)
    };
    while !on_mid(&net) && net.now - asked < Duration::from_secs(20) {
        net.run(Duration::from_millis(250), &mut send);
    }
    let after = &net.clients[subscriber].received[from..];
    assert!(on_mid(&net), "mid is forwarded now: {after:?}");
    assert!(!after.contains(&3), "high is never forwarded: {after:?}");
}

#[test]
fn a_new_subscriber_gets_its_keyframe_request_at_once_and_a_burst_of_them_gets_one() {
    let mut net = Net::new();
    let publisher = net.join(true);
    let first = net.join(false);
    let second = net.join(false);
    let third = net.join(false);
    net.connect_all();
    // The publisher never sends a keyframe, so every subscriber keeps waiting and asking.
    let send = |net: &mut Net| net.send_frame(publisher, false);
    net.run(Duration::from_millis(100), send);
    net.subscribe(first, publisher, TrackKind::Camera, Layer::Low);
    net.run(Duration::from_millis(150), send);
    let asked = net.now;
    let before = net.clients[publisher].keyframe_requests.len();
    assert!(
        before >= 1,
        "the first subscriber's request reached the publisher"
    );
    // 150 ms after the last request (inside the 500 ms repeat interval), two more sites
    // get the camera at the same instant.
    net.subscribe(second, publisher, TrackKind::Camera, Layer::Low);
    net.subscribe(third, publisher, TrackKind::Camera, Layer::Low);
    net.run(Duration::from_millis(20), send);
    let new: Vec<Duration> = net.clients[publisher].keyframe_requests[before..]
        .iter()
        .map(|t| *t - asked)
        .collect();
    assert_eq!(
        new.len(),
        1,
        "one request within one 20 ms tick for both new subscribers: {new:?}"
    );
}

#[test]
fn a_datagram_from_no_peer_goes_nowhere() {
    let mut net = Net::new();
    net.join(false);
    net.connect_all();
    // An RTP-looking datagram from an address no ICE check came from.
    let stranger = SocketAddr::from((Ipv4Addr::new(10, 9, 9, 9), 4_000));
    let rtp = [0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xDE, 0xAD];
    let got = net
        .core
        .handle_receive(net.now, Protocol::Udp, stranger, &rtp);
    let nothing = Received {
        accepted: false,
        forwarded: false,
    };
    assert_eq!(got, nothing);
    assert!(matches!(net.core.poll_output(), Output::Timeout(_)));
    assert_eq!(net.core.peer_count(), 1);
}

/// A browser's peer connection at `addr` that offers Opus in RED (RFC 2198) as Chromium does.
fn browser_offering_red(addr: SocketAddr, now: Instant) -> Rtc {
    let mut rtc = Rtc::builder()
        .set_rtp_mode(true)
        .enable_opus(true, true)
        .build(now);
    rtc.add_local_candidate(str0m::Candidate::host(addr, "udp").expect("candidate"));
    rtc
}

/// The RED (RFC 2198) payload Chromium sends: the previous frame as a redundant block (960
/// samples back), then the current one, both Opus on `opus`.
fn red_payload(opus: u8, previous: &[u8], current: &[u8]) -> Vec<u8> {
    let header = 0x8000_0000u32 | (u32::from(opus) << 24) | (960 << 10) | previous.len() as u32;
    let mut p = header.to_be_bytes().to_vec();
    p.push(opus);
    p.extend_from_slice(previous);
    p.extend_from_slice(current);
    p
}

#[test]
fn opus_in_red_is_forwarded_as_is_to_red_subscribers_and_as_its_primary_to_the_others() {
    let mut net = Net::new();
    let publisher = net.join_with(false, true);
    let with_red = net.join_with(false, true);
    let without = net.join_with(false, false);
    net.connect_all();
    for n in [with_red, without] {
        net.clients[n].packets = Some(Vec::new());
        net.subscribe(n, publisher, TrackKind::Audio, Layer::High);
    }
    let rtc = &net.clients[publisher].rtc;
    let opus = pt_of(rtc, Codec::Opus).expect("opus");
    let red = rtc
        .codec_config()
        .find(|p| p.pt() == opus)
        .and_then(|p| p.red())
        .expect("the core answered RED to a publisher that offered it");
    let mut frame = 0u8;
    net.run(Duration::from_secs(1), |net| {
        let (previous, current) = ([AUDIO, frame.wrapping_sub(1)], [AUDIO, frame, 0x55]);
        frame = frame.wrapping_add(1);
        net.send_audio_as(publisher, red, red_payload(*opus, &previous, &current));
        if frame == 25 {
            // A redundant block said to be longer than the whole payload.
            let mut bad = red_payload(*opus, &[0xBB; 3], &[0xBB]);
            bad[3] = 200;
            net.send_audio_as(publisher, red, bad);
        }
    });
    let sub_red = pt_of(&net.clients[with_red].rtc, Codec::Opus)
        .and_then(|o| {
            net.clients[with_red]
                .rtc
                .codec_config()
                .find(|p| p.pt() == o)?
                .red()
        })
        .expect("RED negotiated with the subscriber that offered it");
    let plain = pt_of(&net.clients[without].rtc, Codec::Opus).expect("opus");
    assert!(
        net.clients[without]
            .rtc
            .codec_config()
            .params()
            .iter()
            .all(|p| p.red().is_none()),
        "no RED for a subscriber that did not offer it"
    );
    let got_red = net.clients[with_red].packets.take().expect("kept");
    let got_plain = net.clients[without].packets.take().expect("kept");
    assert!(got_red.len() >= 40, "{} of 50 RED packets", got_red.len());
    assert!(
        got_plain.len() >= 40,
        "{} of 50 plain packets",
        got_plain.len()
    );
    for (pt, payload) in &got_red {
        assert_eq!(*pt, sub_red, "RED goes out as RED");
        let (inner, primary) = sfu::red::primary(payload).expect("a whole RED payload");
        assert_eq!(inner, *opus);
        assert_eq!(primary.len(), 3, "{payload:?}");
    }
    for (pt, payload) in &got_plain {
        assert_eq!(
            *pt, plain,
            "plain Opus on the subscriber's Opus payload type"
        );
        assert_eq!(payload.len(), 3, "the primary block alone: {payload:?}");
        assert_eq!((payload[0], payload[2]), (AUDIO, 0x55));
    }
    // In order, one packet per frame: the malformed one went to nobody.
    let frames: Vec<u8> = got_plain.iter().map(|(_, p)| p[1]).collect();
    assert!(
        frames.windows(2).all(|w| w[1] == w[0].wrapping_add(1)),
        "{frames:?}"
    );
    let bad = |p: &(Pt, Vec<u8>)| p.1.contains(&0xBB);
    assert!(!got_red.iter().any(bad) && !got_plain.iter().any(bad));
}
