//! The real engine core ([`sfu::engine::Core`]) on a virtual clock, between two str0m
//! clients that stand for browsers: a publisher on a clear path that sends a microphone and
//! a simulcast camera, and a subscriber behind a simulated network ([`Link`]) that receives
//! them on one audio and one video slot and returns TWCC feedback.
//!
//! Nothing of the engine is copied here: the clients offer over SDP, the core answers, and
//! every selection tick, estimate, layer switch and keyframe request is the core's own. The
//! core and the clients are set up by `harness`, as for `core.rs`. The
//! sim records the core's choice for the video slot after each of its selection ticks.
//!
//! The publisher's video is synthetic: each layer (q, h, f) sends constant frames at its
//! nominal rate ([`LAYER_BPS`], 30 fps, VP8 payload descriptors, zero payload), a keyframe
//! on its first frame and whenever the core asks for one. By default the layers have no
//! temporal layers; [`Sim::with_temporal_layers`] gives each three (T0, T1, T2 costing 40%,
//! 60% and 100% of the layer, as libwebrtc allocates them).
//!
//! Deterministic on our side: time starts at one `Instant::now()` and only advances to the
//! next thing due; loss comes from seeded generators. str0m itself is not entirely: it keeps
//! its send streams in a `HashMap`, whose iteration order (randomly keyed per map) decides
//! the order of the pacer's queues, so two runs with the same seed can part by microseconds
//! once padding starts and end up a second or so apart. The tests therefore assert bounds,
//! not exact traces.

pub mod link;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use sfu::engine::{Core, Output};
use sfu::{Layer, PeerId, Source, Subscription, TrackKind};
use str0m::format::Codec;
use str0m::media::{Mid, Pt};
use str0m::net::Protocol;
use str0m::rtp::RtpWrite;
use str0m::{Event, Input, Output as RtcOutput, Rtc};

use crate::harness::{self, RIDS};
use link::{Link, LinkConfig};

/// Nominal rate of each synthetic simulcast layer, bit/s of payload.
pub const LAYER_BPS: [u64; 3] = [150_000, 500_000, 1_500_000];
/// Share of a layer's bytes in a frame of each temporal layer, in percent of the average
/// frame: T0 is one frame in four and carries 40% of the rate, T1 one in four (20%), T2 one
/// in two (40%), so up to T0, T1, T2 cost 40%, 60%, 100% of the layer.
const TEMPORAL_FRAME_PERCENT: [u64; 3] = [160, 80, 80];
/// Largest video payload per packet.
const VIDEO_PACKET: usize = 1_100;
/// Video frame interval (30 fps).
const FRAME: Duration = Duration::from_nanos(1_000_000_000 / 30);
/// Opus-like audio: one packet every 20 ms.
const AUDIO_PTIME: Duration = Duration::from_millis(20);
/// Audio payload per packet: with the RTP header, extensions and SRTP tag, 100-byte
/// datagrams, 40 kbit/s (51 kbit/s on the wire with IP and UDP).
const AUDIO_PAYLOAD: usize = 60;
/// A peer asking to be woken at or before the time it was just woken at is woken this much
/// later instead, so the loop always advances.
const MIN_STEP: Duration = Duration::from_micros(500);

const PUBLISHER: PeerId = PeerId(1);
const BROWSER: PeerId = PeerId(2);

/// The layer selection at one tick.
#[derive(Debug, Clone, Copy)]
pub struct Tick {
    /// Virtual time since the start.
    pub at: Duration,
    /// The estimate the choice was made from, bit/s.
    pub estimate_bps: u64,
    /// The video choice (`None`: paused).
    pub choice: Option<Layer>,
    /// Its highest temporal layer ([`sfu::MAX_TEMPORAL`]: full frame rate).
    pub temporal: Option<u8>,
}

/// A datagram on the simulated network.
pub struct Datagram {
    source: SocketAddr,
    destination: SocketAddr,
    contents: Vec<u8>,
}

/// A str0m client standing for a browser.
struct Client {
    rtc: Rtc,
    addr: SocketAddr,
    wake: Instant,
}

/// What the publisher sends on its camera.
struct Camera {
    mid: Mid,
    pt: Pt,
    /// Next sequence number per layer.
    seq: [u64; 3],
    ts: u32,
    picture_id: u16,
    tl0: u8,
    frame: u64,
    /// A keyframe is due on each layer.
    keyframe: [bool; 3],
}

