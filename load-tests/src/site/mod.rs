//! One simulated site: the target-neutral parts (what it is told, what it measures, how it
//! publishes and receives) here; the signaling flow of each target in its own module
//! ([`diemcau`], [`janus`]).
//!
//! Lifecycle: spawned by the runner with a [`SiteSpec`]; joins, negotiates, publishes through
//! the shared [`Pacer`] once its connection is up, meters every stream it receives; obeys
//! [`Command`]s (the chair's floor actions, `Leave`); on `Leave` it stops, closes, and returns
//! its [`SiteReport`].

pub mod diemcau;
pub mod invite;
pub mod janus;

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use serde::Serialize;
use signaling::protocol::Role;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use crate::clock;
use crate::meter::{Reception, StreamMeter};
use crate::pacer::{Entry, Pacer, Publisher};
use crate::payload::{Layer, Marker};
use crate::peer::Peer;
use crate::synth::{AudioSynth, VideoSynth};

/// Who a simulated site is.
#[derive(Debug, Clone)]
pub struct SiteSpec {
    /// Index in the scenario, 0 for the chair; written into every packet it sends.
    pub index: u16,
    /// The way in.
    pub invite: invite::Invite,
}

/// What every site of a run shares.
pub struct SiteContext {
    /// The publishers' timer.
    pub pacer: Pacer,
    /// The light sites' transport-cc feedback timer.
    pub feedback: crate::tap::feedback::FeedbackClock,
    /// Local address peer connections bind (127.0.0.1 in tests).
    pub ip: IpAddr,
    /// Frames between periodic keyframes (0: only on request).
    pub keyframe_every: u32,
    /// Whether sites (not the chair) send microphone audio.
    pub site_mic: bool,
    /// Progress counters for the runner.
    pub progress: Progress,
    /// Sites with index below this receive through a full webrtc-rs peer connection (every
    /// packet decrypted: the interoperability check); the others through a [`crate::tap`].
    pub full_sites: u16,
    /// What the chair saw of its grid (only the chair writes it).
    pub hall: crate::grid::HallLog,
}

impl SiteContext {
    /// Whether site `index` receives through a tap.
    pub fn light(&self, index: u16) -> bool {
        index >= self.full_sites
    }
}

/// Live counters the runner shows while a scenario runs.
#[derive(Debug, Default)]
pub struct Progress {
    /// Sites whose media connection is up.
    pub connected: AtomicUsize,
    /// Sites that failed to join.
    pub failed: AtomicUsize,
    /// RTP packets received by all sites.
    pub rx_packets: AtomicU64,
    /// Of those, packets not seen before on their stream that parsed (no retransmissions,
    /// no probe padding repeating a packet).
    pub rx_distinct: AtomicU64,
    /// Media packets the taps of light sites counted from their headers.
    pub tap_packets: AtomicU64,
    /// Of those, packets forwarded to the peer connection to be decrypted.
    pub tap_sampled: AtomicU64,
    /// When the measurement window started ([`crate::clock::micros`]; 0 before): end-to-end
    /// latency counts only packets arriving after it.
    pub window_start_us: AtomicU64,
}

/// What the runner tells a site.
#[derive(Debug, Clone)]
pub enum Command {
    /// Chair: end the lobby.
    Open,
    /// Chair: give a site the floor.
    Grant(String),
    /// Chair: take it back.
    Revoke(String),
    /// Chair: show the next page of the grid, as the web client's rotation does.
    NextPage,
    /// Leave and report.
    Leave,
}

/// One received stream, summed up.
#[derive(Debug, Clone, Serialize)]
pub struct StreamSummary {
    /// SSRC the SFU sent it on.
    pub ssrc: u32,
    /// Audio or video slot.
    pub audio: bool,
    /// Distinct packets received.
    pub received: u64,
    /// Packets missing from the sequence.
    pub lost: u64,
    /// Packets received twice.
    pub duplicates: u64,
    /// RFC 3550 jitter at the end, ms.
    pub jitter_ms: f64,
    /// Payloads that did not parse.
    pub decode_errors: u64,
    /// Packets per layer (low, mid, high).
    pub layers: [u64; 3],
    /// Layer of the last video packet.
    pub last_layer: Option<Layer>,
    /// Site index of the last packet's sender.
    pub last_source: Option<u16>,
    /// Keyframe starts received.
    pub keyframes: u64,
}