/// The core, its two clients, the network and what was observed.
pub struct Sim {
    start: Instant,
    now: Instant,
    core: Core,
    core_wake: Instant,
    publisher: Client,
    browser: Client,
    /// Core to browser: the link under test.
    pub down: Link<Datagram>,
    /// Browser to core: feedback only.
    up: Link<Datagram>,
    video_slot: String,
    browser_opus: Option<Pt>,
    audio_mid: Mid,
    audio_pt: Pt,
    audio_seq: u64,
    camera: Camera,
    next_audio: Instant,
    next_frame: Instant,
    selections: u64,
    /// The layers offer three frame rates (temporal layers).
    temporal_layers: bool,
    /// Streams declared: media flows and layers are chosen.
    streaming: bool,
    /// Every selection tick so far.
    pub ticks: Vec<Tick>,
    /// Audio packets the browser received, per virtual second since the start.
    pub audio_per_second: Vec<u32>,
}

impl Sim {
    /// Connects both clients to the core (SDP, ICE, DTLS) with `config` in the
    /// core-to-browser direction and routes the publisher to the browser. Virtual time
    /// starts after the handshake.
    pub fn connect(config: LinkConfig, seed: u64) -> Sim {
        let start = Instant::now();
        let mut core = harness::core(start);

        let publisher_addr = SocketAddr::from((Ipv4Addr::new(10, 0, 0, 3), 50_000));
        let mut publisher = client(publisher_addr, start);
        let mut api = publisher.rtc.sdp_api();
        let audio_mid = harness::add_microphone(&mut api);
        let video_mid = harness::add_camera(&mut api);
        let offer = api.apply().expect("an offer");
        harness::negotiate(&mut core, PUBLISHER, &mut publisher.rtc, offer, start);

        let browser_addr = SocketAddr::from((Ipv4Addr::new(10, 0, 0, 2), 50_000));
        let mut browser = client(browser_addr, start);
        let mut api = browser.rtc.sdp_api();
        // A site's offer always starts with its microphone (here silent).
        harness::add_microphone(&mut api);
        harness::add_receiving_slots(&mut api);
        let offer = api.apply().expect("an offer");
        let layout = harness::negotiate(&mut core, BROWSER, &mut browser.rtc, offer, start);

        let audio_pt = pt_of(&publisher.rtc, Codec::Opus);
        let video_pt = pt_of(&publisher.rtc, Codec::Vp8);
        let browser_opus = Some(pt_of(&browser.rtc, Codec::Opus));
        let mut sim = Sim {
            start,
            now: start,
            core,
            core_wake: start,
            publisher,
            browser,
            down: Link::new(config, seed, start),
            up: Link::new(LinkConfig::clear(), seed ^ 0x5555, start),
            video_slot: layout.video_slots[0].clone(),
            browser_opus,
            audio_mid,
            audio_pt,
            audio_seq: 1,
            camera: Camera {
                mid: video_mid,
                pt: video_pt,
                seq: [1; 3],
                ts: 0,
                picture_id: 0,
                tl0: 0,
                frame: 0,
                keyframe: [true; 3],
            },
            next_audio: start,
            next_frame: start,
            selections: 0,
            temporal_layers: false,
            streaming: false,
            ticks: Vec::new(),
            audio_per_second: Vec::new(),
        };
        let deadline = start + Duration::from_secs(10);
        while !(sim.publisher.rtc.is_connected() && sim.browser.rtc.is_connected()) {
            assert!(sim.now < deadline, "the clients did not connect");
            sim.step();
        }
        let subscriptions = vec![
            Subscription {
                slot: layout.audio_slots[0].clone(),
                source: Some(source(TrackKind::Audio)),
            },
            Subscription {
                slot: layout.video_slots[0].clone(),
                source: Some(source(TrackKind::Camera)),
            },
        ];
        sim.core.subscribe(BROWSER, subscriptions, sim.now);
        sim.streaming = true;
        sim.start = sim.now;
        sim.next_audio = sim.now;
        sim.next_frame = sim.now;
        sim.pump();
        sim
    }

    /// Virtual time since the start.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// From now on, the layers offer three frame rates each.
    pub fn with_temporal_layers(mut self) -> Sim {
        self.temporal_layers = true;
        self
    }

    /// The core's current video choice.
    pub fn choice(&self) -> Option<Layer> {
        self.ticks.last().and_then(|t| t.choice)
    }

    /// Changes the core-to-browser link from now on.
    pub fn set_link(&mut self, config: LinkConfig) {
        self.down.set_config(config);
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        while self.now < end {
            self.step();
        }
    }