impl StreamSummary {
    fn of(ssrc: u32, m: &StreamMeter) -> Self {
        StreamSummary {
            ssrc,
            audio: m.audio,
            received: m.seq.received(),
            lost: m.seq.lost(),
            duplicates: m.seq.duplicates(),
            jitter_ms: m.jitter_ms(),
            decode_errors: m.decode_errors,
            layers: m.layers,
            last_layer: m.last_layer,
            last_source: m.last_source,
            keyframes: m.keyframes,
        }
    }
}

/// Everything one site measured. Times are milliseconds after it sent `join`.
#[derive(Debug, Clone, Serialize)]
pub struct SiteReport {
    /// Index in the scenario.
    pub index: u16,
    /// Site id.
    pub site_id: String,
    /// Role.
    pub role: Role,
    /// `answer` received.
    pub answer_ms: Option<f64>,
    /// ICE and DTLS up.
    pub connected_ms: Option<f64>,
    /// First RTP packet on any slot.
    pub first_media_ms: Option<f64>,
    /// First video keyframe on any slot (the first picture a browser could show).
    pub first_video_ms: Option<f64>,
    /// Every received stream.
    pub streams: Vec<StreamSummary>,
    /// Protocol errors the server sent (`code: message`).
    pub errors: Vec<String>,
    /// Why the site stopped early, if it did.
    pub failure: Option<String>,
    /// Latency histograms and per-source counts (not serialized: summed by the runner).
    #[serde(skip)]
    pub reception: Reception,
}

impl SiteReport {
    /// An empty report for `spec`.
    pub fn new(spec: &SiteSpec) -> Self {
        SiteReport {
            index: spec.index,
            site_id: spec.invite.site_id.clone(),
            role: spec.invite.role,
            answer_ms: None,
            connected_ms: None,
            first_media_ms: None,
            first_video_ms: None,
            streams: Vec::new(),
            errors: Vec::new(),
            failure: None,
            reception: Reception::default(),
        }
    }

    /// Adds what one receive task measured; `t0_us` is when `join` was sent.
    pub fn add_streams(
        &mut self,
        t0_us: u64,
        meters: Vec<(u32, StreamMeter)>,
        reception: Reception,
    ) {
        let ms = |t: u64| t.saturating_sub(t0_us) as f64 / 1000.0;
        for (ssrc, m) in meters {
            if let Some(t) = m.first_at_us.map(ms) {
                self.first_media_ms = Some(self.first_media_ms.map_or(t, |f| f.min(t)));
            }
            if let Some(t) = m.first_keyframe_at_us.map(ms) {
                self.first_video_ms = Some(self.first_video_ms.map_or(t, |f| f.min(t)));
            }
            self.streams.push(StreamSummary::of(ssrc, &m));
        }
        self.reception
            .audio_latency
            .add(&reception.audio_latency)
            .expect("same bounds");
        self.reception
            .video_latency
            .add(&reception.video_latency)
            .expect("same bounds");
        for (src, (a, v)) in reception.by_source {
            let e = self.reception.by_source.entry(src).or_default();
            e.0 += a;
            e.1 += v;
        }
    }
}

/// What one receive task measured.
pub type Received = (Vec<(u32, StreamMeter)>, Reception);

/// Adds what the receive tasks measured to `report`, waiting up to 5 s for their tracks to
/// end (the connections are closed by then) and abandoning the rest.
pub async fn collect(
    receivers: Vec<tokio::task::JoinHandle<Received>>,
    t0_us: u64,
    report: &mut SiteReport,
) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    for task in receivers {
        let abort = task.abort_handle();
        match tokio::time::timeout_at(deadline, task).await {
            Ok(Ok((meters, reception))) => report.add_streams(t0_us, meters, reception),
            Ok(Err(_)) => {}
            Err(_) => abort.abort(),
        }
    }
}

/// How a receive slot is metered: what differs between a full site and a light one.
#[derive(Debug, Clone)]
pub enum Metering {
    /// A full webrtc-rs peer connection decrypts every packet: its headers and payloads are
    /// metered here, and counted in [`Progress::rx_packets`] and [`Progress::rx_distinct`].
    Full {
        /// The chair's: its video sources also go to [`SiteContext::hall`] to check its grid
        /// pages.
        hall: bool,
    },
    /// The sample a [`crate::tap`] forwards: only what the payload says (the tap counts the
    /// packets from their headers). Each SSRC is marked proven once its payload parsed (video:
    /// a keyframe start), so the tap starts sampling it.
    Sample(crate::tap::proven::Proven),
}

impl Metering {
    /// Meters one packet on its stream's meter `m`; the marker of a packet not seen before
    /// whose payload parsed.
    fn packet(
        &self,
        m: &mut StreamMeter,
        ssrc: u32,
        p: &rtc::rtp::Packet,
        now: u64,
        progress: &Progress,
    ) -> Option<Marker> {
        match self {
            Metering::Full { .. } => {
                progress.rx_packets.fetch_add(1, Ordering::Relaxed);
                let marker = m.push(
                    p.header.sequence_number,
                    p.header.timestamp,
                    &p.payload,
                    now,
                )?;
                progress.rx_distinct.fetch_add(1, Ordering::Relaxed);
                Some(marker)
            }
            Metering::Sample(proven) => {
                let marker = m.push_payload(&p.payload, now)?;
                if m.audio || m.keyframes > 0 {
                    proven.mark(ssrc);
                }
                Some(marker)
            }
        }
    }
}

/// Meters one receive slot until its track ends, the way `metering` says. One meter per SSRC
/// (a slot's source can be re-pointed by the SFU, but it keeps the slot's SSRC).
pub async fn receive(
    track: Arc<dyn TrackRemote>,
    ctx: Arc<SiteContext>,
    metering: Metering,
) -> Received {
    use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
    let audio = track.kind().await == RtpCodecKind::Audio;
    let mut meters: Vec<(u32, StreamMeter)> = Vec::new();
    let mut reception = Reception::default();
    while let Some(ev) = track.poll().await {
        let TrackRemoteEvent::OnRtpPacket(p) = ev else {
            continue;
        };
        let now = clock::micros();
        let ssrc = p.header.ssrc;
        let i = match meters.iter().position(|(s, _)| *s == ssrc) {
            Some(i) => i,
            None => {
                meters.push((ssrc, StreamMeter::new(audio)));
                meters.len() - 1
            }
        };
        let Some(marker) = metering.packet(&mut meters[i].1, ssrc, &p, now, &ctx.progress) else {
            continue;
        };
        if !audio && matches!(metering, Metering::Full { hall: true }) {
            ctx.hall.video(now, marker.sent_us, marker.source);
        }
        let window = ctx.progress.window_start_us.load(Ordering::Relaxed);
        if window != 0 && now >= window {
            reception.record(&marker, now);
        } else {
            reception.count(&marker);
        }
    }
    (meters, reception)
}

/// The header meters of a tap with what the sampled receive tasks learnt from payloads.
pub fn merge_sampled(
    mut header: Vec<(u32, StreamMeter)>,
    sampled: Vec<(u32, StreamMeter)>,
) -> Vec<(u32, StreamMeter)> {
    for (ssrc, s) in sampled {
        if let Some((_, h)) = header.iter_mut().find(|(x, _)| *x == ssrc) {
            h.absorb_payload(&s);
        }
    }
    header
}