    /// Runs until `done` holds after a selection tick, or `limit` of virtual time has passed.
    /// Returns the virtual time it took, `None` if it never held.
    pub fn run_until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&Tick) -> bool,
    ) -> Option<Duration> {
        let from = self.now;
        let end = self.now + limit;
        let seen = self.ticks.len();
        while self.now < end {
            self.step();
            if self.ticks.len() > seen {
                let tick = *self.ticks.last().expect("a tick");
                if done(&tick) {
                    return Some(self.now - from);
                }
            }
        }
        None
    }

    /// Advances virtual time to the next thing due and does it.
    fn step(&mut self) {
        let mut next = self
            .core_wake
            .min(self.publisher.wake)
            .min(self.browser.wake);
        for t in [self.down.next_arrival(), self.up.next_arrival()]
            .into_iter()
            .flatten()
        {
            next = next.min(t);
        }
        if self.streaming {
            next = next.min(self.next_audio).min(self.next_frame);
        }
        self.now = self.now.max(next);
        let now = self.now;

        while let Some(d) = self.down.pop_arrived(now) {
            receive(&mut self.browser.rtc, now, &d);
        }
        while let Some(d) = self.up.pop_arrived(now) {
            self.core
                .handle_receive(now, Protocol::Udp, d.source, &d.contents);
        }
        if self.streaming && self.next_audio <= now {
            self.send_audio();
            self.next_audio += AUDIO_PTIME;
        }
        if self.streaming && self.next_frame <= now {
            self.send_frame();
            self.next_frame += FRAME;
        }
        let woken = [
            self.core_wake <= now,
            self.publisher.wake <= now,
            self.browser.wake <= now,
        ];
        if woken[0] {
            self.core.handle_timeout(now);
        }
        for (c, due) in [
            (&mut self.publisher, woken[1]),
            (&mut self.browser, woken[2]),
        ] {
            if due {
                c.rtc.handle_input(Input::Timeout(now)).expect("timeout");
            }
        }
        self.pump();
        // Something woken that wants to be woken at once again waits a little.
        for (wake, was) in [
            (&mut self.core_wake, woken[0]),
            (&mut self.publisher.wake, woken[1]),
            (&mut self.browser.wake, woken[2]),
        ] {
            if was && *wake <= now {
                *wake = now + MIN_STEP;
            }
        }
        if self.core.selections() != self.selections {
            self.selections = self.core.selections();
            if self.streaming {
                self.record_tick();
            }
        }
    }

    fn record_tick(&mut self) {
        let choice = self
            .core
            .slot_choice(BROWSER, &self.video_slot)
            .expect("the browser's video slot");
        self.ticks.push(Tick {
            at: self.elapsed(),
            estimate_bps: self.core.estimate_bps(BROWSER).unwrap_or(0),
            choice: choice.map(|c| c.layer),
            temporal: choice.map(|c| c.temporal),
        });
    }

    /// Moves datagrams until the core and both clients wait for time or the network.
    fn pump(&mut self) {
        let now = self.now;
        loop {
            let mut moved = false;
            loop {
                match self.core.poll_output() {
                    Output::Transmit(t) => {
                        moved = true;
                        let d = Datagram {
                            source: t.source,
                            destination: t.destination,
                            contents: t.contents,
                        };
                        if d.destination == self.browser.addr {
                            self.down.send(now, d.contents.len(), d);
                        } else if d.destination == self.publisher.addr {
                            receive(&mut self.publisher.rtc, now, &d);
                        }
                    }
                    Output::Event(_) => {}
                    Output::Timeout(t) => {
                        self.core_wake = t;
                        break;
                    }
                }
            }
            loop {
                match self.publisher.rtc.poll_output().expect("publisher output") {
                    RtcOutput::Transmit(t) => {
                        moved = true;
                        let data: Vec<u8> = t.contents.into();
                        self.core
                            .handle_receive(now, Protocol::Udp, t.source, &data);
                    }
                    RtcOutput::Event(Event::KeyframeRequest(req)) => {
                        let layer = req
                            .rid
                            .and_then(|r| RIDS.iter().position(|x| **x == *r))
                            .unwrap_or(0);
                        self.camera.keyframe[layer] = true;
                    }
                    RtcOutput::Event(_) => {}
                    RtcOutput::Timeout(t) => {
                        self.publisher.wake = t;
                        break;
                    }
                }
            }
            loop {
                match self.browser.rtc.poll_output().expect("browser output") {
                    RtcOutput::Transmit(t) => {
                        moved = true;
                        let d = Datagram {
                            source: t.source,
                            destination: t.destination,
                            contents: t.contents.into(),
                        };
                        self.up.send(now, d.contents.len(), d);
                    }
                    RtcOutput::Event(Event::RtpPacket(p))
                        if Some(p.header.payload_type) == self.browser_opus =>
                    {
                        let second = (now - self.start).as_secs() as usize;
                        if self.audio_per_second.len() <= second {
                            self.audio_per_second.resize(second + 1, 0);
                        }
                        self.audio_per_second[second] += 1;
                    }
                    RtcOutput::Event(_) => {}
                    RtcOutput::Timeout(t) => {
                        self.browser.wake = t;
                        break;
                    }
                }
            }
            if !moved {
                return;
            }
        }
    }

    fn send_audio(&mut self) {
        let seq = self.audio_seq;
        self.audio_seq += 1;
        let write = RtpWrite::new(
            self.audio_pt,
            seq.into(),
            (seq * 960) as u32,
            self.now,
            vec![0x55; AUDIO_PAYLOAD],
        );
        let mut api = self.publisher.rtc.direct_api();
        api.stream_tx_by_mid(self.audio_mid, None)
            .expect("audio stream")
            .write_rtp(write);
        self.pump();
    }

    /// One frame on every layer.
    fn send_frame(&mut self) {
        let cam = &mut self.camera;
        let frame = cam.frame;
        cam.frame += 1;
        // libwebrtc's three-layer pattern: T0 T2 T1 T2; the first T1 and T2 after a T0
        // reference only the base layer (layer sync).
        let (tid, sync) = match frame % 4 {
            0 => (0u8, false),
            1 => (2, true),
            2 => (1, true),
            _ => (2, false),
        };
        if tid == 0 {
            cam.tl0 = cam.tl0.wrapping_add(1);
        }
        cam.picture_id = (cam.picture_id + 1) & 0x7FFF;
        for (layer, rid) in RIDS.iter().enumerate() {
            let average = LAYER_BPS[layer] / 8 / 30;
            let bytes = if self.temporal_layers {
                average * TEMPORAL_FRAME_PERCENT[usize::from(tid)] / 100
            } else {
                average
            } as usize;
            let key = std::mem::take(&mut cam.keyframe[layer]);
            let packets = bytes.div_ceil(VIDEO_PACKET).max(1);
            for i in 0..packets {
                let size = bytes / packets + usize::from(i < bytes % packets);
                let mut payload = Vec::with_capacity(size + 8);
                let first = i == 0;
                if self.temporal_layers {
                    // X, S; then I, L, T; PictureID (15 bits), TL0PICIDX, TID|Y.
                    payload.push(0x80 | if first { 0x10 } else { 0 });
                    payload.push(0xE0);
                    payload.push(0x80 | (cam.picture_id >> 8) as u8);
                    payload.push(cam.picture_id as u8);
                    payload.push(cam.tl0);
                    let y = sync || key;
                    let tid = if key { 0 } else { tid };
                    payload.push(tid << 6 | u8::from(y) << 5);
                } else {
                    payload.push(if first { 0x10 } else { 0 });
                }
                // The VP8 payload header's P bit: 0 on a keyframe.
                payload.push(if key { 0x00 } else { 0x01 });
                payload.resize(payload.len() + size.saturating_sub(1), 0);
                let write = RtpWrite::new(cam.pt, cam.seq[layer].into(), cam.ts, self.now, payload)
                    .marker(i + 1 == packets)
                    .nackable(true);
                cam.seq[layer] += 1;
                let mut api = self.publisher.rtc.direct_api();
                api.stream_tx_by_mid(cam.mid, Some((*rid).into()))
                    .expect("layer stream")
                    .write_rtp(write);
            }
        }
        cam.ts = cam.ts.wrapping_add(3_000);
        self.pump();
    }
}

fn source(track: TrackKind) -> Source {
    Source {
        peer: PUBLISHER,
        track,
        layer: Layer::High,
        priority: 0,
    }
}

fn client(addr: SocketAddr, now: Instant) -> Client {
    Client {
        rtc: harness::browser(addr, now),
        addr,
        wake: now,
    }
}

fn pt_of(rtc: &Rtc, codec: Codec) -> Pt {
    harness::pt_of(rtc, codec).expect("codec enabled")
}

fn receive(rtc: &mut Rtc, now: Instant, d: &Datagram) {
    // Not a datagram str0m knows: a real socket would drop it too.
    let Some(input) = harness::datagram_input(now, d.source, d.destination, &d.contents) else {
        return;
    };
    rtc.handle_input(input).expect("receive");
}