/// Starts publishing `peer`'s synthetic microphone and camera through the pacer, answering
/// keyframe requests. Call once the connection is up (the tracks are bound then). A `light`
/// site's camera stops while nobody watches it ([`Publisher::pausing`]).
pub async fn publish(
    peer: &Peer,
    spec: &SiteSpec,
    ctx: &SiteContext,
    mic: bool,
    light: bool,
) -> anyhow::Result<Arc<Publisher>> {
    let (mic_ids, camera_ids) = peer.stream_ids().await?;
    let control = if light {
        Publisher::pausing(mic)
    } else {
        Publisher::new(mic)
    };
    let [q, h, f] = camera_ids;
    let every = ctx.keyframe_every;
    ctx.pacer.register(Entry {
        control: control.clone(),
        mic: peer.mic.clone(),
        camera: peer.camera.clone(),
        audio: AudioSynth::new(spec.index, mic_ids),
        video: [
            VideoSynth::new(spec.index, Layer::Low, q, every),
            VideoSynth::new(spec.index, Layer::Mid, h, every),
            VideoSynth::new(spec.index, Layer::High, f, every),
        ],
    });
    let layers = peer.camera_ssrcs;
    let c = control.clone();
    tokio::spawn(crate::peer::keyframe_requests(
        peer.camera.clone(),
        move |ssrc| {
            if let Some(layer) = Layer::ALL.into_iter().find(|l| layers[l.index()] == ssrc) {
                c.request_keyframe(layer);
            }
        },
    ));
    Ok(control)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::StreamIds;
    use rtc::rtp::Packet;

    /// Site 3's packets on SSRC 42 (one meter each): the first frame of a fresh camera encoder
    /// (a keyframe), its next one (no period: a delta frame), and a microphone packet.
    fn packets() -> (Vec<Packet>, Vec<Packet>, Packet) {
        let ids = StreamIds {
            ssrc: 42,
            payload_type: 96,
            extensions: Vec::new(),
        };
        let mut camera = VideoSynth::new(3, Layer::Low, ids.clone(), 0);
        let (mut key, mut delta) = (Vec::new(), Vec::new());
        camera.frame(1_000, &mut key);
        camera.frame(2_000, &mut delta);
        (key, delta, AudioSynth::new(3, ids).frame(1_000))
    }

    #[test]
    fn full_metering_counts_every_packet_and_each_new_one_once() {
        let progress = Progress::default();
        let mut m = StreamMeter::new(false);
        let (key, _, _) = packets();
        let mut markers = 0;
        for p in key.iter().chain(&key) {
            markers += usize::from(
                Metering::Full { hall: false }
                    .packet(&mut m, 42, p, 5_000, &progress)
                    .is_some(),
            );
        }
        let n = key.len() as u64;
        assert_eq!(progress.rx_packets.load(Ordering::Relaxed), 2 * n);
        assert_eq!(progress.rx_distinct.load(Ordering::Relaxed), n);
        assert_eq!(markers as u64, n, "a copy gives no second marker");
        assert_eq!((m.seq.received(), m.seq.duplicates()), (n, n));
    }

    #[test]
    fn a_sampled_video_stream_is_proven_at_its_first_keyframe_and_counts_nothing() {
        let progress = Progress::default();
        let proven = crate::tap::proven::Proven::default();
        let sample = Metering::Sample(proven.clone());
        let mut m = StreamMeter::new(false);
        let (key, delta, _) = packets();
        for p in &delta {
            assert!(sample.packet(&mut m, 42, p, 5_000, &progress).is_some());
        }
        assert!(!proven.contains(42), "a delta frame proves nothing");
        assert!(sample
            .packet(&mut m, 42, &key[0], 6_000, &progress)
            .is_some());
        assert!(
            proven.contains(42),
            "the keyframe's start proves the stream"
        );
        assert_eq!(progress.rx_packets.load(Ordering::Relaxed), 0);
        assert_eq!(progress.rx_distinct.load(Ordering::Relaxed), 0);
        assert_eq!(
            m.seq.received(),
            0,
            "the tap counts the packets, not the sample"
        );
    }

    #[test]
    fn a_sampled_audio_stream_is_proven_at_its_first_parsed_packet() {
        let proven = crate::tap::proven::Proven::default();
        let sample = Metering::Sample(proven.clone());
        let mut m = StreamMeter::new(true);
        let (_, _, p) = packets();
        assert!(sample
            .packet(&mut m, 42, &p, 5_000, &Progress::default())
            .is_some());
        assert!(proven.contains(42));
    }
}
